//! `stark reconcile`: pick up what the webhook missed, then transfer (`reconcile::run`).

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use super::errors::{Report, RequestRefused};
use super::transfer::{payout_options, print_payout, runtime};
use crate::domain::money::format_brl;
use crate::reconcile::{self, ReconcileError, ReconcileOptions, ReconcileReport};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Only record what the webhook missed; do not send transfers
    #[arg(long)]
    pub no_transfer: bool,
    /// Event PATCHes in flight at once
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Attempts per credit (see transfer-credited)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Show what this run would record (events, credits) and the transfers it would send,
    /// and change nothing: the bank is only read (events are not marked delivered, nothing is
    /// sent) and the ledger is never written (the run is replayed on a temporary copy)
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: &ReconcileArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let now = crate::clock::from_env()?.now();
    let mut ledger = super::open_ledger(&settings)?;
    let client = settings.client()?;
    let opts = ReconcileOptions {
        transfer: !args.no_transfer,
        concurrency: args.concurrency as usize,
        payout: payout_options(args.max_attempts),
    };
    if args.dry_run {
        let progress = super::progress::Spinner::new(global, "reading undelivered events");
        let preview =
            runtime()?.block_on(reconcile::preview(&ledger, &client, now, &opts, &progress));
        progress.finish();
        let preview = match preview {
            Ok(p) => p,
            Err(ReconcileError::Api(e)) if e.is_request_level() => {
                return Err(anyhow::Error::new(RequestRefused(e)).context(
                    "reconcile --dry-run stopped: Stark Bank refused its request as a whole",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if global.json {
            let mut v = serde_json::to_value(&preview)?;
            v["version"] = 1.into();
            v["dry_run"] = true.into();
            outln!("{v}")?;
        } else {
            let r = &preview.would_record;
            outln!(
                "dry run: would record {} of {} undelivered events (and mark them delivered at the bank); credits it would find: {} from events, {} from invoice logs ({} invoices checked)",
                r.events_applied,
                r.events_seen,
                r.credits_from_events,
                r.credits_from_logs,
                r.invoices_checked
            )?;
            for e in &r.errors {
                eprintln!("error: {e}");
            }
            match &preview.transfers {
                Some(t) => super::transfer::print_transfers(t)?,
                None => outln!(
                    "dry run: --no-transfer: no transfer would be sent; nothing was changed"
                )?,
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let progress = super::progress::Spinner::new(global, "sweeping undelivered events");
    let report = runtime()?.block_on(reconcile::run(&mut ledger, &client, now, &opts, &progress));
    progress.finish();
    let report = match report {
        Ok(report) => report,
        // A configuration error (exit 2), as for every other command.
        Err(ReconcileError::Api(e)) if e.is_request_level() => {
            return Err(anyhow::Error::new(RequestRefused(e)).context(
                "reconcile stopped: Stark Bank refused its request as a whole; nothing was changed at the bank, and the next run sweeps again once this is fixed",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if global.json {
        super::print_json("reconcile", &report)?;
    } else {
        print_reconcile(&report, global.quiet)?;
    }
    if let Some(refused) = report.transfers.as_ref().and_then(|t| t.refused.as_ref()) {
        return Err(anyhow::Error::new(RequestRefused(refused.to_error())).context(
            "Stark Bank refused the transfer request as a whole; nothing was sent, the transfers stay claimed and the next run sends them once this is fixed",
        ));
    }
    Ok(report.exit_code())
}

fn print_reconcile(r: &ReconcileReport, quiet: bool) -> anyhow::Result<()> {
    for f in &r.events_failed {
        eprintln!(
            "error: event {} could not be applied ({}); left undelivered",
            f.id, f.error
        );
    }
    for u in r.events_undecodable.iter().filter(|u| u.new) {
        eprintln!(
            "warning: event {} does not decode ({}); kept raw in the ledger and left undelivered (see `stark status`)",
            u.id, u.error
        );
    }
    for id in &r.credits_incomplete {
        eprintln!(
            "warning: invoice {id} was credited without amount or fee: not forwarded; a later reconcile reads its credit log again"
        );
    }
    for e in &r.errors {
        eprintln!("error: {e}");
    }
    if !quiet {
        let events = super::nonzero(&[
            (r.events_seen, "seen".to_string()),
            (r.events_applied, "applied".to_string()),
            (r.events_marked, "marked delivered".to_string()),
            (
                r.events_left_for_others,
                "left for other integrations".to_string(),
            ),
        ]);
        let credits = super::nonzero(&[
            (r.credits_from_events, "from events".to_string()),
            (r.credits_from_logs, "from invoice logs".to_string()),
        ]);
        let credits = match r.credits_net {
            0 => credits,
            net => format!("{credits}, {} to forward", format_brl(net)),
        };
        let foreign = match r.foreign_credits {
            0 => String::new(),
            n => format!(
                "; foreign credits: {}, not ours: recorded, never transferred",
                super::with_brl(&n.to_string(), r.foreign_credits_net)
            ),
        };
        outln!(
            "events: {events}; credits found: {credits} ({} invoices checked){foreign}",
            r.invoices_checked
        )?;
        if !r.events_undecodable.is_empty() || !r.credits_incomplete.is_empty() {
            outln!(
                "not usable as received: {} undecodable events (kept raw), {} credits without amount or fee (not forwarded)",
                r.events_undecodable.len(),
                r.credits_incomplete.len()
            )?;
        }
    }
    if let Some(t) = &r.transfers {
        print_payout(t, quiet)?;
    }
    Ok(())
}
