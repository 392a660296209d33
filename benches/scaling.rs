//! How a quote's cost grows along each scaling axis (issue 11): lines, distinct tax rates, tiers
//! of one price, cart promotions, order-level discounts. Each group measures one axis at sizes
//! growing ×4; the slope between sizes (log of the time ratio ÷ log 4) should be about 1
//! (linear) and at most a little above (n log n). `scripts/bench-slopes.sh` prints the slopes
//! from criterion's estimates.
//!
//! Run: `cargo bench --bench scaling`. Under `cargo test` (no `--bench`) each case runs once at
//! the smallest size, to keep the benchmark compiling and working.

use billcalc::{from_value, Calculator, Catalog, QuoteInput};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};

/// Sizes per axis: the full range when benchmarking, the smallest under `cargo test`.
fn sizes(full: &[usize]) -> Vec<usize> {
    if std::env::args().any(|a| a == "--bench") {
        full.to_vec()
    } else {
        full.iter().take(1).copied().collect()
    }
}

fn line(i: usize) -> Value {
    json!({ "price": { "currency": "eur", "unit_amount": 100 + (i % 900) as i64 }, "quantity": 1 + i % 7 })
}

fn quote_input(cart: Value) -> QuoteInput {
    from_value(&cart).expect("a valid cart")
}

fn calculator(catalog: Value) -> Calculator {
    let catalog: Catalog = from_value(&catalog).expect("a valid catalog");
    Calculator::new(&catalog).expect("a valid catalog")
}

fn run(
    c: &mut Criterion,
    group: &str,
    full: &[usize],
    case: impl Fn(usize) -> (Calculator, QuoteInput),
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for n in sizes(full) {
        let (calc, input) = case(n);
        calc.quote(&input).expect("the case prices");
        g.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| calc.quote(black_box(input)).unwrap())
        });
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    // Lines: n plain lines with one exclusive tax rate.
    run(c, "lines", &[625, 2_500, 10_000], |n| {
        let lines: Vec<Value> = (0..n).map(line).collect();
        let cart = json!({ "currency": "eur", "lines": lines,
            "default_tax_rates": [{ "percentage": 20, "inclusive": false, "display_name": "VAT" }] });
        (Calculator::default(), quote_input(cart))
    });

    // Distinct rates: 10,000 lines, each with 10 rates drawn from n distinct ones (the issue's
    // "10,000 lines × 10 distinct rates" is n = 10).
    run(c, "distinct_rates", &[10, 40, 160], |n| {
        let lines: Vec<Value> = (0..10_000)
            .map(|i| {
                let mut l = line(i);
                let rates: Vec<Value> = (0..10)
                    .map(|k| {
                        let r = (i + k * 7) % n;
                        json!({ "percentage": format!("{}.{:02}", 1 + r / 100, r % 100), "inclusive": false, "display_name": format!("T{r}") })
                    })
                    .collect();
                l["tax_rates"] = json!(rates);
                l
            })
            .collect();
        (
            Calculator::default(),
            quote_input(json!({ "currency": "eur", "lines": lines })),
        )
    });

    // Tiers: 10,000 lines on one graduated price of n tiers, quantities across the tiers.
    run(c, "tiers", &[625, 2_500, 10_000], |n| {
        let mut tiers: Vec<Value> = (1..n).map(|t| json!({ "up_to": t * 10, "unit_amount": 1000 - (t % 900) as i64, "flat_amount": 5 })).collect();
        tiers.push(json!({ "up_to": "inf", "unit_amount": 50 }));
        let catalog = json!({ "prices": [{ "id": "tiered", "currency": "eur", "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers }] });
        let lines: Vec<Value> = (0..10_000)
            .map(|i| json!({ "price": "tiered", "quantity": (i * 37) % (n * 10) }))
            .collect();
        (
            calculator(catalog),
            quote_input(json!({ "currency": "eur", "lines": lines })),
        )
    });

    // Promotions: n buy-X-get-Y rules (each on its own product category) over 1,000 lines.
    run(c, "promotions", &[62, 250, 1_000], |n| {
        let products: Vec<Value> = (0..n)
            .map(|p| json!({ "id": format!("p{p}"), "categories": [format!("c{p}"), "all"] }))
            .collect();
        let rules: Vec<Value> = (0..n)
            .map(|r| json!({ "id": format!("r{r}"), "type": "buy_x_get_y",
                "conditions": { "categories": [if r % 2 == 0 { "all".to_string() } else { format!("c{r}") }] },
                "buy_x_get_y": { "buy_quantity": 2, "get_quantity": 1, "percent_off": 10 } }))
            .collect();
        let catalog = json!({ "products": products, "promotions": rules });
        let lines: Vec<Value> = (0..1_000)
            .map(|i| json!({ "price": { "currency": "eur", "unit_amount": 100 + (i % 900) as i64, "product": format!("p{}", i % n) }, "quantity": 1 + i % 5 }))
            .collect();
        (
            calculator(catalog),
            quote_input(json!({ "currency": "eur", "lines": lines })),
        )
    });

    // Discounts: n order-level coupons (percent and amount) over 1,000 lines.
    run(c, "discounts", &[6, 25, 100], |n| {
        let discounts: Vec<Value> = (0..n)
            .map(|d| {
                if d % 2 == 0 {
                    json!({ "coupon": { "percent_off": 1 } })
                } else {
                    json!({ "coupon": { "amount_off": 100, "currency": "eur" } })
                }
            })
            .collect();
        let lines: Vec<Value> = (0..1_000).map(line).collect();
        (
            Calculator::default(),
            quote_input(json!({ "currency": "eur", "lines": lines, "discounts": discounts })),
        )
    });
}

criterion_group!(benches, scaling);
criterion_main!(benches);
