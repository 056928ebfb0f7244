//! `stark status`: the report built from a ledger filled with SQL, its text and JSON
//! renderings (insta snapshots), the query plans, and the binary's behaviour.

use std::path::Path;

use chrono::{DateTime, Utc};
use stark::cli::status::{Layout, render, render_invoices, render_transfers};
use stark::ledger::Ledger;
use stark::status::{self, StatusOptions};

use crate::harness::{new_ledger_address, on_postgres, sql_batch_at};

const NOW: &str = "2025-03-01T12:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

/// A ledger with one campaign and one of every attention kind.
fn fixture(path: &Path) -> Ledger {
    let ledger = Ledger::open_or_create(path).unwrap();
    // Seeded from outside, as another process would write the ledger.
    sql_batch_at(path, include_str!("status_fixture.sql"));
    ledger
}

fn report(ledger: &Ledger) -> status::StatusReport {
    status::report(&ledger.db(), now(), &StatusOptions::default()).unwrap()
}

#[test]
fn report_counts_every_kind_of_row() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    let r = report(&ledger);
    let c = r.campaign.as_ref().unwrap();
    assert_eq!(
        (c.issued, c.missed, c.rejected, c.open, c.slots),
        (2, 1, 1, 1, 8)
    );
    assert_eq!(c.next_batch, Some(6));
    assert_eq!(c.next_due.as_deref(), Some("2025-03-01T15:00:00.000000Z"));

    let planned = r.invoices.iter().find(|s| s.status == "planned").unwrap();
    assert_eq!((planned.count, planned.amount), (3, 5000));
    let paid = r.invoices.iter().find(|s| s.status == "paid").unwrap();
    assert_eq!((paid.count, paid.amount), (5, 48500));

    assert_eq!(r.credits.ours.count, 6);
    assert_eq!(
        r.credits.ours.gross,
        10000 + 20000 + 3000 + 15000 + 500 + 5500
    );
    assert_eq!(r.credits.ours.fees, 5 * 50 + 500);
    assert_eq!(r.credits.ours.net, 9950 + 19950 + 2950 + 14950 + 5450);
    assert_eq!((r.credits.foreign.count, r.credits.foreign.gross), (1, 777));

    let a = &r.attention;
    let ids = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        a.stale_credits
            .items
            .iter()
            .map(|s| s.invoice_id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["inv-2", "inv-6", "inv-3"]),
        "oldest first; inv-1 settled, inv-4 too recent, inv-5 skipped"
    );
    assert_eq!(a.stale_credits.items[0].age_minutes, 180);
    assert_eq!(
        a.stale_credits.items[0].transfer_status.as_deref(),
        Some("processing")
    );
    assert_eq!(a.stale_credits.items[1].transfer_status, None);
    // inv-1's failed attempt 1 was followed by a success: not listed.
    assert_eq!(a.failed_transfers.total, 1);
    assert_eq!(
        a.failed_transfers.items[0].external_id,
        "stark-test01-inv-2-1"
    );
    assert_eq!(a.rejected_transfers.total, 1);
    assert!(
        a.rejected_transfers.items[0]
            .errors
            .as_ref()
            .unwrap()
            .raw()
            .contains("invalidAmount")
    );
    assert_eq!(a.foreign_credits.items[0].invoice_id, "foreign-9");
    assert_eq!(a.rejected_batches.items[0].batch, 3);
    assert_eq!(a.missed_slots.items[0].batch, 2);
    assert_eq!(a.skipped_credits.items[0].invoice_id, "inv-5");
    assert!(
        a.paid_more_than_once.is_empty(),
        "inv-1's first attempt failed"
    );
    let n = &r.notes;
    assert_eq!(n.open_batches.total, 1);
    assert_eq!(
        (
            n.open_batches.items[0].batch,
            n.open_batches.items[0].status.as_str()
        ),
        (5, "planned")
    );
    assert_eq!(n.cancelled_extras.total, 1);
    assert_eq!(
        (
            n.cancelled_extras.items[0].invoice_id.as_str(),
            n.cancelled_extras.items[0].batch
        ),
        ("inv-x1", 4)
    );
}

/// An invoice of ours with two transfers the bank holds and has not failed is paid more than
/// once (the audit's rule, as far as the ledger knows): it needs the operator. Failed and
/// refused attempts do not count, and neither do foreign credits.
#[test]
fn an_invoice_with_two_live_transfers_is_paid_more_than_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    sql_batch_at(
        ledger.path(),
        "INSERT INTO transfers(id, invoice_id, attempt, external_id, tag, amount, body, status, transfer_id, created_at, updated_at) VALUES
          (6, 'inv-2', 3, 'stark-test01-inv-2-3', 't', 19950, '{}', 'success', 'tr-6', 'x', 'x'),
          (7, 'foreign-9', 1, 'f-1', 't', 777, '{}', 'success', 'tr-7', 'x', 'x'),
          (8, 'foreign-9', 2, 'f-2', 't', 777, '{}', 'success', 'tr-8', 'x', 'x'),
          (9, 'inv-3', 2, 'stark-test01-inv-3-2', 't', 2950, '{}', 'success', 'tr-9', 'x', 'x');",
    );
    let r = report(&ledger);
    let g = &r.attention.paid_more_than_once;
    assert_eq!(g.total, 1, "{g:?}");
    let x = &g.items[0];
    assert_eq!(
        (x.invoice_id.as_str(), x.transfers, x.amount),
        ("inv-2", 2, 2 * 19950)
    );
    assert!(x.external_ids.contains("stark-test01-inv-2-2"));
    assert!(x.external_ids.contains("stark-test01-inv-2-3"));
    let text = render(&r, Layout::boxed(120));
    assert!(text.contains("paid more than once"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["attention"]["paid_more_than_once"]["total"], 1);
}

/// Open batches of every campaign are shown, not only the latest campaign's.
#[test]
fn open_batches_of_an_earlier_campaign_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    sql_batch_at(
        ledger.path(),
        "INSERT INTO campaigns(id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount, created_at)
           VALUES (2, '2025-03-01T11:00:00.000000Z', 3600, 2, 1, 2, 1000, 2000, 'x');
         UPDATE batches SET status = 'sending', unclear_since = '2025-03-01T11:58:00.000000Z',
             errors = 'timed out' WHERE id = 5;",
    );
    let r = report(&ledger);
    assert_eq!(r.campaign.as_ref().unwrap().id, 2, "the latest campaign");
    let g = &r.notes.open_batches;
    assert_eq!(g.total, 1);
    assert_eq!((g.items[0].campaign_id, g.items[0].batch), (1, 5));
    assert_eq!(
        g.items[0].unclear_since.as_deref(),
        Some("2025-03-01T11:58:00.000000Z")
    );
    let text = render(&r, Layout::boxed(120));
    assert!(text.contains("c1 batch 5 (stark-test01-c1-b5)"), "{text}");
    assert!(text.contains("timed out"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["notes"]["open_batches"]["items"][0]["campaign_id"], 1);
}

#[test]
fn stale_limit_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    let opts = StatusOptions {
        stale_after: chrono::Duration::minutes(5),
    };
    let r = status::report(&ledger.db(), now(), &opts).unwrap();
    assert_eq!(r.attention.stale_credits.total, 4, "inv-4 (10 min) joins");
    let opts = StatusOptions {
        stale_after: chrono::Duration::hours(4),
    };
    let r = status::report(&ledger.db(), now(), &opts).unwrap();
    assert_eq!(r.attention.stale_credits.total, 0);
}

#[test]
fn attention_lists_are_capped_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    for i in 0..(status::ATTENTION_CAP + 7) {
        ledger.db().raw_exec(
            "INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
             VALUES (?1, 'l', 100, 0, 100, '2025-03-01T00:00:00+00:00', '2025-03-01T00:00:00.000000Z', 'webhook')",
            &[&format!("alien-{i:03}")],
        )
        .unwrap();
    }
    let r = report(&ledger);
    let g = &r.attention.foreign_credits;
    assert_eq!(g.total, status::ATTENTION_CAP as i64 + 8);
    assert_eq!(g.items.len(), status::ATTENTION_CAP);
    // Folded into one line with the count and the total, however many there are.
    let text = render(&r, Layout::boxed(120));
    assert!(
        text.contains("58 credits") && text.contains("R$ 64,77"),
        "{text}"
    );
    assert!(!text.contains("alien-"), "{text}");
}

#[test]
fn empty_ledger_reports_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_or_create(&new_ledger_address(dir.path(), "ledger.sqlite3")).unwrap();
    let r = report(&ledger);
    assert!(r.campaign.is_none());
    assert!(r.attention.is_empty());
    insta::assert_snapshot!("empty_text", render(&r, Layout::boxed(80)));
}

/// The summary fits the width it is given: 80 and 120 columns, boxed (a terminal) and plain
/// (piped).
#[test]
fn text_snapshots_fit_80_and_120_columns() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    let r = report(&ledger);
    for (name, layout) in [
        ("summary_text_80", Layout::boxed(80)),
        ("summary_text_120", Layout::boxed(120)),
        ("summary_plain_80", Layout::plain(80)),
    ] {
        let text = render(&r, layout);
        for line in text.lines() {
            assert!(
                line.chars().count() <= usize::from(layout.width.unwrap()),
                "{name}: {} columns: {line}",
                line.chars().count()
            );
        }
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn json_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    insta::assert_snapshot!(
        "summary_json",
        serde_json::to_string_pretty(&report(&ledger)).unwrap()
    );
}

#[test]
fn list_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    let invoices = ledger.db().recent_invoices(4).unwrap();
    assert_eq!(invoices.len(), 4);
    assert_eq!(invoices[0].name, "Iara Campos", "most recent first");
    insta::assert_snapshot!(
        "invoices_text",
        render_invoices(&invoices, Layout::boxed(120))
    );
    let transfers = ledger.db().recent_transfers(20).unwrap();
    assert_eq!(transfers.len(), 5);
    assert_eq!(transfers[0].id, 5, "most recent first");
    insta::assert_snapshot!(
        "transfers_text",
        render_transfers(&transfers, Layout::boxed(120))
    );
    insta::assert_snapshot!(
        "transfers_json",
        serde_json::to_string_pretty(&transfers).unwrap()
    );
}

/// Full SCANs of the big tables are allowed only where they are the point (an aggregate over
/// every row, preferably through a covering index), bounded by LIMIT in rowid order, or over a
/// partial index. Correlated subqueries must look rows up by invoice id.
#[test]
fn query_plans_do_not_scan_the_big_tables() {
    if on_postgres() {
        eprintln!("SKIP: query plans are SQLite's EXPLAIN QUERY PLAN (SQLite file only)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ledger = fixture(&new_ledger_address(dir.path(), "ledger.sqlite3"));
    let allowed: &[(&str, &str)] = &[
        (
            "INVOICES_BY_STATUS",
            "SCAN invoices USING COVERING INDEX invoices_status_amount",
        ),
        (
            "TRANSFERS_BY_STATUS",
            "SCAN transfers USING COVERING INDEX transfers_status_amounts",
        ),
        // Totals over every credit: one pass over the table, no per-row lookup (`ours` is
        // stored). A covering index would make it faster but cost every webhook a random
        // index insert.
        ("CREDIT_TOTALS", "SCAN c"),
        // A partial index holding only foreign credits.
        ("FOREIGN_CREDITS", "SCAN c USING INDEX credits_foreign"),
        // A partial index holding only our unsettled credits.
        ("STALE_CREDITS", "SCAN c USING INDEX credits_unsettled"),
        // A partial index holding only skipped credits.
        ("SKIPPED_CREDITS", "SCAN c USING INDEX credits_skipped"),
        // Our unsettled credits (a partial index), each looked up by invoice id.
        ("WAITING_CREDITS", "SCAN c USING INDEX credits_unsettled"),
        ("STUCK_CREDITS", "SCAN c USING INDEX credits_unsettled"),
        // Newest first by rowid with LIMIT: stops after N rows.
        ("LIST_INVOICES", "SCAN i"),
        ("LIST_TRANSFERS", "SCAN transfers"),
    ];
    let guarded = ["invoices", "credits", "transfers", "i", "c", "t", "l"];
    for (name, sql) in stark::ledger::report::sql::ALL {
        let plan = ledger.db().query_plan(sql).unwrap();
        let mut correlated = false;
        for line in &plan {
            let table = line.split_whitespace().nth(1).unwrap_or_default();
            if line.starts_with("SCAN ") && guarded.contains(&table) {
                assert!(
                    allowed.contains(&(name, line.as_str())),
                    "{name} does a full scan: {line:?} in {plan:?}"
                );
            }
            if line.starts_with("CORRELATED") {
                correlated = true;
            } else if correlated && line.starts_with("SEARCH ") && guarded.contains(&table) {
                assert!(
                    line.contains("invoice_id=?"),
                    "{name}: a correlated subquery does not look up by invoice id: {line:?}"
                );
            }
        }
        if name.starts_with("LIST_") {
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{name} sorts instead of walking the rowid: {plan:?}"
            );
        }
    }
}

mod binary {
    use super::*;
    use crate::harness::{Run, bare};

    fn stark(home: &Path) -> Run {
        bare(home).env("STARK_NOW", NOW)
    }

    fn stdout(run: Run) -> String {
        let out = run.output().success();
        String::from_utf8(out.stdout.clone()).unwrap()
    }

    /// A missing ledger exits 2 like every other command (see `tests/it/init.rs`), and is
    /// never created.
    #[test]
    fn missing_ledger_is_reported_not_created() {
        if on_postgres() {
            eprintln!("SKIP: a ledger file that does not exist (SQLite file only)");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("nowhere/ledger.sqlite3");
        let out = stark(home.path())
            .arg("status")
            .arg("--ledger")
            .arg(&path)
            .output()
            .exits(2);
        let err = String::from_utf8(out.stderr.clone()).unwrap();
        assert!(err.contains("no ledger at"), "{err}");
        assert!(err.contains("stark init"), "{err}");
        let out = stark(home.path())
            .args(["status", "--json"])
            .env("STARK_LEDGER", &path)
            .output()
            .exits(2);
        assert!(out.stdout.is_empty());
        assert!(!path.exists() && !path.parent().unwrap().exists());
    }

    #[test]
    fn summary_lists_and_json_through_the_binary() {
        let home = tempfile::tempdir().unwrap();
        let path = new_ledger_address(home.path(), "ledger.sqlite3");
        drop(fixture(&path));
        let text = stdout(stark(home.path()).arg("status").arg("--ledger").arg(&path));
        assert_eq!(
            text.trim_end(),
            render(&report(&Ledger::open(&path).unwrap()), Layout::piped()).trim_end()
        );
        let json = stdout(
            stark(home.path())
                .args(["status", "--json", "--stale-minutes", "5", "--ledger"])
                .arg(&path),
        );
        assert_eq!(json.lines().count(), 1, "one compact line: {json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["version"], 1);
        assert!(v["verdict"].as_str().unwrap().ends_with("things need you"));
        assert_eq!(v["now"], "2025-03-01T12:00:00.000000Z");
        assert_eq!(v["attention"]["stale_credits"]["total"], 4);
        let json = stdout(
            stark(home.path())
                .args(["status", "--json", "--invoices", "--limit", "2", "--ledger"])
                .arg(&path),
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["invoices"].as_array().unwrap().len(), 2);
        // `COLUMNS` pins the width, as a terminal's would.
        for width in [80, 120] {
            let text = stdout(
                stark(home.path())
                    .env("COLUMNS", width.to_string())
                    .args(["status", "--ledger"])
                    .arg(&path),
            );
            assert!(text.starts_with("ledger status at 2025-03-01 12:00 UTC\nACTION NEEDED"));
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
        }
        let text = stdout(
            stark(home.path())
                .args(["status", "--transfers", "--ledger"])
                .arg(&path),
        );
        assert!(text.contains("stark-test01-inv-3-1"));
        assert!(text.contains("invalidAmount: Amount exceeds the available balance"));
    }

    /// On a real terminal (a pseudo-terminal of 80 and of 120 columns, no `COLUMNS`), the
    /// boxed tables fit its width.
    #[test]
    fn status_fits_the_terminal_it_runs_on() {
        let home = tempfile::tempdir().unwrap();
        let path = new_ledger_address(home.path(), "ledger.sqlite3");
        drop(fixture(&path));
        for width in [80u16, 120] {
            let mut t = stark(home.path()).env_remove("COLUMNS").pty(
                ["status", "--ledger", path.to_str().unwrap()],
                width,
                200,
            );
            assert_eq!(
                t.wait(std::time::Duration::from_secs(30)),
                0,
                "{}",
                t.output()
            );
            let screen = t.output();
            assert!(screen.contains("ACTION NEEDED"), "{screen}");
            assert!(
                screen.contains('│') || screen.contains('|'),
                "boxed on a terminal: {screen}"
            );
            for line in screen.lines() {
                let line = line.trim_end_matches('\r');
                assert!(line.chars().count() <= width as usize, "{width}: {line}");
            }
            // Wider terminals get wider tables: the 120-column layout is not the 80 one.
            if width == 120 {
                assert!(
                    screen
                        .lines()
                        .any(|l| l.trim_end_matches('\r').chars().count() > 80),
                    "{screen}"
                );
            }
        }
    }
}

/// Invoice statuses only move forward. A reconcile-only day sweeps each invoice's events newest
/// first (credited, paid, then created), so an older snapshot used to win and `status` showed
/// paid and credited invoices as `created`.
#[test]
fn a_reconcile_only_day_leaves_paid_invoices_paid() {
    use crate::harness::{Env, tick};
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(chrono::Duration::hours(1));
    env.at_now().run(["reconcile", "--no-transfer"]).success();
    let rows = env
        .at_now()
        .run(["status", "--invoices", "--json", "--limit", "100"])
        .success()
        .json();
    let statuses: Vec<&str> = rows["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.len() >= 8, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == "paid"), "{statuses:?}");
}
