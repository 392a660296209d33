import type { Cart, Quote } from './billcalc.js';

/** `minor` units of `currency` formatted for `locale` with Intl.NumberFormat, exactly. */
export declare function formatAmount(minor: number, currency: string, locale?: string): string;

/** `<billcalc-summary catalog-url="…" cart='…' locale="…">`: renders a quote's breakdown and
 *  dispatches `billcalc:quote` (detail: Quote) or `billcalc:error` (detail: BillcalcError). */
export declare class BillcalcSummary extends HTMLElement {
  cart: Cart | null;
  /** The last quote rendered, or null. */
  quote: Quote | null;
}
