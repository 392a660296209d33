//! Filling the document from the engine: a [`Quote`], an [`Invoice`] preview or a
//! [`CreditNote`], plus what the engine does not know ([`DocumentInfo`]: number, dates, parties,
//! payment). Every amount is the engine's, converted exactly from minor units; nothing is
//! recomputed here.
//!
//! How the engine's figures map onto EN 16931 (decisions, see also `mod.rs`):
//! - **Discounts** become line allowances (BG-27): the engine allocates order-level discounts
//!   to the lines to the cent, so each line states its share and BT-131 is the engine's
//!   `amount_excluding_tax`; the document has no document-level allowance (BG-20). A line
//!   priced tax-inclusive states its net (BT-131) as its price, its discounts being gross.
//! - **A line taxed in several categories** (a shipping line following goods at two rates) is
//!   written as one document line per category, each with its taxable amount. A line with
//!   several taxes on one base (GST + QST, compound taxes) has no EN 16931 form:
//!   `unsupported_document`.
//! - **A line without tax** is category O (outside the scope of VAT), which EN 16931 allows
//!   only alone on a document and without VAT numbers (BR-O-02, BR-O-11).
//! - **Credits** on an invoice (negative proration lines) have a negative quantity and a
//!   positive price (BR-27).
//! - **Per-line tax rounding** is written as the engine rounded it (the amounts charged); the
//!   standard tolerates ±1 unit per VAT category (BR-CO-17); beyond it, the writer refuses with
//!   `unsupported_document` and asks for `tax.rounding_stage: "invoice"` (EN 16931's own
//!   rounding, BT-117 rounded once per category).

use super::french;
use super::issued::IssuedInvoice;
use super::model::*;
use crate::error::{Error, ErrorCode, Result};
use crate::quote::{Quote, QuoteLine};
use crate::subscription::credit_note::{CreditNote, InvoiceLineSummary, TaxPart};
use crate::subscription::Invoice;
use crate::tax::{RateDescriptor, VatCategory};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What the engine does not know about a document: its identity, dates, parties and payment.
/// Amounts here are minor units (the engine's convention).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentInfo {
    /// BT-1: the number in its gapless series.
    pub number: String,
    /// BT-2, `YYYY-MM-DD`.
    pub issue_date: String,
    /// BT-9.
    #[serde(default)]
    pub due_date: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    /// BG-13; for a French seller, write the delivery address only when it differs from the
    /// buyer's (2026 reform).
    #[serde(default)]
    pub delivery: Option<Delivery>,
    #[serde(default)]
    pub invoice_period: Option<Period>,
    #[serde(default)]
    pub payment_means: Vec<PaymentMeans>,
    /// BT-20.
    #[serde(default)]
    pub payment_terms: Option<String>,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub buyer_reference: Option<String>,
    #[serde(default)]
    pub order_reference: Option<String>,
    #[serde(default)]
    pub contract_reference: Option<String>,
    /// BG-3: for a credit note, the invoice it corrects.
    #[serde(default)]
    pub preceding_invoice: Option<PrecedingInvoice>,
    /// What was already paid, minor units (BT-113): a card payment at checkout pays it all.
    #[serde(default)]
    pub amount_paid: Option<i64>,
    /// The category of the operation (French 2026 reform): `goods`, `services` or `both`.
    #[serde(default)]
    pub operation: Option<String>,
    /// The seller opted to pay VAT on debits (« TVA d'après les débits »).
    #[serde(default)]
    pub vat_on_debits: bool,
    /// French mentions; the defaults apply to a French seller when absent.
    #[serde(default)]
    pub late_payment_penalty: Option<String>,
    #[serde(default)]
    pub early_payment_discount: Option<String>,
}

fn unsupported(path: impl Into<String>, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::UnsupportedDocument, path, message)
}

/// Minor units → major units, exactly.
pub fn major(minor: i64, exponent: u32) -> Decimal {
    Decimal::new(minor, exponent)
}

fn check_date(date: &str, path: &str) -> Result<()> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| Error::new(ErrorCode::InvalidDate, path, "expected a YYYY-MM-DD date"))
}

/// The UTC calendar date of a Unix instant.
pub fn date_of(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A half-open `[start, end)` span of instants as the inclusive dates EN 16931 uses.
fn period_of(start: i64, end: i64) -> Period {
    Period {
        start: date_of(start),
        end: date_of(end.saturating_sub(1).max(start)),
    }
}

/// The document's VAT category for an engine category.
pub fn category_code(category: VatCategory) -> &'static str {
    match category {
        VatCategory::S => "S",
        VatCategory::Z => "Z",
        VatCategory::E => "E",
        VatCategory::AE => "AE",
        VatCategory::K => "K",
        VatCategory::G => "G",
        VatCategory::O => "O",
    }
}

fn vat_of(rate: &RateDescriptor) -> VatRate {
    let category = category_code(rate.category);
    VatRate {
        category: category.to_string(),
        rate: (category != "O").then(|| rate.percentage.0.normalize()),
    }
}

/// The label billcalc gives a rate in a credit note's input (`TaxPart.rate`): the EN 16931
/// category and percentage, `"S 20"`, `"AE 0"`, `"O"`. [`invoice_summary`] writes it;
/// [`from_credit_note`] reads it back.
pub fn rate_label(vat: &VatRate) -> String {
    match vat.rate {
        Some(rate) => format!("{} {}", vat.category, rate.normalize()),
        None => vat.category.clone(),
    }
}

fn parse_label(label: &str, path: &str) -> Result<VatRate> {
    let mut parts = label.split(' ');
    let category = parts.next().unwrap_or("");
    let rate = parts.next();
    if !["S", "Z", "E", "AE", "K", "G", "O", "L", "M"].contains(&category) || parts.next().is_some()
    {
        return Err(unsupported(
            path,
            "a credit note's tax label must be an EN 16931 category and rate, as einvoice::rate_label writes it (\"S 20\")",
        ));
    }
    let rate = rate
        .map(|r| {
            r.parse::<Decimal>()
                .map_err(|_| unsupported(path, "the rate in the label is not a number"))
        })
        .transpose()?;
    Ok(VatRate {
        category: category.to_string(),
        rate: rate.map(|r| r.normalize()),
    })
}

/// The credit-note input's view of an issued quote or invoice: per line the net, each tax
/// labelled by [`rate_label`], the quantity. Lines taxed in several categories keep their
/// taxes; `creditNote` reverses them in proportion.
pub fn invoice_summary(quote: &Quote) -> Vec<InvoiceLineSummary> {
    quote
        .lines
        .iter()
        .map(|line| InvoiceLineSummary {
            amount_excluding_tax: line.amount_excluding_tax,
            taxes: line
                .taxes
                .iter()
                .map(|t| TaxPart {
                    rate: rate_label(&vat_of(&t.rate)),
                    amount: t.amount,
                })
                .collect(),
            quantity: Some(line.quantity),
            credited: None,
        })
        .collect()
}

fn line_name(line: &QuoteLine, index: usize) -> String {
    line.description
        .clone()
        .or_else(|| line.product.as_deref().map(String::from))
        .or_else(|| line.price.as_deref().map(String::from))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("Line {}", index + 1))
}

/// Price and base quantity such that `quantity × price / base = amount` exactly.
fn price_for(amount: Decimal, quantity: Decimal) -> (Decimal, Option<Decimal>) {
    if quantity.is_zero() {
        return (amount.abs(), None);
    }
    let quantity = quantity.abs();
    match amount.abs().checked_div(quantity) {
        Some(p) if p.scale() <= 6 && p * quantity == amount.abs() => (p.normalize(), None),
        _ => (amount.abs(), Some(quantity)),
    }
}

/// Document lines for one engine line: one, or one per VAT category when its taxes split its
/// net (a shipping line following goods at several rates).
fn lines_of(
    line: &QuoteLine,
    index: usize,
    exponent: u32,
    period: Option<Period>,
    discount_name: &dyn Fn(&str) -> String,
    french: bool,
) -> Result<Vec<Line>> {
    let path = format!("lines[{index}]");
    let name = line_name(line, index);
    let net = major(line.amount_excluding_tax, exponent);
    let quantity = Decimal::from(line.quantity);
    let signed_quantity = |q: Decimal| if line.amount < 0 { -q } else { q };
    let vats: Vec<VatRate> = line.taxes.iter().map(|t| vat_of(&t.rate)).collect();
    if line.taxes.len() <= 1 {
        let vat = vats.into_iter().next().unwrap_or(VatRate {
            category: "O".into(),
            rate: None,
        });
        let inclusive = line.taxes.first().is_some_and(|t| t.rate.inclusive);
        // Exclusive prices: the engine's amount before discounts is quantity × price, and each
        // discount is a line allowance. Inclusive prices: the discounts are gross amounts, so
        // the line states its net only.
        let (gross, allowances) = if inclusive || line.amount < 0 {
            (net, Vec::new())
        } else {
            let allowances = line
                .discount_amounts
                .iter()
                .filter(|d| d.amount != 0)
                .map(|d| AllowanceCharge {
                    charge: false,
                    amount: major(d.amount, exponent),
                    reason: Some(discount_name(&d.discount)),
                    reason_code: Some("95".into()),
                    ..AllowanceCharge::default()
                })
                .collect::<Vec<_>>();
            (major(line.amount, exponent), allowances)
        };
        let q = if quantity.is_zero() && !gross.is_zero() {
            Decimal::ONE
        } else {
            quantity
        };
        let (net_price, base_quantity) = price_for(gross, q);
        return Ok(vec![Line {
            id: (index + 1).to_string(),
            name,
            description: None,
            seller_item_id: line.price.as_deref().map(String::from),
            quantity: signed_quantity(q),
            unit_code: "C62".into(),
            net_price,
            base_quantity,
            allowances_charges: allowances,
            net_amount: net,
            vat,
            period,
            ..Line::default()
        }]);
    }
    // Several taxes: only a split of the net over distinct categories has an EN 16931 form.
    let split: i64 = line.taxes.iter().map(|t| t.taxable_amount).sum();
    let distinct = vats
        .iter()
        .enumerate()
        .all(|(i, v)| vats.iter().skip(i + 1).all(|w| !w.same(v)));
    if split != line.amount_excluding_tax || !distinct {
        return Err(unsupported(
            format!("{path}.taxes"),
            "EN 16931 has one VAT per line; this line carries several taxes on one base",
        ));
    }
    Ok(line
        .taxes
        .iter()
        .zip(vats)
        .enumerate()
        .map(|(k, (tax, vat))| {
            let amount = major(tax.taxable_amount, exponent);
            Line {
                id: format!("{}.{}", index + 1, k + 1),
                name: name.clone(),
                seller_item_id: line.price.as_deref().map(String::from),
                quantity: if amount < Decimal::ZERO {
                    -Decimal::ONE
                } else {
                    Decimal::ONE
                },
                unit_code: "C62".into(),
                net_price: amount.abs(),
                net_amount: amount,
                note: Some(match (french, vat.rate) {
                    (true, Some(rate)) => format!("Part au taux de {} %", rate.normalize()),
                    (true, None) => format!("Part en catégorie {}", vat.category),
                    (false, _) => format!("Part taxed at {}", rate_label(&vat)),
                }),
                vat,
                period: period.clone(),
                ..Line::default()
            }
        })
        .collect())
}

/// Exemption reasons: the text (in French for a French seller, citing the CGI) and the VATEX
/// code (BT-120, BT-121). S and Z carry none (BR-S-10, BR-Z-10).
fn exemption(
    category: &str,
    engine_text: Option<&str>,
    french: bool,
) -> (Option<String>, Option<String>) {
    let (fr, code): (&str, Option<&str>) = match category {
        "AE" => ("Autoliquidation", Some("VATEX-EU-AE")),
        "K" => (
            "Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire)",
            Some("VATEX-EU-IC"),
        ),
        "G" => (
            "Exonération de TVA, article 262 I du CGI (exportation)",
            Some("VATEX-EU-G"),
        ),
        "O" => (
            "Opération hors du champ d'application de la TVA",
            Some("VATEX-EU-O"),
        ),
        "E" => ("Exonération de TVA", None),
        _ => return (None, None),
    };
    let text = if french {
        fr.to_string()
    } else {
        engine_text
            .map(str::to_string)
            .unwrap_or_else(|| match category {
                "AE" => "Reverse charge".into(),
                "K" => "Intra-community supply of goods".into(),
                "G" => "Export outside the EU".into(),
                "O" => "Not subject to VAT".into(),
                _ => "Exempt from VAT".into(),
            })
    };
    (Some(text), code.map(str::to_string))
}

struct Built {
    lines: Vec<Line>,
    /// (vat, exemption text from the engine, tax amount in minor units)
    taxes: Vec<(VatRate, Option<String>, i64)>,
}

fn check_info(info: &DocumentInfo) -> Result<()> {
    check_date(&info.issue_date, "issue_date")?;
    if let Some(due) = &info.due_date {
        check_date(due, "due_date")?;
    }
    if info.number.trim().is_empty() {
        return Err(Error::new(
            ErrorCode::MissingField,
            "number",
            "a document needs its number",
        ));
    }
    for (party, path) in [(&info.seller, "seller"), (&info.buyer, "buyer")] {
        if party.name.trim().is_empty() {
            return Err(Error::new(
                ErrorCode::MissingField,
                format!("{path}.name"),
                "a party needs its name",
            ));
        }
        if party.address.country.len() != 2 {
            return Err(Error::new(
                ErrorCode::MissingField,
                format!("{path}.address.country"),
                "a party's address needs its ISO 3166 country code",
            ));
        }
    }
    Ok(())
}

/// Assembles the document from lines, the engine's taxes per rate and the info.
fn assemble(
    type_code: u16,
    currency: &str,
    exponent: u32,
    built: Built,
    total_minor: i64,
    rounding_minor: Option<i64>,
    tax_notes: Vec<Note>,
    info: &DocumentInfo,
) -> Result<Document> {
    check_info(info)?;
    if exponent > 2 {
        return Err(unsupported(
            "currency",
            "EN 16931 amounts have at most two decimals (BR-DEC); this currency has more",
        ));
    }
    if built.lines.is_empty() {
        return Err(unsupported(
            "lines",
            "an EN 16931 document has at least one line (BR-16)",
        ));
    }
    let french = info.seller.address.country.eq_ignore_ascii_case("FR");
    let mut breakdown: Vec<VatBreakdown> = Vec::new();
    for line in &built.lines {
        match breakdown.iter_mut().find(|b| b.vat.same(&line.vat)) {
            Some(b) => b.taxable_amount += line.net_amount,
            None => breakdown.push(VatBreakdown {
                vat: line.vat.clone(),
                taxable_amount: line.net_amount,
                tax_amount: Decimal::ZERO,
                exemption_reason: None,
                exemption_code: None,
            }),
        }
    }
    for (vat, text, amount) in &built.taxes {
        let Some(b) = breakdown.iter_mut().find(|b| b.vat.same(vat)) else {
            return Err(unsupported(
                "total_taxes",
                "a tax without a line in its category",
            ));
        };
        b.tax_amount += major(*amount, exponent);
        if b.exemption_reason.is_none() {
            let (reason, code) = exemption(&vat.category, text.as_deref(), french);
            b.exemption_reason = reason;
            b.exemption_code = code;
        }
    }
    for b in &mut breakdown {
        if b.exemption_reason.is_none() {
            let (reason, code) = exemption(&b.vat.category, None, french);
            b.exemption_reason = reason;
            b.exemption_code = code;
        }
        // BR-CO-17: the standard tolerates one unit of difference from its own rounding.
        if let Some(rate) = b.vat.rate {
            let exact = b.taxable_amount * rate / Decimal::ONE_HUNDRED;
            let own = exact
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            if (b.tax_amount - own).abs() > Decimal::ONE {
                return Err(unsupported(
                    "tax.rounding_stage",
                    format!(
                        "the per-line rounded VAT of category {} at {}% ({}) is more than one unit away from EN 16931's rounding of the category total ({}, BR-CO-17); compute the invoice with tax.rounding_stage \"invoice\"",
                        b.vat.category, rate, b.tax_amount, own
                    ),
                ));
            }
        }
    }
    if breakdown.iter().any(|b| b.vat.category == "O") && breakdown.len() > 1 {
        return Err(unsupported(
            "lines",
            "EN 16931 allows a document outside the scope of VAT (category O) only when no line is taxed (BR-O-11); this one mixes untaxed and taxed lines",
        ));
    }
    let line_total: Decimal = built.lines.iter().map(|l| l.net_amount).sum();
    let tax_total: Decimal = breakdown.iter().map(|b| b.tax_amount).sum();
    let tax_inclusive = line_total + tax_total;
    if tax_inclusive != major(total_minor, exponent) {
        return Err(unsupported(
            "total",
            "the engine's total is not its net plus its taxes (a tax that is not VAT?)",
        ));
    }
    let rounding = rounding_minor
        .filter(|r| *r != 0)
        .map(|r| major(r, exponent));
    let prepaid = info
        .amount_paid
        .filter(|p| *p != 0)
        .map(|p| major(p, exponent));
    let payable = tax_inclusive - prepaid.unwrap_or_default() + rounding.unwrap_or_default();

    let mut seller = info.seller.clone();
    let mut buyer = info.buyer.clone();
    // VAT numbers as the tax authorities print them (`DE123456789`), the form BR-CO-09 checks.
    for party in [&mut seller, &mut buyer] {
        party.vat_id = party.vat_id.as_deref().map(crate::tax::vat_id::normalise);
    }
    if seller.vat_id.is_none() && breakdown.iter().any(|b| b.vat.category != "O") {
        return Err(Error::new(
            ErrorCode::MissingField,
            "seller.vat_id",
            "a document with VAT categories S, Z, E, AE, K or G names the seller's VAT number (BR-S-02 and siblings)",
        ));
    }
    if breakdown.iter().any(|b| b.vat.category == "O") {
        // BR-O-02: no VAT identifiers on a document outside the scope of VAT.
        seller.vat_id = None;
        buyer.vat_id = None;
    }
    if breakdown.iter().any(|b| b.vat.category == "K") {
        // BR-IC-11, BR-IC-12: an intra-Community supply states when and where it was delivered.
        let d = info.delivery.as_ref();
        if d.and_then(|d| d.date.as_ref()).is_none() && info.invoice_period.is_none() {
            return Err(Error::new(
                ErrorCode::MissingField,
                "delivery.date",
                "an intra-Community supply of goods (K) states its delivery date or period (BR-IC-11)",
            ));
        }
        if d.and_then(|d| d.address.as_ref()).is_none() {
            return Err(Error::new(
                ErrorCode::MissingField,
                "delivery.address",
                "an intra-Community supply of goods (K) states the country it was delivered to (BR-IC-12)",
            ));
        }
        if buyer.vat_id.is_none() {
            return Err(Error::new(
                ErrorCode::MissingField,
                "buyer.vat_id",
                "an intra-Community supply of goods (K) names the buyer's VAT number (BR-IC-02)",
            ));
        }
    }
    let mut delivery = info.delivery.clone();
    if french && !breakdown.iter().any(|b| b.vat.category == "K") {
        // 2026 reform: the delivery address only when it differs from the buyer's (an
        // intra-Community supply always states it, BR-IC-12).
        if let Some(d) = &mut delivery {
            if d.address.as_ref() == Some(&buyer.address) {
                d.address = None;
            }
        }
    }
    let kinds: Vec<&str> = breakdown.iter().map(|b| b.vat.category.as_str()).collect();
    let mut notes = info.notes.clone();
    notes.extend(tax_notes);
    if info.vat_on_debits {
        notes.push(Note {
            subject: Some("TXD".into()),
            text: french::VAT_ON_DEBITS.into(),
        });
    }
    if french {
        notes.extend(french::payment_notes(info, &kinds));
    }
    let paid_in_full = prepaid.is_some() && payable.is_zero();
    let business_process = info
        .operation
        .as_deref()
        .map(|op| french::operation_code(op, paid_in_full))
        .transpose()?;
    Ok(Document {
        number: info.number.clone(),
        type_code,
        issue_date: info.issue_date.clone(),
        due_date: info.due_date.clone(),
        currency: currency.to_ascii_uppercase(),
        business_process,
        vat_point_date_code: info.vat_on_debits.then(|| "3".to_string()),
        buyer_reference: info.buyer_reference.clone(),
        contract_reference: info.contract_reference.clone(),
        order_reference: info.order_reference.clone(),
        notes,
        preceding_invoices: info.preceding_invoice.clone().into_iter().collect(),
        seller,
        buyer,
        delivery,
        invoice_period: info.invoice_period.clone(),
        payment_means: info.payment_means.clone(),
        payment_terms: info.payment_terms.clone(),
        allowances_charges: Vec::new(),
        lines: built.lines,
        vat_breakdown: breakdown,
        totals: Totals {
            line_total,
            allowance_total: None,
            charge_total: None,
            tax_exclusive: line_total,
            tax_total,
            tax_inclusive,
            prepaid,
            rounding,
            payable,
        },
    })
}

fn is_french(info: &DocumentInfo) -> bool {
    info.seller.address.country.eq_ignore_ascii_case("FR")
}

fn tax_notes(quote: &Quote) -> Vec<Note> {
    quote
        .tax_notes
        .iter()
        .map(|n| Note {
            subject: Some("TXD".into()),
            text: match &n.customer_tax_id {
                Some(id) => format!("{} ({})", n.text, id),
                None => n.text.to_string(),
            },
        })
        .collect()
}

/// How a discount is named on the document: its promotion code, coupon name or id, or its
/// catalog promotion's name, after « Remise » / "Discount".
fn discount_namer(quote: &Quote, french: bool) -> impl Fn(&str) -> String + '_ {
    move |id: &str| {
        let word = if french { "Remise" } else { "Discount" };
        let applied = quote.discounts.iter().find(|d| d.id == id);
        let name = applied.and_then(|d| {
            d.promotion_code
                .as_ref()
                .map(|p| p.code.clone())
                .or_else(|| {
                    d.coupon
                        .as_ref()
                        .and_then(|c| c.name.clone().or_else(|| c.id.clone()))
                })
                .or_else(|| {
                    d.promotion
                        .as_ref()
                        .map(|p| p.name.clone().unwrap_or_else(|| p.id.clone()))
                })
        });
        match name {
            Some(name) if name.to_lowercase().starts_with(&word.to_lowercase()) => name,
            Some(name) => format!("{word} {name}"),
            None => word.to_string(),
        }
    }
}

fn build_quote(quote: &Quote, periods: &[Option<Period>], french: bool) -> Result<Built> {
    let exponent = quote.currency.exponent();
    let namer = discount_namer(quote, french);
    let mut lines = Vec::new();
    for (i, line) in quote.lines.iter().enumerate() {
        lines.extend(lines_of(
            line,
            i,
            exponent,
            periods.get(i).cloned().flatten(),
            &namer,
            french,
        )?);
    }
    let taxes = quote
        .total_taxes
        .iter()
        .map(|t| {
            (
                vat_of(&t.rate),
                t.rate.exemption_reason.map(str::to_string),
                t.amount,
            )
        })
        .collect();
    Ok(Built { lines, taxes })
}

/// An invoice (380) for a priced quote (a one-time sale).
pub fn from_quote(quote: &Quote, info: &DocumentInfo) -> Result<Document> {
    let built = build_quote(quote, &[], is_french(info))?;
    assemble(
        INVOICE,
        quote.currency.code(),
        quote.currency.exponent(),
        built,
        quote.total,
        quote.rounding_amount,
        tax_notes(quote),
        info,
    )
}

/// An invoice (380) for a subscription invoice: the quote's lines with their service periods,
/// the billing period (BG-14) and the customer credit applied as paid (BT-113).
pub fn from_invoice(invoice: &Invoice, info: &DocumentInfo) -> Result<Document> {
    let quote = &invoice.quote;
    let periods: Vec<Option<Period>> = quote
        .lines
        .iter()
        .map(|l| {
            l.info
                .as_ref()
                .map(|i| period_of(i.period.start, i.period.end))
        })
        .collect();
    let built = build_quote(quote, &periods, is_french(info))?;
    let mut info = info.clone();
    if info.invoice_period.is_none() && invoice.period_end > invoice.period_start {
        info.invoice_period = Some(period_of(invoice.period_start, invoice.period_end));
    }
    // Customer credit applied to this invoice is paid already; a debt carried from earlier
    // invoices was invoiced there and is not part of this document.
    let rounding = quote.rounding_amount.unwrap_or(0);
    let credit = quote.total + rounding - invoice.amount_due;
    if info.amount_paid.is_none() && credit > 0 && invoice.minimum_charge.is_none() {
        info.amount_paid = Some(credit);
    }
    assemble(
        INVOICE,
        quote.currency.code(),
        quote.currency.exponent(),
        built,
        quote.total,
        quote.rounding_amount,
        tax_notes(quote),
        &info,
    )
}

/// A credit note (381) for an engine credit note on an issued quote or invoice (`invoice`, the
/// engine's result as issued; its tax labels are [`rate_label`]s, as [`invoice_summary`]
/// writes them). `info.preceding_invoice` names the invoice credited.
pub fn from_credit_note(
    note: &CreditNote,
    invoice: &Quote,
    info: &DocumentInfo,
) -> Result<Document> {
    from_credit_note_issued(note, &IssuedInvoice::of(invoice)?, info)
}

/// [`from_credit_note`] for an invoice known by the engine's JSON output only (a stored
/// invoice, or JavaScript's): see [`IssuedInvoice`]. A credit on a line taxed in several
/// categories becomes one document line per category (`2.1`, `2.2`), its net split over them
/// in proportion to the line's taxable amounts through [`crate::allocate()`] (the one
/// allocation); the tax of each part is the engine's.
pub fn from_credit_note_issued(
    note: &CreditNote,
    invoice: &IssuedInvoice,
    info: &DocumentInfo,
) -> Result<Document> {
    let exponent = note.currency.exponent();
    if info.preceding_invoice.is_none() {
        return Err(Error::new(
            ErrorCode::MissingField,
            "preceding_invoice",
            "a credit note names the invoice it credits (BG-3)",
        ));
    }
    let mut lines = Vec::new();
    let mut taxes = Vec::new();
    for (i, credit) in note.lines.iter().enumerate() {
        let path = format!("lines[{i}]");
        let Some(original) = invoice.lines.get(credit.line) else {
            return Err(unsupported(
                format!("{path}.line"),
                "no such line on the invoice",
            ));
        };
        let vats = credit
            .taxes
            .iter()
            .map(|t| parse_label(&t.rate, &format!("{path}.taxes")))
            .collect::<Result<Vec<_>>>()?;
        for (vat, part) in vats.iter().zip(&credit.taxes) {
            let engine_text = original
                .taxes
                .iter()
                .find(|t| t.vat().same(vat))
                .and_then(|t| t.exemption_reason.clone());
            taxes.push((vat.clone(), engine_text, part.amount));
        }
        // (vat, net in minor units) per document line.
        let parts: Vec<(VatRate, i64)> = match vats.as_slice() {
            [] => vec![(
                VatRate {
                    category: "O".into(),
                    rate: None,
                },
                credit.amount_excluding_tax,
            )],
            [one] => vec![(one.clone(), credit.amount_excluding_tax)],
            several => {
                let weights = several
                    .iter()
                    .map(|vat| {
                        original
                            .taxes
                            .iter()
                            .find(|t| t.vat().same(vat))
                            .and_then(|t| t.taxable_amount)
                    })
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| {
                        unsupported(
                            format!("{path}.taxes"),
                            "a credit on a line taxed in several categories needs each tax's taxable_amount",
                        )
                    })?;
                let nets = crate::allocate(credit.amount_excluding_tax, &weights, &path)?;
                several.iter().cloned().zip(nets).collect()
            }
        };
        let split = parts.len() > 1;
        for (k, (vat, net_minor)) in parts.into_iter().enumerate() {
            let net = major(net_minor, exponent);
            lines.push(Line {
                id: if split {
                    format!("{}.{}", i + 1, k + 1)
                } else {
                    (i + 1).to_string()
                },
                name: original.name(credit.line),
                note: Some(format!("Credit on line {} of the invoice", credit.line + 1)),
                seller_item_id: original.price.clone(),
                quantity: Decimal::ONE,
                unit_code: "C62".into(),
                net_price: net.abs(),
                net_amount: net,
                vat,
                ..Line::default()
            });
        }
    }
    let mut notes = Vec::new();
    if let Some(reason) = &note.reason {
        notes.push(Note {
            subject: Some("ACD".into()),
            text: format!("Reason: {reason}"),
        });
    }
    let mut info = info.clone();
    info.notes.extend(notes);
    assemble(
        CREDIT_NOTE,
        note.currency.code(),
        exponent,
        Built { lines, taxes },
        note.total,
        note.rounding_amount,
        invoice
            .tax_notes
            .iter()
            .filter(|n| n.text.contains(crate::tax::place::REVERSE_CHARGE))
            .map(|n| Note {
                subject: Some("TXD".into()),
                text: match &n.customer_tax_id {
                    Some(id) => format!("{} ({})", n.text, id),
                    None => n.text.clone(),
                },
            })
            .collect(),
        &info,
    )
}
