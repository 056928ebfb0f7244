//! `stark issue-invoices`: one cron tick of the invoice campaign.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use super::backoff;
use super::errors::Report;
use crate::domain::money::{format_brl, parse_brl};
use crate::issuer::{self, CampaignParams, Outcome, TickOptions};
use crate::ledger::Ledger;

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
    let now = clock.now();
    let mut ledger = Ledger::open(&settings.ledger.value)?;
    let opts = TickOptions {
        params: CampaignParams {
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
    };
    let plan = issuer::plan(&mut ledger, now, &opts)?;
    let mut outcomes = plan.notes.clone();
    if issuer::needs_network(&plan) {
        // Only now: the key, the HTTP client and a runtime.
        let client = settings.client()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let sent = rt.block_on(issuer::send(&mut ledger, &client, &plan, now, backoff()))?;
        outcomes.retain(|o| !matches!(o, Outcome::NothingDue { .. }));
        outcomes.extend(sent);
    }
    if let Some(done) = issuer::completion(&ledger, &plan, now)? {
        outcomes.push(done);
    }
    print_outcomes(&outcomes, global)?;
    Ok(outcomes.exit_code())
}

fn print_outcomes(outcomes: &[Outcome], global: &GlobalArgs) -> anyhow::Result<()> {
    if global.json {
        return outln!("{}", serde_json::json!({ "outcomes": outcomes }));
    }
    for o in outcomes {
        let line = describe(o);
        if o.is_failure() {
            eprintln!("error: {line}");
        } else if !global.quiet {
            outln!("{line}")?;
        }
    }
    Ok(())
}

pub fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Issued {
            batch,
            of,
            invoices,
            amount,
            tag,
            resumed,
            ..
        } => format!(
            "batch {batch}/{of}: issued {invoices} invoices, {}{} ({tag})",
            format_brl(*amount),
            if *resumed {
                ", found at the bank after an unclear answer"
            } else {
                ""
            }
        ),
        Outcome::NothingDue {
            reason,
            next_batch: Some(n),
            of,
            next_due: Some(at),
            ..
        } => {
            format!("nothing due: {reason}; next batch {n}/{of} at {at}")
        }
        Outcome::NothingDue { reason, .. } => format!("nothing due: {reason}; no batch left"),
        Outcome::Complete {
            campaign,
            issued,
            missed,
            of,
        } => {
            format!(
                "campaign c{campaign} is complete: {issued} of {of} batches issued, {missed} missed"
            )
        }
        Outcome::Busy { batch, of, tag, .. } => {
            format!(
                "batch {batch}/{of}: another stark process is sending it ({tag}); nothing to do"
            )
        }
        Outcome::Rejected {
            batch,
            of,
            tag,
            errors,
            ..
        } => format!(
            "batch {batch}/{of} ({tag}) rejected by Stark Bank, not retried: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::Unresolved {
            batch,
            of,
            tag,
            error,
            ..
        } => format!(
            "batch {batch}/{of} ({tag}): no clear answer from Stark Bank ({error}); the next run looks it up before sending again"
        ),
        Outcome::Missed { batch, of, .. } => {
            format!(
                "batch {batch}/{of}: its window passed without a run; recorded as missed (--catch-up issues it)"
            )
        }
    }
}
