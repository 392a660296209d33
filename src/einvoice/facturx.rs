//! Factur-X (feature `facturx`, native only): a readable PDF/A-3b of the document, with its CII
//! XML embedded as `factur-x.xml` (AFRelationship `Alternative`, the EN 16931 profile's) and the
//! Factur-X XMP extension schema; and the reverse, the embedded XML out of a Factur-X or
//! ZUGFeRD PDF.
//!
//! The PDF is drawn with `krilla` (PDF/A-3b validated at export, fonts subset and embedded:
//! DejaVu Sans, `assets/fonts/`). krilla writes its own XMP packet; the Factur-X properties
//! (`fx:DocumentType`, `fx:DocumentFileName`, `fx:Version`, `fx:ConformanceLevel`) and their
//! PDF/A extension schema are added by an incremental update that replaces the metadata stream,
//! which PDF/A permits. Characters DejaVu Sans lacks (CJK, …) print as `?` in the visible PDF;
//! the embedded XML keeps them.

use super::model::*;
use crate::error::{Error, ErrorCode, Result};
use krilla::color::rgb;
use krilla::configure::{Archival, Configuration, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document as Pdf, SerializeSettings};
use rust_decimal::Decimal;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The two fonts, read once per process (krilla's `Font` is shared: reading and hashing the
/// 0.7 MB font files for every invoice cost more than drawing it).
struct Fonts {
    regular: Font,
    bold: Font,
    regular_ref: FontRef<'static>,
    bold_ref: FontRef<'static>,
}

fn fonts() -> Result<&'static Fonts> {
    static FONTS: std::sync::OnceLock<Option<Fonts>> = std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: Font::new(REGULAR.into(), 0)?,
                bold: Font::new(BOLD.into(), 0)?,
                regular_ref: FontRef::new(REGULAR).ok()?,
                bold_ref: FontRef::new(BOLD).ok()?,
            })
        })
        .as_ref()
        .ok_or_else(|| pdf_error("font"))
}

const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const LEFT: f32 = 40.0;
const RIGHT: f32 = WIDTH - 40.0;
const BOTTOM: f32 = HEIGHT - 50.0;

fn pdf_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDocument, "pdf", message)
}

/// Labels in the seller's language (French for a French seller, English otherwise).
struct Labels {
    french: bool,
}

impl Labels {
    fn t(&self, fr: &'static str, en: &'static str) -> &'static str {
        if self.french {
            fr
        } else {
            en
        }
    }

    fn amount(&self, value: Decimal, exponent: u32) -> String {
        let text = super::xml::amount(value, exponent);
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text.as_str()),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let (group, point) = if self.french { (' ', ',') } else { (',', '.') };
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{point}{fraction}")
        }
    }

    fn number(&self, value: Decimal) -> String {
        let text = super::xml::number(value);
        if self.french {
            text.replace('.', ",")
        } else {
            text
        }
    }

    fn date(&self, iso: &str) -> String {
        match (self.french, iso.split('-').collect::<Vec<_>>().as_slice()) {
            (true, [y, m, d]) => format!("{d}/{m}/{y}"),
            _ => iso.to_string(),
        }
    }
}

struct Writer<'a> {
    pdf: Pdf,
    fonts: &'static Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
    labels: &'a Labels,
}

/// What a page holds, drawn when the page is finished.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Rule {
        y: f32,
    },
}

impl Writer<'_> {
    /// Text with the characters the font lacks replaced (PDF/A forbids the .notdef glyph).
    fn printable(&self, text: &str, bold: bool) -> String {
        let font = if bold {
            &self.fonts.bold_ref
        } else {
            &self.fonts.regular_ref
        };
        let charmap = font.charmap();
        text.chars()
            .map(|c| {
                if c == '\n' || c == '\t' {
                    ' '
                } else if charmap.map(c).is_some() {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    }

    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold {
            &self.fonts.bold_ref
        } else {
            &self.fonts.regular_ref
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .filter_map(|c| charmap.map(c))
            .filter_map(|g| metrics.advance_width(g))
            .sum()
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn text_at(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let text = self.printable(text, bold);
        let y = self.y;
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            text,
        });
    }

    fn right_at(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let text = self.printable(text, bold);
        let x = right - self.width(&text, size, bold);
        self.text_at(x, size, bold, &text);
    }

    fn rule(&mut self) {
        let y = self.y;
        self.page().push(Op::Rule { y });
    }

    /// Moves down by `dy`, starting a new page when the bottom is reached.
    fn advance(&mut self, dy: f32) {
        self.y += dy;
        if self.y > BOTTOM {
            self.pages.push(Vec::new());
            self.y = 50.0;
        }
    }

    /// Word-wrapped text within `width`, one line per `advance`.
    fn paragraph(&mut self, x: f32, width: f32, size: f32, bold: bool, text: &str) {
        let text = self.printable(text, bold);
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size, bold) > width {
                self.text_at(x, size, bold, &line);
                self.advance(size * 1.35);
                line = word.to_string();
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            self.text_at(x, size, bold, &line);
            self.advance(size * 1.35);
        }
    }

    fn finish(mut self, document: &Document) -> Result<Vec<u8>> {
        let count = self.pages.len();
        for (n, ops) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let footer = self.printable(
                &format!(
                    "{} {} — {}/{}",
                    doc_title(document, self.labels),
                    document.number,
                    n + 1,
                    count
                ),
                false,
            );
            let x = RIGHT - self.width(&footer, 7.0, false);
            let settings =
                PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| pdf_error("page size"))?;
            let mut page = self.pdf.start_page_with(settings);
            let mut surface = page.surface();
            for op in ops {
                draw(&mut surface, self.fonts, op);
            }
            draw(
                &mut surface,
                self.fonts,
                Op::Text {
                    x,
                    y: HEIGHT - 25.0,
                    size: 7.0,
                    bold: false,
                    text: footer,
                },
            );
            surface.finish();
            page.finish();
        }
        self.pdf
            .finish()
            .map_err(|e| pdf_error(format!("the PDF/A-3 export failed: {e:?}")))
    }
}

/// The glyphs of `text`, one per character, advanced by the font's own widths: what
/// [`Writer::width`] measures, so right-aligned amounts end where they should. Every character
/// is in the font ([`Writer::printable`] replaced the others). No shaping engine: the text is
/// Latin, left to right, and reading the font's layout tables for every string (rustybuzz)
/// was a third of the render.
fn glyphs(font: &FontRef<'static>, units_per_em: f32, text: &str) -> Vec<KrillaGlyph> {
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    text.char_indices()
        .map(|(at, c)| {
            let glyph = charmap.map(c).unwrap_or_default();
            let advance = metrics.advance_width(glyph).unwrap_or(0.0) / units_per_em;
            KrillaGlyph::new(
                GlyphId::new(glyph.to_u32()),
                advance,
                0.0,
                0.0,
                0.0,
                at..at + c.len_utf8(),
                None,
            )
        })
        .collect()
}

fn draw(surface: &mut Surface, fonts: &Fonts, op: Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold: is_bold,
            text,
        } => {
            surface.set_fill(Some(Fill {
                paint: rgb::Color::new(20, 20, 20).into(),
                ..Fill::default()
            }));
            let (font, font_ref) = if is_bold {
                (&fonts.bold, &fonts.bold_ref)
            } else {
                (&fonts.regular, &fonts.regular_ref)
            };
            let glyphs = glyphs(font_ref, font.units_per_em(), &text);
            surface.draw_glyphs(
                Point::from_xy(x, y),
                &glyphs,
                font.clone(),
                &text,
                size,
                false,
            );
        }
        Op::Rule { y } => {
            let mut pb = PathBuilder::new();
            pb.move_to(LEFT, y);
            pb.line_to(RIGHT, y);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(150, 150, 150).into(),
                    width: 0.5,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
        }
    }
}

fn doc_title(d: &Document, l: &Labels) -> &'static str {
    if d.is_credit_note() {
        l.t("Avoir", "Credit note")
    } else {
        l.t("Facture", "Invoice")
    }
}

fn party_lines(p: &Party, l: &Labels) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = &p.trading_name {
        out.push(t.clone());
    }
    let a = &p.address;
    out.extend(a.line1.clone());
    out.extend(a.line2.clone());
    let city = [a.postal_code.clone(), a.city.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !city.is_empty() {
        out.push(city);
    }
    out.push(a.country.clone());
    if let Some(id) = &p.legal_id {
        let scheme = match id.scheme.as_deref() {
            Some("0002") => "SIREN",
            Some("0009") => "SIRET",
            _ => l.t("N° d'immatriculation", "Registration"),
        };
        out.push(format!("{scheme} {}", id.id));
    }
    for id in &p.ids {
        if id.scheme.as_deref() == Some("0009") {
            out.push(format!("SIRET {}", id.id));
        }
    }
    if let Some(vat) = &p.vat_id {
        out.push(format!("{} {vat}", l.t("N° TVA", "VAT")));
    }
    if let Some(info) = &p.legal_info {
        out.push(info.clone());
    }
    if let Some(c) = &p.contact {
        out.extend(c.email.clone());
        out.extend(c.phone.clone());
    }
    out
}

/// The visible invoice: parties, dates, lines, VAT breakdown, totals, payment and mentions.
fn layout(w: &mut Writer, d: &Document) {
    let l = w.labels;
    let exp = super::exponent_of(&d.currency);
    w.y = 55.0;
    w.text_at(LEFT, 13.0, true, &d.seller.name);
    w.right_at(RIGHT, 18.0, true, &doc_title(d, l).to_uppercase());
    w.advance(18.0);
    w.right_at(RIGHT, 10.0, false, &format!("N° {}", d.number));
    let top = w.y;
    for line in party_lines(&d.seller, l) {
        w.text_at(LEFT, 8.5, false, &line);
        w.advance(11.0);
    }
    let after_seller = w.y;
    w.y = top + 14.0;
    let mut facts = vec![(l.t("Date d'émission", "Issue date"), l.date(&d.issue_date))];
    if let Some(due) = &d.due_date {
        facts.push((l.t("Échéance", "Due date"), l.date(due)));
    }
    if let Some(delivery) = d.delivery.as_ref().and_then(|x| x.date.as_ref()) {
        facts.push((l.t("Date de livraison", "Delivery date"), l.date(delivery)));
    }
    if let Some(p) = &d.invoice_period {
        facts.push((
            l.t("Période", "Period"),
            format!("{} – {}", l.date(&p.start), l.date(&p.end)),
        ));
    }
    for p in &d.preceding_invoices {
        facts.push((
            l.t("Facture d'origine", "Invoice corrected"),
            p.number.clone(),
        ));
    }
    if let Some(op) = &d.business_process {
        let kind = match op.chars().next() {
            Some('B') => l.t("livraison de biens", "supply of goods"),
            Some('S') => l.t("prestation de services", "supply of services"),
            Some('M') => l.t("biens et services", "goods and services"),
            _ => "",
        };
        if !kind.is_empty() {
            facts.push((l.t("Opération", "Operation"), kind.to_string()));
        }
    }
    for (label, value) in facts {
        w.right_at(RIGHT - 95.0, 8.5, false, label);
        w.right_at(RIGHT, 8.5, true, &value);
        w.y += 11.0;
    }
    w.y = w.y.max(after_seller) + 8.0;
    // Buyer and delivery address.
    let buyer_top = w.y;
    w.text_at(LEFT, 8.0, true, l.t("FACTURÉ À", "BILL TO"));
    w.advance(12.0);
    w.text_at(LEFT, 10.0, true, &d.buyer.name);
    w.advance(12.0);
    for line in party_lines(&d.buyer, l) {
        w.text_at(LEFT, 8.5, false, &line);
        w.advance(11.0);
    }
    let after_buyer = w.y;
    if let Some(address) = d.delivery.as_ref().and_then(|x| x.address.as_ref()) {
        w.y = buyer_top;
        let x = 320.0;
        w.text_at(x, 8.0, true, l.t("LIVRÉ À", "DELIVER TO"));
        w.y += 12.0;
        if let Some(name) = d.delivery.as_ref().and_then(|x| x.name.as_ref()) {
            w.text_at(x, 8.5, false, name);
            w.y += 11.0;
        }
        let fake = Party {
            address: address.clone(),
            ..Party::default()
        };
        for line in party_lines(&fake, l) {
            w.text_at(x, 8.5, false, &line);
            w.y += 11.0;
        }
    }
    w.y = w.y.max(after_buyer) + 10.0;

    // Lines.
    let cols = [
        (365.0, l.t("Qté", "Qty")),
        (430.0, l.t("PU HT", "Unit price")),
        (470.0, l.t("TVA", "VAT")),
        (RIGHT, l.t("Montant HT", "Net amount")),
    ];
    w.text_at(LEFT, 8.0, true, l.t("Désignation", "Description"));
    for (x, label) in cols {
        w.right_at(x, 8.0, true, label);
    }
    w.advance(4.0);
    w.rule();
    w.advance(11.0);
    for line in &d.lines {
        let price = match line.base_quantity {
            Some(base) => format!("{} / {}", l.amount(line.net_price, exp), l.number(base)),
            None => l.amount(line.net_price, exp),
        };
        let vat = match line.vat.rate {
            Some(rate) => format!("{} %", l.number(rate)),
            None => line.vat.category.clone(),
        };
        w.right_at(365.0, 8.5, false, &l.number(line.quantity));
        w.right_at(430.0, 8.5, false, &price);
        w.right_at(470.0, 8.5, false, &vat);
        w.right_at(RIGHT, 8.5, false, &l.amount(line.net_amount, exp));
        w.paragraph(LEFT, 270.0, 8.5, false, &line.name);
        for text in [&line.description, &line.note].into_iter().flatten() {
            w.paragraph(LEFT + 8.0, 262.0, 7.5, false, text);
        }
        if let Some(p) = &line.period {
            w.paragraph(
                LEFT + 8.0,
                262.0,
                7.5,
                false,
                &format!("{} – {}", l.date(&p.start), l.date(&p.end)),
            );
        }
        for a in &line.allowances_charges {
            let label = match (&a.reason, a.charge) {
                (Some(r), _) => r.clone(),
                (None, true) => l.t("Majoration", "Charge").to_string(),
                (None, false) => l.t("Remise", "Allowance").to_string(),
            };
            let sign = if a.charge { "" } else { "−" };
            w.text_at(LEFT + 8.0, 7.5, false, &label);
            w.right_at(
                430.0,
                7.5,
                false,
                &format!("{sign}{}", l.amount(a.amount, exp)),
            );
            w.advance(10.0);
        }
        w.advance(3.0);
    }
    w.rule();
    w.advance(14.0);

    // VAT breakdown and totals.
    w.text_at(LEFT, 8.0, true, l.t("TVA", "VAT"));
    w.right_at(200.0, 8.0, true, l.t("Base HT", "Taxable"));
    w.right_at(270.0, 8.0, true, l.t("Montant", "Amount"));
    let totals_top = w.y;
    w.advance(12.0);
    for b in &d.vat_breakdown {
        let rate = match b.vat.rate {
            Some(rate) => format!("{} {} %", b.vat.category, l.number(rate)),
            None => b.vat.category.clone(),
        };
        w.text_at(LEFT, 8.5, false, &rate);
        w.right_at(200.0, 8.5, false, &l.amount(b.taxable_amount, exp));
        w.right_at(270.0, 8.5, false, &l.amount(b.tax_amount, exp));
        w.advance(11.0);
        if let Some(reason) = &b.exemption_reason {
            let text = match &b.exemption_code {
                Some(code) => format!("{reason} ({code})"),
                None => reason.clone(),
            };
            w.paragraph(LEFT + 8.0, 240.0, 7.5, false, &text);
        }
    }
    let after_vat = w.y;
    let t = &d.totals;
    let mut rows = vec![(
        l.t("Total HT", "Total excluding VAT"),
        t.tax_exclusive,
        false,
    )];
    if let Some(a) = t.allowance_total {
        rows.insert(0, (l.t("Remises", "Allowances"), -a, false));
    }
    if let Some(c) = t.charge_total {
        rows.insert(0, (l.t("Frais", "Charges"), c, false));
    }
    rows.push((l.t("Total TVA", "Total VAT"), t.tax_total, false));
    rows.push((
        l.t("Total TTC", "Total including VAT"),
        t.tax_inclusive,
        true,
    ));
    if let Some(p) = t.prepaid {
        rows.push((l.t("Déjà payé", "Paid"), -p, false));
    }
    if let Some(r) = t.rounding {
        rows.push((l.t("Arrondi", "Rounding"), r, false));
    }
    rows.push((
        if d.is_credit_note() {
            l.t("Montant de l'avoir", "Amount credited")
        } else {
            l.t("Net à payer", "Amount due")
        },
        t.payable,
        true,
    ));
    w.y = totals_top;
    for (label, value, strong) in rows {
        w.right_at(470.0, 9.0, strong, label);
        w.right_at(
            RIGHT,
            9.0,
            strong,
            &format!("{} {}", l.amount(value, exp), d.currency),
        );
        w.y += 13.0;
    }
    w.y = w.y.max(after_vat) + 10.0;

    // Payment.
    let mut payment = Vec::new();
    for m in &d.payment_means {
        let text = match m.code.as_str() {
            "48" | "54" | "55" => format!(
                "{} {}",
                l.t("Payée par carte", "Paid by card"),
                m.card_last4
                    .as_deref()
                    .map(|c| format!("•••• {c}"))
                    .unwrap_or_default()
            ),
            "58" | "30" => format!(
                "{} IBAN {} {}",
                l.t("Virement SEPA :", "SEPA credit transfer:"),
                m.iban.as_deref().unwrap_or(""),
                m.bic
                    .as_deref()
                    .map(|b| format!("BIC {b}"))
                    .unwrap_or_default()
            ),
            "59" => format!(
                "{} {}",
                l.t("Prélèvement SEPA, mandat", "SEPA direct debit, mandate"),
                m.mandate.as_deref().unwrap_or("")
            ),
            other => format!("{} {other}", l.t("Moyen de paiement", "Payment means")),
        };
        payment.push(text);
        if let Some(r) = &m.remittance {
            payment.push(format!(
                "{} {r}",
                l.t("Référence à rappeler :", "Payment reference:")
            ));
        }
    }
    payment.extend(d.payment_terms.clone());
    if !payment.is_empty() {
        w.text_at(LEFT, 8.0, true, l.t("PAIEMENT", "PAYMENT"));
        w.advance(11.0);
        for p in payment {
            w.paragraph(LEFT, RIGHT - LEFT, 8.0, false, &p);
        }
        w.advance(4.0);
    }
    if !d.notes.is_empty() {
        w.text_at(LEFT, 8.0, true, l.t("MENTIONS", "NOTES"));
        w.advance(11.0);
        for n in &d.notes {
            w.paragraph(LEFT, RIGHT - LEFT, 7.5, false, &n.text);
        }
    }
}

/// The Factur-X PDF/A-3b of a document: the visible invoice, `cii` (the document's CII XML)
/// embedded as `factur-x.xml`, and the Factur-X XMP. Deterministic: dates come from the
/// document (BT-2), not from a clock.
pub fn write(d: &Document, cii: &str) -> Result<Vec<u8>> {
    let labels = Labels {
        french: d.seller.address.country.eq_ignore_ascii_case("FR"),
    };
    let configuration: Configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_B)
        .finish()
        .map_err(|e| pdf_error(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    };
    let mut pdf = Pdf::new_with(settings);
    let date = chrono::NaiveDate::parse_from_str(&d.issue_date, "%Y-%m-%d").map_err(|_| {
        Error::new(
            ErrorCode::InvalidDate,
            "issue_date",
            "expected a YYYY-MM-DD date",
        )
    })?;
    use chrono::Datelike;
    let stamp = DateTime::new(date.year().clamp(0, 9999) as u16)
        .month(date.month() as u8)
        .day(date.day() as u8)
        .hour(0)
        .minute(0)
        .second(0)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    pdf.set_metadata(
        Metadata::new()
            .title(format!("{} {}", doc_title(d, &labels), d.number))
            .authors(vec![d.seller.name.clone()])
            .creator("billcalc".to_string())
            .producer("billcalc (krilla)".to_string())
            .language(if labels.french { "fr" } else { "en" }.to_string())
            .creation_date(stamp),
    );
    pdf.embed_file(EmbeddedFile {
        path: "factur-x.xml".to_string(),
        mime_type: MimeType::new("text/xml"),
        description: Some("Factur-X invoice (CII D16B, EN 16931 profile)".to_string()),
        association_kind: AssociationKind::Alternative,
        data: cii.as_bytes().to_vec().into(),
        modification_date: Some(stamp),
        compress: Some(true),
        location: None,
    })
    .ok_or_else(|| pdf_error("the XML could not be embedded"))?;
    let mut w = Writer {
        pdf,
        fonts: fonts()?,
        pages: Vec::new(),
        y: 0.0,
        labels: &labels,
    };
    layout(&mut w, d);
    let bytes = w.finish(d)?;
    let kind = if d.is_credit_note() {
        "CREDIT_NOTE"
    } else {
        "INVOICE"
    };
    add_facturx_xmp(bytes, kind)
}

/// The Factur-X XMP properties and their PDF/A extension schema (Factur-X 1.0, § 6).
fn facturx_rdf(kind: &str) -> String {
    let property = |name: &str, description: &str| {
        format!(
            "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
        )
    };
    format!(
        concat!(
            "<rdf:Description rdf:about=\"\" xmlns:fx=\"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#\">",
            "<fx:DocumentType>{kind}</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
            "<fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>",
            "<rdf:Description rdf:about=\"\" xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" ",
            "xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">",
            "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">",
            "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>",
            "<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>",
            "<pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>{p1}{p2}{p3}{p4}</rdf:Seq></pdfaSchema:property>",
            "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
        ),
        kind = kind,
        p1 = property("DocumentFileName", "The name of the embedded XML document"),
        p2 = property("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
        p3 = property("Version", "The actual version of the standard applying to the embedded XML document"),
        p4 = property("ConformanceLevel", "The conformance level of the embedded XML document"),
    )
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Replaces the XMP metadata stream through an incremental update (a new revision of the same
/// object, a one-entry cross-reference section and a trailer pointing back to the previous).
fn add_facturx_xmp(mut pdf: Vec<u8>, kind: &str) -> Result<Vec<u8>> {
    let broken = || pdf_error("unexpected PDF structure from the writer");
    let type_at = find(&pdf, b"/Type/Metadata", 0)
        .or_else(|| find(&pdf, b"/Type /Metadata", 0))
        .ok_or_else(broken)?;
    let obj_at = rfind(pdf.get(..type_at).ok_or_else(broken)?, b" 0 obj").ok_or_else(broken)?;
    let line_start = rfind(pdf.get(..obj_at).ok_or_else(broken)?, b"\n").map_or(0, |p| p + 1);
    let number: u32 = std::str::from_utf8(pdf.get(line_start..obj_at).ok_or_else(broken)?)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(broken)?;
    let stream_at = find(&pdf, b"stream\n", type_at).ok_or_else(broken)? + 7;
    let end_at = find(&pdf, b"\nendstream", stream_at).ok_or_else(broken)?;
    let xmp = String::from_utf8(pdf.get(stream_at..end_at).ok_or_else(broken)?.to_vec())
        .map_err(|_| broken())?;
    let close = xmp.rfind("</rdf:RDF>").ok_or_else(broken)?;
    let new_xmp = format!("{}{}{}", &xmp[..close], facturx_rdf(kind), &xmp[close..]);

    let startxref_at = rfind(&pdf, b"startxref").ok_or_else(broken)?;
    let previous: usize = std::str::from_utf8(pdf.get(startxref_at + 9..).ok_or_else(broken)?)
        .ok()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(broken)?;
    let trailer_at = rfind(&pdf, b"trailer").ok_or_else(broken)?;
    let dict_start = find(&pdf, b"<<", trailer_at).ok_or_else(broken)?;
    let dict_end =
        rfind(pdf.get(..startxref_at).ok_or_else(broken)?, b">>").ok_or_else(broken)? + 2;
    let trailer = String::from_utf8(
        pdf.get(dict_start + 2..dict_end - 2)
            .ok_or_else(broken)?
            .to_vec(),
    )
    .map_err(|_| broken())?;
    if trailer.contains("/Prev") || trailer.contains("/XRefStm") {
        return Err(broken());
    }

    if pdf.last() != Some(&b'\n') {
        pdf.push(b'\n');
    }
    let offset = pdf.len();
    pdf.extend_from_slice(
        format!(
            "{number} 0 obj\n<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n",
            new_xmp.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(new_xmp.as_bytes());
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_at = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n{number} 1\n{offset:010} 00000 n\r\ntrailer\n<<{} /Prev {previous} >>\nstartxref\n{xref_at}\n%%EOF\n",
            trailer.trim_end()
        )
        .as_bytes(),
    );
    Ok(pdf)
}

/// The embedded `factur-x.xml` (or ZUGFeRD `zugferd-invoice.xml` / `xrechnung.xml`) of a PDF.
pub fn extract_xml(pdf: &[u8]) -> Result<Vec<u8>> {
    let doc = lopdf::Document::load_mem(pdf)
        .map_err(|e| pdf_error(format!("not a readable PDF: {e}")))?;
    let names = [
        "factur-x.xml",
        "zugferd-invoice.xml",
        "ZUGFeRD-invoice.xml",
        "xrechnung.xml",
    ];
    for (_, object) in doc.objects.iter() {
        let Ok(dict) = object.as_dict() else { continue };
        let is_filespec = dict
            .get(b"Type")
            .and_then(|t| t.as_name())
            .is_ok_and(|n| n == b"Filespec");
        if !is_filespec {
            continue;
        }
        let name = dict
            .get(b"UF")
            .or_else(|_| dict.get(b"F"))
            .and_then(|n| n.as_str())
            .map(|s| String::from_utf8_lossy(s).to_string())
            .unwrap_or_default();
        if !names.contains(&name.as_str()) {
            continue;
        }
        let stream = dict
            .get(b"EF")
            .and_then(|ef| ef.as_dict())
            .and_then(|ef| ef.get(b"F").or_else(|_| ef.get(b"UF")))
            .and_then(|r| r.as_reference())
            .and_then(|id| doc.get_object(id))
            .and_then(|o| o.as_stream())
            .map_err(|_| pdf_error("the embedded file has no stream"))?;
        return match stream.decompressed_content() {
            Ok(content) => Ok(content),
            Err(_) => Ok(stream.content.clone()),
        };
    }
    Err(pdf_error("the PDF embeds no factur-x.xml"))
}
