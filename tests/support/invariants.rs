//! The money invariants of a result, checked on the JSON a caller receives. Shared by the
//! property tests (tests/rounding_policies.rs) and the fuzz targets (fuzz/fuzz_targets/*.rs),
//! so both prove the same statements:
//! - no negative net amount and no negative tax except on a credit line (a negative amount);
//! - a line's tax never exceeds its rate × its tax base rounded up by one minor unit, plus one
//!   where a rounded total is spread back (the `invoice` stage, several inclusive rates backed
//!   out at once); compound rates are taxed on net + earlier taxes (`taxable_amount`);
//! - amount payable = total + rounding_amount, a multiple of the increment;
//! - each discount's line parts sum to its total; line taxes sum to each rate's total;
//! - total_excluding_tax = Σ line nets; total = Σ nets + Σ taxes.
#![allow(dead_code)]

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("{what}: expected an integer, got {v}"))
}

fn dec(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::String(s) => s.parse().map_err(|_| format!("not a decimal: {s}")),
        Value::Number(n) => n
            .to_string()
            .parse()
            .map_err(|_| format!("not a decimal: {n}")),
        other => Err(format!("expected a percentage, got {other}")),
    }
}

/// The rate's identity in `taxes[]` / `total_taxes[]`: everything but the amounts.
fn rate_key(tax: &Value) -> String {
    let mut t = tax.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("amount");
        o.remove("taxable_amount");
    }
    t.to_string()
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Checks a quote (or an invoice's quote fields) as JSON. `increment` is the policy's cash
/// increment.
pub fn check_quote(out: &Value, increment: Option<i64>) -> Result<(), String> {
    let invoice_stage = out["tax_rounding_stage"] == "invoice";
    let lines = out["lines"].as_array().ok_or("lines")?;
    let mut per_discount: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_rate: BTreeMap<String, i64> = BTreeMap::new();
    let (mut nets, mut taxes) = (0i64, 0i64);
    for (i, l) in lines.iter().enumerate() {
        let amount = int(&l["amount"], "amount")?;
        let net = int(&l["amount_excluding_tax"], "amount_excluding_tax")?;
        let credit = amount < 0;
        if !credit {
            ensure!(net >= 0, "line {i}: negative net {net} in {l}");
        }
        let line_taxes = l["taxes"].as_array().ok_or("taxes")?;
        // The exact base of an inclusive rate is the gross backed out once over every inclusive
        // rate (gross ÷ (1 + Σ r)); of an exclusive one, its taxable amount.
        let inclusive: Vec<&Value> = line_taxes
            .iter()
            .filter(|t| t["inclusive"] == true)
            .collect();
        let mut inclusive_rates = Decimal::ZERO;
        let mut inclusive_tax = 0i64;
        for t in &inclusive {
            inclusive_rates += dec(&t["percentage"])? / Decimal::ONE_HUNDRED;
            inclusive_tax += int(&t["amount"], "tax")?;
        }
        let gross = Decimal::from(net) + Decimal::from(inclusive_tax);
        let allowance = Decimal::from(i64::from(invoice_stage || inclusive.len() > 1));
        let mut line_tax = 0i64;
        for t in line_taxes {
            let tax = int(&t["amount"], "tax")?;
            if !credit {
                ensure!(tax >= 0, "line {i}: negative tax in {t}");
            }
            let rate = dec(&t["percentage"])? / Decimal::ONE_HUNDRED;
            let base = if t["inclusive"] == true {
                gross / (Decimal::ONE + inclusive_rates)
            } else {
                Decimal::from(int(&t["taxable_amount"], "taxable_amount")?)
            };
            let bound = (rate * base.abs()).ceil() + allowance;
            ensure!(
                Decimal::from(tax.abs()) <= bound,
                "line {i}: tax {tax} above {rate} × {base} rounded up (+{allowance}) in {l}"
            );
            *per_rate.entry(rate_key(t)).or_default() += tax;
            line_tax += tax;
        }
        for d in l["discount_amounts"].as_array().ok_or("discount_amounts")? {
            let id = d["discount"].as_str().ok_or("discount id")?.to_string();
            *per_discount.entry(id).or_default() += int(&d["amount"], "discount")?;
        }
        nets += net;
        taxes += line_tax;
    }
    // Line discounts sum to the discount totals (lines leave zero parts out).
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for d in out["total_discount_amounts"]
        .as_array()
        .ok_or("total_discount_amounts")?
    {
        let amount = int(&d["amount"], "discount total")?;
        if amount != 0 {
            *totals
                .entry(d["discount"].as_str().ok_or("id")?.to_string())
                .or_default() += amount;
        }
    }
    ensure!(
        per_discount == totals,
        "line discounts {per_discount:?} ≠ totals {totals:?}"
    );
    // Line taxes sum to the tax totals.
    let mut rate_totals: BTreeMap<String, i64> = BTreeMap::new();
    for t in out["total_taxes"].as_array().ok_or("total_taxes")? {
        *rate_totals.entry(rate_key(t)).or_default() += int(&t["amount"], "tax total")?;
    }
    per_rate.retain(|_, v| *v != 0);
    rate_totals.retain(|_, v| *v != 0);
    ensure!(
        per_rate == rate_totals,
        "line taxes {per_rate:?} ≠ totals {rate_totals:?}"
    );
    let total = int(&out["total"], "total")?;
    ensure!(
        int(&out["total_excluding_tax"], "total_excluding_tax")? == nets,
        "total_excluding_tax ≠ Σ nets"
    );
    ensure!(
        total == nets + taxes,
        "total {total} ≠ nets {nets} + taxes {taxes}"
    );
    // Quotes: payable = total + rounding amount, a multiple of the increment.
    if out.get("amount_due").is_none() {
        match increment {
            Some(step) => {
                let payable = int(&out["amount_payable"], "amount_payable")?;
                let r = int(&out["rounding_amount"], "rounding_amount")?;
                ensure!(
                    payable == total + r,
                    "payable {payable} ≠ total {total} + rounding {r}"
                );
                ensure!(
                    payable % step == 0,
                    "payable {payable} not a multiple of {step}"
                );
                ensure!(r.abs() < step, "rounding {r} beyond one increment {step}");
            }
            None => {
                ensure!(
                    out.get("amount_payable").is_none(),
                    "amount_payable without an increment"
                );
                ensure!(
                    out.get("rounding_amount").is_none(),
                    "rounding_amount without an increment"
                );
            }
        }
    }
    Ok(())
}

/// Checks an invoice: its quote fields, then the amount due after the balance and cash rounding.
pub fn check_invoice(out: &Value, increment: Option<i64>) -> Result<(), String> {
    check_quote(out, increment)?;
    let total = int(&out["total"], "total")?;
    let balance = int(&out["starting_balance"], "starting_balance")?;
    let due = int(&out["amount_due"], "amount_due")?;
    let r = out
        .get("rounding_amount")
        .map_or(Ok(0), |v| int(v, "rounding_amount"))?;
    ensure!(due >= 0, "negative amount due {due}");
    let owed = total + balance;
    if out["status"] == "void" || !out["minimum_charge"].is_null() {
        ensure!(
            due == 0 && r == 0,
            "nothing is collected, yet amount due {due}, rounding {r}"
        );
    } else {
        ensure!(
            due == owed.max(0) + r,
            "amount due {due} ≠ max(0, {total} + {balance}) + {r}"
        );
    }
    if let Some(step) = increment {
        ensure!(due % step == 0, "amount due {due} not a multiple of {step}");
        ensure!(r.abs() < step, "rounding {r} beyond one increment");
    } else {
        ensure!(
            out.get("rounding_amount").is_none(),
            "rounding_amount without an increment"
        );
    }
    Ok(())
}

/// Checks a credit note: parts add up (line nets and taxes to the line, lines to the total, line
/// taxes to each rate's total), nothing negative, and with an increment what is given back is
/// `total + rounding_amount`, a multiple of the increment. (That a sequence of notes never
/// gives back more than was paid needs the sequence: tests/rounding_policies.rs.)
pub fn check_credit_note(out: &Value, increment: Option<i64>) -> Result<(), String> {
    let mut total = 0i64;
    let mut subtotal = 0i64;
    let mut per_rate: BTreeMap<String, i64> = BTreeMap::new();
    for l in out["lines"].as_array().ok_or("lines")? {
        let amount = int(&l["amount"], "amount")?;
        let net = int(&l["amount_excluding_tax"], "net")?;
        let mut tax = 0;
        for t in l["taxes"].as_array().ok_or("taxes")? {
            let a = int(&t["amount"], "tax")?;
            ensure!(a >= 0, "negative tax credited");
            *per_rate.entry(t["rate"].to_string()).or_default() += a;
            tax += a;
        }
        ensure!(amount >= 0 && net >= 0, "negative credit line {l}");
        ensure!(net + tax == amount, "line parts {net} + {tax} ≠ {amount}");
        total += amount;
        subtotal += net;
    }
    let mut rate_totals: BTreeMap<String, i64> = BTreeMap::new();
    for t in out["total_taxes"].as_array().ok_or("total_taxes")? {
        *rate_totals.entry(t["rate"].to_string()).or_default() += int(&t["amount"], "tax total")?;
    }
    ensure!(
        per_rate == rate_totals,
        "credited taxes {per_rate:?} ≠ {rate_totals:?}"
    );
    ensure!(int(&out["total"], "total")? == total, "total ≠ Σ lines");
    ensure!(
        int(&out["subtotal"], "subtotal")? == subtotal,
        "subtotal ≠ Σ nets"
    );
    ensure!(
        int(&out["remaining_creditable"], "remaining")? >= 0,
        "negative remaining"
    );
    match increment {
        Some(step) => {
            let payable = int(&out["amount_payable"], "amount_payable")?;
            let r = int(&out["rounding_amount"], "rounding_amount")?;
            ensure!(payable == total + r, "payable ≠ total + rounding");
            ensure!(payable >= 0, "negative refund");
            ensure!(
                payable % step == 0,
                "given back {payable}, not a multiple of {step}"
            );
        }
        None => ensure!(
            out.get("amount_payable").is_none() && out.get("rounding_amount").is_none(),
            "cash rounding without an increment"
        ),
    }
    Ok(())
}
