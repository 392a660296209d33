//! SQLite: one file, WAL journal, `synchronous=FULL` (a commit is on disk before the server
//! answers, so an acknowledged charge survives a SIGKILL or a power cut), foreign keys on.
//!
//! One connection, driven from tokio's blocking pool. SQLite runs one write transaction at a
//! time anyway; the async `gate` makes every operation (reads included) wait for an open
//! transaction, so a read never sees another request's uncommitted writes on the shared
//! connection. Write transactions start with `BEGIN IMMEDIATE`, which takes the write lock up
//! front (no lock upgrades, no `SQLITE_BUSY` half way), and `busy_timeout` covers a second
//! process on the same file.

use super::migrations::{CREATE_TABLE, MIGRATIONS};
use super::rows::{self, change_columns, invoice_columns, payment_columns, subscription_columns};
use super::{
    BoxFuture, ChangeRecord, Claim, InvoiceRecord, PaymentRecord, Store, StoreError, StoreResult,
    SubscriptionRecord, Tx,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

type Shared = Arc<Mutex<Connection>>;

pub struct SqliteStore {
    conn: Shared,
    gate: Arc<tokio::sync::Mutex<()>>,
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::new(format!("sqlite: {e}"))
}

/// Runs `f` on the connection in the blocking pool.
async fn run<T, F>(conn: &Shared, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let guard = conn
            .lock()
            .map_err(|_| StoreError::new("sqlite: connection lock poisoned"))?;
        f(&guard).map_err(sql_err)
    })
    .await
    .map_err(|e| StoreError::new(format!("sqlite: task failed: {e}")))?
}

impl SqliteStore {
    pub async fn open(path: &str) -> StoreResult<SqliteStore> {
        let path = path.to_string();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            let conn = Connection::open(&path).map_err(sql_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(sql_err)?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(sql_err)?;
            migrate(&conn).map_err(sql_err)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::new(format!("sqlite: task failed: {e}")))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            gate: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _gate = self.gate.lock().await;
        run(&self.conn, f).await
    }
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        conn.execute_batch(CREATE_TABLE)?;
        for (version, name, sql) in MIGRATIONS {
            let done: Option<i64> = conn
                .query_row(
                    "SELECT version FROM schema_migrations WHERE version = ?1",
                    params![version],
                    |r| r.get(0),
                )
                .optional()?;
            if done.is_none() {
                conn.execute_batch(sql)?;
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, strftime('%s','now'))",
                    params![version, name],
                )?;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl rows::Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        self.get(i)
    }
}

const SUBSCRIPTION_SELECT: &str = concat!(
    "SELECT ",
    subscription_columns!(),
    " FROM subscriptions WHERE id = ?1"
);

const CHANGE_SELECT: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM subscription_changes WHERE id = ?1"
);

impl Store for SqliteStore {
    fn query<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        self.plain_query(sql, params)
    }

    fn exec<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        self.plain_exec(sql, params)
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn begin(&self) -> BoxFuture<'_, StoreResult<Box<dyn Tx>>> {
        Box::pin(async move {
            let gate = self.gate.clone().lock_owned().await;
            run(&self.conn, |c| c.execute_batch("BEGIN IMMEDIATE")).await?;
            Ok(Box::new(SqliteTx {
                conn: self.conn.clone(),
                _gate: gate,
                open: true,
            }) as Box<dyn Tx>)
        })
    }

    fn invoice<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<InvoiceRecord>>> {
        let id = id.to_string();
        Box::pin(self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                invoice_columns!(),
                " FROM invoices WHERE id = ?1"
            ))?
            .query_row(params![id], |r| rows::invoice(r))
            .optional()
        }))
    }

    fn invoice_numbers<'a>(&'a self, series: &'a str) -> BoxFuture<'a, StoreResult<Vec<i64>>> {
        let series = series.to_string();
        Box::pin(self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT number FROM invoices WHERE series = ?1 ORDER BY number")?;
            let rows = stmt.query_map(params![series], |r| r.get(0))?;
            rows.collect()
        }))
    }

    fn payments(&self) -> BoxFuture<'_, StoreResult<Vec<PaymentRecord>>> {
        Box::pin(self.read(|c| {
            let mut stmt = c.prepare_cached(concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([], |r| rows::payment(r))?;
            rows.collect()
        }))
    }

    fn times_redeemed<'a>(&'a self, counter: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        let counter = counter.to_string();
        Box::pin(self.read(move |c| {
            c.prepare_cached("SELECT times_redeemed FROM redemption_counters WHERE key = ?1")?
                .query_row(params![counter], |r| r.get(0))
                .optional()
                .map(|n| n.unwrap_or(0))
        }))
    }

    fn has_paid<'a>(&'a self, customer_id: &'a str) -> BoxFuture<'a, StoreResult<bool>> {
        let customer_id = customer_id.to_string();
        Box::pin(self.read(move |c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM invoices i JOIN payments p ON p.invoice_id = i.id WHERE i.customer_id = ?1 AND p.status = 'succeeded')",
            )?
            .query_row(params![customer_id], |r| r.get(0))
        }))
    }

    fn migrations(&self) -> BoxFuture<'_, StoreResult<Vec<i64>>> {
        Box::pin(self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT version FROM schema_migrations ORDER BY version")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        }))
    }

    fn subscription<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>> {
        let id = id.to_string();
        Box::pin(self.read(move |c| {
            c.prepare_cached(SUBSCRIPTION_SELECT)?
                .query_row(params![id], |r| rows::subscription(r))
                .optional()
        }))
    }

    fn due_subscriptions(&self, as_of: i64, limit: i64) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        Box::pin(self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') AND current_period_end <= ?1 ORDER BY current_period_end, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![as_of, limit], |r| r.get(0))?;
            rows.collect()
        }))
    }

    fn balance<'a>(
        &'a self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        let (customer_id, currency) = (customer_id.to_string(), currency.to_string());
        Box::pin(self.read(move |c| {
            c.prepare_cached(
                "SELECT balance FROM customer_balances WHERE customer_id = ?1 AND currency = ?2",
            )?
            .query_row(params![customer_id, currency], |r| r.get(0))
            .optional()
            .map(|b| b.unwrap_or(0))
        }))
    }

    fn subscription_invoices<'a>(
        &'a self,
        subscription_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<InvoiceRecord>>> {
        let id = subscription_id.to_string();
        Box::pin(self.read(move |c| {
            let mut stmt = c.prepare_cached(concat!(
                "SELECT ",
                invoice_columns!(),
                " FROM invoices WHERE subscription_id = ?1 ORDER BY series, number"
            ))?;
            let rows = stmt.query_map(params![id], |r| rows::invoice(r))?;
            rows.collect()
        }))
    }

    fn change<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>> {
        let id = id.to_string();
        Box::pin(self.read(move |c| {
            c.prepare_cached(CHANGE_SELECT)?
                .query_row(params![id], |r| rows::change(r))
                .optional()
        }))
    }

    fn all_subscriptions(&self) -> BoxFuture<'_, StoreResult<Vec<SubscriptionRecord>>> {
        Box::pin(self.read(|c| {
            let mut stmt = c.prepare_cached(concat!(
                "SELECT ",
                subscription_columns!(),
                " FROM subscriptions ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([], |r| rows::subscription(r))?;
            rows.collect()
        }))
    }

    fn all_invoices(&self) -> BoxFuture<'_, StoreResult<Vec<InvoiceRecord>>> {
        Box::pin(self.read(|c| {
            let mut stmt = c.prepare_cached(concat!(
                "SELECT ",
                invoice_columns!(),
                " FROM invoices ORDER BY created_at, series, number"
            ))?;
            let rows = stmt.query_map([], |r| rows::invoice(r))?;
            rows.collect()
        }))
    }
}

struct SqliteTx {
    conn: Shared,
    _gate: OwnedMutexGuard<()>,
    open: bool,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            if let Ok(c) = self.conn.lock() {
                let _ = c.execute_batch("ROLLBACK");
            }
        }
    }
}

impl Tx for SqliteTx {
    fn claim_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        fingerprint: &'a str,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<Claim>> {
        let (scope, key, fingerprint) =
            (scope.to_string(), key.to_string(), fingerprint.to_string());
        Box::pin(run(&self.conn, move |c| {
            let inserted = c
                .prepare_cached(
                    "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, key) DO NOTHING",
                )?
                .execute(params![scope, key, fingerprint, now])?;
            if inserted == 1 {
                return Ok(Claim::New);
            }
            c.prepare_cached(
                "SELECT fingerprint, status_code, response FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            )?
            .query_row(params![scope, key], |r| {
                Ok(Claim::Existing {
                    fingerprint: r.get(0)?,
                    status: r.get::<_, u16>(1)?,
                    response: r.get(2)?,
                })
            })
        }))
    }

    fn finish_key<'a>(
        &'a mut self,
        scope: &'a str,
        key: &'a str,
        status: u16,
        response: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (scope, key, response) = (scope.to_string(), key.to_string(), response.to_string());
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "UPDATE idempotency_keys SET status_code = ?3, response = ?4 WHERE scope = ?1 AND key = ?2",
            )?
            .execute(params![scope, key, status, response])
            .map(|_| ())
        }))
    }

    fn redeem<'a>(
        &'a mut self,
        counter: &'a str,
        max: Option<i64>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let counter = counter.to_string();
        Box::pin(run(&self.conn, move |c| {
            let updated = c
                .prepare_cached(
                    "INSERT INTO redemption_counters (key, times_redeemed) VALUES (?1, 1) ON CONFLICT (key) DO UPDATE SET times_redeemed = redemption_counters.times_redeemed + 1 WHERE ?2 IS NULL OR redemption_counters.times_redeemed < ?2",
                )?
                .execute(params![counter, max])?;
            Ok(updated == 1)
        }))
    }

    fn next_number<'a>(&'a mut self, series: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        let series = series.to_string();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO invoice_series (series, next_number) VALUES (?1, 2) ON CONFLICT (series) DO UPDATE SET next_number = invoice_series.next_number + 1 RETURNING next_number - 1",
            )?
            .query_row(params![series], |r| r.get(0))
        }))
    }

    fn insert_invoice<'a>(
        &'a mut self,
        invoice: &'a InvoiceRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let i = invoice.clone();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO invoices (id, series, number, number_display, created_at, currency, total, customer_id, idempotency_key, document, subscription_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                i.id,
                i.series,
                i.number,
                i.number_display,
                i.created_at,
                i.currency,
                i.total,
                i.customer_id,
                i.idempotency_key,
                i.document,
                i.subscription_id
            ])
            .map(|_| ())
        }))
    }

    fn insert_payment<'a>(
        &'a mut self,
        payment: &'a PaymentRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let p = payment.clone();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO payments (id, invoice_id, amount, currency, status, gateway, card_brand, card_last4, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                p.id,
                p.invoice_id,
                p.amount,
                p.currency,
                p.status,
                p.gateway,
                p.card_brand,
                p.card_last4,
                p.created_at
            ])
            .map(|_| ())
        }))
    }

    fn insert_redemption<'a>(
        &'a mut self,
        invoice_id: &'a str,
        counter: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (invoice_id, counter) = (invoice_id.to_string(), counter.to_string());
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached("INSERT INTO redemptions (invoice_id, key) VALUES (?1, ?2)")?
                .execute(params![invoice_id, counter])
                .map(|_| ())
        }))
    }

    fn lock_subscription<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SubscriptionRecord>>> {
        let id = id.to_string();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(SUBSCRIPTION_SELECT)?
                .query_row(params![id], |r| rows::subscription(r))
                .optional()
        }))
    }

    fn insert_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let s = s.clone();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO subscriptions (id, customer_id, status, currency, default_payment_method, billing_cycle_anchor, current_period_start, current_period_end, cancel_at_period_end, canceled_at, document, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                s.id,
                s.customer_id,
                s.status,
                s.currency,
                s.default_payment_method,
                s.billing_cycle_anchor,
                s.current_period_start,
                s.current_period_end,
                s.cancel_at_period_end,
                s.canceled_at,
                s.document,
                s.created_at,
                s.updated_at
            ])
            .map(|_| ())
        }))
    }

    fn update_subscription<'a>(
        &'a mut self,
        s: &'a SubscriptionRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let s = s.clone();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "UPDATE subscriptions SET status = ?2, default_payment_method = ?3, billing_cycle_anchor = ?4, current_period_start = ?5, current_period_end = ?6, cancel_at_period_end = ?7, canceled_at = ?8, document = ?9, updated_at = ?10 WHERE id = ?1",
            )?
            .execute(params![
                s.id,
                s.status,
                s.default_payment_method,
                s.billing_cycle_anchor,
                s.current_period_start,
                s.current_period_end,
                s.cancel_at_period_end,
                s.canceled_at,
                s.document,
                s.updated_at
            ])
            .map(|_| ())
        }))
    }

    fn set_subscription_items<'a>(
        &'a mut self,
        subscription_id: &'a str,
        items: &'a [(String, i64)],
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (id, items) = (subscription_id.to_string(), items.to_vec());
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached("DELETE FROM subscription_items WHERE subscription_id = ?1")?
                .execute(params![id])?;
            let mut insert = c.prepare_cached(
                "INSERT INTO subscription_items (subscription_id, price, quantity) VALUES (?1, ?2, ?3)",
            )?;
            for (price, quantity) in &items {
                insert.execute(params![id, price, quantity])?;
            }
            Ok(())
        }))
    }

    fn lock_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
    ) -> BoxFuture<'a, StoreResult<i64>> {
        let (customer_id, currency) = (customer_id.to_string(), currency.to_string());
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "SELECT balance FROM customer_balances WHERE customer_id = ?1 AND currency = ?2",
            )?
            .query_row(params![customer_id, currency], |r| r.get(0))
            .optional()
            .map(|b| b.unwrap_or(0))
        }))
    }

    fn set_balance<'a>(
        &'a mut self,
        customer_id: &'a str,
        currency: &'a str,
        balance: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (customer_id, currency) = (customer_id.to_string(), currency.to_string());
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO customer_balances (customer_id, currency, balance) VALUES (?1, ?2, ?3) ON CONFLICT (customer_id, currency) DO UPDATE SET balance = excluded.balance",
            )?
            .execute(params![customer_id, currency, balance])
            .map(|_| ())
        }))
    }

    fn insert_change<'a>(&'a mut self, ch: &'a ChangeRecord) -> BoxFuture<'a, StoreResult<()>> {
        let ch = ch.clone();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "INSERT INTO subscription_changes (id, subscription_id, proration_date, preview_digest, invoice_id, created_at, request, preview, status, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                ch.id,
                ch.subscription_id,
                ch.proration_date,
                ch.preview_digest,
                ch.invoice_id,
                ch.created_at,
                ch.request,
                ch.preview,
                ch.status,
                ch.committed_at
            ])
            .map(|_| ())
        }))
    }

    fn lock_change<'a>(
        &'a mut self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<ChangeRecord>>> {
        let id = id.to_string();
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(CHANGE_SELECT)?
                .query_row(params![id], |r| rows::change(r))
                .optional()
        }))
    }

    fn commit_change<'a>(
        &'a mut self,
        id: &'a str,
        invoice_id: Option<&'a str>,
        committed_at: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (id, invoice_id) = (id.to_string(), invoice_id.map(str::to_string));
        Box::pin(run(&self.conn, move |c| {
            c.prepare_cached(
                "UPDATE subscription_changes SET status = 'committed', invoice_id = ?2, committed_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, invoice_id, committed_at])
            .map(|_| ())
        }))
    }

    fn exec<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        self.plain_exec(sql, params)
    }

    fn query<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        self.plain_query(sql, params)
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            let result = run(&self.conn, |c| c.execute_batch("COMMIT")).await;
            // A failed COMMIT leaves the transaction open: Drop rolls it back.
            if result.is_ok() {
                self.open = false;
            }
            result
        })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            let result = run(&self.conn, |c| c.execute_batch("ROLLBACK")).await;
            self.open = false;
            result
        })
    }
}

// Plain SQL (see `super::sql`).

fn to_sqlite(v: &super::SqlValue) -> rusqlite::types::Value {
    match v {
        super::SqlValue::Null => rusqlite::types::Value::Null,
        super::SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
        super::SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef) -> super::SqlValue {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => super::SqlValue::Null,
        ValueRef::Integer(i) => super::SqlValue::Int(i),
        ValueRef::Real(f) => super::SqlValue::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            super::SqlValue::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

fn plain_exec(c: &Connection, sql: &str, params: &[super::SqlValue]) -> rusqlite::Result<u64> {
    let values: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
    let mut stmt = c.prepare_cached(&super::sql::sqlite_placeholders(sql))?;
    let n = stmt.execute(rusqlite::params_from_iter(values.iter()))?;
    Ok(n as u64)
}

fn plain_query(
    c: &Connection,
    sql: &str,
    params: &[super::SqlValue],
) -> rusqlite::Result<Vec<super::Row>> {
    let values: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
    let mut stmt = c.prepare_cached(&super::sql::sqlite_placeholders(sql))?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(columns);
        for i in 0..columns {
            row.push(from_sqlite(r.get_ref(i)?));
        }
        out.push(row);
    }
    Ok(out)
}

impl SqliteStore {
    pub(super) fn plain_query<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        Box::pin(self.read(move |c| plain_query(c, sql, &params)))
    }

    pub(super) fn plain_exec<'a>(
        &'a self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(self.read(move |c| plain_exec(c, sql, &params)))
    }
}

impl SqliteTx {
    pub(super) fn plain_query<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<Vec<super::Row>>> {
        Box::pin(run(&self.conn, move |c| plain_query(c, sql, &params)))
    }

    pub(super) fn plain_exec<'a>(
        &'a mut self,
        sql: &'static str,
        params: Vec<super::SqlValue>,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(run(&self.conn, move |c| plain_exec(c, sql, &params)))
    }
}
