//! Leases: a process that sends a batch or a transfer holds it for a while (`lease_until`,
//! real Unix time), so that two processes never send the same thing at once.
//!
//! The rules:
//! - A lease is never taken from an owner that is judged alive here, whatever `lease_until`
//!   says: a stepped clock or a stall past the lease (SIGSTOP, a suspended VM) does not hand a
//!   live sender's work to another.
//! - A lease whose owner is judged gone (killed, crashed) is void at once.
//! - When liveness cannot be told here (another host, another boot, another PID namespace, an
//!   owner recorded by an older stark), the lease is taken only once it has expired.
//! - Renew and release match the owner as well as the row: a holder whose lease was taken
//!   over renews nothing (it has lost the lease and stops before sending anything more) and
//!   releases nothing.
//!
//! The owner is recorded as `host:pid:start-time:boot-id:pid-namespace` ([`Owner`]); liveness
//! is judged only when host, boot id and PID namespace all match this process's, where a pid
//! with that start time either exists or does not.

use std::sync::OnceLock;

use super::SqlResult;
use super::conn::Conn;

/// A lease owner: one process, named so that another process can tell whether it is the same
/// live process. Written as `host:pid:start:boot:pidns` (the host may hold `:`; the others
/// never do): `start` is the process's start time in clock ticks since boot, `boot` the
/// kernel's boot id (`/proc/sys/kernel/random/boot_id`), `pidns` the inode of its PID namespace
/// (`pid:[4026531836]` → `4026531836`). An owner written by an older stark (`host:pid:start`)
/// still parses, with no boot id nor namespace: its liveness cannot be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    pub start: u64,
    /// Empty when unknown (an old-form owner, or a system without it).
    pub boot_id: String,
    /// Empty when unknown.
    pub pid_ns: String,
}

impl Owner {
    /// This process.
    pub fn this() -> Owner {
        let pid = std::process::id();
        Owner {
            host: hostname(),
            pid,
            start: start_time(pid).unwrap_or_default(),
            boot_id: boot_id().unwrap_or_default(),
            pid_ns: pid_namespace().unwrap_or_default(),
        }
    }

    /// Parse either form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Owner> {
        let parts: Vec<&str> = s.rsplitn(5, ':').collect();
        let new_form = |p: &[&str]| -> Option<Owner> {
            let [pid_ns, boot_id, start, pid, host] = p else {
                return None;
            };
            Some(Owner {
                host: host.to_string(),
                pid: pid.parse().ok()?,
                start: start.parse().ok()?,
                boot_id: boot_id.to_string(),
                pid_ns: pid_ns.to_string(),
            })
        };
        new_form(&parts).or_else(|| {
            let mut old = s.rsplitn(3, ':');
            let start = old.next()?.parse().ok()?;
            let pid = old.next()?.parse().ok()?;
            let host = old.next()?.to_string();
            Some(Owner {
                host,
                pid,
                start,
                boot_id: String::new(),
                pid_ns: String::new(),
            })
        })
    }

    /// Whether this process can judge `self`'s liveness: same host, same boot, same PID
    /// namespace (so its pid means the same process here), all known.
    fn is_local(&self, here: &Owner) -> bool {
        !here.boot_id.is_empty()
            && !here.pid_ns.is_empty()
            && self.host == here.host
            && self.boot_id == here.boot_id
            && self.pid_ns == here.pid_ns
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}:{}",
            self.host, self.pid, self.start, self.boot_id, self.pid_ns
        )
    }
}

/// This process, as a lease owner (computed once).
pub fn owner_id() -> String {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| Owner::this().to_string()).clone()
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

/// The kernel's boot id: a pid and start time only name one process within one boot.
fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && !id.contains(':')).then(|| id.to_string())
}

/// The inode of this process's PID namespace (`pid:[4026531836]` → `4026531836`): a pid only
/// names one process within one namespace (two containers may share a hostname).
fn pid_namespace() -> Option<String> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let link = link.to_str()?;
    let inode = link.strip_prefix("pid:[")?.strip_suffix(']')?;
    inode.parse::<u64>().ok().map(|n| n.to_string())
}

/// `Some(false)` when the owner is certainly gone (same host, boot and PID namespace, and no
/// process with that pid and start time); `Some(true)` when it is alive; `None` when it cannot
/// be told here (then its lease is waited out).
pub fn is_alive(owner: &str) -> Option<bool> {
    is_alive_from(owner, &Owner::parse(&owner_id())?)
}

fn is_alive_from(owner: &str, here: &Owner) -> Option<bool> {
    let owner = Owner::parse(owner)?;
    if !owner.is_local(here) || !std::path::Path::new("/proc/self/stat").exists() {
        return None;
    }
    Some(start_time(owner.pid) == Some(owner.start))
}

/// The lease statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    /// Every owner holding a lease, expired or not (Unix times are never negative).
    pub const HOLDERS_BATCHES: &str = "SELECT DISTINCT lease_owner FROM batches WHERE lease_until >= 0 AND lease_owner IS NOT NULL";
    pub const VOID_BATCHES: &str =
        "UPDATE batches SET lease_until = NULL WHERE lease_owner = ?1 AND lease_until > ?2";
    pub const HOLDERS_TRANSFERS: &str = "SELECT DISTINCT lease_owner FROM transfers WHERE lease_until >= 0 AND lease_owner IS NOT NULL";
    pub const VOID_TRANSFERS: &str =
        "UPDATE transfers SET lease_until = NULL WHERE lease_owner = ?1 AND lease_until > ?2";

    statements![
        HOLDERS_BATCHES,
        VOID_BATCHES,
        HOLDERS_TRANSFERS,
        VOID_TRANSFERS,
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

/// The database clock on PostgreSQL, read for leases (see [`super::Db::wall_now`]).
pub(super) const DB_NOW_PG: &str =
    "SELECT CAST(floor(extract(epoch FROM clock_timestamp())) AS BIGINT)";

/// How long a lease on a batch or a transfer lasts: 300 s, far longer than one send takes
/// (tests may shorten it: [`crate::test_hooks::lease_secs`]).
pub fn lease_secs() -> i64 {
    crate::test_hooks::lease_secs().unwrap_or(300)
}

/// Clear the live leases of `table` held by processes that are gone, and return the owners
/// judged alive here, as a JSON array: the take statements never take a lease held by one of
/// them, expired or not. Run it inside the transaction that takes a lease.
pub(crate) fn reap(conn: Conn<'_>, table: LeaseTable, wall_now: i64) -> SqlResult<String> {
    let (holders, void) = match table {
        LeaseTable::Batches => (sql::HOLDERS_BATCHES, sql::VOID_BATCHES),
        LeaseTable::Transfers => (sql::HOLDERS_TRANSFERS, sql::VOID_TRANSFERS),
    };
    let owners: Vec<String> = conn
        .query(holders, args![])?
        .iter()
        .map(|r| r.get(0))
        .collect::<SqlResult<_>>()?;
    let mut alive = Vec::new();
    for owner in owners {
        let judged = is_alive(&owner);
        if judged == Some(false) && conn.execute(void, args![owner, wall_now])? > 0 {
            tracing::info!(table = table.name(), %owner, "voided the leases of a process that is gone");
        }
        if judged == Some(true) {
            alive.push(owner);
        }
    }
    Ok(serde_json::Value::from(alive).to_string())
}

/// Owners for the store tests: one that is gone, and this process as seen from another boot,
/// another PID namespace or an older stark.
#[cfg(test)]
pub(crate) mod testing {
    use super::Owner;

    /// A process of this host, boot and namespace that has exited.
    pub fn dead_owner() -> String {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = super::start_time(pid);
        child.wait().unwrap();
        Owner {
            pid,
            start: start.unwrap_or(1),
            ..Owner::this()
        }
        .to_string()
    }

    /// This very process (alive), recorded on another boot.
    pub fn other_boot() -> String {
        Owner {
            boot_id: "00000000-0000-4000-8000-000000000000".into(),
            ..Owner::this()
        }
        .to_string()
    }

    /// This very process's pid and start time, recorded in another PID namespace (another
    /// container with the same hostname).
    pub fn other_namespace() -> String {
        Owner {
            pid_ns: "1".into(),
            ..Owner::this()
        }
        .to_string()
    }

    /// A process that has exited, recorded in another PID namespace: there, it may be alive.
    pub fn dead_here_other_namespace() -> String {
        let dead = Owner::parse(&dead_owner()).unwrap();
        Owner {
            pid_ns: "1".into(),
            ..dead
        }
        .to_string()
    }

    /// A process that has exited, recorded by an older stark (`host:pid:start`).
    pub fn dead_old_form() -> String {
        let dead = Owner::parse(&dead_owner()).unwrap();
        format!("{}:{}:{}", dead.host, dead.pid, dead.start)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn an_owner_names_host_pid_start_boot_and_namespace_and_old_forms_still_parse() {
        let me = Owner::this();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start > 0);
        assert_eq!(me.boot_id.len(), 36, "{me:?}");
        assert!(me.pid_ns.parse::<u64>().is_ok(), "{me:?}");
        assert_eq!(Owner::parse(&me.to_string()), Some(me.clone()));
        assert_eq!(owner_id(), me.to_string());
        let old = Owner::parse("web-1:42:777").unwrap();
        assert_eq!((old.host.as_str(), old.pid, old.start), ("web-1", 42, 777));
        assert_eq!((old.boot_id.as_str(), old.pid_ns.as_str()), ("", ""));
        let colons = Owner::parse("fe80::1:42:777").unwrap();
        assert_eq!((colons.host.as_str(), colons.pid), ("fe80::1", 42));
        assert_eq!(Owner::parse("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        assert_eq!(is_alive(&owner_id()), Some(true));
        assert_eq!(is_alive(&dead_owner()), Some(false));
        assert_eq!(is_alive("garbage"), None);
    }

    #[test]
    fn liveness_is_told_only_on_the_same_host_boot_and_pid_namespace() {
        // This very pid and start time, but another boot or namespace: not this process.
        assert_eq!(is_alive(&other_boot()), None);
        assert_eq!(is_alive(&other_namespace()), None);
        assert_eq!(is_alive(&dead_here_other_namespace()), None);
        let elsewhere = Owner {
            host: "elsewhere".into(),
            ..Owner::this()
        };
        assert_eq!(is_alive(&elsewhere.to_string()), None);
        // An owner recorded by an older stark carries neither: wait for its expiry.
        assert_eq!(is_alive(&dead_old_form()), None);
        let me = Owner::this();
        assert_eq!(
            is_alive(&format!("{}:{}:{}", me.host, me.pid, me.start)),
            None
        );
        // A process that cannot read its own boot id or namespace judges nobody.
        let blind = Owner {
            boot_id: String::new(),
            pid_ns: String::new(),
            ..Owner::this()
        };
        assert_eq!(is_alive_from(&dead_owner(), &blind), None);
    }
}
