//! Prometheus metrics (the `prometheus` crate, one registry per server): requests and their
//! latency per route, charges by outcome, and the renewal loop's lag. Served as text at
//! `/metrics` (see [`crate::routes::health`]).

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// `billcalc_http_requests_total{route, method, status}`.
    pub requests: IntCounterVec,
    /// `billcalc_http_request_duration_seconds{route, method}`.
    pub latency: HistogramVec,
    /// `billcalc_charges_total{outcome}`: succeeded, replayed, declined, rejected (4xx), conflict
    /// (409: total mismatch, exhausted code), error (5xx).
    pub charges: IntCounterVec,
    /// `billcalc_renewal_lag_seconds`: at the last run of the renewal loop, how long the oldest
    /// renewal it issued had been due (0 when none was due).
    pub renewal_lag: Gauge,
    /// `billcalc_renewal_last_run_timestamp_seconds`: when the loop last finished a run.
    pub renewal_last_run: Gauge,
    /// `billcalc_renewals_total{result}`: issued, failed.
    pub renewals: IntCounterVec,
    /// `billcalc_einvoice_render_backlog`: invoices committed whose e-invoice this process has
    /// queued and not stored yet (crate::intent renders them after the answer).
    pub einvoice_backlog: IntGauge,
    /// `billcalc_einvoices_rendered_total`: e-invoices this process rendered and stored.
    pub einvoices_rendered: IntCounter,
    /// `billcalc_payment_intents_stuck`: payment intents `processing` for longer than
    /// `BILLCALC_STUCK_INTENT_SECONDS` (crate::payment_intents), read from the database at
    /// each scrape.
    pub intents_stuck: IntGauge,
    /// `billcalc_payment_intent_stuck_oldest_age_seconds`: how long the oldest of them has
    /// been `processing` (0 when none is stuck).
    pub intent_stuck_oldest_age: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("billcalc_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "billcalc_http_request_duration_seconds",
                "Time from the request's arrival to its answer",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric");
        let charges = IntCounterVec::new(
            Opts::new("billcalc_charges_total", "Charge requests by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let renewal_lag = Gauge::new(
            "billcalc_renewal_lag_seconds",
            "How long the oldest renewal issued by the last loop run had been due",
        )
        .expect("valid metric");
        let renewal_last_run = Gauge::new(
            "billcalc_renewal_last_run_timestamp_seconds",
            "When the renewal loop last finished a run (Unix seconds)",
        )
        .expect("valid metric");
        let renewals = IntCounterVec::new(
            Opts::new("billcalc_renewals_total", "Renewal invoices by result"),
            &["result"],
        )
        .expect("valid metric");
        let einvoice_backlog = IntGauge::new(
            "billcalc_einvoice_render_backlog",
            "Issued invoices whose e-invoice is queued for rendering in this process",
        )
        .expect("valid metric");
        let einvoices_rendered = IntCounter::new(
            "billcalc_einvoices_rendered_total",
            "E-invoices rendered and stored by this process",
        )
        .expect("valid metric");
        let intents_stuck = IntGauge::new(
            "billcalc_payment_intents_stuck",
            "Payment intents processing for longer than BILLCALC_STUCK_INTENT_SECONDS (money may have moved with nothing recorded)",
        )
        .expect("valid metric");
        let intent_stuck_oldest_age = IntGauge::new(
            "billcalc_payment_intent_stuck_oldest_age_seconds",
            "How long the oldest stuck payment intent has been processing",
        )
        .expect("valid metric");
        for g in [&intents_stuck, &intent_stuck_oldest_age] {
            registry.register(Box::new(g.clone())).expect("register");
        }
        registry
            .register(Box::new(einvoice_backlog.clone()))
            .expect("register");
        registry
            .register(Box::new(einvoices_rendered.clone()))
            .expect("register");
        for c in [&requests, &charges, &renewals] {
            registry.register(Box::new(c.clone())).expect("register");
        }
        registry
            .register(Box::new(latency.clone()))
            .expect("register");
        for g in [&renewal_lag, &renewal_last_run] {
            registry.register(Box::new(g.clone())).expect("register");
        }
        Metrics {
            registry,
            requests,
            latency,
            charges,
            renewal_lag,
            renewal_last_run,
            renewals,
            einvoice_backlog,
            einvoices_rendered,
            intents_stuck,
            intent_stuck_oldest_age,
        }
    }

    /// The text exposition format (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
