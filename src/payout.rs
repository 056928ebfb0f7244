//! `transfer-credited` as a library: forward every credit of ours, exactly once.
//!
//! claim → act → settle. A credit that needs a transfer gets a row for attempt n with a
//! deterministic `externalId` (`stark-xfer-<invoice>-a<n>`, unique at the bank) inside
//! `BEGIN IMMEDIATE` (unique per invoice and attempt). Rows are leased before sending so two
//! processes never send the same one at once.
//!
//! Before the first POST of any attempt, and before any resend, the invoices' transfer tags
//! (`stark-invoice-<invoice>`) are looked up at the bank (≤ 100 tags per request): the bank
//! is the truth, and a restored or copied ledger may not know what it holds. Under a row's
//! tag, its own `externalId` is recorded; any other non-failed transfer counts as live and is
//! adopted — recorded as its own attempt row if the ledger did not know it — and the row is
//! never sent: a claim never sent is withdrawn (deleted; it existed nowhere but here), one that
//! may have been sent stays open and is looked up again.
//!
//! A 400 is bisected down to the element that caused it; that one keeps the API's errors and
//! waits for the operator — unless it may have been sent before (it was `sending`, or a POST
//! of it had an unclear answer) or the bank says its `externalId` is taken: then it stays open
//! and is looked up again on later runs, never filed rejected. A request-level 400 (the
//! credentials, the clock, the IP) stops the run: nothing was done, the rows stay claimed and
//! the next good run sends them. Only a transfer the bank confirms `failed` allows a new
//! attempt.
//!
//! What to do after each answer of the bank is decided by one pure function, [`next`]; the
//! driver ([`send_group`]) only does what it says: the requests, the ledger writes, the
//! waits.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::bank::MAX_FILTER;
use crate::api::client::backoff_delay;
use crate::api::model::{
    ApiErrorItem, Transfer, TransferRequest, transfer_element, transfers_body,
};
use crate::api::{ApiError, Bank};
use crate::ledger::transfers::{
    Adopted, BankTransferUpdate, NewTransfer, TransferRow, TransferStatus,
};
use crate::ledger::{Db, Ledger, LedgerError, Tx};

/// Where every credit goes: Stark Bank S.A.
pub(crate) struct Destination;

impl Destination {
    pub(crate) const NAME: &'static str = "Stark Bank S.A.";
    pub(crate) const TAX_ID: &'static str = "20.018.183/0001-80";
    pub(crate) const BANK_CODE: &'static str = "20018183";
    pub(crate) const BRANCH_CODE: &'static str = "0001";
    pub(crate) const ACCOUNT_NUMBER: &'static str = "6341320293482496";
    pub(crate) const ACCOUNT_TYPE: &'static str = "payment";
}

/// Transfers per create request (the API's maximum).
const CHUNK: usize = 100;

fn external_id(invoice_id: &str, attempt: u32) -> String {
    format!("stark-xfer-{invoice_id}-a{attempt}")
}

fn transfer_tag(invoice_id: &str) -> String {
    format!("stark-invoice-{invoice_id}")
}

/// The invoice an `externalId` of this scheme forwards (`None` for anybody else's).
pub(crate) fn invoice_of_external_id(external_id: &str) -> Option<&str> {
    let rest = external_id.strip_prefix("stark-xfer-")?;
    let (invoice, attempt) = rest.rsplit_once("-a")?;
    attempt
        .parse::<u32>()
        .ok()
        .filter(|_| !invoice.is_empty())?;
    Some(invoice)
}

/// The attempt number an `externalId` of this scheme carries for the invoice.
fn attempt_of(invoice_id: &str, external_id: &str) -> Option<u32> {
    external_id
        .strip_prefix(&format!("stark-xfer-{invoice_id}-a"))?
        .parse()
        .ok()
}

/// A transfer at the bank that may still pay or has paid.
fn is_live_at_bank(t: &Transfer) -> bool {
    TransferStatus::from_bank(&t.status) != TransferStatus::Failed
}

fn transfer_request(invoice_id: &str, attempt: u32, amount: i64) -> TransferRequest {
    TransferRequest {
        amount,
        name: Destination::NAME.into(),
        tax_id: Destination::TAX_ID.into(),
        bank_code: Destination::BANK_CODE.into(),
        branch_code: Destination::BRANCH_CODE.into(),
        account_number: Destination::ACCOUNT_NUMBER.into(),
        account_type: Destination::ACCOUNT_TYPE.into(),
        external_id: external_id(invoice_id, attempt),
        tags: vec![transfer_tag(invoice_id)],
        description: Some(format!("Credit of invoice {invoice_id}")),
    }
}

/// Claim attempt `attempt` of the invoice's transfer of `net`, storing the exact element that
/// will be sent. `false` if that attempt exists already.
fn claim_attempt(
    tx: &Tx<'_>,
    invoice_id: &str,
    attempt: u32,
    net: i64,
    now: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    let req = transfer_request(invoice_id, attempt, net);
    let body = transfer_element(&req);
    tx.claim_transfer(
        &NewTransfer {
            invoice_id,
            attempt,
            external_id: &req.external_id,
            tag: req.tags.first().map(String::as_str).unwrap_or_default(),
            amount: req.amount,
            body: &body,
        },
        now,
    )
}

#[derive(Debug, Clone)]
pub struct PayoutOptions {
    /// Attempts per credit before it waits for the operator.
    pub max_attempts: u32,
    /// Tries per request within a run (POSTs and lookups).
    pub max_tries: u32,
    pub backoff: StdDuration,
}

impl Default for PayoutOptions {
    fn default() -> Self {
        PayoutOptions {
            max_attempts: 3,
            max_tries: 4,
            backoff: StdDuration::from_millis(500),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct PayoutReport {
    pub claimed: usize,
    pub sent: usize,
    pub requests: usize,
    pub found_by_lookup: usize,
    pub rejected: Vec<RejectedTransfer>,
    pub unresolved: Vec<String>,
    pub refreshed: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub busy: usize,
    /// Live transfers the bank held under our tags that the ledger did not know, now recorded.
    pub adopted: usize,
    /// Claims never sent, withdrawn because the bank already held a live transfer for them.
    pub superseded: usize,
    /// A request-level refusal (credentials, clock, IP) that stopped the run; the rows stay
    /// claimed.
    pub refused: Option<RefusedRequest>,
    /// What the bank created from this run's POSTs (the `sent` transfers), in cents.
    pub sent_amount: i64,
    /// The transfers this run saw settle (`succeeded`, `failed`), in cents.
    pub succeeded_amount: i64,
    pub failed_amount: i64,
    /// The transfers this run filed rejected (they wait for the operator), in cents.
    pub rejected_amount: i64,
    /// The transfers left without a clear answer (`unresolved`, each once), in cents.
    pub unresolved_amount: i64,
    /// The `unresolved` rows already counted in `unresolved_amount`.
    #[serde(skip)]
    pub(crate) unresolved_ids: HashSet<i64>,
}

impl PayoutReport {
    /// Note a row left without a clear answer; its amount counts once per run.
    fn note_unresolved(&mut self, row: &TransferRow) {
        self.unresolved.push(row.external_id.clone());
        if self.unresolved_ids.insert(row.id) {
            self.unresolved_amount += row.amount;
        }
    }
}

/// The bank refused a request as a whole (not one of its elements): a configuration error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RefusedRequest {
    pub status: u16,
    pub errors: Vec<ApiErrorItem>,
}

impl RefusedRequest {
    fn of(e: &ApiError) -> Option<RefusedRequest> {
        match e {
            ApiError::Rejected { status, errors } if e.is_request_level() => Some(RefusedRequest {
                status: *status,
                errors: errors.clone(),
            }),
            _ => None,
        }
    }

    /// The refusal as the API error it was (the exit-code policy reads its codes).
    pub(crate) fn to_error(&self) -> ApiError {
        ApiError::Rejected {
            status: self.status,
            errors: self.errors.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RejectedTransfer {
    pub invoice_id: String,
    pub external_id: String,
    pub errors: Vec<ApiErrorItem>,
}

/// Claim a transfer attempt for every credit that needs one. Returns how many.
fn claim(ledger: &mut Ledger, max_attempts: u32, now: DateTime<Utc>) -> Result<usize, LedgerError> {
    ledger.write(|tx| {
        let mut n = 0;
        for due in tx.credits_needing_transfer(max_attempts)? {
            if claim_attempt(tx, &due.invoice_id, due.attempts + 1, due.net, now)? {
                n += 1;
            }
        }
        Ok(n)
    })
}

/// One transfer a run would send, for `--dry-run`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TransferPreview {
    pub(crate) invoice_id: String,
    pub(crate) attempt: u32,
    pub(crate) external_id: String,
    pub(crate) amount: i64,
    /// It may have been sent by an earlier run: looked up at the bank before any resend.
    pub(crate) maybe_sent: bool,
}

/// What a run would send: the claims it would make and the rows already open, from one
/// transaction that is rolled back (`Ledger::dry`). No request to the bank; a real run looks
/// each of them up by its tag before its POST.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct PayoutPreview {
    /// New attempts it would claim.
    pub(crate) claims: usize,
    pub(crate) transfers: Vec<TransferPreview>,
    /// The sum of `transfers`, in cents.
    pub(crate) amount: i64,
}

/// [`run`]'s claims and sends, previewed inside `tx` (the caller rolls it back).
pub(crate) fn preview_in(
    tx: &Tx<'_>,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<PayoutPreview, LedgerError> {
    let mut p = PayoutPreview::default();
    for due in tx.credits_needing_transfer(max_attempts)? {
        if claim_attempt(tx, &due.invoice_id, due.attempts + 1, due.net, now)? {
            p.claims += 1;
        }
    }
    let mut after_id = 0;
    loop {
        let rows = tx.lease_unsent(
            after_id,
            tx.wall_now()?,
            crate::ledger::lease::lease_secs(),
            CHUNK,
            now,
        )?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        p.transfers
            .extend(rows.into_iter().map(|r| TransferPreview {
                maybe_sent: r.status == TransferStatus::Sending,
                invoice_id: r.invoice_id,
                attempt: r.attempt,
                external_id: r.external_id,
                amount: r.amount,
            }));
    }
    p.amount = p.transfers.iter().map(|t| t.amount).sum();
    Ok(p)
}

/// [`preview_in`] in a transaction of its own, rolled back.
pub(crate) fn preview(
    ledger: &mut Ledger,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<PayoutPreview, LedgerError> {
    ledger.dry(|tx| preview_in(tx, max_attempts, now))
}

/// Why an operator's retry was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RetryError {
    #[error(
        "invoice {0} has no credit that can be transferred (not credited, not ours, or nothing to forward)"
    )]
    NoCredit(String),
    #[error(
        "invoice {invoice} already has transfer {external_id} in status {status}; nothing to retry"
    )]
    Live {
        invoice: String,
        external_id: String,
        status: TransferStatus,
    },
    #[error(
        "Stark Bank already holds transfer {external_id} (status {status}) for invoice {invoice}; nothing to retry (the ledger now records it)"
    )]
    LiveAtBank {
        invoice: String,
        external_id: String,
        status: String,
    },
    #[error(
        "cannot ask Stark Bank whether invoice {invoice}'s credit was already transferred; not retrying"
    )]
    Bank {
        invoice: String,
        #[source]
        source: ApiError,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Operator override: one more attempt for a credit that waits for the operator (its attempts
/// were rejected, or all failed). The bank is asked first: while it holds a live (non-failed)
/// transfer under the invoice's tag — whatever the ledger says — the retry is refused and that
/// transfer is recorded. Otherwise claims attempt n+1; the next send picks it up.
pub(crate) async fn retry<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    invoice_id: &str,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
) -> Result<u32, RetryError> {
    let live = |external_id: String, status| RetryError::Live {
        invoice: invoice_id.to_string(),
        external_id,
        status,
    };
    let refuse_if_paying = |tx: &Db<'_>| -> Result<(), RetryError> {
        if let Some((external_id, status)) = tx.paying_transfer(invoice_id)? {
            return Err(live(external_id, status));
        }
        Ok(())
    };
    // A row that may have been sent and that the bank keeps refusing (not as a duplicate) is
    // the one open attempt the operator may close: once the bank shows nothing live for the
    // invoice, it is filed `rejected` and a new attempt claimed.
    let unresolved = {
        let db = ledger.db();
        db.transferable_net(invoice_id)?
            .ok_or_else(|| RetryError::NoCredit(invoice_id.to_string()))?;
        match db.paying_transfer(invoice_id)? {
            None => None,
            Some((external_id, TransferStatus::Sending)) => {
                match db.transfer_by_external_id(&external_id)? {
                    Some(row)
                        if row.transfer_id.is_none()
                            && last_refusal(db.transfer_errors(row.id)?.as_deref())
                                == LastRefusal::Element =>
                    {
                        Some((row.id, external_id))
                    }
                    _ => return Err(live(external_id, TransferStatus::Sending)),
                }
            }
            Some((external_id, status)) => return Err(live(external_id, status)),
        }
    };
    let tag = transfer_tag(invoice_id);
    let tags = [tag.as_str()];
    let held = with_retries(opts, || bank.transfers_by_tags(&tags))
        .await
        .map_err(|source| RetryError::Bank {
            invoice: invoice_id.to_string(),
            source,
        })?;
    let mut report = PayoutReport::default();
    adopt_unknown(ledger, invoice_id, &tag, &held, now, &mut report)?;
    if let Some(t) = held.iter().find(|t| is_live_at_bank(t)) {
        return Err(RetryError::LiveAtBank {
            invoice: invoice_id.to_string(),
            external_id: t.external_id.clone(),
            status: t.status.clone(),
        });
    }
    ledger.write(|tx| {
        let net = tx
            .transferable_net(invoice_id)?
            .ok_or_else(|| RetryError::NoCredit(invoice_id.to_string()))?;
        if let Some((id, external_id)) = &unresolved {
            let wall = tx.wall_now()?;
            if !tx.close_unresolved_transfer(*id, wall, now)? {
                // Taken by a run meanwhile, or resolved: decide again next time.
                return Err(live(external_id.clone(), TransferStatus::Sending));
            }
            tracing::warn!(invoice = %invoice_id, %external_id, "closed an attempt the bank refuses and does not hold; claiming a new one");
        }
        refuse_if_paying(tx)?;
        let attempt = tx.transfer_attempts(invoice_id)? + 1;
        claim_attempt(tx, invoice_id, attempt, net, now)?;
        Ok(attempt)
    })
}

/// Record what the bank holds under an invoice's tag; every live transfer there that the
/// ledger does not know becomes its own attempt row (so the audit and `status` see it).
fn adopt_unknown(
    ledger: &mut Ledger,
    invoice_id: &str,
    tag: &str,
    under_tag: &[Transfer],
    now: DateTime<Utc>,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    for t in under_tag {
        if ledger.db().record_bank_transfer(t, now)? == BankTransferUpdate::Unknown
            && is_live_at_bank(t)
        {
            let a = Adopted {
                invoice_id,
                tag,
                attempt: attempt_of(invoice_id, &t.external_id),
            };
            if ledger.write(|tx| tx.adopt_bank_transfer(&a, t, now))? {
                tracing::warn!(invoice = %invoice_id, external_id = %t.external_id, status = %t.status, "the bank holds a transfer for this invoice that the ledger did not know; recorded");
                report.adopted += 1;
            }
        }
    }
    Ok(())
}

/// The whole step: claim, send, follow up; a second round picks up attempts that the bank
/// confirmed failed during this run.
pub(crate) async fn run<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
) -> Result<PayoutReport, LedgerError> {
    let mut report = PayoutReport::default();
    for _round in 0..2 {
        report.claimed += claim(ledger, opts.max_attempts, now)?;
        if send_open(ledger, bank, now, opts, &mut report).await? == Flow::Stop {
            // A request-level refusal: every other request would get the same.
            break;
        }
        let failed_before = report.failed;
        refresh(ledger, bank, now, opts, &mut report).await?;
        if report.failed == failed_before {
            break;
        }
    }
    Ok(report)
}

/// Whether to go on sending after a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Go,
    /// The bank refused a request as a whole (a configuration error), or this run lost a
    /// lease to another process: send nothing more.
    Stop,
}

/// Look up, then send, every claimed or maybe-sent transfer, [`CHUNK`] per request.
async fn send_open<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<Flow, LedgerError> {
    let mut after_id = 0;
    loop {
        let rows = ledger.write(|tx| {
            tx.lease_unsent(
                after_id,
                tx.wall_now()?,
                crate::ledger::lease::lease_secs(),
                CHUNK,
                now,
            )
        })?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = send_chunk(ledger, bank, rows, now, opts, report).await;
        ledger.db().release_transfer_leases(&ids)?;
        if result? == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::Go)
}

/// One leased chunk. Every row is looked up at the bank first (its tag, ≤ 100 per request):
/// what the bank holds is recorded or adopted, and the rest go out as one group.
async fn send_chunk<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    rows: Vec<TransferRow>,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<Flow, LedgerError> {
    // A row that was `sending` when leased may have been POSTed by an earlier run.
    let mut maybe_sent: HashSet<i64> = rows
        .iter()
        .filter(|r| r.status == TransferStatus::Sending)
        .map(|r| r.id)
        .collect();
    let found = match look_up(bank, &rows, opts).await {
        Ok(found) => found,
        Err(e) => {
            if let Some(refused) = RefusedRequest::of(&e) {
                hold_back(ledger, &rows, &maybe_sent, &e.to_string(), now, report)?;
                report.refused = Some(refused);
                return Ok(Flow::Stop);
            }
            keep_open(
                ledger,
                &rows,
                &format!("lookup before sending failed: {e}"),
                now,
                report,
            )?;
            reopen_unsent(ledger, &rows, &maybe_sent)?;
            return Ok(Flow::Go);
        }
    };
    let pending = sort_out(ledger, rows, &found, &maybe_sent, now, report)?;
    if pending.is_empty() {
        return Ok(Flow::Go);
    }
    send_group(ledger, bank, pending, now, opts, &mut maybe_sent, report).await
}

/// What the bank holds under one row's tag, as far as that row is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Held<'a> {
    /// Its own `externalId`: recorded; nothing to send.
    Itself(&'a Transfer),
    /// Another live (non-failed) transfer for the invoice: adopted; this row is never sent.
    Superseded(&'a Transfer),
    /// Nothing live under the tag: send it.
    Nothing,
}

/// The rule: a row's own `externalId` under its tag is the row; otherwise any non-failed
/// transfer under the tag is live, whatever its attempt number, and supersedes the row.
fn held<'a>(external_id: &str, under_tag: &'a [Transfer]) -> Held<'a> {
    if let Some(t) = under_tag.iter().find(|t| t.external_id == external_id) {
        return Held::Itself(t);
    }
    match under_tag.iter().find(|t| is_live_at_bank(t)) {
        Some(t) => Held::Superseded(t),
        None => Held::Nothing,
    }
}

/// Apply a lookup to rows: record and adopt what the bank holds, withdraw the claims it
/// supersedes, and return the rows still to send.
fn sort_out(
    ledger: &mut Ledger,
    rows: Vec<TransferRow>,
    found: &HashMap<String, Vec<Transfer>>,
    maybe_sent: &HashSet<i64>,
    now: DateTime<Utc>,
    report: &mut PayoutReport,
) -> Result<Vec<TransferRow>, LedgerError> {
    let mut rest = Vec::with_capacity(rows.len());
    for r in rows {
        let under: &[Transfer] = found.get(&r.tag).map(Vec::as_slice).unwrap_or_default();
        let others: Vec<Transfer> = under
            .iter()
            .filter(|t| t.external_id != r.external_id)
            .cloned()
            .collect();
        adopt_unknown(ledger, &r.invoice_id, &r.tag, &others, now, report)?;
        match held(&r.external_id, under) {
            Held::Itself(t) => {
                record(ledger, t, now)?;
                report.found_by_lookup += 1;
            }
            Held::Superseded(t) if !maybe_sent.contains(&r.id) => {
                tracing::warn!(invoice = %r.invoice_id, external_id = %r.external_id, live = %t.external_id, "the bank already holds a live transfer for this invoice; claim withdrawn");
                if ledger.db().withdraw_transfer_claim(r.id)? {
                    report.superseded += 1;
                }
            }
            Held::Superseded(t) => keep_open(
                ledger,
                std::slice::from_ref(&r),
                &format!(
                    "the bank holds {} for this invoice and this attempt may have been sent too: looked up again, never resent",
                    t.external_id
                ),
                now,
                report,
            )?,
            Held::Nothing => rest.push(r),
        }
    }
    Ok(rest)
}

/// A request-level refusal: the rows the bank never saw go back to `claimed` (sendable by the
/// next run); the ones that may have been sent stay open with the error noted.
fn hold_back(
    ledger: &Ledger,
    rows: &[TransferRow],
    maybe_sent: &HashSet<i64>,
    note: &str,
    now: DateTime<Utc>,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    let (sent, unsent): (Vec<_>, Vec<_>) = rows
        .iter()
        .cloned()
        .partition(|r| maybe_sent.contains(&r.id));
    keep_open(ledger, &sent, note, now, report)?;
    reopen_unsent(ledger, &unsent, maybe_sent)
}

/// Rows the bank never saw go back to `claimed`.
fn reopen_unsent(
    ledger: &Ledger,
    rows: &[TransferRow],
    maybe_sent: &HashSet<i64>,
) -> Result<(), LedgerError> {
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.id)
        .filter(|id| !maybe_sent.contains(id))
        .collect();
    ledger.db().reopen_transfer_claims(&ids)
}

/// What the bank last said about a group of transfers sent together. What it created or
/// holds is recorded as soon as it is known; this is what is left to decide on.
#[derive(Debug)]
enum Answer {
    /// The POST created the group.
    Created,
    /// The POST failed (a 400 or otherwise).
    Refused(ApiError),
    /// The group was looked up after its POST failed with `post`: how many of its elements
    /// the bank still does not hold, or why the lookup failed.
    LookedUp {
        post: ApiError,
        missing: Result<usize, ApiError>,
    },
}

/// A group of transfers as [`next`] sees it.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// Elements in the group (still missing at the bank, after a lookup).
    len: usize,
    /// POSTs of this group in this run so far.
    tries: u32,
    max_tries: u32,
    /// Some element may have been sent before: it was `sending` when leased, or a POST of it
    /// had an unclear answer.
    maybe_sent: bool,
}

/// What to do next with a group.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Nothing left to do for it (the bank holds it, as recorded).
    Done,
    /// A 400 for several elements: send each half on its own, to isolate the bad one.
    Split,
    /// The elements may exist at the bank: look them up (by tag, compared by `externalId`)
    /// before any resend or filing.
    LookUp,
    /// Nothing was done at the bank: send the same group again after a backoff.
    Retry,
    /// The bank refused this one element for what it is: keep its errors; it waits for the
    /// operator.
    FileRejected(Vec<ApiErrorItem>),
    /// No clear answer in this run: note this on the rows and keep them open (the next run
    /// looks them up before sending again).
    GiveUp(String),
    /// The bank refused the request as a whole (credentials, clock, IP): nothing was done.
    /// Stop the run; the rows stay claimed for the next good run (exit 2).
    Hold,
}

/// The bank says this `externalId` is taken: the transfer exists, whatever a lookup shows.
fn says_duplicate(errors: &[ApiErrorItem]) -> bool {
    errors.iter().any(|e| e.code == "invalidExternalId")
}

/// The rules that protect the money: a request-level 400 stops the run with nothing filed;
/// bisect an element 400 down to its element; look up before filing a single-element 400 and
/// before any resend after an unclear answer (every failure but a 400 and a connection that
/// never opened); file a 400 rejected only when the element was never sent before and its
/// `externalId` is not taken (else it stays open, looked up again by later runs); keep rows
/// open when a lookup fails; give up after `max_tries` POSTs.
fn next(at: Attempt, answer: &Answer) -> Step {
    let retry_or_give_up = |e: &ApiError| {
        if at.tries >= at.max_tries {
            Step::GiveUp(e.to_string())
        } else {
            Step::Retry
        }
    };
    match answer {
        Answer::Created => Step::Done,
        Answer::Refused(e) if e.is_request_level() => Step::Hold,
        Answer::Refused(ApiError::Rejected { .. }) if at.len > 1 => Step::Split,
        Answer::Refused(ApiError::Rejected { .. }) => Step::LookUp,
        Answer::Refused(e) if e.is_ambiguous() => Step::LookUp,
        Answer::Refused(e) => retry_or_give_up(e),
        Answer::LookedUp {
            post: ApiError::Rejected { errors, .. },
            missing,
        } => match missing {
            Ok(0) => Step::Done,
            Ok(_) if at.maybe_sent || says_duplicate(errors) => {
                Step::GiveUp(refused_maybe_sent_note(errors))
            }
            Ok(_) => Step::FileRejected(errors.clone()),
            // Cannot tell a duplicate from a real refusal: keep it open.
            Err(le) => Step::GiveUp(format!("rejected, and the lookup failed: {le}")),
        },
        Answer::LookedUp { post, missing } => match missing {
            Err(le) => Step::GiveUp(format!("{post}; lookup: {le}")),
            Ok(0) => Step::Done,
            Ok(_) => retry_or_give_up(post),
        },
    }
}

/// The note's middle, between the codes the bank refused with and the rest.
const REFUSED_MAYBE_SENT: &str =
    "), but it may have been sent before and the bank does not list it yet";

/// The note on a row that may have been sent and whose resend the bank refused: it stays
/// open ([`last_refusal`] reads it back).
fn refused_maybe_sent_note(errors: &[ApiErrorItem]) -> String {
    format!(
        "rejected ({}{REFUSED_MAYBE_SENT}: it stays open and is looked up again",
        format_codes(errors)
    )
}

/// What the note on an open transfer row says of the bank's last answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastRefusal {
    /// No refusal noted (no answer yet, or an unclear one): wait, it is looked up again.
    None,
    /// The bank said its `externalId` is taken: it holds it, whatever its lists show.
    Duplicate,
    /// The bank refused the element for what it is, and does not list it: if it holds
    /// nothing live for the invoice, the operator's `--retry` closes it and opens a new
    /// attempt.
    Element,
}

/// Read the note [`refused_maybe_sent_note`] wrote (the stored `errors` of a row).
pub(crate) fn last_refusal(note: Option<&str>) -> LastRefusal {
    let codes = note
        .and_then(|n| n.strip_prefix("rejected ("))
        .and_then(|rest| rest.split_once(REFUSED_MAYBE_SENT))
        .map(|(codes, _)| codes);
    match codes {
        None => LastRefusal::None,
        Some(codes) if codes.split(", ").any(|c| c == "invalidExternalId") => {
            LastRefusal::Duplicate
        }
        Some(_) => LastRefusal::Element,
    }
}

fn format_codes(errors: &[ApiErrorItem]) -> String {
    errors
        .iter()
        .map(|e| e.code.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Send one group, and the halves a 400 splits it into, doing what [`next`] says.
async fn send_group<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    rows: Vec<TransferRow>,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    maybe_sent: &mut HashSet<i64>,
    report: &mut PayoutReport,
) -> Result<Flow, LedgerError> {
    let mut groups = vec![rows];
    while let Some(mut group) = groups.pop() {
        let mut tries = 1;
        if !still_held(ledger, &group, report)? {
            return Ok(Flow::Stop);
        }
        let left = opts.max_tries.saturating_sub(tries);
        let mut answer = post(ledger, bank, &group, now, maybe_sent, report, left).await?;
        loop {
            let at = Attempt {
                len: group.len(),
                tries,
                max_tries: opts.max_tries,
                maybe_sent: group.iter().any(|r| maybe_sent.contains(&r.id)),
            };
            match next(at, &answer) {
                Step::Done => break,
                Step::Split => {
                    if let Answer::Refused(e) = &answer {
                        tracing::info!(size = group.len(), codes = ?e.codes(), "transfer batch rejected; isolating the bad element");
                    }
                    let second = group.split_off(group.len() / 2);
                    groups.push(second);
                    groups.push(group);
                    break;
                }
                Step::LookUp => {
                    let (Answer::Refused(post) | Answer::LookedUp { post, .. }) = answer else {
                        break;
                    };
                    let missing = match look_up(bank, &group, opts).await {
                        Ok(found) => {
                            group = sort_out(ledger, group, &found, maybe_sent, now, report)?;
                            Ok(group.len())
                        }
                        Err(le) => Err(le),
                    };
                    answer = Answer::LookedUp { post, missing };
                }
                Step::Retry => {
                    tokio::time::sleep(backoff_delay(opts.backoff, tries - 1)).await;
                    tries += 1;
                    if !still_held(ledger, &group, report)? {
                        return Ok(Flow::Stop);
                    }
                    let left = opts.max_tries.saturating_sub(tries);
                    answer = post(ledger, bank, &group, now, maybe_sent, report, left).await?;
                }
                Step::FileRejected(errors) => {
                    for r in &group {
                        tracing::warn!(invoice = %r.invoice_id, external_id = %r.external_id, ?errors, "transfer rejected; waiting for the operator");
                        ledger.db().mark_transfer_rejected(r.id, &errors, now)?;
                        report.rejected_amount += r.amount;
                        report.rejected.push(RejectedTransfer {
                            invoice_id: r.invoice_id.clone(),
                            external_id: r.external_id.clone(),
                            errors: errors.clone(),
                        });
                    }
                    break;
                }
                Step::GiveUp(note) => {
                    keep_open(ledger, &group, &note, now, report)?;
                    break;
                }
                Step::Hold => {
                    let Answer::Refused(e) = &answer else { break };
                    tracing::error!(error = %e, "Stark Bank refused the transfer request as a whole; nothing was sent");
                    let note = e.to_string();
                    report.refused = RefusedRequest::of(e);
                    for g in std::iter::once(group).chain(groups.drain(..)) {
                        hold_back(ledger, &g, maybe_sent, &note, now, report)?;
                    }
                    return Ok(Flow::Stop);
                }
            }
        }
    }
    Ok(Flow::Go)
}

/// POST the group's stored elements as they are; record what the bank created.
async fn post<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    group: &[TransferRow],
    now: DateTime<Utc>,
    maybe_sent: &mut HashSet<i64>,
    report: &mut PayoutReport,
    left: u32,
) -> Result<Answer, LedgerError> {
    let elements: Vec<&str> = group.iter().map(|r| r.body.as_str()).collect();
    report.requests += 1;
    match bank
        .create_transfers(transfers_body(&elements).as_bytes())
        .await
    {
        Ok(created) => {
            for t in &created {
                record(ledger, t, now)?;
            }
            report.sent += created.len();
            report.sent_amount += created.iter().map(|t| t.amount).sum::<i64>();
            Ok(Answer::Created)
        }
        Err(e) => {
            if e.is_ambiguous() {
                maybe_sent.extend(group.iter().map(|r| r.id));
            }
            if !matches!(e, ApiError::Rejected { .. }) {
                let unclear = if e.is_ambiguous() {
                    " (they may have been created: looked up before any resend)"
                } else {
                    ""
                };
                let next = match left {
                    0 => "giving up for this run".to_string(),
                    left => format!("trying again ({left} left)"),
                };
                tracing::warn!(size = group.len(), cause = %e, ambiguous = e.is_ambiguous(), "{} when sending {} transfer(s){unclear}; {next}", e.brief(), group.len());
            }
            Ok(Answer::Refused(e))
        }
    }
}

/// Renew the group's leases before a POST. `false` when another process took one of them over
/// (this run stalled past it): those rows are its new holder's, reported unresolved, and this
/// run sends nothing more.
fn still_held(
    ledger: &Ledger,
    group: &[TransferRow],
    report: &mut PayoutReport,
) -> Result<bool, LedgerError> {
    let ids: Vec<i64> = group.iter().map(|r| r.id).collect();
    let until = ledger.db().wall_now()? + crate::ledger::lease::lease_secs();
    let lost = ledger.db().renew_transfer_leases(&ids, until)?;
    for r in group.iter().filter(|r| lost.contains(&r.id)) {
        tracing::error!(invoice = %r.invoice_id, external_id = %r.external_id, "lost the transfer's lease to another process; sending nothing more");
        report.note_unresolved(r);
    }
    Ok(lost.is_empty())
}

/// Note why these rows have no clear answer, and report them; they stay open.
fn keep_open(
    ledger: &Ledger,
    rows: &[TransferRow],
    note: &str,
    now: DateTime<Utc>,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    for r in rows {
        ledger.db().note_transfer_error(r.id, note, now)?;
        report.note_unresolved(r);
    }
    Ok(())
}

fn record(ledger: &Ledger, t: &Transfer, now: DateTime<Utc>) -> Result<(), LedgerError> {
    if ledger.db().record_bank_transfer(t, now)? == BankTransferUpdate::Unknown {
        tracing::warn!(external_id = %t.external_id, "the bank returned a transfer this ledger does not know");
    }
    Ok(())
}

/// What the bank holds under the rows' tags, by tag ([`MAX_FILTER`] tags per request).
async fn look_up<B: Bank>(
    bank: &B,
    rows: &[TransferRow],
    opts: &PayoutOptions,
) -> Result<HashMap<String, Vec<Transfer>>, ApiError> {
    let tags: Vec<&str> = {
        let mut t: Vec<&str> = rows.iter().map(|r| r.tag.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let mut found: HashMap<String, Vec<Transfer>> = HashMap::new();
    for chunk in tags.chunks(MAX_FILTER) {
        for t in with_retries(opts, || bank.transfers_by_tags(chunk)).await? {
            for tag in t.tags.iter().filter(|tag| chunk.contains(&tag.as_str())) {
                found.entry(tag.clone()).or_default().push(t.clone());
            }
        }
    }
    Ok(found)
}

/// A list request (safe to repeat), with this run's bounded retries on top of the client's.
async fn with_retries<T, F, Fut>(opts: &PayoutOptions, mut call: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Err(e) if e.is_transient() && tries < opts.max_tries => {
                let left = opts.max_tries - tries;
                tracing::warn!(cause = %e, "{}; asking again ({left} left)", e.brief());
                tokio::time::sleep(backoff_delay(opts.backoff, tries - 1)).await;
            }
            other => return other,
        }
    }
}

/// Ask the bank for transfers not yet final; a confirmed `failed` frees the credit for a new
/// attempt.
pub(crate) async fn refresh<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    let ids = ledger.db().unsettled_transfer_ids()?;
    for chunk in ids.chunks(MAX_FILTER) {
        let list = match with_retries(opts, || bank.transfers_by_ids(chunk)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot refresh transfers; the next run will");
                continue;
            }
        };
        for t in list {
            report.refreshed += 1;
            if ledger.db().apply_bank_transfer(&t, now)?.is_some() {
                match TransferStatus::from_bank(&t.status) {
                    TransferStatus::Success => {
                        report.succeeded += 1;
                        report.succeeded_amount += t.amount;
                    }
                    TransferStatus::Failed => {
                        report.failed += 1;
                        report.failed_amount += t.amount;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rejected(code: &str) -> ApiError {
        ApiError::rejected(&[(code, &format!("Element 0: {code}"))])
    }

    /// A refusal of the request as a whole (not "Element n: ...").
    fn request_level(code: &str) -> ApiError {
        ApiError::rejected(&[(code, &format!("{code} (the whole request)"))])
    }

    fn timeout() -> ApiError {
        ApiError::Timeout(Duration::from_secs(30))
    }

    fn unavailable() -> ApiError {
        ApiError::Status {
            status: 503,
            body: "busy".into(),
        }
    }

    fn refused_connection() -> ApiError {
        ApiError::Connect {
            url: "https://bank.example".into(),
            reason: "refused".into(),
        }
    }

    fn at(len: usize, tries: u32) -> Attempt {
        Attempt {
            len,
            tries,
            max_tries: 4,
            maybe_sent: false,
        }
    }

    /// A group some element of which may have been sent before.
    fn sent_before(len: usize, tries: u32) -> Attempt {
        Attempt {
            maybe_sent: true,
            ..at(len, tries)
        }
    }

    fn looked_up(post: ApiError, missing: Result<usize, ApiError>) -> Answer {
        Answer::LookedUp { post, missing }
    }

    #[test]
    fn the_next_step_after_each_answer() {
        let errors = |code: &str| match rejected(code) {
            ApiError::Rejected { errors, .. } => errors,
            _ => unreachable!(),
        };
        let stays_open = |code: &str| {
            Step::GiveUp(format!(
                "rejected ({code}), but it may have been sent before and the bank does not list it yet: it stays open and is looked up again"
            ))
        };
        let cases: Vec<(&str, Attempt, Answer, Step)> = vec![
            ("created", at(100, 1), Answer::Created, Step::Done),
            (
                "a 400 for several is bisected",
                at(100, 1),
                Answer::Refused(rejected("invalidTaxId")),
                Step::Split,
            ),
            (
                "a 400 for two is bisected",
                at(2, 1),
                Answer::Refused(rejected("invalidTaxId")),
                Step::Split,
            ),
            (
                "a single-element 400 is looked up before filing",
                at(1, 1),
                Answer::Refused(rejected("invalidExternalId")),
                Step::LookUp,
            ),
            (
                "duplicate externalId: it exists at the bank",
                at(1, 1),
                looked_up(rejected("invalidExternalId"), Ok(0)),
                Step::Done,
            ),
            (
                "not at the bank: filed with the API's errors",
                at(1, 1),
                looked_up(rejected("invalidTaxId"), Ok(1)),
                Step::FileRejected(errors("invalidTaxId")),
            ),
            (
                "a failed lookup after a 400 keeps the row open",
                at(1, 1),
                looked_up(rejected("invalidTaxId"), Err(timeout())),
                Step::GiveUp(format!("rejected, and the lookup failed: {}", timeout())),
            ),
            (
                "all found after an ambiguous error",
                at(0, 1),
                looked_up(timeout(), Ok(0)),
                Step::Done,
            ),
            (
                "the missing ones are sent again",
                at(2, 1),
                looked_up(timeout(), Ok(2)),
                Step::Retry,
            ),
            (
                "gives up after max_tries",
                at(2, 4),
                looked_up(timeout(), Ok(2)),
                Step::GiveUp(timeout().to_string()),
            ),
            (
                "a failed lookup after an ambiguous error keeps the rows open",
                at(5, 1),
                looked_up(timeout(), Err(unavailable())),
                Step::GiveUp(format!("{}; lookup: {}", timeout(), unavailable())),
            ),
            (
                "a 400 for an element that may have been sent before stays open",
                sent_before(1, 1),
                looked_up(rejected("invalidTaxId"), Ok(1)),
                stays_open("invalidTaxId"),
            ),
            (
                "a duplicate externalId the lagging list does not show yet stays open",
                at(1, 1),
                looked_up(rejected("invalidExternalId"), Ok(1)),
                stays_open("invalidExternalId"),
            ),
            (
                "a resend refused after an unclear answer stays open",
                sent_before(1, 2),
                looked_up(rejected("invalidExternalId"), Ok(1)),
                stays_open("invalidExternalId"),
            ),
            (
                "nothing reached the bank: send again",
                at(5, 1),
                Answer::Refused(refused_connection()),
                Step::Retry,
            ),
            (
                "nothing reached the bank, out of tries",
                at(5, 4),
                Answer::Refused(refused_connection()),
                Step::GiveUp(refused_connection().to_string()),
            ),
        ];
        for (name, at, answer, want) in cases {
            assert_eq!(next(at, &answer), want, "{name}");
        }
        // An ambiguous answer (a timeout, a 503) is looked up before any resend, even on the
        // last try.
        for (attempt, error) in [
            (at(100, 1), timeout()),
            (at(3, 1), unavailable()),
            (at(3, 4), unavailable()),
        ] {
            let name = error.to_string();
            assert_eq!(
                next(attempt, &Answer::Refused(error)),
                Step::LookUp,
                "{name}"
            );
        }
        // A request-level 400 (one without element errors) stops the run and files nothing,
        // whatever the group's size and whether it may have been sent before: it is not
        // bisected (invalidCredentials), not filed for one element (invalidAccessTime).
        for (attempt, code) in [
            (at(100, 1), "invalidCredentials"),
            (at(1, 1), "invalidAccessTime"),
            (sent_before(3, 2), "invalidIp"),
            (at(2, 1), "invalidJson"),
        ] {
            let answer = Answer::Refused(request_level(code));
            assert_eq!(next(attempt, &answer), Step::Hold, "{code}");
        }
    }

    /// Only a 400 with errors or a connection that never opened proves nothing was done: every
    /// other answer to a create (a proxy's or CDN's 4xx included) is looked up before any resend.
    /// The note a refused maybe-sent row keeps tells the operator's retry what the bank said:
    /// a duplicate `externalId` (it holds the transfer: never retried) or a refusal of the
    /// element (a new attempt once the bank shows nothing live).
    #[test]
    fn the_note_of_a_refused_maybe_sent_row_reads_back_as_its_last_refusal() {
        let items = |codes: &[&str]| -> Vec<ApiErrorItem> {
            codes
                .iter()
                .map(|c| ApiErrorItem {
                    code: c.to_string(),
                    message: "Element 0: x".into(),
                })
                .collect()
        };
        let read = |codes: &[&str]| last_refusal(Some(&refused_maybe_sent_note(&items(codes))));
        assert_eq!(read(&["invalidTaxId"]), LastRefusal::Element);
        assert_eq!(
            read(&["invalidAmount", "invalidTaxId"]),
            LastRefusal::Element
        );
        assert_eq!(read(&["invalidExternalId"]), LastRefusal::Duplicate);
        assert_eq!(
            read(&["invalidTaxId", "invalidExternalId"]),
            LastRefusal::Duplicate
        );
        for other in [
            None,
            Some("timed out after 30s; lookup: connection reset"),
            Some("rejected, and the lookup failed: 503"),
            Some(r#"[{"code":"invalidTaxId","message":"Element 0: x"}]"#),
        ] {
            assert_eq!(last_refusal(other), LastRefusal::None, "{other:?}");
        }
        // The step table's note is this one.
        let step = next(
            sent_before(1, 1),
            &looked_up(rejected("invalidTaxId"), Ok(1)),
        );
        let Step::GiveUp(note) = step else {
            panic!("{step:?}")
        };
        assert_eq!(last_refusal(Some(&note)), LastRefusal::Element);
    }

    #[test]
    fn every_other_failure_of_a_create_is_looked_up_first() {
        let status = |status: u16| ApiError::Status {
            status,
            body: String::new(),
        };
        let unclear = || {
            vec![
                status(404),
                status(408),
                status(409),
                status(425),
                status(499),
                status(400), // a 400 without an `errors` body
                status(429),
                status(500),
                status(502),
                status(504),
                timeout(),
                ApiError::Transport {
                    reason: "reset".into(),
                },
                ApiError::Decode {
                    status: 200,
                    reason: "truncated".into(),
                },
            ]
        };
        for i in 0..unclear().len() {
            let e = || unclear().swap_remove(i);
            for (len, tries) in [(1, 1), (100, 1), (3, 4)] {
                assert_eq!(
                    next(at(len, tries), &Answer::Refused(e())),
                    Step::LookUp,
                    "{} (len {len}, try {tries})",
                    e()
                );
            }
            // Once looked up, the missing ones are sent again (never filed rejected).
            assert_eq!(
                next(at(1, 1), &looked_up(e(), Ok(1))),
                Step::Retry,
                "{}",
                e()
            );
        }
    }

    #[test]
    fn what_the_bank_holds_under_a_tag_decides_the_row() {
        let t = |ext: &str, status: &str| -> Transfer {
            serde_json::from_value(serde_json::json!({
                "id": format!("T-{ext}"), "amount": 993, "name": "n", "taxId": "t",
                "bankCode": "b", "branchCode": "0001", "accountNumber": "1",
                "externalId": ext, "tags": ["stark-invoice-42"], "status": status,
                "created": "2026-11-26T12:00:00.000000+00:00"
            }))
            .unwrap()
        };
        let mine = "stark-xfer-42-a1";
        assert_eq!(held(mine, &[]), Held::Nothing);
        let own = [t(mine, "processing")];
        assert_eq!(held(mine, &own), Held::Itself(&own[0]));
        let own_failed = [t(mine, "failed")];
        assert_eq!(held(mine, &own_failed), Held::Itself(&own_failed[0]));
        // Attempt 2 from before a restore, live: it supersedes a fresh attempt 1.
        let other = [t("stark-xfer-42-a2", "created")];
        assert_eq!(held(mine, &other), Held::Superseded(&other[0]));
        let other_done = [t("stark-xfer-42-a2", "failed"), t("x", "success")];
        assert_eq!(held(mine, &other_done), Held::Superseded(&other_done[1]));
        let failed_only = [t("stark-xfer-42-a2", "failed"), t("y", "canceled")];
        assert_eq!(held(mine, &failed_only), Held::Nothing);

        assert_eq!(attempt_of("42", "stark-xfer-42-a2"), Some(2));
        assert_eq!(attempt_of("42", "stark-xfer-421-a2"), None);
        assert_eq!(attempt_of("42", "someone-else"), None);
    }

    /// The driver's bisection, over a bank that refuses any group holding element `bad` and
    /// creates every other: the bad one ends filed, alone, and everything else created.
    fn bisect(len: usize, bad: usize) -> (Vec<usize>, Vec<usize>, usize) {
        let (mut created, mut filed, mut requests) = (Vec::new(), Vec::new(), 0);
        let mut groups = vec![(0..len).collect::<Vec<usize>>()];
        while let Some(mut group) = groups.pop() {
            requests += 1;
            let mut answer = if group.contains(&bad) {
                Answer::Refused(rejected("invalidTaxId"))
            } else {
                Answer::Created
            };
            loop {
                match next(at(group.len(), 1), &answer) {
                    Step::Done => {
                        created.extend(&group);
                        break;
                    }
                    Step::Split => {
                        let second = group.split_off(group.len() / 2);
                        groups.push(second);
                        groups.push(group);
                        break;
                    }
                    Step::LookUp => {
                        requests += 1;
                        let Answer::Refused(post) = answer else {
                            panic!("looked up twice")
                        };
                        answer = looked_up(post, Ok(group.len()));
                    }
                    Step::FileRejected(_) => {
                        filed.extend(&group);
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        created.sort_unstable();
        (created, filed, requests)
    }

    #[test]
    fn a_400_is_bisected_down_to_its_element() {
        for (len, bad) in [(100, 37), (100, 0), (100, 99), (2, 1), (1, 0), (7, 3)] {
            let (created, filed, requests) = bisect(len, bad);
            assert_eq!(filed, vec![bad], "len {len}, bad {bad}");
            let others: Vec<usize> = (0..len).filter(|i| *i != bad).collect();
            assert_eq!(created, others, "len {len}, bad {bad}");
            // About 2 requests per halving, plus the lookup of the element.
            let depth = (len as f64).log2().ceil() as usize;
            assert!(requests <= 2 * depth + 2, "len {len}: {requests} requests");
        }
    }

    #[test]
    fn claims_carry_the_element_that_is_sent() {
        let req = transfer_request("42", 2, 993);
        assert_eq!(req.external_id, "stark-xfer-42-a2");
        assert_eq!(req.tags, ["stark-invoice-42"]);
        assert_eq!(req.account_number, Destination::ACCOUNT_NUMBER);
        assert_eq!(transfer_element(&req), serde_json::to_string(&req).unwrap());
    }

    /// `serve-webhook` spawns the transfer step: its future must be `Send` for any bank.
    fn run_is_send<B: Bank>(ledger: &mut Ledger, bank: &B) {
        fn is_send<T: Send>(_: T) {}
        is_send(run(ledger, bank, Utc::now(), &PayoutOptions::default()));
        let mut report = PayoutReport::default();
        is_send(refresh(
            ledger,
            bank,
            Utc::now(),
            &PayoutOptions::default(),
            &mut report,
        ));
    }

    #[test]
    fn the_transfer_step_can_be_spawned() {
        let _ = run_is_send::<crate::api::Client>;
    }
}
