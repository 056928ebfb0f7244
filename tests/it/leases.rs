//! Leases between real processes: a sender whose lease has expired by some clock but who is
//! alive keeps it (a stepped wall clock, a stall past the lease); a sender whose lease another
//! process took over sends nothing more. The sandbox's ground truth is the judge: one batch of
//! invoices per tag, one transfer per invoice.

use std::process::{Child, Stdio};
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::harness::*;

/// A foreign lease owner: a process on another host, whose liveness cannot be told here.
const ELSEWHERE: &str = "elsewhere:4242:777:00000000-0000-4000-8000-000000000000:4026531836";

fn count(env: &Env, sql: &str) -> i64 {
    env.sql_i64(sql)
}

/// Wait until `child` holds a lease in `table` (it is in flight at the bank).
fn wait_for_lease(env: &Env, table: &str, child: &mut Child) {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE lease_until IS NOT NULL");
    // The ledger may not exist yet, or hold no tables yet.
    let leased = wait_until(StdDuration::from_secs(20), || {
        (on_postgres() || env.ledger.exists())
            && stark::ledger::Ledger::open(&env.ledger)
                .ok()
                .and_then(|l| l.db().raw_query(&sql, &[]).ok())
                .and_then(|rows| rows.first().and_then(|r| r.get::<i64>(0).ok()))
                .is_some_and(|n| n > 0)
    });
    if !leased {
        let _ = child.kill();
    }
    assert!(leased, "the first sender never took a lease on {table}");
}

fn spawn(run: &Run, args: &[&str]) -> Child {
    run.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill({}, {sig})", child.id());
}

/// Every batch tag at the bank holds exactly the invoices its ledger row planned.
fn assert_one_batch_per_tag(env: &Env) -> usize {
    let batches = env.batches_at_bank();
    for (tag, invoices) in &batches {
        let planned = count(
            env,
            &format!("SELECT invoice_count FROM batches WHERE tag = '{tag}'"),
        );
        assert_eq!(
            invoices.len() as i64,
            planned,
            "{tag} was sent more than once"
        );
    }
    batches.len()
}

/// The second sender found the batch leased and left it; the first, alive all along, issued
/// it, once.
fn the_second_waited_and_the_first_sent_once(
    env: &Env,
    second: &Output,
    first: std::process::Child,
) {
    assert!(
        second
            .stdout()
            .contains("another stark process is sending it"),
        "{}\n{}",
        second.stdout(),
        second.stderr()
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("batch 1/8: issued"),
        "{}",
        stdout(&first)
    );
    assert_eq!(assert_one_batch_per_tag(env), 1);
}

#[test]
fn a_sender_with_a_stepped_clock_does_not_take_a_live_senders_lease() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    // The first sender's lookup and POST are slow: it is in flight, holding its lease.
    env.faults(&[
        "invoice.list:latency=1@3000",
        "invoice.create:latency=1@5000",
    ]);
    let at = env.at(env.t0);
    let mut first = spawn(&at, &["issue-invoices"]);
    wait_for_lease(&env, "batches", &mut first);
    // A second process whose wall clock is a day ahead: by its clock the lease has expired,
    // but its owner is alive on this host.
    let second = at
        .clone()
        .env("STARK_WALL_SKEW_SECS", "100000")
        .run(["issue-invoices"])
        .success();
    the_second_waited_and_the_first_sent_once(&env, &second, first);
}

/// `run ARGS` in a PID namespace of its own (like another container with the same hostname),
/// if this machine lets us make one (`unshare`, as root or with user namespaces).
fn spawn_in_own_pid_namespace(run: &Run, args: &[&str]) -> Option<Child> {
    let probe = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let stark = run.command(args);
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(stark.get_program())
        .args(stark.get_args())
        .env_clear();
    for (k, v) in stark.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    Some(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_live_sender_in_another_pid_namespace_with_the_same_hostname_keeps_its_lease() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    env.faults(&[
        "invoice.list:latency=1@3000",
        "invoice.create:latency=1@5000",
    ]);
    let at = env.at(env.t0);
    let Some(mut first) = spawn_in_own_pid_namespace(&at, &["issue-invoices"]) else {
        eprintln!("skipped: this machine cannot make a PID namespace (unshare)");
        return;
    };
    wait_for_lease(&env, "batches", &mut first);
    // Its pid means another process here (or none): its liveness cannot be told from this
    // namespace, so its lease is waited out, not voided.
    let second = at.run(["issue-invoices"]).success();
    the_second_waited_and_the_first_sent_once(&env, &second, first);
}

#[test]
fn a_stalled_sender_is_not_overtaken_while_alive_and_sends_once_after_it_resumes() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    env.faults(&[
        "invoice.list:latency=1@1500",
        "invoice.create:latency=1@1500",
    ]);
    let at = env.at(env.t0).env("STARK_LEASE_SECS", "1");
    let mut first = spawn(&at, &["issue-invoices"]);
    wait_for_lease(&env, "batches", &mut first);
    // Stalled (SIGSTOP) mid-lookup, well past its 1 s lease.
    signal(&first, libc::SIGSTOP);
    std::thread::sleep(StdDuration::from_millis(2500));
    let second = at.run(["issue-invoices"]);
    signal(&first, libc::SIGCONT);
    let second = second.success();
    the_second_waited_and_the_first_sent_once(&env, &second, first);
}

#[test]
fn a_sender_whose_batch_lease_was_taken_over_sends_nothing_more_and_exits_1() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    env.faults(&["invoice.list:latency=1@2000"]);
    let mut first = spawn(&env.at(env.t0), &["issue-invoices"]);
    wait_for_lease(&env, "batches", &mut first);
    // While it looks the batch up, a process on another host takes the lease over (as after
    // this one stalled past it).
    env.sql_exec(
        "UPDATE batches SET lease_owner = ?1, lease_until = lease_until + 100000",
        &[&ELSEWHERE],
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", stdout(&first));
    assert!(
        stderr(&first).contains("lost its lease"),
        "{}",
        stderr(&first)
    );
    assert_eq!(
        env.batches_at_bank().len(),
        0,
        "sent after losing its lease"
    );
    // The new holder's lease is untouched.
    let owner: String = env.sql_one("SELECT lease_owner FROM batches", &[]);
    assert_eq!(owner, ELSEWHERE);
}

#[test]
fn a_sender_whose_transfer_leases_were_taken_over_sends_nothing_more_and_exits_1() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1)); // every invoice paid and credited
    env.at_now().run(["reconcile", "--no-transfer"]).success();
    let credits = count(&env, "SELECT COUNT(*) FROM credits WHERE net > 0");
    assert!(credits > 0);
    env.faults(&["transfer.list:latency=1@2000"]);
    let mut first = spawn(&env.at_now(), &["transfer-credited"]);
    wait_for_lease(&env, "transfers", &mut first);
    env.sql_exec(
        "UPDATE transfers SET lease_owner = ?1, lease_until = lease_until + 100000 WHERE lease_until IS NOT NULL",
        &[&ELSEWHERE],
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", stdout(&first));
    assert!(
        stderr(&first).contains("lost the transfer's lease"),
        "{}",
        stderr(&first)
    );
    assert_eq!(
        env.truth().transfers.len(),
        0,
        "sent after losing its leases"
    );
    // Releasing at the end of the run left the new holder's leases alone.
    assert_eq!(
        count(
            &env,
            &format!(
                "SELECT COUNT(*) FROM transfers WHERE lease_owner = '{ELSEWHERE}' AND lease_until IS NOT NULL"
            )
        ),
        count(&env, "SELECT COUNT(*) FROM transfers")
    );
}
