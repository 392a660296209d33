//! Property tests for the invariants money depends on.
#![cfg(not(target_arch = "wasm32"))]

use billcalc::price::Price;
use billcalc::{
    allocate, from_json, Calculator, Catalog, QuoteInput, RoundingMode, RoundingPolicy,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop_oneof![
        Just(RoundingMode::HalfUp),
        Just(RoundingMode::HalfEven),
        Just(RoundingMode::Up),
        Just(RoundingMode::Down),
        Just(RoundingMode::Ceiling),
        Just(RoundingMode::Floor),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn allocations_sum_exactly_and_stay_proportional(
        total in -1_000_000_000_000i64..1_000_000_000_000,
        weights in prop::collection::vec(0i64..1_000_000_000, 1..40),
    ) {
        let parts = allocate(total, &weights, "").unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(parts.iter().sum::<i64>(), total);
        let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        for (&p, &w) in parts.iter().zip(&weights) {
            // Same sign as the total, never more than one unit away from the exact share.
            prop_assert!(p == 0 || (p > 0) == (total > 0));
            if sum > 0 {
                let exact_num = i128::from(total) * i128::from(w); // share = exact_num / sum
                let diff = i128::from(p) * sum - exact_num;
                prop_assert!(diff.abs() < sum, "part {} too far from share", p);
                if w == 0 { prop_assert_eq!(p, 0); }
            }
        }
    }

    #[test]
    fn rounding_lands_on_the_increment_within_one_step(
        mantissa in -1_000_000_000_000i64..1_000_000_000_000,
        scale in 0u32..12,
        increment in prop::option::of(1i64..1000),
        mode in mode(),
    ) {
        let value = Decimal::new(mantissa, scale);
        let policy = RoundingPolicy { mode, increment };
        let rounded = policy.round(value, "").unwrap();
        let step = increment.unwrap_or(1);
        prop_assert_eq!(rounded % step, 0);
        prop_assert!((Decimal::from(rounded) - value).abs() < Decimal::from(step));
        match mode {
            RoundingMode::Ceiling => prop_assert!(Decimal::from(rounded) >= value),
            RoundingMode::Floor => prop_assert!(Decimal::from(rounded) <= value),
            RoundingMode::Down => prop_assert!(Decimal::from(rounded).abs() <= value.abs()),
            RoundingMode::Up => prop_assert!(Decimal::from(rounded).abs() >= value.abs()),
            _ => prop_assert!((Decimal::from(rounded) - value).abs() * Decimal::TWO <= Decimal::from(step)),
        }
    }

    #[test]
    fn graduated_tiers_never_decrease_and_match_per_unit_when_flat(
        bounds in prop::collection::btree_set(1i64..500, 0..6),
        unit in 0i64..10_000,
        q in 0i64..1000,
    ) {
        let mut tiers: Vec<String> = bounds.iter().map(|b| format!(r#"{{"up_to":{b},"unit_amount":{unit}}}"#)).collect();
        tiers.push(format!(r#"{{"up_to":"inf","unit_amount":{unit}}}"#));
        let tiers = tiers.join(",");
        for mode in ["graduated", "volume"] {
            let price: Price = from_json(&format!(
                r#"{{"currency":"usd","billing_scheme":"tiered","tiers_mode":"{mode}","tiers":[{tiers}]}}"#
            )).unwrap();
            let valid = price.validate("").unwrap();
            let terms = valid.terms_for(billcalc::Currency::parse("usd", "").unwrap()).unwrap();
            let at = |q| terms.scheme.amount(q, "").unwrap();
            prop_assert_eq!(at(q), Decimal::from(unit * q));
            prop_assert!(at(q + 1) >= at(q));
        }
    }

    #[test]
    fn graduated_amount_is_monotonic_with_any_tiers(
        tiers in prop::collection::vec((1i64..50, 0i64..5000, 0i64..5000), 1..6),
        q in 0i64..400,
    ) {
        let mut bound = 0;
        let mut json: Vec<String> = tiers.iter().map(|&(step, unit, flat)| {
            bound += step;
            format!(r#"{{"up_to":{bound},"unit_amount":{unit},"flat_amount":{flat}}}"#)
        }).collect();
        json.push(r#"{"up_to":"inf","unit_amount":7}"#.to_string());
        let price: Price = from_json(&format!(
            r#"{{"currency":"usd","billing_scheme":"tiered","tiers_mode":"graduated","tiers":[{}]}}"#, json.join(",")
        )).unwrap();
        let valid = price.validate("").unwrap();
        let terms = valid.terms_for(billcalc::Currency::parse("usd", "").unwrap()).unwrap();
        let a = terms.scheme.amount(q, "").unwrap();
        let b = terms.scheme.amount(q + 1, "").unwrap();
        prop_assert!(b >= a && a >= Decimal::ZERO);
    }

    #[test]
    fn package_pricing_is_whole_packages(unit in 0i64..10_000, divide_by in 1i64..1000, q in 0i64..100_000, up in any::<bool>()) {
        let round = if up { "up" } else { "down" };
        let price: Price = from_json(&format!(
            r#"{{"currency":"usd","unit_amount":{unit},"transform_quantity":{{"divide_by":{divide_by},"round":"{round}"}}}}"#
        )).unwrap();
        let valid = price.validate("").unwrap();
        let terms = valid.terms_for(billcalc::Currency::parse("usd", "").unwrap()).unwrap();
        let packages = if up { (q + divide_by - 1) / divide_by } else { q / divide_by };
        prop_assert_eq!(terms.scheme.amount(q, "").unwrap(), Decimal::from(unit * packages));
    }

    #[test]
    fn quote_total_is_the_sum_of_lines_and_never_negative(
        lines in prop::collection::vec((0i64..1_000_000, 0i64..1000, 0u32..6), 0..30),
    ) {
        let json: Vec<String> = lines.iter().map(|&(m, q, scale)| {
            let d = Decimal::new(m, scale);
            format!(r#"{{"price":{{"currency":"eur","unit_amount_decimal":"{d}"}},"quantity":{q}}}"#)
        }).collect();
        let input: QuoteInput = from_json(&format!(r#"{{"currency":"eur","lines":[{}]}}"#, json.join(","))).unwrap();
        let quote = Calculator::new(&Catalog::default()).unwrap().quote(&input).unwrap();
        prop_assert_eq!(quote.total, quote.lines.iter().map(|l| l.amount).sum::<i64>());
        prop_assert!(quote.lines.iter().all(|l| l.amount >= 0));
    }

    /// Arbitrary JSON never panics the engine: it yields a quote or a structured error.
    #[test]
    fn arbitrary_input_never_panics(text in ".{0,200}") {
        let _ = from_json::<QuoteInput>(&text).and_then(|i| billcalc::compute_quote(&i));
    }

    #[test]
    fn mutated_valid_input_never_panics(
        q in any::<i64>(), unit in any::<i64>(), up_to in any::<i64>(), divide_by in any::<i64>(), dec in "[0-9.]{1,30}",
    ) {
        let inputs = [
            format!(r#"{{"currency":"usd","lines":[{{"price":{{"currency":"usd","unit_amount":{unit}}},"quantity":{q}}}]}}"#),
            format!(r#"{{"currency":"usd","lines":[{{"price":{{"currency":"usd","unit_amount_decimal":"{dec}"}},"quantity":{q}}}]}}"#),
            format!(r#"{{"currency":"usd","lines":[{{"price":{{"currency":"usd","billing_scheme":"tiered","tiers_mode":"graduated","tiers":[{{"up_to":{up_to},"unit_amount":{unit},"flat_amount":{unit}}},{{"up_to":"inf","unit_amount_decimal":"{dec}"}}]}},"quantity":{q}}}]}}"#),
            format!(r#"{{"currency":"usd","lines":[{{"price":{{"currency":"usd","unit_amount":{unit},"transform_quantity":{{"divide_by":{divide_by},"round":"up"}}}},"quantity":{q}}}]}}"#),
        ];
        for text in inputs {
            let _ = from_json::<QuoteInput>(&text).and_then(|i| billcalc::compute_quote(&i));
        }
    }
}

fn tax_cart(lines: &[(i64, u32, bool, u8)], stage: &str, country: &str) -> String {
    let categories = [
        "standard",
        "reduced",
        "zero",
        "exempt",
        "shipping",
        "digital_services",
    ];
    let json: Vec<String> = lines
        .iter()
        .map(|&(amount, q, inclusive, cat)| {
            let behavior = if inclusive { "inclusive" } else { "exclusive" };
            let category = categories[usize::from(cat) % categories.len()];
            format!(
                r#"{{"price":{{"currency":"eur","unit_amount":{amount},"tax_behavior":"{behavior}"}},"quantity":{q},"tax_category":"{category}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"currency":"eur","as_of":"2026-01-15","customer":{{"address":{{"country":"{country}"}}}},
            "tax":{{"seller":{{"country":"FR"}},"rounding_stage":"{stage}"}},"lines":[{}]}}"#,
        json.join(",")
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Line taxes always add up to the breakdown; totals add up; nothing is negative.
    #[test]
    fn tax_totals_are_consistent(
        lines in prop::collection::vec((0i64..100_000, 0u32..20, any::<bool>(), 0u8..6), 0..12),
        invoice in any::<bool>(),
        country in prop::sample::select(vec!["FR", "DE", "IT", "US", "GB"]),
    ) {
        let stage = if invoice { "invoice" } else { "line" };
        let input: QuoteInput = from_json(&tax_cart(&lines, stage, country)).unwrap();
        let quote = billcalc::compute_quote(&input).unwrap();
        let line_tax: i64 = quote.lines.iter().flat_map(|l| &l.taxes).map(|t| t.amount).sum();
        let total_tax: i64 = quote.total_taxes.iter().map(|t| t.amount).sum();
        prop_assert_eq!(line_tax, total_tax);
        prop_assert_eq!(quote.total, quote.total_excluding_tax + total_tax);
        for line in &quote.lines {
            prop_assert!(line.amount_excluding_tax >= 0);
            prop_assert!(line.taxes.iter().all(|t| t.amount >= 0 && t.taxable_amount >= 0));
            let inclusive: i64 = line.taxes.iter().filter(|t| t.rate.inclusive).map(|t| t.amount).sum();
            // A tax-inclusive line is never charged more than its price.
            if line.taxes.iter().any(|t| t.rate.inclusive) {
                prop_assert_eq!(line.amount_excluding_tax + inclusive, line.amount);
            }
        }
    }

    /// Line and invoice rounding differ by at most one minor unit per rate and line.
    #[test]
    fn rounding_stages_stay_close(
        lines in prop::collection::vec((0i64..100_000, 1u32..5, any::<bool>(), 0u8..2), 1..10),
    ) {
        let tax_of = |stage: &str| {
            let input: QuoteInput = from_json(&tax_cart(&lines, stage, "DE")).unwrap();
            let q = billcalc::compute_quote(&input).unwrap();
            q.total_taxes.iter().map(|t| t.amount).sum::<i64>()
        };
        let (line, invoice) = (tax_of("line"), tax_of("invoice"));
        prop_assert!((line - invoice).abs() <= lines.len() as i64);
    }
}

// ------------------------------------------------------------------------------------------------
// Discounts: random coupons, promotion codes and cart rules over random carts.

use billcalc::discount::Level;
use billcalc::Quote;
use serde_json::{json, Value};

/// A random coupon (always valid): percent or amount, maybe capped, maybe restricted.
fn coupon_json() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            (1i64..=10_000)
                .prop_map(|b| json!({ "percent_off": format!("{}.{:02}", b / 100, b % 100) })),
            (1i64..100_000).prop_map(|a| json!({ "amount_off": a, "currency": "usd" })),
        ],
        any::<bool>(),
        0i64..3,
        prop::option::of(1i64..20_000),
        prop::option::of(0usize..4),
    )
        .prop_map(|(mut value, combinable, priority, cap, product)| {
            let obj = value.as_object_mut().expect("object");
            obj.insert("combinable".into(), json!(combinable));
            obj.insert("priority".into(), json!(priority));
            if let Some(cap) = cap {
                obj.insert("max_discount_amount".into(), json!(cap));
                obj.insert("currency".into(), json!("usd"));
            }
            if let Some(p) = product {
                obj.insert(
                    "applies_to".into(),
                    json!({ "products": [format!("prod_{p}")] }),
                );
            }
            value
        })
}

/// A random cart rule (always valid).
fn rule_json() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        (1i64..4, 1i64..3, 1i64..=100, prop::option::of(1i64..4)).prop_map(|(b, g, p, m)| {
            let mut v = json!({ "type": "buy_x_get_y",
                "buy_x_get_y": { "buy_quantity": b, "get_quantity": g, "percent_off": p } });
            if let Some(m) = m {
                v["buy_x_get_y"]["max_applications"] = json!(m);
            }
            v
        }),
        (0i64..50_000, 1i64..=100, 1i64..30_000).prop_map(|(m, p, a)| json!({
            "type": "spend_threshold", "currency": "usd",
            "spend_threshold": { "tiers": [
                { "minimum_amount": m, "percent_off": p },
                { "minimum_amount": m + 10_000, "amount_off": a } ] } })),
        (1i64..5, 1i64..=100, 0i64..5_000).prop_map(|(q, p, u)| json!({
            "type": "quantity_break", "currency": "usd",
            "quantity_break": { "tiers": [
                { "minimum_quantity": q, "percent_off": p },
                { "minimum_quantity": q + 5, "unit_amount": u } ] } })),
        (0i64..5_000).prop_map(|u| json!({ "type": "fixed_price", "currency": "usd", "fixed_price": { "unit_amount": u } })),
        Just(json!({ "type": "free_shipping" })),
    ];
    (
        kind,
        any::<bool>(),
        0i64..3,
        prop::option::of(1i64..20_000),
        prop::option::of(0usize..4),
        prop::option::of(0i64..30_000),
    )
        .prop_map(
            |(mut value, combinable, priority, cap, category, minimum)| {
                value["combinable"] = json!(combinable);
                value["priority"] = json!(priority);
                if let Some(cap) = cap {
                    value["max_discount_amount"] = json!(cap);
                    value["currency"] = json!("usd");
                }
                let mut conditions = json!({});
                if let Some(c) = category {
                    conditions["categories"] = json!([format!("cat_{c}")]);
                }
                if let Some(m) = minimum {
                    conditions["minimum_amount"] = json!(m.max(1));
                    value["currency"] = json!("usd");
                }
                value["conditions"] = conditions;
                value
            },
        )
}

/// A discount request: a catalog coupon, a code (known or not) or an inline coupon.
fn request_json(coupons: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        (0..coupons.max(1)).prop_map(|i| json!({ "coupon": format!("c{i}") })),
        (0..coupons.max(1) + 1).prop_map(|i| json!({ "promotion_code": format!("CODE{i}") })),
        coupon_json().prop_map(|c| json!({ "coupon": c })),
    ]
}

fn cart_json() -> impl Strategy<Value = (Value, Value)> {
    (
        prop::collection::vec(coupon_json(), 1..5),
        prop::collection::vec(rule_json(), 0..5),
    )
        .prop_flat_map(|(coupons, rules)| {
            let n = coupons.len();
            let line = (
                0i64..50_000,
                0i64..8,
                0usize..4,
                any::<bool>(),
                prop::bool::weighted(0.85),
                prop::collection::vec(request_json(n), 0..2),
            );
            (
                Just(coupons),
                Just(rules),
                prop::collection::vec(line, 0..7),
                prop::collection::vec(request_json(n), 0..4),
                prop_oneof![Just("half_up"), Just("half_even"), Just("up"), Just("down")],
                prop::option::of(prop_oneof![Just(5i64), Just(10)]),
            )
        })
        .prop_map(|(coupons, rules, lines, requests, mode, increment)| {
            let coupons: Vec<Value> = coupons
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!(format!("c{i}"));
                    c
                })
                .collect();
            let codes: Vec<Value> = (0..coupons.len())
                .map(|i| json!({ "code": format!("code{i}"), "coupon": format!("c{i}") }))
                .collect();
            let rules: Vec<Value> = rules
                .into_iter()
                .enumerate()
                .map(|(i, mut r)| {
                    r["id"] = json!(format!("r{i}"));
                    r
                })
                .collect();
            let products: Vec<Value> = (0..4)
                .map(|p| json!({ "id": format!("prod_{p}"), "categories": [format!("cat_{p}"), "all"] }))
                .collect();
            let catalog = json!({ "coupons": coupons, "promotion_codes": codes, "promotions": rules, "products": products });
            let lines: Vec<Value> = lines
                .into_iter()
                .map(|(unit, quantity, product, shipping, discountable, requests)| {
                    let mut line = json!({
                        "price": { "currency": "usd", "unit_amount": unit, "product": format!("prod_{product}") },
                        "quantity": quantity,
                    });
                    if shipping {
                        line["tax_category"] = json!("shipping");
                    }
                    if !discountable {
                        line["discountable"] = json!(false);
                    } else if !requests.is_empty() {
                        line["discounts"] = json!(requests);
                    }
                    line
                })
                .collect();
            let mut rounding = json!({ "mode": mode });
            if let Some(i) = increment {
                rounding["increment"] = json!(i);
            }
            let cart = json!({ "currency": "usd", "lines": lines, "discounts": requests, "rounding": rounding });
            (catalog, cart)
        })
}

fn requested_count(cart: &Value) -> usize {
    let order = cart["discounts"].as_array().map_or(0, Vec::len);
    let items: usize = cart["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["discounts"].as_array().map_or(0, Vec::len))
        .sum();
    order + items
}

/// The invariants every quote with discounts keeps.
fn check_discount_invariants(
    quote: &Quote,
    requested: usize,
    rules: usize,
) -> Result<(), TestCaseError> {
    let mut item_level = 0i64;
    let mut order_level = 0i64;
    for d in &quote.discounts {
        // Each discount's line parts sum exactly to its amount.
        let parts: i64 = quote
            .lines
            .iter()
            .flat_map(|l| &l.discount_amounts)
            .filter(|a| a.discount == d.id)
            .map(|a| a.amount)
            .sum();
        prop_assert_eq!(parts, d.amount, "discount {}", d.id);
        prop_assert!(d.amount >= 0);
        prop_assert!(d.unused_amount.map_or(true, |u| u >= 0));
        match d.level {
            Level::Item => item_level += d.amount,
            Level::Order => order_level += d.amount,
        }
    }
    prop_assert_eq!(quote.total_discount_amounts.len(), quote.discounts.len());
    for (t, d) in quote.total_discount_amounts.iter().zip(&quote.discounts) {
        prop_assert_eq!(&t.discount, &d.id);
        prop_assert_eq!(t.amount, d.amount);
    }
    for line in &quote.lines {
        let off: i64 = line.discount_amounts.iter().map(|a| a.amount).sum();
        prop_assert!(line.amount >= 0);
        prop_assert!(line.discount_amounts.iter().all(|a| a.amount > 0));
        prop_assert!(off <= line.amount, "line discounted below zero");
    }
    let gross: i64 = quote.lines.iter().map(|l| l.amount).sum();
    prop_assert_eq!(quote.subtotal, gross - item_level);
    prop_assert_eq!(quote.total, quote.subtotal - order_level);
    prop_assert!(quote.subtotal >= 0 && quote.total >= 0);
    // Every requested discount and every rule is accounted for exactly once.
    prop_assert_eq!(
        quote.discounts.len() + quote.rejected_discounts.len(),
        requested + rules
    );
    let mut ids: Vec<&str> = quote
        .discounts
        .iter()
        .map(|d| d.id.as_str())
        .chain(quote.rejected_discounts.iter().map(|r| r.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    prop_assert_eq!(ids.len(), requested + rules);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Random valid coupons, codes and rules over random carts: the quote computes, every
    /// discount's parts sum exactly to it, nothing goes negative, everything is accounted for.
    #[test]
    fn discounts_allocate_exactly_and_never_go_negative((catalog, cart) in cart_json()) {
        let catalog: Catalog = billcalc::from_value(&catalog).unwrap();
        let calculator = Calculator::new(&catalog).unwrap();
        let input: QuoteInput = billcalc::from_value(&cart).unwrap();
        let rules = catalog.promotions.len();
        let quote = calculator.quote(&input).unwrap();
        check_discount_invariants(&quote, requested_count(&cart), rules)?;
    }

    /// A single order-level amount split over random lines sums exactly and follows the lines.
    #[test]
    fn order_amount_off_splits_exactly(
        amounts in prop::collection::vec(0i64..1_000_000_000, 1..25),
        off in 1i64..5_000_000_000,
    ) {
        let lines: Vec<Value> = amounts.iter().map(|&a| json!({ "price": { "currency": "eur", "unit_amount": a } })).collect();
        let cart = json!({
            "currency": "eur", "lines": lines,
            "discounts": [{ "coupon": { "amount_off": off, "currency": "eur" } }],
        });
        let input: QuoteInput = billcalc::from_value(&cart).unwrap();
        let quote = billcalc::compute_quote(&input).unwrap();
        let gross: i64 = amounts.iter().sum();
        let applied = off.min(gross);
        prop_assert_eq!(quote.discounts.len() + quote.rejected_discounts.len(), 1);
        if let Some(d) = quote.discounts.first() {
            prop_assert_eq!(d.amount, applied);
            prop_assert_eq!(d.unused_amount, Some(off - applied));
        }
        prop_assert_eq!(quote.total, gross - applied);
        check_discount_invariants(&quote, 1, 0)?;
    }

    /// Arbitrary numbers in every discount field never panic: a quote or a structured error.
    #[test]
    fn random_discount_definitions_never_panic(
        a in any::<i64>(), b in any::<i64>(), c in any::<i64>(), pct in "-?[0-9]{1,4}(\\.[0-9]{1,4})?",
        unit in 0i64..1_000_000, q in 0i64..100, kind in 0usize..5, flag in any::<bool>(),
    ) {
        let kinds = [
            json!({ "type": "buy_x_get_y", "buy_x_get_y": { "buy_quantity": a, "get_quantity": b, "percent_off": pct.parse::<f64>().unwrap_or(1.0), "max_applications": c } }),
            json!({ "type": "spend_threshold", "currency": "usd", "max_discount_amount": c, "spend_threshold": { "tiers": [{ "minimum_amount": a, "amount_off": b }] } }),
            json!({ "type": "quantity_break", "currency": "usd", "quantity_break": { "tiers": [{ "minimum_quantity": a, "unit_amount": b }] } }),
            json!({ "type": "fixed_price", "currency": "usd", "fixed_price": { "unit_amount": a }, "conditions": { "starts_at": b, "ends_at": c, "minimum_quantity": q } }),
            json!({ "type": "free_shipping", "conditions": { "minimum_amount": a }, "currency": "usd" }),
        ];
        let mut rule = kinds[kind].clone();
        rule["id"] = json!("r");
        rule["combinable"] = json!(flag);
        let catalog = json!({
            "coupons": [
                { "id": "p", "percent_off": pct, "max_discount_amount": a, "currency": "usd", "redeem_by": b },
                { "id": "m", "amount_off": a, "currency": "usd", "combinable": flag, "priority": c },
            ],
            "promotion_codes": [{ "code": "X", "coupon": "m", "expires_at": c, "restrictions": { "minimum_amount": b, "minimum_amount_currency": "usd" } }],
            "promotions": [rule],
        });
        let cart = json!({
            "currency": "usd", "as_of": "2025-01-01",
            "lines": [
                { "price": { "currency": "usd", "unit_amount": unit }, "quantity": q, "discounts": [{ "coupon": "p" }] },
                { "price": { "currency": "usd", "unit_amount": unit }, "quantity": q, "tax_category": "shipping" },
            ],
            "discounts": [{ "promotion_code": "x" }, { "coupon": "m" }, { "coupon": { "percent_off": pct } }],
        });
        let result = billcalc::from_value::<Catalog>(&catalog)
            .and_then(|c| Calculator::new(&c))
            .and_then(|calc| calc.quote(&billcalc::from_value(&cart)?));
        if let Ok(quote) = result {
            check_discount_invariants(&quote, 4, 1)?;
        }
    }
}
