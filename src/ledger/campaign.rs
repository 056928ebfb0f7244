//! Campaigns, batches and the invoices they issue.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::api::model::Invoice;
use crate::domain::schedule::Schedule;

/// A campaign's parameters, fixed when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub interval: Duration,
    pub slots: u32,
    pub min_invoices: u32,
    pub max_invoices: u32,
    pub min_amount: i64,
    pub max_amount: i64,
}

impl Campaign {
    pub fn schedule(&self) -> Schedule {
        Schedule::new(self.started_at, self.interval, self.slots)
    }
}

/// The parameters of a campaign about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub started_at: DateTime<Utc>,
    pub interval: Duration,
    pub slots: u32,
    pub min_invoices: u32,
    pub max_invoices: u32,
    pub min_amount: i64,
    pub max_amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// Claimed with its exact body; never sent.
    Planned,
    /// A POST may have been made: look it up by tag before sending again.
    Sending,
    Issued,
    /// The API refused it (400); the errors are kept for the operator.
    Rejected,
    /// Its window passed without a run.
    Missed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Planned => "planned",
            BatchStatus::Sending => "sending",
            BatchStatus::Issued => "issued",
            BatchStatus::Rejected => "rejected",
            BatchStatus::Missed => "missed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "planned" => BatchStatus::Planned,
            "sending" => BatchStatus::Sending,
            "issued" => BatchStatus::Issued,
            "rejected" => BatchStatus::Rejected,
            "missed" => BatchStatus::Missed,
            _ => return None,
        })
    }
    /// Still has work to do.
    pub fn is_open(self) -> bool {
        matches!(self, BatchStatus::Planned | BatchStatus::Sending)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: i64,
    pub campaign_id: i64,
    pub slot: u32,
    pub tag: String,
    pub status: BatchStatus,
    pub body: Option<String>,
    pub invoice_count: u32,
    pub total_amount: i64,
    pub attempts: u32,
    pub errors: Option<String>,
    pub lease_until: Option<i64>,
    pub due_at: DateTime<Utc>,
}

/// One invoice of a batch, as planned (and, once issued, with the bank's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInvoice {
    pub position: u32,
    pub name: String,
    pub tax_id: String,
    pub amount: i64,
}

macro_rules! campaign_cols {
    () => {
        "id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount"
    };
}

macro_rules! batch_cols {
    () => {
        "id, campaign_id, slot, tag, status, body, invoice_count, total_amount, attempts, errors, lease_until, due_at"
    };
}

/// Every statement of the campaign, by name (`tests/query_plans.rs` checks their plans).
pub mod sql {
    pub const LATEST_CAMPAIGN: &str = concat!(
        "SELECT ",
        campaign_cols!(),
        " FROM campaigns ORDER BY id DESC LIMIT 1"
    );
    pub const CAMPAIGN: &str =
        concat!("SELECT ", campaign_cols!(), " FROM campaigns WHERE id = ?1");
    pub const INSERT_CAMPAIGN: &str = "INSERT INTO campaigns(started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    pub const BATCHES: &str = concat!(
        "SELECT ",
        batch_cols!(),
        " FROM batches WHERE campaign_id = ?1 ORDER BY slot"
    );
    pub const BATCH: &str = concat!("SELECT ", batch_cols!(), " FROM batches WHERE id = ?1");
    pub const INSERT_MISSED: &str = "INSERT INTO batches(campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'missed', 0, 0, ?4, ?5, ?5)
         ON CONFLICT DO NOTHING";
    pub const DELETE_MISSED: &str = "DELETE FROM batches WHERE id = ?1 AND status = 'missed'";
    pub const INSERT_PLANNED: &str = "INSERT INTO batches(campaign_id, slot, tag, status, body, invoice_count, total_amount, due_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'planned', ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT DO NOTHING";
    pub const INSERT_PLANNED_INVOICE: &str =
        "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    pub const CAMPAIGN_TAX_IDS: &str = "SELECT tax_id FROM invoices WHERE campaign_id = ?1";
    pub const PLANNED_INVOICES: &str =
        "SELECT position, name, tax_id, amount FROM invoices WHERE batch_id = ?1 ORDER BY position";
    pub const TAKE_LEASE: &str = "UPDATE batches SET lease_until = ?2, lease_owner = ?5, status = 'sending', attempts = attempts + 1, updated_at = ?4
         WHERE id = ?1 AND status IN ('planned', 'sending') AND (lease_until IS NULL OR lease_until <= ?3)";
    pub const RENEW_LEASE: &str = "UPDATE batches SET lease_until = ?2 WHERE id = ?1";
    pub const RELEASE_LEASE: &str = "UPDATE batches SET lease_until = NULL WHERE id = ?1";
    pub const MATCH_ISSUED_INVOICE: &str = "UPDATE invoices SET invoice_id = ?1, status = ?2, created_at = ?3, updated_at = ?4
         WHERE rowid_ = (SELECT rowid_ FROM invoices WHERE batch_id = ?5 AND invoice_id IS NULL
                         AND replace(replace(tax_id, '.', ''), '-', '') = ?6 AND amount = ?7 ORDER BY position LIMIT 1)";
    pub const MARK_ISSUED: &str = "UPDATE batches SET status = 'issued', lease_until = NULL, errors = NULL, issued_at = ?2, updated_at = ?2 WHERE id = ?1";
    pub const MARK_REJECTED: &str = "UPDATE batches SET status = 'rejected', lease_until = NULL, errors = ?2, updated_at = ?3 WHERE id = ?1";
    pub const NOTE_ERROR: &str =
        "UPDATE batches SET errors = ?2, lease_until = NULL, updated_at = ?3 WHERE id = ?1";

    pub const ALL: &[(&str, &str)] = &[
        ("LATEST_CAMPAIGN", LATEST_CAMPAIGN),
        ("CAMPAIGN", CAMPAIGN),
        ("INSERT_CAMPAIGN", INSERT_CAMPAIGN),
        ("BATCHES", BATCHES),
        ("BATCH", BATCH),
        ("INSERT_MISSED", INSERT_MISSED),
        ("DELETE_MISSED", DELETE_MISSED),
        ("INSERT_PLANNED", INSERT_PLANNED),
        ("INSERT_PLANNED_INVOICE", INSERT_PLANNED_INVOICE),
        ("CAMPAIGN_TAX_IDS", CAMPAIGN_TAX_IDS),
        ("PLANNED_INVOICES", PLANNED_INVOICES),
        ("TAKE_LEASE", TAKE_LEASE),
        ("RENEW_LEASE", RENEW_LEASE),
        ("RELEASE_LEASE", RELEASE_LEASE),
        ("MATCH_ISSUED_INVOICE", MATCH_ISSUED_INVOICE),
        ("MARK_ISSUED", MARK_ISSUED),
        ("MARK_REJECTED", MARK_REJECTED),
        ("NOTE_ERROR", NOTE_ERROR),
    ];
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn campaign_from_row(r: &Row<'_>) -> rusqlite::Result<Campaign> {
    Ok(Campaign {
        id: r.get(0)?,
        started_at: parse_ts(&r.get::<_, String>(1)?)?,
        interval: Duration::seconds(r.get(2)?),
        slots: r.get(3)?,
        min_invoices: r.get(4)?,
        max_invoices: r.get(5)?,
        min_amount: r.get(6)?,
        max_amount: r.get(7)?,
    })
}

/// The most recent campaign.
pub fn latest_campaign(conn: &Connection) -> rusqlite::Result<Option<Campaign>> {
    conn.query_row(sql::LATEST_CAMPAIGN, [], campaign_from_row)
        .optional()
}

pub fn campaign(conn: &Connection, id: i64) -> rusqlite::Result<Option<Campaign>> {
    conn.query_row(sql::CAMPAIGN, [id], campaign_from_row)
        .optional()
}

pub fn insert_campaign(
    tx: &Transaction<'_>,
    c: &NewCampaign,
    now: DateTime<Utc>,
) -> rusqlite::Result<Campaign> {
    tx.execute(
        sql::INSERT_CAMPAIGN,
        params![
            ts(c.started_at),
            c.interval.num_seconds(),
            c.slots,
            c.min_invoices,
            c.max_invoices,
            c.min_amount,
            c.max_amount,
            ts(now)
        ],
    )?;
    Ok(campaign(tx, tx.last_insert_rowid())?.expect("just inserted"))
}

fn batch_from_row(r: &Row<'_>) -> rusqlite::Result<Batch> {
    let status: String = r.get(4)?;
    Ok(Batch {
        id: r.get(0)?,
        campaign_id: r.get(1)?,
        slot: r.get(2)?,
        tag: r.get(3)?,
        status: BatchStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("bad status {status}").into(),
            )
        })?,
        body: r.get(5)?,
        invoice_count: r.get(6)?,
        total_amount: r.get(7)?,
        attempts: r.get(8)?,
        errors: r.get(9)?,
        lease_until: r.get(10)?,
        due_at: parse_ts(&r.get::<_, String>(11)?)?,
    })
}

pub fn batches(conn: &Connection, campaign_id: i64) -> rusqlite::Result<Vec<Batch>> {
    let mut stmt = conn.prepare_cached(sql::BATCHES)?;
    stmt.query_map([campaign_id], batch_from_row)?.collect()
}

pub fn batch(conn: &Connection, id: i64) -> rusqlite::Result<Option<Batch>> {
    conn.query_row(sql::BATCH, [id], batch_from_row).optional()
}

/// Record a slot whose window passed without a run.
pub fn insert_missed(
    tx: &Transaction<'_>,
    campaign: &Campaign,
    slot: u32,
    tag: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.execute(
        sql::INSERT_MISSED,
        params![
            campaign.id,
            slot,
            tag,
            ts(campaign.schedule().due(slot)),
            ts(now)
        ],
    )?;
    Ok(())
}

/// Claim a slot: insert its batch with the exact body to send and its planned invoices.
/// Returns `None` if the slot already has a batch (the unique constraint is the claim).
pub fn insert_planned(
    tx: &Transaction<'_>,
    campaign: &Campaign,
    slot: u32,
    tag: &str,
    body: &str,
    invoices: &[PlannedInvoice],
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<i64>> {
    let total: i64 = invoices.iter().map(|i| i.amount).sum();
    let inserted = tx.execute(
        sql::INSERT_PLANNED,
        params![
            campaign.id,
            slot,
            tag,
            body,
            invoices.len() as i64,
            total,
            ts(campaign.schedule().due(slot)),
            ts(now)
        ],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    let batch_id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(sql::INSERT_PLANNED_INVOICE)?;
    for inv in invoices {
        stmt.execute(params![
            batch_id,
            campaign.id,
            inv.position,
            inv.name,
            inv.tax_id,
            inv.amount,
            ts(now)
        ])?;
    }
    Ok(Some(batch_id))
}

/// Tax ids already used in a campaign (CPFs are unique within a campaign).
pub fn campaign_tax_ids(
    conn: &Connection,
    campaign_id: i64,
) -> rusqlite::Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(sql::CAMPAIGN_TAX_IDS)?;
    stmt.query_map([campaign_id], |r| r.get(0))?.collect()
}

pub fn planned_invoices(conn: &Connection, batch_id: i64) -> rusqlite::Result<Vec<PlannedInvoice>> {
    let mut stmt = conn.prepare_cached(sql::PLANNED_INVOICES)?;
    stmt.query_map([batch_id], |r| {
        Ok(PlannedInvoice {
            position: r.get(0)?,
            name: r.get(1)?,
            tax_id: r.get(2)?,
            amount: r.get(3)?,
        })
    })?
    .collect()
}

/// Take the batch for sending if no live lease holds it. `wall_now` is real Unix time
/// (leases are about processes, not business time). Marks it `sending` and counts the attempt.
pub fn take_lease(
    tx: &Transaction<'_>,
    batch_id: i64,
    wall_now: i64,
    lease_secs: i64,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<Batch>> {
    super::lease::reap(tx, super::lease::LeaseTable::Batches, wall_now)?;
    let n = tx.execute(
        sql::TAKE_LEASE,
        params![
            batch_id,
            wall_now + lease_secs,
            wall_now,
            ts(now),
            super::lease::owner_id()
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    batch(tx, batch_id)
}

/// Extend a held lease (before another attempt).
pub fn renew_lease(conn: &Connection, batch_id: i64, until: i64) -> rusqlite::Result<()> {
    conn.execute(sql::RENEW_LEASE, params![batch_id, until])?;
    Ok(())
}

pub fn release_lease(conn: &Connection, batch_id: i64) -> rusqlite::Result<()> {
    conn.execute(sql::RELEASE_LEASE, [batch_id])?;
    Ok(())
}

/// Record the bank's invoices for a batch. `invoices` are matched to the planned ones by
/// tax id and amount (creation order is kept by the API, but matching by content is safer).
pub fn mark_issued(
    tx: &Transaction<'_>,
    batch_id: i64,
    invoices: &[Invoice],
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let mut matched = 0;
    let mut stmt = tx.prepare_cached(sql::MATCH_ISSUED_INVOICE)?;
    for inv in invoices {
        let digits: String = inv.tax_id.chars().filter(|c| c.is_ascii_digit()).collect();
        matched += stmt.execute(params![
            inv.id,
            inv.status,
            inv.created.to_api(),
            ts(now),
            batch_id,
            digits,
            inv.nominal_amount.max(inv.amount)
        ])?;
    }
    tx.execute(sql::MARK_ISSUED, params![batch_id, ts(now)])?;
    Ok(matched)
}

pub fn mark_rejected(
    tx: &Transaction<'_>,
    batch_id: i64,
    errors_json: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.execute(sql::MARK_REJECTED, params![batch_id, errors_json, ts(now)])?;
    Ok(())
}

/// Note an unclear outcome; the batch stays `sending` (look it up before any resend).
pub fn note_error(
    conn: &Connection,
    batch_id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(sql::NOTE_ERROR, params![batch_id, error, ts(now)])?;
    Ok(())
}

/// Batches of a campaign that still need sending or checking, oldest first.
pub fn open_batches(conn: &Connection, campaign_id: i64) -> rusqlite::Result<Vec<Batch>> {
    Ok(batches(conn, campaign_id)?
        .into_iter()
        .filter(|b| b.status.is_open())
        .collect())
}
