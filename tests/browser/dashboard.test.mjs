// The revenue dashboard in headless Chromium against the real server, on a fresh database filled
// by the demo SaaS generator (billcalc-demo-data, 80 customers over 12 months ending
// 2026-06-15): every figure the page shows — KPI tiles, the MRR and churn tables behind the
// charts, the cohort heat map — is checked against the server's reports (GET /v1/reports/*),
// formatted here independently (exact decimal strings from minor units, Intl.NumberFormat), in
// English and in French; the page reads at 375 px with nothing wider than the screen.
// Screenshots at 1280 and 375 px are written to tests/browser/screenshots/ on every run.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, SCREENSHOTS, launchBrowser, spaces, withPage } from './support.mjs';

const SECRET = 'sk_test_dashboard_secret';
const PUBLISHABLE = 'pk_test_dashboard';
const RANGE = 'start=2025-07&end=2026-05';
const QUERY = 'start=2025-07-01&end=2026-06-01&interval=month';
let server;
let browser;
let reports;

async function startSeededServer() {
  const targetDir = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: ROOT, encoding: 'utf8' })).target_directory;
  const bin = (name) => join(targetDir, 'debug', name);
  for (const name of ['billcalc-server', 'billcalc-demo-data']) {
    if (!existsSync(bin(name))) throw new Error(`${bin(name)} is missing: run cargo build -p billcalc-server`);
  }
  if (!existsSync(join(ROOT, 'node_modules/chart.js/dist/chart.umd.min.js'))) throw new Error('chart.js is missing: run npm ci');
  const dir = mkdtempSync(join(tmpdir(), 'billcalc-dashboard-test-'));
  const env = {
    ...process.env,
    BILLCALC_SIGNING_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    BILLCALC_PUBLISHABLE_KEY: PUBLISHABLE,
    BILLCALC_SECRET_KEY: SECRET,
    DATABASE_URL: `sqlite://${join(dir, 'test.db')}`,
    BILLCALC_RENEWAL_INTERVAL_SECONDS: '0',
    BILLCALC_LOG_REQUESTS: '0',
  };
  execFileSync(bin('billcalc-demo-data'), ['--config', join(ROOT, 'server/config/demo.json'), '--customers', '80', '--months', '12', '--until', '1781524800'], { cwd: ROOT, env, stdio: 'inherit' });
  const child = spawn(bin('billcalc-server'), ['--config', join(ROOT, 'server/config/demo.json'), '--listen', '127.0.0.1:0',
    '--serve', `/pkg/=${join(ROOT, 'pkg')}`, '--serve', `/vendor/chart.js/=${join(ROOT, 'node_modules/chart.js/dist')}`, '--serve', `/=${join(ROOT, 'www')}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('billcalc-server did not start in 20 s')), 20_000);
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`billcalc-server exited with ${code}`)));
  });
  return { url, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

before(async () => {
  server = await startSeededServer();
  browser = await launchBrowser();
  reports = {};
  for (const name of ['mrr', 'movements', 'churn', 'cohorts']) {
    const response = await fetch(`${server.url}/v1/reports/${name}?${QUERY}`, { headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(response.status, 200);
    reports[name] = await response.json();
  }
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** Minor units of EUR as an exact decimal string (no float): 123456 → "1234.56", -5 → "-0.05". */
const decimal = (minor) => {
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(3, '0');
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
};
const LOCALE = { en: 'en-US', fr: 'fr-FR' };
const money = (lang, minor) => (minor === null ? '—' : spaces(new Intl.NumberFormat(LOCALE[lang], { style: 'currency', currency: 'EUR' }).format(decimal(minor))));
const pct = (lang, value) => (value === null ? '—' : spaces(new Intl.NumberFormat(LOCALE[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value)));
const int = (lang, n) => spaces(new Intl.NumberFormat(LOCALE[lang]).format(n));
const month = (lang, date) => new Intl.DateTimeFormat(LOCALE[lang], { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${date}T00:00:00Z`));

const tableText = (page, id) => page.locator(`#${id}`).evaluate((el) => [...el.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent.replace(/[\s\u00a0\u202f]+/g, ' ').trim())));
const tile = (page, kpi) => page.locator(`[data-kpi="${kpi}"] .value`).innerText().then(spaces);

async function open(page, lang) {
  await page.goto(`${server.url}/dashboard.html?${RANGE}&lang=${lang}#key=${SECRET}`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
}

function checkTables(lang, mrrRows, churnRows) {
  const { movements, mrr, churn } = reports;
  assert.equal(mrrRows.length, movements.data.length);
  movements.data.forEach((r, i) => {
    const m = mrr.data[i];
    assert.deepEqual(mrrRows[i], [month(lang, r.start), ...[r.mrr_start, r.new, r.expansion, r.reactivation, r.contraction, r.churn, r.mrr_end, m.arr].map((v) => money(lang, v)),
      int(lang, m.customers_end), money(lang, m.arpu), money(lang, m.ltv)], `MRR table row ${i}`);
  });
  churn.data.forEach((r, i) => {
    assert.deepEqual(churnRows[i], [month(lang, r.start), `${int(lang, r.customers_churned)} / ${int(lang, r.customers_start)}`, pct(lang, r.customer_churn_rate),
      pct(lang, r.revenue_churn_rate), pct(lang, r.gross_revenue_retention), pct(lang, r.net_revenue_retention), `${int(lang, r.trials_converted)} / ${int(lang, r.trials_ended)}`,
      pct(lang, r.trial_conversion_rate), int(lang, r.payments_failed), int(lang, r.payments_recovered), pct(lang, r.payment_recovery_rate)], `churn table row ${i}`);
  });
}

test('the demo history has every kind of movement, trials and failed payments', () => {
  const sum = (key) => reports.movements.data.reduce((s, r) => s + Math.abs(r[key]), 0);
  for (const key of ['new', 'expansion', 'contraction', 'churn']) assert.ok(sum(key) > 0, `no ${key} movement in the demo data`);
  assert.ok(reports.churn.data.some((r) => r.trials_ended > 0));
  assert.ok(reports.churn.data.some((r) => r.payments_failed > 0));
  assert.ok(reports.cohorts.data.length > 10);
  const last = reports.mrr.data.at(-1);
  assert.ok(last.mrr_end > 0 && last.customers_end > 10, JSON.stringify(last));
});

test('tiles, tables and the cohort heat map show the API\'s figures (English, 1280 px)', async () => {
  await withPage(browser, 'dashboard 1280', async (page, problems) => {
    await open(page, 'en');
    const last = reports.mrr.data.at(-1);
    const lastChurn = reports.churn.data.at(-1);
    assert.equal(await tile(page, 'mrr'), money('en', last.mrr_end));
    assert.equal(await tile(page, 'arr'), money('en', last.arr));
    assert.equal(await tile(page, 'customers'), int('en', last.customers_end));
    assert.equal(await tile(page, 'arpu'), money('en', last.arpu));
    assert.equal(await tile(page, 'ltv'), money('en', last.ltv));
    assert.equal(await tile(page, 'customer_churn'), pct('en', lastChurn.customer_churn_rate));
    assert.equal(await tile(page, 'nrr'), pct('en', lastChurn.net_revenue_retention));
    assert.equal(await tile(page, 'grr'), pct('en', lastChurn.gross_revenue_retention));
    assert.equal(await tile(page, 'trial_conversion'), pct('en', lastChurn.trial_conversion_rate));
    assert.equal(await tile(page, 'recovery'), pct('en', lastChurn.payment_recovery_rate));
    checkTables('en', await tableText(page, 'mrr-table'), await tableText(page, 'churn-table'));
    // Charts drawn by Chart.js with the API's series (the line is MRR at each period's end).
    const series = await page.evaluate(() => window.billcalcDashboard.charts.mrr.data.datasets.map((d) => d.minor));
    assert.deepEqual(series.at(-1), reports.movements.data.map((r) => r.mrr_end));
    assert.deepEqual(series[0], reports.movements.data.map((r) => r.new));
    // Cohorts: customers retained, then revenue retained.
    const cohortCells = async () => page.locator('#cohort-table').evaluate((el) => [...el.tBodies[0].rows].map((r) => [...r.cells].slice(2).map((c) => c.textContent.replace(/[\s\u00a0\u202f]+/g, ' ').trim())));
    const expected = (key) => {
      const rows = new Map();
      for (const c of reports.cohorts.data) {
        if (!rows.has(c.cohort)) rows.set(c.cohort, []);
        rows.get(c.cohort)[c.index] = pct('en', c[key]);
      }
      const width = Math.max(...[...rows.values()].map((r) => r.length));
      return [...rows.values()].map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
    };
    assert.deepEqual(await cohortCells(), expected('customer_retention'));
    await page.getByLabel('Revenue retained').check();
    assert.deepEqual(await cohortCells(), expected('revenue_retention'));
    assert.deepEqual(problems, []);
    await page.locator('details').first().evaluate((d) => { d.open = true; });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-1280.png'), fullPage: true });
  }, { width: 1280, height: 900 });
});

test('French: the same figures in fr-FR, and the language switch re-renders', async () => {
  await withPage(browser, 'dashboard fr', async (page, problems) => {
    await open(page, 'fr');
    const last = reports.mrr.data.at(-1);
    assert.equal(await tile(page, 'mrr'), money('fr', last.mrr_end));
    assert.match(await tile(page, 'mrr'), /^[\d ]+,\d\d €$/);
    assert.equal(await page.locator('h1').innerText(), 'Revenus');
    checkTables('fr', await tableText(page, 'mrr-table'), await tableText(page, 'churn-table'));
    await page.selectOption('#lang', 'en');
    assert.equal(await tile(page, 'mrr'), money('en', last.mrr_end));
    assert.equal(await page.locator('h1').innerText(), 'Revenue');
    assert.deepEqual(problems, []);
  });
});

test('375 px: nothing wider than the screen; screenshot', async () => {
  await withPage(browser, 'dashboard 375', async (page, problems) => {
    await open(page, 'fr');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `page is ${width} px wide`);
    const tiles = await page.locator('.tile').count();
    assert.equal(tiles, 11);
    for (const id of ['mrr-chart', 'churn-chart']) {
      const box = await page.locator(`#${id}`).boundingBox();
      assert.ok(box.width <= 375 && box.width > 250, `${id} is ${box.width} px wide`);
    }
    assert.deepEqual(problems, []);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-375.png'), fullPage: true });
  }, { width: 375, height: 800 });
});

test('by quarter: the months chosen widen to whole quarters, labels Q1…, figures from the API', async () => {
  const response = await fetch(`${server.url}/v1/reports/movements?start=2025-07-01&end=2026-07-01&interval=quarter`, { headers: { authorization: `Bearer ${SECRET}` } });
  const quarters = await response.json();
  assert.equal(quarters.data.length, 4);
  await withPage(browser, 'dashboard quarter', async (page, problems) => {
    await page.goto(`${server.url}/dashboard.html?${RANGE}&interval=quarter&lang=en#key=${SECRET}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    const rows = await tableText(page, 'mrr-table');
    assert.deepEqual(rows.map((r) => r[0]), ['Q3 2025', 'Q4 2025', 'Q1 2026', 'Q2 2026']);
    assert.deepEqual(rows.map((r) => r[7]), quarters.data.map((r) => money('en', r.mrr_end)));
    assert.deepEqual(rows.map((r) => r[2]), quarters.data.map((r) => money('en', r.new)));
    assert.deepEqual(problems, []);
  });
});

test('the secret key is required: none asks for it, a publishable key is refused', async () => {
  await withPage(browser, 'dashboard keys', async (page) => {
    await page.goto(`${server.url}/dashboard.html?${RANGE}&lang=en`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.locator('#error').innerText(), /secret key/);
    await page.fill('#key', PUBLISHABLE);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-state="error"]');
    assert.match(await page.locator('#error').innerText(), /^forbidden/);
  });
});
