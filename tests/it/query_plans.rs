//! `EXPLAIN QUERY PLAN` of every statement the store runs outside `status`'s report (whose
//! statements, `ledger::report::sql::ALL`, have their own test in `status.rs`): none may read
//! a whole large table unless it says why.

use stark::ledger::Ledger;

/// Tables that grow with use (and the aliases the statements give them).
const LARGE: &[&str] = &[
    "invoices",
    "credits",
    "transfers",
    "events",
    "batches",
    "i",
    "c",
    "t",
    "l",
];

/// Full scans that are the point of the statement, with the reason.
const JUSTIFIED: &[(&str, &str, &str)] = &[
    (
        "UNCREDITED_INVOICES",
        "SCAN i",
        "reconcile asks the bank about every issued invoice still without a credit: it must look at each invoice once (the credit check is a primary-key lookup)",
    ),
    (
        "CREDITS_NEEDING_TRANSFER",
        "SCAN c USING INDEX credits_by_recorded",
        "the transfer step looks at every credit in recording order once per run; whether one needs a transfer is derived (per-credit primary-key and index lookups), not stored",
    ),
    (
        "AUDIT_TRANSFERS",
        "SCAN transfers",
        "the audit (`stark demo`, the tests) compares every transfer attempt the ledger recorded with the bank's ground truth: it must read each once",
    ),
    (
        "LOG_EVENTS",
        "SCAN events",
        "`stark log` reads the history since a time (no index on received_at: no migration for it); it runs on demand, and `--follow` reads only the last second's boundary again",
    ),
    (
        "LOG_TRANSFERS",
        "SCAN transfers",
        "`stark log` reads the history since a time (no index on updated_at: no migration for it); it runs on demand, not on the money path",
    ),
    (
        "EVENT_COUNTS_BY_SOURCE",
        "SCAN events",
        "the demo's closing summary counts every recorded event by how it arrived, once per demo",
    ),
];

fn plans(ledger: &Ledger, list: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|(name, sql)| {
            let plan = ledger
                .db()
                .query_plan(sql)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
            (name.to_string(), plan)
        })
        .collect()
}

#[test]
fn no_statement_scans_a_large_table_without_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_or_create(&dir.path().join("ledger.sqlite3")).unwrap();
    let mut all = Vec::new();
    let report = stark::ledger::report::sql::ALL;
    let statements: Vec<_> = stark::ledger::statements()
        .into_iter()
        .filter(|s| !report.contains(s))
        .collect();
    all.extend(plans(&ledger, &statements));
    assert!(all.len() >= 40, "{} statements", all.len());
    let mut failures = Vec::new();
    for (name, plan) in &all {
        for line in plan {
            let mut words = line.split_whitespace();
            let (Some("SCAN"), Some(table)) = (words.next(), words.next()) else {
                continue;
            };
            if !LARGE.contains(&table) {
                continue;
            }
            let justified = JUSTIFIED
                .iter()
                .any(|(n, l, why)| n == name && l == line && !why.is_empty());
            if !justified {
                failures.push(format!("{name}: {line:?} in {plan:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "full scans:\n{}", failures.join("\n"));
    // Every justification still matches a plan (no stale excuses).
    for (name, line, _) in JUSTIFIED {
        assert!(
            all.iter()
                .any(|(n, p)| n == name && p.iter().any(|l| l == line)),
            "{name}: {line:?} is justified but no longer in the plan"
        );
    }
}

/// The webhook path (one event: exists? insert credit, status, ours?, insert event) only
/// looks rows up by key.
#[test]
fn the_webhook_path_only_searches_by_key() {
    let all = stark::ledger::statements();
    let sql = |name: &str| {
        all.iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no statement {name}"))
            .1
    };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_or_create(&dir.path().join("ledger.sqlite3")).unwrap();
    for (name, stmt) in [
        ("EVENT_EXISTS", sql("EVENT_EXISTS")),
        ("IS_OUR_INVOICE", sql("IS_OUR_INVOICE")),
        ("IS_TAGGED_INVOICE", sql("IS_TAGGED_INVOICE")),
        ("UPDATE_INVOICE_STATUS", sql("UPDATE_INVOICE_STATUS")),
        ("MARK_EVENT_DELIVERED", sql("MARK_EVENT_DELIVERED")),
    ] {
        let plan = ledger.db().query_plan(stmt).unwrap();
        assert!(
            plan.iter().all(|l| l.starts_with("SEARCH ")),
            "{name}: {plan:?}"
        );
    }
}

/// `credits.ours` and `credits.settled` (migration 7, for `status`) follow their sources
/// whatever the order things arrive in.
#[test]
fn derived_credit_flags_follow_invoices_and_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_or_create(&dir.path().join("ledger.sqlite3")).unwrap();
    let c = rusqlite::Connection::open(ledger.path()).unwrap();
    let flags = |id: &str| -> (i64, i64) {
        c.query_row(
            "SELECT ours, settled FROM credits WHERE invoice_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    c.execute_batch(
        "INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, 'x');
         INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
           VALUES (1, 1, 0, 't', 'sending', 2, 2000, 'x', 'x', 'x');
         INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
           VALUES (1, 1, 0, 'A', '1', 1000, 'A1', 'paid', 'x');
         INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, updated_at)
           VALUES (1, 1, 1, 'B', '2', 1000, 'x');
         INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
           VALUES ('A1', 'l', 1000, 10, 990, 'x', 'x', 'webhook'), ('B1', 'l', 1000, 10, 990, 'x', 'x', 'webhook');",
    )
    .unwrap();
    assert_eq!(flags("A1"), (1, 0), "credit of an invoice already issued");
    assert_eq!(
        flags("B1"),
        (0, 0),
        "credit before its invoice id is recorded"
    );
    // The batch's answer arrives: the planned invoice gets its id.
    c.execute_batch("UPDATE invoices SET invoice_id = 'B1' WHERE position = 1")
        .unwrap();
    assert_eq!(flags("B1"), (1, 0));
    // Transfers: failed first, then a success by update; settled only on success.
    c.execute_batch(
        "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
           VALUES ('A1', 1, 'e1', 't', 990, '{}', 'failed', 'x', 'x'),
                  ('A1', 2, 'e2', 't', 990, '{}', 'processing', 'x', 'x');",
    )
    .unwrap();
    assert_eq!(flags("A1"), (1, 0));
    c.execute_batch("UPDATE transfers SET status = 'success' WHERE external_id = 'e2'")
        .unwrap();
    assert_eq!(flags("A1"), (1, 1));
    c.execute_batch(
        "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
           VALUES ('B1', 1, 'e3', 't', 990, '{}', 'success', 'x', 'x');",
    )
    .unwrap();
    assert_eq!(flags("B1"), (1, 1));
    // A credit recorded after its successful transfer row (only possible by hand) is settled.
    c.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
           VALUES ('C1', 1, 'e4', 't', 990, '{}', 'success', 'x', 'x');
         INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
           VALUES ('C1', 'l', 1000, 10, 990, 'x', 'x', 'sweep');",
    )
    .unwrap();
    assert_eq!(flags("C1"), (0, 1));
}
