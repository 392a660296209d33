// Browsers (<script type="module">) and bundlers (Vite, webpack 5, Rollup):
//   import init, { computeQuote, Calculator, BillcalcError } from 'billcalc';
//   await init();   // once; fetches billcalc_bg.wasm next to this file
// Everything below comes from wasm-bindgen (`--target web`); this file only adds BillcalcError,
// the class of every thrown error, which wasm-bindgen keeps in a snippet module, and `init` as a
// named export too (the Node entries have both, so code can be shared).
export * from './billcalc.js';
export { default, default as init } from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
import { Calculator } from './billcalc.js';
import { guardCalculator } from '@BILLCALC_ERROR_SNIPPET@';
// A freed Calculator throws BillcalcError `calculator_freed` (see src/wasm.rs).
guardCalculator(Calculator);
