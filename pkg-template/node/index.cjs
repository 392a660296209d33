'use strict';
// Node, require(): ready to use, no init. wasm-bindgen `--target nodejs` output plus BillcalcError
// (the class of every thrown error). `import` (index.mjs) re-exports these same modules, so a
// process that uses both gets one WebAssembly instance and one BillcalcError class.
const { BillcalcError, guardCalculator } = require('@BILLCALC_ERROR_SNIPPET@');
const api = require('./billcalc.js');
// A freed Calculator throws BillcalcError `calculator_freed` (see src/wasm.rs).
guardCalculator(api.Calculator);
module.exports = { ...api, BillcalcError };
