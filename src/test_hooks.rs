//! Testing aids: the environment variables that let tests (and the demo's rehearsals) steer a
//! real `stark` process. They live here, in one place, so that it is plain what they are and
//! that nothing else reads them. Operators have no reason to set any of them.
//!
//! | variable                | effect                                                        |
//! |-------------------------|---------------------------------------------------------------|
//! | `STARK_NOW`             | the business "now" of a command, RFC 3339 ([`crate::clock`])  |
//! | `STARK_BACKOFF_MS`      | the first retry step inside one run (default 500 ms)          |
//! | `STARK_BUSY_TIMEOUT_MS` | how long to wait for a locked ledger (default 10 s)           |
//! | `STARK_LEASE_SECS`      | how long a lease on a batch or transfer lasts (default 300 s) |
//! | `STARK_WALL_SKEW_SECS`  | seconds added to this process's wall clock (a stepped clock)  |
//!
//! Each reader returns `None` when the variable is unset or blank, so the caller's default
//! applies. A value that does not parse is ignored too, except `STARK_NOW`, whose text is handed
//! to [`crate::clock::from_env`] to be refused with a clear error.

use std::time::Duration;

/// The business time to use instead of the system clock.
pub const NOW: &str = "STARK_NOW";
/// The first retry step inside one run, in milliseconds.
pub const BACKOFF_MS: &str = "STARK_BACKOFF_MS";
/// The ledger's busy timeout, in milliseconds.
pub const BUSY_TIMEOUT_MS: &str = "STARK_BUSY_TIMEOUT_MS";
/// The length of a lease, in seconds.
pub const LEASE_SECS: &str = "STARK_LEASE_SECS";
/// Seconds added to this process's wall clock, as if it had been stepped.
pub const WALL_SKEW_SECS: &str = "STARK_WALL_SKEW_SECS";

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn millis(name: &str) -> Option<Duration> {
    var(name)?.parse::<u64>().ok().map(Duration::from_millis)
}

/// `STARK_NOW`, trimmed, unparsed.
pub fn now() -> Option<String> {
    var(NOW)
}

/// `STARK_BACKOFF_MS`: the first retry step inside one run.
pub fn backoff() -> Option<Duration> {
    millis(BACKOFF_MS)
}

/// `STARK_BUSY_TIMEOUT_MS`: how long to wait for another process holding the ledger's write
/// lock (lets the lock-contention tests fail in milliseconds instead of ten seconds).
pub fn busy_timeout() -> Option<Duration> {
    millis(BUSY_TIMEOUT_MS)
}

/// `STARK_LEASE_SECS`: how long a lease lasts (lets the stall tests outlive one in seconds).
pub fn lease_secs() -> Option<i64> {
    var(LEASE_SECS)?.parse::<i64>().ok().filter(|s| *s > 0)
}

/// `STARK_WALL_SKEW_SECS`: added to the wall clock that leases read, as if this process's clock
/// had been stepped (forward when positive).
pub fn wall_skew_secs() -> Option<i64> {
    var(WALL_SKEW_SECS)?.parse::<i64>().ok()
}
