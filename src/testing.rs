//! Test support for the PostgreSQL suites: a fresh, empty database per test on the server named
//! by `STARK_TEST_PG` (an admin URL, `postgres://stark@127.0.0.1:PORT/postgres?sslmode=disable`).
//! `tests/run` starts a throwaway cluster and sets it (`tests/pg/cluster.sh`). Without it the
//! PostgreSQL suites print `SKIP: …` and pass, except under `CI=true`, where they fail.
//!
//! Databases are made with the `psql` client (on `PATH`, else in the newest
//! `/usr/lib/postgresql/*/bin`) and never dropped: the cluster is thrown away whole.
//! Not part of the library's interface.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;

/// Which backend the store's tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend the tests that honour it run on: PostgreSQL when `STARK_TEST_BACKEND=postgres`
/// (`tests/run` runs the store's tests and the money-path suites that way too), else SQLite.
pub fn backend_under_test() -> Backend {
    match std::env::var("STARK_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The variable that names the admin URL of the test server.
pub const SERVER_VAR: &str = "STARK_TEST_PG";

/// The admin URL, if set (no side effects).
pub fn pg_test_server() -> Option<String> {
    std::env::var(SERVER_VAR)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A fresh, empty PostgreSQL database for one test, as a URL
/// (`postgres://…/stark_t_<unique>?sslmode=disable`), created from the admin URL in
/// `STARK_TEST_PG`. `None` (after printing `SKIP: <label>: STARK_TEST_PG not set (tests/run
/// starts a throwaway PostgreSQL)` to stderr) when unset; panics when unset under `CI=true`
/// ("CI must run the PostgreSQL suites"), and when the database cannot be created.
pub fn pg_test_database(label: &str) -> Option<String> {
    let Some(admin) = pg_test_server() else {
        assert!(
            !under_ci(),
            "CI must run the PostgreSQL suites: {label}: {SERVER_VAR} not set (tests/run starts a throwaway PostgreSQL)"
        );
        eprintln!("SKIP: {label}: {SERVER_VAR} not set (tests/run starts a throwaway PostgreSQL)");
        return None;
    };
    let name = unique_name();
    let url = database_url(&admin, &name).unwrap_or_else(|| {
        panic!("{SERVER_VAR}={admin:?} is not a postgres:// or postgresql:// URL")
    });
    if let Err(e) = run_psql(&admin, &format!("CREATE DATABASE {name}")) {
        panic!("{label}: could not create the test database {name} on {SERVER_VAR}={admin}: {e}");
    }
    Some(url)
}

/// Runs `sql` on the database at `url` with `psql` (unaligned, tuples only, stop on the first
/// error) and returns its output without the final newline. Panics with psql's stderr when it
/// fails.
pub fn psql(url: &str, sql: &str) -> String {
    run_psql(url, sql).unwrap_or_else(|e| panic!("psql on {url}: {sql:?}: {e}"))
}

fn run_psql(url: &str, sql: &str) -> Result<String, String> {
    let program = psql_program()?;
    let mut cmd = Command::new(&program);
    cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-qAt", "-d", url, "-c", sql]);
    if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
        cmd.env("PGCONNECT_TIMEOUT", "10");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("could not run {}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// `psql` on `PATH`, else the one beside the newest server in `/usr/lib/postgresql/*/bin`.
fn psql_program() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("psql"))
        .find(|p| is_executable(p));
    if let Some(p) = on_path {
        return Ok(p);
    }
    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u64>>>()?;
            Some((version, e.path().join("bin/psql")))
        })
        .filter(|(_, p)| is_executable(p))
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).ok_or_else(|| {
        "no psql client on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql-client)"
            .to_string()
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `stark_t_<pid>_<counter>_<6 random>`: unique across the processes and threads of one test
/// run (and, by the random part, across runs on one server), a lowercase identifier that
/// needs no quoting and stays under PostgreSQL's 63 bytes.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut rng = rand::thread_rng();
    let tail: String = (0..6)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("stark_t_{}_{n}_{tail}", std::process::id())
}

/// `admin` with its database (the URL's path) replaced by `name`; scheme, user, host, port and
/// query stay. `None` when `admin` is not a `postgres://` or `postgresql://` URL.
fn database_url(admin: &str, name: &str) -> Option<String> {
    let scheme = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|s| admin.starts_with(s))?;
    let rest = &admin[scheme.len()..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let query = after.find('?').map_or("", |i| &after[i..]);
    Some(format!("{scheme}{authority}/{name}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_replaces_the_path_and_keeps_the_rest() {
        assert_eq!(
            database_url(
                "postgres://stark@127.0.0.1:5433/postgres?sslmode=disable",
                "stark_t_1"
            )
            .as_deref(),
            Some("postgres://stark@127.0.0.1:5433/stark_t_1?sslmode=disable")
        );
        assert_eq!(
            database_url("postgresql://u:p@h/", "d").as_deref(),
            Some("postgresql://u:p@h/d")
        );
        assert_eq!(
            database_url("postgres://h:1", "d").as_deref(),
            Some("postgres://h:1/d")
        );
        assert_eq!(
            database_url("postgres://h?sslmode=disable", "d").as_deref(),
            Some("postgres://h/d?sslmode=disable")
        );
        assert_eq!(database_url("host=h port=1 dbname=postgres", "d"), None);
    }

    #[test]
    fn names_are_distinct_lowercase_identifiers_under_63_bytes() {
        let names: Vec<String> = (0..200).map(|_| unique_name()).collect();
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
        for name in &names {
            assert!(name.starts_with("stark_t_"), "{name}");
            assert!(name.len() < 63, "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }
}
