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

/** Percentage as a JSON number (Stripe's way, read as its exact decimal text) or a string. */
export type Percentage = number | string;

/** A Stripe-shaped tax rate. */
export interface TaxRate {
  id?: string | null;
  /** 0–100, at most 4 decimals. */
  percentage: Percentage;
  inclusive: boolean;
  display_name?: string | null;
  country?: string | null;
  state?: string | null;
  jurisdiction?: string | null;
  tax_type?: string | null;
  /** billcalc: applied to the net plus the line's other exclusive taxes. */
  compound?: boolean | null;
  description?: string | null;
  active?: boolean | null;
  metadata?: Metadata | null;
  object?: string | null;
  created?: number | null;
  livemode?: boolean | null;
  effective_percentage?: Percentage | null;
}

/** A merchant rule adding to (or replacing) built-in rates for a place. Matching rules stack. */
export interface TaxRule {
  id?: string | null;
  country: string;
  state?: string | null;
  postal_code_prefix?: string | null;
  /** Applies to this product category only; all taxable categories when absent. */
  tax_category?: string | null;
  percentage: Percentage;
  display_name?: string | null;
  jurisdiction?: string | null;
  tax_type?: string | null;
  compound?: boolean | null;
  /** YYYY-MM-DD, inclusive. */
  valid_from?: string | null;
  /** YYYY-MM-DD, exclusive. */
  valid_until?: string | null;
  replace_built_in?: boolean | null;
}

export interface Seller {
  country: string;
  state?: string | null;
  /** Places outside its home where the seller collects tax. */
  registrations?: { country: string; state?: string | null }[];
  /** EU sellers: One-Stop Shop registration (default true). */
  oss?: boolean | null;
}

export interface TaxConfig {
  /** With a seller, automatic tax is on. */
  seller?: Seller | null;
  /** "line" (default): round each line's tax; "invoice": per rate, round the sum once. */
  rounding_stage?: "line" | "invoice" | null;
  /** How lines with tax_category "shipping" are taxed. Default "follows_goods". */
  shipping?: "follows_goods" | "taxable" | "exempt" | null;
  /** What a malformed customer VAT number does. Default "error". */
  invalid_tax_id?: "error" | "treat_as_consumer" | null;
  /** How prices with tax_behavior "unspecified" are read. Default exclusive. */
  default_tax_behavior?: TaxBehavior | null;
  /** Explicit rates, referred to by id. */
  rates?: TaxRate[];
  rules?: TaxRule[];
}

export interface Catalog {
  /** Every catalog price needs a unique id. */
  prices?: Price[];
  rounding?: RoundingPolicy | null;
  tax?: TaxConfig | null;
}

export interface CartLine {
  /** A catalog price id, or an inline price. */
  price: string | Price;
  /** Non-negative integer; default 1. */
  quantity?: number | null;
  description?: string | null;
  metadata?: Metadata | null;
  /** "standard" (default), "reduced", "reduced_2", "super_reduced", "zero", "exempt",
   *  "digital_services", "shipping", or a merchant-defined code priced by rules. */
  tax_category?: string | null;
  /** Explicit rates (ids or inline), overriding automatic tax. At most 10. */
  tax_rates?: (string | TaxRate)[] | null;
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
  /** Overrides the catalog's tax settings; adds rates and rules. */
  tax?: TaxConfig | null;
  /** Explicit rates for lines that declare none. */
  default_tax_rates?: (string | TaxRate)[] | null;
}

/** A cart for `computeQuote`: may carry its own catalog. */
export interface QuoteInput extends Cart {
  catalog?: Catalog | null;
}

/** EN 16931 VAT category: S standard/reduced, Z zero, E exempt, AE reverse charge,
 *  K intra-EU goods, G export, O outside scope. */
export type VatCategory = "S" | "Z" | "E" | "AE" | "K" | "G" | "O";

export interface TaxAmount {
  amount: MinorUnits;
  taxable_amount: MinorUnits;
  /** The explicit rate's id; null for automatic rates. */
  tax_rate: string | null;
  /** Exact decimal string, e.g. "9.975". */
  percentage: string;
  display_name: string;
  tax_type: string;
  jurisdiction: string | null;
  country: string | null;
  state: string | null;
  inclusive: boolean;
  category: VatCategory;
  taxability_reason:
    | "standard_rated" | "reduced_rated" | "zero_rated" | "product_exempt" | "customer_exempt"
    | "reverse_charge" | "not_collecting" | "not_subject_to_tax" | null;
  /** Why no tax is charged (EN 16931 BT-120). */
  exemption_reason?: string;
}

export interface QuoteLine {
  price: string | null;
  product: string | null;
  quantity: number;
  /** Tax-inclusive when the price is. */
  amount: MinorUnits;
  amount_excluding_tax: MinorUnits;
  tax_category: string;
  taxes: TaxAmount[];
  description?: string;
  metadata?: Metadata;
}

export interface TaxNote {
  code: "reverse_charge" | "tax_id_ignored";
  text: string;
  customer_tax_id?: string;
}

export interface Quote {
  version: string;
  currency: CurrencyCode;
  lines: QuoteLine[];
  subtotal: MinorUnits;
  subtotal_excluding_tax: MinorUnits;
  total_excluding_tax: MinorUnits;
  /** The VAT breakdown: one entry per rate. */
  total_taxes: TaxAmount[];
  total: MinorUnits;
  automatic_tax: { enabled: boolean; status?: "complete" | "requires_location_inputs" };
  tax_rounding_stage: "line" | "invoice";
  tax_notes: TaxNote[];
  rounding: RoundingPolicy;
  metadata?: Metadata;
}

export type ErrorCode =
  | "invalid_type" | "unknown_field" | "missing_field" | "invalid_request" | "invalid_amount"
  | "invalid_quantity" | "unknown_currency" | "currency_mismatch" | "unknown_price"
  | "duplicate_price" | "invalid_tiers" | "invalid_price" | "invalid_rounding" | "amount_overflow"
  | "invalid_date" | "invalid_tax_rate" | "unknown_tax_rate" | "invalid_tax_id"
  | "unknown_tax_category";

/** Thrown by every billcalc call on bad input; the instance keeps working afterwards. */
export declare class BillcalcError extends Error {
  readonly name: "BillcalcError";
  readonly code: ErrorCode;
  /** Path to the offending field in the call's input, e.g. "lines[2].price.tiers[1].up_to". */
  readonly path: string;
}
