//! Runs every golden vector in `tests/vectors/*.json` natively. The same files run in Node
//! (`tests/node/vectors.test.mjs`, against the built npm package) and in headless Chromium
//! (`tests/web.rs`); all three must agree exactly.
//!
//! A vector is `{name, call, catalog?, input?, options?, output | error}` where `call` is
//! `computeQuote`, `Calculator.quote`, `new Calculator`, or an adapter (`fromShopifyCart`,
//! `toShopifyAmounts`, `fromWooCommerceCart`); `output` is the result (quotes without
//! `version`), `error` is `{code, path}` (messages are for people and may differ between
//! runtimes).
#![cfg(not(target_arch = "wasm32"))]

use billcalc::adapters::{shopify, woocommerce};
use billcalc::{compute_quote, from_value, Calculator, Catalog, QuoteInput, VERSION};
use serde_json::{json, Value};
use std::path::Path;

fn run(vector: &Value) -> Result<Value, billcalc::Error> {
    let input = || -> Result<QuoteInput, billcalc::Error> { from_value(&vector["input"]) };
    let calculator = || -> Result<Calculator, billcalc::Error> {
        let catalog: Catalog = from_value(&vector["catalog"])?;
        Calculator::new(&catalog)
    };
    let quote = match vector["call"].as_str() {
        Some("computeQuote") => compute_quote(&input()?)?,
        Some("Calculator.quote") => calculator()?.quote(&input()?)?,
        Some("new Calculator") => {
            calculator()?;
            return Ok(Value::Null);
        }
        Some("fromShopifyCart") => return shopify::from_shopify_cart(&vector["input"]),
        Some("toShopifyAmounts") => {
            let amounts = shopify::to_shopify_amounts(&vector["input"])?;
            return Ok(serde_json::to_value(amounts).expect("serializes"));
        }
        Some("fromWooCommerceCart") => {
            return woocommerce::from_woocommerce_cart(&vector["input"], vector.get("options"));
        }
        other => panic!("unknown call {other:?}"),
    };
    let mut out = serde_json::to_value(&quote).expect("a quote serializes");
    assert_eq!(out["version"], json!(VERSION));
    out.as_object_mut().expect("object").remove("version");
    Ok(out)
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
    let missing: Vec<_> = codes.iter().filter(|c| !seen.contains(**c)).collect();
    assert!(
        missing.is_empty(),
        "error codes without a vector: {missing:?}"
    );
}
