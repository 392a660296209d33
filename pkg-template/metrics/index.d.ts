// wasm-bindgen declares `[Symbol.dispose]()` on classes; this makes that type-check for projects whose
// `lib` predates ES2025 disposables (without it, tsc without skipLibCheck fails inside billcalc.d.ts).
/// <reference lib="esnext.disposable" />
export * from './billcalc.js';
export { default, default as init } from './billcalc.js';
