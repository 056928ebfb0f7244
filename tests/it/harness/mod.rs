//! Shared test harness: an in-process `stark sandbox` on 127.0.0.1:0, a registered project
//! key, a new ledger (or none: [`Env::without_ledger`]), and the real `stark` binary configured to use them ([`Env`]), driven
//! through the run builder of `run.rs`: `env.at(t).run(["issue-invoices"]).success()`, or on a
//! pseudo-terminal (`pty.rs`: `env.at(t).pty([...], 80, 24)`) for prompts, widths and colours.
//! `api.rs` has the same sandbox with a real API client for the async tests of the emulator
//! ([`Api`]). One business start ([`t0`]), one base config, one [`free_port`] and [`serve`];
//! the money invariants are checked through `stark::audit`.
#![allow(dead_code)]

mod api;
mod pty;
mod run;

#[allow(unused_imports)] // `tests/simulation.rs` shares the harness and uses nothing of `api`
pub use api::*;
#[allow(unused_imports)]
pub use pty::*;
pub use run::*;

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use stark::keys::PrivateKey;
use stark::ledger::{FromSql, Ledger, Row, ToSql, is_postgres};
use stark::sandbox::{FaultRule, GroundTruth, Sandbox, SandboxConfig};

pub const PROJECT: &str = "5656565656565656";

/// The sandbox every test starts from: a frozen clock (speed 0) at [`t0`], seed 7, every
/// invoice paid, a balance of [`stark::sandbox::START_BALANCE`] (a fresh sandbox starts at
/// zero). No project is registered yet ([`Env::new`] and [`api`] add theirs).
pub fn config() -> SandboxConfig {
    SandboxConfig {
        seed: 7,
        speed: 0.0,
        pay_rate: 1.0,
        start_balance: stark::sandbox::START_BALANCE,
        start_time: Some(t0()),
        ..SandboxConfig::default()
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub sandbox: Option<Sandbox>,
    pub dir: tempfile::TempDir,
    pub key_path: PathBuf,
    pub ledger: PathBuf,
    pub url: String,
    pub t0: DateTime<Utc>,
}

/// A fixed business start: 2026-03-02 00:00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

impl Env {
    /// A sandbox with a frozen clock (speed 0) starting at `t0()` ([`config`], changed by
    /// `customize`), and a new ledger at [`Env::ledger`] (created as `stark init` creates it:
    /// no other command creates one); tests move the clock.
    pub fn new(customize: impl FnOnce(&mut SandboxConfig)) -> Env {
        let env = Env::without_ledger(customize);
        env.create_ledger();
        env
    }

    /// [`Env::new`] without the ledger: [`Env::ledger`] names a file that does not exist, or
    /// on PostgreSQL ([`on_postgres`]) a fresh, empty database (an uninitialised ledger).
    pub fn without_ledger(customize: impl FnOnce(&mut SandboxConfig)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate();
        let key_path = dir.path().join("private-key.pem");
        std::fs::write(&key_path, key.to_sec1_pem()).unwrap();
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut cfg = config();
        cfg.projects.push((PROJECT.to_string(), key.public_key()));
        customize(&mut cfg);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(stark::sandbox::start(cfg)).unwrap();
        let url = sandbox.url();
        Env {
            rt,
            sandbox: Some(sandbox),
            ledger: new_ledger_address(dir.path(), "ledger.sqlite3"),
            dir,
            key_path,
            url,
            t0: t0(),
        }
    }

    /// Create the ledger at [`Env::ledger`] (its directory included) with the library, as
    /// `stark init` does.
    pub fn create_ledger(&self) {
        drop(stark::ledger::Ledger::open_or_create(&self.ledger).unwrap());
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    /// A run of the real binary with this environment's configuration and nothing else (no
    /// `STARK_NOW`: the binary's clock is the real one).
    pub fn cmd(&self) -> Run {
        bare(self.dir.path())
            .env("STARK_API_URL", &self.url)
            .env("STARK_PROJECT_ID", PROJECT)
            .env("STARK_PRIVATE_KEY", &self.key_path)
            .env("STARK_LEDGER", &self.ledger)
            .env("STARK_BACKOFF_MS", "5")
    }

    /// Move the sandbox clock to `t`; the returned run's business clock (`STARK_NOW`) is `t`.
    pub fn at(&self, t: DateTime<Utc>) -> Run {
        self.sandbox().set_time(t);
        self.cmd().now(t)
    }

    /// A run whose business clock is the sandbox's current time (the clock is not moved).
    pub fn at_now(&self) -> Run {
        self.cmd().now(self.sandbox().now())
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.sandbox().advance(by);
    }

    pub fn faults(&self, rules: &[&str]) {
        self.sandbox()
            .set_faults(rules.iter().map(|r| FaultRule::parse(r).unwrap()).collect());
    }

    pub fn truth(&self) -> GroundTruth {
        self.sandbox().truth()
    }

    /// Wait until the sandbox has no delivery in flight.
    pub fn flush(&self) {
        assert!(
            self.rt
                .block_on(self.sandbox().flush_deliveries(Duration::from_secs(10))),
            "deliveries did not settle"
        );
    }

    /// Wait (up to 20 s) until the ledger holds `n` credits: what a running `serve-webhook`
    /// records from the deliveries in flight.
    pub fn wait_for_credits(&self, n: usize) {
        let credits = || -> usize { self.sql_i64("SELECT COUNT(*) FROM credits") as usize };
        assert!(
            wait_until(Duration::from_secs(20), || credits() == n),
            "the webhook recorded {} of {n} credits",
            credits()
        );
    }

    /// Let the bank settle every transfer, reconciling as cron would (every 30 minutes of
    /// bank time, at most four times, until no transfer is open).
    pub fn settle(&self) {
        for _ in 0..4 {
            self.advance(chrono::Duration::minutes(30));
            self.flush();
            self.at_now().run(["reconcile"]).success();
            let open = self.sql_i64(
                "SELECT COUNT(*) FROM transfers WHERE status NOT IN ('success', 'failed', 'rejected')",
            );
            if open == 0 {
                break;
            }
        }
    }

    /// Admin call on the sandbox.
    pub fn admin(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}{}", self.url, path);
        self.rt.block_on(async {
            let c = reqwest::Client::new();
            let req = match method {
                "GET" => c.get(&url),
                _ => c
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            };
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{method} {path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        })
    }

    /// A client of the sandbox with this env's project and key, as another integration in the
    /// same workspace would have.
    pub fn other_client(&self) -> stark::api::Client {
        let key = stark::keys::PrivateKey::load(&self.key_path).unwrap();
        stark::api::Client::new(stark::api::ClientConfig::new(
            self.url.clone(),
            PROJECT,
            std::sync::Arc::new(key),
        ))
        .unwrap()
    }

    /// Every row of `sql` on this env's ledger, on either backend (`?N` placeholders bound to
    /// `args`). The SQL must mean the same on SQLite and PostgreSQL (no `rowid`, no PRAGMA,
    /// `IS DISTINCT FROM` for `IS NOT`, `CAST(SUM(…) AS BIGINT)`).
    pub fn sql_rows(&self, sql: &str, args: &[&dyn ToSql]) -> Vec<Row> {
        sql_rows_at(&self.ledger, sql, args)
    }

    /// Column 0 of the first row of `sql` (panics when there is none).
    pub fn sql_one<T: FromSql>(&self, sql: &str, args: &[&dyn ToSql]) -> T {
        let rows = self.sql_rows(sql, args);
        let row = rows
            .first()
            .unwrap_or_else(|| panic!("no row from {sql:?}"));
        row.get(0)
            .unwrap_or_else(|e| panic!("{sql:?}: column 0: {e}"))
    }

    /// [`Env::sql_one`] of a statement without parameters, as an integer (`COUNT(*)`…).
    pub fn sql_i64(&self, sql: &str) -> i64 {
        self.sql_one(sql, &[])
    }

    /// Run one statement on this env's ledger (outside a transaction); the rows it changed.
    pub fn sql_exec(&self, sql: &str, args: &[&dyn ToSql]) -> usize {
        sql_exec_at(&self.ledger, sql, args)
    }

    /// Run statements without parameters, separated by `;` ([`sql_batch_at`]: explicit ids
    /// are fine on either backend).
    pub fn sql_batch(&self, sql: &str) {
        sql_batch_at(&self.ledger, sql)
    }

    /// A rusqlite connection to the ledger file, for the tests of what only a SQLite file has
    /// (pragmas, locks, the file itself). Panics on PostgreSQL: such tests skip there.
    pub fn sqlite_conn(&self) -> rusqlite::Connection {
        assert!(
            !on_postgres(),
            "a SQLite-file test ran on PostgreSQL: skip it with `if on_postgres()`"
        );
        rusqlite::Connection::open(&self.ledger).unwrap()
    }

    pub fn ledger_id(&self) -> String {
        self.sql_one("SELECT value FROM meta WHERE key = 'ledger_id'", &[])
    }

    /// Our invoices at the sandbox, grouped by batch tag.
    pub fn batches_at_bank(&self) -> HashMap<String, Vec<stark::sandbox::TruthInvoice>> {
        self.batches_of(&self.ledger_id())
    }

    /// The invoices at the sandbox issued by the ledger `ledger_id`, grouped by batch tag.
    pub fn batches_of(
        &self,
        ledger_id: &str,
    ) -> HashMap<String, Vec<stark::sandbox::TruthInvoice>> {
        let mut by_tag: HashMap<String, Vec<_>> = HashMap::new();
        for inv in self.truth().invoices {
            if let Some(tag) = inv
                .tags
                .iter()
                .find(|t| stark::issuer::is_batch_tag(ledger_id, t))
            {
                by_tag.entry(tag.clone()).or_default().push(inv.clone());
            }
        }
        by_tag
    }

    /// Check the money invariants against the sandbox's ground truth with `stark::audit`, as
    /// settled: every credited invoice of ours has exactly one successful transfer of exactly
    /// amount − fee (none when that is not positive); no transfer for anything else; no transfer
    /// succeeded twice; the ledger agrees with the bank.
    pub fn assert_money_invariants(&self) -> MoneySummary {
        let truth = self.truth();
        // The one check `audit` cannot make: it compares each destination with the code's own
        // `payout::Destination`; this pins the account itself.
        for t in &truth.transfers {
            assert_eq!(t.bank_code, "20018183");
            assert_eq!(t.branch_code, "0001");
            assert_eq!(t.account_number, "6341320293482496");
            assert_eq!(t.account_type, "payment");
            assert_eq!(t.tax_id, "20.018.183/0001-80");
        }
        let ledger = stark::ledger::Ledger::open(&self.ledger).unwrap();
        let a = stark::audit::audit(&truth, &ledger, None, true).unwrap();
        assert!(
            a.ok(),
            "money invariants violated:\n  {}",
            a.violations.join("\n  ")
        );
        MoneySummary {
            paid: a.transferred,
            net: a.transferred_amount,
            foreign: a.foreign_credited,
            nothing_to_forward: a.nothing_to_forward,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MoneySummary {
    pub paid: usize,
    pub net: i64,
    pub foreign: usize,
    pub nothing_to_forward: usize,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

/// `stark issue-invoices` with the sandbox clock and `STARK_NOW` at `at`.
pub fn tick(env: &Env, at: DateTime<Utc>) -> Output {
    env.at(at).run(["issue-invoices"])
}

/// Poll `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Whether the tests run their ledgers on PostgreSQL (`STARK_TEST_BACKEND=postgres`, with the
/// server in `STARK_TEST_PG`; `tests/run` runs some suites that way too). Tests of what only a
/// SQLite file has return early there with `SKIP: … (SQLite file only)`.
pub fn on_postgres() -> bool {
    stark::testing::backend_under_test() == stark::testing::Backend::Postgres
}

/// A ledger address no ledger is at yet: `dir/file` on SQLite; on PostgreSQL a fresh, empty
/// database (`Ledger::open_or_create` or `stark init` initialise either).
pub fn new_ledger_address(dir: &Path, file: &str) -> PathBuf {
    if on_postgres() {
        PathBuf::from(
            stark::testing::pg_test_database("integration test ledger")
                .expect("STARK_TEST_BACKEND=postgres needs STARK_TEST_PG (tests/run sets it)"),
        )
    } else {
        dir.join(file)
    }
}

/// Every row of `sql` on the ledger at `ledger` (a file or a PostgreSQL URL).
pub fn sql_rows_at(ledger: &Path, sql: &str, args: &[&dyn ToSql]) -> Vec<Row> {
    let l = Ledger::open(ledger).unwrap();
    l.db()
        .raw_query(sql, args)
        .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
}

/// Run one statement on the ledger at `ledger`; the rows it changed.
pub fn sql_exec_at(ledger: &Path, sql: &str, args: &[&dyn ToSql]) -> usize {
    let l = Ledger::open(ledger).unwrap();
    l.db()
        .raw_exec(sql, args)
        .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
}

/// Run statements without parameters on the ledger at `ledger` (fixtures). On PostgreSQL the
/// identities are then moved past the highest ids, as SQLite's rowids move by themselves after
/// rows inserted with explicit ids (else the next default id collides, and a claim's
/// `ON CONFLICT DO NOTHING` silently inserts nothing).
pub fn sql_batch_at(ledger: &Path, sql: &str) {
    let l = Ledger::open(ledger).unwrap();
    let db = l.db();
    db.raw_batch(sql).unwrap_or_else(|e| panic!("{sql:?}: {e}"));
    if is_postgres(ledger) {
        db.raw_batch(stark::ledger::pg::RESYNC_IDENTITIES)
            .unwrap_or_else(|e| panic!("moving the identities past the fixture's ids: {e}"));
    }
}

/// A second ledger address beside `ledger` (a backup): `dir/file` on SQLite; on PostgreSQL
/// the name of a database that does not exist yet on the same server.
pub fn spare_ledger_address(ledger: &Path, dir: &Path, file: &str) -> PathBuf {
    if is_postgres(ledger) {
        let url = new_ledger_address(dir, file);
        drop_ledger(&url);
        url
    } else {
        dir.join(file)
    }
}

/// Copy the ledger at `from` over the one at `to` (a backup, a restore): the file and its
/// WAL on SQLite; on PostgreSQL `to` is dropped and made again from `from` as its template.
pub fn copy_ledger(from: &Path, to: &Path) {
    if is_postgres(from) {
        drop_ledger(to);
        stark::testing::psql(
            &pg_admin(),
            &format!(
                "CREATE DATABASE {} TEMPLATE {}",
                pg_database_name(to),
                pg_database_name(from)
            ),
        );
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{suffix}", from.display()));
        let dst = PathBuf::from(format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&dst);
        if src.exists() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Take the ledger away: its file and WAL on SQLite, the database on PostgreSQL.
pub fn drop_ledger(ledger: &Path) {
    if is_postgres(ledger) {
        stark::testing::psql(
            &pg_admin(),
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                pg_database_name(ledger)
            ),
        );
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger.display()));
    }
}

/// Every row of every table of the PostgreSQL ledger at `url`, as text (`row::text`), sorted
/// per table, and the sequences' last values under `#sequences`: what "the database is
/// unchanged" means, and everything the database stores. Read with `psql`, not through
/// [`Ledger::open`], which may refuse or change a damaged ledger.
pub fn pg_table_rows(url: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let url = url.to_str().unwrap();
    let lines = |text: String| -> Vec<String> {
        let mut v: Vec<String> = text.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let tables = stark::testing::psql(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    let mut out = std::collections::BTreeMap::new();
    for t in tables.lines().filter(|t| !t.is_empty()) {
        let rows = stark::testing::psql(url, &format!("SELECT r::text FROM \"{t}\" r"));
        out.insert(t.to_string(), lines(rows));
    }
    let sequences = stark::testing::psql(
        url,
        "SELECT sequencename || '=' || COALESCE(last_value::text, 'unused') FROM pg_sequences WHERE schemaname = current_schema()",
    );
    out.insert("#sequences".to_string(), lines(sequences));
    out
}

fn pg_admin() -> String {
    stark::testing::pg_test_server().expect("STARK_TEST_PG")
}

/// The database of a test URL (`postgres://…/stark_t_…?sslmode=disable`).
fn pg_database_name(url: &Path) -> String {
    let url = url.to_str().unwrap();
    let path = url.rsplit_once('/').unwrap().1;
    let name = path.split('?').next().unwrap();
    assert!(
        name.starts_with("stark_t_")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "not a test database: {url}"
    );
    name.to_string()
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
