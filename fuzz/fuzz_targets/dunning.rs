//! `dunningSchedule`: retries after a failed payment, in order, after the failure.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::DunningInput>(&doc["input"])
        .and_then(|i| billcalc::dunning_schedule(&i))
    {
        Ok(schedule) => {
            let out = common::to_json(&schedule);
            let failed_at = out["failed_at"].as_i64().unwrap_or(i64::MIN);
            let mut previous = failed_at;
            for r in out["retries"].as_array().into_iter().flatten() {
                let at = r["at"].as_i64().or_else(|| r.as_i64()).unwrap_or(previous);
                assert!(at >= previous, "retries out of order");
                previous = at;
            }
        }
        Err(e) => common::check_error(&e),
    }
});
