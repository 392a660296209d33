//! Payment intents: a charge in recorded steps, so the gateway is called outside any database
//! transaction (issue 13 §6). The state machine (Stripe's vocabulary) is in server/README.md:
//!
//! ```text
//! open_intent (tx 1: key claimed, codes redeemed)      -> processing
//! gateway call, outside any transaction (idempotency key = the intent id)
//! settle_intent Paid (tx 2: number, invoice, payment)  -> succeeded (einvoice_pending = 1)
//! store_einvoice (tx 3, after the answer: rendered in the background) -> einvoice_pending = 0
//! settle_intent Failed (tx 2: codes released)          -> requires_payment_method | canceled
//! ```
//!
//! Each step is one transaction, run as ONE job on SQLite's worker thread (`sqlite.rs`
//! overrides the defaults below, which drive a [`Tx`] statement by statement for PostgreSQL).
//! `settle_intent` moves an intent out of `processing` with a conditional update, so two
//! processes finishing the same intent (a replay racing the start-up recovery) settle it once.

use super::batch::{Batcher, Pending, RunBatch};
use super::{
    BoxFuture, Claim, InvoiceRecord, PaymentRecord, SqlValue, StoreError, StoreResult, Tx,
};
use std::sync::Arc;

/// One row of `payment_intents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRecord {
    /// `pi_…`; also the gateway's idempotency key, so a re-sent gateway call never charges twice.
    pub id: String,
    /// The idempotency key's scope and key that created it.
    pub scope: String,
    pub key: String,
    /// `processing`, `succeeded`, `requires_payment_method` (declined), `canceled`.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub payment_method: String,
    /// What finishing the charge needs, as JSON text (owned by `crate::charge`).
    pub plan: String,
    pub invoice_id: Option<String>,
    pub gateway_charge_id: Option<String>,
    /// The invoice was issued but its e-invoice is not stored yet.
    pub einvoice_pending: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) fn intent_from_row(r: &[SqlValue]) -> IntentRecord {
    let text = |i: usize| r.get(i).map(SqlValue::text).unwrap_or_default();
    let opt = |i: usize| r.get(i).and_then(|v| v.as_str().map(str::to_string));
    let int = |i: usize| r.get(i).and_then(SqlValue::as_i64).unwrap_or(0);
    IntentRecord {
        id: text(0),
        scope: text(1),
        key: text(2),
        status: text(3),
        amount: int(4),
        currency: text(5),
        payment_method: text(6),
        plan: text(7),
        invoice_id: opt(8),
        gateway_charge_id: opt(9),
        einvoice_pending: int(10) != 0,
        created_at: int(11),
        updated_at: int(12),
    }
}

pub(crate) fn intent_params(i: &IntentRecord) -> Vec<SqlValue> {
    vec![
        i.id.as_str().into(),
        i.scope.as_str().into(),
        i.key.as_str().into(),
        i.status.as_str().into(),
        i.amount.into(),
        i.currency.as_str().into(),
        i.payment_method.as_str().into(),
        i.plan.as_str().into(),
        i.invoice_id.clone().into(),
        i.gateway_charge_id.clone().into(),
        i.einvoice_pending.into(),
        i.created_at.into(),
        i.updated_at.into(),
    ]
}

pub(crate) const INSERT_INTENT: &str = "INSERT INTO payment_intents (id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(super) const INTENT_BY_KEY: &str = "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE scope = $1 AND key = $2";
/// `processing` first: a charge whose gateway outcome is unknown is never left behind a backlog
/// of e-invoices still to render (which a sustained load leaves: crate::render_queue).
pub(super) const UNFINISHED: &str = "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE (status = 'processing' OR einvoice_pending = 1) AND updated_at <= $1 ORDER BY status = 'processing' DESC, created_at, id LIMIT $2";
pub(super) const PENDING_FOR_INVOICE: &str = "SELECT id, scope, key, status, amount, currency, payment_method, plan, invoice_id, gateway_charge_id, einvoice_pending, created_at, updated_at FROM payment_intents WHERE status = 'succeeded' AND einvoice_pending = 1 AND invoice_id = $1";
pub(super) const SETTLE_PAID: &str = "UPDATE payment_intents SET status = 'succeeded', invoice_id = $2, gateway_charge_id = $3, einvoice_pending = $4, updated_at = $5 WHERE id = $1 AND status = 'processing'";
pub(super) const SETTLE_FAILED: &str = "UPDATE payment_intents SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'processing'";
pub(super) const RELEASE_REDEMPTION: &str = "UPDATE redemption_counters SET times_redeemed = times_redeemed - 1 WHERE key = $1 AND times_redeemed > 0";
/// The key forgotten (no answer stored: the request did not get to execute) so that the client
/// may retry with it; always together with [`RELEASE_INTENT_KEY`].
pub(crate) const FORGET_KEY: &str = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2";
/// The canceled intent ($1, its id) lets go of the forgotten key (`UNIQUE (scope, key)`), so the
/// retry with the key records its own intent. It stays as history under
/// `forgotten:<its id> <the key>`: unique (the id is), no client key can take it by chance (the
/// id is random), and `GET /v1/payment_intents` still shows the client's key (its last word).
pub(crate) const RELEASE_INTENT_KEY: &str =
    "UPDATE payment_intents SET key = 'forgotten:' || id || ' ' || key WHERE id = $1";
pub(super) const STORE_DOCUMENT: &str = "UPDATE invoices SET document = $2 WHERE id = $1";
/// Conditional: of two processes storing the same invoice's e-invoice, only the first stores
/// its document (the second finds nothing pending and writes nothing).
pub(super) const EINVOICE_STORED: &str =
    "UPDATE payment_intents SET einvoice_pending = 0, updated_at = $2 WHERE id = $1 AND einvoice_pending = 1";

/// Step 1: claim the key, redeem the codes (in key order), record the intent `processing`.
pub struct OpenIntent {
    pub fingerprint: String,
    /// `(counter, max_redemptions)` in key order (the lock order every transaction follows).
    pub counters: Vec<(String, Option<i64>)>,
    pub intent: IntentRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The key was new; the intent is recorded `processing`.
    New,
    /// The key was used before. `status` 0 in the claim means no answer is stored yet; then
    /// `intent` is the unfinished intent to resolve.
    Existing {
        claim: Claim,
        intent: Option<IntentRecord>,
    },
    /// The counter is used up; nothing was recorded.
    Exhausted(String),
}

/// What step 2 records.
pub struct IssuedInvoice {
    pub invoice: InvoiceRecord,
    pub payment: Option<PaymentRecord>,
    /// The counters this invoice redeemed.
    pub redemptions: Vec<String>,
    /// The answer stored under the idempotency key.
    pub status: u16,
    pub response: String,
    /// The e-invoice is rendered after this commit, then stored by [`Store::store_einvoice`].
    pub einvoice_pending: bool,
    /// The intent's plan as it stays once settled, without what the invoice now holds (the
    /// quote), for a backend whose UPDATE rewrites the whole row: SQLite writes this in place of
    /// the plan with the settlement, a row of about 1 KB instead of a second copy of the
    /// ~5 KB plan. `None`, or a backend that keeps unchanged values where they are (PostgreSQL:
    /// the TOASTed plan is not rewritten), leaves the plan as tx 1 wrote it.
    pub settled_plan: Option<String>,
}

/// Builds the invoice once its number is known (cheap: no rendering; runs inside the
/// transaction, after the series row is locked).
pub type BuildInvoice = Box<dyn FnOnce(i64) -> Result<IssuedInvoice, String> + Send>;

pub enum Settlement {
    /// The gateway took the money (or nothing was payable): take the next number of `series`,
    /// insert the invoice and the payment, store the answer.
    Paid {
        /// Decided when the intent was opened (in its plan).
        invoice_id: String,
        series: String,
        gateway_charge_id: Option<String>,
        build: BuildInvoice,
    },
    /// Declined or refused: release the redemptions, record `status`, and store `answer` under
    /// the key (a decline is replayed), or forget the key when `None` (the client may fix the
    /// request and retry with it).
    Failed {
        status: &'static str,
        release: Vec<String>,
        answer: Option<(u16, String)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Done,
    /// Another request or process settled it first; nothing was written.
    AlreadySettled,
}

pub(super) async fn open_with_tx(mut tx: Box<dyn Tx>, open: OpenIntent) -> StoreResult<Opened> {
    let i = &open.intent;
    match tx
        .claim_key(&i.scope, &i.key, &open.fingerprint, i.created_at)
        .await?
    {
        Claim::New => {}
        claim @ Claim::Existing { .. } => {
            let pending = matches!(claim, Claim::Existing { status: 0, .. });
            let intent = if pending {
                tx.query(
                    INTENT_BY_KEY,
                    vec![i.scope.as_str().into(), i.key.as_str().into()],
                )
                .await?
                .first()
                .map(|r| intent_from_row(r))
            } else {
                None
            };
            let _ = tx.rollback().await;
            return Ok(Opened::Existing { claim, intent });
        }
    }
    for (counter, max) in &open.counters {
        if !tx.redeem(counter, *max).await? {
            let _ = tx.rollback().await;
            return Ok(Opened::Exhausted(counter.clone()));
        }
    }
    tx.exec(INSERT_INTENT, intent_params(i)).await?;
    tx.commit().await?;
    Ok(Opened::New)
}

/// Step 2's statements inside an open transaction: the outcome, and whether to keep the writes
/// (`false`: the caller rolls back; nothing was settled).
async fn settle_in_tx<T: Tx + ?Sized>(
    tx: &mut T,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> StoreResult<(Settled, bool)> {
    match settlement {
        Settlement::Paid {
            invoice_id,
            series,
            gateway_charge_id,
            build,
        } => {
            let moved = tx
                .exec(
                    SETTLE_PAID,
                    vec![
                        intent.id.as_str().into(),
                        invoice_id.as_str().into(),
                        gateway_charge_id.into(),
                        true.into(),
                        now.into(),
                    ],
                )
                .await?;
            if moved == 0 {
                return Ok((Settled::AlreadySettled, false));
            }
            // The number is taken after the intent's own row: the series row stays locked from
            // here to the commit, so the work after it is short (no rendering).
            let number = tx.next_number(&series).await?;
            let issued = build(number).map_err(super::StoreError::new)?;
            tx.insert_invoice(&issued.invoice).await?;
            if let Some(p) = &issued.payment {
                tx.insert_payment(p).await?;
            }
            for counter in &issued.redemptions {
                tx.insert_redemption(&issued.invoice.id, counter).await?;
            }
            if !issued.einvoice_pending {
                tx.exec(EINVOICE_STORED, vec![intent.id.as_str().into(), now.into()])
                    .await?;
            }
            tx.finish_key(&intent.scope, &intent.key, issued.status, &issued.response)
                .await?;
            Ok((Settled::Done, true))
        }
        Settlement::Failed {
            status,
            release,
            answer,
        } => {
            let moved = tx
                .exec(
                    SETTLE_FAILED,
                    vec![intent.id.as_str().into(), status.into(), now.into()],
                )
                .await?;
            if moved == 0 {
                return Ok((Settled::AlreadySettled, false));
            }
            for counter in &release {
                tx.exec(RELEASE_REDEMPTION, vec![counter.as_str().into()])
                    .await?;
            }
            match answer {
                Some((code, body)) => {
                    tx.finish_key(&intent.scope, &intent.key, code, &body)
                        .await?
                }
                None => {
                    tx.exec(
                        FORGET_KEY,
                        vec![intent.scope.as_str().into(), intent.key.as_str().into()],
                    )
                    .await?;
                    tx.exec(RELEASE_INTENT_KEY, vec![intent.id.as_str().into()])
                        .await?;
                }
            }
            Ok((Settled::Done, true))
        }
    }
}

/// One settlement of a [`SettleBatcher`]'s batch, in its own savepoint.
pub struct SavepointSettled {
    pub outcome: StoreResult<Settled>,
    /// Its writes are kept (released into the batch's transaction).
    pub kept: bool,
    /// The batch's transaction broke (a savepoint could not be taken or ended): it rolls back.
    pub broken: Option<StoreError>,
}

/// [`Tx::settle_in_savepoint`] statement by statement: SAVEPOINT, step 2, then RELEASE (kept) or
/// ROLLBACK TO (a failure or "already settled" undoes only its own writes).
pub(super) async fn settle_in_savepoint<T: Tx + ?Sized>(
    tx: &mut T,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> SavepointSettled {
    if let Err(e) = tx.exec("SAVEPOINT settle", vec![]).await {
        return SavepointSettled {
            outcome: Err(e.clone()),
            kept: false,
            broken: Some(e),
        };
    }
    let outcome = settle_in_tx(tx, intent, now, settlement).await;
    let kept = matches!(outcome, Ok((_, true)));
    let end = if kept {
        tx.exec("RELEASE SAVEPOINT settle", vec![]).await
    } else {
        tx.exec("ROLLBACK TO SAVEPOINT settle", vec![]).await
    };
    SavepointSettled {
        outcome: outcome.map(|(s, _)| s),
        kept,
        broken: end.err(),
    }
}

pub(super) async fn settle_with_tx(
    mut tx: Box<dyn Tx>,
    intent: &IntentRecord,
    now: i64,
    settlement: Settlement,
) -> StoreResult<Settled> {
    let (settled, keep) = settle_in_tx(&mut *tx, intent, now, settlement).await?;
    if keep {
        tx.commit().await?;
    } else {
        let _ = tx.rollback().await;
    }
    Ok(settled)
}

/// Opens a transaction (for [`Settler`]).
pub(super) type Begin = Arc<dyn Fn() -> BoxFuture<'static, StoreResult<Box<dyn Tx>>> + Send + Sync>;

pub(super) struct SettleItem {
    intent: IntentRecord,
    now: i64,
    settlement: Settlement,
}

/// How many settlements at most share one transaction.
const MAX_SETTLE_BATCH: usize = 64;

/// Group commit of step 2 where the database does not give it (PostgreSQL): the next invoice
/// number locks the series row until COMMIT, so settlements of one series commit one after
/// the other, each waiting for the previous one's WAL flush. The batcher settles the ones
/// that arrive together in ONE transaction — each in its own SAVEPOINT (a failure or an
/// "already settled" undoes only its own writes), numbers taken in order — and answers them
/// after its COMMIT: one flush and one hold of the series lock for the batch, numbers still
/// gapless in commit order. The queue is [`Batcher`]'s.
pub(super) type SettleBatcher = Batcher<Settler>;

/// What a batch of settlements does (see [`SettleBatcher`]).
pub(super) struct Settler {
    begin: Begin,
}

impl SettleBatcher {
    pub(super) fn settling(begin: Begin) -> Arc<SettleBatcher> {
        Batcher::new(Settler { begin }, MAX_SETTLE_BATCH)
    }

    pub(super) async fn settle(
        self: &Arc<Self>,
        intent: &IntentRecord,
        now: i64,
        settlement: Settlement,
    ) -> StoreResult<Settled> {
        self.submit(SettleItem {
            intent: intent.clone(),
            now,
            settlement,
        })
        .await
    }
}

impl RunBatch for Settler {
    type Item = SettleItem;
    type Output = Settled;

    fn run(&self, batch: Vec<Pending<SettleItem, Settled>>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut tx = match (self.begin)().await {
                Ok(tx) => tx,
                Err(e) => {
                    for p in batch {
                        p.answer(Err(e.clone()));
                    }
                    return;
                }
            };
            // (where the answer goes, outcome, kept)
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut broken: Option<StoreError> = None;
            for Pending { item, reply } in batch {
                if let Some(e) = &broken {
                    outcomes.push((reply, Err(e.clone()), false));
                    continue;
                }
                let s = tx
                    .settle_in_savepoint(&item.intent, item.now, item.settlement)
                    .await;
                if let Some(e) = s.broken {
                    broken = Some(e);
                }
                outcomes.push((reply, s.outcome, s.kept));
            }
            let committed = match broken {
                Some(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
                None => tx.commit().await,
            };
            for (reply, outcome, kept) in outcomes {
                let answer = match (outcome, kept, &committed) {
                    // Kept: answered only once the batch's COMMIT is durable.
                    (Ok(settled), true, Ok(())) => Ok(settled),
                    (Ok(_), true, Err(e)) => Err(e.clone()),
                    (other, _, _) => other,
                };
                let _ = reply.send(answer);
            }
        })
    }
}

pub(super) async fn store_einvoice_with_tx(
    mut tx: Box<dyn Tx>,
    intent_id: &str,
    invoice_id: &str,
    document: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    let moved = tx
        .exec(EINVOICE_STORED, vec![intent_id.into(), now.into()])
        .await?;
    if moved == 0 {
        let _ = tx.rollback().await;
        return Ok(false);
    }
    if let Some(document) = document {
        tx.exec(STORE_DOCUMENT, vec![invoice_id.into(), document.into()])
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}
