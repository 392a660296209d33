//! Native quote of a 20-line cart (the checkout hot path), and the same with JSON parsing.
//! Run: `cargo bench --bench quote`.
//!
//! `checkout/…`: issue 12's case, shared with the Node benchmarks (benches/fixtures/, written by
//! benches/node/checkout-data.mjs): a 50-price catalog, a 20-line cart with an exclusive 20 % VAT
//! rate and a 10 % order coupon; engine only, and text to text (JSON text in, JSON text out through
//! `Quote::to_json`, the writer the wasm package uses).

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

const CHECKOUT_CATALOG: &str = include_str!("fixtures/checkout-catalog.json");
const CHECKOUT_CART_20: &str = include_str!("fixtures/checkout-cart-20.json");

fn checkout(c: &mut Criterion) {
    let catalog: Catalog = from_json(CHECKOUT_CATALOG).unwrap();
    let calculator = Calculator::new(&catalog).unwrap();
    let input: QuoteInput = from_json(CHECKOUT_CART_20).unwrap();
    assert_eq!(calculator.quote(&input).unwrap().total, 975_433);
    let mut group = c.benchmark_group("checkout");
    group.bench_function("20 lines, engine only", |b| {
        b.iter(|| calculator.quote(black_box(&input)).unwrap())
    });
    group.bench_function("20 lines, text to text", |b| {
        b.iter(|| {
            let input: QuoteInput = from_json(black_box(CHECKOUT_CART_20)).unwrap();
            calculator.quote(&input).unwrap().to_json()
        })
    });
    group.finish();
}

/// 10,000 lines, each with 10 tax rates of its own (100,000 distinct rates): the tax stage groups
/// totals per rate in linear time (issue 11 measured 125 s when it compared every pair).
pub fn distinct_rates_cart(lines: usize, rates_per_line: usize) -> String {
    let lines: Vec<String> = (0..lines)
        .map(|i| {
            let rates: Vec<String> = (0..rates_per_line)
                .map(|j| {
                    let n = i * rates_per_line + j;
                    format!(
                        r#"{{"display_name":"Tax {n}","percentage":"{}.{:04}","inclusive":false}}"#,
                        n % 7,
                        n % 10_000
                    )
                })
                .collect();
            format!(
                r#"{{"price":{{"currency":"usd","unit_amount":{}}},"quantity":1,"tax_rates":[{}]}}"#,
                100 + i % 900,
                rates.join(",")
            )
        })
        .collect();
    format!(r#"{{"currency":"usd","lines":[{}]}}"#, lines.join(","))
}

fn scaling(c: &mut Criterion) {
    let input: QuoteInput = from_json(&distinct_rates_cart(10_000, 10)).unwrap();
    let quote = billcalc::compute_quote(&input).unwrap();
    assert_eq!(quote.total_taxes.len(), 100_000);
    let mut group = c.benchmark_group("scaling");
    group.sample_size(10);
    group.bench_function("10,000 lines x 10 distinct tax rates each", |b| {
        b.iter(|| billcalc::compute_quote(black_box(&input)).unwrap())
    });
    group.finish();
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

criterion_group!(benches, checkout, scaling, bench);
criterion_main!(benches);
