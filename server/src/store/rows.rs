//! Row mapping both backends share: the column lists of each record (as macros, so each
//! backend's SQL stays one `&'static str` with its own placeholders) and the record built from
//! a row through [`Columns`], which SQLite's and PostgreSQL's rows implement. Columns are read
//! by position in the order the lists give; a type mismatch is an error, never a panic.

use super::{ChangeRecord, InvoiceRecord, PaymentRecord, SubscriptionRecord};

/// A result row, read by column position.
pub(super) trait Columns {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
}

/// `invoices`' columns in [`invoice`]'s order.
macro_rules! invoice_columns {
    () => {
        "id, series, number, number_display, created_at, currency, total, customer_id, idempotency_key, document, subscription_id"
    };
}

/// `payments`' columns in [`payment`]'s order.
macro_rules! payment_columns {
    () => {
        "id, invoice_id, amount, currency, status, gateway, card_brand, card_last4, created_at"
    };
}

/// `subscriptions`' columns in [`subscription`]'s order.
macro_rules! subscription_columns {
    () => {
        "id, customer_id, status, currency, default_payment_method, billing_cycle_anchor, current_period_start, current_period_end, cancel_at_period_end, canceled_at, document, created_at, updated_at"
    };
}

/// `subscription_changes`' columns in [`change`]'s order.
macro_rules! change_columns {
    () => {
        "id, subscription_id, proration_date, preview_digest, invoice_id, created_at, request, preview, status, committed_at"
    };
}

pub(super) use {change_columns, invoice_columns, payment_columns, subscription_columns};

pub(super) fn invoice<R: Columns>(r: &R) -> Result<InvoiceRecord, R::Error> {
    Ok(InvoiceRecord {
        id: r.text(0)?,
        series: r.text(1)?,
        number: r.int(2)?,
        number_display: r.text(3)?,
        created_at: r.int(4)?,
        currency: r.text(5)?,
        total: r.int(6)?,
        customer_id: r.opt_text(7)?,
        idempotency_key: r.text(8)?,
        document: r.text(9)?,
        subscription_id: r.opt_text(10)?,
    })
}

pub(super) fn payment<R: Columns>(r: &R) -> Result<PaymentRecord, R::Error> {
    Ok(PaymentRecord {
        id: r.text(0)?,
        invoice_id: r.text(1)?,
        amount: r.int(2)?,
        currency: r.text(3)?,
        status: r.text(4)?,
        gateway: r.text(5)?,
        card_brand: r.opt_text(6)?,
        card_last4: r.opt_text(7)?,
        created_at: r.int(8)?,
    })
}

pub(super) fn subscription<R: Columns>(r: &R) -> Result<SubscriptionRecord, R::Error> {
    Ok(SubscriptionRecord {
        id: r.text(0)?,
        customer_id: r.text(1)?,
        status: r.text(2)?,
        currency: r.text(3)?,
        default_payment_method: r.opt_text(4)?,
        billing_cycle_anchor: r.int(5)?,
        current_period_start: r.int(6)?,
        current_period_end: r.int(7)?,
        cancel_at_period_end: r.flag(8)?,
        canceled_at: r.opt_int(9)?,
        document: r.text(10)?,
        created_at: r.int(11)?,
        updated_at: r.int(12)?,
    })
}

pub(super) fn change<R: Columns>(r: &R) -> Result<ChangeRecord, R::Error> {
    Ok(ChangeRecord {
        id: r.text(0)?,
        subscription_id: r.text(1)?,
        proration_date: r.int(2)?,
        preview_digest: r.text(3)?,
        invoice_id: r.opt_text(4)?,
        created_at: r.int(5)?,
        request: r.text(6)?,
        preview: r.text(7)?,
        status: r.text(8)?,
        committed_at: r.opt_int(9)?,
    })
}
