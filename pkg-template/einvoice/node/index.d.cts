// wasm-bindgen declares `[Symbol.dispose]()` on classes; this makes that type-check for projects whose
// `lib` predates ES2025 disposables (without it, tsc without skipLibCheck fails inside billcalc.d.ts).
/// <reference lib="esnext.disposable" />
export * from './billcalc.js';
/** Nothing to do in Node (the module is ready on require); lets code shared with the browser call `await init()`. */
export declare function init(options?: unknown): Promise<void>;
