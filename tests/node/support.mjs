// Shared by the tests in this directory (not a test file itself). Installs the BUILT package the
// way a user gets it: `npm pack pkg/` (so package.json `files` is honoured) unpacked into
// <tmp>/node_modules/billcalc, so every import below goes through the package.json `exports`.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PKG_DIR = join(ROOT, 'pkg');
export const BIN = join(ROOT, 'node_modules', '.bin');

if (!existsSync(join(PKG_DIR, 'package.json'))) {
  throw new Error('pkg/ is not built: run scripts/build-pkg.sh first');
}
export const PKG = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));

/** A fresh project directory with the packed package installed as node_modules/billcalc. */
export function installPackage() {
  const project = mkdtempSync(join(tmpdir(), 'billcalc-node-test-'));
  const packed = JSON.parse(
    // An absolute path: `npm pack pkg` would fetch the registry package named "pkg".
    execFileSync('npm', ['pack', PKG_DIR, '--json', '--pack-destination', project], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_ignore_scripts: 'true' },
    }),
  );
  const target = join(project, 'node_modules', 'billcalc');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', join(project, packed[0].filename), '-C', target, '--strip-components=1']);
  return {
    dir: project,
    files: packed[0].files.map((f) => f.path).sort(),
    /** `require('billcalc')` from inside the project. */
    require: (specifier = 'billcalc') => createRequire(join(project, 'index.cjs'))(specifier),
    /** `import('billcalc')` from inside the project (via a module there, so resolution starts there). */
    import: async (specifier = 'billcalc') => {
      const name = `import-${Buffer.from(specifier).toString('hex')}.mjs`;
      writeFileSync(join(project, name), `export * from ${JSON.stringify(specifier)};\nexport { default } from ${JSON.stringify(specifier)};\n`);
      return import(pathToFileURL(join(project, name)).href);
    },
    write(relative, text) {
      const file = join(project, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(project, { recursive: true, force: true }),
  };
}

/** Every vector of tests/vectors/*.json, in file order: {file, name, call, catalog?, input?, output | error}. */
export function loadVectors() {
  const dir = join(ROOT, 'tests', 'vectors');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')).vectors.map((v) => ({ file, ...v })));
}

/** The fenced code blocks of a Markdown text whose info string is exactly `info` (e.g. "js node"). */
export function readmeBlocks(markdown, info) {
  const blocks = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```/gm;
  for (let m; (m = fence.exec(markdown)); ) if (m[1].trim() === info) blocks.push(m[2]);
  return blocks;
}

/**
 * Runs a README snippet with Node inside `project` (where billcalc is installed) and checks that
 * each `console.log(...)` whose line ends with `// expected` printed that, in order (spaces and
 * quotes ignored, so `[[true, -5161]]` matches Node's `[ [ true, -5161 ] ]`).
 */
export function runNodeBlock(project, name, code) {
  const file = project.write(`snippets/${name}.cjs`, code);
  const run = spawnSync(process.execPath, [file], { cwd: project.dir, encoding: 'utf8' });
  assert.equal(run.status, 0, `${name} failed:\n${code}\n${run.stderr}`);
  const squash = (text) => text.replace(/[\s"']+/g, '');
  const printed = run.stdout.trimEnd().split('\n');
  const expected = code.split('\n').filter((line) => /console\.log\(.*\/\/ /.test(line)).map((line) => line.split('// ').at(-1));
  assert.ok(expected.length > 0, `${name}: no console.log with an expected value`);
  assert.equal(printed.length, expected.length, `${name}: printed ${JSON.stringify(printed)}`);
  expected.forEach((want, i) => assert.equal(squash(printed[i]), squash(want), `${name}: line ${i + 1}`));
}
