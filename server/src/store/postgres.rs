//! PostgreSQL through tokio-postgres and a small built-in pool (a semaphore over idle
//! connections, each with its prepared statements cached). Transactions run at READ COMMITTED;
//! the row locks and conditional updates described in [`super`] give the guarantees. A
//! transaction dropped before commit discards its connection, which makes the server roll it
//! back.

use super::batch::{Batcher, Pending, RunBatch};
use super::intents::{
    intent_params, IntentRecord, OpenIntent, Opened, SavepointSettled, SettleBatcher, Settled,
    Settlement, FORGET_KEY, INTENT_BY_KEY, RELEASE_INTENT_KEY, SETTLE_FAILED,
};
use super::migrations::{CREATE_TABLE, MIGRATIONS};
use super::rows::{self, change_columns, invoice_columns, payment_columns, subscription_columns};
use super::{
    BoxFuture, ChangeRecord, Claim, InvoiceRecord, PaymentRecord, Store, StoreError, StoreResult,
    SubscriptionRecord, Tx,
};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::new(format!("postgres: {e}"))
}

struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    async fn statement(&mut self, sql: &'static str) -> StoreResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(pg_err)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    async fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<u64> {
        let s = self.statement(sql).await?;
        self.client.execute(&s, params).await.map_err(pg_err)
    }

    async fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let s = self.statement(sql).await?;
        self.client.query(&s, params).await.map_err(pg_err)
    }

    async fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let s = self.statement(sql).await?;
        self.client.query_opt(&s, params).await.map_err(pg_err)
    }
}

struct Pool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
}

struct Pooled {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    reusable: bool,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.reusable && !conn.client.is_closed() {
                if let Ok(mut idle) = self.pool.idle.lock() {
                    idle.push(conn);
                }
            }
        }
    }
}

impl Pooled {
    fn conn(&mut self) -> StoreResult<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::new("postgres: connection already released"))
    }
}

async fn connect(config: &tokio_postgres::Config) -> StoreResult<Conn> {
    let (client, connection) = config.connect(NoTls).await.map_err(pg_err)?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away; the next checkout notices.
        let _ = connection.await;
    });
    // Invoice documents carry their e-invoice files (base64, tens of KB) and are TOASTed:
    // pglz, the default, spends milliseconds of the database's CPU per document failing to
    // shrink base64 of deflated PDF; lz4 gives up fast. A server without lz4 (before
    // PostgreSQL 14, or built without it) refuses the setting: its default stays.
    let _ = client
        .batch_execute("SET default_toast_compression = 'lz4'")
        .await;
    Ok(Conn {
        client,
        statements: HashMap::new(),
    })
}

impl Pool {
    async fn get(self: &Arc<Self>) -> StoreResult<Pooled> {
        // A burst queues for a connection rather than failing fast: a charge's transaction also
        // renders its e-invoice, so 200 concurrent charges on a small pool wait several seconds
        // on a slow (debug, loaded) machine. 30 s stays below common client timeouts.
        let permit = tokio::time::timeout(
            Duration::from_secs(30),
            self.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| StoreError::new("postgres: no connection available within 30 s"))?
        .map_err(|_| StoreError::new("postgres: pool closed"))?;
        let reused = loop {
            let candidate = match self.idle.lock() {
                Ok(mut idle) => idle.pop(),
                Err(_) => None,
            };
            match candidate {
                Some(c) if c.client.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match reused {
            Some(c) => c,
            None => connect(&self.config).await?,
        };
        Ok(Pooled {
            conn: Some(conn),
            pool: self.clone(),
            reusable: true,
            _permit: permit,
        })
    }
}

pub struct PgStore {
    pool: Arc<Pool>,
    /// Step 2 of the charges, grouped (store::intents::SettleBatcher).
    settler: Arc<SettleBatcher>,
    /// Step 1 of the charges, grouped ([`OpenBatcher`]).
    opener: Arc<OpenBatcher>,
}

impl PgStore {
    /// `size` connections at most, unless `BILLCALC_PG_POOL_SIZE` says otherwise (server/README.md:
    /// what to set it to).
    pub async fn connect(url: &str, size: usize) -> StoreResult<PgStore> {
        let size = std::env::var("BILLCALC_PG_POOL_SIZE")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(size);
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| {
                StoreError::new(format!("postgres: bad DATABASE_URL: {e}"))
            })?;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("billcalc-server");
        let pool = Arc::new(Pool {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        });
        let begin_pool = pool.clone();
        let settler = SettleBatcher::settling(Arc::new(move || begin_on(begin_pool.clone())));
        let opener = Batcher::new(Opener { pool: pool.clone() }, MAX_OPEN_BATCH);
        let store = PgStore {
            pool,
            settler,
            opener,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut pooled = self.pool.get().await?;
        let conn = pooled.conn()?;
        let client = &mut conn.client;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Instances starting together take turns.
        tx.execute("SELECT pg_advisory_xact_lock(727172001)", &[])
            .await
            .map_err(pg_err)?;
        tx.batch_execute(CREATE_TABLE).await.map_err(pg_err)?;
        for (version, name, sql) in MIGRATIONS {
            let done = tx
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[version],
                )
                .await
                .map_err(pg_err)?;
            if done.is_none() {
                tx.batch_execute(sql).await.map_err(pg_err)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, EXTRACT(EPOCH FROM now())::BIGINT)",
                    &[version, name],
                )
                .await
                .map_err(pg_err)?;
            }
        }
        tx.commit().await.map_err(pg_err)
    }

    async fn read(&self) -> StoreResult<Pooled> {
        self.pool.get().await
    }
}

/// A column, typed; a mismatch is an error, never a panic (`Row::get` would panic).
fn col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> StoreResult<T> {
    r.try_get(i).map_err(pg_err)
}

impl rows::Columns for Row {
    type Error = StoreError;
    fn text(&self, i: usize) -> StoreResult<String> {
        col(self, i)
    }
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        col(self, i)
    }
    fn int(&self, i: usize) -> StoreResult<i64> {
        col(self, i)
    }
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        col(self, i)
    }
    fn flag(&self, i: usize) -> StoreResult<bool> {
        col(self, i)
    }
}

macro_rules! subscription_select {
    () => {
        concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM subscriptions WHERE id = $1"
        )
    };
}

macro_rules! change_select {
    () => {
        concat!(
            "SELECT ",
            change_columns!(),
            " FROM subscription_changes WHERE id = $1"
        )
    };
}

impl PgStore {
    /// The rows a read-only query finds, mapped.
    async fn read_all<T>(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        map: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut p = self.read().await?;
        let rows = p.conn()?.query(sql, params).await?;
        rows.iter().map(map).collect()
    }

    /// The row a read-only query finds, if any, mapped.
    async fn read_one<T>(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        map: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut p = self.read().await?;
        let row = p.conn()?.query_opt(sql, params).await?;
        row.as_ref().map(map).transpose()
    }
}

impl Store for PgStore {
    fn query<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            plain_query(p.conn()?, sql, &params).await
        })
    }

    fn exec<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            plain_exec(p.conn()?, sql, &params).await
        })
    }
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn begin(&self) -> BoxFuture<'_, StoreResult<Box<dyn Tx>>> {
        begin_on(self.pool.clone())
    }

    fn open_intent(&self, open: OpenIntent) -> BoxFuture<'_, StoreResult<Opened>> {
        Box::pin(self.opener.submit(open))
    }

    fn settle_intent<'a>(
        &'a self,
        intent: &'a IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> BoxFuture<'a, StoreResult<Settled>> {
        // Grouped with the settlements arriving at the same time (see SettleBatcher).
        Box::pin(self.settler.settle(intent, now, settlement))
    }

    fn store_einvoice<'a>(
        &'a self,
        intent_id: &'a str,
        invoice_id: &'a str,
        document: Option<&'a str>,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            // One statement, so its own transaction: no BEGIN or COMMIT round trip.
            let mut p = self.read().await?;
            let row = p
                .conn()?
                .query_opt(STORE_EINVOICE, &[&intent_id, &now, &invoice_id, &document])
                .await?
                .ok_or_else(|| StoreError::new("postgres: the e-invoice store returned no row"))?;
            Ok(col::<i64>(&row, 0)? > 0)
        })
    }

    fn invoice<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<InvoiceRecord>>> {
        Box::pin(async move {
            self.read_one(
                concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices WHERE id = $1"
                ),
                &[&id],
                rows::invoice,
            )
            .await
        })
    }

    fn invoice_numbers<'a>(&'a self, series: &'a str) -> BoxFuture<'a, StoreResult<Vec<i64>>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let rows = p
                .conn()?
                .query(
                    "SELECT number FROM invoices WHERE series = $1 ORDER BY number",
                    &[&series],
                )
                .await?;
            rows.iter().map(|r| col(r, 0)).collect()
        })
    }

    fn payments(&self) -> BoxFuture<'_, StoreResult<Vec<PaymentRecord>>> {
        Box::pin(async move {
            self.read_all(
                concat!(
                    "SELECT ",
                    payment_columns!(),
                    " FROM payments ORDER BY created_at, id"
                ),
                &[],
                rows::payment,
            )
            .await
        })
    }

    fn times_redeemed<'a>(&'a self, counter: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let row = p
                .conn()?
                .query_opt(
                    "SELECT times_redeemed FROM redemption_counters WHERE key = $1",
                    &[&counter],
                )
                .await?;
            row.map_or(Ok(0), |r| col(&r, 0))
        })
    }

    fn has_paid<'a>(&'a self, customer_id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let row = p
                .conn()?
                .query_opt(
                    "SELECT EXISTS (SELECT 1 FROM invoices i JOIN payments p ON p.invoice_id = i.id WHERE i.customer_id = $1 AND p.status = 'succeeded')",
                    &[&customer_id],
                )
                .await?;
            row.map_or(Ok(false), |r| col(&r, 0))
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            p.conn()?.query_opt("SELECT 1", &[]).await.map(|_| ())
        })
    }

    fn migrations(&self) -> BoxFuture<'_, StoreResult<Vec<i64>>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let rows = p
                .conn()?
                .query(
                    "SELECT version FROM schema_migrations ORDER BY version",
                    &[],
                )
                .await?;
            rows.iter().map(|r| col(r, 0)).collect()
        })
    }

    fn subscription<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>> {
        Box::pin(async move {
            self.read_one(subscription_select!(), &[&id], rows::subscription)
                .await
        })
    }

    fn due_subscriptions(&self, as_of: i64, limit: i64) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let rows = p
                .conn()?
                .query(
                    "SELECT id FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') AND current_period_end <= $1 ORDER BY current_period_end, id LIMIT $2",
                    &[&as_of, &limit],
                )
                .await?;
            rows.iter().map(|r| col(r, 0)).collect()
        })
    }

    fn balance<'a>(
        &'a self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(async move {
            let mut p = self.read().await?;
            let row = p
                .conn()?
                .query_opt(
                    "SELECT balance FROM customer_balances WHERE customer_id = $1 AND currency = $2",
                    &[&customer_id, &currency],
                )
                .await?;
            row.map_or(Ok(0), |r| col(&r, 0))
        })
    }

    fn subscription_invoices<'a>(
        &'a self,
        subscription_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<InvoiceRecord>>> {
        Box::pin(async move {
            self.read_all(
                concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices WHERE subscription_id = $1 ORDER BY series, number"
                ),
                &[&subscription_id],
                rows::invoice,
            )
            .await
        })
    }

    fn change<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>> {
        Box::pin(async move { self.read_one(change_select!(), &[&id], rows::change).await })
    }

    fn all_subscriptions(&self) -> BoxFuture<'_, StoreResult<Vec<SubscriptionRecord>>> {
        Box::pin(async move {
            self.read_all(
                concat!(
                    "SELECT ",
                    subscription_columns!(),
                    " FROM subscriptions ORDER BY created_at, id"
                ),
                &[],
                rows::subscription,
            )
            .await
        })
    }

    fn all_invoices(&self) -> BoxFuture<'_, StoreResult<Vec<InvoiceRecord>>> {
        Box::pin(async move {
            self.read_all(
                concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices ORDER BY created_at, series, number"
                ),
                &[],
                rows::invoice,
            )
            .await
        })
    }
}

/// Opens a transaction on a pooled connection.
fn begin_on(pool: Arc<Pool>) -> BoxFuture<'static, StoreResult<Box<dyn Tx>>> {
    Box::pin(async move {
        // The guard exists before BEGIN is sent: if this future is dropped half way, the
        // guard's drop discards the connection (the server rolls back) instead of handing
        // a connection inside a transaction back to the pool (issue 13 §9).
        let mut tx = PgTx::new(pool.get().await?);
        tx.pooled
            .conn()?
            .client
            .batch_execute("BEGIN")
            .await
            .map_err(pg_err)?;
        Ok(Box::new(tx) as Box<dyn Tx>)
    })
}

struct PgTx {
    pooled: Pooled,
    finished: bool,
    /// Redemptions given back by the declines settled in this transaction, per counter: sent
    /// with the COMMIT, counters in key order, so that a settle batch takes counter locks last
    /// and in the order step 1 takes them ([`OpenBatcher`]: no lock cycle).
    releases: std::collections::BTreeMap<String, i64>,
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if !self.finished {
            // The connection closes with the transaction open; the server rolls it back.
            self.pooled.reusable = false;
        }
    }
}

impl PgTx {
    fn new(pooled: Pooled) -> PgTx {
        PgTx {
            pooled,
            finished: false,
            releases: std::collections::BTreeMap::new(),
        }
    }

    async fn commit_now(&mut self) -> StoreResult<()> {
        if self.releases.is_empty() {
            return self.end("COMMIT").await;
        }
        let releases = std::mem::take(&mut self.releases);
        let c = self.pooled.conn()?;
        let release = c.statement(RELEASE_REDEMPTIONS).await?;
        let client = &c.client;
        let mut flight: Vec<Request> = releases
            .iter()
            .map(|(counter, n)| counted(client, &release, vec![counter, n]))
            .collect();
        flight.push(simple(client, "COMMIT"));
        let answers = pipeline(flight).await;
        // After a failed release the COMMIT rolled back (and ended the transaction).
        let result = all_ok(answers).map(|_| ());
        self.finished = true;
        result
    }

    async fn rollback_now(&mut self) -> StoreResult<()> {
        self.releases.clear();
        self.end("ROLLBACK").await
    }

    /// COMMIT or ROLLBACK; the connection goes back to the pool only when it was sent.
    async fn end(&mut self, sql: &'static str) -> StoreResult<()> {
        let result = self
            .pooled
            .conn()?
            .client
            .batch_execute(sql)
            .await
            .map_err(pg_err);
        self.finished = result.is_ok();
        result
    }

    /// One statement of the transaction whose row count does not matter.
    async fn exec(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<()> {
        self.pooled.conn()?.execute(sql, params).await.map(|_| ())
    }

    /// The row `sql` selects by `id` (`FOR UPDATE`: locked until the transaction ends), mapped.
    async fn lock_row<T>(
        &mut self,
        sql: &'static str,
        id: &str,
        map: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = self.pooled.conn()?.query_opt(sql, &[&id]).await?;
        row.as_ref().map(map).transpose()
    }
}

impl Tx for PgTx {
    fn claim_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        fingerprint: &'a str,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<Claim>> {
        Box::pin(async move {
            let c = self.pooled.conn()?;
            let inserted = c
                .execute(CLAIM_KEY, &[&scope, &key, &fingerprint, &now])
                .await?;
            if inserted == 1 {
                return Ok(Claim::New);
            }
            let row = c
                .query_opt(KEY_ROW, &[&scope, &key])
                .await?
                .ok_or_else(|| StoreError::new("postgres: idempotency key vanished"))?;
            let status: i32 = col(&row, 1)?;
            Ok(Claim::Existing {
                fingerprint: col(&row, 0)?,
                status: u16::try_from(status).unwrap_or(500),
                response: col(&row, 2)?,
            })
        })
    }

    fn finish_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        status: u16,
        response: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let status = i32::from(status);
            self.exec(FINISH_KEY, &[&scope, &key, &status, &response])
                .await
        })
    }

    fn redeem<'a>(
        &'a mut self,
        counter: &'a str,
        max: Option<i64>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let updated = self
                .pooled
                .conn()?
                .execute(REDEEM, &[&counter, &max])
                .await?;
            Ok(updated == 1)
        })
    }

    fn next_number<'a>(&'a mut self, series: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(async move {
            let row = self
                .pooled
                .conn()?
                .query_opt(
                    "INSERT INTO invoice_series AS s (series, next_number) VALUES ($1, 2) ON CONFLICT (series) DO UPDATE SET next_number = s.next_number + 1 RETURNING s.next_number - 1",
                    &[&series],
                )
                .await?
                .ok_or_else(|| StoreError::new("postgres: invoice series vanished"))?;
            col(&row, 0)
        })
    }

    fn insert_invoice<'a>(&'a mut self, i: &'a InvoiceRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec(
                INSERT_INVOICE,
                &[
                    &i.id,
                    &i.series,
                    &i.number,
                    &i.number_display,
                    &i.created_at,
                    &i.currency,
                    &i.total,
                    &i.customer_id,
                    &i.idempotency_key,
                    &i.document,
                    &i.subscription_id,
                ],
            )
            .await
        })
    }

    fn insert_payment<'a>(&'a mut self, p: &'a PaymentRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec(
                INSERT_PAYMENT,
                &[
                    &p.id,
                    &p.invoice_id,
                    &p.amount,
                    &p.currency,
                    &p.status,
                    &p.gateway,
                    &p.card_brand,
                    &p.card_last4,
                    &p.created_at,
                ],
            )
            .await
        })
    }

    fn insert_redemption<'a>(
        &'a mut self,
        invoice_id: &'a str,
        counter: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { self.exec(INSERT_REDEMPTION, &[&invoice_id, &counter]).await })
    }

    fn lock_subscription<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>> {
        Box::pin(async move {
            self.lock_row(
                concat!(subscription_select!(), " FOR UPDATE"),
                id,
                rows::subscription,
            )
            .await
        })
    }

    fn insert_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec("INSERT INTO subscriptions (id, customer_id, status, currency, default_payment_method, billing_cycle_anchor, current_period_start, current_period_end, cancel_at_period_end, canceled_at, document, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    &[
                        &s.id,
                        &s.customer_id,
                        &s.status,
                        &s.currency,
                        &s.default_payment_method,
                        &s.billing_cycle_anchor,
                        &s.current_period_start,
                        &s.current_period_end,
                        &s.cancel_at_period_end,
                        &s.canceled_at,
                        &s.document,
                        &s.created_at,
                        &s.updated_at,
                    ]).await
        })
    }

    fn update_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec("UPDATE subscriptions SET status = $2, default_payment_method = $3, billing_cycle_anchor = $4, current_period_start = $5, current_period_end = $6, cancel_at_period_end = $7, canceled_at = $8, document = $9, updated_at = $10 WHERE id = $1",
                    &[
                        &s.id,
                        &s.status,
                        &s.default_payment_method,
                        &s.billing_cycle_anchor,
                        &s.current_period_start,
                        &s.current_period_end,
                        &s.cancel_at_period_end,
                        &s.canceled_at,
                        &s.document,
                        &s.updated_at,
                    ]).await
        })
    }

    fn set_subscription_items<'a>(
        &'a mut self,
        subscription_id: &'a str,
        items: &'a [(String, i64)],
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let c = self.pooled.conn()?;
            c.execute(
                "DELETE FROM subscription_items WHERE subscription_id = $1",
                &[&subscription_id],
            )
            .await?;
            for (price, quantity) in items {
                c.execute(
                    "INSERT INTO subscription_items (subscription_id, price, quantity) VALUES ($1, $2, $3)",
                    &[&subscription_id, price, quantity],
                )
                .await?;
            }
            Ok(())
        })
    }

    fn lock_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(async move {
            let c = self.pooled.conn()?;
            // Make sure the row exists, so the lock holds against a concurrent first insert.
            c.execute(
                "INSERT INTO customer_balances (customer_id, currency, balance) VALUES ($1, $2, 0) ON CONFLICT (customer_id, currency) DO NOTHING",
                &[&customer_id, &currency],
            )
            .await?;
            let row = c
                .query_opt(
                    "SELECT balance FROM customer_balances WHERE customer_id = $1 AND currency = $2 FOR UPDATE",
                    &[&customer_id, &currency],
                )
                .await?;
            row.map_or(Ok(0), |r| col(&r, 0))
        })
    }

    fn set_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
        balance: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec("INSERT INTO customer_balances (customer_id, currency, balance) VALUES ($1, $2, $3) ON CONFLICT (customer_id, currency) DO UPDATE SET balance = EXCLUDED.balance",
                    &[&customer_id, &currency, &balance]).await
        })
    }

    fn insert_change<'a>(&'a mut self, ch: &'a ChangeRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec("INSERT INTO subscription_changes (id, subscription_id, proration_date, preview_digest, invoice_id, created_at, request, preview, status, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &ch.id,
                        &ch.subscription_id,
                        &ch.proration_date,
                        &ch.preview_digest,
                        &ch.invoice_id,
                        &ch.created_at,
                        &ch.request,
                        &ch.preview,
                        &ch.status,
                        &ch.committed_at,
                    ]).await
        })
    }

    fn lock_change<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>> {
        Box::pin(async move {
            self.lock_row(concat!(change_select!(), " FOR UPDATE"), id, rows::change)
                .await
        })
    }

    fn commit_change<'a>(
        &'a mut self,
        id: &'a str,
        invoice_id: Option<&'a str>,
        committed_at: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.exec("UPDATE subscription_changes SET status = 'committed', invoice_id = $2, committed_at = $3 WHERE id = $1",
                    &[&id, &invoice_id, &committed_at]).await
        })
    }

    fn exec<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move { plain_exec(self.pooled.conn()?, sql, &params).await })
    }

    fn query<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        Box::pin(async move { plain_query(self.pooled.conn()?, sql, &params).await })
    }

    fn settle_in_savepoint<'a>(
        &'a mut self,
        intent: &'a IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> BoxFuture<'a, SavepointSettled> {
        Box::pin(settle_pipelined(self, intent, now, settlement))
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move { self.commit_now().await })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move { self.rollback_now().await })
    }
}

// Plain SQL (see `super::sql`).

impl tokio_postgres::types::ToSql for super::SqlValue {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use tokio_postgres::types::Type;
        match self {
            super::SqlValue::Null => Ok(tokio_postgres::types::IsNull::Yes),
            super::SqlValue::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            super::SqlValue::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn plain_row(r: &Row) -> StoreResult<super::Row> {
    use tokio_postgres::types::Type;
    let mut out = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let v = match *column.type_() {
            Type::INT8 => col::<Option<i64>>(r, i)?.map(super::SqlValue::Int),
            Type::INT4 => col::<Option<i32>>(r, i)?.map(|v| super::SqlValue::Int(v.into())),
            Type::INT2 => col::<Option<i16>>(r, i)?.map(|v| super::SqlValue::Int(v.into())),
            Type::BOOL => col::<Option<bool>>(r, i)?.map(|v| super::SqlValue::Int(v.into())),
            _ => col::<Option<String>>(r, i)?.map(super::SqlValue::Text),
        };
        out.push(v.unwrap_or(super::SqlValue::Null));
    }
    Ok(out)
}

async fn plain_query(
    conn: &mut Conn,
    sql: &'static str,
    params: &[super::SqlValue],
) -> StoreResult<Vec<super::Row>> {
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    conn.query(sql, &refs)
        .await?
        .iter()
        .map(plain_row)
        .collect()
}

async fn plain_exec(
    conn: &mut Conn,
    sql: &'static str,
    params: &[super::SqlValue],
) -> StoreResult<u64> {
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    conn.execute(sql, &refs).await
}

// A charge's steps (store::intents), pipelined: tokio-postgres sends every request polled
// together on one connection before reading any answer, so statements whose failure rolls the
// whole transaction back go out at once, in one round trip, instead of one round trip each.

/// Polls every future once in order (each sends its request: the server runs them in this
/// order), then until all are done; their outputs in the same order.
async fn pipeline<'a, T>(
    mut requests: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = requests.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (request, output) in requests.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match request.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// What a pipelined request answers: a row count, or rows.
enum Answer {
    Count(u64),
    Rows(Vec<Row>),
}

impl Answer {
    fn count(&self) -> u64 {
        match self {
            Answer::Count(n) => *n,
            Answer::Rows(rows) => rows.len() as u64,
        }
    }
}

type Request<'a> = Pin<Box<dyn Future<Output = StoreResult<Answer>> + Send + 'a>>;

/// A statement sent as text (transaction control), as a pipelined request.
fn simple<'a>(client: &'a Client, sql: &'static str) -> Request<'a> {
    Box::pin(async move {
        client
            .batch_execute(sql)
            .await
            .map(|_| Answer::Count(0))
            .map_err(pg_err)
    })
}

/// A prepared statement's row count, as a pipelined request.
fn counted<'a>(
    client: &'a Client,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
) -> Request<'a> {
    Box::pin(async move {
        client
            .execute(statement, &params)
            .await
            .map(Answer::Count)
            .map_err(pg_err)
    })
}

/// A prepared statement's rows, as a pipelined request.
fn rows<'a>(
    client: &'a Client,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
) -> Request<'a> {
    Box::pin(async move {
        client
            .query(statement, &params)
            .await
            .map(Answer::Rows)
            .map_err(pg_err)
    })
}

/// The first error of a flight, if any.
fn first_error(answers: &[StoreResult<Answer>]) -> Option<StoreError> {
    answers.iter().find_map(|a| a.as_ref().err().cloned())
}

const INSERT_INVOICE: &str = "INSERT INTO invoices (id, series, number, number_display, created_at, currency, total, customer_id, idempotency_key, document, subscription_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const INSERT_PAYMENT: &str = "INSERT INTO payments (id, invoice_id, amount, currency, status, gateway, card_brand, card_last4, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_REDEMPTION: &str = "INSERT INTO redemptions (invoice_id, key) VALUES ($1, $2)";
const FINISH_KEY: &str =
    "UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2";
/// `intents::SETTLE_PAID` and the next invoice number as one statement, in the same lock
/// order (the intent's row, then the series row): the number when the intent moved, no row when
/// another request or process settled it first.
const SETTLE_PAID_NUMBER: &str = "WITH moved AS (UPDATE payment_intents SET status = 'succeeded', invoice_id = $2, gateway_charge_id = $3, einvoice_pending = $4, updated_at = $5 WHERE id = $1 AND status = 'processing' RETURNING id) INSERT INTO invoice_series AS s (series, next_number) SELECT $6::TEXT, 2 FROM moved ON CONFLICT (series) DO UPDATE SET next_number = s.next_number + 1 RETURNING s.next_number - 1";
const CLAIM_KEY: &str = "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING";
const REDEEM: &str = "INSERT INTO redemption_counters AS c (key, times_redeemed) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET times_redeemed = c.times_redeemed + 1 WHERE $2::BIGINT IS NULL OR c.times_redeemed < $2::BIGINT";
const KEY_ROW: &str =
    "SELECT fingerprint, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2";
/// `intents::EINVOICE_STORED` and `STORE_DOCUMENT` as one statement (one transaction): the
/// document is stored only when this call cleared the flag; the count of intents it cleared.
const STORE_EINVOICE: &str = "WITH moved AS (UPDATE payment_intents SET einvoice_pending = 0, updated_at = $2 WHERE id = $1 AND einvoice_pending = 1 RETURNING id), stored AS (UPDATE invoices SET document = $4 WHERE id = $3 AND $4::TEXT IS NOT NULL AND EXISTS (SELECT 1 FROM moved) RETURNING id) SELECT count(*) FROM moved";

/// Step 2's writes once the number is known, as ONE statement (one execution, not one per
/// row): the invoice, its payment (none when nothing was payable), its redemptions, the
/// e-invoice flag cleared when nothing is left to render, and the key's answer. The foreign
/// keys are checked at the end of the statement, the invoice row then in place.
const SETTLE_WRITES: &str = "WITH invoice AS (INSERT INTO invoices (id, series, number, number_display, created_at, currency, total, customer_id, idempotency_key, document, subscription_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)), payment AS (INSERT INTO payments (id, invoice_id, amount, currency, status, gateway, card_brand, card_last4, created_at) SELECT $12::TEXT, $13::TEXT, $14::BIGINT, $15::TEXT, $16::TEXT, $17::TEXT, $18::TEXT, $19::TEXT, $20::BIGINT WHERE $12::TEXT IS NOT NULL), redeemed AS (INSERT INTO redemptions (invoice_id, key) SELECT $1, unnest($21::TEXT[])), rendered AS (UPDATE payment_intents SET einvoice_pending = 0, updated_at = $22 WHERE id = $23 AND einvoice_pending = 1 AND $24::BOOLEAN) UPDATE idempotency_keys SET status_code = $25, response = $26 WHERE scope = $27 AND key = $28";

/// Step 2 in its savepoint, in two round trips: SAVEPOINT with the conditional settlement (and,
/// for a success, the number), then the writes ([`SETTLE_WRITES`], one statement) with RELEASE. A failure or "already settled"
/// undoes only the savepoint (one more round trip).
async fn settle_pipelined(
    tx: &mut PgTx,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> SavepointSettled {
    let outcome = match settle_flights(tx, intent, now, settlement).await {
        Ok(Flights::Kept(settled)) => {
            return SavepointSettled {
                outcome: Ok(settled),
                kept: true,
                broken: None,
            }
        }
        Ok(Flights::NoSavepoint(e)) => {
            return SavepointSettled {
                outcome: Err(e.clone()),
                kept: false,
                broken: Some(e),
            }
        }
        Ok(Flights::Undo(settled)) => Ok(settled),
        Err(e) => Err(e),
    };
    let end = match tx.pooled.conn() {
        Ok(c) => c
            .client
            .batch_execute("ROLLBACK TO SAVEPOINT settle")
            .await
            .map_err(pg_err),
        Err(e) => Err(e),
    };
    SavepointSettled {
        outcome,
        kept: false,
        broken: end.err(),
    }
}

enum Flights {
    /// Written and released.
    Kept(Settled),
    /// Nothing to keep: roll the savepoint back.
    Undo(Settled),
    /// The savepoint could not be taken: the transaction is broken.
    NoSavepoint(StoreError),
}

async fn settle_flights(
    tx: &mut PgTx,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> StoreResult<Flights> {
    let c = tx.pooled.conn()?;
    match settlement {
        Settlement::Paid {
            invoice_id,
            series,
            gateway_charge_id,
            build,
        } => {
            let settle = c.statement(SETTLE_PAID_NUMBER).await?;
            let settle_writes = c.statement(SETTLE_WRITES).await?;
            let client = &c.client;
            let pending = 1i64;
            let mut first = pipeline(vec![
                simple(client, "SAVEPOINT settle"),
                rows(
                    client,
                    &settle,
                    vec![
                        &intent.id,
                        &invoice_id,
                        &gateway_charge_id,
                        &pending,
                        &now,
                        &series,
                    ],
                ),
            ])
            .await
            .into_iter();
            if let Some(Err(e)) = first.next() {
                return Ok(Flights::NoSavepoint(e));
            }
            let number: i64 = match first.next() {
                Some(Ok(Answer::Rows(rows))) => match rows.first() {
                    Some(row) => col(row, 0)?,
                    None => return Ok(Flights::Undo(Settled::AlreadySettled)),
                },
                Some(Err(e)) => return Err(e),
                _ => return Err(StoreError::new("postgres: the settlement returned nothing")),
            };
            let issued = build(number).map_err(StoreError::new)?;
            let i = &issued.invoice;
            let status = i32::from(issued.status);
            let p = issued.payment.as_ref();
            let (pay_id, pay_invoice, pay_currency, pay_status, pay_gateway) = (
                p.map(|p| p.id.as_str()),
                p.map(|p| p.invoice_id.as_str()),
                p.map(|p| p.currency.as_str()),
                p.map(|p| p.status.as_str()),
                p.map(|p| p.gateway.as_str()),
            );
            let (pay_amount, pay_created) = (p.map(|p| p.amount), p.map(|p| p.created_at));
            let (pay_brand, pay_last4) = (
                p.and_then(|p| p.card_brand.as_deref()),
                p.and_then(|p| p.card_last4.as_deref()),
            );
            let rendered = !issued.einvoice_pending;
            let mut writes = vec![counted(
                client,
                &settle_writes,
                vec![
                    &i.id,
                    &i.series,
                    &i.number,
                    &i.number_display,
                    &i.created_at,
                    &i.currency,
                    &i.total,
                    &i.customer_id,
                    &i.idempotency_key,
                    &i.document,
                    &i.subscription_id,
                    &pay_id,
                    &pay_invoice,
                    &pay_amount,
                    &pay_currency,
                    &pay_status,
                    &pay_gateway,
                    &pay_brand,
                    &pay_last4,
                    &pay_created,
                    &issued.redemptions,
                    &now,
                    &intent.id,
                    &rendered,
                    &status,
                    &issued.response,
                    &intent.scope,
                    &intent.key,
                ],
            )];
            writes.push(simple(client, "RELEASE SAVEPOINT settle"));
            match first_error(&pipeline(writes).await) {
                Some(e) => Err(e),
                None => Ok(Flights::Kept(Settled::Done)),
            }
        }
        Settlement::Failed {
            status,
            release,
            answer,
        } => {
            let settle = c.statement(SETTLE_FAILED).await?;
            let finish_key = c.statement(FINISH_KEY).await?;
            let forget = c.statement(FORGET_KEY).await?;
            let release_key = c.statement(RELEASE_INTENT_KEY).await?;
            let client = &c.client;
            let mut first = pipeline(vec![
                simple(client, "SAVEPOINT settle"),
                counted(client, &settle, vec![&intent.id, &status, &now]),
            ])
            .await
            .into_iter();
            if let Some(Err(e)) = first.next() {
                return Ok(Flights::NoSavepoint(e));
            }
            match first.next() {
                Some(Ok(a)) if a.count() == 0 => return Ok(Flights::Undo(Settled::AlreadySettled)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(StoreError::new("postgres: the settlement returned nothing")),
            }
            let code = answer.as_ref().map(|(code, _)| i32::from(*code));
            let mut writes: Vec<Request> = Vec::new();
            match (&answer, &code) {
                (Some((_, body)), Some(code)) => writes.push(counted(
                    client,
                    &finish_key,
                    vec![&intent.scope, &intent.key, code, body],
                )),
                _ => {
                    writes.push(counted(client, &forget, vec![&intent.scope, &intent.key]));
                    writes.push(counted(client, &release_key, vec![&intent.id]));
                }
            }
            writes.push(simple(client, "RELEASE SAVEPOINT settle"));
            match first_error(&pipeline(writes).await) {
                Some(e) => Err(e),
                None => {
                    // Given back at the COMMIT (counters last, in key order).
                    for counter in release {
                        *tx.releases.entry(counter).or_insert(0) += 1;
                    }
                    Ok(Flights::Kept(Settled::Done))
                }
            }
        }
    }
}

/// How many openings at most share one transaction.
const MAX_OPEN_BATCH: usize = 64;

/// Group commit of step 1 (claim the key, redeem the codes, record the intent `processing`).
///
/// Every charge with a promotion code redeems the same counter rows, and a row lock is held
/// until COMMIT: one at a time, each charge's step 1 would wait for the previous one's WAL
/// flush (session 6: the redemption upsert averaged 4.7–9 ms, all of it waiting). The
/// openings that arrive together run in ONE transaction, answered after its COMMIT, in two
/// round trips whatever their number ([`open_batch`]).
///
/// **Lock order.** A batch waits on other transactions only in its first flight, and there in
/// one order: the idempotency keys in (scope, key) order, then the counters in key order. A
/// key's claim waits when another transaction inserted or is finishing that key; a counter's
/// lock when another holds the counter. The settle batches take counters last, in the same
/// order (`PgTx::commit_now`). So two instances' batches cannot wait on each other in a
/// circle (`server/tests/lock_order.rs` forces the schedules that deadlocked when each
/// opening took its key and then its counters, batch order). The queue is [`Batcher`]'s.
type OpenBatcher = Batcher<Opener>;

/// What a batch of openings does (see [`OpenBatcher`]).
struct Opener {
    pool: Arc<Pool>,
}

impl RunBatch for Opener {
    type Item = OpenIntent;
    type Output = Opened;

    fn run(&self, batch: Vec<Pending<OpenIntent, Opened>>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let outcome = {
                let opens: Vec<&OpenIntent> = batch.iter().map(|p| &p.item).collect();
                match self.pool.get().await {
                    Ok(pooled) => {
                        let mut tx = PgTx::new(pooled);
                        let outcome = open_batch(&mut tx, &opens).await;
                        if outcome.is_err() {
                            // Nothing of the batch is kept.
                            let _ = tx.rollback_now().await;
                        }
                        outcome
                    }
                    Err(e) => Err(e),
                }
            };
            match outcome {
                Ok(answers) => {
                    for (p, answer) in batch.into_iter().zip(answers) {
                        p.answer(answer);
                    }
                }
                Err(e) => {
                    for p in batch {
                        p.answer(Err(e.clone()));
                    }
                }
            }
        })
    }
}

/// What step 1 decided for one opening after the first flight.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// The key is new and every code has room: its intent is recorded.
    New,
    /// The key is new but this counter is used up (its index in the opening's counters): the
    /// claim is taken back.
    Exhausted(usize),
    /// The key was claimed before (maybe earlier in this batch): what is stored for it.
    Replay,
}

/// Locks a counter's row for the rest of the transaction, creating it at 0 the first time, and
/// reads its count: `ON CONFLICT DO UPDATE` locks the row it meets (a no-op update: one small
/// row version per counter per batch).
const LOCK_COUNTER: &str = "INSERT INTO redemption_counters AS c (key, times_redeemed) VALUES ($1, 0) ON CONFLICT (key) DO UPDATE SET times_redeemed = c.times_redeemed RETURNING times_redeemed";
/// The redemptions a batch kept for one counter (locked since the first flight).
const ADD_REDEMPTIONS: &str =
    "UPDATE redemption_counters SET times_redeemed = times_redeemed + $2 WHERE key = $1";
/// The redemptions a settle batch gives back for one counter (`RELEASE_REDEMPTION`, summed).
const RELEASE_REDEMPTIONS: &str =
    "UPDATE redemption_counters SET times_redeemed = GREATEST(times_redeemed - $2, 0) WHERE key = $1";

/// One batch of openings in one transaction, two round trips whatever their number:
///
/// 1. BEGIN, every claim (keys in order), every counter the batch names locked and read
///    (counters in order). Which openings are new, and — from the counts and each code's
///    `max_redemptions`, in arrival order — which of them are granted their codes, is known
///    here, so nothing needs to be undone later: no savepoint.
/// 2. The granted openings' intents; the exhausted ones' claims taken back; what is stored for
///    the replays (read after the inserts: a key used twice in one batch is a replay of the
///    first); one update per counter with the redemptions granted; COMMIT.
///
/// `Err` when a statement fails (a COMMIT after a failed statement rolls back): nothing of the
/// batch is kept and every opening answers the error (the client retries with its key). The
/// intent insert has no `ON CONFLICT`: a key that is new to `idempotency_keys` has no intent
/// (an intent whose key is forgotten keeps it only as `forgotten:…`), so a conflict is a
/// defect, and failing the batch keeps its claim and redemptions from being committed without
/// their intent.
async fn open_batch(tx: &mut PgTx, opens: &[&OpenIntent]) -> StoreResult<Vec<StoreResult<Opened>>> {
    let c = tx.pooled.conn()?;
    let claim = c.statement(CLAIM_KEY).await?;
    let lock = c.statement(LOCK_COUNTER).await?;
    let insert = c.statement(super::intents::INSERT_INTENT).await?;
    let unclaim = c.statement(FORGET_KEY).await?;
    let key_row = c.statement(KEY_ROW).await?;
    let by_key = c.statement(INTENT_BY_KEY).await?;
    let add = c.statement(ADD_REDEMPTIONS).await?;
    let client = &c.client;

    // Flight 1. Keys in order (a key twice: batch order, the first one claims it).
    let mut key_order: Vec<usize> = (0..opens.len()).collect();
    key_order.sort_by(|&a, &b| {
        let (a, b) = (&opens[a].intent, &opens[b].intent);
        (&a.scope, &a.key).cmp(&(&b.scope, &b.key))
    });
    let counters: Vec<&String> = opens
        .iter()
        .flat_map(|o| o.counters.iter().map(|(k, _)| k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut flight = vec![simple(client, "BEGIN")];
    for &i in &key_order {
        let (o, it) = (opens[i], &opens[i].intent);
        flight.push(counted(
            client,
            &claim,
            vec![&it.scope, &it.key, &o.fingerprint, &it.created_at],
        ));
    }
    for counter in &counters {
        flight.push(rows(client, &lock, vec![*counter]));
    }
    let answers = all_ok(pipeline(flight).await)?;
    let mut claimed = vec![false; opens.len()];
    for (j, &i) in key_order.iter().enumerate() {
        claimed[i] = answers[1 + j].count() == 1;
    }
    let mut count: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (j, counter) in counters.iter().enumerate() {
        let n = match &answers[1 + opens.len() + j] {
            Answer::Rows(r) if !r.is_empty() => col(&r[0], 0)?,
            _ => {
                return Err(StoreError::new(
                    "postgres: a counter's lock returned no row",
                ))
            }
        };
        count.insert(counter.as_str(), n);
    }

    // The decisions, in arrival order: an opening is granted when every one of its codes has
    // room after the openings granted before it (`times_redeemed < max_redemptions`, the
    // condition the single-charge upsert evaluates under the same lock).
    let mut decided = Vec::with_capacity(opens.len());
    let mut granted: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (i, o) in opens.iter().enumerate() {
        if !claimed[i] {
            decided.push(Opening::Replay);
            continue;
        }
        let full = o.counters.iter().position(|(k, max)| {
            let taken = count.get(k.as_str()).copied().unwrap_or(0)
                + granted.get(k.as_str()).copied().unwrap_or(0);
            matches!(max, Some(max) if taken >= *max)
        });
        match full {
            Some(k) => decided.push(Opening::Exhausted(k)),
            None => {
                for (k, _) in &o.counters {
                    *granted.entry(k.as_str()).or_insert(0) += 1;
                }
                decided.push(Opening::New);
            }
        }
    }

    // Flight 2.
    let params: Vec<Vec<super::SqlValue>> =
        opens.iter().map(|o| intent_params(&o.intent)).collect();
    let granted: Vec<(&str, i64)> = granted.into_iter().collect();
    let mut flight = Vec::new();
    for (i, o) in opens.iter().enumerate() {
        match decided[i] {
            Opening::New => flight.push(counted(
                client,
                &insert,
                params[i].iter().map(|p| p as &(dyn ToSql + Sync)).collect(),
            )),
            Opening::Exhausted(_) => flight.push(counted(
                client,
                &unclaim,
                vec![&o.intent.scope, &o.intent.key],
            )),
            Opening::Replay => {}
        }
    }
    let mut read_at = vec![0usize; opens.len()];
    for (i, o) in opens.iter().enumerate() {
        if decided[i] == Opening::Replay {
            read_at[i] = flight.len();
            let key: [&(dyn ToSql + Sync); 2] = [&o.intent.scope, &o.intent.key];
            flight.push(rows(client, &key_row, key.to_vec()));
            flight.push(rows(client, &by_key, key.to_vec()));
        }
    }
    for (counter, n) in &granted {
        flight.push(counted(client, &add, vec![counter, n]));
    }
    flight.push(simple(client, "COMMIT"));
    let answers = all_ok(pipeline(flight).await)?;
    tx.finished = true;
    Ok(opens
        .iter()
        .enumerate()
        .map(|(i, o)| match decided[i] {
            Opening::New => Ok(Opened::New),
            Opening::Exhausted(k) => Ok(Opened::Exhausted(o.counters[k].0.clone())),
            Opening::Replay => replayed(&answers[read_at[i]], &answers[read_at[i] + 1]),
        })
        .collect())
}

/// A replay's outcome from its key's row and its intent (read in the batch's transaction).
fn replayed(key_row: &Answer, intents: &Answer) -> StoreResult<Opened> {
    let (Answer::Rows(key_row), Answer::Rows(intents)) = (key_row, intents) else {
        return Err(StoreError::new(
            "postgres: a replay's read returned no rows",
        ));
    };
    // Gone when an exhausted opening of this batch with the same key took its claim back.
    let row = key_row
        .first()
        .ok_or_else(|| StoreError::new("postgres: idempotency key vanished"))?;
    let status: i32 = col(row, 1)?;
    let status = u16::try_from(status).unwrap_or(500);
    let intent = match (status, intents.first()) {
        (0, Some(r)) => Some(super::intents::intent_from_row(&plain_row(r)?)),
        _ => None,
    };
    Ok(Opened::Existing {
        claim: Claim::Existing {
            fingerprint: col(row, 0)?,
            status,
            response: col(row, 2)?,
        },
        intent,
    })
}

/// Every answer of a flight, or its first error.
fn all_ok(answers: Vec<StoreResult<Answer>>) -> StoreResult<Vec<Answer>> {
    answers.into_iter().collect()
}
