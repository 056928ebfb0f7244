//! "Needs you" is loud under cron: a ledger command that succeeded while something waits for
//! the operator prints one `attention:` line on stderr, even with `--quiet`, and exits 3;
//! `stark status --check` answers 0 / 3 / 1 for monitors; each run is recorded in the ledger;
//! stderr lines are stamped with the time and the command when stderr is not a terminal.

use chrono::Duration;

use crate::harness::{Env, on_postgres, tick};

/// One batch issued and paid, then every transfer fails until each credit has used its
/// attempts: the credits wait for the operator.
fn credits_waiting_after_failed_transfers() -> Env {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.faults(&["transfer-fail=1"]);
    for _ in 0..5 {
        env.advance(Duration::minutes(30));
        let _ = env.at_now().run(["reconcile", "-q"]);
    }
    env
}

/// File the first batch as the bank's refusal would have left it.
fn reject_first_batch(env: &Env) {
    env.sql_exec(
        "UPDATE batches SET status = 'rejected', errors = 'invalidTaxId: Invalid tax ID' WHERE slot = 0",
        &[],
    );
}

fn waiting(env: &Env) -> (i64, i64) {
    let row = env
        .sql_rows(
            "SELECT COUNT(*), CAST(SUM(net) AS BIGINT) FROM credits WHERE settled = 0",
            &[],
        )
        .remove(0);
    (row.get(0).unwrap(), row.get(1).unwrap())
}

#[test]
fn a_credit_waiting_after_failed_transfers_makes_a_quiet_reconcile_say_so_and_exit_3() {
    let env = credits_waiting_after_failed_transfers();
    let (n, net) = waiting(&env);
    assert!(n > 0);
    let out = env.at_now().run(["reconcile", "-q"]).exits(3);
    assert!(out.stdout.is_empty(), "--quiet prints no data");
    let err = out.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("attention:")).collect();
    assert_eq!(lines.len(), 1, "one attention line: {err}");
    let line = lines[0];
    assert!(
        line.contains(&format!(
            "{n} credits wait after failed or rejected transfers"
        )),
        "{line}"
    );
    assert!(
        line.contains(&stark::domain::money::format_brl(net)),
        "{line}"
    );
    assert!(
        line.contains("stark transfer-credited --retry all-waiting"),
        "{line}"
    );

    // Failed attempts are counted per credit, not per attempt.
    let s = env.at_now().run(["status", "--json"]).success().json();
    assert_eq!(s["version"], 1);
    assert_eq!(s["attention"]["waiting_credits"]["total"], n, "{s}");
    assert_eq!(s["attention"]["waiting_net"], net);
    assert_eq!(
        s["attention"]["failed_transfers"]["total"],
        3 * n,
        "three attempts each"
    );
    assert_eq!(s["needs_you"]["items"][0]["count"], n);
    assert_eq!(s["attention"]["waiting_credits"]["items"][0]["attempts"], 3);
    let text = env
        .at_now()
        .env("COLUMNS", "120")
        .run(["status"])
        .success()
        .stdout();
    assert!(text.contains("ACTION NEEDED"), "{text}");
    assert!(text.contains("--retry"), "{text}");

    // The operator retries every waiting credit at once; once paid, all is well.
    env.faults(&[]);
    let out = env
        .at_now()
        .run(["transfer-credited", "--retry", "all-waiting"])
        .success();
    assert_eq!(
        out.stdout().matches(": attempt 4 claimed").count(),
        usize::try_from(n).unwrap(),
        "{}",
        out.stdout()
    );
    env.settle();
    env.advance(Duration::minutes(5));
    env.at_now().run(["reconcile", "-q"]).success();
    env.at_now().run(["status", "--check"]).success();
}

#[test]
fn status_check_answers_0_3_and_1() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    let out = env.at_now().run(["status", "--check"]).exits(0);
    assert_eq!(out.stdout().trim(), "all well");

    // A rejected batch needs the operator.
    reject_first_batch(&env);
    let out = env.at_now().run(["status", "--check"]).exits(3);
    let line = out.stdout();
    assert!(line.starts_with("attention: "), "{line}");
    assert!(
        line.contains("stark issue-invoices --retry-batch 1"),
        "{line}"
    );
    let j = env
        .at_now()
        .run(["status", "--check", "--json"])
        .exits(3)
        .json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["needs_you"]["items"][0]["kind"], "rejected_batches");

    // A ledger that cannot be read: cannot tell.
    if on_postgres() {
        eprintln!("SKIP: the rest, a ledger file overwritten with junk (SQLite file only)");
        return;
    }
    std::fs::write(&env.ledger, b"this is not a ledger, only some bytes").unwrap();
    env.at_now().run(["status", "--check"]).exits(1);
    env.at_now()
        .env("STARK_LEDGER", env.dir.path().join("nowhere.sqlite3"))
        .run(["status", "--check"])
        .exits(1);
}

#[test]
fn each_ledger_command_run_is_recorded_and_status_shows_the_last_one() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::minutes(7));
    env.at_now().run(["reconcile", "-q"]).success();
    env.advance(Duration::minutes(7));
    let runs: Vec<(String, Option<i64>, bool)> = env
        .sql_rows(
            "SELECT command, exit_code, ended_at IS NOT NULL FROM runs ORDER BY id",
            &[],
        )
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    assert_eq!(
        runs,
        [
            ("issue-invoices".to_string(), Some(0), true),
            ("reconcile".to_string(), Some(0), true)
        ]
    );
    // status and doctor are not ledger runs: not recorded.
    let text = env.at_now().run(["status"]).success().stdout();
    assert!(
        text.contains("Last runs: issue-invoices 14m ago (ok), reconcile 7m ago (ok)"),
        "{text}"
    );
    let s = env.at_now().run(["status", "--json"]).success().json();
    assert_eq!(s["runs"].as_array().unwrap().len(), 2, "{s}");
    assert_eq!(s["runs"][1]["command"], "reconcile");
    assert_eq!(s["verdict"], "all well");

    // A command without a ledger records nothing and creates nothing.
    let elsewhere = env.dir.path().join("none/ledger.sqlite3");
    env.at_now()
        .env("STARK_LEDGER", &elsewhere)
        .run(["reconcile"])
        .exits(2);
    assert!(!elsewhere.exists());
}

#[test]
fn stderr_lines_are_stamped_with_the_time_and_the_command_when_piped() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let out = env
        .at_now()
        .env("STARK_LEDGER", env.dir.path().join("nowhere.sqlite3"))
        .run(["reconcile"])
        .exits(2);
    let err = out.stderr();
    assert!(!err.trim().is_empty());
    let stamp = regex_lite(&err);
    assert!(
        stamp,
        "every line starts with a UTC second and `reconcile`: {err}"
    );
    assert!(err.contains(" reconcile error: "), "{err}");
}

/// Every line of `text` starts with `YYYY-MM-DDTHH:MM:SSZ reconcile `.
fn regex_lite(text: &str) -> bool {
    text.lines().all(|l| {
        let (ts, rest) = l.split_at(l.find(' ').unwrap_or(0));
        chrono::DateTime::parse_from_rfc3339(ts).is_ok()
            && ts.len() == 20
            && ts.ends_with('Z')
            && rest.starts_with(" reconcile ")
    })
}

#[test]
fn limit_needs_a_list_and_zero_rows_says_so() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let out = env.at_now().run(["status", "--limit", "5"]).exits(2);
    assert!(out.stderr().contains("--invoices"), "{}", out.stderr());
    let out = env
        .at_now()
        .run(["status", "--invoices", "--limit", "0"])
        .success();
    assert_eq!(out.stdout().trim(), "0 rows requested");
}

#[test]
fn a_complete_campaign_names_its_rejected_batches_and_the_next_command() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    reject_first_batch(&env);
    let out = tick(&env, env.t0 + Duration::hours(25));
    let text = out.stdout();
    assert!(
        text.contains("0 of 8 batches issued, 7 missed, 1 rejected"),
        "{text}"
    );
    assert!(
        text.contains("stark issue-invoices --new-campaign"),
        "{text}"
    );
}
