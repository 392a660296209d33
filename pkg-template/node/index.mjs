// Node, import: ready to use, no init. Re-exports the CommonJS build (see index.cjs) so that
// `import` and `require` share one WebAssembly instance and one BillcalcError class.
export * from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
import { Calculator } from './billcalc.js';
import { guardCalculator } from '@BILLCALC_ERROR_SNIPPET@';
// A freed Calculator throws BillcalcError `calculator_freed` (see src/wasm.rs).
guardCalculator(Calculator);

/** Nothing to do in Node (the module is ready on import); lets code shared with the browser call `await init()`. */
export default async function init() {}
