//! A deterministic demo history of a small SaaS, made through the server's own API: a few
//! hundred customers over 12–24 months subscribe (some after a 14-day trial), add and remove
//! seats, move between the Essentiel and Pro plans (monthly or yearly), change cards (some
//! declining), cancel at the period's end, and some come back. Each day of the simulation the
//! server's clock is set, `POST /v1/renewals` runs and then the dunning retries and reminders
//! the binary's loop would run, so every invoice, proration, decline, retry and cancellation is
//! the server's real work, stored in its database like any other.
//!
//! Deterministic: the same seed, customer count and months give the same history, placed so
//! that it ends on the day it is generated (the months before the current one).
//! `billcalc-demo-data` (src/bin) runs it; `scripts/demo.sh` calls that once per database.

use crate::app;
use crate::clock::{Clock, ManualClock};
use crate::state::AppState;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DAY: i64 = 86_400;

/// splitmix64: small, deterministic, good enough for a simulation.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// true with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub customers: usize,
    pub months: u32,
    pub seed: u64,
    /// The simulation's last instant (its first is `months` calendar months earlier, on the
    /// first of a month).
    pub until: i64,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub customers: usize,
    pub subscriptions: usize,
    pub trials: usize,
    pub changes: usize,
    pub cancellations: usize,
    pub reactivations: usize,
    pub declined_cards: usize,
    pub renewals: usize,
    pub retries: usize,
    pub requests: usize,
}

#[derive(Debug, Clone)]
enum Action {
    Subscribe {
        trial: bool,
        plan: usize,
        seats: i64,
    },
    Seats(i64),
    Plan(usize),
    Card(&'static str),
    CancelAtPeriodEnd,
    CancelNow,
}

/// (price id, seats range) of the plans.
const PLANS: [(&str, i64); 3] = [
    ("price_essentiel_monthly", 3),
    ("price_pro_monthly", 12),
    ("price_pro_yearly", 12),
];

struct Client {
    addr: SocketAddr,
    key: String,
    requests: usize,
}

impl Client {
    async fn post(&mut self, path: &str, body: &Value, idempotency: Option<&str>) -> (u16, Value) {
        self.requests += 1;
        let body = body.to_string();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            self.addr,
            self.key,
            body.len()
        );
        if let Some(k) = idempotency {
            head.push_str(&format!("idempotency-key: {k}\r\n"));
        }
        head.push_str("\r\n");
        let result = tokio::time::timeout(Duration::from_secs(60), async {
            let mut stream = TcpStream::connect(self.addr).await?;
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await?;
            Ok::<_, std::io::Error>(raw)
        })
        .await;
        let Ok(Ok(raw)) = result else {
            return (0, Value::Null);
        };
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

/// The first instant of the month `months` before the month of `t`.
fn months_before(t: i64, months: u32) -> i64 {
    use chrono::{DateTime, Datelike, Months, NaiveDate};
    let d = DateTime::from_timestamp(t, 0).map_or(NaiveDate::MIN, |d| d.date_naive());
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    first
        .checked_sub_months(Months::new(months))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(t, |d| d.and_utc().timestamp())
}

/// Runs the simulation against `state` (whose clock must be `clock`). The state's store gets
/// the history.
pub async fn generate(
    state: AppState,
    clock: Arc<ManualClock>,
    secret_key: &str,
    options: &Options,
) -> Result<Summary, String> {
    let start = months_before(options.until, options.months);
    let days = (options.until - start) / DAY;
    let mut rng = Rng::new(options.seed);
    // Schedule: (day, customer, action), sorted by day.
    let mut schedule: Vec<(i64, usize, Action)> = Vec::new();
    let mut summary = Summary {
        customers: options.customers,
        ..Summary::default()
    };
    for c in 0..options.customers {
        // Arrivals grow over time: day = days × sqrt(u), u uniform.
        let u = rng.below(1_000_000) as f64 / 1_000_000.0;
        let mut day = ((days as f64) * u.sqrt()) as i64;
        let mut plan = match rng.below(100) {
            0..=49 => 0,
            50..=84 => 1,
            _ => 2,
        };
        let mut seats = 1 + rng.below(PLANS[plan].1 as u64) as i64;
        let trial = rng.chance(40);
        schedule.push((day, c, Action::Subscribe { trial, plan, seats }));
        if trial && rng.chance(30) {
            schedule.push((day + 1 + rng.below(12) as i64, c, Action::CancelNow));
            continue;
        }
        // A life of monthly events until the customer cancels or the simulation ends.
        let mut spells = 0;
        loop {
            day += 20 + rng.below(25) as i64;
            if day >= days {
                break;
            }
            match rng.below(100) {
                0..=11 => {
                    seats = (seats + 1 + rng.below(3) as i64).min(40);
                    schedule.push((day, c, Action::Seats(seats)));
                }
                12..=17 if seats > 1 => {
                    seats -= 1;
                    schedule.push((day, c, Action::Seats(seats)));
                }
                18..=21 if plan == 0 => {
                    plan = 1;
                    schedule.push((day, c, Action::Plan(plan)));
                }
                22..=23 if plan == 1 => {
                    plan = 0;
                    seats = seats.min(3);
                    schedule.push((day, c, Action::Plan(plan)));
                }
                24..=26 => {
                    schedule.push((day, c, Action::Card("pm_card_chargeDeclined")));
                    let fix = day + 10 + rng.below(40) as i64;
                    schedule.push((fix, c, Action::Card("pm_card_visa")));
                    day = fix;
                }
                27..=30 => {
                    schedule.push((day, c, Action::CancelAtPeriodEnd));
                    spells += 1;
                    if spells < 2 && rng.chance(25) {
                        // Comes back a few months later.
                        day += 60 + rng.below(120) as i64;
                        if day < days {
                            plan = rng.below(2) as usize;
                            seats = 1 + rng.below(PLANS[plan].1 as u64) as i64;
                            schedule.push((
                                day,
                                c,
                                Action::Subscribe {
                                    trial: false,
                                    plan,
                                    seats,
                                },
                            ));
                            continue;
                        }
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    schedule.sort_by_key(|(day, c, _)| (*day, *c));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = Arc::new(state);
    let server = tokio::spawn(app::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let mut client = Client {
        addr,
        key: secret_key.to_string(),
        requests: 0,
    };
    // Per customer: (subscription id, item id) while subscribed.
    let mut subs: Vec<Option<(String, String)>> = vec![None; options.customers];
    let mut subscribed_before = vec![false; options.customers];
    let mut next = 0;
    for day in 0..=days {
        let morning = start + day * DAY + 9 * 3600;
        clock.set(morning.min(options.until));
        // Renewals due by now first (the loop in the binary would have issued them).
        let (status, report) = client.post("/v1/renewals", &json!({}), None).await;
        if status == 200 {
            summary.renewals += report["issued"].as_array().map_or(0, Vec::len);
        }
        // Dunning retries and reminders, as the binary's loop runs them.
        let tick = crate::automation::tick(&state, clock.now()).await;
        summary.retries += tick
            .pointer("/dunning/attempts")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        while next < schedule.len() && schedule[next].0 == day {
            let (_, c, action) = schedule[next].clone();
            next += 1;
            clock.advance(60);
            let key = format!("demo-{}-{c}-{next}", options.seed);
            match action {
                Action::Subscribe { trial, plan, seats } => {
                    let mut body = json!({
                        "customer": {"id": format!("cus_saas_{c:04}"), "name": format!("Client {c:04}"),
                            "email": format!("client{c:04}@example.com"), "address": {"country": "FR"}},
                        "items": [{"price": PLANS[plan].0, "quantity": seats}],
                        "payment_method": "pm_card_visa",
                    });
                    if trial {
                        body["trial_period_days"] = json!(14);
                        summary.trials += 1;
                    }
                    let (status, sub) = client.post("/v1/subscriptions", &body, Some(&key)).await;
                    if status == 200 {
                        let id = sub["id"].as_str().unwrap_or_default().to_string();
                        let item = sub
                            .pointer("/items/0/id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        subs[c] = Some((id, item));
                        summary.subscriptions += 1;
                        if subscribed_before[c] {
                            summary.reactivations += 1;
                        }
                        subscribed_before[c] = true;
                    } else {
                        return Err(format!("subscription of customer {c}: {status} {sub}"));
                    }
                }
                Action::Seats(_) | Action::Plan(_) => {
                    let Some((id, item)) = subs[c].clone() else {
                        continue;
                    };
                    let change = match action {
                        Action::Seats(q) => json!({"id": item, "quantity": q}),
                        Action::Plan(p) => json!({"id": item, "price": PLANS[p].0}),
                        _ => unreachable!(),
                    };
                    let body = json!({"items": [change], "proration_behavior": "always_invoice"});
                    let (status, preview) = client
                        .post(&format!("/v1/subscriptions/{id}/preview"), &body, None)
                        .await;
                    if status != 200 {
                        continue; // canceled, renewal pending, …: the customer changes their mind
                    }
                    let mut commit = body.clone();
                    commit["proration_date"] = preview["proration_date"].clone();
                    commit["preview"] = preview["id"].clone();
                    let (status, _) = client
                        .post(&format!("/v1/subscriptions/{id}"), &commit, Some(&key))
                        .await;
                    if status == 200 {
                        summary.changes += 1;
                    }
                }
                Action::Card(pm) => {
                    let Some((id, _)) = subs[c].clone() else {
                        continue;
                    };
                    let (status, _) = client
                        .post(
                            &format!("/v1/subscriptions/{id}"),
                            &json!({"payment_method": pm}),
                            Some(&key),
                        )
                        .await;
                    if status == 200 && pm != "pm_card_visa" {
                        summary.declined_cards += 1;
                    }
                }
                Action::CancelAtPeriodEnd | Action::CancelNow => {
                    let Some((id, _)) = subs[c].take() else {
                        continue;
                    };
                    let body = if matches!(action, Action::CancelNow) {
                        json!({"prorate": false})
                    } else {
                        json!({"at_period_end": true})
                    };
                    let (status, _) = client
                        .post(&format!("/v1/subscriptions/{id}/cancel"), &body, Some(&key))
                        .await;
                    if status == 200 {
                        summary.cancellations += 1;
                    }
                }
            }
        }
    }
    clock.set(options.until);
    let _ = client.post("/v1/renewals", &json!({}), None).await;
    summary.requests = client.requests;
    let _ = stop.send(());
    let _ = server.await;
    Ok(summary)
}
