// This build (`billcalc/metrics`) imported in Node: the same module as in a
// browser, except that `init()` without arguments reads billcalc_bg.wasm from the package
// directory instead of fetching it (Node's fetch cannot read file: URLs, and answered with a bare
// "fetch failed"). `init({ module_or_path })` behaves as in a browser.
import { readFile } from 'node:fs/promises';
import initWeb from './index.js';

export * from './index.js';

export default async function init(options) {
  if (options !== undefined) return initWeb(options);
  return initWeb({ module_or_path: await readFile(new URL('./billcalc_bg.wasm', import.meta.url)) });
}
export { init };
