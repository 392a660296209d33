// Starts examples/node-verify/server.mjs on a free loopback port and talks real HTTP to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

let child;
let base;

before(async () => {
  child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node-verify did not start within 20 s')), 20_000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`node-verify exited with ${code}`)); });
  });
});

after(() => {
  child?.kill('SIGTERM');
});

const post = async (body) => {
  const r = await fetch(`${base}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return [r.status, await r.json()];
};

const cart = () => ({
  currency: 'eur',
  as_of: new Date().toISOString(),
  customer: { address: { country: 'FR' } },
  lines: [{ price: 'price_lamp', quantity: 2 }, { price: 'price_book' }, { price: 'price_shipping' }],
  discounts: [{ promotion_code: 'CINQ' }],
});

test('accepts the totals the client computed', async () => {
  const c = cart();
  // What the browser would have computed: ask once, then send back what it said.
  const [, first] = await post({ cart: c, client_quote: { total: 0 } });
  assert.equal(first.accepted, false);
  const client = { total: first.quote.total, total_taxes: first.quote.total_taxes, lines: first.quote.lines };
  const [status, body] = await post({ cart: c, client_quote: client });
  assert.equal(status, 200);
  assert.equal(body.accepted, true);
  assert.equal(body.quote.total, client.total);
  // 2 × 89 € + 24 € + 6.90 € − 5 € (CINQ), VAT 20 % and 5.5 %.
  assert.ok(body.quote.total > 20000 && body.quote.total < 26000, String(body.quote.total));
});

test('rejects a tampered total with the differences', async () => {
  const c = cart();
  const [, ok] = await post({ cart: c, client_quote: { total: 1 } });
  const total = ok.quote.total;
  const [status, body] = await post({ cart: c, client_quote: { total: total - 1, currency: 'eur' } });
  assert.equal(status, 409);
  assert.equal(body.accepted, false);
  assert.deepEqual(body.differences, [{ path: 'total', expected: total, actual: total - 1 }]);
});

test('engine errors and refused fields are structured', async () => {
  const [s1, b1] = await post({ cart: { currency: 'eur', lines: [{ price: 'nope' }] }, client_quote: { total: 0 } });
  assert.equal(s1, 400);
  assert.deepEqual([b1.error.code, b1.error.path], ['unknown_price', 'cart.lines[0].price']);
  const [s2, b2] = await post({ cart: { currency: 'eur', lines: [{ price: { currency: 'eur', unit_amount: 1 } }] }, client_quote: { total: 1 } });
  assert.equal(s2, 400);
  assert.equal(b2.error.path, 'cart.lines[0].price');
  const r = await fetch(`${base}/verify`);
  assert.equal(r.status, 405);
});
