//! Subscription histories for the revenue metrics (`billcalc::metrics`), rebuilt from what the
//! server stores: the subscription document (start, trial, discounts, cancellation) and the
//! invoices it issued, whose engine lines say which item was billed at which price and quantity
//! from which instant.
//!
//! * A non-proration `subscription` line sets its item (price, quantity) from its period's
//!   start; a positive proration line (time remaining after a change) sets it from the change;
//!   a negative proration line with no positive one for the same item at that instant removes
//!   the item (deleted in the change). The state of every item is thus known from each instant
//!   the server billed it.
//! * Phases are `trialing` before `trial_end`, `active` after; `ended_at` is `canceled_at`
//!   once the subscription is canceled.
//! * Subscription discounts are the catalog coupons the document holds (a `forever` coupon
//!   counts for good, `repeating` until `start` + `duration_in_months`, `once` not at all).
//! * Metered items: their `usage` lines (amount excluding tax, period end).
//! * Payments: the invoice's attempts as dunning records them (`payment_attempts`: the renewal's
//!   own charge, then each retry or the customer paying, with its outcome). An invoice without
//!   such records that was issued with an amount due and no payment counts as one failed
//!   attempt at its creation, and a payment recorded for it later as a successful one.
//! * `unpaid` (dunning's final action): not paying from the subscription's last update.
//!
//! Limits (stated, not hidden): a change committed with `create_prorations` is seen when its
//! proration lines are invoiced (at the next renewal), not at the commit.

use crate::error::{ApiError, ApiResult};
use crate::store::{InvoiceRecord, PaymentRecord, SubscriptionRecord};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The parts of a stored invoice document the reports read (serde skips the rest without
/// building it: documents are large and there is one per invoice).
#[derive(Debug, Default, Deserialize)]
pub struct InvoiceView {
    #[serde(default)]
    quote: QuoteView,
    #[serde(default)]
    subscription: Option<AmountDue>,
    #[serde(default)]
    payment: Option<Paid>,
}

#[derive(Debug, Default, Deserialize)]
struct QuoteView {
    #[serde(default)]
    lines: Vec<LineView>,
}

#[derive(Debug, Default, Deserialize)]
struct LineView {
    #[serde(rename = "type")]
    kind: Option<String>,
    subscription_item: Option<String>,
    price: Option<Value>,
    quantity: Option<i64>,
    amount: Option<i64>,
    amount_excluding_tax: Option<i64>,
    proration: Option<bool>,
    period: Option<PeriodView>,
}

#[derive(Debug, Default, Deserialize)]
struct PeriodView {
    start: Option<i64>,
    end: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct AmountDue {
    amount_due: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct Paid {
    paid_at: Option<i64>,
}

impl InvoiceView {
    pub fn read(document: &str) -> InvoiceView {
        serde_json::from_str(document).unwrap_or_default()
    }
}

/// The catalog's prices and coupons by id.
pub struct CatalogIndex {
    prices: BTreeMap<String, Value>,
    coupons: BTreeMap<String, Value>,
}

impl CatalogIndex {
    pub fn new(catalog: &Value) -> CatalogIndex {
        let index = |key: &str| -> BTreeMap<String, Value> {
            catalog
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| Some((v.get("id")?.as_str()?.to_string(), v.clone())))
                .collect()
        };
        CatalogIndex {
            prices: index("prices"),
            coupons: index("coupons"),
        }
    }

    /// An inline price the metrics input accepts (the catalog entry without its id).
    fn price(&self, id: &str) -> Option<Value> {
        let mut p = self.prices.get(id)?.clone();
        if let Value::Object(o) = &mut p {
            o.remove("id");
        }
        Some(p)
    }
}

fn months_later(t: i64, months: i64) -> i64 {
    use chrono::{DateTime, Months};
    DateTime::from_timestamp(t, 0)
        .and_then(|d| d.checked_add_months(Months::new(u32::try_from(months).ok()?)))
        .map_or(t, |d| d.timestamp())
}

/// One subscription's history in the metrics input's shape.
fn subscription(
    catalog: &CatalogIndex,
    record: &SubscriptionRecord,
    invoices: &[(&InvoiceRecord, &InvoiceView)],
) -> ApiResult<Value> {
    let doc: Value = serde_json::from_str(&record.document)
        .map_err(|e| ApiError::internal(format!("stored subscription does not read back: {e}")))?;
    let start = doc["start_date"].as_i64().unwrap_or(record.created_at);
    let trial_end = doc["trial_end"].as_i64();
    // (instant, item) → Some((price, quantity)) or None (removed), from the invoices' lines.
    let mut events: BTreeMap<(i64, String), Option<(String, i64)>> = BTreeMap::new();
    let mut usage = Vec::new();
    for (_, view) in invoices {
        for line in &view.quote.lines {
            let (Some(item), Some(from)) = (
                line.subscription_item.as_deref(),
                line.period.as_ref().and_then(|p| p.start),
            ) else {
                continue;
            };
            let price = line
                .price
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_string);
            let quantity = line.quantity.unwrap_or(1);
            let amount = line.amount.unwrap_or(0);
            match line.kind.as_deref() {
                Some("subscription") if line.proration != Some(true) => {
                    if let Some(price) = price {
                        events.insert((from, item.into()), Some((price, quantity)));
                    }
                }
                Some("proration") | Some("subscription") if amount > 0 => {
                    if let Some(price) = price {
                        events.insert((from, item.into()), Some((price, quantity)));
                    }
                }
                Some("proration") | Some("subscription") => {
                    events.entry((from, item.into())).or_insert(None);
                }
                Some("usage") => {
                    if let Some(end) = line.period.as_ref().and_then(|p| p.end) {
                        let amount = line.amount_excluding_tax.unwrap_or(amount).max(0);
                        usage.push(
                            json!({"subscription_item": item, "amount": amount, "period_end": end}),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    // No invoice yet (should not happen: creation issues one): the document's items.
    if events.is_empty() {
        for item in doc["items"].as_array().into_iter().flatten() {
            if let (Some(id), Some(price)) = (item["id"].as_str(), item["price"].as_str()) {
                let q = item["quantity"].as_i64().unwrap_or(1);
                events.insert((start, id.into()), Some((price.into(), q)));
            }
        }
    }
    let mut instants: Vec<i64> = events.keys().map(|(t, _)| *t).collect();
    instants.push(start);
    instants.extend(trial_end);
    instants.sort_unstable();
    instants.dedup();
    let discounts: Vec<Value> = doc["discounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let coupon = catalog.coupons.get(d["coupon"].as_str()?)?;
            let from = d["start"].as_i64().unwrap_or(start);
            let mut out = Map::new();
            if let Some(p) = coupon.get("percent_off").filter(|v| !v.is_null()) {
                out.insert("percent_off".into(), p.clone());
            } else {
                let amount = coupon
                    .get("currency_options")
                    .and_then(|o| o.get(record.currency.as_str()))
                    .and_then(|o| o.get("amount_off"))
                    .or_else(|| coupon.get("amount_off"))?;
                out.insert("amount_off".into(), amount.clone());
            }
            let duration = coupon["duration"].as_str().unwrap_or("once");
            out.insert("duration".into(), json!(duration));
            if duration == "repeating" {
                let months = coupon["duration_in_months"].as_i64().unwrap_or(0);
                out.insert("end".into(), json!(months_later(from, months)));
            }
            Some(Value::Object(out))
        })
        .collect();
    let mut items: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut phases = Vec::new();
    for t in instants.into_iter().filter(|&t| t >= start) {
        for ((_, item), state) in events.range((t, String::new())..=(t, "\u{10ffff}".into())) {
            match state {
                Some(s) => {
                    items.insert(item.clone(), s.clone());
                }
                None => {
                    items.remove(item);
                }
            }
        }
        let status = if trial_end.is_some_and(|e| t < e) {
            "trialing"
        } else {
            "active"
        };
        let mut phase_items = Vec::new();
        for (id, (price, quantity)) in &items {
            let Some(p) = catalog.price(price) else {
                continue;
            };
            let metered = p.pointer("/recurring/usage_type") == Some(&json!("metered"));
            let mut item = json!({"id": id, "price": p});
            if !metered {
                item["quantity"] = json!(quantity);
            }
            phase_items.push(item);
        }
        phases.push(
            json!({"start": t, "status": status, "items": phase_items, "discounts": discounts}),
        );
    }
    let mut out = json!({
        "id": record.id,
        "customer": record.customer_id,
        "currency": record.currency,
        "phases": phases,
    });
    if record.status == "unpaid" {
        if let Some(Value::Array(phases)) = Some(&mut out["phases"]) {
            phases.retain(|p| p["start"].as_i64().is_some_and(|t| t < record.updated_at));
            phases.push(json!({"start": record.updated_at, "status": "unpaid"}));
        }
    }
    if record.status == "canceled" {
        out["ended_at"] = json!(record.canceled_at.unwrap_or(record.current_period_end));
    }
    Ok(json!({"subscription": out, "usage": usage}))
}

/// The parameters of a report request.
#[derive(Debug, Clone)]
pub struct Params {
    pub currency: String,
    pub start: String,
    pub end: String,
    pub interval: String,
    pub exchange_rates: BTreeMap<String, String>,
}

/// The `revenueMetrics` input for everything stored.
pub fn metrics_input(
    catalog: &Value,
    params: &Params,
    subscriptions: &[SubscriptionRecord],
    invoices: &[InvoiceRecord],
    payments: &[PaymentRecord],
    attempts: &BTreeMap<String, Vec<(i64, String)>>,
) -> ApiResult<Value> {
    let catalog = CatalogIndex::new(catalog);
    let views: Vec<InvoiceView> = invoices
        .iter()
        .map(|i| InvoiceView::read(&i.document))
        .collect();
    let mut by_sub: BTreeMap<&str, Vec<(&InvoiceRecord, &InvoiceView)>> = BTreeMap::new();
    for (invoice, view) in invoices.iter().zip(&views) {
        if let Some(s) = &invoice.subscription_id {
            by_sub.entry(s.as_str()).or_default().push((invoice, view));
        }
    }
    for list in by_sub.values_mut() {
        list.sort_by_key(|(i, _)| (i.created_at, i.number));
    }
    let mut subs = Vec::new();
    let mut usage_by_sub: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in subscriptions {
        let list = by_sub
            .get(record.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let out = subscription(&catalog, record, list)?;
        subs.push(out["subscription"].clone());
        if let Some(u) = out["usage"].as_array().filter(|u| !u.is_empty()) {
            usage_by_sub.insert(record.id.clone(), u.clone());
        }
    }
    let mut paid_later: BTreeMap<&str, i64> = BTreeMap::new();
    for p in payments.iter().filter(|p| p.status == "succeeded") {
        let e = paid_later
            .entry(p.invoice_id.as_str())
            .or_insert(p.created_at);
        *e = (*e).max(p.created_at);
    }
    let mut facts = Vec::new();
    for (invoice, view) in invoices.iter().zip(&views) {
        let amount_due = view
            .subscription
            .as_ref()
            .and_then(|s| s.amount_due)
            .unwrap_or(invoice.total)
            .max(0);
        let customer = invoice.customer_id.clone().unwrap_or_default();
        let mut tries = Vec::new();
        let paid_at_issue = view.payment.as_ref().and_then(|p| p.paid_at);
        if let Some(recorded) = attempts.get(invoice.id.as_str()) {
            for (at, outcome) in recorded {
                if outcome == "succeeded" || outcome == "failed" {
                    tries.push(json!({"at": at, "outcome": outcome}));
                }
            }
        } else if amount_due > 0 && paid_at_issue.is_none() {
            tries.push(json!({"at": invoice.created_at, "outcome": "failed"}));
            if let Some(&at) = paid_later.get(invoice.id.as_str()) {
                tries.push(json!({"at": at.max(invoice.created_at), "outcome": "succeeded"}));
            }
        }
        let attempts = tries;
        let usage = invoice
            .subscription_id
            .as_ref()
            .and_then(|s| usage_by_sub.remove(s))
            .unwrap_or_default();
        if attempts.is_empty() && usage.is_empty() {
            continue;
        }
        facts.push(json!({
            "id": invoice.id,
            "customer": customer,
            "subscription": invoice.subscription_id,
            "currency": invoice.currency,
            "amount_due": amount_due,
            "usage_lines": usage,
            "payment_attempts": attempts,
        }));
    }
    Ok(json!({
        "currency": params.currency,
        "exchange_rates": params.exchange_rates,
        "start": params.start,
        "end": params.end,
        "interval": params.interval,
        "subscriptions": subs,
        "invoices": facts,
    }))
}
