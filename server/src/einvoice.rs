//! EN 16931 e-invoices of issued invoices: rendered once, at issue, from the engine's result
//! (CII D16B Factur-X EN 16931 profile, UBL 2.1, and the Factur-X PDF/A-3 with the CII
//! embedded), stored inside the immutable invoice document with each file's SHA-256, and
//! served by `GET /v1/invoices/{id}.pdf | .cii.xml | .ubl.xml` (or `Accept: application/pdf`,
//! `application/xml`). Serving checks the stored bytes against their SHA-256 first.

use crate::invoice::InvoiceDocument;
pub use crate::invoice::{StoredEinvoice, StoredFile};
use base64::Engine;
use billcalc::einvoice::model::{Address, Contact, Delivery, Identifier, Party, PaymentMeans};
use billcalc::einvoice::{self, cii, facturx, ubl, DocumentInfo};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The formats served, with their media type and file name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Cii,
    Ubl,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Cii | Format::Ubl => "application/xml",
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            Format::Pdf => ".pdf",
            Format::Cii => ".cii.xml",
            Format::Ubl => ".ubl.xml",
        }
    }

    /// `{id}.pdf`, `{id}.cii.xml`, `{id}.xml` (CII), `{id}.ubl.xml` → (id, format).
    pub fn from_path(id: &str) -> Option<(&str, Format)> {
        for (suffix, format) in [
            (".pdf", Format::Pdf),
            (".cii.xml", Format::Cii),
            (".ubl.xml", Format::Ubl),
            (".xml", Format::Cii),
        ] {
            if let Some(stem) = id.strip_suffix(suffix) {
                return Some((stem, format));
            }
        }
        None
    }

    /// `Accept: application/pdf` → PDF; `application/xml` / `text/xml` → CII (Factur-X's
    /// syntax); UBL by suffix.
    pub fn from_accept(accept: &str) -> Option<Format> {
        if accept.contains("application/pdf") {
            Some(Format::Pdf)
        } else if accept.contains("application/xml") || accept.contains("text/xml") {
            Some(Format::Cii)
        } else {
            None
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn stored(bytes: &[u8], content: String) -> StoredFile {
    StoredFile {
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        content,
    }
}

/// The stored file's bytes, after checking them against the SHA-256 recorded at issue.
pub fn file_bytes(e: &StoredEinvoice, format: Format) -> Result<Vec<u8>, String> {
    let (file, bytes) = match format {
        Format::Pdf => (
            &e.pdf,
            base64::engine::general_purpose::STANDARD
                .decode(&e.pdf.content)
                .map_err(|e| format!("stored PDF: {e}"))?,
        ),
        Format::Cii => (&e.cii, e.cii.content.clone().into_bytes()),
        Format::Ubl => (&e.ubl, e.ubl.content.clone().into_bytes()),
    };
    if sha256_hex(&bytes) != file.sha256 {
        return Err("the stored e-invoice no longer matches its SHA-256".into());
    }
    Ok(bytes)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

/// Who and what the engine does not know, from the issued document: the seller's
/// identifiers (SIREN `0002`, SIRET `0009`, VAT, legal form, capital, RCS), the buyer, the
/// card payment, the due date and the French mentions.
pub fn document_info(doc: &InvoiceDocument) -> Result<DocumentInfo, String> {
    let s = &doc.seller;
    let compact = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let legal_info = [
        match (&s.legal_form, &s.share_capital) {
            (Some(f), Some(c)) => Some(format!("{f} au capital de {c}")),
            (Some(f), None) => Some(f.clone()),
            _ => None,
        },
        s.rcs.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let seller = Party {
        name: s.name.clone(),
        legal_id: s.siren.as_deref().map(|id| Identifier {
            id: compact(id),
            scheme: Some("0002".into()),
        }),
        ids: s
            .siret
            .as_deref()
            .map(|id| Identifier {
                id: compact(id),
                scheme: Some("0009".into()),
            })
            .into_iter()
            .collect(),
        vat_id: s.vat_number.as_deref().map(compact),
        legal_info: (!legal_info.is_empty()).then_some(legal_info),
        electronic_address: s
            .siren
            .as_deref()
            .map(|id| Identifier {
                id: compact(id),
                scheme: Some("0225".into()),
            })
            .or_else(|| {
                s.email.clone().map(|e| Identifier {
                    id: e,
                    scheme: Some("EM".into()),
                })
            }),
        address: Address {
            line1: s.address.line1.clone(),
            line2: s.address.line2.clone(),
            city: s.address.city.clone(),
            postal_code: s.address.postal_code.clone(),
            subdivision: s.address.state.clone(),
            country: s.address.country.to_ascii_uppercase(),
        },
        contact: s.email.clone().map(|e| Contact {
            email: Some(e),
            ..Contact::default()
        }),
        ..Party::default()
    };
    let c = &doc.customer;
    let address = c
        .address
        .as_ref()
        .ok_or("the buyer has no address (EN 16931 needs its country, BT-55)")?;
    let country = text(address, "country")
        .ok_or("the buyer's address has no country")?
        .to_ascii_uppercase();
    let buyer = Party {
        name: c
            .company
            .clone()
            .or_else(|| c.name.clone())
            .unwrap_or_else(|| "Client".into()),
        vat_id: c.tax_ids.first().cloned(),
        electronic_address: c.email.clone().map(|e| Identifier {
            id: e,
            scheme: Some("EM".into()),
        }),
        address: Address {
            line1: text(address, "line1"),
            line2: text(address, "line2"),
            city: text(address, "city"),
            postal_code: text(address, "postal_code"),
            subdivision: text(address, "state"),
            country,
        },
        contact: c
            .name
            .clone()
            .filter(|_| c.company.is_some())
            .map(|n| Contact {
                name: Some(n),
                email: c.email.clone(),
                ..Contact::default()
            }),
        ..Party::default()
    };
    let delivery = delivery(doc, &buyer.address);
    let card = doc.payment.as_ref().filter(|p| p.status == "succeeded");
    let payment_means = card
        .map(|p| PaymentMeans {
            code: "48".into(),
            card_last4: p
                .method
                .rsplit(' ')
                .next()
                .filter(|l| l.len() == 4 && l.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string),
            remittance: Some(doc.number.clone()),
            ..PaymentMeans::default()
        })
        .into_iter()
        .collect();
    Ok(DocumentInfo {
        number: doc.number.clone(),
        issue_date: doc.issue_date.clone(),
        due_date: Some(doc.due_date.clone()),
        seller,
        buyer,
        delivery,
        payment_means,
        amount_paid: Some(doc.amount_paid).filter(|p| *p > 0),
        vat_on_debits: doc.seller.vat_on_debits,
        ..DocumentInfo::default()
    })
}

fn address_of(v: &Value) -> Option<Address> {
    Some(Address {
        line1: text(v, "line1"),
        line2: text(v, "line2"),
        city: text(v, "city"),
        postal_code: text(v, "postal_code"),
        subdivision: text(v, "state"),
        country: text(v, "country")?.to_ascii_uppercase(),
    })
}

/// BG-13. The actual delivery date (BT-72): for a one-off sale, the charge's
/// `billing_details.shipping.delivery_date` when given, else the date of the sale (goods
/// handed over or shipped at checkout); a subscription invoice states its invoicing period
/// instead (BG-14). The delivery address (BG-15): the shipping address when given, else, for
/// an intra-Community supply of goods (K, which must state where the goods went, BR-IC-12),
/// the buyer's address.
fn delivery(doc: &InvoiceDocument, buyer: &Address) -> Option<Delivery> {
    let shipping = doc.customer.shipping.as_ref();
    let date = shipping
        .and_then(|s| text(s, "delivery_date"))
        .or_else(|| doc.subscription.is_none().then(|| doc.sale_date.clone()));
    let intra_community = doc
        .quote
        .get("tax_notes")
        .and_then(Value::as_array)
        .is_some_and(|notes| {
            notes
                .iter()
                .any(|n| n.get("code").and_then(Value::as_str) == Some("intra_community_supply"))
        });
    let address = shipping
        .and_then(|s| s.get("address"))
        .and_then(address_of)
        .or_else(|| intra_community.then(|| buyer.clone()));
    (date.is_some() || address.is_some()).then(|| Delivery {
        name: shipping.and_then(|s| text(s, "name")),
        date,
        address,
    })
}

/// The category of the operation (French 2026 reform, BT-23): `goods`, `services` or `both`,
/// from each line's catalog product `type` (`good` / `service`), else its tax category
/// (`digital_services` is a service, everything else goods), as the engine's tax stage decides.
pub fn operation(calculator: &billcalc::Calculator, quote: &billcalc::Quote) -> Option<String> {
    use billcalc::product::ProductType;
    let (mut goods, mut services) = (false, false);
    for line in &quote.lines {
        let kind = line
            .product
            .as_deref()
            .and_then(|id| calculator.product(id))
            .and_then(|p| p.kind);
        match kind {
            Some(ProductType::Service) => services = true,
            Some(ProductType::Good) => goods = true,
            None if &*line.tax_category == "digital_services" => services = true,
            None => goods = true,
        }
    }
    match (goods, services) {
        (true, true) => Some("both".into()),
        (true, false) => Some("goods".into()),
        (false, true) => Some("services".into()),
        (false, false) => None,
    }
}

fn render(
    doc: &InvoiceDocument,
    operation: Option<String>,
    build: impl FnOnce(&DocumentInfo) -> billcalc::Result<einvoice::Document>,
) -> Result<StoredEinvoice, String> {
    let mut info = document_info(doc)?;
    if info.seller.address.country == "FR" {
        info.operation = operation;
    }
    let document = build(&info).map_err(|e| e.to_string())?;
    write_all(&doc.id, &document)
}

/// The three files of a document: CII, UBL and the Factur-X PDF with the CII inside.
fn write_all(id: &str, document: &einvoice::Document) -> Result<StoredEinvoice, String> {
    let cii_text = cii::write(document);
    let ubl_text = ubl::write(document);
    let pdf = facturx::write(document, &cii_text).map_err(|e| e.to_string())?;
    dump(
        id,
        &[
            ("pdf", &pdf),
            ("cii.xml", cii_text.as_bytes()),
            ("ubl.xml", ubl_text.as_bytes()),
        ],
    );
    Ok(StoredEinvoice {
        pdf: stored(&pdf, base64::engine::general_purpose::STANDARD.encode(&pdf)),
        cii: stored(cii_text.as_bytes(), cii_text.clone()),
        ubl: stored(ubl_text.as_bytes(), ubl_text.clone()),
    })
}

/// Test support: with `BILLCALC_EINVOICE_DUMP=DIR`, every rendered file is also written to
/// `DIR/{invoice or credit note id}.{pdf,cii.xml,ubl.xml}`, so `scripts/test.sh` can run the
/// official EN 16931 rules over everything the server tests issued.
fn dump(id: &str, files: &[(&str, &[u8])]) {
    let Some(dir) = std::env::var_os("BILLCALC_EINVOICE_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    for (ext, bytes) in files {
        let _ = std::fs::write(dir.join(format!("{id}.{ext}")), bytes);
    }
}

/// What a credit note adds to the invoice's parties and delivery: its own number (BT-1) and
/// date (BT-2), the invoice it corrects (BG-3: BT-25 number, BT-26 date), and the refund made
/// at issue (BT-113, so BT-115 is zero; BT-9 the refund's date).
pub struct CreditNoteIssue<'a> {
    pub id: &'a str,
    pub number: &'a str,
    pub issue_date: &'a str,
    /// Minor units given back through the payment gateway.
    pub refunded: i64,
}

/// The e-invoices of a credit note (type 381), from the engine's credit note on the invoice
/// as issued.
pub fn render_credit_note(
    invoice: &InvoiceDocument,
    issued: &einvoice::IssuedInvoice,
    note: &billcalc::subscription::CreditNote,
    issue: &CreditNoteIssue,
) -> Result<StoredEinvoice, String> {
    let mut info = document_info(invoice)?;
    info.number = issue.number.to_string();
    info.issue_date = issue.issue_date.to_string();
    info.due_date = Some(issue.issue_date.to_string());
    info.preceding_invoice = Some(billcalc::einvoice::model::PrecedingInvoice {
        number: invoice.number.clone(),
        issue_date: Some(invoice.issue_date.clone()),
    });
    info.amount_paid = Some(issue.refunded).filter(|r| *r > 0);
    for means in &mut info.payment_means {
        means.remittance = Some(issue.number.to_string());
    }
    let document =
        einvoice::from_credit_note_issued(note, issued, &info).map_err(|e| e.to_string())?;
    write_all(issue.id, &document)
}

/// The e-invoices of a one-off sale, from the engine's quote as charged.
pub fn render_quote(
    doc: &InvoiceDocument,
    quote: &billcalc::Quote,
    calculator: &billcalc::Calculator,
) -> Option<StoredEinvoice> {
    let operation = operation(calculator, quote);
    report(
        render(doc, operation, |info| einvoice::from_quote(quote, info)),
        doc,
    )
}

/// The e-invoices of a subscription invoice, from the engine's invoice.
pub fn render_invoice(
    doc: &InvoiceDocument,
    invoice: &billcalc::Invoice,
    calculator: &billcalc::Calculator,
) -> Option<StoredEinvoice> {
    let operation = operation(calculator, &invoice.quote);
    report(
        render(doc, operation, |info| einvoice::from_invoice(invoice, info)),
        doc,
    )
}

/// An invoice EN 16931 cannot express (no buyer country, several taxes on a line) is still
/// issued; it says so in the log and has no e-invoice.
fn report(r: Result<StoredEinvoice, String>, doc: &InvoiceDocument) -> Option<StoredEinvoice> {
    match r {
        Ok(e) => Some(e),
        Err(why) => {
            eprintln!("billcalc-server: no e-invoice for {}: {why}", doc.number);
            None
        }
    }
}

/// The JSON view of an invoice's stored e-invoices: links and hashes, without the content.
pub fn summary(id: &str, e: &StoredEinvoice) -> Value {
    summary_at(&format!("/v1/invoices/{id}"), e)
}

/// The JSON view of stored e-invoices served under `base` (`/v1/credit_notes/{id}`).
pub fn summary_at(base: &str, e: &StoredEinvoice) -> Value {
    let file = |f: &StoredFile, format: Format| {
        serde_json::json!({
            "url": format!("{base}{}", format.suffix()),
            "sha256": f.sha256,
            "size": f.size,
        })
    };
    serde_json::json!({
        "pdf": file(&e.pdf, Format::Pdf),
        "cii": file(&e.cii, Format::Cii),
        "ubl": file(&e.ubl, Format::Ubl),
    })
}
