//! Storage behind a trait: SQLite (embedded, the default) and PostgreSQL (several server
//! instances behind a load balancer share one). Both run the same migrations
//! ([`migrations`]) at start, use parameterised SQL only, and pass the same test suite
//! (`server/tests/storage.rs`).
//!
//! Writes happen in a [`Tx`]: a database transaction that a charge drives step by step
//! (claim the idempotency key, redeem promotion codes, take the next invoice number, insert the
//! invoice and the payment, record the response, commit). Dropping a `Tx` without committing
//! rolls it back. The concurrency guarantees come from the database, not from the process:
//!
//! * **Idempotency keys** are a primary key. PostgreSQL makes a second transaction inserting the
//!   same key wait for the first; SQLite runs one write transaction at a time
//!   (`BEGIN IMMEDIATE`). Either way the second one sees the first one's committed response.
//! * **Redemptions** are one conditional upsert, `INSERT … ON CONFLICT DO UPDATE SET
//!   times_redeemed = times_redeemed + 1 WHERE times_redeemed < max`; PostgreSQL evaluates the
//!   condition on the latest row version under the row lock, so no count passes
//!   `max_redemptions`.
//! * **Invoice numbers** come from one upsert `… RETURNING` on the series row, taken last and
//!   held until commit: numbers are assigned in commit order, and a rolled-back (or killed)
//!   transaction gives its number back, so there are no gaps and no duplicates.

mod batch;
pub mod intents;
pub mod migrations;
pub mod postgres;
mod rows;
pub mod sql;
pub mod sqlite;

pub use crate::gateway::BoxFuture;
pub use intents::{IntentRecord, IssuedInvoice, OpenIntent, Opened, Settled, Settlement};
pub use sql::{Row, SqlValue};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new; this transaction owns it.
    New,
    /// The key was used before: the request's fingerprint and the stored response.
    Existing {
        fingerprint: String,
        status: u16,
        response: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub id: String,
    pub series: String,
    pub number: i64,
    pub number_display: String,
    pub created_at: i64,
    pub currency: String,
    pub total: i64,
    pub customer_id: Option<String>,
    pub idempotency_key: String,
    /// The invoice document as JSON text (immutable once issued).
    pub document: String,
    /// The subscription that issued it (none for a one-off charge).
    pub subscription_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub id: String,
    pub invoice_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub gateway: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub created_at: i64,
}

/// A subscription row: the columns the server queries, and the document (JSON text) that holds
/// everything the engine needs (items, anchor, trial, discounts, pending invoice items, customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub customer_id: String,
    pub status: String,
    pub currency: String,
    pub default_payment_method: Option<String>,
    pub billing_cycle_anchor: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A previewed (and later committed) subscription change: the `proration_date` it was priced
/// at, the canonical change request, and the digest and text of the invoice the preview showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub id: String,
    pub subscription_id: String,
    pub proration_date: i64,
    /// Lowercase hex SHA-256 of the canonical JSON of the invoice the client was shown.
    pub preview_digest: String,
    /// The invoice issued by the commit, when it issued one.
    pub invoice_id: Option<String>,
    pub created_at: i64,
    /// The canonical JSON of the change (items, behaviour, anchor, cancellation).
    pub request: String,
    /// The invoice the preview showed (JSON text; empty when the client computed it itself).
    pub preview: String,
    /// `previewed` or `committed`.
    pub status: String,
    pub committed_at: Option<i64>,
}

/// One write transaction.
pub trait Tx: Send {
    /// Inserts the key with the request's fingerprint, or returns what was stored for it.
    fn claim_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        fingerprint: &'a str,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<Claim>>;
    /// Stores the response for a key this transaction claimed.
    fn finish_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        status: u16,
        response: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Counts one redemption of `counter` unless it would pass `max`; false when exhausted.
    fn redeem<'a>(
        &'a mut self,
        counter: &'a str,
        max: Option<i64>,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// The next number of the series (1 for a new series), locked until commit.
    fn next_number<'a>(&'a mut self, series: &'a str) -> BoxFuture<'a, StoreResult<i64>>;
    fn insert_invoice<'a>(
        &'a mut self,
        invoice: &'a InvoiceRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn insert_payment<'a>(
        &'a mut self,
        payment: &'a PaymentRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn insert_redemption<'a>(
        &'a mut self,
        invoice_id: &'a str,
        counter: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// The subscription, locked until the end of the transaction (PostgreSQL `FOR UPDATE`;
    /// SQLite runs one write transaction at a time).
    fn lock_subscription<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>>;
    fn insert_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Rewrites every column but `id`, `customer_id`, `currency` and `created_at`.
    fn update_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Replaces the subscription's rows in `subscription_items` (price, quantity).
    fn set_subscription_items<'a>(
        &'a mut self,
        subscription_id: &'a str,
        items: &'a [(String, i64)],
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// The customer's balance in a currency (0 when none), locked until the end of the
    /// transaction. Negative is credit.
    fn lock_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>>;
    /// Sets a balance this transaction locked.
    fn set_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
        balance: i64,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn insert_change<'a>(&'a mut self, c: &'a ChangeRecord) -> BoxFuture<'a, StoreResult<()>>;
    /// The change, locked until the end of the transaction.
    fn lock_change<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>>;
    /// Marks a change committed (with the invoice it issued, if any).
    fn commit_change<'a>(
        &'a mut self,
        id: &'a str,
        invoice_id: Option<&'a str>,
        committed_at: i64,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// One statement of the modules that own their tables (see [`sql`]); rows affected.
    fn exec<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>>;
    /// One query of the modules that own their tables (see [`sql`]).
    fn query<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<Row>>>;
    /// Step 2 of a charge in its own savepoint of this transaction (one of the settlements an
    /// [`intents::SettleBatcher`] groups). PostgreSQL overrides it to send the statements in
    /// two round trips instead of one each.
    fn settle_in_savepoint<'a>(
        &'a mut self,
        intent: &'a IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> BoxFuture<'a, intents::SavepointSettled> {
        Box::pin(intents::settle_in_savepoint(self, intent, now, settlement))
    }
    fn commit(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>>;
    fn rollback(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>>;
}

pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    fn begin(&self) -> BoxFuture<'_, StoreResult<Box<dyn Tx>>>;
    fn invoice<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<InvoiceRecord>>>;
    /// Every invoice number of a series, ascending.
    fn invoice_numbers<'a>(&'a self, series: &'a str) -> BoxFuture<'a, StoreResult<Vec<i64>>>;
    fn payments(&self) -> BoxFuture<'_, StoreResult<Vec<PaymentRecord>>>;
    /// The number of redemptions counted for a counter (0 when never redeemed).
    fn times_redeemed<'a>(&'a self, counter: &'a str) -> BoxFuture<'a, StoreResult<i64>>;
    /// Whether the customer has a paid invoice.
    fn has_paid<'a>(&'a self, customer_id: &'a str) -> BoxFuture<'a, StoreResult<bool>>;
    /// Whether the database answers a query now (readiness). SQLite also checks that its
    /// connection is not left inside a transaction nobody owns.
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
    /// The applied migration versions, ascending.
    fn migrations(&self) -> BoxFuture<'_, StoreResult<Vec<i64>>>;
    fn subscription<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>>;
    /// Ids of the subscriptions whose current period has ended by `as_of` and that still bill
    /// (`active`, `trialing`, `past_due`), the earliest first, at most `limit`.
    fn due_subscriptions(&self, as_of: i64, limit: i64) -> BoxFuture<'_, StoreResult<Vec<String>>>;
    /// The customer's balance in a currency (0 when none). Negative is credit.
    fn balance<'a>(
        &'a self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>>;
    /// The invoices a subscription issued, by number.
    fn subscription_invoices<'a>(
        &'a self,
        subscription_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<InvoiceRecord>>>;
    fn change<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>>;
    /// Every subscription, by creation (revenue reports).
    fn all_subscriptions(&self) -> BoxFuture<'_, StoreResult<Vec<SubscriptionRecord>>>;
    /// Every invoice, by creation (revenue reports).
    fn all_invoices(&self) -> BoxFuture<'_, StoreResult<Vec<InvoiceRecord>>>;
    /// A read outside any transaction (see [`sql`]).
    fn query<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<Row>>>;
    /// One statement in its own transaction (see [`sql`]); rows affected.
    fn exec<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>>;

    // A charge in recorded steps ([`intents`]). Each is one transaction; SQLite runs each as
    // one job on its worker thread, PostgreSQL statement by statement (these defaults).

    /// Step 1: claims the key, redeems the counters, records the intent `processing`.
    fn open_intent(&self, open: OpenIntent) -> BoxFuture<'_, StoreResult<Opened>> {
        Box::pin(async move { intents::open_with_tx(self.begin().await?, open).await })
    }
    /// Step 3: moves an intent out of `processing` (once), issuing the invoice or releasing
    /// the redemptions.
    fn settle_intent<'a>(
        &'a self,
        intent: &'a IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> BoxFuture<'a, StoreResult<Settled>> {
        Box::pin(async move {
            intents::settle_with_tx(self.begin().await?, intent, now, settlement).await
        })
    }
    /// After step 3: clears the intent's `einvoice_pending` and stores the invoice document
    /// with its rendered e-invoice (when it has one) — only when the intent was still pending:
    /// `false` when another request or process stored it first (nothing written).
    fn store_einvoice<'a>(
        &'a self,
        intent_id: &'a str,
        invoice_id: &'a str,
        document: Option<&'a str>,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            intents::store_einvoice_with_tx(
                self.begin().await?,
                intent_id,
                invoice_id,
                document,
                now,
            )
            .await
        })
    }
    /// Intents to finish — `processing`, or with an e-invoice still to store — last touched at
    /// or before `touched_before`; `processing` ones first, then the oldest first, at most
    /// `limit`.
    fn unfinished_intents(
        &self,
        touched_before: i64,
        limit: i64,
    ) -> BoxFuture<'_, StoreResult<Vec<IntentRecord>>> {
        Box::pin(async move {
            let rows = self
                .query(
                    intents::UNFINISHED,
                    vec![touched_before.into(), limit.into()],
                )
                .await?;
            Ok(rows.iter().map(|r| intents::intent_from_row(r)).collect())
        })
    }
    /// The succeeded intent whose invoice `invoice_id` still waits for its e-invoice.
    fn pending_einvoice<'a>(
        &'a self,
        invoice_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<IntentRecord>>> {
        Box::pin(async move {
            let rows = self
                .query(intents::PENDING_FOR_INVOICE, vec![invoice_id.into()])
                .await?;
            Ok(rows.first().map(|r| intents::intent_from_row(r)))
        })
    }
    /// The intent an idempotency key created.
    fn intent_by_key<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<IntentRecord>>> {
        Box::pin(async move {
            let rows = self
                .query(intents::INTENT_BY_KEY, vec![scope.into(), key.into()])
                .await?;
            Ok(rows.first().map(|r| intents::intent_from_row(r)))
        })
    }
}

/// Opens the store a `DATABASE_URL` names and runs the migrations: `postgres://…` or
/// `postgresql://…` → PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a plain path → SQLite.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url, 16).await?))
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    }
}

/// What a `DATABASE_URL` is, for logs: the backend and, for SQLite, the path (a PostgreSQL URL
/// may hold a password, so only its host is shown).
pub fn describe(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let rest = url.split("://").nth(1).unwrap_or("");
        let host = rest.rsplit('@').next().unwrap_or("");
        let host = host.split(['/', '?']).next().unwrap_or("");
        format!("postgres ({host})")
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        format!("sqlite ({path})")
    }
}
