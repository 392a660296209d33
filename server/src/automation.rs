//! Getting paid automatically: what the renewal loop runs besides renewals (dunning retries,
//! reminders), the delivery loop (webhooks, emails), and the HTTP routes of issue 15's modules
//! ([`crate::dunning`], [`crate::events`], [`crate::webhooks`], [`crate::email`],
//! [`crate::portal`]).
//!
//! | endpoint | key | does |
//! | --- | --- | --- |
//! | `POST /v1/automation/run` | secret | renewals, dunning retries and reminders due at the server's clock, then deliveries: `{renewals, dunning, reminders, webhooks, emails}` |
//! | `POST /v1/webhook_endpoints {url, enabled_events?}` / `GET` | secret | create (the answer shows the `secret` once) / list |
//! | `GET /v1/events?object=&limit=` | secret | events, newest first |
//! | `GET /v1/webhook_deliveries?event=&limit=` | secret | the delivery log, with every attempt |
//! | `POST /v1/events/{id}/resend {endpoint?}` | secret | deliver an event again (same id) |
//! | `GET /v1/emails?customer=&limit=` | secret | the mail log (rendered text and HTML, status, errors) |
//! | `POST /v1/billing_portal/sessions` | secret | a portal link for a customer (see [`crate::portal`]) |
//! | `/v1/portal/…` | portal session | the customer portal |
//! | `GET /v1/demo/outbox` | none, demo mode only | the mail log and the webhook log for the demo's pages |

use crate::auth::KeyKind;
use crate::error::{json_response, ApiError, ApiResult};
use crate::ledger::store_error;
use crate::state::{AppState, Ctx};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{json, Value};
use std::sync::Arc;

type Shared = Arc<AppState>;

/// The loop's work besides renewals, at `now`: dunning retries due, then reminders.
pub async fn tick(state: &AppState, now: i64) -> Value {
    let dunning = crate::dunning::run_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.body()["error"]}));
    let reminders = crate::reminders::run_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.body()["error"]}));
    json!({"dunning": dunning, "reminders": reminders})
}

/// Sends what the outbox holds and is due: webhooks, then emails.
pub async fn deliver(state: &AppState, now: i64) -> Value {
    let webhooks = crate::webhooks::deliver_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.message}));
    let emails = crate::email::send_due(state, now)
        .await
        .unwrap_or_else(|e| json!({"error": e.message}));
    json!({"webhooks": webhooks, "emails": emails})
}

/// One run of the binary's delivery loop (every `BILLCALC_DELIVERY_INTERVAL_SECONDS`): sends what is due at the server's clock and logs what it did
/// (when it did anything).
pub async fn deliver_and_log(state: &Shared) {
    let report = deliver(state, state.clock.now()).await;
    let sent = report
        .pointer("/webhooks/delivered")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + report
            .pointer("/emails/sent")
            .and_then(Value::as_i64)
            .unwrap_or(0);
    let errors =
        report.pointer("/webhooks/error").is_some() || report.pointer("/emails/error").is_some();
    if sent > 0 || errors {
        crate::log::info("deliveries", report);
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/automation/run", post(run))
        .route(
            "/v1/webhook_endpoints",
            post(endpoint_create).get(endpoint_list),
        )
        .route("/v1/events", get(events_list))
        .route("/v1/events/{id}/resend", post(event_resend))
        .route("/v1/webhook_deliveries", get(deliveries))
        .route("/v1/emails", get(emails))
        .route("/v1/billing_portal/sessions", post(portal_session))
        .route("/v1/portal", get(portal_overview))
        .route("/v1/portal/invoices/{id}/pay", post(portal_pay))
        .route("/v1/portal/payment_method", post(portal_payment_method))
        .route("/v1/portal/subscriptions/{id}", post(portal_change))
        .route(
            "/v1/portal/subscriptions/{id}/preview",
            post(portal_preview),
        )
        .route("/v1/portal/subscriptions/{id}/cancel", post(portal_cancel))
        .route("/v1/portal/subscriptions/{id}/renew", post(portal_renew))
        .route("/v1/demo/outbox", get(demo_outbox))
}

fn secret(ctx: &Ctx) -> ApiResult<()> {
    match ctx.key {
        Some(KeyKind::Secret) => Ok(()),
        Some(KeyKind::Publishable) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "",
            "this endpoint needs the secret key",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "",
            "missing or invalid API key (Authorization: Bearer <key>)",
        )),
    }
}

fn param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        pair.strip_prefix(name)?
            .strip_prefix('=')
            .and_then(crate::statics::percent_decode)
    })
}

fn limit(uri: &Uri) -> i64 {
    param(uri, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
}

fn answer(r: ApiResult<Value>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, v.to_string()),
        Err(e) => e.into_response(),
    }
}

fn respond(r: ApiResult<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

async fn run(State(state): State<Shared>, Extension(ctx): Extension<Arc<Ctx>>) -> Response {
    answer(
        async {
            secret(&ctx)?;
            let now = state.clock.now();
            let renewals = crate::subscription::run_renewals(&state, now).await?;
            let mut out = tick(&state, now).await;
            out["renewals"] = renewals;
            let d = deliver(&state, now).await;
            out["webhooks"] = d["webhooks"].clone();
            out["emails"] = d["emails"].clone();
            out["object"] = json!("automation_run");
            out["as_of"] = json!(now);
            Ok(out)
        }
        .await,
    )
}

async fn endpoint_create(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            let o = match &ctx.body {
                Some(Value::Object(o)) => o.clone(),
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_request",
                        "",
                        "a JSON body is required",
                    ))
                }
            };
            crate::pricing::only_fields(&o, &["url", "enabled_events"], "")?;
            let url = o
                .get("url")
                .and_then(Value::as_str)
                .filter(|u| {
                    (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048
                })
                .ok_or_else(|| ApiError::invalid("url", "an http(s) URL"))?;
            let events: Vec<String> = match o.get("enabled_events") {
                None | Some(Value::Null) => vec![],
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        e.as_str()
                            .filter(|s| !s.is_empty() && s.len() <= 100 && !s.contains(','))
                            .map(str::to_string)
                            .ok_or_else(|| {
                                ApiError::invalid(format!("enabled_events[{i}]"), "an event type")
                            })
                    })
                    .collect::<ApiResult<_>>()?,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_type",
                        "enabled_events",
                        "expected an array",
                    ))
                }
            };
            crate::webhooks::create_endpoint(&state, url, &events, state.clock.now())
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn endpoint_list(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            crate::webhooks::list_endpoints(&state)
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn events_list(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            crate::events::list(&state, param(&uri, "object").as_deref(), limit(&uri))
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn event_resend(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            let endpoint = match &ctx.body {
                Some(Value::Object(o)) => {
                    crate::pricing::only_fields(o, &["endpoint"], "")?;
                    o.get("endpoint")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                _ => None,
            };
            crate::webhooks::resend(&state, &id, endpoint.as_deref(), state.clock.now())
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::not_found("no event with this id"))
        }
        .await,
    )
}

async fn deliveries(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            crate::webhooks::deliveries(&state, param(&uri, "event").as_deref(), limit(&uri))
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn emails(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    uri: Uri,
) -> Response {
    answer(
        async {
            secret(&ctx)?;
            crate::email::log(&state, param(&uri, "customer").as_deref(), limit(&uri))
                .await
                .map_err(store_error)
        }
        .await,
    )
}

async fn demo_outbox(State(state): State<Shared>, uri: Uri) -> Response {
    answer(
        async {
            if !state.demo_checkout {
                return Err(ApiError::not_found("demo mode is off"));
            }
            let emails = crate::email::log(&state, Some("cus_demo_*"), limit(&uri)).await.map_err(store_error)?;
            let webhooks = crate::webhooks::deliveries(&state, None, limit(&uri)).await.map_err(store_error)?;
            let events = crate::events::list(&state, None, limit(&uri)).await.map_err(store_error)?;
            Ok(json!({"emails": emails["data"], "webhook_deliveries": webhooks["data"], "events": events["data"]}))
        }
        .await,
    )
}

async fn portal_session(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
) -> Response {
    respond(crate::portal::create_session(&state, &ctx).await)
}

async fn portal_overview(State(state): State<Shared>, headers: HeaderMap) -> Response {
    respond(crate::portal::overview(&state, &headers).await)
}

async fn portal_pay(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(crate::portal::pay(&state, &ctx, &headers, &id).await)
}

async fn portal_payment_method(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
) -> Response {
    respond(crate::portal::update_payment_method(state, ctx, headers).await)
}

async fn portal_change(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(crate::portal::change(state, ctx, headers, id).await)
}

async fn portal_preview(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(crate::portal::preview(state, ctx, headers, id).await)
}

async fn portal_cancel(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(crate::portal::cancel(state, ctx, headers, id).await)
}

async fn portal_renew(
    State(state): State<Shared>,
    Extension(ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(crate::portal::renew(state, ctx, headers, id).await)
}
