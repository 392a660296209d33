//! `preview_invoice` / `Calculator::preview_invoice`: the next invoice of a subscription, and
//! `billing_dates`: the next invoices' dates and amounts. Which invoice comes next and which
//! lines it holds is decided here (see the module docs of [`crate::subscription`]); the lines
//! then run through the quote pipeline ([`crate::quote`]), so discounts, tax, rounding and totals
//! are computed by the very code that prices carts.

use super::line::{Derivation, LineInfo, LineType, Method, Period};
use super::period::{add_months, local, Cycle, Schedule, ServicePeriod, DAY};
use super::proration::{prorate, Granularity, Share};
use super::usage::{check, price_usage, true_up};
use super::{
    AnchorChange, CommitmentScope, PauseBehavior, ProrationBehavior, Subscription,
    SubscriptionChange, SubscriptionDiscount,
};
use crate::catalog::{Calculator, Catalog};
use crate::currency::Currency;
use crate::customer::Customer;
use crate::discount::{
    CouponRef, DiscountInput, Duration, Level, Reason, RejectedDiscount, ValidCoupon,
};
use crate::error::{join_path, Error, ErrorCode, Result};
use crate::money;
use crate::price::{AggregateUsage, Interval, TaxBehavior, Terms, UsageType, ValidPrice};
use crate::quote::{self, LineInput, PriceRef, Quote, QuoteContext, QuoteInput, WorkLine, VERSION};
use crate::rounding::RoundingPolicy;
use crate::tax::{TaxConfig, TaxRateRef};
use crate::time::{parse_offset, AsOf, Timestamp};
use rust_decimal::Decimal;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What `previewInvoice` takes (and, with `count`, `billingDates`: one shape for both keeps the
/// wasm small; each call rejects the other's fields).
#[derive(Debug, Clone)]
pub struct PreviewInvoiceInput {
    pub subscription: Subscription,
    pub customer: Option<Customer>,
    /// A change to preview (Stripe's subscription update with `proration_date`).
    pub change: Option<SubscriptionChange>,
    /// When the preview is made. The engine has no clock.
    pub as_of: Timestamp,
    /// Prices and coupons the subscription may refer to (only with `preview_invoice`).
    pub catalog: Option<Catalog>,
    pub rounding: Option<RoundingPolicy>,
    pub tax: Option<TaxConfig>,
    /// Stripe's subscription `default_tax_rates`: for lines whose item declares none.
    pub default_tax_rates: Option<Vec<TaxRateRef>>,
    /// Overrides the currency's minimum charge amount.
    pub minimum_charge_amount: Option<i64>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// `billingDates` only: how many upcoming invoices (1–120).
    pub count: Option<i64>,
    /// `billingDates` only: renewal reminders, days before each billing date (1–366 each).
    pub reminder_days: Option<Vec<i64>>,
}

/// What `billingDates` takes: the same shape, with `count` (required) and `reminder_days`, and
/// no `change`.
pub type BillingDatesInput = PreviewInvoiceInput;

/// Stripe's `billing_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingReason {
    SubscriptionCreate,
    SubscriptionCycle,
    SubscriptionUpdate,
}

/// What happens to the invoice once issued (Stripe's statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Amount due to be collected.
    Open,
    /// Nothing to collect (zero, covered by credit, or below the minimum charge).
    Paid,
    /// Collection paused with `keep_as_draft`.
    Draft,
    /// Collection paused with `mark_uncollectible`.
    Uncollectible,
    /// Collection paused with `void`.
    Void,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    Canceled,
}

/// The subscription once this invoice is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SubscriptionState {
    pub status: SubscriptionStatus,
    pub billing_cycle_anchor: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
}

/// An amount due too small to charge, carried to the customer's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinimumCharge {
    pub minimum: i64,
    pub carried_to_balance: i64,
}

/// The invoice the server would issue: a quote's fields plus Stripe's invoice fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invoice {
    #[serde(flatten)]
    pub quote: Quote,
    pub billing_reason: BillingReason,
    /// When it is issued (Unix seconds).
    pub created: i64,
    pub period_start: i64,
    pub period_end: i64,
    /// `customer.balance` before the invoice (negative: credit).
    pub starting_balance: i64,
    pub amount_due: i64,
    pub ending_balance: i64,
    /// Set when the amount due was below the currency's minimum and carried to the balance.
    pub minimum_charge: Option<MinimumCharge>,
    pub status: InvoiceStatus,
    pub subscription: SubscriptionState,
}

/// One upcoming invoice in `billingDates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingDate {
    pub date: i64,
    /// The service period the invoice bills in advance (the closing one for the last invoice).
    pub period: Period,
    pub billing_reason: BillingReason,
    pub subtotal: i64,
    pub total_excluding_tax: i64,
    pub total: i64,
    pub amount_due: i64,
    pub status: InvoiceStatus,
    /// The subscription ends with this invoice.
    pub final_invoice: bool,
    /// Reminder instants, one per `reminder_days` entry, in its order.
    pub reminders: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingDates {
    pub version: &'static str,
    pub dates: Vec<BillingDate>,
}

/// Previews a subscription's next invoice: prices and coupons inline, or ids resolved from
/// `input.catalog`.
pub fn preview_invoice(input: &PreviewInvoiceInput) -> Result<Invoice> {
    let calculator = standalone(input.catalog.as_ref())?;
    preview_with(&calculator, input)
}

/// The next `count` invoices' dates and amounts, with renewal reminders.
pub fn billing_dates(input: &BillingDatesInput) -> Result<BillingDates> {
    let calculator = standalone(input.catalog.as_ref())?;
    dates_with(&calculator, input)
}

fn not_here(field: &'static str, message: &'static str) -> Error {
    Error::new(ErrorCode::InvalidRequest, field, message)
}

fn preview_with(calculator: &Calculator, input: &PreviewInvoiceInput) -> Result<Invoice> {
    within_limits(input)?;
    if input.count.is_some() {
        return Err(not_here("count", "only billingDates takes count"));
    }
    if input.reminder_days.is_some() {
        return Err(not_here(
            "reminder_days",
            "only billingDates takes reminder_days",
        ));
    }
    Request::new(input).run(calculator, input.change.as_ref())
}

fn dates_with(calculator: &Calculator, input: &BillingDatesInput) -> Result<BillingDates> {
    within_limits(input)?;
    if input.change.is_some() {
        return Err(not_here(
            "change",
            "billingDates lists the subscription as it stands; preview a change with previewInvoice",
        ));
    }
    let count = input
        .count
        .ok_or_else(|| Error::new(ErrorCode::MissingField, "count", "missing field `count`"))?;
    let reminders = input.reminder_days.as_deref().unwrap_or(&[]);
    Request::new(input).list_dates(calculator, count, reminders)
}

/// The documented input limits ([`crate::limits`]): invoice lines and discount lists.
fn within_limits(input: &PreviewInvoiceInput) -> Result<()> {
    use crate::limits::{check, MAX_DISCOUNTS, MAX_LINES};
    let sub = &input.subscription;
    let lines = sub.items.len() + sub.pending_invoice_items.len();
    check(lines, MAX_LINES, "subscription.items", "invoice lines")?;
    check(
        sub.discounts.len(),
        MAX_DISCOUNTS,
        "subscription.discounts",
        "discounts",
    )?;
    for (i, item) in sub.items.iter().enumerate() {
        let n = item.discounts.as_ref().map_or(0, Vec::len);
        let path = join_path(&indexed("subscription.items", i), "discounts");
        check(n, MAX_DISCOUNTS, &path, "discounts")?;
    }
    Ok(())
}

fn standalone(catalog: Option<&Catalog>) -> Result<Calculator> {
    match catalog {
        Some(catalog) => Calculator::new(catalog).map_err(|e| e.within("catalog")),
        None => Ok(Calculator::default()),
    }
}

fn no_catalog(catalog: Option<&Catalog>) -> Result<()> {
    match catalog {
        Some(_) => Err(Error::new(
            ErrorCode::InvalidRequest,
            "catalog",
            "a Calculator already holds its catalog; pass the subscription only",
        )),
        None => Ok(()),
    }
}

impl Calculator {
    /// Previews a subscription's next invoice against this calculator's catalog.
    pub fn preview_invoice(&self, input: &PreviewInvoiceInput) -> Result<Invoice> {
        no_catalog(input.catalog.as_ref())?;
        preview_with(self, input)
    }

    /// The next invoices' dates and amounts against this calculator's catalog.
    pub fn billing_dates(&self, input: &BillingDatesInput) -> Result<BillingDates> {
        no_catalog(input.catalog.as_ref())?;
        dates_with(self, input)
    }
}

/// The fields both inputs share.
struct Request<'a> {
    subscription: &'a Subscription,
    customer: Option<&'a Customer>,
    as_of: &'a Timestamp,
    rounding: Option<RoundingPolicy>,
    tax: Option<&'a TaxConfig>,
    default_tax_rates: Option<&'a Vec<TaxRateRef>>,
    minimum_charge_amount: Option<i64>,
    metadata: Option<&'a BTreeMap<String, String>>,
}

impl<'a> Request<'a> {
    fn new(i: &'a PreviewInvoiceInput) -> Self {
        Request {
            subscription: &i.subscription,
            customer: i.customer.as_ref(),
            as_of: &i.as_of,
            rounding: i.rounding,
            tax: i.tax.as_ref(),
            default_tax_rates: i.default_tax_rates.as_ref(),
            minimum_charge_amount: i.minimum_charge_amount,
            metadata: i.metadata.as_ref(),
        }
    }

    fn run(
        self,
        calculator: &Calculator,
        change: Option<&'a SubscriptionChange>,
    ) -> Result<Invoice> {
        let prices = Prices::validate(&self, calculator, change)?;
        Setup::new(calculator, self, &prices, change)?.upcoming(change)
    }

    fn list_dates(
        self,
        calculator: &Calculator,
        count: i64,
        reminders: &[i64],
    ) -> Result<BillingDates> {
        if !(1..=120).contains(&count) {
            return Err(Error::new(
                ErrorCode::InvalidSchedule,
                "count",
                "count must be between 1 and 120",
            ));
        }
        for (i, &d) in reminders.iter().enumerate() {
            if !(1..=366).contains(&d) {
                return Err(Error::new(
                    ErrorCode::InvalidSchedule,
                    indexed("reminder_days", i),
                    "reminders are 1 to 366 days before the billing date",
                ));
            }
        }
        let prices = Prices::validate(&self, calculator, None)?;
        let setup = Setup::new(calculator, self, &prices, None)?;
        setup.ended_check()?;
        let slots = setup.unchanged();
        let mut current = if setup.as_of < setup.schedule.start {
            None
        } else {
            Some(setup.current()?)
        };
        let mut dates = Vec::new();
        for k in 0..count {
            let invoice = match &current {
                None => setup.first_invoice()?,
                Some(c) => setup.cycle_invoice(c, &slots, None, k == 0)?,
            };
            let state = invoice.subscription;
            let final_invoice = state.status == SubscriptionStatus::Canceled;
            dates.push(BillingDate {
                date: invoice.created,
                period: Period {
                    start: state.current_period_start,
                    end: state.current_period_end,
                },
                billing_reason: invoice.billing_reason,
                subtotal: invoice.quote.subtotal,
                total_excluding_tax: invoice.quote.total_excluding_tax,
                total: invoice.quote.total,
                amount_due: invoice.amount_due,
                status: invoice.status,
                final_invoice,
                reminders: reminders
                    .iter()
                    .map(|d| invoice.created - d * DAY)
                    .collect(),
            });
            if final_invoice {
                break;
            }
            current = Some(setup.schedule.period_at(invoice.created, ANCHOR)?);
        }
        Ok(BillingDates {
            version: VERSION,
            dates,
        })
    }
}

const ANCHOR: &str = "subscription.billing_cycle_anchor";

fn indexed(prefix: &str, i: usize) -> String {
    [prefix, "[", &i.to_string(), "]"].concat()
}

fn invalid(code: ErrorCode, path: impl Into<String>, message: &'static str) -> Error {
    Error::new(code, path, message)
}

/// Inline prices, validated once so every line can borrow them; and the terms of price-less lines.
struct Prices {
    items: Vec<Option<ValidPrice>>,
    change: Vec<Option<ValidPrice>>,
    pending: Vec<Option<ValidPrice>>,
    /// Lines without a price: the tax behaviour of the first item's price.
    blank: ValidPrice,
}

fn inline(price: Option<&PriceRef>, path: String) -> Result<Option<ValidPrice>> {
    match price {
        Some(PriceRef::Inline(p)) => p.validate(&path).map(Some),
        _ => Ok(None),
    }
}

impl Prices {
    fn validate(
        request: &Request,
        calculator: &Calculator,
        change: Option<&SubscriptionChange>,
    ) -> Result<Prices> {
        let sub = request.subscription;
        let currency = Currency::parse(&sub.currency, "subscription.currency")?;
        let each = |prices: Vec<(Option<&PriceRef>, String)>| -> Result<Vec<Option<ValidPrice>>> {
            prices
                .into_iter()
                .map(|(p, path)| inline(p, path))
                .collect()
        };
        let items = each(
            sub.items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    (
                        it.price.as_ref(),
                        join_path(&indexed("subscription.items", i), "price"),
                    )
                })
                .collect(),
        )?;
        let first = sub.items.first().and_then(|it| match it.price.as_ref()? {
            PriceRef::Id(id) => calculator.price(id),
            PriceRef::Inline(_) => items.first().and_then(Option::as_ref),
        });
        let behavior = first
            .and_then(|p| p.terms_for(currency))
            .map_or(TaxBehavior::Unspecified, |t| t.tax_behavior);
        Ok(Prices {
            items,
            blank: ValidPrice::amount_only(currency, behavior),
            change: each(
                change
                    .map_or(&[][..], |c| c.items.as_slice())
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        (
                            it.price.as_ref(),
                            join_path(&indexed("change.items", i), "price"),
                        )
                    })
                    .collect(),
            )?,
            pending: each(
                sub.pending_invoice_items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        (
                            it.price.as_ref(),
                            join_path(&indexed("subscription.pending_invoice_items", i), "price"),
                        )
                    })
                    .collect(),
            )?,
        })
    }
}

/// A subscription item as priced: resolved price, quantity, usage.
#[derive(Clone)]
struct Item<'a> {
    /// Where it is in the input: `subscription.items[i]` or `change.items[j]`.
    origin: String,
    id: Option<&'a str>,
    price: &'a ValidPrice,
    terms: &'a Terms,
    interval: (Interval, i64),
    /// Licensed items: the quantity. Metered: 0.
    quantity: i64,
    metered: Option<AggregateUsage>,
    discounts: &'a [SubscriptionDiscount],
    discounts_origin: String,
    tax_rates: Option<&'a Vec<TaxRateRef>>,
    tax_category: Option<&'a String>,
    metadata: Option<&'a BTreeMap<String, String>>,
    /// Index of the subscription item whose usage records it bills.
    records: Option<usize>,
}

/// An item before and after a change. Unchanged: both, equal, `changed` false.
struct Slot<'a> {
    old: Option<Item<'a>>,
    new: Option<Item<'a>>,
    changed: bool,
}

/// The invoice being assembled: the lines' inputs and plans, and duration rejections.
#[derive(Default)]
struct Draft<'a> {
    inputs: Vec<LineInput>,
    plans: Vec<Plan<'a>>,
    rejected: Vec<RejectedDiscount>,
}

struct Plan<'a> {
    price: &'a ValidPrice,
    terms: &'a Terms,
    quantity: i64,
    /// Preset amount; `None`: priced by the pipeline (quantity × price for a whole period).
    amount: Option<i64>,
    origin: String,
    info: LineInfo,
}

/// When an invoice is issued and the paid billing date before it (for `once` coupons).
#[derive(Clone, Copy)]
struct Moment {
    at: i64,
    previous_paid: Option<i64>,
}

/// How a change is applied to the invoice at the end of the current period.
#[derive(Clone, Copy)]
struct Pending {
    at: i64,
    prorate: bool,
}

struct Setup<'a> {
    calculator: &'a Calculator,
    request: Request<'a>,
    currency: Currency,
    rounding: RoundingPolicy,
    offset: i64,
    granularity: Granularity,
    as_of: i64,
    schedule: Schedule,
    items: Vec<Item<'a>>,
    records: Vec<Vec<(i64, i64)>>,
    prices: &'a Prices,
    ends_at_period_end: bool,
}

fn price_of<'a>(
    calculator: &'a Calculator,
    price: &PriceRef,
    inline: Option<&'a ValidPrice>,
    path: &str,
) -> Result<&'a ValidPrice> {
    match (price, inline) {
        (_, Some(valid)) => Ok(valid),
        (PriceRef::Id(id), None) => calculator.price(id).ok_or_else(|| {
            invalid(
                ErrorCode::UnknownPrice,
                path,
                "no price with this id in the catalog",
            )
        }),
        (PriceRef::Inline(_), None) => Err(invalid(
            ErrorCode::InvalidRequest,
            path,
            "inline price was not validated",
        )),
    }
}

fn terms_of<'a>(price: &'a ValidPrice, currency: Currency, path: &str) -> Result<&'a Terms> {
    price.terms_for(currency).ok_or_else(|| {
        invalid(
            ErrorCode::CurrencyMismatch,
            path,
            "the price has no amount in the subscription's currency (add it to currency_options)",
        )
    })
}

impl<'a> Setup<'a> {
    fn new(
        calculator: &'a Calculator,
        request: Request<'a>,
        prices: &'a Prices,
        change: Option<&SubscriptionChange>,
    ) -> Result<Setup<'a>> {
        let sub = request.subscription;
        let bad = |field: &str, message: &'static str| {
            invalid(
                ErrorCode::InvalidSubscription,
                join_path("subscription", field),
                message,
            )
        };
        let currency = Currency::parse(&sub.currency, "subscription.currency")?;
        let rounding = request.rounding.unwrap_or(calculator.rounding());
        rounding.validate("rounding")?;
        let offset = match &sub.utc_offset {
            Some(text) => parse_offset(text, "subscription.utc_offset")?,
            None => 0,
        };
        let as_of = request.as_of.resolve("as_of")?;
        let anchor = sub.billing_cycle_anchor.resolve(ANCHOR)?;
        let start = match &sub.start_date {
            Some(t) => t.resolve("subscription.start_date")?,
            None => anchor,
        };
        let trial_end = match (&sub.trial_end, sub.trial_period_days) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "trial_period_days",
                    "give trial_end or trial_period_days, not both",
                ))
            }
            (Some(t), None) => Some(t.resolve("subscription.trial_end")?),
            (None, Some(days)) if (1..=730).contains(&days) => Some(start + days * DAY),
            (None, Some(_)) => return Err(bad("trial_period_days", "must be between 1 and 730")),
            (None, None) => None,
        };
        if trial_end.is_some_and(|t| t <= start) {
            return Err(bad("trial_end", "the trial must end after the start"));
        }
        if anchor < trial_end.unwrap_or(start) {
            return Err(bad(
                "billing_cycle_anchor",
                "the anchor must not be before the start (or the trial's end)",
            ));
        }
        let ends_at = match &sub.cancel_at {
            Some(t) => Some(t.resolve("subscription.cancel_at")?),
            None => None,
        };
        if ends_at.is_some_and(|e| e <= start) {
            return Err(bad("cancel_at", "cancel_at must be after the start"));
        }
        if let Some(m) = &sub.minimum_commitment {
            if !(0..=money::MAX_AMOUNT).contains(&m.amount) {
                return Err(bad(
                    "minimum_commitment.amount",
                    "must be between 0 and 2^53 - 1",
                ));
            }
        }
        if let Some(m) = request.minimum_charge_amount {
            money::non_negative(m, "minimum_charge_amount")?;
        }

        let mut records = Vec::with_capacity(sub.items.len());
        let mut items: Vec<Item> = Vec::with_capacity(sub.items.len());
        for (i, it) in sub.items.iter().enumerate() {
            let origin = indexed("subscription.items", i);
            let inline = prices.items.get(i).and_then(Option::as_ref);
            let price = it.price.as_ref().ok_or_else(|| {
                invalid(
                    ErrorCode::MissingField,
                    join_path(&origin, "price"),
                    "missing field `price`",
                )
            })?;
            if it.deleted.is_some() {
                return Err(invalid(
                    ErrorCode::InvalidSubscription,
                    join_path(&origin, "deleted"),
                    "deleted belongs to a change's items",
                ));
            }
            let item = resolve_item(
                calculator,
                currency,
                origin.clone(),
                price,
                inline,
                it.quantity,
                ErrorCode::InvalidSubscription,
            )?;
            if it.id.is_some() && items.iter().any(|x| x.id == it.id.as_deref()) {
                return Err(invalid(
                    ErrorCode::InvalidSubscription,
                    join_path(&origin, "id"),
                    "another item has this id",
                ));
            }
            let usage_path = join_path(&origin, "usage_records");
            if item.metered.is_none() && !it.usage_records.is_empty() {
                return Err(invalid(
                    ErrorCode::InvalidUsage,
                    usage_path,
                    "usage records belong to metered prices",
                ));
            }
            records.push(check(&it.usage_records, &usage_path)?);
            if let Some(first) = items.first() {
                if first.interval != item.interval {
                    return Err(invalid(
                        ErrorCode::InvalidSubscription,
                        join_path(&origin, "price"),
                        "every item of a subscription bills on the same interval",
                    ));
                }
            }
            items.push(Item {
                id: it.id.as_deref(),
                discounts: it.discounts.as_deref().unwrap_or(&[]),
                discounts_origin: join_path(&origin, "discounts"),
                tax_rates: it.tax_rates.as_ref(),
                tax_category: it.tax_category.as_ref(),
                metadata: it.metadata.as_ref(),
                records: Some(i),
                ..item
            });
        }
        let Some(first) = items.first() else {
            return Err(bad("items", "a subscription needs at least one item"));
        };
        let cycle = Cycle {
            interval: first.interval.0,
            count: first.interval.1,
            anchor,
            offset,
        };
        let ends_at_period_end = sub.cancel_at_period_end == Some(true)
            || change.is_some_and(|c| c.cancel_at_period_end == Some(true));
        Ok(Setup {
            calculator,
            request,
            currency,
            rounding,
            offset,
            granularity: sub.proration_granularity.unwrap_or_default(),
            as_of,
            schedule: Schedule {
                cycle,
                start,
                trial_end,
                ends_at,
            },
            items,
            records,
            prices,
            ends_at_period_end,
        })
    }

    fn ended_check(&self) -> Result<()> {
        match self.schedule.ends_at {
            Some(end) if self.as_of >= end => Err(invalid(
                ErrorCode::NoUpcomingInvoice,
                "subscription.cancel_at",
                "the subscription has ended by as_of: there is no upcoming invoice",
            )),
            _ => Ok(()),
        }
    }

    /// The period holding `as_of`, checked against the subscription's own bounds when given.
    fn current(&self) -> Result<ServicePeriod> {
        let current = self.schedule.period_at(self.as_of, ANCHOR)?;
        let sub = self.request.subscription;
        for (given, value, field) in [
            (
                &sub.current_period_start,
                current.start,
                "subscription.current_period_start",
            ),
            (
                &sub.current_period_end,
                current.end,
                "subscription.current_period_end",
            ),
        ] {
            if let Some(t) = given {
                if t.resolve(field)? != value {
                    return Err(invalid(
                        ErrorCode::InvalidSubscription,
                        field,
                        "differs from the period the anchor and interval give at as_of",
                    ));
                }
            }
        }
        Ok(current)
    }

    fn unchanged(&self) -> Vec<Slot<'a>> {
        self.items
            .iter()
            .map(|it| Slot {
                old: Some(it.clone()),
                new: Some(it.clone()),
                changed: false,
            })
            .collect()
    }

    /// The next invoice, with `change` applied when given.
    fn upcoming(&self, change: Option<&'a SubscriptionChange>) -> Result<Invoice> {
        self.ended_check()?;
        if self.as_of < self.schedule.start {
            if change.is_some() {
                return Err(invalid(
                    ErrorCode::InvalidChange,
                    "change",
                    "the subscription has not started: change the subscription itself",
                ));
            }
            return self.first_invoice();
        }
        let current = self.current()?;
        match change {
            None => self.cycle_invoice(&current, &self.unchanged(), None, true),
            Some(c) => self.changed(c, &current),
        }
    }

    /// The schedule the new items follow (their interval may differ during a trial).
    fn schedule_for(&self, slots: &[Slot]) -> Schedule {
        let interval = slots.iter().find_map(|s| s.new.as_ref()).map_or(
            (self.schedule.cycle.interval, self.schedule.cycle.count),
            |i| i.interval,
        );
        let mut schedule = self.schedule;
        schedule.cycle.interval = interval.0;
        schedule.cycle.count = interval.1;
        schedule
    }

    /// The invoice at the start: the first period (or the trial) in advance.
    fn first_invoice(&self) -> Result<Invoice> {
        let t = self.schedule.start;
        let moment = Moment {
            at: t,
            previous_paid: None,
        };
        let next = self.schedule.period_at(t, ANCHOR)?;
        let mut draft = Draft::default();
        self.pending_items(&mut draft, t, true)?;
        for slot in self.unchanged() {
            if let Some(item) = &slot.new {
                if item.metered.is_none() {
                    self.renewal(&mut draft, item, &next, moment)?;
                }
            }
        }
        let status = if next.trial {
            SubscriptionStatus::Trialing
        } else {
            SubscriptionStatus::Active
        };
        self.finish(
            draft,
            moment,
            BillingReason::SubscriptionCreate,
            (t, t),
            self.state(status, self.schedule.cycle.anchor, &next),
        )
    }

    /// The invoice that closes `current` at its end: renewals in advance, usage in arrears, and
    /// a pending change's prorations.
    fn cycle_invoice(
        &self,
        current: &ServicePeriod,
        slots: &[Slot<'a>],
        change: Option<Pending>,
        with_records: bool,
    ) -> Result<Invoice> {
        let t = current.end;
        let moment = Moment {
            at: t,
            previous_paid: (!current.trial).then_some(current.start),
        };
        let last = self.ends_at_period_end || self.schedule.ends_at.is_some_and(|e| e <= t);
        let mut draft = Draft::default();
        if let Some(p) = change {
            if p.prorate && !current.trial {
                self.prorations(&mut draft, slots, current, p.at, false)?;
            }
        }
        self.pending_items(&mut draft, t, with_records)?;
        let schedule = self.schedule_for(slots);
        let next = if last {
            None
        } else {
            Some(schedule.period_at(t, ANCHOR)?)
        };
        for slot in slots {
            if !current.trial {
                self.usage(
                    &mut draft,
                    slot,
                    current,
                    change.map(|p| p.at),
                    moment,
                    with_records,
                )?;
            }
            if let (Some(next), Some(item)) = (&next, &slot.new) {
                if item.metered.is_none() {
                    self.renewal(&mut draft, item, next, moment)?;
                }
            }
        }
        if !current.trial {
            self.commitment(&mut draft, (current.start, t))?;
        }
        let state = match &next {
            Some(n) => self.state(SubscriptionStatus::Active, schedule.cycle.anchor, n),
            None => self.state(SubscriptionStatus::Canceled, schedule.cycle.anchor, current),
        };
        self.finish(
            draft,
            moment,
            BillingReason::SubscriptionCycle,
            (current.start, t),
            state,
        )
    }

    fn state(
        &self,
        status: SubscriptionStatus,
        anchor: i64,
        period: &ServicePeriod,
    ) -> SubscriptionState {
        SubscriptionState {
            status,
            billing_cycle_anchor: anchor,
            current_period_start: period.start,
            current_period_end: period.end,
        }
    }

    /// A change at `proration_date` within `current`.
    fn changed(&self, change: &'a SubscriptionChange, current: &ServicePeriod) -> Result<Invoice> {
        let pd = match &change.proration_date {
            Some(t) => t.resolve("change.proration_date")?,
            None => self.as_of,
        };
        if pd < current.start || pd >= current.end {
            return Err(invalid(
                ErrorCode::InvalidChange,
                "change.proration_date",
                "the proration date must fall in the current period",
            ));
        }
        let behavior = change.proration_behavior.unwrap_or_default();
        let prorate = behavior != ProrationBehavior::None && !current.trial;
        let slots = self.apply_items(change)?;
        let moment = Moment {
            at: pd,
            previous_paid: (!current.trial).then_some(current.start),
        };
        let anchor = self.schedule.cycle.anchor;

        if change.cancel == Some(true) {
            // Cancel now: credit unused time, bill usage so far, issue the final invoice.
            let old = self.unchanged();
            let mut draft = Draft::default();
            if prorate {
                self.prorations(&mut draft, &old, current, pd, true)?;
            }
            self.pending_items(&mut draft, pd, true)?;
            if !current.trial {
                let closing = ServicePeriod {
                    end: pd,
                    ..*current
                };
                for slot in &old {
                    self.usage(&mut draft, slot, &closing, None, moment, true)?;
                }
            }
            let ended = ServicePeriod {
                end: pd,
                ..*current
            };
            return self.finish(
                draft,
                moment,
                BillingReason::SubscriptionUpdate,
                (current.start, pd),
                self.state(SubscriptionStatus::Canceled, anchor, &ended),
            );
        }

        let new_interval = slots
            .iter()
            .find_map(|s| s.new.as_ref().map(|i| i.interval));
        let interval_changed = new_interval
            .is_some_and(|i| i != (self.schedule.cycle.interval, self.schedule.cycle.count));
        let reset = (interval_changed || change.billing_cycle_anchor == Some(AnchorChange::Now))
            && !current.trial;
        if reset {
            // Bill now and restart the cycle at the proration date.
            let mut draft = Draft::default();
            if prorate {
                let old = self.unchanged();
                self.prorations(&mut draft, &old, current, pd, true)?;
            }
            self.pending_items(&mut draft, pd, true)?;
            let closing = ServicePeriod {
                end: pd,
                ..*current
            };
            let mut schedule = self.schedule_for(&slots);
            schedule.cycle.anchor = pd;
            schedule.trial_end = None;
            let next = schedule.period_at(pd, ANCHOR)?;
            for slot in &slots {
                // The old items' usage closes now; the new items start a period.
                let old_only = Slot {
                    old: slot.old.clone(),
                    new: if slot.changed { None } else { slot.new.clone() },
                    changed: slot.changed,
                };
                self.usage(&mut draft, &old_only, &closing, None, moment, true)?;
                if let Some(item) = &slot.new {
                    if item.metered.is_none() {
                        self.renewal(&mut draft, item, &next, moment)?;
                    }
                }
            }
            return self.finish(
                draft,
                moment,
                BillingReason::SubscriptionUpdate,
                (current.start, pd),
                self.state(SubscriptionStatus::Active, pd, &next),
            );
        }

        if behavior == ProrationBehavior::AlwaysInvoice {
            let mut draft = Draft::default();
            if prorate {
                self.prorations(&mut draft, &slots, current, pd, false)?;
            }
            self.pending_items(&mut draft, pd, true)?;
            let status = if current.trial {
                SubscriptionStatus::Trialing
            } else {
                SubscriptionStatus::Active
            };
            return self.finish(
                draft,
                moment,
                BillingReason::SubscriptionUpdate,
                (pd, pd),
                self.state(status, anchor, current),
            );
        }
        self.cycle_invoice(current, &slots, Some(Pending { at: pd, prorate }), true)
    }

    /// The items after `change.items` (Stripe's semantics: `id` modifies or deletes, no `id` adds).
    fn apply_items(&self, change: &'a SubscriptionChange) -> Result<Vec<Slot<'a>>> {
        let mut slots = self.unchanged();
        let mut touched: Vec<usize> = Vec::new();
        let first_interval = self.items.first().map(|i| i.interval);
        let mut new_interval: Option<(Interval, i64)> = None;
        for (j, entry) in change.items.iter().enumerate() {
            let origin = indexed("change.items", j);
            let bad = |field: &str, message: &'static str| {
                invalid(ErrorCode::InvalidChange, join_path(&origin, field), message)
            };
            let slot_index = match &entry.id {
                Some(id) => {
                    let k = self
                        .items
                        .iter()
                        .position(|i| i.id == Some(id.as_str()))
                        .ok_or_else(|| bad("id", "no item of the subscription has this id"))?;
                    if touched.contains(&k) {
                        return Err(bad("id", "the item is changed twice"));
                    }
                    touched.push(k);
                    Some(k)
                }
                None => None,
            };
            let old = slot_index.and_then(|k| self.items.get(k));
            if !entry.usage_records.is_empty() {
                return Err(bad(
                    "usage_records",
                    "usage records belong to the subscription's items",
                ));
            }
            if entry.deleted == Some(true) {
                if slot_index.is_none() {
                    return Err(bad("deleted", "deleting needs the item's id"));
                }
                if let Some(slot) = slot_index.and_then(|k| slots.get_mut(k)) {
                    slot.new = None;
                    slot.changed = true;
                }
                continue;
            }
            let inline = self.prices.change.get(j).and_then(Option::as_ref);
            let (price_ref, inline) = match (&entry.price, old) {
                (Some(p), _) => (p, inline),
                (None, Some(_)) => {
                    let k = slot_index.unwrap_or(0);
                    let sub_item = self
                        .request
                        .subscription
                        .items
                        .get(k)
                        .and_then(|i| i.price.as_ref())
                        .ok_or_else(|| bad("id", "no item of the subscription has this id"))?;
                    (sub_item, self.prices.items.get(k).and_then(Option::as_ref))
                }
                (None, None) => return Err(bad("price", "a new item needs a price")),
            };
            // Changing the price keeps the quantity unless a new one is given (Stripe's rule).
            let quantity = entry
                .quantity
                .or(old.and_then(|o| o.metered.is_none().then_some(o.quantity)));
            let mut item = resolve_item(
                self.calculator,
                self.currency,
                origin.clone(),
                price_ref,
                inline,
                None,
                ErrorCode::InvalidChange,
            )?;
            if item.metered.is_some() {
                if entry.quantity.is_some() {
                    return Err(bad("quantity", "a metered item takes no quantity"));
                }
            } else {
                item.quantity = quantity.unwrap_or(1);
                if !(0..=money::MAX_AMOUNT).contains(&item.quantity) {
                    return Err(invalid(
                        ErrorCode::InvalidQuantity,
                        join_path(&origin, "quantity"),
                        "quantity must be a non-negative integer",
                    ));
                }
            }
            match new_interval {
                Some(i) if i != item.interval => {
                    return Err(bad(
                        "price",
                        "every item of a subscription bills on the same interval",
                    ))
                }
                _ => new_interval = Some(item.interval),
            }
            let (discounts, discounts_origin) = match (&entry.discounts, old) {
                (Some(list), _) => (list.as_slice(), join_path(&origin, "discounts")),
                (None, Some(o)) => (o.discounts, o.discounts_origin.clone()),
                (None, None) => (&[][..], String::new()),
            };
            let item = Item {
                id: old.and_then(|o| o.id),
                discounts,
                discounts_origin,
                tax_rates: entry.tax_rates.as_ref().or(old.and_then(|o| o.tax_rates)),
                tax_category: entry
                    .tax_category
                    .as_ref()
                    .or(old.and_then(|o| o.tax_category)),
                metadata: entry.metadata.as_ref().or(old.and_then(|o| o.metadata)),
                records: old.and_then(|o| o.records),
                ..item
            };
            match slot_index.and_then(|k| slots.get_mut(k)) {
                Some(slot) => {
                    let same = old.is_some_and(|o| {
                        std::ptr::eq(o.price, item.price) && o.quantity == item.quantity
                    });
                    slot.changed = !same;
                    slot.new = Some(item);
                }
                None => slots.push(Slot {
                    old: None,
                    new: Some(item),
                    changed: true,
                }),
            }
        }
        // Items the change leaves alone must bill on the new interval too.
        if let (Some(new), Some(old)) = (new_interval, first_interval) {
            if new != old {
                if let Some(k) = (0..self.items.len()).find(|k| !touched.contains(k)) {
                    return Err(Error::new(
                        ErrorCode::InvalidChange,
                        "change.items",
                        [
                            "an interval change must change every item; subscription.items[",
                            &k.to_string(),
                            "] keeps the old interval",
                        ]
                        .concat(),
                    ));
                }
            }
        }
        Ok(slots)
    }
}

impl<'a> Setup<'a> {
    /// A line's input for the pipeline: what it is taxed and discounted by.
    fn line_input(
        &self,
        item: Option<&Item>,
        discounts: Vec<DiscountInput>,
        discountable: bool,
    ) -> LineInput {
        LineInput {
            price: PriceRef::Id(String::new()),
            quantity: None,
            description: None,
            metadata: item.and_then(|i| i.metadata.cloned()),
            discounts,
            discountable: Some(discountable),
            tax_category: item.and_then(|i| i.tax_category.cloned()),
            tax_rates: item.and_then(|i| i.tax_rates.cloned()),
        }
    }

    fn push(&self, draft: &mut Draft<'a>, input: LineInput, plan: Plan<'a>) {
        draft.inputs.push(input);
        draft.plans.push(plan);
    }

    /// Credits for the old items and debits for the new ones over `[at, current.end)`;
    /// `credits_only` when every old item's period ends at `at` (cancel, anchor reset).
    fn prorations(
        &self,
        draft: &mut Draft<'a>,
        slots: &[Slot<'a>],
        current: &ServicePeriod,
        at: i64,
        credits_only: bool,
    ) -> Result<()> {
        let share = Share::of(self.granularity, at, current.end, current, self.offset);
        let period = Period {
            start: at,
            end: current.end,
        };
        for slot in slots.iter().filter(|s| s.changed || credits_only) {
            let debit = if credits_only {
                None
            } else {
                slot.new.as_ref()
            };
            for (item, credit) in [(slot.old.as_ref(), true), (debit, false)] {
                let Some(item) = item.filter(|i| i.metered.is_none()) else {
                    continue;
                };
                let full = item.terms.scheme.amount(item.quantity, &item.origin)?;
                let (amount, derivation) = prorate(
                    full,
                    share,
                    credit,
                    item.quantity,
                    Method::Proration,
                    self.rounding,
                    &item.origin,
                )?;
                let input = self.line_input(Some(item), Vec::new(), false);
                self.push(
                    draft,
                    input,
                    Plan {
                        price: item.price,
                        terms: item.terms,
                        quantity: item.quantity,
                        amount: Some(amount),
                        origin: item.origin.clone(),
                        info: LineInfo {
                            kind: LineType::Proration,
                            subscription_item: item.id.map(str::to_string),
                            period,
                            proration: true,
                            discountable: false,
                            derivation: Some(derivation),
                        },
                    },
                );
            }
        }
        Ok(())
    }

    /// A licensed item's charge for `next` in advance: a whole period at the price, a share of
    /// it for a shortened period, nothing in a trial.
    fn renewal(
        &self,
        draft: &mut Draft<'a>,
        item: &Item<'a>,
        next: &ServicePeriod,
        moment: Moment,
    ) -> Result<()> {
        let line = draft.plans.len();
        let (discounts, rejected) =
            self.discounts(item.discounts, &item.discounts_origin, Some(line), moment)?;
        draft.rejected.extend(rejected);
        let (amount, derivation) = if next.trial {
            let mut d = Derivation::new(Method::Trial, Decimal::ZERO, self.rounding);
            d.quantity = Some(item.quantity);
            (Some(0), Some(d))
        } else if next.is_whole() {
            (None, None)
        } else {
            let full = item.terms.scheme.amount(item.quantity, &item.origin)?;
            let share = Share::of(self.granularity, next.start, next.end, next, self.offset);
            let (amount, d) = prorate(
                full,
                share,
                false,
                item.quantity,
                Method::PartialPeriod,
                self.rounding,
                &item.origin,
            )?;
            (Some(amount), Some(d))
        };
        let input = self.line_input(Some(item), discounts, true);
        self.push(
            draft,
            input,
            Plan {
                price: item.price,
                terms: item.terms,
                quantity: item.quantity,
                amount,
                origin: item.origin.clone(),
                info: LineInfo {
                    kind: LineType::Subscription,
                    subscription_item: item.id.map(str::to_string),
                    period: Period {
                        start: next.start,
                        end: next.end,
                    },
                    proration: false,
                    discountable: true,
                    derivation,
                },
            },
        );
        Ok(())
    }

    /// Usage lines of `slot` for the period closing at `closing.end`: one at the item's price,
    /// or, when a pending change at `split` swaps the price, the old price before it and the
    /// new one after it. An item's discounts go on the line of its current state.
    fn usage(
        &self,
        draft: &mut Draft<'a>,
        slot: &Slot<'a>,
        closing: &ServicePeriod,
        split: Option<i64>,
        moment: Moment,
        with_records: bool,
    ) -> Result<()> {
        let none = (None, 0, 0, false);
        let segments: [(Option<&Item<'a>>, i64, i64, bool); 2] = match (slot.changed, split) {
            (true, Some(at)) => [
                (slot.old.as_ref(), closing.start, at, slot.new.is_none()),
                (slot.new.as_ref(), at, closing.end, true),
            ],
            (true, None) => [
                (
                    slot.old.as_ref(),
                    closing.start,
                    closing.end,
                    slot.new.is_none(),
                ),
                none,
            ],
            (false, _) => [(slot.new.as_ref(), closing.start, closing.end, true), none],
        };
        for (item, start, end, discounted) in segments {
            let Some(item) = item else { continue };
            let Some(mode) = item.metered else { continue };
            let records: &[(i64, i64)] = match (with_records, item.records) {
                (true, Some(k)) => self.records.get(k).map_or(&[][..], Vec::as_slice),
                _ => &[],
            };
            let (quantity, amount, derivation) = price_usage(
                item.terms,
                mode,
                records,
                (start, end),
                self.rounding,
                &item.origin,
            )?;
            let line = draft.plans.len();
            let discounts = if discounted {
                let (d, rejected) =
                    self.discounts(item.discounts, &item.discounts_origin, Some(line), moment)?;
                draft.rejected.extend(rejected);
                d
            } else {
                Vec::new()
            };
            let input = self.line_input(Some(item), discounts, true);
            self.push(
                draft,
                input,
                Plan {
                    price: item.price,
                    terms: item.terms,
                    quantity,
                    amount: Some(amount),
                    origin: item.origin.clone(),
                    info: LineInfo {
                        kind: LineType::Usage,
                        subscription_item: item.id.map(str::to_string),
                        period: Period { start, end },
                        proration: false,
                        discountable: true,
                        derivation: Some(derivation),
                    },
                },
            );
        }
        Ok(())
    }

    /// The subscription's pending invoice items, on the invoice issued at `t`.
    fn pending_items(&self, draft: &mut Draft<'a>, t: i64, include: bool) -> Result<()> {
        if !include {
            return Ok(());
        }
        let sub = self.request.subscription;
        for (i, p) in sub.pending_invoice_items.iter().enumerate() {
            let origin = indexed("subscription.pending_invoice_items", i);
            let amount = money::checked(p.amount, &join_path(&origin, "amount"))?;
            let (price, terms) = match &p.price {
                Some(r) => {
                    let path = join_path(&origin, "price");
                    let inline = self.prices.pending.get(i).and_then(Option::as_ref);
                    let price = price_of(self.calculator, r, inline, &path)?;
                    (price, terms_of(price, self.currency, &path)?)
                }
                None => (&self.prices.blank, self.blank_terms()?),
            };
            let period = match &p.period {
                Some(range) => {
                    let at = join_path(&origin, "period");
                    let start = range.start.resolve(&join_path(&at, "start"))?;
                    let end = range.end.resolve(&join_path(&at, "end"))?;
                    if end < start {
                        return Err(invalid(
                            ErrorCode::InvalidDate,
                            join_path(&at, "end"),
                            "the period ends before it starts",
                        ));
                    }
                    Period { start, end }
                }
                None => Period { start: t, end: t },
            };
            let proration = p.proration.unwrap_or(false);
            let discountable = p.discountable.unwrap_or(!proration) && amount >= 0;
            let input = LineInput {
                price: PriceRef::Id(String::new()),
                quantity: None,
                description: p.description.clone(),
                metadata: p.metadata.clone(),
                discounts: Vec::new(),
                discountable: Some(discountable),
                tax_category: p.tax_category.clone(),
                tax_rates: p.tax_rates.clone(),
            };
            self.push(
                draft,
                input,
                Plan {
                    price,
                    terms,
                    quantity: 1,
                    amount: Some(amount),
                    origin,
                    info: LineInfo {
                        kind: LineType::Invoiceitem,
                        subscription_item: None,
                        period,
                        proration,
                        discountable,
                        derivation: None,
                    },
                },
            );
        }
        Ok(())
    }

    fn blank_terms(&self) -> Result<&'a Terms> {
        terms_of(&self.prices.blank, self.currency, "subscription.currency")
    }

    /// Tops the covered lines up to the minimum commitment, if one is set and not met.
    fn commitment(&self, draft: &mut Draft<'a>, (start, end): (i64, i64)) -> Result<()> {
        let Some(c) = &self.request.subscription.minimum_commitment else {
            return Ok(());
        };
        let scope = c.scope.unwrap_or_default();
        let mut measured = 0i64;
        for plan in &draft.plans {
            let covered = match plan.info.kind {
                LineType::Usage => true,
                LineType::Subscription => scope == CommitmentScope::Invoice,
                _ => false,
            };
            if !covered {
                continue;
            }
            // Lines the pipeline prices are measured exactly as its price stage prices them.
            let amount = match plan.amount {
                Some(a) => a,
                None => self.rounding.round(
                    plan.terms.scheme.amount(plan.quantity, &plan.origin)?,
                    &plan.origin,
                )?,
            };
            measured = money::checked(measured + amount, "subscription.minimum_commitment")?;
        }
        let Some((missing, derivation)) = true_up(c.amount, measured, self.rounding) else {
            return Ok(());
        };
        let input = LineInput {
            price: PriceRef::Id(String::new()),
            quantity: None,
            description: c.description.clone(),
            metadata: None,
            discounts: Vec::new(),
            discountable: Some(false),
            tax_category: c.tax_category.clone(),
            tax_rates: None,
        };
        let terms = self.blank_terms()?;
        self.push(
            draft,
            input,
            Plan {
                price: &self.prices.blank,
                terms,
                quantity: 1,
                amount: Some(missing),
                origin: "subscription.minimum_commitment".to_string(),
                info: LineInfo {
                    kind: LineType::MinimumCommitment,
                    subscription_item: None,
                    period: Period { start, end },
                    proration: false,
                    discountable: false,
                    derivation: Some(derivation),
                },
            },
        );
        Ok(())
    }

    /// Which of `list` (at `origin`) apply to the invoice at `moment`, by their coupon's
    /// duration; the others as rejections. `line`: the line item-level ones go on.
    fn discounts(
        &self,
        list: &[SubscriptionDiscount],
        origin: &str,
        line: Option<usize>,
        moment: Moment,
    ) -> Result<(Vec<DiscountInput>, Vec<RejectedDiscount>)> {
        let mut applied = Vec::new();
        let mut rejected = Vec::new();
        for (k, d) in list.iter().enumerate() {
            let path = indexed(origin, k);
            let start = match &d.start {
                Some(t) => t.resolve(&join_path(&path, "start"))?,
                None => self.schedule.start,
            };
            let end = match &d.end {
                Some(t) => Some(t.resolve(&join_path(&path, "end"))?),
                None => None,
            };
            // The coupon's duration (an unknown promotion code is left to the discount stage,
            // which rejects it as `unknown_code`).
            let coupon: Option<Cow<ValidCoupon>> = match (&d.coupon, &d.promotion_code) {
                (Some(CouponRef::Id(id)), None) => Some(Cow::Borrowed(
                    self.calculator.coupon(id).ok_or_else(|| {
                        invalid(
                            ErrorCode::UnknownCoupon,
                            join_path(&path, "coupon"),
                            "no coupon with this id in the catalog",
                        )
                    })?,
                )),
                (Some(CouponRef::Inline(c)), None) => {
                    Some(Cow::Owned(c.validate(&join_path(&path, "coupon"))?))
                }
                (None, Some(code)) => self
                    .calculator
                    .promotion_code(code)
                    .and_then(|pc| self.calculator.coupon(&pc.coupon))
                    .map(Cow::Borrowed),
                _ => None,
            };
            let within = match coupon
                .as_deref()
                .map(|c| (c.duration, c.duration_in_months))
            {
                Some((Duration::Once, _)) => moment.previous_paid.map_or(true, |p| start > p),
                Some((Duration::Repeating, Some(months))) => {
                    moment.at < add_months(start, months, self.offset, &join_path(&path, "start"))?
                }
                _ => true,
            };
            let started = start <= moment.at;
            if started && within && end.map_or(true, |e| moment.at < e) {
                applied.push(DiscountInput {
                    path: Some(path),
                    redeemed_at: Some(start),
                    ..d.clone()
                });
            } else {
                rejected.push(RejectedDiscount {
                    id: path,
                    level: if line.is_some() {
                        Level::Item
                    } else {
                        Level::Order
                    },
                    line,
                    coupon: coupon.as_deref().and_then(|c| c.id.clone()),
                    promotion_code: d.promotion_code.as_ref().map(|c| {
                        self.calculator
                            .promotion_code(c)
                            .map_or_else(|| c.trim().to_string(), |pc| pc.code.clone())
                    }),
                    promotion: None,
                    reason: if started {
                        Reason::DurationEnded
                    } else {
                        Reason::NotYetValid
                    },
                    missing_amount: None,
                    missing_quantity: None,
                    conflicts_with: Vec::new(),
                });
            }
        }
        Ok((applied, rejected))
    }

    /// Runs the lines through the pipeline and settles the balance.
    fn finish(
        &self,
        draft: Draft<'a>,
        moment: Moment,
        billing_reason: BillingReason,
        (period_start, period_end): (i64, i64),
        subscription: SubscriptionState,
    ) -> Result<Invoice> {
        let t = moment.at;
        let sub = self.request.subscription;
        let (order, order_rejected) =
            self.discounts(&sub.discounts, "subscription.discounts", None, moment)?;
        let date = local(t, self.offset)
            .map(|d| d.date())
            .ok_or_else(|| invalid(ErrorCode::InvalidDate, ANCHOR, "date out of range"))?;
        let context = QuoteContext {
            currency: self.currency,
            rounding: self.rounding,
            as_of: Some(AsOf { instant: t, date }),
            customer: self.request.customer,
            cart_promotions: false,
        };
        let input = QuoteInput {
            currency: sub.currency.clone(),
            lines: Vec::new(),
            rounding: Some(self.rounding),
            catalog: None,
            metadata: self.request.metadata.cloned(),
            as_of: None,
            customer: None,
            tax: self.request.tax.cloned(),
            default_tax_rates: self.request.default_tax_rates.cloned(),
            discounts: order,
        };
        let lines: Vec<WorkLine> = draft
            .plans
            .into_iter()
            .zip(&draft.inputs)
            .enumerate()
            .map(|(index, (plan, input))| WorkLine {
                index,
                input,
                price: plan.price,
                terms: plan.terms,
                quantity: plan.quantity,
                amount: plan.amount.unwrap_or(0),
                discountable: plan.info.discountable,
                discount_amounts: Default::default(),
                origin: Some(plan.origin),
                preset: plan.amount.is_some(),
                info: Some(Box::new(plan.info)),
            })
            .collect();
        let mut quote = quote::run(self.calculator, &input, &context, lines)?;
        quote.rejected_discounts.extend(order_rejected);
        quote.rejected_discounts.extend(draft.rejected);

        // Balance, minimum charge, collection.
        let starting_balance = match self.request.customer.and_then(|c| c.balance) {
            Some(b) => money::checked(b, "customer.balance")?,
            None => 0,
        };
        let owed = money::checked(quote.total + starting_balance, "amount_due")?;
        let (mut amount_due, mut ending_balance) = (owed.max(0), owed.min(0));
        // Cash rounding applies once, to what is collected (EN 16931 BT-115 = BT-112 − BT-113
        // + BT-114): the amount due after the balance, not the quote's total.
        quote.amount_payable = None;
        let mut rounding_amount = 0;
        if amount_due > 0 {
            let cash = self.rounding.cash(amount_due, "amount_due")?;
            rounding_amount = cash.rounding_amount;
            amount_due = cash.payable;
        }
        let pause = match &sub.pause_collection {
            Some(p) => {
                let resumes = match &p.resumes_at {
                    Some(r) => Some(r.resolve("subscription.pause_collection.resumes_at")?),
                    None => None,
                };
                resumes.map_or(true, |r| t < r).then_some(p.behavior)
            }
            None => None,
        };
        let minimum = self
            .request
            .minimum_charge_amount
            .or(self.currency.minimum_charge())
            .unwrap_or(0);
        let mut minimum_charge = None;
        if pause == Some(PauseBehavior::Void) {
            amount_due = 0;
            rounding_amount = 0;
            ending_balance = starting_balance;
        } else if amount_due > 0 && amount_due < minimum {
            // Nothing is collected: the exact amount owed is carried, unrounded.
            minimum_charge = Some(MinimumCharge {
                minimum,
                carried_to_balance: owed,
            });
            ending_balance = owed;
            amount_due = 0;
            rounding_amount = 0;
        }
        quote.rounding_amount = self.rounding.increment.map(|_| rounding_amount);
        let status = match pause {
            Some(PauseBehavior::Void) => InvoiceStatus::Void,
            Some(PauseBehavior::KeepAsDraft) => InvoiceStatus::Draft,
            Some(PauseBehavior::MarkUncollectible) => InvoiceStatus::Uncollectible,
            None if amount_due > 0 => InvoiceStatus::Open,
            None => InvoiceStatus::Paid,
        };
        Ok(Invoice {
            quote,
            billing_reason,
            created: t,
            period_start,
            period_end,
            starting_balance,
            amount_due,
            ending_balance,
            minimum_charge,
            status,
            subscription,
        })
    }
}

/// An item's price, terms, interval and quantity. `code` is the error code for a price that
/// cannot be a subscription's (`invalid_subscription`, or `invalid_change` in a change).
fn resolve_item<'a>(
    calculator: &'a Calculator,
    currency: Currency,
    origin: String,
    price: &PriceRef,
    inline: Option<&'a ValidPrice>,
    quantity: Option<i64>,
    code: ErrorCode,
) -> Result<Item<'a>> {
    let price_path = join_path(&origin, "price");
    let price = price_of(calculator, price, inline, &price_path)?;
    let terms = terms_of(price, currency, &price_path)?;
    let recurring = price.recurring.as_ref().ok_or_else(|| {
        invalid(
            code,
            &price_path,
            "a subscription item needs a recurring price",
        )
    })?;
    let metered = (recurring.usage_type == UsageType::Metered)
        .then(|| recurring.aggregate_usage.unwrap_or(AggregateUsage::Sum));
    let quantity = match (metered, quantity) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                code,
                join_path(&origin, "quantity"),
                "a metered item takes no quantity: its usage is billed",
            ))
        }
        (Some(_), None) => 0,
        (None, q) => {
            let q = q.unwrap_or(1);
            if !(0..=money::MAX_AMOUNT).contains(&q) {
                return Err(invalid(
                    ErrorCode::InvalidQuantity,
                    join_path(&origin, "quantity"),
                    "quantity must be a non-negative integer",
                ));
            }
            q
        }
    };
    Ok(Item {
        origin,
        id: None,
        price,
        terms,
        interval: (recurring.interval, recurring.interval_count),
        quantity,
        metered,
        discounts: &[],
        discounts_origin: String::new(),
        tax_rates: None,
        tax_category: None,
        metadata: None,
        records: None,
    })
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for PreviewInvoiceInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "subscription",
                "customer",
                "change",
                "as_of",
                "catalog",
                "rounding",
                "tax",
                "default_tax_rates",
                "minimum_charge_amount",
                "metadata",
                "count",
                "reminder_days",
            ],
        )?;
        let subscription = o.req("subscription");
        let customer = o.opt("customer");
        let change = o.opt("change");
        let as_of = o.req("as_of");
        let catalog = o.opt("catalog");
        let rounding = o.opt("rounding");
        let tax = o.opt("tax");
        let default_tax_rates = o.opt("default_tax_rates");
        let minimum_charge_amount = o.opt("minimum_charge_amount");
        let metadata = o.opt("metadata");
        let count = o.opt("count");
        let reminder_days = o.opt("reminder_days");
        let (Some(subscription), Some(as_of)) = (subscription, as_of) else {
            return Err(o.failed());
        };
        o.finish(PreviewInvoiceInput {
            subscription,
            customer,
            change,
            as_of,
            catalog,
            rounding,
            tax,
            default_tax_rates,
            minimum_charge_amount,
            metadata,
            count,
            reminder_days,
        })
    }
}
