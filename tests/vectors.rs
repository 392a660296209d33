//! Runs every golden vector in `tests/vectors/*.json` natively. The same files run in Node
//! (`tests/node/vectors.test.mjs`, against the built npm package) and in headless Chromium
//! (`tests/web.rs`); all three must agree exactly.
//!
//! A vector is `{name, call, catalog?, input?, options?, note?, expect?, output | error}` where
//! `call` is `computeQuote`, `Calculator.quote`, `new Calculator`, `previewInvoice`,
//! `Calculator.previewInvoice`, `billingDates`, `Calculator.billingDates`, `dunningSchedule`,
//! `creditNote`, `revenueMetrics`, or an adapter (`fromShopifyCart`, `toShopifyAmounts`, `fromWooCommerceCart`);
//! `output` is the result (engine results without `version`), `error` is `{code, path}`
//! (messages are for people and may differ between runtimes). `note` is the hand computation of
//! the expected numbers and `expect` its key figures as JSON pointers into `output`, checked here.
#![cfg(not(target_arch = "wasm32"))]

use billcalc::adapters::{shopify, woocommerce};
use billcalc::invoice_json::ToJsonText;
use billcalc::{
    billing_dates, compute_quote, credit_note, dunning_schedule, from_value, preview_invoice,
    revenue_metrics, BillingDatesInput, Calculator, Catalog, PreviewInvoiceInput, QuoteInput,
    VERSION,
};
use serde_json::{json, Value};
use std::path::Path;

fn run(vector: &Value) -> Result<Value, billcalc::Error> {
    fn input<T: billcalc::json::FromJson>(vector: &Value) -> Result<T, billcalc::Error> {
        from_value(&vector["input"])
    }
    let calculator = || -> Result<Calculator, billcalc::Error> {
        let catalog: Catalog = from_value(&vector["catalog"])?;
        Calculator::new(&catalog)
    };
    let out = match vector["call"].as_str() {
        Some("computeQuote") => quote_value(compute_quote(&input(vector)?)?),
        Some("Calculator.quote") => {
            quote_value(calculator()?.quote(&input::<QuoteInput>(vector)?)?)
        }
        Some("new Calculator") => {
            calculator()?;
            return Ok(Value::Null);
        }
        Some("previewInvoice") => text_value(preview_invoice(&input(vector)?)?),
        Some("Calculator.previewInvoice") => {
            text_value(calculator()?.preview_invoice(&input::<PreviewInvoiceInput>(vector)?)?)
        }
        Some("billingDates") => text_value(billing_dates(&input(vector)?)?),
        Some("Calculator.billingDates") => {
            text_value(calculator()?.billing_dates(&input::<BillingDatesInput>(vector)?)?)
        }
        Some("dunningSchedule") => text_value(dunning_schedule(&input(vector)?)?),
        Some("creditNote") => text_value(credit_note(&input(vector)?)?),
        Some("revenueMetrics") => to_value(revenue_metrics(&input(vector)?)?),
        // Adapters return platform or cart shapes, which carry no version.
        // The adapters read the engine's own JSON values (what its scanner gives in wasm).
        Some("fromShopifyCart") => return shopify::from_shopify_cart(&(&vector["input"]).into()),
        Some("toShopifyAmounts") => {
            let amounts = shopify::to_shopify_amounts(&(&vector["input"]).into())?;
            return Ok(serde_json::to_value(amounts).expect("serializes"));
        }
        Some("fromWooCommerceCart") => {
            let options = vector.get("options").map(billcalc::json::Value::from);
            return woocommerce::from_woocommerce_cart(
                &(&vector["input"]).into(),
                options.as_ref(),
            );
        }
        other => panic!("unknown call {other:?}"),
    };
    let mut out = out;
    assert_eq!(out["version"], json!(VERSION));
    out.as_object_mut().expect("object").remove("version");
    Ok(out)
}

/// A quote read back from its hand-written JSON text (what the wasm package returns), which must
/// be byte for byte serde_json's.
fn quote_value(quote: billcalc::Quote) -> Value {
    let text = quote.to_json();
    assert_eq!(
        text,
        serde_json::to_string(&quote).unwrap(),
        "Quote::to_json"
    );
    serde_json::from_str(&text).expect("Quote::to_json is JSON")
}

/// A subscription result read back from its hand-written JSON text (what the wasm package
/// returns), which must be byte for byte serde_json's.
fn text_value<T: serde::Serialize + ToJsonText>(result: T) -> Value {
    let text = result.to_json_text();
    assert_eq!(
        text,
        serde_json::to_string(&result).unwrap(),
        "to_json_text"
    );
    serde_json::from_str(&text).expect("to_json_text is JSON")
}

fn to_value<T: serde::Serialize>(result: T) -> Value {
    serde_json::to_value(&result).expect("a result serializes")
}

pub fn vector_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/vectors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn golden_vectors() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).expect("read vector file");
        let mut doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
        for vector in doc["vectors"].as_array_mut().expect("vectors array") {
            count += 1;
            let name = format!(
                "{}::{}",
                file.file_name().unwrap().to_string_lossy(),
                vector["name"]
            );
            let got = match run(vector) {
                Ok(v) => json!({ "output": v }),
                Err(e) => json!({ "error": { "code": e.code, "path": e.path } }),
            };
            let key = if got.get("output").is_some() {
                "output"
            } else {
                "error"
            };
            let expected_key = if vector.get("output").is_some() {
                "output"
            } else {
                "error"
            };
            // `expect`: the hand-computed figures of the note, as JSON pointers into the output.
            if vector.get("expect").is_some() && got.get("output").is_none() {
                failures.push(format!(
                    "{name}: has hand-computed `expect` figures but failed: {got}"
                ));
            }
            if let (Some(expect), Some(out)) = (vector.get("expect"), got.get("output")) {
                for (pointer, value) in expect.as_object().expect("expect is an object") {
                    if out.pointer(pointer) != Some(value) {
                        failures.push(format!(
                            "{name}: expected {pointer} = {value}, got {:?}",
                            out.pointer(pointer)
                        ));
                    }
                }
            }
            if bless && vector["call"] != "new Calculator" {
                let obj = vector.as_object_mut().unwrap();
                obj.remove("output");
                obj.remove("error");
                obj.insert(key.into(), got[key].clone());
            } else if key != expected_key
                || got[key] != vector[expected_key]
                    && !(key == "output" && vector["call"] == "new Calculator")
            {
                failures.push(format!(
                    "{name}\n  expected {expected_key}: {}\n  got      {key}: {}",
                    vector[expected_key], got[key]
                ));
            }
        }
        if bless {
            std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        }
    }
    assert!(count >= 40, "expected at least 40 vectors, found {count}");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The browser runner embeds the vector files at compile time; it must list every one of them.
#[test]
fn browser_runner_lists_every_vector_file() {
    let web = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web.rs"))
        .expect("tests/web.rs");
    for file in vector_files() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            web.contains(&format!("vectors/{name}")),
            "tests/web.rs does not include {name}"
        );
    }
}

/// Every error code the engine can return has at least one vector that produces it.
#[test]
fn every_error_code_has_a_vector() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/error.rs"))
            .expect("src/error.rs");
    let codes: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ErrorCode::"))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(codes.len() >= 14, "found only {codes:?}");
    let mut seen = std::collections::BTreeSet::new();
    for file in vector_files() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for v in doc["vectors"].as_array().unwrap() {
            if let Some(code) = v["error"]["code"].as_str() {
                seen.insert(code.to_string());
            }
        }
    }
    // The e-invoice codes (feature `einvoice`) come from reading and writing documents, not
    // from an engine call: tests/einvoice.rs produces each of them. `duplicate_field` only
    // arises from JSON text (a JS object or a parsed vector cannot hold a key twice):
    // src/parse.rs's tests and tests/boundary.rs cover it.
    let not_from_a_call = [
        "invalid_document",
        "unsupported_document",
        "duplicate_field",
    ];
    let missing: Vec<_> = codes
        .iter()
        .filter(|c| !seen.contains(**c) && !not_from_a_call.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes without a vector: {missing:?}"
    );
}
