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

    /// [`Env::new`] without the ledger: [`Env::ledger`] names a file that does not exist.
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
            ledger: dir.path().join("ledger.sqlite3"),
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
        let credits = || -> usize {
            self.ledger_conn()
                .query_row("SELECT COUNT(*) FROM credits", [], |r| r.get::<_, i64>(0))
                .unwrap() as usize
        };
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
            let open: i64 = self
                .ledger_conn()
                .query_row(
                    "SELECT COUNT(*) FROM transfers WHERE status NOT IN ('success', 'failed', 'rejected')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
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

    pub fn ledger_conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.ledger).unwrap()
    }

    pub fn ledger_id(&self) -> String {
        self.ledger_conn()
            .query_row("SELECT value FROM meta WHERE key = 'ledger_id'", [], |r| {
                r.get(0)
            })
            .unwrap()
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

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
