// `billcalc/metrics` in browsers and bundlers: `revenueMetrics` (MRR, movements, churn, retention,
// ARPU, LTV, trials, recovery, cohorts from subscription histories and invoices). Its own wasm, so
// checkout and account pages, which never call it, do not download it (issue 12):
//   import initMetrics, { revenueMetrics } from 'billcalc/metrics';
//   await initMetrics();
//   const report = revenueMetrics(input);
// Everything below comes from wasm-bindgen (`--target web`); this file adds BillcalcError (the
// class of every thrown error, kept by wasm-bindgen in a snippet module) and `init` as a named export.
export * from './billcalc.js';
export { default, default as init } from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
