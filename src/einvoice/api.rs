//! The JSON interface of `billcalc/einvoice` (the JS entry point; `src/wasm_einvoice.rs` only
//! moves text across the boundary): write CII or UBL for a quote, an invoice preview or a
//! credit note, and read + verify a CII or UBL text. Native code can call it too.
//!
//! `write(input)`: `{format: "cii" | "ubl", info: DocumentInfo, quote | invoice | credit_note}`,
//! exactly one of
//! - `quote`: a `computeQuote` input (the engine prices it here, then the document is filled
//!   from its result: [`super::from_quote`]);
//! - `invoice`: a `previewInvoice` input ([`super::from_invoice`]);
//! - `credit_note`: `{input: CreditNoteInput, invoice: <the engine's quote or invoice as
//!   issued>}`: the engine computes the note, and the document names the issued invoice's lines
//!   ([`super::from_credit_note_issued`]); `info.preceding_invoice` names the invoice (BG-3).
//!
//! Returns the XML text. Errors are the engine's (`code`, `path`, `message`), paths from the
//! input's root (`quote.lines[0].quantity`, `info.seller`).
//!
//! `read(text)`: `{document, verification}`: the document model (amounts as decimal strings in
//! major units) and the engine's verification (`ok`, `differences` and `line_differences`, each
//! `{bt, path, stated, recomputed}`).

use super::{cii, read as reader, ubl, verify, DocumentInfo, IssuedInvoice};
use crate::error::{Error, ErrorCode, Result};
use serde_json::{json, Value};

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidType, path, message)
}

/// Reads a part of the input with the crate's strict reader, its errors placed under `key`.
fn part<T: crate::json::FromJson>(value: &Value, key: &str) -> Result<T> {
    crate::parse::from_value::<T>(value).map_err(|e| e.within(key))
}

/// Writes the CII (`format: "cii"`) or UBL (`"ubl"`) text of a quote, an invoice preview or a
/// credit note. See the module docs for the input.
pub fn write(input: &Value) -> Result<String> {
    let Value::Object(o) = input else {
        return Err(invalid("", "expected an object"));
    };
    for key in o.keys() {
        if !["format", "info", "quote", "invoice", "credit_note"].contains(&key.as_str()) {
            return Err(Error::new(
                ErrorCode::UnknownField,
                key.as_str(),
                "unknown field",
            ));
        }
    }
    let format = match o.get("format").and_then(Value::as_str) {
        Some(f @ ("cii" | "ubl")) => f,
        Some(_) | None => {
            return Err(Error::new(
                ErrorCode::InvalidType,
                "format",
                "format must be \"cii\" or \"ubl\"",
            ))
        }
    };
    let info_value = o
        .get("info")
        .ok_or_else(|| Error::new(ErrorCode::MissingField, "info", "info is required"))?;
    let info: DocumentInfo = serde_json::from_value(info_value.clone())
        .map_err(|e| invalid("info", format!("invalid document info: {e}")))?;
    let sources: Vec<&str> = ["quote", "invoice", "credit_note"]
        .into_iter()
        .filter(|k| o.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let document = match sources.as_slice() {
        ["quote"] => {
            let q: crate::QuoteInput = part(&o["quote"], "quote")?;
            let quote = crate::compute_quote(&q).map_err(|e| e.within("quote"))?;
            super::from_quote(&quote, &info)?
        }
        ["invoice"] => {
            let i: crate::PreviewInvoiceInput = part(&o["invoice"], "invoice")?;
            let invoice = crate::preview_invoice(&i).map_err(|e| e.within("invoice"))?;
            super::from_invoice(&invoice, &info)?
        }
        ["credit_note"] => {
            let c = &o["credit_note"];
            let Value::Object(co) = c else {
                return Err(invalid("credit_note", "expected {input, invoice}"));
            };
            let (Some(input), Some(invoice)) = (co.get("input"), co.get("invoice")) else {
                return Err(Error::new(
                    ErrorCode::MissingField,
                    "credit_note",
                    "credit_note needs input (a creditNote input) and invoice (the engine's quote or invoice as issued)",
                ));
            };
            let input: crate::CreditNoteInput = part(input, "credit_note.input")?;
            let note = crate::credit_note(&input).map_err(|e| e.within("credit_note.input"))?;
            let issued = IssuedInvoice::from_value(invoice).map_err(|e| e.within("credit_note"))?;
            super::from_credit_note_issued(&note, &issued, &info)?
        }
        _ => {
            return Err(Error::new(
                ErrorCode::MissingField,
                "quote",
                "give exactly one of quote, invoice or credit_note",
            ))
        }
    };
    Ok(match format {
        "cii" => cii::write(&document),
        _ => ubl::write(&document),
    })
}

/// Reads a CII or UBL text and verifies it with the engine: `{document, verification}`.
pub fn read(text: &str) -> Result<Value> {
    let document = reader::read(text.as_bytes())?;
    let verification = verify(&document)?;
    let internal = |e: serde_json::Error| invalid("", format!("result could not be encoded: {e}"));
    Ok(json!({
        "document": serde_json::to_value(&document).map_err(internal)?,
        "verification": serde_json::to_value(&verification).map_err(internal)?,
    }))
}
