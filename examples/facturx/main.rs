//! Turns a JSON invoice into a Factur-X PDF/A-3 (or CII / UBL XML), every amount computed by
//! the engine.
//!
//! ```sh
//! cargo run --features facturx --example facturx -- examples/facturx/invoice.json out.pdf
//! cargo run --features facturx --example facturx -- examples/facturx/invoice.json out.cii.xml
//! cargo run --features facturx --example facturx -- examples/facturx/invoice.json out.ubl.xml
//! ```
//!
//! The input is `{"quote": <computeQuote input>, "document": <DocumentInfo>}`: the cart the
//! engine prices, and the number, dates, parties and payment of the document.

use billcalc::einvoice::{self, cii, facturx, ubl, DocumentInfo};
use std::process::ExitCode;

fn run(input: &str, output: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{input}: {e}"))?;
    let quote_input: billcalc::QuoteInput =
        billcalc::from_value(&value["quote"]).map_err(|e| format!("quote: {e}"))?;
    let quote = billcalc::compute_quote(&quote_input).map_err(|e| format!("quote: {e}"))?;
    let info: DocumentInfo =
        serde_json::from_value(value["document"].clone()).map_err(|e| format!("document: {e}"))?;
    let document = einvoice::from_quote(&quote, &info).map_err(|e| format!("document: {e}"))?;
    let bytes = if output.ends_with(".ubl.xml") {
        ubl::write(&document).into_bytes()
    } else if output.ends_with(".xml") {
        cii::write(&document).into_bytes()
    } else {
        facturx::write(&document, &cii::write(&document)).map_err(|e| e.to_string())?
    };
    std::fs::write(output, &bytes).map_err(|e| format!("{output}: {e}"))?;
    Ok(bytes.len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: facturx INPUT.json OUTPUT(.pdf | .cii.xml | .ubl.xml)");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(size) => {
            println!("{output}: {size} bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
