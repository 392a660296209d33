//! Issuing a subscription invoice inside the caller's transaction: the payment's outcome
//! (decided by the gateway outside any transaction, crate::payment_step), number, write, move
//! the balance; and what a decline does.

use super::*;
use crate::clock::{date, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::gateway::GatewayCharge;
use crate::invoice::{
    self, BillingCustomer, InvoiceDocument, PaymentInfo, SubscriptionInvoiceInfo,
};
use crate::ledger::{self, new_id, store_error};
use crate::payment_step::{Outcome, PendingRender};
use crate::state::AppState;
use crate::store::{InvoiceRecord, Tx};
use crate::token;
use billcalc::subscription::invoice::BillingReason;
use billcalc::Invoice;
use serde_json::{json, Value};

pub(super) fn product_name(state: &AppState, product: Option<&str>) -> Option<String> {
    product
        .and_then(|p| state.calculator.product(p))
        .and_then(|p| p.name.clone())
}

/// The proration lines of a preview, as pending invoice items for the next invoice: the same
/// amount, period and price (so the same tax), not discountable.
pub(super) fn pending_from(state: &AppState, invoice: &Value) -> Vec<Value> {
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
pub(super) fn describe_lines(state: &AppState, doc: &mut InvoiceDocument, invoice: &Value) {
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
        // Dates in words in the invoice's language ("du 29 novembre 2026 au 29 décembre 2026").
        let in_words = |unix| crate::invoice_words::date_in_words(&date(unix), french);
        out.description = format!(
            "{what}{name} × {quantity} ({from} {} {to} {})",
            in_words(start),
            in_words(end)
        );
    }
}

/// An invoice the server issued for a subscription.
pub(super) struct Issued {
    pub(super) id: String,
    pub(super) number: String,
    pub(super) status: &'static str,
    /// The payment, or the decline when a renewal could not be collected.
    pub(super) charge: Option<GatewayCharge>,
    pub(super) decline: Option<ApiError>,
}

impl Issued {
    pub(super) fn link(&self, state: &AppState, invoice: &Invoice) -> Value {
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
pub(super) enum OnDecline {
    Abort,
    KeepOpen,
}

pub(super) enum IssueError {
    /// Roll back and answer with this.
    Fail(ApiError),
    /// Roll back, store the decline under the idempotency key, answer with it.
    Declined(ApiError),
    /// The first pass ([`Pay::Probe`]) reached a payment: record it, call the gateway outside
    /// the transaction, then run the operation again with the outcome (crate::payment_step).
    NeedsPayment(Needs),
}

/// What the gateway is to be asked for.
#[derive(Debug, Clone)]
pub(super) struct Needs {
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) payment_method: String,
}

impl From<ApiError> for IssueError {
    fn from(e: ApiError) -> Self {
        IssueError::Fail(e)
    }
}

/// The gateway's part in an issue.
pub(super) enum Pay {
    /// First pass (tx 1): an invoice with an amount due stops at [`IssueError::NeedsPayment`];
    /// one with nothing due is issued at once.
    Probe,
    /// Second pass (tx 2): what the gateway answered the recorded intent.
    Known(Outcome),
}

/// How an operation is run: its payment, the balance it was priced with, and what it issued.
pub(super) struct Payment {
    pub(super) pay: Pay,
    /// The customer's balance as read by the first pass: the second prices with the same (the
    /// same invoice), and moves the balance by the same amount.
    pub(super) balance: Option<i64>,
    /// When the invoice is issued (numbered, dated): the transaction that writes it.
    pub(super) issued_at: i64,
    /// The engine input of the invoice (to render its e-invoice again after a crash).
    pub(super) engine: Option<Value>,
    /// The invoice issued, its e-invoice to render after the commit.
    pub(super) render: Option<PendingRender>,
    /// The gateway's charge id, once issued.
    pub(super) charge_id: Option<String>,
    /// The redemption counters the operation took.
    pub(super) counters: Vec<String>,
}

impl Payment {
    pub(super) fn probe(now: i64) -> Payment {
        Payment {
            pay: Pay::Probe,
            balance: None,
            issued_at: now,
            engine: None,
            render: None,
            charge_id: None,
            counters: Vec::new(),
        }
    }

    pub(super) fn known(outcome: Outcome, balance: i64, now: i64) -> Payment {
        Payment {
            pay: Pay::Known(outcome),
            balance: Some(balance),
            ..Payment::probe(now)
        }
    }

    /// Locks the customer's balance row and gives the balance to price with: the first pass's
    /// when there was one.
    pub(super) async fn balance(
        &mut self,
        tx: &mut dyn Tx,
        customer: &str,
        currency: &str,
    ) -> ApiResult<i64> {
        let now = tx
            .lock_balance(customer, currency)
            .await
            .map_err(store_error)?;
        Ok(*self.balance.get_or_insert(now))
    }
}

/// Takes the payment (the outcome the gateway gave, see [`Pay`]), numbers the invoice (the
/// series row, locked last), inserts the invoice and the payment and moves the customer's
/// balance — inside the caller's transaction. The e-invoice is rendered after the commit
/// (`payment.render`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn issue(
    state: &AppState,
    tx: &mut dyn Tx,
    doc: &SubscriptionDoc,
    invoice: &Invoice,
    invoice_value: &Value,
    payment: &mut Payment,
    record_key: &str,
    on_decline: OnDecline,
) -> Result<Issued, IssueError> {
    let now = payment.issued_at;
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
        match &payment.pay {
            Pay::Probe => {
                return Err(IssueError::NeedsPayment(Needs {
                    amount: invoice.amount_due,
                    currency,
                    payment_method: pm,
                }))
            }
            Pay::Known(Outcome::Charged(c)) => {
                if c.amount != invoice.amount_due {
                    return Err(IssueError::Fail(ApiError::internal(format!(
                        "the invoice computed again is due {}, the gateway took {}",
                        invoice.amount_due, c.amount
                    ))));
                }
                charge = Some(c.clone());
            }
            Pay::Known(Outcome::Declined(e)) => match on_decline {
                OnDecline::Abort => return Err(IssueError::Declined(e.clone())),
                OnDecline::KeepOpen => decline = Some(e.clone()),
            },
            Pay::Known(Outcome::UnknownPaymentMethod(e)) => match on_decline {
                OnDecline::Abort => return Err(IssueError::Fail(e.clone())),
                OnDecline::KeepOpen => decline = Some(e.clone()),
            },
        }
    }
    payment.charge_id = charge.as_ref().map(|c| c.id.clone());
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
    let paid_with = charge.as_ref().map(|c| PaymentInfo::card(c, now));
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
        shipping: None,
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
        payment: paid_with,
        as_of: &as_of,
        quote: std::borrow::Cow::Borrowed(invoice_value),
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
    // The e-invoice is rendered once, after the commit, from the engine's invoice
    // (crate::payment_step::render_and_store).
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
        let p = invoice::payment_record(c, &invoice_id, &currency, state.gateway.name(), now);
        tx.insert_payment(&p)
            .await
            .map_err(|e| IssueError::Fail(store_error(e)))?;
    }
    // The balance moves by what the invoice used of it (the same as setting the ending balance
    // when nothing else moved it since the first pass).
    let current = tx
        .lock_balance(&doc.customer.id, &currency)
        .await
        .map_err(|e| IssueError::Fail(store_error(e)))?;
    tx.set_balance(
        &doc.customer.id,
        &currency,
        current + invoice.ending_balance - invoice.starting_balance,
    )
    .await
    .map_err(|e| IssueError::Fail(store_error(e)))?;
    payment.render = Some(PendingRender {
        intent_id: String::new(),
        invoice_id: invoice_id.clone(),
        stored: record.document.clone(),
        document,
        invoice: invoice.clone(),
    });
    Ok(Issued {
        id: invoice_id,
        number: number_display,
        status,
        charge,
        decline,
    })
}

/// Rolls back an issue failure; a decline is stored under the key so a replay gets it too.
pub(super) async fn abort_issue<T>(
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
        IssueError::NeedsPayment(_) => Err(ApiError::internal("a payment was not recorded")),
        IssueError::Declined(e) => {
            match ledger::store_decline(state, scope, key, fingerprint, now, e).await {
                Err(e) => Err(e),
                Ok(_) => Err(ApiError::internal("the decline was not returned")),
            }
        }
    }
}
