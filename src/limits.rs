//! Input limits: every stage is near-linear in its input, and these bound the input, so the cost
//! of any call is bounded too. Past a limit the call fails with `limit_exceeded` at the path of
//! the list or string (nothing is truncated silently). The limits are well above what a cart, a
//! catalog or an invoice holds in practice (Stripe: 250 invoice lines by default, 20 discounts
//! per invoice, 250 tiers per price, 5,000-character descriptions).

use crate::error::{Error, ErrorCode, Result};

/// Lines in one quote, or in one invoice (subscription items plus pending invoice items).
pub const MAX_LINES: usize = 10_000;
/// Tiers of one price (or of one `currency_options` entry).
pub const MAX_TIERS: usize = 10_000;
/// Cart promotion rules in a catalog.
pub const MAX_PROMOTIONS: usize = 1_000;
/// Tax rules in one tax configuration (catalog or quote).
pub const MAX_TAX_RULES: usize = 10_000;
/// Discounts requested in one list: a quote's, a line's, a subscription's, an item's.
pub const MAX_DISCOUNTS: usize = 100;
/// Entries of any other list or map of the input (catalog prices, products, coupons, codes,
/// tax rates, usage records, metadata, …).
pub const MAX_ENTRIES: usize = 100_000;
/// Bytes of any string of the input (ids, codes, descriptions, metadata values, …).
pub const MAX_STRING_BYTES: usize = 5_000;

/// `limit_exceeded` at `path` when `len` is above `max`.
pub fn check(len: usize, max: usize, path: &str, what: &str) -> Result<()> {
    if len <= max {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::LimitExceeded,
        path,
        format!("too many {what}: {len}, at most {max} (see billcalc::limits)"),
    ))
}
