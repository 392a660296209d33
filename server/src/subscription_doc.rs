//! The stored subscription document and the one engine call every subscription invoice is.
//! Below the flows: `subscription` (which re-exports it), `dunning`, `email` and `portal` read
//! it without importing each other.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::SubscriptionRecord;
use billcalc::{Invoice, PreviewInvoiceInput};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The customer a subscription bills: identity for invoices, address and tax ids for tax.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_ids: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_exempt: Option<String>,
    /// For display (the page formats amounts for the first one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_locales: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDoc {
    pub id: String,
    pub price: String,
    pub quantity: i64,
}

/// A redeemed discount: the catalog coupon and when it started (its duration counts from
/// there). A promotion code's restrictions were judged when it was redeemed, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountDoc {
    pub coupon: String,
    pub start: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_code: Option<String>,
}

/// The stored subscription (the `document` column). Everything the engine needs is here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionDoc {
    pub id: String,
    pub object: String,
    pub customer: CustomerDoc,
    /// `trialing`, `active`, `past_due` (a renewal's payment failed) or `canceled`.
    pub status: String,
    pub currency: String,
    pub items: Vec<ItemDoc>,
    pub billing_cycle_anchor: i64,
    pub start_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_end: Option<i64>,
    pub cancel_at_period_end: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<i64>,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub discounts: Vec<DiscountDoc>,
    /// The engine's `pending_invoice_items`: prorations waiting for the next invoice.
    pub pending_invoice_items: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_payment_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_invoice: Option<String>,
    pub created: i64,
    /// Created through the demo routes (the only ones they may touch).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// The payment intent (`pi_…`) of an operation whose gateway outcome is not recorded yet
    /// (crate::payment_step): no other write touches the subscription until it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_payment: Option<String>,
}

impl SubscriptionDoc {
    pub(crate) fn record(&self, now: i64) -> ApiResult<SubscriptionRecord> {
        Ok(SubscriptionRecord {
            id: self.id.clone(),
            customer_id: self.customer.id.clone(),
            status: self.status.clone(),
            currency: self.currency.clone(),
            default_payment_method: self.default_payment_method.clone(),
            billing_cycle_anchor: self.billing_cycle_anchor,
            current_period_start: self.current_period_start,
            current_period_end: self.current_period_end,
            cancel_at_period_end: self.cancel_at_period_end,
            canceled_at: self.canceled_at,
            document: serde_json::to_string(self)
                .map_err(|e| ApiError::internal(format!("subscription serialization: {e}")))?,
            created_at: self.created,
            updated_at: now,
        })
    }

    pub(super) fn items_rows(&self) -> Vec<(String, i64)> {
        self.items
            .iter()
            .map(|i| (i.price.clone(), i.quantity))
            .collect()
    }

    pub(super) fn bills(&self) -> bool {
        matches!(self.status.as_str(), "active" | "trialing" | "past_due")
    }
}

pub(crate) fn read_doc(record: &SubscriptionRecord) -> ApiResult<SubscriptionDoc> {
    serde_json::from_str(&record.document)
        .map_err(|e| ApiError::internal(format!("stored subscription does not read back: {e}")))
}

/// The engine input (without `as_of` and `change`) the server prices a subscription with; the
/// page gets the same object (`engine_input`) to preview changes in wasm.
pub fn engine_input(doc: &SubscriptionDoc, balance: i64) -> Value {
    let mut sub = json!({
        "id": doc.id,
        "currency": doc.currency,
        "items": doc.items.iter().map(|i| json!({"id": i.id, "price": i.price, "quantity": i.quantity})).collect::<Vec<_>>(),
        "billing_cycle_anchor": doc.billing_cycle_anchor,
        "start_date": doc.start_date,
        "discounts": doc.discounts.iter().map(|d| json!({"coupon": d.coupon, "start": d.start})).collect::<Vec<_>>(),
        "pending_invoice_items": doc.pending_invoice_items,
    });
    if let Some(t) = doc.trial_end {
        sub["trial_end"] = json!(t);
    }
    if doc.cancel_at_period_end {
        sub["cancel_at_period_end"] = json!(true);
    }
    let mut customer = json!({"id": doc.customer.id, "balance": balance});
    if let Some(a) = &doc.customer.address {
        customer["address"] = a.clone();
    }
    if !doc.customer.tax_ids.is_empty() {
        customer["tax_ids"] = json!(doc.customer.tax_ids);
    }
    if let Some(t) = &doc.customer.tax_exempt {
        customer["tax_exempt"] = json!(t);
    }
    json!({"subscription": sub, "customer": customer})
}

/// Maps an engine error path to the request's: `subscription.items[0].price` → `items[0].price`,
/// `change.items[0]` → `items[0]`.
pub(super) fn engine_error(e: billcalc::Error) -> ApiError {
    let path = e
        .path
        .strip_prefix("subscription.")
        .or_else(|| e.path.strip_prefix("change."))
        .unwrap_or(&e.path)
        .to_string();
    let code = e.code.as_str();
    ApiError::bad_request(code, path, e.message)
}

/// The engine's invoice for a stored input (an e-invoice rendered again after a crash).
pub(crate) fn engine_invoice(state: &AppState, input: &Value) -> ApiResult<Invoice> {
    compute(state, input).map(|(invoice, _)| invoice)
}

/// Runs the engine: `preview_invoice` against the server's catalog.
pub(super) fn compute(state: &AppState, input: &Value) -> ApiResult<(Invoice, Value)> {
    let parsed: PreviewInvoiceInput = billcalc::from_value(input).map_err(engine_error)?;
    let invoice = state
        .calculator
        .preview_invoice(&parsed)
        .map_err(engine_error)?;
    let value = serde_json::to_value(&invoice)
        .map_err(|e| ApiError::internal(format!("invoice serialization: {e}")))?;
    Ok((invoice, value))
}

pub(super) fn state_name(s: billcalc::subscription::invoice::SubscriptionStatus) -> &'static str {
    use billcalc::subscription::invoice::SubscriptionStatus as S;
    match s {
        S::Trialing => "trialing",
        S::Active => "active",
        S::Canceled => "canceled",
    }
}

/// The subscription as the API shows it.
pub(crate) fn view(state: &AppState, doc: &SubscriptionDoc, balance: i64, now: i64) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("demo");
        o.insert("customer_balance".into(), json!(balance));
        o.insert("engine_input".into(), engine_input(doc, balance));
        o.insert("now".into(), json!(now));
        o.insert(
            "proration_window_seconds".into(),
            json!(state.quotes.token_ttl_seconds),
        );
    }
    v
}
