//! A quote's JSON text, written straight from the engine's structures: the hot output path of
//! `calculator.quote` (issue 12). The text is byte for byte what `serde_json::to_string` gives
//! for the same [`Quote`] (same field order, same absent fields, same escapes); the golden vector
//! runner checks that on every quote vector (tests/vectors.rs). What is written by hand is what
//! every quote repeats per line: lines, their discount amounts and taxes, the tax breakdown, the
//! totals. The rest (applied and rejected discounts, notes, rounding, metadata) goes through
//! serde_json, and a quote carrying invoice-line details (`info`, never on quotes) is serialised
//! by serde_json whole.

//!
//! The wasm package receives a shorter text of the same quote (`to_transfer_json`): each line is
//! an array, and each line tax refers to its rate's entry in `total_taxes` instead of repeating
//! the rate's ten fields, which made up half of the text. The package's JS glue (`quoteFromJson`
//! in src/wasm.rs) rebuilds the documented objects from it, so callers see the same quote; the
//! text is a private transfer form between the wasm and its glue, not an output format.

use crate::discount::DiscountAmount;
use crate::quote::{Quote, QuoteLine};
use crate::tax::group::GroupIndex;
use crate::tax::{RateDescriptor, SharedRate, VatCategory};
use serde::Serialize;
use std::fmt::Write as _;

impl Quote {
    /// The quote as JSON text (what `serde_json::to_string(&quote)` gives, written faster).
    pub fn to_json(&self) -> String {
        self.write(None)
    }

    /// The quote's transfer text for the wasm package's JS glue (see the module docs): lines as
    /// arrays `[price, product, quantity, amount, [[discount, amount]…], amount_excluding_tax,
    /// tax_category, [[amount, taxable_amount, i]…] (, description | null (, metadata))]` where
    /// `i` is the position of the tax's rate in `total_taxes`; everything else as in `to_json`.
    /// Falls back to `to_json`'s text (lines as objects) when a line tax's rate is not in
    /// `total_taxes`, which the tax stage never produces.
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "quotes")), allow(dead_code))]
    pub(crate) fn to_transfer_json(&self) -> String {
        match rate_positions(self) {
            Some(positions) => self.write(Some(&positions)),
            None => self.to_json(),
        }
    }

    fn write(&self, rates: Option<&[usize]>) -> String {
        if self.lines.iter().any(|l| l.info.is_some()) {
            return serde_json::to_string(self).unwrap_or_default();
        }
        // About 420 bytes per line with one tax, 80 in the transfer form (issue 12's cart).
        let per_line = if rates.is_some() { 100 } else { 480 };
        let mut out = Writer(String::with_capacity(1024 + per_line * self.lines.len()));
        match write_quote(&mut out, self, rates) {
            Some(()) => out.0,
            None => serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

/// For every line tax in order, the position in `total_taxes` of the entry with an equal rate.
#[cfg_attr(not(all(target_arch = "wasm32", feature = "quotes")), allow(dead_code))]
fn rate_positions(q: &Quote) -> Option<Vec<usize>> {
    let mut index = GroupIndex::new();
    for (g, total) in q.total_taxes.iter().enumerate() {
        let (found, hash) = index.find(&total.rate, |_| false);
        if found.is_none() {
            index.insert(hash, g);
        }
    }
    let mut positions = Vec::with_capacity(q.lines.len());
    let mut last: Option<usize> = None;
    for tax in q.lines.iter().flat_map(|l| &l.taxes) {
        let is = |g: usize| q.total_taxes.get(g).is_some_and(|t| t.rate == tax.rate);
        let g = match last.filter(|&g| is(g)) {
            Some(g) => g,
            None => index.find(&tax.rate, is).0?,
        };
        positions.push(g);
        last = Some(g);
    }
    Some(positions)
}

struct Writer(String);

impl Writer {
    /// Literal JSON (keys and punctuation known to need no escape).
    fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn int(&mut self, n: i64) {
        // Digits by hand: `write!` goes through `core::fmt` (a tenth of `to_json`'s time).
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n.unsigned_abs();
        while let Some(slot) = start.checked_sub(1).and_then(|i| digits.get_mut(i)) {
            *slot = b'0' + (rest % 10) as u8;
            start -= 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            self.0.push('-');
        }
        self.0
            .push_str(std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or("0"));
    }

    fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    /// A JSON string, escaped as serde_json escapes (`"`, `\`, and control characters; the
    /// common ones as `\n`…, the others as `\u00XX`; everything else verbatim).
    fn str(&mut self, s: &str) {
        self.0.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            // `i` is at an ASCII byte, so both slices end on character boundaries.
            self.0.push_str(s.get(start..i).unwrap_or_default());
            if escape.is_empty() {
                let _ = write!(self.0, "\\u{:04x}", b);
            } else {
                self.0.push_str(escape);
            }
            start = i + 1;
        }
        self.0.push_str(s.get(start..).unwrap_or_default());
        self.0.push('"');
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    /// Any other serialisable part, through serde_json (None if it fails to serialise).
    fn serde<T: Serialize + ?Sized>(&mut self, value: &T) -> Option<()> {
        let text = serde_json::to_string(value).ok()?;
        self.0.push_str(&text);
        Some(())
    }
}

fn write_quote(w: &mut Writer, q: &Quote, rates: Option<&[usize]>) -> Option<()> {
    w.raw("{\"version\":");
    w.str(q.version);
    w.raw(",\"currency\":");
    w.str(q.currency.code());
    w.raw(",\"lines\":[");
    let mut rates = rates.map(|r| r.iter());
    let mut texts = RateTexts::default();
    for (i, line) in q.lines.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        match rates.as_mut() {
            Some(rates) => write_transfer_line(w, line, rates)?,
            None => write_line(w, line, &mut texts)?,
        }
    }
    w.raw("],\"subtotal\":");
    w.int(q.subtotal);
    w.raw(",\"subtotal_excluding_tax\":");
    w.int(q.subtotal_excluding_tax);
    w.raw(",\"total_discount_amounts\":");
    write_discount_amounts(w, &q.total_discount_amounts);
    w.raw(",\"total_excluding_tax\":");
    w.int(q.total_excluding_tax);
    w.raw(",\"total_taxes\":[");
    for (i, tax) in q.total_taxes.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        write_tax(w, tax.amount, tax.taxable_amount, &tax.rate, &mut texts);
    }
    w.raw("],\"total\":");
    w.int(q.total);
    if let Some(amount) = q.rounding_amount {
        w.raw(",\"rounding_amount\":");
        w.int(amount);
    }
    if let Some(amount) = q.amount_payable {
        w.raw(",\"amount_payable\":");
        w.int(amount);
    }
    w.raw(",\"discounts\":");
    w.serde(&q.discounts)?;
    w.raw(",\"rejected_discounts\":");
    w.serde(&q.rejected_discounts)?;
    w.raw(",\"automatic_tax\":");
    w.serde(&q.automatic_tax)?;
    w.raw(",\"tax_rounding_stage\":");
    w.serde(&q.tax_rounding_stage)?;
    w.raw(",\"tax_notes\":");
    w.serde(&q.tax_notes)?;
    if !q.customer_tax_ids.is_empty() {
        w.raw(",\"customer_tax_ids\":");
        w.serde(&q.customer_tax_ids)?;
    }
    w.raw(",\"rounding\":");
    w.serde(&q.rounding)?;
    if let Some(metadata) = &q.metadata {
        w.raw(",\"metadata\":");
        w.serde(metadata)?;
    }
    w.raw("}");
    Some(())
}

fn write_line(w: &mut Writer, line: &QuoteLine, texts: &mut RateTexts) -> Option<()> {
    w.raw("{\"price\":");
    w.opt_str(line.price.as_deref());
    w.raw(",\"product\":");
    w.opt_str(line.product.as_deref());
    w.raw(",\"quantity\":");
    w.int(line.quantity);
    w.raw(",\"amount\":");
    w.int(line.amount);
    w.raw(",\"discount_amounts\":");
    write_discount_amounts(w, &line.discount_amounts);
    w.raw(",\"amount_excluding_tax\":");
    w.int(line.amount_excluding_tax);
    w.raw(",\"tax_category\":");
    w.str(&line.tax_category);
    w.raw(",\"taxes\":[");
    for (i, tax) in line.taxes.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        write_tax(w, tax.amount, tax.taxable_amount, &tax.rate, texts);
    }
    w.raw("]");
    if let Some(description) = &line.description {
        w.raw(",\"description\":");
        w.str(description);
    }
    if let Some(metadata) = &line.metadata {
        w.raw(",\"metadata\":");
        w.serde(metadata)?;
    }
    w.raw("}");
    Some(())
}

/// A line in the transfer form (see [`Quote::to_transfer_json`]).
fn write_transfer_line(
    w: &mut Writer,
    line: &QuoteLine,
    rates: &mut std::slice::Iter<usize>,
) -> Option<()> {
    w.raw("[");
    w.opt_str(line.price.as_deref());
    w.raw(",");
    w.opt_str(line.product.as_deref());
    w.raw(",");
    w.int(line.quantity);
    w.raw(",");
    w.int(line.amount);
    w.raw(",[");
    for (i, d) in line.discount_amounts.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.raw("[");
        w.str(&d.discount);
        w.raw(",");
        w.int(d.amount);
        w.raw("]");
    }
    w.raw("],");
    w.int(line.amount_excluding_tax);
    w.raw(",");
    w.str(&line.tax_category);
    w.raw(",[");
    for (i, tax) in line.taxes.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.raw("[");
        w.int(tax.amount);
        w.raw(",");
        w.int(tax.taxable_amount);
        w.raw(",");
        w.int(i64::try_from(*rates.next()?).ok()?);
        w.raw("]");
    }
    w.raw("]");
    if line.description.is_some() || line.metadata.is_some() {
        w.raw(",");
        w.opt_str(line.description.as_deref());
        if let Some(metadata) = &line.metadata {
            w.raw(",");
            w.serde(metadata)?;
        }
    }
    w.raw("]");
    Some(())
}

fn write_discount_amounts(w: &mut Writer, amounts: &[DiscountAmount]) {
    w.raw("[");
    for (i, d) in amounts.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.raw("{\"discount\":");
        w.str(&d.discount);
        w.raw(",\"amount\":");
        w.int(d.amount);
        w.raw("}");
    }
    w.raw("]");
}

/// The text of the rates written so far, by rate (the shared descriptor's address): lines taxed
/// at one rate share one descriptor (see [`SharedRate`]), whose text is written once and copied.
/// At most a few dozen are kept (a cart has few rates; past that, each is written out).
#[derive(Default)]
struct RateTexts(Vec<(*const RateDescriptor, String)>);

/// A line's `taxes[]` entry or a `total_taxes[]` entry: the amounts, then the rate's fields
/// (flattened, as `LineTax` and `TotalTax` serialise).
fn write_tax(
    w: &mut Writer,
    amount: i64,
    taxable_amount: i64,
    rate: &SharedRate,
    texts: &mut RateTexts,
) {
    w.raw("{\"amount\":");
    w.int(amount);
    w.raw(",\"taxable_amount\":");
    w.int(taxable_amount);
    let address = SharedRate::as_ptr(rate);
    if let Some((_, text)) = texts.0.iter().find(|(a, _)| *a == address) {
        w.raw(text);
        return;
    }
    let start = w.0.len();
    write_rate(w, rate);
    if texts.0.len() < 32 {
        let text = w.0.get(start..).unwrap_or_default().to_string();
        texts.0.push((address, text));
    }
}

/// A rate's fields, from `tax_rate` to the closing brace of its tax entry.
fn write_rate(w: &mut Writer, rate: &RateDescriptor) {
    w.raw(",\"tax_rate\":");
    w.opt_str(rate.tax_rate.as_deref());
    // A percentage is its normalised decimal text (digits, a point, a sign): no escapes.
    let _ = write!(w.0, ",\"percentage\":\"{}\"", rate.percentage.0.normalize());
    w.raw(",\"display_name\":");
    w.str(&rate.display_name);
    w.raw(",\"tax_type\":");
    w.str(&rate.tax_type);
    w.raw(",\"jurisdiction\":");
    w.opt_str(rate.jurisdiction.as_deref());
    w.raw(",\"country\":");
    w.opt_str(rate.country.as_deref());
    w.raw(",\"state\":");
    w.opt_str(rate.state.as_deref());
    w.raw(",\"inclusive\":");
    w.bool(rate.inclusive);
    w.raw(",\"category\":");
    w.raw(match rate.category {
        VatCategory::S => "\"S\"",
        VatCategory::Z => "\"Z\"",
        VatCategory::E => "\"E\"",
        VatCategory::AE => "\"AE\"",
        VatCategory::K => "\"K\"",
        VatCategory::G => "\"G\"",
        VatCategory::O => "\"O\"",
    });
    w.raw(",\"taxability_reason\":");
    w.opt_str(rate.taxability_reason);
    if let Some(reason) = rate.exemption_reason {
        w.raw(",\"exemption_reason\":");
        w.str(reason);
    }
    if let Some(code) = rate.exemption_reason_code {
        w.raw(",\"exemption_reason_code\":");
        w.str(code);
    }
    w.raw("}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "controls \u{0} \u{1} \u{8} \u{9} \u{a} \u{c} \u{d} \u{1f} \u{7f}",
            "accents é ü, CJK 税, emoji 🧾, line separator \u{2028}",
        ] {
            let mut w = Writer(String::new());
            w.str(s);
            assert_eq!(w.0, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}

#[cfg(test)]
mod transfer_tests {
    use serde_json::{json, Value};

    /// The JS glue's rebuilding (`quoteFromJson` in src/wasm.rs), in Rust: the transfer text
    /// must give back exactly `to_json`'s quote.
    fn rebuild(text: &str) -> Value {
        let mut q: Value = serde_json::from_str(text).unwrap();
        let totals = q["total_taxes"].clone();
        let lines: Vec<Value> = q["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let mut line = json!({
                    "price": l[0], "product": l[1], "quantity": l[2], "amount": l[3],
                    "discount_amounts": l[4].as_array().unwrap().iter()
                        .map(|d| json!({"discount": d[0], "amount": d[1]})).collect::<Vec<_>>(),
                    "amount_excluding_tax": l[5], "tax_category": l[6],
                    "taxes": l[7].as_array().unwrap().iter().map(|t| {
                        let mut tax = totals[t[2].as_u64().unwrap() as usize].clone();
                        tax["amount"] = t[0].clone();
                        tax["taxable_amount"] = t[1].clone();
                        tax
                    }).collect::<Vec<_>>(),
                });
                if l.get(8).is_some_and(|d| !d.is_null()) {
                    line["description"] = l[8].clone();
                }
                if let Some(metadata) = l.get(9) {
                    line["metadata"] = metadata.clone();
                }
                line
            })
            .collect();
        q["lines"] = Value::Array(lines);
        q
    }

    #[test]
    fn transfer_text_refers_to_total_taxes_and_rebuilds_the_quote() {
        let input: crate::QuoteInput = crate::parse::from_json(
            r#"{"currency":"eur","discounts":[{"coupon":{"id":"TEN","percent_off":10}}],"lines":[
              {"price":{"currency":"eur","unit_amount":1000},"quantity":2,"description":"Tea \"Earl\"",
               "tax_rates":[{"display_name":"VAT","percentage":20,"inclusive":false,"country":"FR"}]},
              {"price":{"currency":"eur","unit_amount":550},"metadata":{"sku":"b-2"},
               "tax_rates":[{"display_name":"VAT","percentage":5.5,"inclusive":false,"country":"FR"}]},
              {"price":{"currency":"eur","unit_amount":333},
               "tax_rates":[{"display_name":"VAT","percentage":20,"inclusive":false,"country":"FR"}]}]}"#,
        )
        .unwrap();
        let quote = crate::compute_quote(&input).unwrap();
        let text = quote.to_transfer_json();
        let lines = &serde_json::from_str::<Value>(&text).unwrap()["lines"];
        // 2000 − 200 = 1800 at 20 % → 360; 550 − 55 = 495 at 5.5 % → 27.225 → 27; 333 − 33 = 300 → 60.
        assert_eq!(
            lines,
            &json!([
                [null, null, 2, 2000, [["discounts[0]", 200]], 1800, "standard", [[360, 1800, 0]], "Tea \"Earl\""],
                [null, null, 1, 550, [["discounts[0]", 55]], 495, "standard", [[27, 495, 1]], null, {"sku": "b-2"}],
                [null, null, 1, 333, [["discounts[0]", 33]], 300, "standard", [[60, 300, 0]]]
            ])
        );
        let full: Value = serde_json::from_str(&quote.to_json()).unwrap();
        assert_eq!(rebuild(&text), full);
        assert_eq!(full["total_taxes"][0]["amount"], json!(420));
    }
}
