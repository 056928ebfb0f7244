//! `stark sandbox`: run the local Stark Bank emulator until SIGINT/SIGTERM.
//!
//! Prints `STARK_API_URL=http://HOST:PORT` as the first line of stdout, then the webhook
//! signing public key (PEM), and flushes, so a parent process can read where it listens.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use super::errors::UsageError;
use crate::keys::{PrivateKey, PublicKey};
use crate::sandbox::{self, FaultRule, FeeRange, SandboxConfig};

#[derive(Debug, Args)]
pub struct SandboxArgs {
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

pub fn run(args: &SandboxArgs, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
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
