/** Integer amount in minor units (cents for USD, yen for JPY), within ±(2^53 − 1). */
export type MinorUnits = number;
/** Decimal string in minor units with up to 12 decimal places, e.g. "0.5" (half a cent). */
export type DecimalString = string;
/** ISO 4217 code in any case on input ("EUR", "eur"); always lowercase on output. */
export type CurrencyCode = string;
export type Metadata = Record<string, string>;

export type RoundingMode = "half_up" | "half_even" | "up" | "down" | "ceiling" | "floor";
export interface RoundingPolicy {
  /** Default "half_up" (commercial: ties away from zero). */
  mode?: RoundingMode;
  /** Cash-rounding step in minor units (CHF 0.05 → 5). */
  increment?: MinorUnits;
}

export interface Tier {
  /** Inclusive upper bound; "inf" (or null, as Stripe returns it) for the last tier. */
  up_to: number | "inf" | null;
  unit_amount?: MinorUnits | null;
  unit_amount_decimal?: DecimalString | null;
  flat_amount?: MinorUnits | null;
  flat_amount_decimal?: DecimalString | null;
}

export interface CurrencyOption {
  unit_amount?: MinorUnits | null;
  unit_amount_decimal?: DecimalString | null;
  tiers?: Tier[] | null;
  tax_behavior?: TaxBehavior | null;
}

export type TaxBehavior = "inclusive" | "exclusive" | "unspecified";

export interface Recurring {
  interval: "day" | "week" | "month" | "year";
  interval_count?: number;
  usage_type?: "licensed" | "metered";
  aggregate_usage?: "sum" | "max" | "last" | "count" | null;
  trial_period_days?: number | null;
}

/** A Stripe-shaped price. Exactly one of unit_amount / unit_amount_decimal unless tiered. */
export interface Price {
  id?: string | null;
  currency: CurrencyCode;
  product?: string | null;
  unit_amount?: MinorUnits | null;
  unit_amount_decimal?: DecimalString | null;
  billing_scheme?: "per_unit" | "tiered" | null;
  tiers_mode?: "graduated" | "volume" | null;
  tiers?: Tier[] | null;
  transform_quantity?: { divide_by: number; round: "up" | "down" } | null;
  recurring?: Recurring | null;
  tax_behavior?: TaxBehavior | null;
  currency_options?: Record<CurrencyCode, CurrencyOption> | null;
  metadata?: Metadata | null;
  nickname?: string | null;
  lookup_key?: string | null;
  active?: boolean | null;
  object?: string | null;
  type?: string | null;
  created?: number | null;
  livemode?: boolean | null;
}

export interface Catalog {
  /** Every catalog price needs a unique id. */
  prices?: Price[];
  rounding?: RoundingPolicy | null;
}

export interface CartLine {
  /** A catalog price id, or an inline price. */
  price: string | Price;
  /** Non-negative integer; default 1. */
  quantity?: number | null;
  description?: string | null;
  metadata?: Metadata | null;
}

export interface Address {
  /** ISO 3166-1 alpha-2, any case. */
  country: string;
  /** Region, province or state code ("QC", "CA"). */
  state?: string | null;
  postal_code?: string | null;
  city?: string | null;
  line1?: string | null;
  line2?: string | null;
}

export interface CustomerTaxId {
  /** e.g. "eu_vat", "gb_vat", "ca_gst_hst". */
  type: string;
  value: string;
}

export interface Customer {
  id?: string | null;
  address?: Address | null;
  tax_ids?: CustomerTaxId[];
  tax_exempt?: "none" | "exempt" | "reverse";
  /** Whether the customer has paid before (first-time-only promotion codes). */
  has_paid_before?: boolean | null;
}

/** A cart for `Calculator.quote`. */
export interface Cart {
  currency: CurrencyCode;
  lines: CartLine[];
  rounding?: RoundingPolicy | null;
  metadata?: Metadata | null;
  /** When the quote is computed: "YYYY-MM-DD" or an RFC 3339 instant. No hidden clock. */
  as_of?: string | null;
  customer?: Customer | null;
}

/** A cart for `computeQuote`: may carry its own catalog. */
export interface QuoteInput extends Cart {
  catalog?: Catalog | null;
}

export interface QuoteLine {
  price: string | null;
  product: string | null;
  quantity: number;
  amount: MinorUnits;
  description?: string;
  metadata?: Metadata;
}

export interface Quote {
  version: string;
  currency: CurrencyCode;
  lines: QuoteLine[];
  subtotal: MinorUnits;
  total: MinorUnits;
  rounding: RoundingPolicy;
  metadata?: Metadata;
}

export type ErrorCode =
  | "invalid_type" | "unknown_field" | "missing_field" | "invalid_request" | "invalid_amount"
  | "invalid_quantity" | "unknown_currency" | "currency_mismatch" | "unknown_price"
  | "duplicate_price" | "invalid_tiers" | "invalid_price" | "invalid_rounding" | "amount_overflow"
  | "invalid_date";

/** Thrown by every billcalc call on bad input; the instance keeps working afterwards. */
export declare class BillcalcError extends Error {
  readonly name: "BillcalcError";
  readonly code: ErrorCode;
  /** Path to the offending field in the call's input, e.g. "lines[2].price.tiers[1].up_to". */
  readonly path: string;
}
