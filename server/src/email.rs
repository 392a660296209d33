//! Email to customers, through SMTP with `lettre`.
//!
//! Emails are written by [`enqueue_for_event`] in the transaction of the event that causes them
//! (the `emails` table is an outbox, like webhook deliveries), already rendered: subject, plain
//! text and HTML in the customer's language — French when their first `preferred_locales` entry
//! is French (`fr`, `fr-FR`, …), English for another, the seller's country's (France → French)
//! when they gave none. [`send_due`] sends what is pending (a lease per email, so several
//! instances send each once), with the invoice attached as HTML to receipts and
//! payment-failure notices; an SMTP failure is retried with exponential backoff (1 min, 2, 4, …
//! at most 6 h apart) for three days, then the email is marked `failed`.
//!
//! | event | email |
//! | --- | --- |
//! | `invoice.paid` (amount > 0) | receipt, invoice attached |
//! | `invoice.payment_failed` | payment failed: amount, next attempt, a link to the portal to pay or change the card |
//! | `invoice.upcoming` | upcoming renewal: date and amount |
//! | `customer.subscription.trial_will_end` | trial ending: date, then the price |
//! | `customer.source.expiring` | card expiring: link to update it |
//! | `credit_note.created` | credit note issued |
//! | `customer.subscription.deleted` | subscription ended |
//!
//! SMTP: `BILLCALC_SMTP_URL` (environment, it may hold a password) or `email.smtp_url`:
//! `smtp://host:25` (plain, loopback relays), `smtp://host:587?tls=required` (STARTTLS),
//! `smtps://user:pass@host:465`. Without one, emails stay `pending` in the log.

use crate::invoice::{escape, format_money, InvoiceDocument};
use crate::state::AppState;
use crate::store::{SqlValue, StoreResult, Tx};
use serde_json::{json, Value};

pub use crate::config::EmailSettings;

/// Who an event concerns, for its email: the customer's id, address, name and locales.
#[derive(Debug, Clone, Default)]
pub struct Recipient {
    pub customer_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_locales: Vec<String>,
}

impl Recipient {
    pub fn of(customer: &crate::subscription_doc::CustomerDoc) -> Recipient {
        Recipient {
            customer_id: customer.id.clone(),
            email: customer.email.clone(),
            name: customer.name.clone().or_else(|| customer.company.clone()),
            preferred_locales: customer.preferred_locales.clone(),
        }
    }
}

const MAX_RETRY_SECONDS: i64 = 3 * 86_400;

/// The language of a customer's emails: `fr` or `en`.
pub fn locale_for(state: &AppState, preferred: &[String]) -> &'static str {
    match preferred.first() {
        Some(l) if l.to_ascii_lowercase().starts_with("fr") => "fr",
        Some(_) => "en",
        None => {
            let seller_fr = state.seller.address.country.eq_ignore_ascii_case("FR");
            if seller_fr {
                "fr"
            } else {
                "en"
            }
        }
    }
}

use crate::invoice_words::FR_MONTHS;

/// `29 novembre 2026` / `November 29, 2026` (UTC).
pub fn long_date(unix: i64, locale: &str) -> String {
    use chrono::Datelike;
    let Some(t) = chrono::DateTime::from_timestamp(unix, 0) else {
        return String::new();
    };
    if locale == "fr" {
        let day = if t.day() == 1 {
            "1er".to_string()
        } else {
            t.day().to_string()
        };
        format!("{day} {} {}", FR_MONTHS[t.month0() as usize], t.year())
    } else {
        t.format("%B %-d, %Y").to_string()
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The invoice to attach.
    pub attach_invoice: Option<String>,
}

struct Body {
    greeting: String,
    paragraphs: Vec<String>,
    button: Option<(String, String)>,
    closing: String,
    /// `:` in English; French puts a no-break space before it.
    colon: &'static str,
}

fn render(subject: &str, seller: &str, b: &Body) -> (String, String) {
    let mut text = format!("{}\n\n", b.greeting);
    for p in &b.paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    if let Some((label, url)) = &b.button {
        text.push_str(&format!("{label}{} {url}\n\n", b.colon));
    }
    text.push_str(&format!("{}\n{seller}\n", b.closing));
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body style=\"margin:0;padding:24px;background:#f6f7f9;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24\"><div style=\"max-width:560px;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:12px;padding:24px\"><p style=\"margin:0 0 16px;font-weight:600\">{}</p>",
        escape(subject),
        escape(&b.greeting)
    );
    for p in &b.paragraphs {
        html.push_str(&format!(
            "<p style=\"margin:0 0 14px;line-height:1.5\">{}</p>",
            escape(p)
        ));
    }
    if let Some((label, url)) = &b.button {
        html.push_str(&format!(
            "<p style=\"margin:20px 0\"><a href=\"{}\" style=\"display:inline-block;background:#2457d6;color:#fff;text-decoration:none;padding:10px 18px;border-radius:8px;font-weight:600\">{}</a></p>",
            escape(url),
            escape(label)
        ));
    }
    html.push_str(&format!(
        "<p style=\"margin:16px 0 0;color:#5b6570\">{}<br>{}</p></div></body></html>",
        escape(&b.closing),
        escape(seller)
    ));
    (text, html)
}

/// Renders the email an event causes for a customer, if it causes one. `portal_url` is a
/// signed portal link for the emails that ask the customer to act.
pub fn compose(
    event: &Value,
    locale: &str,
    name: Option<&str>,
    seller: &str,
    portal_url: Option<&str>,
) -> Option<Composed> {
    let fr = locale == "fr";
    let kind = event.get("type").and_then(Value::as_str)?;
    let o = event.pointer("/data/object")?;
    let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let i = |k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
    let currency = s("currency");
    let money = |m: i64| format_money(m, &currency, fr);
    let greeting = match (name, fr) {
        (Some(n), true) => format!("Bonjour {n},"),
        (None, true) => "Bonjour,".to_string(),
        (Some(n), false) => format!("Hello {n},"),
        (None, false) => "Hello,".to_string(),
    };
    let closing = if fr { "Cordialement," } else { "Kind regards," }.to_string();
    let portal_button = |fr_label: &str, en_label: &str| {
        portal_url.map(|u| {
            (
                if fr { fr_label } else { en_label }.to_string(),
                u.to_string(),
            )
        })
    };
    let (kind_name, subject, paragraphs, button, attach): (
        &'static str,
        String,
        Vec<String>,
        Option<(String, String)>,
        Option<String>,
    ) = match kind {
        "invoice.paid" => {
            if i("amount_paid") <= 0 {
                return None;
            }
            let number = s("number");
            let subject = if fr {
                format!("Reçu de paiement — facture {number}")
            } else {
                format!("Payment receipt — invoice {number}")
            };
            let p = if fr {
                vec![
                    format!("Nous avons bien reçu votre paiement de {} pour la facture {number}. Merci !", money(i("amount_paid"))),
                    "La facture est jointe à ce message.".to_string(),
                ]
            } else {
                vec![
                    format!(
                        "We received your payment of {} for invoice {number}. Thank you!",
                        money(i("amount_paid"))
                    ),
                    "The invoice is attached to this email.".to_string(),
                ]
            };
            ("receipt", subject, p, None, Some(s("id")))
        }
        "invoice.payment_failed" => {
            let number = s("number");
            let amount = money(i("amount_remaining"));
            let next = o.get("next_payment_attempt").and_then(Value::as_i64);
            let subject = if fr {
                format!("Échec du paiement de la facture {number}")
            } else {
                format!("Payment failed for invoice {number}")
            };
            let mut p = if fr {
                vec![format!("Le paiement de {amount} pour la facture {number} n'a pas abouti (tentative {}).", i("attempt_count"))]
            } else {
                vec![format!(
                    "The payment of {amount} for invoice {number} did not go through (attempt {}).",
                    i("attempt_count")
                )]
            };
            p.push(match (next, fr) {
                (Some(t), true) => format!("Nous réessaierons automatiquement le {}. Vous pouvez aussi payer maintenant ou changer de carte.", long_date(t, "fr")),
                (Some(t), false) => format!("We will try again automatically on {}. You can also pay now or update your card.", long_date(t, "en")),
                (None, true) => "Nous ne réessaierons pas automatiquement : payez la facture ou changez de carte pour garder votre abonnement.".to_string(),
                (None, false) => "We will not retry automatically: pay the invoice or update your card to keep your subscription.".to_string(),
            });
            (
                "payment_failed",
                subject,
                p,
                portal_button("Payer ou changer de carte", "Pay or update your card"),
                Some(s("id")),
            )
        }
        "invoice.upcoming" => {
            let at = o
                .get("next_payment_attempt")
                .and_then(Value::as_i64)
                .unwrap_or(i("period_end"));
            let subject = if fr {
                "Votre abonnement sera renouvelé bientôt".to_string()
            } else {
                "Your subscription renews soon".to_string()
            };
            let p = if fr {
                vec![format!(
                    "Votre abonnement sera renouvelé le {} pour {}.",
                    long_date(at, "fr"),
                    money(i("amount_due"))
                )]
            } else {
                vec![format!(
                    "Your subscription renews on {} for {}.",
                    long_date(at, "en"),
                    money(i("amount_due"))
                )]
            };
            (
                "upcoming_renewal",
                subject,
                p,
                portal_button("Gérer mon abonnement", "Manage your subscription"),
                None,
            )
        }
        "customer.subscription.trial_will_end" => {
            let end = i("trial_end");
            let subject = if fr {
                "Votre période d'essai se termine bientôt".to_string()
            } else {
                "Your trial ends soon".to_string()
            };
            let p = if fr {
                vec![format!("Votre période d'essai se termine le {}. L'abonnement continuera ensuite avec le moyen de paiement enregistré.", long_date(end, "fr"))]
            } else {
                vec![format!("Your trial ends on {}. Your subscription then continues with the payment method on file.", long_date(end, "en"))]
            };
            (
                "trial_will_end",
                subject,
                p,
                portal_button("Gérer mon abonnement", "Manage your subscription"),
                None,
            )
        }
        "customer.source.expiring" => {
            let subject = if fr {
                "Votre carte expire bientôt".to_string()
            } else {
                "Your card expires soon".to_string()
            };
            let card = format!("{} •••• {}", s("brand"), s("last4"));
            let p = if fr {
                vec![format!("La carte {card} enregistrée pour votre abonnement expire fin {:02}/{}. Mettez-la à jour pour éviter une interruption.", i("exp_month"), i("exp_year"))]
            } else {
                vec![format!("The card {card} on file for your subscription expires at the end of {:02}/{}. Update it to avoid an interruption.", i("exp_month"), i("exp_year"))]
            };
            (
                "card_expiring",
                subject,
                p,
                portal_button("Mettre à jour ma carte", "Update your card"),
                None,
            )
        }
        "credit_note.created" => {
            let number = s("number");
            let subject = if fr {
                format!("Avoir {number}")
            } else {
                format!("Credit note {number}")
            };
            let p = if fr {
                vec![format!(
                    "Nous avons émis l'avoir {number} d'un montant de {}.",
                    money(i("total"))
                )]
            } else {
                vec![format!(
                    "We issued credit note {number} for {}.",
                    money(i("total"))
                )]
            };
            ("credit_note", subject, p, None, None)
        }
        "customer.subscription.deleted" => {
            let subject = if fr {
                "Votre abonnement a pris fin".to_string()
            } else {
                "Your subscription has ended".to_string()
            };
            let p = if fr {
                vec!["Votre abonnement a pris fin. Merci de nous avoir fait confiance.".to_string()]
            } else {
                vec!["Your subscription has ended. Thank you for being with us.".to_string()]
            };
            ("subscription_ended", subject, p, None, None)
        }
        _ => return None,
    };
    let (text, html) = render(
        &subject,
        seller,
        &Body {
            greeting,
            paragraphs,
            button,
            closing,
            colon: if fr { "\u{a0}:" } else { ":" },
        },
    );
    Some(Composed {
        kind: kind_name,
        subject,
        text,
        html,
        attach_invoice: attach,
    })
}

/// Writes the email an event causes (if any, and if the customer has an address) in the
/// event's transaction.
pub async fn enqueue_for_event(
    state: &AppState,
    tx: &mut dyn Tx,
    event: &Value,
    recipient: &Recipient,
    now: i64,
) -> StoreResult<()> {
    if !state.email.enabled {
        return Ok(());
    }
    let Some(to) = recipient.email.as_deref().filter(|e| e.contains('@')) else {
        return Ok(());
    };
    let locale = locale_for(state, &recipient.preferred_locales);
    let portal = crate::portal_session::email_link(state, &recipient.customer_id, locale, now);
    let Some(mail) = compose(
        event,
        locale,
        recipient.name.as_deref(),
        &state.seller.name,
        Some(&portal),
    ) else {
        return Ok(());
    };
    let seq = crate::ledger::next_in_sequence(tx, "emails").await?;
    let id = crate::ledger::new_id("em", &recipient.customer_id, now);
    tx.exec(
        "INSERT INTO emails (id, seq, event_id, kind, customer_id, to_address, locale, subject, text_body, html_body, attachment_invoice_id, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $12)",
        vec![
            id.into(),
            seq.into(),
            event.get("id").and_then(Value::as_str).map(str::to_string).into(),
            mail.kind.into(),
            recipient.customer_id.clone().into(),
            to.into(),
            locale.into(),
            mail.subject.into(),
            mail.text.into(),
            mail.html.into(),
            mail.attach_invoice.into(),
            now.into(),
        ],
    )
    .await
    .map(|_| ())
}

fn from_address(state: &AppState) -> String {
    state.email.from.clone().unwrap_or_else(|| {
        let address = state
            .seller
            .email
            .clone()
            .unwrap_or_else(|| "billing@localhost".to_string());
        format!(
            "{} <{address}>",
            state.seller.name.replace(['<', '>', '"'], "")
        )
    })
}

fn smtp_url(state: &AppState) -> Option<String> {
    std::env::var("BILLCALC_SMTP_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| state.email.smtp_url.clone())
}

struct Outgoing {
    id: String,
    to: String,
    subject: String,
    text: String,
    html: String,
    /// `(file name, media type, bytes)`: the invoice as HTML, and its Factur-X PDF when it has one.
    attachments: Vec<(String, &'static str, Vec<u8>)>,
    attempts: i64,
    created_at: i64,
}

fn build_message(from: &str, m: &Outgoing, locale: &str) -> Result<lettre::Message, String> {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment, MultiPart};
    let alternative = MultiPart::alternative_plain_html(m.text.clone(), m.html.clone());
    let builder = lettre::Message::builder()
        .from(from.parse().map_err(|e| format!("from: {e}"))?)
        .to(m.to.parse().map_err(|e| format!("to: {e}"))?)
        .subject(m.subject.clone());
    let _ = locale; // the language is the templates' (a Content-Language header is not in lettre's set)
    let body = if m.attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for (name, media, bytes) in &m.attachments {
            mixed = mixed.singlepart(Attachment::new(name.clone()).body(
                bytes.clone(),
                ContentType::parse(media).map_err(|e| e.to_string())?,
            ));
        }
        mixed
    };
    builder.multipart(body).map_err(|e| e.to_string())
}

/// The invoices attached to the emails due at `now` (their e-invoices are to be stored before
/// the mails go: crate::automation::deliver makes sure of it).
pub async fn attachments_due(state: &AppState, now: i64) -> StoreResult<Vec<String>> {
    let rows = state
        .store
        .query(
            "SELECT DISTINCT attachment_invoice_id FROM emails WHERE status = 'pending' AND next_attempt_at <= $1 AND attachment_invoice_id IS NOT NULL",
            vec![now.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.first().and_then(crate::store::SqlValue::as_str))
        .map(str::to_string)
        .collect())
}

/// Sends the pending emails due at `now` (SMTP on the blocking pool); a mail whose attached
/// invoice's e-invoice is still being rendered waits for the next run. Returns `{sent,
/// failed, retried, waiting_for_einvoice}` counts.
pub async fn send_due(state: &AppState, now: i64) -> StoreResult<Value> {
    let Some(url) = smtp_url(state) else {
        return Ok(json!({"sent": 0, "failed": 0, "retried": 0, "smtp": "not configured"}));
    };
    let rows = state
        .store
        .query(
            "SELECT id, to_address, subject, text_body, html_body, attachment_invoice_id, attempts, created_at, locale FROM emails WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) ORDER BY seq LIMIT 100",
            vec![now.into()],
        )
        .await?;
    let (mut sent, mut failed, mut retried, mut waiting) = (0, 0, 0, 0);
    let from = from_address(state);
    for r in rows {
        let id = r[0].text();
        // The invoice attached is rendered in the background after its commit: its mail waits
        // for the e-invoice (the next run sends it), so the PDF is attached.
        if let Some(invoice_id) = r[5].as_str() {
            if state.store.pending_einvoice(invoice_id).await?.is_some() {
                waiting += 1;
                continue;
            }
        }
        let claimed = state
            .store
            .exec(
                "UPDATE emails SET lease_until = $1 WHERE id = $2 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)",
                vec![(now + 120).into(), id.clone().into(), now.into()],
            )
            .await?;
        if claimed != 1 {
            continue;
        }
        let mut attachments = Vec::new();
        let document = match r[5].as_str() {
            Some(invoice_id) => state
                .store
                .invoice(invoice_id)
                .await?
                .and_then(|rec| serde_json::from_str::<InvoiceDocument>(&rec.document).ok()),
            None => None,
        };
        if let Some(d) = document {
            attachments.push((
                format!("{}.html", d.number),
                "text/html; charset=utf-8",
                crate::invoice_page::render_html(&d).into_bytes(),
            ));
            // The Factur-X PDF rendered at issue (crate::einvoice), checked against its hash.
            if let Some(pdf) = d
                .einvoice
                .as_ref()
                .and_then(|e| crate::einvoice::file_bytes(e, crate::einvoice::Format::Pdf).ok())
            {
                attachments.push((format!("{}.pdf", d.number), "application/pdf", pdf));
            }
        }
        let m = Outgoing {
            id: id.clone(),
            to: r[1].text(),
            subject: r[2].text(),
            text: r[3].text(),
            html: r[4].text(),
            attachments,
            attempts: r[6].as_i64().unwrap_or(0),
            created_at: r[7].as_i64().unwrap_or(now),
        };
        let locale = r[8].text();
        let from = from.clone();
        let url = url.clone();
        let result = match build_message(&from, &m, &locale) {
            Ok(message) => tokio::task::spawn_blocking(move || {
                let transport = lettre::SmtpTransport::from_url(&url)
                    .map_err(|e| format!("smtp url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build();
                lettre::Transport::send(&transport, &message)
                    .map(|_| ())
                    .map_err(|e| format!("smtp: {e}"))
            })
            .await
            .unwrap_or_else(|e| Err(format!("smtp task: {e}"))),
            Err(e) => Err(format!("message: {e}")),
        };
        let attempts = m.attempts + 1;
        match result {
            Ok(()) => {
                sent += 1;
                state
                    .store
                    .exec(
                        "UPDATE emails SET status = 'sent', attempts = $1, sent_at = $2, lease_until = NULL, last_error = NULL WHERE id = $3",
                        vec![attempts.into(), now.into(), m.id.clone().into()],
                    )
                    .await?;
            }
            Err(e) => {
                let give_up = now - m.created_at >= MAX_RETRY_SECONDS;
                let delay = (60_i64 << (attempts - 1).clamp(0, 20)).min(21_600);
                if give_up {
                    failed += 1;
                } else {
                    retried += 1;
                }
                state
                    .store
                    .exec(
                        "UPDATE emails SET status = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4 WHERE id = $5",
                        vec![
                            if give_up { "failed" } else { "pending" }.into(),
                            attempts.into(),
                            (now + delay).into(),
                            e.into(),
                            m.id.clone().into(),
                        ],
                    )
                    .await?;
            }
        }
    }
    Ok(json!({"sent": sent, "failed": failed, "retried": retried, "waiting_for_einvoice": waiting}))
}

/// `GET /v1/emails`: the mail log, newest first: `{object: "list", data: [{id, kind, to,
/// locale, subject, status, attempts, last_error, created, sent_at, event, text, html}]}`.
pub async fn log(state: &AppState, customer: Option<&str>, limit: i64) -> StoreResult<Value> {
    let limit = limit.clamp(1, 500);
    let rows = match customer {
        // The demo's outbox page: its customers only.
        Some("cus_demo_*") => state.store.query(
            "SELECT id, kind, to_address, locale, subject, status, attempts, last_error, created_at, sent_at, event_id, text_body, html_body, attachment_invoice_id FROM emails WHERE customer_id LIKE 'cus\\_demo\\_%' ESCAPE '\\' ORDER BY seq DESC LIMIT $1",
            vec![limit.into()],
        ).await?,
        Some(c) => state.store.query(
            "SELECT id, kind, to_address, locale, subject, status, attempts, last_error, created_at, sent_at, event_id, text_body, html_body, attachment_invoice_id FROM emails WHERE customer_id = $1 ORDER BY seq DESC LIMIT $2",
            vec![c.into(), limit.into()],
        ).await?,
        None => state.store.query(
            "SELECT id, kind, to_address, locale, subject, status, attempts, last_error, created_at, sent_at, event_id, text_body, html_body, attachment_invoice_id FROM emails ORDER BY seq DESC LIMIT $1",
            vec![limit.into()],
        ).await?,
    };
    let v = |x: &SqlValue| match x {
        SqlValue::Int(n) => json!(n),
        SqlValue::Text(s) => json!(s),
        SqlValue::Null => Value::Null,
    };
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": v(&r[0]), "object": "email", "kind": v(&r[1]), "to": v(&r[2]),
                "locale": v(&r[3]), "subject": v(&r[4]), "status": v(&r[5]),
                "attempts": v(&r[6]), "last_error": v(&r[7]), "created": v(&r[8]),
                "sent_at": v(&r[9]), "event": v(&r[10]), "text": v(&r[11]), "html": v(&r[12]),
                "attachment_invoice": v(&r[13]),
            })
        })
        .collect();
    Ok(json!({"object": "list", "data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_event() -> Value {
        json!({"id": "evt_1", "type": "invoice.payment_failed", "data": {"object": {
            "id": "in_1", "number": "F2026-000002", "currency": "eur", "amount_remaining": 123456,
            "attempt_count": 2, "next_payment_attempt": 1_772_445_600
        }}})
    }

    #[test]
    fn payment_failed_in_english_and_french() {
        let en = compose(
            &failed_event(),
            "en",
            Some("Ann"),
            "Shop",
            Some("https://x/p#s"),
        )
        .unwrap();
        assert_eq!(en.subject, "Payment failed for invoice F2026-000002");
        assert!(en.text.starts_with("Hello Ann,\n\nThe payment of €1,234.56 for invoice F2026-000002 did not go through (attempt 2).\n\nWe will try again automatically on March 2, 2026."), "{}", en.text);
        assert!(en.text.contains("Pay or update your card: https://x/p#s"));
        assert!(en.html.contains("href=\"https://x/p#s\""));
        let fr = compose(&failed_event(), "fr", None, "Shop", None).unwrap();
        assert_eq!(fr.subject, "Échec du paiement de la facture F2026-000002");
        assert!(fr.text.contains("Le paiement de 1\u{202f}234,56\u{a0}€ pour la facture F2026-000002 n'a pas abouti (tentative 2)."), "{}", fr.text);
        assert!(fr.text.contains("le 2 mars 2026"));
        assert_eq!(fr.attach_invoice.as_deref(), Some("in_1"));
    }

    #[test]
    fn html_is_escaped_and_unknown_events_send_nothing() {
        let mut e = failed_event();
        e["data"]["object"]["number"] = json!("<b>1</b>");
        let m = compose(&e, "en", Some("<script>"), "Shop & Co", None).unwrap();
        assert!(
            m.html.contains("&lt;b&gt;1&lt;/b&gt;") && m.html.contains("Hello &lt;script&gt;,")
        );
        assert!(m.html.contains("Shop &amp; Co"));
        e["type"] = json!("invoice.created");
        assert!(compose(&e, "en", None, "Shop", None).is_none());
    }

    #[test]
    fn french_dates() {
        assert_eq!(long_date(1_772_323_200, "fr"), "1er mars 2026");
        assert_eq!(long_date(1_772_323_200, "en"), "March 1, 2026");
    }
}
