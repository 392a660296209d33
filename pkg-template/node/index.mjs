// Node, import: ready to use, no init. Loads the CommonJS build (index.cjs) with require(), so
// `import` and `require` share one WebAssembly instance, one BillcalcError class and one `init`.
// The names below are index.cjs's exports, listed by scripts/build-pkg.sh. Not `import … from
// './index.cjs'` / `export * from './billcalc.js'`: Node parses every CommonJS file an ES module
// imports for its export names (cjs-module-lexer), which cost ~8 ms of a cold start (issue 12).
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./index.cjs');
// index.cjs guards the shared Calculator class (a freed one throws calculator_freed).
export const { @BILLCALC_NODE_EXPORTS@ } = cjs;
export default cjs.init;
