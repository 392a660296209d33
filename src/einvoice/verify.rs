//! Verifying a document: every amount recomputed with the engine from what the document states
//! as inputs (quantities, prices, allowances and charges, VAT categories and rates, amounts
//! prepaid and rounded), and each figure that differs reported with its BT number, the stated
//! and the recomputed value.
//!
//! - **Line net (BT-131)**: quantity × net price / base quantity, priced by the engine
//!   (`compute_quote`, an inline price in minor units, rounded half-up to the currency), then
//!   minus the line's allowances and plus its charges (EN 16931 BR-CO-xx, the line formula).
//! - **VAT per category and rate (BT-116, BT-117)**: the taxable base is the recomputed line
//!   nets of the category minus its document allowances plus its charges; the tax is the
//!   engine's on that base at the stated rate, rounded once per category (EN 16931 rounding,
//!   `tax.rounding_stage: "invoice"`). A document whose tax was rounded per line (as billcalc
//!   writes a quote computed with line rounding) matches the engine's line stage instead: the
//!   verifier accepts either and says which (`tax_rounding_stage`).
//! - **Totals (BT-106 … BT-115)**: sums of the above (BR-CO-10 … BR-CO-16).

use super::model::*;
use crate::error::{Error, ErrorCode, Result};
use crate::quote::{compute_quote, QuoteInput};
use rust_decimal::Decimal;
use serde::Serialize;

/// A stated figure that the engine computes differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The business term, e.g. `BT-131`.
    pub bt: &'static str,
    /// Where: `lines[2]`, `vat_breakdown[S 20]`, `totals`.
    pub path: String,
    pub stated: Decimal,
    pub recomputed: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// True when no figure differs (neither `differences` nor `line_differences`).
    pub ok: bool,
    pub differences: Vec<Difference>,
    /// How the document's VAT was rounded: `invoice` (once per category, EN 16931's rule),
    /// `line` (per line, then summed) or `inclusive` (backed out of the category's gross, as
    /// for prices including tax).
    pub tax_rounding_stage: &'static str,
    /// Lines whose net amount (BT-131) is not quantity × net price / base quantity − allowances
    /// + charges, the definition of EN 16931-1. Its validation rules do not check it, and some
    /// published examples break it (a return priced with a positive quantity and a negative
    /// net); the document's totals are checked against the stated line nets.
    pub line_differences: Vec<Difference>,
    /// The rounding mode the document's VAT matches: `half_up` (EN 16931 and most tax
    /// authorities), else the first of `half_even`, `up`, `down`, `ceiling`, `floor` that
    /// matches (the engine's policies).
    pub tax_rounding_mode: &'static str,
}

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDocument, path, message)
}

/// `value` in minor units as a plain decimal string (the engine's `*_decimal` input).
fn minor_text(value: Decimal, exponent: u32, path: &str) -> Result<String> {
    let minor = (value * Decimal::from(10i64.pow(exponent))).normalize();
    if minor.is_sign_negative() {
        return Err(invalid(path, "a negative price"));
    }
    if minor.scale() > 12 {
        return Err(invalid(
            path,
            "a price with more than 12 decimals of a minor unit",
        ));
    }
    Ok(minor.to_string())
}

fn quote(json: serde_json::Value, path: &str) -> Result<crate::quote::Quote> {
    let input: QuoteInput = crate::parse::from_value(&json).map_err(|e| e.within(path))?;
    compute_quote(&input).map_err(|e| e.within(path))
}

/// The engine's amount for `quantity` (≥ 0, any decimals) × `price` / `base`, in minor units.
fn priced(
    currency: &str,
    exponent: u32,
    quantity: Decimal,
    price: Decimal,
    base: Decimal,
    path: &str,
) -> Result<i64> {
    if base <= Decimal::ZERO {
        return Err(invalid(path, "a base quantity that is not positive"));
    }
    // The engine prices whole quantities: a fractional quantity is counted in its smallest
    // unit and the price divided accordingly.
    // A price per `base` units whose unit price does not terminate (1000 per 3) is priced as
    // quantity / base units at the whole price instead.
    let per_unit = (price / base).normalize();
    let (quantity, price) = if per_unit.scale() + quantity.normalize().scale() <= 12 {
        (quantity.normalize(), per_unit)
    } else {
        ((quantity / base).normalize(), price)
    };
    let scale = quantity.scale();
    let units = quantity * Decimal::from(10i64.pow(scale));
    let unit_price = price / Decimal::from(10i64.pow(scale));
    let units: i64 = units
        .trunc()
        .to_string()
        .parse()
        .map_err(|_| invalid(path, "quantity too large"))?;
    let out = quote(
        serde_json::json!({
            "currency": currency,
            "lines": [{
                "price": {"currency": currency, "unit_amount_decimal": minor_text(unit_price, exponent, path)?},
                "quantity": units,
            }],
        }),
        path,
    )?;
    Ok(out.lines.first().map(|l| l.amount).unwrap_or(0))
}

/// The engine's VAT at `rate` on each of `bases` (minor units, any sign): rounded per base
/// (`line`) or once on their sum (`invoice`, a single base).
fn taxed(currency: &str, rate: Decimal, bases: &[i64], mode: &str, path: &str) -> Result<i64> {
    taxed_as(currency, rate, bases, mode, false, path)
}

/// As [`taxed`]; `inclusive`: each base is a gross amount the tax is backed out of.
fn taxed_as(
    currency: &str,
    rate: Decimal,
    bases: &[i64],
    mode: &str,
    inclusive: bool,
    path: &str,
) -> Result<i64> {
    let mut total = 0i64;
    for (sign, group) in [(1i64, true), (-1, false)] {
        let lines: Vec<serde_json::Value> = bases
            .iter()
            .filter(|b| (**b >= 0) == group)
            .map(|b| {
                serde_json::json!({
                    "price": {"currency": currency, "unit_amount": b.abs()},
                    "tax_rates": [{"percentage": rate.normalize().to_string(), "inclusive": inclusive, "display_name": "VAT"}],
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let out = quote(
            serde_json::json!({"currency": currency, "lines": lines, "rounding": {"mode": mode},
                "tax": {"rounding_stage": "line"}}),
            path,
        )?;
        let tax: i64 = out.total_taxes.iter().map(|t| t.amount).sum();
        total += sign * tax;
    }
    Ok(total)
}

fn to_minor(value: Decimal, exponent: u32) -> Option<i64> {
    let m = value * Decimal::from(10i64.pow(exponent));
    (m.fract().is_zero())
        .then(|| m.trunc().to_string().parse().ok())
        .flatten()
}

/// Recomputes the document's amounts with the engine and lists the differences.
pub fn verify(d: &Document) -> Result<Verification> {
    let exponent = super::exponent_of(&d.currency);
    let currency = d.currency.to_ascii_lowercase();
    let major = |minor: i64| Decimal::new(minor, exponent);
    let minor = |value: Decimal, path: &str| -> Result<i64> {
        to_minor(value, exponent)
            .ok_or_else(|| invalid(path, format!("{value} has more decimals than the currency")))
    };
    let mut differences = Vec::new();
    let mut diff = |bt: &'static str, path: String, stated: Decimal, recomputed: Decimal| {
        if stated != recomputed {
            differences.push(Difference {
                bt,
                path,
                stated,
                recomputed,
            });
        }
    };

    // Lines.
    // Each line against its own inputs; the document's figures build on the stated line nets,
    // so one inconsistent line is reported once, not again in every total.
    let mut line_differences = Vec::new();
    let mut nets = Vec::with_capacity(d.lines.len());
    for (i, line) in d.lines.iter().enumerate() {
        let path = format!("lines[{i}]");
        let mut net = priced(
            &currency,
            exponent,
            line.quantity.abs(),
            line.net_price,
            line.base_quantity.unwrap_or(Decimal::ONE),
            &path,
        )?;
        if line.quantity.is_sign_negative() {
            net = -net;
        }
        for (k, a) in line.allowances_charges.iter().enumerate() {
            let amount = minor(a.amount, &format!("{path}.allowances_charges[{k}].amount"))?;
            net += if a.charge { amount } else { -amount };
        }
        if major(net) != line.net_amount {
            line_differences.push(Difference {
                bt: "BT-131",
                path: path.clone(),
                stated: line.net_amount,
                recomputed: major(net),
            });
        }
        nets.push(minor(line.net_amount, &format!("{path}.net_amount"))?);
    }

    // VAT breakdown, per category and rate, in the document's order.
    let mut groups: Vec<VatRate> = Vec::new();
    for vat in d
        .vat_breakdown
        .iter()
        .map(|b| &b.vat)
        .chain(d.lines.iter().map(|l| &l.vat))
        .chain(d.allowances_charges.iter().filter_map(|a| a.vat.as_ref()))
    {
        if !groups.iter().any(|g| g.same(vat)) {
            groups.push(vat.clone());
        }
    }
    let mut allowance_total = 0i64;
    let mut charge_total = 0i64;
    for (k, a) in d.allowances_charges.iter().enumerate() {
        let amount = minor(a.amount, &format!("allowances_charges[{k}].amount"))?;
        if a.charge {
            charge_total += amount;
        } else {
            allowance_total += amount;
        }
    }
    let mut stage = "invoice";
    let mut mode = "half_up";
    let mut tax_total = 0i64;
    for group in &groups {
        let label = super::rate_label(group);
        let path = format!("vat_breakdown[{label}]");
        let mut bases: Vec<i64> = d
            .lines
            .iter()
            .zip(&nets)
            .filter(|(l, _)| l.vat.same(group))
            .map(|(_, n)| *n)
            .collect();
        for (k, a) in d.allowances_charges.iter().enumerate() {
            if a.vat.as_ref().is_some_and(|v| v.same(group)) {
                let amount = minor(a.amount, &format!("allowances_charges[{k}].amount"))?;
                bases.push(if a.charge { amount } else { -amount });
            }
        }
        let taxable: i64 = bases.iter().sum();
        let rate = group.rate.unwrap_or_default();
        let stated = d.vat_breakdown.iter().find(|b| b.vat.same(group));
        let invoice_tax = taxed(&currency, rate, &[taxable], "half_up", &path)?;
        let mut tax = invoice_tax;
        if let Some(b) = stated.filter(|b| major(invoice_tax) != b.tax_amount) {
            // Rounded per line, in another mode, or backed out of a tax-inclusive gross: the
            // document does not say, so each of the engine's ways is tried.
            let modes = ["half_up", "half_even", "up", "down", "ceiling", "floor"];
            let gross = taxable + minor(b.tax_amount, &path)?;
            'tries: for m in modes {
                for s in ["invoice", "line", "inclusive"] {
                    let candidate = match s {
                        "invoice" if m == "half_up" => continue,
                        "invoice" => taxed(&currency, rate, &[taxable], m, &path)?,
                        "line" => taxed(&currency, rate, &bases, m, &path)?,
                        _ => taxed_as(&currency, rate, &[gross], m, true, &path)?,
                    };
                    if major(candidate) == b.tax_amount {
                        (stage, mode, tax) = (s, m, candidate);
                        break 'tries;
                    }
                }
            }
        }
        tax_total += tax;
        match stated {
            Some(b) => {
                diff("BT-116", path.clone(), b.taxable_amount, major(taxable));
                diff("BT-117", path, b.tax_amount, major(tax));
            }
            None => {
                diff("BT-116", path.clone(), Decimal::ZERO, major(taxable));
                diff("BT-117", path, Decimal::ZERO, major(tax));
            }
        }
    }

    // Totals.
    let t = &d.totals;
    let line_total: i64 = nets.iter().sum();
    let tax_exclusive = line_total - allowance_total + charge_total;
    let tax_inclusive = tax_exclusive + tax_total;
    let prepaid = t
        .prepaid
        .map(|p| minor(p, "totals.prepaid"))
        .transpose()?
        .unwrap_or(0);
    let rounding = t
        .rounding
        .map(|r| minor(r, "totals.rounding"))
        .transpose()?
        .unwrap_or(0);
    let path = || "totals".to_string();
    diff("BT-106", path(), t.line_total, major(line_total));
    diff(
        "BT-107",
        path(),
        t.allowance_total.unwrap_or_default(),
        major(allowance_total),
    );
    diff(
        "BT-108",
        path(),
        t.charge_total.unwrap_or_default(),
        major(charge_total),
    );
    diff("BT-109", path(), t.tax_exclusive, major(tax_exclusive));
    diff("BT-110", path(), t.tax_total, major(tax_total));
    diff("BT-112", path(), t.tax_inclusive, major(tax_inclusive));
    diff(
        "BT-115",
        path(),
        t.payable,
        major(tax_inclusive - prepaid + rounding),
    );
    Ok(Verification {
        ok: differences.is_empty() && line_differences.is_empty(),
        differences,
        line_differences,
        tax_rounding_stage: stage,
        tax_rounding_mode: mode,
    })
}
