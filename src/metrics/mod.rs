//! Revenue metrics: MRR, ARR, MRR movements, churn, retention, ARPU, LTV, trial conversion,
//! failed-payment recovery and cohorts, from subscription histories and invoices
//! ([`revenue_metrics`]). Pure functions: the server's reports and a page in the browser compute
//! the same numbers from the same input.
//!
//! # Input
//!
//! Each subscription is a list of **phases** (Stripe's subscription states over time: status,
//! items with an inline recurring price and a quantity, subscription discounts), each in force
//! from its `start` until the next phase's start or the subscription's `ended_at`. Invoices
//! contribute their metered **usage lines** and their **payment attempts**. A report runs from
//! `start` to `end` (dates, UTC, on interval boundaries) by `month`, `quarter` or `year`.
//! Several currencies are converted into the reporting `currency` with `exchange_rates` given in
//! the input (major units of the reporting currency per major unit; no network, no date).
//!
//! # Definitions (sources) and worked examples
//!
//! **MRR** at an instant — the monthly-normalised value of the subscriptions that are `active`
//! or `past_due` then (Stripe Billing, *Billing metric definitions*,
//! docs.stripe.com/billing/subscriptions/analytics/glossary, and *How do you calculate MRR?*,
//! support.stripe.com/questions/billing-analytics): trials, paused, unpaid, incomplete and
//! canceled subscriptions count 0; tax is excluded (a tax-inclusive price is divided by
//! 1 + `tax_percent`/100); the price is applied to the item's quantity (per unit, package,
//! tiers: the engine's own pricing); a yearly price counts ÷ 12, a weekly one × 52 ÷ 12, a daily
//! one × 365 ÷ 12, each ÷ `interval_count`. **Discounts**: `forever` and `repeating` ones count
//! while in force (until their `end`), as ChartMogul does ("a discount expiring" is expansion,
//! help.chartmogul.com/hc/en-us/articles/203299912); `once` never counts (Stripe: finite
//! coupons leave MRR unchanged — billcalc follows ChartMogul for `repeating`, since the
//! business collects the discounted amount every month while it lasts). Discounts apply in the
//! order listed (as the engine's own discounts do): a `percent_off` takes its share of what is
//! left, an `amount_off` (per billing period, normalised like the price) is subtracted, never
//! below 0.
//! **Metered items** count by their last closed period (the usage line with the latest
//! `period_end` at or before the instant, normalised by the item's interval), where Stripe
//! leaves them out; Lago does the same as billcalc. *Example*: 3 seats at €10/month, a yearly
//! plan of $1,200 at 0.92 EUR/USD and a metered API item whose last closed month billed €4.35:
//! 3 × 1000 + 120000 × 0.92 ÷ 12 + 435 = 3000 + 9200 + 435 = 12,635 cents.
//!
//! **Boundaries** — every interval is `[start, end)`. The MRR "at the end" of an interval (and
//! "at the start" of the next) is the MRR in force in the last second before the boundary
//! instant: a subscription starting, ending or changing at exactly `2025-02-01T00:00:00Z` moves
//! MRR in February, in the same interval as its cohort, its trial's end and its payments. A
//! metered period ending (exclusive) at the boundary has fully elapsed by then and counts.
//!
//! **Rounding** — everything stays exact (ratios, [`exact::Exact`]) until each customer's MRR
//! at an instant, which is rounded once to minor units of the reporting currency by `rounding`
//! (default `half_up`). Every figure of the report is a sum or a ratio of those integers, so
//! the movement bridge closes exactly and no split is ever needed.
//!
//! **ARR** = 12 × MRR at the end of the interval (Baremetrics, *Annual Run Rate*).
//!
//! **MRR movements** (ChartMogul, *MRR movements*; Stripe, *MRR growth*), per customer over an
//! interval, comparing the customer's MRR at its start S and its end E (ChartMogul's "net MRR
//! movements", one movement per customer and interval): S = 0 < E is **new** when the customer
//! never paid before, else **reactivation**; S > 0 = E is **churn** (−S); 0 < S < E is
//! **expansion** (E − S), 0 < E < S **contraction** (E − S). Start + new + expansion +
//! reactivation + contraction + churn = end, exactly, in minor units. A customer who cancels
//! one of two subscriptions contracts; only the last one churns them (ChartMogul). *Example*:
//! A pays 1000 then 1500 (expansion +500), B 2000 then 0 (churn −2000), C 0 then 700 for the
//! first time (new +700): 3000 + 700 + 500 − 2000 = 2200 = 1500 + 700.
//!
//! **Customer churn rate** = customers churned in the interval ÷ (paying customers at its
//! start plus customers who became paying in it: new and reactivated), Stripe's *subscriber
//! churn rate*.
//! **Revenue churn rate** = (churn + contraction) ÷ MRR at the start (ChartMogul's *gross MRR
//! churn rate*; Stripe's *churned revenue* counts downgrades too). **Gross revenue retention** =
//! (MRR at the start − churn − contraction) ÷ MRR at the start: never above 100 %. **Net
//! revenue retention** = (MRR at the start + expansion − contraction − churn) ÷ MRR at the
//! start (Baremetrics: NRR = 100 % − (churned − expansion) ÷ starting MRR). Movements of the
//! customers who were paying at the start are the only ones in these two. *Example* (above):
//! churn rate 1 ÷ (2 + 1) = 0.3333; revenue churn 2000 ÷ 3000 = 0.6667; GRR 1000 ÷ 3000 =
//! 0.3333; NRR 1500 ÷ 3000 = 0.5.
//!
//! **ARPU** = MRR at the end ÷ paying customers at the end (ChartMogul's ARPA), rounded once.
//! **LTV** = ARPU ÷ customer churn rate (ChartMogul: LTV = ARPA ÷ customer churn rate), computed
//! as MRR × churn denominator ÷ (customers × churned), rounded once; none without churn.
//! *Example*: 2200 ÷ 2 = 1100; LTV = 2200 × 3 ÷ (2 × 1) = 3300.
//!
//! **Trial conversion** = trials that ended in the interval and were followed at once by a
//! paying phase ÷ trials that ended in it (consecutive trialing phases — a change during the
//! trial — are one trial, ending with the last) (Stripe's *trial conversion rate*, by trial end; Stripe
//! also asks for a paid invoice, which the phase status stands for here).
//!
//! **Failed-payment recovery** = invoices whose first failed attempt falls in the interval and
//! that a later attempt paid ÷ invoices whose first failed attempt falls in it; also by amount
//! (`amount_due`, converted, each total rounded once). Recovery is judged on all the attempts
//! the input holds (Baremetrics *Recover*, Stripe *recovered payments*).
//!
//! **Cohorts** — customers by the interval in which they first became paying (their first
//! instant with MRR > 0, found among the instants where MRR can change). For each later interval
//! end: how many of them pay and their MRR, as a share of the cohort's size and of the cohort's
//! MRR at the end of its first interval (ChartMogul *Customer retention cohorts* and *Net MRR
//! retention cohorts*).
//!
//! Rates are `{numerator, denominator, value}`: integers (customers or minor units) and the
//! exact fraction as a decimal string rounded half up to 4 places (`"0.3333"`); `value` is null
//! when the denominator is 0.

pub mod exact;
pub mod input;
mod report;

pub use input::{MetricsInput, ReportInterval};
pub use report::{
    customer_mrr, revenue_metrics, Cohort, CohortCell, CustomerMrr, MovementCounts, Movements,
    PaymentRecovery, Period, Rate, RevenueReport, Trials,
};
