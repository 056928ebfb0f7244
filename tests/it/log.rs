//! `stark log`: the ledger's history as one stream, oldest first; `--json` lines;
//! `--follow` prints what is recorded after it started.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration as StdDuration, Instant};

use crate::harness::*;
use chrono::Duration;

/// A day of the loop: a batch issued, paid, its credits and transfers recorded by reconcile.
fn a_day(env: &Env) -> usize {
    tick(env, env.t0).success();
    let n = env.batches_at_bank().values().map(Vec::len).sum();
    env.advance(Duration::hours(1));
    env.at_now().run(["reconcile"]).success();
    n
}

#[test]
fn log_lists_a_days_entries_in_order_and_json_parses() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = a_day(&env);
    let out = env
        .at_now()
        .run(["log", "--json", "--limit", "1000"])
        .success();
    let entries: Vec<serde_json::Value> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for v in &entries {
        assert_eq!(v["version"], 1, "{v}");
    }
    let types: Vec<&str> = entries
        .iter()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"batch"), "{types:?}");
    assert_eq!(entries[0]["status"], "issued");
    assert_eq!(types.iter().filter(|t| **t == "credit").count(), n);
    let queued = entries
        .iter()
        .filter(|v| v["type"] == "transfer" && v["status"] == "queued")
        .count();
    assert_eq!(queued, n, "{types:?}");
    assert!(types.contains(&"event"));
    // Each cron run, and how it ended.
    let runs: Vec<(&str, &str)> = entries
        .iter()
        .filter(|v| v["type"] == "run")
        .map(|v| (v["id"].as_str().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(runs, [("issue-invoices", "ok"), ("reconcile", "ok")]);
    // Oldest first; and every credit comes before its transfer.
    let times: Vec<&str> = entries
        .iter()
        .map(|v| v["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let pos = |t: &str, inv: &str| {
        entries
            .iter()
            .position(|v| v["type"] == t && v["invoice_id"] == inv)
            .unwrap()
    };
    for c in entries.iter().filter(|v| v["type"] == "credit") {
        let inv = c["invoice_id"].as_str().unwrap();
        assert!(pos("credit", inv) < pos("transfer", inv));
        assert!(c["amount"].is_i64() && c["fee"].is_i64(), "{c}");
    }
    // The text: one line each, at most 80 columns; --limit keeps the latest.
    let text = env
        .at_now()
        .run(["log", "--limit", "1000"])
        .success()
        .stdout();
    assert_eq!(text.lines().count(), entries.len());
    assert!(text.lines().next().unwrap().contains("batch"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let last3 = env
        .at_now()
        .run(["log", "--json", "--limit", "3"])
        .success();
    let last3: Vec<serde_json::Value> = last3
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(last3, entries[entries.len() - 3..].to_vec());
    // --since: nothing from the future.
    let none = env
        .cmd()
        .now(env.t0 + Duration::days(3))
        .run(["log", "--since", "1d"])
        .success();
    assert_eq!(none.stdout(), "");
}

#[test]
fn log_never_creates_a_ledger() {
    let env = Env::without_ledger(|_| {});
    env.cmd().run(["log"]).exits(2);
    assert!(!env.ledger.exists());
}

/// `--follow` prints an entry recorded after it started (within a bounded wait).
#[test]
fn log_follow_shows_an_entry_added_after_it_started() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    let mut child = env
        .at_now()
        .command(["log", "--follow", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let first = rx.recv_timeout(StdDuration::from_secs(15)).unwrap();
    assert!(first.contains(r#""type":"batch""#), "{first}");
    env.advance(Duration::hours(1));
    env.at_now().run(["reconcile"]).success();
    let deadline = Instant::now() + StdDuration::from_secs(15);
    let mut got = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                let hit = l.contains(r#""type":"credit""#);
                got.push(l);
                if hit {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no credit line while following: {got:?}");
    assert!(
        !got.iter().any(|l| l.contains(r#""type":"batch""#)),
        "the batch is not printed twice: {got:?}"
    );
}
