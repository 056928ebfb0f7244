//! `stark sandbox`: run the local Stark Bank emulator until SIGINT/SIGTERM; with a
//! subcommand (`clock`, `pay`, `fault`, `flush`), drive a running one through its admin API.
//!
//! Prints `STARK_API_URL=http://HOST:PORT` as the first line of stdout, then the webhook
//! signing public key (PEM), and flushes, so a parent process can read where it listens. Then
//! one line per request and per webhook delivery on stderr (not with `--quiet`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::GlobalArgs;
use super::errors::UsageError;
use crate::keys::{PrivateKey, PublicKey};
use crate::sandbox::{self, FaultRule, FeeRange, SandboxConfig};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = SANDBOX_NOTES
)]
pub struct SandboxArgs {
    /// Drive a running sandbox instead of starting one
    #[command(subcommand)]
    pub admin: Option<AdminCommand>,
    /// Address to listen on (port 0 picks a free port; the URL is printed first)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A project allowed to call the API (repeatable; pair each with a --public-key)
    #[arg(long = "project-id", value_name = "ID")]
    pub project_id: Vec<String>,
    /// The public key PEM registered for the matching --project-id (repeatable)
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_key: Vec<PathBuf>,
    /// Seed for every random choice (payments, delays, fees, ids, faults)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Business time runs this many times faster than real time (0 freezes it)
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Probability that an invoice gets paid
    #[arg(long, value_name = "P", default_value_t = 0.8, value_parser = parse_rate)]
    pub pay_rate: f64,
    /// Delay from creation to payment, business time (e.g. 5m..15m)
    #[arg(long, value_name = "MIN..MAX", default_value = "5m..15m", value_parser = sandbox::parse_duration_range)]
    pub pay_delay: (chrono::Duration, chrono::Duration),
    /// Invoice fee range; each end in cents or a percentage of the amount (5..1% = 5 cents up to 1%)
    #[arg(long, value_name = "MIN..MAX", default_value = "5..1%")]
    pub invoice_fee: FeeRange,
    /// Fee debited with each successful transfer, in cents, on top of its amount
    #[arg(long, value_name = "CENTS", default_value_t = 0)]
    pub transfer_fee: u32,
    /// Balance a fresh sandbox starts with, in cents (0, like a new real sandbox workspace;
    /// a saved --state keeps its own)
    #[arg(long, value_name = "CENTS", default_value_t = 0)]
    pub start_balance: u64,
    /// Allowed difference between Access-Time and this machine's clock, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub max_skew: u64,
    /// Inject a fault: KIND=RATE or ROUTE:KIND=RATE (repeatable; see the README)
    ///
    /// RATE is a probability in 0..1, rolled with the seeded RNG. Kinds: 500, 503, 429
    /// (answer that status, do nothing); latency=RATE@MS (wait first); lost-response (take
    /// effect, then answer 502 or cut the connection); late-effect=RATE@MS (answer 504, cut
    /// the connection or never answer, and take effect MS of business time later, default
    /// 5000); list-lag=RATE@MS (lists leave out items created in the last MS of business
    /// time, default 5000; gets by id see them); list-partial (a tag query answers a strict,
    /// non-empty part of what matches); invalid-access-time, invalid-credentials (a 400
    /// request-level error, nothing done); null-optionals (unset optional fields as null),
    /// missing-fee (credited invoices without fee), undecodable-event (signed events that do
    /// not decode); duplicate-delivery, reorder-delivery,
    /// drop-delivery (webhooks); transfer-fail (a transfer ends failed). ROUTE is a route
    /// name or a prefix of one: invoice.create, invoice.list, invoice.get, invoice.patch,
    /// invoice.log.list, transfer.create, event.list, delivery.invoice, transfer.settle...
    #[arg(long = "fault", value_name = "[ROUTE:]KIND=RATE")]
    pub faults: Vec<FaultRule>,
    /// Load state from FILE at start (if it exists); save it periodically and on exit
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Business time at start, RFC 3339 [default: the saved time of --state, else now]
    #[arg(long, value_name = "RFC3339", value_parser = parse_start)]
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// Sign webhooks with this private key PEM [default: from --state, else a new key]
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("{s:?} must be a number >= 0"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| (0.0..=1.0).contains(x))
        .ok_or_else(|| format!("{s:?} must be a probability between 0 and 1"))
}

fn parse_start(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::api::model::Timestamp::parse(s)
        .map(|t| t.0)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 datetime like 2026-01-31T12:00:00Z"))
}

impl SandboxArgs {
    /// Turn the flags into a [`SandboxConfig`] (reads the key files).
    pub fn config(&self) -> anyhow::Result<SandboxConfig> {
        if self.project_id.len() != self.public_key.len() {
            return Err(UsageError(format!(
                "give one --public-key per --project-id ({} project ids, {} public keys)",
                self.project_id.len(),
                self.public_key.len()
            ))
            .into());
        }
        let mut projects = Vec::new();
        for (id, path) in self.project_id.iter().zip(&self.public_key) {
            let key =
                PublicKey::load(path).with_context(|| format!("public key of project {id}"))?;
            projects.push((id.clone(), key));
        }
        let signing_key = match &self.signing_key {
            Some(p) => Some(PrivateKey::load(p).context("the webhook signing key")?),
            None => None,
        };
        Ok(SandboxConfig {
            listen: self.listen,
            projects,
            seed: self.seed,
            speed: self.speed,
            pay_rate: self.pay_rate,
            pay_delay: self.pay_delay,
            invoice_fee: self.invoice_fee,
            transfer_fee: i64::from(self.transfer_fee),
            start_balance: i64::try_from(self.start_balance).unwrap_or(i64::MAX),
            max_skew: std::time::Duration::from_secs(self.max_skew),
            faults: self.faults.clone(),
            state_file: self.state.clone(),
            start_time: self.start,
            signing_key,
        })
    }
}

/// What a rehearsal needs to know, shown by `stark sandbox --help`.
const SANDBOX_NOTES: &str = "\
Rehearsing:
  The sandbox prints one line per request (time, method, path, status, ms) and per webhook
  delivery (event, subscription, url, outcome, attempt) on stderr; --quiet silences them.
  From another terminal: `stark sandbox clock advance 20m`, `stark sandbox pay <invoice-id>`,
  `stark sandbox fault 503=0.5`, `stark sandbox fault clear`, `stark sandbox flush` (the
  sandbox's URL from --url, --api-url or STARK_API_URL). GET /_sandbox/ lists the admin routes.

  Events are delivered only to the webhooks registered when they were created: an event made
  before `serve-webhook` registered its webhook is never delivered to it (`stark reconcile`
  picks it up from the event list).

  The sandbox clock (business time: --start, --speed, `stark sandbox clock`) and STARK_NOW
  (the business time a stark command believes) are independent: move both when you rehearse
  a schedule, e.g. `stark sandbox clock set 2026-03-02T03:00:00Z` and
  `STARK_NOW=2026-03-02T03:00:00Z stark issue-invoices`.";

/// `stark sandbox <subcommand>`: drive a running sandbox through `/_sandbox/`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show a running sandbox's business time, or move it (`clock advance 20m`, `clock set T`)
    Clock(ClockArgs),
    /// Pay and credit invoices now (their webhook events follow)
    Pay(PayArgs),
    /// Show the fault rules, replace them (`fault 503=0.5 invoice.list:list-lag=1@60000`), or `fault clear`
    Fault(FaultArgs),
    /// Send every due webhook delivery now and wait until they are answered
    Flush(AdminUrl),
}

#[derive(Debug, Clone, Args)]
pub struct AdminUrl {
    /// The running sandbox [default: --api-url, else STARK_API_URL, else http://127.0.0.1:8080]
    #[arg(long, value_name = "URL", global = true)]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(subcommand)]
    pub action: Option<ClockAction>,
    #[command(flatten)]
    pub url: AdminUrl,
}

#[derive(Debug, Subcommand)]
pub enum ClockAction {
    /// Move business time forward by a duration (20m, 3h, 1h30m); what became due happens
    Advance {
        #[arg(value_name = "DURATION", value_parser = parse_advance)]
        by: String,
    },
    /// Set business time (RFC 3339)
    Set {
        #[arg(value_name = "RFC3339", value_parser = parse_start)]
        time: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, Args)]
pub struct PayArgs {
    /// The invoices to pay
    #[arg(value_name = "INVOICE_ID", required_unless_present = "all")]
    pub ids: Vec<String>,
    /// Pay every invoice that is still open (created or overdue)
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Amount paid, in cents [default: the invoice's nominal amount]
    #[arg(long, value_name = "CENTS")]
    pub amount: Option<i64>,
    /// Fee charged, in cents [default: drawn from the sandbox's --invoice-fee]
    #[arg(long, value_name = "CENTS")]
    pub fee: Option<i64>,
    #[command(flatten)]
    pub url: AdminUrl,
}

#[derive(Debug, Args)]
pub struct FaultArgs {
    /// Rules [ROUTE:]KIND=RATE (see `stark sandbox --help`), or `clear`; none shows the rules
    #[arg(value_name = "RULE")]
    pub rules: Vec<String>,
    /// Add the rules to the ones in force instead of replacing them
    #[arg(long)]
    pub add: bool,
    #[command(flatten)]
    pub url: AdminUrl,
}

fn parse_advance(s: &str) -> Result<String, String> {
    humantime::parse_duration(s.trim())
        .map(|_| s.trim().to_string())
        .map_err(|_| format!("{s:?} is not a duration like 20m, 3h or 1h30m"))
}

/// Where the running sandbox is: --url, else --api-url, else STARK_API_URL, else the default
/// listen address of `stark sandbox`.
fn admin_base(url: &AdminUrl, global: &GlobalArgs) -> String {
    url.url
        .clone()
        .or_else(|| global.api_url.clone())
        .or_else(|| {
            std::env::var("STARK_API_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim()
        .trim_end_matches('/')
        .to_string()
}

/// A client of one running sandbox's admin API.
struct Admin {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Admin {
    fn new(url: &AdminUrl, global: &GlobalArgs) -> anyhow::Result<Admin> {
        let base = admin_base(url, global);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(UsageError(format!(
                "the sandbox URL {base:?} must start with http:// (like the STARK_API_URL line `stark sandbox` prints)"
            ))
            .into());
        }
        Ok(Admin {
            base,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .context("cannot build the HTTP client")?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?,
        })
    }

    /// GET (no body) or POST `body` to `/_sandbox/{path}`; the JSON answer, or the sandbox's
    /// error message.
    fn call(&self, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        self.runtime.block_on(async {
            let req = match &body {
                None => self.http.get(&url),
                Some(b) => self
                    .http
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(b.to_string()),
            };
            let resp = req.send().await.with_context(|| {
                format!(
                    "cannot reach the sandbox at {} (is `stark sandbox` running there? pass --url or set STARK_API_URL)",
                    self.base
                )
            })?;
            let status = resp.status();
            let text = resp
                .text()
                .await
                .with_context(|| format!("cannot read the answer of {url}"))?;
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !status.is_success() {
                let message = v
                    .pointer("/errors/0/message")
                    .and_then(Value::as_str)
                    .map_or_else(|| text.trim().to_string(), str::to_string);
                anyhow::bail!("the sandbox at {} refused: {message} ({status})", self.base);
            }
            if v.is_null() {
                anyhow::bail!("the sandbox at {} answered something that is not JSON: {text}", self.base);
            }
            Ok(v)
        })
    }
}

fn run_admin(cmd: &AdminCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Clock(a) => {
            let admin = Admin::new(&a.url, global)?;
            let v = match &a.action {
                None => admin.call("clock", None)?,
                Some(ClockAction::Advance { by }) => {
                    admin.call("clock", Some(json!({ "advance": by })))?
                }
                Some(ClockAction::Set { time }) => admin.call(
                    "clock",
                    Some(
                        json!({ "set": time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true) }),
                    ),
                )?,
            };
            let now = v.get("now").and_then(Value::as_str).unwrap_or_default();
            let speed = v.get("speed").and_then(Value::as_f64).unwrap_or_default();
            if global.json {
                outln!("{}", json!({"version": 1, "now": now, "speed": speed}))?;
            } else {
                outln!("{now}")?;
                if !global.quiet && speed == 0.0 {
                    eprintln!("(the sandbox clock is frozen: --speed 0)");
                }
            }
        }
        AdminCommand::Pay(a) => {
            let admin = Admin::new(&a.url, global)?;
            let ids: Vec<String> = if a.all {
                let truth = admin.call("truth", None)?;
                truth
                    .get("invoices")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|i| {
                        matches!(
                            i.get("status").and_then(Value::as_str),
                            Some("created" | "overdue")
                        )
                    })
                    .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            } else {
                a.ids.clone()
            };
            let mut body = serde_json::Map::new();
            if let Some(x) = a.amount {
                body.insert("amount".into(), json!(x));
            }
            if let Some(x) = a.fee {
                body.insert("fee".into(), json!(x));
            }
            let mut paid = Vec::new();
            for id in &ids {
                let v = admin.call(
                    &format!("invoices/{id}/pay"),
                    Some(Value::Object(body.clone())),
                )?;
                let inv = v.get("invoice").cloned().unwrap_or(Value::Null);
                let amount = inv
                    .get("amount")
                    .and_then(Value::as_i64)
                    .unwrap_or_default();
                let fee = inv.get("fee").and_then(Value::as_i64).unwrap_or_default();
                let status = inv
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                paid.push(json!({"id": id, "status": status, "amount": amount, "fee": fee}));
            }
            // Printed once every invoice is paid: a reader that stops early (`| head -1`)
            // does not stop the paying.
            if !global.json {
                for p in &paid {
                    let cents = |k: &str| p[k].as_i64().unwrap_or_default();
                    outln!(
                        "{} {}: amount {}, fee {}",
                        p["id"].as_str().unwrap_or_default(),
                        p["status"].as_str().unwrap_or_default(),
                        crate::domain::money::format_brl(cents("amount")),
                        crate::domain::money::format_brl(cents("fee"))
                    )?;
                }
            }
            if global.json {
                outln!("{}", json!({"version": 1, "invoices": paid}))?;
            } else if !global.quiet && paid.is_empty() {
                eprintln!("no open invoice to pay");
            }
        }
        AdminCommand::Fault(a) => {
            let clear = a.rules.len() == 1 && a.rules[0] == "clear";
            let mut rules = Vec::new();
            if !clear {
                for r in &a.rules {
                    let rule = FaultRule::parse(r)
                        .map_err(|e| UsageError(format!("fault rule {r:?}: {e}")))?;
                    rules.push(rule.to_string());
                }
            }
            if clear && a.add {
                return Err(UsageError("`fault clear` takes no --add".into()).into());
            }
            let admin = Admin::new(&a.url, global)?;
            let v = if a.rules.is_empty() {
                admin.call("faults", None)?
            } else {
                if a.add {
                    let mut all = rules_of(&admin.call("faults", None)?);
                    all.extend(rules);
                    rules = all;
                }
                admin.call("faults", Some(json!({ "rules": rules })))?
            };
            let rules = rules_of(&v);
            if global.json {
                outln!("{}", json!({"version": 1, "rules": rules}))?;
            } else {
                for r in &rules {
                    outln!("{r}")?;
                }
                if rules.is_empty() && !global.quiet {
                    eprintln!("no fault rule in force");
                }
            }
        }
        AdminCommand::Flush(url) => {
            let admin = Admin::new(url, global)?;
            let v = admin.call("webhooks/deliver", Some(json!({})))?;
            let settled = v.get("settled").and_then(Value::as_bool).unwrap_or(false);
            let in_flight = v
                .get("inFlight")
                .and_then(Value::as_u64)
                .unwrap_or_default();
            if global.json {
                outln!(
                    "{}",
                    json!({"version": 1, "settled": settled, "in_flight": in_flight})
                )?;
            } else if !settled {
                eprintln!("deliveries still in flight after 10 s: {in_flight}");
            } else if !global.quiet {
                eprintln!("every due delivery was answered");
            }
            if !settled {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &SandboxArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if let Some(cmd) = &args.admin {
        return run_admin(cmd, global);
    }
    let config = args.config()?;
    let log_traffic = !global.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        if config.projects.is_empty() {
            tracing::warn!(
                "no project registered: pass --project-id ID --public-key FILE, or POST /_sandbox/projects"
            );
        }
        let sb = sandbox::start(config).await?;
        sb.log_traffic(log_traffic);
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "STARK_API_URL={}", sb.url())?;
            write!(out, "{}", sb.public_key().to_pem())?;
            out.flush()?;
        }
        eprintln!(
            "stark sandbox listening on {} (business time {}); admin API under {}/_sandbox/; Ctrl-C to stop",
            sb.url(),
            sb.now().to_rfc3339(),
            sb.url()
        );
        wait_for_signal().await;
        eprintln!("stark sandbox: shutting down");
        sb.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The fault rules an admin answer lists (`{"rules": ["503=0.3", …]}`).
fn rules_of(v: &Value) -> Vec<String> {
    v.get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}
