//! The subscription results' JSON text (`previewInvoice`, `billingDates`, `dunningSchedule`,
//! `creditNote`), written by hand like a quote's (src/quote_json.rs): byte for byte what
//! `serde_json::to_string` gives for the same value (same field order, same absent and `null`
//! fields); tests/vectors.rs checks that on every subscription vector. With it the browser's
//! `billcalc` build links no serde serialiser (issue 12); the Rust types keep their `Serialize`
//! impls for Rust callers and the server.

use crate::quote_json::{write_quote_fields, Writer};
use crate::subscription::credit_note::TaxPart;
use crate::subscription::invoice::{
    BillingDates, BillingReason, Invoice, InvoiceStatus, SubscriptionStatus,
};
use crate::subscription::{CreditNote, DunningSchedule};

/// A result written as JSON text.
pub trait ToJsonText {
    /// The JSON text (what `serde_json::to_string(self)` gives).
    fn to_json_text(&self) -> String;
}

fn text(capacity: usize, write: impl FnOnce(&mut Writer)) -> String {
    let mut w = Writer::with_capacity(capacity);
    write(&mut w);
    w.into_string()
}

fn status(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Open => "\"open\"",
        InvoiceStatus::Paid => "\"paid\"",
        InvoiceStatus::Draft => "\"draft\"",
        InvoiceStatus::Uncollectible => "\"uncollectible\"",
        InvoiceStatus::Void => "\"void\"",
    }
}

fn reason(reason: BillingReason) -> &'static str {
    match reason {
        BillingReason::SubscriptionCreate => "\"subscription_create\"",
        BillingReason::SubscriptionCycle => "\"subscription_cycle\"",
        BillingReason::SubscriptionUpdate => "\"subscription_update\"",
    }
}

impl ToJsonText for Invoice {
    fn to_json_text(&self) -> String {
        text(2048 + 600 * self.quote.lines.len(), |w| {
            write_quote_fields(w, &self.quote, None);
            w.raw(",\"billing_reason\":");
            w.raw(reason(self.billing_reason));
            w.raw(",\"created\":");
            w.int(self.created);
            w.raw(",\"period_start\":");
            w.int(self.period_start);
            w.raw(",\"period_end\":");
            w.int(self.period_end);
            w.raw(",\"starting_balance\":");
            w.int(self.starting_balance);
            w.raw(",\"amount_due\":");
            w.int(self.amount_due);
            w.raw(",\"ending_balance\":");
            w.int(self.ending_balance);
            w.raw(",\"minimum_charge\":");
            match &self.minimum_charge {
                Some(m) => {
                    w.raw("{\"minimum\":");
                    w.int(m.minimum);
                    w.raw(",\"carried_to_balance\":");
                    w.int(m.carried_to_balance);
                    w.raw("}");
                }
                None => w.raw("null"),
            }
            w.raw(",\"status\":");
            w.raw(status(self.status));
            let s = &self.subscription;
            w.raw(",\"subscription\":{\"status\":");
            w.raw(match s.status {
                SubscriptionStatus::Trialing => "\"trialing\"",
                SubscriptionStatus::Active => "\"active\"",
                SubscriptionStatus::Canceled => "\"canceled\"",
            });
            w.raw(",\"billing_cycle_anchor\":");
            w.int(s.billing_cycle_anchor);
            w.raw(",\"current_period_start\":");
            w.int(s.current_period_start);
            w.raw(",\"current_period_end\":");
            w.int(s.current_period_end);
            w.raw("}}");
        })
    }
}

impl ToJsonText for BillingDates {
    fn to_json_text(&self) -> String {
        text(64 + 256 * self.dates.len(), |w| {
            w.raw("{\"version\":");
            w.str(self.version);
            w.raw(",\"dates\":");
            w.list(&self.dates, |w, d| {
                w.raw("{\"date\":");
                w.int(d.date);
                w.raw(",\"period\":");
                w.period(d.period.start, d.period.end);
                w.raw(",\"billing_reason\":");
                w.raw(reason(d.billing_reason));
                w.raw(",\"subtotal\":");
                w.int(d.subtotal);
                w.raw(",\"total_excluding_tax\":");
                w.int(d.total_excluding_tax);
                w.raw(",\"total\":");
                w.int(d.total);
                w.raw(",\"amount_due\":");
                w.int(d.amount_due);
                w.raw(",\"status\":");
                w.raw(status(d.status));
                w.raw(",\"final_invoice\":");
                w.bool(d.final_invoice);
                w.raw(",\"reminders\":");
                w.list(&d.reminders, |w, &r| w.int(r));
                w.raw("}");
            });
            w.raw("}");
        })
    }
}

impl ToJsonText for DunningSchedule {
    fn to_json_text(&self) -> String {
        text(128 + 32 * self.retries.len(), |w| {
            w.raw("{\"version\":");
            w.str(self.version);
            w.raw(",\"failed_at\":");
            w.int(self.failed_at);
            w.raw(",\"retries\":");
            w.list(&self.retries, |w, r| {
                w.raw("{\"attempt\":");
                w.int(r.attempt);
                w.raw(",\"at\":");
                w.int(r.at);
                w.raw("}");
            });
            w.raw(",\"final_attempt_at\":");
            w.opt_int(self.final_attempt_at);
            w.raw(",\"hard_decline\":");
            w.bool(self.hard_decline);
            w.raw("}");
        })
    }
}

fn tax_parts(w: &mut Writer, parts: &[TaxPart]) {
    w.list(parts, |w, t| {
        w.raw("{\"rate\":");
        w.str(&t.rate);
        w.raw(",\"amount\":");
        w.int(t.amount);
        w.raw("}");
    });
}

impl ToJsonText for CreditNote {
    fn to_json_text(&self) -> String {
        text(256 + 128 * self.lines.len(), |w| {
            w.raw("{\"version\":");
            w.str(self.version);
            w.raw(",\"currency\":");
            w.str(self.currency.code());
            w.raw(",\"lines\":");
            w.list(&self.lines, |w, l| {
                w.raw("{\"line\":");
                w.usize(l.line);
                w.raw(",\"amount\":");
                w.int(l.amount);
                w.raw(",\"amount_excluding_tax\":");
                w.int(l.amount_excluding_tax);
                w.raw(",\"taxes\":");
                tax_parts(w, &l.taxes);
                w.raw("}");
            });
            w.raw(",\"subtotal\":");
            w.int(self.subtotal);
            w.raw(",\"total_taxes\":");
            tax_parts(w, &self.total_taxes);
            w.raw(",\"total\":");
            w.int(self.total);
            if let Some(amount) = self.rounding_amount {
                w.raw(",\"rounding_amount\":");
                w.int(amount);
            }
            if let Some(amount) = self.amount_payable {
                w.raw(",\"amount_payable\":");
                w.int(amount);
            }
            w.raw(",\"remaining_creditable\":");
            w.int(self.remaining_creditable);
            if let Some(reason) = &self.reason {
                w.raw(",\"reason\":");
                w.str(reason);
            }
            w.raw("}");
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code written by hand is serde's name of the variant (the vectors cover most; this
    /// covers every variant).
    #[test]
    fn codes_are_serdes_names() {
        for s in [
            InvoiceStatus::Open,
            InvoiceStatus::Paid,
            InvoiceStatus::Draft,
            InvoiceStatus::Uncollectible,
            InvoiceStatus::Void,
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), status(s));
        }
        for r in [
            BillingReason::SubscriptionCreate,
            BillingReason::SubscriptionCycle,
            BillingReason::SubscriptionUpdate,
        ] {
            assert_eq!(serde_json::to_string(&r).unwrap(), reason(r));
        }
    }
}
