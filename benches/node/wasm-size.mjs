// Where a .wasm's bytes go: function bodies by crate and module (from the `name` section), data,
// and the rest. A symbol-size listing in the spirit of `twiggy top`, with no tool to install.
//
//   node benches/node/wasm-size.mjs pkg/checkout/billcalc_bg.wasm [--depth 3] [--top 25]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const file = args.find((a) => a.endsWith('.wasm'));
if (!file) {
  console.error('usage: node benches/node/wasm-size.mjs FILE.wasm [--depth N] [--top N]');
  process.exit(2);
}
const depth = opt('--depth', 2);
const top = opt('--top', 30);
const bytes = readFileSync(file);

let pos = 8;
const u32 = () => {
  let result = 0, shift = 0, b;
  do { b = bytes[pos++]; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  return result >>> 0;
};
const name = () => { const n = u32(); const s = bytes.subarray(pos, pos + n).toString('utf8'); pos += n; return s; };

const sections = [];
let importedFunctions = 0;
let bodies = []; // [size] per defined function
const names = new Map();
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = u32();
  const start = pos;
  const end = pos + size;
  let label = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'][id] ?? `section ${id}`;
  if (id === 0) label = `custom "${name()}"`;
  if (id === 2) {
    const count = u32();
    for (let i = 0; i < count; i++) {
      name(); name();
      const kind = bytes[pos++];
      if (kind === 0) { u32(); importedFunctions++; }
      else if (kind === 1) { pos++; const f = u32(); u32(); if (f & 1) u32(); }
      else if (kind === 2) { const f = u32(); u32(); if (f & 1) u32(); }
      else if (kind === 3) { pos += 2; }
    }
  }
  if (id === 10) {
    const count = u32();
    for (let i = 0; i < count; i++) { const n = u32(); const s0 = pos; bodies.push(n + (s0 - (s0 - 0))); pos += n; }
  }
  if (label === 'custom "name"') {
    while (pos < end) {
      const sub = bytes[pos++];
      const subSize = u32();
      const subEnd = pos + subSize;
      if (sub === 1) {
        const count = u32();
        for (let i = 0; i < count; i++) { const idx = u32(); names.set(idx, name()); }
      }
      pos = subEnd;
    }
  }
  sections.push({ label, size: end - start });
  pos = end;
}

const total = bytes.length;
console.log(`${file}: ${total} bytes raw, ${gzipSync(bytes, { level: 9 }).length} bytes gzip -9`);
console.log('\nsections:');
for (const s of sections.sort((a, b) => b.size - a.size)) console.log(`  ${String(s.size).padStart(8)}  ${(100 * s.size / total).toFixed(1).padStart(5)} %  ${s.label}`);

if (names.size === 0) {
  console.log('\n(no name section: function names were stripped; build without stripping to attribute code)');
  process.exit(0);
}
// Rust's legacy mangling (`_ZN8billcalc3tax7compute5apply17h…E`) back to a path.
const demangle = (raw) => {
  const m = raw.match(/^_?_ZN(.*)E$/);
  if (!m) return raw;
  const s = m[1];
  const parts = [];
  let i = 0;
  while (i < s.length) {
    const len = s.slice(i).match(/^\d+/);
    if (!len) break;
    i += len[0].length;
    parts.push(s.slice(i, i + Number(len[0])));
    i += Number(len[0]);
  }
  const map = { $LT$: '<', $GT$: '>', $u20$: ' ', $RF$: '&', $BP$: '*', $C$: ',', $u5b$: '[', $u5d$: ']', $u7b$: '{', $u7d$: '}', $u27$: "'", $u3b$: ';', $u21$: '!', $LP$: '(', $RP$: ')' };
  return parts
    .map((p) => p.replace(/^_(?=\$)/, '').replace(/\$[A-Za-z0-9]+\$/g, (x) => map[x] ?? x).replace(/\.\./g, '::'))
    .join('::');
};
// Attribute each function body to a crate::module path (generic impls by the path inside `<...>`).
const groupOf = (mangled) => {
  const raw = demangle(mangled);
  let n = raw.replace(/::h[0-9a-f]{16}$/, '');
  // `<T as Trait>::f` and `<impl Trait for T>`: use the implementing type's path.
  const m = n.match(/^<([^ <>]+)(?: as [^>]*)?>::/);
  if (m) n = m[1];
  n = n.replace(/^_?<?/, '').replace(/^(core|alloc|std)::/, '$1::');
  const parts = n.split('::').filter((p) => p && !/^[{<]/.test(p));
  return parts.slice(0, Math.max(1, depth)).join('::') || raw;
};
const groups = new Map();
const fns = [];
bodies.forEach((size, i) => {
  const fname = names.get(i + importedFunctions) ?? `func[${i + importedFunctions}]`;
  fns.push({ size, fname });
  const g = groupOf(fname);
  groups.set(g, (groups.get(g) ?? 0) + size);
});
const code = bodies.reduce((a, b) => a + b, 0);
console.log(`\ncode by crate/module (depth ${depth}; ${code} bytes of function bodies):`);
for (const [g, size] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${String(size).padStart(8)}  ${(100 * size / code).toFixed(1).padStart(5)} %  ${g}`);
console.log(`\nlargest functions:`);
for (const f of fns.sort((a, b) => b.size - a.size).slice(0, top)) console.log(`  ${String(f.size).padStart(8)}  ${demangle(f.fname).slice(0, 140)}`);
