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
  /** Cash-rounding step in minor units (CHF 0.05 → 5). Applies once, to the amount payable
   * (`amount_payable`, an invoice's `amount_due`), reported as `rounding_amount` (EN 16931
   * BT-114); lines, discounts and taxes always round to the minor unit. */
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
  aggregate_usage?: "sum" | "max" | "last" | "last_during_period" | "count" | null;
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

/** A product the prices sell: cart promotions target its id and categories. */
export interface Product {
  id: string;
  name?: string | null;
  description?: string | null;
  /** Merchant-defined categories cart promotion rules can target. */
  categories?: string[];
  /** e.g. "standard", "shipping"; a line's own tax_category overrides it. */
  tax_category?: string | null;
  /**
   * Stripe's product type: goods or services (EU place of supply: goods to an EU business are an
   * exempt intra-Community supply, K; services are reverse-charged, AE). Without it,
   * "digital_services" products are services and every other category goods.
   */
  type?: "good" | "service" | null;
  metadata?: Metadata | null;
}

/** A percentage: 0 < p ≤ 100, at most 2 decimals. A number (read exactly as written) or a decimal string. */
export type Percent = number | DecimalString;

export interface CouponCurrencyOption {
  amount_off?: MinorUnits | null;
  max_discount_amount?: MinorUnits | null;
}

/** A Stripe-shaped coupon. Exactly one of percent_off / amount_off (amount_off needs currency). */
export interface Coupon {
  /** Required in a catalog; optional inline. */
  id?: string | null;
  name?: string | null;
  percent_off?: Percent | null;
  amount_off?: MinorUnits | null;
  currency?: CurrencyCode | null;
  currency_options?: Record<CurrencyCode, CouponCurrencyOption> | null;
  /** Default "once"; stored and echoed. */
  duration?: "once" | "repeating" | "forever" | null;
  /** Required with duration "repeating" (1–1200). */
  duration_in_months?: number | null;
  applies_to?: { products: string[] } | null;
  /** Unix seconds: expired from this instant on (evaluated at the quote's as_of). */
  redeem_by?: number | null;
  /** Reported, not enforced (the server that records redemptions enforces it). */
  max_redemptions?: number | null;
  /** billcalc: Unix seconds before which the coupon is not yet valid. */
  starts_at?: number | null;
  /** billcalc: default true. */
  combinable?: boolean | null;
  /** billcalc: conflicts between non-combinable discounts go to the highest priority first (default 0). */
  priority?: number | null;
  /** billcalc: most the coupon takes off (per line for an item-level coupon), in `currency`. */
  max_discount_amount?: MinorUnits | null;
  metadata?: Metadata | null;
  /** Stripe's read-only field; false makes the coupon inactive. */
  valid?: boolean | null;
  times_redeemed?: number | null;
  object?: string | null;
  created?: number | null;
  livemode?: boolean | null;
}

/** A Stripe-shaped promotion code wrapping a catalog coupon. */
export interface PromotionCode {
  id?: string | null;
  /** What the customer types; matched trimmed and ASCII case-insensitively. */
  code: string;
  /** The catalog coupon's id. */
  coupon: string;
  /** Default true. */
  active?: boolean | null;
  /** Unix seconds: expired from this instant on. */
  expires_at?: number | null;
  /** billcalc: Unix seconds before which the code is not yet valid. */
  starts_at?: number | null;
  max_redemptions?: number | null;
  /** Only this customer id may redeem it. */
  customer?: string | null;
  restrictions?: {
    /** Compared with the cart's merchandise (every line except shipping) before discounts. */
    minimum_amount?: MinorUnits | null;
    minimum_amount_currency?: CurrencyCode | null;
    currency_options?: Record<CurrencyCode, { minimum_amount: MinorUnits }> | null;
    /** Requires customer.has_paid_before. */
    first_time_transaction?: boolean | null;
  } | null;
  metadata?: Metadata | null;
  times_redeemed?: number | null;
  object?: string | null;
  created?: number | null;
  livemode?: boolean | null;
}

/** When a cart promotion applies; amounts and quantities are the qualifying lines' before discounts. */
export interface PromotionConditions {
  /** Lines qualify by product id or category (any match); every non-shipping line when both are absent. */
  products?: string[] | null;
  categories?: string[] | null;
  minimum_amount?: MinorUnits | null;
  minimum_quantity?: number | null;
  /** Unix seconds: valid from starts_at (inclusive) until ends_at (exclusive). */
  starts_at?: number | null;
  ends_at?: number | null;
}

interface PromotionBase {
  id: string;
  name?: string | null;
  /** Default true. */
  active?: boolean | null;
  /** The currency of the rule's amounts (required when it has any); the rule only applies in it. */
  currency?: CurrencyCode | null;
  conditions?: PromotionConditions | null;
  /** Default true. */
  combinable?: boolean | null;
  /** Default 0. */
  priority?: number | null;
  max_discount_amount?: MinorUnits | null;
  metadata?: Metadata | null;
}

/** A cart promotion rule, applied automatically when its conditions hold. */
export type Promotion =
  | (PromotionBase & {
      type: "buy_x_get_y";
      /** The cheapest qualifying units get percent_off (default 100: free), once per buy + get units. */
      buy_x_get_y: { buy_quantity: number; get_quantity: number; percent_off?: Percent | null; max_applications?: number | null };
    })
  | (PromotionBase & {
      type: "spend_threshold";
      /** Order level; of the reached tiers, the one taking the most off wins. */
      spend_threshold: { tiers: Array<{ minimum_amount: MinorUnits; percent_off?: Percent | null; amount_off?: MinorUnits | null }> };
    })
  | (PromotionBase & {
      type: "quantity_break";
      /** The highest tier reached by the qualifying quantity prices each unit (one benefit per tier). */
      quantity_break: {
        tiers: Array<{ minimum_quantity: number; percent_off?: Percent | null; amount_off?: MinorUnits | null; unit_amount?: MinorUnits | null }>;
      };
    })
  | (PromotionBase & { type: "fixed_price"; fixed_price: { unit_amount: MinorUnits } })
  | (PromotionBase & { type: "free_shipping"; free_shipping?: Record<string, never> | null });

export interface Catalog {
  /** Every catalog price needs a unique id. */
  prices?: Price[];
  products?: Product[];
  coupons?: Coupon[];
  promotion_codes?: PromotionCode[];
  promotions?: Promotion[];
  rounding?: RoundingPolicy | null;
  tax?: TaxConfig | null;
}

/** A discount to redeem: exactly one of coupon (catalog id or inline coupon) and promotion_code. */
export type DiscountRequest =
  | { coupon: string | Coupon; promotion_code?: undefined }
  | { promotion_code: string; coupon?: undefined };

export interface CartLine {
  /** A catalog price id, or an inline price. */
  price: string | Price;
  /** Non-negative integer; default 1. */
  quantity?: number | null;
  description?: string | null;
  metadata?: Metadata | null;
  /** Item-level coupons and promotion codes, applied before order-level ones. */
  discounts?: DiscountRequest[];
  /** Whether order-level discounts and cart promotions may discount the line (default true). */
  discountable?: boolean | null;
  /** Overrides the product's; "shipping" marks a shipping line. */
  tax_category?: string | null;
  /** Explicit tax rates (ids or inline), overriding automatic tax. At most 10. */
  tax_rates?: (string | TaxRate)[] | null;
}

export interface Address {
  /** ISO 3166-1 alpha-2, any case ("EL" and "UK" are refused: invalid_request at its path). */
  country: string;
  /** Region, province or state code ("QC", "CA"). */
  state?: string | null;
  postal_code?: string | null;
  city?: string | null;
  line1?: string | null;
  line2?: string | null;
}

export interface CustomerTaxId {
  /**
   * e.g. "eu_vat", "gb_vat", "ca_gst_hst". eu_vat (XI for Northern Ireland), gb_vat, ch_vat and
   * no_vat numbers are normalised and their check digits verified (invalid_tax_id otherwise).
   */
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
  /**
   * Stripe's customer balance in minor units: negative is credit, positive is debt. Applied by
   * previewInvoice; a quote rejects it (invalid_request).
   */
  balance?: MinorUnits | null;
}

/** A cart for `Calculator.quote`. */
export interface Cart {
  currency: CurrencyCode;
  lines: CartLine[];
  rounding?: RoundingPolicy | null;
  metadata?: Metadata | null;
  /**
   * When the quote is computed: "YYYY-MM-DD" or an RFC 3339 instant. No hidden clock: required
   * (missing_field) when a redeemed code/coupon or an active catalog promotion has a validity window.
   */
  as_of?: string | null;
  customer?: Customer | null;
  /** Overrides the catalog's tax settings; adds rates and rules. */
  tax?: TaxConfig | null;
  /** Explicit rates for lines that declare none. */
  default_tax_rates?: (string | TaxRate)[] | null;
  /** Order-level coupons and promotion codes (Stripe's invoice discounts). */
  discounts?: DiscountRequest[];
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
    | "reverse_charge" | "not_collecting" | "not_subject_to_tax" | "excluded_territory" | null;
  /** Why no tax is charged (EN 16931 BT-120). */
  exemption_reason?: string;
  /** The exemption reason code (EN 16931 BT-121, CEF VATEX list). */
  exemption_reason_code?: "VATEX-EU-IC" | "VATEX-EU-AE" | "VATEX-EU-G" | "VATEX-EU-O";
}

/** What one discount took off (Stripe's discount_amounts entry). */
export interface DiscountAmount {
  /** The discount's id in Quote.discounts. */
  discount: string;
  amount: MinorUnits;
}

/** A half-open span [start, end) in Unix seconds. */
export interface Period {
  start: UnixSeconds;
  end: UnixSeconds;
}

export type AggregateUsage = "sum" | "max" | "last" | "count";

/** How an invoice line's amount was computed; decimals are exact strings in minor units. */
export interface Derivation {
  method: "price" | "partial_period" | "proration" | "usage" | "trial" | "minimum_commitment";
  /** Units priced: the item's quantity, or the aggregated usage. */
  quantity?: number;
  /** What the quantity costs for a whole period, unrounded. */
  full_period_amount?: DecimalString;
  /** Second granularity: seconds billed or credited, and seconds of the whole (nominal) period. */
  seconds?: number;
  seconds_in_period?: number;
  /** Day granularity: calendar days billed or credited, and days of the whole period. */
  days?: number;
  days_in_period?: number;
  aggregate_usage?: AggregateUsage;
  /** Usage records counted, and those outside the billed period (left out). */
  records?: number;
  records_outside_period?: number;
  commitment?: MinorUnits;
  measured?: MinorUnits;
  /** The exact value before rounding, signed ("-500", "0.5"). */
  unrounded: string;
  rounding: RoundingPolicy;
}

export interface QuoteLine {
  price: string | null;
  product: string | null;
  quantity: number;
  /** Before discounts; tax-inclusive when the price is. */
  amount: MinorUnits;
  /** Non-zero parts only, in application order. */
  discount_amounts: DiscountAmount[];
  /** After discounts, without tax. */
  amount_excluding_tax: MinorUnits;
  tax_category: string;
  taxes: TaxAmount[];
  description?: string;
  metadata?: Metadata;
}

export interface TaxNote {
  code: "reverse_charge" | "intra_community_supply" | "special_territory" | "tax_id_ignored";
  text: string;
  /** The buyer's VAT number, normalised. */
  customer_tax_id?: string;
  /** special_territory: the territory whose rule applied ("Canary Islands", "Monaco", …). */
  territory?: string;
}

export type DiscountLevel = "item" | "order";

/** The coupon of an applied discount, amounts in the quote's currency. */
export interface AppliedCoupon {
  id?: string;
  name?: string;
  /** Decimal string, e.g. "12.5". */
  percent_off?: DecimalString;
  amount_off?: MinorUnits;
  max_discount_amount?: MinorUnits;
  currency?: CurrencyCode;
  duration: "once" | "repeating" | "forever";
  duration_in_months?: number;
  redeem_by?: number;
  max_redemptions?: number;
}

export interface AppliedDiscount {
  /** "discounts[0]", "lines[1].discounts[0]" (where it was requested) or "promotion:<rule id>". */
  id: string;
  level: DiscountLevel;
  /** The line an item-level coupon or code was attached to. */
  line?: number;
  coupon?: AppliedCoupon;
  promotion_code?: { id?: string; code: string; max_redemptions?: number };
  promotion?: { id: string; name?: string };
  /** Total taken off; equals the sum of its lines' discount_amounts. */
  amount: MinorUnits;
  /** For a fixed amount: what it could not use. */
  unused_amount?: MinorUnits;
}

export type RejectionReason =
  | "unknown_code" | "duplicate" | "inactive" | "not_yet_valid" | "expired" | "customer_mismatch"
  | "first_time_only" | "currency_mismatch" | "not_applicable_to_cart" | "minimum_quantity_not_met"
  | "minimum_not_met" | "not_combinable" | "duration_ended";

export interface RejectedDiscount {
  id: string;
  level: DiscountLevel;
  line?: number;
  /** Coupon id, when known. */
  coupon?: string;
  /** As the catalog spells it (as typed, trimmed, for unknown_code). */
  promotion_code?: string;
  /** Rule id. */
  promotion?: string;
  reason: RejectionReason;
  /** minimum_not_met: how much more the cart needs. */
  missing_amount?: MinorUnits;
  /** minimum_quantity_not_met: how many more units. */
  missing_quantity?: number;
  /** not_combinable: the discounts that won; duplicate: the first request. */
  conflicts_with?: string[];
}

export interface Quote {
  version: string;
  currency: CurrencyCode;
  lines: QuoteLine[];
  /** Lines after item-level discounts, before order-level ones. */
  subtotal: MinorUnits;
  /** subtotal without inclusive tax: the lines' net before order-level discounts. */
  subtotal_excluding_tax: MinorUnits;
  /** Every applied discount's total. */
  total_discount_amounts: DiscountAmount[];
  /** After every discount, without tax. */
  total_excluding_tax: MinorUnits;
  /** The VAT breakdown: one entry per rate. */
  total_taxes: TaxAmount[];
  total: MinorUnits;
  /** Only with a cash `increment`: the cash rounding of what is paid (EN 16931 BT-114); on a
   * quote `amount_payable − total`, on an invoice the rounding of `amount_due`. */
  rounding_amount?: MinorUnits;
  /** Only with a cash `increment`, on quotes: `total + rounding_amount`, a multiple of it. */
  amount_payable?: MinorUnits;
  /** Applied discounts, in application order. */
  discounts: AppliedDiscount[];
  /** Requested discounts and catalog promotions that did not apply, with reasons. */
  rejected_discounts: RejectedDiscount[];
  automatic_tax: { enabled: boolean; status?: "complete" | "requires_location_inputs" };
  tax_rounding_stage: "line" | "invoice";
  tax_notes: TaxNote[];
  /** The customer's tax ids as read, VAT numbers normalised ("DE 136,695 976" → "DE136695976"). */
  customer_tax_ids?: CustomerTaxId[];
  rounding: RoundingPolicy;
  metadata?: Metadata;
}

/** Unix seconds (UTC), Stripe's convention. */
export type UnixSeconds = number;
/** An instant in the input: Unix seconds, "YYYY-MM-DD" (midnight UTC) or an RFC 3339 instant. */
export type Instant = UnixSeconds | string;

/** A subscription discount: a coupon (catalog id or inline) or a promotion code, since `start`. */
export type SubscriptionDiscount = DiscountRequest & {
  /** When it was applied (default: the subscription's start); its coupon's duration counts from here. */
  start?: Instant | null;
  /** When it stops applying, overriding the coupon's duration. */
  end?: Instant | null;
};

export interface UsageRecord {
  id?: string | null;
  /** A non-negative integer. */
  quantity: number;
  timestamp: Instant;
}

export interface SubscriptionItem {
  id?: string | null;
  /** A catalog price id or an inline price; it must be recurring. */
  price: string | Price;
  /** Licensed prices only (default 1); metered items take none. */
  quantity?: number | null;
  discounts?: SubscriptionDiscount[];
  tax_rates?: (string | TaxRate)[] | null;
  tax_category?: string | null;
  /** Metered prices: the usage records (those in the billed period count). */
  usage_records?: UsageRecord[];
  metadata?: Metadata | null;
}

export interface PendingInvoiceItem {
  id?: string | null;
  /** Minor units; negative for a credit (never discounted). */
  amount: MinorUnits;
  description?: string | null;
  /** Default: the invoice's date, twice. */
  period?: { start: Instant; end: Instant } | null;
  proration?: boolean | null;
  /** For product, tax category and tax behaviour only; never priced. */
  price?: string | Price | null;
  /** Default true, except for prorations; credits never are. */
  discountable?: boolean | null;
  tax_rates?: (string | TaxRate)[] | null;
  tax_category?: string | null;
  metadata?: Metadata | null;
}

export interface Subscription {
  id?: string | null;
  currency: CurrencyCode;
  /** At least one; every item bills on the same interval. */
  items: SubscriptionItem[];
  billing_cycle_anchor: Instant;
  /** Default: the anchor. */
  start_date?: Instant | null;
  /** The trial runs from start_date to trial_end (or for trial_period_days). */
  trial_end?: Instant | null;
  trial_period_days?: number | null;
  /** The subscription ends then; the period holding it is shortened. */
  cancel_at?: Instant | null;
  /** The next invoice is the last one (usage only). */
  cancel_at_period_end?: boolean | null;
  pause_collection?: { behavior: "keep_as_draft" | "mark_uncollectible" | "void"; resumes_at?: Instant | null } | null;
  /** Invoice-level discounts (they never discount prorations). */
  discounts?: SubscriptionDiscount[];
  pending_invoice_items?: PendingInvoiceItem[];
  /**
   * Minimum spend per period: lines covered ("usage": usage lines, default; "invoice": subscription
   * and usage lines), before discounts and tax, are topped up to `amount`.
   */
  minimum_commitment?: { amount: MinorUnits; scope?: "usage" | "invoice" | null; description?: string | null; tax_category?: string | null } | null;
  /** Default "second". "day": calendar days, the day of a change counting for the new item. */
  proration_granularity?: "second" | "day" | null;
  /** Fixed offset for calendar months and days, e.g. "+02:00"; default UTC. */
  utc_offset?: string | null;
  /** Checked against the anchor when given. */
  current_period_start?: Instant | null;
  current_period_end?: Instant | null;
  metadata?: Metadata | null;
}

/** A change's item entry (the same shape as a subscription item, read as a change). */
export interface SubscriptionChangeItem {
  /** An existing item's id: modify (or delete) it. Without: a new item. */
  id?: string | null;
  price?: string | Price | null;
  quantity?: number | null;
  deleted?: boolean | null;
  /** Replaces the item's discounts. */
  discounts?: SubscriptionDiscount[] | null;
  tax_rates?: (string | TaxRate)[] | null;
  tax_category?: string | null;
  metadata?: Metadata | null;
}

/** A change to preview (Stripe's subscription update). */
export interface SubscriptionChange {
  /** Default as_of; must fall in the current period. */
  proration_date?: Instant | null;
  /** Default "create_prorations" (pending on the next invoice). */
  proration_behavior?: "create_prorations" | "always_invoice" | "none" | null;
  items?: SubscriptionChangeItem[];
  /** Cancel at proration_date: final invoice now, unused time credited (unless "none"). */
  cancel?: boolean | null;
  cancel_at_period_end?: boolean | null;
  /** "now": bill now and restart the cycle at proration_date (also implied by an interval change). */
  billing_cycle_anchor?: "now" | "unchanged" | null;
}

/** What `Calculator.previewInvoice` takes. */
export interface InvoicePreview {
  subscription: Subscription;
  /** Address and tax ids for tax; `balance` (negative: credit) settles against the total. */
  customer?: Customer | null;
  change?: SubscriptionChange | null;
  /** When the preview is made (no hidden clock). */
  as_of: Instant;
  rounding?: RoundingPolicy | null;
  tax?: TaxConfig | null;
  /** Stripe's subscription default_tax_rates. */
  default_tax_rates?: (string | TaxRate)[] | null;
  /** Overrides the currency's minimum charge (USD/EUR 50, GBP 30, JPY 50, …). */
  minimum_charge_amount?: MinorUnits | null;
  metadata?: Metadata | null;
}

/** What `previewInvoice` takes: may carry its own catalog. */
export interface PreviewInvoiceInput extends InvoicePreview {
  catalog?: Catalog | null;
}

export interface InvoiceLine extends QuoteLine {
  type: "subscription" | "proration" | "usage" | "invoiceitem" | "minimum_commitment";
  subscription_item: string | null;
  period: Period;
  proration: boolean;
  /** Whether invoice-level discounts may discount it (false for prorations and credits). */
  discountable: boolean;
  /** null for an amount given as is (a pending invoice item). */
  derivation: Derivation | null;
}

export interface Invoice extends Omit<Quote, "lines"> {
  lines: InvoiceLine[];
  billing_reason: "subscription_create" | "subscription_cycle" | "subscription_update";
  /** When it is issued. */
  created: UnixSeconds;
  /** Stripe's: the period whose usage the invoice closes. */
  period_start: UnixSeconds;
  period_end: UnixSeconds;
  starting_balance: MinorUnits;
  /** max(0, total + starting_balance), cash-rounded to the policy's increment if any (the
   * difference in `rounding_amount`), 0 when carried below the minimum charge or void. */
  amount_due: MinorUnits;
  ending_balance: MinorUnits;
  /** Set when amount due was positive but below the minimum charge and carried to the balance. */
  minimum_charge: { minimum: MinorUnits; carried_to_balance: MinorUnits } | null;
  status: "open" | "paid" | "draft" | "uncollectible" | "void";
  /** The subscription once this invoice is issued. */
  subscription: {
    status: "trialing" | "active" | "canceled";
    billing_cycle_anchor: UnixSeconds;
    current_period_start: UnixSeconds;
    current_period_end: UnixSeconds;
  };
}

/** What `Calculator.billingDates` takes (no `change`: it lists the subscription as it stands). */
export interface BillingDatesRequest extends Omit<InvoicePreview, "change"> {
  /** How many upcoming invoices (1–120). */
  count: number;
  /** Renewal reminders: days before each billing date (1–366 each). */
  reminder_days?: number[];
}

export interface BillingDatesInput extends BillingDatesRequest {
  catalog?: Catalog | null;
}

export interface BillingDates {
  version: string;
  dates: Array<{
    date: UnixSeconds;
    /** The period billed in advance (the closing one for the last invoice). */
    period: Period;
    billing_reason: Invoice["billing_reason"];
    subtotal: MinorUnits;
    total_excluding_tax: MinorUnits;
    total: MinorUnits;
    amount_due: MinorUnits;
    status: Invoice["status"];
    final_invoice: boolean;
    reminders: UnixSeconds[];
  }>;
}

/** Exactly one schedule: tries + within_days, or days (gaps after the previous attempt). */
export interface DunningInput {
  failed_at: Instant;
  tries?: number | null;
  within_days?: number | null;
  days?: number[] | null;
  /** Hard declines (lost_card, stolen_card, …) get no retry. */
  decline_code?: string | null;
}

export interface DunningSchedule {
  version: string;
  failed_at: UnixSeconds;
  /** attempt 2 is the first retry (the failed payment was attempt 1). */
  retries: Array<{ attempt: number; at: UnixSeconds }>;
  final_attempt_at: UnixSeconds | null;
  hard_decline: boolean;
}

export interface CreditNoteTax {
  /** A label identifying the rate, e.g. "VAT 19%". */
  rate: string;
  amount: MinorUnits;
}

export interface CreditNoteInput {
  currency: CurrencyCode;
  /** The invoice as issued. */
  invoice: {
    amount_paid: MinorUnits;
    /** The invoice's cash rounding (EN 16931 BT-114): amount_paid less the lines' total. */
    rounding_amount?: MinorUnits | null;
    /** Earlier credit notes' total (their `total`s, in the lines' terms). */
    credited?: MinorUnits | null;
    /** With a cash increment: what earlier notes gave back in cash (Σ their `amount_payable`), a
     * multiple of the increment. Absent: derived from `credited` (cumulative cash rounding). */
    credited_payable?: MinorUnits | null;
    lines: Array<{
      /** After discounts, without tax. */
      amount_excluding_tax: MinorUnits;
      taxes?: CreditNoteTax[];
      quantity?: number | null;
      /** Earlier credits on this line, tax included. */
      credited?: MinorUnits | null;
    }>;
  };
  /** Lines to credit: an amount (tax included), a quantity, or neither (all that is left). */
  lines?: Array<{ line: number; amount?: MinorUnits | null; quantity?: number | null }> | null;
  /** An amount (tax included) spread over the lines; with neither lines nor amount: everything. */
  amount?: MinorUnits | null;
  reason?: string | null;
  /** The invoice's rounding policy. With an `increment`, what notes give back is cash-rounded
   * cumulatively: after crediting C of the lines, the notes together have given back cash(C)
   * (at most amount_paid; exactly amount_paid once everything is credited). */
  rounding?: RoundingPolicy | null;
}

export interface CreditNote {
  version: string;
  currency: CurrencyCode;
  lines: Array<{ line: number; amount: MinorUnits; amount_excluding_tax: MinorUnits; taxes: CreditNoteTax[] }>;
  subtotal: MinorUnits;
  total_taxes: CreditNoteTax[];
  total: MinorUnits;
  /** Only with a cash `increment`: amount_payable − total (EN 16931 BT-114). */
  rounding_amount?: MinorUnits;
  /** Only with a cash `increment`: what is given back, a multiple of the increment, within one
   * increment of `total`; the notes of an invoice never give back more than amount_paid, and
   * the one crediting the remainder gives back exactly what remains of it. */
  amount_payable?: MinorUnits;
  remaining_creditable: MinorUnits;
  reason?: string;
}

/** `revenueMetrics` input: subscription histories and invoices (see the crate's `metrics` module). */
export interface RevenueMetricsInput {
  /** The reporting currency. */
  currency: CurrencyCode;
  /** Major units of the reporting currency per major unit, as decimal strings: `{ usd: "0.92" }`. */
  exchange_rates?: Record<string, string> | null;
  /** `YYYY-MM-DD` (UTC) on an interval boundary; `end` is exclusive. */
  start: string;
  end: string;
  interval?: "month" | "quarter" | "year" | null;
  /** Each customer's MRR is rounded once by this policy (default half_up). */
  rounding?: RoundingPolicy | null;
  subscriptions?: Array<{
    id: string;
    customer: string;
    currency: CurrencyCode;
    /** Each phase is in force from its start to the next one's (or `ended_at`). */
    phases: Array<{
      start: Instant;
      status: "trialing" | "active" | "past_due" | "paused" | "unpaid" | "incomplete" | "canceled";
      items?: Array<{ id?: string | null; price: Price; quantity?: number | null; tax_percent?: number | string | null }> | null;
      discounts?: Array<{
        percent_off?: number | string | null;
        /** Minor units off each billing period. */
        amount_off?: MinorUnits | null;
        duration?: "forever" | "repeating" | "once" | null;
        end?: Instant | null;
      }> | null;
    }>;
    ended_at?: Instant | null;
  }> | null;
  invoices?: Array<{
    id: string;
    customer: string;
    subscription?: string | null;
    currency: CurrencyCode;
    amount_due?: MinorUnits | null;
    usage_lines?: Array<{ subscription_item: string; amount: MinorUnits; period_end: Instant }> | null;
    payment_attempts?: Array<{ at: Instant; outcome: "succeeded" | "failed" }> | null;
  }> | null;
}

/** A ratio of integers and its value rounded half up to 4 places (null when the denominator is 0). */
export interface MetricRate {
  numerator: number;
  denominator: number;
  value: string | null;
}

export interface RevenuePeriod {
  start: string;
  end: string;
  mrr_start: MinorUnits;
  mrr_end: MinorUnits;
  arr: MinorUnits;
  customers_start: number;
  customers_end: number;
  /** `new + expansion + reactivation + contraction + churn = net = mrr_end - mrr_start`. */
  movements: { new: MinorUnits; expansion: MinorUnits; reactivation: MinorUnits; contraction: MinorUnits; churn: MinorUnits; net: MinorUnits };
  movement_customers: { new: number; expansion: number; reactivation: number; contraction: number; churn: number };
  customer_churn_rate: MetricRate;
  revenue_churn_rate: MetricRate;
  gross_revenue_retention: MetricRate;
  net_revenue_retention: MetricRate;
  arpu: MinorUnits | null;
  ltv: MinorUnits | null;
  trials: { ended: number; converted: number; conversion_rate: MetricRate };
  payment_recovery: { failed: number; recovered: number; failed_amount: MinorUnits; recovered_amount: MinorUnits; rate: MetricRate; amount_rate: MetricRate };
}

export interface RevenueReport {
  version: string;
  currency: CurrencyCode;
  interval: "month" | "quarter" | "year";
  rounding: RoundingPolicy;
  start: string;
  end: string;
  periods: RevenuePeriod[];
  cohorts: Array<{
    cohort: string;
    customers: number;
    cells: Array<{ index: number; date: string; customers: number; mrr: MinorUnits; customer_retention: MetricRate; revenue_retention: MetricRate }>;
  }>;
}

export type ErrorCode =
  | "invalid_type" | "unknown_field" | "duplicate_field" | "missing_field" | "invalid_request" | "invalid_amount"
  | "invalid_quantity" | "unknown_currency" | "currency_mismatch" | "unknown_price"
  | "duplicate_price" | "invalid_tiers" | "invalid_price" | "invalid_rounding" | "amount_overflow"
  | "invalid_date" | "invalid_tax_rate" | "unknown_tax_rate" | "invalid_tax_id"
  | "unknown_tax_category" | "invalid_coupon" | "unknown_coupon" | "duplicate_coupon"
  | "invalid_promotion_code" | "duplicate_promotion_code" | "invalid_promotion"
  | "duplicate_promotion" | "duplicate_product" | "invalid_discount" | "invalid_subscription"
  | "invalid_change" | "invalid_usage" | "no_upcoming_invoice" | "invalid_credit_note"
  | "invalid_schedule"
  | "invalid_document"
  | "unsupported_document"
  /** JS only: a method of a Calculator after its free(). */
  | "calculator_freed";

/** Thrown by every billcalc call on bad input; the instance keeps working afterwards. */
export declare class BillcalcError extends Error {
  readonly name: "BillcalcError";
  readonly code: ErrorCode;
  /** Path to the offending field in the call's input, e.g. "lines[2].price.tiers[1].up_to". */
  readonly path: string;
}

/** Shopify AJAX cart (`GET /cart.js`); only the fields billcalc reads. Money is Shopify's ×100
 *  subunits, even for zero-decimal currencies (¥1,000 is 100000). */
export interface ShopifyCart {
  currency: string;
  items?: {
    key?: string | null;
    variant_id: number | string;
    product_id?: number | string | null;
    quantity: number;
    original_price: number;
    title?: string | null;
    sku?: string | null;
    taxable?: boolean;
    line_level_discount_allocations?: { amount: number; discount_application?: ShopifyDiscountApplication | null }[];
    [field: string]: unknown;
  }[];
  cart_level_discount_applications?: ShopifyDiscountApplication[];
  [field: string]: unknown;
}

export interface ShopifyDiscountApplication {
  title?: string | null;
  key?: string | null;
  total_allocated_amount?: number | null;
  [field: string]: unknown;
}

/** A quote's amounts in Shopify subunits. */
export interface ShopifyAmounts {
  currency: string;
  items: { line_price: number; total_discount: number; final_line_price: number }[];
  items_subtotal_price: number;
  total_discount: number;
  total_tax: number;
  total_price: number;
}

/** WooCommerce Store API cart (`GET /wp-json/wc/store/v1/cart`); amounts are strings of minor
 *  units in the store's `currency_minor_unit`. */
export interface WooCommerceCart {
  items?: {
    key?: string | null;
    id: number | string;
    quantity: number;
    name?: string | null;
    sku?: string | null;
    prices: { price: string; currency_minor_unit: number; [field: string]: unknown };
    [field: string]: unknown;
  }[];
  coupons?: { code: string; totals: { total_discount: string; currency_minor_unit: number; [field: string]: unknown }; [field: string]: unknown }[];
  shipping_rates?: {
    shipping_rates?: { rate_id?: string | null; name?: string | null; price: string; currency_minor_unit: number; selected?: boolean; [field: string]: unknown }[];
    [field: string]: unknown;
  }[];
  totals: { currency_code: string; currency_minor_unit: number; [field: string]: unknown };
  [field: string]: unknown;
}

export interface WooCommerceOptions {
  /** "amounts" (default): WooCommerce's coupon totals as fixed-amount coupons;
   *  "codes": the coupon codes as promotion codes for billcalc's own catalog. */
  coupons?: "amounts" | "codes";
  /** "inclusive" when the store enters prices with tax. */
  tax_behavior?: TaxBehavior | null;
}
