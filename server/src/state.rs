//! The state every handler shares: configuration, keys, the store, the gateway, the clock.

use crate::auth::{KeyKind, Keys};
use crate::clock::Clock;
use crate::config::{HttpSettings, InvoiceSettings, Loaded, QuoteSettings, Secrets, SellerInfo};
use crate::gateway::PaymentGateway;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use billcalc::Calculator;
use serde_json::Value;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub struct AppState {
    pub calculator: Calculator,
    /// `GET /v1/catalog`'s body: the catalog as configured.
    pub catalog_json: String,
    pub seller: SellerInfo,
    pub invoice: InvoiceSettings,
    pub quotes: QuoteSettings,
    pub http: HttpSettings,
    pub keys: Keys,
    pub publishable_key: String,
    pub signing_key: Vec<u8>,
    pub store: Arc<dyn Store>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub clock: Arc<dyn Clock>,
    pub limiter: RateLimiter,
    /// `(url prefix, directory)` pairs for static files.
    pub statics: Vec<(String, PathBuf)>,
    /// Lets the publishable key charge through `/v1/demo/checkout` (the demo shop has no back end).
    pub demo_checkout: bool,
    /// Print one line per request.
    pub log_requests: bool,
    /// Set when shutdown has begun: `/readyz` answers 503 so the load balancer stops sending.
    pub draining: AtomicBool,
    /// Prometheus metrics served at `/metrics`.
    pub metrics: Metrics,
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (`BILLCALC_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// Issue 15 (dunning, reminders, email, portal): the config file's sections.
    pub dunning: crate::config::DunningSettings,
    pub reminders: crate::config::ReminderSettings,
    pub email: crate::config::EmailSettings,
    pub portal: crate::config::PortalSettings,
}

impl AppState {
    pub fn new(
        loaded: Loaded,
        secrets: Secrets,
        store: Arc<dyn Store>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
    ) -> AppState {
        let file = loaded.file;
        AppState {
            calculator: loaded.calculator,
            catalog_json: file.catalog.to_string(),
            seller: file.seller,
            invoice: file.invoice,
            quotes: file.quotes,
            limiter: RateLimiter::new(file.http.rate_limit),
            http: file.http,
            keys: Keys::new(&secrets.publishable_key, &secrets.secret_key),
            publishable_key: secrets.publishable_key,
            signing_key: secrets.signing_key,
            store,
            gateway,
            clock,
            statics: Vec::new(),
            demo_checkout: false,
            log_requests: true,
            draining: AtomicBool::new(false),
            metrics: Metrics::new(),
            metrics_token: None,
            dunning: file.dunning,
            reminders: file.reminders,
            email: file.email,
            portal: file.portal,
        }
    }
}

/// The state as handlers and background loops hold it.
pub type Shared = Arc<AppState>;

/// What the gate learned about a request.
#[derive(Debug)]
pub struct Ctx {
    pub key: Option<KeyKind>,
    pub body: Option<Value>,
    pub ip: IpAddr,
    /// The request id (the client's `X-Request-Id` when it is sane, else a new one), echoed in
    /// the response's `X-Request-Id` and logged.
    pub request_id: String,
    /// Where an `Idempotency-Key` is valid: the API key, the method and the decoded path
    /// (`secret POST /v1/charges`), as Stripe scopes keys. The same key elsewhere is another
    /// request, never a replay of this one.
    pub idempotency_scope: String,
}
