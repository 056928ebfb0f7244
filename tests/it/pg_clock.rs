//! On a PostgreSQL ledger, shared by several hosts, leases are timed by the database server's
//! clock, not by the host's: a host whose clock is a day ahead does not take a lease that
//! another host still holds.

use std::process::Stdio;
use std::time::Duration as StdDuration;

use crate::harness::*;

/// A lease owner on another host: its liveness cannot be told here, so only the clock frees
/// its lease.
const ELSEWHERE: &str = "elsewhere:4242:777:00000000-0000-4000-8000-000000000000:4026531836";

#[test]
fn a_host_whose_clock_is_a_day_ahead_does_not_take_another_hosts_lease_on_postgres() {
    let Some(url) = stark::testing::pg_test_database("pg_clock") else {
        return;
    };
    let mut env = Env::without_ledger(|c| c.pay_rate = 0.0);
    env.ledger = std::path::PathBuf::from(&url);
    env.create_ledger();
    let ledger_id = stark::testing::psql(&url, "SELECT value FROM meta WHERE key = 'ledger_id'");
    // The first sender is slow to look its batch up: it holds the batch's lease meanwhile.
    env.faults(&["invoice.list:latency=1@4000"]);
    let at = env.at(env.t0);
    let mut first = at
        .command(["issue-invoices"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let leased = wait_until(StdDuration::from_secs(20), || {
        stark::testing::psql(
            &url,
            "SELECT COUNT(*) FROM batches WHERE lease_until IS NOT NULL",
        ) == "1"
    });
    assert!(leased, "the first sender never took the batch's lease");
    // The lease passes to a process on another host (its until unchanged: five minutes from
    // now by the database's clock), and the first sender dies before sending anything.
    stark::testing::psql(
        &url,
        &format!("UPDATE batches SET lease_owner = '{ELSEWHERE}'"),
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let until: i64 = stark::testing::psql(&url, "SELECT lease_until FROM batches")
        .parse()
        .unwrap();
    let db_now: i64 =
        stark::testing::psql(&url, "SELECT floor(extract(epoch FROM clock_timestamp()))")
            .parse()
            .unwrap();
    assert!(until > db_now, "the lease is live by the database's clock");

    // A host whose clock is a day ahead: by its own clock the lease expired long ago.
    let second = at
        .clone()
        .env("STARK_WALL_SKEW_SECS", "100000")
        .run(["issue-invoices"])
        .success();
    assert!(
        second
            .stdout()
            .contains("another stark process is sending it"),
        "{}\n{}",
        second.stdout(),
        second.stderr()
    );
    assert!(env.batches_of(&ledger_id).is_empty(), "nothing was sent");
    assert_eq!(
        stark::testing::psql(&url, "SELECT lease_owner FROM batches"),
        ELSEWHERE,
        "the other host keeps its lease"
    );

    // Once the lease has expired by the database's clock, it is taken and the batch sent once.
    stark::testing::psql(
        &url,
        "UPDATE batches SET lease_until = CAST(floor(extract(epoch FROM clock_timestamp())) AS BIGINT) - 1",
    );
    let third = at.run(["issue-invoices"]).success();
    assert!(
        third.stdout().contains("batch 1/8: issued"),
        "{}",
        third.stdout()
    );
    assert_eq!(env.batches_of(&ledger_id).len(), 1);
}
