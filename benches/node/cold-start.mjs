// Cold start in Node (issue 12: "first quote ≤ 15 ms after loading"): fresh `node` processes that
// load the package, build a Calculator from the checkout catalog and price a 20-line cart twice,
// against bare `node` processes that only load the cart data, and the dinero.js implementation of
// the same quote. Runs are interleaved (bare, billcalc, [--against], dinero.js, bare, ...) and the
// medians reported. Both clocks are always reported, each labelled:
//
// - wall: elapsed time (the process as the parent sees it; phases with performance.now()). On a
//   shared 2-core machine it mostly measures the other processes.
// - on-CPU: user + system time of the WHOLE process (process.cpuUsage()), so it includes V8's
//   background threads (Liftoff/TurboFan compile jobs, GC) while they run during a phase. Work V8
//   queued in a phase and finished later lands in the later phase ("after", up to the exit hook).
//
// Phases of the billcalc process (each measured inside it; read/compile/instantiate by wrapping
// fs.readFileSync, WebAssembly.Module and WebAssembly.Instance before the package loads, so they
// are attributed whichever glue calls them):
//   read .wasm     fs.readFileSync of a .wasm file
//   compile        new WebAssembly.Module (decode + validate; V8 compiles functions lazily)
//   instantiate    new WebAssembly.Instance
//   start          wasm-bindgen's __wbindgen_start export (the first call into the module)
//   glue           the rest of require()/import of the package (its JS)
//   new Calculator new Calculator(catalog) (the first calls into the wasm: lazy compilation)
//   first quote    calculator.quote(cart(20))
//   second quote   the same again (what a warm call costs right after, tier-up still going on)
//   after          from the second quote to the process's exit hook (background compile left over)
// "load → first quote" is the sum of the phases up to the first quote: the issue's "first quote
// after loading". "whole process over bare node" is the process's total minus a bare node's
// (median of the differences within each round).
//
//   node benches/node/cold-start.mjs [--runs N] [--pkg DIR] [--against DIR]... [--entry require|import]
//        [--node-flags "--liftoff-only ..."] [--clock wall|cpu] [--trace] [--instructions N]
//
// --against DIR (repeatable) adds other builds of the package (e.g. a copy of pkg/ before a change)
// to the same interleaved rounds. --trace adds, per build, the wasm code V8 compiled in each phase
// of one more process (--trace-wasm-compilation-times: bytes of function bodies compiled by Liftoff,
// the baseline compiler that compiles each function on its first call, and by TurboFan, the
// optimising compiler that hot functions tier up to): counts that do not depend on the load.
// --instructions N runs each kind N more times under valgrind (callgrind) and reports the
// instructions of the whole process over bare node's, also independent of the load.
// --node-flags passes V8/Node flags to every child, bare included (for diagnosis only: a library
// cannot set them). --clock only picks the clock of the summary line.
import os from 'node:os';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const here = fileURLToPath(new URL('./', import.meta.url));

if (args[0] === '--child') await child(args[1], args[2], args[3]);
else parent();

// --- the measured process ------------------------------------------------------------------------
async function child(mode, pkgDir, entry) {
  // The main thread's on-CPU time in ms (Linux: the scheduler's nanosecond count for the thread
  // whose id is the process id), or NaN where /proc is not there. The kernel brings the running
  // thread's count up to date only at a tick or when it sleeps: a 50 µs Atomics.wait makes it sleep
  // (1 µs did not always; the wait is off-CPU, it adds to wall time only).
  const schedstat = `/proc/self/task/${process.pid}/schedstat`;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const mainCpu = fs.existsSync(schedstat)
    ? () => (Atomics.wait(cell, 0, 0, 0.05), Number(fs.readFileSync(schedstat, 'latin1').split(' ')[0]) / 1e6)
    : () => NaN;
  const clocks = () => {
    const c = process.cpuUsage();
    return [performance.now(), (c.user + c.system) / 1e3, mainCpu()];
  };
  const marks = [];
  const tracing = process.env.COLD_START_TRACE === '1';
  const mark = (name) => {
    marks.push([name, ...clocks()]);
    if (tracing) fs.writeSync(1, `@mark ${name}\n`);
  };
  // Time spent inside the wrapped calls, [wall, cpu, main] ms each.
  const inside = { read: [0, 0, 0], compile: [0, 0, 0], instantiate: [0, 0, 0], start: [0, 0, 0] };
  const timed = (key, fn) => {
    const t0 = clocks();
    try {
      return fn();
    } finally {
      clocks().forEach((t, i) => (inside[key][i] += t - t0[i]));
    }
  };
  process.on('exit', () => {
    mark('exit');
    fs.writeSync(1, `marks ${JSON.stringify({ marks, inside })}\n`);
  });
  const { catalog, cart } = await import(pathToFileURL(`${here}checkout-data.mjs`).href);
  const cat = catalog();
  const c20 = cart(20);
  mark('start');
  if (mode === 'bare') return;

  let make;
  if (mode === 'dinero') {
    const { makeDineroCalculator } = await import(pathToFileURL(`${here}dinero-quote.mjs`).href);
    mark('load');
    make = makeDineroCalculator;
  } else {
    const readFileSync = fs.readFileSync;
    fs.readFileSync = function (path, ...rest) {
      return String(path).endsWith('.wasm') ? timed('read', () => readFileSync.call(this, path, ...rest)) : readFileSync.call(this, path, ...rest);
    };
    const { Module, Instance } = WebAssembly;
    WebAssembly.Module = function (bytes) {
      return timed('compile', () => new Module(bytes));
    };
    WebAssembly.Module.prototype = Module.prototype;
    Object.assign(WebAssembly.Module, { imports: Module.imports, exports: Module.exports, customSections: Module.customSections });
    WebAssembly.Instance = function (module, imports) {
      const instance = timed('instantiate', () => new Instance(module, imports));
      // The exports as a plain object (what the glue reads), with wasm-bindgen's start function timed.
      const exports = { ...instance.exports };
      const start = exports.__wbindgen_start;
      if (typeof start === 'function') exports.__wbindgen_start = (...a) => timed('start', () => start(...a));
      return Object.create(Instance.prototype, { exports: { value: Object.freeze(exports) } });
    };
    WebAssembly.Instance.prototype = Instance.prototype;
    const api = entry === 'import' ? await import(pathToFileURL(`${pkgDir.replace(/\/?$/, '/')}node/index.mjs`).href) : createRequire(import.meta.url)(pkgDir);
    mark('load');
    const { Calculator } = api;
    make = (c) => {
      const calculator = new Calculator(c);
      return (k) => calculator.quote(k);
    };
  }
  const quote = make(cat);
  mark('calculator');
  const q1 = quote(c20);
  mark('quote1');
  const q2 = quote(c20);
  mark('quote2');
  if (!(q1.total > 0) || q1.total !== q2.total) process.exit(1);
}

// --- the runner ----------------------------------------------------------------------------------
function parent() {
  const runs = Number(opt('--runs', 21));
  const pkgDir = opt('--pkg', fileURLToPath(new URL('../../pkg/', import.meta.url)));
  const against = args.flatMap((a, i) => (a === '--against' ? [args[i + 1]] : []));
  const entry = opt('--entry', 'require');
  const clock = opt('--clock', 'cpu');
  const nodeFlags = (opt('--node-flags', '') || '').split(/\s+/).filter(Boolean);
  if (!['wall', 'cpu'].includes(clock)) throw new Error('--clock wall|cpu');
  if (!['require', 'import'].includes(entry)) throw new Error('--entry require|import');

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const kinds = [['bare', 'bare', null], ['billcalc', 'billcalc', pkgDir], ...against.map((dir, i) => [`against${i}`, 'billcalc', dir]), ['dinero', 'dinero', null]];
  const results = Object.fromEntries(kinds.map(([name]) => [name, []]));
  const load0 = os.loadavg();
  for (let r = 0; r < runs; r++) {
    for (const [name, mode, dir] of kinds) {
      const t0 = process.hrtime.bigint();
      const p = spawnSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--child', mode, dir ?? '-', entry], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (p.status !== 0) throw new Error(`${name} failed (status ${p.status})`);
      const m = /^marks (.*)$/m.exec(p.stdout ?? '');
      if (!m) throw new Error(`${name}: no marks in its output`);
      const { marks, inside } = JSON.parse(m[1]);
      const at = Object.fromEntries(marks.map(([k, w, c, t]) => [k, { wall: w, cpu: c, main: t }]));
      const within = Object.fromEntries(Object.entries(inside).map(([k, [w, c, t]]) => [k, { wall: w, cpu: c, main: t }]));
      results[name].push({ wall, cpu: at.exit.cpu, at, inside: within });
    }
  }
  const load1 = os.loadavg();
  const fmt = (x) => (Number.isNaN(x) ? '  n/a' : x.toFixed(1));
  const loads = (l) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`node ${process.version}${nodeFlags.length ? ' ' + nodeFlags.join(' ') : ''}, ${os.cpus().length} cores, load ${loads(load0)} (start) / ${loads(load1)} (end); ${runs} runs each, interleaved; entry: ${entry}`);
  console.log('medians in ms. wall = elapsed; main = on-CPU time of the main thread (what the caller waits for when');
  console.log('V8\'s helper threads have a free core); CPU = on-CPU time of the whole process (user + system, V8\'s');
  console.log('background compile and GC threads included): the work the machine does\n');

  const bare = results.bare;
  const over = (name, c) => median(results[name].map((x, i) => x[c] - bare[i][c]));
  console.log(`whole process, over bare node          wall      CPU   (bare node: wall ${fmt(median(bare.map((x) => x.wall)))}, CPU ${fmt(median(bare.map((x) => x.cpu)))})`);
  const label = { billcalc: `billcalc ${pkgDir}`, dinero: 'dinero.js', ...Object.fromEntries(against.map((dir, i) => [`against${i}`, `against ${dir}`])) };
  for (const [name] of kinds.slice(1)) {
    console.log(`  ${label[name].slice(-34).padEnd(34)} +${fmt(over(name, 'wall')).padStart(6)}  +${fmt(over(name, 'cpu')).padStart(6)}`);
  }

  // Phases, from consecutive marks; the wrapped calls split the loading phase.
  const span = (x, a, b, c) => x.at[b][c] - x.at[a][c];
  const clockNames = ['wall', 'main', 'cpu'];
  const phaseRows = (name) => {
    const xs = results[name];
    const rows = [];
    const row = (title, f) => rows.push([title, ...clockNames.map((c) => median(xs.map((x) => f(x, c))))]);
    if (!name.startsWith('dinero')) {
      row('  read .wasm', (x, c) => x.inside.read[c]);
      row('  compile (new WebAssembly.Module)', (x, c) => x.inside.compile[c]);
      row('  instantiate', (x, c) => x.inside.instantiate[c]);
      row('  __wbindgen_start', (x, c) => x.inside.start[c]);
      row('  glue (the rest of the load)', (x, c) => span(x, 'start', 'load', c) - x.inside.read[c] - x.inside.compile[c] - x.inside.instantiate[c] - x.inside.start[c]);
    }
    row(`load (${entry === 'import' ? 'import' : 'require'})`, (x, c) => span(x, 'start', 'load', c));
    row(name === 'dinero' ? 'make the calculator' : 'new Calculator(catalog)', (x, c) => span(x, 'load', 'calculator', c));
    row('first quote', (x, c) => span(x, 'calculator', 'quote1', c));
    row('second quote', (x, c) => span(x, 'quote1', 'quote2', c));
    row('after (until the exit hook)', (x, c) => span(x, 'quote2', 'exit', c));
    row('= load → first quote', (x, c) => span(x, 'start', 'quote1', c));
    row('  of which after loading', (x, c) => span(x, 'load', 'quote1', c));
    return rows;
  };
  for (const [name] of kinds.slice(1)) {
    console.log(`\nphases: ${label[name].slice(-30).padEnd(30)}  wall     main      CPU`);
    for (const [title, ...v] of phaseRows(name)) console.log(`  ${title.padEnd(36)} ${v.map((x) => fmt(x).padStart(6)).join('   ')}`);
  }
  if (args.includes('--trace')) {
    const stdbuf = ['/usr/bin/stdbuf', '/bin/stdbuf'].find((f) => fs.existsSync(f));
    // The totals are exact; the split by phase is not always: some runs print V8's lines late.
    console.log(`\nwasm code compiled per phase (one more process each; KB of function bodies, count of functions;\nthe totals are exact, the split by phase only approximate${stdbuf ? '' : ' (no stdbuf here)'})`);
    console.log('                                       Liftoff            TurboFan');
    for (const [name, mode, dir] of kinds.filter(([, mode]) => mode === 'billcalc')) {
      // V8 prints its trace through C stdio, which buffers a pipe: stdbuf (coreutils) unbuffers it
      // so that the trace lines and the phase marks mostly come out in order.
      const argv = [...nodeFlags, '--trace-wasm-compilation-times', fileURLToPath(import.meta.url), '--child', mode, dir, entry];
      const [cmd, cmdArgs] = stdbuf ? [stdbuf, ['-o0', process.execPath, ...argv]] : [process.execPath, argv];
      const p = spawnSync(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, COLD_START_TRACE: '1' }, maxBuffer: 1 << 28 });
      if (p.status !== 0) throw new Error(`${name} failed under --trace (status ${p.status})`);
      const phases = { start: 'load', load: 'new Calculator', calculator: 'first quote', quote1: 'second quote', quote2: 'after', exit: 'after' };
      const sums = {};
      let phase = 'load';
      for (const line of p.stdout.split('\n')) {
        const m = /^@mark (\w+)/.exec(line);
        if (m) phase = phases[m[1]];
        const c = /^Compiled function .* using (Liftoff|TurboFan), .*bodysize (\d+)/.exec(line);
        if (!c) continue;
        const s = (sums[phase] ??= { Liftoff: [0, 0], TurboFan: [0, 0] })[c[1]];
        s[0] += Number(c[2]);
        s[1] += 1;
      }
      console.log(`  ${label[name].slice(-60)}`);
      const total = { Liftoff: [0, 0], TurboFan: [0, 0] };
      for (const ph of ['load', 'new Calculator', 'first quote', 'second quote', 'after']) {
        const s = sums[ph] ?? { Liftoff: [0, 0], TurboFan: [0, 0] };
        for (const t of ['Liftoff', 'TurboFan']) total[t] = total[t].map((v, i) => v + s[t][i]);
        const cell = ([b, n]) => `${(b / 1024).toFixed(1).padStart(7)} KB ${String(n).padStart(4)}`;
        console.log(`    ${ph.padEnd(34)} ${cell(s.Liftoff)}  ${cell(s.TurboFan)}`);
      }
      console.log(`    ${'total'.padEnd(34)} ${[total.Liftoff, total.TurboFan].map(([b, n]) => `${(b / 1024).toFixed(1).padStart(7)} KB ${String(n).padStart(4)}`).join('  ')}`);
    }
  }
  const instructionRuns = Number(opt('--instructions', 0));
  if (instructionRuns > 0) {
    // Load-independent: instructions of the whole process (every thread) under valgrind, which
    // runs one thread at a time (~1 minute per process).
    const counts = Object.fromEntries(kinds.map(([name]) => [name, []]));
    for (let r = 0; r < instructionRuns; r++) {
      for (const [name, mode, dir] of kinds) {
        const p = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all', process.execPath, ...nodeFlags, fileURLToPath(import.meta.url), '--child', mode, dir ?? '-', entry], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
        const m = /Collected : (\d+)/.exec(p.stderr ?? '');
        if (p.error || !m) throw new Error(`--instructions: valgrind failed for ${name}: ${p.error?.message ?? p.stderr?.slice(-500)}`);
        counts[name].push(Number(m[1]));
      }
    }
    console.log(`\ninstructions, whole process (valgrind callgrind, median of ${instructionRuns}; bare node ${(median(counts.bare) / 1e6).toFixed(1)} M)`);
    for (const [name] of kinds.slice(1)) {
      const more = median(counts[name].map((n, i) => n - counts.bare[i]));
      console.log(`  ${label[name].slice(-34).padEnd(34)} +${(more / 1e6).toFixed(1).padStart(7)} M over bare node`);
    }
  }
  const first = (name, c) => median(results[name].map((x) => span(x, 'start', 'quote1', c)));
  const cn = clock === 'cpu' ? 'on-CPU, whole process' : 'wall';
  console.log(`\nsummary (${cn}): billcalc load → first quote ${fmt(first('billcalc', clock))} ms, process +${fmt(over('billcalc', clock))} ms over bare node; dinero.js ${fmt(first('dinero', clock))} ms, +${fmt(over('dinero', clock))} ms`);
}
