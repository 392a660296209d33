// `billcalc/einvoice` in browsers and bundlers: the engine with EN 16931 e-invoices (its own wasm
// build, with the `einvoice` feature; the checkout build does not carry it).
//   import init, { writeEinvoice, readEinvoice } from 'billcalc/einvoice';
//   await init();   // once; fetches billcalc_bg.wasm next to this file
//   const xml = writeEinvoice({ format: 'cii', info, quote });
export * from './billcalc.js';
export { default, default as init } from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
import { Calculator } from './billcalc.js';
import { guardCalculator } from '@BILLCALC_ERROR_SNIPPET@';
guardCalculator(Calculator);
