//! `stark sandbox`: a local emulator of the Stark Bank v2 API, faithful enough that the rest
//! of the project is tested only against it.
//!
//! It authenticates requests like the real API (secp256k1 signatures, `Access-Time` skew),
//! validates and stores invoices and transfers, pays most invoices after a random delay
//! (seeded), credits them with a non-zero fee, settles transfers against a balance, records
//! every log as an event, delivers events to webhooks with `Digital-Signature` (about half of
//! them high-S, like the real server), retries failed deliveries at +5/+30/+120 minutes, and
//! injects faults on demand — among them what a real bank may do but the emulator otherwise
//! never does: apply a request after its client timed out (`late-effect`), and answer lists
//! that lag behind or miss part of what matches (`list-lag`, `list-partial`). Its business clock runs at `speed` × real time and can be
//! advanced or set through the admin API (`/_sandbox/...`) or [`Sandbox::advance`].
//!
//! Layout: [`clock`] (business time), [`state`] (the bank: data, schedule, payer, settlement),
//! [`faults`] (rules), `routes` (route resolution, handlers, how a request ends), `server`
//! (the `/v2/` HTTP dispatcher, authentication), `validate`, `delivery` (webhook POSTs),
//! `admin` (`/_sandbox/` routes), and [`memory`] (the same bank behind the
//! [`Bank`](crate::api::Bank) port, in process, without a socket).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::{PrivateKey, PublicKey};

mod admin;
mod auth;
pub mod clock;
mod content;
mod delivery;
pub mod faults;
mod invoice_extra;
pub mod memory;
mod routes;
mod server;
pub mod state;
mod traffic;
mod transfer_extra;
mod validate;

pub use faults::{FaultKind, FaultRule};
pub use state::START_BALANCE;

use clock::SandboxClock;
use state::{Bank, BankSettings, Dispatch};

/// Largest request body accepted (bigger ones get 413).
pub const MAX_BODY: usize = 1 << 20;

/// One end of an invoice fee range: a fixed amount in cents or a percentage of the amount.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FeeBound {
    Cents(i64),
    Percent(f64),
}

impl FeeBound {
    pub fn parse(s: &str) -> Result<FeeBound, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("{t:?} is not a percentage"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("{t:?} must be between 0% and 100%"));
            }
            Ok(FeeBound::Percent(p))
        } else {
            let c: i64 = t.parse().map_err(|_| {
                format!("{t:?} is not an amount in cents (or a percentage like 1%)")
            })?;
            if c < 0 {
                return Err(format!("{t:?} must not be negative"));
            }
            Ok(FeeBound::Cents(c))
        }
    }

    pub fn for_amount(self, amount: i64) -> i64 {
        match self {
            FeeBound::Cents(c) => c,
            FeeBound::Percent(p) => ((amount as f64) * p / 100.0).round() as i64,
        }
    }
}

impl std::fmt::Display for FeeBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeeBound::Cents(c) => write!(f, "{c}"),
            FeeBound::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The fee charged on a paid invoice: uniform between `min` and `max` (each in cents or a
/// percentage of the amount), never more than the amount itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeeRange {
    pub min: FeeBound,
    pub max: FeeBound,
}

impl Default for FeeRange {
    /// From 5 cents up to 1% of the amount.
    fn default() -> Self {
        FeeRange {
            min: FeeBound::Cents(5),
            max: FeeBound::Percent(1.0),
        }
    }
}

impl FeeRange {
    /// `MIN..MAX` (`5..1%`), or a single value (`0`, `2%`).
    pub fn parse(s: &str) -> Result<FeeRange, String> {
        match s.split_once("..") {
            Some((a, b)) => Ok(FeeRange {
                min: FeeBound::parse(a)?,
                max: FeeBound::parse(b)?,
            }),
            None => {
                let v = FeeBound::parse(s)?;
                Ok(FeeRange { min: v, max: v })
            }
        }
    }

    pub fn sample<R: rand::Rng>(&self, amount: i64, rng: &mut R) -> i64 {
        let lo = self.min.for_amount(amount).max(0);
        let hi = self.max.for_amount(amount).max(lo);
        let fee = if hi > lo { rng.gen_range(lo..=hi) } else { lo };
        fee.min(amount.max(0))
    }
}

impl std::str::FromStr for FeeRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeeRange::parse(s)
    }
}

/// Parse `5m..15m` (humantime durations) into a range.
pub fn parse_duration_range(s: &str) -> Result<(chrono::Duration, chrono::Duration), String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let p = |x: &str| {
        humantime::parse_duration(x.trim())
            .map_err(|e| format!("{x:?} is not a duration like 5m or 90s: {e}"))
            .and_then(|d| chrono::Duration::from_std(d).map_err(|e| e.to_string()))
    };
    let (lo, hi) = (p(a)?, p(b)?);
    if hi < lo {
        return Err(format!("{s:?}: the maximum is below the minimum"));
    }
    Ok((lo, hi))
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// Projects allowed to call the API: (project id, registered public key).
    pub projects: Vec<(String, PublicKey)>,
    pub seed: u64,
    /// Business time runs this many times faster than real time (0 freezes it).
    pub speed: f64,
    /// Probability that an invoice gets paid.
    pub pay_rate: f64,
    /// Delay from creation to payment (business time), uniform in this range.
    pub pay_delay: (chrono::Duration, chrono::Duration),
    pub invoice_fee: FeeRange,
    /// Fee debited with each successful transfer, in cents, on top of its amount.
    pub transfer_fee: i64,
    /// The balance a fresh sandbox starts with, in cents: zero, like a new real sandbox
    /// workspace (a saved state keeps its own balance).
    pub start_balance: i64,
    /// Allowed difference between `Access-Time` and the real wall clock.
    pub max_skew: std::time::Duration,
    pub faults: Vec<FaultRule>,
    /// Load state from here at start (when it exists), save it periodically and at shutdown.
    pub state_file: Option<PathBuf>,
    /// Business time at start (default: the saved time of `state_file`, else real now).
    pub start_time: Option<DateTime<Utc>>,
    /// The key webhooks are signed with (default: from `state_file`, else a fresh one).
    pub signing_key: Option<PrivateKey>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            projects: Vec::new(),
            seed: 0,
            speed: 1.0,
            pay_rate: 0.8,
            pay_delay: (chrono::Duration::minutes(5), chrono::Duration::minutes(15)),
            invoice_fee: FeeRange::default(),
            transfer_fee: 0,
            start_balance: 0,
            max_skew: std::time::Duration::from_secs(300),
            faults: Vec::new(),
            state_file: None,
            start_time: None,
            signing_key: None,
        }
    }
}

impl SandboxConfig {
    /// The emulated bank's knobs, clamped to their valid ranges.
    pub fn bank_settings(&self) -> BankSettings {
        BankSettings {
            seed: self.seed,
            pay_rate: self.pay_rate.clamp(0.0, 1.0),
            pay_delay: (
                self.pay_delay.0.num_seconds().max(0),
                self.pay_delay.1.num_seconds().max(0),
            ),
            invoice_fee: self.invoice_fee,
            transfer_fee: self.transfer_fee.max(0),
            start_balance: self.start_balance,
        }
    }
}

/// What really happened, for tests to compare against what a client believes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub invoices: Vec<TruthInvoice>,
    pub transfers: Vec<TruthTransfer>,
    pub balance: i64,
    pub events: usize,
    pub undelivered_events: usize,
    /// The events a client marked delivered (`PATCH /v2/event/{id}`), with their subject.
    #[serde(default)]
    pub marked_delivered: Vec<TruthMarkedEvent>,
}

/// An event a client marked delivered, and the invoice or transfer it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthMarkedEvent {
    pub id: String,
    pub subscription: String,
    /// The invoice's or transfer's id (`None` for other subscriptions).
    pub subject_id: Option<String>,
    /// The subject's tags.
    pub subject_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthInvoice {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub nominal_amount: i64,
    pub fee: i64,
    pub tags: Vec<String>,
    pub credited: bool,
    pub credited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthTransfer {
    pub id: String,
    pub external_id: String,
    pub amount: i64,
    pub status: String,
    pub fee: i64,
    pub tags: Vec<String>,
    pub tax_id: String,
    pub bank_code: String,
    pub branch_code: String,
    pub account_number: String,
    pub account_type: String,
    pub name: String,
}

/// The state file: the bank plus the webhook signing key.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedState {
    signing_key: String,
    bank: Bank,
}

/// Everything the server, the ticker and the deliverer share.
pub(crate) struct Shared {
    pub(crate) bank: Mutex<Bank>,
    pub(crate) clock: SandboxClock,
    pub(crate) key: PrivateKey,
    pub(crate) key_created: DateTime<Utc>,
    pub(crate) max_skew: std::time::Duration,
    pub(crate) http: reqwest::Client,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) held: Mutex<Vec<(Dispatch, Instant)>>,
    pub(crate) state_file: Option<PathBuf>,
    /// Set when the sandbox stops: ends the answers that `late-effect` holds.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
    /// Print one stderr line per request and per delivery ([`Sandbox::log_traffic`]).
    pub(crate) log_traffic: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(crate) fn bank(&self) -> MutexGuard<'_, Bank> {
        self.bank.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run everything due by the business clock's now and send the resulting deliveries.
    pub(crate) fn pump(self: &Arc<Self>) {
        let now = self.clock.now();
        let ds = self.bank().process_due(now);
        delivery::dispatch(self, ds);
    }

    fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let bytes = {
            let mut bank = self.bank();
            bank.saved_at = Some(self.clock.now());
            let saved = SavedStateRef {
                signing_key: self.key.to_sec1_pem(),
                bank: &bank,
            };
            serde_json::to_vec(&saved).context("cannot serialize the sandbox state")?
        };
        write_atomic(path, &bytes)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SavedStateRef<'a> {
    signing_key: String,
    bank: &'a Bank,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)
        .with_context(|| format!("cannot write the state file {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write the state file {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot replace the state file {}", path.display()))
}

fn load_state(path: &Path) -> anyhow::Result<Option<SavedState>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let s: SavedState = serde_json::from_slice(&bytes).with_context(|| {
                format!("the state file {} is not a sandbox state", path.display())
            })?;
            Ok(Some(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the state file {}", path.display())),
    }
}

/// A running sandbox.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// Start a sandbox: bind, load state, and run the server and the clock ticker in the
/// background on the current tokio runtime.
pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
    let settings = config.bank_settings();
    let saved = match &config.state_file {
        Some(p) => load_state(p)?,
        None => None,
    };
    let (mut bank, saved_key, saved_at) = match saved {
        Some(s) => {
            let at = s.bank.saved_at;
            let bank = s
                .bank
                .restore(settings.clone())
                .map_err(anyhow::Error::msg)?;
            (Some(bank), Some(s.signing_key), at)
        }
        None => (None, None, None),
    };
    let start_time = config.start_time.or(saved_at).unwrap_or_else(Utc::now);
    let mut bank = bank
        .take()
        .unwrap_or_else(|| Bank::new(settings.clone(), start_time));
    bank.faults = config.faults.clone();
    for (id, key) in &config.projects {
        bank.register_project(id, key.clone());
    }
    let key = match (config.signing_key, saved_key) {
        (Some(k), _) => k,
        (None, Some(pem)) => PrivateKey::from_pem(&pem).context("the saved signing key")?,
        (None, None) => PrivateKey::generate(),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(5))
        .user_agent("stark-sandbox")
        .no_proxy()
        .build()
        .context("cannot build the webhook HTTP client")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        bank: Mutex::new(bank),
        clock: SandboxClock::new(start_time, config.speed),
        key,
        key_created: start_time,
        max_skew: config.max_skew,
        http,
        handle: tokio::runtime::Handle::current(),
        in_flight: AtomicUsize::new(0),
        held: Mutex::new(Vec::new()),
        state_file: config.state_file.clone(),
        closing: tokio::sync::watch::Sender::new(false),
        log_traffic: std::sync::atomic::AtomicBool::new(false),
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = server::router(shared.clone());
    let server = tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    let tick_shared = shared.clone();
    let ticker = tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(25));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_save = Instant::now();
        loop {
            interval.tick().await;
            tick_shared.pump();
            delivery::release_stale(&tick_shared);
            if tick_shared.state_file.is_some() && last_save.elapsed().as_secs() >= 5 {
                last_save = Instant::now();
                let s = tick_shared.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = s.save() {
                        tracing::warn!(error = %format!("{e:#}"), "cannot save the sandbox state");
                    }
                })
                .await;
            }
        }
    });
    tracing::info!(%addr, "sandbox listening");
    Ok(Sandbox {
        shared,
        addr,
        stop: Some(stop_tx),
        server: Some(server),
        ticker: Some(ticker),
    })
}

impl Sandbox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (what `STARK_API_URL` should be).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The key webhook deliveries are signed with (also served at `/v2/public-key`).
    pub fn public_key(&self) -> PublicKey {
        self.shared.key.public_key()
    }

    /// Business time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Move business time forward and process everything that became due, in time order.
    pub fn advance(&self, by: chrono::Duration) {
        self.shared.clock.advance(by);
        self.shared.pump();
    }

    /// Set business time and process everything that became due.
    pub fn set_time(&self, t: DateTime<Utc>) {
        self.shared.clock.set(t);
        self.shared.pump();
    }

    pub fn register_project(&self, id: &str, key: PublicKey) {
        self.shared.bank().register_project(id, key);
    }

    /// Print one line on stderr per request answered and per webhook delivery made (time,
    /// method, path, status, milliseconds; event, subscription, url, outcome, attempt).
    pub fn log_traffic(&self, on: bool) {
        self.shared
            .log_traffic
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Replace the fault rules.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.bank().faults = rules;
    }

    pub fn truth(&self) -> GroundTruth {
        self.shared.bank().truth()
    }

    /// Send every delivery that is due (including held-back ones) and wait, up to `timeout`,
    /// until none is in flight. Returns whether everything settled.
    pub async fn flush_deliveries(&self, timeout: std::time::Duration) -> bool {
        delivery::flush(&self.shared, timeout).await
    }

    /// Stop serving, stop the clock ticker and save the state file (if any).
    pub async fn shutdown(mut self) {
        self.stop_tasks().await;
        if let Err(e) = self.shared.save() {
            tracing::warn!(error = %format!("{e:#}"), "cannot save the sandbox state");
        }
    }

    async fn stop_tasks(&mut self) {
        self.shared.closing.send_replace(true);
        if let Some(t) = self.ticker.take() {
            t.abort();
            let _ = t.await;
        }
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut s) = self.server.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(3), &mut s)
                .await
                .is_err()
            {
                s.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shared.closing.send_replace(true);
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

impl Shared {
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fee_ranges() {
        let r = FeeRange::parse("5..1%").unwrap();
        assert_eq!(r, FeeRange::default());
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let f = r.sample(10_000, &mut rng);
            assert!((5..=100).contains(&f), "{f}");
        }
        assert_eq!(r.sample(3, &mut rng), 3, "never more than the amount");
        assert_eq!(r.sample(0, &mut rng), 0);
        assert_eq!(FeeRange::parse("7").unwrap().sample(1000, &mut rng), 7);
        assert!(FeeRange::parse("x..1%").is_err());
        assert!(FeeRange::parse("-1..1%").is_err());
    }

    #[test]
    fn duration_ranges() {
        let (a, b) = parse_duration_range("5m..15m").unwrap();
        assert_eq!(a, chrono::Duration::minutes(5));
        assert_eq!(b, chrono::Duration::minutes(15));
        assert!(parse_duration_range("15m..5m").is_err());
        assert!(parse_duration_range("soon").is_err());
    }
}
