//! `stark issue-invoices`: one cron tick of the invoice campaign.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::GlobalArgs;
use super::backoff;
use super::errors::Report;
use crate::domain::campaign::CampaignSpec;
use crate::domain::money::parse_brl;
use crate::issuer::{self, Outcome, TickOptions};

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Interval between batches (new campaigns only)
    #[arg(long, default_value = "3h", value_parser = parse_duration)]
    pub every: chrono::Duration,
    /// Campaign length (new campaigns only)
    #[arg(long = "for", default_value = "24h", value_parser = parse_duration)]
    pub length: chrono::Duration,
    /// Fewest invoices per batch (new campaigns only)
    #[arg(long, default_value_t = 8)]
    pub min: u32,
    /// Most invoices per batch (new campaigns only)
    #[arg(long, default_value_t = 12)]
    pub max: u32,
    /// Smallest invoice amount, in reais (new campaigns only)
    #[arg(long, default_value = "10,00", value_parser = parse_amount)]
    pub min_amount: i64,
    /// Largest invoice amount, in reais (new campaigns only)
    #[arg(long, default_value = "1000,00", value_parser = parse_amount)]
    pub max_amount: i64,
    /// Start a new campaign once the current one is over
    #[arg(long)]
    pub new_campaign: bool,
    /// With --new-campaign: start it even while the current one is running
    #[arg(long, requires = "new_campaign")]
    pub force: bool,
    /// Issue slots whose window passed without a run (instead of recording them as missed)
    #[arg(long)]
    pub catch_up: bool,
    /// After a POST without a clear answer, how long (business time) to give the bank to apply
    /// it before an empty lookup allows sending the batch again
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub settle: chrono::Duration,
    /// Reopen a rejected batch once the cause of its refusal is fixed, and send it in this run
    /// (looked up by its tag first): its number in the latest campaign, or its tag
    #[arg(long, value_name = "BATCH", value_parser = issuer::BatchRef::parse, conflicts_with = "new_campaign")]
    pub retry_batch: Option<issuer::BatchRef>,
}

pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (try 3h, 90m, 24h)"))?;
    chrono::Duration::from_std(d).map_err(|e| e.to_string())
}

fn parse_amount(s: &str) -> Result<i64, String> {
    parse_brl(s).ok_or_else(|| format!("{s:?} is not an amount in reais (try 10,00 or 1000)"))
}

pub fn run(args: &IssueArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let clock = crate::clock::from_env()?;
    let mut ledger = super::open_ledger(&settings)?;
    let opts = TickOptions {
        campaign: CampaignSpec {
            every: args.every,
            length: args.length,
            min_invoices: args.min,
            max_invoices: args.max,
            min_amount: args.min_amount,
            max_amount: args.max_amount,
        },
        new_campaign: args.new_campaign,
        force: args.force,
        catch_up: args.catch_up,
        backoff: backoff(),
        settle: args.settle,
    };
    // The key and the HTTP client are only loaded if the tick has something to send.
    let connect = || -> anyhow::Result<_> { Ok(settings.client()?) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let reopened = match &args.retry_batch {
        Some(which) => Some(issuer::reopen_rejected(&mut ledger, which, clock.now())?),
        None => None,
    };
    if let Some(b) = &reopened
        && !global.json
        && !global.quiet
    {
        outln!(
            "batch {} of campaign c{} ({}): reopened; looked up by its tag, then sent",
            b.slot + 1,
            b.campaign_id,
            b.tag
        )?;
    }
    let mut rng = StdRng::from_entropy();
    let report = rt.block_on(issuer::tick(&mut ledger, connect, &*clock, &mut rng, &opts))?;
    print_outcomes(&report.outcomes, reopened.map(|b| b.tag), global)?;
    Ok(report.outcomes.exit_code())
}

fn print_outcomes(
    outcomes: &[Outcome],
    reopened: Option<String>,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if global.json {
        let mut v = serde_json::json!({ "outcomes": outcomes });
        if let Some(tag) = reopened {
            v["reopened"] = tag.into();
        }
        return super::print_json("issue-invoices", &v);
    }
    for o in outcomes {
        let line = o.to_string();
        if o.is_failure() {
            eprintln!("error: {line}");
        } else if !global.quiet {
            outln!("{line}")?;
        }
    }
    Ok(())
}
