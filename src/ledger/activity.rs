//! The ledger's history as one stream (`stark log`, and `serve-webhook`'s transfer lines):
//! batches issued, missed or rejected; events received; credits recorded; transfers queued and
//! how they ended; runs of the cron commands. Read-only.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, FromRow, LedgerError, parse_ts, ts};

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Batch,
    Event,
    Credit,
    Transfer,
    /// A run of a cron command (`issue-invoices`, `reconcile`…) and how it ended.
    Run,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Batch => "batch",
            EntryKind::Event => "event",
            EntryKind::Credit => "credit",
            EntryKind::Transfer => "transfer",
            EntryKind::Run => "run",
        }
    }
}

/// One line of the history. Fields that do not apply to a kind are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    /// The row it is about: the batch id, the event id, the credited invoice, the transfer's
    /// row id.
    pub id: String,
    /// `issued`/`missed`/`rejected` (batch); `invoice/credited` (event); `credited` or
    /// `not_forwarded` (credit); `queued`, `created`, `processing`, `success`, `failed`,
    /// `rejected` (transfer).
    pub status: String,
    pub invoice_id: Option<String>,
    /// Cents: the batch's total, the credit's or transfer's amount.
    pub amount: Option<i64>,
    pub fee: Option<i64>,
    /// Invoices in a batch.
    pub count: Option<i64>,
    /// The event's verdict, why a credit is not forwarded, a batch's or transfer's errors.
    pub detail: Option<String>,
    /// The bank's transfer id.
    pub transfer_id: Option<String>,
    /// The row's order within its table (entries at the same time keep it).
    #[serde(skip)]
    pub seq: i64,
}

impl Entry {
    /// Identifies the entry across reads (a row shows again with a new status).
    pub fn key(&self) -> (EntryKind, &str, &str) {
        (self.kind, &self.id, &self.status)
    }
}

/// A transfer attempt as it stands (for `serve-webhook`'s transfer lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferState {
    pub row: i64,
    pub invoice_id: String,
    pub amount: i64,
    pub status: String,
    pub transfer_id: Option<String>,
    pub errors: Option<String>,
}

from_row!(TransferState {
    row,
    invoice_id,
    amount,
    status,
    transfer_id,
    errors
});

/// The history statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const LOG_BATCHES: &str = "SELECT id, COALESCE(issued_at, updated_at) AS at, status, invoice_count, total_amount, errors
         FROM batches WHERE status IN ('issued', 'missed', 'rejected') AND COALESCE(issued_at, updated_at) >= ?1
         ORDER BY at DESC, id DESC LIMIT ?2";
    pub const LOG_EVENTS: &str =
        "SELECT id, received_at, subscription, log_type, subject_id, verdict, rowid
         FROM events WHERE received_at >= ?1 ORDER BY received_at DESC, rowid DESC LIMIT ?2";
    /// [`LOG_EVENTS`] on PostgreSQL, which has no rowid: entries at the same time are ordered
    /// by id instead of by arrival.
    pub const LOG_EVENTS_PG: &str =
        "SELECT id, received_at, subscription, log_type, subject_id, verdict, ROW_NUMBER() OVER (ORDER BY received_at, id)
         FROM events WHERE received_at >= ?1 ORDER BY received_at DESC, id DESC LIMIT ?2";
    pub const LOG_CREDITS: &str = "SELECT invoice_id, recorded_at, amount, fee, skip_reason, rowid
         FROM credits WHERE recorded_at >= ?1 ORDER BY recorded_at DESC, rowid DESC LIMIT ?2";
    /// [`LOG_CREDITS`] on PostgreSQL (see [`LOG_EVENTS_PG`]).
    pub const LOG_CREDITS_PG: &str = "SELECT invoice_id, recorded_at, amount, fee, skip_reason, ROW_NUMBER() OVER (ORDER BY recorded_at, invoice_id)
         FROM credits WHERE recorded_at >= ?1 ORDER BY recorded_at DESC, invoice_id DESC LIMIT ?2";
    pub const LOG_TRANSFERS: &str =
        "SELECT id, invoice_id, created_at, updated_at, status, amount, fee, transfer_id, errors
         FROM transfers WHERE updated_at >= ?1 ORDER BY updated_at DESC, id DESC LIMIT ?2";
    pub const LOG_RUNS: &str =
        "SELECT id, command, COALESCE(ended_at, started_at) AS at, exit_code, summary
         FROM runs WHERE COALESCE(ended_at, started_at) >= ?1 ORDER BY at DESC, id DESC LIMIT ?2";
    pub const TRANSFERS_FROM: &str = "SELECT id, invoice_id, amount, status, transfer_id, errors
         FROM transfers WHERE id >= ?1 ORDER BY id";
    pub const LAST_TRANSFER_ROW: &str = "SELECT COALESCE(MAX(id), 0) FROM transfers";

    statements![
        LOG_BATCHES,
        LOG_EVENTS,
        LOG_CREDITS,
        LOG_TRANSFERS,
        LOG_RUNS,
        TRANSFERS_FROM,
        LAST_TRANSFER_ROW
    ];
}

impl Db<'_> {
    /// The entries stamped at or after `since`, oldest first; with `limit`, only the latest
    /// `limit` of them.
    pub fn log_entries(
        &self,
        since: DateTime<Utc>,
        limit: Option<usize>,
    ) -> Result<Vec<Entry>, LedgerError> {
        let from = since;
        let since = ts(since);
        let lim = limit.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut all = self.rows(sql::LOG_BATCHES, args![since, lim], |r| {
            Ok(Entry {
                at: parse_ts(&r.get::<String>(1)?)?,
                kind: EntryKind::Batch,
                id: r.get::<i64>(0)?.to_string(),
                status: r.get(2)?,
                invoice_id: None,
                amount: Some(r.get(4)?),
                fee: None,
                count: Some(r.get(3)?),
                detail: r.get(5)?,
                transfer_id: None,
                seq: r.get(0)?,
            })
        })?;
        all.extend(self.rows(
            self.conn.pick(sql::LOG_EVENTS, sql::LOG_EVENTS_PG),
            args![since, lim],
            |r| {
                let sub: String = r.get(2)?;
                let log: Option<String> = r.get(3)?;
                Ok(Entry {
                    at: parse_ts(&r.get::<String>(1)?)?,
                    kind: EntryKind::Event,
                    id: r.get(0)?,
                    status: match log {
                        Some(l) => format!("{sub}/{l}"),
                        None => sub,
                    },
                    invoice_id: r.get(4)?,
                    amount: None,
                    fee: None,
                    count: None,
                    detail: Some(r.get(5)?),
                    transfer_id: None,
                    seq: r.get(6)?,
                })
            },
        )?);
        all.extend(self.rows(
            self.conn.pick(sql::LOG_CREDITS, sql::LOG_CREDITS_PG),
            args![since, lim],
            |r| {
                let skip: Option<String> = r.get(4)?;
                Ok(Entry {
                    at: parse_ts(&r.get::<String>(1)?)?,
                    kind: EntryKind::Credit,
                    id: r.get(0)?,
                    status: if skip.is_some() {
                        "not_forwarded"
                    } else {
                        "credited"
                    }
                    .into(),
                    invoice_id: r.get(0)?,
                    amount: Some(r.get(2)?),
                    fee: Some(r.get(3)?),
                    count: None,
                    detail: skip,
                    transfer_id: None,
                    seq: r.get(5)?,
                })
            },
        )?);
        for row in self.rows(sql::LOG_TRANSFERS, args![since, lim], |r| {
            let created = parse_ts(&r.get::<String>(2)?)?;
            let updated = parse_ts(&r.get::<String>(3)?)?;
            let e = Entry {
                at: updated,
                kind: EntryKind::Transfer,
                id: r.get::<i64>(0)?.to_string(),
                status: r.get(4)?,
                invoice_id: r.get(1)?,
                amount: Some(r.get(5)?),
                fee: r.get(6)?,
                count: None,
                detail: r.get(8)?,
                transfer_id: r.get(7)?,
                seq: r.get(0)?,
            };
            Ok((created, e))
        })? {
            let (created, e) = row;
            if created >= from {
                all.push(Entry {
                    at: created,
                    status: "queued".into(),
                    detail: None,
                    transfer_id: None,
                    ..e.clone()
                });
            }
            if !matches!(e.status.as_str(), "claimed" | "sending") {
                all.push(e);
            }
        }
        all.extend(self.rows(sql::LOG_RUNS, args![since, lim], |r| {
            let code: Option<i64> = r.get(3)?;
            Ok(Entry {
                at: parse_ts(&r.get::<String>(2)?)?,
                kind: EntryKind::Run,
                id: r.get(1)?,
                status: match code {
                    Some(0) => "ok".to_string(),
                    Some(3) => "needs_you".to_string(),
                    Some(c) => format!("exit_{c}"),
                    None => "running".to_string(),
                },
                invoice_id: None,
                amount: None,
                fee: None,
                count: None,
                detail: r.get(4)?,
                transfer_id: None,
                seq: r.get(0)?,
            })
        })?);
        all.sort_by(|a, b| order(a).cmp(&order(b)));
        if let Some(n) = limit {
            let cut = all.len().saturating_sub(n);
            all.drain(..cut);
        }
        Ok(all)
    }

    /// The transfer attempts with a row id of at least `from`, in row order.
    pub fn transfers_from(&self, from: i64) -> Result<Vec<TransferState>, LedgerError> {
        self.rows(sql::TRANSFERS_FROM, args![from], TransferState::from_row)
    }

    /// The highest transfer row id (0 for none).
    pub fn last_transfer_row(&self) -> Result<i64, LedgerError> {
        Ok(self
            .row(sql::LAST_TRANSFER_ROW, args![], |r| r.get(0))?
            .unwrap_or(0))
    }
}

/// Oldest first; at the same time batches, events, credits, transfers; then by row (numeric
/// ids in number order); a transfer's `queued` before its outcome.
fn order(e: &Entry) -> (DateTime<Utc>, EntryKind, usize, &str, u8) {
    (
        e.at,
        e.kind,
        e.id.len(),
        &e.id,
        u8::from(e.status != "queued"),
    )
}
