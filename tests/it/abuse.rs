//! Config, key and ledger abuse through the real binary: every case gets a clear message, the
//! right exit code (2 for configuration and keys, 1 for runtime failures such as a corrupt,
//! locked, read-only or full ledger), and leaves nothing half-written — the ledger and the bank
//! are checked before and after, and a re-run once the problem is fixed issues no duplicate.
//!
//! Notes on running as root (as CI containers do):
//! - mode 000 does not stop root from reading a file, so "unreadable key" uses a path that does
//!   not exist and a directory instead (and mode 000 as well when not root);
//! - chmod does not stop root from writing either, so "read-only ledger" and "disk full" use a
//!   small tmpfs mounted (and remounted read-only) by the test. Mounting needs root or
//!   CAP_SYS_ADMIN; without it those cases print `SKIP: <reason>` and return.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::harness::*;
use chrono::Duration;

/// A key on prime256v1 (`openssl ecparam -name prime256v1 -genkey -noout`).
const P256: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIJdEUh+iHU+UGbuF6QwYZbhJfhzqgETIHl3zDLKTcC6EoAoGCCqGSM49
AwEHoUQDQgAE2wsc3KUcAvGCR2tt6CM7wuPbjGuL1ae+FXGmRXlf54pAAX+wiK+Q
6gKH4lJ2zUTUkHn/8o9gJ6XI8iYuWLan1g==
-----END EC PRIVATE KEY-----
";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn assert_exit(out: &Output, expected: i32, words: &[&str], what: &str) {
    let err = stderr(out);
    assert_eq!(
        code(out),
        expected,
        "{what}: exit code\nstdout: {}\nstderr: {err}",
        stdout(out)
    );
    for w in words {
        assert!(err.contains(w), "{what}: stderr lacks {w:?}:\n{err}");
    }
}

/// Every table's rows, as text, in a stable order: what "the ledger is unchanged" means (on
/// PostgreSQL the database's tables and sequences, [`pg_table_rows`]).
fn dump(path: &Path) -> BTreeMap<String, Vec<String>> {
    if stark::ledger::is_postgres(path) {
        return pg_table_rows(path);
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = BTreeMap::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let mut line = Vec::with_capacity(n);
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push(format!("{v:?}"));
                }
                Ok(line.join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.insert(t, rows);
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    out.insert("#user_version".into(), vec![version.to_string()]);
    out
}

/// Batch tags at the bank, sorted; panics when a tag's invoices were issued twice.
fn bank_batches(env: &Env) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = env
        .batches_at_bank()
        .into_iter()
        .map(|(tag, invs)| (tag, invs.len()))
        .collect();
    v.sort();
    v
}

/// Batch statuses in slot order.
fn ledger_batches(env: &Env) -> Vec<String> {
    env.sql_rows("SELECT status FROM batches ORDER BY campaign_id, slot", &[])
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Keys

struct BadKey {
    name: &'static str,
    /// Replace the configured key path with something broken; returns the path to use.
    make: fn(&Path) -> Option<PathBuf>,
    words: &'static [&'static str],
}

fn bad_keys() -> Vec<BadKey> {
    fn file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
    vec![
        BadKey {
            name: "missing file",
            make: |d| Some(d.join("no-such-key.pem")),
            words: &["cannot read key file", "no-such-key.pem"],
        },
        BadKey {
            name: "a directory",
            make: |d| {
                let p = d.join("key-dir.pem");
                std::fs::create_dir_all(&p).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
                Some(p)
            },
            words: &["cannot read key file", "key-dir.pem", "directory"],
        },
        BadKey {
            name: "mode 000 (only meaningful when not root)",
            make: |d| {
                if is_root() {
                    eprintln!("SKIP mode 000 key: running as root, who can read any file");
                    return None;
                }
                let key = stark::keys::PrivateKey::generate();
                Some(file(d, "locked.pem", &key.to_sec1_pem(), 0o000))
            },
            words: &["cannot read key file", "locked.pem", "denied"],
        },
        BadKey {
            name: "empty",
            make: |d| Some(file(d, "empty.pem", "", 0o600)),
            words: &["empty.pem", "is empty"],
        },
        BadKey {
            name: "wrong curve",
            make: |d| Some(file(d, "p256.pem", P256, 0o600)),
            words: &["p256.pem", "prime256v1", "secp256k1", "stark keygen"],
        },
        BadKey {
            name: "world readable",
            make: |d| {
                let key = stark::keys::PrivateKey::generate();
                Some(file(d, "open.pem", &key.to_sec1_pem(), 0o644))
            },
            words: &["open.pem", "readable by other users", "chmod 600"],
        },
        BadKey {
            name: "public key given as private",
            make: |d| {
                let key = stark::keys::PrivateKey::generate();
                Some(file(d, "public.pem", &key.public_key().to_pem(), 0o600))
            },
            words: &["public.pem", "public key, not a private key"],
        },
    ]
}

/// With an unusable key, `issue-invoices` exits 2 and sends nothing. What it leaves in the
/// ledger: the due batch is claimed (`planned`) before the key is loaded — the key is only
/// needed once there is something to send — and that claim is harmless: with the key fixed, the
/// next run sends that same batch once. `transfer-credited` and `reconcile` load the key before
/// touching the ledger and leave it byte-for-byte unchanged.
#[test]
fn unusable_private_keys_exit_2_and_issue_nothing() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    tick(&env, t0 + Duration::seconds(5)).success();
    assert_eq!(bank_batches(&env).len(), 1);
    let at = t0 + Duration::hours(3) + Duration::seconds(5);
    let mut ran = 0;
    for bad in bad_keys() {
        let Some(path) = (bad.make)(env.dir.path()) else {
            continue;
        };
        ran += 1;
        let before_bank = bank_batches(&env);
        let with_bad_key = env.at(at).env("STARK_PRIVATE_KEY", &path);
        let out = with_bad_key.run(["issue-invoices"]);
        assert_exit(&out, 2, bad.words, bad.name);
        assert_eq!(
            bank_batches(&env),
            before_bank,
            "{}: nothing sent",
            bad.name
        );
        // The due batch is claimed, never sent, and claimed only once across all bad runs.
        assert_eq!(ledger_batches(&env), ["issued", "planned"], "{}", bad.name);

        let before = dump(&env.ledger);
        for cmd in ["transfer-credited", "reconcile"] {
            let out = with_bad_key.run([cmd]);
            assert_exit(&out, 2, bad.words, &format!("{cmd} with {}", bad.name));
        }
        assert_eq!(dump(&env.ledger), before, "{}: ledger unchanged", bad.name);
    }
    assert!(ran >= 6, "only {ran} key cases ran");
    // The key fixed: the claimed batch goes out once, under its own tag.
    let out = tick(&env, at).success();
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
    let batches = bank_batches(&env);
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert_eq!(ledger_batches(&env), ["issued", "issued"]);
    tick(&env, at + Duration::minutes(1)).success();
    assert_eq!(bank_batches(&env), batches, "no duplicate");
}

// ---------------------------------------------------------------------------------------------
// Config files

#[test]
fn broken_config_files_exit_2_before_touching_the_ledger() {
    let env = Env::without_ledger(|_| {});
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "bad toml",
            "project_id = \"123\nprivate_key = [",
            &["cannot read config file", "bad-toml.toml"],
        ),
        (
            "unknown key",
            "project_id = \"5656565656565656\"\nledgr = \"typo.sqlite3\"\n",
            &["cannot read config file", "unknown-key.toml", "ledgr"],
        ),
        (
            "wrong type",
            "project_id = 5656565656565656\n",
            &["cannot read config file", "wrong-type.toml", "project_id"],
        ),
    ];
    for (name, text, words) in cases {
        let path = env
            .dir
            .path()
            .join(format!("{}.toml", name.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        for cmd in ["issue-invoices", "transfer-credited", "status"] {
            let out = env.cmd().now(env.t0).env("STARK_CONFIG", &path).run([cmd]);
            assert_exit(&out, 2, words, &format!("{cmd} with {name}"));
            assert!(!env.ledger.exists(), "{cmd}: the ledger was created");
        }
    }
    // A config file that was named explicitly but does not exist is an error too.
    let out = env
        .cmd()
        .run(["--config", "/nonexistent/stark.toml", "status"]);
    assert_exit(
        &out,
        2,
        &["cannot read config file", "stark.toml"],
        "missing config",
    );
    assert!(env.sandbox().truth().invoices.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Ledgers

const LEDGER_COMMANDS: [&str; 3] = ["issue-invoices", "transfer-credited", "status"];

fn run_at(env: &Env, cmd: &str, extra_env: &[(&str, &str)]) -> Output {
    let mut run = env.cmd().now(env.t0);
    for (k, v) in extra_env {
        run = run.env(k, v);
    }
    run.run([cmd])
}

#[test]
fn random_bytes_ledger_is_refused_untouched() {
    if on_postgres() {
        eprintln!("SKIP: random bytes in the ledger file (a SQLite file)");
        return;
    }
    let env = Env::new(|_| {});
    let garbage: Vec<u8> = (0..16384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&env.ledger, &garbage).unwrap();
    for cmd in LEDGER_COMMANDS {
        let out = run_at(&env, cmd, &[]);
        assert_exit(&out, 1, &["not a stark ledger or is corrupted"], cmd);
        assert!(stderr(&out).contains("ledger.sqlite3"), "{}", stderr(&out));
        assert_eq!(std::fs::read(&env.ledger).unwrap(), garbage, "{cmd}");
    }
    assert!(env.truth().invoices.is_empty());
}

#[test]
fn ledger_whose_tables_were_dropped_is_refused_untouched() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    tick(&env, env.t0 + Duration::seconds(5)).success();
    let issued = env.truth().invoices.len();
    let drop = "DROP TABLE transfers; DROP TABLE credits; DROP TABLE invoices; DROP TABLE batches; DROP TABLE campaigns;";
    if on_postgres() {
        // CASCADE drops the other tables' foreign keys to them (SQLite: foreign_keys=OFF).
        stark::testing::psql(path_str(&env.ledger), &drop.replace(';', " CASCADE;"));
    } else {
        let c = env.sqlite_conn();
        c.execute_batch(&format!("PRAGMA foreign_keys=OFF; {drop}"))
            .unwrap();
    }
    let before = dump(&env.ledger);
    assert!(!before.contains_key("batches"), "{before:?}");
    // What each engine calls a table that is not there.
    let missing = if on_postgres() {
        "does not exist"
    } else {
        "no such table"
    };
    for cmd in LEDGER_COMMANDS {
        let out = run_at(&env, cmd, &[]);
        assert_exit(&out, 1, &["ledger", missing], cmd);
        // The database's reason is said once, not again as its own cause.
        let said = out.stderr().matches(missing).count();
        assert_eq!(said, 1, "{cmd}: {}", out.stderr());
        assert_eq!(dump(&env.ledger), before, "{cmd}");
    }
    assert_eq!(env.truth().invoices.len(), issued, "nothing more sent");
}

/// Another application's database — with `user_version` 0 (SQLite's default), or one it set
/// itself — is refused, and its contents are left alone (no stark table is added to it).
#[test]
fn another_apps_database_is_refused_untouched() {
    let env = Env::new(|_| {});
    for version in [0i64, 3, 42] {
        let path = env.dir.path().join(format!("other-{version}.db"));
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT);
                 INSERT INTO users(email) VALUES ('a@example.com'), ('b@example.com');
                 PRAGMA user_version = {version};"
            ))
            .unwrap();
        }
        let before = dump(&path);
        for cmd in LEDGER_COMMANDS {
            let out = run_at(&env, cmd, &[("STARK_LEDGER", path.to_str().unwrap())]);
            let words: &[&str] = match version {
                0 => &[
                    "not a stark ledger",
                    "another application's database",
                    "users",
                ],
                v if v > 5 => &["newer stark"],
                _ => &["ledger", "no such table"],
            };
            assert_exit(&out, 1, words, &format!("{cmd} on user_version {version}"));
            assert_eq!(dump(&path), before, "{cmd} on user_version {version}");
        }
    }
    assert!(env.truth().invoices.is_empty());
}

/// Another process holds the write lock for longer than the busy timeout
/// (`STARK_BUSY_TIMEOUT_MS` shortens it): writers fail with "busy" and exit 1 without a trace;
/// readers still work (WAL); once the lock is gone the same tick issues the batch once.
#[test]
fn ledger_locked_longer_than_the_busy_timeout() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let at = env.t0 + Duration::seconds(5);
    tick(&env, at).success();
    let next = env.t0 + Duration::hours(3) + Duration::seconds(5);
    let busy = env.at(next).env("STARK_BUSY_TIMEOUT_MS", "300");
    let before = dump(&env.ledger);
    // SQLite: an exclusive transaction; PostgreSQL: a `psql` session holding the ledger's
    // write lock (the advisory lock every writer takes first).
    let (sqlite_holder, pg_holder) = if on_postgres() {
        (None, Some(PgLockHolder::hold(&env.ledger)))
    } else {
        let holder = env.sqlite_conn();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        (Some(holder), None)
    };
    let started = std::time::Instant::now();
    let out = busy.run(["issue-invoices"]);
    assert_exit(
        &out,
        1,
        &["ledger", "is busy", "try again"],
        "issue-invoices",
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // transfer-credited takes the write lock even with nothing to send (pay rate 0), so it
    // is refused the same way; status only reads, which WAL allows under a write lock.
    let run = |cmd: &str| busy.run([cmd]);
    let out = run("transfer-credited");
    assert_exit(&out, 1, &["ledger", "is busy"], "transfer-credited");
    let out = run("status");
    assert_eq!(
        code(&out),
        0,
        "status reads under a write lock: {}",
        stderr(&out)
    );
    if let Some(holder) = sqlite_holder {
        holder.execute_batch("ROLLBACK").unwrap();
    }
    drop(pg_holder);
    assert_eq!(dump(&env.ledger), before);
    assert_eq!(bank_batches(&env).len(), 1);
    tick(&env, next).success();
    assert_eq!(bank_batches(&env).len(), 2);
}

/// Another session holding a PostgreSQL ledger's write lock: a `psql` in the background in a
/// transaction that took the advisory lock every stark writer takes first
/// (`pg_advisory_xact_lock(hashtext('stark-ledger'), hashtext(current_schema()))`) and then
/// sleeps. [`PgLockHolder::hold`] returns once the lock is granted; dropping it ends that
/// session (`pg_terminate_backend`), which rolls its transaction back and frees the lock.
struct PgLockHolder {
    url: String,
    child: std::process::Child,
}

const HOLDER_APP: &str = "stark-test-lock-holder";

impl PgLockHolder {
    fn hold(ledger: &Path) -> PgLockHolder {
        let url = path_str(ledger).to_string();
        let child = std::process::Command::new(psql_program())
            .args(["-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", &url, "-c"])
            .arg(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('stark-ledger'), hashtext(current_schema())); SELECT pg_sleep(120); COMMIT",
            )
            .env("PGAPPNAME", HOLDER_APP)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let holder = PgLockHolder { url, child };
        assert!(
            wait_until(std::time::Duration::from_secs(10), || holder.held() == 1),
            "the psql session did not take the write lock"
        );
        holder
    }

    /// The advisory locks granted in this database.
    fn held(&self) -> i64 {
        stark::testing::psql(
            &self.url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .parse()
        .unwrap()
    }
}

impl Drop for PgLockHolder {
    fn drop(&mut self) {
        stark::testing::psql(
            &self.url,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{HOLDER_APP}' AND datname = current_database()"
            ),
        );
        let _ = self.child.wait();
        if !std::thread::panicking() {
            assert!(
                wait_until(std::time::Duration::from_secs(10), || self.held() == 0),
                "the write lock is free again"
            );
        }
    }
}

/// `psql` on `PATH`, else the one beside the newest server in `/usr/lib/postgresql/*/bin`
/// (where `stark::testing::psql` finds it too).
fn psql_program() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("psql").is_file()));
    if on_path {
        return PathBuf::from("psql");
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((major, e.path().join("bin/psql")))
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    found.sort();
    found
        .pop()
        .expect("psql: on PATH or in /usr/lib/postgresql/*/bin")
        .1
}

/// A tmpfs mounted by the test, unmounted on drop.
struct Mount {
    dir: PathBuf,
}

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        if !is_root() {
            return Err("not root, cannot mount a tmpfs".into());
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Mount {
            dir: dir.to_path_buf(),
        })
    }

    fn remount(&self, opt: &str) {
        let out = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{opt}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).output();
    }
}

#[test]
fn read_only_ledger_fails_cleanly_and_works_again_when_writable() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let Some((mount, ledger)) = ledger_on_tmpfs(&env, "ro", "4m", "read-only ledger") else {
        return;
    };
    let with = |cmd: &str, at: chrono::DateTime<chrono::Utc>| run_on_ledger(&env, &ledger, cmd, at);
    with("issue-invoices", env.t0 + Duration::seconds(5)).success();
    let before = std::fs::read(&ledger).unwrap();
    mount.remount("ro");
    let next = env.t0 + Duration::hours(3) + Duration::seconds(5);
    for cmd in LEDGER_COMMANDS {
        let out = with(cmd, next);
        assert_exit(&out, 1, &["ledger", "cannot be written"], cmd);
    }
    assert_eq!(std::fs::read(&ledger).unwrap(), before);
    assert_eq!(bank_batches_at(&env, &ledger).len(), 1, "nothing sent");
    mount.remount("rw");
    with("issue-invoices", next).success();
    assert_eq!(bank_batches_at(&env, &ledger).len(), 2);
}

/// A new ledger on a tmpfs of `size` mounted at `name` in the environment's directory, with
/// the mount; `None` (the case printed as skipped) where no tmpfs can be mounted.
fn ledger_on_tmpfs(env: &Env, name: &str, size: &str, case: &str) -> Option<(Mount, PathBuf)> {
    let dir = env.dir.path().join(name);
    match Mount::tmpfs(&dir, size) {
        Ok(m) => {
            let ledger = dir.join("ledger.sqlite3");
            drop(stark::ledger::Ledger::open_or_create(&ledger).unwrap());
            Some((m, ledger))
        }
        Err(reason) => {
            eprintln!("SKIP {case}: {reason}");
            None
        }
    }
}

/// Run `cmd` against the ledger at `ledger` with the business clock at `at`.
fn run_on_ledger(env: &Env, ledger: &Path, cmd: &str, at: chrono::DateTime<chrono::Utc>) -> Output {
    env.at(at).env("STARK_LEDGER", ledger).run([cmd])
}

/// `Env::batches_at_bank` for a ledger somewhere else (read without writing to it).
fn bank_batches_at(env: &Env, ledger: &Path) -> Vec<(String, usize)> {
    let id: String = open_immutable(ledger)
        .query_row("SELECT value FROM meta WHERE key = 'ledger_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let by_tag: BTreeMap<String, usize> = env
        .batches_of(&id)
        .into_iter()
        .map(|(tag, invoices)| (tag, invoices.len()))
        .collect();
    by_tag.into_iter().collect()
}

#[test]
fn full_disk_fails_cleanly_and_a_rerun_after_freeing_space_issues_once() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let Some((_mount, ledger)) = ledger_on_tmpfs(&env, "full", "2m", "full disk") else {
        return;
    };
    let with = |cmd: &str, at: chrono::DateTime<chrono::Utc>| run_on_ledger(&env, &ledger, cmd, at);
    with("issue-invoices", env.t0 + Duration::seconds(5)).success();
    // Fill the filesystem.
    let filler = ledger.with_file_name("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).and_then(|_| f.flush()).is_ok() {}
        let _ = f.sync_all();
    }
    let before = dump_ro(&ledger);
    let next = env.t0 + Duration::hours(3) + Duration::seconds(5);
    let out = with("issue-invoices", next);
    assert_exit(&out, 1, &["ledger", "cannot be written"], "issue-invoices");
    assert!(
        stderr(&out).contains("full"),
        "the message says the disk is full: {}",
        stderr(&out)
    );
    assert_eq!(bank_batches_at(&env, &ledger).len(), 1, "nothing sent");
    for cmd in ["transfer-credited", "status"] {
        let out = with(cmd, next);
        assert!(
            code(&out) == 0 || stderr(&out).contains("cannot be written"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
    assert_eq!(dump_ro(&ledger), before, "nothing half-written");
    std::fs::remove_file(&filler).unwrap();
    with("issue-invoices", next).success();
    let batches = bank_batches_at(&env, &ledger);
    assert_eq!(batches.len(), 2, "{batches:?}");
    with("issue-invoices", next + Duration::minutes(1)).success();
    assert_eq!(bank_batches_at(&env, &ledger), batches, "no duplicate");
}

/// A connection that writes nothing, not even a `-shm` file: usable on a read-only or full
/// filesystem (stark checkpoints and removes the WAL when its last connection closes).
fn open_immutable(path: &Path) -> rusqlite::Connection {
    let uri = format!("file:{}?mode=ro&immutable=1", path.display());
    rusqlite::Connection::open_with_flags(
        &uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap()
}

/// Table row counts through an immutable connection (see `open_immutable`).
fn dump_ro(path: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = open_immutable(path);
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
            .unwrap();
        out.insert(t, vec![n.to_string()]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Usage mistakes, refused credentials and closed pipes

/// Flag mistakes that clap cannot see exit 2 like every other usage error, with the message
/// naming the flag, and before anything is touched; so does a `STARK_NOW` that is not a time.
#[test]
fn flag_mistakes_exit_2() {
    let env = Env::without_ledger(|_| {});
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "1s", "--public-url"])
        .arg("http://example.com")
        .output();
    assert_exit(
        &out,
        2,
        &["--public-url must be https://"],
        "http public URL",
    );
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "1s", "--public-url", "not a url"])
        .output();
    assert_exit(&out, 2, &["--public-url", "is not a URL"], "public URL");
    let out = env
        .cmd()
        .env("STARK_NOW", "yesterday")
        .arg("issue-invoices")
        .output();
    assert_exit(
        &out,
        2,
        &["STARK_NOW=\"yesterday\"", "RFC 3339"],
        "bad STARK_NOW",
    );
    assert!(!env.ledger.exists(), "nothing was touched");
}

/// A request the bank refuses for the setup (here: a project it does not know) is a
/// configuration error: exit 2, with the hint that says what to check.
#[test]
fn refused_credentials_exit_2_with_the_hint() {
    let env = Env::new(|_| {});
    let out = env
        .cmd()
        .env("STARK_NOW", env.t0.to_rfc3339())
        .env("STARK_PROJECT_ID", "999")
        .arg("reconcile")
        .output();
    assert_exit(
        &out,
        2,
        &[
            "invalidCredentials",
            "hint: the key loaded is SHA256:",
            "project 999 (from environment STARK_PROJECT_ID): check the project id",
        ],
        "unknown project",
    );
}

#[test]
fn reconcile_says_an_api_error_once() {
    let env = Env::new(|_| {});
    let out = env
        .cmd()
        .env("STARK_NOW", env.t0.to_rfc3339())
        .env("STARK_API_URL", "http://127.0.0.1:9")
        .arg("reconcile")
        .output();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    // Past the time and command name a piped stderr line starts with.
    let line = err
        .lines()
        .find_map(|l| l.find("error:").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("listing undelivered events failed: "),
        "{line}"
    );
    let cause = line.split("failed: ").nth(1).unwrap();
    let first = cause.split(": ").next().unwrap();
    assert_eq!(line.matches(first).count(), 1, "{line}");
}

#[test]
fn with_the_network_down_the_retries_read_like_diagnostics() {
    let env = Env::new(|_| {});
    let reconcile = |args: &[&str]| {
        let out = env
            .cmd()
            .env("STARK_NOW", env.t0.to_rfc3339())
            .env("STARK_API_URL", "http://127.0.0.1:9")
            .args(args)
            .output();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = reconcile(&["reconcile"]);
    // Each line past the time and command name a piped stderr line starts with.
    let lines: Vec<&str> = err
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or(l))
        .collect();
    assert!(
        lines.contains(
            &"warning: no answer from Stark Bank (connection refused); retrying (3 left)"
        ),
        "{err}"
    );
    assert!(
        lines.contains(
            &"warning: no answer from Stark Bank (connection refused); retrying (1 left)"
        ),
        "{err}"
    );
    for jargon in ["WARN", "cause=", "path=", "tag=", "ambiguous="] {
        assert!(!err.contains(jargon), "{jargon} in: {err}");
    }
    // The stamp stays (stderr is a pipe here).
    assert!(err.lines().all(|l| l.contains(" reconcile ")), "{err}");
    // -v keeps the structured lines.
    let err = reconcile(&["-v", "reconcile"]);
    assert!(
        err.lines()
            .any(|l| l.contains("WARN") && l.contains("retrying (3 left)") && l.contains("cause=")),
        "{err}"
    );
}

/// Run with stdout a pipe whose read end is already closed, so the first write fails with
/// EPIPE (Rust ignores SIGPIPE): the command must end quietly with 0, never panic (101).
pub(crate) fn with_closed_stdout(mut cmd: std::process::Command) -> std::process::Output {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both descriptors on success, which we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    cmd.stdin(std::process::Stdio::null())
        .stdout(writer)
        .output()
        .unwrap()
}

fn assert_quiet_success(out: &std::process::Output, what: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: exit code\nstderr: {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(!err.contains("error"), "{what}: {err}");
}

#[test]
fn a_closed_stdout_ends_quietly_with_0() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let at = env.t0 + Duration::seconds(5);
    let run = |args: &[&str]| with_closed_stdout(env.at(at).command(args));
    assert_quiet_success(&run(&["completions", "bash"]), "completions");
    assert_quiet_success(&run(&["status", "--json"]), "status without a ledger");
    assert_quiet_success(&run(&["issue-invoices"]), "issue-invoices");
    assert_eq!(bank_batches(&env).len(), 1, "the tick did its work");
    assert_quiet_success(&run(&["issue-invoices"]), "issue-invoices, nothing due");
    assert_quiet_success(&run(&["status", "--json"]), "status --json");
    assert_quiet_success(&run(&["status"]), "status");
    assert_quiet_success(&run(&["status", "--invoices"]), "status --invoices");
    env.advance(Duration::hours(1));
    let at = env.t0 + Duration::hours(1);
    let run = |args: &[&str]| with_closed_stdout(env.at(at).command(args));
    assert_quiet_success(&run(&["reconcile"]), "reconcile");
    assert_quiet_success(&run(&["transfer-credited"]), "transfer-credited");
    assert_quiet_success(&run(&["doctor"]), "doctor");
    let keys = env.dir.path().join("new-keys");
    let out = run(&["keygen", "--dir", keys.to_str().unwrap()]);
    assert_quiet_success(&out, "keygen");
    assert!(
        keys.join("private-key.pem").exists(),
        "the keys were written"
    );
}
