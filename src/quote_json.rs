//! A quote's JSON text, written straight from the engine's structures: the hot output path of
//! `calculator.quote` (issue 12). The text is byte for byte what `serde_json::to_string` gives
//! for the same [`Quote`] (same field order, same absent fields, same escapes); the golden vector
//! runner checks that on every quote vector (tests/vectors.rs). What is written by hand is what
//! every part of a quote: lines, discount amounts and taxes, the tax breakdown, the totals, the
//! applied and rejected discounts, notes, rounding, metadata, and the invoice-line details
//! (`info`) of subscription invoices. So the browser builds link no serde serialiser for quotes
//! (issue 12); src/invoice_json.rs writes the subscription results the same way.

//!
//! The wasm package receives a shorter form of the same quote (`to_transfer`): the lines' strings
//! are one flat array in the text and their numbers a separate `Float64Array` (V8's `JSON.parse`
//! took ~20 ns per number, a third of the parse of a 20-line quote's text; a view over wasm
//! memory costs nothing per number), and each line tax refers to its rate's entry in `total_taxes` instead of
//! repeating the rate's ten fields, which made up half of the text. The package's JS glue
//! (`quoteFromParts` in src/wasm.rs) rebuilds the documented objects from it, so callers see the
//! same quote; the form is private between the wasm and its glue, not an output format. One flat
//! array, not an array per line: V8's `JSON.parse` pays for every array it creates (issue 12,
//! Node).

use crate::discount::{
    AppliedDiscount, CouponSummary, DiscountAmount, Duration, Level, Reason, RejectedDiscount,
};
use crate::quote::{Quote, QuoteLine};
use crate::rounding::{RoundingMode, RoundingPolicy};
use crate::subscription::line::{Derivation, LineInfo, LineType, Method};
use crate::tax::group::GroupIndex;
use crate::tax::{RateDescriptor, RoundingStage, SharedRate, VatCategory};
use std::collections::BTreeMap;

impl Quote {
    /// The quote as JSON text (what `serde_json::to_string(&quote)` gives, written faster).
    pub fn to_json(&self) -> String {
        self.write(None)
    }

    /// The quote's transfer form for the wasm package's JS glue (see the module docs): the
    /// lines' numbers, the count of lines first, then each line's in turn: `price, product,
    /// quantity, amount, d, (discount, amount) × d, amount_excluding_tax, tax_category, t,
    /// (amount, taxable_amount, i) × t, k (, description (, metadata))`, where every string
    /// (`price`, `product`, `discount`, `tax_category`, `description`, `metadata`) is its
    /// position in the text's `lines`, a table of the lines' strings (null included) in which a
    /// string recently written is not written again; `i` is the position of the tax's rate in
    /// `total_taxes` and `k` the count of the optional values (0, 1 or 2); everything else as in
    /// `to_json`. The numbers cross as a `Float64Array` over wasm memory, not as text: every
    /// integer the engine writes is what `JSON.parse` of its digits gives (both round to the
    /// nearest double), and V8's `JSON.parse` took ~20 ns for each number and ~60 ns for each
    /// string (issue 12, Node).
    /// Falls back to `to_json`'s text (lines as objects, no numbers) when a line tax's rate is
    /// not in `total_taxes`, which the tax stage never produces.
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "quotes")), allow(dead_code))]
    pub(crate) fn to_transfer(&self) -> Transfer {
        match rate_positions(self) {
            Some(positions) => {
                let mut numbers = Vec::with_capacity(1 + 16 * self.lines.len());
                let text = self.write(Some(&mut TransferLines {
                    rates: &positions,
                    numbers: &mut numbers,
                }));
                Transfer { text, numbers }
            }
            None => Transfer {
                text: self.to_json(),
                numbers: Vec::new(),
            },
        }
    }

    fn write(&self, transfer: Option<&mut TransferLines>) -> String {
        // Lines with invoice details (subscription invoices) are written as objects.
        let transfer = transfer.filter(|_| self.lines.iter().all(|l| l.info.is_none()));
        // About 420 bytes per line with one tax, 40 in the transfer form (issue 12's cart).
        let per_line = if transfer.is_some() { 60 } else { 480 };
        let mut out = Writer::with_capacity(1024 + per_line * self.lines.len());
        write_quote_fields(&mut out, self, transfer);
        out.raw("}");
        out.into_string()
    }
}

/// A quote in its transfer form (see [`Quote::to_transfer`]).
#[cfg_attr(not(all(target_arch = "wasm32", feature = "quotes")), allow(dead_code))]
pub(crate) struct Transfer {
    pub(crate) text: String,
    pub(crate) numbers: Vec<f64>,
}

/// Where the transfer form's lines go: each line tax's rate position (from `rate_positions`,
/// in order) and the numbers written so far.
pub(crate) struct TransferLines<'a> {
    rates: &'a [usize],
    numbers: &'a mut Vec<f64>,
}

/// The transfer form's table of strings: the last few distinct strings written, with their
/// positions. A cart's lines repeat their tax category and discount ids, and price ids from a
/// catalog of a few dozen; a string found here is written once (V8's `JSON.parse` took ~60 ns
/// per string, the writer's look-up a few comparisons of lengths).
#[derive(Default)]
struct Strings<'a> {
    /// The string, its position, when it was last used.
    recent: [(Option<&'a str>, u32, u32); 8],
    filled: usize,
    count: u32,
    clock: u32,
}

impl<'a> Strings<'a> {
    /// The position of `s` in the table, writing it when it is not among the recent ones (which
    /// then forget the least recently used). Not inlined: one copy for its six callers.
    #[inline(never)]
    fn position(&mut self, w: &mut Writer, s: Option<&'a str>) -> f64 {
        self.clock += 1;
        let recent = &mut self.recent[..self.filled];
        if let Some(entry) = recent.iter_mut().find(|(t, _, _)| *t == s) {
            entry.2 = self.clock;
            return f64::from(entry.1);
        }
        let at = self.push(w);
        w.opt_str(s);
        let slot = if self.filled < self.recent.len() {
            self.filled += 1;
            self.filled - 1
        } else {
            let oldest = self.recent.iter().enumerate().min_by_key(|(_, e)| e.2);
            oldest.map_or(0, |(i, _)| i)
        };
        self.recent[slot] = (s, at, self.clock);
        f64::from(at)
    }

    /// A new entry's position; its value is written next (a comma before all but the first).
    fn push(&mut self, w: &mut Writer) -> u32 {
        if self.count > 0 {
            w.raw(",");
        }
        self.count += 1;
        self.count - 1
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

/// JSON text being written (shared with the subscription results' writer, src/invoice_json.rs).
/// Bytes, made a `String` once at the end: every byte written comes from a `&str` or is ASCII,
/// and pushing bytes skips `String::push`'s per-character encoding (digits were a tenth of a
/// quote's text to text, issue 12).
#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Writer {
        Writer(Vec::with_capacity(capacity))
    }

    /// The text written. Always valid UTF-8 (see above); the lossy conversion is never taken.
    pub(crate) fn into_string(self) -> String {
        String::from_utf8(self.0)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Literal JSON (keys and punctuation known to need no escape).
    pub(crate) fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn int(&mut self, n: i64) {
        // Digits by hand: `write!` goes through `core::fmt` (a tenth of `to_json`'s time).
        if n < 0 {
            self.0.push(b'-');
        }
        push_u64(&mut self.0, n.unsigned_abs());
    }

    pub(crate) fn usize(&mut self, n: usize) {
        push_u64(&mut self.0, n as u64);
    }

    /// `{"start":…,"end":…}` (a `Period`).
    pub(crate) fn period(&mut self, start: i64, end: i64) {
        self.raw("{\"start\":");
        self.int(start);
        self.raw(",\"end\":");
        self.int(end);
        self.raw("}");
    }

    /// An integer or `null`.
    pub(crate) fn opt_int(&mut self, n: Option<i64>) {
        match n {
            Some(n) => self.int(n),
            None => self.raw("null"),
        }
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    /// A JSON string, escaped as serde_json escapes (`"`, `\`, and control characters; the
    /// common ones as `\n`…, the others as `\u00XX`; everything else verbatim).
    pub(crate) fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        // Nearly every string (ids, codes, names) has nothing to escape: one check of its bytes,
        // then one copy. The byte-by-byte loop was a tenth of a 20-line quote's
        // text to text (issue 12).
        if needs_escape(bytes) {
            self.escaped(bytes);
            return;
        }
        self.0.reserve(bytes.len() + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(bytes);
        self.0.push(b'"');
    }

    /// [`Writer::str`] for a string with at least one byte to escape: runs of plain bytes copied
    /// whole, each escape written in between.
    #[cold]
    fn escaped(&mut self, bytes: &[u8]) {
        self.0.push(b'"');
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
            self.0
                .extend_from_slice(bytes.get(start..i).unwrap_or_default());
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.extend_from_slice(b"\\u00");
                self.0.push(HEX[usize::from(b >> 4)]);
                self.0.push(HEX[usize::from(b & 15)]);
            } else {
                self.0.extend_from_slice(escape.as_bytes());
            }
            start = i + 1;
        }
        self.0
            .extend_from_slice(bytes.get(start..).unwrap_or_default());
        self.0.push(b'"');
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    /// An object's fields in order, each written after its key (see [`Fields`]).
    pub(crate) fn object(&mut self) -> Fields<'_> {
        self.raw("{");
        Fields {
            w: self,
            first: true,
        }
    }

    /// A string-to-string map (metadata) in key order, as serde_json writes a `BTreeMap`.
    pub(crate) fn map(&mut self, map: &BTreeMap<String, String>) {
        let mut o = self.object();
        for (key, value) in map {
            o.w.raw(if o.first { "" } else { "," });
            o.first = false;
            o.w.str(key);
            o.w.raw(":");
            o.w.str(value);
        }
        o.end();
    }

    pub(crate) fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
        self.raw("[");
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            item(self, x);
        }
        self.raw("]");
    }
}

/// Whether any byte of `bytes` is one that JSON strings escape: a control character (below
/// 0x20), `"` or `\`. No early exit, so the compiler may test several bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Writes `"key":` before each field of an object, with the commas between them, for objects
/// whose first field may be absent (serde's `skip_serializing_if`).
pub(crate) struct Fields<'w> {
    w: &'w mut Writer,
    first: bool,
}

impl Fields<'_> {
    /// Starts a field; `key` is a known field name (ASCII, nothing to escape).
    pub(crate) fn key(&mut self, key: &str) -> &mut Writer {
        self.w.raw(if self.first { "\"" } else { ",\"" });
        self.first = false;
        self.w.raw(key);
        self.w.raw("\":");
        self.w
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) {
        self.key(key).str(value);
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) {
        self.key(key).int(value);
    }

    pub(crate) fn opt_int(&mut self, key: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.int(key, value);
        }
    }

    pub(crate) fn opt_line(&mut self, value: Option<usize>) {
        if let Some(line) = value {
            self.key("line").usize(line);
        }
    }

    pub(crate) fn end(self) {
        self.w.raw("}");
    }
}

/// The decimal `mantissa / 10^scale` as rust_decimal's `Display` writes it (`-0.05`, `19`,
/// `9.975`, `12.00`): digits by hand, no `core::fmt`. The checkout wasm's only decimal text
/// (a tax rate's percentage, `decimalAmount`).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn push_decimal(out: &mut String, mantissa: i128, scale: u32) {
    let mut bytes = Vec::with_capacity(44);
    write_decimal(&mut bytes, mantissa, scale);
    out.push_str(std::str::from_utf8(&bytes).unwrap_or_default());
}

/// [`push_decimal`] into a [`Writer`]'s bytes.
fn write_decimal(out: &mut Vec<u8>, mantissa: i128, scale: u32) {
    if mantissa < 0 {
        out.push(b'-');
    }
    push_digits(out, mantissa.unsigned_abs(), scale);
}

/// The digits of `n`, in 64-bit arithmetic (the `u128` path below divides through a library
/// call per digit: a tenth of a quote's text before).
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// The digits of `n / 10^scale`: at least one digit before the point, `scale` digits after it.
fn push_digits(out: &mut Vec<u8>, mut n: u128, scale: u32) {
    // u128::MAX has 39 digits; a scale beyond 38 is not a decimal (rust_decimal's is <= 28).
    let scale = scale.min(38) as usize;
    let mut digits = [0u8; 40];
    let mut len = 0;
    while len < digits.len() {
        if let Some(slot) = digits.get_mut(len) {
            *slot = b'0' + (n % 10) as u8;
        }
        len += 1;
        n /= 10;
        if n == 0 && len > scale {
            break;
        }
    }
    for (i, &d) in digits.iter().take(len).enumerate().rev() {
        out.push(d);
        if i == scale && scale > 0 {
            out.push(b'.');
        }
    }
}

/// A quote's object without its closing brace (an invoice continues it with its own fields).
pub(crate) fn write_quote_fields(w: &mut Writer, q: &Quote, transfer: Option<&mut TransferLines>) {
    w.raw("{\"version\":");
    w.str(q.version);
    w.raw(",\"currency\":");
    w.str(q.currency.code());
    w.raw(",\"lines\":[");
    let mut texts = RateTexts::default();
    match transfer {
        Some(transfer) => {
            // The transfer form: the lines' numbers apart, their strings' table here.
            transfer.numbers.push(q.lines.len() as f64);
            let mut rates = transfer.rates.iter();
            let mut strings = Strings::default();
            for line in &q.lines {
                write_transfer_line(w, transfer.numbers, &mut strings, line, &mut rates);
            }
        }
        None => {
            for (i, line) in q.lines.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                write_line(w, line, &mut texts);
            }
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
    w.list(&q.discounts, write_applied);
    w.raw(",\"rejected_discounts\":");
    w.list(&q.rejected_discounts, write_rejected);
    w.raw(",\"automatic_tax\":{\"enabled\":");
    w.bool(q.automatic_tax.enabled);
    if let Some(status) = q.automatic_tax.status {
        w.raw(",\"status\":");
        w.str(status);
    }
    w.raw("},\"tax_rounding_stage\":");
    w.raw(match q.tax_rounding_stage {
        RoundingStage::Line => "\"line\"",
        RoundingStage::Invoice => "\"invoice\"",
    });
    w.raw(",\"tax_notes\":");
    w.list(&q.tax_notes, |w, note| {
        let mut o = w.object();
        o.str("code", note.code);
        o.str("text", note.text);
        o.opt_str("customer_tax_id", note.customer_tax_id.as_deref());
        o.opt_str("territory", note.territory);
        o.end();
    });
    if !q.customer_tax_ids.is_empty() {
        w.raw(",\"customer_tax_ids\":");
        w.list(&q.customer_tax_ids, |w, id| {
            let mut o = w.object();
            o.str("type", &id.kind);
            o.str("value", &id.value);
            o.end();
        });
    }
    w.raw(",\"rounding\":");
    write_rounding(w, &q.rounding);
    if let Some(metadata) = &q.metadata {
        w.raw(",\"metadata\":");
        w.map(metadata);
    }
}

pub(crate) fn write_rounding(w: &mut Writer, policy: &RoundingPolicy) {
    w.raw("{\"mode\":");
    w.raw(match policy.mode {
        RoundingMode::HalfUp => "\"half_up\"",
        RoundingMode::HalfEven => "\"half_even\"",
        RoundingMode::Up => "\"up\"",
        RoundingMode::Down => "\"down\"",
        RoundingMode::Ceiling => "\"ceiling\"",
        RoundingMode::Floor => "\"floor\"",
    });
    if let Some(increment) = policy.increment {
        w.raw(",\"increment\":");
        w.int(increment);
    }
    w.raw("}");
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Item => "item",
        Level::Order => "order",
    }
}

/// A `discounts[]` entry (field order and absent fields as `AppliedDiscount` serialises).
fn write_applied(w: &mut Writer, d: &AppliedDiscount) {
    let mut o = w.object();
    o.str("id", &d.id);
    o.str("level", level(d.level));
    o.opt_line(d.line);
    if let Some(coupon) = &d.coupon {
        write_coupon(o.key("coupon"), coupon);
    }
    if let Some(code) = &d.promotion_code {
        let mut c = o.key("promotion_code").object();
        c.opt_str("id", code.id.as_deref());
        c.str("code", &code.code);
        c.opt_int("max_redemptions", code.max_redemptions);
        c.end();
    }
    if let Some(promotion) = &d.promotion {
        let mut p = o.key("promotion").object();
        p.str("id", &promotion.id);
        p.opt_str("name", promotion.name.as_deref());
        p.end();
    }
    o.int("amount", d.amount);
    o.opt_int("unused_amount", d.unused_amount);
    o.end();
}

fn write_coupon(w: &mut Writer, c: &CouponSummary) {
    let mut o = w.object();
    o.opt_str("id", c.id.as_deref());
    o.opt_str("name", c.name.as_deref());
    if let Some(percent) = &c.percent_off {
        let percent = percent.0.normalize();
        let w = o.key("percent_off");
        w.raw("\"");
        write_decimal(&mut w.0, percent.mantissa(), percent.scale());
        w.raw("\"");
    }
    o.opt_int("amount_off", c.amount_off);
    o.opt_int("max_discount_amount", c.max_discount_amount);
    o.opt_str("currency", c.currency.map(|c| c.code()));
    o.str(
        "duration",
        match c.duration {
            Duration::Once => "once",
            Duration::Repeating => "repeating",
            Duration::Forever => "forever",
        },
    );
    o.opt_int("duration_in_months", c.duration_in_months);
    o.opt_int("redeem_by", c.redeem_by);
    o.opt_int("max_redemptions", c.max_redemptions);
    o.end();
}

/// A `rejected_discounts[]` entry (as `RejectedDiscount` serialises).
fn write_rejected(w: &mut Writer, d: &RejectedDiscount) {
    let mut o = w.object();
    o.str("id", &d.id);
    o.str("level", level(d.level));
    o.opt_line(d.line);
    o.opt_str("coupon", d.coupon.as_deref());
    o.opt_str("promotion_code", d.promotion_code.as_deref());
    o.opt_str("promotion", d.promotion.as_deref());
    o.str("reason", reason(d.reason));
    o.opt_int("missing_amount", d.missing_amount);
    o.opt_int("missing_quantity", d.missing_quantity);
    if !d.conflicts_with.is_empty() {
        o.key("conflicts_with")
            .list(&d.conflicts_with, |w, id| w.str(id));
    }
    o.end();
}

/// A rejection reason's code (serde's `snake_case` of the variant).
fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::UnknownCode => "unknown_code",
        Reason::Duplicate => "duplicate",
        Reason::Inactive => "inactive",
        Reason::NotYetValid => "not_yet_valid",
        Reason::Expired => "expired",
        Reason::CustomerMismatch => "customer_mismatch",
        Reason::FirstTimeOnly => "first_time_only",
        Reason::CurrencyMismatch => "currency_mismatch",
        Reason::NotApplicableToCart => "not_applicable_to_cart",
        Reason::MinimumQuantityNotMet => "minimum_quantity_not_met",
        Reason::MinimumNotMet => "minimum_not_met",
        Reason::NotCombinable => "not_combinable",
        Reason::DurationEnded => "duration_ended",
    }
}

fn write_line(w: &mut Writer, line: &QuoteLine, texts: &mut RateTexts) {
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
        w.map(metadata);
    }
    if let Some(info) = &line.info {
        write_line_info(w, info);
    }
    w.raw("}");
}

/// An invoice line's details, flattened into the line (as `QuoteLine` serialises `info`).
fn write_line_info(w: &mut Writer, info: &LineInfo) {
    w.raw(",\"type\":");
    w.raw(match info.kind {
        LineType::Subscription => "\"subscription\"",
        LineType::Proration => "\"proration\"",
        LineType::Usage => "\"usage\"",
        LineType::Invoiceitem => "\"invoiceitem\"",
        LineType::MinimumCommitment => "\"minimum_commitment\"",
    });
    w.raw(",\"subscription_item\":");
    w.opt_str(info.subscription_item.as_deref());
    w.raw(",\"period\":");
    w.period(info.period.start, info.period.end);
    w.raw(",\"proration\":");
    w.bool(info.proration);
    w.raw(",\"discountable\":");
    w.bool(info.discountable);
    w.raw(",\"derivation\":");
    match &info.derivation {
        Some(d) => write_derivation(w, d),
        None => w.raw("null"),
    }
}

fn write_derivation(w: &mut Writer, d: &Derivation) {
    use crate::price::AggregateUsage;
    let mut o = w.object();
    o.str(
        "method",
        match d.method {
            Method::Price => "price",
            Method::PartialPeriod => "partial_period",
            Method::Proration => "proration",
            Method::Usage => "usage",
            Method::Trial => "trial",
            Method::MinimumCommitment => "minimum_commitment",
        },
    );
    o.opt_int("quantity", d.quantity);
    o.opt_str("full_period_amount", d.full_period_amount.as_deref());
    o.opt_int("seconds", d.seconds);
    o.opt_int("seconds_in_period", d.seconds_in_period);
    o.opt_int("days", d.days);
    o.opt_int("days_in_period", d.days_in_period);
    let usage = d.aggregate_usage.map(|a| match a {
        AggregateUsage::Sum => "sum",
        AggregateUsage::Max => "max",
        AggregateUsage::Last => "last",
        AggregateUsage::Count => "count",
    });
    o.opt_str("aggregate_usage", usage);
    o.opt_int("records", d.records);
    o.opt_int("records_outside_period", d.records_outside_period);
    o.opt_int("commitment", d.commitment);
    o.opt_int("measured", d.measured);
    o.str("unrounded", &d.unrounded);
    write_rounding(o.key("rounding"), &d.rounding);
    o.end();
}

/// A line in the transfer form (see [`Quote::to_transfer`]): its numbers pushed, its strings
/// through the table.
fn write_transfer_line<'q>(
    w: &mut Writer,
    numbers: &mut Vec<f64>,
    strings: &mut Strings<'q>,
    line: &'q QuoteLine,
    rates: &mut std::slice::Iter<usize>,
) {
    // Minor units and counts as doubles, rounded to nearest like `JSON.parse` of their digits.
    let price = strings.position(w, line.price.as_deref());
    let product = strings.position(w, line.product.as_deref());
    numbers.extend([price, product, line.quantity as f64, line.amount as f64]);
    numbers.push(line.discount_amounts.len() as f64);
    for d in &line.discount_amounts {
        let discount = strings.position(w, Some(&d.discount));
        numbers.extend([discount, d.amount as f64]);
    }
    let category = strings.position(w, Some(&line.tax_category));
    numbers.extend([line.amount_excluding_tax as f64, category]);
    numbers.push(line.taxes.len() as f64);
    for tax in &line.taxes {
        // `rate_positions` gave one position per line tax, in this order.
        let rate = rates.next().copied().unwrap_or_default();
        numbers.extend([tax.amount as f64, tax.taxable_amount as f64, rate as f64]);
    }
    match (&line.description, &line.metadata) {
        (None, None) => numbers.push(0.0),
        (description, None) => {
            let description = strings.position(w, description.as_deref());
            numbers.extend([1.0, description]);
        }
        (description, Some(metadata)) => {
            let description = strings.position(w, description.as_deref());
            let at = strings.push(w);
            w.map(metadata);
            numbers.extend([2.0, description, f64::from(at)]);
        }
    }
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
struct RateTexts(Vec<(*const RateDescriptor, Vec<u8>)>);

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
        w.0.extend_from_slice(text);
        return;
    }
    let start = w.0.len();
    write_rate(w, rate);
    if texts.0.len() < 32 {
        let text = w.0.get(start..).unwrap_or_default().to_vec();
        texts.0.push((address, text));
    }
}

/// A rate's fields, from `tax_rate` to the closing brace of its tax entry.
fn write_rate(w: &mut Writer, rate: &RateDescriptor) {
    w.raw(",\"tax_rate\":");
    w.opt_str(rate.tax_rate.as_deref());
    // A percentage is its normalised decimal text (digits, a point, a sign): no escapes.
    let percentage = rate.percentage.0.normalize();
    w.raw(",\"percentage\":\"");
    write_decimal(&mut w.0, percentage.mantissa(), percentage.scale());
    w.raw("\"");
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

    /// Every ASCII byte value at every position of a 17-byte string: escaped exactly when
    /// serde_json escapes it.
    #[test]
    fn every_byte_needing_an_escape_is_found_at_every_position() {
        for byte in 0u8..0x80 {
            for at in 0..17 {
                let mut text = vec![b'a'; 17];
                text[at] = byte;
                let s = std::str::from_utf8(&text).unwrap();
                let mut w = Writer::default();
                w.str(s);
                assert_eq!(
                    w.into_string(),
                    serde_json::to_string(s).unwrap(),
                    "{byte} at {at}"
                );
                let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                assert_eq!(needs_escape(&text), expected, "{byte} at {at}");
            }
        }
        // Multi-byte characters (bytes >= 0x80) never need an escape.
        assert!(!needs_escape("é税🧾\u{2028}\u{7f}ÿ".as_bytes()));
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "controls \u{0} \u{1} \u{8} \u{9} \u{a} \u{c} \u{d} \u{1f} \u{7f}",
            "accents é ü, CJK 税, emoji 🧾, line separator \u{2028}",
        ] {
            let mut w = Writer::default();
            w.str(s);
            assert_eq!(w.into_string(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    /// `push_decimal` writes what rust_decimal's `Display` writes, for every scale, both signs,
    /// zeros with a scale, the extremes.
    #[test]
    fn decimals_are_written_like_rust_decimal_display() {
        use rust_decimal::Decimal;
        let mut mantissas: Vec<i64> = vec![0, 1, 5, 9, 10, 19, 99, 100, 101, 9975, 123456, 1000];
        mantissas.extend([
            i64::MAX,
            i64::MAX / 7,
            4_294_967_296,
            10_000_000_000_000_000,
        ]);
        for m in mantissas {
            for sign in [1, -1] {
                for scale in 0..=28 {
                    let d = Decimal::new(m * sign, scale);
                    for d in [d, d.normalize()] {
                        let mut out = String::new();
                        push_decimal(&mut out, d.mantissa(), d.scale());
                        assert_eq!(out, d.to_string(), "{m} {sign} {scale}");
                    }
                }
            }
        }
        for d in [
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
        ] {
            let mut out = String::new();
            push_decimal(&mut out, d.mantissa(), d.scale());
            assert_eq!(out, d.to_string());
        }
    }

    /// Every code written by hand is serde's name of the variant (the vectors cover the common
    /// ones; this covers every variant).
    #[test]
    fn codes_are_serdes_names() {
        use crate::discount::{Duration, Level, Reason};
        let json = |v: &dyn erased::Ser| v.text();
        for r in [
            Reason::UnknownCode,
            Reason::Duplicate,
            Reason::Inactive,
            Reason::NotYetValid,
            Reason::Expired,
            Reason::CustomerMismatch,
            Reason::FirstTimeOnly,
            Reason::CurrencyMismatch,
            Reason::NotApplicableToCart,
            Reason::MinimumQuantityNotMet,
            Reason::MinimumNotMet,
            Reason::NotCombinable,
            Reason::DurationEnded,
        ] {
            assert_eq!(json(&r), format!("\"{}\"", reason(r)));
        }
        for l in [Level::Item, Level::Order] {
            assert_eq!(json(&l), format!("\"{}\"", level(l)));
        }
        for d in [Duration::Once, Duration::Repeating, Duration::Forever] {
            let c = CouponSummary {
                id: None,
                name: None,
                percent_off: None,
                amount_off: None,
                max_discount_amount: None,
                currency: None,
                duration: d,
                duration_in_months: None,
                redeem_by: None,
                max_redemptions: None,
            };
            let mut w = Writer::default();
            write_coupon(&mut w, &c);
            assert_eq!(w.into_string(), serde_json::to_string(&c).unwrap());
        }
        for mode in [
            RoundingMode::HalfUp,
            RoundingMode::HalfEven,
            RoundingMode::Up,
            RoundingMode::Down,
            RoundingMode::Ceiling,
            RoundingMode::Floor,
        ] {
            for increment in [None, Some(5)] {
                let policy = RoundingPolicy { mode, increment };
                let mut w = Writer::default();
                write_rounding(&mut w, &policy);
                assert_eq!(w.into_string(), serde_json::to_string(&policy).unwrap());
            }
        }
    }

    /// The invoice-line details' codes, every variant.
    #[test]
    fn line_info_codes_are_serdes_names() {
        use crate::price::AggregateUsage;
        use crate::subscription::line::Period;
        let kinds = [
            LineType::Subscription,
            LineType::Proration,
            LineType::Usage,
            LineType::Invoiceitem,
            LineType::MinimumCommitment,
        ];
        let methods = [
            Method::Price,
            Method::PartialPeriod,
            Method::Proration,
            Method::Usage,
            Method::Trial,
            Method::MinimumCommitment,
        ];
        let usages = [
            None,
            Some(AggregateUsage::Sum),
            Some(AggregateUsage::Max),
            Some(AggregateUsage::Last),
            Some(AggregateUsage::Count),
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let method = methods[i % methods.len()];
            let usage = usages[i % usages.len()];
            let mut derivation = Derivation::new(
                method,
                rust_decimal::Decimal::new(-1005, 1),
                RoundingPolicy::default(),
            );
            derivation.aggregate_usage = usage;
            derivation.seconds = Some(i as i64);
            let info = LineInfo {
                kind,
                subscription_item: (i % 2 == 0).then(|| "si_\"1".to_string()),
                period: Period { start: 1, end: 2 },
                proration: i % 2 == 1,
                discountable: i % 3 == 0,
                derivation: (i != 4).then_some(derivation),
            };
            let mut w = Writer::default();
            write_line_info(&mut w, &info);
            let serde = serde_json::to_string(&info).unwrap();
            assert_eq!(format!("{{{}}}", &w.into_string()[1..]), serde);
        }
        for method in methods {
            let d = Derivation::new(
                method,
                rust_decimal::Decimal::ONE,
                RoundingPolicy::default(),
            );
            let mut w = Writer::default();
            write_derivation(&mut w, &d);
            assert_eq!(w.into_string(), serde_json::to_string(&d).unwrap());
        }
    }

    mod erased {
        pub trait Ser {
            fn text(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn text(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }

    #[test]
    fn integers_are_written_like_serde_json() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            4_503_599_627_370_495,
            i64::MAX,
            i64::MIN,
        ] {
            let mut w = Writer::default();
            w.int(n);
            assert_eq!(w.into_string(), serde_json::to_string(&n).unwrap());
        }
    }
}

#[cfg(test)]
mod transfer_tests {
    use serde_json::{json, Value};

    /// The JS glue's rebuilding (`quoteFromParts` in src/wasm.rs), in Rust: the transfer form
    /// must give back exactly `to_json`'s quote.
    fn rebuild(transfer: &super::Transfer) -> Value {
        let mut q: Value = serde_json::from_str(&transfer.text).unwrap();
        let totals = q["total_taxes"].clone();
        let table = q["lines"].as_array().unwrap().clone();
        let mut numbers = transfer.numbers.iter();
        let mut n = || *numbers.next().unwrap();
        let s = |i: f64| table[i as usize].clone();
        // What `JSON.parse` would give for the number (an integer below 2^53 here).
        let v = |x: f64| json!(x as i64);
        let count = n() as usize;
        let mut lines = Vec::new();
        for _ in 0..count {
            let (price, product) = (s(n()), s(n()));
            let (quantity, amount) = (v(n()), v(n()));
            let discounts: Vec<Value> = (0..n() as usize)
                .map(|_| json!({"discount": s(n()), "amount": v(n())}))
                .collect();
            let (amount_excluding_tax, tax_category) = (v(n()), s(n()));
            let taxes: Vec<Value> = (0..n() as usize)
                .map(|_| {
                    let (amount, taxable_amount, i) = (v(n()), v(n()), n() as usize);
                    let mut tax = totals[i].clone();
                    tax["amount"] = amount;
                    tax["taxable_amount"] = taxable_amount;
                    tax
                })
                .collect();
            let mut line = json!({
                "price": price, "product": product, "quantity": quantity, "amount": amount,
                "discount_amounts": discounts, "amount_excluding_tax": amount_excluding_tax,
                "tax_category": tax_category, "taxes": taxes,
            });
            let optional = n() as usize;
            if optional > 0 {
                let description = s(n());
                if !description.is_null() {
                    line["description"] = description;
                }
                if optional > 1 {
                    line["metadata"] = s(n());
                }
            }
            lines.push(line);
        }
        assert!(numbers.next().is_none(), "numbers left after the last line");
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
        let transfer = quote.to_transfer();
        let lines = &serde_json::from_str::<Value>(&transfer.text).unwrap()["lines"];
        // Each string once: the lines' null price and product ids, the discount, the category.
        assert_eq!(
            lines,
            &json!([null, "discounts[0]", "standard", "Tea \"Earl\"", {"sku": "b-2"}])
        );
        // 2000 − 200 = 1800 at 20 % → 360; 550 − 55 = 495 at 5.5 % → 27.225 → 27; 333 − 33 = 300 → 60.
        #[rustfmt::skip]
        let numbers = [
            3.0,
            0.0, 0.0, 2.0, 2000.0, 1.0, 1.0, 200.0, 1800.0, 2.0, 1.0, 360.0, 1800.0, 0.0, 1.0, 3.0,
            0.0, 0.0, 1.0, 550.0, 1.0, 1.0, 55.0, 495.0, 2.0, 1.0, 27.0, 495.0, 1.0, 2.0, 0.0, 4.0,
            0.0, 0.0, 1.0, 333.0, 1.0, 1.0, 33.0, 300.0, 2.0, 1.0, 60.0, 300.0, 0.0, 0.0,
        ];
        assert_eq!(transfer.numbers, numbers);
        let full: Value = serde_json::from_str(&quote.to_json()).unwrap();
        assert_eq!(rebuild(&transfer), full);
        assert_eq!(full["total_taxes"][0]["amount"], json!(420));
    }
}
