//! Structured errors: a stable `code`, a `path` to the offending field and a message.
//!
//! Library code never panics (a panic traps the wasm instance for every later call); every
//! failure is one of these values.

use serde::Serialize;
use std::fmt;

/// Stable machine-readable error codes. New codes may be added; existing ones never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is not shaped as expected (wrong JSON type, malformed value).
    InvalidType,
    /// A field the engine does not know; rejected so typos never pass silently.
    UnknownField,
    /// The same key twice in one JSON object (`{"quantity":1,"quantity":5}`): rejected rather
    /// than letting one silently win.
    DuplicateField,
    /// A required field is absent.
    MissingField,
    /// A field combination or value the engine cannot accept.
    InvalidRequest,
    /// An amount that is negative, has too many decimals, or is not a number.
    InvalidAmount,
    /// A quantity that is negative or too large.
    InvalidQuantity,
    /// A currency code that is not an active ISO 4217 code.
    UnknownCurrency,
    /// A price or amount in another currency than the quote, with no `currency_options` entry.
    CurrencyMismatch,
    /// A line refers to a price id the catalog does not hold.
    UnknownPrice,
    /// Two catalog prices share an id.
    DuplicatePrice,
    /// Tiers that are empty, unordered, unbounded too early or missing an amount.
    InvalidTiers,
    /// A price whose fields contradict each other (e.g. both `unit_amount` and `unit_amount_decimal`).
    InvalidPrice,
    /// A rounding policy with an unknown mode or a non-positive increment.
    InvalidRounding,
    /// A result or intermediate value beyond ±(2^53 − 1) minor units.
    AmountOverflow,
    /// A date or instant that does not parse, or a window that ends before it starts.
    InvalidDate,
    /// A tax rate with a percentage outside 0–100 or more than 4 decimals, or contradictory flags.
    InvalidTaxRate,
    /// A line refers to a tax rate id that is not declared.
    UnknownTaxRate,
    /// A customer tax id that is malformed or does not match the customer's country.
    InvalidTaxId,
    /// A product tax category for which the place of taxation has no rate.
    UnknownTaxCategory,
    /// A coupon whose fields contradict each other or are out of range (`percent_off` 0 or 120,
    /// both `percent_off` and `amount_off`, `amount_off` without `currency`, …).
    InvalidCoupon,
    /// A discount or promotion code refers to a coupon id the catalog does not hold.
    UnknownCoupon,
    /// Two catalog coupons share an id.
    DuplicateCoupon,
    /// A promotion code whose fields contradict each other or are out of range.
    InvalidPromotionCode,
    /// Two catalog promotion codes share an id or a code (codes compare case-insensitively).
    DuplicatePromotionCode,
    /// A cart promotion rule whose fields contradict each other or are out of range.
    InvalidPromotion,
    /// Two catalog promotion rules share an id.
    DuplicatePromotion,
    /// Two catalog products share an id.
    DuplicateProduct,
    /// A discount entry that names neither or both of `coupon` and `promotion_code`, or item-level
    /// discounts on a line that is not `discountable`.
    InvalidDiscount,
    /// A subscription whose fields contradict each other: a price that is not recurring, items
    /// with different intervals, dates out of order, a quantity on a metered item, a current
    /// period that the anchor does not produce.
    InvalidSubscription,
    /// A pending subscription change that cannot apply: an unknown item id, a proration date
    /// outside the current period, a new item without a price.
    InvalidChange,
    /// A usage record that is negative, or usage on a licensed (not metered) item.
    InvalidUsage,
    /// The subscription has ended (or ends before `as_of`): there is no upcoming invoice.
    NoUpcomingInvoice,
    /// A credit note for more than was paid or than a line charged, or for a line that does
    /// not exist or charged nothing.
    InvalidCreditNote,
    /// An input beyond a documented limit (`billcalc::limits`): too many lines, tiers, rules,
    /// discounts or entries, or a string too long.
    LimitExceeded,
    /// A billing-date or dunning schedule that cannot be built (no tries, no days, a negative gap).
    InvalidSchedule,
    /// An e-invoice (EN 16931 CII, UBL or Factur-X) that cannot be read: malformed XML, a
    /// missing mandatory element, an amount or date that does not parse.
    InvalidDocument,
    /// A computed quote, invoice or credit note that EN 16931 cannot express (a line with
    /// several taxes, a sales tax that is not VAT, a currency with three decimals, a per-line
    /// tax rounding beyond the standard's tolerance, …).
    UnsupportedDocument,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::DuplicateField => "duplicate_field",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidAmount => "invalid_amount",
            ErrorCode::InvalidQuantity => "invalid_quantity",
            ErrorCode::UnknownCurrency => "unknown_currency",
            ErrorCode::CurrencyMismatch => "currency_mismatch",
            ErrorCode::UnknownPrice => "unknown_price",
            ErrorCode::DuplicatePrice => "duplicate_price",
            ErrorCode::InvalidTiers => "invalid_tiers",
            ErrorCode::InvalidPrice => "invalid_price",
            ErrorCode::InvalidRounding => "invalid_rounding",
            ErrorCode::AmountOverflow => "amount_overflow",
            ErrorCode::InvalidDate => "invalid_date",
            ErrorCode::InvalidTaxRate => "invalid_tax_rate",
            ErrorCode::UnknownTaxRate => "unknown_tax_rate",
            ErrorCode::InvalidTaxId => "invalid_tax_id",
            ErrorCode::UnknownTaxCategory => "unknown_tax_category",
            ErrorCode::InvalidCoupon => "invalid_coupon",
            ErrorCode::UnknownCoupon => "unknown_coupon",
            ErrorCode::DuplicateCoupon => "duplicate_coupon",
            ErrorCode::InvalidPromotionCode => "invalid_promotion_code",
            ErrorCode::DuplicatePromotionCode => "duplicate_promotion_code",
            ErrorCode::InvalidPromotion => "invalid_promotion",
            ErrorCode::DuplicatePromotion => "duplicate_promotion",
            ErrorCode::DuplicateProduct => "duplicate_product",
            ErrorCode::InvalidDiscount => "invalid_discount",
            ErrorCode::InvalidSubscription => "invalid_subscription",
            ErrorCode::InvalidChange => "invalid_change",
            ErrorCode::InvalidUsage => "invalid_usage",
            ErrorCode::NoUpcomingInvoice => "no_upcoming_invoice",
            ErrorCode::InvalidCreditNote => "invalid_credit_note",
            ErrorCode::InvalidSchedule => "invalid_schedule",
            ErrorCode::InvalidDocument => "invalid_document",
            ErrorCode::UnsupportedDocument => "unsupported_document",
        }
    }
}

/// An engine error. `path` uses JS notation relative to the call's input, e.g.
/// `lines[2].price.tiers[1].up_to`; it is empty when the error concerns the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Error {
    pub code: ErrorCode,
    pub path: String,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

/// The longest `path` an error carries (bytes); longer ones are cut with `…`. Paths and
/// messages can echo input (an unknown key, a code); an error never grows with it.
pub const MAX_PATH_LEN: usize = 256;
/// The longest `message` an error carries (bytes).
pub const MAX_MESSAGE_LEN: usize = 512;

/// `text` cut to at most `max` bytes (on a character boundary) with `…` when cut.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl Error {
    /// An error; `path` and `message` are bounded ([`MAX_PATH_LEN`], [`MAX_MESSAGE_LEN`]).
    pub fn new(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            code,
            path: bounded(path.into(), MAX_PATH_LEN),
            message: bounded(message.into(), MAX_MESSAGE_LEN),
        }
    }

    /// The same error with `prefix` put in front of its path (`prefix.path`, or `prefix[..]`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = bounded(join_path(prefix, &self.path), MAX_PATH_LEN);
        self
    }
}

/// Joins two path fragments: `("lines[0]", "price")` → `lines[0].price`, `("a", "[1]")` → `a[1]`.
pub fn join_path(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else if rest.is_empty() {
        prefix.to_string()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.code.as_str(), self.message)
        } else {
            write!(
                f,
                "{} at {}: {}",
                self.code.as_str(),
                self.path,
                self.message
            )
        }
    }
}

impl std::error::Error for Error {}
