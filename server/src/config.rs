//! Configuration: a JSON file (the seller, invoice settings, quote and HTTP settings, and the
//! catalog the engine validates) plus the environment for secrets and the database:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `BILLCALC_PUBLISHABLE_KEY` | key for catalog, quotes, verify (browsers); required |
//! | `BILLCALC_SECRET_KEY` | key for charges, invoices, subscriptions (servers); required |
//! | `BILLCALC_SIGNING_KEY` | HMAC key for quote tokens and invoice links, ≥ 32 bytes; required |
//! | `DATABASE_URL` | `postgres://…` or a SQLite path / `sqlite://PATH`; default `sqlite://billcalc.db` |
//! | `BILLCALC_DEMO_CHECKOUT` | `1` lets the publishable key charge through `/v1/demo/checkout` (demo only) |

use billcalc::{Calculator, Catalog};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub seller: SellerInfo,
    #[serde(default)]
    pub invoice: InvoiceSettings,
    #[serde(default)]
    pub quotes: QuoteSettings,
    #[serde(default)]
    pub http: HttpSettings,
    /// The engine's catalog, served as is by `GET /v1/catalog`.
    pub catalog: Value,
    /// Retries of failed renewals (see `crate::dunning`).
    #[serde(default)]
    pub dunning: DunningSettings,
    /// Reminders before renewals, trial ends, card expiries (see `crate::reminders`).
    #[serde(default)]
    pub reminders: ReminderSettings,
    /// Email to customers (see `crate::email`).
    #[serde(default)]
    pub email: EmailSettings,
    /// The customer portal (see `crate::portal`).
    #[serde(default)]
    pub portal: PortalSettings,
}

/// Who sells: printed on every invoice. For a French seller (`address.country` = `FR`) the
/// invoice carries the mandatory mentions (SIREN/SIRET, RCS, legal form, capital, VAT number).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerInfo {
    pub name: String,
    pub address: PostalAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_form: Option<String>,
    /// Share capital as printed, e.g. `"10 000 €"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_capital: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siren: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    /// e.g. `"RCS Lyon 123 456 789"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Franchise en base de TVA: invoices say « TVA non applicable, article 293 B du CGI ».
    #[serde(default)]
    pub vat_franchise: bool,
    /// The seller opted to pay VAT on debits (« option pour le paiement de la TVA d'après les
    /// débits », CGI art. 269-2-c): VAT on services becomes due at invoicing, not at payment.
    /// Invoices say so (the mention the 2026 reform requires) and their e-invoices carry it
    /// (BT-8 VAT point date code 3 / CII 5, with a `TXD` note).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vat_on_debits: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub country: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSettings {
    /// Invoice numbers are `{prefix}{year}-{number:06}`, gapless per `{prefix}{year}` series.
    #[serde(default = "default_prefix")]
    pub series_prefix: String,
    /// Credit notes (avoirs) have their own gapless series, `{prefix}-{year}-{number:06}`
    /// (`AV-2026-000001`).
    #[serde(default = "default_credit_note_prefix")]
    pub credit_note_prefix: String,
    /// Payment terms printed on the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<String>,
    /// Late-payment penalty rate as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_payment_penalty: Option<String>,
    /// Early-payment discount terms as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_payment_discount: Option<String>,
    /// A French invoice also gives each label in English, in smaller type ("Total HT / Total
    /// excl. tax"), for buyers abroad. The legal mentions stay in French only (the invoice's
    /// language); an English invoice is never bilingual. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bilingual: bool,
}

fn default_prefix() -> String {
    "F".into()
}

fn default_credit_note_prefix() -> String {
    "AV".into()
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            series_prefix: default_prefix(),
            credit_note_prefix: default_credit_note_prefix(),
            payment_terms: None,
            late_payment_penalty: None,
            early_payment_discount: None,
            bilingual: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteSettings {
    /// How long a quote token is honoured.
    #[serde(default = "default_ttl")]
    pub token_ttl_seconds: i64,
    /// How far a cart's own `as_of` may be from the server's clock.
    #[serde(default = "default_tolerance")]
    pub as_of_tolerance_seconds: i64,
}

fn default_ttl() -> i64 {
    900
}
fn default_tolerance() -> i64 {
    300
}

impl Default for QuoteSettings {
    fn default() -> Self {
        QuoteSettings {
            token_ttl_seconds: default_ttl(),
            as_of_tolerance_seconds: default_tolerance(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Origins allowed to call the API from a browser (CORS). Same-origin pages need none.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
}

fn default_body_limit() -> usize {
    64 * 1024
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            cors_allowed_origins: Vec::new(),
            max_body_bytes: default_body_limit(),
            rate_limit: RateLimitSettings::default(),
        }
    }
}

/// Token buckets: requests per second (refill) and burst (capacity), per API key and client
/// address.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    #[serde(default = "default_pk_rate")]
    pub publishable_per_second: f64,
    #[serde(default = "default_pk_burst")]
    pub publishable_burst: f64,
    #[serde(default = "default_sk_rate")]
    pub secret_per_second: f64,
    #[serde(default = "default_sk_burst")]
    pub secret_burst: f64,
    /// Requests without a valid key (per address), so key guessing is slow.
    #[serde(default = "default_anon_rate")]
    pub unauthenticated_per_second: f64,
    #[serde(default = "default_anon_burst")]
    pub unauthenticated_burst: f64,
    /// Buckets kept at most (memory bound).
    #[serde(default = "default_max_buckets")]
    pub max_buckets: usize,
}

fn default_pk_rate() -> f64 {
    20.0
}
fn default_pk_burst() -> f64 {
    60.0
}
fn default_sk_rate() -> f64 {
    200.0
}
fn default_sk_burst() -> f64 {
    400.0
}
fn default_anon_rate() -> f64 {
    5.0
}
fn default_anon_burst() -> f64 {
    20.0
}
fn default_max_buckets() -> usize {
    10_000
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            publishable_per_second: default_pk_rate(),
            publishable_burst: default_pk_burst(),
            secret_per_second: default_sk_rate(),
            secret_burst: default_sk_burst(),
            unauthenticated_per_second: default_anon_rate(),
            unauthenticated_burst: default_anon_burst(),
            max_buckets: default_max_buckets(),
        }
    }
}

/// Secrets from the environment. `Debug` never prints them.
#[derive(Clone)]
pub struct Secrets {
    pub publishable_key: String,
    pub secret_key: String,
    pub signing_key: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { <redacted> }")
    }
}

impl Secrets {
    pub fn from_env() -> Result<Secrets, String> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{name} is not set"))
        };
        let secrets = Secrets {
            publishable_key: var("BILLCALC_PUBLISHABLE_KEY")?,
            secret_key: var("BILLCALC_SECRET_KEY")?,
            signing_key: var("BILLCALC_SIGNING_KEY")?.into_bytes(),
        };
        secrets.check()?;
        Ok(secrets)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.signing_key.len() < 32 {
            return Err("BILLCALC_SIGNING_KEY must be at least 32 bytes".into());
        }
        if self.publishable_key == self.secret_key {
            return Err("the publishable and secret keys must differ".into());
        }
        if self.secret_key.len() < 16 {
            return Err("BILLCALC_SECRET_KEY must be at least 16 characters".into());
        }
        Ok(())
    }
}

/// A loaded configuration: the file's settings and the validated catalog.
pub struct Loaded {
    pub file: ConfigFile,
    pub catalog: Catalog,
    pub calculator: Calculator,
}

/// Parses and validates a configuration file's text. Errors name the offending field.
pub fn load(text: &str) -> Result<Loaded, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("config: {e}"))?;
    let file: ConfigFile = serde_json::from_value(value).map_err(|e| format!("config: {e}"))?;
    let catalog: Catalog = billcalc::from_value(&file.catalog)
        .map_err(|e| format!("config: {}", e.within("catalog")))?;
    let calculator =
        Calculator::new(&catalog).map_err(|e| format!("config: {}", e.within("catalog")))?;
    file.dunning.validate()?;
    if file.quotes.token_ttl_seconds < 1 || file.quotes.as_of_tolerance_seconds < 0 {
        return Err(
            "config: quotes.token_ttl_seconds must be ≥ 1 and as_of_tolerance_seconds ≥ 0".into(),
        );
    }
    if file.invoice.series_prefix.is_empty()
        || !file
            .invoice
            .series_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err("config: invoice.series_prefix must be ASCII letters, digits or '-'".into());
    }
    Ok(Loaded {
        file,
        catalog,
        calculator,
    })
}

// The sections of getting paid automatically (issue 15): read here with the rest of the file;
// what they drive is in `dunning`, `reminders`, `email` and `portal` (which re-export them).

/// What happens to the subscription after the last retry fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalAction {
    Unpaid,
    Canceled,
    PastDue,
}

impl FinalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FinalAction::Unpaid => "unpaid",
            FinalAction::Canceled => "canceled",
            FinalAction::PastDue => "past_due",
        }
    }
}

/// A retry schedule: `tries` within `within_days`, or `days` (gaps after each attempt), and
/// what follows the last failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySchedule {
    #[serde(default)]
    pub tries: Option<i64>,
    #[serde(default)]
    pub within_days: Option<i64>,
    #[serde(default)]
    pub days: Option<Vec<i64>>,
    #[serde(default = "default_then")]
    pub then: FinalAction,
}

fn default_then() -> FinalAction {
    FinalAction::Unpaid
}

fn default_schedule() -> RetrySchedule {
    RetrySchedule {
        tries: Some(8),
        within_days: Some(14),
        days: None,
        then: FinalAction::Unpaid,
    }
}

/// The config file's `dunning` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DunningSettings {
    #[serde(default = "default_schedule")]
    pub default: RetrySchedule,
    /// Per catalog price id.
    #[serde(default)]
    pub plans: BTreeMap<String, RetrySchedule>,
}

impl Default for DunningSettings {
    fn default() -> Self {
        DunningSettings {
            default: default_schedule(),
            plans: BTreeMap::new(),
        }
    }
}

/// The config file's `reminders` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    #[serde(default = "seven")]
    pub upcoming_renewal_days: i64,
    #[serde(default = "yearly")]
    pub upcoming_renewal_intervals: Vec<String>,
    #[serde(default = "three")]
    pub trial_will_end_days: i64,
    #[serde(default = "thirty")]
    pub card_expiring_days: i64,
}

fn seven() -> i64 {
    7
}
fn three() -> i64 {
    3
}
fn thirty() -> i64 {
    30
}
fn yearly() -> Vec<String> {
    vec!["year".into()]
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            upcoming_renewal_days: 7,
            upcoming_renewal_intervals: yearly(),
            trial_will_end_days: 3,
            card_expiring_days: 30,
        }
    }
}

/// The config file's `email` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `"Name <address>"`; default: the seller's name and email.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// Emails on or off.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from: None,
            smtp_url: None,
            enabled: true,
        }
    }
}

/// The config file's `portal` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// Where the portal page is served (absolute for links in emails).
    #[serde(default = "default_page")]
    pub page_url: String,
    #[serde(default = "hour")]
    pub session_ttl_seconds: i64,
    #[serde(default = "week")]
    pub email_link_ttl_seconds: i64,
}

fn default_page() -> String {
    "http://127.0.0.1:8080/portal.html".into()
}
fn hour() -> i64 {
    3_600
}
fn week() -> i64 {
    7 * 86_400
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            page_url: default_page(),
            session_ttl_seconds: hour(),
            email_link_ttl_seconds: week(),
        }
    }
}
