import { launchBrowser, startDemoServer, snap } from './support.mjs';
const server = await startDemoServer();
const browser = await launchBrowser();
try {
  for (const [w, h, loc] of [[1280, 900, 'fr-FR'], [375, 800, 'en-GB']]) {
    const page = await browser.newPage({ viewport: { width: w, height: h } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${server.url}/?locale=${loc}`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 15000 });
    await snap(page, `scratch-empty-${w}`);
    await page.click('#products li[data-price="price_lamp"] button');
    await page.click('#products li[data-price="price_book"] button');
    await page.fill('#code', 'CINQ'); await page.press('#code', 'Enter');
    await snap(page, `scratch-cart-${w}`);
    console.log(w, errors);
    await page.close();
  }
} finally { await browser.close(); server.stop(); }
