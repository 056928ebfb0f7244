//! What the ledger says right now: the campaign's progress, invoices, credits and transfers by
//! status, and the things that wait for the operator. Read-only, built from the ledger's report
//! read model ([`crate::ledger::report`]: a handful of aggregate queries, no HTTP, no runtime),
//! so `stark status` stays fast on a ledger with 100,000 invoices. The rules (what is stale,
//! what needs attention, which slot is next) are decided here.
//!
//! Derived facts follow [`crate::ledger::credits`]: a credit is *ours* when its invoice id is one
//! this ledger issued, *foreign* otherwise; a credit is *settled* when one of its transfers
//! reached `success`.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::money::format_brl;
use crate::ledger::campaigns::BatchStatus;
use crate::ledger::report::{CampaignProgress, TransferIssueKind, UnsettledCredit};
use crate::ledger::ts;
use crate::ledger::{Db, LedgerError};

pub use crate::ledger::decoding::{IncompleteCredit, UndecodedEvent};
pub use crate::ledger::report::{
    BatchIssue, CancelledExtra, CountAmount, CreditRow, CreditTotals, Group, InvoiceRow,
    MoneyTotals, OpenBatch, PaidTwice, StatusTotal, StoredErrors, TransferIssue, TransferListRow,
    TransferTotal, WaitingCredit,
};
pub use crate::ledger::runs::LastRun;

/// How many rows each attention list shows at most (the total is always counted).
pub const ATTENTION_CAP: usize = 50;

/// Options for building a report.
#[derive(Debug, Clone, Copy)]
pub struct StatusOptions {
    /// Credits of ours older than this without a successful transfer need attention.
    pub stale_after: Duration,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            stale_after: Duration::minutes(30),
        }
    }
}

/// The whole status report (`stark status --json` prints exactly this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The business time the report was made at (RFC 3339).
    pub now: String,
    pub stale_minutes: i64,
    /// The most recent campaign, if any.
    pub campaign: Option<CampaignStatus>,
    /// Invoices by status (`planned` = not issued yet, no status from the bank).
    pub invoices: Vec<StatusTotal>,
    pub credits: CreditTotals,
    /// Transfers by status.
    pub transfers: Vec<TransferTotal>,
    pub attention: Attention,
    /// What the operator may want to know but need not act on.
    pub notes: Notes,
    /// The last run of each ledger command (`issue-invoices`, `reconcile`…), by name.
    pub runs: Vec<LastRun>,
    /// Webhooks this ledger registered and has not seen deleted (as the ledger knows; no
    /// request to the bank).
    pub webhooks: Vec<String>,
}

/// Facts shown so that nothing is hidden, that wait for nobody: the next tick resumes every
/// open batch (of any campaign), and cancelled extras are settled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notes {
    /// Open batches (`planned` or `sending`) of every campaign, not only the latest.
    pub open_batches: Group<OpenBatch>,
    /// Invoices found under a batch's tag beyond one batch's worth, cancelled while unpaid.
    pub cancelled_extras: Group<CancelledExtra>,
}

impl Notes {
    pub fn is_empty(&self) -> bool {
        self.open_batches.is_empty() && self.cancelled_extras.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignStatus {
    pub id: i64,
    pub started_at: String,
    pub interval_secs: i64,
    /// Number of slots (batches) the campaign has.
    pub slots: u32,
    pub issued: u32,
    pub missed: u32,
    pub rejected: u32,
    /// Claimed but not settled (`planned` or `sending`).
    pub open: u32,
    /// The first slot without a batch (1-based, as the CLI numbers batches).
    pub next_batch: Option<u32>,
    /// When that slot is due: `started_at + k * interval`.
    pub next_due: Option<String>,
}

/// Everything that waits for the operator (or for a run that has not happened).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attention {
    /// Invoices of ours with more than one live transfer at the bank (as far as the ledger
    /// knows): paid, or being paid, more than once.
    pub paid_more_than_once: Group<PaidTwice>,
    /// Credits of ours older than the stale limit without a successful transfer.
    pub stale_credits: Group<StaleCredit>,
    /// Credits of ours that wait for the operator: every attempt failed (as many as a run
    /// makes by itself) or one was rejected. One row per credit.
    pub waiting_credits: Group<WaitingCredit>,
    /// The net money of all of `waiting_credits` (not only those listed).
    pub waiting_net: i64,
    /// Credits older than the stale limit, unsettled, that nobody moves: none of their
    /// transfers is at the bank and they do not wait for the operator (claimed, sending, or
    /// not tried yet). Counted with their net money.
    pub stuck_credits: CountAmount,
    /// Transfers the bank failed, with no later successful attempt.
    pub failed_transfers: Group<TransferIssue>,
    /// Transfers the API refused (400): they wait for the operator.
    pub rejected_transfers: Group<TransferIssue>,
    /// Credits for invoices this ledger did not issue (never forwarded).
    pub foreign_credits: Group<CreditRow>,
    /// Batches the API refused (400).
    pub rejected_batches: Group<BatchIssue>,
    /// Slots whose window passed without a run.
    pub missed_slots: Group<BatchIssue>,
    /// Credits not forwarded because there is nothing to forward (fee >= amount...).
    pub skipped_credits: Group<CreditRow>,
    /// Verified events that do not decode, kept raw (`ledger::decoding`).
    pub undecodable_events: Group<UndecodedEvent>,
    /// Credits of ours seen without `amount` or `fee`: not forwarded until `reconcile` reads
    /// a credit log with both.
    pub incomplete_credits: Group<IncompleteCredit>,
}

impl Attention {
    pub fn is_empty(&self) -> bool {
        self.paid_more_than_once.is_empty()
            && self.waiting_credits.is_empty()
            && self.stale_credits.is_empty()
            && self.failed_transfers.is_empty()
            && self.rejected_transfers.is_empty()
            && self.foreign_credits.is_empty()
            && self.rejected_batches.is_empty()
            && self.missed_slots.is_empty()
            && self.skipped_credits.is_empty()
            && self.undecodable_events.is_empty()
            && self.incomplete_credits.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleCredit {
    pub invoice_id: String,
    pub net: i64,
    pub recorded_at: String,
    pub age_minutes: i64,
    /// Status of the latest transfer attempt, if any.
    pub transfer_status: Option<String>,
    /// The latest attempt may have been sent, the bank refuses it (not as a duplicate) and
    /// does not list it: `transfer-credited --retry` asks the bank and, when it holds nothing
    /// live for the invoice, opens a new attempt. Otherwise nothing to do but wait.
    pub retry_opens_new_attempt: bool,
}

/// Build the report from the ledger at business time `now`.
pub fn report(
    db: &Db<'_>,
    now: DateTime<Utc>,
    opts: &StatusOptions,
) -> Result<StatusReport, LedgerError> {
    let cap = ATTENTION_CAP;
    let campaign = db.campaign_progress()?.map(|p| campaign_status(&p));
    let invoices = db.invoice_totals()?;
    let credits = db.credit_totals()?;
    let transfers = db.transfer_totals()?;

    let stale = db.unsettled_credits_recorded_before(stale_cutoff(now, opts), cap)?;
    let mut attention = Attention {
        stale_credits: Group {
            total: stale.total,
            items: stale.items.iter().map(|c| stale_credit(c, now)).collect(),
        },
        failed_transfers: db.transfer_issues(TransferIssueKind::Failed, cap)?,
        rejected_transfers: db.transfer_issues(TransferIssueKind::Rejected, cap)?,
        ..Attention::default()
    };
    // Only asked for when there are any (their number is already in the totals).
    if credits.foreign.count > 0 {
        attention.foreign_credits = Group {
            total: credits.foreign.count,
            items: db.foreign_credit_rows(cap)?,
        };
    }
    let max_attempts = crate::payout::PayoutOptions::default().max_attempts;
    let (waiting, waiting_net) = db.waiting_credits(max_attempts, cap)?;
    attention.waiting_credits = waiting;
    attention.waiting_net = waiting_net;
    attention.stuck_credits = db.stuck_credits(stale_cutoff(now, opts), max_attempts)?;
    attention.rejected_batches = db.batch_issues(BatchStatus::Rejected, cap)?;
    attention.missed_slots = db.batch_issues(BatchStatus::Missed, cap)?;
    attention.skipped_credits = db.skipped_credit_rows(cap)?;
    attention.undecodable_events = db.listing(cap)?;
    attention.incomplete_credits = db.listing(cap)?;
    attention.paid_more_than_once = db.listing(cap)?;
    let notes = Notes {
        open_batches: db.listing(cap)?,
        cancelled_extras: db.listing(cap)?,
    };

    Ok(StatusReport {
        now: ts(now),
        stale_minutes: opts.stale_after.num_minutes(),
        campaign,
        invoices,
        credits,
        transfers,
        attention,
        notes,
        runs: db.last_runs()?,
        webhooks: db.live_webhooks()?.into_iter().map(|w| w.url).collect(),
    })
}

/// A credit of ours recorded before this instant without a successful transfer is stale.
fn stale_cutoff(now: DateTime<Utc>, opts: &StatusOptions) -> DateTime<Utc> {
    now - opts.stale_after
}

fn stale_credit(c: &UnsettledCredit, now: DateTime<Utc>) -> StaleCredit {
    StaleCredit {
        invoice_id: c.invoice_id.clone(),
        net: c.net,
        recorded_at: c.recorded_at.clone(),
        age_minutes: (now - c.recorded).num_minutes(),
        transfer_status: c.transfer_status.clone(),
        retry_opens_new_attempt: c.transfer_status.as_deref() == Some("sending")
            && crate::payout::last_refusal(c.transfer_errors.as_deref())
                == crate::payout::LastRefusal::Element,
    }
}

/// The campaign's batches counted by status, and the first slot that has none yet.
fn campaign_status(p: &CampaignProgress) -> CampaignStatus {
    let c = &p.campaign;
    let mut status = CampaignStatus {
        id: c.id,
        started_at: ts(c.started_at),
        interval_secs: c.spec.every.num_seconds(),
        slots: c.slots(),
        issued: 0,
        missed: 0,
        rejected: 0,
        open: 0,
        next_batch: None,
        next_due: None,
    };
    let mut taken = std::collections::HashSet::new();
    for &(slot, batch) in &p.batches {
        taken.insert(slot);
        match batch {
            BatchStatus::Issued => status.issued += 1,
            BatchStatus::Missed => status.missed += 1,
            BatchStatus::Rejected => status.rejected += 1,
            BatchStatus::Planned | BatchStatus::Sending => status.open += 1,
        }
    }
    if let Some(k) = (0..c.slots()).find(|k| !taken.contains(k)) {
        status.next_batch = Some(k + 1);
        status.next_due = Some(ts(c.schedule().due(k)));
    }
    status
}

/// One thing that needs the operator: how many, the money at stake, and what to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsYou {
    /// `paid_more_than_once`, `waiting_credits`, `stuck_credits`, `rejected_batches` or
    /// `open_batches`.
    pub kind: &'static str,
    pub count: i64,
    /// The money at stake, in cents, when there is money.
    pub amount: Option<i64>,
    /// What it is, in a few words, with the first case named.
    pub what: String,
    /// The exact command that deals with it, when one does.
    pub command: Option<String>,
}

/// Everything that needs the operator now, in a few counted lines (the `attention:` line of
/// every ledger command and the verdict of `stark status`). Foreign, skipped and cancelled
/// money, missed slots and notes wait for nobody and are not in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttentionSummary {
    pub items: Vec<NeedsYou>,
}

impl AttentionSummary {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many things need the operator (credits, batches and invoices together).
    pub fn count(&self) -> i64 {
        self.items.iter().map(|i| i.count).sum()
    }

    /// `all well`, or `N things need you`.
    pub fn verdict(&self) -> String {
        match self.count() {
            0 => "all well".to_string(),
            1 => "1 thing needs you".to_string(),
            n => format!("{n} things need you"),
        }
    }

    /// Each item as `8 credits wait … (R$ 3.326,38): run stark …`.
    pub fn parts(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| {
                let mut p = i.what.clone();
                if let Some(a) = i.amount {
                    p.push_str(&format!(", {}", format_brl(a)));
                }
                if let Some(c) = &i.command {
                    p.push_str(&format!(": run `{c}`"));
                }
                p
            })
            .collect()
    }

    /// The one `attention: …` line, or `None` when nothing needs the operator.
    pub fn line(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        Some(format!(
            "attention: {}: {}",
            self.verdict(),
            self.parts().join("; ")
        ))
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Stored errors on one line: the API's `code: message` pairs, or the text as stored.
pub fn describe_errors(errors: Option<&StoredErrors>) -> String {
    let Some(e) = errors else {
        return String::new();
    };
    if e.items().is_empty() {
        return e.raw().to_string();
    }
    e.items()
        .iter()
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What needs the operator in a report: credits that wait after failed or rejected
/// transfers, credits stuck past the stale limit, invoices paid more than once, rejected
/// batches of the latest campaign (a new campaign leaves the old one's behind), and batches
/// planned or sending past the stale limit (with their last error). Undecodable events and
/// credits without amount or fee are listed by `status` but do not count: the first stay
/// for good (nothing can be done about them), the second are read again by `reconcile`.
pub fn needs_you(r: &StatusReport) -> AttentionSummary {
    let a = &r.attention;
    let mut items = Vec::new();
    if !a.paid_more_than_once.is_empty() {
        let g = &a.paid_more_than_once;
        items.push(NeedsYou {
            kind: "paid_more_than_once",
            count: g.total,
            amount: Some(g.items.iter().map(|x| x.amount).sum()),
            what: format!(
                "{} paid more than once (first: {}): ask Stark Bank to reverse the extra",
                plural(g.total, "invoice", "invoices"),
                g.items.first().map_or("", |x| x.invoice_id.as_str())
            ),
            command: None,
        });
    }
    if !a.waiting_credits.is_empty() {
        let g = &a.waiting_credits;
        items.push(NeedsYou {
            kind: "waiting_credits",
            count: g.total,
            amount: Some(a.waiting_net),
            what: format!(
                "{} after failed or rejected transfers",
                plural(g.total, "credit waits", "credits wait")
            ),
            command: Some("stark transfer-credited --retry all-waiting".to_string()),
        });
    }
    if a.stuck_credits.count > 0 {
        items.push(NeedsYou {
            kind: "stuck_credits",
            count: a.stuck_credits.count,
            amount: Some(a.stuck_credits.amount),
            what: format!(
                "{} not forwarded after {} min",
                plural(a.stuck_credits.count, "credit", "credits"),
                r.stale_minutes
            ),
            command: Some("stark reconcile".to_string()),
        });
    }
    let latest = r.campaign.as_ref().map(|c| c.id);
    let rejected: Vec<&BatchIssue> = a
        .rejected_batches
        .items
        .iter()
        .filter(|x| Some(x.campaign_id) == latest)
        .collect();
    if !rejected.is_empty() {
        let n = rejected.len() as i64;
        let first = rejected.first();
        let which = first.map(|x| x.batch.to_string());
        let mut what = plural(n, "batch rejected", "batches rejected");
        if let Some(x) = first {
            what.push_str(&format!(" (c{} batch {}", x.campaign_id, x.batch));
            let errors = describe_errors(x.errors.as_ref());
            if !errors.is_empty() {
                what.push_str(&format!(": {}", one_line(&errors, 100)));
            }
            what.push(')');
        }
        items.push(NeedsYou {
            kind: "rejected_batches",
            count: n,
            amount: None,
            what,
            command: which.map(|w| format!("stark issue-invoices --retry-batch {w}")),
        });
    }
    let cutoff = DateTime::parse_from_rfc3339(&r.now)
        .ok()
        .map(|n| n.with_timezone(&Utc) - Duration::minutes(r.stale_minutes));
    let late: Vec<&OpenBatch> = r
        .notes
        .open_batches
        .items
        .iter()
        .filter(|b| {
            let due = DateTime::parse_from_rfc3339(&b.due_at).ok();
            matches!((due, cutoff), (Some(d), Some(c)) if d.with_timezone(&Utc) < c)
        })
        .collect();
    if let Some(x) = late.first() {
        let n = late.len() as i64;
        let mut what = format!(
            "{} {} since {} (c{} batch {}",
            plural(n, "batch", "batches"),
            if x.status == "planned" {
                "planned, not sent"
            } else {
                "sent without a clear answer"
            },
            x.due_at.get(..16).unwrap_or(&x.due_at).replace('T', " "),
            x.campaign_id,
            x.batch
        );
        let errors = describe_errors(x.errors.as_ref());
        if !errors.is_empty() {
            what.push_str(&format!(": last error {}", one_line(&errors, 100)));
        }
        what.push_str("; once the cause is fixed the next issue-invoices sends it");
        items.push(NeedsYou {
            kind: "open_batches",
            count: n,
            amount: None,
            what,
            command: Some("stark doctor".to_string()),
        });
    }
    AttentionSummary { items }
}

/// The first line of `s`, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::campaigns::Campaign;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn progress(slots: u32, batches: &[(u32, BatchStatus)]) -> CampaignProgress {
        CampaignProgress {
            campaign: Campaign {
                id: 7,
                started_at: t("2025-03-01T00:00:00Z"),
                spec: crate::domain::campaign::CampaignSpec {
                    every: Duration::hours(3),
                    length: Duration::hours(3) * slots as i32,
                    min_invoices: 8,
                    max_invoices: 12,
                    min_amount: 1000,
                    max_amount: 100000,
                },
            },
            batches: batches.to_vec(),
        }
    }

    fn empty_report(now: &str) -> StatusReport {
        StatusReport {
            now: now.into(),
            stale_minutes: 30,
            campaign: Some(campaign_status(&progress(8, &[]))),
            invoices: vec![],
            credits: CreditTotals::default(),
            transfers: vec![],
            attention: Attention::default(),
            notes: Notes::default(),
            runs: vec![],
            webhooks: vec![],
        }
    }

    fn open_batch(due_at: &str, errors: Option<&str>) -> OpenBatch {
        OpenBatch {
            campaign_id: 7,
            batch: 1,
            tag: "t-c7-b1".into(),
            status: "planned".into(),
            due_at: due_at.into(),
            unclear_since: None,
            errors: errors.map(|e| StoredErrors::parse(e.to_string())),
        }
    }

    #[test]
    fn nothing_needs_you_in_an_empty_report() {
        let s = needs_you(&empty_report("2025-03-01T12:00:00Z"));
        assert!(s.is_empty());
        assert_eq!(s.verdict(), "all well");
        assert_eq!(s.line(), None);
    }

    /// A batch planned and not sent past the stale limit needs you, with its last error; one
    /// due a moment ago is what the running tick is sending.
    #[test]
    fn a_batch_planned_too_long_ago_needs_you_with_its_last_error() {
        let mut r = empty_report("2025-03-01T12:00:00Z");
        r.notes.open_batches = Group {
            total: 1,
            items: vec![open_batch("2025-03-01T11:45:00.000000Z", None)],
        };
        assert!(needs_you(&r).is_empty(), "15 min is within the stale limit");
        r.notes.open_batches.items = vec![open_batch(
            "2025-03-01T00:00:00.000000Z",
            Some("STARK_PROJECT_ID is not set"),
        )];
        let s = needs_you(&r);
        assert_eq!(s.count(), 1);
        let line = s.line().unwrap();
        assert!(
            line.starts_with("attention: 1 thing needs you: 1 batch planned, not sent since 2025-03-01 00:00 (c7 batch 1: last error STARK_PROJECT_ID is not set"),
            "{line}"
        );
        assert!(line.contains("run `stark doctor`"), "{line}");
    }

    /// Waiting credits are counted per credit with the money at stake; a rejected batch of an
    /// earlier campaign is left behind by the new one.
    #[test]
    fn waiting_credits_and_rejected_batches_of_the_latest_campaign() {
        let mut r = empty_report("2025-03-01T12:00:00Z");
        r.attention.waiting_credits = Group {
            total: 8,
            items: vec![],
        };
        r.attention.waiting_net = 332_638;
        let batch = |campaign_id| BatchIssue {
            campaign_id,
            batch: 3,
            tag: format!("t-c{campaign_id}-b3"),
            due_at: "x".into(),
            errors: None,
        };
        r.attention.rejected_batches = Group {
            total: 2,
            items: vec![batch(6), batch(7)],
        };
        let s = needs_you(&r);
        assert_eq!(s.count(), 9, "8 credits and the latest campaign's batch");
        assert_eq!(s.verdict(), "9 things need you");
        let line = s.line().unwrap();
        assert!(
            line.contains("8 credits wait after failed or rejected transfers, R$ 3.326,38: run `stark transfer-credited --retry all-waiting`"),
            "{line}"
        );
        assert!(
            line.contains(
                "1 batch rejected (c7 batch 3): run `stark issue-invoices --retry-batch 3`"
            ),
            "{line}"
        );
    }

    #[test]
    fn campaign_counts_batches_and_finds_the_first_free_slot() {
        use BatchStatus::*;
        let s = campaign_status(&progress(
            8,
            &[
                (0, Issued),
                (1, Missed),
                (2, Rejected),
                (3, Sending),
                (5, Planned),
            ],
        ));
        assert_eq!(
            (s.issued, s.missed, s.rejected, s.open, s.slots),
            (1, 1, 1, 2, 8)
        );
        assert_eq!(s.next_batch, Some(5), "slot 4 (0-based) is the first gap");
        assert_eq!(s.next_due.as_deref(), Some("2025-03-01T12:00:00.000000Z"));
        assert_eq!((s.id, s.interval_secs), (7, 10800));
        assert_eq!(s.started_at, "2025-03-01T00:00:00.000000Z");
    }

    #[test]
    fn a_campaign_with_every_slot_taken_has_no_next_batch() {
        let all: Vec<_> = (0..3).map(|k| (k, BatchStatus::Issued)).collect();
        let s = campaign_status(&progress(3, &all));
        assert_eq!((s.issued, s.next_batch, s.next_due), (3, None, None));
        let s = campaign_status(&progress(3, &[]));
        assert_eq!(s.next_batch, Some(1));
        assert_eq!(s.next_due.as_deref(), Some("2025-03-01T00:00:00.000000Z"));
    }

    #[test]
    fn staleness_is_measured_from_now() {
        let now = t("2025-03-01T12:00:00Z");
        let opts = StatusOptions {
            stale_after: Duration::minutes(30),
        };
        assert_eq!(stale_cutoff(now, &opts), t("2025-03-01T11:30:00Z"));
        let c = UnsettledCredit {
            invoice_id: "inv-1".into(),
            net: 990,
            recorded_at: "2025-03-01T09:00:30.000000Z".into(),
            recorded: t("2025-03-01T09:00:30Z"),
            transfer_status: Some("processing".into()),
            transfer_errors: None,
        };
        let s = stale_credit(&c, now);
        assert_eq!(s.age_minutes, 179, "whole minutes, rounded down");
        assert_eq!(s.recorded_at, c.recorded_at, "as stored");
        assert_eq!(
            (s.invoice_id.as_str(), s.net, s.transfer_status.as_deref()),
            ("inv-1", 990, Some("processing"))
        );
    }
}
