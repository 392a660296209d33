// billcalc's `calculator.quote` against a careful dinero.js implementation of the same quote
// (benches/node/dinero-quote.mjs), interleaved in one process: a 50-price catalog, carts of 20 and
// 200 lines with an exclusive 20 % VAT rate and a 10 % order coupon (benches/node/checkout-data.mjs).
// Before timing, both must give identical amounts (every line, every total); the benchmark fails
// otherwise. Several processes are run (fresh JIT each) and their medians' median reported, with
// each process's own ratio.
//
// Clocks (every sample is timed on all three; `--clock` picks the one the headline ratio uses):
// - thread (default): on-CPU time of the main thread, the thread that runs both implementations
//   (Linux /proc/self/task/<pid>/schedstat; elsewhere it falls back to cpu). It leaves out V8's
//   helper threads: background TurboFan jobs and concurrent GC marking, whose work lands in
//   whichever sample happens to be running when they do (the main source of the spread between
//   processes seen with the cpu clock, issue 12).
// - cpu: on-CPU time of the whole process (process.cpuUsage: user + system, helper threads
//   included): the work the machine does, background compile and GC of both implementations too.
// - wall: elapsed time; on a shared machine it mostly measures the other processes.
//
// Fairness: both implementations get the same warm-up, measured in main-thread CPU time (not wall
// time, which a loaded machine eats), run in alternating chunks so that neither warms up on an
// idle core while the other waits; then calls per sample are calibrated to ~SAMPLE_MS of CPU each;
// the order within a round alternates (billcalc first in even rounds, last in odd ones). The
// ratio is the median of per-round ratios. `--against DIR` adds another build of the package
// (a copy of pkg/ before a change) to the same rounds and reports billcalc / that build as well.
//
//   node benches/node/compare.mjs [--quick] [--processes N] [--pkg DIR] [--clock thread|cpu|wall]
//        [--against DIR] [--rounds N]
import os from 'node:os';
import fs from 'node:fs';
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
const CLOCKS = ['thread', 'cpu', 'wall'];
const clock = opt('--clock', 'thread');
if (!CLOCKS.includes(clock)) throw new Error('--clock thread|cpu|wall');
const SIZES = [20, 200];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// The three clocks, in µs. The kernel brings the running thread's schedstat up to date only at a
// tick or when the thread sleeps: a 50 µs Atomics.wait makes it sleep (off-CPU: it adds to wall
// time only; benches/node/cold-start.mjs reads the main thread the same way).
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const hasThreadClock = fs.existsSync(schedstat);
const cell = new Int32Array(new SharedArrayBuffer(4));
const threadUs = () => (Atomics.wait(cell, 0, 0, 0.05), Number(fs.readFileSync(schedstat, 'latin1').split(' ')[0]) / 1e3);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const wallUs = () => performance.now() * 1e3;
/** [thread, cpu, wall] µs now; thread falls back to cpu where /proc is not there. */
const clocks = () => {
  const t = hasThreadClock ? threadUs() : NaN;
  const c = cpuUs();
  return [hasThreadClock ? t : c, c, wallUs()];
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
  const ROUNDS = Number(opt('--rounds', quick ? 15 : 40));
  const SAMPLE_US = (quick ? 5 : 10) * 1e3; // CPU time of one sample
  const WARMUP_US = (quick ? 100 : 300) * 1e3; // main-thread CPU time of warm-up per implementation
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
    const names = Object.keys(impls);
    // Warm up in alternating chunks of ~5 ms CPU until each has used WARMUP_US of main-thread CPU,
    // counting calls to calibrate the calls per sample.
    const used = Object.fromEntries(names.map((k) => [k, 0]));
    const calls = Object.fromEntries(names.map((k) => [k, 1]));
    while (names.some((k) => used[k] < WARMUP_US)) {
      for (const k of names) {
        if (used[k] >= WARMUP_US) continue;
        const fn = impls[k];
        const t0 = clocks()[0];
        for (let i = 0; i < calls[k]; i++) fn();
        const dt = clocks()[0] - t0;
        used[k] += dt;
        // Grow the chunk towards 5 ms of CPU.
        calls[k] = Math.max(1, Math.min(calls[k] * 4, Math.round((calls[k] * 5000) / Math.max(dt, 1))));
      }
    }
    for (const k of names) calls[k] = Math.max(1, Math.round((calls[k] * SAMPLE_US) / 5000));
    const times = Object.fromEntries(names.map((k) => [k, CLOCKS.map(() => [])]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) {
        const fn = impls[k];
        const t0 = clocks();
        for (let i = 0; i < calls[k]; i++) fn();
        const t1 = clocks();
        CLOCKS.forEach((_, j) => times[k][j].push((t1[j] - t0[j]) / calls[k]));
      }
    }
    const per = (k, j) => median(times[k][j]);
    const ratio = (k1, k2, j) => median(times[k1][j].map((t, i) => t / times[k2][j][i]));
    result[n] = Object.fromEntries(CLOCKS.map((cn, j) => [cn, {
      billcalc: per('billcalc', j), dinero: per('dinero', j), float: per('float', j), ratio: ratio('billcalc', 'dinero', j),
      ...(other ? { against: per('against', j), againstRatio: ratio('billcalc', 'against', j) } : {}),
    }]));
  }
  calculator.free();
  process.stdout.write(JSON.stringify(result));
}

function parent() {
  const processes = Number(opt('--processes', quick ? 3 : 5));
  const childArgs = [fileURLToPath(import.meta.url), '--child', '--pkg', pkgDir, ...(against ? ['--against', against] : []), ...(quick ? ['--quick'] : []), ...(args.includes('--rounds') ? ['--rounds', opt('--rounds')] : [])];
  const load0 = os.loadavg();
  const runs = [];
  for (let p = 0; p < processes; p++) runs.push(JSON.parse(execFileSync(process.execPath, childArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })));
  const load1 = os.loadavg();
  const cpus = os.cpus();
  const loads = (l) => l.map((x) => x.toFixed(2)).join(' ');
  const label = { thread: 'main-thread on-CPU time', cpu: 'whole-process on-CPU time (helper threads included)', wall: 'wall time' };
  console.log(`node ${process.version}, ${cpus[0]?.model ?? 'cpu'} × ${cpus.length}, load ${loads(load0)} (start) / ${loads(load1)} (end)`);
  console.log(`${processes} processes; per call, median over processes of each process's median (µs)${hasThreadClock ? '' : '; no /proc here: thread = cpu'}`);
  const table = (cn) => {
    console.log(`\n${cn === clock ? 'headline, ' : ''}clock ${cn}: ${label[cn]}`);
    console.log('lines  billcalc µs  dinero.js µs  ratio billcalc/dinero  naive float µs   ratio per process');
    for (const n of SIZES) {
      const m = (k) => median(runs.map((r) => r[n][cn][k]));
      console.log(`${String(n).padStart(5)}  ${m('billcalc').toFixed(1).padStart(11)}  ${m('dinero').toFixed(1).padStart(12)}  ${m('ratio').toFixed(2).padStart(21)}  ${m('float').toFixed(2).padStart(14)}   ${runs.map((r) => r[n][cn].ratio.toFixed(2)).join(' ')}`);
    }
    if (against) {
      console.log(`--against ${against}\nlines  billcalc µs  against µs  ratio billcalc/against   ratio per process`);
      for (const n of SIZES) {
        const m = (k) => median(runs.map((r) => r[n][cn][k]));
        console.log(`${String(n).padStart(5)}  ${m('billcalc').toFixed(1).padStart(11)}  ${m('against').toFixed(1).padStart(10)}  ${m('againstRatio').toFixed(2).padStart(21)}   ${runs.map((r) => r[n][cn].againstRatio.toFixed(2)).join(' ')}`);
      }
    }
  };
  for (const cn of [clock, ...CLOCKS.filter((c) => c !== clock)]) table(cn);
}

if (args.includes('--child')) child();
else parent();
