//! EN 16931 e-invoices (feature `einvoice`): the document model ([`model`]), filled from the
//! engine's quotes, invoices and credit notes ([`from_engine`]); writers for UN/CEFACT CII
//! D16B in the Factur-X EN 16931 profile ([`cii`]) and UBL 2.1 ([`ubl`]); a reader
//! ([`read`]) and a verifier that recomputes a document's amounts with the engine
//! ([`verify`]).
//!
//! ```
//! # #[cfg(feature = "einvoice")] {
//! use billcalc::einvoice::{self, DocumentInfo};
//! let quote = billcalc::compute_quote(&billcalc::from_json(r#"{"currency":"eur",
//!   "default_tax_rates":[{"percentage":20,"inclusive":false}],
//!   "lines":[{"price":{"currency":"eur","unit_amount":1000},"quantity":3,"description":"Seat"}]}"#)?)?;
//! let info: DocumentInfo = serde_json::from_str(r#"{"number":"F-2026-0001","issue_date":"2026-11-29",
//!   "due_date":"2026-12-29",
//!   "seller":{"name":"Atelier SAS","vat_id":"FR44732829320","legal_id":{"id":"732829320","scheme":"0002"},
//!             "address":{"line1":"1 rue de la Paix","city":"Paris","postal_code":"75002","country":"FR"}},
//!   "buyer":{"name":"Client SARL","legal_id":{"id":"552100554","scheme":"0002"},"vat_id":"FR96552100554",
//!            "address":{"city":"Lyon","postal_code":"69001","country":"FR"}}}"#).unwrap();
//! let document = einvoice::from_quote(&quote, &info)?;
//! assert_eq!(document.totals.payable.to_string(), "36.00");
//! let xml = einvoice::cii::write(&document);
//! assert_eq!(einvoice::read::read(xml.as_bytes())?, document);
//! # }
//! # Ok::<(), billcalc::Error>(())
//! ```

pub mod api;
pub mod cii;
#[cfg(all(feature = "facturx", not(target_arch = "wasm32")))]
pub mod facturx;
pub mod french;
pub mod from_engine;
pub mod issued;
pub mod model;
pub mod read;
pub mod ubl;
pub mod verify;
pub mod xml;

pub use from_engine::{
    from_credit_note, from_credit_note_issued, from_invoice, from_quote, invoice_summary,
    rate_label, DocumentInfo,
};
pub use issued::IssuedInvoice;
pub use model::Document;
pub use verify::{verify, Difference, Verification};

/// The currency's decimals (ISO 4217); 2 for a code the engine does not know.
pub fn exponent_of(currency: &str) -> u32 {
    crate::currency::Currency::parse(currency, "")
        .map(|c| c.exponent())
        .unwrap_or(2)
}
