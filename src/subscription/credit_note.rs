//! Credit notes: giving back part or all of what an invoice charged.
//!
//! * **Input.** The invoice as issued: per line what it charged without tax
//!   (`amount_excluding_tax`, after discounts) and each tax on it (`{rate, amount}`, `rate`
//!   being any label that identifies the rate, e.g. the tax's display name and percentage),
//!   optionally its `quantity` and what earlier credit notes already gave back on it
//!   (`credited`); the invoice's `amount_paid` and earlier credit notes' total (`credited`).
//! * **What to credit.** `lines: [{line, amount | quantity}]` (a line's index; an `amount` tax
//!   included; `quantity` units of the line's quantity; neither: all that is left of the
//!   line), or `amount` for the whole invoice, spread over the lines in proportion to what is
//!   left of each; neither: everything left.
//! * **Tax reversed in proportion.** A line's credit (tax included) is split over its net and
//!   its taxes in proportion to what it charged, through [`crate::allocate()`]; `quantity` units
//!   of `Q` are the allocated share `q / Q` of the line. So parts always add up to the credit,
//!   successive partial credits never drift from the whole, and no rounding is involved.
//! * **Cash rounding.** With a `rounding` policy that has an `increment` (the invoice's), the
//!   invoice's own `rounding_amount` (EN 16931 BT-114) is given: the lines add up to
//!   `amount_paid − rounding_amount`, which is what can be credited. Lines and taxes are never
//!   rounded to the increment; what is given back in cash (`amount_payable`, a multiple of the
//!   increment, `= total + rounding_amount`) is rounded **cumulatively**: after the notes so
//!   far have credited `C` of the lines, they have given back `cash(C)` (the policy's cash
//!   rounding, capped at `amount_paid`), and exactly `amount_paid` once everything is
//!   credited. A note gives back `cash(C after) − cash(C before)`. So, whatever the split
//!   into partial notes: the notes together never give back more than was paid, the note that
//!   credits the remainder gives back exactly what remains of `amount_paid`, and each note is
//!   within one increment of its total. Example (CHF, half_up, 0.05; lines 1.23 and 0.43, paid
//!   1.65): crediting line 0 gives back 1.25, then line 1 gives back 1.65 − 1.25 = 0.40 (on
//!   its own it would round to 0.45, and the two notes would give back 1.70 of 1.65 paid).
//!   `cash(C before)` is derived from `invoice.credited`, or taken from
//!   `invoice.credited_payable` (the earlier notes' `amount_payable` sum) when given — for
//!   earlier notes issued by another rule.
//! * **Never more than was paid.** A line gives back at most what it charged less what was
//!   credited on it; the note at most `amount_paid` less earlier notes. Only lines that charged
//!   something (positive, with no negative part) can be credited.

use crate::allocate::allocate;
use crate::currency::Currency;
use crate::error::{Error, ErrorCode, Result};
use crate::money;
use crate::quote::VERSION;
use crate::rounding::RoundingPolicy;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct CreditNoteInput {
    pub currency: String,
    pub invoice: InvoiceSummary,
    /// Lines to credit; absent: the whole invoice (or `amount` of it).
    pub lines: Option<Vec<CreditLineInput>>,
    /// An amount to credit, tax included, spread over the invoice's lines.
    pub amount: Option<i64>,
    /// Echoed (Stripe's `reason`: duplicate, fraudulent, order_change, product_unsatisfactory).
    pub reason: Option<String>,
    /// The invoice's rounding policy; its `increment` (cash rounding) applies to the note's
    /// total once.
    pub rounding: Option<RoundingPolicy>,
}

#[derive(Debug, Clone)]
pub struct InvoiceSummary {
    pub amount_paid: i64,
    /// The invoice's cash rounding (EN 16931 BT-114): `amount_paid` less the lines' total.
    pub rounding_amount: Option<i64>,
    /// What earlier credit notes for this invoice gave back (their `total`s: lines' terms).
    pub credited: Option<i64>,
    /// What earlier credit notes gave back in cash (the sum of their `amount_payable`), with a
    /// cash increment; absent: derived from `credited` by the cumulative rule (module docs).
    pub credited_payable: Option<i64>,
    pub lines: Vec<InvoiceLineSummary>,
}

#[derive(Debug, Clone)]
pub struct InvoiceLineSummary {
    pub amount_excluding_tax: i64,
    pub taxes: Vec<TaxPart>,
    pub quantity: Option<i64>,
    /// What earlier credit notes gave back on this line, tax included.
    pub credited: Option<i64>,
}

/// A tax on a line: an amount and the label of its rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxPart {
    pub rate: String,
    pub amount: i64,
}

#[derive(Debug, Clone)]
pub struct CreditLineInput {
    /// The invoice line's index.
    pub line: usize,
    pub amount: Option<i64>,
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditNoteLine {
    pub line: usize,
    /// Given back, tax included.
    pub amount: i64,
    pub amount_excluding_tax: i64,
    pub taxes: Vec<TaxPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditNote {
    pub version: &'static str,
    pub currency: Currency,
    pub lines: Vec<CreditNoteLine>,
    /// Given back without tax.
    pub subtotal: i64,
    /// Tax given back, per rate label, in order of first appearance.
    pub total_taxes: Vec<TaxPart>,
    pub total: i64,
    /// Only with a cash `increment`: `amount_payable − total` (EN 16931 BT-114).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_amount: Option<i64>,
    /// Only with a cash `increment`: what is given back, a multiple of the increment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_payable: Option<i64>,
    /// What may still be credited on the invoice after this note (lines' terms, before cash
    /// rounding).
    pub remaining_creditable: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn invalid(path: String, message: &'static str) -> Error {
    Error::new(ErrorCode::InvalidCreditNote, path, message)
}

fn at(prefix: &str, i: usize, field: &str) -> String {
    [prefix, "[", &i.to_string(), "]", field].concat()
}

/// What a line charged (tax included), split into its parts: [net, tax…]; and what is left.
fn charged(line: &InvoiceLineSummary, i: usize) -> Result<(Vec<i64>, i64)> {
    let path = at("invoice.lines", i, "");
    let mut parts = vec![line.amount_excluding_tax];
    parts.extend(line.taxes.iter().map(|t| t.amount));
    let total = money::sum(parts.iter().copied(), &path)?;
    let credited = line.credited.unwrap_or(0);
    if parts.iter().any(|&p| p < 0) || credited < 0 || credited > total {
        return Err(invalid(
            path,
            "a line's amounts must not be negative, nor its earlier credits above what it charged",
        ));
    }
    Ok((parts, total - credited))
}

/// Builds the credit note.
pub fn credit_note(input: &CreditNoteInput) -> Result<CreditNote> {
    let currency = Currency::parse(&input.currency, "currency")?;
    let invoice = &input.invoice;
    let lines = invoice
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| charged(l, i))
        .collect::<Result<Vec<_>>>()?;
    let credited = invoice.credited.unwrap_or(0);
    // Earlier credits are in the lines' terms: at most `amount_paid − rounding_amount` (below),
    // which may exceed `amount_paid` when the invoice's cash rounding went down.
    if invoice.amount_paid < 0 || credited < 0 {
        return Err(invalid(
            "invoice.credited".into(),
            "earlier credits and amount_paid must not be negative",
        ));
    }
    let rounding = input.rounding.unwrap_or_default();
    rounding.validate("rounding")?;
    let invoice_rounding = invoice.rounding_amount.unwrap_or(0);
    let paid_lines = money::checked(
        invoice.amount_paid - invoice_rounding,
        "invoice.rounding_amount",
    )?;
    if paid_lines < 0 {
        return Err(invalid(
            "invoice.rounding_amount".into(),
            "the rounding amount must not exceed amount_paid",
        ));
    }
    if credited > paid_lines {
        return Err(invalid(
            "invoice.credited".into(),
            "earlier credits must be between 0 and what was paid for the lines (amount_paid − rounding_amount)",
        ));
    }
    let creditable = money::checked(paid_lines - credited, "invoice.amount_paid")?;

    // (line index, credit tax included)
    let requests: Vec<(usize, i64)> = match (&input.lines, input.amount) {
        (Some(_), Some(_)) => {
            return Err(invalid("amount".into(), "give lines or amount, not both"))
        }
        (Some(list), None) => {
            let mut out: Vec<(usize, i64)> = Vec::with_capacity(list.len());
            for (k, request) in list.iter().enumerate() {
                let (parts, left) = lines
                    .get(request.line)
                    .ok_or_else(|| invalid(at("lines", k, ".line"), "no such invoice line"))?;
                if out.iter().any(|(j, _)| *j == request.line) {
                    return Err(invalid(at("lines", k, ".line"), "the line is listed twice"));
                }
                let credit = match (request.amount, request.quantity) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            at("lines", k, ".quantity"),
                            "give amount or quantity, not both",
                        ))
                    }
                    (Some(a), None) => a,
                    (None, Some(q)) => {
                        let of = invoice
                            .lines
                            .get(request.line)
                            .and_then(|l| l.quantity)
                            .filter(|&n| n > 0 && (0..=n).contains(&q))
                            .ok_or_else(|| {
                                invalid(
                                    at("lines", k, ".quantity"),
                                    "a quantity credit needs the line's quantity, and at most that many units",
                                )
                            })?;
                        let whole = money::sum(parts.iter().copied(), "lines")?;
                        let split = allocate(whole, &[q, of - q], "lines")?;
                        split.first().copied().unwrap_or(0)
                    }
                    (None, None) => *left,
                };
                if credit < 0 || credit > *left {
                    return Err(invalid(
                        at(
                            "lines",
                            k,
                            if request.quantity.is_some() {
                                ".quantity"
                            } else {
                                ".amount"
                            },
                        ),
                        "a line gives back at most what it charged, less earlier credits",
                    ));
                }
                out.push((request.line, credit));
            }
            out
        }
        (None, amount) => {
            let left: Vec<i64> = lines.iter().map(|l| l.1).collect();
            let available = money::sum(left.iter().copied(), "invoice.lines")?;
            let amount = amount.unwrap_or(available.min(creditable));
            if amount < 0 || amount > available {
                return Err(invalid(
                    "amount".into(),
                    "the amount must be between 0 and what the lines have left to credit",
                ));
            }
            let split = allocate(amount, &left, "amount")?;
            split
                .into_iter()
                .enumerate()
                .filter(|(_, c)| *c != 0)
                .collect()
        }
    };

    let total = money::sum(requests.iter().map(|r| r.1), "lines")?;
    if total > creditable {
        return Err(invalid(
            if input.lines.is_some() {
                "lines"
            } else {
                "amount"
            }
            .into(),
            "a credit note gives back at most what was paid, less earlier credit notes",
        ));
    }

    let mut out_lines = Vec::with_capacity(requests.len());
    let mut total_taxes: Vec<TaxPart> = Vec::new();
    let mut subtotal = 0i64;
    for (j, credit) in requests {
        let (Some((parts, _)), Some(line)) = (lines.get(j), invoice.lines.get(j)) else {
            continue;
        };
        let split = allocate(credit, parts, "lines")?;
        let net = split.first().copied().unwrap_or(0);
        subtotal = money::checked(subtotal + net, "subtotal")?;
        let mut taxes = Vec::with_capacity(line.taxes.len());
        for (tax, &amount) in line.taxes.iter().zip(split.iter().skip(1)) {
            match total_taxes.iter_mut().find(|t| t.rate == tax.rate) {
                Some(t) => t.amount = money::checked(t.amount + amount, "total_taxes")?,
                None => total_taxes.push(TaxPart {
                    rate: tax.rate.clone(),
                    amount,
                }),
            }
            taxes.push(TaxPart {
                rate: tax.rate.clone(),
                amount,
            });
        }
        out_lines.push(CreditNoteLine {
            line: j,
            amount: credit,
            amount_excluding_tax: net,
            taxes,
        });
    }
    let remaining_creditable = creditable - total;
    let cash = match rounding.increment {
        Some(step) if invoice.amount_paid % step != 0 => {
            return Err(invalid(
                "invoice.amount_paid".into(),
                "with a cash increment, what was paid is a multiple of the increment",
            ))
        }
        Some(step) => {
            // What the notes have given back in cash once `c` of the lines is credited.
            let given_back = |c: i64| -> Result<i64> {
                if c == paid_lines {
                    return Ok(invoice.amount_paid);
                }
                Ok(rounding.cash(c, "total")?.payable.min(invoice.amount_paid))
            };
            let before = match invoice.credited_payable {
                Some(p) if p < 0 || p > invoice.amount_paid || p % step != 0 => {
                    return Err(invalid(
                        "invoice.credited_payable".into(),
                        "earlier notes' cash must be a multiple of the increment between 0 and amount_paid",
                    ))
                }
                Some(p) => p,
                None => given_back(credited)?,
            };
            let after = given_back(money::checked(credited + total, "total")?)?;
            let payable = (after - before).clamp(0, invoice.amount_paid - before);
            Some((money::checked(payable - total, "total")?, payable))
        }
        None => None,
    };
    Ok(CreditNote {
        version: VERSION,
        currency,
        lines: out_lines,
        subtotal,
        total_taxes,
        total,
        rounding_amount: cash.map(|c| c.0),
        amount_payable: cash.map(|c| c.1),
        remaining_creditable,
        reason: input.reason.clone(),
    })
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for CreditNoteInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "currency", "invoice", "lines", "amount", "reason", "rounding",
            ],
        )?;
        let currency = o.req("currency");
        let invoice = o.req("invoice");
        let lines = o.opt("lines");
        let amount = o.opt("amount");
        let reason = o.opt("reason");
        let rounding = o.opt("rounding");
        let (Some(currency), Some(invoice)) = (currency, invoice) else {
            return Err(o.failed());
        };
        o.finish(CreditNoteInput {
            currency,
            invoice,
            lines,
            amount,
            reason,
            rounding,
        })
    }
}

impl crate::json::FromJson for InvoiceSummary {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "amount_paid",
                "credited",
                "credited_payable",
                "lines",
                "rounding_amount",
            ],
        )?;
        let amount_paid = o.req("amount_paid");
        let rounding_amount = o.opt("rounding_amount");
        let credited = o.opt("credited");
        let credited_payable = o.opt("credited_payable");
        let lines = o.req("lines");
        let (Some(amount_paid), Some(lines)) = (amount_paid, lines) else {
            return Err(o.failed());
        };
        o.finish(InvoiceSummary {
            amount_paid,
            rounding_amount,
            credited,
            credited_payable,
            lines,
        })
    }
}

impl crate::json::FromJson for InvoiceLineSummary {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &["amount_excluding_tax", "taxes", "quantity", "credited"],
        )?;
        let amount_excluding_tax = o.req("amount_excluding_tax");
        let taxes = o.def("taxes");
        let quantity = o.opt("quantity");
        let credited = o.opt("credited");
        let Some(amount_excluding_tax) = amount_excluding_tax else {
            return Err(o.failed());
        };
        o.finish(InvoiceLineSummary {
            amount_excluding_tax,
            taxes,
            quantity,
            credited,
        })
    }
}

impl crate::json::FromJson for TaxPart {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["rate", "amount"])?;
        let rate = o.req("rate");
        let amount = o.req("amount");
        let (Some(rate), Some(amount)) = (rate, amount) else {
            return Err(o.failed());
        };
        o.finish(TaxPart { rate, amount })
    }
}

impl crate::json::FromJson for CreditLineInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["line", "amount", "quantity"])?;
        let line = o.req("line");
        let amount = o.opt("amount");
        let quantity = o.opt("quantity");
        let Some(line) = line else {
            return Err(o.failed());
        };
        o.finish(CreditLineInput {
            line,
            amount,
            quantity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(json: &str) -> Result<CreditNote> {
        credit_note(&crate::parse::from_json(json)?)
    }

    const INVOICE: &str = r#""invoice":{"amount_paid":3570,"lines":[
        {"amount_excluding_tax":1000,"taxes":[{"rate":"VAT 19%","amount":190}],"quantity":4},
        {"amount_excluding_tax":2000,"taxes":[{"rate":"VAT 19%","amount":380}]}]}"#;

    #[test]
    fn full_and_partial() {
        let full = note(&format!(r#"{{"currency":"eur",{INVOICE}}}"#)).unwrap();
        assert_eq!(
            (full.subtotal, full.total, full.remaining_creditable),
            (3000, 3570, 0)
        );
        assert_eq!(
            full.total_taxes,
            vec![TaxPart {
                rate: "VAT 19%".into(),
                amount: 570
            }]
        );
        // One unit of four: 1190 / 4 = 297.5 → allocate gives 298 (remainder to the first part).
        let unit = note(&format!(
            r#"{{"currency":"eur",{INVOICE},"lines":[{{"line":0,"quantity":1}}]}}"#
        ))
        .unwrap();
        assert_eq!(unit.total, 298);
        assert_eq!(
            unit.lines[0].amount_excluding_tax + unit.lines[0].taxes[0].amount,
            298
        );
        let e = note(&format!(
            r#"{{"currency":"eur",{INVOICE},"lines":[{{"line":1,"amount":2571}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InvalidCreditNote, "lines[0].amount")
        );
    }
}
