//! `issue-invoices` as a library: one cron tick of the campaign, `tick`.
//!
//! A tick loads the campaign and its batches, decides which slots are missed, claimed or
//! resumed (`decide_slots`, pure), and claims them: a slot's batch is inserted with its exact
//! request body inside `BEGIN IMMEDIATE`, guarded by `UNIQUE(campaign_id, slot)`, so two
//! overlapping ticks claim it once. Only then, and only if something must be sent, is the bank
//! built (key, HTTP client). Sending takes a lease on each batch (a `Claim`); a batch whose POST
//! may have happened is looked up by its tag before it is ever sent again, and what follows
//! each answer of the bank is decided by `next_step` (pure).

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
use crate::ledger::campaigns::{Batch, BatchStatus, Campaign, Claim, NewBatch, PlannedInvoice};
use crate::ledger::lease::wall_now;
use crate::ledger::{Ledger, LedgerError, Tx, ts};

/// How long a sending tick holds a batch; longer than one request's timeout.
const LEASE_SECS: i64 = 300;
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
}

impl Default for TickOptions {
    fn default() -> Self {
        TickOptions {
            campaign: CampaignSpec::default(),
            new_campaign: false,
            force: false,
            catch_up: false,
            backoff: StdDuration::from_millis(500),
        }
    }
}

/// What a tick did, for the summary line and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub(crate) enum Outcome {
    Issued {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        invoices: u32,
        amount: i64,
        resumed: bool,
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
        of: u32,
    },
    Busy {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
    },
    Rejected {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        errors: Vec<ApiErrorItem>,
    },
    Unresolved {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        error: String,
    },
    Missed {
        campaign: i64,
        batch: u32,
        of: u32,
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
                batch,
                of,
                invoices,
                amount,
                tag,
                resumed,
                ..
            } => write!(
                f,
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
            } => write!(f, "nothing due: {reason}; next batch {n}/{of} at {at}"),
            Outcome::NothingDue { reason, .. } => write!(f, "nothing due: {reason}; no batch left"),
            Outcome::Complete {
                campaign,
                issued,
                missed,
                of,
            } => write!(
                f,
                "campaign c{campaign} is complete: {issued} of {of} batches issued, {missed} missed"
            ),
            Outcome::Busy { batch, of, tag, .. } => write!(
                f,
                "batch {batch}/{of}: another stark process is sending it ({tag}); nothing to do"
            ),
            Outcome::Rejected {
                batch,
                of,
                tag,
                errors,
                ..
            } => write!(
                f,
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
            } => write!(
                f,
                "batch {batch}/{of} ({tag}): no clear answer from Stark Bank ({error}); the next run looks it up before sending again"
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
}

impl IssueError {
    /// A mistake in the command line (the flags), as opposed to a failure of the tick.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            IssueError::Campaign(_) | IssueError::StillRunning { .. }
        )
    }
}

fn campaign_tag(ledger_id: &str, campaign: i64) -> String {
    format!("stark-{ledger_id}-c{campaign}")
}

fn batch_tag(ledger_id: &str, campaign: i64, slot: u32) -> String {
    debug_assert!(is_batch_tag(
        ledger_id,
        &format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
    ));
    format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
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
    if !plan.to_send.is_empty() {
        let bank = bank()?;
        for b in &plan.to_send {
            sent.push(send_batch(ledger, &bank, &plan.campaign, b, now, opts.backoff).await?);
        }
    }
    Ok(plan.report(sent))
}

/// What a tick decided and claimed, before anything is sent.
#[derive(Debug)]
struct Plan {
    campaign: Campaign,
    /// Batches to send, in order: open ones from earlier ticks first, then this tick's claims.
    to_send: Vec<Batch>,
    /// Missed slots, then why nothing is due (only when nothing is sent).
    notes: Vec<Outcome>,
    /// The campaign is over and nothing was left to send.
    complete: Option<Outcome>,
}

impl Plan {
    fn report(self, sent: Vec<Outcome>) -> TickReport {
        TickReport {
            outcomes: self
                .notes
                .into_iter()
                .chain(sent)
                .chain(self.complete)
                .collect(),
        }
    }
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
    ledger.write(|tx| {
        let c = match choose_campaign(tx.latest_campaign()?, now, opts)? {
            CampaignChoice::Continue(c) => c,
            CampaignChoice::Start => {
                let c = tx.insert_campaign(now, &opts.campaign, now)?;
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
        let mut notes = Vec::new();
        for step in decision.steps {
            match step {
                SlotStep::Resume(slot) => to_send.extend(slot_batch(slot).cloned()),
                SlotStep::RecordMissed(slot) => {
                    tx.insert_missed(&c, slot, &batch_tag(&ledger_id, c.id, slot), now)?;
                    tracing::warn!(
                        campaign = c.id,
                        batch = slot + 1,
                        "slot window passed without a run: recorded as missed"
                    );
                    notes.push(Outcome::Missed {
                        campaign: c.id,
                        batch: slot + 1,
                        of: c.slots(),
                    });
                }
                SlotStep::Replan(slot) => {
                    if let Some(missed) = slot_batch(slot) {
                        tx.replan_missed(missed.id)?;
                    }
                    to_send.extend(claim(tx, &c, &ledger_id, slot, now, rng)?);
                }
                SlotStep::Claim(slot) => to_send.extend(claim(tx, &c, &ledger_id, slot, now, rng)?),
            }
        }
        notes.extend(decision.idle.map(|idle| nothing_due(&c, idle)));
        let complete = match decision.complete {
            true => Some(completion(&c, &tx.batches(c.id)?)),
            false => None,
        };
        Ok(Plan {
            campaign: c,
            to_send,
            notes,
            complete,
        })
    })
}

/// Whether the tick continues the latest campaign or starts a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CampaignChoice {
    Continue(Campaign),
    Start,
}

fn choose_campaign(
    latest: Option<Campaign>,
    now: DateTime<Utc>,
    opts: &TickOptions,
) -> Result<CampaignChoice, IssueError> {
    match latest {
        None => Ok(CampaignChoice::Start),
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
    let passed = match position {
        Position::Before => 0,
        Position::Slot(k) => k,
        Position::After => slots,
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
    let tags = vec![campaign_tag(ledger_id, c.id), tag.clone()];
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
    /// The lookup by tag found the batch.
    Found(Vec<Invoice>),
    /// The lookup by tag found nothing: the batch was never created.
    Absent,
    /// The lookup failed.
    LookUpFailed(String),
    /// The POST created the batch.
    Created(Vec<Invoice>),
    /// The bank refused the batch (a 400 that names what is wrong with it).
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
/// earlier tick already tried it. A lookup that finds the batch records it; an ambiguous
/// failure is looked up before any resend; any other failure is retried without a lookup;
/// after [`MAX_ATTEMPTS`] the batch is left open.
fn next_step(answer: Answer, attempt: u32, resumed: bool) -> Step {
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
        Answer::Absent => Step::Send,
        Answer::LookUpFailed(error) => retry(true, error),
        Answer::Created(invoices) => Step::Record { invoices, resumed },
        Answer::Refused(errors) => Step::File(errors),
        Answer::Failed { error, ambiguous } => retry(ambiguous, error),
    }
}

/// Lease a batch and drive its send loop: do each [`Step`], feed the answer to [`next_step`].
async fn send_batch<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    c: &Campaign,
    planned: &Batch,
    now: DateTime<Utc>,
    backoff: StdDuration,
) -> Result<Outcome, IssueError> {
    let (batch, mut step) =
        match ledger.write(|tx| tx.take_lease(planned.id, wall_now(), LEASE_SECS, now))? {
            Claim::Busy => {
                return Ok(Outcome::Busy {
                    campaign: c.id,
                    batch: planned.slot + 1,
                    of: c.slots(),
                    tag: planned.tag.clone(),
                });
            }
            Claim::Send(b) => (b, Step::Send),
            Claim::LookUpFirst(b) => (b, Step::LookUp),
        };
    let resumed = batch.attempts > 1;
    let body = batch.body.as_deref().unwrap_or_default();
    let mut attempt = 0;
    loop {
        step = match step {
            Step::LookUp => next_step(look_up(bank, &batch.tag).await, attempt, resumed),
            Step::Send => next_step(post(bank, &batch.tag, body).await, attempt, resumed),
            Step::Retry {
                attempt: next,
                look_first,
            } => {
                attempt = next;
                tokio::time::sleep(crate::api::client::backoff_delay(backoff, next - 1)).await;
                ledger.db().renew_lease(batch.id, wall_now() + LEASE_SECS)?;
                Step::first(look_first)
            }
            Step::Record { invoices, resumed } => {
                return record_issued(ledger, c, &batch, &invoices, now, resumed);
            }
            Step::File(errors) => {
                ledger.db().mark_rejected(batch.id, &errors, now)?;
                return Ok(Outcome::Rejected {
                    campaign: c.id,
                    batch: batch.slot + 1,
                    of: c.slots(),
                    tag: batch.tag.clone(),
                    errors,
                });
            }
            Step::GiveUp(error) => {
                ledger.db().note_error(batch.id, &error, now)?;
                return Ok(Outcome::Unresolved {
                    campaign: c.id,
                    batch: batch.slot + 1,
                    of: c.slots(),
                    tag: batch.tag.clone(),
                    error,
                });
            }
        };
    }
}

async fn look_up<B: Bank>(bank: &B, tag: &str) -> Answer {
    match bank.invoices_by_tag(tag).await {
        Ok(found) if !found.is_empty() => {
            tracing::info!(%tag, found = found.len(), "batch found at the bank; recording it");
            Answer::Found(found)
        }
        Ok(_) => {
            tracing::info!(%tag, "batch not at the bank; sending it");
            Answer::Absent
        }
        Err(e) => {
            tracing::warn!(%tag, error = %e, "lookup failed");
            Answer::LookUpFailed(format!("looking up {tag}: {e}"))
        }
    }
}

async fn post<B: Bank>(bank: &B, tag: &str, body: &str) -> Answer {
    match bank.create_invoices(body.as_bytes()).await {
        Ok(created) => Answer::Created(created),
        Err(ApiError::Rejected { errors, .. }) => Answer::Refused(errors),
        Err(e) => {
            let ambiguous = e.is_ambiguous();
            tracing::warn!(%tag, error = %e, ambiguous, "invoice POST failed");
            Answer::Failed {
                error: e.to_string(),
                ambiguous,
            }
        }
    }
}

fn record_issued(
    ledger: &mut Ledger,
    c: &Campaign,
    batch: &Batch,
    invoices: &[Invoice],
    now: DateTime<Utc>,
    resumed: bool,
) -> Result<Outcome, IssueError> {
    let matched = ledger.write(|tx| tx.mark_issued(batch.id, invoices, now))?;
    if matched != batch.invoice_count as usize || invoices.len() != batch.invoice_count as usize {
        tracing::warn!(tag = %batch.tag, expected = batch.invoice_count, got = invoices.len(), matched, "the bank's batch differs from the planned one");
    }
    Ok(Outcome::Issued {
        campaign: c.id,
        batch: batch.slot + 1,
        of: c.slots(),
        tag: batch.tag.clone(),
        invoices: invoices.len() as u32,
        amount: invoices
            .iter()
            .map(|i| i.nominal_amount.max(i.amount))
            .sum(),
        resumed,
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

    #[test]
    fn each_answer_of_the_bank_leads_to_one_next_step() {
        use Answer::*;
        let timeout = || Failed {
            error: "timeout".into(),
            ambiguous: true,
        };
        // A failure that says nothing reached the bank (e.g. the connection was refused).
        let unsent = || Failed {
            error: "connect".into(),
            ambiguous: false,
        };
        let invalid = || {
            vec![ApiErrorItem {
                code: "invalidTaxId".into(),
                message: "bad".into(),
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
        // (answer, attempt (0-based), resumed by an earlier tick) => next step
        #[rustfmt::skip]
        let cases = [
            ((Created(vec![invoice("1")]), 0, false),   record(false)),
            ((Created(vec![invoice("1")]), 2, true),    record(true)),
            // Found by a lookup: recorded as found after an unclear answer.
            ((Found(vec![invoice("1")]), 1, false),     record(true)),
            ((Absent, 1, false),                        Step::Send),
            // Refused: filed for the operator, never resent, whatever the attempt.
            ((Refused(invalid()), 0, false),            Step::File(invalid())),
            ((Refused(invalid()), last, true),          Step::File(invalid())),
            // Ambiguous: the next attempt looks the batch up before any resend.
            ((timeout(), 0, false),                     retry(1, true)),
            ((timeout(), 2, false),                     retry(3, true)),
            ((LookUpFailed("503".into()), 1, false),    retry(2, true)),
            // Nothing happened at the bank: resend without a lookup.
            ((unsent(), 0, false),                      retry(1, false)),
            // Out of attempts: the last error is kept and the batch stays open.
            ((timeout(), last, false),                  give_up("timeout")),
            ((unsent(), last, false),                   give_up("connect")),
            ((LookUpFailed("503".into()), last, false), give_up("503")),
        ];
        for ((answer, attempt, resumed), want) in cases {
            let what = format!("{answer:?} in attempt {attempt}");
            assert_eq!(next_step(answer, attempt, resumed), want, "{what}");
        }
    }

    /// The send loop as `send_batch` drives it, over scripted answers: the requests made.
    fn walk(look_first: bool, answers: Vec<Answer>) -> (Vec<&'static str>, Step) {
        let mut answers = answers.into_iter();
        let mut step = Step::first(look_first);
        let mut attempt = 0;
        let mut calls = Vec::new();
        loop {
            step = match step {
                Step::LookUp => {
                    calls.push("lookup");
                    next_step(answers.next().expect("an answer"), attempt, false)
                }
                Step::Send => {
                    calls.push("post");
                    next_step(answers.next().expect("an answer"), attempt, false)
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
    fn an_unclear_post_is_looked_up_before_any_resend() {
        let timeout = || Answer::Failed {
            error: "timeout".into(),
            ambiguous: true,
        };
        // Lost response, then the lookup finds it: never POSTed twice.
        let (calls, end) = walk(false, vec![timeout(), Answer::Found(vec![invoice("1")])]);
        assert_eq!(calls, ["post", "wait", "lookup"]);
        assert!(matches!(end, Step::Record { resumed: true, .. }));
        // Lost, not found, resent.
        let (calls, _) = walk(
            false,
            vec![
                timeout(),
                Answer::Absent,
                Answer::Created(vec![invoice("1")]),
            ],
        );
        assert_eq!(calls, ["post", "wait", "lookup", "post"]);
        // A batch left `sending` by an earlier tick starts with a lookup.
        let (calls, _) = walk(true, vec![Answer::Absent, Answer::Created(vec![])]);
        assert_eq!(calls, ["lookup", "post"]);
        // 503 every time: four attempts, each looked up before its POST, then give up.
        let mut answers = vec![timeout()];
        for _ in 1..MAX_ATTEMPTS {
            answers.extend([Answer::Absent, timeout()]);
        }
        let (calls, end) = walk(false, answers);
        assert_eq!(
            calls,
            [
                "post", "wait", "lookup", "post", "wait", "lookup", "post", "wait", "lookup",
                "post"
            ]
        );
        assert_eq!(end, Step::GiveUp("timeout".into()));
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
            choose_campaign(latest.cloned(), now, &opts(new, force)).unwrap()
        };
        assert_eq!(ok(None, during, false, false), Start);
        assert_eq!(ok(None, during, true, false), Start);
        assert_eq!(ok(Some(&c), during, false, false), Continue(c.clone()));
        assert_eq!(ok(Some(&c), after, false, false), Continue(c.clone()));
        assert_eq!(ok(Some(&c), during, true, true), Start);
        assert_eq!(ok(Some(&c), after, true, false), Start);
        let err = choose_campaign(Some(c.clone()), during, &opts(true, false)).unwrap_err();
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
                serde_json::json!(["stark-abc123-c3", "stark-abc123-c3-b5"])
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
        let mut ledger = Ledger::open(&dir.path().join("l.sqlite3")).unwrap();
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
        // After the campaign: the other slots are missed, and it is complete.
        clock.set(t0 + chrono::Duration::hours(25));
        let report = tick(&mut ledger, no_bank, &clock, &mut rng, &opts)
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
            "campaign c1 is complete: 1 of 8 batches issued, 7 missed"
        );
        assert!(!report.outcomes.iter().any(Outcome::is_failure));
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
