'use strict';
// require() of a browser build (`billcalc/metrics`): an ES module whose wasm is loaded by
// `await init()`. Say what to use instead rather than fail obscurely.
throw new Error(
  "billcalc: this entry point is an ES module for browsers. In Node, require('billcalc') gives " +
    "revenueMetrics ready to use (no init); or import() this entry point and call await init().",
);
