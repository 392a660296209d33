//! PostgreSQL only (SQLite runs one write transaction at a time: nothing to deadlock): the lock
//! waits between the charges' grouped steps of two server instances on one database, forced
//! into the schedules that deadlock when locks are not taken in one order (issue 13 §10,
//! session 6's suspicion):
//!
//! 1. two instances' step-1 batches, each holding a promotion code's counter row, while one
//!    idempotency key is sent to both (a client retrying on another instance);
//! 2. a step-1 batch holding the counter while a settle batch on the other instance finishes
//!    one key (the key's row locked) and then releases a declined charge's redemption of that
//!    counter, and the step-1 batch meets that key again (a replay).
//!
//! Two `PgStore`s on one database are two instances: each has its own pool and its own batches.
//! A third connection (the "gate") holds an uncommitted row that one batch's statement waits
//! on, so that the other batch can be started at the exact point where it must wait too; the
//! gate then lets go. Whatever happens, every opening and settlement must answer without an
//! error (a deadlock would fail one of them after `deadlock_timeout`), each key makes one
//! intent, and the counter counts exactly the redemptions kept.

mod common;

use billcalc_server::store::{
    self, IntentRecord, InvoiceRecord, IssuedInvoice, OpenIntent, Opened, PaymentRecord, Settled,
    Settlement, Store,
};
use common::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COUNTER: &str = "promo:promo_cinq";
const SCOPE: &str = "sk:charges";

fn intent(id: &str, key: &str) -> IntentRecord {
    IntentRecord {
        id: id.into(),
        scope: SCOPE.into(),
        key: key.into(),
        status: "processing".into(),
        amount: 1000,
        currency: "eur".into(),
        payment_method: "pm_card_visa".into(),
        plan: "{}".into(),
        invoice_id: None,
        gateway_charge_id: None,
        einvoice_pending: false,
        created_at: common::NOW,
        updated_at: common::NOW,
    }
}

fn opening(id: &str, key: &str) -> OpenIntent {
    OpenIntent {
        fingerprint: format!("fp-{key}"),
        counters: vec![(COUNTER.to_string(), Some(100))],
        intent: intent(id, key),
    }
}

async fn gate(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect the gate");
    tokio::spawn(connection);
    client
}

/// Holds `(SCOPE, key)` of `payment_intents` in an open transaction: an insert of an intent
/// for that key waits until the gate ends.
async fn hold_intent_key(gate: &tokio_postgres::Client, key: &str) {
    gate.batch_execute(&format!(
        "BEGIN; INSERT INTO payment_intents (id, scope, key, status, amount, currency, payment_method, plan, einvoice_pending, created_at, updated_at) VALUES ('pi_gate', '{SCOPE}', '{key}', 'processing', 1, 'eur', 'pm', '{{}}', 0, 1, 1)"
    ))
    .await
    .expect("the gate holds the key");
}

/// Waits until `n` backends of this database wait on a lock (at most 20 s).
async fn until_waiting(gate: &tokio_postgres::Client, n: i64) {
    let start = Instant::now();
    loop {
        let waiting: i64 = gate
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{waiting} backends waiting on a lock, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn times_redeemed(s: &Arc<dyn Store>) -> i64 {
    s.times_redeemed(COUNTER).await.unwrap()
}

async fn intents_for(gate: &tokio_postgres::Client, key: &str) -> i64 {
    gate.query_one(
        "SELECT count(*) FROM payment_intents WHERE scope = $1 AND key = $2",
        &[&SCOPE, &key],
    )
    .await
    .unwrap()
    .get(0)
}

fn paid(id: &str, key: &str) -> Settlement {
    let (invoice_id, key) = (format!("in_{id}"), key.to_string());
    Settlement::Paid {
        invoice_id: invoice_id.clone(),
        series: "F2026".into(),
        gateway_charge_id: Some(format!("ch_{id}")),
        build: Box::new(move |number| {
            Ok(IssuedInvoice {
                invoice: InvoiceRecord {
                    id: invoice_id.clone(),
                    series: "F2026".into(),
                    number,
                    number_display: format!("F2026-{number:06}"),
                    created_at: common::NOW,
                    currency: "eur".into(),
                    total: 1000,
                    customer_id: None,
                    idempotency_key: key,
                    document: "{}".into(),
                    subscription_id: None,
                },
                payment: Some(PaymentRecord {
                    id: format!("py_{invoice_id}"),
                    invoice_id,
                    amount: 1000,
                    currency: "eur".into(),
                    status: "succeeded".into(),
                    gateway: "test".into(),
                    card_brand: None,
                    card_last4: None,
                    created_at: common::NOW,
                }),
                redemptions: vec![COUNTER.to_string()],
                status: 200,
                response: "{\"paid\":true}".into(),
                einvoice_pending: false,
                settled_plan: None,
            })
        }),
    }
}

/// Schedule 1: instance X's batch opens `ka` (redeeming the counter) then `kb`; instance Y opens
/// `kb` too, after X holds the counter and before X reaches `kb`.
#[tokio::test]
async fn one_key_on_two_instances_while_both_batches_redeem_one_code() {
    let Some(url) = common::fresh_database(Backend::Postgres, "lock_key_counter").await else {
        return;
    };
    let x = store::open(&url).await.unwrap();
    let y = store::open(&url).await.unwrap();
    let gate = gate(&url).await;
    hold_intent_key(&gate, "ka").await;
    let start = Instant::now();
    // Submitted in the same poll: one batch of X (the current-thread runtime runs the batch's
    // task only when this task waits).
    let x_batch = {
        let x = x.clone();
        tokio::spawn(async move {
            tokio::join!(
                x.open_intent(opening("pi_a1", "ka")),
                x.open_intent(opening("pi_a2", "kb"))
            )
        })
    };
    until_waiting(&gate, 1).await; // X on the gate
    let y_open = {
        let y = y.clone();
        tokio::spawn(async move { y.open_intent(opening("pi_b1", "kb")).await })
    };
    until_waiting(&gate, 2).await; // Y on X
    gate.batch_execute("ROLLBACK").await.unwrap();
    let (a1, a2) = x_batch.await.unwrap();
    let b1 = y_open.await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(a1, Ok(Opened::New), "ka on X");
    let (a2, b1) = (
        a2.expect("kb on X: no error (a deadlock would fail one)"),
        b1.expect("kb on Y: no error (a deadlock would fail one)"),
    );
    // One of the two made the intent; the other found the key (a replay of an unfinished
    // intent: the caller resolves it).
    let news = [&a2, &b1]
        .iter()
        .filter(|o| matches!(o, Opened::New))
        .count();
    assert_eq!(news, 1, "kb opened once: X {a2:?}, Y {b1:?}");
    for o in [&a2, &b1] {
        if let Opened::Existing { claim, intent } = o {
            assert!(
                matches!(claim, store::Claim::Existing { status: 0, .. }),
                "{claim:?}"
            );
            let intent = intent.as_ref().expect("the unfinished intent is returned");
            assert_eq!(intent.key, "kb");
        }
    }
    assert_eq!(intents_for(&gate, "ka").await, 1);
    assert_eq!(intents_for(&gate, "kb").await, 1);
    assert_eq!(times_redeemed(&x).await, 2, "ka and kb redeemed once each");
    // A deadlock is detected after deadlock_timeout (1 s) and fails one side: the errors above.
    eprintln!("schedule 1 done in {elapsed:?}");
}

/// Schedule 2: X's batch opens `ka` (redeeming the counter) then replays `k1`; Y's settle batch
/// records `k1`'s payment (its key's row) then `k2`'s decline, releasing `k2`'s redemption of
/// the counter X holds.
#[tokio::test]
async fn a_replay_in_a_step_one_batch_while_a_settle_batch_releases_a_decline() {
    let Some(url) = common::fresh_database(Backend::Postgres, "lock_settle_release").await else {
        return;
    };
    let x = store::open(&url).await.unwrap();
    let y = store::open(&url).await.unwrap();
    let i1 = intent("pi_1", "k1");
    let i2 = intent("pi_2", "k2");
    assert_eq!(y.open_intent(opening("pi_1", "k1")).await, Ok(Opened::New));
    assert_eq!(y.open_intent(opening("pi_2", "k2")).await, Ok(Opened::New));
    assert_eq!(times_redeemed(&y).await, 2);
    let gate = gate(&url).await;
    hold_intent_key(&gate, "ka").await;
    let start = Instant::now();
    let x_batch = {
        let x = x.clone();
        tokio::spawn(async move {
            tokio::join!(
                x.open_intent(opening("pi_a1", "ka")),
                x.open_intent(opening("pi_replay", "k1"))
            )
        })
    };
    until_waiting(&gate, 1).await; // X on the gate
    let y_settle = {
        let y = y.clone();
        let (i1, i2) = (i1.clone(), i2.clone());
        tokio::spawn(async move {
            tokio::join!(
                y.settle_intent(&i1, common::NOW, paid("1", "k1")),
                y.settle_intent(
                    &i2,
                    common::NOW,
                    Settlement::Failed {
                        status: "requires_payment_method",
                        release: vec![COUNTER.to_string()],
                        answer: Some((402, "{\"declined\":true}".into())),
                    }
                )
            )
        })
    };
    until_waiting(&gate, 2).await; // Y's settle batch on X
    gate.batch_execute("ROLLBACK").await.unwrap();
    let (a1, replay) = x_batch.await.unwrap();
    let (s1, s2) = y_settle.await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(a1, Ok(Opened::New), "ka on X");
    assert_eq!(s1, Ok(Settled::Done), "k1 paid on Y");
    assert_eq!(s2, Ok(Settled::Done), "k2 declined on Y");
    match replay.expect("the replay of k1: no error (a deadlock would fail it)") {
        Opened::Existing { claim, .. } => match claim {
            store::Claim::Existing {
                fingerprint,
                status,
                ..
            } => {
                assert_eq!(fingerprint, "fp-k1");
                // Before or after Y's commit: unfinished, or the stored answer.
                assert!(status == 0 || status == 200, "{status}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("k1 is not new: {other:?}"),
    }
    assert_eq!(intents_for(&gate, "k1").await, 1);
    // k1 and ka keep their redemption; k2's decline gave its back.
    assert_eq!(times_redeemed(&x).await, 2);
    assert_eq!(y.invoice_numbers("F2026").await.unwrap(), vec![1]);
    eprintln!("schedule 2 done in {elapsed:?}");
}
