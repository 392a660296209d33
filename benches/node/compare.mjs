// billcalc's `calculator.quote` against a careful dinero.js implementation of the same quote
// (benches/node/dinero-quote.mjs), interleaved in one process: a 50-price catalog, carts of 20 and
// 200 lines with an exclusive 20 % VAT rate and a 10 % order coupon (benches/node/checkout-data.mjs).
// Before timing, both must give identical amounts (every line, every total); the benchmark fails
// otherwise. Samples alternate billcalc / dinero.js; the ratio is the median of per-round ratios.
// Several processes are run (fresh JIT each) and their medians' median reported.
//
// On a shared machine wall time counts whatever else held the core; `--clock cpu` times each
// sample by the process's on-CPU time instead (process.cpuUsage: user + system, which also
// counts V8's helper threads, so it errs against the JS being timed). `--against DIR` adds
// another build of the package (a copy of pkg/ before a change) to the same interleaved rounds
// and reports billcalc / that build as well.
//
//   node benches/node/compare.mjs [--quick] [--processes N] [--pkg DIR] [--clock wall|cpu] [--against DIR]
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { catalog, cart } from './checkout-data.mjs';
import { makeDineroCalculator, makeFloatCalculator } from './dinero-quote.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const pkgDir = opt('--pkg', fileURLToPath(new URL('../../pkg/', import.meta.url)));
const against = opt('--against', null);
const clock = opt('--clock', 'wall');
if (!['wall', 'cpu'].includes(clock)) throw new Error('--clock wall|cpu');
/** Microseconds on the chosen clock. */
const now = clock === 'cpu'
  ? () => { const u = process.cpuUsage(); return u.user + u.system; }
  : () => Number(process.hrtime.bigint()) / 1e3;
const SIZES = [20, 200];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The amounts both implementations must agree on. */
function amounts(q) {
  return JSON.stringify({
    lines: q.lines.map((l) => [l.amount, l.discount_amounts.map((d) => d.amount), l.amount_excluding_tax, l.taxes.map((t) => [t.amount, t.taxable_amount])]),
    subtotal: q.subtotal,
    discounts: q.total_discount_amounts.map((d) => d.amount),
    total_excluding_tax: q.total_excluding_tax,
    total_taxes: q.total_taxes.map((t) => [t.amount, t.taxable_amount]),
    total: q.total,
  });
}

function child() {
  const { Calculator } = createRequire(import.meta.url)(pkgDir);
  const cat = catalog();
  const calculator = new Calculator(cat);
  const other = against && new (createRequire(import.meta.url)(against).Calculator)(cat);
  const dineroQuote = makeDineroCalculator(cat);
  const floatQuote = makeFloatCalculator(cat);
  const ROUNDS = quick ? 15 : 40;
  const SAMPLE_MS = quick ? 10 : 25;
  const result = {};
  for (const n of SIZES) {
    const c = cart(n);
    const a = calculator.quote(c);
    const b = dineroQuote(c);
    if (amounts(a) !== amounts(b)) throw new Error(`${n} lines: billcalc and dinero.js disagree\n${amounts(a)}\n${amounts(b)}`);
    if (floatQuote(c).total !== a.total) console.error(`note: ${n} lines: the naive float total differs (${floatQuote(c).total} vs ${a.total})`);
    if (other && amounts(other.quote(c)) !== amounts(a)) throw new Error(`${n} lines: --against gives other amounts`);
    const impls = { billcalc: () => calculator.quote(c), dinero: () => dineroQuote(c), float: () => floatQuote(c) };
    if (other) impls.against = () => other.quote(c);
    // Warm up and calibrate calls per sample for each.
    const calls = {};
    for (const [name, fn] of Object.entries(impls)) {
      const end = Date.now() + (quick ? 150 : 400);
      let k = 0;
      const t0 = process.hrtime.bigint();
      while (Date.now() < end) { fn(); k++; }
      const perCallMs = Number(process.hrtime.bigint() - t0) / 1e6 / k;
      calls[name] = Math.max(1, Math.round(SAMPLE_MS / perCallMs));
    }
    const times = { billcalc: [], dinero: [], float: [], against: [] };
    const ratios = [];
    const againstRatios = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, fn] of Object.entries(impls)) {
        const t0 = now();
        for (let i = 0; i < calls[name]; i++) fn();
        times[name].push((now() - t0) / calls[name]);
      }
      ratios.push(times.billcalc.at(-1) / times.dinero.at(-1));
      if (other) againstRatios.push(times.billcalc.at(-1) / times.against.at(-1));
    }
    result[n] = { billcalc: median(times.billcalc), dinero: median(times.dinero), float: median(times.float), ratio: median(ratios) };
    if (other) Object.assign(result[n], { against: median(times.against), againstRatio: median(againstRatios) });
  }
  calculator.free();
  process.stdout.write(JSON.stringify(result));
}

function parent() {
  const processes = Number(opt('--processes', quick ? 3 : 5));
  const childArgs = [fileURLToPath(import.meta.url), '--child', '--pkg', pkgDir, '--clock', clock, ...(against ? ['--against', against] : []), ...(quick ? ['--quick'] : [])];
  const runs = [];
  for (let p = 0; p < processes; p++) runs.push(JSON.parse(execFileSync(process.execPath, childArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })));
  const cpus = os.cpus();
  console.log(`node ${process.version}, ${cpus[0]?.model ?? 'cpu'} × ${cpus.length}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${processes} processes; per call, median over processes of each process's median (µs, ${clock === 'cpu' ? 'on-CPU time' : 'wall time'})\n`);
  console.log('lines  billcalc µs  dinero.js µs  ratio billcalc/dinero  naive float µs   ratio per process');
  for (const n of SIZES) {
    const m = (k) => median(runs.map((r) => r[n][k]));
    console.log(`${String(n).padStart(5)}  ${m('billcalc').toFixed(1).padStart(11)}  ${m('dinero').toFixed(1).padStart(12)}  ${m('ratio').toFixed(2).padStart(21)}  ${m('float').toFixed(2).padStart(14)}   ${runs.map((r) => r[n].ratio.toFixed(2)).join(' ')}`);
  }
  if (against) {
    console.log(`\n--against ${against}\nlines  billcalc µs  against µs  ratio billcalc/against   ratio per process`);
    for (const n of SIZES) {
      const m = (k) => median(runs.map((r) => r[n][k]));
      console.log(`${String(n).padStart(5)}  ${m('billcalc').toFixed(1).padStart(11)}  ${m('against').toFixed(1).padStart(10)}  ${m('againstRatio').toFixed(2).padStart(21)}   ${runs.map((r) => r[n].againstRatio.toFixed(2)).join(' ')}`);
    }
  }
}

if (args.includes('--child')) child();
else parent();
