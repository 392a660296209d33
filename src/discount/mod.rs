//! Step 3 of the pipeline: discounts. Coupons and promotion codes the caller redeems (per line
//! and per order, Stripe-shaped) and the catalog's automatic cart promotion rules, stacked,
//! capped, and allocated to lines to the cent.
//!
//! # Semantics (the golden vectors in `tests/vectors/discounts*.json` are the spec)
//!
//! * **Order of application.** Item-level discounts first: the catalog's item-level rules
//!   (buy X get Y, quantity breaks, fixed price, free shipping, in catalog order), then each
//!   line's `discounts` (line order, then entry order). Then order-level ones: spend-threshold
//!   rules (catalog order), then the quote's `discounts` (entry order). Each discount works on
//!   what the previous ones left of its lines, so percentages compound and nothing goes
//!   negative.
//! * **Which lines.** An order-level discount covers the `discountable` lines that are not
//!   shipping (`tax_category` `"shipping"` on the line, else on its product) and that its
//!   coupon's `applies_to.products` allows; it is computed once on their total, rounded once by
//!   the quote's policy, and split over them pro rata to what they have left through
//!   [`crate::allocate::allocate`], so the lines' `discount_amounts` sum to it exactly. An item-level
//!   discount covers its own line (a shipping line included). Rules cover the lines their
//!   conditions select; free shipping covers the discountable shipping lines.
//! * **Amounts.** `percent_off`: round(p % × base). `amount_off`: min(amount, base); what it
//!   could not use is reported as `unused_amount` (never refunded or carried over). Per-unit
//!   rules compute and round each line on its own, on lines with a quantity above 0; buy X get
//!   Y discounts the cheapest qualifying units of the whole cart (a unit's value is what its
//!   line has left ÷ its quantity; ties go to the earlier line). A cap (`max_discount_amount`)
//!   limits a discount's total (an item-level coupon's per line) and is split over its lines
//!   pro rata. Ratios are rounded exactly (no intermediate truncation) by the quote's
//!   [`crate::RoundingPolicy`] to the minor unit (a cash increment applies only to the amount
//!   payable); a discount never exceeds what it covers.
//! * **Identity.** A discount's `id` is where it was requested (`discounts[0]`,
//!   `lines[1].discounts[0]`; on an invoice, `subscription.discounts[0]`,
//!   `subscription.items[1].discounts[0]`) or `promotion:<rule id>`; lines' `discount_amounts`
//!   and the quote's `total_discount_amounts` refer to it.
//! * **Subscription discounts** are judged at their `start` (when they were redeemed) for
//!   validity windows; which invoices their coupon's `duration` covers is decided by
//!   [`crate::subscription`] (`duration_ended` otherwise). A quote rejects `start` and `end`.
//! * **Eligibility.** Checked in this order, the first failure being the reason:
//!   `unknown_code`, `duplicate` (the same coupon twice in one list), `inactive`,
//!   `not_yet_valid` / `expired` (at `as_of`; windows are half open: valid from `starts_at`
//!   inclusive until `redeem_by` / `expires_at` / `ends_at` exclusive), `customer_mismatch`,
//!   `first_time_only`, `currency_mismatch`, `not_applicable_to_cart`,
//!   `minimum_quantity_not_met` (with `missing_quantity`), `minimum_not_met` (with
//!   `missing_amount`). Minimums are measured before any discount: a promotion code's on the
//!   cart's merchandise (every line except shipping), a rule's on its qualifying lines. So
//!   eligibility never depends on which other discounts apply.
//! * **No hidden clock.** `as_of` is required (`missing_field` at `as_of`) only when a validity
//!   window must be evaluated: a redeemed code or coupon with one, or an active catalog rule
//!   with one. Likewise `customer.has_paid_before` for a first-time-only code and `customer.id`
//!   for a customer-restricted code: the engine never guesses.
//! * **Stacking.** When every eligible discount is `combinable` (the default) all apply. If some
//!   are not, the candidates are: all combinable ones together, or each non-combinable one
//!   alone. The candidate holding the highest `priority` wins; among equals, the one that takes
//!   the most off (best for the customer); among equals, the first (combinable group first).
//!   Every eligible discount left out is rejected as `not_combinable`, with `conflicts_with`
//!   naming the discounts that won.
//! * **Not an error.** A code that cannot apply is listed in `rejected_discounts` with its
//!   reason and the quote still computes. Malformed definitions, unknown coupon ids, and
//!   discounts on a non-`discountable` line are errors.
//! * **Every discount is accounted for.** Each requested discount and each catalog rule appears
//!   exactly once, in `discounts` (applied, in application order) or `rejected_discounts`.

pub mod apply;
pub mod cart_rules;
pub mod coupon;
pub mod percent;
pub mod promotion_code;

pub use apply::{apply, Outcome};
pub use cart_rules::{Promotion, ValidPromotion};
pub use coupon::{Coupon, Duration, ValidCoupon};
pub use percent::PercentOff;
pub use promotion_code::{PromotionCode, ValidPromotionCode};

use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use serde::Serialize;

/// A discount to redeem, Stripe's `discounts[]` entry: exactly one of `coupon` (a catalog id or
/// an inline coupon) and `promotion_code` (what the customer typed).
#[derive(Debug, Clone, Default)]
pub struct DiscountInput {
    pub coupon: Option<CouponRef>,
    pub promotion_code: Option<String>,
    /// Subscription discounts only: when it was applied (default: the subscription's start).
    pub start: Option<crate::time::Timestamp>,
    /// Subscription discounts only: when it stops applying, overriding the coupon's duration.
    pub end: Option<crate::time::Timestamp>,
    /// Not input: the discount's id and path when it is not where the pipeline sees it (a
    /// subscription's discounts become an invoice's).
    pub path: Option<String>,
    /// Not input: when the discount was redeemed (a subscription discount's `start`); its
    /// validity window is judged then rather than at `as_of`.
    pub redeemed_at: Option<i64>,
}

/// A coupon id from the catalog, or an inline coupon.
pub type CouponRef = crate::reference::IdOr<Coupon>;

/// A `currency_options` entry of a coupon (`amount_off`, `max_discount_amount`) or of a promotion
/// code's restrictions (`minimum_amount`). One shape for both keeps the wasm small; each owner
/// rejects the fields that are not its own.
#[derive(Debug, Clone, Default)]
pub struct CurrencyAmounts {
    pub amount_off: Option<i64>,
    pub max_discount_amount: Option<i64>,
    pub minimum_amount: Option<i64>,
}

/// Stripe's `discount_amounts[]` entry: how much one discount took off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscountAmount {
    /// The discount's `id` in the quote's `discounts`: shared by every line the discount
    /// applies to (a reference count per line, not a string: issue 12).
    pub discount: std::sync::Arc<str>,
    pub amount: i64,
}

/// Item-level discounts come off lines before `subtotal`; order-level ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Item,
    Order,
}

/// A discount that applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppliedDiscount {
    /// Unique in the quote: where it was requested (`discounts[0]`, `lines[1].discounts[0]`) or
    /// `promotion:<rule id>` for a catalog rule.
    pub id: String,
    pub level: Level,
    /// The line an item-level coupon or code was attached to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_code: Option<PromotionCodeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionSummary>,
    /// What it took off, in total (the sum of its lines' `discount_amounts`).
    pub amount: i64,
    /// For a fixed amount: the part it could not use (never paid out, never carried over).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unused_amount: Option<i64>,
}

/// The coupon behind an applied discount, with its amounts in the quote's currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CouponSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A decimal string, e.g. `"12.5"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<PercentOff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_discount_amount: Option<i64>,
    /// The quote's currency, when the coupon has amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<crate::currency::Currency>,
    pub duration: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_in_months: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeem_by: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_redemptions: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromotionCodeSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// As the catalog spells it.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_redemptions: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromotionSummary {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A discount that did not apply, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedDiscount {
    pub id: String,
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The coupon id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    /// The code as the catalog spells it (as typed, trimmed, for `unknown_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_code: Option<String>,
    /// The rule id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
    pub reason: Reason,
    /// `minimum_not_met`: how much more the cart needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_amount: Option<i64>,
    /// `minimum_quantity_not_met`: how many more units the cart needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_quantity: Option<i64>,
    /// `not_combinable`: the discounts that won; `duplicate`: the first request of the coupon.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts_with: Vec<String>,
}

/// Why a discount did not apply. Stable codes a UI can translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No promotion code matches what was typed.
    UnknownCode,
    /// The same coupon was already requested in the same list.
    Duplicate,
    /// The code is not `active`, or the coupon is not `valid`, or the rule is not `active`.
    Inactive,
    /// `as_of` is before the start of its validity window.
    NotYetValid,
    /// `as_of` is at or after `redeem_by` / `expires_at` / `ends_at`.
    Expired,
    /// The code is restricted to another customer.
    CustomerMismatch,
    /// The code is for first-time customers and this one has paid before.
    FirstTimeOnly,
    /// The coupon or rule has no amounts in the quote's currency.
    CurrencyMismatch,
    /// No line of the cart is one it can discount.
    NotApplicableToCart,
    /// Not enough qualifying units (`missing_quantity` says how many more).
    MinimumQuantityNotMet,
    /// Not enough spent (`missing_amount` says how much more).
    MinimumNotMet,
    /// It cannot be combined with the discounts that won.
    NotCombinable,
    /// A subscription discount whose coupon `duration` no longer covers this invoice (`once`
    /// already used, `repeating` past its months, or past the discount's `end`).
    DurationEnded,
}

/// A positive integer amount or count within the safe range.
pub(crate) fn positive(value: i64, code: ErrorCode, path: &str) -> Result<i64> {
    if value < 1 {
        return Err(Error::new(code, path, "must be a positive integer"));
    }
    money::checked(value, path)
}

/// A window must end after it starts.
pub(crate) fn check_window(
    starts: Option<i64>,
    ends: Option<i64>,
    path: &str,
    end_field: &str,
) -> Result<()> {
    match (starts, ends) {
        (Some(s), Some(e)) if e <= s => Err(Error::new(
            ErrorCode::InvalidDate,
            join_path(path, end_field),
            "the validity window ends before it starts",
        )),
        _ => Ok(()),
    }
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for DiscountInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["coupon", "promotion_code", "start", "end"])?;
        let coupon = o.opt("coupon");
        let promotion_code = o.opt("promotion_code");
        let start = o.opt("start");
        let end = o.opt("end");
        o.finish(DiscountInput {
            coupon,
            promotion_code,
            start,
            end,
            path: Default::default(),
            redeemed_at: Default::default(),
        })
    }
}

impl crate::json::FromJson for CurrencyAmounts {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &["amount_off", "max_discount_amount", "minimum_amount"],
        )?;
        let amount_off = o.opt("amount_off");
        let max_discount_amount = o.opt("max_discount_amount");
        let minimum_amount = o.opt("minimum_amount");
        o.finish(CurrencyAmounts {
            amount_off,
            max_discount_amount,
            minimum_amount,
        })
    }
}
