//! `--dry-run` on `issue-invoices`, `transfer-credited` and `reconcile`: the bank is only read
//! and the ledger never written (every row of every table is the same after, and so is the
//! sandbox's truth), and what a real run would send is printed with its totals — the same
//! totals the real run then sends.

use crate::harness::*;
use chrono::Duration;

/// Every row of every table of the ledger, in order: what a dry run must leave as it was.
pub(crate) fn ledger_rows(env: &Env) -> Vec<String> {
    let tables = if on_postgres() {
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    };
    let tables: Vec<String> = env
        .sql_rows(tables, &[])
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    let mut rows = Vec::new();
    for t in tables {
        for row in env.sql_rows(&format!("SELECT * FROM \"{t}\" ORDER BY 1"), &[]) {
            rows.push(format!("{t}: {:?}", row.values()));
        }
    }
    rows
}

/// Run `args` and check that neither the ledger nor the bank changed.
#[track_caller]
fn dry(env: &Env, run: Run, args: &[&str]) -> Output {
    let (rows, truth) = (ledger_rows(env), env.truth());
    let out = run.run(args).success();
    assert_eq!(ledger_rows(env), rows, "the ledger changed: {args:?}");
    assert_eq!(env.truth(), truth, "the bank changed: {args:?}");
    out
}

fn sum(env: &Env, sql: &str) -> i64 {
    env.sql_i64(sql)
}

#[test]
fn issue_invoices_dry_run_shows_the_batch_and_changes_nothing() {
    let env = Env::new(|_| {});
    let at = env.t0 + Duration::seconds(5);
    let out = dry(&env, env.at(at), &["issue-invoices", "--dry-run"]);
    let text = out.stdout();
    assert!(text.contains("would start campaign c1"), "{text}");
    assert!(
        text.contains("batch 1/8") && text.contains("would be sent"),
        "{text}"
    );
    assert!(text.contains("in total; nothing was sent"), "{text}");
    let v = dry(&env, env.at(at), &["issue-invoices", "--dry-run", "--json"]).json();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["dry_run"], true, "{v}");
    let invoices = v["batches"][0]["invoices"].as_array().unwrap();
    assert!((8..=12).contains(&invoices.len()), "{v}");
    let total: i64 = invoices.iter().map(|i| i["amount"].as_i64().unwrap()).sum();
    assert!(invoices.iter().all(|i| {
        !i["name"].as_str().unwrap().is_empty() && !i["tax_id"].as_str().unwrap().is_empty()
    }));
    assert_eq!(v["amount"], total, "{v}");
    assert_eq!(v["invoices"], invoices.len(), "{v}");
    assert!(env.truth().invoices.is_empty());
    assert_eq!(sum(&env, "SELECT COUNT(*) FROM campaigns"), 0);

    // The real tick then issues one batch, as the preview said it would.
    env.at(at).run(["issue-invoices"]).success();
    assert_eq!(env.batches_at_bank().len(), 1);
    // And a dry run of a tick with nothing due says so, still changing nothing.
    let text = dry(
        &env,
        env.at(at + Duration::minutes(1)),
        &["issue-invoices", "--dry-run"],
    )
    .stdout();
    assert!(text.contains("nothing due"), "{text}");
    assert!(text.contains("0 batch(es), 0 invoices"), "{text}");
}

#[test]
fn transfer_credited_dry_run_lists_the_transfers_and_their_sum() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.at_now().run(["reconcile", "--no-transfer"]).success();
    let credits = sum(&env, "SELECT COUNT(*) FROM credits WHERE net > 0");
    let net = sum(
        &env,
        "SELECT CAST(SUM(net) AS BIGINT) FROM credits WHERE net > 0",
    );
    assert!(credits > 0);
    let text = dry(&env, env.at_now(), &["transfer-credited", "--dry-run"]).stdout();
    assert!(
        text.contains(&format!(
            "dry run: {credits} transfer(s) to Stark Bank S.A."
        )),
        "{text}"
    );
    assert!(text.contains("stark-xfer-"), "{text}");
    let v = dry(
        &env,
        env.at_now(),
        &["transfer-credited", "--dry-run", "--json"],
    )
    .json();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(
        v["transfers"].as_array().unwrap().len() as i64,
        credits,
        "{v}"
    );
    assert_eq!(v["amount"], net, "{v}");
    assert!(env.truth().transfers.is_empty());

    env.at_now().run(["transfer-credited"]).success();
    let sent: i64 = env.truth().transfers.iter().map(|t| t.amount).sum();
    assert_eq!(sent, net, "the real run sends what the preview said");
}

#[test]
fn reconcile_dry_run_reads_the_bank_and_says_what_it_would_record_and_send() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    let undelivered = env.truth().undelivered_events;
    assert!(undelivered > 0);
    let v = dry(&env, env.at_now(), &["reconcile", "--dry-run", "--json"]).json();
    assert_eq!(v["version"], 1, "{v}");
    let found = v["would_record"]["credits_from_events"].as_i64().unwrap()
        + v["would_record"]["credits_from_logs"].as_i64().unwrap();
    assert!(found > 0, "{v}");
    assert_eq!(
        v["would_record"]["events_seen"].as_u64().unwrap() as usize,
        undelivered,
        "each undelivered event counted once: {v}"
    );
    let would_send = v["transfers"]["amount"].as_i64().unwrap();
    assert_eq!(
        v["transfers"]["transfers"].as_array().unwrap().len() as i64,
        found,
        "{v}"
    );
    let text = dry(&env, env.at_now(), &["reconcile", "--dry-run"]).stdout();
    assert!(text.contains("dry run: would record"), "{text}");
    assert!(text.contains("transfer(s) to Stark Bank S.A."), "{text}");
    assert_eq!(env.truth().undelivered_events, undelivered);
    assert!(env.truth().marked_delivered.is_empty());

    env.at_now().run(["reconcile"]).success();
    assert_eq!(sum(&env, "SELECT COUNT(*) FROM credits"), found);
    let sent: i64 = env.truth().transfers.iter().map(|t| t.amount).sum();
    assert_eq!(sent, would_send, "the real run sends what the preview said");
}
