//! billcalc-server: the thin authoritative server. The browser computes quotes with the wasm
//! engine; money moves only after this server recomputes them with the same crate.
//!
//! See `server/README.md` for the API, the configuration, the decisions behind them and the
//! module layout.

pub mod app;
pub mod auth;
pub mod automation;
pub mod canonical;
pub mod cardscan;
pub mod charge;
pub mod clock;
pub mod config;
pub mod connection;
pub mod credit_note;
pub mod demo_data;
pub mod dunning;
pub mod einvoice;
pub mod email;
pub mod error;
pub mod events;
pub mod gate;
pub mod gateway;
pub mod gateway_http;
pub mod intent;
pub mod invoice;
pub mod invoice_page;
pub mod invoice_words;
pub mod ledger;
pub mod log;
pub mod metrics;
pub mod payment_intents;
pub mod payment_recovery;
pub mod payment_step;
pub mod portal;
pub mod portal_session;
pub mod pricing;
pub mod ratelimit;
pub mod reminders;
pub mod render_queue;
pub mod reports;
pub mod routes;
pub mod state;
pub mod statics;
pub mod store;
pub mod subscription;
pub mod subscription_doc;
pub mod token;
pub mod webhooks;
