/// <reference lib="esnext.disposable" />
import type { Cart, Quote } from './billcalc.js';

/** `minor` units of `currency` formatted for `locale` with Intl.NumberFormat, exactly. */
export declare function formatAmount(minor: number, currency: string, locale?: string): string;

/** `<billcalc-summary catalog-url="…" publishable-key="…" cart='…' locale="…">`: renders a quote's
 *  breakdown in French or English and dispatches `billcalc:quote` (detail: Quote) or
 *  `billcalc:error` (detail: BillcalcError). Setting `cart` before the module loads works (the
 *  value is re-applied when the element upgrades). */
export declare class BillcalcSummary extends HTMLElement {
  cart: Cart | null;
  /** The last quote rendered, or null. */
  readonly quote: Quote | null;
}

declare global {
  interface HTMLElementTagNameMap {
    'billcalc-summary': BillcalcSummary;
  }
}
