//! Schema migrations, applied in order; `PRAGMA user_version` is the number applied. Never
//! edit a released migration: add a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: ledger identity and cached API data.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE public_keys (
        fingerprint TEXT PRIMARY KEY,
        pem         TEXT NOT NULL,
        fetched_at  TEXT NOT NULL
    ) STRICT;
    "#,
    // 2: the invoice campaign: campaigns, their batches (one per slot), the invoices.
    r#"
    CREATE TABLE campaigns (
        id            INTEGER PRIMARY KEY,
        started_at    TEXT NOT NULL,
        interval_secs INTEGER NOT NULL CHECK (interval_secs > 0),
        slots         INTEGER NOT NULL CHECK (slots > 0),
        min_invoices  INTEGER NOT NULL CHECK (min_invoices >= 1),
        max_invoices  INTEGER NOT NULL CHECK (max_invoices >= min_invoices AND max_invoices <= 100),
        min_amount    INTEGER NOT NULL CHECK (min_amount >= 0),
        max_amount    INTEGER NOT NULL CHECK (max_amount >= min_amount),
        created_at    TEXT NOT NULL
    ) STRICT;
    CREATE TABLE batches (
        id            INTEGER PRIMARY KEY,
        campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
        slot          INTEGER NOT NULL,
        tag           TEXT NOT NULL UNIQUE,
        status        TEXT NOT NULL CHECK (status IN ('planned', 'sending', 'issued', 'rejected', 'missed')),
        body          TEXT,
        invoice_count INTEGER NOT NULL,
        total_amount  INTEGER NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        errors        TEXT,
        lease_until   INTEGER,
        due_at        TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        issued_at     TEXT,
        UNIQUE (campaign_id, slot)
    ) STRICT;
    CREATE INDEX batches_by_status ON batches(status);
    CREATE TABLE invoices (
        rowid_        INTEGER PRIMARY KEY,
        batch_id      INTEGER NOT NULL REFERENCES batches(id),
        campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
        position      INTEGER NOT NULL,
        name          TEXT NOT NULL,
        tax_id        TEXT NOT NULL,
        amount        INTEGER NOT NULL,
        invoice_id    TEXT UNIQUE,
        status        TEXT,
        created_at    TEXT,
        updated_at    TEXT NOT NULL,
        UNIQUE (batch_id, position),
        UNIQUE (campaign_id, tax_id)
    ) STRICT;
    CREATE INDEX invoices_by_status ON invoices(status);
    "#,
    // 3: the money path: events received, credits, transfers, registered webhooks.
    r#"
    CREATE TABLE events (
        id            TEXT PRIMARY KEY,
        subscription  TEXT NOT NULL,
        log_type      TEXT,
        log_id        TEXT,
        subject_id    TEXT,
        created       TEXT NOT NULL,
        received_at   TEXT NOT NULL,
        source        TEXT NOT NULL CHECK (source IN ('webhook', 'sweep')),
        verdict       TEXT NOT NULL,
        body          TEXT NOT NULL,
        marked_delivered_at TEXT
    ) STRICT;
    CREATE INDEX events_unmarked ON events(marked_delivered_at) WHERE marked_delivered_at IS NULL;
    CREATE TABLE credits (
        invoice_id    TEXT PRIMARY KEY,
        log_id        TEXT NOT NULL,
        amount        INTEGER NOT NULL,
        fee           INTEGER NOT NULL,
        net           INTEGER NOT NULL,
        credited_at   TEXT NOT NULL,
        recorded_at   TEXT NOT NULL,
        source        TEXT NOT NULL,
        skip_reason   TEXT
    ) STRICT;
    CREATE INDEX credits_by_recorded ON credits(recorded_at);
    CREATE TABLE transfers (
        id            INTEGER PRIMARY KEY,
        invoice_id    TEXT NOT NULL REFERENCES credits(invoice_id),
        attempt       INTEGER NOT NULL CHECK (attempt >= 1),
        external_id   TEXT NOT NULL UNIQUE,
        tag           TEXT NOT NULL,
        amount        INTEGER NOT NULL CHECK (amount > 0),
        body          TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('claimed', 'sending', 'created', 'processing', 'success', 'failed', 'rejected')),
        transfer_id   TEXT UNIQUE,
        fee           INTEGER,
        errors        TEXT,
        lease_until   INTEGER,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        sent_at       TEXT,
        settled_at    TEXT,
        UNIQUE (invoice_id, attempt)
    ) STRICT;
    CREATE INDEX transfers_by_status ON transfers(status);
    CREATE TABLE webhooks (
        id            TEXT PRIMARY KEY,
        url           TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        deleted_at    TEXT
    ) STRICT;
    "#,
    // 4: indexes for `stark status` (aggregates read covering indexes; attention lists search).
    r#"
    CREATE INDEX invoices_status_amount ON invoices(status, amount);
    CREATE INDEX credits_skipped ON credits(recorded_at, invoice_id) WHERE skip_reason IS NOT NULL;
    CREATE INDEX transfers_by_invoice_status ON transfers(invoice_id, status);
    CREATE INDEX transfers_status_amounts ON transfers(status, amount, fee);
    "#,
    // 5: who holds a lease, so that the lease of a process that died is void at once.
    r#"
    ALTER TABLE batches ADD COLUMN lease_owner TEXT;
    ALTER TABLE transfers ADD COLUMN lease_owner TEXT;
    "#,
];
