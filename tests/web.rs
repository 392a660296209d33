//! The golden vectors in headless Chromium, through the JavaScript-facing API (`computeQuote`,
//! `previewInvoice`, `billingDates`, `dunningSchedule`, `creditNote`, `Calculator`), exactly as
//! a checkout page calls it: JS objects in, JS objects out, errors thrown as `BillcalcError`.
//! One wasm instance runs every vector, so an error that broke the instance would fail every
//! later vector.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`
#![cfg(target_arch = "wasm32")]

use billcalc::wasm::{
    billing_dates, compute_quote, credit_note, dunning_schedule, from_shopify_cart,
    from_woocommerce_cart, preview_invoice, revenue_metrics, to_shopify_amounts, JsCalculator,
};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Every file in tests/vectors (tests/vectors.rs checks that none is missing here).
const FILES: &[(&str, &str)] = &[
    ("adapters.json", include_str!("vectors/adapters.json")),
    (
        "cash_rounding.json",
        include_str!("vectors/cash_rounding.json"),
    ),
    (
        "currencies_and_catalogs.json",
        include_str!("vectors/currencies_and_catalogs.json"),
    ),
    ("discounts.json", include_str!("vectors/discounts.json")),
    (
        "discounts_errors.json",
        include_str!("vectors/discounts_errors.json"),
    ),
    (
        "discounts_rules.json",
        include_str!("vectors/discounts_rules.json"),
    ),
    (
        "discounts_stacking.json",
        include_str!("vectors/discounts_stacking.json"),
    ),
    (
        "discounts_tax.json",
        include_str!("vectors/discounts_tax.json"),
    ),
    ("errors.json", include_str!("vectors/errors.json")),
    ("instants.json", include_str!("vectors/instants.json")),
    ("limits.json", include_str!("vectors/limits.json")),
    ("metrics.json", include_str!("vectors/metrics.json")),
    ("package.json", include_str!("vectors/package.json")),
    ("per_unit.json", include_str!("vectors/per_unit.json")),
    (
        "subscriptions.json",
        include_str!("vectors/subscriptions.json"),
    ),
    (
        "subscriptions_credit_notes.json",
        include_str!("vectors/subscriptions_credit_notes.json"),
    ),
    (
        "subscriptions_errors.json",
        include_str!("vectors/subscriptions_errors.json"),
    ),
    (
        "subscriptions_schedule.json",
        include_str!("vectors/subscriptions_schedule.json"),
    ),
    (
        "subscriptions_usage.json",
        include_str!("vectors/subscriptions_usage.json"),
    ),
    ("tax.json", include_str!("vectors/tax.json")),
    ("tax_places.json", include_str!("vectors/tax_places.json")),
    ("tiers.json", include_str!("vectors/tiers.json")),
];

fn js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("valid JSON")
}

fn rust(value: &JsValue) -> Value {
    let text: String = js_sys::JSON::stringify(value).expect("stringify").into();
    serde_json::from_str(&text).expect("JSON")
}

fn run(vector: &Value) -> Result<Value, JsValue> {
    let input = || js(&vector["input"]);
    let calculator = || JsCalculator::new(js(&vector["catalog"]).unchecked_into());
    let out: JsValue = match vector["call"].as_str() {
        Some("computeQuote") => compute_quote(input().unchecked_into())?.into(),
        Some("Calculator.quote") => calculator()?.quote(input().unchecked_into())?.into(),
        Some("new Calculator") => {
            calculator()?;
            return Ok(Value::Null);
        }
        Some("previewInvoice") => preview_invoice(input().unchecked_into())?.into(),
        Some("Calculator.previewInvoice") => calculator()?
            .preview_invoice(input().unchecked_into())?
            .into(),
        Some("billingDates") => billing_dates(input().unchecked_into())?.into(),
        Some("Calculator.billingDates") => calculator()?
            .billing_dates(input().unchecked_into())?
            .into(),
        Some("dunningSchedule") => dunning_schedule(input().unchecked_into())?.into(),
        Some("creditNote") => credit_note(input().unchecked_into())?.into(),
        Some("revenueMetrics") => revenue_metrics(input().unchecked_into())?.into(),
        Some("fromShopifyCart") => {
            return Ok(rust(
                &from_shopify_cart(js(&vector["input"]).unchecked_into())?.into(),
            ));
        }
        Some("toShopifyAmounts") => {
            return Ok(rust(
                &to_shopify_amounts(js(&vector["input"]).unchecked_into())?.into(),
            ));
        }
        Some("fromWooCommerceCart") => {
            let options = match &vector["options"] {
                Value::Null => JsValue::UNDEFINED,
                options => js(options),
            };
            let cart = from_woocommerce_cart(
                js(&vector["input"]).unchecked_into(),
                Some(options.unchecked_into()),
            )?;
            return Ok(rust(&cart.into()));
        }
        other => panic!("unknown call {other:?}"),
    };
    let mut out = rust(&out);
    assert_eq!(out["version"], json!(billcalc::VERSION));
    out.as_object_mut().expect("object").remove("version");
    Ok(out)
}

fn error_fields(error: &JsValue) -> Value {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "thrown value is an Error"
    );
    let get = |key: &str| {
        js_sys::Reflect::get(error, &key.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    assert_eq!(get("name").as_deref(), Some("BillcalcError"));
    json!({ "code": get("code"), "path": get("path") })
}

#[wasm_bindgen_test]
fn golden_vectors_in_the_browser() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, text) in FILES {
        let doc: Value = serde_json::from_str(text).expect("vector file is JSON");
        for vector in doc["vectors"].as_array().expect("vectors") {
            count += 1;
            let (key, got) = match run(vector) {
                Ok(v) => ("output", v),
                Err(e) => ("error", error_fields(&e)),
            };
            let expected_key = if vector.get("output").is_some() {
                "output"
            } else {
                "error"
            };
            let same =
                key == expected_key && (vector["call"] == "new Calculator" || got == vector[key]);
            if !same {
                failures.push(format!(
                    "{file}::{}: expected {expected_key} {} got {key} {got}",
                    vector["name"], vector[expected_key]
                ));
            }
        }
    }
    assert!(count >= 40, "only {count} vectors");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
