//! A quote's JSON text, written straight from the engine's structures: the hot output path of
//! `calculator.quote` (issue 12). The text is byte for byte what `serde_json::to_string` gives
//! for the same [`Quote`] (same field order, same absent fields, same escapes); the golden vector
//! runner checks that on every quote vector (tests/vectors.rs). What is written by hand is what
//! every quote repeats per line: lines, their discount amounts and taxes, the tax breakdown, the
//! totals. The rest (applied and rejected discounts, notes, rounding, metadata) goes through
//! serde_json, and a quote carrying invoice-line details (`info`, never on quotes) is serialised
//! by serde_json whole.

use crate::discount::DiscountAmount;
use crate::quote::{Quote, QuoteLine};
use crate::tax::{RateDescriptor, VatCategory};
use serde::Serialize;
use std::fmt::Write as _;

impl Quote {
    /// The quote as JSON text (what `serde_json::to_string(&quote)` gives, written faster).
    pub fn to_json(&self) -> String {
        if self.lines.iter().any(|l| l.info.is_some()) {
            return serde_json::to_string(self).unwrap_or_default();
        }
        // About 420 bytes per line with one tax (measured on issue 12's checkout cart).
        let mut out = Writer(String::with_capacity(1024 + 480 * self.lines.len()));
        match write_quote(&mut out, self) {
            Some(()) => out.0,
            None => serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

struct Writer(String);

impl Writer {
    /// Literal JSON (keys and punctuation known to need no escape).
    fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn int(&mut self, n: i64) {
        let _ = write!(self.0, "{n}");
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

fn write_quote(w: &mut Writer, q: &Quote) -> Option<()> {
    w.raw("{\"version\":");
    w.str(q.version);
    w.raw(",\"currency\":");
    w.str(q.currency.code());
    w.raw(",\"lines\":[");
    for (i, line) in q.lines.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        write_line(w, line)?;
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
        write_tax(w, tax.amount, tax.taxable_amount, &tax.rate);
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

fn write_line(w: &mut Writer, line: &QuoteLine) -> Option<()> {
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
        write_tax(w, tax.amount, tax.taxable_amount, &tax.rate);
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

/// A line's `taxes[]` entry or a `total_taxes[]` entry: the amounts, then the rate's fields
/// (flattened, as `LineTax` and `TotalTax` serialise).
fn write_tax(w: &mut Writer, amount: i64, taxable_amount: i64, rate: &RateDescriptor) {
    w.raw("{\"amount\":");
    w.int(amount);
    w.raw(",\"taxable_amount\":");
    w.int(taxable_amount);
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
