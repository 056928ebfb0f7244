//! `stark demo` as a library: the whole 24-hour flow, compressed, against the built-in
//! emulator — no configuration, no network.
//!
//! The sandbox runs in-process with its clock frozen; the demo moves business time in
//! 10-minute steps, as cron would see it: an `issue-invoices` tick every 3 hours, a
//! `reconcile` tick (which also transfers) every 10 minutes, and `serve-webhook` up for part
//! of the day and down for the rest. The sandbox pays most invoices and misbehaves as asked
//! (dropped, duplicated and reordered deliveries, lost responses, server errors). At the end
//! the system settles and the promise is checked against the sandbox's ground truth.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, DurationRound, Utc};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::api::{Client, ClientConfig};
use crate::audit::{self, Audit, Expectations};
use crate::clock::ManualClock;
use crate::domain::campaign::CampaignSpec;
use crate::issuer::{self, IssueError, TickOptions};
use crate::keys::PrivateKey;
use crate::ledger::Ledger;
use crate::payout::PayoutOptions;
use crate::reconcile::{self, NoProgress, ReconcileOptions};
use crate::sandbox::{self, FaultRule, SandboxConfig};
use crate::serve::{self, ServerConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultLevel {
    /// A well-behaved bank.
    None,
    /// Some dropped, duplicated and reordered deliveries; a few lost responses.
    Light,
    /// A rough day: many lost responses, 5xx and 429, latency, failing transfers.
    Heavy,
}

/// `1 credit`, `2 credits`, `0 credits`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl FaultLevel {
    /// The level as `--faults` spells it (`light`).
    pub fn name(self) -> &'static str {
        match self {
            FaultLevel::None => "none",
            FaultLevel::Light => "light",
            FaultLevel::Heavy => "heavy",
        }
    }

    pub fn rules(self) -> Vec<&'static str> {
        match self {
            FaultLevel::None => vec![],
            FaultLevel::Light => vec![
                "drop-delivery=0.15",
                "duplicate-delivery=0.1",
                "reorder-delivery=0.1",
                "invoice.create:lost-response=0.1",
                "transfer.create:lost-response=0.1",
                "event.list:503=0.05",
            ],
            FaultLevel::Heavy => vec![
                "drop-delivery=0.3",
                "duplicate-delivery=0.2",
                "reorder-delivery=0.2",
                "invoice.create:lost-response=0.3",
                "transfer.create:lost-response=0.3",
                "500=0.05",
                "503=0.05",
                "429=0.05",
                "latency=0.05@150",
                "transfer-fail=0.05",
            ],
        }
    }
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    /// Business seconds per real second (2880 runs 24 hours in 30 seconds).
    pub speed: f64,
    pub faults: FaultLevel,
    pub ledger: PathBuf,
}

/// Progress callbacks.
pub trait DemoProgress: Send + Sync {
    fn step(&self, _done: u64, _total: u64, _now: DateTime<Utc>, _webhook_up: bool) {}
    fn note(&self, _line: String) {}
}

/// What a demo run did (`stark demo --json`).
#[derive(Debug, Clone, Serialize)]
pub struct DemoOutcome {
    /// The seed every random draw of the run came from (`--seed` replays it).
    pub seed: u64,
    /// How hostile the emulated bank was.
    pub faults: FaultLevel,
    /// The business day the run emulated, start and end.
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    /// `issue-invoices` ticks and `reconcile` sweeps made.
    pub ticks: usize,
    pub reconciles: usize,
    /// How many times `serve-webhook` came up, and the events it and the sweeps recorded.
    pub webhook_windows: usize,
    pub webhook_events: i64,
    pub swept_events: i64,
    /// The promise, checked against the emulated bank's ground truth.
    pub audit: Audit,
    /// Wall-clock seconds the whole run took.
    pub real_seconds: f64,
}

const PROJECT: &str = "9999000011112222";
const STEP_MINUTES: i64 = 10;

/// Run the demo. The ledger at `opts.ledger` should be fresh.
pub async fn run(opts: &DemoOptions, progress: &dyn DemoProgress) -> anyhow::Result<DemoOutcome> {
    let real_start = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let key = PrivateKey::generate();
    let t0 = crate::clock::system_now()
        .duration_trunc(Duration::hours(1))
        .unwrap_or_else(|_| crate::clock::system_now());
    let faults: Vec<FaultRule> = opts
        .faults
        .rules()
        .iter()
        .map(|r| FaultRule::parse(r).map_err(anyhow::Error::msg))
        .collect::<Result<_, _>>()?;
    let sandbox = sandbox::start(SandboxConfig {
        projects: vec![(PROJECT.to_string(), key.public_key())],
        seed: opts.seed,
        speed: 0.0,
        pay_rate: 0.85,
        pay_delay: (Duration::minutes(20), Duration::hours(2)),
        start_time: Some(t0),
        faults,
        ..SandboxConfig::default()
    })
    .await?;
    let mut cfg = ClientConfig::new(sandbox.url(), PROJECT, Arc::new(key));
    cfg.timeout = StdDuration::from_secs(5);
    cfg.backoff = StdDuration::from_millis(10);
    let client = Client::new(cfg).map_err(anyhow::Error::msg)?;
    let mut ledger = Ledger::open_or_create(&opts.ledger)?; // the demo's own, fresh ledger
    let clock = ManualClock::new(t0);
    let backoff = StdDuration::from_millis(10);
    let tick_opts = TickOptions {
        campaign: CampaignSpec::default(),
        backoff,
        ..TickOptions::default()
    };
    // The payers and amounts of the batches: seeded too, on a stream of their own (the cron
    // jitter above draws from `rng`).
    let mut payers = rand::rngs::StdRng::seed_from_u64(opts.seed ^ 0x7061_7965_7273);
    let bank = || Ok::<_, IssueError>(client.clone());
    let rec_opts = ReconcileOptions {
        payout: PayoutOptions {
            backoff,
            ..PayoutOptions::default()
        },
        ..ReconcileOptions::default()
    };

    // The webhook is up twice during the day, down the rest of the time.
    let windows = [
        (Duration::hours(1), Duration::hours(7)),
        (Duration::hours(13), Duration::hours(16)),
    ];
    let end = t0 + Duration::hours(24);
    let total_steps = ((end - t0).num_minutes() / STEP_MINUTES) as u64;
    let mut server: Option<(serve::WebhookServer, String)> = None;
    let mut next_tick = t0;
    let (mut ticks, mut reconciles, mut windows_opened) = (0, 0, 0);
    for step in 0..=total_steps {
        let now = t0 + Duration::minutes(STEP_MINUTES * step as i64);
        sandbox.set_time(now);
        clock.set(now);
        let since = now - t0;
        let want_up = windows.iter().any(|(a, b)| since >= *a && since < *b);
        match (&server, want_up) {
            (None, true) => {
                server = start_webhook(&client, &opts.ledger, &clock).await.ok();
                if server.is_some() {
                    windows_opened += 1;
                    progress.note(format!("{}  serve-webhook up", hm(since)));
                }
            }
            (Some(_), false) => {
                let (s, id) = server.take().expect("checked");
                s.stop().await?;
                let _ = serve::unregister(&client, &opts.ledger, &id, &clock).await;
                progress.note(format!("{}  serve-webhook down", hm(since)));
            }
            _ => {}
        }
        if now >= next_tick && now < end {
            match issuer::tick(&mut ledger, bank, &clock, &mut payers, &tick_opts).await {
                Ok(report) => {
                    for o in report.outcomes {
                        progress.note(format!("{}  issue-invoices: {o}", hm(since)));
                    }
                }
                // A failed cron run; the next one resumes.
                Err(e) => progress.note(format!("{}  issue-invoices failed: {e}", hm(since))),
            }
            ticks += 1;
            // Cron's next run: on the hour, give or take a few minutes.
            let slot = (since.num_minutes() / 180 + 1) * 180;
            next_tick = t0 + Duration::minutes(slot + rng.gen_range(-1..=1) * STEP_MINUTES);
        }
        sandbox.flush_deliveries(StdDuration::from_secs(5)).await;
        if server.is_none() || step % 3 == 0 {
            reconciles += 1;
            match reconcile::run(&mut ledger, &client, now, &rec_opts, &NoProgress).await {
                Ok(r) => {
                    let sent = r.transfers.as_ref().map_or(0, |t| t.sent);
                    if r.credits_from_events + r.credits_from_logs + sent > 0 {
                        progress.note(format!(
                            "{}  reconcile: {} from events, {} from invoice logs, {} sent",
                            hm(since),
                            count(r.credits_from_events, "credit", "credits"),
                            r.credits_from_logs,
                            count(sent, "transfer", "transfers"),
                        ));
                    }
                }
                // A failed cron run (the bank had a bad minute); the next one picks up.
                Err(e) => progress.note(format!("{}  reconcile failed: {e:#}", hm(since))),
            }
        }
        progress.step(step, total_steps, now, server.is_some());
        // Pace business time against real time.
        let due = StdDuration::from_secs_f64(since.num_seconds() as f64 / opts.speed.max(1.0));
        if let Some(wait) = due.checked_sub(real_start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    if let Some((s, id)) = server.take() {
        s.stop().await?;
        let _ = serve::unregister(&client, &opts.ledger, &id, &clock).await;
    }

    // Settle: the bank finishes paying and processing; cron keeps running.
    sandbox.set_faults(vec![]);
    let mut now = end;
    for _ in 0..8 {
        now += Duration::minutes(30);
        sandbox.set_time(now);
        clock.set(now);
        issuer::tick(&mut ledger, bank, &clock, &mut payers, &tick_opts).await?;
        reconcile::run(&mut ledger, &client, now, &rec_opts, &NoProgress).await?;
        sandbox.flush_deliveries(StdDuration::from_secs(5)).await;
        let open = ledger.db().open_transfer_count()?;
        if open == 0 && now >= end + Duration::hours(3) {
            break;
        }
    }
    let truth = sandbox.truth();
    let expect = Expectations {
        batches: 8,
        min_invoices: 8,
        max_invoices: 12,
        max_attempts: rec_opts.payout.max_attempts as usize,
        issue_ticks: Vec::new(),
    };
    let audit = audit::audit(&truth, &ledger, Some(&expect), true)?;
    // As before: a failed count shows as zero rather than failing a finished demo.
    let events = ledger.db().event_counts().unwrap_or_default();
    let outcome = DemoOutcome {
        seed: opts.seed,
        faults: opts.faults,
        started: t0,
        ended: now,
        ticks,
        reconciles,
        webhook_windows: windows_opened,
        webhook_events: events.webhook,
        swept_events: events.sweep,
        audit,
        real_seconds: real_start.elapsed().as_secs_f64(),
    };
    sandbox.shutdown().await;
    Ok(outcome)
}

async fn start_webhook(
    client: &Client,
    ledger: &std::path::Path,
    clock: &ManualClock,
) -> anyhow::Result<(serve::WebhookServer, String)> {
    let mut cfg = ServerConfig::new(
        "127.0.0.1:0".parse().expect("static address"),
        ledger.to_path_buf(),
    );
    cfg.client = Some(client.clone());
    cfg.clock = Arc::new(clock.clone());
    cfg.payout.backoff = StdDuration::from_millis(10);
    let srv = serve::start(cfg, std::future::pending()).await?;
    let reg = serve::register(client, ledger, &format!("http://{}", srv.addr), clock).await?;
    Ok((srv, reg.hook.id))
}

fn hm(d: Duration) -> String {
    format!("+{:02}:{:02}", d.num_hours(), d.num_minutes() % 60)
}

#[cfg(test)]
mod plural_tests {
    use super::*;

    #[test]
    fn counts_say_one_credit_and_two_credits() {
        assert_eq!(count(1, "credit", "credits"), "1 credit");
        assert_eq!(count(0, "credit", "credits"), "0 credits");
        assert_eq!(count(2, "batch", "batches"), "2 batches");
        assert_eq!(FaultLevel::Light.name(), "light");
    }
}
