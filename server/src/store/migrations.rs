//! Schema migrations, run at start in one transaction (PostgreSQL: under an advisory lock, so
//! instances starting together do not race). The SQL is common to both backends.

/// `(version, name, sql)`, applied in order; each version once.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        "CREATE TABLE idempotency_keys (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status_code INTEGER NOT NULL DEFAULT 0,
            response TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            PRIMARY KEY (scope, key)
        );
        CREATE TABLE invoice_series (
            series TEXT PRIMARY KEY,
            next_number BIGINT NOT NULL
        );
        CREATE TABLE invoices (
            id TEXT PRIMARY KEY,
            series TEXT NOT NULL,
            number BIGINT NOT NULL,
            number_display TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            currency TEXT NOT NULL,
            total BIGINT NOT NULL,
            customer_id TEXT,
            idempotency_key TEXT NOT NULL,
            document TEXT NOT NULL,
            UNIQUE (series, number)
        );
        CREATE INDEX invoices_customer ON invoices (customer_id);
        CREATE TABLE payments (
            id TEXT PRIMARY KEY,
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            amount BIGINT NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL,
            gateway TEXT NOT NULL,
            card_brand TEXT,
            card_last4 TEXT,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX payments_invoice ON payments (invoice_id);
        CREATE TABLE redemption_counters (
            key TEXT PRIMARY KEY,
            times_redeemed BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE redemptions (
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            key TEXT NOT NULL,
            PRIMARY KEY (invoice_id, key)
        );",
    ),
    (
        2,
        "subscriptions (tables only; the endpoints wait for the engine's preview_invoice)",
        "CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            status TEXT NOT NULL,
            currency TEXT NOT NULL,
            default_payment_method TEXT,
            billing_cycle_anchor BIGINT NOT NULL,
            current_period_start BIGINT NOT NULL,
            current_period_end BIGINT NOT NULL,
            cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
            canceled_at BIGINT,
            document TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX subscriptions_customer ON subscriptions (customer_id);
        CREATE INDEX subscriptions_renewal ON subscriptions (status, current_period_end);
        CREATE TABLE subscription_items (
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
            price TEXT NOT NULL,
            quantity BIGINT NOT NULL,
            PRIMARY KEY (subscription_id, price)
        );
        CREATE TABLE subscription_changes (
            id TEXT PRIMARY KEY,
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
            proration_date BIGINT NOT NULL,
            preview_digest TEXT NOT NULL,
            invoice_id TEXT REFERENCES invoices (id),
            created_at BIGINT NOT NULL
        );
        CREATE TABLE customer_balances (
            customer_id TEXT NOT NULL,
            currency TEXT NOT NULL,
            balance BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (customer_id, currency)
        );
        ALTER TABLE invoices ADD COLUMN subscription_id TEXT;",
    ),
    (
        3,
        "subscription changes: request, preview, status; lookups by subscription",
        "ALTER TABLE subscription_changes ADD COLUMN request TEXT NOT NULL DEFAULT '';
        ALTER TABLE subscription_changes ADD COLUMN preview TEXT NOT NULL DEFAULT '';
        ALTER TABLE subscription_changes ADD COLUMN status TEXT NOT NULL DEFAULT 'previewed';
        ALTER TABLE subscription_changes ADD COLUMN committed_at BIGINT;
        CREATE INDEX subscription_changes_subscription ON subscription_changes (subscription_id);
        CREATE INDEX invoices_subscription ON invoices (subscription_id);",
    ),
];

pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";
