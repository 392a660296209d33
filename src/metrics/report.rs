//! The computation behind [`revenue_metrics`]: resolve the input once (prices validated, rates
//! read, instants resolved), compute each customer's MRR at every interval boundary, then the
//! movements, rates, trials, recoveries and cohorts from those integers.

use super::exact::Exact;
use super::input::{AttemptOutcome, DiscountDuration, MetricsInput, PhaseStatus, ReportInterval};
use crate::currency::Currency;
use crate::error::{Error, ErrorCode, Result};
use crate::price::{Interval, TaxBehavior, UsageType};
use crate::quote::VERSION;
use crate::rounding::RoundingPolicy;
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The most intervals one report may hold (100 years by month).
const MAX_INTERVALS: usize = 1200;

/// A ratio of two integers and its value, rounded half up to 4 places (null for 0 ÷ 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
    pub value: Option<String>,
}

impl Rate {
    fn new(numerator: i64, denominator: i64) -> Rate {
        let value = (denominator != 0).then(|| {
            (Decimal::from(numerator) / Decimal::from(denominator))
                .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
                .normalize()
                .to_string()
        });
        Rate {
            numerator,
            denominator,
            value,
        }
    }
}

/// MRR movements of an interval, in minor units (contraction and churn ≤ 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Movements {
    pub new: i64,
    pub expansion: i64,
    pub reactivation: i64,
    pub contraction: i64,
    pub churn: i64,
    /// The sum of the five: `mrr_end − mrr_start`.
    pub net: i64,
}

/// How many customers made each movement.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MovementCounts {
    pub new: i64,
    pub expansion: i64,
    pub reactivation: i64,
    pub contraction: i64,
    pub churn: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trials {
    pub ended: i64,
    pub converted: i64,
    pub conversion_rate: Rate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentRecovery {
    pub failed: i64,
    pub recovered: i64,
    /// Minor units of the reporting currency.
    pub failed_amount: i64,
    pub recovered_amount: i64,
    pub rate: Rate,
    pub amount_rate: Rate,
}

/// One interval `[start, end)` of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub start: String,
    pub end: String,
    pub mrr_start: i64,
    pub mrr_end: i64,
    /// 12 × `mrr_end`.
    pub arr: i64,
    pub customers_start: i64,
    pub customers_end: i64,
    pub movements: Movements,
    pub movement_customers: MovementCounts,
    pub customer_churn_rate: Rate,
    pub revenue_churn_rate: Rate,
    pub gross_revenue_retention: Rate,
    pub net_revenue_retention: Rate,
    pub arpu: Option<i64>,
    pub ltv: Option<i64>,
    pub trials: Trials,
    pub payment_recovery: PaymentRecovery,
}

/// One column of a cohort's row: the end of the cohort's `index`-th interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortCell {
    pub index: usize,
    pub date: String,
    pub customers: i64,
    pub mrr: i64,
    pub customer_retention: Rate,
    pub revenue_retention: Rate,
}

/// Customers who first became paying in the interval starting `cohort`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    pub cohort: String,
    pub customers: i64,
    pub cells: Vec<CohortCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueReport {
    pub version: &'static str,
    pub currency: &'static str,
    pub interval: ReportInterval,
    pub rounding: RoundingPolicy,
    pub start: String,
    pub end: String,
    pub periods: Vec<Period>,
    pub cohorts: Vec<Cohort>,
}

/// Each customer's MRR (minor units of the reporting currency) at every interval boundary
/// (`boundaries.len()` = intervals + 1), taken in the last second before the boundary (so an
/// event at the boundary instant belongs to the next interval), and the first second they paid.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerMrr {
    pub boundaries: Vec<i64>,
    pub customers: Vec<String>,
    /// `mrr[c][k]`: customer `c` at boundary `k`.
    pub mrr: Vec<Vec<i64>>,
    pub first_paid: Vec<Option<i64>>,
}

// Resolved input.

struct Conversion {
    rate: Decimal,
    num: i128,
    den: i128,
}

impl Conversion {
    fn apply(&self, e: Exact, path: &str) -> Result<Exact> {
        e.mul(self.rate, path)?.mul_ratio(self.num, self.den, path)
    }
}

enum Amount {
    Licensed(Decimal),
    Metered(String),
}

struct Item {
    amount: Amount,
    /// Months per billing period as a ratio: MRR = amount × num / den.
    per_month: (i128, i128),
    /// 1 + tax rate, for tax-inclusive prices.
    tax_divisor: Option<Decimal>,
    path: String,
}

enum Off {
    /// × (100 − p) / 100, as the fraction left.
    Percent(Decimal),
    Amount(i64),
}

struct Discount {
    off: Off,
    end: Option<i64>,
}

struct Phase {
    start: i64,
    status: PhaseStatus,
    items: Vec<Item>,
    discounts: Vec<Discount>,
}

struct Sub {
    id: String,
    customer: usize,
    conversion: Conversion,
    phases: Vec<Phase>,
    ended_at: Option<i64>,
    path: String,
}

struct Resolved {
    policy: RoundingPolicy,
    currency: Currency,
    boundaries: Vec<NaiveDate>,
    customers: Vec<String>,
    subs: Vec<Sub>,
    /// (subscription, item) → usage lines (period end, amount), sorted.
    usage: BTreeMap<(String, String), Vec<(i64, i64)>>,
    invoices: Vec<Invoice>,
}

struct Invoice {
    amount_due: Exact,
    first_failure: Option<i64>,
    recovered: bool,
}

fn instant(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp())
        .unwrap_or_default()
}

fn invalid(code: ErrorCode, path: &str, message: &str) -> Error {
    Error::new(code, path, message)
}

fn per_month(interval: Interval, count: i64) -> (i128, i128) {
    let count = i128::from(count.max(1));
    match interval {
        Interval::Day => (365, 12 * count),
        Interval::Week => (52, 12 * count),
        Interval::Month => (1, count),
        Interval::Year => (1, 12 * count),
    }
}

fn boundaries(input: &MetricsInput) -> Result<Vec<NaiveDate>> {
    let start = crate::time::parse_date(&input.start, "start")?;
    let end = crate::time::parse_date(&input.end, "end")?;
    let months = input.interval.months();
    let aligned = |d: NaiveDate| d.day() == 1 && (d.month() - 1) % months == 0;
    for (d, path) in [(start, "start"), (end, "end")] {
        if !aligned(d) {
            return Err(invalid(
                ErrorCode::InvalidDate,
                path,
                "dates must be the first day of an interval (a month, a quarter or a year)",
            ));
        }
    }
    if end <= start {
        return Err(invalid(
            ErrorCode::InvalidDate,
            "end",
            "end must be after start",
        ));
    }
    let mut out = vec![start];
    while let Some(&last) = out.last() {
        if last >= end {
            break;
        }
        if out.len() > MAX_INTERVALS {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                "end",
                "at most 1200 intervals per report",
            ));
        }
        let next = last
            .checked_add_months(chrono::Months::new(months))
            .ok_or_else(|| invalid(ErrorCode::InvalidDate, "end", "date out of range"))?;
        out.push(next);
    }
    Ok(out)
}

fn conversion(
    input: &MetricsInput,
    reporting: Currency,
    code: &str,
    path: &str,
) -> Result<(Currency, Conversion)> {
    let currency = Currency::parse(code, path)?;
    let rate = if currency == reporting {
        Decimal::ONE
    } else {
        let text = input
            .exchange_rates
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(currency.code()));
        let Some((key, text)) = text else {
            return Err(invalid(
                ErrorCode::CurrencyMismatch,
                path,
                "no exchange rate into the reporting currency for this currency",
            ));
        };
        let rate_path = format!("exchange_rates.{key}");
        let rate = crate::money::parse_decimal(text, &rate_path)?;
        if rate.is_zero() {
            return Err(invalid(
                ErrorCode::InvalidAmount,
                &rate_path,
                "rate must be positive",
            ));
        }
        rate
    };
    let pow = |e: u32| 10i128.pow(e);
    Ok((
        currency,
        Conversion {
            rate,
            num: pow(reporting.exponent()),
            den: pow(currency.exponent()),
        },
    ))
}

fn resolve(input: &MetricsInput) -> Result<Resolved> {
    let policy = input.rounding.unwrap_or_default();
    policy.validate("rounding")?;
    let currency = Currency::parse(&input.currency, "currency")?;
    for (key, text) in &input.exchange_rates {
        let path = format!("exchange_rates.{key}");
        Currency::parse(key, &path)?;
        crate::money::parse_decimal(text, &path)?;
    }
    let boundaries = boundaries(input)?;
    let mut customer_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut customers = Vec::new();
    let mut ids = BTreeSet::new();
    let mut subs = Vec::new();
    for (s, sub) in input.subscriptions.iter().enumerate() {
        let path = format!("subscriptions[{s}]");
        if !ids.insert(sub.id.as_str()) {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                &format!("{path}.id"),
                "two subscriptions share an id",
            ));
        }
        let customer = *customer_index.entry(&sub.customer).or_insert_with(|| {
            customers.push(sub.customer.clone());
            customers.len() - 1
        });
        let (sub_currency, conversion) =
            conversion(input, currency, &sub.currency, &format!("{path}.currency"))?;
        let ended_at = sub
            .ended_at
            .as_ref()
            .map(|t| t.resolve(&format!("{path}.ended_at")))
            .transpose()?;
        let mut phases: Vec<Phase> = Vec::new();
        for (p, phase) in sub.phases.iter().enumerate() {
            let ppath = format!("{path}.phases[{p}]");
            let start = phase.start.resolve(&format!("{ppath}.start"))?;
            if phases.last().is_some_and(|last| last.start >= start) {
                return Err(invalid(
                    ErrorCode::InvalidSubscription,
                    &format!("{ppath}.start"),
                    "phases must start in increasing order",
                ));
            }
            let mut items = Vec::new();
            for (i, item) in phase.items.iter().enumerate() {
                let ipath = format!("{ppath}.items[{i}]");
                let price_path = format!("{ipath}.price");
                let price = item.price.validate(&price_path)?;
                let Some(recurring) = price.recurring.clone() else {
                    return Err(invalid(
                        ErrorCode::InvalidSubscription,
                        &price_path,
                        "a subscription item needs a recurring price",
                    ));
                };
                let Some(terms) = price.terms_for(sub_currency) else {
                    return Err(invalid(
                        ErrorCode::CurrencyMismatch,
                        &format!("{price_path}.currency"),
                        "the price has no amount in the subscription's currency",
                    ));
                };
                let amount = match recurring.usage_type {
                    UsageType::Licensed => {
                        let quantity = item.quantity.unwrap_or(1);
                        if quantity < 0 {
                            return Err(invalid(
                                ErrorCode::InvalidQuantity,
                                &format!("{ipath}.quantity"),
                                "quantity must not be negative",
                            ));
                        }
                        Amount::Licensed(terms.scheme.amount(quantity, &price_path)?)
                    }
                    UsageType::Metered => match &item.id {
                        Some(id) => Amount::Metered(id.clone()),
                        None => {
                            return Err(invalid(
                                ErrorCode::MissingField,
                                &format!("{ipath}.id"),
                                "a metered item needs the id its usage lines name",
                            ))
                        }
                    },
                };
                let tax_divisor = match terms.tax_behavior {
                    TaxBehavior::Inclusive => {
                        let Some(p) = item.tax_percent else {
                            return Err(invalid(
                                ErrorCode::MissingField,
                                &format!("{ipath}.tax_percent"),
                                "a tax-inclusive price needs the rate it includes (MRR excludes tax)",
                            ));
                        };
                        if p.0.is_sign_negative() || p.0 > Decimal::ONE_HUNDRED {
                            return Err(invalid(
                                ErrorCode::InvalidTaxRate,
                                &format!("{ipath}.tax_percent"),
                                "tax_percent must be between 0 and 100",
                            ));
                        }
                        Some(Decimal::ONE + p.fraction())
                    }
                    _ => None,
                };
                items.push(Item {
                    amount,
                    per_month: per_month(recurring.interval, recurring.interval_count),
                    tax_divisor,
                    path: price_path,
                });
            }
            let mut discounts = Vec::new();
            for (d, discount) in phase.discounts.iter().enumerate() {
                let dpath = format!("{ppath}.discounts[{d}]");
                let end = discount
                    .end
                    .as_ref()
                    .map(|t| t.resolve(&format!("{dpath}.end")))
                    .transpose()?;
                let off =
                    match (discount.percent_off, discount.amount_off) {
                        (Some(p), None) if p.0 > Decimal::ZERO && p.0 <= Decimal::ONE_HUNDRED => {
                            Off::Percent(Decimal::ONE - p.fraction())
                        }
                        (None, Some(a)) if a >= 0 => {
                            crate::money::non_negative(a, &format!("{dpath}.amount_off"))?;
                            Off::Amount(a)
                        }
                        _ => return Err(invalid(
                            ErrorCode::InvalidCoupon,
                            &dpath,
                            "a discount needs one of percent_off (0 < p ≤ 100) or amount_off (≥ 0)",
                        )),
                    };
                if discount.duration != DiscountDuration::Once {
                    discounts.push(Discount { off, end });
                }
            }
            phases.push(Phase {
                start,
                status: phase.status,
                items,
                discounts,
            });
        }
        subs.push(Sub {
            id: sub.id.clone(),
            customer,
            conversion,
            phases,
            ended_at,
            path,
        });
    }
    let mut usage: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    let mut invoices = Vec::new();
    let mut invoice_ids = BTreeSet::new();
    for (n, invoice) in input.invoices.iter().enumerate() {
        let path = format!("invoices[{n}]");
        if !invoice_ids.insert(invoice.id.as_str()) {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                &format!("{path}.id"),
                "two invoices share an id",
            ));
        }
        let (_, conv) = conversion(
            input,
            currency,
            &invoice.currency,
            &format!("{path}.currency"),
        )?;
        for (l, line) in invoice.usage_lines.iter().enumerate() {
            let lpath = format!("{path}.usage_lines[{l}]");
            let Some(sub) = &invoice.subscription else {
                return Err(invalid(
                    ErrorCode::MissingField,
                    &format!("{path}.subscription"),
                    "usage lines belong to a subscription",
                ));
            };
            crate::money::non_negative(line.amount, &format!("{lpath}.amount"))?;
            let end = line.period_end.resolve(&format!("{lpath}.period_end"))?;
            usage
                .entry((sub.clone(), line.subscription_item.clone()))
                .or_default()
                .push((end, line.amount));
        }
        let due = crate::money::non_negative(invoice.amount_due, &format!("{path}.amount_due"))?;
        let mut first_failure = None;
        let mut attempts = Vec::new();
        for (a, attempt) in invoice.payment_attempts.iter().enumerate() {
            let at = attempt
                .at
                .resolve(&format!("{path}.payment_attempts[{a}].at"))?;
            attempts.push((at, attempt.outcome));
            if attempt.outcome == AttemptOutcome::Failed {
                first_failure = Some(first_failure.map_or(at, |f: i64| f.min(at)));
            }
        }
        let recovered = first_failure.is_some_and(|f| {
            attempts
                .iter()
                .any(|&(at, o)| o == AttemptOutcome::Succeeded && at >= f)
        });
        invoices.push(Invoice {
            amount_due: conv.apply(Exact::new(due), &path)?,
            first_failure,
            recovered,
        });
    }
    for lines in usage.values_mut() {
        lines.sort();
    }
    Ok(Resolved {
        policy,
        currency,
        boundaries,
        customers,
        subs,
        usage,
        invoices,
    })
}

impl Resolved {
    /// A subscription's MRR during the second `t` (what is in force at its end), exact, in
    /// minor units of the reporting currency: phases started at or before `t`, not ended and
    /// discounts not expired at or before `t`, and the metered periods that have fully elapsed
    /// by the end of that second (`period_end ≤ t + 1`, `period_end` being exclusive).
    fn sub_mrr(&self, sub: &Sub, t: i64) -> Result<Exact> {
        if sub.ended_at.is_some_and(|e| e <= t) {
            return Ok(Exact::ZERO);
        }
        let Some(phase) = sub.phases.iter().rev().find(|p| p.start <= t) else {
            return Ok(Exact::ZERO);
        };
        if !phase.status.paying() {
            return Ok(Exact::ZERO);
        }
        let path = &sub.path;
        let mut total = Exact::ZERO;
        for item in &phase.items {
            let per_period = match &item.amount {
                Amount::Licensed(a) => *a,
                Amount::Metered(item_id) => {
                    let key = (sub.id.clone(), item_id.clone());
                    let lines = self.usage.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                    let last = lines
                        .iter()
                        .rev()
                        .find(|(end, _)| *end <= t + 1)
                        .map(|l| l.0);
                    let sum = crate::money::sum(
                        lines
                            .iter()
                            .filter(|(end, _)| Some(*end) == last)
                            .map(|l| l.1),
                        &item.path,
                    )?;
                    Decimal::from(sum)
                }
            };
            let mut e = Exact::new(per_period);
            if let Some(d) = item.tax_divisor {
                e = e.div_decimal(d, &item.path)?;
            }
            e = e.mul_ratio(item.per_month.0, item.per_month.1, &item.path)?;
            total = total.add(e, path)?;
        }
        let period = phase.items.first().map_or((1, 1), |i| i.per_month);
        for discount in &phase.discounts {
            if discount.end.is_some_and(|end| end <= t) {
                continue;
            }
            total = match discount.off {
                Off::Percent(left) => total.mul(left, path)?,
                Off::Amount(a) => {
                    let off = Exact::new(Decimal::from(-a)).mul_ratio(period.0, period.1, path)?;
                    total.add(off, path)?
                }
            };
            if total.num.is_sign_negative() {
                total = Exact::ZERO;
            }
        }
        sub.conversion.apply(total, path)
    }

    /// Each customer's MRR during the second `t`, rounded once.
    fn customer_mrr_at(&self, subs: &[&Sub], t: i64) -> Result<i64> {
        let mut total = Exact::ZERO;
        for sub in subs {
            total = total.add(self.sub_mrr(sub, t)?, &sub.path)?;
        }
        let path = subs.first().map_or("", |s| s.path.as_str());
        total.round(&self.policy, path)
    }

    fn matrix(&self) -> Result<CustomerMrr> {
        let boundaries: Vec<i64> = self.boundaries.iter().map(|d| instant(*d)).collect();
        let mut by_customer: Vec<Vec<&Sub>> = vec![Vec::new(); self.customers.len()];
        for sub in &self.subs {
            by_customer[sub.customer].push(sub);
        }
        let mut mrr = Vec::with_capacity(self.customers.len());
        let mut first_paid = Vec::with_capacity(self.customers.len());
        for subs in &by_customer {
            // The MRR "at" a boundary is the MRR at the end of the interval it closes: what is
            // in force in the last second before it. An event at the boundary instant itself
            // (a start, an end, a discount expiring at 00:00:00) belongs to the interval that
            // starts there, as trials, failed payments and cohorts do (`[start, end)`).
            let row = boundaries
                .iter()
                .map(|&b| self.customer_mrr_at(subs, b - 1))
                .collect::<Result<Vec<_>>>()?;
            mrr.push(row);
            // MRR changes only where a phase starts, a subscription ends, a discount ends or
            // a usage period closes: the first paying instant is one of them.
            let mut instants = BTreeSet::new();
            for sub in subs {
                for phase in &sub.phases {
                    instants.insert(phase.start);
                    for d in &phase.discounts {
                        instants.extend(d.end);
                    }
                }
                for ((s, _), lines) in self.usage.range((sub.id.clone(), String::new())..) {
                    if s != &sub.id {
                        break;
                    }
                    // A usage period counts from the last second before its (exclusive) end.
                    instants.extend(lines.iter().map(|l| l.0 - 1));
                }
            }
            let mut first = None;
            for t in instants {
                if self.customer_mrr_at(subs, t)? > 0 {
                    first = Some(t);
                    break;
                }
            }
            first_paid.push(first);
        }
        Ok(CustomerMrr {
            boundaries,
            customers: self.customers.clone(),
            mrr,
            first_paid,
        })
    }
}

/// Each customer's MRR at every interval boundary of the input's range.
pub fn customer_mrr(input: &MetricsInput) -> Result<CustomerMrr> {
    resolve(input)?.matrix()
}

fn sum(values: impl IntoIterator<Item = i64>) -> Result<i64> {
    // A total of the report (all customers, all movements of a kind) beyond 2^53 − 1.
    crate::money::sum(values, "periods")
}

/// Computes every metric of the module documentation over the input's range.
///
/// Errors: `invalid_date` (`start`, `end` not on an interval boundary, a phase's `start`),
/// `unknown_currency`, `currency_mismatch` (no rate for a subscription's or invoice's
/// currency, or a price without an amount in its subscription's currency),
/// `invalid_subscription` (phases out of order, a price that is not recurring),
/// `invalid_coupon` (a discount without exactly one of `percent_off` / `amount_off`),
/// `invalid_amount`, `amount_overflow`, and the price errors of the engine.
pub fn revenue_metrics(input: &MetricsInput) -> Result<RevenueReport> {
    let resolved = resolve(input)?;
    let m = resolved.matrix()?;
    let policy = resolved.policy;
    let dates = &resolved.boundaries;
    let intervals = dates.len() - 1;
    let mut periods = Vec::with_capacity(intervals);
    for k in 0..intervals {
        let (b0, b1) = (m.boundaries[k], m.boundaries[k + 1]);
        let mut mv = Movements::default();
        let mut counts = MovementCounts::default();
        let (mut mrr_start, mut mrr_end, mut customers_start, mut customers_end) = (0, 0, 0, 0);
        for (c, row) in m.mrr.iter().enumerate() {
            let (s, e) = (row[k], row[k + 1]);
            mrr_start = sum([mrr_start, s])?;
            mrr_end = sum([mrr_end, e])?;
            customers_start += i64::from(s > 0);
            customers_end += i64::from(e > 0);
            let delta = e - s;
            match (s > 0, e > 0) {
                (false, true) if m.first_paid[c].is_some_and(|f| f < b0) => {
                    mv.reactivation = sum([mv.reactivation, delta])?;
                    counts.reactivation += 1;
                }
                (false, true) => {
                    mv.new = sum([mv.new, delta])?;
                    counts.new += 1;
                }
                (true, false) => {
                    mv.churn = sum([mv.churn, delta])?;
                    counts.churn += 1;
                }
                (true, true) if delta > 0 => {
                    mv.expansion = sum([mv.expansion, delta])?;
                    counts.expansion += 1;
                }
                (true, true) if delta < 0 => {
                    mv.contraction = sum([mv.contraction, delta])?;
                    counts.contraction += 1;
                }
                _ => {}
            }
        }
        mv.net = sum([
            mv.new,
            mv.expansion,
            mv.reactivation,
            mv.contraction,
            mv.churn,
        ])?;
        let lost = -(mv.churn + mv.contraction);
        let churn_base = customers_start + counts.new + counts.reactivation;
        let customer_churn_rate = Rate::new(counts.churn, churn_base);
        let arpu = (customers_end > 0)
            .then(|| policy.round_ratio(i128::from(mrr_end), i128::from(customers_end), "arpu"))
            .transpose()?;
        let ltv = (customers_end > 0 && counts.churn > 0)
            .then(|| {
                policy.round_ratio(
                    i128::from(mrr_end) * i128::from(churn_base),
                    i128::from(customers_end) * i128::from(counts.churn),
                    "ltv",
                )
            })
            .transpose()?;
        // Trials that ended in the interval.
        let (mut ended, mut converted) = (0, 0);
        for sub in &resolved.subs {
            for (p, phase) in sub.phases.iter().enumerate() {
                if phase.status != PhaseStatus::Trialing {
                    continue;
                }
                let next = sub.phases.get(p + 1);
                // A change during a trial (a new phase still trialing) continues the same
                // trial: it ends, converted or not, with the last trialing phase.
                let continued = next.is_some_and(|n| {
                    n.status == PhaseStatus::Trialing && sub.ended_at.map_or(true, |e| e > n.start)
                });
                if continued {
                    continue;
                }
                let trial_end = match (next.map(|n| n.start), sub.ended_at) {
                    (Some(n), Some(e)) => n.min(e),
                    (Some(n), None) => n,
                    (None, Some(e)) => e,
                    (None, None) => continue,
                };
                if !(b0..b1).contains(&trial_end) {
                    continue;
                }
                ended += 1;
                let still_on = sub.ended_at.map_or(true, |e| e > trial_end);
                if still_on && next.is_some_and(|n| n.start == trial_end && n.status.paying()) {
                    converted += 1;
                }
            }
        }
        // Failed payments whose first failure falls in the interval.
        let (mut failed, mut recovered) = (0, 0);
        let (mut failed_amount, mut recovered_amount) = (Exact::ZERO, Exact::ZERO);
        for invoice in &resolved.invoices {
            if !invoice.first_failure.is_some_and(|f| (b0..b1).contains(&f)) {
                continue;
            }
            failed += 1;
            failed_amount = failed_amount.add(invoice.amount_due, "invoices")?;
            if invoice.recovered {
                recovered += 1;
                recovered_amount = recovered_amount.add(invoice.amount_due, "invoices")?;
            }
        }
        let failed_amount = failed_amount.round(&policy, "invoices")?;
        let recovered_amount = recovered_amount.round(&policy, "invoices")?;
        periods.push(Period {
            start: dates[k].to_string(),
            end: dates[k + 1].to_string(),
            mrr_start,
            mrr_end,
            arr: crate::money::checked(mrr_end.checked_mul(12).unwrap_or(i64::MAX), "arr")?,
            customers_start,
            customers_end,
            customer_churn_rate,
            revenue_churn_rate: Rate::new(lost, mrr_start),
            gross_revenue_retention: Rate::new(mrr_start - lost, mrr_start),
            net_revenue_retention: Rate::new(mrr_start - lost + mv.expansion, mrr_start),
            arpu,
            ltv,
            movements: mv,
            movement_customers: counts,
            trials: Trials {
                ended,
                converted,
                conversion_rate: Rate::new(converted, ended),
            },
            payment_recovery: PaymentRecovery {
                failed,
                recovered,
                failed_amount,
                recovered_amount,
                rate: Rate::new(recovered, failed),
                amount_rate: Rate::new(recovered_amount, failed_amount),
            },
        });
    }
    // Cohorts by the interval of the first paying instant.
    let mut cohorts = Vec::new();
    for k in 0..intervals {
        let (b0, b1) = (m.boundaries[k], m.boundaries[k + 1]);
        let members: Vec<usize> = (0..m.customers.len())
            .filter(|&c| m.first_paid[c].is_some_and(|f| (b0..b1).contains(&f)))
            .collect();
        if members.is_empty() {
            continue;
        }
        let size = members.len() as i64;
        let mut cells = Vec::new();
        let mut base = 0;
        for (index, j) in (k + 1..=intervals).enumerate() {
            let customers = members.iter().filter(|&&c| m.mrr[c][j] > 0).count() as i64;
            let mrr = sum(members.iter().map(|&c| m.mrr[c][j]))?;
            if index == 0 {
                base = mrr;
            }
            cells.push(CohortCell {
                index,
                date: dates[j].to_string(),
                customers,
                mrr,
                customer_retention: Rate::new(customers, size),
                revenue_retention: Rate::new(mrr, base),
            });
        }
        cohorts.push(Cohort {
            cohort: dates[k].to_string(),
            customers: size,
            cells,
        });
    }
    Ok(RevenueReport {
        version: VERSION,
        currency: resolved.currency.code(),
        interval: input.interval,
        rounding: policy,
        start: dates[0].to_string(),
        end: dates[intervals].to_string(),
        periods,
        cohorts,
    })
}
