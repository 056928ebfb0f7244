//! Events, credits and transfers: the ledger side of the money path.
//!
//! Derived facts are computed, not stored: a credit is *ours* when its invoice is one this
//! ledger issued (a join), *settled* when one of its transfers succeeded, *waiting* when it
//! has no live transfer. That way a credit that arrives before its batch was recorded is not
//! misfiled forever: it becomes ours as soon as the batch is.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::ts;
use crate::api::model::{ApiErrorItem, Transfer};

macro_rules! live_statuses {
    () => {
        "'claimed', 'sending', 'created', 'processing', 'success', 'rejected'"
    };
}

macro_rules! transfer_cols {
    () => {
        "id, invoice_id, attempt, external_id, tag, amount, body, status, transfer_id"
    };
}

/// Every statement of the money path, by name (`tests/query_plans.rs` checks their plans).
pub mod sql {
    pub const INSERT_EVENT: &str = "INSERT INTO events(id, subscription, log_type, log_id, subject_id, created, received_at, source, verdict, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING";
    pub const EVENT_EXISTS: &str = "SELECT 1 FROM events WHERE id = ?1";
    pub const MARK_EVENT_DELIVERED: &str =
        "UPDATE events SET marked_delivered_at = ?2 WHERE id = ?1";
    pub const INSERT_CREDIT: &str = "INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source, skip_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(invoice_id) DO NOTHING";
    pub const IS_OUR_INVOICE: &str = "SELECT 1 FROM invoices WHERE invoice_id = ?1";
    pub const UPDATE_INVOICE_STATUS: &str = "UPDATE invoices SET status = ?2, updated_at = ?3 WHERE invoice_id = ?1 AND status IS NOT ?2";
    /// Every issued invoice of ours without a credit (the reconcile check): reads all of
    /// `invoices` by design; the credit lookup is by primary key.
    pub const UNCREDITED_INVOICES: &str = "SELECT i.invoice_id FROM invoices i
         WHERE i.invoice_id IS NOT NULL AND COALESCE(i.status, 'created') NOT IN ('canceled', 'expired')
           AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.invoice_id = i.invoice_id)
         ORDER BY i.rowid_";
    pub const CREDITS_NEEDING_TRANSFER: &str = concat!(
        "SELECT c.invoice_id, c.net, (SELECT COUNT(*) FROM transfers t WHERE t.invoice_id = c.invoice_id) AS attempts
         FROM credits c JOIN invoices i ON i.invoice_id = c.invoice_id
         WHERE c.skip_reason IS NULL AND c.net > 0
           AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id AND t.status IN (",
        live_statuses!(),
        "))
           AND attempts < ?1
         ORDER BY c.recorded_at, c.invoice_id"
    );
    pub const INSERT_CLAIM: &str = "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'claimed', ?7, ?7) ON CONFLICT DO NOTHING";
    pub const LEASE_UNSENT: &str = concat!(
        "SELECT ",
        transfer_cols!(),
        " FROM transfers
         WHERE status IN ('claimed', 'sending') AND (lease_until IS NULL OR lease_until <= ?1) AND id > ?3
         ORDER BY id LIMIT ?2"
    );
    pub const TAKE_TRANSFER_LEASE: &str = "UPDATE transfers SET status = 'sending', lease_until = ?2, lease_owner = ?4, updated_at = ?3 WHERE id = ?1";
    pub const RELEASE_TRANSFER_LEASE: &str =
        "UPDATE transfers SET lease_until = NULL WHERE id = ?1";
    pub const APPLY_BANK_TRANSFER: &str = "UPDATE transfers SET transfer_id = ?2, status = ?3, fee = ?4, lease_until = NULL,
                updated_at = ?5, sent_at = COALESCE(sent_at, ?5), settled_at = COALESCE(settled_at, ?6)
         WHERE external_id = ?1 AND status NOT IN ('success', 'failed')
         RETURNING invoice_id";
    pub const MARK_TRANSFER_REJECTED: &str = "UPDATE transfers SET status = 'rejected', errors = ?2, lease_until = NULL, updated_at = ?3 WHERE id = ?1 AND status IN ('claimed', 'sending')";
    pub const NOTE_TRANSFER_ERROR: &str =
        "UPDATE transfers SET errors = ?2, lease_until = NULL, updated_at = ?3 WHERE id = ?1";
    pub const UNSETTLED_TRANSFER_IDS: &str = "SELECT transfer_id FROM transfers WHERE status IN ('created', 'processing') AND transfer_id IS NOT NULL ORDER BY id";
    pub const OPEN_TRANSFER_COUNT: &str = "SELECT COUNT(*) FROM transfers WHERE status IN ('claimed', 'sending', 'created', 'processing')";
    pub const TRANSFER_BY_EXTERNAL_ID: &str = concat!(
        "SELECT ",
        transfer_cols!(),
        " FROM transfers WHERE external_id = ?1"
    );

    pub const ALL: &[(&str, &str)] = &[
        ("INSERT_EVENT", INSERT_EVENT),
        ("EVENT_EXISTS", EVENT_EXISTS),
        ("MARK_EVENT_DELIVERED", MARK_EVENT_DELIVERED),
        ("INSERT_CREDIT", INSERT_CREDIT),
        ("IS_OUR_INVOICE", IS_OUR_INVOICE),
        ("UPDATE_INVOICE_STATUS", UPDATE_INVOICE_STATUS),
        ("UNCREDITED_INVOICES", UNCREDITED_INVOICES),
        ("CREDITS_NEEDING_TRANSFER", CREDITS_NEEDING_TRANSFER),
        ("INSERT_CLAIM", INSERT_CLAIM),
        ("LEASE_UNSENT", LEASE_UNSENT),
        ("TAKE_TRANSFER_LEASE", TAKE_TRANSFER_LEASE),
        ("RELEASE_TRANSFER_LEASE", RELEASE_TRANSFER_LEASE),
        ("APPLY_BANK_TRANSFER", APPLY_BANK_TRANSFER),
        ("MARK_TRANSFER_REJECTED", MARK_TRANSFER_REJECTED),
        ("NOTE_TRANSFER_ERROR", NOTE_TRANSFER_ERROR),
        ("UNSETTLED_TRANSFER_IDS", UNSETTLED_TRANSFER_IDS),
        ("OPEN_TRANSFER_COUNT", OPEN_TRANSFER_COUNT),
        ("TRANSFER_BY_EXTERNAL_ID", TRANSFER_BY_EXTERNAL_ID),
    ];
}

/// An event as stored (raw body kept for audits).
#[derive(Debug, Clone)]
pub struct EventRecord<'a> {
    pub id: &'a str,
    pub subscription: &'a str,
    pub log_type: Option<&'a str>,
    pub log_id: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub created: &'a str,
    pub source: &'a str,
    pub verdict: &'a str,
    pub body: &'a str,
}

/// Insert an event; `false` if its id was already recorded (a duplicate delivery).
pub fn insert_event(
    tx: &Transaction<'_>,
    e: &EventRecord<'_>,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let n = tx.prepare_cached(sql::INSERT_EVENT)?.execute(params![
        e.id,
        e.subscription,
        e.log_type,
        e.log_id,
        e.subject_id,
        e.created,
        ts(now),
        e.source,
        e.verdict,
        e.body
    ])?;
    Ok(n == 1)
}

pub fn event_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(sql::EVENT_EXISTS)?
        .query_row([id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// Note that the API was told the event is delivered.
pub fn mark_event_delivered(
    conn: &Connection,
    id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(sql::MARK_EVENT_DELIVERED)?
        .execute(params![id, ts(now)])?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredit<'a> {
    pub invoice_id: &'a str,
    pub log_id: &'a str,
    pub amount: i64,
    pub fee: i64,
    pub credited_at: &'a str,
    pub source: &'a str,
}

/// Why a credit is not forwarded, if it is not.
pub fn skip_reason(amount: i64, fee: i64) -> Option<String> {
    if amount < 0 || fee < 0 {
        return Some(format!("invalid amounts (amount {amount}, fee {fee})"));
    }
    match amount.checked_sub(fee) {
        Some(n) if n > 0 => None,
        Some(_) => Some(format!("nothing to forward: fee {fee} >= amount {amount}")),
        None => Some(format!("invalid amounts (amount {amount}, fee {fee})")),
    }
}

/// Record a credit; `false` if the invoice's credit was already recorded.
pub fn insert_credit(
    tx: &Transaction<'_>,
    c: &NewCredit<'_>,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let net = c.amount.saturating_sub(c.fee);
    let n = tx.prepare_cached(sql::INSERT_CREDIT)?.execute(params![
        c.invoice_id,
        c.log_id,
        c.amount,
        c.fee,
        net,
        c.credited_at,
        ts(now),
        c.source,
        skip_reason(c.amount, c.fee)
    ])?;
    Ok(n == 1)
}

pub fn is_our_invoice(conn: &Connection, invoice_id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(sql::IS_OUR_INVOICE)?
        .query_row([invoice_id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// Update one of our invoices' status from a log snapshot.
pub fn update_invoice_status(
    conn: &Connection,
    invoice_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(sql::UPDATE_INVOICE_STATUS)?
        .execute(params![invoice_id, status, ts(now)])?;
    Ok(n > 0)
}

/// Our issued invoices with no credit recorded yet and a status that can still be paid.
pub fn uncredited_invoices(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql::UNCREDITED_INVOICES)?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// A transfer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: i64,
    pub invoice_id: String,
    pub attempt: u32,
    pub external_id: String,
    pub tag: String,
    pub amount: i64,
    pub body: String,
    pub status: String,
    pub transfer_id: Option<String>,
}

fn transfer_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransferRow> {
    Ok(TransferRow {
        id: r.get(0)?,
        invoice_id: r.get(1)?,
        attempt: r.get(2)?,
        external_id: r.get(3)?,
        tag: r.get(4)?,
        amount: r.get(5)?,
        body: r.get(6)?,
        status: r.get(7)?,
        transfer_id: r.get(8)?,
    })
}

/// Statuses that mean "this attempt may still pay or has paid": no new attempt while one exists.
pub const LIVE_STATUSES: &str = live_statuses!();

/// Credits of ours that need a (new) transfer attempt: net > 0, no live attempt, fewer than
/// `max_attempts` attempts so far.
pub fn credits_needing_transfer(
    conn: &Connection,
    max_attempts: u32,
) -> rusqlite::Result<Vec<(String, i64, u32)>> {
    let mut stmt = conn.prepare_cached(sql::CREDITS_NEEDING_TRANSFER)?;
    stmt.query_map([max_attempts], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect()
}

/// Claim attempt `attempt` of a credit's transfer, storing the exact element to send.
/// `false` if that attempt exists already (another process claimed it).
pub fn insert_claim(
    tx: &Transaction<'_>,
    invoice_id: &str,
    attempt: u32,
    req: &crate::api::model::TransferRequest,
    body: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let tag = req.tags.first().map(String::as_str).unwrap_or_default();
    let n = tx.prepare_cached(sql::INSERT_CLAIM)?.execute(params![
        invoice_id,
        attempt,
        req.external_id,
        tag,
        req.amount,
        body,
        ts(now)
    ])?;
    Ok(n == 1)
}

/// Take up to `limit` transfers that need sending (claimed) or checking (sending), whose
/// lease is free. Returns them with the status they had (so `sending` ones are looked up).
pub fn lease_unsent(
    tx: &Transaction<'_>,
    after_id: i64,
    wall_now: i64,
    lease_secs: i64,
    limit: usize,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<TransferRow>> {
    super::lease::reap(tx, super::lease::LeaseTable::Transfers, wall_now)?;
    let rows: Vec<TransferRow> = {
        let mut stmt = tx.prepare_cached(sql::LEASE_UNSENT)?;
        stmt.query_map(params![wall_now, limit as i64, after_id], transfer_from_row)?
            .collect::<Result<_, _>>()?
    };
    let mut upd = tx.prepare_cached(sql::TAKE_TRANSFER_LEASE)?;
    let owner = super::lease::owner_id();
    for r in &rows {
        upd.execute(params![r.id, wall_now + lease_secs, ts(now), owner])?;
    }
    Ok(rows)
}

pub fn release_leases(conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql::RELEASE_TRANSFER_LEASE)?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// Record what the bank holds for one of our transfers (from a create answer, a lookup, a
/// refresh or an event). Matches by external id. Returns the row's invoice id if it changed.
pub fn apply_bank_transfer(
    conn: &Connection,
    t: &Transfer,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<String>> {
    let status = match t.status.as_str() {
        s @ ("created" | "processing" | "success" | "failed") => s,
        "canceled" => "failed",
        _ => "processing",
    };
    let settled = matches!(status, "success" | "failed").then(|| ts(now));
    let mut stmt = conn.prepare_cached(sql::APPLY_BANK_TRANSFER)?;
    stmt.query_row(
        params![t.external_id, t.id, status, t.fee, ts(now), settled],
        |r| r.get(0),
    )
    .optional()
}

/// A single-element 400: the API's errors are kept; the credit waits for the operator.
pub fn mark_transfer_rejected(
    conn: &Connection,
    id: i64,
    errors: &[ApiErrorItem],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(sql::MARK_TRANSFER_REJECTED)?
        .execute(params![
            id,
            serde_json::to_string(errors).unwrap_or_default(),
            ts(now)
        ])?;
    Ok(())
}

/// Note an error on a transfer that stays open (it is looked up before any resend).
pub fn note_transfer_error(
    conn: &Connection,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(sql::NOTE_TRANSFER_ERROR)?
        .execute(params![id, error, ts(now)])?;
    Ok(())
}

/// Bank ids of transfers not yet final (to refresh).
pub fn unsettled_transfer_ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql::UNSETTLED_TRANSFER_IDS)?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Number of transfers still open (claimed, sending, created, processing).
pub fn open_transfer_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(sql::OPEN_TRANSFER_COUNT, [], |r| r.get(0))
}

pub fn transfer_by_external_id(
    conn: &Connection,
    external_id: &str,
) -> rusqlite::Result<Option<TransferRow>> {
    conn.prepare_cached(sql::TRANSFER_BY_EXTERNAL_ID)?
        .query_row([external_id], transfer_from_row)
        .optional()
}
