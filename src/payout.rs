//! `transfer-credited` as a library: forward every credit of ours, exactly once.
//!
//! claim → act → settle. A credit that needs a transfer gets a row for attempt n with a
//! deterministic `externalId` (`stark-xfer-<invoice>-a<n>`, unique at the bank) inside
//! `BEGIN IMMEDIATE` (unique per invoice and attempt). Rows are leased before sending so two
//! processes never send the same one at once. A row whose POST may have happened (`sending`)
//! is looked up by its tag and compared by `externalId` before it is sent again. A 400 is
//! bisected down to the element that caused it; that one keeps the API's errors and waits for
//! the operator. Only a transfer the bank confirms `failed` allows a new attempt.
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
use crate::ledger::transfers::{BankTransferUpdate, NewTransfer, TransferRow, TransferStatus};
use crate::ledger::{Ledger, LedgerError, Tx};

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
const LEASE_SECS: i64 = 300;

fn external_id(invoice_id: &str, attempt: u32) -> String {
    format!("stark-xfer-{invoice_id}-a{attempt}")
}

fn transfer_tag(invoice_id: &str) -> String {
    format!("stark-invoice-{invoice_id}")
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
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Operator override: one more attempt for a credit that waits for the operator (its attempts
/// were rejected, or all failed). Claims attempt n+1; the next send picks it up.
pub(crate) fn retry(
    ledger: &mut Ledger,
    invoice_id: &str,
    now: DateTime<Utc>,
) -> Result<u32, RetryError> {
    ledger.write(|tx| {
        let net = tx
            .transferable_net(invoice_id)?
            .ok_or_else(|| RetryError::NoCredit(invoice_id.to_string()))?;
        if let Some((external_id, status)) = tx.paying_transfer(invoice_id)? {
            return Err(RetryError::Live {
                invoice: invoice_id.to_string(),
                external_id,
                status,
            });
        }
        let attempt = tx.transfer_attempts(invoice_id)? + 1;
        claim_attempt(tx, invoice_id, attempt, net, now)?;
        Ok(attempt)
    })
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
        send_open(ledger, bank, now, opts, &mut report).await?;
        let failed_before = report.failed;
        refresh(ledger, bank, now, opts, &mut report).await?;
        if report.failed == failed_before {
            break;
        }
    }
    Ok(report)
}

/// Send (or look up, then send) every claimed or maybe-sent transfer, [`CHUNK`] per request.
async fn send_open<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    let mut after_id = 0;
    loop {
        let rows = ledger.write(|tx| {
            tx.lease_unsent(
                after_id,
                crate::ledger::lease::wall_now(),
                LEASE_SECS,
                CHUNK,
                now,
            )
        })?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = send_chunk(ledger, bank, rows, now, opts, report).await;
        ledger.db().release_transfer_leases(&ids)?;
        result?;
    }
    Ok(())
}

/// One leased chunk: the rows a previous run may have sent are looked up first; the rest go
/// out as one group.
async fn send_chunk<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    rows: Vec<TransferRow>,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    let (maybe_sent, mut pending): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r.status == TransferStatus::Sending);
    if !maybe_sent.is_empty() {
        match look_up(bank, &maybe_sent, opts).await {
            Ok(found) => {
                for r in maybe_sent {
                    match found.get(&r.external_id) {
                        Some(t) => {
                            record(ledger, t, now)?;
                            report.found_by_lookup += 1;
                        }
                        None => pending.push(r),
                    }
                }
            }
            Err(e) => keep_open(ledger, &maybe_sent, &e.to_string(), now, report)?,
        }
    }
    if !pending.is_empty() {
        send_group(ledger, bank, pending, now, opts, report).await?;
    }
    Ok(())
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
}

/// The rules that protect the money: bisect a 400 down to its element; look up before filing a
/// single-element 400 (a duplicate `externalId` means it exists) and before any resend after
/// an ambiguous error; keep rows open when a lookup fails; give up after `max_tries` POSTs.
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
        Answer::Refused(ApiError::Rejected { .. }) if at.len > 1 => Step::Split,
        Answer::Refused(ApiError::Rejected { .. }) => Step::LookUp,
        Answer::Refused(e) if e.is_ambiguous() => Step::LookUp,
        Answer::Refused(e) => retry_or_give_up(e),
        Answer::LookedUp {
            post: ApiError::Rejected { errors, .. },
            missing,
        } => match missing {
            Ok(0) => Step::Done,
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

/// Send one group, and the halves a 400 splits it into, doing what [`next`] says.
async fn send_group<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    rows: Vec<TransferRow>,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), LedgerError> {
    let mut groups = vec![rows];
    while let Some(mut group) = groups.pop() {
        let mut tries = 1;
        let mut answer = post(ledger, bank, &group, now, report).await?;
        loop {
            let at = Attempt {
                len: group.len(),
                tries,
                max_tries: opts.max_tries,
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
                            let mut rest = Vec::with_capacity(group.len());
                            for r in group {
                                match found.get(&r.external_id) {
                                    Some(t) => {
                                        record(ledger, t, now)?;
                                        report.found_by_lookup += 1;
                                    }
                                    None => rest.push(r),
                                }
                            }
                            group = rest;
                            Ok(group.len())
                        }
                        Err(le) => Err(le),
                    };
                    answer = Answer::LookedUp { post, missing };
                }
                Step::Retry => {
                    tokio::time::sleep(backoff_delay(opts.backoff, tries - 1)).await;
                    tries += 1;
                    answer = post(ledger, bank, &group, now, report).await?;
                }
                Step::FileRejected(errors) => {
                    for r in &group {
                        tracing::warn!(invoice = %r.invoice_id, external_id = %r.external_id, ?errors, "transfer rejected; waiting for the operator");
                        ledger.db().mark_transfer_rejected(r.id, &errors, now)?;
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
            }
        }
    }
    Ok(())
}

/// POST the group's stored elements as they are; record what the bank created.
async fn post<B: Bank>(
    ledger: &mut Ledger,
    bank: &B,
    group: &[TransferRow],
    now: DateTime<Utc>,
    report: &mut PayoutReport,
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
            Ok(Answer::Created)
        }
        Err(e) => {
            if !matches!(e, ApiError::Rejected { .. }) {
                tracing::warn!(size = group.len(), error = %e, ambiguous = e.is_ambiguous(), "transfer POST failed");
            }
            Ok(Answer::Refused(e))
        }
    }
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
        report.unresolved.push(r.external_id.clone());
    }
    Ok(())
}

fn record(ledger: &Ledger, t: &Transfer, now: DateTime<Utc>) -> Result<(), LedgerError> {
    if ledger.db().record_bank_transfer(t, now)? == BankTransferUpdate::Unknown {
        tracing::warn!(external_id = %t.external_id, "the bank returned a transfer this ledger does not know");
    }
    Ok(())
}

/// Our transfers at the bank, by external id, found through their tags.
async fn look_up<B: Bank>(
    bank: &B,
    rows: &[TransferRow],
    opts: &PayoutOptions,
) -> Result<HashMap<String, Transfer>, ApiError> {
    let tags: Vec<&str> = {
        let mut t: Vec<&str> = rows.iter().map(|r| r.tag.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let wanted: HashSet<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    let mut found = HashMap::new();
    for chunk in tags.chunks(MAX_FILTER) {
        for t in with_retries(opts, || bank.transfers_by_tags(chunk)).await? {
            if wanted.contains(t.external_id.as_str()) {
                found.insert(t.external_id.clone(), t);
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
                    TransferStatus::Success => report.succeeded += 1,
                    TransferStatus::Failed => report.failed += 1,
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
        ApiError::Rejected {
            status: 400,
            errors: vec![ApiErrorItem {
                code: code.into(),
                message: format!("Element 0: {code}"),
            }],
        }
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
                "a timeout is looked up before any resend",
                at(100, 1),
                Answer::Refused(timeout()),
                Step::LookUp,
            ),
            (
                "a 503 is looked up before any resend",
                at(3, 1),
                Answer::Refused(unavailable()),
                Step::LookUp,
            ),
            (
                "even on the last try, an ambiguous answer is looked up",
                at(3, 4),
                Answer::Refused(unavailable()),
                Step::LookUp,
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
