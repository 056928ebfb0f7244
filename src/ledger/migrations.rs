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
    // 6: live leases are found without reading every row (`lease::reap` runs before every
    // lease); only rows holding a lease are in these indexes, so they stay tiny.
    r#"
    CREATE INDEX batches_leased ON batches(lease_until) WHERE lease_until IS NOT NULL;
    CREATE INDEX transfers_leased ON transfers(lease_until) WHERE lease_until IS NOT NULL;
    "#,
    // 7: two facts about a credit that `stark status` needs without reading every credit:
    // `ours` (its invoice is one this ledger issued) and `settled` (one of its transfers
    // succeeded). They stay derived, not decided: triggers recompute them whenever an invoice
    // id, a credit or a transfer status changes, whoever writes (a credit that arrives before
    // its batch is recorded becomes ours when the batch is).
    r#"
    ALTER TABLE credits ADD COLUMN ours INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE credits ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
    UPDATE credits SET
        ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = credits.invoice_id),
        settled = EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = credits.invoice_id AND t.status = 'success');
    CREATE TRIGGER credits_derive_on_insert AFTER INSERT ON credits BEGIN
        UPDATE credits SET
            ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = NEW.invoice_id),
            settled = EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = NEW.invoice_id AND t.status = 'success')
        WHERE invoice_id = NEW.invoice_id;
    END;
    CREATE TRIGGER credits_ours_on_invoice_insert AFTER INSERT ON invoices
    WHEN NEW.invoice_id IS NOT NULL BEGIN
        UPDATE credits SET ours = 1 WHERE invoice_id = NEW.invoice_id;
    END;
    CREATE TRIGGER credits_ours_on_invoice_update AFTER UPDATE OF invoice_id ON invoices
    WHEN OLD.invoice_id IS NOT NEW.invoice_id BEGIN
        UPDATE credits SET ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = credits.invoice_id)
        WHERE invoice_id IN (OLD.invoice_id, NEW.invoice_id);
    END;
    CREATE TRIGGER credits_ours_on_invoice_delete AFTER DELETE ON invoices
    WHEN OLD.invoice_id IS NOT NULL BEGIN
        UPDATE credits SET ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = OLD.invoice_id)
        WHERE invoice_id = OLD.invoice_id;
    END;
    CREATE TRIGGER credits_settled_on_transfer_insert AFTER INSERT ON transfers
    WHEN NEW.status = 'success' BEGIN
        UPDATE credits SET settled = 1 WHERE invoice_id = NEW.invoice_id;
    END;
    CREATE TRIGGER credits_settled_on_transfer_update AFTER UPDATE OF status, invoice_id ON transfers
    WHEN OLD.status IS NOT NEW.status OR OLD.invoice_id IS NOT NEW.invoice_id BEGIN
        UPDATE credits SET settled = EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = credits.invoice_id AND t.status = 'success')
        WHERE invoice_id IN (OLD.invoice_id, NEW.invoice_id);
    END;
    CREATE TRIGGER credits_settled_on_transfer_delete AFTER DELETE ON transfers
    WHEN OLD.status = 'success' BEGIN
        UPDATE credits SET settled = EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = OLD.invoice_id AND t.status = 'success')
        WHERE invoice_id = OLD.invoice_id;
    END;
    CREATE INDEX credits_foreign ON credits(recorded_at, invoice_id) WHERE ours = 0;
    -- No statement reads it, and every webhook event (never PATCHed by us) entered it.
    DROP INDEX events_unmarked;
    CREATE INDEX credits_unsettled ON credits(recorded_at, invoice_id)
        WHERE ours = 1 AND settled = 0 AND skip_reason IS NULL;
    "#,
    // 8: when a batch's outcome at the bank became unclear (a POST was made, or may have been,
    // without a clear answer): no resend before the settle window after it has passed. It is
    // written before every POST from now on; a batch left `sending` by an earlier version may
    // have been POSTed, so it is unclear since it was last touched.
    r#"
    ALTER TABLE batches ADD COLUMN unclear_since TEXT;
    UPDATE batches SET unclear_since = updated_at WHERE status = 'sending';
    "#,
    // 9: invoices cancelled as extras: a batch's tag found holding more than one batch's worth
    // (a POST the bank applied twice or late); the unpaid extras were cancelled at the bank and
    // are kept here so that `stark status` can show them.
    r#"
    CREATE TABLE cancelled_invoices (
        invoice_id    TEXT PRIMARY KEY,
        batch_id      INTEGER NOT NULL REFERENCES batches(id),
        name          TEXT NOT NULL,
        tax_id        TEXT NOT NULL,
        amount        INTEGER NOT NULL,
        cancelled_at  TEXT NOT NULL
    ) STRICT;
    "#,
];
