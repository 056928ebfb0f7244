//! Cron-tick latency: the wall time of one `stark` process, start to exit, as cron runs it.
//!
//! ```sh
//! cargo bench --bench tick            # TICK_RUNS=50 by default
//! ```
//!
//! - `issue-invoices`, nothing due: a ledger whose campaign's current slot is issued
//!   (`STARK_NOW` inside that slot's window). No credentials are configured: the nothing-due
//!   path must not need the key or an HTTP client (the bank is built only when a batch is
//!   sent; the tick runs on a current-thread runtime, which starts no thread).
//! - `status` on a finished campaign (8 batches, 80 invoices, their credits and transfers).
//! - `status` on a ledger with 100,000 invoices, ~80,000 credits and ~78,000 transfers
//!   (generated with SQL), and `status --json` on the same.
//!
//! Each command runs `TICK_RUNS` times after 3 warm-up runs; prints median, p90 and max.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const T0: &str = "2026-03-02T00:00:00Z";

fn exec(conn: &rusqlite::Connection, sql: &str) {
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// A ledger (migrated by the library) with one campaign of `slots` batches x `per` invoices,
/// `issued` of them issued. Invoices are credited at `credited_pct` %, and credits are
/// transferred (successfully, some failed then retried, a few rejected).
fn ledger(path: &Path, slots: i64, per: i64, issued: i64, credited_pct: i64) {
    drop(stark::ledger::Ledger::open_or_create(path).unwrap());
    let conn = rusqlite::Connection::open(path).unwrap();
    let n = issued * per;
    exec(
        &conn,
        &format!(
            "BEGIN;
             INSERT INTO campaigns VALUES (1, '{T0}', 10800, {slots}, 1, 100, 1000, 100000, '{T0}');
             WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < {issued})
             INSERT INTO batches(id, campaign_id, slot, tag, status, body, invoice_count, total_amount, attempts, due_at, created_at, updated_at, issued_at)
               SELECT x + 1, 1, x, 'stark-bench1-c1-b' || (x + 1), 'issued', '{{}}', {per}, {per} * 5000, 1,
                      strftime('%Y-%m-%dT%H:%M:%fZ', '{T0}', '+' || (x * 3) || ' hours'), '{T0}', '{T0}', '{T0}'
               FROM s;
             WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x + 1 < {n})
             INSERT INTO invoices(rowid_, batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, created_at, updated_at)
               SELECT x + 1, x / {per} + 1, 1, x % {per}, 'Cliente ' || x, printf('%011d', x), 1000 + (x * 7919) % 99000,
                      'inv' || x, CASE WHEN x % 100 < {credited_pct} THEN 'paid' WHEN x % 100 < 95 THEN 'created' ELSE 'expired' END,
                      '{T0}', '{T0}'
               FROM s;
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source, skip_reason)
               SELECT invoice_id, 'log' || rowid_, amount, 50, amount - 50, '{T0}', '{T0}', 'webhook', NULL
               FROM invoices WHERE status = 'paid';
             -- a failed first attempt for 2 % of credits, then every credit's successful one
             INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, transfer_id, fee, created_at, updated_at, sent_at, settled_at)
               SELECT invoice_id, 1, 'stark-xfer-' || invoice_id || '-a1', 'stark-invoice-' || invoice_id, net, '{{}}', 'failed',
                      'tf' || invoice_id, 0, '{T0}', '{T0}', '{T0}', '{T0}'
               FROM credits WHERE CAST(substr(invoice_id, 4) AS INTEGER) % 50 = 1;
             INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, transfer_id, fee, created_at, updated_at, sent_at, settled_at)
               SELECT c.invoice_id, COALESCE((SELECT MAX(attempt) FROM transfers t WHERE t.invoice_id = c.invoice_id), 0) + 1,
                      'stark-xfer-' || c.invoice_id || '-a2', 'stark-invoice-' || c.invoice_id, c.net, '{{}}',
                      CASE WHEN CAST(substr(c.invoice_id, 4) AS INTEGER) % 1000 = 3 THEN 'rejected' ELSE 'success' END,
                      'ts' || c.invoice_id, 0, '{T0}', '{T0}', '{T0}', '{T0}'
               FROM credits c WHERE CAST(substr(c.invoice_id, 4) AS INTEGER) % 100 != 7;
             -- a few foreign credits
             INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
               VALUES ('foreign1', 'lf1', 1000, 10, 990, '{T0}', '{T0}', 'sweep');
             COMMIT;"
        ),
    );
}

fn count(path: &Path, table: &str) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn bench(name: &str, runs: usize, mut make: impl FnMut() -> Command) -> Duration {
    let run = |make: &mut dyn FnMut() -> Command| {
        let t = Instant::now();
        let out = make().output().expect("run stark");
        let d = t.elapsed();
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        (d, out)
    };
    let (_, first) = run(&mut make);
    for _ in 0..2 {
        run(&mut make);
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| run(&mut make).0).collect();
    times.sort();
    let median = percentile(&times, 50.0);
    println!(
        "{name:<46} runs {runs:>3} | median {:>9} p90 {:>9} max {:>9}",
        ms(median),
        ms(percentile(&times, 90.0)),
        ms(*times.last().unwrap())
    );
    let text = String::from_utf8_lossy(&first.stdout);
    if let Some(line) = text.lines().next() {
        println!(
            "    first line of output: {}",
            line.chars().take(110).collect::<String>()
        );
    }
    median
}

fn main() {
    let runs = env_usize("TICK_RUNS", 50);
    println!("tick bench: {}", load_line());
    let dir = scratch();

    // issue-invoices with nothing due: slot 2 of 8 (6h..9h) is issued; now = 7h.
    let issue = dir.path().join("issue.sqlite3");
    ledger(&issue, 8, 10, 3, 80);
    let d_issue = bench("issue-invoices, nothing due", runs, || {
        let mut c = stark(dir.path(), &issue);
        c.env("STARK_NOW", "2026-03-02T07:00:00Z")
            .args(["issue-invoices"]);
        c
    });

    // status on a finished campaign.
    let done = dir.path().join("done.sqlite3");
    ledger(&done, 8, 10, 8, 80);
    let d_done = bench("status, finished campaign (80 invoices)", runs, || {
        let mut c = stark(dir.path(), &done);
        c.env("STARK_NOW", "2026-03-03T12:00:00Z").arg("status");
        c
    });

    // status on 100,000 invoices.
    let big = dir.path().join("big.sqlite3");
    let t = Instant::now();
    ledger(&big, 1000, 100, 1000, 80);
    println!(
        "generated the 100k ledger in {:.1} s: {} invoices, {} credits, {} transfers, {:.1} MB",
        t.elapsed().as_secs_f64(),
        count(&big, "invoices"),
        count(&big, "credits"),
        count(&big, "transfers"),
        std::fs::metadata(&big).unwrap().len() as f64 / 1e6
    );
    let d_big = bench("status, 100k invoices", runs, || {
        let mut c = stark(dir.path(), &big);
        c.env("STARK_NOW", "2026-06-30T12:00:00Z").arg("status");
        c
    });
    let d_big_json = bench("status --json, 100k invoices", runs, || {
        let mut c = stark(dir.path(), &big);
        c.env("STARK_NOW", "2026-06-30T12:00:00Z")
            .args(["--json", "status"]);
        c
    });
    bench("status --invoices (last 20), 100k invoices", runs, || {
        let mut c = stark(dir.path(), &big);
        c.env("STARK_NOW", "2026-06-30T12:00:00Z")
            .args(["status", "--invoices"]);
        c
    });
    println!(
        "summary (medians): issue-invoices nothing due {} (target <= 10 ms); status finished {} / 100k {} / 100k --json {} (target <= 100 ms) | {}",
        ms(d_issue),
        ms(d_done),
        ms(d_big),
        ms(d_big_json),
        load_line()
    );
}
