// `billcalc/einvoice` in Node (the einvoice wasm build, wasm-bindgen --target nodejs).
// Node, import: ready to use, no init. Re-exports the CommonJS build (see index.cjs) so that
// `import` and `require` share one WebAssembly instance, one BillcalcError class and one `init`.
import cjs from './index.cjs';

export * from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
// index.cjs guards the shared Calculator class (a freed one throws calculator_freed).
export const init = cjs.init;
export default init;
