//! `issue-invoices` as a library: one cron tick of the campaign, `tick`.
//!
//! A tick loads the campaign and its batches, decides which slots are missed, claimed or
//! resumed (`decide_slots`, pure), and claims them: a slot's batch is inserted with its exact
//! request body inside `BEGIN IMMEDIATE`, guarded by `UNIQUE(campaign_id, slot)`, so two
//! overlapping ticks claim it once. Only then, and only if something must be sent, is the bank
//! built (key, HTTP client). Sending takes a lease on each batch (a `Claim`). The batch tag is
//! the batch's only key at the bank: every batch is looked up by it before its first POST too,
//! what the bank holds is adopted from the bank's own data, a batch is issued only when all of
//! it is accounted for (`classify_lookup`), extras beyond one batch's worth are cancelled while
//! unpaid (`split_extras`), and after an unclear POST nothing is resent inside the settle window
//! (`settle_state`). What follows each answer of the bank is decided by `next_step` (pure).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;

use crate::api::model::{ApiErrorItem, Invoice, InvoiceRequest, invoices_body};
use crate::api::{ApiError, Bank};
use crate::clock::Clock;
use crate::domain::campaign::{CampaignError, CampaignSpec};
use crate::domain::money::format_brl;
use crate::domain::people::random_people;
use crate::domain::schedule::Position;
use crate::ledger::campaigns::{
    Batch, BatchStatus, Campaign, Claim, NewBatch, PlannedInvoice, nominal,
};
use crate::ledger::lease::lease_secs;
use crate::ledger::{Ledger, LedgerError, Tx, ts};

/// How long a sending tick holds a batch; longer than one request's timeout.
/// Attempts (POSTs plus lookups) per batch within one tick.
const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone)]
pub(crate) struct TickOptions {
    /// The campaign to start when there is none yet (or with `new_campaign`).
    pub(crate) campaign: CampaignSpec,
    /// Start a new campaign once the current one is over.
    pub(crate) new_campaign: bool,
    /// With `new_campaign`: start it even while the current one is running.
    pub(crate) force: bool,
    /// Issue slots whose window passed without a run instead of recording them as missed.
    pub(crate) catch_up: bool,
    /// The first retry step within a tick (it doubles, with jitter).
    pub(crate) backoff: StdDuration,
    /// After a POST without a clear answer, how long (business time) the bank is given to
    /// apply it before a lookup that is still empty allows a resend.
    pub(crate) settle: chrono::Duration,
}

/// The default settle window: longer than the client's timeout (30 s), far shorter than the
/// interval between batches.
pub(crate) const SETTLE: chrono::Duration = chrono::Duration::minutes(5);

impl Default for TickOptions {
    fn default() -> Self {
        TickOptions {
            campaign: CampaignSpec::default(),
            new_campaign: false,
            force: false,
            catch_up: false,
            backoff: StdDuration::from_millis(500),
            settle: SETTLE,
        }
    }
}

/// The batch an outcome is about: number `batch` (from 1) of the `of` batches of campaign
/// `campaign`, sent under `tag`. Its fields stand in the outcome's JSON as the outcome's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BatchLabel {
    pub campaign: i64,
    pub batch: u32,
    pub of: u32,
    pub tag: String,
}

impl BatchLabel {
    fn new(c: &Campaign, b: &Batch) -> BatchLabel {
        BatchLabel {
            campaign: c.id,
            batch: b.slot + 1,
            of: c.slots(),
            tag: b.tag.clone(),
        }
    }
}

/// `batch 3/12 (tag)`.
impl fmt::Display for BatchLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch {}/{} ({})", self.batch, self.of, self.tag)
    }
}

/// What a tick did, for the summary line and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub(crate) enum Outcome {
    Issued {
        #[serde(flatten)]
        batch: BatchLabel,
        invoices: u32,
        amount: i64,
        resumed: bool,
        /// Invoices beyond the batch's worth under its tag, cancelled while unpaid.
        cancelled: u32,
    },
    NothingDue {
        campaign: i64,
        reason: String,
        next_batch: Option<u32>,
        of: u32,
        next_due: Option<String>,
    },
    Complete {
        campaign: i64,
        issued: u32,
        missed: u32,
        rejected: u32,
        of: u32,
    },
    Busy {
        #[serde(flatten)]
        batch: BatchLabel,
    },
    Rejected {
        #[serde(flatten)]
        batch: BatchLabel,
        errors: Vec<ApiErrorItem>,
    },
    Unresolved {
        #[serde(flatten)]
        batch: BatchLabel,
        error: String,
    },
    Missed {
        campaign: i64,
        batch: u32,
        of: u32,
    },
    /// An issued batch looked up again found invoices beyond it under its tag (the bank
    /// applied a POST of it late): `cancelled` unpaid ones cancelled, `adopted` already paid
    /// ones recorded as ours (forwarded like any other).
    LateCopies {
        #[serde(flatten)]
        batch: BatchLabel,
        cancelled: u32,
        adopted: u32,
    },
    /// An earlier attempt had no clear answer and the bank holds nothing under the tag yet:
    /// not sent again before `until` (the end of the settle window).
    Settling {
        #[serde(flatten)]
        batch: BatchLabel,
        until: String,
    },
}

impl Outcome {
    pub(crate) fn is_failure(&self) -> bool {
        matches!(self, Outcome::Rejected { .. } | Outcome::Unresolved { .. })
    }
}

/// The summary line of an outcome.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Issued {
                batch: BatchLabel { batch, of, tag, .. },
                invoices,
                amount,
                resumed,
                cancelled,
            } => {
                write!(
                    f,
                    "batch {batch}/{of}: issued {invoices} invoices, {}{} ({tag})",
                    format_brl(*amount),
                    if *resumed {
                        ", found at the bank after an unclear answer"
                    } else {
                        ""
                    }
                )?;
                if *cancelled > 0 {
                    write!(
                        f,
                        "; {cancelled} extra invoices under its tag cancelled (sent twice)"
                    )?;
                }
                Ok(())
            }
            Outcome::NothingDue {
                reason,
                next_batch: Some(n),
                of,
                next_due: Some(at),
                ..
            } => write!(f, "nothing due: {reason}; next batch {n}/{of} at {at}"),
            Outcome::NothingDue { reason, .. } => write!(f, "nothing due: {reason}; no batch left"),
            Outcome::Complete {
                campaign,
                issued,
                missed,
                rejected,
                of,
            } => write!(
                f,
                "campaign c{campaign} is complete: {issued} of {of} batches issued, {missed} missed, {rejected} rejected; start the next campaign with `stark issue-invoices --new-campaign`"
            ),
            Outcome::Busy {
                batch: BatchLabel { batch, of, tag, .. },
            } => write!(
                f,
                "batch {batch}/{of}: another stark process is sending it ({tag}); nothing to do"
            ),
            Outcome::Rejected { batch, errors } => write!(
                f,
                "{batch} rejected by Stark Bank, not retried: {}",
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Outcome::Unresolved { batch, error } => write!(
                f,
                "{batch}: no clear answer from Stark Bank ({error}); the next run looks it up before sending again"
            ),
            Outcome::Settling { batch, until } => write!(
                f,
                "{batch}: an earlier attempt had no clear answer and nothing is at the bank yet; not sent again before {until}"
            ),
            Outcome::LateCopies {
                batch,
                cancelled,
                adopted,
            } => write!(
                f,
                "{batch}: the bank applied it again after it was issued: {cancelled} extra invoices cancelled, {adopted} already paid recorded as ours (forwarded like any other)"
            ),
            Outcome::Missed { batch, of, .. } => write!(
                f,
                "batch {batch}/{of}: its window passed without a run; recorded as missed (--catch-up issues it)"
            ),
        }
    }
}

/// Everything one tick did, in order: slots recorded as missed, why nothing was due (only when
/// nothing was sent), each batch sent, and the campaign's completion once it is over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TickReport {
    pub(crate) outcomes: Vec<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IssueError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Campaign(#[from] CampaignError),
    #[error(
        "campaign c{campaign} is still running (until {until}); pass --force to start a new one anyway"
    )]
    StillRunning { campaign: i64, until: String },
    #[error(
        "batch {batch} of campaign c{campaign} ({tag}) is still open; run issue-invoices without --new-campaign until it is issued or rejected"
    )]
    OpenBatch {
        campaign: i64,
        batch: u32,
        tag: String,
    },
    /// `--retry-batch` named a batch the ledger does not have.
    #[error("no batch {which} in this ledger (`stark status` lists the batches)")]
    UnknownBatch { which: String },
    /// `--retry-batch` named a batch that was not rejected: only a batch the bank refused
    /// element by element is known to be absent there, and reopened.
    #[error(
        "batch {batch} of campaign c{campaign} ({tag}) is {status}, not rejected: only a rejected batch can be retried"
    )]
    NotRejected {
        campaign: i64,
        batch: u32,
        tag: String,
        status: &'static str,
    },
    /// The bank refused the request as a whole (credentials, clock, IP...): nothing was done
    /// and the batch stays open for the next run once the setup is fixed.
    #[error(
        "batch {batch} ({tag}) not sent: Stark Bank refused the request itself; the batch stays open"
    )]
    Refused {
        batch: u32,
        tag: String,
        #[source]
        source: ApiError,
    },
    /// Another process took the batch's lease over (this one stalled past it): this run sends
    /// nothing more; the batch is its new holder's.
    #[error(
        "batch {batch} ({tag}): lost its lease to another process (this run stalled past it); stopped before sending anything more"
    )]
    LeaseLost { batch: u32, tag: String },
}

impl IssueError {
    /// A mistake in the command line (the flags) or the setup (a request-level refusal: the
    /// credentials, the clock), as opposed to a failure of the tick.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            IssueError::Campaign(_)
                | IssueError::StillRunning { .. }
                | IssueError::OpenBatch { .. }
                | IssueError::UnknownBatch { .. }
                | IssueError::NotRejected { .. }
                | IssueError::Refused { .. }
        )
    }
}

pub(crate) fn campaign_tag(ledger_id: &str, campaign: i64) -> String {
    format!("stark-{ledger_id}-c{campaign}")
}

fn batch_tag(ledger_id: &str, campaign: i64, slot: u32) -> String {
    debug_assert!(is_batch_tag(
        ledger_id,
        &format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
    ));
    format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
}

/// The tag that carries a batch's size at the bank (`<batch tag>-n<count>`), so that a lookup
/// knows from the bank's own data when every invoice of the batch is accounted for — also for
/// a batch whose plan the ledger no longer has (a restore). Not a batch tag itself.
fn size_tag(batch_tag: &str, count: usize) -> String {
    format!("{batch_tag}-n{count}")
}

/// How many invoices the bank's batch has, as its size tag says (the largest if they differ).
fn size_at_bank(batch_tag: &str, invoices: &[Invoice]) -> Option<usize> {
    let prefix = format!("{batch_tag}-n");
    invoices
        .iter()
        .flat_map(|i| &i.tags)
        .filter_map(|t| t.strip_prefix(&prefix)?.parse().ok())
        .max()
}

/// What a lookup found, over every lookup of the batch in this tick (`found`, by id): the
/// whole batch once as many invoices as it has are known — its size tag's count, or the
/// planned count for a batch sent without one — nothing, or a part (a partial list: the rest
/// is unknown, so the batch is neither issued nor resent).
fn classify_lookup(tag: &str, planned: u32, found: &BTreeMap<String, Invoice>) -> Answer {
    // A cancelled invoice (an extra cancelled earlier) is not part of the batch.
    let invoices: Vec<Invoice> = found
        .values()
        .filter(|i| i.status != "canceled")
        .cloned()
        .collect();
    if invoices.is_empty() {
        return Answer::Absent;
    }
    let expected = size_at_bank(tag, &invoices).unwrap_or(planned as usize);
    if invoices.len() >= expected {
        Answer::Found(invoices)
    } else {
        Answer::Partial {
            found: invoices.len(),
            expected,
        }
    }
}

/// Split what the bank holds under a batch's tag into one batch's worth (its size tag's count,
/// or the planned count) and the extras beyond it (a batch sent twice). Invoices that can no
/// longer be cancelled (paid, overdue...) are kept first, then the earliest created.
fn split_extras(
    tag: &str,
    planned: u32,
    mut invoices: Vec<Invoice>,
) -> (Vec<Invoice>, Vec<Invoice>) {
    let worth = size_at_bank(tag, &invoices).unwrap_or(planned as usize);
    if invoices.len() <= worth {
        return (invoices, Vec::new());
    }
    invoices.sort_by(|a, b| {
        (a.status == "created", a.created.to_api(), &a.id).cmp(&(
            b.status == "created",
            b.created.to_api(),
            &b.id,
        ))
    });
    let extras = invoices.split_off(worth);
    (invoices, extras)
}

/// Cancel the extras that are still `created`. Those already paid (or whose cancel fails)
/// are ours all the same: returned first, to be recorded and forwarded like any other; the
/// cancelled ones second, to be recorded as cancelled.
async fn cancel_extras<B: Bank>(
    bank: &B,
    tag: &str,
    extras: Vec<Invoice>,
) -> (Vec<Invoice>, Vec<Invoice>) {
    let mut kept = Vec::new();
    let mut cancelled = Vec::new();
    for inv in extras {
        if inv.status != "created" {
            kept.push(inv);
            continue;
        }
        match bank.cancel_invoice(&inv.id).await {
            Ok(()) => {
                tracing::warn!(%tag, id = %inv.id, "cancelled an extra invoice under the batch's tag");
                cancelled.push(inv);
            }
            Err(e) => {
                tracing::warn!(%tag, id = %inv.id, error = %e, "could not cancel an extra invoice; keeping it");
                kept.push(inv);
            }
        }
    }
    (kept, cancelled)
}

/// Whether a resend may follow an empty lookup now: not before the settle window after the
/// last unclear POST has passed.
fn settle_state(
    unclear_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Settle {
    match unclear_since {
        Some(since) if now < since + window => Settle::Until(since + window),
        _ => Settle::Clear,
    }
}

/// Whether the bank may still apply an earlier POST of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// No POST is pending, or its settle window has passed: an empty lookup allows a send.
    Clear,
    /// An unclear POST may still take effect: nothing is sent before this time.
    Until(DateTime<Utc>),
}

/// Whether `tag` is one of this ledger's batch tags (`stark-<ledger>-c<N>-b<M>`), as opposed
/// to its campaign tags (`stark-<ledger>-c<N>`) or anything else.
pub fn is_batch_tag(ledger_id: &str, tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix(&format!("stark-{ledger_id}-c")) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(rest.split_once("-b"), Some((c, b)) if digits(c) && digits(b))
}

/// The campaign number of one of this ledger's batch tags (`None` for any other tag).
pub(crate) fn campaign_of_batch_tag(ledger_id: &str, tag: &str) -> Option<i64> {
    if !is_batch_tag(ledger_id, tag) {
        return None;
    }
    let rest = tag.strip_prefix(&format!("stark-{ledger_id}-c"))?;
    rest.split_once("-b")?.0.parse().ok()
}

/// A batch tag of this ledger among `tags`, with its campaign number.
pub(crate) fn our_batch_tag<'a>(ledger_id: &str, tags: &'a [String]) -> Option<(i64, &'a str)> {
    tags.iter()
        .find_map(|t| Some((campaign_of_batch_tag(ledger_id, t)?, t.as_str())))
}

/// A batch as `issue-invoices --retry-batch` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchRef {
    /// Batch N (1-based) of the latest campaign.
    Number(u32),
    /// A batch tag (`stark-<ledger>-c<C>-b<N>`), of any campaign.
    Tag(String),
}

impl BatchRef {
    /// A number is a batch of the latest campaign; anything else is a tag.
    pub fn parse(s: &str) -> Result<BatchRef, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("name a batch: its number (1, 2, ...) or its tag".into());
        }
        match s.parse::<u32>() {
            Ok(0) => Err("batches are numbered from 1".into()),
            Ok(n) => Ok(BatchRef::Number(n)),
            Err(_) if s.bytes().all(|b| b.is_ascii_digit()) => Err(format!("{s} is too large")),
            Err(_) => Ok(BatchRef::Tag(s.to_string())),
        }
    }
}

impl fmt::Display for BatchRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchRef::Number(n) => write!(f, "{n} of the latest campaign"),
            BatchRef::Tag(tag) => f.write_str(tag),
        }
    }
}

/// Whether `--retry-batch` may reopen a batch in this status: only a rejected one (a
/// per-element 400 proved the bank holds nothing of it). An open batch is resumed anyway, an
/// issued one is done, a missed one is `--catch-up`'s.
fn may_reopen(status: BatchStatus) -> bool {
    status == BatchStatus::Rejected
}

/// `issue-invoices --retry-batch`: reopen a rejected batch once its cause is fixed; the tick
/// that follows resumes it like any open batch (looked up by its tag first, then sent with its
/// stored body). Refused for an unknown batch and for one that is not rejected.
pub(crate) fn reopen_rejected(
    ledger: &mut Ledger,
    which: &BatchRef,
    now: DateTime<Utc>,
) -> Result<Batch, IssueError> {
    let unknown = || IssueError::UnknownBatch {
        which: which.to_string(),
    };
    ledger.write(|tx| {
        let batch = match which {
            BatchRef::Tag(tag) => tx.batch_by_tag(tag)?,
            BatchRef::Number(n) => match tx.latest_campaign()? {
                Some(c) => tx.batch_by_slot(c.id, n - 1)?,
                None => None,
            },
        };
        let Some(batch) = batch else {
            return Err(unknown());
        };
        if !may_reopen(batch.status) || !tx.reopen_rejected(batch.id, now)? {
            return Err(IssueError::NotRejected {
                campaign: batch.campaign_id,
                batch: batch.slot + 1,
                tag: batch.tag.clone(),
                status: batch.status.as_str(),
            });
        }
        tracing::info!(tag = %batch.tag, "reopened a rejected batch");
        Ok(batch)
    })
}

/// One cron tick: load the campaign (ledger) → decide what is missed, claimed and due (pure) →
/// claim it (ledger), then send what must be sent (bank + ledger).
///
/// `bank` is called only when something must be sent, so a tick with nothing due needs no key
/// and no network. `rng` draws the payers and amounts of claimed batches; "now" is the
/// `clock`'s. The error type is the caller's: a bank that cannot be built fails the tick with
/// the caller's own error.
pub(crate) async fn tick<B, E>(
    ledger: &mut Ledger,
    bank: impl FnOnce() -> Result<B, E>,
    clock: &dyn Clock,
    rng: &mut impl Rng,
    opts: &TickOptions,
) -> Result<TickReport, E>
where
    B: Bank,
    E: From<IssueError>,
{
    let now = clock.now();
    let plan = plan(ledger, now, rng, opts)?;
    let mut sent = Vec::with_capacity(plan.to_send.len());
    if !plan.to_send.is_empty() || !plan.recheck.is_empty() {
        let bank = bank()?;
        for (c, b) in &plan.to_send {
            sent.push(send_batch(ledger, &bank, c, b, now, opts).await?);
        }
        for (c, b, until) in &plan.recheck {
            sent.extend(recheck_batch(ledger, &bank, c, b, *until, now).await?);
        }
    }
    Ok(plan.report(sent))
}

/// What a tick would do, for `--dry-run`: the same decisions and claims as [`tick`], made in a
/// transaction that is rolled back (`Ledger::dry`), and no request to the bank at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TickPreview {
    /// Slots it would record as missed, why nothing is due, the campaign's completion.
    pub(crate) notes: Vec<Outcome>,
    /// A new campaign it would start (with `--new-campaign`, or on a first tick).
    pub(crate) new_campaign: Option<i64>,
    /// The batches it would send (or look up first: `resumed`), with their invoices.
    pub(crate) batches: Vec<BatchPreview>,
    /// Issued batches it would look up once more at the bank.
    pub(crate) rechecks: u32,
    /// Invoices and amount of every batch it would send.
    pub(crate) invoices: u32,
    pub(crate) amount: i64,
}

/// One batch a tick would send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BatchPreview {
    #[serde(flatten)]
    pub(crate) batch: BatchLabel,
    /// Open from an earlier run: looked up at the bank by its tag before anything is sent.
    pub(crate) resumed: bool,
    pub(crate) invoices: Vec<InvoicePreview>,
    pub(crate) amount: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct InvoicePreview {
    pub(crate) name: String,
    #[serde(alias = "taxId")]
    pub(crate) tax_id: String,
    pub(crate) amount: i64,
}

/// [`tick`] without effects: plan and claim in a transaction that is rolled back, send
/// nothing, and say what would have been sent.
pub(crate) fn preview(
    ledger: &mut Ledger,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
    opts: &TickOptions,
) -> Result<TickPreview, IssueError> {
    opts.campaign.validate()?;
    let ledger_id = ledger.ledger_id()?;
    ledger.dry(|tx| {
        let before = tx.latest_campaign()?.map(|c| c.id);
        let plan = plan_in(tx, &ledger_id, now, rng, opts)?;
        let after = tx.latest_campaign()?.map(|c| c.id);
        let mut batches = Vec::new();
        for (c, b) in &plan.to_send {
            let invoices = match &b.body {
                Some(body) => {
                    #[derive(serde::Deserialize)]
                    struct Body {
                        invoices: Vec<InvoicePreview>,
                    }
                    serde_json::from_str::<Body>(body)
                        .map(|b| b.invoices)
                        .unwrap_or_default()
                }
                None => Vec::new(),
            };
            batches.push(BatchPreview {
                batch: BatchLabel::new(c, b),
                resumed: b.status == BatchStatus::Sending || b.attempts > 0,
                amount: invoices.iter().map(|i| i.amount).sum(),
                invoices,
            });
        }
        Ok(TickPreview {
            notes: plan.notes.into_iter().chain(plan.complete).collect(),
            new_campaign: after.filter(|a| Some(*a) != before),
            rechecks: u32::try_from(plan.recheck.len()).unwrap_or(u32::MAX),
            invoices: batches
                .iter()
                .map(|b| u32::try_from(b.invoices.len()).unwrap_or(u32::MAX))
                .sum(),
            amount: batches.iter().map(|b| b.amount).sum(),
            batches,
        })
    })
}

/// The campaign a `--new-campaign --force` would abandon at `now`: the running latest one,
/// with how many of its batches have a batch row (issued or otherwise decided) and how many
/// slots are left without one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Abandoned {
    pub(crate) campaign: i64,
    pub(crate) of: u32,
    pub(crate) issued: u32,
    pub(crate) left: u32,
    pub(crate) ends: String,
}

/// What `--new-campaign --force` would abandon now, if the latest campaign is still running.
pub(crate) fn abandoned(
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<Option<Abandoned>, IssueError> {
    let db = ledger.db();
    let Some(c) = db.latest_campaign()? else {
        return Ok(None);
    };
    if c.schedule().position(now) == Position::After {
        return Ok(None);
    }
    let batches = db.batches(c.id)?;
    let issued = batches
        .iter()
        .filter(|b| b.status == BatchStatus::Issued)
        .count();
    let issued = u32::try_from(issued).unwrap_or(u32::MAX);
    let decided = u32::try_from(batches.len()).unwrap_or(u32::MAX);
    Ok(Some(Abandoned {
        campaign: c.id,
        of: c.slots(),
        issued,
        left: c.slots().saturating_sub(decided),
        ends: ts(c.schedule().ends()),
    }))
}

/// The spec of the campaign a tick continues (the latest, while it runs), for the note that
/// campaign flags given to it apply to a new campaign only.
pub(crate) fn running_spec(
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<Option<(i64, CampaignSpec)>, IssueError> {
    let db = ledger.db();
    Ok(db
        .latest_campaign()?
        .filter(|c| c.schedule().position(now) != Position::After)
        .map(|c| (c.id, c.spec)))
}

/// What a tick decided and claimed, before anything is sent.
#[derive(Debug)]
struct Plan {
    /// Batches to send, with their campaigns, in order: open ones of earlier campaigns, open
    /// ones from earlier ticks, then this tick's claims.
    to_send: Vec<(Campaign, Batch)>,
    /// Issued batches the bank may still apply again, to look up once more (with the time
    /// after which one more look ends their recheck).
    recheck: Vec<(Campaign, Batch, DateTime<Utc>)>,
    /// Missed slots, then why nothing is due (only when nothing is sent).
    notes: Vec<Outcome>,
    /// The campaign is over and nothing was left to send.
    complete: Option<Outcome>,
}

impl Plan {
    fn report(self, sent: Vec<Outcome>) -> TickReport {
        // A slot recorded as missed and then found at the bank (adopted) is reported issued.
        let adopted = |campaign: i64, batch: u32| {
            sent.iter().any(|o| {
                matches!(o, Outcome::Issued { batch: l, .. } if (l.campaign, l.batch) == (campaign, batch))
            })
        };
        let notes: Vec<Outcome> = self
            .notes
            .into_iter()
            .filter(|n| match n {
                Outcome::Missed {
                    campaign, batch, ..
                } => !adopted(*campaign, *batch),
                _ => true,
            })
            .collect();
        TickReport {
            outcomes: notes.into_iter().chain(sent).chain(self.complete).collect(),
        }
    }
}

/// `t` with its seconds and fractions dropped.
fn to_the_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::DurationRound;
    t.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(t)
}

/// Load, decide and claim, in one `BEGIN IMMEDIATE` transaction: no key, no network.
fn plan(
    ledger: &mut Ledger,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
    opts: &TickOptions,
) -> Result<Plan, IssueError> {
    opts.campaign.validate()?;
    let ledger_id = ledger.ledger_id()?;
    ledger.write(|tx| plan_in(tx, &ledger_id, now, rng, opts))
}

/// [`plan`]'s decisions and claims inside the caller's transaction (`Ledger::write` for a
/// tick, `Ledger::dry` for a preview).
fn plan_in(
    tx: &Tx<'_>,
    ledger_id: &str,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
    opts: &TickOptions,
) -> Result<Plan, IssueError> {
    let ledger_id = ledger_id.to_string();
    {
        let open = tx.open_batches()?;
        let latest = tx.latest_campaign()?;
        let mut notes = Vec::new();
        let c = match choose_campaign(latest.clone(), open.first(), now, opts)? {
            CampaignChoice::Continue(c) => c,
            CampaignChoice::Start => {
                // The campaign it supersedes keeps no undecided slot: every slot whose window
                // has opened without a batch is recorded missed (and looked up once), or a
                // batch a restore forgot there would never be decided again.
                if let Some(old) = &latest {
                    let existing = tx.batches(old.id)?;
                    let opened = opened_slots(old.schedule().position(now), old.slots());
                    for slot in undecided(opened, &existing) {
                        notes.push(record_missed(tx, old, &ledger_id, slot, now)?);
                    }
                }
                // Anchored to the minute (truncated, so slot 1 is still due now): a first run
                // at 10:20:21.4 due at 13:20, not 13:20:21.4, which cron never hits.
                let c = tx.insert_campaign(to_the_minute(now), &opts.campaign, now)?;
                tracing::info!(campaign = c.id, slots = c.slots(), "started a new campaign");
                c
            }
        };
        let existing = tx.batches(c.id)?;
        let statuses: BTreeMap<u32, BatchStatus> =
            existing.iter().map(|b| (b.slot, b.status)).collect();
        let decision = decide_slots(
            c.schedule().position(now),
            c.slots(),
            &statuses,
            opts.catch_up,
        );
        let slot_batch = |slot: u32| existing.iter().find(|b| b.slot == slot);
        let mut to_send = Vec::new();
        // Open batches of earlier campaigns are resumed too (never orphaned by a new one).
        for b in open.into_iter().filter(|b| b.campaign_id != c.id) {
            if let Some(earlier) = tx.campaign(b.campaign_id)? {
                to_send.push((earlier, b));
            }
        }
        let with = |b: Option<Batch>| b.map(|b| (c.clone(), b));
        for step in decision.steps {
            match step {
                SlotStep::Resume(slot) => to_send.extend(with(slot_batch(slot).cloned())),
                SlotStep::RecordMissed(slot) => {
                    notes.push(record_missed(tx, &c, &ledger_id, slot, now)?)
                }
                SlotStep::Replan(slot) => {
                    if let Some(missed) = slot_batch(slot) {
                        tx.replan_missed(missed.id)?;
                    }
                    to_send.extend(with(claim(tx, &c, &ledger_id, slot, now, rng)?));
                }
                SlotStep::Claim(slot) => {
                    to_send.extend(with(claim(tx, &c, &ledger_id, slot, now, rng)?))
                }
            }
        }
        notes.extend(decision.idle.map(|idle| nothing_due(&c, idle)));
        let mut recheck = Vec::new();
        for (b, until) in tx.batches_to_recheck()? {
            if let Some(bc) = tx.campaign(b.campaign_id)? {
                recheck.push((bc, b, until));
            }
        }
        let complete = match decision.complete {
            true => Some(completion(&c, &tx.batches(c.id)?)),
            false => None,
        };
        Ok(Plan {
            to_send,
            recheck,
            notes,
            complete,
        })
    }
}

/// Record `slot` of `c` as missed (its window passed without a run, or its campaign was
/// superseded first); the next look at the bank decides it once.
fn record_missed(
    tx: &crate::ledger::Tx<'_>,
    c: &Campaign,
    ledger_id: &str,
    slot: u32,
    now: DateTime<Utc>,
) -> Result<Outcome, IssueError> {
    tx.insert_missed(c, slot, &batch_tag(ledger_id, c.id, slot), now)?;
    tracing::warn!(
        campaign = c.id,
        batch = slot + 1,
        "slot window passed without a run: recorded as missed"
    );
    Ok(Outcome::Missed {
        campaign: c.id,
        batch: slot + 1,
        of: c.slots(),
    })
}

/// How many slots' windows have opened at `position`: the current one included.
fn opened_slots(position: Position, slots: u32) -> u32 {
    match position {
        Position::Before => 0,
        Position::Slot(k) => k + 1,
        Position::After => slots,
    }
}

/// The first `opened` slots that have no batch at all.
fn undecided(opened: u32, existing: &[Batch]) -> impl Iterator<Item = u32> + '_ {
    (0..opened).filter(move |slot| existing.iter().all(|b| b.slot != *slot))
}

/// Whether the tick continues the latest campaign or starts a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CampaignChoice {
    Continue(Campaign),
    Start,
}

/// `open` is the first open batch of any campaign: `--new-campaign` refuses while there is
/// one, even with `--force` (it would be orphaned).
fn choose_campaign(
    latest: Option<Campaign>,
    open: Option<&Batch>,
    now: DateTime<Utc>,
    opts: &TickOptions,
) -> Result<CampaignChoice, IssueError> {
    match latest {
        None => Ok(CampaignChoice::Start),
        Some(_) if opts.new_campaign && open.is_some() => {
            let b = open.expect("checked");
            Err(IssueError::OpenBatch {
                campaign: b.campaign_id,
                batch: b.slot + 1,
                tag: b.tag.clone(),
            })
        }
        Some(c) if opts.new_campaign => {
            let over = c.schedule().position(now) == Position::After;
            if over || opts.force {
                Ok(CampaignChoice::Start)
            } else {
                Err(IssueError::StillRunning {
                    campaign: c.id,
                    until: ts(c.schedule().ends()),
                })
            }
        }
        Some(c) => Ok(CampaignChoice::Continue(c)),
    }
}

/// What a tick does with one slot of the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotStep {
    /// Its batch is open from an earlier tick (a crash, an unclear answer): send it, or look
    /// it up first.
    Resume(u32),
    /// Its window passed without a run: record it as missed.
    RecordMissed(u32),
    /// Draw its invoices and claim it.
    Claim(u32),
    /// `--catch-up`: drop its missed record and claim it.
    Replan(u32),
}

impl SlotStep {
    fn sends(self) -> bool {
        !matches!(self, SlotStep::RecordMissed(_))
    }
}

/// Why a tick sends nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// The current slot already has its batch, in this status.
    Already { slot: u32, status: BatchStatus },
    /// Before the first slot's window opens.
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SlotDecision {
    steps: Vec<SlotStep>,
    /// Why nothing is due: only when nothing is sent (a tick that sends reports what it sent).
    idle: Option<Idle>,
    /// The campaign is over and nothing is left to send.
    complete: bool,
}

/// Decide the tick from where `now` falls in the schedule and the slots that already have a
/// batch: open batches are resumed first; slots whose window passed with no batch are recorded
/// as missed (or claimed with `catch_up`, which also replans missed ones); the current slot is
/// claimed unless it has a batch.
fn decide_slots(
    position: Position,
    slots: u32,
    existing: &BTreeMap<u32, BatchStatus>,
    catch_up: bool,
) -> SlotDecision {
    let mut steps: Vec<SlotStep> = existing
        .iter()
        .filter(|(_, status)| status.is_open())
        .map(|(slot, _)| SlotStep::Resume(*slot))
        .collect();
    // The slots whose windows have closed: the current one is still open.
    let passed = match position {
        Position::Slot(k) => k,
        other => opened_slots(other, slots),
    };
    for slot in 0..passed {
        match existing.get(&slot) {
            None if catch_up => steps.push(SlotStep::Claim(slot)),
            None => steps.push(SlotStep::RecordMissed(slot)),
            Some(BatchStatus::Missed) if catch_up => steps.push(SlotStep::Replan(slot)),
            Some(_) => {}
        }
    }
    let idle = match position {
        Position::Slot(k) => match existing.get(&k) {
            None => {
                steps.push(SlotStep::Claim(k));
                None
            }
            Some(&status) => Some(Idle::Already { slot: k, status }),
        },
        Position::Before => Some(Idle::NotStarted),
        Position::After => None,
    };
    let sends = steps.iter().any(|s| s.sends());
    SlotDecision {
        idle: idle.filter(|_| !sends),
        complete: position == Position::After && !sends,
        steps,
    }
}

fn nothing_due(c: &Campaign, idle: Idle) -> Outcome {
    let (reason, next) = match idle {
        Idle::Already { slot, status } => (
            format!(
                "batch {}/{} already {}",
                slot + 1,
                c.slots(),
                status.as_str()
            ),
            slot + 1,
        ),
        Idle::NotStarted => ("the campaign has not started".to_string(), 0),
    };
    let more = next < c.slots();
    Outcome::NothingDue {
        campaign: c.id,
        reason,
        next_batch: more.then_some(next + 1),
        of: c.slots(),
        next_due: more.then(|| ts(c.schedule().due(next))),
    }
}

fn completion(c: &Campaign, batches: &[Batch]) -> Outcome {
    let count = |status| batches.iter().filter(|b| b.status == status).count() as u32;
    Outcome::Complete {
        campaign: c.id,
        issued: count(BatchStatus::Issued),
        missed: count(BatchStatus::Missed),
        rejected: count(BatchStatus::Rejected),
        of: c.slots(),
    }
}

/// Draw a slot's invoices and insert its batch. `None` if another tick claimed it.
fn claim(
    tx: &Tx<'_>,
    c: &Campaign,
    ledger_id: &str,
    slot: u32,
    now: DateTime<Utc>,
    rng: &mut impl Rng,
) -> Result<Option<Batch>, LedgerError> {
    let taken = tx.campaign_tax_ids(c.id)?;
    let new = draw_batch(rng, c, ledger_id, slot, &taken);
    tx.insert_planned(c, &new, now)
}

/// A slot's batch: between the spec's bounds of invoices, payers whose CPFs are not in
/// `taken`, tagged with the campaign and the batch, and the exact body to send.
fn draw_batch(
    rng: &mut impl Rng,
    c: &Campaign,
    ledger_id: &str,
    slot: u32,
    taken: &HashSet<String>,
) -> NewBatch {
    let spec = &c.spec;
    let count = rng.gen_range(spec.min_invoices..=spec.max_invoices) as usize;
    let people = random_people(rng, count, spec.min_amount, spec.max_amount, taken);
    let tag = batch_tag(ledger_id, c.id, slot);
    let tags = vec![
        campaign_tag(ledger_id, c.id),
        tag.clone(),
        size_tag(&tag, people.len()),
    ];
    let requests: Vec<InvoiceRequest> = people
        .iter()
        .map(|p| InvoiceRequest {
            amount: p.amount,
            tax_id: p.tax_id.clone(),
            name: p.name.clone(),
            due: None,
            tags: tags.clone(),
        })
        .collect();
    let invoices = people
        .into_iter()
        .enumerate()
        .map(|(i, p)| PlannedInvoice {
            position: i as u32,
            name: p.name,
            tax_id: p.tax_id,
            amount: p.amount,
        })
        .collect();
    NewBatch {
        slot,
        tag,
        body: invoices_body(&requests),
        invoices,
    }
}

/// What the bank said to one request of a batch's send loop.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// The lookups by tag found the whole batch.
    Found(Vec<Invoice>),
    /// The lookups by tag found part of the batch: `found` of `expected` invoices.
    Partial { found: usize, expected: usize },
    /// The lookup by tag found nothing.
    Absent,
    /// The lookup failed.
    LookUpFailed(String),
    /// The POST created the batch.
    Created(Vec<Invoice>),
    /// The bank refused the batch's content (a 400 that names its elements).
    Refused(Vec<ApiErrorItem>),
    /// The POST failed; `ambiguous` when it may have taken effect anyway.
    Failed { error: String, ambiguous: bool },
}

/// What a batch's send loop does next.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Look the batch up by its tag.
    LookUp,
    /// POST its stored body.
    Send,
    /// Wait, renew the lease, then make attempt `attempt` (0-based), starting with a lookup
    /// when the last failure may have created the batch.
    Retry { attempt: u32, look_first: bool },
    /// The bank holds the batch: record its invoices.
    Record {
        invoices: Vec<Invoice>,
        resumed: bool,
    },
    /// The bank refused it: file the errors for the operator, never resend.
    File(Vec<ApiErrorItem>),
    /// An unclear POST may still take effect: leave the batch open, send nothing before then.
    Wait(DateTime<Utc>),
    /// Out of attempts: note the last error and leave the batch open for the next tick.
    GiveUp(String),
}

impl Step {
    /// The first step under a fresh lease.
    fn first(look_first: bool) -> Step {
        if look_first { Step::LookUp } else { Step::Send }
    }
}

/// The step after `answer` in attempt `attempt` (0-based) of a batch; `resumed` when an
/// earlier tick already tried it; `settle` whether an unclear POST may still take effect. A
/// lookup that finds the whole batch records it; one that finds part of it looks again; an
/// empty one sends only once the settle window has passed; an ambiguous failure is looked up
/// before any resend; any other failure is retried without a lookup; after [`MAX_ATTEMPTS`]
/// the batch is left open.
fn next_step(answer: Answer, attempt: u32, resumed: bool, settle: Settle) -> Step {
    let retry = |look_first, error| {
        if attempt + 1 < MAX_ATTEMPTS {
            Step::Retry {
                attempt: attempt + 1,
                look_first,
            }
        } else {
            Step::GiveUp(error)
        }
    };
    match answer {
        Answer::Found(invoices) => Step::Record {
            invoices,
            resumed: true,
        },
        Answer::Partial { found, expected } => retry(
            true,
            format!("only {found} of its {expected} invoices found at the bank so far"),
        ),
        Answer::Absent => match settle {
            Settle::Clear => Step::Send,
            Settle::Until(t) => Step::Wait(t),
        },
        Answer::LookUpFailed(error) => retry(true, error),
        Answer::Created(invoices) => Step::Record { invoices, resumed },
        Answer::Refused(errors) => Step::File(errors),
        Answer::Failed { error, ambiguous } => retry(ambiguous, error),
    }
}

/// What a warning says of the next try after a failure at `attempt` ([`next_step`]'s rule).
fn retry_note(attempt: u32) -> String {
    match MAX_ATTEMPTS.saturating_sub(attempt + 1) {
        0 => "giving up for this run".to_string(),
        left => format!("trying again ({left} left)"),
    }
}

/// Lease a batch and drive its send loop: do each [`Step`], feed the answer to [`next_step`].
/// Every batch is looked up by its tag before its first POST too (a restored or copied ledger
/// finds what the bank holds); the unclear-since time is written before each POST and cleared
/// by an answer that proves nothing was done.
async fn send_batch<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    c: &Campaign,
    planned: &Batch,
    now: DateTime<Utc>,
    opts: &TickOptions,
) -> Result<Outcome, IssueError> {
    let batch =
        match ledger.write(|tx| tx.take_lease(planned.id, tx.wall_now()?, lease_secs(), now))? {
            Claim::Busy => {
                return Ok(Outcome::Busy {
                    batch: BatchLabel::new(c, planned),
                });
            }
            Claim::Send(b) | Claim::LookUpFirst(b) => b,
        };
    let label = BatchLabel::new(c, &batch);
    let resumed = batch.attempts > 1;
    let body = batch.body.as_deref().unwrap_or_default();
    let mut unclear_since = batch.unclear_since;
    // A POST of the batch had no clear answer (in an earlier tick, or in this one): the bank
    // may apply it after the batch is issued, so issued batches are looked up again for a
    // while (`recheck_batch`).
    let mut had_unclear = batch.unclear_since.is_some();
    let mut found: BTreeMap<String, Invoice> = BTreeMap::new();
    let mut last_error: Option<String> = None;
    let mut attempt = 0;
    let mut step = Step::LookUp;
    let refused = |source| IssueError::Refused {
        batch: batch.slot + 1,
        tag: batch.tag.clone(),
        source,
    };
    let lease_lost = || {
        tracing::error!(tag = %batch.tag, "lost the batch's lease to another process; sending nothing more");
        IssueError::LeaseLost {
            batch: batch.slot + 1,
            tag: batch.tag.clone(),
        }
    };
    loop {
        let settle = settle_state(unclear_since, now, opts.settle);
        step = match step {
            Step::LookUp => match bank.invoices_by_tag(&batch.tag).await {
                Ok(list) => {
                    found.extend(list.into_iter().map(|i| (i.id.clone(), i)));
                    let answer = classify_lookup(&batch.tag, batch.invoice_count, &found);
                    tracing::info!(tag = %batch.tag, found = found.len(), ?answer, "looked the batch up");
                    next_step(answer, attempt, resumed, settle)
                }
                Err(e) if e.is_request_level() => {
                    ledger.db().note_error(batch.id, &e.to_string(), now)?;
                    return Err(refused(e));
                }
                Err(e) => {
                    tracing::warn!(tag = %batch.tag, cause = %e, "batch {}: {} when looking it up; {}", batch.slot + 1, e.brief(), retry_note(attempt));
                    let error = format!("looking up {}: {e}", batch.tag);
                    last_error = Some(error.clone());
                    next_step(Answer::LookUpFailed(error), attempt, resumed, settle)
                }
            },
            Step::Send => {
                if !ledger
                    .db()
                    .renew_lease(batch.id, ledger.db().wall_now()? + lease_secs())?
                {
                    return Err(lease_lost());
                }
                ledger.db().mark_unclear(batch.id, Some(now))?;
                unclear_since = Some(now);
                let answer = match bank.create_invoices(body.as_bytes()).await {
                    Ok(created) => Answer::Created(created),
                    Err(e) if e.is_request_level() => {
                        ledger.db().mark_unclear(batch.id, None)?;
                        ledger.db().note_error(batch.id, &e.to_string(), now)?;
                        return Err(refused(e));
                    }
                    Err(ApiError::Rejected { errors, .. }) => Answer::Refused(errors),
                    Err(e) => {
                        let ambiguous = e.is_ambiguous();
                        had_unclear |= ambiguous;
                        let unclear = if ambiguous {
                            " (it may have been created: looked up before any resend)"
                        } else {
                            ""
                        };
                        tracing::warn!(tag = %batch.tag, cause = %e, ambiguous, "batch {}: {} when sending its invoices{unclear}; {}", batch.slot + 1, e.brief(), retry_note(attempt));
                        if !ambiguous {
                            ledger.db().mark_unclear(batch.id, None)?;
                            unclear_since = None;
                        }
                        last_error = Some(e.to_string());
                        Answer::Failed {
                            error: e.to_string(),
                            ambiguous,
                        }
                    }
                };
                next_step(answer, attempt, resumed, settle)
            }
            Step::Retry {
                attempt: next,
                look_first,
            } => {
                attempt = next;
                tokio::time::sleep(crate::api::client::backoff_delay(opts.backoff, next - 1)).await;
                if !ledger
                    .db()
                    .renew_lease(batch.id, ledger.db().wall_now()? + lease_secs())?
                {
                    return Err(lease_lost());
                }
                Step::first(look_first)
            }
            Step::Record { invoices, resumed } => {
                let (mut keep, extras) = split_extras(&batch.tag, batch.invoice_count, invoices);
                let (paid, cancelled) = cancel_extras(bank, &batch.tag, extras).await;
                keep.extend(paid);
                let recheck_until = had_unclear.then(|| now + opts.settle);
                return record_issued(
                    ledger,
                    c,
                    &batch,
                    &keep,
                    now,
                    resumed,
                    &cancelled,
                    recheck_until,
                );
            }
            Step::File(errors) => {
                ledger.db().mark_rejected(batch.id, &errors, now)?;
                return Ok(Outcome::Rejected {
                    batch: label,
                    errors,
                });
            }
            Step::Wait(until) => {
                let until = ts(until);
                let note = format!("no clear answer yet; not sent again before {until}");
                let error = last_error.map(|e| format!("{e}; {note}"));
                ledger
                    .db()
                    .note_error(batch.id, error.as_deref().unwrap_or(&note), now)?;
                return Ok(match error {
                    Some(error) => Outcome::Unresolved {
                        batch: label,
                        error,
                    },
                    None => Outcome::Settling {
                        batch: label,
                        until,
                    },
                });
            }
            Step::GiveUp(error) => {
                ledger.db().note_error(batch.id, &error, now)?;
                return Ok(Outcome::Unresolved {
                    batch: label,
                    error,
                });
            }
        };
    }
}

/// The invoices under an issued batch's tag that are live (not cancelled) and unknown to the
/// ledger: copies the bank applied after the batch was issued.
fn late_copies(listed: Vec<Invoice>, known: &HashSet<String>) -> Vec<Invoice> {
    listed
        .into_iter()
        .filter(|i| i.status != "canceled" && !known.contains(&i.id))
        .collect()
}

/// Whether this look at an issued batch is the last one: the first made at or after the end
/// of its recheck window.
fn recheck_done(until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= until
}

/// Look an issued batch up again by its tag: copies applied late are cancelled while unpaid
/// and recorded as ours once paid (so they are forwarded). Done while its window lasts and
/// once after it; a lookup that fails is made again by the next tick. Reports only what it
/// found.
async fn recheck_batch<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    c: &Campaign,
    batch: &Batch,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>, IssueError> {
    let listed = match bank.invoices_by_tag(&batch.tag).await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::warn!(tag = %batch.tag, error = %e, "could not look a batch up again; the next run does");
            return Ok(None);
        }
    };
    if batch.status == BatchStatus::Missed {
        return adopt_missed(ledger, bank, c, batch, listed, now).await;
    }
    let mut known = HashSet::new();
    {
        let db = ledger.db();
        for inv in &listed {
            if db.invoice_known(&inv.id)? {
                known.insert(inv.id.clone());
            }
        }
    }
    let late = late_copies(listed, &known);
    let (paid, cancelled) = cancel_extras(bank, &batch.tag, late).await;
    let adopted = ledger.write(|tx| {
        tx.record_cancelled(batch.id, &cancelled, now)?;
        let mut adopted = 0;
        for inv in &paid {
            adopted += u32::from(tx.adopt_late_copy(batch, inv, now)?);
        }
        if recheck_done(until, now) {
            tx.set_recheck(batch.id, None)?;
        }
        Ok::<_, LedgerError>(adopted)
    })?;
    if cancelled.is_empty() && adopted == 0 {
        return Ok(None);
    }
    tracing::warn!(tag = %batch.tag, cancelled = cancelled.len(), adopted, "late copies under an issued batch's tag");
    Ok(Some(Outcome::LateCopies {
        batch: BatchLabel::new(c, batch),
        cancelled: cancelled.len() as u32,
        adopted,
    }))
}

/// A slot recorded as missed whose tag the bank holds live invoices under: the batch was
/// issued by a copy of this ledger that this one no longer has (it was restored from an older
/// backup). What the bank holds is adopted from its own data, one batch's worth (its size
/// tag), the extras cancelled while unpaid, so its credits are forwarded. Nothing under the
/// tag: it stays missed, and is not looked up again.
async fn adopt_missed<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    c: &Campaign,
    batch: &Batch,
    listed: Vec<Invoice>,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>, IssueError> {
    let live: Vec<Invoice> = listed
        .into_iter()
        .filter(|i| i.status != "canceled")
        .collect();
    if live.is_empty() {
        ledger.write(|tx| tx.set_recheck(batch.id, None))?;
        return Ok(None);
    }
    // A list that returns part of the batch (its size tag says how many) adopts nothing yet:
    // the next tick looks again (the recheck stays due).
    if let Some(expected) = size_at_bank(&batch.tag, &live)
        && live.len() < expected
    {
        tracing::warn!(tag = %batch.tag, found = live.len(), expected, "a slot recorded as missed is held at the bank, but the list returned part of it; looking again next run");
        return Ok(None);
    }
    tracing::warn!(tag = %batch.tag, invoices = live.len(), "a slot recorded as missed is held at the bank (a restored ledger): adopting it");
    let (mut keep, extras) = split_extras(&batch.tag, live.len() as u32, live);
    let (paid, cancelled) = cancel_extras(bank, &batch.tag, extras).await;
    keep.extend(paid);
    record_issued(ledger, c, batch, &keep, now, true, &cancelled, None).map(Some)
}

#[allow(clippy::too_many_arguments)]
fn record_issued(
    ledger: &mut Ledger,
    c: &Campaign,
    batch: &Batch,
    invoices: &[Invoice],
    now: DateTime<Utc>,
    resumed: bool,
    cancelled: &[Invoice],
    recheck_until: Option<DateTime<Utc>>,
) -> Result<Outcome, IssueError> {
    let matched = ledger.write(|tx| {
        tx.record_cancelled(batch.id, cancelled, now)?;
        let matched = tx.mark_issued(batch.id, invoices, now)?;
        tx.set_recheck(batch.id, recheck_until)?;
        Ok::<_, LedgerError>(matched)
    })?;
    if matched != batch.invoice_count as usize || invoices.len() != batch.invoice_count as usize {
        tracing::warn!(tag = %batch.tag, expected = batch.invoice_count, got = invoices.len(), matched, "the bank's batch differs from the planned one");
    }
    Ok(Outcome::Issued {
        batch: BatchLabel::new(c, batch),
        invoices: invoices.len() as u32,
        amount: invoices.iter().map(nominal).sum(),
        resumed,
        cancelled: cancelled.len() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Client;
    use crate::clock::ManualClock;
    use rand::SeedableRng;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn invoice(id: &str) -> Invoice {
        serde_json::from_value(serde_json::json!({
            "id": id, "amount": 1000, "name": "Ana Souza", "taxId": "012.345.678-90",
            "status": "created", "created": "2026-03-02T00:00:08.000000+00:00"
        }))
        .unwrap()
    }

    #[test]
    fn outcomes_carry_their_batch_fields_flat_in_json_and_in_their_line() {
        let batch = BatchLabel {
            campaign: 4,
            batch: 2,
            of: 8,
            tag: "stark-c4-b2".into(),
        };
        let issued = Outcome::Issued {
            batch: batch.clone(),
            invoices: 9,
            amount: 12_345,
            resumed: false,
            cancelled: 0,
        };
        assert_eq!(
            serde_json::to_string(&issued).unwrap(),
            r#"{"action":"issued","campaign":4,"batch":2,"of":8,"tag":"stark-c4-b2","invoices":9,"amount":12345,"resumed":false,"cancelled":0}"#
        );
        let settling = Outcome::Settling {
            batch,
            until: "2026-03-02T00:10:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&settling).unwrap(),
            r#"{"action":"settling","campaign":4,"batch":2,"of":8,"tag":"stark-c4-b2","until":"2026-03-02T00:10:00Z"}"#
        );
        assert_eq!(
            settling.to_string(),
            "batch 2/8 (stark-c4-b2): an earlier attempt had no clear answer and nothing is at the bank yet; not sent again before 2026-03-02T00:10:00Z"
        );
    }

    #[test]
    fn late_copies_are_the_live_invoices_the_ledger_does_not_know() {
        let mut cancelled = invoice("x2");
        cancelled.status = "canceled".into();
        let mut paid = invoice("x3");
        paid.status = "paid".into();
        let listed = vec![invoice("a1"), invoice("x1"), cancelled, paid, invoice("c1")];
        // a1 is the batch's, c1 an extra cancelled earlier (both known to the ledger).
        let known: HashSet<String> = ["a1", "c1"].into_iter().map(String::from).collect();
        let late: Vec<String> = late_copies(listed, &known)
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(late, ["x1", "x3"], "unpaid or paid, never a cancelled one");
        assert!(late_copies(vec![invoice("a1")], &known).is_empty());
        // Looked up while the window lasts, and once at or after its end.
        let until = t("2026-03-02T00:11:00Z");
        assert!(!recheck_done(until, t("2026-03-02T00:10:59Z")));
        assert!(recheck_done(until, until));
        assert!(recheck_done(until, t("2026-03-02T03:00:00Z")));
    }

    #[test]
    fn retry_batch_names_a_number_or_a_tag_and_reopens_only_a_rejected_batch() {
        assert_eq!(BatchRef::parse("3"), Ok(BatchRef::Number(3)));
        assert_eq!(BatchRef::parse(" 12 "), Ok(BatchRef::Number(12)));
        assert_eq!(
            BatchRef::parse("stark-abc123-c2-b4"),
            Ok(BatchRef::Tag("stark-abc123-c2-b4".into()))
        );
        for bad in ["", "0", "99999999999"] {
            assert!(BatchRef::parse(bad).is_err(), "{bad:?}");
        }
        use BatchStatus::*;
        for (status, reopen) in [
            (Rejected, true),
            (Planned, false),
            (Sending, false),
            (Issued, false),
            (Missed, false),
        ] {
            assert_eq!(may_reopen(status), reopen, "{status:?}");
        }
    }

    #[test]
    fn batch_tags_are_told_from_campaign_tags_whatever_the_ledger_id() {
        // A ledger id starting with `b` once made the campaign tag look like a batch tag.
        for lid in ["bsdkjp", "abc123", "b2b2b2"] {
            assert!(is_batch_tag(lid, &batch_tag(lid, 1, 0)));
            assert!(is_batch_tag(lid, &batch_tag(lid, 12, 7)));
            assert!(!is_batch_tag(lid, &campaign_tag(lid, 1)));
            assert!(!is_batch_tag(lid, &format!("stark-{lid}-c1-b")));
            assert!(!is_batch_tag(lid, &format!("stark-{lid}-c1-bx")));
            assert!(!is_batch_tag("other1", &batch_tag(lid, 1, 0)));
        }
    }

    #[test]
    fn slots_are_claimed_missed_replanned_or_resumed_by_position_and_catch_up() {
        use BatchStatus::*;
        use Position::{After, Before, Slot};
        use SlotStep::*;
        let done = |slot, status| Some(Idle::Already { slot, status });
        let not_started = Some(Idle::NotStarted);
        let (no, yes) = (false, true);
        let none: &[(u32, BatchStatus)] = &[];
        // A campaign of 3 slots: (now, batches already there, --catch-up) => (steps, why nothing
        // is due, complete).
        #[rustfmt::skip]
        #[allow(clippy::type_complexity)]
        let cases: &[((Position, &[(u32, BatchStatus)], bool), (&[SlotStep], Option<Idle>, bool))] = &[
            ((Before,  none,                                      no),  (&[],                                      not_started,       no)),
            ((Slot(0), none,                                      no),  (&[Claim(0)],                              None,              no)),
            ((Slot(0), &[(0, Issued)],                            no),  (&[],                                      done(0, Issued),   no)),
            ((Slot(1), &[(0, Issued), (1, Rejected)],             no),  (&[],                                      done(1, Rejected), no)),
            // A skipped window is missed, not backfilled; the current slot is still claimed.
            ((Slot(2), &[(0, Issued)],                            no),  (&[RecordMissed(1), Claim(2)],             None,              no)),
            ((Slot(2), &[(0, Issued), (2, Issued)],               no),  (&[RecordMissed(1)],                       done(2, Issued),   no)),
            // --catch-up claims it instead, or replans it once it was recorded as missed.
            ((Slot(2), &[(0, Issued)],                            yes), (&[Claim(1), Claim(2)],                    None,              no)),
            ((Slot(2), &[(0, Issued), (1, Missed), (2, Issued)],  yes), (&[Replan(1)],                             None,              no)),
            ((Slot(2), &[(0, Issued), (1, Missed), (2, Issued)],  no),  (&[],                                      done(2, Issued),   no)),
            // Open batches go first; a tick that sends says nothing about "nothing due".
            ((Slot(1), &[(0, Sending), (1, Planned)],             no),  (&[Resume(0), Resume(1)],                  None,              no)),
            ((Slot(2), &[(0, Sending)],                           no),  (&[Resume(0), RecordMissed(1), Claim(2)],  None,              no)),
            // Over: the last slots are missed, and the campaign is complete once nothing is open.
            ((After,   &[(0, Issued), (1, Issued)],               no),  (&[RecordMissed(2)],                       None,              yes)),
            ((After,   &[(0, Issued), (1, Missed), (2, Issued)],  no),  (&[],                                      None,              yes)),
            ((After,   &[(0, Issued), (1, Missed), (2, Issued)],  yes), (&[Replan(1)],                             None,              no)),
            ((After,   &[(0, Issued), (1, Sending), (2, Issued)],  no),  (&[Resume(1)],                             None,              no)),
        ];
        for ((position, existing, catch_up), (steps, idle, complete)) in cases {
            let existing: BTreeMap<u32, BatchStatus> = existing.iter().copied().collect();
            let got = decide_slots(*position, 3, &existing, *catch_up);
            let want = SlotDecision {
                steps: steps.to_vec(),
                idle: *idle,
                complete: *complete,
            };
            assert_eq!(got, want, "{position:?} {existing:?} catch-up {catch_up}");
        }
    }

    /// An answer that may have reached the bank (a timeout, a cut connection).
    fn timeout() -> Answer {
        Answer::Failed {
            error: "timeout".into(),
            ambiguous: true,
        }
    }

    /// A failure that says nothing reached the bank (e.g. the connection was refused).
    fn unsent() -> Answer {
        Answer::Failed {
            error: "connect".into(),
            ambiguous: false,
        }
    }

    #[test]
    fn each_answer_of_the_bank_leads_to_one_next_step() {
        use Answer::*;
        let invalid = || {
            vec![ApiErrorItem {
                code: "invalidTaxId".into(),
                message: "Element 0: bad".into(),
            }]
        };
        let record = |resumed| Step::Record {
            invoices: vec![invoice("1")],
            resumed,
        };
        let retry = |attempt, look_first| Step::Retry {
            attempt,
            look_first,
        };
        let give_up = |error: &str| Step::GiveUp(error.into());
        let last = MAX_ATTEMPTS - 1;
        let clear = Settle::Clear;
        let end = t("2026-03-02T00:05:00Z");
        let settling = Settle::Until(end);
        let part = || Partial {
            found: 3,
            expected: 10,
        };
        let part_error = "only 3 of its 10 invoices found at the bank so far";
        // (answer, attempt (0-based), resumed by an earlier tick, settle) => next step
        #[rustfmt::skip]
        let cases = [
            ((Created(vec![invoice("1")]), 0, false, clear),    record(false)),
            ((Created(vec![invoice("1")]), 2, true, clear),     record(true)),
            // Found by a lookup (before the first POST too): adopted as found at the bank.
            ((Found(vec![invoice("1")]), 0, false, clear),      record(true)),
            ((Found(vec![invoice("1")]), 1, false, settling),   record(true)),
            // Nothing under the tag: sent, unless an unclear POST may still take effect.
            ((Absent, 0, false, clear),                         Step::Send),
            ((Absent, 1, false, clear),                         Step::Send),
            ((Absent, 0, true, settling),                       Step::Wait(end)),
            ((Absent, 2, false, settling),                      Step::Wait(end)),
            // Part of the batch: looked up again, never sent, never recorded as issued.
            ((part(), 0, false, clear),                         retry(1, true)),
            ((part(), 0, false, settling),                      retry(1, true)),
            ((part(), last, false, clear),                      give_up(part_error)),
            // Refused element by element: filed for the operator, never resent.
            ((Refused(invalid()), 0, false, clear),             Step::File(invalid())),
            ((Refused(invalid()), last, true, clear),           Step::File(invalid())),
            // Ambiguous: the next attempt looks the batch up before any resend.
            ((timeout(), 0, false, settling),                   retry(1, true)),
            ((timeout(), 2, false, settling),                   retry(3, true)),
            ((LookUpFailed("503".into()), 1, false, clear),     retry(2, true)),
            // Nothing happened at the bank: resend without a lookup.
            ((unsent(), 0, false, clear),                       retry(1, false)),
            // Out of attempts: the last error is kept and the batch stays open.
            ((timeout(), last, false, settling),                give_up("timeout")),
            ((unsent(), last, false, clear),                    give_up("connect")),
            ((LookUpFailed("503".into()), last, false, clear),  give_up("503")),
        ];
        for ((answer, attempt, resumed, settle), want) in cases {
            let what = format!("{answer:?} in attempt {attempt}, {settle:?}");
            assert_eq!(next_step(answer, attempt, resumed, settle), want, "{what}");
        }
    }

    #[test]
    fn a_resend_waits_for_the_settle_window_after_an_unclear_post() {
        let window = chrono::Duration::minutes(5);
        let since = t("2026-03-02T00:00:00Z");
        let until = Settle::Until(t("2026-03-02T00:05:00Z"));
        // (unclear since, now) => settle
        let cases = [
            (None, "2026-03-02T00:00:00Z", Settle::Clear),
            (Some(since), "2026-03-02T00:00:00Z", until),
            (Some(since), "2026-03-02T00:04:59Z", until),
            (Some(since), "2026-03-02T00:05:00Z", Settle::Clear),
            (Some(since), "2026-03-02T03:00:00Z", Settle::Clear),
        ];
        for (unclear, now, want) in cases {
            assert_eq!(
                settle_state(unclear, t(now), window),
                want,
                "{unclear:?} {now}"
            );
        }
        assert!(SETTLE > chrono::Duration::seconds(30) && SETTLE < chrono::Duration::hours(1));
    }

    #[test]
    fn a_lookup_accounts_for_the_whole_batch_from_the_banks_size_tag() {
        let tag = "stark-abc123-c1-b1";
        let tagged = |id: &str, size: Option<usize>| {
            let mut i = invoice(id);
            i.tags = vec!["stark-abc123-c1".into(), tag.into()];
            i.tags.extend(size.map(|n| size_tag(tag, n)));
            i
        };
        let found = |invoices: Vec<Invoice>| -> BTreeMap<String, Invoice> {
            invoices.into_iter().map(|i| (i.id.clone(), i)).collect()
        };
        let ids = |n: usize, size| (0..n).map(|k| tagged(&k.to_string(), size)).collect();
        assert_eq!(size_tag(tag, 10), "stark-abc123-c1-b1-n10");
        assert!(!is_batch_tag("abc123", &size_tag(tag, 10)));
        // (invoices found, their size tag, planned count) => whole?
        let cases: &[(usize, Option<usize>, u32, Option<bool>)] = &[
            (0, None, 10, None),
            (10, Some(10), 10, Some(true)),
            (3, Some(10), 10, Some(false)),
            // A plan drawn again (a restore): the bank's size wins, either way.
            (9, Some(9), 12, Some(true)),
            (9, Some(12), 9, Some(false)),
            // Sent without a size tag: the planned count.
            (8, None, 8, Some(true)),
            (7, None, 8, Some(false)),
        ];
        for &(n, size, planned, whole) in cases {
            let got = classify_lookup(tag, planned, &found(ids(n, size)));
            let want = match whole {
                None => Answer::Absent,
                Some(true) => Answer::Found(ids(n, size)),
                Some(false) => Answer::Partial {
                    found: n,
                    expected: size.unwrap_or(planned as usize),
                },
            };
            assert_eq!(got, want, "{n} found, size {size:?}, planned {planned}");
        }
    }

    #[test]
    fn beyond_one_batchs_worth_the_latest_unpaid_invoices_are_extras() {
        let tag = "stark-abc123-c1-b1";
        let inv = |id: &str, status: &str, created: &str| {
            let mut i = invoice(id);
            i.status = status.into();
            i.tags = vec![tag.into(), size_tag(tag, 2)];
            i.created = serde_json::from_value(serde_json::json!(created)).unwrap();
            i
        };
        let ids = |v: &[Invoice]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        let early = "2026-03-02T00:00:08.000000+00:00";
        let late = "2026-03-02T00:10:08.000000+00:00";
        // (invoices at the bank) => (kept, extras)
        #[allow(clippy::type_complexity)]
        let cases: &[(&[(&str, &str, &str)], &[&str], &[&str])] = &[
            (
                &[("a", "created", early), ("b", "created", early)],
                &["a", "b"],
                &[],
            ),
            // Sent twice: the later copies are extras.
            (
                &[
                    ("c", "created", late),
                    ("a", "created", early),
                    ("d", "created", late),
                    ("b", "created", early),
                ],
                &["a", "b"],
                &["c", "d"],
            ),
            // A paid copy can no longer be cancelled: it is kept first.
            (
                &[
                    ("c", "paid", late),
                    ("a", "created", early),
                    ("d", "created", late),
                    ("b", "created", early),
                ],
                &["c", "a"],
                &["b", "d"],
            ),
        ];
        for (at_bank, kept, extras) in cases {
            let all = at_bank.iter().map(|(id, st, c)| inv(id, st, c)).collect();
            let (k, e) = split_extras(tag, 2, all);
            assert_eq!(
                (ids(&k), ids(&e)),
                (
                    kept.iter().map(|s| s.to_string()).collect(),
                    extras.iter().map(|s| s.to_string()).collect()
                ),
                "{at_bank:?}"
            );
        }
        // A cancelled extra is not part of the batch when it is looked up again.
        let found: BTreeMap<String, Invoice> =
            [inv("a", "created", early), inv("x", "canceled", late)]
                .into_iter()
                .map(|i| (i.id.clone(), i))
                .collect();
        assert_eq!(
            classify_lookup(tag, 2, &found),
            Answer::Partial {
                found: 1,
                expected: 2
            }
        );
    }

    /// The send loop as `send_batch` drives it, over scripted answers, from `settle`: the
    /// requests made and the final step. An ambiguous POST starts a settle window that does
    /// not end within the tick; a POST that provably did nothing clears it.
    fn walk(mut settle: Settle, answers: Vec<Answer>) -> (Vec<&'static str>, Step) {
        let window_end = t("2026-03-02T00:05:00Z");
        let mut answers = answers.into_iter();
        let mut step = Step::LookUp;
        let mut attempt = 0;
        let mut calls = Vec::new();
        loop {
            step = match step {
                Step::LookUp => {
                    calls.push("lookup");
                    next_step(answers.next().expect("an answer"), attempt, false, settle)
                }
                Step::Send => {
                    calls.push("post");
                    let answer = answers.next().expect("an answer");
                    if let Answer::Failed { ambiguous, .. } = answer {
                        settle = match ambiguous {
                            true => Settle::Until(window_end),
                            false => Settle::Clear,
                        };
                    }
                    next_step(answer, attempt, false, settle)
                }
                Step::Retry {
                    attempt: next,
                    look_first,
                } => {
                    attempt = next;
                    calls.push("wait");
                    Step::first(look_first)
                }
                done => return (calls, done),
            }
        }
    }

    #[test]
    fn an_unclear_post_is_looked_up_and_never_resent_inside_the_settle_window() {
        use Answer::*;
        let end = t("2026-03-02T00:05:00Z");
        let clear = Settle::Clear;
        // The first POST of a batch is preceded by a lookup (a restored ledger finds it).
        let (calls, end_step) = walk(clear, vec![Found(vec![invoice("1")])]);
        assert_eq!(calls, ["lookup"]);
        assert!(matches!(end_step, Step::Record { resumed: true, .. }));
        let (calls, _) = walk(clear, vec![Absent, Created(vec![invoice("1")])]);
        assert_eq!(calls, ["lookup", "post"]);
        // Lost response, then the lookup finds it: never POSTed twice.
        let (calls, end_step) = walk(clear, vec![Absent, timeout(), Found(vec![invoice("1")])]);
        assert_eq!(calls, ["lookup", "post", "wait", "lookup"]);
        assert!(matches!(end_step, Step::Record { resumed: true, .. }));
        // Lost and not found (yet): not resent inside the settle window.
        let (calls, end_step) = walk(clear, vec![Absent, timeout(), Absent]);
        assert_eq!(calls, ["lookup", "post", "wait", "lookup"]);
        assert_eq!(end_step, Step::Wait(end));
        // A later tick inside the window: looked up, nothing sent; after it: sent.
        let (calls, end_step) = walk(Settle::Until(end), vec![Absent]);
        assert_eq!((calls, end_step), (vec!["lookup"], Step::Wait(end)));
        let (calls, _) = walk(clear, vec![Absent, Created(vec![])]);
        assert_eq!(calls, ["lookup", "post"]);
        // A connection that never opened did nothing: resent at once.
        let (calls, _) = walk(clear, vec![Absent, unsent(), Created(vec![])]);
        assert_eq!(calls, ["lookup", "post", "wait", "post"]);
        // Part of the batch, every time: looked up again and again, never sent, left open.
        let part = || Partial {
            found: 3,
            expected: 10,
        };
        let (calls, end_step) = walk(clear, vec![part(); MAX_ATTEMPTS as usize]);
        assert_eq!(
            calls,
            [
                "lookup", "wait", "lookup", "wait", "lookup", "wait", "lookup"
            ]
        );
        assert!(matches!(end_step, Step::GiveUp(_)));
        let (calls, end_step) = walk(clear, vec![part(), Found(vec![invoice("1")])]);
        assert_eq!(calls, ["lookup", "wait", "lookup"]);
        assert!(matches!(end_step, Step::Record { .. }));
    }

    #[test]
    fn a_new_campaign_waits_for_the_running_one_unless_forced() {
        let c = Campaign {
            id: 1,
            started_at: t("2026-03-02T00:00:00Z"),
            spec: CampaignSpec::default(),
        };
        let during = t("2026-03-02T05:00:00Z");
        let after = t("2026-03-03T01:00:00Z");
        let opts = |new_campaign, force| TickOptions {
            new_campaign,
            force,
            ..TickOptions::default()
        };
        use CampaignChoice::*;
        let ok = |latest: Option<&Campaign>, now, new, force| {
            choose_campaign(latest.cloned(), None, now, &opts(new, force)).unwrap()
        };
        assert_eq!(ok(None, during, false, false), Start);
        assert_eq!(ok(None, during, true, false), Start);
        assert_eq!(ok(Some(&c), during, false, false), Continue(c.clone()));
        assert_eq!(ok(Some(&c), after, false, false), Continue(c.clone()));
        assert_eq!(ok(Some(&c), during, true, true), Start);
        assert_eq!(ok(Some(&c), after, true, false), Start);
        // An open batch of any campaign: kept resuming, never orphaned by a new campaign.
        let open = Batch {
            id: 4,
            campaign_id: 1,
            slot: 7,
            tag: "stark-abc123-c1-b8".into(),
            status: BatchStatus::Sending,
            body: None,
            invoice_count: 9,
            total_amount: 9_000,
            attempts: 2,
            errors: None,
            lease_until: None,
            due_at: t("2026-03-02T21:00:00Z"),
            unclear_since: None,
        };
        for (now, force) in [(after, false), (after, true), (during, true)] {
            let err =
                choose_campaign(Some(c.clone()), Some(&open), now, &opts(true, force)).unwrap_err();
            assert!(err.is_usage());
            assert!(err.to_string().contains("batch 8 of campaign c1"), "{err}");
        }
        assert_eq!(
            choose_campaign(Some(c.clone()), Some(&open), after, &opts(false, false)).unwrap(),
            Continue(c.clone())
        );
        let err = choose_campaign(Some(c.clone()), None, during, &opts(true, false)).unwrap_err();
        assert!(err.is_usage());
        assert_eq!(
            err.to_string(),
            "campaign c1 is still running (until 2026-03-02T23:45:00.000000Z); pass --force to start a new one anyway"
        );
    }

    #[test]
    fn a_drawn_batch_is_within_the_spec_and_the_same_for_the_same_seed() {
        let c = Campaign {
            id: 3,
            started_at: t("2026-03-02T00:00:00Z"),
            spec: CampaignSpec::default(),
        };
        let taken = HashSet::new();
        let draw = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            draw_batch(&mut rng, &c, "abc123", 4, &taken)
        };
        let b = draw(9);
        assert_eq!(b, draw(9));
        assert_ne!(b.body, draw(10).body);
        assert_eq!((b.slot, b.tag.as_str()), (4, "stark-abc123-c3-b5"));
        assert!((8..=12).contains(&b.invoices.len()));
        let body: serde_json::Value = serde_json::from_str(&b.body).unwrap();
        let sent = body["invoices"].as_array().unwrap();
        assert_eq!(sent.len(), b.invoices.len());
        for (planned, sent) in b.invoices.iter().zip(sent) {
            assert!((1_000..=100_000).contains(&planned.amount));
            assert_eq!(sent["amount"], planned.amount);
            assert_eq!(sent["taxId"], planned.tax_id.as_str());
            assert_eq!(
                sent["tags"],
                serde_json::json!([
                    "stark-abc123-c3",
                    "stark-abc123-c3-b5",
                    format!("stark-abc123-c3-b5-n{}", b.invoices.len())
                ])
            );
        }
    }

    /// A bank that must not be built: the tick has nothing to send.
    fn no_bank() -> Result<Client, IssueError> {
        panic!("a tick with nothing to send built the bank")
    }

    #[tokio::test]
    async fn a_tick_with_nothing_to_send_never_builds_the_bank() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
        let t0 = t("2026-03-02T00:00:00Z");
        let spec = CampaignSpec::default();
        // Slot 0 issued (by hand here), slot 1 never claimed.
        let c = ledger
            .write(|tx| {
                let c = tx.insert_campaign(t0, &spec, t0)?;
                let mut rng = rand::rngs::StdRng::seed_from_u64(1);
                let new = draw_batch(&mut rng, &c, "abc123", 0, &HashSet::new());
                let b = tx.insert_planned(&c, &new, t0)?.expect("claimed");
                tx.mark_issued(b.id, &[], t0)?;
                Ok::<_, LedgerError>(c)
            })
            .unwrap();
        let clock = ManualClock::new(t0 + chrono::Duration::minutes(30));
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let opts = TickOptions::default();
        let report = tick(&mut ledger, no_bank, &clock, &mut rng, &opts)
            .await
            .unwrap();
        assert_eq!(
            report.outcomes,
            [Outcome::NothingDue {
                campaign: c.id,
                reason: "batch 1/8 already issued".into(),
                next_batch: Some(2),
                of: 8,
                next_due: Some("2026-03-02T03:00:00.000000Z".into()),
            }]
        );
        assert_eq!(
            report.outcomes[0].to_string(),
            "nothing due: batch 1/8 already issued; next batch 2/8 at 2026-03-02T03:00:00.000000Z"
        );
        // After the campaign: the other slots are missed, and it is complete. Recording a
        // slot missed asks the bank once whether it holds the slot's batch after all (a
        // restored ledger forgets batches): this one holds nothing.
        clock.set(t0 + chrono::Duration::hours(25));
        let bank = crate::sandbox::memory::MemoryBank::from_config(&Default::default());
        let report = tick(
            &mut ledger,
            || Ok::<_, IssueError>(bank.clone()),
            &clock,
            &mut rng,
            &opts,
        )
        .await
        .unwrap();
        let n = report.outcomes.len();
        assert_eq!(n, 8, "{:?}", report.outcomes);
        assert!(
            report.outcomes[..7]
                .iter()
                .all(|o| matches!(o, Outcome::Missed { .. }))
        );
        assert_eq!(
            report.outcomes[7].to_string(),
            "campaign c1 is complete: 1 of 8 batches issued, 7 missed, 0 rejected; start the next campaign with `stark issue-invoices --new-campaign`"
        );
        assert!(!report.outcomes.iter().any(Outcome::is_failure));
        // Looked up once: the next tick needs no bank again.
        let report = tick(&mut ledger, no_bank, &clock, &mut rng, &opts)
            .await
            .unwrap();
        assert_eq!(
            report.outcomes.last().map(ToString::to_string).as_deref(),
            Some(
                "campaign c1 is complete: 1 of 8 batches issued, 7 missed, 0 rejected; start the next campaign with `stark issue-invoices --new-campaign`"
            )
        );
        // A usage mistake is told apart from a failure.
        let bad = TickOptions {
            campaign: CampaignSpec {
                min_invoices: 0,
                ..spec
            },
            ..TickOptions::default()
        };
        let err = tick(&mut ledger, no_bank, &clock, &mut rng, &bad)
            .await
            .unwrap_err();
        assert!(err.is_usage(), "{err}");
    }
}
