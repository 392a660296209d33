// Cold start in Node: wall time of a fresh `node` process that loads the package, builds a
// Calculator from the checkout catalog and prices a 20-line cart, minus that of a bare `node`
// process that does nothing; the dinero.js implementation the same way. Runs are interleaved
// (bare, billcalc, dinero.js, bare, ...) and the medians reported.
//
// `--clock cpu` measures each process's on-CPU time instead (user + system of the whole process,
// V8's compile threads included, as the process reports it at exit): on a shared machine the wall
// time mostly measures the other processes.
//
//   node benches/node/cold-start.mjs [--runs N] [--pkg DIR] [--clock wall|cpu]
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', 21));
const pkgDir = opt('--pkg', fileURLToPath(new URL('../../pkg/', import.meta.url)));
const clock = opt('--clock', 'wall');
if (!['wall', 'cpu'].includes(clock)) throw new Error('--clock wall|cpu');
// Printed last by every script with --clock cpu: the process's CPU time so far, in µs.
const cpuTail = clock === 'cpu' ? ' const u = process.cpuUsage(); process.stdout.write("cpu " + (u.user + u.system));' : '';
const here = fileURLToPath(new URL('./', import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const scripts = {
  bare: `import "${here}checkout-data.mjs";`,
  billcalc: `import { createRequire } from "node:module"; import { catalog, cart } from "${here}checkout-data.mjs";
    const { Calculator } = createRequire(import.meta.url)(${JSON.stringify(pkgDir)});
    const q = new Calculator(catalog()).quote(cart(20)); if (!(q.total > 0)) process.exit(1);`,
  dinero: `import { catalog, cart } from "${here}checkout-data.mjs"; import { makeDineroCalculator } from "${here}dinero-quote.mjs";
    const q = makeDineroCalculator(catalog())(cart(20)); if (!(q.total > 0)) process.exit(1);`,
};

const times = { bare: [], billcalc: [], dinero: [] };
for (let r = 0; r < runs; r++) {
  for (const [name, source] of Object.entries(scripts)) {
    const t0 = process.hrtime.bigint();
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', source + cpuTail], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) throw new Error(`${name} failed`);
    const cpu = /cpu (\d+)/.exec(p.stdout ?? '');
    times[name].push(clock === 'cpu' ? Number(cpu?.[1]) / 1e3 : wall);
  }
}
const bare = median(times.bare);
console.log(`node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${runs} runs each, interleaved`);
console.log(`${clock === 'cpu' ? 'on-CPU time' : 'wall time'}; bare node: ${bare.toFixed(1)} ms (median)`);
for (const name of ['billcalc', 'dinero']) {
  const deltas = times[name].map((t, i) => t - times.bare[i]);
  console.log(`${name.padEnd(9)} load + first quote: ${median(times[name]).toFixed(1)} ms, +${median(deltas).toFixed(1)} ms over bare node (median of paired differences)`);
}
