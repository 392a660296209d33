//! Native quote of a 20-line cart (the checkout hot path), and the same with JSON parsing.
//! Run: `cargo bench --bench quote`.

use billcalc::{from_json, Calculator, Catalog, QuoteInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const CATALOG: &str = r#"{"prices":[
  {"id":"per_unit","currency":"usd","unit_amount":1999,"currency_options":{"eur":{"unit_amount":1799}}},
  {"id":"decimal","currency":"usd","unit_amount_decimal":"0.125"},
  {"id":"graduated","currency":"usd","billing_scheme":"tiered","tiers_mode":"graduated",
   "tiers":[{"up_to":5,"unit_amount":700,"flat_amount":1000},{"up_to":10,"unit_amount":650},{"up_to":"inf","unit_amount":600}]},
  {"id":"volume","currency":"usd","billing_scheme":"tiered","tiers_mode":"volume",
   "tiers":[{"up_to":100,"unit_amount_decimal":"2.5"},{"up_to":1000,"unit_amount":2},{"up_to":"inf","unit_amount":1}]},
  {"id":"package","currency":"usd","unit_amount":400,"transform_quantity":{"divide_by":100,"round":"up"}}
]}"#;

pub fn cart(lines: usize) -> String {
    let ids = ["per_unit", "decimal", "graduated", "volume", "package"];
    let lines: Vec<String> = (0..lines)
        .map(|i| {
            format!(
                r#"{{"price":"{}","quantity":{}}}"#,
                ids[i % ids.len()],
                1 + i * 7
            )
        })
        .collect();
    format!(r#"{{"currency":"usd","lines":[{}]}}"#, lines.join(","))
}

fn bench(c: &mut Criterion) {
    let catalog: Catalog = from_json(CATALOG).unwrap();
    let calculator = Calculator::new(&catalog).unwrap();
    let text = cart(20);
    let input: QuoteInput = from_json(&text).unwrap();
    c.bench_function("quote 20 lines (parsed cart)", |b| {
        b.iter(|| calculator.quote(black_box(&input)).unwrap())
    });
    c.bench_function("quote 20 lines (from JSON text)", |b| {
        b.iter(|| {
            calculator
                .quote(&from_json::<QuoteInput>(black_box(&text)).unwrap())
                .unwrap()
        })
    });

    // The same cart with the discount stage busy: products with categories, coupons, a code and
    // every kind of cart rule, one of them non-combinable (so stacking compares options).
    let catalog: Catalog = from_json(&discount_catalog()).unwrap();
    let calculator = Calculator::new(&catalog).unwrap();
    let mut cart: serde_json::Value = serde_json::from_str(&cart(20)).unwrap();
    cart["discounts"] = serde_json::json!([{ "promotion_code": "save10" }, { "coupon": "FIVE" }]);
    cart["lines"][0]["discounts"] = serde_json::json!([{ "coupon": "LINE15" }]);
    let input: QuoteInput = from_json(&cart.to_string()).unwrap();
    c.bench_function(
        "quote 20 lines with coupons, a code and 5 cart rules",
        |b| b.iter(|| calculator.quote(black_box(&input)).unwrap()),
    );
}

fn discount_catalog() -> String {
    let mut catalog: serde_json::Value = serde_json::from_str(CATALOG).unwrap();
    catalog["products"] = serde_json::json!([{ "id": "p1", "categories": ["sale"] }]);
    catalog["coupons"] = serde_json::json!([
        { "id": "SAVE10", "percent_off": 10 },
        { "id": "FIVE", "amount_off": 500, "currency": "usd" },
        { "id": "LINE15", "percent_off": 15, "combinable": false },
    ]);
    catalog["promotion_codes"] = serde_json::json!([{ "code": "SAVE10", "coupon": "SAVE10" }]);
    catalog["promotions"] = serde_json::json!([
        { "id": "b2g1", "type": "buy_x_get_y", "buy_x_get_y": { "buy_quantity": 2, "get_quantity": 1 } },
        { "id": "spend", "type": "spend_threshold", "currency": "usd",
          "spend_threshold": { "tiers": [{ "minimum_amount": 10000, "percent_off": 5 }, { "minimum_amount": 50000, "percent_off": 10 }] } },
        { "id": "qb", "type": "quantity_break", "quantity_break": { "tiers": [{ "minimum_quantity": 10, "percent_off": 3 }] } },
        { "id": "fp", "type": "fixed_price", "currency": "usd", "conditions": { "categories": ["sale"] }, "fixed_price": { "unit_amount": 100 } },
        { "id": "ship", "type": "free_shipping", "currency": "usd", "conditions": { "minimum_amount": 5000 } },
    ]);
    catalog.to_string()
}

criterion_group!(benches, bench);
criterion_main!(benches);
