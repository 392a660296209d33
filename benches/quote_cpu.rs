//! On-CPU time per 20-line checkout quote (issue 12's native targets), for a shared machine where
//! criterion's wall-clock figures include the time other processes held the core.
//! Run: `cargo bench --bench quote_cpu` (add `-- --quick` for a short run).
//!
//! Same case as `benches/quote.rs`'s `checkout/…` (benches/fixtures/): engine only, and text to
//! text (JSON text in, JSON text out through `Quote::to_json`). The thread's on-CPU time comes
//! from Linux's `/proc/thread-self/schedstat` (nanoseconds the scheduler ran this thread); wall
//! time is printed next to it with `uptime`'s load. Each figure is the median of several samples.

use billcalc::{from_json, Calculator, Catalog, QuoteInput};
use std::hint::black_box;
use std::time::Instant;

const CHECKOUT_CATALOG: &str = include_str!("fixtures/checkout-catalog.json");
const CHECKOUT_CART_20: &str = include_str!("fixtures/checkout-cart-20.json");
const CHECKOUT_CART_200: &str = include_str!("fixtures/checkout-cart-200.json");

/// Nanoseconds this thread has spent on a CPU (None off Linux).
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// (on-CPU µs per call, wall µs per call), medians over `samples` samples of `calls` calls.
fn measure(samples: usize, calls: usize, mut f: impl FnMut()) -> (Option<f64>, f64) {
    for _ in 0..calls {
        f();
    }
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    for _ in 0..samples {
        let c0 = cpu_ns();
        let t0 = Instant::now();
        for _ in 0..calls {
            f();
        }
        wall.push(t0.elapsed().as_secs_f64() * 1e6 / calls as f64);
        if let (Some(c0), Some(c1)) = (c0, cpu_ns()) {
            cpu.push((c1 - c0) as f64 / 1e3 / calls as f64);
        }
    }
    let cpu = (!cpu.is_empty()).then(|| median(cpu));
    (cpu, median(wall))
}

fn main() {
    // `cargo test --all-targets` runs bench targets too: one call each there.
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let quick = args.iter().any(|a| a == "--quick");
    // Other arguments select cases by name, e.g. `-- --quick "20 lines, engine"` (for `perf`).
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted =
        |case: &str| filters.is_empty() || filters.iter().any(|f| case.contains(f.as_str()));
    let (samples, calls) = match (smoke, quick) {
        (true, _) => (1, 1),
        (false, true) => (9, 2_000),
        (false, false) => (21, 5_000),
    };
    let catalog: Catalog = from_json(CHECKOUT_CATALOG).unwrap();
    let calculator = Calculator::new(&catalog).unwrap();
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average {}", load.trim());
    }
    println!("case                         on-CPU µs/quote  quotes/s/core (CPU)  wall µs/quote");
    for (name, text) in [("20", CHECKOUT_CART_20), ("200", CHECKOUT_CART_200)] {
        let input: QuoteInput = from_json(text).unwrap();
        // Honest benchmark: both cases compute the same quote, and the 20-line one has the total
        // the criterion bench and the Node comparison check (benches/quote.rs).
        let engine_quote = calculator.quote(&input).unwrap();
        let text_quote: QuoteInput = from_json(text).unwrap();
        assert_eq!(
            calculator.quote(&text_quote).unwrap().to_json(),
            engine_quote.to_json()
        );
        if name == "20" {
            assert_eq!(engine_quote.total, 975_433);
        }
        let calls = if name == "200" { calls / 10 } else { calls }.max(1);
        let engine_case = format!("{name} lines, engine only");
        let text_case = format!("{name} lines, text to text");
        let engine = wanted(&engine_case).then(|| {
            measure(samples, calls, || {
                black_box(calculator.quote(black_box(&input)).unwrap());
            })
        });
        let text_to_text = wanted(&text_case).then(|| {
            measure(samples, calls, || {
                let input: QuoteInput = from_json(black_box(text)).unwrap();
                black_box(calculator.quote(&input).unwrap().to_json());
            })
        });
        for (case, figures) in [("engine only", engine), ("text to text", text_to_text)] {
            let Some((cpu, wall)) = figures else { continue };
            let cpu_text = cpu.map_or("n/a".to_string(), |c| format!("{c:.2}"));
            let per_s = cpu.map_or("n/a".to_string(), |c| format!("{:.0}", 1e6 / c));
            println!(
                "{:<29}{:>15}  {:>19}  {:>13.2}",
                format!("{name} lines, {case}"),
                cpu_text,
                per_s,
                wall
            );
        }
    }
}
