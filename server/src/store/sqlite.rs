//! SQLite: one file, WAL journal, `synchronous=FULL` (a commit is on disk before the server
//! answers, so an acknowledged charge survives a SIGKILL or a power cut), foreign keys on.
//!
//! One connection, owned by its own worker thread that runs jobs in the order they were sent.
//! Every transaction is ONE job on that thread, so nothing else can run on the connection
//! while a transaction is open there and a cancelled request can never leave it inside a
//! transaction nobody owns (issue 13 §9):
//!
//! - most transactions (a charge's steps, single statements) are a closure run whole by the
//!   worker ([`Job::Tx`]). **Group commit**: the worker runs every transaction job already
//!   queued behind the first one inside the same `BEGIN IMMEDIATE … COMMIT`, each in its own
//!   `SAVEPOINT` (a failure or a deliberate rollback undoes only its own writes), and answers
//!   them only after the shared `COMMIT` is on disk — one fsync for the group instead of one
//!   each, with the same durability (SQLite has no group commit of its own);
//! - a transaction driven statement by statement through the [`Tx`] trait is one job too
//!   ([`Job::Run`] of a session): the worker runs `BEGIN IMMEDIATE`, then only that
//!   transaction's statements (sent on its own channel) until it commits, rolls back or is
//!   dropped (then it rolls back);
//! - reads run between transactions, never inside a group still to commit.
//!
//! `busy_timeout` covers a second process on the same file.

use super::intents::{self, IntentRecord, OpenIntent, Opened, Settled, Settlement};
use super::migrations::{CREATE_TABLE, MIGRATIONS};
use super::rows::{self, change_columns, invoice_columns, payment_columns, subscription_columns};
use super::{
    BoxFuture, ChangeRecord, Claim, InvoiceRecord, PaymentRecord, Store, StoreError, StoreResult,
    SubscriptionRecord, Tx,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::mpsc;
use std::sync::Arc;

type Work = Box<dyn FnOnce(&Connection) + Send>;

/// A transaction the worker may group with others: run inside its own savepoint, answered
/// after the group's COMMIT.
trait GroupTx: Send {
    /// Runs the transaction's statements; `true` to keep its writes.
    fn run(&mut self, c: &Connection) -> bool;
    /// Answers the caller once the group's COMMIT succeeded or failed (an error also when the
    /// transaction never ran, e.g. BEGIN failed).
    fn answer(self: Box<Self>, committed: Result<(), String>);
}

enum Job {
    /// Runs as is, outside any group (reads, a statement-by-statement transaction's session).
    Run(Work),
    /// A whole transaction, grouped with the ones queued behind it.
    Tx(Box<dyn GroupTx>),
}

/// How many transactions at most share one COMMIT.
const MAX_GROUP: usize = 64;

/// The connection's worker thread: jobs run one at a time, in the order they were sent. The
/// thread ends when the last sender is dropped.
struct Worker {
    jobs: mpsc::Sender<Job>,
    /// Dropped with the worker: the checkpoint thread ends.
    _checkpoints: Checkpointer,
}

impl Worker {
    fn start(conn: Connection, checkpoints: Checkpointer) -> StoreResult<Worker> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("billcalc-sqlite".into())
            .spawn(move || work(&conn, &queue))
            .map_err(|e| StoreError::new(format!("sqlite: cannot start the worker: {e}")))?;
        Ok(Worker {
            jobs,
            _checkpoints: checkpoints,
        })
    }
}

/// WAL checkpoints off the writer's thread: a second connection on the same file copies the
/// WAL back into the database (PASSIVE: it never blocks the writer, which keeps appending)
/// every 100 ms, so that SQLite's automatic checkpoint (every 1,000 WAL frames), which runs
/// inside the writer's COMMIT on the one thread every write waits for, finds little left to
/// copy; it still runs, and restarts the WAL. Durability is unchanged: a commit
/// is durable once its WAL frames are synced (synchronous = FULL); a checkpoint only copies
/// committed pages, and syncs the database file. With nothing new in the WAL a checkpoint
/// copies and syncs nothing.
struct Checkpointer {
    /// Dropped to stop the thread.
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    fn start(path: String) -> StoreResult<Checkpointer> {
        let conn = Connection::open(&path).map_err(sql_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_err)?;
        conn.execute_batch("PRAGMA synchronous = FULL;")
            .map_err(sql_err)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("billcalc-ckpt".into())
            .spawn(move || loop {
                match stopped.recv_timeout(std::time::Duration::from_millis(100)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    // The store is gone: a last checkpoint, then stop.
                    _ => {
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                        return;
                    }
                }
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            })
            .map_err(|e| StoreError::new(format!("sqlite: cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// A statement without parameters or rows (BEGIN, SAVEPOINT, COMMIT…), prepared once.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn work(conn: &Connection, queue: &mpsc::Receiver<Job>) {
    let mut next = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Run(f) => f(conn),
            Job::Tx(first) => {
                if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
                    first.answer(Err(format!("sqlite: {e}")));
                    continue;
                }
                let mut group = vec![first];
                let mut healthy = in_savepoint(conn, &mut group[0]);
                while healthy && group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Tx(mut tx)) => {
                            healthy = in_savepoint(conn, &mut tx);
                            group.push(tx);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let committed = if healthy {
                    control(conn, "COMMIT").map_err(|e| format!("sqlite: {e}"))
                } else {
                    Err("sqlite: a savepoint could not be rolled back; the group was".into())
                };
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                for tx in group {
                    tx.answer(committed.clone());
                }
            }
        }
    }
}

/// Runs one grouped transaction in its own savepoint; `false` when the savepoint itself failed
/// (the group must then be rolled back whole).
fn in_savepoint(conn: &Connection, tx: &mut Box<dyn GroupTx>) -> bool {
    if control(conn, "SAVEPOINT grouped").is_err() {
        return false;
    }
    let keep = tx.run(conn);
    if keep {
        control(conn, "RELEASE grouped").is_ok()
    } else {
        control(conn, "ROLLBACK TO grouped").is_ok() && control(conn, "RELEASE grouped").is_ok()
    }
}

/// A typed transaction job: `body` returns its value and whether to keep its writes.
struct Typed<T, F> {
    body: Option<F>,
    outcome: Option<rusqlite::Result<(T, bool)>>,
    done: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<T, F> GroupTx for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<(T, bool)> + Send + 'static,
{
    fn run(&mut self, c: &Connection) -> bool {
        let outcome = match self.body.take() {
            Some(body) => body(c),
            None => return false,
        };
        let keep = matches!(outcome, Ok((_, true)));
        self.outcome = Some(outcome);
        keep
    }

    fn answer(self: Box<Self>, committed: Result<(), String>) {
        let result = match (self.outcome, committed) {
            // Kept: acknowledged only once the group's COMMIT is on disk.
            (Some(Ok((value, true))), Ok(())) => Ok(value),
            (Some(Ok((_, true))), Err(e)) => Err(StoreError::new(e)),
            // Rolled back on purpose: its answer stands whatever the group did.
            (Some(Ok((value, false))), _) => Ok(value),
            (Some(Err(e)), _) => Err(sql_err(e)),
            (None, Err(e)) => Err(StoreError::new(e)),
            (None, Ok(())) => Err(StoreError::new("sqlite: the transaction did not run")),
        };
        let _ = self.done.send(result);
    }
}

/// Where a job can be sent: the worker's queue, or an open session's own channel.
trait Queue {
    fn push(&self, work: Work) -> Result<(), ()>;
}

impl Queue for Arc<Worker> {
    fn push(&self, work: Work) -> Result<(), ()> {
        self.jobs.send(Job::Run(work)).map_err(|_| ())
    }
}

impl Queue for Session {
    fn push(&self, work: Work) -> Result<(), ()> {
        self.statements.send(work).map_err(|_| ())
    }
}

type Shared = Arc<Worker>;

pub struct SqliteStore {
    conn: Shared,
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::new(format!("sqlite: {e}"))
}

/// Runs `f` on the connection's worker thread (or in an open session) and waits for its
/// result. Dropping the future does not stop `f`: it runs to its end, in order.
async fn run<T, F, Q>(conn: &Q, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    Q: Queue,
{
    let (done, result) = tokio::sync::oneshot::channel();
    conn.push(Box::new(move |c| {
        let _ = done.send(f(c).map_err(sql_err));
    }))
    .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))?;
    result
        .await
        .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))?
}

/// Runs `body` as one transaction on the worker (grouped with others: see the module doc) and
/// waits until it is committed. `body` returns its value and whether to keep its writes
/// (`false`: rolled back, the value is still returned).
async fn transaction<T, F>(conn: &Shared, body: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<(T, bool)> + Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    conn.jobs
        .send(Job::Tx(Box::new(Typed {
            body: Some(body),
            outcome: None,
            done,
        })))
        .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))?;
    result
        .await
        .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))?
}

impl SqliteStore {
    pub async fn open(path: &str) -> StoreResult<SqliteStore> {
        let path = path.to_string();
        let path_for_checkpoints = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            let conn = Connection::open(&path).map_err(sql_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(sql_err)?;
            // temp_store = MEMORY: the savepoint sub-journals of group commit (a page written
            // by several grouped transactions is copied before each one changes it) stay in
            // memory; they only serve ROLLBACK TO, durability is the WAL's (synchronous =
            // FULL). (A larger page cache was tried: SQLite walks it at every transaction's
            // end, which cost more than it saved.)
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                 PRAGMA temp_store = MEMORY;",
            )
            .map_err(sql_err)?;
            migrate(&conn).map_err(sql_err)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::new(format!("sqlite: task failed: {e}")))??;
        // Checkpoints run on their own connection and thread (below), which copies most
        // pages outside the writer's COMMITs. The writer keeps SQLite's automatic checkpoint
        // (1,000 frames) all the same: only a checkpoint that completes while no write is
        // under way lets the next write restart the WAL from its start; with passive
        // checkpoints alone, under constant writes, the WAL file grew without bound (540 MB
        // in 4 s of load).
        let checkpoints = Checkpointer::start(path_for_checkpoints)?;
        Ok(SqliteStore {
            conn: Arc::new(Worker::start(conn, checkpoints)?),
        })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        run(&self.conn, f).await
    }

    /// One transaction, run whole on the worker (see [`transaction`]).
    async fn write<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<(T, bool)> + Send + 'static,
    {
        transaction(&self.conn, body).await
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

    fn open_intent(&self, open: OpenIntent) -> BoxFuture<'_, StoreResult<Opened>> {
        // One job: BEGIN, claim, redemptions, insert, COMMIT (no worker hop per statement).
        Box::pin(self.write(move |c| open_intent_job(c, &open)))
    }

    fn settle_intent<'a>(
        &'a self,
        intent: &'a IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> BoxFuture<'a, StoreResult<Settled>> {
        let intent = intent.clone();
        Box::pin(self.write(move |c| settle_intent_job(c, &intent, now, settlement)))
    }

    fn store_einvoice<'a>(
        &'a self,
        intent_id: &'a str,
        invoice_id: &'a str,
        document: Option<&'a str>,
        now: i64,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let (intent_id, invoice_id) = (intent_id.to_string(), invoice_id.to_string());
        let document = document.map(str::to_string);
        Box::pin(self.write(move |c| {
            let moved = plain_exec(
                c,
                intents::EINVOICE_STORED,
                &[intent_id.as_str().into(), now.into()],
            )?;
            if moved == 0 {
                return Ok((false, false));
            }
            if let Some(d) = &document {
                plain_exec(
                    c,
                    intents::STORE_DOCUMENT,
                    &[invoice_id.as_str().into(), d.as_str().into()],
                )?;
            }
            Ok((true, true))
        }))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn begin(&self) -> BoxFuture<'_, StoreResult<Box<dyn Tx>>> {
        Box::pin(async move {
            // One job on the worker for the whole transaction: BEGIN, then this transaction's
            // statements only, until COMMIT, ROLLBACK or the end of its channel (the SqliteTx
            // dropped, e.g. a cancelled request: ROLLBACK). If this future is dropped while
            // the worker runs BEGIN, the channel ends with it and the worker rolls back.
            let (statements, inbox) = mpsc::channel::<Work>();
            let (begun, began) = tokio::sync::oneshot::channel();
            let session = Job::Run(Box::new(move |c| {
                let started = c.execute_batch("BEGIN IMMEDIATE");
                let ok = started.is_ok();
                let _ = begun.send(started.map_err(sql_err));
                if ok {
                    for statement in inbox {
                        statement(c);
                    }
                }
                if !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }));
            let tx = SqliteTx {
                conn: Session { statements },
            };
            self.conn
                .jobs
                .send(session)
                .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))?;
            began
                .await
                .map_err(|_| StoreError::new("sqlite: the worker thread stopped"))??;
            Ok(Box::new(tx) as Box<dyn Tx>)
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

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let autocommit = self
                .read(|c| {
                    c.prepare_cached("SELECT 1")?
                        .query_row([], |r| r.get::<_, i64>(0))?;
                    Ok(c.is_autocommit())
                })
                .await?;
            if autocommit {
                Ok(())
            } else {
                Err(StoreError::new(
                    "sqlite: the connection is inside a transaction nobody holds",
                ))
            }
        })
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

/// A statement-by-statement transaction: its session runs on the worker (see
/// [`SqliteStore::begin`]) until it commits or rolls back; dropped before that (an error, or a
/// cancelled request), its channel ends and the worker rolls it back.
struct SqliteTx {
    conn: Session,
}

/// The open transaction's own channel to the worker thread, which runs nothing else meanwhile.
struct Session {
    statements: mpsc::Sender<Work>,
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
            claim_key(c, &scope, &key, &fingerprint, now)
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
            finish_key(c, &scope, &key, status, &response)
        }))
    }

    fn redeem<'a>(
        &'a mut self,
        counter: &'a str,
        max: Option<i64>,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        let counter = counter.to_string();
        Box::pin(run(&self.conn, move |c| redeem(c, &counter, max)))
    }

    fn next_number<'a>(&'a mut self, series: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        let series = series.to_string();
        Box::pin(run(&self.conn, move |c| next_number(c, &series)))
    }

    fn insert_invoice<'a>(
        &'a mut self,
        invoice: &'a InvoiceRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let i = invoice.clone();
        Box::pin(run(&self.conn, move |c| insert_invoice(c, &i)))
    }

    fn insert_payment<'a>(
        &'a mut self,
        payment: &'a PaymentRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let p = payment.clone();
        Box::pin(run(&self.conn, move |c| insert_payment(c, &p)))
    }

    fn insert_redemption<'a>(
        &'a mut self,
        invoice_id: &'a str,
        counter: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (invoice_id, counter) = (invoice_id.to_string(), counter.to_string());
        Box::pin(run(&self.conn, move |c| {
            insert_redemption(c, &invoice_id, &counter)
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

    fn commit(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        // A failed COMMIT leaves the transaction open: the session ends with `self` and the
        // worker rolls it back.
        Box::pin(async move { run(&self.conn, |c| c.execute_batch("COMMIT")).await })
    }

    fn rollback(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            run(&self.conn, |c| {
                if c.is_autocommit() {
                    Ok(())
                } else {
                    c.execute_batch("ROLLBACK")
                }
            })
            .await
        })
    }
}

// The statements a charge's steps share, on the connection (the worker thread): the `Tx`
// methods run one each per job; the intent steps run several in one job.

fn claim_key(
    c: &Connection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> rusqlite::Result<Claim> {
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
}

fn finish_key(
    c: &Connection,
    scope: &str,
    key: &str,
    status: u16,
    response: &str,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE idempotency_keys SET status_code = ?3, response = ?4 WHERE scope = ?1 AND key = ?2",
    )?
    .execute(params![scope, key, status, response])
    .map(|_| ())
}

fn redeem(c: &Connection, counter: &str, max: Option<i64>) -> rusqlite::Result<bool> {
    let updated = c
        .prepare_cached(
            "INSERT INTO redemption_counters (key, times_redeemed) VALUES (?1, 1) ON CONFLICT (key) DO UPDATE SET times_redeemed = redemption_counters.times_redeemed + 1 WHERE ?2 IS NULL OR redemption_counters.times_redeemed < ?2",
        )?
        .execute(params![counter, max])?;
    Ok(updated == 1)
}

fn next_number(c: &Connection, series: &str) -> rusqlite::Result<i64> {
    c.prepare_cached(
        "INSERT INTO invoice_series (series, next_number) VALUES (?1, 2) ON CONFLICT (series) DO UPDATE SET next_number = invoice_series.next_number + 1 RETURNING next_number - 1",
    )?
    .query_row(params![series], |r| r.get(0))
}

fn insert_invoice(c: &Connection, i: &InvoiceRecord) -> rusqlite::Result<()> {
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
}

fn insert_payment(c: &Connection, p: &PaymentRecord) -> rusqlite::Result<()> {
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
}

fn insert_redemption(c: &Connection, invoice_id: &str, counter: &str) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO redemptions (invoice_id, key) VALUES (?1, ?2)")?
        .execute(params![invoice_id, counter])
        .map(|_| ())
}

/// Step 1 as one transaction job: the outcome, and whether to keep the writes.
fn open_intent_job(c: &Connection, open: &intents::OpenIntent) -> rusqlite::Result<(Opened, bool)> {
    let i = &open.intent;
    {
        let claim = claim_key(c, &i.scope, &i.key, &open.fingerprint, i.created_at)?;
        if let Claim::Existing { status, .. } = &claim {
            let intent = if *status == 0 {
                plain_query(
                    c,
                    intents::INTENT_BY_KEY,
                    &[i.scope.as_str().into(), i.key.as_str().into()],
                )?
                .first()
                .map(|r| intents::intent_from_row(r))
            } else {
                None
            };
            return Ok((Opened::Existing { claim, intent }, false));
        }
        for (counter, max) in &open.counters {
            if !redeem(c, counter, *max)? {
                return Ok((Opened::Exhausted(counter.clone()), false));
            }
        }
        plain_exec(c, intents::INSERT_INTENT, &intents::intent_params(i))?;
        Ok((Opened::New, true))
    }
}

/// A failure of the invoice builder, carried through rusqlite's error type.
fn build_failed(why: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(why.into())
}

/// Step 2 as one transaction job: the outcome, and whether to keep the writes.
fn settle_intent_job(
    c: &Connection,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> rusqlite::Result<(Settled, bool)> {
    match settlement {
        Settlement::Paid {
            invoice_id,
            series,
            gateway_charge_id,
            build,
        } => {
            let moved = plain_exec(
                c,
                intents::SETTLE_PAID,
                &[
                    intent.id.as_str().into(),
                    invoice_id.as_str().into(),
                    gateway_charge_id.into(),
                    true.into(),
                    now.into(),
                ],
            )?;
            if moved == 0 {
                return Ok((Settled::AlreadySettled, false));
            }
            let number = next_number(c, &series)?;
            let issued = build(number).map_err(build_failed)?;
            insert_invoice(c, &issued.invoice)?;
            if let Some(p) = &issued.payment {
                insert_payment(c, p)?;
            }
            for counter in &issued.redemptions {
                insert_redemption(c, &issued.invoice.id, counter)?;
            }
            if !issued.einvoice_pending {
                plain_exec(
                    c,
                    intents::EINVOICE_STORED,
                    &[intent.id.as_str().into(), now.into()],
                )?;
            }
            finish_key(
                c,
                &intent.scope,
                &intent.key,
                issued.status,
                &issued.response,
            )?;
            Ok((Settled::Done, true))
        }
        Settlement::Failed {
            status,
            release,
            answer,
        } => {
            let moved = plain_exec(
                c,
                intents::SETTLE_FAILED,
                &[intent.id.as_str().into(), status.into(), now.into()],
            )?;
            if moved == 0 {
                return Ok((Settled::AlreadySettled, false));
            }
            for counter in &release {
                plain_exec(c, intents::RELEASE_REDEMPTION, &[counter.as_str().into()])?;
            }
            match answer {
                Some((code, body)) => finish_key(c, &intent.scope, &intent.key, code, &body)?,
                None => {
                    plain_exec(
                        c,
                        intents::FORGET_KEY,
                        &[intent.scope.as_str().into(), intent.key.as_str().into()],
                    )?;
                    plain_exec(c, intents::RELEASE_INTENT_KEY, &[intent.id.as_str().into()])?;
                }
            }
            Ok((Settled::Done, true))
        }
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
        Box::pin(self.write(move |c| plain_exec(c, sql, &params).map(|n| (n, true))))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> String {
        let path = std::env::temp_dir().join(format!(
            "billcalc-group-{name}-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        ));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path.display().to_string()
    }

    /// Group commit: many transactions queued together share commits, yet each one's failure
    /// or deliberate rollback undoes only its own writes, and every kept one is on disk when
    /// it is answered (read back by a second connection).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn grouped_transactions_fail_alone() {
        let path = temp_db("fail-alone");
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        run(&store.conn, |c| {
            c.execute_batch("CREATE TABLE probe (n INTEGER PRIMARY KEY, note TEXT NOT NULL)")
        })
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for n in 0..200i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(move |c| {
                        c.execute("INSERT INTO probe (n, note) VALUES (?1, 'kept')", [n])?;
                        match n % 10 {
                            // Fails after a write: that write must go, the others stay.
                            3 => c
                                .execute("INSERT INTO probe (n, note) VALUES (?1, 'dup')", [n])
                                .map(|_| (n, true)),
                            // Rolls back on purpose (like an exhausted code).
                            7 => Ok((n, false)),
                            _ => Ok((n, true)),
                        }
                    })
                    .await
            }));
        }
        let mut kept = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(n) if n % 10 == 7 => {}
                Ok(n) => kept.push(n),
                Err(e) => assert!(e.message.contains("UNIQUE"), "{e}"),
            }
        }
        assert_eq!(kept.len(), 160);
        // A second connection sees exactly the kept ones: committed and durable when answered.
        let other = Connection::open(&path).unwrap();
        let mut stored: Vec<i64> = other
            .prepare("SELECT n FROM probe ORDER BY n")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        kept.sort();
        stored.sort();
        assert_eq!(stored, kept);
        assert!(
            store.ping().await.is_ok(),
            "the connection is left in a transaction"
        );
    }

    /// A statement-by-statement transaction dropped half way is rolled back by its session,
    /// and the connection serves the next transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_session_rolls_back() {
        let path = temp_db("session");
        let store = SqliteStore::open(&path).await.unwrap();
        {
            let mut tx = store.begin().await.unwrap();
            tx.exec(
                "INSERT INTO redemption_counters (key, times_redeemed) VALUES ($1, 1)",
                vec!["dropped".into()],
            )
            .await
            .unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        tx.exec(
            "INSERT INTO redemption_counters (key, times_redeemed) VALUES ($1, 1)",
            vec!["committed".into()],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.times_redeemed("dropped").await.unwrap(), 0);
        assert_eq!(store.times_redeemed("committed").await.unwrap(), 1);
        assert!(store.ping().await.is_ok());
    }

    /// The writer does not checkpoint (wal_autocheckpoint = 0); the checkpoint thread copies
    /// the committed pages into the database file soon after, without anyone asking.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_the_wal_into_the_database() {
        let path = temp_db("checkpoint");
        let store = SqliteStore::open(&path).await.unwrap();
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        let filler = "x".repeat(8_000);
        for i in 0..60 {
            store
                .exec(
                    "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES ($1, $2, $3, 0)",
                    vec!["checkpoint".into(), format!("k{i}").into(), filler.as_str().into()],
                )
                .await
                .unwrap();
        }
        let mut grown = false;
        for _ in 0..100 {
            if size() > before + 60 * 8_000 {
                grown = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(grown, "database file {before} -> {} bytes", size());
    }
}
