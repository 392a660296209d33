//! Revenue reports (`GET /v1/reports/{mrr,movements,churn,cohorts}`, secret key; the route is
//! `crate::routes::reports`), computed
//! from the stored subscriptions and invoices with the crate's `revenue_metrics`, the very
//! function a page runs in wasm. JSON, or CSV with `Accept: text/csv`.
//!
//! Query: `start` and `end` (`YYYY-MM-DD`, on interval boundaries; `end` exclusive; default the
//! twelve months up to the current one included), `interval` (`month` default, `quarter`,
//! `year`), `currency` (the reporting currency; default the one most subscriptions use) and
//! `exchange_rates` (`usd:0.92,gbp:1.17`: major units of the reporting currency per unit).
//! Every row is flat (numbers, decimal strings, dates), so the CSV has the JSON's columns.

pub mod history;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use billcalc::metrics::{Rate, RevenueReport};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The four reports.
pub const REPORTS: [&str; 4] = ["mrr", "movements", "churn", "cohorts"];

fn rate(r: &Rate) -> Value {
    json!(r.value)
}

/// A flat row: `(column, value)` in column order.
pub type Row = Vec<(&'static str, Value)>;

/// The report's rows.
pub fn rows(name: &str, report: &RevenueReport) -> Vec<Row> {
    let object = |pairs: Row| -> Row { pairs };
    if name == "cohorts" {
        let mut out = Vec::new();
        for c in &report.cohorts {
            for cell in &c.cells {
                out.push(object(vec![
                    ("cohort", json!(c.cohort)),
                    ("customers", json!(c.customers)),
                    ("index", json!(cell.index)),
                    ("date", json!(cell.date)),
                    ("active_customers", json!(cell.customers)),
                    ("mrr", json!(cell.mrr)),
                    ("customer_retention", rate(&cell.customer_retention)),
                    ("revenue_retention", rate(&cell.revenue_retention)),
                ]));
            }
        }
        return out;
    }
    report
        .periods
        .iter()
        .map(|p| {
            let m = &p.movements;
            let n = &p.movement_customers;
            let mut pairs = vec![("start", json!(p.start)), ("end", json!(p.end))];
            match name {
                "mrr" => pairs.extend([
                    ("mrr_start", json!(p.mrr_start)),
                    ("mrr_end", json!(p.mrr_end)),
                    ("arr", json!(p.arr)),
                    ("customers_start", json!(p.customers_start)),
                    ("customers_end", json!(p.customers_end)),
                    ("arpu", json!(p.arpu)),
                    ("ltv", json!(p.ltv)),
                ]),
                "movements" => pairs.extend([
                    ("mrr_start", json!(p.mrr_start)),
                    ("new", json!(m.new)),
                    ("expansion", json!(m.expansion)),
                    ("reactivation", json!(m.reactivation)),
                    ("contraction", json!(m.contraction)),
                    ("churn", json!(m.churn)),
                    ("net", json!(m.net)),
                    ("mrr_end", json!(p.mrr_end)),
                    ("new_customers", json!(n.new)),
                    ("expansion_customers", json!(n.expansion)),
                    ("reactivation_customers", json!(n.reactivation)),
                    ("contraction_customers", json!(n.contraction)),
                    ("churned_customers", json!(n.churn)),
                ]),
                _ => pairs.extend([
                    ("customers_start", json!(p.customers_start)),
                    ("customers_churned", json!(n.churn)),
                    ("customer_churn_rate", rate(&p.customer_churn_rate)),
                    ("mrr_start", json!(p.mrr_start)),
                    ("mrr_lost", json!(p.revenue_churn_rate.numerator)),
                    ("revenue_churn_rate", rate(&p.revenue_churn_rate)),
                    ("gross_revenue_retention", rate(&p.gross_revenue_retention)),
                    ("net_revenue_retention", rate(&p.net_revenue_retention)),
                    ("trials_ended", json!(p.trials.ended)),
                    ("trials_converted", json!(p.trials.converted)),
                    ("trial_conversion_rate", rate(&p.trials.conversion_rate)),
                    ("payments_failed", json!(p.payment_recovery.failed)),
                    ("payments_recovered", json!(p.payment_recovery.recovered)),
                    ("payment_recovery_rate", rate(&p.payment_recovery.rate)),
                    ("failed_amount", json!(p.payment_recovery.failed_amount)),
                    (
                        "recovered_amount",
                        json!(p.payment_recovery.recovered_amount),
                    ),
                ]),
            }
            object(pairs)
        })
        .collect()
}

/// RFC 4180 CSV: a header line, then one line per row; CRLF line ends; fields quoted when they
/// hold a comma, a quote or a line break; null is empty.
pub fn csv(rows: &[Row]) -> String {
    let field = |v: &Value| -> String {
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out = first.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(|(_, v)| field(v)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn parse_query(query: Option<&str>) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            crate::statics::percent_decode(&s.replace('+', " "))
                .ok_or_else(|| ApiError::invalid(k.to_string(), "malformed percent-encoding"))
        };
        let (k, v) = (decode(k)?, decode(v)?);
        if !["start", "end", "interval", "currency", "exchange_rates"].contains(&k.as_str()) {
            return Err(ApiError::bad_request(
                "unknown_field",
                k.clone(),
                format!("unknown query parameter `{k}`"),
            ));
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The first day of the month containing `now`, moved by `months`.
fn month_start(now: i64, months: i32) -> String {
    use chrono::{DateTime, Datelike, Months, NaiveDate};
    let d = DateTime::from_timestamp(now, 0).map_or(NaiveDate::MIN, |d| d.date_naive());
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    let moved = if months >= 0 {
        first.checked_add_months(Months::new(months.unsigned_abs()))
    } else {
        first.checked_sub_months(Months::new(months.unsigned_abs()))
    };
    moved.unwrap_or(first).to_string()
}

/// Computes the report over everything stored.
pub async fn compute(state: &AppState, query: Option<&str>) -> ApiResult<RevenueReport> {
    let q = parse_query(query)?;
    let store_error = crate::ledger::store_error;
    let subscriptions = state.store.all_subscriptions().await.map_err(store_error)?;
    let invoices = state.store.all_invoices().await.map_err(store_error)?;
    let payments = state.store.payments().await.map_err(store_error)?;
    let mut attempts: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    let rows = state
        .store
        .query(
            "SELECT invoice_id, attempted_at, outcome FROM payment_attempts ORDER BY invoice_id, attempt",
            vec![],
        )
        .await
        .map_err(store_error)?;
    for row in rows {
        use crate::store::SqlValue;
        if let [SqlValue::Text(invoice), SqlValue::Int(at), SqlValue::Text(outcome)] =
            row.as_slice()
        {
            attempts
                .entry(invoice.clone())
                .or_default()
                .push((*at, outcome.clone()));
        }
    }
    let currency = match q.get("currency") {
        Some(c) => c.clone(),
        None => {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for s in &subscriptions {
                *count.entry(s.currency.as_str()).or_default() += 1;
            }
            count
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map_or("eur".to_string(), |(c, _)| c.to_string())
        }
    };
    let mut exchange_rates = BTreeMap::new();
    for pair in q
        .get("exchange_rates")
        .map_or("", String::as_str)
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let Some((code, rate)) = pair.split_once(':') else {
            return Err(ApiError::invalid(
                "exchange_rates",
                "expected currency:rate pairs separated by commas (usd:0.92,gbp:1.17)",
            ));
        };
        exchange_rates.insert(code.trim().to_lowercase(), rate.trim().to_string());
    }
    let now = state.clock.now();
    let params = history::Params {
        currency,
        start: q
            .get("start")
            .cloned()
            .unwrap_or_else(|| month_start(now, -11)),
        end: q.get("end").cloned().unwrap_or_else(|| month_start(now, 1)),
        interval: q.get("interval").cloned().unwrap_or_else(|| "month".into()),
        exchange_rates,
    };
    let catalog: Value = serde_json::from_str(&state.catalog_json).unwrap_or(Value::Null);
    let input = history::metrics_input(
        &catalog,
        &params,
        &subscriptions,
        &invoices,
        &payments,
        &attempts,
    )?;
    // Errors point at the request's parameters; a stored history that does not read is ours.
    let input: billcalc::MetricsInput = billcalc::from_value(&input).map_err(|e| {
        ApiError::internal(format!(
            "report input does not read: {} at {}",
            e.message, e.path
        ))
    })?;
    billcalc::revenue_metrics(&input).map_err(|e| match e.path.as_str() {
        "start" | "end" | "interval" | "currency" => ApiError::engine(e, ""),
        p if p.starts_with("exchange_rates") => ApiError::engine(e, ""),
        _ if e.code == billcalc::ErrorCode::CurrencyMismatch => ApiError::bad_request(
            "currency_mismatch",
            "exchange_rates",
            format!("{} (give it in exchange_rates)", e.message),
        ),
        _ => ApiError::internal(format!("report: {} at {}", e.message, e.path)),
    })
}
