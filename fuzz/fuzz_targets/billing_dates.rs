//! `billingDates`: upcoming invoices; amounts due never negative, dates in order.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(doc) = common::document(data) else { return };
    match billcalc::from_value::<billcalc::BillingDatesInput>(&doc["input"])
        .and_then(|i| billcalc::billing_dates(&i))
    {
        Ok(dates) => {
            let out = common::to_json(&dates);
            let mut previous = i64::MIN;
            for d in out["dates"].as_array().expect("dates") {
                let date = d["date"].as_i64().expect("date");
                assert!(date >= previous, "billing dates out of order");
                previous = date;
                assert!(d["amount_due"].as_i64().expect("amount_due") >= 0, "negative amount due");
            }
        }
        Err(e) => common::check_error(&e),
    }
});
