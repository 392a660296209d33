//! Steps every write transaction shares (charges, subscriptions, renewals): the
//! `Idempotency-Key` header, claiming and replaying a key, storing a decline, redemption
//! counters in lock order, ids, and the storage error the client sees.

use crate::canonical;
use crate::error::{json_response, ApiError, ApiResult};
use crate::state::{AppState, Ctx};
use crate::store::{Claim, SqlValue, StoreResult, Tx};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use billcalc::discount::promotion_code::normalize_code;
use billcalc::discount::AppliedDiscount;
use serde_json::json;
use std::collections::BTreeMap;

/// Reads and checks the `Idempotency-Key` header, and scopes it: the key as stored is the
/// request's scope ([`Ctx::idempotency_scope`]: API key, method, decoded path) and the client's
/// key, so a key is only ever replayed to the same caller on the same endpoint (Stripe's rule).
pub fn idempotency_key(ctx: &Ctx, headers: &HeaderMap) -> ApiResult<String> {
    let missing = || {
        ApiError::bad_request(
            "missing_idempotency_key",
            "",
            "the Idempotency-Key header is required (1–255 visible ASCII characters, e.g. a UUID)",
        )
    };
    let value = headers.get("idempotency-key").ok_or_else(missing)?;
    let key = value.to_str().map_err(|_| missing())?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(missing());
    }
    Ok(format!("{} {key}", ctx.idempotency_scope))
}

pub fn store_error(e: crate::store::StoreError) -> ApiError {
    crate::log::error("storage error", serde_json::json!({"error": e.to_string()}));
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "",
        "the ledger is unavailable; retry with the same Idempotency-Key",
    )
}

/// `storage_unavailable` (503) for a read, the store's error logged (never sent).
pub fn storage_unavailable(e: crate::store::StoreError) -> ApiError {
    crate::log::error("storage error", serde_json::json!({"error": e.to_string()}));
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "",
        "the ledger is unavailable",
    )
}

pub async fn abort<T>(tx: Box<dyn Tx>, error: ApiError) -> ApiResult<T> {
    let _ = tx.rollback().await;
    Err(error)
}

/// A stored answer sent again, with `Idempotent-Replayed: true`.
pub fn replayed(status: u16, response: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = json_response(status, response);
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

/// 409 `idempotency_key_in_use`: the key's first request has not finished.
pub fn key_in_use() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        "",
        "a request with this Idempotency-Key is still being processed; retry shortly",
    )
}

/// What is stored under `scope`/`key` once its payment's outcome is recorded (by another
/// request or process), replayed; `key_in_use` while it is not; `missing` when the key was
/// forgotten (the payment failed in a way the client may fix, then retry with it).
pub async fn answer_stored(
    state: &AppState,
    scope: &str,
    key: &str,
    missing: ApiError,
) -> ApiResult<Response> {
    let rows = state
        .store
        .query(
            "SELECT status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
            vec![scope.into(), key.into()],
        )
        .await
        .map_err(store_error)?;
    let Some(row) = rows.first() else {
        return Err(missing);
    };
    match row.first().and_then(SqlValue::as_i64).unwrap_or(0) {
        0 => Err(key_in_use()),
        status => Ok(replayed(
            u16::try_from(status).unwrap_or(500),
            row.get(1).map(SqlValue::text).unwrap_or_default(),
        )),
    }
}

/// A stored response for a claimed key: `None` when the key is new; the stored answer (with
/// `Idempotent-Replayed: true`) when the body matches; `idempotency_key_reused` (422) when not.
pub fn replay(fingerprint: &str, claim: Claim) -> ApiResult<Option<Response>> {
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
            Ok(Some(replayed(status, response)))
        }
    }
}

/// Redemption counters (`promotion_code:CODE`, `coupon:ID`) of the applied discounts, in key
/// order (the lock order every transaction follows), each with its `max_redemptions` and the
/// request path to blame when it is exhausted (`path(discount, "promotion_code" | "coupon")`).
pub fn redemption_counters(
    discounts: &[AppliedDiscount],
    path: impl Fn(&AppliedDiscount, &str) -> String,
) -> BTreeMap<String, (Option<i64>, String)> {
    let mut counters: BTreeMap<String, (Option<i64>, String)> = BTreeMap::new();
    for d in discounts {
        if let Some(code) = &d.promotion_code {
            counters
                .entry(format!("promotion_code:{}", normalize_code(&code.code)))
                .or_insert((code.max_redemptions, path(d, "promotion_code")));
        }
        if let Some(id) = d.coupon.as_ref().and_then(|c| c.id.clone()) {
            let max = d.coupon.as_ref().and_then(|c| c.max_redemptions);
            let what = if d.promotion_code.is_some() {
                "promotion_code"
            } else {
                "coupon"
            };
            counters
                .entry(format!("coupon:{id}"))
                .or_insert((max, path(d, what)));
        }
    }
    counters
}

/// Counts one redemption of each counter; `promotion_code_exhausted` (409) when one is used up.
pub async fn redeem_all(
    tx: &mut dyn Tx,
    counters: &BTreeMap<String, (Option<i64>, String)>,
) -> ApiResult<()> {
    for (counter, (max, path)) in counters {
        match tx.redeem(counter, *max).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "promotion_code_exhausted",
                    path.clone(),
                    "this code has reached its maximum number of redemptions; nothing was charged",
                ))
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    Ok(())
}

/// Stores a decline under the key in a transaction of its own, so replays get it too.
pub async fn store_decline(
    state: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
    error: ApiError,
) -> ApiResult<Response> {
    let body = error.body().to_string();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    match tx
        .claim_key(scope, key, fingerprint, now)
        .await
        .map_err(store_error)?
    {
        Claim::New => {
            tx.finish_key(scope, key, error.status.as_u16(), &body)
                .await
                .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
        }
        Claim::Existing { .. } => {
            let _ = tx.rollback().await;
        }
    }
    Err(error)
}

/// A new id: `prefix_` and 24 hex digits of randomness (derived from the key and the time if
/// the system's random source fails). Never one the card-number scan would refuse: 24 random hex
/// digits hold a Luhn-valid run of 13 or more digits about once in 500 draws, and such an id in
/// a path or a body (`GET /v1/invoices/in_…`) would be answered 400 `card_number_rejected`, so
/// that draw is discarded and another taken.
pub fn new_id(prefix: &str, key: &str, now: i64) -> String {
    let mut attempt = 0u64;
    loop {
        let mut bytes = [0u8; 12];
        let id = if getrandom::fill(&mut bytes).is_ok() {
            format!("{prefix}_{}", canonical::hex(&bytes))
        } else {
            let d = canonical::digest(&json!([key, now, attempt]));
            format!("{prefix}_{}", &d[..24])
        };
        if !crate::cardscan::looks_like_card_number(&id) {
            return id;
        }
        attempt = attempt.wrapping_add(1);
    }
}

/// Runs a handler that writes in its own task and waits for it: a client hanging up (which
/// drops the handler's future) does not cut a transaction short; the task runs to the end and
/// its answer is dropped.
pub async fn to_completion<F>(f: F) -> Response
where
    F: std::future::Future<Output = ApiResult<Response>> + Send + 'static,
{
    use axum::response::IntoResponse;
    match crate::log::spawn(f).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal("the request's task failed").into_response(),
    }
}

/// The next value of a named counter, inside the transaction (the row stays locked until it
/// ends, so values follow commit order per counter).
pub async fn next_in_sequence(tx: &mut dyn Tx, name: &str) -> StoreResult<i64> {
    let rows = tx
        .query(
            "INSERT INTO sequences (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            vec![name.into()],
        )
        .await?;
    rows.first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_i64)
        .ok_or_else(|| crate::store::StoreError::new("sequence: no value returned"))
}

#[cfg(test)]
mod id_tests {
    use super::new_id;
    use crate::cardscan::looks_like_card_number;

    #[test]
    fn ids_never_look_like_card_numbers() {
        // The scan does flag hex ids with a Luhn-valid digit run (a sibling of the invoice id
        // `in_fde9140144427106a95121b5` a crash test met), so new_id must redraw them.
        assert!(looks_like_card_number("in_4242424242424242abcdef01"));
        for _ in 0..20_000 {
            let id = new_id("in", "k", 0);
            assert_eq!(id.len(), 27);
            assert!(!looks_like_card_number(&id), "{id}");
        }
    }
}
