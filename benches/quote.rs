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
}

criterion_group!(benches, bench);
criterion_main!(benches);
