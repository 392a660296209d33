//! Property tests of the revenue metrics (`billcalc::metrics`) on random subscription histories:
//! the MRR bridge closes exactly, gross revenue retention never passes 100 %, and a churned
//! customer is counted once per paying spell.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::type_complexity, clippy::needless_range_loop)]

use billcalc::from_value;
use billcalc::metrics::{customer_mrr, revenue_metrics, MetricsInput};
use proptest::prelude::*;
use serde_json::{json, Value};

const DAY: i64 = 86_400;
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;

fn phase() -> impl Strategy<Value = (i64, usize, i64, usize, i64, usize, Option<u8>)> {
    (
        0i64..700,     // day offset
        0usize..5,     // status
        1i64..500_000, // unit amount
        0usize..4,     // interval
        0i64..12,      // quantity
        0usize..3,     // currency
        prop::option::of(1u8..=100),
    )
}

fn history() -> impl Strategy<
    Value = Vec<(
        usize,
        Vec<(i64, usize, i64, usize, i64, usize, Option<u8>)>,
        Option<i64>,
    )>,
> {
    prop::collection::vec(
        (
            0usize..25,
            prop::collection::vec(phase(), 1..5),
            prop::option::of(0i64..760),
        ),
        1..40,
    )
}

fn input(
    subs: &[(
        usize,
        Vec<(i64, usize, i64, usize, i64, usize, Option<u8>)>,
        Option<i64>,
    )],
    rounding: &str,
) -> MetricsInput {
    const STATUS: [&str; 5] = ["active", "trialing", "past_due", "paused", "canceled"];
    const INTERVAL: [&str; 4] = ["month", "year", "week", "day"];
    const CURRENCY: [&str; 3] = ["eur", "usd", "jpy"];
    let subscriptions: Vec<Value> = subs
        .iter()
        .enumerate()
        .map(|(i, (customer, phases, ended))| {
            let mut phases = phases.clone();
            phases.sort_by_key(|p| p.0);
            phases.dedup_by_key(|p| p.0);
            let currency = CURRENCY[phases[0].5];
            let phases: Vec<Value> = phases
                .iter()
                .map(|(day, status, amount, interval, quantity, _, percent)| {
                    let mut p = json!({
                        "start": T0 + day * DAY,
                        "status": STATUS[*status],
                        "items": [{"price": {"currency": currency, "unit_amount": amount,
                            "recurring": {"interval": INTERVAL[*interval]}}, "quantity": quantity}],
                    });
                    if let Some(percent) = percent {
                        p["discounts"] = json!([{"percent_off": percent, "duration": "repeating",
                            "end": T0 + (day + 90) * DAY}]);
                        if percent % 3 == 0 {
                            // And an amount off each period, which may exceed the price (MRR ≥ 0).
                            p["discounts"].as_array_mut().unwrap().push(
                                json!({"amount_off": u64::from(*percent) * 997, "duration": "forever"}),
                            );
                        }
                    }
                    if day % 2 == 0 {
                        // A metered item, billed by the usage lines of the invoices below.
                        p["items"].as_array_mut().unwrap().push(json!({"id": format!("si_m{i}"),
                            "price": {"currency": currency, "unit_amount": 7,
                                "recurring": {"interval": "month", "usage_type": "metered"}}}));
                    }
                    p
                })
                .collect();
            let mut s = json!({"id": format!("sub_{i}"), "customer": format!("cus_{customer}"),
                "currency": currency, "phases": phases});
            if let Some(end) = ended {
                s["ended_at"] = json!(T0 + end * DAY);
            }
            s
        })
        .collect();
    let invoices: Vec<Value> = subs
        .iter()
        .enumerate()
        .flat_map(|(i, (customer, phases, _))| {
            let currency = CURRENCY[phases.iter().min_by_key(|p| p.0).unwrap().5];
            phases.iter().enumerate().map(move |(n, (day, _, amount, _, _, _, _))| {
                json!({"id": format!("in_{i}_{n}"), "customer": format!("cus_{customer}"),
                    "subscription": format!("sub_{i}"), "currency": currency,
                    "amount_due": amount % 10_000,
                    "usage_lines": [{"subscription_item": format!("si_m{i}"), "amount": amount % 9_973,
                        "period_end": T0 + (day + 17) * DAY}],
                    "payment_attempts": if amount % 4 == 0 {
                        json!([{"at": T0 + day * DAY, "outcome": "failed"},
                               {"at": T0 + (day + 3) * DAY, "outcome": if amount % 8 == 0 { "succeeded" } else { "failed" }}])
                    } else { json!([]) }})
            })
        })
        .collect();
    from_value(&json!({
        "invoices": invoices,
        "currency": "eur",
        "exchange_rates": {"usd": "0.9173", "jpy": "0.00613"},
        "start": "2024-01-01", "end": "2026-01-01",
        "rounding": {"mode": rounding},
        "subscriptions": subscriptions,
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bridge_closes_retention_bounded_churn_counted_once(
        subs in history(),
        rounding in prop_oneof![Just("half_up"), Just("half_even"), Just("floor")],
    ) {
        let input = input(&subs, rounding);
        let report = revenue_metrics(&input).unwrap();
        let matrix = customer_mrr(&input).unwrap();
        prop_assert_eq!(report.periods.len(), 24);
        let mut churn_events = vec![0i64; matrix.customers.len()];
        let mut paying_spells = vec![0i64; matrix.customers.len()];
        for (c, row) in matrix.mrr.iter().enumerate() {
            paying_spells[c] += i64::from(row[0] > 0);
        }
        for (k, p) in report.periods.iter().enumerate() {
            let m = &p.movements;
            // The bridge, exactly, in minor units.
            prop_assert_eq!(m.new + m.expansion + m.reactivation + m.contraction + m.churn, m.net);
            prop_assert_eq!(p.mrr_start + m.net, p.mrr_end);
            if k > 0 {
                prop_assert_eq!(report.periods[k - 1].mrr_end, p.mrr_start);
            }
            // The totals are the customers' own rounded amounts.
            prop_assert_eq!(matrix.mrr.iter().map(|r| r[k]).sum::<i64>(), p.mrr_start);
            prop_assert_eq!(matrix.mrr.iter().map(|r| r[k + 1]).sum::<i64>(), p.mrr_end);
            prop_assert!(m.new >= 0 && m.expansion >= 0 && m.reactivation >= 0);
            prop_assert!(m.contraction <= 0 && m.churn <= 0);
            prop_assert_eq!(p.arr, 12 * p.mrr_end);
            // Gross retention within 0..=100 %, net retention ≥ gross.
            let g = &p.gross_revenue_retention;
            prop_assert!(g.numerator >= 0 && g.numerator <= g.denominator);
            prop_assert!(p.net_revenue_retention.numerator >= g.numerator);
            if let Some(v) = &g.value {
                let v: rust_decimal::Decimal = v.parse().unwrap();
                prop_assert!(v <= rust_decimal::Decimal::ONE);
            }
            // Churn: only customers paying at the start, each once, and the rate ≤ 1.
            let churned: Vec<usize> = (0..matrix.customers.len())
                .filter(|&c| matrix.mrr[c][k] > 0 && matrix.mrr[c][k + 1] == 0)
                .collect();
            prop_assert_eq!(churned.len() as i64, p.movement_customers.churn);
            prop_assert!(p.customer_churn_rate.numerator <= p.customer_churn_rate.denominator);
            let r = &p.payment_recovery;
            prop_assert!(r.recovered <= r.failed && r.recovered_amount <= r.failed_amount);
            prop_assert!(p.trials.converted <= p.trials.ended);
            for c in churned {
                churn_events[c] += 1;
            }
            let mut new_first_paid_here = 0;
            for c in 0..matrix.customers.len() {
                if matrix.mrr[c][k] == 0 && matrix.mrr[c][k + 1] > 0 {
                    paying_spells[c] += 1;
                    // New in this interval ⇔ first paid in it: the "new" movement and the
                    // cohort name the same interval, also for a start at exactly 00:00 on the
                    // 1st (phases here start at midnight, often on a boundary).
                    let (bk, bk1) = (matrix.boundaries[k], matrix.boundaries[k + 1]);
                    let first = matrix.first_paid[c].expect("paying, so it first paid");
                    prop_assert!(first < bk1, "paying at the end of interval {} but first paid after it", k);
                    if first >= bk {
                        new_first_paid_here += 1;
                    }
                }
            }
            prop_assert_eq!(new_first_paid_here, p.movement_customers.new);
            let cohort_size = report
                .cohorts
                .iter()
                .find(|h| h.cohort == p.start)
                .map_or(0, |h| h.customers);
            prop_assert!(p.movement_customers.new <= cohort_size, "new in {} but not in its cohort", p.start);
            prop_assert_eq!(
                p.movement_customers.new + p.movement_customers.reactivation,
                (0..matrix.customers.len())
                    .filter(|&c| matrix.mrr[c][k] == 0 && matrix.mrr[c][k + 1] > 0)
                    .count() as i64
            );
        }
        for c in 0..matrix.customers.len() {
            // A customer churns at most once per time they became paying.
            prop_assert!(churn_events[c] <= paying_spells[c]);
        }
        // A customer is new at most once over the whole history.
        let new_total: i64 = report.periods.iter().map(|p| p.movement_customers.new).sum();
        prop_assert!(new_total <= matrix.customers.len() as i64);
        // Every customer whose first paying instant is in the range is in exactly one cohort
        // (one who paid and stopped within an interval is in a cohort but never "new" at an
        // interval's end).
        let (b0, b1) = (matrix.boundaries[0], *matrix.boundaries.last().unwrap());
        let first_in_range = matrix
            .first_paid
            .iter()
            .filter(|f| f.is_some_and(|f| (b0..b1).contains(&f)))
            .count() as i64;
        let members: i64 = report.cohorts.iter().map(|c| c.customers).sum();
        prop_assert_eq!(members, first_in_range);
        prop_assert!(new_total <= members);
    }
}
