//! Money invariants under arbitrary rounding policies (issue 11): every mode, with and without a
//! cash increment, tax-inclusive and exclusive rates (one or two per line, line or invoice tax
//! rounding), item and order discounts, and credits (negative invoice items). Checked on the
//! JSON a caller receives:
//! - no negative net amount and no negative tax except on a credit line;
//! - a line's tax never exceeds its rate × its tax base rounded up by one minor unit (two at
//!   the `invoice` stage, where each rate's total is rounded once and spread back over lines);
//! - amount payable = total + rounding_amount, a multiple of the increment (invoices: the amount
//!   due after the balance);
//! - each discount's line parts sum to its total; line taxes sum to each rate's total;
//! - total = total_excluding_tax + Σ taxes = Σ line nets + Σ line taxes.
#![cfg(not(target_arch = "wasm32"))]

use billcalc::{compute_quote, from_value, preview_invoice, PreviewInvoiceInput, QuoteInput};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const MODES: [&str; 6] = ["half_up", "half_even", "up", "down", "ceiling", "floor"];

fn policy() -> impl Strategy<Value = Value> {
    (
        0usize..6,
        prop_oneof![
            Just(None),
            Just(Some(1i64)),
            Just(Some(2)),
            Just(Some(5)),
            Just(Some(10)),
            Just(Some(100)),
            (1i64..1000).prop_map(Some)
        ],
    )
        .prop_map(|(m, increment)| {
            let mut p = json!({ "mode": MODES[m] });
            if let Some(i) = increment {
                p["increment"] = json!(i);
            }
            p
        })
}

/// A percentage with up to 4 decimals, 0–40 %.
fn percentage() -> impl Strategy<Value = String> {
    (0u32..400_000).prop_map(|p| Decimal::new(i64::from(p), 4).normalize().to_string())
}

fn rates() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        (percentage(), any::<bool>(), 0usize..3),
        0..3,
    )
    .prop_map(|rates| {
        // All inclusive or all exclusive per line (a price is one or the other).
        let inclusive = rates.first().is_some_and(|r| r.1);
        rates
            .into_iter()
            .map(|(p, _, name)| json!({ "percentage": p, "inclusive": inclusive, "display_name": format!("T{name}") }))
            .collect()
    })
}

fn coupon() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1u32..10_000).prop_map(
            |p| json!({ "percent_off": Decimal::new(i64::from(p), 2).normalize().to_string() })
        ),
        (1i64..20_000).prop_map(|a| json!({ "amount_off": a, "currency": "eur" })),
    ]
}

/// A cart's tax rates: two exclusive and two inclusive, shared by its lines (so rates are
/// summed over lines into `total_taxes`).
fn rate_pool() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(percentage(), 4).prop_map(|percentages| {
        percentages
            .into_iter()
            .enumerate()
            .map(|(i, p)| json!({ "percentage": p, "inclusive": i >= 2, "display_name": format!("T{i}") }))
            .collect()
    })
}

/// A line without its rates, and which of the cart's rates it takes: none, exclusive ones or
/// inclusive ones (a price is one or the other), as a two-bit mask.
fn line() -> impl Strategy<Value = (Value, u8, u8)> {
    (
        0i64..50_000,
        0i64..6,
        (0u8..3, 1u8..4),
        prop::option::of(coupon()),
        "[0-9]{0,3}",
    )
        .prop_map(|(unit, quantity, (kind, mask), item_coupon, decimal)| {
            let mut price = json!({ "currency": "eur", "unit_amount": unit });
            if !decimal.is_empty() {
                price = json!({ "currency": "eur", "unit_amount_decimal": format!("{unit}.{decimal}") });
            }
            let mut l = json!({ "price": price, "quantity": quantity });
            if let Some(c) = item_coupon {
                l["discounts"] = json!([{ "coupon": c }]);
            }
            (l, kind, mask)
        })
}

fn cart() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(line(), 1..8),
        rate_pool(),
        prop::collection::vec(coupon(), 0..3),
        policy(),
        any::<bool>(),
    )
        .prop_map(|(lines, pool, coupons, rounding, invoice_stage)| {
            let lines: Vec<Value> = lines
                .into_iter()
                .map(|(mut l, kind, mask)| {
                    let first = if kind == 1 { 0 } else { 2 };
                    let rates: Vec<&Value> = (0..2)
                        .filter(|b| kind > 0 && mask & (1 << b) != 0)
                        .map(|b| &pool[first + b])
                        .collect();
                    if !rates.is_empty() {
                        l["tax_rates"] = json!(rates);
                    }
                    l
                })
                .collect();
            let discounts: Vec<Value> = coupons
                .into_iter()
                .map(|c| json!({ "coupon": c }))
                .collect();
            json!({
                "currency": "eur", "lines": lines, "discounts": discounts, "rounding": rounding,
                "tax": { "rounding_stage": if invoice_stage { "invoice" } else { "line" } },
            })
        })
}

#[path = "support/invariants.rs"]
mod invariants;

fn check(out: &Value, rounding: &Value) -> Result<(), TestCaseError> {
    invariants::check_quote(out, rounding["increment"].as_i64()).map_err(TestCaseError::fail)
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn quotes_keep_the_money_invariants_under_any_policy(cart in cart()) {
        let input: QuoteInput = from_value(&cart).unwrap();
        let out = serde_json::to_value(compute_quote(&input).unwrap()).unwrap();
        check(&out, &cart["rounding"])?;
    }

    /// Invoices: credits (negative invoice items), a balance, cash rounding on the amount due.
    #[test]
    fn invoices_keep_the_money_invariants_under_any_policy(
        unit in 0i64..100_000,
        quantity in 1i64..5,
        credits in prop::collection::vec(-50_000i64..0, 0..3),
        charges in prop::collection::vec(0i64..50_000, 0..3),
        balance in -100_000i64..50_000,
        rates in rates(),
        coupon in prop::option::of(coupon()),
        rounding in policy(),
        invoice_stage in any::<bool>(),
    ) {
        let mut items: Vec<Value> = credits.iter().map(|&a| json!({ "amount": a, "description": "credit", "proration": true })).collect();
        items.extend(charges.iter().map(|&a| json!({ "amount": a, "description": "charge" })));
        let mut sub = json!({
            "billing_cycle_anchor": "2024-01-01", "currency": "eur",
            "items": [{ "id": "si", "quantity": quantity, "price": { "currency": "eur", "id": "plan", "recurring": { "interval": "month" }, "unit_amount": unit } }],
            "pending_invoice_items": items,
        });
        if let Some(c) = coupon {
            let mut c = c;
            c["duration"] = json!("forever");
            sub["discounts"] = json!([{ "coupon": c, "start": "2024-01-01" }]);
        }
        let mut input = json!({
            "as_of": "2024-04-10T09:00:00Z", "subscription": sub, "rounding": rounding,
            "customer": { "balance": balance },
            "tax": { "rounding_stage": if invoice_stage { "invoice" } else { "line" } },
            "minimum_charge_amount": 0,
        });
        if !rates.is_empty() {
            input["default_tax_rates"] = json!(rates);
        }
        let parsed: PreviewInvoiceInput = from_value(&input).unwrap();
        let out = serde_json::to_value(preview_invoice(&parsed).unwrap()).unwrap();
        invariants::check_invoice(&out, rounding["increment"].as_i64()).map_err(TestCaseError::fail)?;
        // Amount due = max(0, total + balance) + rounding amount, a multiple of the increment.
        let total = int(&out["total"]);
        let due = int(&out["amount_due"]);
        let owed = total + balance;
        let r = out.get("rounding_amount").map_or(0, int);
        prop_assert_eq!(due, owed.max(0) + r);
        prop_assert_eq!(int(&out["ending_balance"]), owed.min(0));
        if let Some(step) = rounding["increment"].as_i64() {
            prop_assert_eq!(due % step, 0);
            prop_assert!(r.abs() < step);
        } else {
            prop_assert!(out.get("rounding_amount").is_none());
        }
        prop_assert!(due >= 0);
    }
}

/// An invoice line as a credit note sees it: a net amount and up to two taxes.
fn invoice_line() -> impl Strategy<Value = (i64, Vec<i64>, i64)> {
    (
        0i64..50_000,
        prop::collection::vec(0i64..10_000, 0..3),
        1i64..6,
    )
}

/// One partial credit note: what kind, how much of what is left (‰), which line.
fn partial() -> impl Strategy<Value = (u8, i64, usize)> {
    (0u8..3, 0i64..=1000, 0usize..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    /// Credit notes on an invoice paid under any policy, issued as any sequence of partial notes
    /// (by amount, part of a line, a whole line, a quantity) and then one for what is left:
    /// each note adds up and gives back a multiple of the increment within one increment of
    /// what it credits; together they never give back more than was paid, and the last gives
    /// back exactly what remains of it.
    #[test]
    fn credit_notes_never_give_back_more_than_was_paid_under_any_policy(
        lines in prop::collection::vec(invoice_line(), 1..5),
        rounding in policy(),
        partials in prop::collection::vec(partial(), 0..6),
    ) {
        let policy: billcalc::RoundingPolicy = from_value(&rounding).unwrap();
        let step = rounding["increment"].as_i64();
        let charged: Vec<i64> = lines.iter().map(|(net, taxes, _)| net + taxes.iter().sum::<i64>()).collect();
        let lines_total: i64 = charged.iter().sum();
        let paid = policy.cash(lines_total, "").unwrap();
        let mut line_credited = vec![0i64; lines.len()];
        let (mut credited, mut given_back) = (0i64, 0i64);
        let last = partials.len();
        for (k, step_k) in partials.into_iter().map(Some).chain([None]).enumerate() {
            let (kind, per_mille, line) = match step_k {
                Some((kind, per_mille, line)) => (Some(kind), per_mille, line % lines.len()),
                None => (None, 0, 0),
            };
            let left = charged[line] - line_credited[line];
            let request = match kind {
                None => json!({}),
                Some(0) => json!({ "amount": (lines_total - credited) * per_mille / 1000 }),
                Some(1) => json!({ "lines": [{ "line": line, "amount": left * per_mille / 1000 }] }),
                Some(_) if line_credited[line] == 0 => json!({ "lines": [{ "line": line, "quantity": lines[line].2 * per_mille / 1000 }] }),
                Some(_) => json!({ "lines": [{ "line": line }] }),
            };
            let invoice_lines: Vec<Value> = lines.iter().enumerate().map(|(i, (net, taxes, quantity))| json!({
                "amount_excluding_tax": net, "quantity": quantity, "credited": line_credited[i],
                "taxes": taxes.iter().enumerate().map(|(t, a)| json!({ "rate": format!("T{t}"), "amount": a })).collect::<Vec<_>>(),
            })).collect();
            let mut input = json!({
                "currency": "eur", "rounding": rounding,
                "invoice": { "amount_paid": paid.payable, "rounding_amount": paid.rounding_amount, "credited": credited, "lines": invoice_lines },
            });
            for (key, value) in request.as_object().unwrap() {
                input[key] = value.clone();
            }
            let note = billcalc::credit_note(&from_value(&input).unwrap()).unwrap();
            let out = serde_json::to_value(&note).unwrap();
            invariants::check_credit_note(&out, step).map_err(TestCaseError::fail)?;
            for l in &note.lines {
                line_credited[l.line] += l.amount;
            }
            credited += note.total;
            prop_assert_eq!(note.remaining_creditable, lines_total - credited);
            match step {
                Some(step) => {
                    let payable = note.amount_payable.unwrap();
                    prop_assert_eq!(payable % step, 0, "note {}: {} not a multiple of {}", k, payable, step);
                    prop_assert!((payable - note.total).abs() <= step, "note {}: gives back {} for {}", k, payable, note.total);
                    given_back += payable;
                    prop_assert!(given_back <= paid.payable, "after note {}: {} given back of {} paid", k, given_back, paid.payable);
                }
                None => {
                    prop_assert!(note.amount_payable.is_none() && note.rounding_amount.is_none());
                    given_back += note.total;
                }
            }
            if k == last {
                // Everything is credited: exactly what was paid has been given back.
                prop_assert_eq!(credited, lines_total);
                prop_assert_eq!(given_back, paid.payable);
            }
        }
    }
}
