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

use crate::app::{AppState, Ctx};
use crate::canonical;
use crate::charge::{self, new_id, store_error};
use crate::clock::{date, rfc3339};
use crate::error::{json_response, ApiError, ApiResult};
use crate::gateway::{ChargeRequest, GatewayCharge, GatewayError};
use crate::invoice::{
    self, BillingCustomer, InvoiceDocument, PaymentInfo, SubscriptionInvoiceInfo,
};
use crate::pricing::{self, only_fields};
use crate::store::{ChangeRecord, Claim, InvoiceRecord, PaymentRecord, SubscriptionRecord, Tx};
use crate::token;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use billcalc::subscription::invoice::BillingReason;
use billcalc::{Invoice, PreviewInvoiceInput};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

pub const CREATE_SCOPE: &str = "subscriptions";
pub const UPDATE_SCOPE: &str = "subscription_updates";
pub const CANCEL_SCOPE: &str = "subscription_cancellations";
pub const RENEWAL_SCOPE: &str = "renewals";
const MAX_ITEMS: usize = 20;
const MAX_DISCOUNTS: usize = 5;

/// Who is asking: the merchant's back end (secret key), or the demo page (publishable key, only
/// with `BILLCALC_DEMO_CHECKOUT=1`, only on subscriptions it created, promotion codes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Merchant,
    Demo,
}

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

    fn items_rows(&self) -> Vec<(String, i64)> {
        self.items
            .iter()
            .map(|i| (i.price.clone(), i.quantity))
            .collect()
    }

    fn bills(&self) -> bool {
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
fn engine_error(e: billcalc::Error) -> ApiError {
    let path = e
        .path
        .strip_prefix("subscription.")
        .or_else(|| e.path.strip_prefix("change."))
        .unwrap_or(&e.path)
        .to_string();
    let code = e.code.as_str();
    ApiError::bad_request(code, path, e.message)
}

/// Runs the engine: `preview_invoice` against the server's catalog.
fn compute(state: &AppState, input: &Value) -> ApiResult<(Invoice, Value)> {
    let parsed: PreviewInvoiceInput = billcalc::from_value(input).map_err(engine_error)?;
    let invoice = state
        .calculator
        .preview_invoice(&parsed)
        .map_err(engine_error)?;
    let value = serde_json::to_value(&invoice)
        .map_err(|e| ApiError::internal(format!("invoice serialization: {e}")))?;
    Ok((invoice, value))
}

// ---------------------------------------------------------------------------------------------
// Request parsing.

fn string_at(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
) -> ApiResult<Option<String>> {
    let at = billcalc::error::join_path(path, key);
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid(
            at,
            format!("expected 1 to {max} characters"),
        )),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            at,
            "expected a string",
        )),
    }
}

fn bool_at(o: &Map<String, Value>, key: &str, path: &str) -> ApiResult<Option<bool>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            billcalc::error::join_path(path, key),
            "expected true or false",
        )),
    }
}

fn int_at(o: &Map<String, Value>, key: &str, path: &str) -> ApiResult<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_type",
                billcalc::error::join_path(path, key),
                "expected an integer",
            )
        }),
    }
}

/// An instant: Unix seconds or RFC 3339 / date text.
fn instant_at(o: &Map<String, Value>, key: &str) -> ApiResult<Option<i64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let t: billcalc::time::Timestamp =
                billcalc::from_value(v).map_err(|e| ApiError::engine(e, key))?;
            t.resolve(key)
                .map(Some)
                .map_err(|e| ApiError::engine(e, ""))
        }
    }
}

fn object_at<'a>(v: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| ApiError::bad_request("invalid_type", path, "expected an object"))
}

fn body(ctx: &Ctx) -> ApiResult<&Map<String, Value>> {
    match &ctx.body {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            "",
            "the body must be a JSON object",
        )),
        None => Err(ApiError::bad_request(
            "invalid_request",
            "",
            "a JSON body is required",
        )),
    }
}

fn empty_body() -> Map<String, Value> {
    Map::new()
}

struct CreateInput {
    customer: CustomerDoc,
    items: Vec<(String, i64)>,
    trial_period_days: Option<i64>,
    trial_end: Option<i64>,
    billing_cycle_anchor: Option<i64>,
    /// Engine discount inputs as requested (`{promotion_code}` or `{coupon}`).
    discounts: Vec<Value>,
    payment_method: String,
    expected_amount_due: Option<i64>,
}

fn parse_create(o: &Map<String, Value>, access: Access) -> ApiResult<CreateInput> {
    only_fields(
        o,
        &[
            "customer",
            "items",
            "trial_period_days",
            "trial_end",
            "billing_cycle_anchor",
            "discounts",
            "payment_method",
            "expected_amount_due",
        ],
        "",
    )?;
    let c = o.get("customer").ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "customer",
            "customer (with an id) is required",
        )
    })?;
    let c = object_at(c, "customer")?;
    only_fields(
        c,
        &[
            "id",
            "name",
            "company",
            "email",
            "address",
            "tax_ids",
            "tax_exempt",
            "preferred_locales",
        ],
        "customer",
    )?;
    let id = string_at(c, "id", "customer", 255)?.ok_or_else(|| {
        ApiError::bad_request("missing_field", "customer.id", "customer.id is required")
    })?;
    if access == Access::Demo && !id.starts_with("cus_demo_") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "customer.id",
            "demo subscriptions are for customers whose id starts with cus_demo_",
        ));
    }
    let tax_exempt = string_at(c, "tax_exempt", "customer", 16)?;
    if tax_exempt.is_some() && access == Access::Demo {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "customer.tax_exempt",
            "tax exemption is set by the merchant (secret key)",
        ));
    }
    let tax_ids = match c.get("tax_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 5 => a.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "customer.tax_ids",
                "expected an array of at most 5 tax ids",
            ))
        }
    };
    let address = match c.get("address") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "customer.address",
                "expected an object",
            ))
        }
    };
    let preferred_locales = match c.get("preferred_locales") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= 5 => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() && s.len() <= 35 => Ok(s.clone()),
                _ => Err(ApiError::invalid(
                    "customer.preferred_locales",
                    "expected language tags such as fr-FR",
                )),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "customer.preferred_locales",
                "expected an array of at most 5 language tags",
            ))
        }
    };
    let customer = CustomerDoc {
        id,
        name: string_at(c, "name", "customer", 512)?,
        company: string_at(c, "company", "customer", 512)?,
        email: string_at(c, "email", "customer", 512)?,
        address,
        tax_ids,
        tax_exempt,
        preferred_locales,
    };
    let items = match o.get("items") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_ITEMS => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "items",
                format!("expected 1 to {MAX_ITEMS} items"),
            ))
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "items",
                "items ([{price, quantity}]) are required",
            ))
        }
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("items[{i}]");
        let item = object_at(item, &at)?;
        only_fields(item, &["price", "quantity"], &at)?;
        let price = string_at(item, "price", &at, 255)?.ok_or_else(|| {
            ApiError::bad_request(
                "missing_field",
                format!("{at}.price"),
                "a catalog price id is required",
            )
        })?;
        let quantity = int_at(item, "quantity", &at)?.unwrap_or(1);
        if !(1..=1_000_000).contains(&quantity) {
            return Err(ApiError::bad_request(
                "invalid_quantity",
                format!("{at}.quantity"),
                "quantity must be between 1 and 1000000",
            ));
        }
        if parsed.iter().any(|(p, _): &(String, i64)| *p == price) {
            return Err(ApiError::invalid(
                format!("{at}.price"),
                "another item has this price; change its quantity instead",
            ));
        }
        parsed.push((price, quantity));
    }
    let discounts = match o.get("discounts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_DISCOUNTS => {
            let mut out = Vec::new();
            for (i, d) in a.iter().enumerate() {
                let at = format!("discounts[{i}]");
                let d = object_at(d, &at)?;
                only_fields(d, &["promotion_code", "coupon"], &at)?;
                match (
                    string_at(d, "promotion_code", &at, 255)?,
                    string_at(d, "coupon", &at, 255)?,
                ) {
                    (Some(code), None) => out.push(json!({"promotion_code": code})),
                    (None, Some(_)) if access == Access::Demo => {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "forbidden",
                            format!("{at}.coupon"),
                            "coupons are applied by the merchant (secret key); shoppers redeem promotion codes",
                        ))
                    }
                    (None, Some(coupon)) => out.push(json!({"coupon": coupon})),
                    _ => {
                        return Err(ApiError::invalid(
                            at,
                            "give a promotion_code or a coupon (one of them)",
                        ))
                    }
                }
            }
            out
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "discounts",
                format!("expected at most {MAX_DISCOUNTS} discounts"),
            ))
        }
    };
    let payment_method = string_at(o, "payment_method", "", 255)?.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "payment_method",
            "payment_method (a gateway token such as pm_card_visa) is required: renewals charge it",
        )
    })?;
    Ok(CreateInput {
        customer,
        items: parsed,
        trial_period_days: int_at(o, "trial_period_days", "")?,
        trial_end: instant_at(o, "trial_end")?,
        billing_cycle_anchor: instant_at(o, "billing_cycle_anchor")?,
        discounts,
        payment_method,
        expected_amount_due: int_at(o, "expected_amount_due", "")?,
    })
}

/// A change as the client asks for it (Stripe's subscription update), checked.
#[derive(Debug, Clone, Default)]
struct ChangeInput {
    /// `[{id?, price?, quantity?, deleted?}]`.
    items: Vec<Value>,
    proration_behavior: Option<String>,
    billing_cycle_anchor: Option<String>,
    cancel_at_period_end: Option<bool>,
    /// Cancel now (the final invoice at `proration_date`).
    cancel: bool,
    proration_date: Option<i64>,
}

impl ChangeInput {
    /// The engine's `change` at `proration_date`.
    fn engine(&self, proration_date: i64) -> Value {
        let mut c = self.canonical();
        c["proration_date"] = json!(proration_date);
        c
    }

    /// What identifies the change (not its date): stored and compared as a digest.
    fn canonical(&self) -> Value {
        let mut c = json!({"items": self.items});
        if let Some(b) = &self.proration_behavior {
            c["proration_behavior"] = json!(b);
        }
        if let Some(a) = &self.billing_cycle_anchor {
            c["billing_cycle_anchor"] = json!(a);
        }
        if let Some(x) = self.cancel_at_period_end {
            c["cancel_at_period_end"] = json!(x);
        }
        if self.cancel {
            c["cancel"] = json!(true);
        }
        c
    }
}

const CHANGE_FIELDS: &[&str] = &[
    "items",
    "proration_behavior",
    "billing_cycle_anchor",
    "cancel_at_period_end",
    "proration_date",
];

fn parse_change(o: &Map<String, Value>) -> ApiResult<ChangeInput> {
    let items = match o.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_ITEMS => {
            let mut out = Vec::new();
            for (i, item) in a.iter().enumerate() {
                let at = format!("items[{i}]");
                let item = object_at(item, &at)?;
                only_fields(item, &["id", "price", "quantity", "deleted"], &at)?;
                let mut entry = Map::new();
                if let Some(id) = string_at(item, "id", &at, 255)? {
                    entry.insert("id".into(), json!(id));
                }
                if let Some(price) = string_at(item, "price", &at, 255)? {
                    entry.insert("price".into(), json!(price));
                }
                if let Some(q) = int_at(item, "quantity", &at)? {
                    if !(0..=1_000_000).contains(&q) {
                        return Err(ApiError::bad_request(
                            "invalid_quantity",
                            format!("{at}.quantity"),
                            "quantity must be between 0 and 1000000",
                        ));
                    }
                    entry.insert("quantity".into(), json!(q));
                }
                if bool_at(item, "deleted", &at)? == Some(true) {
                    entry.insert("deleted".into(), json!(true));
                }
                out.push(Value::Object(entry));
            }
            out
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "items",
                format!("expected at most {MAX_ITEMS} items"),
            ))
        }
    };
    let proration_behavior = string_at(o, "proration_behavior", "", 32)?;
    if let Some(b) = &proration_behavior {
        if !["create_prorations", "always_invoice", "none"].contains(&b.as_str()) {
            return Err(ApiError::invalid(
                "proration_behavior",
                "expected create_prorations, always_invoice or none",
            ));
        }
    }
    let billing_cycle_anchor = string_at(o, "billing_cycle_anchor", "", 16)?;
    if let Some(a) = &billing_cycle_anchor {
        if !["now", "unchanged"].contains(&a.as_str()) {
            return Err(ApiError::invalid(
                "billing_cycle_anchor",
                "expected now or unchanged",
            ));
        }
    }
    Ok(ChangeInput {
        items,
        proration_behavior,
        billing_cycle_anchor,
        cancel_at_period_end: bool_at(o, "cancel_at_period_end", "")?,
        cancel: false,
        proration_date: instant_at(o, "proration_date")?,
    })
}

/// The client's confirmation of a change: the id of a server preview, or the invoice (or some
/// of its fields) it showed.
enum Confirmation {
    Preview(String),
    Expected(Value),
}

fn parse_confirmation(o: &Map<String, Value>, required: bool) -> ApiResult<Option<Confirmation>> {
    match (string_at(o, "preview", "", 64)?, o.get("expected_invoice")) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "expected_invoice",
            "give preview or expected_invoice, not both",
        )),
        (Some(id), None) => Ok(Some(Confirmation::Preview(id))),
        (None, Some(v @ Value::Object(m))) if !m.is_empty() => {
            Ok(Some(Confirmation::Expected(v.clone())))
        }
        (None, Some(_)) => Err(ApiError::bad_request(
            "invalid_type",
            "expected_invoice",
            "expected_invoice must be a non-empty object: the invoice (or the totals) the customer was shown",
        )),
        (None, None) if required => Err(ApiError::bad_request(
            "missing_field",
            "expected_invoice",
            "confirm what the customer was shown: preview (the id of a server preview) or expected_invoice (the invoice the page computed)",
        )),
        (None, None) => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

fn replay(fingerprint: &str, claim: Claim) -> ApiResult<Option<Response>> {
    match claim {
        Claim::New => Ok(None),
        Claim::Existing {
            fingerprint: f,
            status,
            response,
        } => {
            if f != fingerprint {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "",
                    "this Idempotency-Key was used with a different request body",
                ));
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = json_response(status, response);
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Some(r))
        }
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("no subscription with this id")
}

/// The subscription, if this caller may see it.
fn visible(doc: &SubscriptionDoc, access: Access) -> ApiResult<()> {
    if access == Access::Demo && !doc.demo {
        return Err(not_found());
    }
    Ok(())
}

fn canceled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "subscription_canceled",
        "",
        "the subscription is canceled",
    )
}

/// Checks a change's `proration_date` against the server's clock and the current period: at
/// most `quotes.token_ttl_seconds` old (the time a customer may take to confirm a preview),
/// at most `quotes.as_of_tolerance_seconds` ahead, and inside the current period.
fn check_proration_date(
    state: &AppState,
    doc: &SubscriptionDoc,
    proration_date: i64,
    now: i64,
) -> ApiResult<()> {
    let window = state.quotes.token_ttl_seconds;
    let ahead = state.quotes.as_of_tolerance_seconds;
    if proration_date < now - window {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "proration_date_expired",
            "proration_date",
            format!(
                "the proration date is more than {window} s before the server's clock ({}): preview the change again",
                rfc3339(now)
            ),
        ));
    }
    if proration_date > now + ahead {
        return Err(ApiError::invalid(
            "proration_date",
            format!(
                "the proration date must not be more than {ahead} s after the server's clock ({})",
                rfc3339(now)
            ),
        ));
    }
    if proration_date >= doc.current_period_end {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "renewal_pending",
            "proration_date",
            format!(
                "the current period ended at {}; its renewal must be issued before a change",
                rfc3339(doc.current_period_end)
            ),
        ));
    }
    if proration_date < doc.current_period_start {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "proration_date_outside_period",
            "proration_date",
            format!(
                "the proration date is before the current period, which started at {} (the subscription renewed since): preview the change again",
                rfc3339(doc.current_period_start)
            ),
        ));
    }
    Ok(())
}

/// What the subscription's items become after `change.items` (Stripe's semantics, as the
/// engine applies them: `id` modifies or deletes, no `id` adds; a new price keeps the quantity
/// unless one is given).
fn apply_items(
    items: &[ItemDoc],
    change: &[Value],
    key: &str,
    now: i64,
) -> ApiResult<Vec<ItemDoc>> {
    let mut out: Vec<Option<ItemDoc>> = items.iter().cloned().map(Some).collect();
    for (j, entry) in change.iter().enumerate() {
        let id = entry.get("id").and_then(Value::as_str);
        let price = entry.get("price").and_then(Value::as_str);
        let quantity = entry.get("quantity").and_then(Value::as_i64);
        let deleted = entry.get("deleted").and_then(Value::as_bool) == Some(true);
        match id {
            Some(id) => {
                let slot = out
                    .iter_mut()
                    .find(|s| s.as_ref().is_some_and(|i| i.id == id))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            format!("items[{j}].id"),
                            "no item of the subscription has this id",
                        )
                    })?;
                if deleted {
                    *slot = None;
                } else if let Some(item) = slot {
                    if let Some(p) = price {
                        item.price = p.to_string();
                    }
                    if let Some(q) = quantity {
                        item.quantity = q;
                    }
                }
            }
            None => out.push(Some(ItemDoc {
                id: new_id("si", &format!("{key}:{j}"), now),
                price: price.unwrap_or_default().to_string(),
                quantity: quantity.unwrap_or(1),
            })),
        }
    }
    let items: Vec<ItemDoc> = out.into_iter().flatten().collect();
    if items.is_empty() {
        return Err(ApiError::invalid(
            "items",
            "a subscription keeps at least one item: cancel it instead",
        ));
    }
    let mut seen = BTreeSet::new();
    for i in &items {
        if !seen.insert(i.price.as_str()) {
            return Err(ApiError::invalid(
                "items",
                "two items would have the same price; change one item's quantity instead",
            ));
        }
    }
    Ok(items)
}

fn product_name(state: &AppState, product: Option<&str>) -> Option<String> {
    product
        .and_then(|p| state.calculator.product(p))
        .and_then(|p| p.name.clone())
}

/// The proration lines of a preview, as pending invoice items for the next invoice: the same
/// amount, period and price (so the same tax), not discountable.
fn pending_from(state: &AppState, invoice: &Value) -> Vec<Value> {
    let empty = Vec::new();
    invoice
        .get("lines")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .filter(|l| l.get("type").and_then(Value::as_str) == Some("proration"))
        .map(|l| {
            let amount = l.get("amount").and_then(Value::as_i64).unwrap_or(0);
            let quantity = l.get("quantity").and_then(Value::as_i64).unwrap_or(1);
            let price = l.get("price").and_then(Value::as_str).unwrap_or_default();
            let name = product_name(state, l.get("product").and_then(Value::as_str))
                .unwrap_or_else(|| price.to_string());
            let start = l
                .pointer("/period/start")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let description = format!(
                "{} {name} × {quantity} after {}",
                if amount < 0 {
                    "Unused time on"
                } else {
                    "Remaining time on"
                },
                date(start)
            );
            let mut metadata = json!({"quantity": quantity.to_string()});
            if let Some(si) = l.get("subscription_item").and_then(Value::as_str) {
                metadata["subscription_item"] = json!(si);
            }
            json!({
                "amount": amount,
                "description": description,
                "period": l.get("period").cloned().unwrap_or(Value::Null),
                "proration": true,
                "price": price,
                "discountable": false,
                "metadata": metadata,
            })
        })
        .collect()
}

/// Line descriptions for the invoice document: product, seats and period, and for prorations
/// which way the time goes.
fn describe_lines(state: &AppState, doc: &mut InvoiceDocument, invoice: &Value) {
    let french = doc.locale == "fr";
    let empty = Vec::new();
    let lines = invoice
        .get("lines")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for (line, out) in lines.iter().zip(doc.lines.iter_mut()) {
        let name = product_name(state, line.get("product").and_then(Value::as_str))
            .or_else(|| {
                line.get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| {
                line.get("price")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let quantity = line
            .pointer("/metadata/quantity")
            .and_then(Value::as_str)
            .and_then(|q| q.parse::<i64>().ok())
            .or_else(|| line.get("quantity").and_then(Value::as_i64))
            .unwrap_or(1);
        let start = line
            .pointer("/period/start")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let end = line
            .pointer("/period/end")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let proration = line.get("proration").and_then(Value::as_bool) == Some(true);
        let amount = line.get("amount").and_then(Value::as_i64).unwrap_or(0);
        let (what, from, to) = match (french, proration, amount < 0) {
            (true, true, true) => ("Temps non utilisé : ", "du", "au"),
            (true, true, false) => ("Temps restant : ", "du", "au"),
            (true, false, _) => ("", "du", "au"),
            (false, true, true) => ("Unused time on ", "from", "to"),
            (false, true, false) => ("Remaining time on ", "from", "to"),
            (false, false, _) => ("", "from", "to"),
        };
        let kind = line.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind == "invoiceitem" && !proration {
            continue;
        }
        out.description = format!(
            "{what}{name} × {quantity} ({from} {} {to} {})",
            date(start),
            date(end)
        );
    }
}

/// An invoice the server issued for a subscription.
struct Issued {
    id: String,
    number: String,
    status: &'static str,
    /// The payment, or the decline when a renewal could not be collected.
    charge: Option<GatewayCharge>,
    decline: Option<ApiError>,
}

impl Issued {
    fn link(&self, state: &AppState, invoice: &Invoice) -> Value {
        let access = token::invoice_access_token(&state.signing_key, &self.id);
        let mut v = json!({
            "id": self.id,
            "number": self.number,
            "status": self.status,
            "total": invoice.quote.total,
            "amount_due": invoice.amount_due,
            "amount_paid": self.charge.as_ref().map_or(0, |c| c.amount),
            "url": format!("/v1/invoices/{}", self.id),
            "hosted_invoice_url": format!("/v1/invoices/{}.html?access_token={access}", self.id),
        });
        if let Some(d) = &self.decline {
            v["payment_error"] = d.body()["error"].clone();
        }
        v
    }
}

/// What a decline does: abort the whole operation (create, a change billed now, a final
/// invoice), or leave the issued invoice open (a renewal: the period has come, the invoice is
/// due whether or not the card pays it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDecline {
    Abort,
    KeepOpen,
}

enum IssueError {
    /// Roll back and answer with this.
    Fail(ApiError),
    /// Roll back, store the decline under the idempotency key, answer with it.
    Declined(ApiError),
}

impl From<ApiError> for IssueError {
    fn from(e: ApiError) -> Self {
        IssueError::Fail(e)
    }
}

/// Charges the amount due, numbers the invoice (the series row, locked last), inserts the
/// invoice and the payment and settles the customer's balance — inside the caller's
/// transaction.
#[allow(clippy::too_many_arguments)]
async fn issue(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &SubscriptionDoc,
    invoice: &Invoice,
    invoice_value: &Value,
    gateway_key: String,
    record_key: &str,
    now: i64,
    on_decline: OnDecline,
) -> Result<Issued, IssueError> {
    let currency = doc.currency.clone();
    let mut charge = None;
    let mut decline = None;
    if invoice.amount_due > 0 {
        let Some(pm) = doc.default_payment_method.clone() else {
            return Err(IssueError::Fail(ApiError::bad_request(
                "missing_field",
                "payment_method",
                "the subscription has no payment method",
            )));
        };
        let request = ChargeRequest {
            idempotency_key: gateway_key,
            amount: invoice.amount_due,
            currency: currency.clone(),
            payment_method: pm,
            description: state.seller.name.clone(),
        };
        match state.gateway.charge(request).await {
            Ok(c) => charge = Some(c),
            Err(GatewayError::Declined {
                code,
                decline_code,
                message,
                hard,
            }) => {
                let e = ApiError::new(
                    StatusCode::PAYMENT_REQUIRED,
                    code,
                    "payment_method",
                    message,
                )
                .with("decline_code", json!(decline_code))
                .with("retryable", json!(!hard && code == "processing_error"));
                match on_decline {
                    OnDecline::Abort => return Err(IssueError::Declined(e)),
                    OnDecline::KeepOpen => decline = Some(e),
                }
            }
            Err(GatewayError::UnknownPaymentMethod) => {
                let e = ApiError::invalid(
                    "payment_method",
                    format!(
                        "unknown payment method token for the {} gateway",
                        state.gateway.name()
                    ),
                );
                match on_decline {
                    OnDecline::Abort => return Err(IssueError::Fail(e)),
                    OnDecline::KeepOpen => decline = Some(e),
                }
            }
            Err(GatewayError::Unavailable(why)) => {
                eprintln!("billcalc-server: payment gateway unavailable: {why}");
                return Err(IssueError::Fail(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment_gateway_unavailable",
                    "",
                    "the payment gateway did not answer; retry with the same Idempotency-Key",
                )));
            }
        }
    }
    let status = if invoice.amount_due > 0 && charge.is_none() {
        "open"
    } else {
        "paid"
    };

    let series = format!("{}{}", state.invoice.series_prefix, crate::clock::year(now));
    let number = tx
        .next_number(&series)
        .await
        .map_err(|e| IssueError::Fail(store_error(e)))?;
    let number_display = format!("{series}-{number:06}");
    let invoice_id = new_id("in", record_key, now);
    let payment = charge.as_ref().map(|c| PaymentInfo {
        id: c.id.clone(),
        amount: c.amount,
        status: "succeeded".into(),
        method: format!("card {} •••• {}", c.brand, c.last4),
        paid_at: now,
    });
    let customer = BillingCustomer {
        id: Some(doc.customer.id.clone()),
        name: doc.customer.name.clone(),
        company: doc.customer.company.clone(),
        email: doc.customer.email.clone(),
        address: doc.customer.address.clone(),
        tax_ids: doc
            .customer
            .tax_ids
            .iter()
            .filter_map(|t| t.get("value").and_then(Value::as_str).map(str::to_string))
            .collect(),
    };
    let empty = Vec::new();
    let lines = invoice_value
        .get("lines")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let service_start = lines
        .iter()
        .filter_map(|l| l.pointer("/period/start").and_then(Value::as_i64))
        .min()
        .unwrap_or(invoice.created);
    let service_end = lines
        .iter()
        .filter_map(|l| l.pointer("/period/end").and_then(Value::as_i64))
        .max()
        .unwrap_or(invoice.created);
    let billing_reason = match invoice.billing_reason {
        BillingReason::SubscriptionCreate => "subscription_create",
        BillingReason::SubscriptionCycle => "subscription_cycle",
        BillingReason::SubscriptionUpdate => "subscription_update",
    };
    let name_of = |id: &str| state.calculator.product(id).and_then(|p| p.name.clone());
    let as_of = rfc3339(invoice.created);
    let mut document = invoice::build(invoice::Issue {
        id: &invoice_id,
        number: &number_display,
        series: &series,
        created: now,
        seller: &state.seller,
        terms: &state.invoice,
        customer,
        payment,
        as_of: &as_of,
        quote: invoice_value,
        product_name: &name_of,
        status,
        subscription: Some(SubscriptionInvoiceInfo {
            id: doc.id.clone(),
            billing_reason: billing_reason.into(),
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            service_start,
            service_end,
            starting_balance: invoice.starting_balance,
            amount_due: invoice.amount_due,
            ending_balance: invoice.ending_balance,
            carried_to_balance: invoice.minimum_charge.map(|m| m.carried_to_balance),
        }),
    });
    describe_lines(state, &mut document, invoice_value);
    let text = serde_json::to_string(&document)
        .map_err(|e| ApiError::internal(format!("invoice serialization: {e}")))?;
    let record = InvoiceRecord {
        id: invoice_id.clone(),
        series,
        number,
        number_display: number_display.clone(),
        created_at: now,
        currency: currency.clone(),
        total: invoice.quote.total,
        customer_id: Some(doc.customer.id.clone()),
        idempotency_key: record_key.to_string(),
        document: text,
        subscription_id: Some(doc.id.clone()),
    };
    tx.insert_invoice(&record)
        .await
        .map_err(|e| IssueError::Fail(store_error(e)))?;
    if let Some(c) = &charge {
        let p = PaymentRecord {
            id: c.id.clone(),
            invoice_id: invoice_id.clone(),
            amount: c.amount,
            currency: currency.clone(),
            status: "succeeded".into(),
            gateway: state.gateway.name().into(),
            card_brand: Some(c.brand.clone()),
            card_last4: Some(c.last4.clone()),
            created_at: now,
        };
        tx.insert_payment(&p)
            .await
            .map_err(|e| IssueError::Fail(store_error(e)))?;
    }
    tx.set_balance(&doc.customer.id, &currency, invoice.ending_balance)
        .await
        .map_err(|e| IssueError::Fail(store_error(e)))?;
    Ok(Issued {
        id: invoice_id,
        number: number_display,
        status,
        charge,
        decline,
    })
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

/// Runs a handler body in its own task (a client hanging up does not cut a transaction short).
async fn spawned<F>(f: F) -> Response
where
    F: std::future::Future<Output = ApiResult<Response>> + Send + 'static,
{
    match tokio::spawn(f).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal("the subscription task failed").into_response(),
    }
}

async fn abort<T>(tx: Box<dyn Tx>, error: ApiError) -> ApiResult<T> {
    let _ = tx.rollback().await;
    Err(error)
}

/// Rolls back an issue failure; a decline is stored under the key so a replay gets it too.
async fn abort_issue<T>(
    state: &AppState,
    tx: Box<dyn Tx>,
    error: IssueError,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> ApiResult<T> {
    let _ = tx.rollback().await;
    match error {
        IssueError::Fail(e) => Err(e),
        IssueError::Declined(e) => {
            match charge::store_decline(state, scope, key, fingerprint, now, e).await {
                Err(e) => Err(e),
                Ok(_) => Err(ApiError::internal("the decline was not returned")),
            }
        }
    }
}

fn ok(value: &Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}

// ---------------------------------------------------------------------------------------------
// Create.

pub async fn create(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match charge::idempotency_key(&headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_create(&state, &ctx, &key, access).await }).await
}

/// A catalog price's currency (lowercase), or why it cannot be a subscription's.
fn plan_currency(catalog: &Value, price: &str, path: &str) -> ApiResult<String> {
    let entry = catalog
        .get("prices")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(price))
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "unknown_price",
                path,
                "no price with this id in the catalog",
            )
        })?;
    if entry.get("recurring").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request(
            "invalid_subscription",
            path,
            "a subscription's prices are recurring",
        ));
    }
    if entry
        .pointer("/recurring/usage_type")
        .and_then(Value::as_str)
        == Some("metered")
    {
        return Err(ApiError::bad_request(
            "invalid_subscription",
            path,
            "metered prices need usage reporting, which the server does not take yet",
        ));
    }
    Ok(entry
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase())
}

async fn run_create(state: &AppState, ctx: &Ctx, key: &str, access: Access) -> ApiResult<Response> {
    let o = body(ctx)?;
    let fingerprint = canonical::digest(&Value::Object(o.clone()));
    let input = parse_create(o, access);
    let has_paid = match &input {
        Ok(i) => Some(
            state
                .store
                .has_paid(&i.customer.id)
                .await
                .map_err(store_error)?,
        ),
        Err(_) => None,
    };
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match tx.claim_key(CREATE_SCOPE, key, &fingerprint, now).await {
        Ok(claim) => match replay(&fingerprint, claim) {
            Ok(Some(r)) => {
                let _ = tx.rollback().await;
                return Ok(r);
            }
            Ok(None) => {}
            Err(e) => return abort(tx, e).await,
        },
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let input = match input {
        Ok(i) => i,
        Err(e) => return abort(tx, e).await,
    };
    match create_in(state, tx.as_mut(), &input, has_paid, key, now, access).await {
        Ok((status, response)) => {
            let text = response.to_string();
            // Events (crate::dunning): customer.subscription.created, the first invoice's.
            if let Err(e) =
                crate::dunning::after_api_write(state, tx.as_mut(), true, &response, now).await
            {
                return abort(tx, e).await;
            }
            if let Err(e) = tx.finish_key(CREATE_SCOPE, key, status, &text).await {
                return abort(tx, store_error(e)).await;
            }
            tx.commit().await.map_err(store_error)?;
            Ok(json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                text,
            ))
        }
        Err(e) => abort_issue(state, tx, e, CREATE_SCOPE, key, &fingerprint, now).await,
    }
}

async fn create_in(
    state: &AppState,
    tx: &mut dyn Tx,
    input: &CreateInput,
    has_paid: Option<bool>,
    key: &str,
    now: i64,
    access: Access,
) -> Result<(u16, Value), IssueError> {
    let catalog: Value = serde_json::from_str(&state.catalog_json)
        .map_err(|e| ApiError::internal(format!("catalog: {e}")))?;
    let mut currency = String::new();
    for (i, (price, _)) in input.items.iter().enumerate() {
        let c = plan_currency(&catalog, price, &format!("items[{i}].price"))?;
        if i == 0 {
            currency = c;
        }
    }
    let trial_end = match (input.trial_end, input.trial_period_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "trial_period_days",
                "give trial_end or trial_period_days, not both",
            )
            .into())
        }
        (Some(t), None) if t > now => Some(t),
        (Some(_), None) => {
            return Err(ApiError::invalid("trial_end", "the trial must end in the future").into())
        }
        (None, Some(d)) if (1..=730).contains(&d) => Some(now + d * 86_400),
        (None, Some(_)) => {
            return Err(ApiError::invalid("trial_period_days", "must be between 1 and 730").into())
        }
        (None, None) => None,
    };
    let anchor = input
        .billing_cycle_anchor
        .unwrap_or(trial_end.unwrap_or(now));
    let id = new_id("sub", key, now);
    let mut doc = SubscriptionDoc {
        id: id.clone(),
        object: "subscription".into(),
        customer: input.customer.clone(),
        status: "incomplete".into(),
        currency: currency.clone(),
        items: input
            .items
            .iter()
            .enumerate()
            .map(|(j, (price, quantity))| ItemDoc {
                id: new_id("si", &format!("{key}:{j}"), now),
                price: price.clone(),
                quantity: *quantity,
            })
            .collect(),
        billing_cycle_anchor: anchor,
        start_date: now,
        trial_end,
        cancel_at_period_end: false,
        canceled_at: None,
        current_period_start: now,
        current_period_end: now,
        discounts: Vec::new(),
        pending_invoice_items: Vec::new(),
        default_payment_method: Some(input.payment_method.clone()),
        latest_invoice: None,
        created: now,
        demo: access == Access::Demo,
    };
    let balance = tx
        .lock_balance(&doc.customer.id, &currency)
        .await
        .map_err(store_error)?;
    // The first invoice is the engine's upcoming invoice just before the start. The codes are
    // judged now (restrictions, first-time customers, validity).
    let mut engine = engine_input(&doc, balance);
    engine["subscription"]["discounts"] = Value::Array(
        input
            .discounts
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d["start"] = json!(now);
                d
            })
            .collect(),
    );
    if let Some(paid) = has_paid {
        engine["customer"]["has_paid_before"] = json!(paid);
    }
    engine["as_of"] = json!(now - 1);
    let (invoice, value) = compute(state, &engine)?;
    if let Some(r) = invoice.quote.rejected_discounts.first() {
        let index =
            r.id.strip_prefix("subscription.")
                .unwrap_or(&r.id)
                .to_string();
        let reason = serde_json::to_value(r.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        return Err(ApiError::bad_request(
            "discount_rejected",
            index,
            format!("this discount cannot apply to the subscription ({reason})"),
        )
        .with("reason", json!(reason))
        .into());
    }
    if let Some(expected) = input.expected_amount_due {
        if expected != invoice.amount_due {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "amount_mismatch",
                "expected_amount_due",
                format!(
                    "the first invoice's amount due is {}, not {expected}; nothing was charged",
                    invoice.amount_due
                ),
            )
            .with(
                "differences",
                json!([{"path": "amount_due", "expected": invoice.amount_due, "actual": expected}]),
            )
            .into());
        }
    }
    let counters = charge::redemption_counters(&invoice.quote.discounts, |d, what| {
        format!(
            "{}.{what}",
            d.id.strip_prefix("subscription.").unwrap_or(&d.id)
        )
    });
    charge::redeem_all(tx, &counters).await?;
    // Redeemed discounts are kept as their catalog coupons from now on.
    doc.discounts = invoice
        .quote
        .discounts
        .iter()
        .filter_map(|d| {
            Some(DiscountDoc {
                coupon: d.coupon.as_ref()?.id.clone()?,
                start: now,
                promotion_code: d.promotion_code.as_ref().map(|p| p.code.clone()),
            })
        })
        .collect();
    let issued = issue(
        state,
        tx,
        &doc,
        &invoice,
        &value,
        format!("{CREATE_SCOPE}:{key}"),
        key,
        now,
        OnDecline::Abort,
    )
    .await?;
    for counter in counters.keys() {
        tx.insert_redemption(&issued.id, counter)
            .await
            .map_err(store_error)?;
    }
    let s = invoice.subscription;
    doc.status = state_name(s.status).into();
    doc.billing_cycle_anchor = s.billing_cycle_anchor;
    doc.current_period_start = s.current_period_start;
    doc.current_period_end = s.current_period_end;
    doc.latest_invoice = Some(issued.id.clone());
    let record = doc.record(now)?;
    tx.insert_subscription(&record).await.map_err(store_error)?;
    tx.set_subscription_items(&doc.id, &doc.items_rows())
        .await
        .map_err(store_error)?;
    let mut out = view(state, &doc, invoice.ending_balance, now);
    out["latest_invoice"] = issued.link(state, &invoice);
    out["invoice"] = value;
    Ok((200, out))
}

fn state_name(s: billcalc::subscription::invoice::SubscriptionStatus) -> &'static str {
    use billcalc::subscription::invoice::SubscriptionStatus as S;
    match s {
        S::Trialing => "trialing",
        S::Active => "active",
        S::Canceled => "canceled",
    }
}

// ---------------------------------------------------------------------------------------------
// Retrieve, upcoming invoice, invoices.

async fn load(state: &AppState, id: &str, access: Access) -> ApiResult<(SubscriptionDoc, i64)> {
    let record = state
        .store
        .subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let doc = read_doc(&record)?;
    visible(&doc, access)?;
    let balance = state
        .store
        .balance(&doc.customer.id, &doc.currency)
        .await
        .map_err(store_error)?;
    Ok((doc, balance))
}

pub async fn retrieve(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, balance) = load(state, id, access).await?;
    let now = state.clock.now();
    let mut out = view(state, &doc, balance, now);
    out["upcoming_invoice"] = upcoming_value(state, &doc, balance, now).unwrap_or(Value::Null);
    if let Some(id) = &doc.latest_invoice {
        let access = token::invoice_access_token(&state.signing_key, id);
        let record = state.store.invoice(id).await.map_err(store_error)?;
        out["latest_invoice"] = json!({
            "id": id,
            "number": record.as_ref().map(|r| r.number_display.clone()),
            "total": record.as_ref().map(|r| r.total),
            "url": format!("/v1/invoices/{id}"),
            "hosted_invoice_url": format!("/v1/invoices/{id}.html?access_token={access}"),
        });
    }
    Ok(ok(&out))
}

/// The next invoice as the subscription stands, at `now` (none once canceled or when the
/// period's renewal is due).
pub(crate) fn upcoming_value(
    state: &AppState,
    doc: &SubscriptionDoc,
    balance: i64,
    now: i64,
) -> Option<Value> {
    if !doc.bills() || now >= doc.current_period_end {
        return None;
    }
    let mut input = engine_input(doc, balance);
    input["as_of"] = json!(now.max(doc.current_period_start));
    compute(state, &input).ok().map(|(_, v)| v)
}

/// `GET /v1/invoices/upcoming?subscription=ID`: the next invoice, nothing stored.
pub async fn upcoming(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, balance) = load(state, id, access).await?;
    if !doc.bills() {
        return Err(canceled());
    }
    let now = state.clock.now();
    if now >= doc.current_period_end {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "renewal_pending",
            "",
            "the current period has ended; its renewal is due",
        ));
    }
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(now.max(doc.current_period_start));
    let (_, value) = compute(state, &input)?;
    Ok(ok(&json!({
        "object": "upcoming_invoice",
        "subscription": doc.id,
        "as_of": now,
        "invoice": value,
    })))
}

pub async fn invoices(state: &AppState, id: &str, access: Access) -> ApiResult<Response> {
    let (doc, _) = load(state, id, access).await?;
    let records = state
        .store
        .subscription_invoices(&doc.id)
        .await
        .map_err(store_error)?;
    let data: Vec<Value> = records
        .iter()
        .map(|r| {
            let d: Value = serde_json::from_str(&r.document).unwrap_or(Value::Null);
            let access = token::invoice_access_token(&state.signing_key, &r.id);
            json!({
                "id": r.id,
                "number": r.number_display,
                "created": r.created_at,
                "currency": r.currency,
                "total": r.total,
                "status": d.get("status").cloned().unwrap_or(Value::Null),
                "billing_reason": d.pointer("/subscription/billing_reason").cloned().unwrap_or(Value::Null),
                "amount_due": d.pointer("/subscription/amount_due").cloned().unwrap_or(Value::Null),
                "amount_paid": d.get("amount_paid").cloned().unwrap_or(Value::Null),
                "url": format!("/v1/invoices/{}", r.id),
                "hosted_invoice_url": format!("/v1/invoices/{}.html?access_token={access}", r.id),
            })
        })
        .collect();
    Ok(ok(&json!({"object": "list", "data": data})))
}

// ---------------------------------------------------------------------------------------------
// Preview.

/// `POST /v1/subscriptions/{id}/preview` (and `POST /v1/invoices/upcoming` with
/// `subscription`): the invoice the change would produce at `proration_date` (default: now),
/// stored with its digest so a commit can be checked against it.
pub async fn preview(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    access: Access,
    extra_fields: &[&str],
) -> ApiResult<Response> {
    let fallback = empty_body();
    let o = match &ctx.body {
        None => &fallback,
        Some(_) => body(ctx)?,
    };
    let mut allowed: Vec<&str> = CHANGE_FIELDS.to_vec();
    allowed.push("cancel");
    allowed.extend_from_slice(extra_fields);
    only_fields(o, &allowed, "")?;
    let mut change = parse_change(o)?;
    change.cancel = bool_at(o, "cancel", "")? == Some(true);
    let (doc, balance) = load(state, id, access).await?;
    if !doc.bills() {
        return Err(canceled());
    }
    let now = state.clock.now();
    let proration_date = change.proration_date.unwrap_or(now);
    check_proration_date(state, &doc, proration_date, now)?;
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(proration_date);
    input["change"] = change.engine(proration_date);
    let (_, value) = compute(state, &input)?;
    let digest = canonical::digest(&value);
    let change_id = new_id("scp", &doc.id, now);
    let record = ChangeRecord {
        id: change_id.clone(),
        subscription_id: doc.id.clone(),
        proration_date,
        preview_digest: digest.clone(),
        invoice_id: None,
        created_at: now,
        request: canonical::canonical(&change.canonical()),
        preview: value.to_string(),
        status: "previewed".into(),
        committed_at: None,
    };
    let mut tx = state.store.begin().await.map_err(store_error)?;
    if let Err(e) = tx.insert_change(&record).await {
        return abort(tx, store_error(e)).await;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(ok(&json!({
        "object": "subscription_change_preview",
        "id": change_id,
        "subscription": doc.id,
        "proration_date": proration_date,
        "expires_at": proration_date + state.quotes.token_ttl_seconds,
        "preview_digest": digest,
        "invoice": value,
    })))
}

// ---------------------------------------------------------------------------------------------
// Commit a change, cancel.

/// What the commit of a change or a cancellation does once it is checked.
enum Commit {
    Change(ChangeInput),
    CancelNow {
        prorate: bool,
    },
    /// Nothing billed now: `cancel_at_period_end` set or undone, the payment method changed.
    Settings {
        cancel_at_period_end: Option<bool>,
    },
}

pub async fn update(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match charge::idempotency_key(&headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_commit(&state, &ctx, &id, &key, access, UPDATE_SCOPE).await }).await
}

pub async fn cancel(
    state: Arc<AppState>,
    ctx: Arc<Ctx>,
    id: String,
    headers: HeaderMap,
    access: Access,
) -> Response {
    let key = match charge::idempotency_key(&headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    spawned(async move { run_commit(&state, &ctx, &id, &key, access, CANCEL_SCOPE).await }).await
}

struct CommitInput {
    what: Commit,
    proration_date: Option<i64>,
    confirmation: Option<Confirmation>,
    payment_method: Option<String>,
}

fn parse_commit(o: &Map<String, Value>, scope: &str) -> ApiResult<CommitInput> {
    if scope == CANCEL_SCOPE {
        only_fields(
            o,
            &[
                "at_period_end",
                "prorate",
                "proration_date",
                "preview",
                "expected_invoice",
            ],
            "",
        )?;
        let at_period_end = bool_at(o, "at_period_end", "")?.unwrap_or(false);
        let what = if at_period_end {
            Commit::Settings {
                cancel_at_period_end: Some(true),
            }
        } else {
            Commit::CancelNow {
                prorate: bool_at(o, "prorate", "")?.unwrap_or(true),
            }
        };
        return Ok(CommitInput {
            what,
            proration_date: instant_at(o, "proration_date")?,
            confirmation: parse_confirmation(o, false)?,
            payment_method: None,
        });
    }
    let mut allowed: Vec<&str> = CHANGE_FIELDS.to_vec();
    allowed.extend_from_slice(&["preview", "expected_invoice", "payment_method"]);
    only_fields(o, &allowed, "")?;
    let change = parse_change(o)?;
    let payment_method = string_at(o, "payment_method", "", 255)?;
    // Scheduling or undoing the end of the period, or a new payment method, needs no preview:
    // nothing is billed.
    if change.items.is_empty()
        && change.billing_cycle_anchor.is_none()
        && change.proration_behavior.is_none()
        && change.proration_date.is_none()
        && !o.contains_key("preview")
        && !o.contains_key("expected_invoice")
        && (change.cancel_at_period_end.is_some() || payment_method.is_some())
    {
        return Ok(CommitInput {
            what: Commit::Settings {
                cancel_at_period_end: change.cancel_at_period_end,
            },
            proration_date: None,
            confirmation: None,
            payment_method,
        });
    }
    let proration_date = change.proration_date.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "proration_date",
            "proration_date is required: commit with the proration_date the customer's preview was computed at",
        )
    })?;
    Ok(CommitInput {
        confirmation: parse_confirmation(o, true)?,
        what: Commit::Change(change),
        proration_date: Some(proration_date),
        payment_method,
    })
}

async fn run_commit(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    key: &str,
    access: Access,
    scope: &'static str,
) -> ApiResult<Response> {
    let fallback = empty_body();
    let o = match &ctx.body {
        None => &fallback,
        Some(_) => body(ctx)?,
    };
    let mut fingerprint_body = o.clone();
    fingerprint_body.insert("subscription".into(), json!(id));
    let fingerprint = canonical::digest(&Value::Object(fingerprint_body));
    let input = parse_commit(o, scope);
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match tx.claim_key(scope, key, &fingerprint, now).await {
        Ok(claim) => match replay(&fingerprint, claim) {
            Ok(Some(r)) => {
                let _ = tx.rollback().await;
                return Ok(r);
            }
            Ok(None) => {}
            Err(e) => return abort(tx, e).await,
        },
        Err(e) => return abort(tx, store_error(e)).await,
    }
    let input = match input {
        Ok(i) => i,
        Err(e) => return abort(tx, e).await,
    };
    match commit_in(state, tx.as_mut(), id, input, key, now, access).await {
        Ok(response) => {
            let text = response.to_string();
            // Events (crate::dunning): customer.subscription.updated/deleted, an invoice issued.
            if let Err(e) =
                crate::dunning::after_api_write(state, tx.as_mut(), false, &response, now).await
            {
                return abort(tx, e).await;
            }
            if let Err(e) = tx.finish_key(scope, key, 200, &text).await {
                return abort(tx, store_error(e)).await;
            }
            tx.commit().await.map_err(store_error)?;
            Ok(json_response(StatusCode::OK, text))
        }
        Err(e) => abort_issue(state, tx, e, scope, key, &fingerprint, now).await,
    }
}

/// Compares what the client confirmed with what the server computes now.
async fn confirm(
    tx: &mut dyn Tx,
    confirmation: Option<&Confirmation>,
    doc: &SubscriptionDoc,
    proration_date: i64,
    request: &str,
    value: &Value,
    now: i64,
) -> Result<ChangeRecord, IssueError> {
    let digest = canonical::digest(value);
    match confirmation {
        Some(Confirmation::Preview(pid)) => {
            let record = tx
                .lock_change(pid)
                .await
                .map_err(store_error)?
                .filter(|r| r.subscription_id == doc.id)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "unknown_preview",
                        "preview",
                        "no preview with this id for this subscription",
                    )
                })?;
            if record.status != "previewed" {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_already_committed",
                    "preview",
                    "this preview was already committed",
                )
                .into());
            }
            if record.proration_date != proration_date {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "proration_date",
                    format!(
                        "the preview was computed at proration_date {}; commit with the same one",
                        record.proration_date
                    ),
                )
                .into());
            }
            if record.request != request {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "items",
                    "the change differs from the one previewed",
                )
                .into());
            }
            if record.preview_digest != digest {
                let shown: Value = serde_json::from_str(&record.preview).unwrap_or(Value::Null);
                let differences = pricing::differences(&shown, value);
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_stale",
                    "preview",
                    "the invoice computed now differs from the preview (the catalog, the subscription or the balance changed): nothing was changed; preview again",
                )
                .with("differences", json!(differences))
                .into());
            }
            Ok(record)
        }
        Some(Confirmation::Expected(expected)) => {
            let differences = pricing::differences(expected, value);
            if !differences.is_empty() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "preview_mismatch",
                    "expected_invoice",
                    "the invoice the server computes differs from the one the customer was shown: nothing was changed",
                )
                .with("differences", json!(differences))
                .into());
            }
            Ok(ChangeRecord {
                id: new_id("scp", &doc.id, now),
                subscription_id: doc.id.clone(),
                proration_date,
                preview_digest: canonical::digest(expected),
                invoice_id: None,
                created_at: now,
                request: request.to_string(),
                preview: expected.to_string(),
                status: "new".into(),
                committed_at: None,
            })
        }
        None => Ok(ChangeRecord {
            id: new_id("scp", &doc.id, now),
            subscription_id: doc.id.clone(),
            proration_date,
            preview_digest: digest,
            invoice_id: None,
            created_at: now,
            request: request.to_string(),
            preview: String::new(),
            status: "new".into(),
            committed_at: None,
        }),
    }
}

async fn commit_in(
    state: &AppState,
    tx: &mut dyn Tx,
    id: &str,
    input: CommitInput,
    key: &str,
    now: i64,
    access: Access,
) -> Result<Value, IssueError> {
    let record = tx
        .lock_subscription(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    let mut doc = read_doc(&record)?;
    visible(&doc, access)?;
    if !doc.bills() {
        return Err(canceled().into());
    }
    if let Some(pm) = &input.payment_method {
        doc.default_payment_method = Some(pm.clone());
    }
    let change = match input.what {
        Commit::Settings {
            cancel_at_period_end,
        } => {
            if let Some(at_end) = cancel_at_period_end {
                doc.cancel_at_period_end = at_end;
            }
            tx.update_subscription(&doc.record(now)?)
                .await
                .map_err(store_error)?;
            let balance = tx
                .lock_balance(&doc.customer.id, &doc.currency)
                .await
                .map_err(store_error)?;
            let mut out = view(state, &doc, balance, now);
            out["upcoming_invoice"] =
                upcoming_value(state, &doc, balance, now).unwrap_or(Value::Null);
            return Ok(out);
        }
        // The engine's default behaviour prorates; `{cancel: true}` previews this very change.
        Commit::CancelNow { prorate } => ChangeInput {
            proration_behavior: (!prorate).then(|| "none".to_string()),
            cancel: true,
            ..ChangeInput::default()
        },
        Commit::Change(c) => c,
    };
    let proration_date = input.proration_date.unwrap_or(now);
    check_proration_date(state, &doc, proration_date, now)?;
    let balance = tx
        .lock_balance(&doc.customer.id, &doc.currency)
        .await
        .map_err(store_error)?;
    let mut engine = engine_input(&doc, balance);
    engine["as_of"] = json!(proration_date);
    engine["change"] = change.engine(proration_date);
    let (invoice, value) = compute(state, &engine)?;
    let request = canonical::canonical(&change.canonical());
    let mut change_record = confirm(
        tx,
        input.confirmation.as_ref(),
        &doc,
        proration_date,
        &request,
        &value,
        now,
    )
    .await?;

    let new_items = if change.cancel {
        doc.items.clone()
    } else {
        apply_items(&doc.items, &change.items, key, now)?
    };
    let issued_now = invoice.billing_reason == BillingReason::SubscriptionUpdate;
    let mut issued = None;
    if issued_now {
        // Billed at the proration date: always_invoice, an anchor reset or an interval change,
        // a cancellation. A final invoice with nothing on it is not issued.
        let empty = invoice.quote.lines.is_empty();
        if !empty {
            let i = issue(
                state,
                tx,
                &doc,
                &invoice,
                &value,
                format!(
                    "{}:{key}",
                    if change.cancel {
                        CANCEL_SCOPE
                    } else {
                        UPDATE_SCOPE
                    }
                ),
                key,
                now,
                OnDecline::Abort,
            )
            .await?;
            doc.latest_invoice = Some(i.id.clone());
            issued = Some(i);
        }
        doc.pending_invoice_items = Vec::new();
        let s = invoice.subscription;
        doc.billing_cycle_anchor = s.billing_cycle_anchor;
        doc.current_period_start = s.current_period_start;
        doc.current_period_end = s.current_period_end;
        if change.cancel {
            doc.status = "canceled".into();
            doc.canceled_at = Some(proration_date);
            doc.cancel_at_period_end = false;
        } else if doc.status != "past_due" {
            doc.status = state_name(s.status).into();
        }
    } else {
        // Prorations wait for the next invoice, ahead of older pending items (the order the
        // preview listed them in).
        let mut pending = pending_from(state, &value);
        pending.append(&mut doc.pending_invoice_items);
        doc.pending_invoice_items = pending;
    }
    doc.items = new_items;
    if let Some(x) = change.cancel_at_period_end {
        doc.cancel_at_period_end = x;
    }
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)?;
    tx.set_subscription_items(&doc.id, &doc.items_rows())
        .await
        .map_err(store_error)?;
    let invoice_id = issued.as_ref().map(|i| i.id.clone());
    if change_record.status == "previewed" {
        tx.commit_change(&change_record.id, invoice_id.as_deref(), now)
            .await
            .map_err(store_error)?;
    } else {
        change_record.status = "committed".into();
        change_record.invoice_id = invoice_id;
        change_record.committed_at = Some(now);
        tx.insert_change(&change_record)
            .await
            .map_err(store_error)?;
    }
    let balance_after = if issued.is_some() {
        invoice.ending_balance
    } else {
        balance
    };
    let mut out = view(state, &doc, balance_after, now);
    out["change"] = json!({
        "id": change_record.id,
        "proration_date": proration_date,
        "invoice": value,
        "invoice_issued": issued.as_ref().map(|i| i.link(state, &invoice)),
    });
    if let Some(i) = &issued {
        out["latest_invoice"] = i.link(state, &invoice);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Renewals.

/// Issues every renewal due at `as_of`: for each subscription whose current period ended by
/// then, the engine's next invoice (the very `preview_invoice` call a preview makes), with the
/// same numbering, keyed by `{subscription}:{period end}` so it is issued once however often
/// (or however concurrently) renewals run. A subscription several periods behind is brought up
/// to date one invoice at a time.
pub async fn run_renewals(state: &AppState, as_of: i64) -> ApiResult<Value> {
    let mut issued = Vec::new();
    let mut failed = Vec::new();
    let mut failed_ids = BTreeSet::new();
    for _ in 0..100 {
        let due = state
            .store
            .due_subscriptions(as_of, 100)
            .await
            .map_err(store_error)?;
        let due: Vec<String> = due
            .into_iter()
            .filter(|d| !failed_ids.contains(d))
            .collect();
        if due.is_empty() {
            break;
        }
        let mut progress = false;
        for id in due {
            match renew_one(state, &id, as_of).await {
                Ok(Some(r)) => {
                    issued.push(r);
                    progress = true;
                }
                Ok(None) => {}
                Err(e) => {
                    eprintln!("billcalc-server: renewal of {id} failed: {e}");
                    failed.push(json!({"subscription": id, "error": e.body()["error"]}));
                    failed_ids.insert(id);
                }
            }
        }
        if !progress {
            break;
        }
    }
    Ok(json!({
        "object": "renewal_run",
        "as_of": as_of,
        "issued": issued,
        "failed": failed,
    }))
}

async fn renew_one(state: &AppState, id: &str, as_of: i64) -> ApiResult<Option<Value>> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let record = match tx.lock_subscription(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            let _ = tx.rollback().await;
            return Ok(None);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    };
    let doc = match read_doc(&record) {
        Ok(d) => d,
        Err(e) => return abort(tx, e).await,
    };
    if !doc.bills() || doc.current_period_end > as_of {
        let _ = tx.rollback().await;
        return Ok(None);
    }
    let key = format!("{}:{}", doc.id, doc.current_period_end);
    let fingerprint = canonical::digest(&json!(key));
    match tx.claim_key(RENEWAL_SCOPE, &key, &fingerprint, now).await {
        Ok(Claim::New) => {}
        Ok(Claim::Existing { .. }) => {
            let _ = tx.rollback().await;
            return Ok(None);
        }
        Err(e) => return abort(tx, store_error(e)).await,
    }
    match renew_in(state, tx.as_mut(), doc, &key, now).await {
        Ok(summary) => {
            if let Err(e) = tx
                .finish_key(RENEWAL_SCOPE, &key, 200, &summary.to_string())
                .await
            {
                return abort(tx, store_error(e)).await;
            }
            tx.commit().await.map_err(store_error)?;
            Ok(Some(summary))
        }
        Err(IssueError::Fail(e) | IssueError::Declined(e)) => abort(tx, e).await,
    }
}

async fn renew_in(
    state: &AppState,
    tx: &mut dyn Tx,
    mut doc: SubscriptionDoc,
    key: &str,
    now: i64,
) -> Result<Value, IssueError> {
    let balance = tx
        .lock_balance(&doc.customer.id, &doc.currency)
        .await
        .map_err(store_error)?;
    let period_end = doc.current_period_end;
    let previous = json!({
        "status": doc.status,
        "current_period_start": doc.current_period_start,
        "current_period_end": doc.current_period_end,
    });
    let mut input = engine_input(&doc, balance);
    input["as_of"] = json!(doc.current_period_start);
    let (invoice, value) = compute(state, &input)?;
    if invoice.created != period_end {
        return Err(ApiError::internal(format!(
            "the engine issues the next invoice at {}, the ledger expects {period_end}",
            invoice.created
        ))
        .into());
    }
    let s = invoice.subscription;
    let last = s.status == billcalc::subscription::invoice::SubscriptionStatus::Canceled;
    let mut issued = None;
    if !(last && invoice.quote.lines.is_empty()) {
        let i = issue(
            state,
            tx,
            &doc,
            &invoice,
            &value,
            format!("{RENEWAL_SCOPE}:{key}"),
            key,
            now,
            OnDecline::KeepOpen,
        )
        .await?;
        doc.latest_invoice = Some(i.id.clone());
        issued = Some(i);
    }
    doc.pending_invoice_items = Vec::new();
    doc.billing_cycle_anchor = s.billing_cycle_anchor;
    doc.current_period_start = s.current_period_start;
    doc.current_period_end = s.current_period_end;
    if last {
        doc.status = "canceled".into();
        doc.canceled_at = Some(period_end);
    } else if issued.as_ref().is_some_and(|i| i.status == "open") {
        doc.status = "past_due".into();
    } else {
        doc.status = state_name(s.status).into();
    }
    // Dunning and events (crate::dunning): attempt 1, the retry plan, the notifications.
    let charge = issued.as_ref().map(|i| crate::dunning::RenewalCharge {
        invoice_id: &i.id,
        paid: i.status == "paid",
        amount_due: invoice.amount_due,
        payment_method: doc.default_payment_method.as_deref(),
        charge_id: i.charge.as_ref().map(|c| c.id.as_str()),
        error: i.decline.as_ref().map(|e| e.body()["error"].clone()),
    });
    crate::dunning::after_renewal(state, tx, &doc, previous, charge, now).await?;
    tx.update_subscription(&doc.record(now)?)
        .await
        .map_err(store_error)?;
    Ok(json!({
        "subscription": doc.id,
        "period_end": period_end,
        "status": doc.status,
        "invoice": issued.as_ref().map(|i| i.link(state, &invoice)),
    }))
}
