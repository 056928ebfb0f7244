//! Several `stark` processes on one PostgreSQL ledger at once (PostgreSQL only): replicas and
//! cron jobs that start together migrate once, claim each batch slot once, lease each transfer
//! once, and two `serve-webhook` replicas with the cron commands beside them (one replica
//! killed mid-way) forward every credit exactly once. The sandbox's ground truth is the judge.
//!
//! Each test gets a new database from `stark::testing::pg_test_database` and passes with a
//! SKIP line when `STARK_TEST_PG` is unset (`tests/run` starts a throwaway server).
//! `STARK_PG_RACE_ROUNDS` (default 3) sets how many rounds the claim and lease races run (at
//! most 8 and 4: one campaign's slots).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use stark::sandbox::SandboxConfig;
use stark::testing::{pg_test_database, psql};

use crate::harness::*;

/// How many rounds the claim and lease races run (`STARK_PG_RACE_ROUNDS`, default 3).
fn rounds() -> usize {
    std::env::var("STARK_PG_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(3)
}

/// A sandbox environment whose ledger is a new, empty PostgreSQL database (not created yet),
/// or `None` (SKIP) without a server.
fn pg_env(label: &str, customize: impl FnOnce(&mut SandboxConfig)) -> Option<(Env, String)> {
    let url = pg_test_database(label)?;
    let mut env = Env::without_ledger(customize);
    env.ledger = PathBuf::from(&url);
    Some((env, url))
}

/// One number from the ledger.
fn count(url: &str, sql: &str) -> i64 {
    let out = psql(url, sql);
    out.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {out:?}: {e}"))
}

/// The rows of a query, each as its `|`-separated columns.
fn rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    psql(url, sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn ledger_id(url: &str) -> String {
    psql(url, "SELECT value FROM meta WHERE key = 'ledger_id'")
}

/// Start `stark ARGS` as `copies` processes at once; wait for all of them.
fn race(run: &Run, args: &[&str], copies: usize) -> Vec<std::process::Output> {
    let children: Vec<Child> = (0..copies)
        .map(|_| {
            run.command(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[track_caller]
fn assert_all_succeeded(what: &str, outs: &[std::process::Output]) {
    for (i, o) in outs.iter().enumerate() {
        assert!(
            o.status.success(),
            "{what} #{i}: {}\nstdout:\n{}\nstderr:\n{}",
            o.status,
            stdout(o),
            stderr(o)
        );
    }
}

fn json_of(what: &str, o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: {}: stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            o.status,
            stdout(o),
            stderr(o)
        )
    })
}

/// The current schema version of this build: what `stark init` records on SQLite.
fn current_schema_version() -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let ledger = stark::ledger::Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
    ledger.schema_version().unwrap()
}

/// Eight `stark init` processes started together on an empty database: all succeed, exactly
/// one created the schema, and there is one ledger (one id, one version row, the current
/// version). Then, on another empty database, four `init` and four open-only `status`
/// processes together: every `init` succeeds, and each `status` sees either no ledger yet or
/// the whole one, never half a schema.
#[test]
fn replicas_starting_together_migrate_an_empty_database_once() {
    let Some((env, url)) = pg_env(
        "pg_concurrency::replicas_starting_together_migrate_an_empty_database_once",
        |_| {},
    ) else {
        return;
    };
    let started = Instant::now();
    let outs = race(&env.cmd(), &["init", "--json"], 8);
    assert_all_succeeded("init", &outs);
    let docs: Vec<Value> = outs.iter().map(|o| json_of("init", o)).collect();
    let created = docs.iter().filter(|d| d["created"] == true).count();
    assert_eq!(created, 1, "one init creates the ledger: {docs:#?}");
    let id = ledger_id(&url);
    assert_eq!(id.len(), 6, "{id:?}");
    let ids: HashSet<&str> = docs
        .iter()
        .filter_map(|d| d["ledger_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([id.as_str()]),
        "every init names one ledger"
    );
    assert_eq!(
        rows(&url, "SELECT version FROM stark_schema_version"),
        vec![vec![current_schema_version().to_string()]],
        "one version row, the current version"
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM meta WHERE key = 'ledger_id'"),
        1
    );

    // init and open-only processes together on another empty database.
    let Some(url2) = pg_test_database(
        "pg_concurrency::replicas_starting_together_migrate_an_empty_database_once",
    ) else {
        return;
    };
    let run = env.cmd().env("STARK_LEDGER", &url2);
    let children: Vec<(bool, Child)> = (0..8)
        .map(|i| {
            let init = i % 2 == 0;
            let args: &[&str] = if init {
                &["init", "--json"]
            } else {
                &["status", "--json"]
            };
            let child = run
                .command(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (init, child)
        })
        .collect();
    let outs: Vec<(bool, std::process::Output)> = children
        .into_iter()
        .map(|(init, c)| (init, c.wait_with_output().unwrap()))
        .collect();
    for (init, o) in &outs {
        if *init || o.status.success() {
            assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
            json_of(if *init { "init" } else { "status" }, o);
            continue;
        }
        // Before the schema's commit: the database has no ledger yet, and says only that.
        let doc: Value = serde_json::from_slice(&o.stderr)
            .unwrap_or_else(|e| panic!("status: {e}: {}", stderr(o)));
        assert_eq!(o.status.code(), Some(2), "{doc}");
        let msg = doc["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("has no stark ledger"), "{doc}");
    }
    let created = outs
        .iter()
        .filter(|(init, o)| *init && json_of("init", o)["created"] == true)
        .count();
    assert_eq!(created, 1);
    assert_eq!(
        rows(&url2, "SELECT version FROM stark_schema_version"),
        vec![vec![current_schema_version().to_string()]]
    );
    eprintln!("migrations raced in {:?}", started.elapsed());
}

/// The invoices at the bank of the ledger `id`, by batch tag.
fn bank_batches(env: &Env, id: &str) -> HashMap<String, Vec<stark::sandbox::TruthInvoice>> {
    env.batches_of(id)
}

/// Every batch at the bank was sent once (it holds exactly the invoices its ledger row
/// planned), the ledger has one batch per slot and one campaign, and no invoice was issued
/// twice. Returns the number of batches.
#[track_caller]
fn assert_each_slot_sent_once(env: &Env, url: &str) -> usize {
    let id = ledger_id(url);
    let batches = bank_batches(env, &id);
    let planned: HashMap<String, i64> = rows(url, "SELECT tag, invoice_count FROM batches")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    for (tag, invoices) in &batches {
        assert_eq!(
            Some(&(invoices.len() as i64)),
            planned.get(tag),
            "{tag} at the bank holds {} invoices",
            invoices.len()
        );
    }
    assert_eq!(
        count(url, "SELECT COUNT(*) FROM campaigns"),
        1,
        "one campaign: {:?}",
        rows(url, "SELECT id, created_at FROM campaigns")
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) FROM (SELECT campaign_id, slot FROM batches GROUP BY campaign_id, slot HAVING COUNT(*) > 1) d"
        ),
        0
    );
    let at_bank: usize = batches.values().map(Vec::len).sum();
    let ids: HashSet<&str> = batches.values().flatten().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), at_bank);
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) FROM invoices WHERE invoice_id IS NOT NULL"
        ) as usize,
        at_bank,
        "the ledger records every invoice at the bank once"
    );
    batches.len()
}

/// Six `stark issue-invoices` started together in each slot against one sandbox, over
/// several slots (the first one also creates the campaign): one batch per slot at the bank
/// and in the ledger, one campaign, one process that issued it, no invoice twice.
#[test]
fn issue_invoices_started_together_send_each_slot_once() {
    let Some((env, url)) = pg_env(
        "pg_concurrency::issue_invoices_started_together_send_each_slot_once",
        |c| c.pay_rate = 0.0,
    ) else {
        return;
    };
    env.create_ledger();
    let started = Instant::now();
    // The bank is slow to create: the sender is in flight while the others try.
    env.faults(&["invoice.create:latency=1@300"]);
    let copies = 6;
    for slot in 0..rounds().min(8) {
        let at = env.t0 + Duration::hours(3 * slot as i64) + Duration::seconds(7);
        let outs = race(&env.at(at), &["issue-invoices"], copies);
        assert_all_succeeded("issue-invoices", &outs);
        let issued = outs
            .iter()
            .filter(|o| stdout(o).contains(&format!("batch {}/8: issued", slot + 1)))
            .count();
        let said: Vec<String> = outs.iter().map(stdout).collect();
        assert_eq!(issued, 1, "one process issues slot {slot}: {said:#?}");
        assert_eq!(assert_each_slot_sent_once(&env, &url), slot + 1);
    }
    eprintln!("claims raced in {:?}", started.elapsed());
}

/// The open transfers (neither settled nor rejected).
fn open_transfers(url: &str) -> i64 {
    count(
        url,
        "SELECT COUNT(*) FROM transfers WHERE status NOT IN ('success', 'failed', 'rejected')",
    )
}

/// [`Env::settle`] on this PostgreSQL ledger.
fn settle(env: &Env, url: &str) {
    for _ in 0..4 {
        env.advance(Duration::minutes(30));
        env.flush();
        env.at_now().run(["reconcile"]).success();
        if open_transfers(url) == 0 {
            break;
        }
    }
}

/// What one `transfer-credited --json` reported: (sent, found by lookup).
fn payout_counts(o: &std::process::Output) -> (u64, u64) {
    let doc = json_of("transfer-credited", o);
    let n = |k: &str| doc[k].as_u64().unwrap_or_else(|| panic!("no {k} in {doc}"));
    for k in ["rejected", "unresolved"] {
        assert_eq!(
            doc[k].as_array().map(Vec::len),
            Some(0),
            "{k}: {doc}\n{}",
            stderr(o)
        );
    }
    (n("sent"), n("found_by_lookup"))
}

/// Six `stark transfer-credited` started together on the credits of each round: every credit
/// is forwarded exactly once, by one of them (the others never lease it: no second POST, no
/// transfer refused for a duplicate `externalId`, nothing rejected or left open), also when
/// the bank is slow and loses the answers to transfer POSTs.
#[test]
fn transfer_credited_started_together_forward_each_credit_once() {
    let Some((env, url)) = pg_env(
        "pg_concurrency::transfer_credited_started_together_forward_each_credit_once",
        |c| c.pay_rate = 1.0,
    ) else {
        return;
    };
    env.create_ledger();
    let started = Instant::now();
    let copies = 6;
    let faults: [&[&str]; 3] = [
        &[],
        &["transfer.create:lost-response=1"],
        &[
            "transfer.create:latency=1@400",
            "transfer.create:lost-response=0.5",
        ],
    ];
    let mut forwarded = 0;
    // Two of the campaign's eight slots per round.
    for round in 0..rounds().min(4) {
        // Two slots' invoices, paid and credited (recorded without transferring).
        env.faults(&[]);
        for k in 0..2 {
            let slot = 2 * round + k;
            let at = env.t0 + Duration::hours(3 * slot as i64) + Duration::seconds(7);
            tick(&env, at).success();
        }
        env.advance(Duration::hours(1));
        env.at_now().run(["reconcile", "--no-transfer"]).success();
        let due = count(
            &url,
            "SELECT COUNT(*) FROM credits c WHERE ours = 1 AND net > 0 AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id)",
        ) as u64;
        assert!(due >= 16, "{due} credits to forward");
        let rules = faults[round % faults.len()];
        env.faults(rules);
        let outs = race(&env.at_now(), &["transfer-credited", "--json"], copies);
        assert_all_succeeded("transfer-credited", &outs);
        let (sent, found): (u64, u64) = outs
            .iter()
            .map(payout_counts)
            .fold((0, 0), |(a, b), (s, f)| (a + s, b + f));
        assert_eq!(
            sent + found,
            due,
            "round {round} ({rules:?}): each credit leased by one process, once ({sent} sent, {found} found)"
        );
        if rules.is_empty() {
            assert_eq!(sent, due, "without faults every credit is one POST's");
        }
        forwarded += due;
        assert_eq!(
            count(&url, "SELECT COUNT(*) FROM transfers") as u64,
            forwarded,
            "one transfer row per credit: {:?}",
            rows(
                &url,
                "SELECT invoice_id, attempt, status, errors FROM transfers WHERE attempt > 1 OR status = 'rejected' OR errors IS NOT NULL"
            )
        );
        assert_eq!(
            count(
                &url,
                "SELECT COUNT(*) FROM transfers WHERE attempt <> 1 OR status = 'rejected' OR errors IS NOT NULL"
            ),
            0,
            "{:?}",
            rows(
                &url,
                "SELECT invoice_id, attempt, status, errors FROM transfers WHERE attempt <> 1 OR status = 'rejected' OR errors IS NOT NULL"
            )
        );
        let truth = env.truth();
        let externals: HashSet<&str> = truth
            .transfers
            .iter()
            .map(|t| t.external_id.as_str())
            .collect();
        assert_eq!(truth.transfers.len() as u64, forwarded);
        assert_eq!(externals.len() as u64, forwarded);
    }
    env.faults(&[]);
    settle(&env, &url);
    assert_eq!(env.assert_money_invariants().paid as u64, forwarded);
    eprintln!("leases raced in {:?}", started.elapsed());
}

/// A `serve-webhook --no-register` replica on a loopback port; killed (SIGKILL) on drop.
struct Replica {
    child: Child,
    _err: Receiver<String>,
}

impl Replica {
    fn start(env: &Env, port: u16) -> Replica {
        let mut child = env
            .cmd()
            .command([
                "serve-webhook",
                "--no-register",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let deadline = Instant::now() + StdDuration::from_secs(15);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains("listening on") => break,
                Ok(l) => seen.push(l),
                Err(_) => panic!("serve-webhook on {port} did not start: {seen:#?}"),
            }
        }
        // Keep draining so that it never blocks on a full pipe.
        let (keep_tx, keep) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(l) = rx.recv() {
                let _ = keep_tx.send(l);
            }
        });
        Replica { child, _err: keep }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `stark ARGS` without waiting.
fn spawn(run: &Run, args: &[&str]) -> Child {
    run.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Two `serve-webhook --no-register` replicas on one ledger, each behind its own webhook
/// (`webhook ensure`: the bank delivers every event to both), while `issue-invoices`,
/// `transfer-credited` and `reconcile` run beside them from other processes, slot after
/// slot; one replica is killed (SIGKILL) mid-way, the other and `reconcile` catch up. Every
/// credit is forwarded exactly once, nothing twice, nothing rejected.
#[test]
fn two_webhook_replicas_and_cron_on_one_ledger_forward_each_credit_once() {
    let Some((env, url)) = pg_env(
        "pg_concurrency::two_webhook_replicas_and_cron_on_one_ledger_forward_each_credit_once",
        |c| c.pay_rate = 1.0,
    ) else {
        return;
    };
    env.cmd().run(["init"]).success();
    let started = Instant::now();
    env.faults(&["duplicate-delivery=0.3", "reorder-delivery=0.3"]);
    let ports = [free_port(), free_port()];
    for port in ports {
        env.cmd()
            .run([
                "webhook",
                "ensure",
                "--url",
                &format!("http://127.0.0.1:{port}/webhook"),
            ])
            .success();
    }
    let mut replicas = vec![
        Replica::start(&env, ports[0]),
        Replica::start(&env, ports[1]),
    ];
    let slots = 4;
    for slot in 0..slots {
        let at: DateTime<Utc> = env.t0 + Duration::hours(3 * slot) + Duration::seconds(7);
        let run = env.at(at);
        // Cron beside the replicas: two issuers, a transfer run and a reconcile at once.
        let cron = [
            spawn(&run, &["issue-invoices"]),
            spawn(&run, &["issue-invoices"]),
            spawn(&run, &["transfer-credited"]),
            spawn(&run, &["reconcile"]),
        ];
        // The invoices of this slot get paid; the bank delivers to both replicas.
        env.advance(Duration::hours(1));
        for c in cron {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
        }
        env.advance(Duration::minutes(30));
        let after = env.at_now();
        let cron = [
            spawn(&after, &["transfer-credited"]),
            spawn(&after, &["reconcile"]),
        ];
        if slot == 1 {
            // Mid-way, one replica dies hard (its deliveries fail; the bank retries them).
            replicas.remove(1).kill();
        }
        for c in cron {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
        }
    }
    // The survivor and reconcile catch up; then everything settles.
    env.advance(Duration::hours(1));
    env.flush();
    env.at_now().run(["reconcile"]).success();
    settle(&env, &url);
    drop(replicas);
    let summary = env.assert_money_invariants();
    let ours = count(
        &url,
        "SELECT COUNT(*) FROM credits WHERE ours = 1 AND net > 0",
    ) as usize;
    assert_eq!(summary.paid, ours);
    let batches = assert_each_slot_sent_once(&env, &url);
    assert_eq!(batches, slots as usize);
    let at_bank: usize = bank_batches(&env, &ledger_id(&url))
        .values()
        .map(Vec::len)
        .sum();
    assert_eq!(ours, at_bank, "every invoice was paid and credited");
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM transfers WHERE status = 'rejected' OR attempt <> 1"
        ),
        0,
        "{:?}",
        rows(
            &url,
            "SELECT invoice_id, attempt, status, errors FROM transfers WHERE status = 'rejected' OR attempt <> 1"
        )
    );
    let webhook_events = count(&url, "SELECT COUNT(*) FROM events WHERE source = 'webhook'");
    assert!(webhook_events > 0, "the replicas recorded deliveries");
    eprintln!("replicas and cron ran in {:?}", started.elapsed());
}
