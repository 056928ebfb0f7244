//! `stark transfer-credited`: forward each credit of ours, exactly once (`payout::run`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use super::errors::{Report, RequestRefused};
use crate::domain::money::format_brl;
use crate::payout::{self, PayoutOptions, PayoutPreview, PayoutReport};

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Attempts per credit (a new one only after the bank confirms the previous failed)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Operator override: one more attempt for this invoice's credit, which waits for you
    /// (its transfers were rejected or all failed); repeatable. `all-waiting`: every credit
    /// that waits for you
    #[arg(long, value_name = "INVOICE_ID")]
    pub retry: Vec<String>,
    /// Show the transfers this run would send and their sum, and change nothing: the ledger
    /// is read, never written, and nothing is sent to the bank
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before `--retry` sends one more transfer (the question is asked only on a
    /// terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub(super) fn payout_options(max_attempts: u32) -> PayoutOptions {
    PayoutOptions {
        max_attempts,
        backoff: super::backoff(),
        ..PayoutOptions::default()
    }
}

pub fn run(args: &TransferArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let now = crate::clock::from_env()?.now();
    let mut ledger = super::open_ledger(&settings)?;
    if args.dry_run {
        let retries = args
            .retry
            .iter()
            .map(|invoice| Ok((invoice.clone(), ledger.db().transferable_net(invoice)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let preview = payout::preview(&mut ledger, args.max_attempts, now)?;
        print_preview(&preview, &retries, global)?;
        return Ok(ExitCode::SUCCESS);
    }
    for invoice in &args.retry {
        let net = ledger.db().transferable_net(invoice)?;
        let Some(net) = net else {
            continue; // refused below with the reason
        };
        let consequence = [format!(
            "--retry {invoice}: one more transfer of {} (invoice {invoice}'s amount minus its fee) to {}, after the bank is asked whether one is already live",
            format_brl(net),
            payout::Destination::NAME
        )];
        if !super::confirm::confirm(&consequence, "Send it?", args.yes)? {
            return Err(super::confirm::declined(&format!(
                "retry of invoice {invoice}"
            )));
        }
    }
    let client = settings.client()?;
    let rt = runtime()?;
    let opts = payout_options(args.max_attempts);
    for invoice in &expand_retry(&args.retry, &ledger, args.max_attempts)? {
        // The bank is asked first: a live transfer there refuses the retry.
        let attempt = rt.block_on(payout::retry(&mut ledger, &client, invoice, now, &opts))?;
        if !global.quiet {
            outln!("invoice {invoice}: attempt {attempt} claimed")?;
        }
    }
    let spinner = super::progress::Spinner::new(global, "sending transfers");
    let report = rt.block_on(payout::run(&mut ledger, &client, now, &opts));
    spinner.finish();
    let report = report?;
    if global.json {
        super::print_json("transfer-credited", &report)?;
    } else {
        print_payout(&report, global.quiet)?;
    }
    if let Some(refused) = &report.refused {
        // A configuration error (exit 2): nothing was sent; the transfers stay claimed.
        return Err(anyhow::Error::new(RequestRefused(refused.to_error())).context(
            "Stark Bank refused the transfer request as a whole; nothing was sent, the transfers stay claimed and the next run sends them once this is fixed",
        ));
    }
    Ok(report.exit_code())
}

pub(super) fn print_payout(r: &PayoutReport, quiet: bool) -> anyhow::Result<()> {
    for rej in &r.rejected {
        eprintln!(
            "error: transfer {} for invoice {} rejected by Stark Bank: {}; it waits for the operator",
            rej.external_id,
            rej.invoice_id,
            rej.errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if r.adopted > 0 || r.superseded > 0 {
        eprintln!(
            "warning: Stark Bank already held {} live transfer(s) for our credits that the ledger did not know (a restored or copied ledger?); recorded, and {} claim(s) of ours withdrawn unsent",
            r.adopted, r.superseded
        );
    }
    for ext in &r.unresolved {
        eprintln!(
            "error: transfer {ext}: no clear answer from Stark Bank; the next run looks it up before sending again"
        );
    }
    if !quiet {
        let sent = match r.requests {
            0 => String::new(),
            1 => "sent in 1 request".to_string(),
            n => format!("sent in {n} requests"),
        };
        let money = super::with_brl;
        let parts = super::nonzero(&[
            (r.claimed, "claimed".to_string()),
            (r.sent, money(&sent, r.sent_amount)),
            (r.found_by_lookup, "found already at the bank".to_string()),
            (r.succeeded, money("succeeded", r.succeeded_amount)),
            (r.failed, money("failed", r.failed_amount)),
            (r.rejected.len(), money("rejected", r.rejected_amount)),
            (r.unresolved.len(), money("unresolved", r.unresolved_amount)),
        ]);
        outln!("transfers: {parts}")?;
    }
    Ok(())
}

/// `--dry-run`: the transfers a run would send and their sum; `--json`: one document.
pub(super) fn print_preview(
    p: &PayoutPreview,
    retries: &[(String, Option<i64>)],
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if global.json {
        let mut v = serde_json::to_value(p)?;
        v["version"] = 1.into();
        v["dry_run"] = true.into();
        if !retries.is_empty() {
            v["retries"] = retries
                .iter()
                .map(|(invoice, net)| serde_json::json!({ "invoice_id": invoice, "amount": net }))
                .collect();
        }
        return outln!("{v}");
    }
    for (invoice, net) in retries {
        match net {
            Some(net) => outln!(
                "dry run: --retry {invoice} would claim one more attempt of {} if the bank holds no live transfer for it",
                format_brl(*net)
            )?,
            None => outln!(
                "dry run: --retry {invoice} would be refused: no credit that can be transferred"
            )?,
        }
    }
    print_transfers(p)
}

/// The lines of a payout preview (shared with `reconcile --dry-run`).
pub(super) fn print_transfers(p: &PayoutPreview) -> anyhow::Result<()> {
    for t in &p.transfers {
        outln!(
            "  {:<28} invoice {:<20} {:>14}{}",
            t.external_id,
            t.invoice_id,
            format_brl(t.amount),
            if t.maybe_sent {
                "  (may have been sent: looked up first)"
            } else {
                ""
            }
        )?;
    }
    outln!(
        "dry run: {} transfer(s) to {}, {} in total ({} new attempt(s) claimed); each is looked up at the bank by its tag before it is sent; nothing was sent and the ledger is unchanged",
        p.transfers.len(),
        payout::Destination::NAME,
        format_brl(p.amount),
        p.claims
    )
}

/// `--retry all-waiting`: every credit that waits for the operator (as `stark status` lists
/// them), in place of the word.
fn expand_retry(
    retry: &[String],
    ledger: &crate::ledger::Ledger,
    max_attempts: u32,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for r in retry {
        if r == "all-waiting" {
            let (waiting, _) = ledger.db().waiting_credits(max_attempts, usize::MAX)?;
            out.extend(waiting.items.into_iter().map(|w| w.invoice_id));
        } else {
            out.push(r.clone());
        }
    }
    Ok(out)
}
