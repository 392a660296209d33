//! The input of [`super::revenue_metrics`]: subscription histories (phases), the invoices that
//! carry metered usage and payment attempts, the reporting currency with exchange rates, a date
//! range and an interval. Read by hand like every engine input (`crate::json`).

use crate::json::{FromJson, Obj, Path};
use crate::percent::Percent;
use crate::price::Price;
use crate::rounding::RoundingPolicy;
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// What to report on.
#[derive(Debug, Clone)]
pub struct MetricsInput {
    /// The reporting currency (ISO 4217, any case).
    pub currency: String,
    /// Major units of the reporting currency per major unit of each other currency, as decimal
    /// strings (`{"usd": "0.92"}`: 1 USD = 0.92 EUR). Given, never fetched.
    pub exchange_rates: BTreeMap<String, String>,
    /// First day of the first interval, `YYYY-MM-DD` (UTC), on an interval boundary.
    pub start: String,
    /// The day after the last interval, `YYYY-MM-DD` (exclusive), on an interval boundary.
    pub end: String,
    pub interval: ReportInterval,
    /// How each customer's MRR is rounded to minor units (default `half_up`).
    pub rounding: Option<RoundingPolicy>,
    pub subscriptions: Vec<SubscriptionHistory>,
    pub invoices: Vec<InvoiceFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportInterval {
    #[default]
    Month,
    Quarter,
    Year,
}

impl ReportInterval {
    pub fn months(self) -> u32 {
        match self {
            ReportInterval::Month => 1,
            ReportInterval::Quarter => 3,
            ReportInterval::Year => 12,
        }
    }
}

crate::json::json_enum!(ReportInterval {
    "month" => ReportInterval::Month,
    "quarter" => ReportInterval::Quarter,
    "year" => ReportInterval::Year,
});

/// One subscription's history: the phases it went through, each in force from its `start` to
/// the next phase's start (or `ended_at`).
#[derive(Debug, Clone)]
pub struct SubscriptionHistory {
    pub id: String,
    pub customer: String,
    pub currency: String,
    pub phases: Vec<Phase>,
    /// When the subscription stopped (cancellation effective); nothing counts from then on.
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub start: Timestamp,
    pub status: PhaseStatus,
    pub items: Vec<PhaseItem>,
    pub discounts: Vec<RecurringDiscount>,
}

/// Stripe's subscription statuses. `active` and `past_due` are paying (they count in MRR);
/// the others do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseStatus {
    Trialing,
    Active,
    PastDue,
    Paused,
    Unpaid,
    Incomplete,
    Canceled,
}

impl PhaseStatus {
    pub fn paying(self) -> bool {
        matches!(self, PhaseStatus::Active | PhaseStatus::PastDue)
    }
}

crate::json::json_enum!(PhaseStatus {
    "trialing" => PhaseStatus::Trialing,
    "active" => PhaseStatus::Active,
    "past_due" => PhaseStatus::PastDue,
    "paused" => PhaseStatus::Paused,
    "unpaid" => PhaseStatus::Unpaid,
    "incomplete" => PhaseStatus::Incomplete,
    "canceled" => PhaseStatus::Canceled,
});

/// A subscription item during a phase: a recurring price (inline, Stripe-shaped) and a quantity.
#[derive(Debug, Clone)]
pub struct PhaseItem {
    /// The item's id; required for metered items (their usage lines name it).
    pub id: Option<String>,
    pub price: Price,
    /// Default 1; metered items have none.
    pub quantity: Option<i64>,
    /// For a tax-inclusive price: the tax rate it includes (MRR excludes tax).
    pub tax_percent: Option<Percent>,
}

/// A subscription discount. `forever` and `repeating` count in MRR while in force (until
/// `end`); `once` never does.
#[derive(Debug, Clone)]
pub struct RecurringDiscount {
    pub percent_off: Option<Percent>,
    /// Minor units of the subscription's currency off each billing period.
    pub amount_off: Option<i64>,
    pub duration: DiscountDuration,
    pub end: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscountDuration {
    #[default]
    Forever,
    Repeating,
    Once,
}

crate::json::json_enum!(DiscountDuration {
    "forever" => DiscountDuration::Forever,
    "repeating" => DiscountDuration::Repeating,
    "once" => DiscountDuration::Once,
});

/// What an invoice tells the metrics: its metered usage lines and its payment attempts.
#[derive(Debug, Clone)]
pub struct InvoiceFacts {
    pub id: String,
    pub customer: String,
    pub subscription: Option<String>,
    pub currency: String,
    /// Minor units asked of the customer.
    pub amount_due: i64,
    pub usage_lines: Vec<UsageLine>,
    pub payment_attempts: Vec<PaymentAttempt>,
}

/// A metered item's charge for one closed period (excluding tax, before invoice discounts).
#[derive(Debug, Clone)]
pub struct UsageLine {
    pub subscription_item: String,
    pub amount: i64,
    pub period_end: Timestamp,
}

#[derive(Debug, Clone)]
pub struct PaymentAttempt {
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    Failed,
}

crate::json::json_enum!(AttemptOutcome {
    "succeeded" => AttemptOutcome::Succeeded,
    "failed" => AttemptOutcome::Failed,
});

// Input reading (see `crate::json`).

impl FromJson for MetricsInput {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(
            value,
            path,
            &[
                "currency",
                "exchange_rates",
                "start",
                "end",
                "interval",
                "rounding",
                "subscriptions",
                "invoices",
            ],
        )?;
        let currency = o.req("currency");
        let exchange_rates = o.def("exchange_rates");
        let start = o.req("start");
        let end = o.req("end");
        let interval = o.def("interval");
        let rounding = o.opt("rounding");
        let subscriptions = o.def("subscriptions");
        let invoices = o.def("invoices");
        let (Some(currency), Some(start), Some(end)) = (currency, start, end) else {
            return Err(o.failed());
        };
        o.finish(MetricsInput {
            currency,
            exchange_rates,
            start,
            end,
            interval,
            rounding,
            subscriptions,
            invoices,
        })
    }
}

impl FromJson for SubscriptionHistory {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(
            value,
            path,
            &["id", "customer", "currency", "phases", "ended_at"],
        )?;
        let id = o.req("id");
        let customer = o.req("customer");
        let currency = o.req("currency");
        let phases = o.req("phases");
        let ended_at = o.opt("ended_at");
        let (Some(id), Some(customer), Some(currency), Some(phases)) =
            (id, customer, currency, phases)
        else {
            return Err(o.failed());
        };
        o.finish(SubscriptionHistory {
            id,
            customer,
            currency,
            phases,
            ended_at,
        })
    }
}

impl FromJson for Phase {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(value, path, &["start", "status", "items", "discounts"])?;
        let start = o.req("start");
        let status = o.req("status");
        let items = o.def("items");
        let discounts = o.def("discounts");
        let (Some(start), Some(status)) = (start, status) else {
            return Err(o.failed());
        };
        o.finish(Phase {
            start,
            status,
            items,
            discounts,
        })
    }
}

impl FromJson for PhaseItem {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(value, path, &["id", "price", "quantity", "tax_percent"])?;
        let id = o.opt("id");
        let price = o.req("price");
        let quantity = o.opt("quantity");
        let tax_percent = o.opt("tax_percent");
        let Some(price) = price else {
            return Err(o.failed());
        };
        o.finish(PhaseItem {
            id,
            price,
            quantity,
            tax_percent,
        })
    }
}

impl FromJson for RecurringDiscount {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(
            value,
            path,
            &["percent_off", "amount_off", "duration", "end"],
        )?;
        let percent_off = o.opt("percent_off");
        let amount_off = o.opt("amount_off");
        let duration = o.def("duration");
        let end = o.opt("end");
        o.finish(RecurringDiscount {
            percent_off,
            amount_off,
            duration,
            end,
        })
    }
}

impl FromJson for InvoiceFacts {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(
            value,
            path,
            &[
                "id",
                "customer",
                "subscription",
                "currency",
                "amount_due",
                "usage_lines",
                "payment_attempts",
            ],
        )?;
        let id = o.req("id");
        let customer = o.req("customer");
        let subscription = o.opt("subscription");
        let currency = o.req("currency");
        let amount_due = o.def("amount_due");
        let usage_lines = o.def("usage_lines");
        let payment_attempts = o.def("payment_attempts");
        let (Some(id), Some(customer), Some(currency)) = (id, customer, currency) else {
            return Err(o.failed());
        };
        o.finish(InvoiceFacts {
            id,
            customer,
            subscription,
            currency,
            amount_due,
            usage_lines,
            payment_attempts,
        })
    }
}

impl FromJson for UsageLine {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(value, path, &["subscription_item", "amount", "period_end"])?;
        let subscription_item = o.req("subscription_item");
        let amount = o.req("amount");
        let period_end = o.req("period_end");
        let (Some(subscription_item), Some(amount), Some(period_end)) =
            (subscription_item, amount, period_end)
        else {
            return Err(o.failed());
        };
        o.finish(UsageLine {
            subscription_item,
            amount,
            period_end,
        })
    }
}

impl FromJson for PaymentAttempt {
    fn from_json_value(value: &crate::json::Value, path: &Path) -> crate::error::Result<Self> {
        let o = Obj::new(value, path, &["at", "outcome"])?;
        let at = o.req("at");
        let outcome = o.req("outcome");
        let (Some(at), Some(outcome)) = (at, outcome) else {
            return Err(o.failed());
        };
        o.finish(PaymentAttempt { at, outcome })
    }
}
