//! Subscriptions: billing periods, proration, usage, the upcoming-invoice preview
//! ([`preview_invoice`]), billing dates, dunning and credit notes.
//!
//! The engine has no clock and no storage: the input describes the subscription as it stands
//! at `as_of` (Stripe's fields: items, `billing_cycle_anchor`, trial, cancellation, pause,
//! discounts with their `start`, pending invoice items), optionally a change to preview, and
//! the result is the invoice the server would issue. The server issues it with the same call,
//! so the preview is the invoice by construction.
//!
//! * [`period`]: calendar arithmetic, the anchor, month-end clamping, partial periods;
//! * [`proration`]: credits and debits for the time left after a change;
//! * [`usage`]: metered usage and minimum commitments;
//! * [`invoice`]: which invoice comes next and its lines, run through the quote pipeline
//!   (`crate::quote`), so discounts, tax, rounding and totals are the quotes' own code;
//! * [`line`](mod@line): what an invoice line adds to a quote line (period, type, derivation);
//! * [`dunning`](mod@dunning): payment retry schedules; [`credit_note`](mod@credit_note): credit notes.
//!
//! # Decisions where Stripe's documentation is silent or billcalc goes further
//!
//! * **Which invoice.** With no change, the upcoming invoice is issued at the end of the
//!   period containing `as_of` (at the start, for a subscription that has not started yet):
//!   licensed items for the next period in advance, metered usage of the closing period in
//!   arrears, pending invoice items, a minimum-commitment top-up. A change with
//!   `create_prorations` (default) or `none` previews that same invoice with the change
//!   applied (its proration lines pending on it); `always_invoice`, an interval change,
//!   `billing_cycle_anchor: "now"` and `cancel` preview the invoice issued at the
//!   `proration_date`. Invoice `period_start`/`period_end` follow Stripe: the period whose usage
//!   the invoice closes (for an invoice issued at a change, from the current period's start to
//!   the change; for the first invoice, the start twice).
//! * **Coupon durations across invoices.** A subscription discount starts at its `start`
//!   (default: the subscription's start) and is judged against the invoice's date `T` (when
//!   it is issued, which is when the period it bills in advance starts): `once` applies to the
//!   first invoice at or after `start` that follows the current period's paid billing date
//!   (a trial's zero invoice does not use it up); `repeating` while `T` is before `start` +
//!   `duration_in_months` calendar months (so on a yearly plan a 4-month coupon discounts the
//!   whole first invoice and not the second); `forever` from `start` on. An explicit `end`
//!   bounds any of them. A discount that does not apply is listed in `rejected_discounts`
//!   (`not_yet_valid` or `duration_ended`). Validity windows (`redeem_by`, a code's
//!   `expires_at`) are judged at the discount's `start`, when it was redeemed.
//! * **What discounts touch.** Subscription discounts are invoice level: they discount the
//!   subscription and usage lines, not prorations (Stripe's `discountable: false`), not
//!   credits, not the commitment top-up. An item's discounts go on the line of the item's
//!   current state (its renewal line, or its usage line at its current price). Catalog cart
//!   promotions (checkout rules) never run on subscription invoices.
//! * **Prorations** (see [`proration`]): only for paid periods (a change inside a trial only
//!   swaps the items); items whose price and quantity do not change get no lines; proration
//!   lines carry the item's tax rates and are taxed like the item. Cancelling now (`cancel`)
//!   issues the final invoice at the `proration_date` with credits for unused time (unless
//!   `none`) and the usage so far, whatever the behaviour, since no later invoice follows.
//! * **Interval change** (or `billing_cycle_anchor: "now"`): the anchor moves to the
//!   `proration_date`, the new items are billed for a whole new period at once, unused time of
//!   the old ones is credited (unless `none`), usage so far is billed.
//! * **Scheduled end.** `cancel_at` shortens the period that contains it (billed as a partial
//!   period); `cancel_at_period_end` makes the next invoice the last (usage only, no renewal).
//!   An `as_of` at or after the end is `no_upcoming_invoice`.
//! * **Pause** (`pause_collection`): periods run on; an invoice issued before `resumes_at` is
//!   `void` (nothing due, balance untouched), `draft` (`keep_as_draft`) or `uncollectible`
//!   (`mark_uncollectible`); the last two show the amounts it will have.
//! * **Balance and minimum charge.** `customer.balance` (negative: credit) is added to the
//!   total: `amount_due` = max(0, total + balance), `ending_balance` = min(0, total + balance).
//!   When that amount due is positive but below the currency's minimum charge
//!   ([`crate::Currency::minimum_charge`], or `minimum_charge_amount`), nothing is charged:
//!   `amount_due` is 0, the amount is carried to `ending_balance` and `minimum_charge` says so.
//! * **Lines without a price** (a pending item without one, the commitment top-up) take the tax
//!   behaviour of the subscription's first item.
//! * **Tax date.** Rates in force on the invoice's date (in the subscription's offset) apply.

pub mod credit_note;
pub mod dunning;
pub mod invoice;
pub mod line;
pub mod period;
pub mod proration;
pub mod usage;

pub use credit_note::{credit_note, CreditNote, CreditNoteInput};
pub use dunning::{dunning_schedule, DunningInput, DunningSchedule};
pub use invoice::{
    billing_dates, preview_invoice, BillingDates, BillingDatesInput, Invoice, PreviewInvoiceInput,
};

use crate::discount::DiscountInput;
use crate::quote::PriceRef;
use crate::tax::TaxRateRef;
use crate::time::Timestamp;
use proration::Granularity;
use std::collections::BTreeMap;
use usage::UsageRecord;

/// A subscription as it stands (Stripe's fields; instants are Unix seconds or date text).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Option<String>,
    pub currency: String,
    pub items: Vec<SubscriptionItem>,
    pub billing_cycle_anchor: Timestamp,
    /// When service began; default the anchor.
    pub start_date: Option<Timestamp>,
    /// The trial runs from `start_date` to `trial_end` (or for `trial_period_days`).
    pub trial_end: Option<Timestamp>,
    pub trial_period_days: Option<i64>,
    pub cancel_at: Option<Timestamp>,
    pub cancel_at_period_end: Option<bool>,
    pub pause_collection: Option<PauseCollection>,
    /// Subscription-level (invoice-level) discounts.
    pub discounts: Vec<SubscriptionDiscount>,
    /// Amounts waiting for the next invoice (e.g. prorations from an earlier change).
    pub pending_invoice_items: Vec<PendingInvoiceItem>,
    pub minimum_commitment: Option<MinimumCommitment>,
    pub proration_granularity: Option<Granularity>,
    /// Fixed offset for calendar months and days (`"+02:00"`); default UTC.
    pub utc_offset: Option<String>,
    /// Checked against the anchor when given (Stripe returns them).
    pub current_period_start: Option<Timestamp>,
    pub current_period_end: Option<Timestamp>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A subscription item, or an entry of a change's `items` (one shape for both keeps the wasm
/// small; each rejects the fields that are not its own).
#[derive(Debug, Clone)]
pub struct SubscriptionItem {
    /// A change entry with `id` modifies (or deletes) that item; without, it adds one.
    pub id: Option<String>,
    /// Required on a subscription item and on a new item of a change.
    pub price: Option<PriceRef>,
    /// Licensed items: default 1. Metered items take none.
    pub quantity: Option<i64>,
    /// Changes only: remove the item.
    pub deleted: Option<bool>,
    /// Item-level discounts; in a change, they replace the item's.
    pub discounts: Option<Vec<SubscriptionDiscount>>,
    pub tax_rates: Option<Vec<TaxRateRef>>,
    pub tax_category: Option<String>,
    /// Metered subscription items: usage records (those of the billed period count).
    pub usage_records: Vec<UsageRecord>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// An entry of a change's `items`.
pub type ChangeItem = SubscriptionItem;

/// A discount on a subscription or item: a coupon or promotion code, since `start` until `end`
/// (the quote's discount shape; quotes reject `start` and `end`).
pub type SubscriptionDiscount = DiscountInput;

#[derive(Debug, Clone)]
pub struct PauseCollection {
    pub behavior: PauseBehavior,
    pub resumes_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseBehavior {
    KeepAsDraft,
    MarkUncollectible,
    Void,
}

/// An amount waiting for the next invoice (Stripe's pending invoice item).
#[derive(Debug, Clone)]
pub struct PendingInvoiceItem {
    pub id: Option<String>,
    /// Minor units; negative for a credit.
    pub amount: i64,
    pub description: Option<String>,
    /// Default: the invoice's date, twice.
    pub period: Option<PeriodInput>,
    pub proration: Option<bool>,
    /// For its product, tax category and tax behaviour; never priced.
    pub price: Option<PriceRef>,
    /// Default: true, except for prorations and credits (which never are).
    pub discountable: Option<bool>,
    pub tax_rates: Option<Vec<TaxRateRef>>,
    pub tax_category: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct PeriodInput {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A minimum spend per period (see [`usage`]).
#[derive(Debug, Clone)]
pub struct MinimumCommitment {
    pub amount: i64,
    pub scope: Option<CommitmentScope>,
    pub description: Option<String>,
    pub tax_category: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitmentScope {
    #[default]
    Usage,
    Invoice,
}

/// A change to preview (Stripe's subscription update).
#[derive(Debug, Clone, Default)]
pub struct SubscriptionChange {
    /// The instant the change takes effect; default `as_of`. Must fall in the current period.
    pub proration_date: Option<Timestamp>,
    pub proration_behavior: Option<ProrationBehavior>,
    /// Stripe's `items`: with `id`, modify (or `deleted`) that item; without, add one.
    pub items: Vec<ChangeItem>,
    /// Cancel at `proration_date` (Stripe's cancel with `prorate` and `invoice_now`).
    pub cancel: Option<bool>,
    pub cancel_at_period_end: Option<bool>,
    pub billing_cycle_anchor: Option<AnchorChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProrationBehavior {
    #[default]
    CreateProrations,
    AlwaysInvoice,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorChange {
    Now,
    Unchanged,
}

// Input reading (see `crate::json`).

impl crate::json::FromJson for Subscription {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "currency",
                "items",
                "billing_cycle_anchor",
                "start_date",
                "trial_end",
                "trial_period_days",
                "cancel_at",
                "cancel_at_period_end",
                "pause_collection",
                "discounts",
                "pending_invoice_items",
                "minimum_commitment",
                "proration_granularity",
                "utc_offset",
                "current_period_start",
                "current_period_end",
                "metadata",
            ],
        )?;
        let id = o.opt("id");
        let currency = o.req("currency");
        let items = o.req("items");
        let billing_cycle_anchor = o.req("billing_cycle_anchor");
        let start_date = o.opt("start_date");
        let trial_end = o.opt("trial_end");
        let trial_period_days = o.opt("trial_period_days");
        let cancel_at = o.opt("cancel_at");
        let cancel_at_period_end = o.opt("cancel_at_period_end");
        let pause_collection = o.opt("pause_collection");
        let discounts = o.def("discounts");
        let pending_invoice_items = o.def("pending_invoice_items");
        let minimum_commitment = o.opt("minimum_commitment");
        let proration_granularity = o.opt("proration_granularity");
        let utc_offset = o.opt("utc_offset");
        let current_period_start = o.opt("current_period_start");
        let current_period_end = o.opt("current_period_end");
        let metadata = o.opt("metadata");
        let (Some(currency), Some(items), Some(billing_cycle_anchor)) =
            (currency, items, billing_cycle_anchor)
        else {
            return Err(o.failed());
        };
        o.finish(Subscription {
            id,
            currency,
            items,
            billing_cycle_anchor,
            start_date,
            trial_end,
            trial_period_days,
            cancel_at,
            cancel_at_period_end,
            pause_collection,
            discounts,
            pending_invoice_items,
            minimum_commitment,
            proration_granularity,
            utc_offset,
            current_period_start,
            current_period_end,
            metadata,
        })
    }
}

impl crate::json::FromJson for SubscriptionItem {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "price",
                "quantity",
                "deleted",
                "discounts",
                "tax_rates",
                "tax_category",
                "usage_records",
                "metadata",
            ],
        )?;
        let id = o.opt("id");
        let price = o.opt("price");
        let quantity = o.opt("quantity");
        let deleted = o.opt("deleted");
        let discounts = o.opt("discounts");
        let tax_rates = o.opt("tax_rates");
        let tax_category = o.opt("tax_category");
        let usage_records = o.def("usage_records");
        let metadata = o.opt("metadata");
        o.finish(SubscriptionItem {
            id,
            price,
            quantity,
            deleted,
            discounts,
            tax_rates,
            tax_category,
            usage_records,
            metadata,
        })
    }
}

impl crate::json::FromJson for PauseCollection {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["behavior", "resumes_at"])?;
        let behavior = o.req("behavior");
        let resumes_at = o.opt("resumes_at");
        let Some(behavior) = behavior else {
            return Err(o.failed());
        };
        o.finish(PauseCollection {
            behavior,
            resumes_at,
        })
    }
}

crate::json::json_enum!(PauseBehavior {
    "keep_as_draft" => PauseBehavior::KeepAsDraft,
    "mark_uncollectible" => PauseBehavior::MarkUncollectible,
    "void" => PauseBehavior::Void,
});

impl crate::json::FromJson for PendingInvoiceItem {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "id",
                "amount",
                "description",
                "period",
                "proration",
                "price",
                "discountable",
                "tax_rates",
                "tax_category",
                "metadata",
            ],
        )?;
        let id = o.opt("id");
        let amount = o.req("amount");
        let description = o.opt("description");
        let period = o.opt("period");
        let proration = o.opt("proration");
        let price = o.opt("price");
        let discountable = o.opt("discountable");
        let tax_rates = o.opt("tax_rates");
        let tax_category = o.opt("tax_category");
        let metadata = o.opt("metadata");
        let Some(amount) = amount else {
            return Err(o.failed());
        };
        o.finish(PendingInvoiceItem {
            id,
            amount,
            description,
            period,
            proration,
            price,
            discountable,
            tax_rates,
            tax_category,
            metadata,
        })
    }
}

impl crate::json::FromJson for PeriodInput {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(value, path, &["start", "end"])?;
        let start = o.req("start");
        let end = o.req("end");
        let (Some(start), Some(end)) = (start, end) else {
            return Err(o.failed());
        };
        o.finish(PeriodInput { start, end })
    }
}

impl crate::json::FromJson for MinimumCommitment {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &["amount", "scope", "description", "tax_category"],
        )?;
        let amount = o.req("amount");
        let scope = o.opt("scope");
        let description = o.opt("description");
        let tax_category = o.opt("tax_category");
        let Some(amount) = amount else {
            return Err(o.failed());
        };
        o.finish(MinimumCommitment {
            amount,
            scope,
            description,
            tax_category,
        })
    }
}

crate::json::json_enum!(CommitmentScope {
    "usage" => CommitmentScope::Usage,
    "invoice" => CommitmentScope::Invoice,
});

impl crate::json::FromJson for SubscriptionChange {
    fn from_json_value(
        value: &crate::json::Value,
        path: &crate::json::Path,
    ) -> crate::error::Result<Self> {
        let o = crate::json::Obj::new(
            value,
            path,
            &[
                "proration_date",
                "proration_behavior",
                "items",
                "cancel",
                "cancel_at_period_end",
                "billing_cycle_anchor",
            ],
        )?;
        let proration_date = o.opt("proration_date");
        let proration_behavior = o.opt("proration_behavior");
        let items = o.def("items");
        let cancel = o.opt("cancel");
        let cancel_at_period_end = o.opt("cancel_at_period_end");
        let billing_cycle_anchor = o.opt("billing_cycle_anchor");
        o.finish(SubscriptionChange {
            proration_date,
            proration_behavior,
            items,
            cancel,
            cancel_at_period_end,
            billing_cycle_anchor,
        })
    }
}

crate::json::json_enum!(ProrationBehavior {
    "create_prorations" => ProrationBehavior::CreateProrations,
    "always_invoice" => ProrationBehavior::AlwaysInvoice,
    "none" => ProrationBehavior::None,
});

crate::json::json_enum!(AnchorChange {
    "now" => AnchorChange::Now,
    "unchanged" => AnchorChange::Unchanged,
});
