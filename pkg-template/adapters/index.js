// `billcalc/adapters` in browsers and bundlers: Shopify and WooCommerce carts to billcalc carts,
// and quotes back to Shopify's units. Its own small wasm (no pricing engine), so a checkout page
// that prices with `billcalc/checkout` downloads the adapters only if it uses them:
//   import initAdapters, { fromShopifyCart } from 'billcalc/adapters';
//   import init, { Calculator } from 'billcalc/checkout';
//   await Promise.all([initAdapters(), init()]);
// Everything below comes from wasm-bindgen (`--target web`); this file adds BillcalcError (the
// class of every thrown error, kept by wasm-bindgen in a snippet module) and `init` as a named export.
export * from './billcalc.js';
export { default, default as init } from './billcalc.js';
export { BillcalcError } from '@BILLCALC_ERROR_SNIPPET@';
