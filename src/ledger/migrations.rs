//! Schema migrations, applied in order; `PRAGMA user_version` is the number applied. Never
//! edit a released migration: add a new one.

/// The columns of `invoices` and their uniqueness within a batch, as migration 2 created
/// them and migration 11 rebuilt them (spliced into both with `concat!`, the text as
/// released).
macro_rules! invoice_columns {
    () => {
        r#"
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
        UNIQUE (batch_id, position)"#
    };
}

/// The triggers that keep `credits.ours` derived from `invoices`: created by migration 7 and
/// recreated word for word by migration 11 (which rebuilds `invoices`). Both migrations splice
/// in this same text with `concat!`, so each migration's text stays exactly as released.
macro_rules! ours_triggers {
    () => {
        r#"CREATE TRIGGER credits_ours_on_invoice_insert AFTER INSERT ON invoices
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
    "#
    };
}

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
    concat!(
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
    CREATE TABLE invoices ("#,
        invoice_columns!(),
        r#",
        UNIQUE (campaign_id, tax_id)
    ) STRICT;
    CREATE INDEX invoices_by_status ON invoices(status);
    "#
    ),
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
    concat!(
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
    "#,
        ours_triggers!(),
        r#"CREATE TRIGGER credits_settled_on_transfer_insert AFTER INSERT ON transfers
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
    "#
    ),
    // 8: when a batch's outcome at the bank became unclear (a POST was made, or may have been,
    // without a clear answer): no resend before the settle window after it has passed. It is
    // written before every POST from now on; a batch left `sending` by an earlier version may
    // have been POSTed, so it is unclear since it was last touched.
    r#"
    ALTER TABLE batches ADD COLUMN unclear_since TEXT;
    UPDATE batches SET unclear_since = updated_at WHERE status = 'sending';
    "#,
    // 9: what could not be used as it came (`ledger::decoding`): verified events that do not
    // decode, kept raw; credited invoice logs without the amount or fee a transfer needs.
    r#"
    CREATE TABLE undecoded_events (
        id            TEXT PRIMARY KEY,
        source        TEXT NOT NULL CHECK (source IN ('webhook', 'sweep')),
        reason        TEXT NOT NULL,
        body          TEXT NOT NULL,
        received_at   TEXT NOT NULL,
        last_seen_at  TEXT NOT NULL
    ) STRICT;
    CREATE TABLE incomplete_credits (
        invoice_id    TEXT PRIMARY KEY,
        log_id        TEXT NOT NULL,
        event_id      TEXT,
        missing       TEXT NOT NULL,
        source        TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        last_seen_at  TEXT NOT NULL
    ) STRICT;
    "#,
    // 10: invoices cancelled as extras: a batch's tag found holding more than one batch's worth
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
    // 11: a batch the bank may still apply twice after it was issued (it had a POST without a
    // clear answer) is looked up again by later ticks until `recheck_until` has passed, and once
    // after it. A paid copy found then is ours, and is recorded even though its payer is one
    // of the batch's: invoices are rebuilt without UNIQUE(campaign_id, tax_id) (drawing payers
    // keeps CPFs distinct within a campaign; the bank's copies may not be). The bank's id and
    // the position in the batch stay unique; the indexes and the `ours` triggers of migration 7
    // are recreated as they were.
    concat!(
        r#"
    ALTER TABLE batches ADD COLUMN recheck_until TEXT;
    CREATE TABLE invoices_v10 ("#,
        invoice_columns!(),
        r#"
    ) STRICT;
    INSERT INTO invoices_v10(rowid_, batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, created_at, updated_at)
        SELECT rowid_, batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, created_at, updated_at FROM invoices;
    DROP TABLE invoices;
    -- Other tables' triggers name `invoices` (credits_derive_on_insert): the rename must not
    -- check or rewrite them, they read the new table by its name.
    PRAGMA legacy_alter_table = ON;
    ALTER TABLE invoices_v10 RENAME TO invoices;
    PRAGMA legacy_alter_table = OFF;
    CREATE INDEX invoices_by_status ON invoices(status);
    CREATE INDEX invoices_status_amount ON invoices(status, amount);
    CREATE INDEX invoices_by_campaign_tax_id ON invoices(campaign_id, tax_id);
    "#,
        ours_triggers!()
    ),
    // 12: invoices the bank holds under this ledger's tags that no batch of the ledger knows:
    // a campaign (or batch) issued by a copy of the ledger this one no longer has (a restore
    // from an older backup), found by `reconcile` at the bank or carried by a credit's
    // snapshot. They are ours: checked for credits, forwarded, audited. A credit is ours when
    // its invoice is in `invoices` or here; the triggers of migrations 7 and 11 that derive
    // `ours` are recreated to read both.
    r#"
    CREATE TABLE tagged_invoices (
        invoice_id    TEXT PRIMARY KEY,
        campaign      INTEGER NOT NULL,
        tag           TEXT NOT NULL,
        status        TEXT,
        seen_at       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX tagged_invoices_by_campaign ON tagged_invoices(campaign);
    DROP TRIGGER credits_derive_on_insert;
    DROP TRIGGER credits_ours_on_invoice_update;
    DROP TRIGGER credits_ours_on_invoice_delete;
    CREATE TRIGGER credits_derive_on_insert AFTER INSERT ON credits BEGIN
        UPDATE credits SET
            ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = NEW.invoice_id)
                OR EXISTS (SELECT 1 FROM tagged_invoices g WHERE g.invoice_id = NEW.invoice_id),
            settled = EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = NEW.invoice_id AND t.status = 'success')
        WHERE invoice_id = NEW.invoice_id;
    END;
    CREATE TRIGGER credits_ours_on_invoice_update AFTER UPDATE OF invoice_id ON invoices
    WHEN OLD.invoice_id IS NOT NEW.invoice_id BEGIN
        UPDATE credits SET ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = credits.invoice_id)
            OR EXISTS (SELECT 1 FROM tagged_invoices g WHERE g.invoice_id = credits.invoice_id)
        WHERE invoice_id IN (OLD.invoice_id, NEW.invoice_id);
    END;
    CREATE TRIGGER credits_ours_on_invoice_delete AFTER DELETE ON invoices
    WHEN OLD.invoice_id IS NOT NULL BEGIN
        UPDATE credits SET ours = EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = OLD.invoice_id)
            OR EXISTS (SELECT 1 FROM tagged_invoices g WHERE g.invoice_id = OLD.invoice_id)
        WHERE invoice_id = OLD.invoice_id;
    END;
    CREATE TRIGGER credits_ours_on_tagged_insert AFTER INSERT ON tagged_invoices BEGIN
        UPDATE credits SET ours = 1 WHERE invoice_id = NEW.invoice_id;
    END;
    "#,
    // 13: each run of a ledger command (`issue-invoices`, `transfer-credited`, `reconcile`,
    // `serve-webhook`): when it started and ended, its exit code and a one-line summary, so
    // "is cron alive?" has an answer. A run's row is written when it ends (`ended_at` may be
    // NULL only for a row written another way).
    r#"
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        command       TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        ended_at      TEXT,
        exit_code     INTEGER,
        summary       TEXT
    ) STRICT;
    CREATE INDEX runs_by_command ON runs(command, started_at);
    "#,
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use rusqlite::Connection;

    /// A database at the schema just before `index` (0-based), as a ledger of that version.
    fn at_version(index: usize) -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA foreign_keys=ON;").unwrap();
        let tx = c.transaction().unwrap();
        for m in &MIGRATIONS[..index] {
            tx.execute_batch(m).unwrap();
        }
        tx.commit().unwrap();
        c
    }

    /// FNV-1a (64 bits) of a migration's text.
    fn fnv1a(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// A released migration's text never changes (a ledger that applied it would not see the
    /// change): each one's length and hash, as released, are in `migrations.lock`. A new
    /// migration adds its line there.
    #[test]
    fn released_migrations_are_unchanged() {
        let released: Vec<(usize, usize, u64)> = include_str!("migrations.lock")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let hash = u64::from_str_radix(f[2].trim_start_matches("0x"), 16).unwrap();
                (f[0].parse().unwrap(), f[1].parse().unwrap(), hash)
            })
            .collect();
        let now: Vec<(usize, usize, u64)> = MIGRATIONS
            .iter()
            .enumerate()
            .map(|(i, m)| (i + 1, m.len(), fnv1a(m)))
            .collect();
        assert_eq!(now, released);
    }

    /// A database just before the first migration whose text contains `marker` (and that
    /// migration's index), holding one campaign with one issued batch (id 1, tag `t0`) of
    /// `invoices` invoices of R$ 10.
    fn one_batch_before(marker: &str, invoices: i64) -> (Connection, usize) {
        let i = MIGRATIONS.iter().position(|m| m.contains(marker)).unwrap();
        let c = at_version(i);
        let campaign = "INSERT INTO campaigns VALUES (1, 'x', 10800, 8, 1, 12, 1000, 100000, 'x')";
        c.execute_batch(campaign).unwrap();
        c.execute(
            "INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
             VALUES (1, 1, 0, 't0', 'issued', ?1, ?1 * 1000, 'x', 'x', 'x')",
            [invoices],
        )
        .unwrap();
        (c, i)
    }

    fn count(c: &Connection, sql: &str) -> i64 {
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The rebuild of `invoices` keeps every row, lets a payer appear twice in a campaign (a
    /// paid copy of a batch the bank applied twice), keeps the bank's id and the position in a
    /// batch unique, and keeps the `ours` triggers working on both sides.
    #[test]
    fn invoices_lose_unique_campaign_tax_id_and_keep_everything_else() {
        let (mut c, i) = one_batch_before("invoices_v10", 2);
        c.execute_batch(
            "INSERT INTO invoices(rowid_, batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
               VALUES (1, 1, 1, 0, 'A', '111', 1000, 'A1', 'paid', 'x'), (2, 1, 1, 1, 'B', '222', 1000, NULL, NULL, 'x');
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
               VALUES ('A1', 'l', 1000, 10, 990, 'x', 'x', 'webhook'), ('A2', 'l', 1000, 10, 990, 'x', 'x', 'webhook');",
        )
        .unwrap();
        assert!(
            c.execute(
                "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at)
                 VALUES (1, 1, 2, 'A', '111', 1000, 'A2', 'x')",
                []
            )
            .is_err(),
            "before: one payer per campaign"
        );
        let tx = c.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[i]).unwrap();
        tx.commit().unwrap();
        assert_eq!(count(&c, "SELECT COUNT(*) FROM invoices"), 2, "rows kept");
        assert_eq!(
            count(&c, "SELECT rowid_ FROM invoices WHERE invoice_id = 'A1'"),
            1
        );
        // A paid copy with the same payer is recorded, and its credit becomes ours.
        assert_eq!(
            count(&c, "SELECT ours FROM credits WHERE invoice_id = 'A2'"),
            0
        );
        c.execute(
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at)
             VALUES (1, 1, 2, 'A', '111', 1000, 'A2', 'x')",
            [],
        )
        .unwrap();
        assert_eq!(
            count(&c, "SELECT ours FROM credits WHERE invoice_id = 'A2'"),
            1
        );
        // Still unique: the bank's id, and the position in a batch.
        for dup in [
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at) VALUES (1, 1, 3, 'C', '333', 1, 'A1', 'x')",
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at) VALUES (1, 1, 0, 'C', '333', 1, 'C1', 'x')",
        ] {
            assert!(c.execute(dup, []).is_err(), "{dup}");
        }
        // The other triggers still see the table: a credit for a known invoice is ours.
        c.execute(
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at) VALUES (1, 1, 4, 'D', '444', 1000, 'D1', 'x')",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source) VALUES ('D1', 'l', 1000, 10, 990, 'x', 'x', 'webhook')",
            [],
        )
        .unwrap();
        assert_eq!(
            count(&c, "SELECT ours FROM credits WHERE invoice_id = 'D1'"),
            1
        );
        c.execute(
            "UPDATE invoices SET invoice_id = NULL WHERE invoice_id = 'D1'",
            [],
        )
        .unwrap();
        assert_eq!(
            count(&c, "SELECT ours FROM credits WHERE invoice_id = 'D1'"),
            0
        );
        assert_eq!(count(&c, "PRAGMA legacy_alter_table"), 0, "left as it was");
        assert_eq!(
            count(&c, "SELECT COUNT(*) FROM pragma_foreign_key_check"),
            0
        );
    }

    /// After migration 12 a credit is ours when its invoice is one a batch issued or one the
    /// bank holds under our tags that no batch knows, whichever is recorded first.
    #[test]
    fn a_credit_is_ours_when_its_invoice_is_tagged_ours_too() {
        let (mut c, i) = one_batch_before("CREATE TABLE tagged_invoices", 1);
        c.execute_batch(
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at)
               VALUES (1, 1, 0, 'A', '111', 1000, 'A1', 'x');
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
               VALUES ('G1', 'l', 1000, 10, 990, 'x', 'x', 'webhook');",
        )
        .unwrap();
        let tx = c.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[i]).unwrap();
        tx.commit().unwrap();
        let ours = |c: &Connection, id: &str| {
            count(
                c,
                &format!("SELECT ours FROM credits WHERE invoice_id = '{id}'"),
            )
        };
        // A credit recorded before its invoice was found at the bank becomes ours then.
        assert_eq!(ours(&c, "G1"), 0);
        c.execute_batch(
            "INSERT INTO tagged_invoices VALUES ('G1', 2, 'stark-x-c2-b1', 'paid', 'x');",
        )
        .unwrap();
        assert_eq!(ours(&c, "G1"), 1);
        // One found first: its credit is ours as it arrives.
        c.execute_batch(
            "INSERT INTO tagged_invoices VALUES ('G2', 2, 'stark-x-c2-b1', 'paid', 'x');
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
               VALUES ('G2', 'l', 1000, 10, 990, 'x', 'x', 'webhook'),
                      ('A1', 'l', 1000, 10, 990, 'x', 'x', 'webhook'),
                      ('F1', 'l', 1000, 10, 990, 'x', 'x', 'webhook');",
        )
        .unwrap();
        assert_eq!((ours(&c, "G2"), ours(&c, "A1"), ours(&c, "F1")), (1, 1, 0));
        // A batch's invoice that loses its id stays ours if the bank's tags say so.
        c.execute_batch(
            "INSERT INTO tagged_invoices VALUES ('A1', 1, 't0', 'paid', 'x');
             UPDATE invoices SET invoice_id = NULL WHERE invoice_id = 'A1';",
        )
        .unwrap();
        assert_eq!(ours(&c, "A1"), 1);
        // And one deleted from `invoices`.
        c.execute_batch(
            "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at)
               VALUES (1, 1, 1, 'B', '222', 1000, 'B1', 'x');
             INSERT INTO tagged_invoices VALUES ('B1', 1, 't0', 'paid', 'x');
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
               VALUES ('B1', 'l', 1000, 10, 990, 'x', 'x', 'webhook'), ('C1', 'l', 1000, 10, 990, 'x', 'x', 'webhook');
             INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, updated_at)
               VALUES (1, 1, 2, 'C', '333', 1000, 'C1', 'x');
             DELETE FROM invoices WHERE invoice_id IN ('B1', 'C1');",
        )
        .unwrap();
        assert_eq!((ours(&c, "B1"), ours(&c, "C1")), (1, 0));
    }
}
