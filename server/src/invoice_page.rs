//! The hosted invoice page: an issued `InvoiceDocument` as HTML in the shop's look (the demo
//! shop's `www/shop.css`, inlined), readable on a phone (no horizontal scroll at 375 px: the lines
//! table becomes one card per line), printable (a print stylesheet), in the document's language
//! (French for a French seller, English otherwise) with dates and countries in words and taxes
//! said in words rather than EN 16931 category letters (the XML carries those). After a payment
//! the page can show a confirmation: the card's brand and last four digits and a link back to the
//! shop (`?confirmation=1&return_url=/path`).

use crate::invoice::{escape, format_money, format_unit, InvoiceDocument, InvoiceTax};
use crate::invoice_words::date_in_words;
use serde_json::Value;

/// What the hosted page adds around the document (none of it is stored in the invoice).
#[derive(Debug, Default, Clone)]
pub struct Hosted {
    /// Show the "payment received" confirmation (the checkout's redirect asks for it).
    pub confirmation: bool,
    /// Where "back to the shop" goes: a path on this origin (`/`, `/shop/`), never another site.
    pub return_url: Option<String>,
    /// The same invoice in other formats, `(label, href)`: PDF, Factur-X, UBL, CII.
    pub documents: Vec<(String, String)>,
}

impl Hosted {
    /// Reads `confirmation` and `return_url` from the query string; a return URL that is not a
    /// plain path on this origin (`//evil.example`, `https://…`, `/\evil`) is dropped.
    pub fn from_query(query: Option<&str>) -> Hosted {
        let param = |name: &str| {
            query?
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(crate::statics::percent_decode)
        };
        let return_url = param("return_url").filter(|u| {
            u.starts_with('/')
                && !u.starts_with("//")
                && !u.contains('\\')
                && !u.chars().any(char::is_control)
        });
        Hosted {
            confirmation: param("confirmation").as_deref() == Some("1"),
            return_url,
            documents: Vec::new(),
        }
    }
}

struct Labels {
    title: &'static str,
    number: &'static str,
    issued: &'static str,
    seller: &'static str,
    buyer: &'static str,
    ship_to: &'static str,
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
    paid: &'static str,
    vat_number: &'static str,
    discounts: &'static str,
    starting_balance: &'static str,
    amount_due: &'static str,
    rounding: &'static str,
    status_paid: &'static str,
    status_open: &'static str,
    thanks: &'static str,
    paid_with: &'static str,
    receipt_sent: &'static str,
    back: &'static str,
    other_formats: &'static str,
}

const FR: Labels = Labels {
    title: "Facture",
    number: "Facture n°",
    issued: "Date d'émission",
    seller: "Vendeur",
    buyer: "Client",
    ship_to: "Livraison à",
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
    paid: "Payé",
    vat_number: "N° TVA intracommunautaire",
    discounts: "Remises",
    starting_balance: "Solde client appliqué",
    amount_due: "Montant dû",
    rounding: "Arrondi",
    status_paid: "Payée",
    status_open: "À régler",
    thanks: "Merci, votre paiement est reçu.",
    paid_with: "Payé par",
    receipt_sent: "Un reçu est envoyé à",
    back: "Retour à la boutique",
    other_formats: "Facture électronique (EN 16931) :",
};

const EN: Labels = Labels {
    title: "Invoice",
    number: "Invoice no.",
    issued: "Issue date",
    seller: "Seller",
    buyer: "Bill to",
    ship_to: "Ship to",
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
    paid: "Paid",
    vat_number: "VAT number",
    discounts: "Discounts",
    starting_balance: "Customer balance applied",
    amount_due: "Amount due",
    rounding: "Rounding",
    status_paid: "Paid",
    status_open: "Due",
    thanks: "Thank you, your payment was received.",
    paid_with: "Paid with",
    receipt_sent: "A receipt is on its way to",
    back: "Back to the shop",
    other_formats: "Electronic invoice (EN 16931):",
};

fn labels(french: bool) -> &'static Labels {
    if french {
        &FR
    } else {
        &EN
    }
}

/// Country names (ISO 3166-1 alpha-2) in French and English, for addresses on the invoice: the
/// EU, its neighbours and the places the demo shop sells to. Unknown codes stay as codes.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("AT", "Autriche", "Austria"),
    ("AU", "Australie", "Australia"),
    ("BE", "Belgique", "Belgium"),
    ("BG", "Bulgarie", "Bulgaria"),
    ("CA", "Canada", "Canada"),
    ("CH", "Suisse", "Switzerland"),
    ("CY", "Chypre", "Cyprus"),
    ("CZ", "Tchéquie", "Czechia"),
    ("DE", "Allemagne", "Germany"),
    ("DK", "Danemark", "Denmark"),
    ("EE", "Estonie", "Estonia"),
    ("ES", "Espagne", "Spain"),
    ("FI", "Finlande", "Finland"),
    ("FR", "France", "France"),
    ("GB", "Royaume-Uni", "United Kingdom"),
    ("GR", "Grèce", "Greece"),
    ("HR", "Croatie", "Croatia"),
    ("HU", "Hongrie", "Hungary"),
    ("IE", "Irlande", "Ireland"),
    ("IS", "Islande", "Iceland"),
    ("IT", "Italie", "Italy"),
    ("JP", "Japon", "Japan"),
    ("LI", "Liechtenstein", "Liechtenstein"),
    ("LT", "Lituanie", "Lithuania"),
    ("LU", "Luxembourg", "Luxembourg"),
    ("LV", "Lettonie", "Latvia"),
    ("MC", "Monaco", "Monaco"),
    ("MT", "Malte", "Malta"),
    ("NL", "Pays-Bas", "Netherlands"),
    ("NO", "Norvège", "Norway"),
    ("NZ", "Nouvelle-Zélande", "New Zealand"),
    ("PL", "Pologne", "Poland"),
    ("PT", "Portugal", "Portugal"),
    ("RO", "Roumanie", "Romania"),
    ("SE", "Suède", "Sweden"),
    ("SG", "Singapour", "Singapore"),
    ("SI", "Slovénie", "Slovenia"),
    ("SK", "Slovaquie", "Slovakia"),
    ("US", "États-Unis", "United States"),
];

pub fn country_name(code: &str, french: bool) -> String {
    let upper = code.to_ascii_uppercase();
    COUNTRIES
        .iter()
        .find(|(c, _, _)| *c == upper)
        .map_or(upper, |(_, fr, en)| {
            if french { fr } else { en }.to_string()
        })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// An address as lines: street, postal code and city, state, the country in words.
fn address_lines(v: &Value, french: bool) -> Vec<String> {
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
        out.push(country_name(&s, french));
    }
    out
}

/// A percentage for the page: `5.5` → `5,5 %` (French) or `5.5%` (English).
fn percent(p: &str, french: bool) -> String {
    if french {
        format!("{} %", p.replace('.', ","))
    } else {
        format!("{p}%")
    }
}

/// One VAT breakdown row's label: the tax and its rate, or for a tax-free category what it is.
fn tax_label(t: &InvoiceTax, french: bool) -> String {
    let zero = t.amount == 0;
    let words = match (t.category.as_str(), french) {
        ("AE", true) => Some("Autoliquidation (TVA due par le preneur)"),
        ("AE", false) => Some("Reverse charge (VAT due by the buyer)"),
        ("K", true) => Some("Livraison intracommunautaire exonérée de TVA"),
        ("K", false) => Some("Intra-Community supply, exempt from VAT"),
        ("G", true) => Some("Exportation, TVA non applicable"),
        ("G", false) => Some("Export, no VAT"),
        ("O", true) => Some("Hors du champ d'application de la TVA"),
        ("O", false) => Some("Outside the scope of VAT"),
        ("E", true) => Some("Exonération de TVA"),
        ("E", false) => Some("VAT exempt"),
        _ => None,
    };
    match words {
        Some(w) if zero => w.to_string(),
        _ => {
            let name = match (t.display_name.as_str(), french) {
                ("VAT", true) => "TVA",
                ("GST", true) => "TPS",
                ("HST", true) => "TVH",
                ("PST", true) => "TVP",
                ("QST", true) => "TVQ",
                (other, _) => other,
            };
            format!("{name} {}", percent(&t.percentage, french))
        }
    }
}

/// A stored payment method (`card visa •••• 4242`, as the charge records it) as the brand's
/// name and the last four digits.
fn card(method: &str) -> Option<(String, String)> {
    let rest = method.strip_prefix("card ")?;
    let (brand, last4) = rest.split_once(" •••• ")?;
    let brand = match brand {
        "visa" => "Visa".to_string(),
        "mastercard" => "Mastercard".to_string(),
        "amex" => "American Express".to_string(),
        other => other.to_string(),
    };
    Some((brand, last4.to_string()))
}

/// The shop's stylesheet (the same file the checkout, subscription page and portal use).
const SHOP_CSS: &str = include_str!("../../www/shop.css");

/// The invoice's own layout on top of it: a document card, the lines as a table on wide
/// screens and as one block per line below 640 px, and print rules.
const INVOICE_CSS: &str = r#"
body { max-width: 56rem; }
.doc { padding: 1.6rem; }
.doc h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
.head { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .8rem 2rem; align-items: flex-start; margin-bottom: 1.2rem; }
.parties { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 1rem 2rem; margin: 1rem 0 1.4rem; }
.parties section { background: #fbfaf7; border: 1px solid var(--line); border-radius: 10px; padding: .8rem 1rem; min-width: 0; }
.parties h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .35rem; }
.totals { margin: 1rem 0 0 auto; width: auto; min-width: min(100%, 20rem); }
.totals tr:last-child th, .totals #total { font-weight: 750; }
#total { font-size: 1.15rem; }
.mentions { font-size: .85rem; color: #3d4350; margin-top: 1.4rem; }
.mentions ul { padding-left: 1.1rem; margin: .3rem 0; }
.confirm { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; justify-content: space-between; background: var(--ok-soft); border: 1px solid #bfe0c9; color: var(--ok); border-radius: var(--radius); padding: .9rem 1.1rem; margin: 1rem 0; }
.confirm strong { font-size: 1.1rem; }
.confirm p { margin: 0; color: var(--ink); }
/* A flex item does not shrink below its longest word by default: a long e-mail address would
   widen the page. */
.confirm > div { min-width: 0; }
.confirm p, .parties p { overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; margin: 1rem 0; }
a.button { display: inline-block; background: var(--accent); color: #fff; text-decoration: none; padding: .55rem 1rem; border-radius: 8px; font-weight: 650; }
section.taxes, section.lines { overflow-wrap: break-word; hyphens: auto; }
.cell-label { display: none; }
/* A bilingual invoice's second language: smaller, muted; under the label in headings and
   table headers, after it elsewhere. */
.tr { font-size: .78em; font-weight: normal; color: var(--muted); }
th .tr, h1 .tr, h2 .tr, .badge .tr { display: block; }
h2 .tr { text-transform: none; letter-spacing: 0; }
a.button .tr, .confirm strong .tr { color: inherit; opacity: .85; }
@media (max-width: 640px) {
  body { padding: 0 .6rem 1rem; }
  .doc { padding: 1rem; }
  /* The lines and the VAT breakdown: one block per row, each amount beside its label (a
     three-column VAT table with "Livraison intracommunautaire exonérée de TVA" and two amounts
     that do not wrap is wider than 375 px). */
  #lines thead, #taxes thead { display: none; }
  #lines, #lines tbody, #lines tr, #lines td, #taxes, #taxes tbody, #taxes tr, #taxes td { display: block; width: 100%; }
  #lines tr, #taxes tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
  #lines td, #taxes td { border: none; padding: .1rem 0; text-align: left; white-space: normal; }
  #lines td.n, #taxes td.n { display: flex; justify-content: space-between; gap: 1rem; }
  #lines .cell-label, #taxes .cell-label { display: inline; color: var(--muted); }
  #lines td:first-child, #taxes td:first-child { font-weight: 650; }
  .totals { min-width: 100%; }
}
@media print {
  :root { background: #fff; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .card { box-shadow: none; border: none; padding: 0; }
  .confirm, .actions, .no-print { display: none !important; }
  .parties section { background: none; }
  a { color: inherit; text-decoration: none; }
  tr, .parties section { break-inside: avoid; }
}
"#;

/// The invoice as a standalone HTML page.
pub fn render(doc: &InvoiceDocument, hosted: &Hosted) -> String {
    let french = doc.locale == "fr";
    let l = labels(french);
    // A label in the invoice's language; on a bilingual French invoice (`invoice.bilingual`),
    // followed by its English in smaller type, marked `lang="en"` for screen readers.
    let bilingual = french && doc.terms.bilingual;
    // French puts a space before a colon, English does not.
    let colon = if french { " : " } else { ": " };
    let b = |pick: fn(&Labels) -> &'static str| -> String {
        if bilingual {
            format!(
                "{}<span class=\"tr\" lang=\"en\"> / {}</span>",
                pick(&FR),
                pick(&EN)
            )
        } else {
            pick(l).to_string()
        }
    };
    let money = |m: i64| escape(&format_money(m, &doc.currency, french));
    let e = |s: &str| escape(s);
    let mut h = String::with_capacity(16384);
    h.push_str("<!doctype html>\n<html lang=\"");
    h.push_str(if french { "fr" } else { "en" });
    h.push_str("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str(&format!("<title>{} {}</title>", l.title, e(&doc.number)));
    h.push_str("<style>");
    h.push_str(SHOP_CSS);
    h.push_str(INVOICE_CSS);
    h.push_str("</style></head><body>\n");
    // The shop's header, as on the checkout.
    let initials: String = doc
        .seller
        .name
        .split_whitespace()
        .filter(|w| w.chars().count() > 2 && w.chars().all(char::is_alphabetic))
        .take(2)
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    h.push_str(&format!(
        "<header class=\"top\"><div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">{}</span><div><p class=\"shop-name\">{}</p></div></div></header>\n",
        e(&initials),
        e(&doc.seller.name)
    ));
    let paid = doc.status == "paid";
    if hosted.confirmation && paid {
        h.push_str("<section class=\"confirm\" id=\"confirmation\" role=\"status\"><div><strong>");
        h.push_str(&b(|l| l.thanks));
        h.push_str("</strong><p>");
        if let Some(p) = &doc.payment {
            h.push_str(&format!("{} ", l.paid_with));
            match card(&p.method) {
                Some((brand, last4)) => h.push_str(&format!(
                    "<span id=\"card-brand\">{}</span> ···· <span id=\"card-last4\">{}</span>",
                    e(&brand),
                    e(&last4)
                )),
                None => h.push_str(&e(&p.method)),
            }
            h.push_str(&format!(" — {}", money(p.amount)));
        }
        if let Some(email) = &doc.customer.email {
            h.push_str(&format!(". {} {}", l.receipt_sent, e(email)));
        }
        h.push_str(".</p></div>");
        if let Some(url) = &hosted.return_url {
            h.push_str(&format!(
                "<a class=\"button\" id=\"back-to-shop\" href=\"{}\">{}</a>",
                e(url),
                b(|l| l.back)
            ));
        }
        h.push_str("</section>\n");
    }
    h.push_str("<main class=\"card doc\">\n<div class=\"head\"><div>");
    h.push_str(&format!(
        "<h1>{}</h1><p id=\"invoice-number\">{} <strong>{}</strong><br>{}{colon}<span id=\"issue-date\">{}</span></p>",
        b(|l| l.title),
        b(|l| l.number),
        e(&doc.number),
        b(|l| l.issued),
        e(&date_in_words(&doc.issue_date, french))
    ));
    h.push_str("</div>");
    h.push_str(&format!(
        "<p><span class=\"badge{}\" id=\"status\">{}</span></p></div>\n",
        if paid { " ok" } else { "" },
        if paid {
            b(|l| l.status_paid)
        } else {
            b(|l| l.status_open)
        }
    ));
    // Parties.
    let s = &doc.seller;
    h.push_str("<div class=\"parties\"><section id=\"seller\"><h2>");
    h.push_str(&b(|l| l.seller));
    h.push_str("</h2><p><strong>");
    h.push_str(&e(&s.name));
    h.push_str("</strong>");
    if let Ok(address) = serde_json::to_value(&s.address) {
        for line in address_lines(&address, french) {
            h.push_str("<br>");
            h.push_str(&e(&line));
        }
    }
    let mut legal = Vec::new();
    // Each item as HTML (text escaped here).
    match (&s.legal_form, &s.share_capital) {
        (Some(form), Some(capital)) if french => {
            // "10 000 €" stays on one line.
            legal.push(e(&format!(
                "{form} au capital de {}",
                capital.replace(' ', "\u{a0}")
            )))
        }
        (Some(form), Some(capital)) => legal.push(e(&format!(
            "{form}, share capital {}",
            capital.replace(' ', "\u{a0}")
        ))),
        (Some(form), None) => legal.push(e(form)),
        _ => {}
    }
    if let Some(v) = &s.siren {
        legal.push(e(&format!("SIREN {v}")));
    }
    if let Some(v) = &s.siret {
        legal.push(e(&format!("SIRET {v}")));
    }
    if let Some(v) = &s.rcs {
        legal.push(e(v));
    }
    if let Some(v) = &s.vat_number {
        legal.push(format!("{}{colon}{}", b(|l| l.vat_number), e(v)));
    }
    if let Some(v) = &s.email {
        legal.push(e(v));
    }
    for item in legal {
        h.push_str("<br>");
        h.push_str(&item);
    }
    h.push_str("</p></section><section id=\"buyer\"><h2>");
    h.push_str(&b(|l| l.buyer));
    h.push_str("</h2><p>");
    let c = &doc.customer;
    // (HTML, strong): text escaped here.
    let mut lines: Vec<(String, bool)> = Vec::new();
    if let Some(v) = &c.company {
        lines.push((e(v), true));
    }
    if let Some(v) = &c.name {
        lines.push((e(v), c.company.is_none()));
    }
    if let Some(a) = &c.address {
        lines.extend(address_lines(a, french).into_iter().map(|x| (e(&x), false)));
    }
    for id in &c.tax_ids {
        lines.push((format!("{}{colon}{}", b(|l| l.vat_number), e(id)), false));
    }
    if let Some(v) = &c.email {
        lines.push((e(v), false));
    }
    let joined: Vec<String> = lines
        .iter()
        .map(|(t, strong)| {
            if *strong {
                format!("<strong>{t}</strong>")
            } else {
                t.clone()
            }
        })
        .collect();
    h.push_str(&joined.join("<br>"));
    h.push_str("</p></section>");
    if let Some(ship) = &c.shipping {
        h.push_str("<section id=\"shipping\"><h2>");
        h.push_str(&b(|l| l.ship_to));
        h.push_str("</h2><p>");
        let mut lines = Vec::new();
        if let Some(n) = ship.get("name").and_then(Value::as_str) {
            lines.push(format!("<strong>{}</strong>", e(n)));
        }
        if let Some(a) = ship.get("address") {
            lines.extend(address_lines(a, french).iter().map(|x| e(x)));
        }
        h.push_str(&lines.join("<br>"));
        h.push_str("</p></section>");
    }
    h.push_str("</div>\n");
    // Lines: a table, one block per line on phones (each amount with its label).
    h.push_str(&format!(
        "<section class=\"lines\"><table id=\"lines\" class=\"amounts\"><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        b(|l| l.description), b(|l| l.quantity), b(|l| l.unit_price), b(|l| l.discount), b(|l| l.vat_rate), b(|l| l.net)
    ));
    for line in &doc.lines {
        let rates: Vec<String> = line
            .tax_rates
            .iter()
            .map(|r| percent(r.trim_end_matches(" %").trim(), french))
            .collect();
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td></tr>",
            e(&line.description),
            b(|l| l.quantity),
            line.quantity,
            b(|l| l.unit_price),
            e(&format_unit(&line.unit_price_excluding_tax, &doc.currency, french)),
            b(|l| l.discount),
            if line.discount_amount == 0 { "—".to_string() } else { format!("−{}", money(line.discount_amount)) },
            b(|l| l.vat_rate),
            e(&rates.join(" + ")),
            b(|l| l.net),
            money(line.amount_excluding_tax)
        ));
    }
    h.push_str("</tbody></table></section>\n");
    if !doc.discounts.is_empty() {
        h.push_str(&format!(
            "<p id=\"discounts\">{}{colon}",
            b(|l| l.discounts)
        ));
        let items: Vec<String> = doc
            .discounts
            .iter()
            .map(|d| format!("{} (−{})", e(&d.description), money(d.amount)))
            .collect();
        h.push_str(&items.join(", "));
        h.push_str("</p>\n");
    }
    // VAT breakdown, in words.
    h.push_str(&format!(
        "<section class=\"taxes\"><table id=\"taxes\" class=\"amounts\"><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        b(|l| l.vat), b(|l| l.base), b(|l| l.amount)
    ));
    for t in &doc.taxes {
        h.push_str(&format!(
            "<tr data-category=\"{}\"><td>{}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td><td class=\"n\"><span class=\"cell-label\">{}</span> {}</td></tr>",
            e(&t.category),
            if bilingual {
                format!(
                    "{}<span class=\"tr\" lang=\"en\"> / {}</span>",
                    e(&tax_label(t, true)),
                    e(&tax_label(t, false))
                )
            } else {
                e(&tax_label(t, french))
            },
            b(|l| l.base),
            money(t.taxable_amount),
            b(|l| l.amount),
            money(t.amount)
        ));
    }
    h.push_str("</tbody></table></section>\n");
    // Cash rounding (EN 16931 BT-114) between the total and what was paid, when there is one.
    let rounding_row = match doc.rounding_amount {
        Some(r) => format!(
            "<tr><th>{}</th><td class=\"n\" id=\"rounding-amount\">{}</td></tr>",
            b(|l| l.rounding),
            money(r)
        ),
        None => String::new(),
    };
    h.push_str(&format!(
        "<table class=\"totals amounts\" id=\"totals\"><tr><th>{}</th><td class=\"n\" id=\"total-excluding-tax\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"total-tax\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"total\">{}</td></tr>{}<tr><th>{}</th><td class=\"n\" id=\"amount-paid\">{}</td></tr></table>\n",
        b(|l| l.total_net),
        money(doc.total_excluding_tax),
        b(|l| l.total_tax),
        money(doc.total_tax),
        b(|l| l.total),
        money(doc.total),
        rounding_row,
        b(|l| l.paid),
        money(doc.amount_paid)
    ));
    if let Some(sub) = &doc.subscription {
        h.push_str(&format!(
            "<table class=\"totals amounts\" id=\"balance\"><tr><th>{}</th><td class=\"n\" id=\"starting-balance\">{}</td></tr><tr><th>{}</th><td class=\"n\" id=\"amount-due\">{}</td></tr></table>\n",
            b(|l| l.starting_balance),
            money(sub.starting_balance),
            b(|l| l.amount_due),
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
    h.push_str("</main>\n");
    if !hosted.documents.is_empty() || hosted.return_url.is_some() {
        h.push_str("<nav class=\"actions no-print\" id=\"documents\">");
        if !hosted.documents.is_empty() {
            h.push_str(&format!("<span>{}</span>", b(|l| l.other_formats)));
        }
        for (label, href) in &hosted.documents {
            h.push_str(&format!(
                "<a class=\"document\" href=\"{}\">{}</a>",
                e(href),
                e(label)
            ));
        }
        if let Some(url) = &hosted.return_url {
            h.push_str(&format!("<a href=\"{}\">{}</a>", e(url), b(|l| l.back)));
        }
        h.push_str("</nav>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// The invoice as a standalone HTML page (the hosted page without the post-payment
/// confirmation): the receipt email's attachment.
pub fn render_html(doc: &InvoiceDocument) -> String {
    render(doc, &Hosted::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InvoiceSettings, PostalAddress, SellerInfo};
    use crate::invoice::{build, BillingCustomer, Issue, PaymentInfo, SubscriptionInvoiceInfo};
    use crate::invoice_words::{EN_MONTHS, FR_MONTHS};
    use serde_json::json;

    /// Every label of one language, months included.
    fn all_labels(l: &Labels) -> Vec<&'static str> {
        let mut v = vec![
            l.title,
            l.number,
            l.issued,
            l.seller,
            l.buyer,
            l.ship_to,
            l.description,
            l.quantity,
            l.unit_price,
            l.discount,
            l.net,
            l.vat_rate,
            l.vat,
            l.base,
            l.amount,
            l.total_net,
            l.total_tax,
            l.total,
            l.paid,
            l.vat_number,
            l.discounts,
            l.starting_balance,
            l.amount_due,
            l.rounding,
            l.status_paid,
            l.status_open,
            l.thanks,
            l.paid_with,
            l.receipt_sent,
            l.back,
            l.other_formats,
        ];
        // Its months too (crate::invoice_words writes dates in words).
        v.extend(if l.title == FR.title {
            FR_MONTHS
        } else {
            EN_MONTHS
        });
        v
    }

    /// An invoice with every block the page can show: a discount, standard VAT and a reverse
    /// charge, the engine's notes, cash rounding, a subscription's balance, a shipping address, a
    /// business buyer with a VAT number, a card payment.
    fn full_document(seller_country: &str, bilingual: bool) -> InvoiceDocument {
        let seller = SellerInfo {
            name: "Atelier Lumière SAS".into(),
            address: PostalAddress {
                line1: Some("12 rue de la République".into()),
                postal_code: Some("69002".into()),
                city: Some("Lyon".into()),
                country: seller_country.into(),
                ..PostalAddress::default()
            },
            legal_form: Some("SAS".into()),
            share_capital: Some("10 000 €".into()),
            siren: Some("912 345 678".into()),
            vat_number: Some("FR32912345678".into()),
            ..SellerInfo::default()
        };
        let terms = InvoiceSettings {
            bilingual,
            ..InvoiceSettings::default()
        };
        // The engine writes this note in the seller's language (src/tax/compute.rs).
        let intra_community_note = if seller_country == "FR" {
            "Exonération de TVA, article 262 ter I du CGI (livraison intracommunautaire de biens ; article 138 de la directive 2006/112/CE)"
        } else {
            "Exempt intra-Community supply of goods (Article 138 of Directive 2006/112/EC)"
        };
        let quote = json!({
            "currency": "eur", "subtotal": 10800, "total_excluding_tax": 10000, "total": 11000,
            "rounding_amount": 0,
            "lines": [
                { "description": "Lampe", "quantity": 1, "amount": 8900, "amount_excluding_tax": 8100,
                  "discount_amounts": [{ "amount": 800 }], "taxes": [{ "percentage": "20", "amount": 1000 }] },
                { "description": "Cours", "quantity": 1, "amount": 1900, "amount_excluding_tax": 1900,
                  "taxes": [{ "percentage": "0", "amount": 0 }] }
            ],
            "total_taxes": [
                { "display_name": "VAT", "percentage": "20", "category": "S", "taxable_amount": 5000, "amount": 1000 },
                { "display_name": "VAT", "percentage": "0", "category": "AE", "taxable_amount": 1900, "amount": 0 },
                { "display_name": "VAT", "percentage": "0", "category": "K", "taxable_amount": 3100, "amount": 0 }
            ],
            "discounts": [{ "promotion_code": { "code": "BIENVENUE" }, "amount": 800 }],
            "tax_notes": [
                { "code": "reverse_charge", "text": "Reverse charge", "customer_tax_id": "DE136695976" },
                { "code": "intra_community_supply", "text": intra_community_note },
                { "code": "special_territory", "text": "Canary Islands: outside the EU VAT area", "territory": "Canary Islands" },
                { "code": "tax_id_ignored", "text": "The VAT number is not valid; the customer is taxed as a consumer" }
            ]
        });
        let customer = BillingCustomer {
            name: Some("Jonas Keller".into()),
            company: Some("Licht GmbH".into()),
            email: Some("jonas@licht.example".into()),
            address: Some(
                json!({ "line1": "Invalidenstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE" }),
            ),
            tax_ids: vec!["DE136695976".into()],
            shipping: Some(
                json!({ "name": "Lager", "address": { "line1": "Hafenstraße 9", "postal_code": "20457", "city": "Hamburg", "country": "DE" } }),
            ),
            ..BillingCustomer::default()
        };
        let names = |_: &str| None;
        build(Issue {
            id: "in_1",
            number: "F2026-000001",
            series: "F2026",
            created: 1_772_409_600, // 2026-03-02
            seller: &seller,
            terms: &terms,
            customer,
            payment: Some(PaymentInfo {
                id: "ch_1".into(),
                amount: 11000,
                status: "succeeded".into(),
                method: "card visa •••• 4242".into(),
                paid_at: 1_772_409_600,
            }),
            as_of: "2026-03-02",
            quote: std::borrow::Cow::Borrowed(&quote),
            product_name: &names,
            status: "paid",
            subscription: Some(SubscriptionInvoiceInfo {
                id: "sub_1".into(),
                billing_reason: "subscription_cycle".into(),
                period_start: 1_772_409_600,
                period_end: 1_775_088_000,
                service_start: 1_772_409_600,
                service_end: 1_775_088_000,
                starting_balance: 0,
                amount_due: 11000,
                ending_balance: 0,
                carried_to_balance: None,
            }),
        })
    }

    fn hosted() -> Hosted {
        Hosted {
            confirmation: true,
            return_url: Some("/".into()),
            documents: vec![("Factur-X (PDF)".into(), "/x.pdf".into())],
        }
    }

    /// The page's visible text: no style, no tags, entities decoded; with `drop_second`, without
    /// a bilingual invoice's second-language spans.
    fn visible_text(html: &str, drop_second: bool) -> String {
        let mut h = html.to_string();
        let cut = |h: &mut String, open: &str, close: &str| {
            while let Some(a) = h.find(open) {
                let Some(b) = h[a..].find(close) else { break };
                h.replace_range(a..a + b + close.len(), " ");
            }
        };
        cut(&mut h, "<style>", "</style>");
        cut(&mut h, "<title>", "</title>");
        if drop_second {
            cut(&mut h, "<span class=\"tr\" lang=\"en\">", "</span>");
        }
        let mut out = String::new();
        let mut in_tag = false;
        for c in h.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
    }

    /// Whole-word (or whole-phrase) occurrences of `needles` in `text`.
    fn found<'a>(text: &str, needles: &[&'a str]) -> Vec<&'a str> {
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        needles
            .iter()
            .copied()
            .filter(|n| {
                text.match_indices(n).any(|(i, _)| {
                    boundary(text[..i].chars().last())
                        && boundary(text[i + n.len()..].chars().next())
                })
            })
            .collect()
    }

    /// The labels of `of` that are not also words of `other` ("Total" is both French and English).
    fn distinct(of: &Labels, other: &Labels) -> Vec<&'static str> {
        let theirs = all_labels(other).join(" | ");
        all_labels(of)
            .into_iter()
            .filter(|label| found(&theirs, &[label]).is_empty())
            .collect()
    }

    const ENGLISH_FRAGMENTS: &[&str] = &[
        "Reverse charge",
        "VAT",
        "Intra-Community",
        "Export",
        "exempt",
        "share capital",
        "Subscription",
        "Canary Islands",
        "The VAT number",
        "Invoice",
        "Due date",
        "Bill to",
    ];
    const FRENCH_FRAGMENTS: &[&str] = &[
        "Autoliquidation",
        "TVA",
        "intracommunautaire",
        "Exportation",
        "exonérée",
        "au capital de",
        "Abonnement",
        "îles Canaries",
        "Date de la vente",
        "Date d'échéance",
        "Pénalités",
        "Escompte",
        "Indemnité",
        "Facture",
        "CGI",
    ];

    #[test]
    fn a_french_invoice_has_no_english_label_and_an_english_one_no_french() {
        let french = render(&full_document("FR", false), &hosted());
        let text = visible_text(&french, false);
        assert!(
            text.contains("Total HT") && text.contains("Autoliquidation"),
            "{text}"
        );
        let mut english = distinct(&EN, &FR);
        english.extend(ENGLISH_FRAGMENTS);
        assert_eq!(found(&text, &english), Vec::<&str>::new(), "{text}");

        let english_html = render(&full_document("DE", false), &hosted());
        let text = visible_text(&english_html, false);
        assert!(
            text.contains("Total excl. tax") && text.contains("Reverse charge"),
            "{text}"
        );
        let mut french_words = distinct(&FR, &EN);
        french_words.extend(FRENCH_FRAGMENTS);
        assert_eq!(found(&text, &french_words), Vec::<&str>::new(), "{text}");
        assert!(english_html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    }

    #[test]
    fn the_scan_catches_a_stray_label() {
        // The check above can fail: an English label slipped into a French page is found.
        let html =
            render(&full_document("FR", false), &hosted()).replace("Total HT", "Total excl. tax");
        assert_eq!(
            found(&visible_text(&html, false), &distinct(&EN, &FR)),
            vec!["Total excl. tax"]
        );
    }

    #[test]
    fn a_bilingual_french_invoice_adds_english_in_smaller_type_and_nothing_else() {
        let doc = full_document("FR", true);
        let html = render(&doc, &hosted());
        // Without the English spans, the page is the French invoice word for word.
        let plain = render(&full_document("FR", false), &hosted());
        assert_eq!(
            visible_text(&html, true)
                .split_whitespace()
                .collect::<Vec<_>>(),
            visible_text(&plain, false)
                .split_whitespace()
                .collect::<Vec<_>>()
        );
        // Every label has its English beside it, marked lang="en".
        for (fr, en) in [
            (FR.total_net, EN.total_net),
            (FR.buyer, EN.buyer),
            (FR.unit_price, EN.unit_price),
            (FR.status_paid, EN.status_paid),
        ] {
            assert!(
                html.contains(&format!(
                    "{fr}<span class=\"tr\" lang=\"en\"> / {en}</span>"
                )),
                "{fr}"
            );
        }
        // The VAT rows too ("Autoliquidation (TVA due par le preneur) / Reverse charge (VAT due by
        // the buyer)").
        assert!(html.contains("Autoliquidation (TVA due par le preneur)<span class=\"tr\" lang=\"en\"> / Reverse charge (VAT due by the buyer)</span>"));
        // The legal mentions stay French only; an English (non-French) invoice is never bilingual.
        assert!(html.contains("Autoliquidation : TVA due par le preneur"));
        assert!(!render(&full_document("DE", true), &hosted()).contains("class=\"tr\""));
        // The option is stored with the document: the invoice renders the same later.
        assert!(doc.terms.bilingual);
    }

    #[test]
    fn countries_in_words() {
        assert_eq!(country_name("de", true), "Allemagne");
        assert_eq!(country_name("DE", false), "Germany");
        assert_eq!(country_name("ZZ", true), "ZZ");
    }

    #[test]
    fn return_url_stays_on_this_origin() {
        let q = |s: &str| Hosted::from_query(Some(s)).return_url;
        assert_eq!(q("confirmation=1&return_url=%2F"), Some("/".into()));
        assert_eq!(q("return_url=/shop/?x=1"), Some("/shop/?x=1".into()));
        assert_eq!(q("return_url=%2F%2Fevil.example"), None);
        assert_eq!(q("return_url=https://evil.example/"), None);
        assert_eq!(q("return_url=/%5Cevil.example"), None);
        assert!(Hosted::from_query(Some("access_token=x&confirmation=1")).confirmation);
        assert!(!Hosted::from_query(None).confirmation);
    }

    #[test]
    fn cards_as_shoppers_know_them() {
        assert_eq!(
            card("card visa •••• 4242"),
            Some(("Visa".into(), "4242".into()))
        );
        assert_eq!(
            card("card mastercard •••• 4444"),
            Some(("Mastercard".into(), "4444".into()))
        );
        assert_eq!(card("sepa_debit"), None);
    }
}
