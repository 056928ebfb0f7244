//! The money path against `stark sandbox`: serve-webhook, transfer-credited and reconcile,
//! exactly once under duplicates, reordering, lost responses, failures, kills and overlap.

use std::process::Stdio;
use std::time::Duration as StdDuration;

use crate::harness::*;
use chrono::Duration;

/// Issue one batch at t0 (every invoice gets paid once the clock moves).
fn issue(env: &Env) -> usize {
    tick(env, env.t0).success();
    env.batches_at_bank().values().map(Vec::len).sum()
}

fn count(env: &Env, sql: &str) -> i64 {
    env.sql_i64(sql)
}

fn run(env: &Env, args: &[&str]) -> Output {
    env.at_now().run(args)
}

#[test]
fn webhook_with_duplicate_and_reordered_deliveries_then_reconcile_pays_each_credit_once() {
    let env = Env::new(|c| {
        c.pay_rate = 1.0;
    });
    env.faults(&["duplicate-delivery=0.5", "reorder-delivery=0.5"]);
    let server = serve(&env, &[]);
    let n = issue(&env);
    env.advance(Duration::hours(1)); // every invoice paid and credited; events delivered
    env.flush();
    env.wait_for_credits(n);
    // The server transfers in the background.
    assert!(wait_until(StdDuration::from_secs(20), || count(
        &env,
        "SELECT COUNT(*) FROM transfers WHERE status IN ('created', 'processing', 'success')"
    ) as usize
        == n));
    let webhook_events = count(&env, "SELECT COUNT(*) FROM events WHERE source = 'webhook'");
    assert!(webhook_events > 0);
    drop(server);
    // Reconcile sees the same credits again (events and invoice logs): nothing new is paid.
    env.settle();
    let summary = env.assert_money_invariants();
    assert_eq!(summary.paid, n);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM transfers"), n as i64);
}

#[test]
fn reconcile_alone_picks_up_every_credit_when_the_webhook_was_down() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    let report = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(
        report["credits_from_events"].as_u64().unwrap() as usize,
        n,
        "{report}"
    );
    assert_eq!(report["transfers"]["sent"].as_u64().unwrap() as usize, n);
    assert!(
        report["transfers"]["requests"].as_u64().unwrap() <= 1,
        "one request for <= 100 transfers"
    );
    assert!(report["events_marked"].as_u64().unwrap() > 0);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(
        env.truth().undelivered_events,
        0,
        "every event was marked delivered"
    );
}

#[test]
fn credits_whose_events_were_deleted_are_found_in_the_invoice_logs() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    // Another tool deleted every event: only the invoice logs remain.
    let key = stark::keys::PrivateKey::load(&env.key_path).unwrap();
    let client = stark::api::Client::new(stark::api::ClientConfig::new(
        env.url.clone(),
        PROJECT,
        std::sync::Arc::new(key),
    ))
    .unwrap();
    env.rt.block_on(async {
        let events: Vec<serde_json::Value> = client
            .list_all("event", "events", stark::api::Query::new())
            .await
            .unwrap();
        assert!(!events.is_empty());
        for e in events {
            client
                .delete_event(e["id"].as_str().unwrap())
                .await
                .unwrap();
        }
    });
    let report = run(&env, &["reconcile", "--json"]).json();
    assert_eq!(
        report["credits_from_logs"].as_u64().unwrap() as usize,
        n,
        "{report}"
    );
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
}

#[test]
fn a_lost_response_on_the_transfer_post_leaves_exactly_one_transfer() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.faults(&["transfer.create:lost-response=1"]);
    let report = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(
        report["transfers"]["found_by_lookup"].as_u64().unwrap() as usize,
        n,
        "{report}"
    );
    env.faults(&[]);
    assert_eq!(env.truth().transfers.len(), n);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n);
}

#[test]
fn server_errors_on_transfers_are_resolved_by_lookup_and_later_runs() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.faults(&["transfer.create:503=1"]);
    // Unresolved transfers make the run fail.
    run(&env, &["reconcile"]).exits(1);
    assert_eq!(env.truth().transfers.len(), 0);
    env.faults(&["transfer.create:500=0.5", "transfer.list:lost-response=0.3"]);
    for _ in 0..6 {
        let _ = run(&env, &["transfer-credited"]);
    }
    env.faults(&[]);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
}

#[test]
fn a_transfer_that_fails_is_retried_once_with_attempt_two() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    run(&env, &["reconcile"]).success();
    // The bank fails one transfer.
    let first = env.truth().transfers[0].clone();
    env.admin(
        "POST",
        &format!("/_sandbox/transfers/{}/fail", first.id),
        serde_json::json!({}),
    );
    env.settle();
    let summary = env.assert_money_invariants();
    assert_eq!(summary.paid, n);
    let invoice = first.tags[0]
        .strip_prefix("stark-invoice-")
        .unwrap()
        .to_string();
    let attempts: Vec<(String, String)> = env
        .sql_rows(
            "SELECT external_id, status FROM transfers WHERE invoice_id = ?1 ORDER BY attempt",
            &[&invoice],
        )
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (format!("stark-xfer-{invoice}-a1"), "failed".to_string()),
            (format!("stark-xfer-{invoice}-a2"), "success".to_string())
        ]
    );
}

#[test]
fn attempts_are_bounded_then_the_credit_waits_for_the_operator() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    issue(&env);
    env.advance(Duration::hours(1));
    env.faults(&["transfer-fail=1"]);
    for _ in 0..5 {
        env.advance(Duration::minutes(30));
        let _ = run(&env, &["reconcile", "--max-attempts", "2"]);
    }
    // Every credit: two failed attempts, no third, nothing paid.
    let max_attempt = count(&env, "SELECT MAX(attempt) FROM transfers");
    assert_eq!(max_attempt, 2);
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM transfers WHERE status = 'success'"
        ),
        0
    );
    assert!(env.truth().transfers.iter().all(|t| t.status == "failed"));
    // More runs do not try again: the credits wait for the operator.
    let before = env.truth().transfers.len();
    env.faults(&[]);
    let _ = run(&env, &["reconcile", "--max-attempts", "2"]);
    assert_eq!(env.truth().transfers.len(), before);
    // The operator retries one invoice: attempt 3 goes out and succeeds.
    let invoice: String = env.sql_one(
        "SELECT invoice_id FROM credits ORDER BY invoice_id LIMIT 1",
        &[],
    );
    // Done, but the other credits still wait: exit 3.
    let out = run(
        &env,
        &[
            "transfer-credited",
            "--max-attempts",
            "2",
            "--retry",
            &invoice,
        ],
    )
    .exits(3);
    assert!(stderr(&out).contains(" attention: "), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("invoice {invoice}: attempt 3 claimed")),
        "{}",
        stdout(&out)
    );
    env.settle();
    let status: String = env.sql_one(
        "SELECT status FROM transfers WHERE invoice_id = ?1 AND attempt = 3",
        &[&invoice],
    );
    assert_eq!(status, "success");
    // Retrying a paid credit is refused.
    let out = run(&env, &["transfer-credited", "--retry", &invoice]).exits(2);
    assert!(
        stderr(&out).contains("nothing to retry"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn killed_while_transferring_then_transfer_credited_finishes_exactly_once() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    // Creates hang long enough to kill the server mid-POST.
    env.faults(&["transfer.create:latency=1@3000"]);
    let mut server = serve(&env, &[]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.flush();
    assert!(
        wait_until(StdDuration::from_secs(20), || count(
            &env,
            "SELECT COUNT(*) FROM transfers WHERE status = 'sending'"
        ) > 0),
        "the background transfer started"
    );
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    assert_eq!(count(&env, "SELECT COUNT(*) FROM credits") as usize, n);
    env.faults(&[]);
    // The POST may or may not have reached the bank. The dead server's lease is void at once
    // (its owner is gone): the next run looks the transfers up before sending anything.
    let leased = count(
        &env,
        "SELECT COUNT(*) FROM transfers WHERE lease_until IS NOT NULL",
    );
    assert!(leased > 0, "the killed server held leases");
    let out = run(&env, &["transfer-credited", "--json"]);
    let report = out.json();
    assert!(
        report["found_by_lookup"].as_u64().unwrap() + report["sent"].as_u64().unwrap()
            >= leased as u64,
        "{report}"
    );
    out.success();
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n);
}

#[test]
fn killed_after_recording_credits_before_any_transfer() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let mut server = serve(&env, &["--no-transfer"]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.flush();
    env.wait_for_credits(n);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(env.truth().transfers.len(), 0);
    let out = run(&env, &["transfer-credited"]).success();
    assert!(
        stdout(&out).contains(&format!("{n} sent")),
        "{}",
        stdout(&out)
    );
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
}

#[test]
fn serve_webhook_and_transfer_credited_at_the_same_time() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    env.faults(&["transfer.create:latency=0.5@300"]);
    let _server = serve(&env, &[]);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    env.flush();
    // Cron runs overlapping with the server's own transfer step.
    let at = env.at_now();
    let children: Vec<_> = (0..3)
        .map(|_| {
            at.command(["transfer-credited"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        c.wait().unwrap();
    }
    env.faults(&[]);
    assert!(wait_until(StdDuration::from_secs(20), || count(
        &env,
        "SELECT COUNT(*) FROM transfers WHERE status NOT IN ('claimed', 'sending')"
    ) as usize
        == n));
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n);
}

#[test]
fn foreign_credits_and_fee_equal_to_amount_are_recorded_but_never_transferred() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let n = issue(&env);
    // Another tool in the same workspace issues an invoice; it gets paid.
    let key = stark::keys::PrivateKey::load(&env.key_path).unwrap();
    let client = stark::api::Client::new(stark::api::ClientConfig::new(
        env.url.clone(),
        PROJECT,
        std::sync::Arc::new(key),
    ))
    .unwrap();
    let foreign = env
        .rt
        .block_on(client.create_invoices_raw(
            br#"{"invoices":[{"amount":5000,"taxId":"012.345.678-90","name":"Outra Ferramenta"}]}"#,
        ))
        .unwrap();
    env.admin(
        "POST",
        &format!("/_sandbox/invoices/{}/pay", foreign[0].id),
        serde_json::json!({}),
    );
    // One of ours is paid with a fee equal to its amount; the rest normally.
    let ours: Vec<String> = env
        .batches_at_bank()
        .values()
        .flatten()
        .map(|i| i.id.clone())
        .collect();
    let amount = env
        .truth()
        .invoices
        .iter()
        .find(|i| i.id == ours[0])
        .unwrap()
        .nominal_amount;
    env.admin(
        "POST",
        &format!("/_sandbox/invoices/{}/pay", ours[0]),
        serde_json::json!({"amount": amount, "fee": amount}),
    );
    for id in &ours[1..] {
        env.admin(
            "POST",
            &format!("/_sandbox/invoices/{id}/pay"),
            serde_json::json!({}),
        );
    }
    run(&env, &["reconcile"]).success();
    env.settle();
    let summary = env.assert_money_invariants();
    assert_eq!(summary.paid, n - 1);
    assert_eq!(summary.foreign, 1);
    assert_eq!(summary.nothing_to_forward, 1);
    let reason: String = env.sql_one(
        "SELECT skip_reason FROM credits WHERE invoice_id = ?1",
        &[&ours[0]],
    );
    assert!(reason.contains("nothing to forward"), "{reason}");
    let foreign_recorded = count(
        &env,
        &format!(
            "SELECT COUNT(*) FROM credits WHERE invoice_id = '{}'",
            foreign[0].id
        ),
    );
    assert_eq!(foreign_recorded, 1);
}

#[test]
fn graceful_shutdown_removes_the_webhook_and_a_restart_replaces_stale_ones() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let server = serve(&env, &[]);
    let hooks = |env: &Env| {
        env.admin("GET", "/_sandbox/state", serde_json::Value::Null)["webhooks"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(hooks(&env), 1);
    // SIGKILL: the webhook stays registered (stale).
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(hooks(&env), 1);
    // A restart removes the stale one and registers its own.
    let mut server = serve(&env, &[]);
    assert_eq!(hooks(&env), 1);
    // SIGTERM: graceful; deletes its webhook.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let status = server.child.wait().unwrap();
    assert!(status.success());
    assert_eq!(hooks(&env), 0);
}

/// An API client of this environment's project (to act on the bank behind the ledger's back).
fn client(env: &Env) -> stark::api::Client {
    let key = stark::keys::PrivateKey::load(&env.key_path).unwrap();
    stark::api::Client::new(stark::api::ClientConfig::new(
        env.url.clone(),
        PROJECT,
        std::sync::Arc::new(key),
    ))
    .unwrap()
}

fn transfer_statuses(env: &Env) -> Vec<(String, String)> {
    env.sql_rows("SELECT external_id, status FROM transfers ORDER BY id", &[])
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

/// Issue 12, sequence 1: a POST takes effect but its answer is lost; the lookup misses it
/// (the list lags); the resend is refused as a duplicate `externalId`. That row must stay
/// open (never `rejected`), and the operator's `--retry` must not send attempt 2.
#[test]
fn a_resend_refused_as_a_duplicate_while_the_list_lags_stays_open_and_is_never_paid_twice() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    // Every POST takes effect and its answer is lost; lists leave out the last 10 minutes.
    let lag = "transfer.list:list-lag=1@600000";
    env.faults(&["transfer.create:lost-response=1", lag]);
    run(&env, &["reconcile"]).failure();
    assert_eq!(env.truth().transfers.len(), n, "the bank holds every one");
    // The next run: the lookup still misses them; the resend is refused as a duplicate.
    env.faults(&[lag]);
    let out = run(&env, &["transfer-credited", "--json"]).exits(1);
    let report = out.json();
    assert_eq!(report["rejected"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(
        report["unresolved"].as_array().unwrap().len(),
        n,
        "{report}"
    );
    assert!(
        transfer_statuses(&env)
            .iter()
            .all(|(_, status)| status == "sending"),
        "open, looked up again: {:?}",
        transfer_statuses(&env)
    );
    assert_eq!(env.truth().transfers.len(), n, "nothing sent twice");
    // The operator retries while they are open: refused (exit 2), nothing claimed.
    let invoice: String = env.sql_one("SELECT invoice_id FROM transfers ORDER BY id LIMIT 1", &[]);
    run(&env, &["transfer-credited", "--retry", &invoice]).exits(2);
    // A ledger that filed it `rejected` (an earlier version did): the retry asks the bank
    // first, which holds attempt 1, and refuses.
    env.advance(Duration::minutes(15));
    env.sql_exec(
        "UPDATE transfers SET status = 'rejected' WHERE invoice_id = ?1",
        &[&invoice],
    );
    let out = run(&env, &["transfer-credited", "--retry", &invoice]).exits(2);
    assert!(
        out.stderr().contains("already holds transfer"),
        "{}",
        out.stderr()
    );
    assert_eq!(env.truth().transfers.len(), n);
    // Past the lag, the next runs find them all.
    env.faults(&[]);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM transfers"),
        n as i64,
        "no attempt 2"
    );
}

/// Issue 12, sequence 2: the bank holds attempt 2 of a credit from before the ledger was
/// restored (attempt 1 had been refused, so the bank has no attempt 1); the restored ledger
/// claims attempt 1 afresh. Fresh claims are looked up first: the bank's live transfer is
/// adopted (its own attempt row), the claim withdrawn, nothing paid twice — and a second
/// restore finds everything again.
#[test]
fn a_restored_ledger_adopts_the_live_transfers_the_bank_holds_instead_of_paying_again() {
    use stark::api::Bank;
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    let backup = spare_ledger_address(&env.ledger, env.dir.path(), "backup.sqlite3");
    copy_ledger(&env.ledger, &backup);
    // Attempt 2 for one credited invoice, made before the restore.
    let inv = env
        .truth()
        .invoices
        .into_iter()
        .find(|i| i.credited)
        .unwrap();
    let element = stark::api::model::transfer_element(&stark::api::model::TransferRequest {
        amount: inv.amount - inv.fee,
        name: "Stark Bank S.A.".into(),
        tax_id: "20.018.183/0001-80".into(),
        bank_code: "20018183".into(),
        branch_code: "0001".into(),
        account_number: "6341320293482496".into(),
        account_type: "payment".into(),
        external_id: format!("stark-xfer-{}-a2", inv.id),
        tags: vec![format!("stark-invoice-{}", inv.id)],
        description: Some(format!("Credit of invoice {}", inv.id)),
    });
    let body = stark::api::model::transfers_body(&[element]);
    env.rt
        .block_on(client(&env).create_transfers(body.as_bytes()))
        .unwrap();
    // The restored ledger records the credits and claims attempt 1 for each.
    let report = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(env.truth().transfers.len(), n, "paid twice: {report}");
    assert_eq!(report["transfers"]["adopted"], 1, "{report}");
    assert_eq!(report["transfers"]["superseded"], 1, "{report}");
    assert_eq!(
        report["transfers"]["sent"].as_u64().unwrap() as usize,
        n - 1,
        "{report}"
    );
    let attempts: Vec<(String, String)> = transfer_statuses(&env)
        .into_iter()
        .filter(|(ext, _)| ext.starts_with(&format!("stark-xfer-{}-", inv.id)))
        .collect();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].0, format!("stark-xfer-{}-a2", inv.id));
    assert_eq!(env.truth().transfers.len(), n);
    // Restored again: every claim is looked up before its first POST; nothing is sent.
    copy_ledger(&backup, &env.ledger);
    let report = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(report["transfers"]["sent"], 0, "{report}");
    assert_eq!(report["transfers"]["requests"], 0, "{report}");
    assert_eq!(env.truth().transfers.len(), n);
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n);
}

/// Issue 12, sequence 3: a request-level 400 on the transfer POST (the credentials, the
/// clock) files nothing: the transfers stay claimed, the run exits 2, and the next good run
/// sends each exactly once.
#[test]
fn request_level_refusals_of_the_transfer_post_keep_the_claims_and_exit_2() {
    for fault in [
        "transfer.create:invalid-credentials=1",
        "transfer.create:invalid-access-time=1",
    ] {
        let env = Env::new(|c| c.pay_rate = 1.0);
        let n = issue(&env);
        env.advance(Duration::hours(1));
        env.faults(&[fault]);
        run(&env, &["reconcile"]).failure();
        let claimed = |env: &Env| {
            let statuses = transfer_statuses(env);
            assert_eq!(statuses.len(), n, "{fault}");
            assert!(
                statuses.iter().all(|(_, s)| s == "claimed"),
                "{fault}: {statuses:?}"
            );
        };
        claimed(&env);
        let out = run(&env, &["transfer-credited"]).exits(2);
        assert!(out.stderr().contains("stay claimed"), "{}", out.stderr());
        assert_eq!(env.truth().transfers.len(), 0, "{fault}");
        claimed(&env);
        env.faults(&[]);
        let report = run(&env, &["transfer-credited", "--json"]).success().json();
        assert_eq!(
            report["sent"].as_u64().unwrap() as usize,
            n,
            "{fault}: {report}"
        );
        assert_eq!(report["requests"], 1, "{fault}: one POST for <= 100");
        env.settle();
        assert_eq!(env.assert_money_invariants().paid, n, "{fault}");
        assert_eq!(env.truth().transfers.len(), n, "{fault}");
    }
}

/// `reconcile` marks delivered only the events that concern this ledger. Another integration
/// issuing invoices in the same workspace keeps its events undelivered for its own sweep, and
/// a second reconcile applies nothing again.
#[test]
fn reconcile_leaves_other_integrations_events_undelivered() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    let other = env.other_client();
    let body = r#"{"invoices": [{"amount": 1500, "taxId": "012.345.678-90", "name": "Outra Ferramenta"},
                                {"amount": 2500, "taxId": "337.451.076-08", "name": "Outra Ferramenta"}]}"#;
    env.rt
        .block_on(other.create_invoices_raw(body.as_bytes()))
        .unwrap();
    env.advance(Duration::hours(1));
    let report = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(report["credits_from_events"].as_u64().unwrap() as usize, n);
    // created, paid and credited for each of the other tool's two invoices.
    assert_eq!(report["events_left_for_others"], 6, "{report}");
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    // Every event of ours was marked delivered (the transfers' too); the other tool's were not.
    assert_eq!(env.truth().undelivered_events, 6);
    let again = run(&env, &["reconcile", "--json"]).success().json();
    assert_eq!(again["events_applied"], 0, "{again}");
    assert_eq!(again["events_marked"], 0, "{again}");
    assert_eq!(env.truth().undelivered_events, 6);
}

/// A request-level refusal (the credentials, the clock) exits 2 from `reconcile` as from every
/// other command, wherever the sweep meets it: listing events, reading the invoice logs, or
/// sending the transfers (which stay claimed). It used to exit 1 for the last two.
#[test]
fn reconcile_exits_2_on_a_request_level_refusal_wherever_it_meets_it() {
    // (fault, share of invoices paid): the invoice logs are read for unpaid invoices only.
    for (fault, pay_rate) in [
        ("event.list:invalid-credentials=1", 1.0),
        ("invoice.log.list:invalid-access-time=1", 0.0),
        ("transfer.create:invalid-credentials=1", 1.0),
        ("transfer.create:invalid-access-time=1", 1.0),
    ] {
        let env = Env::new(|c| c.pay_rate = pay_rate);
        let issued = issue(&env);
        let n = if pay_rate > 0.0 { issued } else { 0 };
        env.advance(Duration::hours(1));
        env.faults(&[fault]);
        let out = run(&env, &["reconcile"]).exits(2);
        assert!(out.stderr().contains("hint:"), "{fault}: {}", out.stderr());
        assert_eq!(env.truth().transfers.len(), 0, "{fault}");
        env.faults(&[]);
        env.settle();
        assert_eq!(env.assert_money_invariants().paid, n, "{fault}");
    }
}

/// A transfer that may have been sent (its POST had no clear answer) and whose resend the bank
/// refuses element by element stays open and is looked up again — forever, if the bank keeps
/// refusing it and never lists it. `status` says how out: `--retry` asks the bank, and as it
/// holds nothing live for the invoice, files the row `rejected` and opens a new attempt, paid
/// exactly once. The retry used to be refused while the row was open.
#[test]
fn retry_opens_a_new_attempt_for_a_maybe_sent_transfer_the_bank_refuses_and_does_not_hold() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    // Every POST gets a 503 (nothing done, but unclear): the rows stay open, maybe sent.
    env.faults(&["transfer.create:503=1"]);
    run(&env, &["reconcile"]).exits(1);
    env.faults(&[]);
    assert!(
        transfer_statuses(&env).iter().all(|(_, s)| s == "sending"),
        "{:?}",
        transfer_statuses(&env)
    );
    // One row's stored element is one the bank refuses (as a changed rule would).
    let row = env
        .sql_rows(
            "SELECT id, invoice_id, body FROM transfers ORDER BY id LIMIT 1",
            &[],
        )
        .remove(0);
    let (id, invoice, body): (i64, String, String) = (
        row.get(0).unwrap(),
        row.get(1).unwrap(),
        row.get(2).unwrap(),
    );
    let mut element: serde_json::Value = serde_json::from_str(&body).unwrap();
    element["amount"] = (-1).into();
    env.sql_exec(
        "UPDATE transfers SET body = ?2 WHERE id = ?1",
        &[&id, &element.to_string()],
    );
    for _ in 0..2 {
        let report = run(&env, &["transfer-credited", "--json"]).exits(1).json();
        assert_eq!(report["rejected"].as_array().unwrap().len(), 0, "{report}");
        assert_eq!(
            report["unresolved"].as_array().unwrap().len(),
            1,
            "{report}"
        );
    }
    let status: String = env.sql_one("SELECT status FROM transfers WHERE id = ?1", &[&id]);
    assert_eq!(status, "sending", "open, looked up again, never filed");
    assert_eq!(env.truth().transfers.len(), n - 1);
    // `status` names the way out for that credit, and only for it.
    env.advance(Duration::minutes(40));
    let text = run(&env, &["status"]).success().stdout();
    let advice = format!("stark transfer-credited --retry {invoice} asks the bank");
    assert_eq!(text.matches(&advice).count(), 1, "{text}");
    let report = run(&env, &["status", "--json"]).success().json();
    let stale = report["attention"]["stale_credits"]["items"]
        .as_array()
        .unwrap();
    let advised: Vec<_> = stale
        .iter()
        .filter(|c| c["retry_opens_new_attempt"] == true)
        .map(|c| c["invoice_id"].as_str().unwrap())
        .collect();
    assert_eq!(advised, [invoice.as_str()]);
    // The operator follows it: the bank holds nothing live for the invoice; attempt 2.
    let out = run(&env, &["transfer-credited", "--retry", &invoice]).success();
    assert!(
        out.stdout()
            .contains(&format!("invoice {invoice}: attempt 2 claimed")),
        "{}",
        out.stdout()
    );
    let statuses: Vec<String> = env
        .sql_rows(
            "SELECT status FROM transfers WHERE invoice_id = ?1 ORDER BY attempt",
            &[&invoice],
        )
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(statuses[0], "rejected", "{statuses:?}");
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    env.settle();
    assert_eq!(env.assert_money_invariants().paid, n);
    assert_eq!(env.truth().transfers.len(), n, "one transfer per credit");
    // Nothing left to retry: refused.
    run(&env, &["transfer-credited", "--retry", &invoice]).exits(2);
}

/// Another tool's invoice in the same workspace, paid: its id and what its credit leaves
/// (amount − fee).
fn paid_foreign_invoice(env: &Env) -> (String, i64) {
    let client = env.other_client();
    let foreign = env
        .rt
        .block_on(client.create_invoices_raw(
            br#"{"invoices":[{"amount":5000,"taxId":"012.345.678-90","name":"Outra Ferramenta"}]}"#,
        ))
        .unwrap();
    let id = foreign[0].id.clone();
    env.admin(
        "POST",
        &format!("/_sandbox/invoices/{id}/pay"),
        serde_json::json!({}),
    );
    let inv = env
        .truth()
        .invoices
        .into_iter()
        .find(|i| i.id == id)
        .unwrap();
    (id, inv.amount - inv.fee)
}

/// The bank's truth: what our credited invoices leave (amount − fee), and what was
/// transferred.
fn credited_and_transferred(env: &Env) -> (i64, i64) {
    let ours: std::collections::HashSet<String> = env
        .batches_at_bank()
        .values()
        .flatten()
        .map(|i| i.id.clone())
        .collect();
    let truth = env.truth();
    let credited = truth
        .invoices
        .iter()
        .filter(|i| i.credited && ours.contains(&i.id))
        .map(|i| i.amount - i.fee)
        .sum();
    let transferred = truth.transfers.iter().map(|t| t.amount).sum();
    (credited, transferred)
}

#[test]
fn the_reconcile_and_transfer_summaries_carry_the_money_they_moved() {
    use stark::domain::money::format_brl;
    // The text summaries.
    let env = Env::new(|c| c.pay_rate = 1.0);
    issue(&env);
    env.advance(Duration::hours(1));
    let (_, foreign_net) = paid_foreign_invoice(&env);
    let text = run(&env, &["reconcile", "--no-transfer"])
        .success()
        .stdout();
    let (credited, _) = credited_and_transferred(&env);
    assert!(credited > 0);
    assert!(
        text.contains(&format!(", {} to forward", format_brl(credited))),
        "{text}"
    );
    assert!(
        text.contains(&format!("foreign credits: 1 ({})", format_brl(foreign_net))),
        "{text}"
    );
    let text = run(&env, &["transfer-credited"]).success().stdout();
    let (_, transferred) = credited_and_transferred(&env);
    assert_eq!(transferred, credited, "every credit forwarded once");
    assert!(
        text.contains(&format!("sent in 1 request ({})", format_brl(transferred))),
        "{text}"
    );

    // The JSON documents: the same amounts, in cents.
    let env = Env::new(|c| c.pay_rate = 1.0);
    issue(&env);
    env.advance(Duration::hours(1));
    let (_, foreign_net) = paid_foreign_invoice(&env);
    let report = run(&env, &["reconcile", "--json"]).success().json();
    let (credited, transferred) = credited_and_transferred(&env);
    assert_eq!(report["credits_net"], credited, "{report}");
    assert_eq!(report["foreign_credits"], 1, "{report}");
    assert_eq!(report["foreign_credits_net"], foreign_net, "{report}");
    assert_eq!(report["transfers"]["sent_amount"], transferred, "{report}");
    assert_eq!(report["transfers"]["failed_amount"], 0, "{report}");
    assert_eq!(report["transfers"]["unresolved_amount"], 0, "{report}");
}

#[test]
fn transfers_without_a_clear_answer_are_summed_once_each() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let n = issue(&env);
    env.advance(Duration::hours(1));
    run(&env, &["reconcile", "--no-transfer"]).success();
    // Every POST answers 503 (it may have been applied): no transfer gets a clear answer.
    env.faults(&["transfer.create:503=1"]);
    let (credited, _) = credited_and_transferred(&env);
    let report = run(&env, &["transfer-credited", "--json"]).exits(1).json();
    assert_eq!(report["sent_amount"], 0, "{report}");
    assert_eq!(report["claimed"], n, "{report}");
    assert_eq!(report["unresolved_amount"], credited, "{report}");
}
