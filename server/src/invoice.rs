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
    pub einvoice: Option<StoredEinvoice>,
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
    /// Where physical goods go when not to the billing address: `{name, address}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Value>,
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

impl PaymentInfo {
    /// A card payment the gateway took, as the invoice document shows it.
    pub fn card(charge: &crate::gateway::GatewayCharge, paid_at: i64) -> PaymentInfo {
        PaymentInfo {
            id: charge.id.clone(),
            amount: charge.amount,
            status: "succeeded".into(),
            method: format!("card {} •••• {}", charge.brand, charge.last4),
            paid_at,
        }
    }
}

/// The `payments` row of a card payment the gateway took for an invoice (charges, subscription
/// invoices, dunning attempts).
pub fn payment_record(
    charge: &crate::gateway::GatewayCharge,
    invoice_id: &str,
    currency: &str,
    gateway: &str,
    created_at: i64,
) -> crate::store::PaymentRecord {
    crate::store::PaymentRecord {
        id: charge.id.clone(),
        invoice_id: invoice_id.to_string(),
        amount: charge.amount,
        currency: currency.to_string(),
        status: "succeeded".into(),
        gateway: gateway.to_string(),
        card_brand: Some(charge.brand.clone()),
        card_last4: Some(charge.last4.clone()),
        created_at,
    }
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
    /// The engine's quote or invoice (JSON); owned when the caller has no further use for it,
    /// so the document takes it without a copy.
    pub quote: std::borrow::Cow<'a, Value>,
    /// Product names by id, for line descriptions.
    pub product_name: &'a dyn Fn(&str) -> Option<String>,
    /// `paid`, or `open` when an amount due was not collected.
    pub status: &'a str,
    pub subscription: Option<SubscriptionInvoiceInfo>,
}

pub fn build(issue: Issue) -> InvoiceDocument {
    let quote = issue.quote;
    let q: &Value = &quote;
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
    // Dates in the mentions are written in words in the invoice's language ("2 mars 2026").
    let in_words =
        |unix: i64| crate::invoice_words::date_in_words(&crate::clock::date(unix), french);
    let date_words = in_words(issue.created);
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
        } else if issue.seller.vat_on_debits {
            mentions.push(billcalc::einvoice::french::VAT_ON_DEBITS.to_string());
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
                in_words(sub.service_start),
                in_words(sub.service_end)
            )),
            None => mentions.push(format!("Date de la vente : {date_words}")),
        }
        if issue.status == "paid" {
            mentions.push(format!(
                "Date d'échéance : {date_words} — facture acquittée le {date_words}"
            ));
        } else {
            mentions.push(format!("Date d'échéance : {date_words}"));
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
                in_words(sub.service_start),
                in_words(sub.service_end)
            ));
        }
        if reverse_charge {
            mentions.push("Reverse charge: VAT to be accounted for by the recipient".into());
        }
    }
    for note in tax_notes {
        let code = text(note, "code");
        // The reverse-charge statement is already among the mentions, in the invoice's language.
        if reverse_charge && code.as_deref() == Some("reverse_charge") {
            continue;
        }
        // The engine writes its notes in English, and the intra-Community mention in the tax
        // origin's language; the invoice says them in its own language (the seller's).
        let worded = match (french, code.as_deref()) {
            (true, Some("intra_community_supply")) => Some(
                "Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire de biens ; article 138 de la directive 2006/112/CE)".to_string(),
            ),
            (false, Some("intra_community_supply")) => Some(
                "Exempt intra-Community supply of goods (Article 138 of Directive 2006/112/EC)"
                    .to_string(),
            ),
            (true, Some("special_territory")) => Some(format!(
                "Territoire à régime de TVA particulier : {}",
                crate::invoice_words::territory_fr(&text(note, "territory").unwrap_or_default())
            )),
            (true, Some("tax_id_ignored")) => Some(
                "Numéro de TVA du client non valable : facturé comme à un particulier".to_string(),
            ),
            _ => None,
        };
        if let Some(t) = worded.or_else(|| text(note, "text")) {
            mentions.push(t);
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
        quote: quote.into_owned(),
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
    with_symbol(&number, currency, french)
}

pub fn format_unit(unit: &str, currency: &str, french: bool) -> String {
    let exp = exponent(currency);
    let d: Decimal = unit.parse().unwrap_or(Decimal::ZERO);
    with_symbol(&format_decimal(d, exp, french), currency, french)
}

/// The currency beside a formatted number, where each language writes it (as CLDR's fr and en
/// patterns do): French after it (`12,50 €`), English before it (`€12.50`, `-€0.05`); a currency
/// without a symbol here is written by its ISO 4217 code (`1 235 JPY`, `JPY 1,235`).
fn with_symbol(number: &str, currency: &str, french: bool) -> String {
    let symbol = if currency.eq_ignore_ascii_case("eur") {
        "€".to_string()
    } else {
        currency.to_ascii_uppercase()
    };
    if french {
        return format!("{number}\u{a0}{symbol}");
    }
    let (sign, digits) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let gap = if symbol.chars().count() > 1 {
        "\u{a0}"
    } else {
        ""
    };
    format!("{sign}{symbol}{gap}{digits}")
}

/// One rendered file: its bytes (base64 for the PDF) and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    pub sha256: String,
    pub size: usize,
    /// UTF-8 text for XML, base64 for the PDF.
    pub content: String,
}

/// An invoice's (or credit note's) e-invoice as stored in its document: rendered once by
/// `crate::einvoice`, never again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEinvoice {
    pub pdf: StoredFile,
    pub cii: StoredFile,
    pub ubl: StoredFile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(format_money(123456, "eur", true), "1\u{202f}234,56\u{a0}€");
        assert_eq!(format_money(-5, "eur", true), "-0,05\u{a0}€");
        assert_eq!(format_money(1235, "jpy", false), "JPY\u{a0}1,235");
        assert_eq!(format_money(123456, "eur", false), "€1,234.56");
        assert_eq!(format_money(-5, "eur", false), "-€0.05");
        assert_eq!(format_unit("0.005", "eur", true), "0,005\u{a0}€");
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
