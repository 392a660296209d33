// Shared by the browser tests: a real server on a free loopback port and Debian's Chromium driven
// by playwright-core (no browser download). Screenshots of failures go to tests/browser/screenshots/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = join(ROOT, 'tests', 'browser', 'screenshots');

/** Starts `node scripts/serve.mjs` on a free port; resolves to { url, stop }. */
export async function startStaticServer() {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'serve.mjs')], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 10 s')), 10_000);
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Runs `fn(page)`; on failure saves a screenshot named after the test before rethrowing. */
export async function withPage(browser, name, fn, viewport = { width: 1000, height: 800 }) {
  const page = await browser.newPage({ viewport });
  // Paying waits for the test server (a debug build) to charge and render the invoice's Factur-X
  // PDF before it answers: on a busy 2-core CI machine that has taken longer than Playwright's
  // 30 s default (fresh-clone run at 13d53ec, the bilingual invoice test).
  page.setDefaultNavigationTimeout(120_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  try {
    await fn(page, problems);
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name.replace(/\W+/g, '_')}.png`), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await page.close();
  }
}

/** Text with every kind of space (NBSP, narrow NBSP) as a plain space. */
export const spaces = (text) => text.replace(/[\s\u00a0\u202f]+/g, ' ').trim();

/**
 * Starts the real billcalc-server the way `bash scripts/demo.sh` does (sample French shop,
 * embedded SQLite database, www/ and pkg/ served from the same origin, demo checkout on), but on a
 * free loopback port with a fresh database in a temporary directory. Needs the debug binary
 * (`cargo build -p billcalc-server`, which the test command's server step builds) and pkg/.
 * Resolves to { url, publishableKey, secretKey, stop }.
 */
export async function startDemoServer({ publishableKey = 'pk_test_page_tests', configure = null, serve = [] } = {}) {
  const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const targetDir = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: ROOT, encoding: 'utf8' })).target_directory;
  const binary = join(targetDir, 'debug', 'billcalc-server');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run cargo build -p billcalc-server`);
  const dir = mkdtempSync(join(tmpdir(), 'billcalc-page-test-'));
  const secretKey = 'sk_test_page_tests_secret';
  // `configure(config)` changes a copy of demo.json (another seller, an invoice option).
  let configPath = join(ROOT, 'server/config/demo.json');
  if (configure) {
    const { writeFileSync } = await import('node:fs');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    configure(config);
    configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config));
  }
  // Extra static mounts, `[urlPrefix, directory]` (e.g. the package where a project installs it).
  const mounts = serve.flatMap(([prefix, directory]) => ['--serve', `${prefix}=${directory}`]);
  const child = spawn(binary, ['--config', configPath, '--listen', '127.0.0.1:0', ...mounts,
    '--serve', `/pkg/=${join(ROOT, 'pkg')}`, '--serve', `/=${join(ROOT, 'www')}`], {
    cwd: ROOT,
    env: {
      ...process.env,
      BILLCALC_SIGNING_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      BILLCALC_PUBLISHABLE_KEY: publishableKey,
      BILLCALC_SECRET_KEY: secretKey,
      DATABASE_URL: `sqlite://${join(dir, 'test.db')}`,
      BILLCALC_DEMO_CHECKOUT: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('billcalc-server did not start in 20 s')), 20_000);
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`billcalc-server exited with ${code}`)));
  });
  return {
    url,
    publishableKey,
    secretKey,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fenced code blocks of a Markdown file (relative to the repository) whose info string is `info`. */
export function markdownBlocks(relative, info) {
  const text = readFileSync(join(ROOT, relative), 'utf8');
  const blocks = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```/gm;
  for (let m; (m = fence.exec(text)); ) if (m[1].trim() === info) blocks.push(m[2]);
  return blocks;
}

/** Saves a screenshot named `name` in tests/browser/screenshots/ (looked at by people, kept out of git). */
export async function snap(page, name, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, ...options });
}

/** The widest element's right edge minus the viewport width: > 0 means horizontal scrolling. */
export const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
