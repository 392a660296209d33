/// <reference lib="esnext.disposable" />
import type { ErrorCode, RejectedDiscount, RejectionReason, TaxAmount, TaxNote } from './billcalc.js';

export type Language = 'fr' | 'en';
/** The languages with a catalogue. */
export declare const LANGUAGES: readonly Language[];
/** Every `ErrorCode` and `RejectionReason` the catalogues cover. */
export declare const ERROR_CODES: readonly ErrorCode[];
export declare const REJECTION_REASONS: readonly RejectionReason[];
/** `fr` for any French locale, otherwise `en`. */
export declare function language(locale?: string | null): Language;

export interface RejectionContext {
  /** Formats minor units of the quote's currency. */
  money: (minor: number) => string;
  currency: string;
  /** A discount id (`discounts[0]`) as the shopper knows it (the code). */
  describe: (id: string) => string;
}

export interface Messages {
  language: Language;
  words: Record<string, string | ((value?: string) => string)>;
  /** A BillcalcError, any `{ code }` or a code, as a sentence. */
  error(error: { code: string } | string): string;
  rejection(rejection: RejectedDiscount, context: RejectionContext): string;
  offer(rejection: RejectedDiscount, name: string, context: Pick<RejectionContext, 'money'>): string | null;
  /** An exact decimal percentage ("5.5") formatted for the locale. */
  percent(decimal: string): string;
  /** An ISO 3166 country code as a name in the locale. */
  country(code: string | null | undefined): string;
  taxLabel(tax: TaxAmount): string;
  taxDetail(tax: TaxAmount, money: (minor: number) => string): string;
  note(note: TaxNote): string;
}

/** The French or English catalogue for `locale` (a BCP 47 tag). */
export declare function messages(locale?: string | null): Messages;
