//! Leases: a process that sends a batch or a transfer holds it for a while (`lease_until`,
//! real Unix time), so that two processes never send the same thing at once. A lease whose
//! owner process is gone (killed, crashed) is void at once instead of blocking until it
//! expires: the owner is recorded as `host:pid:start-time`, and on Linux a process with that
//! pid and start time either exists or does not.

use rusqlite::{Connection, params};

/// This process, as a lease owner.
pub fn owner_id() -> String {
    format!(
        "{}:{}:{}",
        hostname(),
        std::process::id(),
        start_time(std::process::id()).unwrap_or_default()
    )
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `Some(false)` when the owner is certainly gone (same host, and no process with that pid
/// and start time); `Some(true)` when alive; `None` when it cannot be told.
pub fn is_alive(owner: &str) -> Option<bool> {
    let mut parts = owner.rsplitn(3, ':');
    let start: u64 = parts.next()?.parse().ok()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if host != hostname() || !std::path::Path::new("/proc/self/stat").exists() {
        return None;
    }
    Some(start_time(pid) == Some(start))
}

/// The lease statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const LIVE_OWNERS_BATCHES: &str = "SELECT DISTINCT lease_owner FROM batches WHERE lease_until > ?1 AND lease_owner IS NOT NULL";
    pub const VOID_BATCHES: &str =
        "UPDATE batches SET lease_until = NULL WHERE lease_owner = ?1 AND lease_until > ?2";
    pub const LIVE_OWNERS_TRANSFERS: &str = "SELECT DISTINCT lease_owner FROM transfers WHERE lease_until > ?1 AND lease_owner IS NOT NULL";
    pub const VOID_TRANSFERS: &str =
        "UPDATE transfers SET lease_until = NULL WHERE lease_owner = ?1 AND lease_until > ?2";

    pub const ALL: &[(&str, &str)] = &[
        ("LIVE_OWNERS_BATCHES", LIVE_OWNERS_BATCHES),
        ("VOID_BATCHES", VOID_BATCHES),
        ("LIVE_OWNERS_TRANSFERS", LIVE_OWNERS_TRANSFERS),
        ("VOID_TRANSFERS", VOID_TRANSFERS),
    ];
}

/// The tables whose rows are leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseTable {
    Batches,
    Transfers,
}

impl LeaseTable {
    fn name(self) -> &'static str {
        match self {
            LeaseTable::Batches => "batches",
            LeaseTable::Transfers => "transfers",
        }
    }
}

/// Real Unix time in seconds: leases are about processes, not business time, so they never
/// follow the business [`crate::clock::Clock`]. The one place that reads it (tests may step it:
/// [`crate::test_hooks::wall_skew_secs`]).
pub fn wall_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    now + crate::test_hooks::wall_skew_secs().unwrap_or(0)
}

/// How long a lease on a batch or a transfer lasts: 300 s, far longer than one send takes
/// (tests may shorten it: [`crate::test_hooks::lease_secs`]).
pub fn lease_secs() -> i64 {
    crate::test_hooks::lease_secs().unwrap_or(300)
}

/// Clear the live leases of `table` held by processes that are gone. Returns how many. Run it
/// inside the transaction that takes a lease.
pub fn reap(conn: &Connection, table: LeaseTable, wall_now: i64) -> rusqlite::Result<usize> {
    let (live_owners, void) = match table {
        LeaseTable::Batches => (sql::LIVE_OWNERS_BATCHES, sql::VOID_BATCHES),
        LeaseTable::Transfers => (sql::LIVE_OWNERS_TRANSFERS, sql::VOID_TRANSFERS),
    };
    let owners: Vec<String> = {
        let mut stmt = conn.prepare_cached(live_owners)?;
        stmt.query_map([wall_now], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for owner in owners {
        if is_alive(&owner) == Some(false) {
            n += conn.execute(void, params![owner, wall_now])?;
            tracing::info!(table = table.name(), %owner, "voided the leases of a process that is gone");
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        let me = owner_id();
        assert_eq!(is_alive(&me), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid);
        child.wait().unwrap();
        let dead = format!("{}:{}:{}", hostname(), pid, start.unwrap_or(1));
        assert_eq!(is_alive(&dead), Some(false));
        assert_eq!(is_alive("elsewhere:1:1"), None);
        assert_eq!(is_alive("garbage"), None);
    }
}
