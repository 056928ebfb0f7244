//! `reconcile` as a library: pick up what the webhook missed.
//!
//! 1. Sweep `GET /v2/event?isDelivered=false`, page by page: apply each page's events in one
//!    transaction (exactly as the webhook would), and only after the commit mark them
//!    delivered (`PATCH`, a bounded number at a time), noting the marks in one more
//!    transaction per page. An event that cannot be decoded is kept raw in the ledger
//!    (`ledger::decoding`; `status` lists it) and left undelivered at the bank: what it is
//!    about cannot be read, so it cannot be judged this ledger's, and other integrations in
//!    the workspace may still read it. It is reported once, not as a failure: later sweeps see
//!    it again and only note when it was last seen, so one bad event does not fail every
//!    run. A credit whose snapshot lacks `amount` or `fee` is not forwarded and its event is
//!    not marked delivered until the invoice's credit is recorded (step 2 reads the invoice's
//!    `credited` log again on every run).
//! 2. For our invoices not yet credited, ask `GET /v2/invoice/log?types=credited` (100 ids per
//!    request), so credits are found even when their events were lost or deleted.
//! 3. Refresh transfers that are not final, then (unless told not to) run the transfer step.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::api::bank::MAX_FILTER;
use crate::api::model::Event;
use crate::api::{ApiError, Bank};
use crate::events::{self, EventSource, Verdict};
use crate::ledger::decoding::UndecodedRecord;
use crate::ledger::{Ledger, LedgerError};
use crate::payout::{self, PayoutOptions, PayoutReport};

#[derive(Debug, Clone)]
pub(crate) struct ReconcileOptions {
    pub transfer: bool,
    /// PATCHes in flight at once.
    pub concurrency: usize,
    pub payout: PayoutOptions,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            transfer: true,
            concurrency: 16,
            payout: PayoutOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ReconcileReport {
    pub events_seen: usize,
    pub events_applied: usize,
    pub events_marked: usize,
    /// Events of other integrations in the workspace (not this ledger's invoices or
    /// transfers): applied as foreign or ignored, and left undelivered for their own sweeps.
    pub events_left_for_others: usize,
    /// Items of the event list without an id: they can be neither kept nor marked.
    pub events_failed: Vec<FailedEvent>,
    /// Events that do not decode, seen in this run (kept raw, left undelivered; `new` the
    /// first time this ledger saw each).
    pub events_undecodable: Vec<UndecodableEvent>,
    /// Our invoices credited without `amount` or `fee` in this run's events or logs, and
    /// still without a credit: not forwarded (yet). Sorted, each once.
    pub credits_incomplete: Vec<String>,
    /// Invoices found at the bank under this ledger's tags that no batch of the ledger knows
    /// (it was restored from an older backup), noted as ours in this run, by id.
    pub forgotten_invoices: Vec<String>,
    pub credits_from_events: usize,
    pub credits_from_logs: usize,
    /// What the credits found in this run (`credits_from_events` + `credits_from_logs`) leave
    /// to forward: the sum of their amount − fee, in cents.
    pub credits_net: i64,
    /// Credits of invoices this ledger did not issue, recorded in this run (never
    /// transferred), and the sum of their amount − fee, in cents (0 for one without both).
    pub foreign_credits: usize,
    pub foreign_credits_net: i64,
    pub invoices_checked: usize,
    pub transfers: Option<PayoutReport>,
    pub errors: Vec<String>,
}

impl ReconcileReport {
    /// Add a credit this run recorded to the money totals: ours (a transfer follows) or
    /// foreign (counted, never transferred). Other verdicts record no new credit.
    fn count_credit(&mut self, verdict: Verdict, log: &crate::api::model::InvoiceLog) {
        let net = log
            .subject
            .credit_money()
            .map_or(0, |(amount, fee)| amount - fee);
        match verdict {
            Verdict::Credit => self.credits_net += net,
            Verdict::CreditForeign => {
                self.foreign_credits += 1;
                self.foreign_credits_net += net;
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct UndecodableEvent {
    pub id: String,
    pub error: String,
    /// First seen by this ledger in this run.
    pub new: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailedEvent {
    pub id: String,
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReconcileError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The API's error is the source (printed once, after this, by `{:#}`).
    #[error("listing undelivered events failed")]
    Api(#[from] ApiError),
}

/// Progress callbacks (a progress bar on a terminal, nothing otherwise).
pub(crate) trait Progress: Send + Sync {
    fn events(&self, _seen: usize) {}
}

pub(crate) struct NoProgress;
impl Progress for NoProgress {}

pub(crate) async fn run<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &ReconcileOptions,
    progress: &dyn Progress,
) -> Result<ReconcileReport, ReconcileError> {
    let mut report = ReconcileReport::default();
    sweep_events(ledger, bank, now, opts, &mut report, progress).await?;
    let found = find_forgotten_campaigns(ledger, bank, now).await;
    let found = found.map(|ids| report.forgotten_invoices = ids);
    note_and_go_on(found, "looking for forgotten campaigns", &mut report)?;
    let checked = check_invoices(ledger, bank, now, &mut report).await;
    note_and_go_on(checked, "checking invoice logs", &mut report)?;
    // What is still incomplete after both paths, each invoice once.
    let still: Vec<String> = {
        let db = ledger.db();
        let mut ids = std::mem::take(&mut report.credits_incomplete);
        ids.sort();
        ids.dedup();
        let mut still = Vec::with_capacity(ids.len());
        for id in ids {
            if !db.credit_recorded(&id)? {
                still.push(id);
            }
        }
        still
    };
    report.credits_incomplete = still;
    let mut payout_report = PayoutReport::default();
    if opts.transfer {
        payout_report = payout::run(ledger, bank, now, &opts.payout).await?;
    } else {
        payout::refresh(ledger, bank, now, &opts.payout, &mut payout_report).await?;
    }
    report.transfers = Some(payout_report);
    Ok(report)
}

/// What a reconcile would record and transfer, for `--dry-run`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReconcilePreview {
    /// What it would record (events applied, credits found), as a real run reports it.
    pub(crate) would_record: ReconcileReport,
    /// The transfers it would then send (none with `--no-transfer`).
    pub(crate) transfers: Option<payout::PayoutPreview>,
}

/// [`run`] without effects. The whole run is replayed on a copy of the ledger (in a private
/// temporary directory, removed after) against a bank that only reads: the lists are asked
/// as a real run asks them (GETs), an event is never marked delivered and nothing is created
/// or cancelled. Then the transfers the copy would send are previewed ([`payout::preview`]).
/// The real ledger is only read (the copy is a `VACUUM INTO`).
pub(crate) async fn preview<B: Bank>(
    ledger: &Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &ReconcileOptions,
    progress: &dyn Progress,
) -> Result<ReconcilePreview, ReconcileError> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("stark-dry-run-{}-{nanos}", std::process::id()));
    let io = |source: std::io::Error| {
        ReconcileError::Ledger(LedgerError::CreateDir {
            path: dir.clone(),
            source,
        })
    };
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io)?;
    let result = async {
        let path = dir.join("ledger.sqlite3");
        ledger.copy_to(&path)?;
        let mut copy = Ledger::open(&path)?;
        let replay = ReconcileOptions {
            transfer: false,
            ..opts.clone()
        };
        let mut report = run(
            &mut copy,
            &ReadOnly(bank.clone(), Arc::default()),
            now,
            &replay,
            progress,
        )
        .await?;
        report.transfers = None;
        let transfers = match opts.transfer {
            true => Some(payout::preview(&mut copy, opts.payout.max_attempts, now)?),
            false => None,
        };
        Ok(ReconcilePreview {
            would_record: report,
            transfers,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A bank that only reads: lists go through, marks are answered without being made (and the
/// events "marked" are left out of later lists, as the bank would), creates and cancels are
/// refused without a request.
#[derive(Clone)]
struct ReadOnly<B>(B, Arc<std::sync::Mutex<std::collections::HashSet<String>>>);

fn dry_refusal() -> ApiError {
    ApiError::Connect {
        url: "(dry run)".into(),
        reason: "a dry run sends nothing".into(),
    }
}

impl<B: Bank> Bank for ReadOnly<B> {
    async fn create_invoices(
        &self,
        _body: &[u8],
    ) -> Result<Vec<crate::api::model::Invoice>, ApiError> {
        Err(dry_refusal())
    }
    async fn invoices_by_tag(
        &self,
        tag: &str,
    ) -> Result<Vec<crate::api::model::Invoice>, ApiError> {
        self.0.invoices_by_tag(tag).await
    }
    async fn invoices_by_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<crate::api::model::Invoice>, ApiError> {
        self.0.invoices_by_ids(ids).await
    }
    async fn invoice_credit_logs(
        &self,
        invoice_ids: &[String],
    ) -> Result<Vec<crate::api::model::InvoiceLog>, ApiError> {
        self.0.invoice_credit_logs(invoice_ids).await
    }
    async fn create_transfers(
        &self,
        _body: &[u8],
    ) -> Result<Vec<crate::api::model::Transfer>, ApiError> {
        Err(dry_refusal())
    }
    async fn transfers_by_tags(
        &self,
        tags: &[&str],
    ) -> Result<Vec<crate::api::model::Transfer>, ApiError> {
        self.0.transfers_by_tags(tags).await
    }
    async fn transfers_by_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<crate::api::model::Transfer>, ApiError> {
        self.0.transfers_by_ids(ids).await
    }
    async fn undelivered_events(
        &self,
        cursor: Option<&str>,
    ) -> Result<crate::api::bank::Page<Value>, ApiError> {
        let mut page = self.0.undelivered_events(cursor).await?;
        let marked = self.1.lock().map(|m| m.clone()).unwrap_or_default();
        page.items.retain(|e| {
            e.get("id")
                .and_then(Value::as_str)
                .is_none_or(|id| !marked.contains(id))
        });
        Ok(page)
    }
    async fn mark_event_delivered(&self, id: &str) -> Result<(), ApiError> {
        if let Ok(mut m) = self.1.lock() {
            m.insert(id.to_string());
        }
        Ok(())
    }
    async fn cancel_invoice(&self, _id: &str) -> Result<(), ApiError> {
        Err(dry_refusal())
    }
}

async fn sweep_events<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &ReconcileOptions,
    report: &mut ReconcileReport,
    progress: &dyn Progress,
) -> Result<(), ReconcileError> {
    let mut failed_ids = std::collections::HashSet::new();
    let mut others = std::collections::HashSet::new();
    // A second pass catches events a page shift may have hidden (if the API's cursor were
    // positional, marking events delivered while paging could skip some).
    for _pass in 0..3 {
        let marked_before = report.events_marked;
        let mut cursor: Option<String> = None;
        loop {
            let page = bank.undelivered_events(cursor.as_deref()).await?;
            let mut decoded = Vec::with_capacity(page.items.len());
            let mut undecodable = Vec::new();
            for raw in page.items {
                let Some(id) = raw.get("id").and_then(Value::as_str).map(str::to_string) else {
                    report.events_seen += 1;
                    tracing::warn!("an undelivered event without an id; leaving it");
                    report.events_failed.push(FailedEvent {
                        id: "?".into(),
                        error: "an event without an id".into(),
                    });
                    continue;
                };
                if failed_ids.contains(&id) {
                    continue;
                }
                report.events_seen += 1;
                match serde_json::from_value::<Event>(raw.clone()) {
                    Ok(ev) => decoded.push((ev, raw.to_string())),
                    Err(e) => {
                        failed_ids.insert(id.clone());
                        undecodable.push((id, e.to_string(), raw.to_string()));
                    }
                }
            }
            progress.events(report.events_seen);
            let (applied, kept) = ledger.write(|tx| {
                let applied = decoded
                    .iter()
                    .map(|(ev, raw)| {
                        let a = events::apply(tx, ev, events::Arrival::sweep(raw, now))?;
                        let mark = events::may_mark_delivered(tx, ev, &a)?;
                        Ok((a, mark))
                    })
                    .collect::<Result<Vec<_>, LedgerError>>()?;
                let kept = undecodable
                    .iter()
                    .map(|(id, reason, body)| {
                        tx.record_undecoded_event(
                            &UndecodedRecord {
                                id,
                                source: EventSource::Sweep,
                                reason,
                                body,
                            },
                            now,
                        )
                    })
                    .collect::<Result<Vec<_>, LedgerError>>()?;
                Ok::<_, LedgerError>((applied, kept))
            })?;
            for ((id, error, _), new) in undecodable.into_iter().zip(kept) {
                if new {
                    tracing::warn!(event = %id, error = %error, "cannot decode event; kept it raw in the ledger and left it undelivered");
                }
                report
                    .events_undecodable
                    .push(UndecodableEvent { id, error, new });
            }
            for ((a, _), (ev, _)) in applied.iter().zip(&decoded) {
                if a.verdict != Verdict::Duplicate {
                    report.events_applied += 1;
                }
                if a.verdict == Verdict::Credit {
                    report.credits_from_events += 1;
                }
                if let crate::api::model::EventLog::Invoice(log) = &ev.log {
                    report.count_credit(a.verdict, log);
                }
                if a.verdict == Verdict::CreditIncomplete {
                    report.credits_incomplete.extend(a.subject_id.clone());
                }
            }
            // Committed: now tell the API — only about the events that concern this ledger
            // (and, for a credit, once its credit is recorded).
            let mut ids = Vec::with_capacity(applied.len());
            for (a, mark) in applied {
                if mark {
                    ids.push(a.event_id);
                } else if a.verdict != Verdict::CreditIncomplete {
                    others.insert(a.event_id);
                }
            }
            let marked = mark_delivered(bank, ids, opts.concurrency).await;
            let mut done = Vec::with_capacity(marked.len());
            for (id, result) in marked {
                match result {
                    Ok(()) => done.push(id),
                    Err(e) => report
                        .errors
                        .push(format!("marking event {id} delivered: {e}")),
                }
            }
            // One transaction for the page's notes (not one commit, and fsync, per event).
            ledger.write(|tx| tx.mark_events_delivered(&done, now))?;
            report.events_marked += done.len();
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        if report.events_marked == marked_before {
            break;
        }
    }
    report.events_left_for_others = others.len();
    Ok(())
}

/// Mark each event delivered at the bank, at most `concurrency` at a time.
async fn mark_delivered<B: Bank>(
    bank: &B,
    ids: Vec<String>,
    concurrency: usize,
) -> Vec<(String, Result<(), ApiError>)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for id in ids {
        let bank = bank.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore open");
            let r = bank.mark_event_delivered(&id).await;
            (id, r)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(pair) = r {
            out.push(pair);
        }
    }
    out
}

/// A step's API failure is noted in the report and the run goes on; a refusal of the request
/// as a whole (the setup) and every other error stop it (exit 2 or 1).
fn note_and_go_on(
    step: Result<(), ReconcileError>,
    what: &str,
    report: &mut ReconcileReport,
) -> Result<(), ReconcileError> {
    match step {
        Err(ReconcileError::Api(api)) if !api.is_request_level() => {
            report.errors.push(format!("{what}: {api}"));
            Ok(())
        }
        other => other,
    }
}

/// Campaigns the bank holds under this ledger's tags that the ledger does not have (it was
/// restored from a backup older than an `issue-invoices --new-campaign`), and batches of the
/// few campaigns before the latest that it forgot (restored, then a new campaign): for the latest
/// campaign number the ledger has and those past it, one after the other while the bank holds invoices
/// under the campaign's tag (and through every number already found that way), each live
/// invoice that no batch knows is noted as ours (`tagged_invoices`), so that its credit is
/// looked up by [`check_invoices`] and forwarded once (the payout looks each transfer tag up
/// before sending, so a transfer the lost ledger made is adopted, not repeated).
/// How many campaigns before the latest are looked at for slots without a batch row.
const EARLIER_CAMPAIGNS: i64 = 3;

/// Returns the ids noted in this run.
async fn find_forgotten_campaigns<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ReconcileError> {
    let mut found = Vec::new();
    let ledger_id = ledger.ledger_id()?;
    let (latest, known, earlier) = {
        let db = ledger.db();
        let latest = db.latest_campaign()?.map_or(0, |c| c.id);
        // The few campaigns before the latest that have slots without a batch row: a
        // `--new-campaign` right after a restore leaves the slots the restored ledger forgot
        // undecided there (only the latest campaign's slots are decided by ticks).
        let mut earlier = Vec::new();
        for id in latest.saturating_sub(EARLIER_CAMPAIGNS).max(1)..latest {
            if let Some(c) = db.campaign(id)?
                && (db.batches(id)?.len() as u32) < c.slots()
            {
                earlier.push(id);
            }
        }
        (latest, db.max_tagged_campaign()?, earlier)
    };
    // The latest campaign too: a `--new-campaign` run before any reconcile took the number of
    // the campaign it forgot, and adopts that campaign's batches only slot by slot, as its own
    // come due. There, and in the earlier ones, only batches the ledger has no row for count
    // (a batch it claimed is the issuer's to look up).
    for campaign in earlier.into_iter().chain(latest.max(1)..) {
        let invoices = bank
            .invoices_by_tag(&crate::issuer::campaign_tag(&ledger_id, campaign))
            .await?;
        if invoices.is_empty() && campaign > latest.max(known) {
            break;
        }
        let noted = ledger.write(|tx| {
            let mut noted = Vec::new();
            for inv in invoices.iter().filter(|i| i.status != "canceled") {
                // Noted once (its status kept current); never one a batch knows.
                if let Some((c, tag)) = crate::issuer::our_batch_tag(&ledger_id, &inv.tags)
                    && c == campaign
                    && (c > latest || !tx.batch_tag_known(tag)?)
                    && tx.note_tagged_invoice(&inv.id, c, tag, &inv.status, now)?
                {
                    noted.push(inv.id.clone());
                }
            }
            Ok::<_, LedgerError>(noted)
        })?;
        if !noted.is_empty() {
            tracing::warn!(
                campaign,
                invoices = noted.len(),
                "the bank holds a campaign under this ledger's tags that the ledger does not have (restored from an older backup?); its invoices are now ours"
            );
        }
        found.extend(noted);
    }
    Ok(found)
}

/// Credits for our uncredited invoices, from the invoice logs; and their current status.
async fn check_invoices<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    report: &mut ReconcileReport,
) -> Result<(), ReconcileError> {
    let ids = ledger.db().uncredited_invoices()?;
    for chunk in ids.chunks(MAX_FILTER) {
        report.invoices_checked += chunk.len();
        let logs = bank.invoice_credit_logs(chunk).await?;
        let invoices = bank.invoices_by_ids(chunk).await?;
        let (found, incomplete, verdicts) = ledger.write(|tx| {
            let (mut found, mut incomplete, mut verdicts) = (0, Vec::new(), Vec::new());
            for log in logs.iter().filter(|l| l.kind == "credited") {
                let verdict = events::record_credit(tx, log, None, EventSource::InvoiceLog, now)?.0;
                match verdict {
                    Verdict::Credit => found += 1,
                    Verdict::CreditIncomplete => incomplete.push(log.subject.id.clone()),
                    _ => {}
                }
                verdicts.push((verdict, log));
            }
            for inv in invoices.iter().filter(|i| !i.status.is_empty()) {
                tx.update_invoice_status(&inv.id, &inv.status, now)?;
            }
            Ok::<_, LedgerError>((found, incomplete, verdicts))
        })?;
        for (verdict, log) in verdicts {
            report.count_credit(verdict, log);
        }
        report.credits_from_logs += found;
        report.credits_incomplete.extend(incomplete);
    }
    Ok(())
}
