//! What the ledger says right now: the campaign's progress, invoices, credits and transfers by
//! status, and the things that wait for the operator. Read-only, built from one connection with
//! a handful of aggregate queries (no HTTP, no runtime), so `stark status` stays fast on a
//! ledger with 100,000 invoices.
//!
//! Derived facts follow [`crate::ledger::money`]: a credit is *ours* when its invoice id is one
//! this ledger issued, *foreign* otherwise; a credit is *settled* when one of its transfers
//! reached `success`.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::ledger::campaigns::latest_campaign;
use crate::ledger::{parse_ts, ts};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusTotal {
    pub status: String,
    pub count: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferTotal {
    pub status: String,
    pub count: i64,
    pub amount: i64,
    pub fee: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MoneyTotals {
    pub count: i64,
    pub gross: i64,
    pub fees: i64,
    pub net: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CreditTotals {
    pub ours: MoneyTotals,
    pub foreign: MoneyTotals,
}

/// One list of things to look at: how many there are and the first [`ATTENTION_CAP`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group<T> {
    pub total: i64,
    pub items: Vec<T>,
}

impl<T> Default for Group<T> {
    fn default() -> Self {
        Group {
            total: 0,
            items: Vec::new(),
        }
    }
}

impl<T> Group<T> {
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// Everything that waits for the operator (or for a run that has not happened).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attention {
    /// Credits of ours older than the stale limit without a successful transfer.
    pub stale_credits: Group<StaleCredit>,
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
}

impl Attention {
    pub fn is_empty(&self) -> bool {
        self.stale_credits.is_empty()
            && self.failed_transfers.is_empty()
            && self.rejected_transfers.is_empty()
            && self.foreign_credits.is_empty()
            && self.rejected_batches.is_empty()
            && self.missed_slots.is_empty()
            && self.skipped_credits.is_empty()
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferIssue {
    pub invoice_id: String,
    pub external_id: String,
    pub attempt: u32,
    pub amount: i64,
    pub errors: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRow {
    pub invoice_id: String,
    pub amount: i64,
    pub fee: i64,
    pub recorded_at: String,
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchIssue {
    pub campaign_id: i64,
    /// 1-based batch number.
    pub batch: u32,
    pub tag: String,
    pub due_at: String,
    pub errors: Option<String>,
}

/// One invoice row for `stark status --invoices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRow {
    pub campaign_id: i64,
    pub batch: u32,
    /// 1-based position in its batch.
    pub position: u32,
    pub invoice_id: Option<String>,
    pub name: String,
    pub amount: i64,
    /// The bank's status, or `planned` when not issued yet.
    pub status: String,
    /// Net amount credited, if a credit was recorded.
    pub credited_net: Option<i64>,
    pub updated_at: String,
}

/// One transfer row for `stark status --transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferListRow {
    pub id: i64,
    pub invoice_id: String,
    pub attempt: u32,
    pub external_id: String,
    pub amount: i64,
    pub fee: Option<i64>,
    pub status: String,
    pub transfer_id: Option<String>,
    pub errors: Option<String>,
    pub updated_at: String,
}

/// The queries the report runs, by name (the plan test checks each of them).
pub mod sql {
    pub const INVOICES_BY_STATUS: &str = "SELECT status, COUNT(*), COALESCE(SUM(amount), 0)
         FROM invoices GROUP BY status ORDER BY status";

    /// `ours` and `settled` are kept by triggers (migration 7).
    pub const CREDIT_TOTALS: &str = "SELECT c.ours,
                COUNT(*), COALESCE(SUM(c.amount), 0), COALESCE(SUM(c.fee), 0), COALESCE(SUM(c.net), 0)
         FROM credits c GROUP BY c.ours";

    pub const TRANSFERS_BY_STATUS: &str =
        "SELECT status, COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(fee), 0)
         FROM transfers GROUP BY status ORDER BY status";

    pub const CAMPAIGN_BATCHES: &str =
        "SELECT slot, status FROM batches WHERE campaign_id = ?1 ORDER BY slot";

    /// Ours, not skipped, recorded before the cutoff, no successful transfer.
    pub const STALE_CREDITS: &str = "SELECT c.invoice_id, c.net, c.recorded_at,
                (SELECT t.status FROM transfers t WHERE t.invoice_id = c.invoice_id ORDER BY t.attempt DESC LIMIT 1),
                COUNT(*) OVER ()
         FROM credits c
         WHERE c.ours = 1 AND c.settled = 0 AND c.skip_reason IS NULL AND c.recorded_at < ?1
         ORDER BY c.recorded_at, c.invoice_id LIMIT ?2";

    pub const FAILED_TRANSFERS: &str = "SELECT t.invoice_id, t.external_id, t.attempt, t.amount, t.errors, t.updated_at, COUNT(*) OVER ()
         FROM transfers t
         WHERE t.status = 'failed'
           AND NOT EXISTS (SELECT 1 FROM transfers l WHERE l.invoice_id = t.invoice_id
                           AND l.attempt > t.attempt AND l.status = 'success')
         ORDER BY t.id LIMIT ?1";

    pub const REJECTED_TRANSFERS: &str = "SELECT t.invoice_id, t.external_id, t.attempt, t.amount, t.errors, t.updated_at, COUNT(*) OVER ()
         FROM transfers t WHERE t.status = 'rejected' ORDER BY t.id LIMIT ?1";

    /// Only run when the credit totals count foreign credits (a partial index holds only those).
    pub const FOREIGN_CREDITS: &str =
        "SELECT c.invoice_id, c.amount, c.fee, c.recorded_at, c.skip_reason
         FROM credits c WHERE c.ours = 0
         ORDER BY c.recorded_at, c.invoice_id LIMIT ?1";

    pub const SKIPPED_CREDITS: &str =
        "SELECT c.invoice_id, c.amount, c.fee, c.recorded_at, c.skip_reason, COUNT(*) OVER ()
         FROM credits c WHERE c.skip_reason IS NOT NULL
         ORDER BY c.recorded_at, c.invoice_id LIMIT ?1";

    pub const BATCHES_IN_STATUS: &str =
        "SELECT campaign_id, slot, tag, due_at, errors, COUNT(*) OVER ()
         FROM batches WHERE status = ?1 ORDER BY campaign_id, slot LIMIT ?2";

    pub const LIST_INVOICES: &str =
        "SELECT i.campaign_id, b.slot, i.position, i.invoice_id, i.name, i.amount,
                COALESCE(i.status, 'planned'), c.net, i.updated_at
         FROM invoices i JOIN batches b ON b.id = i.batch_id
         LEFT JOIN credits c ON c.invoice_id = i.invoice_id
         ORDER BY i.rowid_ DESC LIMIT ?1";

    pub const LIST_TRANSFERS: &str = "SELECT id, invoice_id, attempt, external_id, amount, fee, status, transfer_id, errors, updated_at
         FROM transfers ORDER BY id DESC LIMIT ?1";

    /// Every query with sample parameters, for `EXPLAIN QUERY PLAN`.
    pub const ALL: &[(&str, &str)] = &[
        ("INVOICES_BY_STATUS", INVOICES_BY_STATUS),
        ("CREDIT_TOTALS", CREDIT_TOTALS),
        ("TRANSFERS_BY_STATUS", TRANSFERS_BY_STATUS),
        ("CAMPAIGN_BATCHES", CAMPAIGN_BATCHES),
        ("STALE_CREDITS", STALE_CREDITS),
        ("FAILED_TRANSFERS", FAILED_TRANSFERS),
        ("REJECTED_TRANSFERS", REJECTED_TRANSFERS),
        ("FOREIGN_CREDITS", FOREIGN_CREDITS),
        ("SKIPPED_CREDITS", SKIPPED_CREDITS),
        ("BATCHES_IN_STATUS", BATCHES_IN_STATUS),
        ("LIST_INVOICES", LIST_INVOICES),
        ("LIST_TRANSFERS", LIST_TRANSFERS),
    ];
}

/// Build the report from an open ledger connection at business time `now`.
pub fn report(
    conn: &Connection,
    now: DateTime<Utc>,
    opts: &StatusOptions,
) -> rusqlite::Result<StatusReport> {
    let cap = ATTENTION_CAP as i64;
    let campaign = campaign_status(conn)?;

    let invoices = conn
        .prepare(sql::INVOICES_BY_STATUS)?
        .query_map([], |r| {
            Ok(StatusTotal {
                status: r
                    .get::<_, Option<String>>(0)?
                    .unwrap_or_else(|| "planned".into()),
                count: r.get(1)?,
                amount: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut credits = CreditTotals::default();
    {
        let mut stmt = conn.prepare(sql::CREDIT_TOTALS)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let totals = MoneyTotals {
                count: r.get(1)?,
                gross: r.get(2)?,
                fees: r.get(3)?,
                net: r.get(4)?,
            };
            if r.get::<_, bool>(0)? {
                credits.ours = totals;
            } else {
                credits.foreign = totals;
            }
        }
    }

    let transfers = conn
        .prepare(sql::TRANSFERS_BY_STATUS)?
        .query_map([], |r| {
            Ok(TransferTotal {
                status: r.get(0)?,
                count: r.get(1)?,
                amount: r.get(2)?,
                fee: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut attention = Attention::default();

    let cutoff = ts(now - opts.stale_after);
    attention.stale_credits = group(conn, sql::STALE_CREDITS, params![cutoff, cap], 4, |r| {
        let recorded_at: String = r.get(2)?;
        let age = now - parse_ts(&recorded_at)?;
        Ok(StaleCredit {
            invoice_id: r.get(0)?,
            net: r.get(1)?,
            recorded_at,
            age_minutes: age.num_minutes(),
            transfer_status: r.get(3)?,
        })
    })?;
    attention.failed_transfers =
        group(conn, sql::FAILED_TRANSFERS, params![cap], 6, transfer_issue)?;
    attention.rejected_transfers = group(
        conn,
        sql::REJECTED_TRANSFERS,
        params![cap],
        6,
        transfer_issue,
    )?;
    if credits.foreign.count > 0 {
        attention.foreign_credits = Group {
            total: credits.foreign.count,
            items: conn
                .prepare(sql::FOREIGN_CREDITS)?
                .query_map(params![cap], credit_row)?
                .collect::<Result<_, _>>()?,
        };
    }
    attention.rejected_batches = group(
        conn,
        sql::BATCHES_IN_STATUS,
        params!["rejected", cap],
        5,
        batch_issue,
    )?;
    attention.missed_slots = group(
        conn,
        sql::BATCHES_IN_STATUS,
        params!["missed", cap],
        5,
        batch_issue,
    )?;
    attention.skipped_credits = group(conn, sql::SKIPPED_CREDITS, params![cap], 5, credit_row)?;

    Ok(StatusReport {
        now: ts(now),
        stale_minutes: opts.stale_after.num_minutes(),
        campaign,
        invoices,
        credits,
        transfers,
        attention,
    })
}

/// Run a query whose column `total_col` is `COUNT(*) OVER ()` (the count before LIMIT).
fn group<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    total_col: usize,
    f: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Group<T>> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let mut g = Group::default();
    while let Some(r) = rows.next()? {
        g.total = r.get(total_col)?;
        g.items.push(f(r)?);
    }
    Ok(g)
}

fn transfer_issue(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransferIssue> {
    Ok(TransferIssue {
        invoice_id: r.get(0)?,
        external_id: r.get(1)?,
        attempt: r.get(2)?,
        amount: r.get(3)?,
        errors: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn credit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CreditRow> {
    Ok(CreditRow {
        invoice_id: r.get(0)?,
        amount: r.get(1)?,
        fee: r.get(2)?,
        recorded_at: r.get(3)?,
        skip_reason: r.get(4)?,
    })
}

fn batch_issue(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchIssue> {
    Ok(BatchIssue {
        campaign_id: r.get(0)?,
        batch: r.get::<_, u32>(1)? + 1,
        tag: r.get(2)?,
        due_at: r.get(3)?,
        errors: r.get(4)?,
    })
}

fn campaign_status(conn: &Connection) -> rusqlite::Result<Option<CampaignStatus>> {
    let Some(c) = latest_campaign(conn)? else {
        return Ok(None);
    };
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
    let mut stmt = conn.prepare(sql::CAMPAIGN_BATCHES)?;
    let mut rows = stmt.query([c.id])?;
    while let Some(r) = rows.next()? {
        let slot: u32 = r.get(0)?;
        taken.insert(slot);
        match r.get::<_, String>(1)?.as_str() {
            "issued" => status.issued += 1,
            "missed" => status.missed += 1,
            "rejected" => status.rejected += 1,
            _ => status.open += 1,
        }
    }
    if let Some(k) = (0..c.slots()).find(|k| !taken.contains(k)) {
        status.next_batch = Some(k + 1);
        status.next_due = Some(ts(c.schedule().due(k)));
    }
    Ok(Some(status))
}

/// The most recent invoices (newest first).
pub fn list_invoices(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<InvoiceRow>> {
    conn.prepare(sql::LIST_INVOICES)?
        .query_map([limit], |r| {
            Ok(InvoiceRow {
                campaign_id: r.get(0)?,
                batch: r.get::<_, u32>(1)? + 1,
                position: r.get::<_, u32>(2)? + 1,
                invoice_id: r.get(3)?,
                name: r.get(4)?,
                amount: r.get(5)?,
                status: r.get(6)?,
                credited_net: r.get(7)?,
                updated_at: r.get(8)?,
            })
        })?
        .collect()
}

/// The most recent transfer attempts (newest first).
pub fn list_transfers(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<TransferListRow>> {
    conn.prepare(sql::LIST_TRANSFERS)?
        .query_map([limit], |r| {
            Ok(TransferListRow {
                id: r.get(0)?,
                invoice_id: r.get(1)?,
                attempt: r.get(2)?,
                external_id: r.get(3)?,
                amount: r.get(4)?,
                fee: r.get(5)?,
                status: r.get(6)?,
                transfer_id: r.get(7)?,
                errors: r.get(8)?,
                updated_at: r.get(9)?,
            })
        })?
        .collect()
}

/// `EXPLAIN QUERY PLAN` of a statement, one detail line per step (parameters bound to NULL).
pub fn query_plan(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let n = stmt.parameter_count();
    let nulls: Vec<rusqlite::types::Null> = vec![rusqlite::types::Null; n];
    stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
        .collect()
}

/// Whether a ledger exists at `path` (status never creates one).
pub fn ledger_exists(path: &std::path::Path) -> bool {
    path.is_file()
}
