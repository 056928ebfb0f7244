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
use crate::domain::money::{format_brl, parse_brl};
use crate::issuer::{self, Outcome, TickOptions};

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Interval between batches (new campaigns only) [default: 3h]
    #[arg(long, value_parser = parse_duration)]
    pub every: Option<chrono::Duration>,
    /// Campaign length (new campaigns only) [default: 24h]
    #[arg(long = "for", visible_alias = "campaign-length", value_name = "LENGTH", value_parser = parse_duration)]
    pub length: Option<chrono::Duration>,
    /// Fewest invoices per batch (new campaigns only) [default: 8]
    #[arg(long, visible_alias = "min-invoices", value_name = "N")]
    pub min: Option<u32>,
    /// Most invoices per batch (new campaigns only) [default: 12]
    #[arg(long, visible_alias = "max-invoices", value_name = "N")]
    pub max: Option<u32>,
    /// Smallest invoice amount, in reais (new campaigns only) [default: 10,00]
    #[arg(long, value_parser = parse_amount)]
    pub min_amount: Option<i64>,
    /// Largest invoice amount, in reais (new campaigns only) [default: 1000,00]
    #[arg(long, value_parser = parse_amount)]
    pub max_amount: Option<i64>,
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
    /// Show the batch this tick would send (invoices, names, tax ids, amounts, total) and
    /// change nothing: the ledger is read, never written, and nothing is sent to the bank
    #[arg(long, conflicts_with = "retry_batch")]
    pub dry_run: bool,
    /// Do not ask before `--new-campaign --force` abandons a running campaign (the question is
    /// asked only on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl IssueArgs {
    /// The campaign flags as given, over the defaults.
    fn spec(&self) -> CampaignSpec {
        let d = CampaignSpec::default();
        CampaignSpec {
            every: self.every.unwrap_or(d.every),
            length: self.length.unwrap_or(d.length),
            min_invoices: self.min.unwrap_or(d.min_invoices),
            max_invoices: self.max.unwrap_or(d.max_invoices),
            min_amount: self.min_amount.unwrap_or(d.min_amount),
            max_amount: self.max_amount.unwrap_or(d.max_amount),
        }
    }

    /// The campaign flags given on the command line, as `--flag value`.
    fn campaign_flags(&self) -> Vec<&'static str> {
        [
            (self.every.is_some(), "--every"),
            (self.length.is_some(), "--for"),
            (self.min.is_some(), "--min"),
            (self.max.is_some(), "--max"),
            (self.min_amount.is_some(), "--min-amount"),
            (self.max_amount.is_some(), "--max-amount"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }
}

/// `3h`, `90m`, `45s`: a duration as the flags take it.
fn short_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The note for campaign flags given to a tick that continues a running campaign: they apply
/// to a new campaign only, and the running one keeps its own.
fn campaign_flags_note(flags: &[&str], campaign: i64, spec: &CampaignSpec) -> String {
    format!(
        "note: {} appl{} to a new campaign only; c{campaign} keeps every {}, for {}, {}–{} invoices of {}–{} (start a new one with --new-campaign)",
        flags.join(", "),
        if flags.len() == 1 { "ies" } else { "y" },
        short_duration(spec.every),
        short_duration(spec.length),
        spec.min_invoices,
        spec.max_invoices,
        format_brl(spec.min_amount),
        format_brl(spec.max_amount),
    )
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
    let now = clock.now();
    let opts = TickOptions {
        campaign: args.spec(),
        new_campaign: args.new_campaign,
        force: args.force,
        catch_up: args.catch_up,
        backoff: backoff(),
        settle: args.settle,
    };
    let flags = args.campaign_flags();
    if !flags.is_empty()
        && !args.new_campaign
        && !global.quiet
        && let Some((id, spec)) = issuer::running_spec(&ledger, now)?
    {
        eprintln!("{}", campaign_flags_note(&flags, id, &spec));
    }
    if args.dry_run {
        let mut rng = StdRng::from_entropy();
        let preview = issuer::preview(&mut ledger, now, &mut rng, &opts)?;
        print_preview(&preview, global)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.new_campaign
        && args.force
        && let Some(a) = issuer::abandoned(&ledger, now)?
    {
        let consequence = [format!(
            "--new-campaign --force abandons campaign c{} (running until {}): {} of {} batches issued, {} slot(s) left that will never be issued; a new campaign starts now",
            a.campaign, a.ends, a.issued, a.of, a.left
        )];
        if !super::confirm::confirm(&consequence, "Abandon it?", args.yes)? {
            return Err(super::confirm::declined(&format!(
                "campaign c{} kept",
                a.campaign
            )));
        }
    }
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

/// `--dry-run`: what the tick would send, with totals; `--json`: the preview as one document.
fn print_preview(p: &issuer::TickPreview, global: &GlobalArgs) -> anyhow::Result<()> {
    if global.json {
        let mut v = serde_json::to_value(p)?;
        v["version"] = 1.into();
        v["dry_run"] = true.into();
        return outln!("{v}");
    }
    if let Some(c) = p.new_campaign {
        outln!("dry run: would start campaign c{c}")?;
    }
    for n in &p.notes {
        outln!("dry run: {n}")?;
    }
    for b in &p.batches {
        outln!(
            "dry run: {} {}: {} invoices, {}",
            b.batch,
            if b.resumed {
                "would be looked up at the bank by its tag, then sent if it is not there"
            } else {
                "would be sent"
            },
            b.invoices.len(),
            format_brl(b.amount)
        )?;
        for i in &b.invoices {
            outln!(
                "  {:<40} {:>18} {:>14}",
                i.name,
                i.tax_id,
                format_brl(i.amount)
            )?;
        }
    }
    if p.rechecks > 0 {
        outln!(
            "dry run: {} issued batch(es) would be looked up once more at the bank",
            p.rechecks
        )?;
    }
    outln!(
        "dry run: {} batch(es), {} invoices, {} in total; nothing was sent and the ledger is unchanged",
        p.batches.len(),
        p.invoices,
        format_brl(p.amount)
    )?;
    Ok(())
}
