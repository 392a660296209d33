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
