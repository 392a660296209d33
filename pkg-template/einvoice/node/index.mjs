// `billcalc/einvoice` in Node (the einvoice wasm build, wasm-bindgen --target nodejs).
// Node, import: ready to use, no init. Loads the CommonJS build (index.cjs) with require(), so
// `import` and `require` share one WebAssembly instance, one BillcalcError class and one `init`.
// The names below are index.cjs's exports, listed by scripts/build-pkg.sh (not `export * from`
// a CommonJS file, which Node parses for its export names on every cold start; issue 12).
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./index.cjs');
// index.cjs guards the shared Calculator class (a freed one throws calculator_freed).
export const { @BILLCALC_NODE_EXPORTS@ } = cjs;
export default cjs.init;
