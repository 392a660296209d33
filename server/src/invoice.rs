//! Invoice documents: built once when a charge succeeds, stored as JSON, never recomputed (a
//! later catalog change does not alter an issued invoice), and rendered as HTML.
//!
//! When the seller is French (`seller.address.country` = `FR`) the document carries the
//! mandatory mentions (REFERENCE §4): seller's and buyer's names and addresses, SIREN/SIRET,
//! legal form and capital, RCS, VAT numbers (the buyer's too when it has one), the unique
//! sequential number and issue date, the date of sale, quantity, description, unit price
//! excluding VAT and discounts per line, VAT rate and amount per rate, totals excluding and
//! including VAT, the due date and early-payment terms, the late-payment penalty rate, the
//! fixed 40 € recovery indemnity for business buyers, « TVA non applicable, article 293 B du
//! CGI » for a seller under the franchise, and the reverse-charge statement when it applies.

use crate::config::{InvoiceSettings, SellerInfo};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceDocument {
    pub id: String,
    pub object: String,
    pub number: String,
    pub series: String,
    pub status: String,
    pub created: i64,
    pub issue_date: String,
    /// The date of the sale (the charge's).
    pub sale_date: String,
    pub due_date: String,
    pub currency: String,
    pub subtotal: i64,
    pub total_excluding_tax: i64,
    pub total_tax: i64,
    pub total: i64,
    /// The cash rounding of what was paid (EN 16931 BT-114), when the rounding policy has an
    /// increment: `amount_paid = total + rounding_amount` for a paid one-off invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding_amount: Option<i64>,
    pub amount_paid: i64,
    pub locale: String,
    pub seller: SellerInfo,
    pub customer: BillingCustomer,
    pub lines: Vec<InvoiceLine>,
    pub taxes: Vec<InvoiceTax>,
    pub discounts: Vec<InvoiceDiscount>,
    pub payment: Option<PaymentInfo>,
    pub terms: InvoiceSettings,
    /// Statements the invoice carries (French mentions, tax notes), in print order.
    pub legal_mentions: Vec<String>,
    pub as_of: String,
    pub engine_version: String,
    /// The engine's quote (for a subscription invoice: the engine's invoice), as computed when
    /// the invoice was issued.
    pub quote: Value,
    /// Set on invoices a subscription issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionInvoiceInfo>,
    /// The EN 16931 e-invoices rendered at issue (Factur-X PDF, CII, UBL) with their SHA-256
    /// (`crate::einvoice`); absent when the invoice has no EN 16931 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub einvoice: Option<crate::einvoice::StoredEinvoice>,
}

/// What a subscription invoice adds: the subscription, why it was issued, the period it
/// closes, and how the customer's balance settled against it (negative balance: credit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInvoiceInfo {
    pub id: String,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    pub billing_reason: String,
    pub period_start: i64,
    pub period_end: i64,
    /// The service the invoice bills: the earliest line start and the latest line end.
    pub service_start: i64,
    pub service_end: i64,
    pub starting_balance: i64,
    pub amount_due: i64,
    pub ending_balance: i64,
    /// An amount due below the currency's minimum charge, carried to the balance instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_to_balance: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BillingCustomer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Value>,
    #[serde(default)]
    pub tax_ids: Vec<String>,
}

impl BillingCustomer {
    /// A business buyer: it declared a company or a tax id.
    pub fn is_business(&self) -> bool {
        self.company.is_some() || !self.tax_ids.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: i64,
    /// Unit price excluding tax, exact, in major units (`"12.5"`).
    pub unit_price_excluding_tax: String,
    /// Before discounts, as priced (tax-inclusive when the price is).
    pub amount: i64,
    pub discount_amount: i64,
    pub amount_excluding_tax: i64,
    /// e.g. `["20 %"]`.
    pub tax_rates: Vec<String>,
    pub tax_amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceTax {
    pub display_name: String,
    pub percentage: String,
    pub category: String,
    pub taxable_amount: i64,
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceDiscount {
    pub description: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentInfo {
    pub id: String,
    pub amount: i64,
    pub status: String,
    pub method: String,
    pub paid_at: i64,
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn exponent(currency: &str) -> u32 {
    billcalc::Currency::parse(currency, "")
        .map(|c| c.exponent())
        .unwrap_or(2)
}

/// An exact decimal in major units: 1250 cents → `12.5`.
fn major(minor: Decimal, currency: &str) -> Decimal {
    let mut d = minor;
    let _ = d.set_scale(d.scale() + exponent(currency));
    d.normalize()
}

/// Parameters the document needs besides the quote.
pub struct Issue<'a> {
    pub id: &'a str,
    pub number: &'a str,
    pub series: &'a str,
    pub created: i64,
    pub seller: &'a SellerInfo,
    pub terms: &'a InvoiceSettings,
    pub customer: BillingCustomer,
    pub payment: Option<PaymentInfo>,
    pub as_of: &'a str,
    pub quote: &'a Value,
    /// Product names by id, for line descriptions.
    pub product_name: &'a dyn Fn(&str) -> Option<String>,
    /// `paid`, or `open` when an amount due was not collected.
    pub status: &'a str,
    pub subscription: Option<SubscriptionInvoiceInfo>,
}

pub fn build(issue: Issue) -> InvoiceDocument {
    let q = issue.quote;
    let currency = text(q, "currency").unwrap_or_default();
    let french = issue.seller.address.country.eq_ignore_ascii_case("FR");
    let empty = Vec::new();
    let lines: Vec<InvoiceLine> = q
        .get("lines")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|l| {
            let amount = int(l, "amount");
            let quantity = int(l, "quantity");
            let discount: i64 = l
                .get("discount_amounts")
                .and_then(Value::as_array)
                .map_or(0, |d| d.iter().map(|x| int(x, "amount")).sum());
            let net = int(l, "amount_excluding_tax");
            let taxes = l.get("taxes").and_then(Value::as_array).unwrap_or(&empty);
            let inclusive = taxes
                .iter()
                .any(|t| t.get("inclusive").and_then(Value::as_bool) == Some(true));
            // Unit price excluding tax: the priced amount per unit, without any inclusive tax.
            let unit_minor = if quantity == 0 {
                Decimal::ZERO
            } else if inclusive && amount - discount > 0 {
                Decimal::from(amount) * Decimal::from(net)
                    / Decimal::from(amount - discount)
                    / Decimal::from(quantity)
            } else {
                Decimal::from(amount) / Decimal::from(quantity)
            };
            let description = text(l, "description")
                .or_else(|| text(l, "product").and_then(|p| (issue.product_name)(&p)))
                .or_else(|| text(l, "price"))
                .unwrap_or_default();
            InvoiceLine {
                description,
                quantity,
                unit_price_excluding_tax: major(unit_minor.round_dp(6), &currency).to_string(),
                amount,
                discount_amount: discount,
                amount_excluding_tax: net,
                tax_rates: taxes
                    .iter()
                    .filter_map(|t| text(t, "percentage"))
                    .map(|p| format!("{p} %"))
                    .collect(),
                tax_amount: taxes.iter().map(|t| int(t, "amount")).sum(),
            }
        })
        .collect();
    let taxes: Vec<InvoiceTax> = q
        .get("total_taxes")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|t| InvoiceTax {
            display_name: text(t, "display_name").unwrap_or_default(),
            percentage: text(t, "percentage").unwrap_or_default(),
            category: text(t, "category").unwrap_or_default(),
            taxable_amount: int(t, "taxable_amount"),
            amount: int(t, "amount"),
            exemption_reason: text(t, "exemption_reason"),
        })
        .collect();
    let discounts = q
        .get("discounts")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|d| {
            let name = d
                .get("promotion_code")
                .and_then(|p| text(p, "code"))
                .map(|c| format!("Code {c}"))
                .or_else(|| {
                    d.get("coupon")
                        .and_then(|c| text(c, "name").or_else(|| text(c, "id")))
                })
                .or_else(|| {
                    d.get("promotion")
                        .and_then(|p| text(p, "name").or_else(|| text(p, "id")))
                })
                .unwrap_or_else(|| text(d, "id").unwrap_or_default());
            InvoiceDiscount {
                description: name,
                amount: int(d, "amount"),
            }
        })
        .collect();
    let total = int(q, "total");
    let total_excluding_tax = int(q, "total_excluding_tax");
    let date = crate::clock::date(issue.created);
    let mut mentions = Vec::new();
    let tax_notes = q
        .get("tax_notes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let reverse_charge = tax_notes
        .iter()
        .any(|n| text(n, "code").as_deref() == Some("reverse_charge"));
    if french {
        if issue.seller.vat_franchise {
            mentions.push("TVA non applicable, article 293 B du CGI".to_string());
        }
        if reverse_charge {
            mentions.push(
                "Autoliquidation : TVA due par le preneur (article 283-2 du CGI, article 196 de la directive 2006/112/CE)".to_string(),
            );
        }
        match &issue.subscription {
            Some(sub) => mentions.push(format!(
                "Abonnement {} — période de service du {} au {}",
                sub.id,
                crate::clock::date(sub.service_start),
                crate::clock::date(sub.service_end)
            )),
            None => mentions.push(format!("Date de la vente : {date}")),
        }
        if issue.status == "paid" {
            mentions.push(format!(
                "Date d'échéance : {date} — facture acquittée le {date}"
            ));
        } else {
            mentions.push(format!("Date d'échéance : {date}"));
        }
        mentions.push(
            issue
                .terms
                .early_payment_discount
                .clone()
                .unwrap_or_else(|| "Escompte pour paiement anticipé : néant".into()),
        );
        mentions.push(
            issue.terms.late_payment_penalty.clone().unwrap_or_else(|| {
                "Pénalités de retard : trois fois le taux d'intérêt légal".into()
            }),
        );
        if issue.customer.is_business() {
            mentions.push(
                "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €".into(),
            );
        }
    } else {
        if let Some(sub) = &issue.subscription {
            mentions.push(format!(
                "Subscription {}: service from {} to {}",
                sub.id,
                crate::clock::date(sub.service_start),
                crate::clock::date(sub.service_end)
            ));
        }
        if reverse_charge {
            mentions.push("Reverse charge: VAT to be accounted for by the recipient".into());
        }
    }
    for note in tax_notes {
        if let Some(t) = text(note, "text") {
            if !(french
                && reverse_charge
                && text(note, "code").as_deref() == Some("reverse_charge"))
            {
                mentions.push(t);
            }
        }
    }
    if let Some(terms) = &issue.terms.payment_terms {
        mentions.push(terms.clone());
    }
    InvoiceDocument {
        id: issue.id.to_string(),
        object: "invoice".into(),
        number: issue.number.to_string(),
        series: issue.series.to_string(),
        status: issue.status.to_string(),
        created: issue.created,
        issue_date: date.clone(),
        sale_date: date.clone(),
        due_date: date,
        currency,
        subtotal: int(q, "subtotal"),
        total_excluding_tax,
        total_tax: total - total_excluding_tax,
        total,
        rounding_amount: q.get("rounding_amount").and_then(Value::as_i64),
        amount_paid: issue.payment.as_ref().map_or(0, |p| p.amount),
        locale: if french { "fr" } else { "en" }.into(),
        seller: issue.seller.clone(),
        customer: issue.customer,
        lines,
        taxes,
        discounts,
        payment: issue.payment,
        terms: issue.terms.clone(),
        legal_mentions: mentions,
        as_of: issue.as_of.to_string(),
        engine_version: billcalc::VERSION.to_string(),
        quote: q.clone(),
        subscription: issue.subscription,
        einvoice: None,
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Formats a decimal string for the locale: `1234.5` → fr `1 234,50`, en `1,234.50`, with at
/// least `min_decimals` decimals.
fn format_decimal(d: Decimal, min_decimals: u32, french: bool) -> String {
    let mut d = d.normalize();
    if d.scale() < min_decimals {
        d.rescale(min_decimals);
    }
    let s = d.abs().to_string();
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let (group, point) = if french {
        ('\u{202f}', ',')
    } else {
        (',', '.')
    };
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let mut out = String::new();
    if d.is_sign_negative() && !d.is_zero() {
        out.push('-');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push(point);
        out.push_str(&f);
    }
    out
}

pub fn format_money(minor: i64, currency: &str, french: bool) -> String {
    let exp = exponent(currency);
    let number = format_decimal(major(Decimal::from(minor), currency), exp, french);
    let symbol = if currency.eq_ignore_ascii_case("eur") {
        "€".to_string()
    } else {
        currency.to_ascii_uppercase()
    };
    format!("{number}\u{a0}{symbol}")
}

fn format_unit(unit: &str, currency: &str, french: bool) -> String {
    let exp = exponent(currency);
    let d: Decimal = unit.parse().unwrap_or(Decimal::ZERO);
    let symbol = if currency.eq_ignore_ascii_case("eur") {
        "€".to_string()
    } else {
        currency.to_ascii_uppercase()
    };
    format!("{}\u{a0}{symbol}", format_decimal(d, exp, french))
}

fn address_lines(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["line1", "line2"] {
        if let Some(s) = text(v, key) {
            out.push(s);
        }
    }
    let city = [text(v, "postal_code"), text(v, "city")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !city.is_empty() {
        out.push(city);
    }
    if let Some(s) = text(v, "state") {
        out.push(s);
    }
    if let Some(s) = text(v, "country") {
        out.push(s.to_ascii_uppercase());
    }
    out
}

struct Labels {
    title: &'static str,
    number: &'static str,
    issued: &'static str,
    seller: &'static str,
    buyer: &'static str,
    description: &'static str,
    quantity: &'static str,
    unit_price: &'static str,
    discount: &'static str,
    net: &'static str,
    vat_rate: &'static str,
    vat: &'static str,
    base: &'static str,
    amount: &'static str,
    total_net: &'static str,
    total_tax: &'static str,
    total: &'static str,
    rounding: &'static str,
    paid: &'static str,
    vat_number: &'static str,
    discounts: &'static str,
    starting_balance: &'static str,
    amount_due: &'static str,
}

const FR: Labels = Labels {
    title: "Facture",
    number: "Facture n°",
    issued: "Date d'émission",
    seller: "Vendeur",
    buyer: "Client",
    description: "Désignation",
    quantity: "Qté",
    unit_price: "P.U. HT",
    discount: "Remise",
    net: "Montant HT",
    vat_rate: "TVA",
    vat: "TVA",
    base: "Base HT",
    amount: "Montant",
    total_net: "Total HT",
    total_tax: "Total TVA",
    total: "Total TTC",
    rounding: "Arrondi",
    paid: "Payé",
    vat_number: "N° TVA intracommunautaire",
    discounts: "Remises",
    starting_balance: "Solde client appliqué",
    amount_due: "Montant dû",
};

const EN: Labels = Labels {
    title: "Invoice",
    number: "Invoice no.",
    issued: "Issue date",
    seller: "Seller",
    buyer: "Bill to",
    description: "Description",
    quantity: "Qty",
    unit_price: "Unit price excl. tax",
    discount: "Discount",
    net: "Amount excl. tax",
    vat_rate: "Tax",
    vat: "Tax",
    base: "Taxable amount",
    amount: "Amount",
    total_net: "Total excl. tax",
    total_tax: "Total tax",
    total: "Total",
    rounding: "Rounding",
    paid: "Paid",
    vat_number: "VAT number",
    discounts: "Discounts",
    starting_balance: "Customer balance applied",
    amount_due: "Amount due",
};

/// The invoice as a standalone HTML page.
pub fn render_html(doc: &InvoiceDocument) -> String {
    let french = doc.locale == "fr";
    let l = if french { &FR } else { &EN };
    let money = |m: i64| escape(&format_money(m, &doc.currency, french));
    let e = |s: &str| escape(s);
    let mut h = String::with_capacity(8192);
    h.push_str("<!doctype html>\n<html lang=\"");
    h.push_str(if french { "fr" } else { "en" });
    h.push_str("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!("<title>{} {}</title>", l.title, e(&doc.number)));
    h.push_str("<style>body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:1.5rem auto;padding:0 1rem;color:#111}table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}td.n,th.n{text-align:right;white-space:nowrap}.parties{display:flex;gap:2rem;flex-wrap:wrap}.parties section{flex:1 1 16rem}.totals{margin-left:auto;width:auto;min-width:18rem}.mentions{font-size:.85rem;color:#333}h1{margin-bottom:.2rem}</style></head><body>\n");
    h.push_str(&format!(
        "<h1>{}</h1><p id=\"invoice-number\">{} <strong>{}</strong><br>{} : {}</p>\n",
        l.title,
        l.number,
        e(&doc.number),
        l.issued,
        e(&doc.issue_date)
    ));
    // Parties.
    let s = &doc.seller;
    h.push_str("<div class=\"parties\"><section id=\"seller\"><h2>");
    h.push_str(l.seller);
    h.push_str("</h2><p><strong>");
    h.push_str(&e(&s.name));
    h.push_str("</strong>");
    if let Ok(address) = serde_json::to_value(&s.address) {
        for line in address_lines(&address) {
            h.push_str("<br>");
            h.push_str(&e(&line));
        }
    }
    let mut legal = Vec::new();
    match (&s.legal_form, &s.share_capital) {
        (Some(form), Some(capital)) if french => {
            legal.push(format!("{form} au capital de {capital}"))
        }
        (Some(form), Some(capital)) => legal.push(format!("{form}, share capital {capital}")),
        (Some(form), None) => legal.push(form.clone()),
        _ => {}
    }
    if let Some(v) = &s.siren {
        legal.push(format!("SIREN {v}"));
    }
    if let Some(v) = &s.siret {
        legal.push(format!("SIRET {v}"));
    }
    if let Some(v) = &s.rcs {
        legal.push(v.clone());
    }
    if let Some(v) = &s.vat_number {
        legal.push(format!("{} : {v}", l.vat_number));
    }
    if let Some(v) = &s.email {
        legal.push(v.clone());
    }
    for item in legal {
        h.push_str("<br>");
        h.push_str(&e(&item));
    }
    h.push_str("</p></section><section id=\"buyer\"><h2>");
    h.push_str(l.buyer);
    h.push_str("</h2><p>");
    let c = &doc.customer;
    let mut first = true;
    let mut line = |h: &mut String, text: &str, strong: bool| {
        if !first {
            h.push_str("<br>");
        }
        first = false;
        if strong {
            h.push_str(&format!("<strong>{}</strong>", e(text)));
        } else {
            h.push_str(&e(text));
        }
    };
    if let Some(v) = &c.company {
        line(&mut h, v, true);
    }
    if let Some(v) = &c.name {
        line(&mut h, v, c.company.is_none());
    }
    if let Some(a) = &c.address {
        for l in address_lines(a) {
            line(&mut h, &l, false);
        }
    }
    for id in &c.tax_ids {
        line(&mut h, &format!("{} : {id}", l.vat_number), false);
    }
    if let Some(v) = &c.email {
        line(&mut h, v, false);
    }
    h.push_str("</p></section></div>\n");
    // Lines.
    h.push_str(&format!(
        "<table id=\"lines\"><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        l.description, l.quantity, l.unit_price, l.discount, l.vat_rate, l.net
    ));
    for line in &doc.lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            e(&line.description),
            line.quantity,
            e(&format_unit(&line.unit_price_excluding_tax, &doc.currency, french)),
            if line.discount_amount == 0 { String::new() } else { format!("−{}", money(line.discount_amount)) },
            e(&line.tax_rates.join(" + ").replace('.', if french { "," } else { "." })),
            money(line.amount_excluding_tax)
        ));
    }
    h.push_str("</tbody></table>\n");
    if !doc.discounts.is_empty() {
        h.push_str(&format!("<p id=\"discounts\">{} : ", l.discounts));
        let items: Vec<String> = doc
            .discounts
            .iter()
            .map(|d| format!("{} (−{})", e(&d.description), money(d.amount)))
            .collect();
        h.push_str(&items.join(", "));
        h.push_str("</p>\n");
    }
    // VAT breakdown.
    h.push_str(&format!(
        "<table id=\"taxes\"><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        l.vat, l.base, l.amount
    ));
    for t in &doc.taxes {
        let pct = if french {
            t.percentage.replace('.', ",")
        } else {
            t.percentage.clone()
        };
        let name = if french && t.display_name == "VAT" {
            "TVA"
        } else {
            t.display_name.as_str()
        };
        let mut label = format!("{name} {pct} % ({})", t.category);
        if let Some(reason) = &t.exemption_reason {
            label.push_str(&format!(" — {reason}"));
        }
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            e(&label),
            money(t.taxable_amount),
            money(t.amount)
        ));
    }
    h.push_str("</tbody></table>\n");
    // Cash rounding (EN 16931 BT-114) between the total and what was paid, when there is one.
    let rounding_row = match doc.rounding_amount {
        Some(r) => format!(
            "<tr><th>{}</th><td class=\"n\" id=\"rounding-amount\">{}</td></tr>",
            l.rounding,
            money(r)
        ),
        None => String::new(),
    };
    h.push_str(&format!(
        "<table class=\"totals\" id=\"totals\"><tr><th>{}</th><td class=\"n\" id=\"total-excluding-tax\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"total-tax\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"total\"><strong>{}</strong></td></tr>{}<tr><th>{}</th><td class=\"n\" id=\"amount-paid\">{}</td></tr></table>\n",
        l.total_net,
        money(doc.total_excluding_tax),
        l.total_tax,
        money(doc.total_tax),
        l.total,
        money(doc.total),
        rounding_row,
        l.paid,
        money(doc.amount_paid)
    ));
    if let Some(sub) = &doc.subscription {
        h.push_str(&format!(
            "<table class=\"totals\" id=\"balance\"><tr><th>{}</th><td class=\"n\" id=\"starting-balance\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"amount-due\">{}</td></tr></table>\n",
            l.starting_balance,
            money(sub.starting_balance),
            l.amount_due,
            money(sub.amount_due)
        ));
    }
    if !doc.legal_mentions.is_empty() {
        h.push_str("<section class=\"mentions\" id=\"mentions\"><ul>");
        for m in &doc.legal_mentions {
            h.push_str(&format!("<li>{}</li>", e(m)));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(format_money(123456, "eur", true), "1\u{202f}234,56\u{a0}€");
        assert_eq!(format_money(-5, "eur", true), "-0,05\u{a0}€");
        assert_eq!(format_money(1235, "jpy", false), "1,235\u{a0}JPY");
        assert_eq!(format_unit("0.005", "eur", true), "0,005\u{a0}€");
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
