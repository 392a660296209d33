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
    (
        15,
        "issue 15: dunning, events and their outbox (webhooks, email), portal sessions",
        "CREATE TABLE invoice_collection (
            invoice_id TEXT PRIMARY KEY REFERENCES invoices (id),
            subscription_id TEXT,
            customer_id TEXT NOT NULL,
            status TEXT NOT NULL,
            amount_due BIGINT NOT NULL,
            amount_paid BIGINT NOT NULL DEFAULT 0,
            currency TEXT NOT NULL,
            attempt_count BIGINT NOT NULL DEFAULT 0,
            next_payment_attempt BIGINT,
            final_at BIGINT,
            hard_declined_payment_method TEXT,
            outcome TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX invoice_collection_due ON invoice_collection (status, next_payment_attempt);
        CREATE INDEX invoice_collection_customer ON invoice_collection (customer_id);
        CREATE TABLE payment_attempts (
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            attempt BIGINT NOT NULL,
            attempted_at BIGINT NOT NULL,
            payment_method TEXT,
            outcome TEXT NOT NULL,
            code TEXT,
            decline_code TEXT,
            message TEXT,
            charge_id TEXT,
            trigger TEXT NOT NULL,
            PRIMARY KEY (invoice_id, attempt)
        );
        CREATE TABLE sequences (
            name TEXT PRIMARY KEY,
            value BIGINT NOT NULL
        );
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            seq BIGINT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            object_id TEXT NOT NULL,
            customer_id TEXT,
            dedup_key TEXT UNIQUE,
            created_at BIGINT NOT NULL,
            payload TEXT NOT NULL
        );
        CREATE INDEX events_object ON events (object_id, seq);
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            enabled_events TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE webhook_deliveries (
            event_id TEXT NOT NULL REFERENCES events (id),
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
            seq BIGINT NOT NULL,
            object_id TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_status_code BIGINT,
            last_error TEXT,
            delivered_at BIGINT,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (event_id, endpoint_id)
        );
        CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, next_attempt_at);
        CREATE INDEX webhook_deliveries_object ON webhook_deliveries (endpoint_id, object_id, seq);
        CREATE TABLE webhook_attempts (
            event_id TEXT NOT NULL,
            endpoint_id TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            attempted_at BIGINT NOT NULL,
            status_code BIGINT,
            error TEXT,
            PRIMARY KEY (event_id, endpoint_id, attempt)
        );
        CREATE TABLE emails (
            id TEXT PRIMARY KEY,
            seq BIGINT NOT NULL UNIQUE,
            event_id TEXT,
            kind TEXT NOT NULL,
            customer_id TEXT,
            to_address TEXT NOT NULL,
            locale TEXT NOT NULL,
            subject TEXT NOT NULL,
            text_body TEXT NOT NULL,
            html_body TEXT NOT NULL,
            attachment_invoice_id TEXT,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_error TEXT,
            sent_at BIGINT,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX emails_pending ON emails (status, next_attempt_at);
        CREATE TABLE customer_payment_methods (
            customer_id TEXT PRIMARY KEY,
            payment_method TEXT NOT NULL,
            brand TEXT,
            last4 TEXT,
            exp_month BIGINT,
            exp_year BIGINT,
            updated_at BIGINT NOT NULL
        );
        CREATE TABLE cancellation_details (
            subscription_id TEXT PRIMARY KEY,
            feedback TEXT,
            comment TEXT,
            requested_at BIGINT NOT NULL
        );",
    ),
    (
        16,
        "issue 14: credit notes (avoirs) in their own gapless series, one credit row per invoice",
        "CREATE TABLE credit_notes (
            id TEXT PRIMARY KEY,
            invoice_id TEXT NOT NULL REFERENCES invoices (id),
            series TEXT NOT NULL,
            number BIGINT NOT NULL,
            number_display TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            currency TEXT NOT NULL,
            total BIGINT NOT NULL,
            amount_refunded BIGINT NOT NULL,
            refund_id TEXT,
            idempotency_key TEXT NOT NULL,
            document TEXT NOT NULL,
            UNIQUE (series, number)
        );
        CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
        CREATE TABLE invoice_credits (
            invoice_id TEXT PRIMARY KEY REFERENCES invoices (id),
            credit_notes BIGINT NOT NULL DEFAULT 0
        );",
    ),
    (
        17,
        "issue 13: payment intents (a charge in recorded steps, the gateway outside transactions)",
        "CREATE TABLE payment_intents (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL,
            amount BIGINT NOT NULL,
            currency TEXT NOT NULL,
            payment_method TEXT NOT NULL,
            plan TEXT NOT NULL,
            invoice_id TEXT,
            gateway_charge_id TEXT,
            einvoice_pending BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (scope, key)
        );
        CREATE INDEX payment_intents_unfinished ON payment_intents (status, einvoice_pending);",
    ),
];

pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";
