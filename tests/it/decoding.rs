//! Decoding as tolerant as the official SDKs, against the sandbox's `null-optionals`,
//! `missing-fee` and `undecodable-event` faults: `null` optionals change nothing; a credit
//! without its fee is never forwarded as fee 0, is reported and is forwarded once a later
//! reconcile reads it whole; a verified event that does not decode is kept raw, answered 200
//! once, shown by `status`, and never makes `reconcile` fail for good.

use std::time::Duration as StdDuration;

use crate::harness::*;
use chrono::Duration;

fn count(env: &Env, sql: &str) -> i64 {
    env.sql_i64(sql)
}

/// Issue one batch at t0; how many invoices the bank holds for it.
fn issue(env: &Env) -> usize {
    tick(env, env.t0).success();
    env.batches_at_bank().values().map(Vec::len).sum()
}

fn reconcile(env: &Env) -> serde_json::Value {
    env.at_now().run(["reconcile", "--json"]).success().json()
}

fn status(env: &Env) -> serde_json::Value {
    env.at_now().run(["status", "--json"]).success().json()
}

#[test]
fn null_optionals_everywhere_change_nothing_the_loop_issues_credits_and_forwards() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    // Every answer and every delivery: unset optional fields as `null`.
    env.faults(&["null-optionals=1"]);
    let server = serve(&env, &[]);
    let n = issue(&env);
    assert!(n >= 8, "a whole batch issued: {n}");
    env.advance(Duration::hours(1));
    env.flush();
    env.wait_for_credits(n);
    drop(server);
    env.settle();
    let summary = env.assert_money_invariants();
    assert_eq!(summary.paid, n);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM undecoded_events"), 0);
    let s = status(&env);
    assert_eq!(s["attention"]["undecodable_events"]["total"], 0, "{s}");
    assert_eq!(s["attention"]["incomplete_credits"]["total"], 0, "{s}");
}

#[test]
fn a_credit_without_fee_is_not_forwarded_is_reported_and_a_later_reconcile_forwards_it() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    // Credited invoices come without `fee` everywhere (events and invoice logs).
    env.faults(&["missing-fee=1"]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    let r = reconcile(&env);
    assert_eq!(
        r["credits_incomplete"].as_array().unwrap().len(),
        n,
        "every credit counted as incomplete: {r}"
    );
    assert_eq!(r["credits_from_events"], 0, "{r}");
    assert_eq!(r["credits_from_logs"], 0, "{r}");
    assert_eq!(r["transfers"]["sent"], 0, "{r}");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM credits"), 0);
    assert!(
        env.truth().transfers.is_empty(),
        "nothing forwarded as fee 0"
    );
    // The credited events stay open at the bank (the others are marked).
    let credited_undelivered = || env.truth().undelivered_events;
    assert!(credited_undelivered() >= n, "{}", credited_undelivered());
    let s = status(&env);
    assert_eq!(s["attention"]["incomplete_credits"]["total"], n, "{s}");
    let text = env.at_now().run(["status"]).success().stdout();
    assert!(text.contains("incomplete credit"), "{text}");
    assert!(!text.contains("nothing needs you"), "{text}");
    // Still without fee: the next run says so again, and still forwards nothing.
    let r = reconcile(&env);
    assert_eq!(r["credits_incomplete"].as_array().unwrap().len(), n, "{r}");
    assert!(env.truth().transfers.is_empty());

    // The bank answers whole again: the next reconcile reads the invoice logs and forwards
    // amount − fee, once each.
    env.faults(&[]);
    let r = reconcile(&env);
    assert_eq!(r["credits_from_logs"].as_u64().unwrap() as usize, n, "{r}");
    assert!(
        r["credits_incomplete"].as_array().unwrap().is_empty(),
        "{r}"
    );
    assert_eq!(r["transfers"]["sent"].as_u64().unwrap() as usize, n, "{r}");
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(
        env.truth().undelivered_events,
        0,
        "once recorded, the credited events are marked delivered"
    );
    let s = status(&env);
    assert_eq!(s["attention"]["incomplete_credits"]["total"], 0, "{s}");
}

#[test]
fn a_webhook_credit_without_fee_waits_for_reconcile() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    env.faults(&["delivery:missing-fee=1"]);
    let server = serve(&env, &[]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.flush();
    assert!(
        wait_until(StdDuration::from_secs(20), || count(
            &env,
            "SELECT COUNT(*) FROM events WHERE verdict = 'credit-incomplete'"
        ) as usize
            == n),
        "every credited delivery recorded as incomplete: {}",
        count(
            &env,
            "SELECT COUNT(*) FROM events WHERE verdict = 'credit-incomplete'"
        )
    );
    drop(server);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM credits"), 0);
    assert!(
        env.truth().transfers.is_empty(),
        "nothing forwarded as fee 0"
    );
    assert_eq!(status(&env)["attention"]["incomplete_credits"]["total"], n);
    // The invoice logs carry the fee: reconcile forwards each credit once.
    let r = reconcile(&env);
    assert_eq!(r["credits_from_logs"].as_u64().unwrap() as usize, n, "{r}");
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
}

#[test]
fn an_undecodable_verified_delivery_is_kept_raw_answered_200_once_and_shown_in_status() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    // Every delivery is signed by the sandbox but does not decode; each is POSTed twice.
    env.faults(&["delivery:undecodable-event=1", "duplicate-delivery=1"]);
    let server = serve(&env, &[]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.flush();
    let events = env.truth().events as i64;
    assert!(events >= 3 * n as i64, "{events} events");
    assert!(
        wait_until(StdDuration::from_secs(20), || count(
            &env,
            "SELECT COUNT(*) FROM undecoded_events"
        ) == events),
        "every delivery kept raw: {} of {events}",
        count(&env, "SELECT COUNT(*) FROM undecoded_events")
    );
    drop(server);
    // 200 to every POST: the bank marked each delivered, retried none.
    let truth = env.truth();
    assert_eq!(truth.undelivered_events, 0, "every delivery answered 200");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM events"), 0);
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM undecoded_events WHERE source = 'webhook' AND body LIKE '%\"amount\":\"%'"
        ),
        events,
        "kept as received"
    );
    let s = status(&env);
    let u = &s["attention"]["undecodable_events"];
    assert_eq!(u["total"], events, "{s}");
    assert!(
        u["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid type: string"),
        "{s}"
    );
    let text = env.at_now().run(["status"]).success().stdout();
    assert!(text.contains("undecodable event"), "{text}");
    assert!(!text.contains("nothing needs you"), "{text}");
    // The credits are not lost: reconcile finds them in the invoice logs.
    let r = reconcile(&env);
    assert_eq!(r["credits_from_logs"].as_u64().unwrap() as usize, n, "{r}");
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
}

#[test]
fn reconcile_keeps_undecodable_events_and_exits_0_not_1_for_good() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    env.faults(&["event.list:undecodable-event=1"]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    let events = env.truth().events;
    // Exit 0 (`reconcile` asserts success), every event kept, every credit found in the logs.
    let r = reconcile(&env);
    let kept = r["events_undecodable"].as_array().unwrap();
    assert_eq!(kept.len(), events, "{r}");
    assert!(kept.iter().all(|u| u["new"] == true), "{r}");
    assert!(r["events_failed"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(r["credits_from_logs"].as_u64().unwrap() as usize, n, "{r}");
    assert_eq!(r["transfers"]["sent"].as_u64().unwrap() as usize, n, "{r}");
    // Left undelivered at the bank: whose they are cannot be read. (The transfers added
    // their own events since.)
    let now_events = env.truth().events;
    assert!(now_events > events);
    assert_eq!(env.truth().undelivered_events, now_events);
    // The next run sees them again: still exit 0, only the transfers' events are new, each
    // kept once.
    let r = reconcile(&env);
    let again = r["events_undecodable"].as_array().unwrap();
    assert_eq!(again.len(), now_events, "{r}");
    let new = again.iter().filter(|u| u["new"] == true).count();
    assert_eq!(new, now_events - events, "{r}");
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM undecoded_events WHERE source = 'sweep'"
        ),
        now_events as i64
    );
    assert_eq!(
        status(&env)["attention"]["undecodable_events"]["total"],
        now_events
    );
    // Once they decode (the bank, or a newer stark), they are applied and marked as usual, and
    // `status` no longer lists them.
    env.faults(&[]);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().undelivered_events, 0);
    assert_eq!(status(&env)["attention"]["undecodable_events"]["total"], 0);
}
