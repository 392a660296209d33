//! The JS API of `billcalc/einvoice` (a wasm build with the `einvoice` feature, not the
//! checkout's): `writeEinvoice` and `readEinvoice`. The logic is [`crate::einvoice::api`]; this
//! file only moves JSON text across the boundary, through the checks of [`crate::wasm`].

use crate::wasm::{json_text, throwable};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "EinvoiceWriteInput")]
    pub type EinvoiceWriteInputJs;
    #[wasm_bindgen(typescript_type = "EinvoiceReadResult")]
    pub type EinvoiceReadResultJs;
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("einvoice/types.d.ts");

/// The CII or UBL text of a quote, an invoice preview or a credit note (EN 16931).
#[wasm_bindgen(js_name = writeEinvoice)]
pub fn write_einvoice(input: EinvoiceWriteInputJs) -> Result<String, JsValue> {
    let text = json_text(&input.into())?;
    let value = crate::parse::json_value(&text).map_err(throwable)?;
    crate::einvoice::api::write(&value).map_err(throwable)
}

/// Reads a CII or UBL text and verifies every amount with the engine.
#[wasm_bindgen(js_name = readEinvoice)]
pub fn read_einvoice(text: &str) -> Result<EinvoiceReadResultJs, JsValue> {
    let value = crate::einvoice::api::read(text).map_err(throwable)?;
    js_sys::JSON::parse(&value.to_string())
        .map(JsCast::unchecked_into)
        .map_err(|_| {
            throwable(crate::Error::new(
                crate::ErrorCode::InvalidType,
                "",
                "result could not be encoded",
            ))
        })
}
