'use strict';
// Node, require(): ready to use, no init. wasm-bindgen `--target nodejs` output plus BillcalcError
// (the class of every thrown error). `import` (index.mjs) re-exports these same modules, so a
// process that uses both gets one WebAssembly instance and one BillcalcError class.
const { BillcalcError } = require('@BILLCALC_ERROR_SNIPPET@');
module.exports = { ...require('./billcalc.js'), BillcalcError };
