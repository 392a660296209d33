// Node benchmark of the built npm package (pkg/, from scripts/build-pkg.sh): µs per
// `calculator.quote(cart)` and per `computeQuote(input)` (catalog inlined in the input) for carts of
// 20 and 200 lines over a catalog of per-unit, decimal, graduated/volume tiered and package prices.
// Each case is warmed up, then timed in many samples; median and p90 per call are printed.
//
//   node benches/node/quote.mjs [--quick]
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const pkgDir = fileURLToPath(new URL('../../pkg/', import.meta.url));
let billcalc;
try {
  // The directory through its package.json `main` (node/index.cjs), i.e. what `require('billcalc')`
  // and `import 'billcalc'` give in Node (the import entry re-exports this same instance).
  billcalc = createRequire(import.meta.url)(pkgDir);
} catch (e) {
  console.error(`cannot load pkg/ (${e.message}); run scripts/build-pkg.sh first`);
  process.exit(1);
}
const pkgVersion = JSON.parse(readFileSync(pkgDir + 'package.json', 'utf8')).version;
const { Calculator, computeQuote } = billcalc;

const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 15 : 60; // timed samples per case
const SAMPLE_MS = quick ? 20 : 50; // target duration of one sample
const WARMUP_MS = quick ? 200 : 1000;

// --- data (deterministic) -----------------------------------------------------------------------
function catalog() {
  const prices = [];
  for (let i = 0; i < 10; i++) {
    prices.push({ id: `unit_${i}`, currency: 'usd', product: `prod_unit_${i}`, unit_amount: 150 + 97 * i });
    prices.push({ id: `decimal_${i}`, currency: 'usd', unit_amount_decimal: `${12 + i}.${String(37 * i).padStart(3, '0')}` });
    prices.push({
      id: `graduated_${i}`,
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 10, unit_amount: 1000 - 10 * i },
        { up_to: 100, unit_amount: 800 - 10 * i, flat_amount: 500 },
        { up_to: 'inf', unit_amount_decimal: `${600 - 10 * i}.5` },
      ],
    });
    prices.push({
      id: `volume_${i}`,
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [
        { up_to: 5, unit_amount: 2000 + i },
        { up_to: 50, unit_amount: 1800 + i },
        { up_to: null, unit_amount: 1500 + i, flat_amount: 100 },
      ],
    });
    prices.push({
      id: `package_${i}`,
      currency: 'usd',
      unit_amount: 2500 + 5 * i,
      transform_quantity: { divide_by: 10 + i, round: i % 2 ? 'up' : 'down' },
    });
  }
  return { prices };
}

function cart(lines, prices) {
  return {
    currency: 'usd',
    lines: Array.from({ length: lines }, (_, i) => ({
      price: prices[(i * 7) % prices.length].id,
      quantity: 1 + ((i * 37) % 120),
    })),
  };
}

// --- timing -------------------------------------------------------------------------------------
const nowNs = () => process.hrtime.bigint();

function bench(fn) {
  const warmupEnd = Date.now() + WARMUP_MS;
  while (Date.now() < warmupEnd) fn();
  // Calibrate (warm): calls per sample so that one sample lasts about SAMPLE_MS.
  let calls = 1;
  for (;;) {
    const t0 = nowNs();
    for (let i = 0; i < calls; i++) fn();
    const ms = Number(nowNs() - t0) / 1e6;
    if (ms >= SAMPLE_MS / 4) {
      calls = Math.max(1, Math.round((calls * SAMPLE_MS) / ms));
      break;
    }
    calls *= 2;
  }
  const perCallUs = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = nowNs();
    for (let i = 0; i < calls; i++) fn();
    perCallUs.push(Number(nowNs() - t0) / 1e3 / calls);
  }
  perCallUs.sort((a, b) => a - b);
  const q = (p) => perCallUs[Math.min(perCallUs.length - 1, Math.ceil(p * perCallUs.length) - 1)];
  return { median: q(0.5), p90: q(0.9), calls: calls * SAMPLES };
}

// --- run ----------------------------------------------------------------------------------------
const cpus = os.cpus();
console.log(`billcalc ${pkgVersion} (pkg/node, wasm)  node ${process.version}  ${os.platform()} ${os.arch()}`);
console.log(`cpu: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} cores`);
console.log(`${SAMPLES} samples of ~${SAMPLE_MS} ms per case after ${WARMUP_MS} ms warm-up\n`);

const cat = catalog();
const calculator = new Calculator(cat);
const rows = [];
for (const lines of [20, 200]) {
  const c = cart(lines, cat.prices);
  const input = { ...c, catalog: cat };
  // Sanity: both calls price the same cart identically.
  const a = calculator.quote(c);
  const b = computeQuote(input);
  if (a.total !== b.total || a.lines.length !== lines) throw new Error('calculator.quote and computeQuote disagree');
  for (const [name, fn] of [
    ['calculator.quote(cart)', () => calculator.quote(c)],
    ['computeQuote(input)', () => computeQuote(input)],
  ]) {
    const r = bench(fn);
    rows.push({ call: name, lines, ...r });
  }
}
calculator.free();

const fmt = (us) => us.toFixed(us < 100 ? 2 : 1).padStart(10);
console.log(`${'call'.padEnd(24)}${'lines'.padStart(6)}${'median µs'.padStart(12)}${'p90 µs'.padStart(10)}${'calls'.padStart(10)}`);
for (const r of rows) {
  console.log(`${r.call.padEnd(24)}${String(r.lines).padStart(6)}  ${fmt(r.median)}${fmt(r.p90)}${String(r.calls).padStart(10)}`);
}
