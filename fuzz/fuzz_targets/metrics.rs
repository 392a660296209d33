//! `revenueMetrics`: subscription histories and invoices → a report; no panic, bounded errors.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::metrics::MetricsInput>(&doc["input"])
        .and_then(|i| billcalc::metrics::revenue_metrics(&i))
    {
        Ok(report) => {
            let _ = common::to_json(&report);
        }
        Err(e) => common::check_error(&e),
    }
});
