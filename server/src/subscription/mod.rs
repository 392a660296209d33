//! Subscriptions: create (the first invoice through the charge flow's discipline), retrieve,
//! preview a change, commit it at the same `proration_date`, cancel, and renew.
//!
//! The engine has no clock and no storage; the server holds both. A subscription is stored as a
//! document ([`SubscriptionDoc`]) from which the engine's `previewInvoice` input is built
//! ([`engine_input`]): items with catalog price ids, anchor, start, trial, cancellation,
//! discounts (catalog coupons with their `start`), the pending invoice items left by earlier
//! changes, and the customer with their balance from `customer_balances`. Every invoice the
//! server issues is `Calculator::preview_invoice` over that input — the first one, renewals,
//! changes billed now and final invoices — so a preview made with the same input (by the
//! server, or by a page in wasm with the same catalog) is the invoice, to the cent.
//!
//! Transactions follow the charge flow: claim the idempotency key (renewals: the key
//! `{subscription}:{period end}`), lock the subscription row, lock the customer's balance row,
//! redeem codes, take the next invoice number of the series last, insert the invoice and the
//! payment, write the subscription and the balance, store the response, commit. Lock order is
//! the same everywhere (key, subscription, balance, counters, series), so transactions cannot
//! deadlock.

mod change;
mod create;
mod issue;
mod parse;
mod pay;
mod preview;
mod read;
mod renewal;

pub use change::{cancel, update};
pub use create::create;
pub(crate) use document::engine_invoice;
pub use document::{engine_input, CustomerDoc, DiscountDoc, ItemDoc, SubscriptionDoc};
pub use pay::resolve;
pub use preview::preview;
pub use read::{invoices, retrieve, upcoming};
pub use renewal::run_renewals;
// For the dunning, reminder and portal modules (issue 15).
pub(crate) use document::{read_doc, view};
pub(crate) use read::upcoming_value;

use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::abort;
use crate::subscription_doc as document;
use axum::http::StatusCode;
use axum::response::Response;
use change::*;
use document::*;
use issue::*;
use parse::*;
use read::*;
use serde_json::Value;

pub use crate::payment_step::{CANCEL_SCOPE, CREATE_SCOPE, RENEWAL_SCOPE, UPDATE_SCOPE};
const MAX_ITEMS: usize = 20;
const MAX_DISCOUNTS: usize = 5;

/// Who is asking: the merchant's back end (secret key), or the demo page (publishable key, only
/// with `BILLCALC_DEMO_CHECKOUT=1`, only on subscriptions it created, promotion codes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Merchant,
    Demo,
}

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("no subscription with this id")
}

/// The subscription, if this caller may see it.
pub(super) fn visible(doc: &SubscriptionDoc, access: Access) -> ApiResult<()> {
    if access == Access::Demo && !doc.demo {
        return Err(not_found());
    }
    Ok(())
}

pub(super) fn canceled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "subscription_canceled",
        "",
        "the subscription is canceled",
    )
}

pub(super) use crate::ledger::to_completion as spawned;

pub(super) fn ok(value: &Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}
