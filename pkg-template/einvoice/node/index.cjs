// `billcalc/einvoice` in Node (the einvoice wasm build, wasm-bindgen --target nodejs).
'use strict';
// Node, require(): ready to use, no init. wasm-bindgen `--target nodejs` output plus BillcalcError
// (the class of every thrown error) and `init`, a no-op kept so code shared with the browser can
// call it. `import` (index.mjs) re-exports these same modules, so a process that uses both gets
// one WebAssembly instance, one BillcalcError class and the same named exports.
const { BillcalcError, guardCalculator } = require('@BILLCALC_ERROR_SNIPPET@');
const api = require('./billcalc.js');
// A freed Calculator throws BillcalcError `calculator_freed` (see src/wasm.rs).
guardCalculator(api.Calculator);

/** Nothing to do in Node (the module is ready on require); lets code shared with the browser call `await init()`. */
async function init() {}

module.exports = { ...api, BillcalcError, init };
