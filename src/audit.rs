//! The central promise, checked against the bank's ground truth (the sandbox's): no extra
//! batch, no double payment, no forgotten credit. Used by `stark demo`, the integration tests
//! and the randomized simulation.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::ledger::audit::RecordedTransfer;
use crate::ledger::{Ledger, LedgerError};
use crate::payout::Destination;
use crate::sandbox::GroundTruth;

/// What a campaign should look like.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Batches expected at the bank (slots minus recorded missed ones).
    pub batches: usize,
    pub min_invoices: usize,
    pub max_invoices: usize,
    /// Attempts per credit before it waits for the operator (`PayoutOptions::max_attempts`).
    pub max_attempts: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    pub batches: usize,
    pub invoices: usize,
    pub credited: usize,
    pub transferred: usize,
    pub transferred_amount: i64,
    pub failed_attempts: usize,
    /// Credits whose every allowed attempt the bank confirmed failed: by design they wait for
    /// the operator (shown by `stark status`); they are not forgotten.
    pub waiting_for_operator: usize,
    pub nothing_to_forward: usize,
    pub foreign_credited: usize,
    pub violations: Vec<String>,
}

impl Audit {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Compare the bank's ground truth with what the ledger believes and with the promise.
/// `settled` says whether the system was given time to finish (every credit must then be paid).
pub fn audit(
    truth: &GroundTruth,
    ledger: &Ledger,
    expect: Option<&Expectations>,
    settled: bool,
) -> Result<Audit, LedgerError> {
    let mut a = Audit::default();
    let ledger_id = ledger.ledger_id()?;
    let prefix = format!("stark-{ledger_id}-c");
    let view = ledger.db().audit_view()?;
    let ours = &view.ours;
    let missed = view.missed_batches;

    // Batches: grouped by batch tag at the bank; only live invoices count (an extra that
    // `issue-invoices` cancelled is never paid and is not part of its batch).
    let live = || truth.invoices.iter().filter(|i| i.status != "canceled");
    let mut by_batch: BTreeMap<String, usize> = BTreeMap::new();
    for inv in live() {
        if let Some(tag) = inv
            .tags
            .iter()
            .find(|t| crate::issuer::is_batch_tag(&ledger_id, t))
        {
            *by_batch.entry(tag.clone()).or_default() += 1;
        }
    }
    a.batches = by_batch.len();
    a.invoices = by_batch.values().sum();
    if let Some(e) = expect {
        let want = e.batches.saturating_sub(missed as usize);
        if a.batches != want {
            a.violations.push(format!(
                "{} batches at the bank, expected {want} ({} slots, {missed} missed)",
                a.batches, e.batches
            ));
        }
        for (tag, n) in &by_batch {
            if *n < e.min_invoices || *n > e.max_invoices {
                a.violations.push(format!(
                    "batch {tag} has {n} invoices, expected {}..={}",
                    e.min_invoices, e.max_invoices
                ));
            }
        }
    }
    // Every live invoice at the bank carrying our tags must be recorded in the ledger.
    for inv in live() {
        let tagged = inv.tags.iter().any(|t| t.starts_with(&prefix));
        if tagged && !ours.contains(&inv.id) && settled {
            a.violations.push(format!(
                "invoice {} is at the bank with our tags but not in the ledger",
                inv.id
            ));
        }
    }

    // Transfers, by the invoice they pay.
    let mut transfers: HashMap<&str, Vec<&crate::sandbox::TruthTransfer>> = HashMap::new();
    for t in &truth.transfers {
        match t
            .tags
            .iter()
            .find_map(|tag| tag.strip_prefix("stark-invoice-"))
        {
            Some(inv) => transfers.entry(inv).or_default().push(t),
            None => a.violations.push(format!(
                "transfer {} ({}) carries no invoice tag",
                t.id, t.external_id
            )),
        }
        if t.bank_code != Destination::BANK_CODE
            || t.branch_code != Destination::BRANCH_CODE
            || t.account_number != Destination::ACCOUNT_NUMBER
            || t.account_type != Destination::ACCOUNT_TYPE
            || t.tax_id != Destination::TAX_ID
        {
            a.violations
                .push(format!("transfer {} went to the wrong account", t.id));
        }
        if t.status == "failed" {
            a.failed_attempts += 1;
        }
    }
    for inv in &truth.invoices {
        let ts = transfers.remove(inv.id.as_str()).unwrap_or_default();
        let successes: Vec<_> = ts.iter().filter(|t| t.status == "success").collect();
        let live = ts.iter().filter(|t| t.status != "failed").count();
        let is_ours = ours.contains(&inv.id);
        if inv.credited {
            a.credited += usize::from(is_ours);
            a.foreign_credited += usize::from(!is_ours);
        }
        let net = inv.amount - inv.fee;
        if inv.credited && is_ours && net > 0 {
            if successes.len() > 1 || live > 1 {
                a.violations.push(format!(
                    "invoice {} paid more than once: {} successful, {live} live transfers",
                    inv.id,
                    successes.len()
                ));
            }
            if let Some(t) = successes.first() {
                a.transferred += 1;
                a.transferred_amount += t.amount;
                if t.amount != net {
                    a.violations.push(format!(
                        "invoice {} forwarded {} instead of amount - fee = {net}",
                        inv.id, t.amount
                    ));
                }
            } else if !ts.is_empty()
                && ts.len() >= expect.map_or(usize::MAX, |e| e.max_attempts)
                && ts.iter().all(|t| t.status == "failed")
            {
                a.waiting_for_operator += 1;
            } else if settled {
                a.violations.push(format!(
                    "invoice {} was credited but never paid out",
                    inv.id
                ));
            }
        } else {
            if inv.credited && is_ours {
                a.nothing_to_forward += 1;
            }
            if !ts.is_empty() {
                a.violations.push(format!(
                    "invoice {} (credited: {}, ours: {is_ours}, net {net}) must have no transfer, has {}",
                    inv.id,
                    inv.credited,
                    ts.len()
                ));
            }
        }
    }
    for (inv, ts) in transfers {
        a.violations.push(format!(
            "{} transfers for invoice {inv}, unknown to the bank",
            ts.len()
        ));
    }

    // The ledger agrees with the bank about every transfer it knows.
    let bank: HashMap<&str, &crate::sandbox::TruthTransfer> = truth
        .transfers
        .iter()
        .map(|t| (t.external_id.as_str(), t))
        .collect();
    // Transfer statuses are the ledger's stored strings until the ledger has a status type.
    for RecordedTransfer {
        external_id: ext,
        status,
        amount,
    } in view.transfers
    {
        match (bank.get(ext.as_str()), status.as_str()) {
            (Some(t), _) if t.amount != amount => a
                .violations
                .push(format!("{ext}: ledger amount {amount}, bank {}", t.amount)),
            (Some(t), s @ ("success" | "failed")) if settled && t.status != s => a
                .violations
                .push(format!("{ext}: ledger says {s}, bank says {}", t.status)),
            (None, "success" | "created" | "processing") => a.violations.push(format!(
                "{ext}: ledger says {status}, the bank has no such transfer"
            )),
            _ => {}
        }
    }
    Ok(a)
}
