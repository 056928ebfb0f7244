//! The read model behind `stark status`: totals by status, the attention lists and the newest
//! rows, one aggregate statement each (so a report stays fast on a ledger with 100,000
//! invoices). This module only reads; what counts as stale and what needs the operator is
//! decided by [`crate::status`].
//!
//! Derived facts follow the money path: a credit is *ours* when its invoice id is one this
//! ledger issued, *foreign* otherwise; it is *settled* when one of its transfers reached
//! `success` (both kept as flags by triggers, migration 7).

use super::conn::{FromSql, ToSql, Value};
use super::{Row, SqlResult};
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::campaigns::{BatchStatus, Campaign};
use super::{Db, FromRow, LedgerError};
use super::{parse_ts, ts};
use crate::api::model::ApiErrorItem;

/// Invoices (or anything counted with an amount) of one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusTotal {
    pub status: String,
    pub count: i64,
    pub amount: i64,
}

/// Transfers of one status.
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

/// One list of things to look at: how many there are in all and the first few of them.
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

/// Errors as the ledger keeps them for the operator: the API's `[{"code", "message"}]` list
/// when that is what was stored, plain text otherwise. Serializes as the stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredErrors {
    raw: String,
    items: Vec<ApiErrorItem>,
}

impl StoredErrors {
    /// The text the ledger stores for the bank's errors: their JSON list (what
    /// [`StoredErrors::parse`] reads back).
    pub(crate) fn encode(errors: &[ApiErrorItem]) -> String {
        serde_json::to_string(errors).unwrap_or_default()
    }

    /// Read stored errors: a non-empty list of `{"code", "message"}` objects is parsed; anything
    /// else is kept as text only.
    pub(crate) fn parse(raw: String) -> StoredErrors {
        // Both fields required: an entry without a message is not the API's shape.
        #[derive(serde::Deserialize)]
        struct Item {
            code: String,
            message: String,
        }
        let items = match serde_json::from_str::<Vec<Item>>(&raw) {
            Ok(items) => items
                .into_iter()
                .map(|i| ApiErrorItem {
                    code: i.code,
                    message: i.message,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        StoredErrors { raw, items }
    }

    /// Exactly what was stored.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The API's errors, when the stored text is a non-empty list of them; empty otherwise.
    pub fn items(&self) -> &[ApiErrorItem] {
        &self.items
    }
}

/// Always a list of `{"code", "message"}` (never JSON inside a string): the API's errors, or,
/// for stored text that is not such a list, one entry with code `unparsed` and the text.
impl Serialize for StoredErrors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = self.raw.trim();
        if !self.items.is_empty() || raw.is_empty() || raw == "[]" {
            return self.items.serialize(s);
        }
        [ApiErrorItem {
            code: "unparsed".into(),
            message: self.raw.clone(),
        }]
        .serialize(s)
    }
}

/// A transfer attempt that waits for the operator (failed with no later success, or refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferIssue {
    pub invoice_id: String,
    pub external_id: String,
    pub attempt: u32,
    pub amount: i64,
    pub errors: Option<StoredErrors>,
    pub updated_at: String,
}

/// Which transfer attempts [`Db::transfer_issues`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferIssueKind {
    /// The bank failed it, and no later attempt succeeded.
    Failed,
    /// The API refused it (400): it waits for the operator.
    Rejected,
}

impl TransferIssueKind {
    fn sql(self) -> &'static str {
        match self {
            TransferIssueKind::Failed => sql::FAILED_TRANSFERS,
            TransferIssueKind::Rejected => sql::REJECTED_TRANSFERS,
        }
    }
}

/// A credit, as listed among foreign or skipped credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRow {
    pub invoice_id: String,
    pub amount: i64,
    pub fee: i64,
    pub recorded_at: String,
    pub skip_reason: Option<String>,
}

/// A batch that waits for the operator (refused, or its slot missed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchIssue {
    pub campaign_id: i64,
    /// 1-based batch number.
    pub batch: u32,
    pub tag: String,
    pub due_at: String,
    pub errors: Option<StoredErrors>,
}

/// An invoice of this ledger with more than one live (not failed, not refused) transfer at the
/// bank, as far as the ledger knows: paid, or about to be paid, more than once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaidTwice {
    pub invoice_id: String,
    /// How many live transfers the ledger knows at the bank.
    pub transfers: i64,
    /// Their amounts together.
    pub amount: i64,
    /// Their external ids, by attempt, comma-separated.
    pub external_ids: String,
}

/// An open batch (`planned` or `sending`) of any campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenBatch {
    pub campaign_id: i64,
    /// 1-based batch number.
    pub batch: u32,
    pub tag: String,
    pub status: String,
    pub due_at: String,
    /// Since when its outcome at the bank is unclear (a POST without a clear answer).
    pub unclear_since: Option<String>,
    /// The last error noted, if any.
    pub errors: Option<StoredErrors>,
}

/// An invoice found under a batch's tag beyond one batch's worth (the batch was applied twice
/// by the bank) and cancelled there while unpaid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelledExtra {
    pub campaign_id: i64,
    /// 1-based batch number.
    pub batch: u32,
    pub tag: String,
    pub invoice_id: String,
    pub amount: i64,
    pub cancelled_at: String,
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
    pub errors: Option<StoredErrors>,
    pub updated_at: String,
}

/// The most recent campaign and the status of each slot that has a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CampaignProgress {
    pub campaign: Campaign,
    /// `(slot, status)`, by slot (0-based).
    pub batches: Vec<(u32, BatchStatus)>,
}

/// A credit of ours, not skipped, with no successful transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsettledCredit {
    pub invoice_id: String,
    pub net: i64,
    /// As stored.
    pub recorded_at: String,
    pub recorded: DateTime<Utc>,
    /// Status of the latest transfer attempt, if any.
    pub transfer_status: Option<String>,
    /// The errors noted on the latest transfer attempt, as stored.
    pub transfer_errors: Option<String>,
}

/// The queries the report runs, by name (`tests/it/status.rs` checks each plan).
pub mod sql {
    pub const INVOICES_BY_STATUS: &str =
        "SELECT status, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT)
         FROM invoices GROUP BY status ORDER BY status NULLS FIRST";

    /// `ours` and `settled` are kept by triggers (migration 7).
    pub const CREDIT_TOTALS: &str = "SELECT c.ours,
                COUNT(*), CAST(COALESCE(SUM(c.amount), 0) AS BIGINT), CAST(COALESCE(SUM(c.fee), 0) AS BIGINT),
                CAST(COALESCE(SUM(c.net), 0) AS BIGINT)
         FROM credits c GROUP BY c.ours ORDER BY c.ours";

    pub const TRANSFERS_BY_STATUS: &str =
        "SELECT status, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(fee), 0) AS BIGINT)
         FROM transfers GROUP BY status ORDER BY status";

    pub const CAMPAIGN_BATCHES: &str =
        "SELECT slot, status FROM batches WHERE campaign_id = ?1 ORDER BY slot";

    /// Ours, not skipped, recorded before the cutoff, no successful transfer.
    pub const STALE_CREDITS: &str = "SELECT c.invoice_id, c.net, c.recorded_at,
                (SELECT t.status FROM transfers t WHERE t.invoice_id = c.invoice_id ORDER BY t.attempt DESC LIMIT 1),
                (SELECT t.errors FROM transfers t WHERE t.invoice_id = c.invoice_id ORDER BY t.attempt DESC LIMIT 1),
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

    /// Invoices of this ledger with more than one transfer the bank holds and has not failed.
    pub const PAID_MORE_THAN_ONCE: &str =
        "SELECT t.invoice_id, COUNT(*), CAST(SUM(t.amount) AS BIGINT),
                string_agg(t.external_id, ', ' ORDER BY t.attempt), COUNT(*) OVER ()
         FROM transfers t JOIN invoices i ON i.invoice_id = t.invoice_id
         WHERE t.status IN ('created', 'processing', 'success')
         GROUP BY t.invoice_id HAVING COUNT(*) > 1
         ORDER BY t.invoice_id LIMIT ?1";

    pub const OPEN_BATCH_ROWS: &str =
        "SELECT campaign_id, slot, tag, status, due_at, unclear_since, errors, COUNT(*) OVER ()
         FROM batches WHERE status IN ('planned', 'sending') ORDER BY campaign_id, slot LIMIT ?1";

    pub const CANCELLED_EXTRAS: &str =
        "SELECT b.campaign_id, b.slot, b.tag, x.invoice_id, x.amount, x.cancelled_at, COUNT(*) OVER ()
         FROM cancelled_invoices x JOIN batches b ON b.id = x.batch_id
         ORDER BY x.cancelled_at, x.invoice_id LIMIT ?1";

    pub const LIST_INVOICES: &str =
        "SELECT i.campaign_id, b.slot, i.position, i.invoice_id, i.name, i.amount,
                COALESCE(i.status, 'planned'), c.net, i.updated_at
         FROM invoices i JOIN batches b ON b.id = i.batch_id
         LEFT JOIN credits c ON c.invoice_id = i.invoice_id
         ORDER BY i.rowid_ DESC LIMIT ?1";

    pub const LIST_TRANSFERS: &str = "SELECT id, invoice_id, attempt, external_id, amount, fee, status, transfer_id, errors, updated_at
         FROM transfers ORDER BY id DESC LIMIT ?1";

    statements![
        INVOICES_BY_STATUS,
        CREDIT_TOTALS,
        TRANSFERS_BY_STATUS,
        CAMPAIGN_BATCHES,
        STALE_CREDITS,
        FAILED_TRANSFERS,
        REJECTED_TRANSFERS,
        FOREIGN_CREDITS,
        SKIPPED_CREDITS,
        BATCHES_IN_STATUS,
        PAID_MORE_THAN_ONCE,
        OPEN_BATCH_ROWS,
        CANCELLED_EXTRAS,
        LIST_INVOICES,
        LIST_TRANSFERS,
        WAITING_CREDITS,
        STUCK_CREDITS,
    ];

    /// Credits of ours, unsettled and not skipped, that no run will forward by itself: no
    /// attempt is live (each one failed or was rejected) and one was rejected or `?1` have
    /// failed. One row per credit, whatever its number of attempts; the count and the money at
    /// stake over all of them.
    pub const WAITING_CREDITS: &str = "SELECT c.invoice_id, c.net, c.recorded_at,
                (SELECT COUNT(*) FROM transfers t WHERE t.invoice_id = c.invoice_id),
                (SELECT t.status FROM transfers t WHERE t.invoice_id = c.invoice_id ORDER BY t.attempt DESC LIMIT 1),
                COUNT(*) OVER (), CAST(SUM(c.net) OVER () AS BIGINT)
         FROM credits c
         WHERE c.ours = 1 AND c.settled = 0 AND c.skip_reason IS NULL
           AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id
                           AND t.status NOT IN ('failed', 'rejected'))
           AND (EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id AND t.status = 'rejected')
                OR (SELECT COUNT(*) FROM transfers t WHERE t.invoice_id = c.invoice_id) >= ?1)
         ORDER BY c.recorded_at, c.invoice_id LIMIT ?2";

    /// Credits of ours recorded before `?1`, unsettled and not skipped, that nobody moves: no
    /// transfer of theirs is at the bank (`created` or `processing`: the bank is paying it)
    /// and they do not wait for the operator (see [`WAITING_CREDITS`]). Counted, with their
    /// money.
    pub const STUCK_CREDITS: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(c.net), 0) AS BIGINT)
         FROM credits c
         WHERE c.ours = 1 AND c.settled = 0 AND c.skip_reason IS NULL AND c.recorded_at < ?1
           AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id
                           AND t.status IN ('created', 'processing'))
           AND NOT (NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id
                                AND t.status NOT IN ('failed', 'rejected'))
                    AND (EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id AND t.status = 'rejected')
                         OR (SELECT COUNT(*) FROM transfers t WHERE t.invoice_id = c.invoice_id) >= ?2))";
}

/// A credit of ours that waits for the operator: its transfers all failed or were rejected
/// and no run opens another attempt by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingCredit {
    pub invoice_id: String,
    pub net: i64,
    pub recorded_at: String,
    /// Attempts made (each failed or rejected).
    pub attempts: i64,
    /// The latest attempt's status (`failed` or `rejected`).
    pub last_status: Option<String>,
}

/// Credits (or anything) counted with the money they hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CountAmount {
    pub count: i64,
    pub amount: i64,
}

/// A limit as SQLite binds it.
pub(super) fn bound(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Db<'_> {
    /// Invoices by status (`planned` = not issued yet, no status from the bank), by status.
    pub(crate) fn invoice_totals(&self) -> Result<Vec<StatusTotal>, LedgerError> {
        self.rows(sql::INVOICES_BY_STATUS, args![], |r| {
            Ok(StatusTotal {
                status: r
                    .get::<Option<String>>(0)?
                    .unwrap_or_else(|| "planned".into()),
                count: r.get(1)?,
                amount: r.get(2)?,
            })
        })
    }

    /// Credits of ours and foreign ones: count, gross, fees and net.
    pub(crate) fn credit_totals(&self) -> Result<CreditTotals, LedgerError> {
        self.q((|| {
            let mut credits = CreditTotals::default();
            for r in self.conn.query(sql::CREDIT_TOTALS, args![])? {
                let totals = MoneyTotals {
                    count: r.get(1)?,
                    gross: r.get(2)?,
                    fees: r.get(3)?,
                    net: r.get(4)?,
                };
                if r.get::<bool>(0)? {
                    credits.ours = totals;
                } else {
                    credits.foreign = totals;
                }
            }
            Ok(credits)
        })())
    }

    /// Transfer attempts by status.
    pub(crate) fn transfer_totals(&self) -> Result<Vec<TransferTotal>, LedgerError> {
        self.rows(sql::TRANSFERS_BY_STATUS, args![], TransferTotal::from_row)
    }

    /// The most recent campaign with the status of each of its batches, if there is one.
    pub(crate) fn campaign_progress(&self) -> Result<Option<CampaignProgress>, LedgerError> {
        let Some(campaign) = self.latest_campaign()? else {
            return Ok(None);
        };
        let batches = self.rows(sql::CAMPAIGN_BATCHES, args![campaign.id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(Some(CampaignProgress { campaign, batches }))
    }

    /// Credits of ours, not skipped, without a successful transfer, recorded before `cutoff`:
    /// oldest first, the first `limit` of them and how many there are in all.
    pub(crate) fn unsettled_credits_recorded_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Group<UnsettledCredit>, LedgerError> {
        self.group(sql::STALE_CREDITS, args![ts(cutoff), bound(limit)], |r| {
            let recorded_at: String = r.get(2)?;
            Ok(UnsettledCredit {
                invoice_id: r.get(0)?,
                net: r.get(1)?,
                recorded: parse_ts(&recorded_at)?,
                recorded_at,
                transfer_status: r.get(3)?,
                transfer_errors: r.get(4)?,
            })
        })
    }

    /// The credits that wait for the operator (see [`sql::WAITING_CREDITS`]), oldest first:
    /// the first `limit` of them, and the count and net money of all.
    pub fn waiting_credits(
        &self,
        max_attempts: u32,
        limit: usize,
    ) -> Result<(Group<WaitingCredit>, i64), LedgerError> {
        let mut sum = 0;
        let mut total = 0;
        let items = self.rows(
            sql::WAITING_CREDITS,
            args![max_attempts, bound(limit)],
            |r| {
                total = r.get(5)?;
                sum = r.get::<Option<i64>>(6)?.unwrap_or(0);
                Ok(WaitingCredit {
                    invoice_id: r.get(0)?,
                    net: r.get(1)?,
                    recorded_at: r.get(2)?,
                    attempts: r.get(3)?,
                    last_status: r.get(4)?,
                })
            },
        )?;
        Ok((Group { total, items }, sum))
    }

    /// Credits recorded before `cutoff`, unsettled, that do not wait for the operator.
    pub(crate) fn stuck_credits(
        &self,
        cutoff: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<CountAmount, LedgerError> {
        Ok(self
            .row(sql::STUCK_CREDITS, args![ts(cutoff), max_attempts], |r| {
                Ok(CountAmount {
                    count: r.get(0)?,
                    amount: r.get(1)?,
                })
            })?
            .unwrap_or_default())
    }

    /// Transfer attempts that wait for the operator, of one kind, in claim order.
    pub(crate) fn transfer_issues(
        &self,
        kind: TransferIssueKind,
        limit: usize,
    ) -> Result<Group<TransferIssue>, LedgerError> {
        self.capped(kind.sql(), limit, TransferIssue::from_row)
    }

    /// The first `limit` foreign credits, oldest first (their number is in
    /// [`Db::credit_totals`]).
    pub(crate) fn foreign_credit_rows(&self, limit: usize) -> Result<Vec<CreditRow>, LedgerError> {
        self.rows(
            sql::FOREIGN_CREDITS,
            args![bound(limit)],
            CreditRow::from_row,
        )
    }

    /// Credits with nothing to forward, oldest first.
    pub(crate) fn skipped_credit_rows(
        &self,
        limit: usize,
    ) -> Result<Group<CreditRow>, LedgerError> {
        self.capped(sql::SKIPPED_CREDITS, limit, CreditRow::from_row)
    }

    /// Batches of every campaign in `status`, by campaign and slot.
    pub(crate) fn batch_issues(
        &self,
        status: BatchStatus,
        limit: usize,
    ) -> Result<Group<BatchIssue>, LedgerError> {
        self.group(
            sql::BATCHES_IN_STATUS,
            args![status.as_str(), bound(limit)],
            BatchIssue::from_row,
        )
    }

    /// The first `limit` rows of one of `status`'s lists ([`Listing`]), with their number.
    pub(crate) fn listing<T: Listing>(&self, limit: usize) -> Result<Group<T>, LedgerError> {
        self.capped(T::SQL, limit, T::from_row)
    }

    /// The most recent invoices (newest first).
    pub fn recent_invoices(&self, limit: u32) -> Result<Vec<InvoiceRow>, LedgerError> {
        self.rows(sql::LIST_INVOICES, args![limit], InvoiceRow::from_row)
    }

    /// The most recent transfer attempts (newest first).
    pub fn recent_transfers(&self, limit: u32) -> Result<Vec<TransferListRow>, LedgerError> {
        self.rows(sql::LIST_TRANSFERS, args![limit], TransferListRow::from_row)
    }
}

/// A list `status` shows, capped: one row type, read by its own statement (whose last column
/// is `COUNT(*) OVER ()`, whose only parameter is the LIMIT).
pub(crate) trait Listing: FromRow {
    const SQL: &'static str;
}

/// Invoices of this ledger with more than one live transfer at the bank, by invoice id.
impl Listing for PaidTwice {
    const SQL: &'static str = sql::PAID_MORE_THAN_ONCE;
}

/// Open batches of every campaign, by campaign and slot.
impl Listing for OpenBatch {
    const SQL: &'static str = sql::OPEN_BATCH_ROWS;
}

/// Extras cancelled under batch tags, oldest first.
impl Listing for CancelledExtra {
    const SQL: &'static str = sql::CANCELLED_EXTRAS;
}

impl Db<'_> {
    /// Run an attention query: its last column is `COUNT(*) OVER ()` (the count before
    /// LIMIT), its only parameter the LIMIT.
    pub(super) fn capped<T>(
        &self,
        sql: &str,
        limit: usize,
        f: impl Fn(&Row) -> SqlResult<T>,
    ) -> Result<Group<T>, LedgerError> {
        self.group(sql, args![bound(limit)], f)
    }

    /// Run a query whose last column is `COUNT(*) OVER ()` (the count before LIMIT).
    fn group<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        f: impl Fn(&Row) -> SqlResult<T>,
    ) -> Result<Group<T>, LedgerError> {
        self.q((|| {
            let mut g = Group::default();
            for r in self.conn.query(sql, args)? {
                g.total = r.get(r.len().saturating_sub(1))?;
                g.items.push(f(&r)?);
            }
            Ok(g)
        })())
    }
}

/// Errors are stored as the bank's JSON text.
impl FromSql for StoredErrors {
    fn from_value(v: &Value) -> Result<Self, String> {
        String::from_value(v).map(StoredErrors::parse)
    }
}

/// A 0-based slot or position as the operator counts it.
fn one_based(n: u32) -> u32 {
    n + 1
}

from_row!(TransferTotal {
    status,
    count,
    amount,
    fee
});
from_row!(TransferIssue {
    invoice_id,
    external_id,
    attempt,
    amount,
    errors,
    updated_at
});
from_row!(CreditRow {
    invoice_id,
    amount,
    fee,
    recorded_at,
    skip_reason
});
from_row!(BatchIssue {
    campaign_id,
    batch: one_based,
    tag,
    due_at,
    errors
});
from_row!(PaidTwice {
    invoice_id,
    transfers,
    amount,
    external_ids
});
from_row!(OpenBatch {
    campaign_id,
    batch: one_based,
    tag,
    status,
    due_at,
    unclear_since,
    errors
});
from_row!(CancelledExtra {
    campaign_id,
    batch: one_based,
    tag,
    invoice_id,
    amount,
    cancelled_at
});
from_row!(InvoiceRow {
    campaign_id,
    batch: one_based,
    position: one_based,
    invoice_id,
    name,
    amount,
    status,
    credited_net,
    updated_at,
});
from_row!(TransferListRow {
    id,
    invoice_id,
    attempt,
    external_id,
    amount,
    fee,
    status,
    transfer_id,
    errors,
    updated_at,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::on_scratch_db;

    fn item(code: &str, message: &str) -> ApiErrorItem {
        ApiErrorItem {
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn stored_errors_parse_the_api_list_and_keep_anything_else_as_text() {
        let e = StoredErrors::parse(
            r#"[{"code":"invalidAmount","message":"too much"},{"code":"x","message":"y"}]"#.into(),
        );
        assert_eq!(
            e.items(),
            [item("invalidAmount", "too much"), item("x", "y")]
        );
        for text in [
            "connection reset",
            "[]",
            r#"[{"code":"noMessage"}]"#,
            r#"{"code":"a","message":"b"}"#,
        ] {
            let e = StoredErrors::parse(text.into());
            assert!(e.items().is_empty(), "{text}");
            assert_eq!(e.raw(), text);
        }
        let json = |text: &str| serde_json::to_string(&StoredErrors::parse(text.into())).unwrap();
        assert_eq!(
            json(r#"[{"code":"a","message":"b"}]"#),
            r#"[{"code":"a","message":"b"}]"#,
            "serialized as a list, not as a string holding one"
        );
        assert_eq!(json("[]"), "[]");
        assert_eq!(
            json("connection reset"),
            r#"[{"code":"unparsed","message":"connection reset"}]"#
        );
    }

    #[test]
    fn statement_names_are_unique_across_the_store() {
        let all = crate::ledger::statements();
        let mut names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "duplicate statement names");
        for (name, _) in sql::ALL {
            assert!(
                names.contains(name),
                "{name} is not in ledger::statements()"
            );
        }
    }

    #[test]
    fn an_empty_ledger_reports_nothing() {
        on_scratch_db(|db, _| {
            assert!(db.campaign_progress().unwrap().is_none());
            assert!(db.invoice_totals().unwrap().is_empty());
            assert_eq!(db.credit_totals().unwrap(), CreditTotals::default());
            assert!(db.transfer_totals().unwrap().is_empty());
            assert!(
                db.unsettled_credits_recorded_before(Utc::now(), 10)
                    .unwrap()
                    .is_empty()
            );
            assert!(db.batch_issues(BatchStatus::Missed, 10).unwrap().is_empty());
            assert!(db.recent_invoices(10).unwrap().is_empty());
            assert!(db.recent_transfers(10).unwrap().is_empty());
        })
    }
}
