//! Reminders, written as events (so as webhooks and emails) once each, by the renewal loop:
//!
//! * `invoice.upcoming` — `reminders.upcoming_renewal_days` (7) before a renewal, for plans
//!   whose interval is in `reminders.upcoming_renewal_intervals` (default `["year"]`: a yearly
//!   charge is the one customers forget; add `"month"` for all). Not sent when the
//!   subscription ends at the period's end. The object is the upcoming invoice's amounts.
//! * `customer.subscription.trial_will_end` — `reminders.trial_will_end_days` (3, Stripe's)
//!   before a trial ends.
//! * `customer.source.expiring` — `reminders.card_expiring_days` (30) before the end of the
//!   month a card on file expires (cards saved through the portal with their expiry).
//!
//! Each carries a `dedup_key` (subscription and period, trial end, card and expiry), so
//! however often and on however many instances the loop runs, a reminder goes once.

use crate::error::ApiResult;
use crate::events::{self, NewEvent, Recipient};
use crate::ledger::store_error;
use crate::state::AppState;
use crate::store::SqlValue;
use crate::subscription::{read_doc, upcoming_value, SubscriptionDoc};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

pub use crate::config::ReminderSettings;

/// The recurring interval of a catalog price (`month`, `year`, …).
fn interval_of(catalog: &Value, price: &str) -> Option<String> {
    catalog
        .get("prices")?
        .as_array()?
        .iter()
        .find(|p| p.get("id").and_then(Value::as_str) == Some(price))?
        .pointer("/recurring/interval")?
        .as_str()
        .map(str::to_string)
}

async fn emit_once(state: &AppState, event: NewEvent, now: i64) -> ApiResult<bool> {
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match events::emit(state, tx.as_mut(), event, now).await {
        Ok(Some(_)) => {
            tx.commit().await.map_err(store_error)?;
            Ok(true)
        }
        Ok(None) => {
            let _ = tx.rollback().await;
            Ok(false)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(store_error(e))
        }
    }
}

async fn subscriptions(
    state: &AppState,
    sql: &'static str,
    from: i64,
    to: i64,
) -> ApiResult<Vec<SubscriptionDoc>> {
    let rows = state
        .store
        .query(sql, vec![from.into(), to.into()])
        .await
        .map_err(store_error)?;
    let mut out = Vec::new();
    for id in rows.iter().filter_map(|r| r.first()).map(SqlValue::text) {
        if let Some(record) = state.store.subscription(&id).await.map_err(store_error)? {
            if let Ok(doc) = read_doc(&record) {
                out.push(doc);
            }
        }
    }
    Ok(out)
}

/// Writes the reminders due at `now`. Returns `{upcoming_renewal, trial_will_end,
/// card_expiring}` counts of reminders written.
pub async fn run_due(state: &AppState, now: i64) -> ApiResult<Value> {
    let settings = &state.reminders;
    let catalog: Value = serde_json::from_str(&state.catalog_json).unwrap_or(Value::Null);
    let mut upcoming = 0;
    if settings.upcoming_renewal_days > 0 {
        let due = subscriptions(
            state,
            "SELECT id FROM subscriptions WHERE status IN ('active', 'past_due') AND cancel_at_period_end = FALSE AND current_period_end > $1 AND current_period_end <= $2 ORDER BY current_period_end, id LIMIT 500",
            now,
            now + settings.upcoming_renewal_days * DAY,
        )
        .await?;
        for doc in due {
            let on = doc.items.iter().any(|i| {
                interval_of(&catalog, &i.price)
                    .is_some_and(|iv| settings.upcoming_renewal_intervals.contains(&iv))
            });
            if !on {
                continue;
            }
            let balance = state
                .store
                .balance(&doc.customer.id, &doc.currency)
                .await
                .map_err(store_error)?;
            // The renewal's invoice: the upcoming invoice at the period's start (as the
            // renewal computes it).
            let Some(next) = upcoming_value(state, &doc, balance, now) else {
                continue;
            };
            let object = json!({
                "object": "invoice",
                "id": Value::Null,
                "subscription": doc.id,
                "customer": doc.customer.id,
                "currency": doc.currency,
                "total": next.get("total").or_else(|| next.pointer("/quote/total")),
                "amount_due": next.get("amount_due"),
                "period_start": doc.current_period_end,
                "next_payment_attempt": doc.current_period_end,
                "billing_reason": "upcoming",
            });
            let written = emit_once(
                state,
                NewEvent {
                    kind: "invoice.upcoming",
                    object_id: doc.id.clone(),
                    object,
                    previous_attributes: None,
                    recipient: Some(Recipient::of(&doc.customer)),
                    dedup_key: Some(format!("upcoming:{}:{}", doc.id, doc.current_period_end)),
                },
                now,
            )
            .await?;
            upcoming += i64::from(written);
        }
    }
    let mut trial = 0;
    if settings.trial_will_end_days > 0 {
        let due = subscriptions(
            state,
            "SELECT id FROM subscriptions WHERE status = 'trialing' AND current_period_end > $1 AND current_period_end <= $2 ORDER BY current_period_end, id LIMIT 500",
            now,
            now + settings.trial_will_end_days * DAY,
        )
        .await?;
        for doc in due {
            let Some(end) = doc.trial_end else { continue };
            let mut object = serde_json::to_value(&doc).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut object {
                o.remove("demo");
            }
            let written = emit_once(
                state,
                NewEvent {
                    kind: "customer.subscription.trial_will_end",
                    object_id: doc.id.clone(),
                    object,
                    previous_attributes: None,
                    recipient: Some(Recipient::of(&doc.customer)),
                    dedup_key: Some(format!("trial_will_end:{}:{end}", doc.id)),
                },
                now,
            )
            .await?;
            trial += i64::from(written);
        }
    }
    let mut cards = 0;
    if settings.card_expiring_days > 0 {
        let rows = state
            .store
            .query(
                "SELECT customer_id, payment_method, brand, last4, exp_month, exp_year FROM customer_payment_methods WHERE exp_year IS NOT NULL AND exp_month IS NOT NULL",
                vec![],
            )
            .await
            .map_err(store_error)?;
        for r in rows {
            let (Some(month), Some(year)) = (r[4].as_i64(), r[5].as_i64()) else {
                continue;
            };
            let Some(end) = month_end(year, month) else {
                continue;
            };
            if !(now < end && end - settings.card_expiring_days * DAY <= now) {
                continue;
            }
            let customer = r[0].text();
            let recipient = crate::portal::recipient(state, &customer).await?;
            let written = emit_once(
                state,
                NewEvent {
                    kind: "customer.source.expiring",
                    object_id: format!("card_{customer}"),
                    object: json!({
                        "object": "card", "customer": customer, "payment_method": r[1].text(),
                        "brand": r[2].text(), "last4": r[3].text(),
                        "exp_month": month, "exp_year": year,
                    }),
                    previous_attributes: None,
                    recipient,
                    dedup_key: Some(format!(
                        "card_expiring:{customer}:{}:{year}-{month}",
                        r[1].text()
                    )),
                },
                now,
            )
            .await?;
            cards += i64::from(written);
        }
    }
    Ok(json!({"upcoming_renewal": upcoming, "trial_will_end": trial, "card_expiring": cards}))
}

/// The first instant after a card's expiry month (cards are valid through their month, UTC).
fn month_end(year: i64, month: i64) -> Option<i64> {
    if !(1..=12).contains(&month) {
        return None;
    }
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    #[test]
    fn month_end_is_the_next_month_start() {
        // 2026-12 → 2027-01-01T00:00:00Z; 2026-02 → 2026-03-01T00:00:00Z.
        assert_eq!(super::month_end(2026, 12), Some(1_798_761_600));
        assert_eq!(super::month_end(2026, 2), Some(1_772_323_200));
        assert_eq!(super::month_end(2026, 13), None);
    }
}
