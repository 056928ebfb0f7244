//! `transfer-credited` as a library: forward every credit of ours, exactly once.
//!
//! claim → act → settle. A credit that needs a transfer gets a row for attempt n with a
//! deterministic `externalId` (`stark-xfer-<invoice>-a<n>`, unique at the bank) inside
//! `BEGIN IMMEDIATE` (unique per invoice and attempt). Rows are leased before sending so two
//! processes never send the same one at once. A row whose POST may have happened (`sending`)
//! is looked up by its tag and compared by `externalId` before it is sent again. A 400 is
//! bisected down to the element that caused it; that one keeps the API's errors and waits for
//! the operator. Only a transfer the bank confirms `failed` allows a new attempt.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::api::model::{ApiErrorItem, Transfer, TransferRequest};
use crate::api::{ApiError, Client, Query};
use crate::ledger::money::{self, TransferRow};
use crate::ledger::{Ledger, LedgerError};

/// Where every credit goes: Stark Bank S.A.
pub struct Destination;

impl Destination {
    pub const NAME: &'static str = "Stark Bank S.A.";
    pub const TAX_ID: &'static str = "20.018.183/0001-80";
    pub const BANK_CODE: &'static str = "20018183";
    pub const BRANCH_CODE: &'static str = "0001";
    pub const ACCOUNT_NUMBER: &'static str = "6341320293482496";
    pub const ACCOUNT_TYPE: &'static str = "payment";
}

/// Transfers per create request (the API's maximum).
pub const CHUNK: usize = 100;
const LEASE_SECS: i64 = 300;

pub fn external_id(invoice_id: &str, attempt: u32) -> String {
    format!("stark-xfer-{invoice_id}-a{attempt}")
}

pub fn transfer_tag(invoice_id: &str) -> String {
    format!("stark-invoice-{invoice_id}")
}

pub fn transfer_request(invoice_id: &str, attempt: u32, amount: i64) -> TransferRequest {
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
pub struct PayoutReport {
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
pub struct RejectedTransfer {
    pub invoice_id: String,
    pub external_id: String,
    pub errors: Vec<ApiErrorItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Claim a transfer attempt for every credit that needs one. Returns how many.
pub fn claim(
    ledger: &mut Ledger,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<usize, LedgerError> {
    let path = ledger.path().to_path_buf();
    ledger.write_raw(|tx| {
        let sql = |e| crate::ledger::classify(&path, e);
        let due = money::credits_needing_transfer(tx, max_attempts).map_err(sql)?;
        let mut n = 0;
        for (invoice_id, net, attempts) in due {
            let attempt = attempts + 1;
            let req = transfer_request(&invoice_id, attempt, net);
            let body = serde_json::to_string(&req).expect("transfer request serializes");
            if money::insert_claim(tx, &invoice_id, attempt, &req, &body, now).map_err(sql)? {
                n += 1;
            }
        }
        Ok(n)
    })
}

/// Why an operator's retry was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
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
        status: String,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Operator override: one more attempt for a credit that waits for the operator (its attempts
/// were rejected, or all failed). Claims attempt n+1; the next send picks it up.
pub fn retry(ledger: &mut Ledger, invoice_id: &str, now: DateTime<Utc>) -> Result<u32, RetryError> {
    let path = ledger.path().to_path_buf();
    ledger.write_raw(|tx| {
        let sql = |e| RetryError::Ledger(crate::ledger::classify(&path, e));
        let net: Option<i64> = tx
            .query_row(
                "SELECT c.net FROM credits c JOIN invoices i ON i.invoice_id = c.invoice_id
                 WHERE c.invoice_id = ?1 AND c.skip_reason IS NULL AND c.net > 0",
                [invoice_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let net = net.ok_or_else(|| RetryError::NoCredit(invoice_id.to_string()))?;
        let live: Option<(String, String)> = tx
            .query_row(
                "SELECT external_id, status FROM transfers WHERE invoice_id = ?1
                 AND status IN ('claimed', 'sending', 'created', 'processing', 'success') LIMIT 1",
                [invoice_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        if let Some((external_id, status)) = live {
            return Err(RetryError::Live {
                invoice: invoice_id.to_string(),
                external_id,
                status,
            });
        }
        let attempts: u32 = tx
            .query_row(
                "SELECT COUNT(*) FROM transfers WHERE invoice_id = ?1",
                [invoice_id],
                |r| r.get(0),
            )
            .map_err(sql)?;
        let attempt = attempts + 1;
        let req = transfer_request(invoice_id, attempt, net);
        let body = serde_json::to_string(&req).expect("transfer request serializes");
        money::insert_claim(tx, invoice_id, attempt, &req, &body, now).map_err(sql)?;
        Ok(attempt)
    })
}

/// The whole step: claim, send, follow up; a second round picks up attempts that the bank
/// confirmed failed during this run.
pub async fn run(
    ledger: &mut Ledger,
    client: &Client,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
) -> Result<PayoutReport, PayoutError> {
    let mut report = PayoutReport::default();
    for _round in 0..2 {
        report.claimed += claim(ledger, opts.max_attempts, now)?;
        send_open(ledger, client, now, opts, &mut report).await?;
        let failed_before = report.failed;
        refresh(ledger, client, now, opts, &mut report).await?;
        if report.failed == failed_before {
            break;
        }
    }
    Ok(report)
}

/// Send (or look up, then send) every claimed or maybe-sent transfer, 100 per request.
pub async fn send_open(
    ledger: &mut Ledger,
    client: &Client,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), PayoutError> {
    let path = ledger.path().to_path_buf();
    let sql = |e| PayoutError::Ledger(crate::ledger::classify(&path, e));
    let mut after_id = 0;
    loop {
        let rows = ledger.write_raw(|tx| {
            money::lease_unsent(
                tx,
                after_id,
                crate::ledger::lease::wall_now(),
                LEASE_SECS,
                CHUNK,
                now,
            )
            .map_err(sql)
        })?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let result = send_chunk(ledger, client, rows, now, opts, report).await;
        money::release_leases(ledger.conn(), &ids).map_err(sql)?;
        result?;
    }
    Ok(())
}

async fn send_chunk(
    ledger: &mut Ledger,
    client: &Client,
    rows: Vec<TransferRow>,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), PayoutError> {
    let path = ledger.path().to_path_buf();
    let sql = |e| PayoutError::Ledger(crate::ledger::classify(&path, e));
    // Rows a previous run may have sent: look them up first.
    let (maybe_sent, fresh): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.status == "sending");
    let mut pending: Vec<TransferRow> = fresh;
    if !maybe_sent.is_empty() {
        match lookup_with_retries(client, &maybe_sent, opts).await {
            Ok(found) => {
                for r in maybe_sent {
                    match found.get(&r.external_id) {
                        Some(t) => {
                            record(ledger, t, now).map_err(sql)?;
                            report.found_by_lookup += 1;
                        }
                        None => pending.push(r),
                    }
                }
            }
            Err(e) => {
                for r in &maybe_sent {
                    money::note_transfer_error(ledger.conn(), r.id, &e.to_string(), now)
                        .map_err(sql)?;
                    report.unresolved.push(r.external_id.clone());
                }
            }
        }
    }
    // Groups to send; a rejected group is split in halves until the bad element is alone.
    let mut groups: Vec<Vec<TransferRow>> = if pending.is_empty() {
        vec![]
    } else {
        vec![pending]
    };
    while let Some(group) = groups.pop() {
        let mut tries = 0;
        let mut group = group;
        loop {
            tries += 1;
            let body = format!(
                "{{\"transfers\":[{}]}}",
                group
                    .iter()
                    .map(|r| r.body.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            report.requests += 1;
            match client.create_transfers_raw(body.as_bytes()).await {
                Ok(created) => {
                    for t in &created {
                        record(ledger, t, now).map_err(sql)?;
                    }
                    report.sent += created.len();
                    break;
                }
                Err(ApiError::Rejected { errors, .. }) if group.len() > 1 => {
                    tracing::info!(size = group.len(), codes = ?errors.iter().map(|e| &e.code).collect::<Vec<_>>(), "transfer batch rejected; isolating the bad element");
                    let second = group.split_off(group.len() / 2);
                    groups.push(second);
                    groups.push(group);
                    break;
                }
                Err(ApiError::Rejected { errors, .. }) => {
                    // One element. A duplicate externalId means it exists: look before filing.
                    let r = &group[0];
                    match lookup_with_retries(client, std::slice::from_ref(r), opts).await {
                        Ok(found) if found.contains_key(&r.external_id) => {
                            record(ledger, &found[&r.external_id], now).map_err(sql)?;
                            report.found_by_lookup += 1;
                        }
                        Err(e) => {
                            // Cannot tell a duplicate from a real refusal: keep it open.
                            money::note_transfer_error(
                                ledger.conn(),
                                r.id,
                                &format!("rejected, and the lookup failed: {e}"),
                                now,
                            )
                            .map_err(sql)?;
                            report.unresolved.push(r.external_id.clone());
                        }
                        Ok(_) => {
                            tracing::warn!(invoice = %r.invoice_id, external_id = %r.external_id, ?errors, "transfer rejected; waiting for the operator");
                            money::mark_transfer_rejected(ledger.conn(), r.id, &errors, now)
                                .map_err(sql)?;
                            report.rejected.push(RejectedTransfer {
                                invoice_id: r.invoice_id.clone(),
                                external_id: r.external_id.clone(),
                                errors,
                            });
                        }
                    }
                    break;
                }
                Err(e) => {
                    let ambiguous = e.is_ambiguous();
                    tracing::warn!(size = group.len(), error = %e, ambiguous, "transfer POST failed");
                    if ambiguous {
                        match lookup_with_retries(client, &group, opts).await {
                            Ok(found) => {
                                let mut rest = Vec::new();
                                for r in group {
                                    match found.get(&r.external_id) {
                                        Some(t) => {
                                            record(ledger, t, now).map_err(sql)?;
                                            report.found_by_lookup += 1;
                                        }
                                        None => rest.push(r),
                                    }
                                }
                                group = rest;
                            }
                            Err(le) => {
                                for r in &group {
                                    money::note_transfer_error(
                                        ledger.conn(),
                                        r.id,
                                        &format!("{e}; lookup: {le}"),
                                        now,
                                    )
                                    .map_err(sql)?;
                                    report.unresolved.push(r.external_id.clone());
                                }
                                break;
                            }
                        }
                    }
                    if group.is_empty() {
                        break;
                    }
                    if tries >= opts.max_tries {
                        for r in &group {
                            money::note_transfer_error(ledger.conn(), r.id, &e.to_string(), now)
                                .map_err(sql)?;
                            report.unresolved.push(r.external_id.clone());
                        }
                        break;
                    }
                    tokio::time::sleep(crate::api::client::backoff_delay(opts.backoff, tries - 1))
                        .await;
                }
            }
        }
    }
    Ok(())
}

fn record(ledger: &Ledger, t: &Transfer, now: DateTime<Utc>) -> rusqlite::Result<()> {
    if money::apply_bank_transfer(ledger.conn(), t, now)?.is_none()
        && money::transfer_by_external_id(ledger.conn(), &t.external_id)?.is_none()
    {
        tracing::warn!(external_id = %t.external_id, "the bank returned a transfer this ledger does not know");
    }
    Ok(())
}

/// Our transfers at the bank, by external id, found through their tags.
async fn lookup_with_retries(
    client: &Client,
    rows: &[TransferRow],
    opts: &PayoutOptions,
) -> Result<HashMap<String, Transfer>, ApiError> {
    let tags: Vec<&str> = {
        let mut t: Vec<&str> = rows.iter().map(|r| r.tag.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let wanted: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.external_id.as_str()).collect();
    let mut found = HashMap::new();
    for chunk in tags.chunks(CHUNK) {
        let list = list_transfers(client, Query::new().list("tags", chunk), opts).await?;
        for t in list {
            if wanted.contains(t.external_id.as_str()) {
                found.insert(t.external_id.clone(), t);
            }
        }
    }
    Ok(found)
}

/// `GET /v2/transfer` (every page), with this run's bounded retries on top of the client's.
async fn list_transfers(
    client: &Client,
    query: Query,
    opts: &PayoutOptions,
) -> Result<Vec<Transfer>, ApiError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match client
            .list_all::<Transfer>("transfer", "transfers", query.clone())
            .await
        {
            Err(e) if e.is_transient() && tries < opts.max_tries => {
                tokio::time::sleep(crate::api::client::backoff_delay(opts.backoff, tries - 1))
                    .await;
            }
            other => return other,
        }
    }
}

/// Ask the bank for transfers not yet final; a confirmed `failed` frees the credit for a new
/// attempt.
pub async fn refresh(
    ledger: &mut Ledger,
    client: &Client,
    now: DateTime<Utc>,
    opts: &PayoutOptions,
    report: &mut PayoutReport,
) -> Result<(), PayoutError> {
    let path = ledger.path().to_path_buf();
    let sql = |e| PayoutError::Ledger(crate::ledger::classify(&path, e));
    let ids = money::unsettled_transfer_ids(ledger.conn()).map_err(sql)?;
    for chunk in ids.chunks(CHUNK) {
        let list = match list_transfers(client, Query::new().list("ids", chunk), opts).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "cannot refresh transfers; the next run will");
                None
            }
        };
        for t in list.into_iter().flatten() {
            report.refreshed += 1;
            if money::apply_bank_transfer(ledger.conn(), &t, now)
                .map_err(sql)?
                .is_some()
            {
                match t.status.as_str() {
                    "success" => report.succeeded += 1,
                    "failed" | "canceled" => report.failed += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
