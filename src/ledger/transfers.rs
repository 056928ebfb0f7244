//! Transfers: one row per attempt to forward a credit, claimed with the exact element to send
//! (a deterministic `externalId`, unique per invoice and attempt), leased while a process
//! sends it, and settled with what the bank says.

use super::SqlResult;
use super::conn::{FromSql, Value};
use chrono::{DateTime, Utc};

use super::lease::{self, LeaseTable};
use super::report::StoredErrors;
use super::ts;
use super::{Db, FromRow, LedgerError, Tx};
use crate::api::model::{ApiErrorItem, Transfer};

/// Where a transfer attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    /// Claimed with its exact element; never sent.
    Claimed,
    /// A POST may have been made: look it up (by tag, compared by `externalId`) before
    /// sending again.
    Sending,
    /// The bank holds it (its answer, a lookup or an event said so); not final yet.
    Created,
    /// The bank is paying it (also what an unknown bank status becomes: still open).
    Processing,
    /// Paid. Final.
    Success,
    /// The bank confirmed it failed (or canceled it). Final; frees the credit for a new
    /// attempt.
    Failed,
    /// The API refused this one element (400); the errors are kept and the credit waits for
    /// the operator (`transfer-credited --retry`).
    Rejected,
}

impl TransferStatus {
    /// Every status, in the order of the life of an attempt.
    pub const ALL: [TransferStatus; 7] = [
        TransferStatus::Claimed,
        TransferStatus::Sending,
        TransferStatus::Created,
        TransferStatus::Processing,
        TransferStatus::Success,
        TransferStatus::Failed,
        TransferStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Claimed => "claimed",
            TransferStatus::Sending => "sending",
            TransferStatus::Created => "created",
            TransferStatus::Processing => "processing",
            TransferStatus::Success => "success",
            TransferStatus::Failed => "failed",
            TransferStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Ours for a status word of the bank's: `canceled` counts as failed, and a word we do not
    /// know as still processing (it stays open and is refreshed).
    pub fn from_bank(status: &str) -> Self {
        match status {
            "created" => TransferStatus::Created,
            "processing" => TransferStatus::Processing,
            "success" => TransferStatus::Success,
            "failed" | "canceled" => TransferStatus::Failed,
            _ => TransferStatus::Processing,
        }
    }

    /// This attempt may still pay, or has paid: the operator's retry is refused while one
    /// exists.
    pub fn is_paying(self) -> bool {
        self.is_open() || self == TransferStatus::Success
    }

    /// No new attempt is made automatically while an attempt in this status exists: it may
    /// still pay or has paid, or (rejected) it waits for the operator.
    pub fn is_live(self) -> bool {
        self.is_paying() || self == TransferStatus::Rejected
    }

    /// Still has work to do (to send, or to hear the bank's final word about).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TransferStatus::Claimed
                | TransferStatus::Sending
                | TransferStatus::Created
                | TransferStatus::Processing
        )
    }

    /// The bank's word is final.
    pub fn is_final(self) -> bool {
        matches!(self, TransferStatus::Success | TransferStatus::Failed)
    }
}

/// A stored status; text that is none is a conversion failure.
impl FromSql for TransferStatus {
    fn from_value(v: &Value) -> Result<Self, String> {
        let s = String::from_value(v)?;
        TransferStatus::parse(&s).ok_or_else(|| format!("bad transfer status {s}"))
    }
}

impl std::fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The statuses of [`TransferStatus::is_live`], for SQL (a unit test keeps them equal).
macro_rules! live_statuses {
    () => {
        "'claimed', 'sending', 'created', 'processing', 'success', 'rejected'"
    };
}

/// The statuses of [`TransferStatus::is_paying`], for SQL (a unit test keeps them equal).
macro_rules! paying_statuses {
    () => {
        "'claimed', 'sending', 'created', 'processing', 'success'"
    };
}

/// The statuses of [`TransferStatus::is_open`], for SQL (a unit test keeps them equal).
macro_rules! open_statuses {
    () => {
        "'claimed', 'sending', 'created', 'processing'"
    };
}

macro_rules! transfer_cols {
    () => {
        "id, invoice_id, attempt, external_id, tag, amount, body, status, transfer_id"
    };
}

/// The transfer statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const CREDITS_NEEDING_TRANSFER: &str = concat!(
        "SELECT invoice_id, net, attempts FROM (
           SELECT c.invoice_id, c.net, c.recorded_at,
                  (SELECT COALESCE(MAX(t.attempt), 0) FROM transfers t WHERE t.invoice_id = c.invoice_id) AS attempts
           FROM credits c
           WHERE c.ours = 1 AND c.skip_reason IS NULL AND c.net > 0
             AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.invoice_id = c.invoice_id AND t.status IN (",
        live_statuses!(),
        "))) AS due
         WHERE attempts < ?1
         ORDER BY recorded_at, invoice_id"
    );
    pub const INSERT_CLAIM: &str = "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'claimed', ?7, ?7) ON CONFLICT DO NOTHING";
    pub const LEASE_UNSENT: &str = concat!(
        "SELECT ",
        transfer_cols!(),
        " FROM transfers
         WHERE status IN ('claimed', 'sending') AND id > ?3
           AND (lease_until IS NULL OR (lease_until <= ?1 AND COALESCE(lease_owner, '') NOT IN (SELECT value FROM json_each(?4))))
         ORDER BY id LIMIT ?2"
    );
    /// [`LEASE_UNSENT`] on PostgreSQL: its JSON function, and rows another transaction has
    /// locked are skipped rather than waited for (`FOR UPDATE SKIP LOCKED`).
    pub const LEASE_UNSENT_PG: &str = concat!(
        "SELECT ",
        transfer_cols!(),
        " FROM transfers
         WHERE status IN ('claimed', 'sending') AND id > ?3
           AND (lease_until IS NULL OR (lease_until <= ?1 AND COALESCE(lease_owner, '') NOT IN (SELECT value FROM json_array_elements_text(CAST(CAST(?4 AS TEXT) AS json)))))
         ORDER BY id LIMIT ?2 FOR UPDATE SKIP LOCKED"
    );
    pub const TAKE_TRANSFER_LEASE: &str = "UPDATE transfers SET status = 'sending', lease_until = ?2, lease_owner = ?4, updated_at = ?3 WHERE id = ?1";
    /// Renew and release only by the owner: a holder whose lease was taken over touches
    /// nothing.
    pub const RENEW_TRANSFER_LEASE: &str =
        "UPDATE transfers SET lease_until = ?2 WHERE id = ?1 AND lease_owner = ?3";
    pub const RELEASE_TRANSFER_LEASE: &str =
        "UPDATE transfers SET lease_until = NULL WHERE id = ?1 AND lease_owner = ?2";
    pub const APPLY_BANK_TRANSFER: &str = "UPDATE transfers SET transfer_id = ?2, status = ?3, fee = ?4, lease_until = NULL,
                updated_at = ?5, sent_at = COALESCE(sent_at, ?5), settled_at = COALESCE(settled_at, ?6)
         WHERE external_id = ?1 AND status NOT IN ('success', 'failed')
         RETURNING invoice_id";
    pub const MARK_TRANSFER_REJECTED: &str = "UPDATE transfers SET status = 'rejected', errors = ?2, lease_until = NULL, updated_at = ?3 WHERE id = ?1 AND status IN ('claimed', 'sending')";
    /// Releases the lease only for its owner (`?4`).
    pub const NOTE_TRANSFER_ERROR: &str = "UPDATE transfers SET errors = ?2, lease_until = CASE WHEN lease_owner = ?4 THEN NULL ELSE lease_until END, updated_at = ?3 WHERE id = ?1";
    pub const UNSETTLED_TRANSFER_IDS: &str = "SELECT transfer_id FROM transfers WHERE status IN ('created', 'processing') AND transfer_id IS NOT NULL ORDER BY id";
    pub const OPEN_TRANSFER_COUNT: &str = concat!(
        "SELECT COUNT(*) FROM transfers WHERE status IN (",
        open_statuses!(),
        ")"
    );
    pub const TRANSFER_BY_EXTERNAL_ID: &str = concat!(
        "SELECT ",
        transfer_cols!(),
        " FROM transfers WHERE external_id = ?1"
    );
    /// An attempt of the invoice that may still pay or has paid (the operator's retry).
    pub const PAYING_TRANSFER_OF_INVOICE: &str = concat!(
        "SELECT external_id, status FROM transfers WHERE invoice_id = ?1
                 AND status IN (",
        paying_statuses!(),
        ") LIMIT 1"
    );
    /// The highest attempt number of the invoice (an adopted transfer may skip numbers).
    pub const TRANSFER_ATTEMPTS: &str =
        "SELECT COALESCE(MAX(attempt), 0) FROM transfers WHERE invoice_id = ?1";
    /// A claim the bank never saw goes back to `claimed` (a request-level refusal, a lookup
    /// that failed before its first POST).
    pub const REOPEN_TRANSFER_CLAIM: &str = "UPDATE transfers SET status = 'claimed', lease_until = NULL WHERE id = ?1 AND status = 'sending' AND transfer_id IS NULL AND lease_owner = ?2";
    /// A claim never sent, superseded by a live transfer the bank already holds for the
    /// invoice: withdrawn (it never existed anywhere but here).
    pub const WITHDRAW_TRANSFER_CLAIM: &str = "DELETE FROM transfers WHERE id = ?1 AND status IN ('claimed', 'sending') AND transfer_id IS NULL";
    pub const TRANSFER_ERRORS: &str = "SELECT errors FROM transfers WHERE id = ?1";
    /// The operator's retry of a row that may have been sent, that the bank refuses and does
    /// not hold: closed as `rejected` (its note kept) so that a new attempt can be claimed.
    pub const CLOSE_UNRESOLVED_TRANSFER: &str = "UPDATE transfers SET status = 'rejected', lease_until = NULL, lease_owner = NULL, updated_at = ?2
         WHERE id = ?1 AND status = 'sending' AND transfer_id IS NULL AND (lease_until IS NULL OR lease_until <= ?3)";
    pub const ATTEMPT_TAKEN: &str = "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM transfers WHERE invoice_id = ?1 AND attempt = ?2) THEN 1 ELSE 0 END AS BIGINT)";
    /// A transfer the bank holds under the invoice's tag that this ledger did not know (a
    /// restored or copied ledger): recorded as its own attempt.
    pub const INSERT_ADOPTED: &str = "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, transfer_id, fee, created_at, updated_at, sent_at, settled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10, ?11) ON CONFLICT DO NOTHING";

    statements![
        CREDITS_NEEDING_TRANSFER,
        INSERT_CLAIM,
        LEASE_UNSENT,
        TAKE_TRANSFER_LEASE,
        RENEW_TRANSFER_LEASE,
        RELEASE_TRANSFER_LEASE,
        APPLY_BANK_TRANSFER,
        MARK_TRANSFER_REJECTED,
        NOTE_TRANSFER_ERROR,
        UNSETTLED_TRANSFER_IDS,
        OPEN_TRANSFER_COUNT,
        TRANSFER_BY_EXTERNAL_ID,
        PAYING_TRANSFER_OF_INVOICE,
        TRANSFER_ATTEMPTS,
        REOPEN_TRANSFER_CLAIM,
        WITHDRAW_TRANSFER_CLAIM,
        TRANSFER_ERRORS,
        CLOSE_UNRESOLVED_TRANSFER,
        ATTEMPT_TAKEN,
        INSERT_ADOPTED,
    ];
}

/// A transfer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransferRow {
    pub id: i64,
    pub invoice_id: String,
    pub attempt: u32,
    pub external_id: String,
    pub tag: String,
    pub amount: i64,
    /// The exact element claimed, sent as is (`api::model::transfer_element`).
    pub body: String,
    pub status: TransferStatus,
    pub transfer_id: Option<String>,
}

from_row!(TransferRow {
    id,
    invoice_id,
    attempt,
    external_id,
    tag,
    amount,
    body,
    status,
    transfer_id
});

/// A credit of ours that needs a (new) transfer attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditDue {
    pub invoice_id: String,
    pub net: i64,
    /// Attempts made so far (the next one is `attempts + 1`).
    pub attempts: u32,
}

/// Attempt `attempt` of a credit's transfer, to claim with the exact element to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewTransfer<'a> {
    pub invoice_id: &'a str,
    pub attempt: u32,
    pub external_id: &'a str,
    pub tag: &'a str,
    pub amount: i64,
    pub body: &'a str,
}

/// What recording the bank's view of a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BankTransferUpdate {
    /// One of our attempts took the bank's state.
    Changed { invoice_id: String },
    /// One of our attempts, already final here: nothing changed.
    Unchanged,
    /// Not a transfer this ledger made.
    Unknown,
}

impl Db<'_> {
    /// Credits of ours that need a (new) transfer attempt: net > 0, no live attempt, fewer than
    /// `max_attempts` attempts so far.
    pub fn credits_needing_transfer(
        &self,
        max_attempts: u32,
    ) -> Result<Vec<CreditDue>, LedgerError> {
        self.rows(sql::CREDITS_NEEDING_TRANSFER, args![max_attempts], |r| {
            Ok(CreditDue {
                invoice_id: r.get(0)?,
                net: r.get(1)?,
                attempts: r.get(2)?,
            })
        })
    }

    /// Claim an attempt of a credit's transfer, storing the exact element to send. `false` if
    /// that attempt exists already (another process claimed it).
    pub(crate) fn claim_transfer(
        &self,
        t: &NewTransfer<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.exec(
            sql::INSERT_CLAIM,
            args![
                t.invoice_id,
                t.attempt,
                t.external_id,
                t.tag,
                t.amount,
                t.body,
                ts(now)
            ],
        )
        .map(|n| n == 1)
    }

    /// Clear this process's leases on these rows (each statement commits on its own outside a
    /// transaction); a row another process took over keeps its new owner's lease.
    pub(crate) fn release_transfer_leases(&self, ids: &[i64]) -> Result<(), LedgerError> {
        self.exec_each_as_owner(sql::RELEASE_TRANSFER_LEASE, ids)
    }

    /// Extend this process's leases on these rows until `until` (real Unix time), before each
    /// POST. The ids of the rows it no longer holds (another process took them over): those
    /// leases are lost, and nothing more may be sent for them.
    pub(crate) fn renew_transfer_leases(
        &self,
        ids: &[i64],
        until: i64,
    ) -> Result<Vec<i64>, LedgerError> {
        let owner = lease::owner_id();
        let mut lost = Vec::new();
        for id in ids {
            if self.exec(sql::RENEW_TRANSFER_LEASE, args![id, until, owner])? == 0 {
                lost.push(*id);
            }
        }
        Ok(lost)
    }

    /// Record what the bank holds for one of our transfers (from a create answer, a lookup, a
    /// refresh or an event), matched by external id. Returns the row's invoice id if it
    /// changed (a row already final does not).
    pub(crate) fn apply_bank_transfer(
        &self,
        t: &Transfer,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, LedgerError> {
        let status = TransferStatus::from_bank(&t.status);
        let settled = status.is_final().then(|| ts(now));
        self.row(
            sql::APPLY_BANK_TRANSFER,
            args![
                t.external_id,
                t.id,
                status.as_str(),
                t.fee,
                ts(now),
                settled
            ],
            |r| r.get(0),
        )
    }

    /// [`Db::apply_bank_transfer`], telling an attempt already final from a transfer this
    /// ledger never made.
    pub(crate) fn record_bank_transfer(
        &self,
        t: &Transfer,
        now: DateTime<Utc>,
    ) -> Result<BankTransferUpdate, LedgerError> {
        if let Some(invoice_id) = self.apply_bank_transfer(t, now)? {
            return Ok(BankTransferUpdate::Changed { invoice_id });
        }
        Ok(match self.transfer_by_external_id(&t.external_id)? {
            Some(_) => BankTransferUpdate::Unchanged,
            None => BankTransferUpdate::Unknown,
        })
    }

    /// A single-element 400: the API's errors are kept; the credit waits for the operator.
    pub(crate) fn mark_transfer_rejected(
        &self,
        id: i64,
        errors: &[ApiErrorItem],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::MARK_TRANSFER_REJECTED,
            args![id, StoredErrors::encode(errors), ts(now)],
        )
        .map(drop)
    }

    /// Note an error on a transfer that stays open (it is looked up before any resend).
    pub(crate) fn note_transfer_error(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::NOTE_TRANSFER_ERROR,
            args![id, error, ts(now), lease::owner_id()],
        )
        .map(drop)
    }

    /// Bank ids of transfers not yet final (to refresh).
    pub(crate) fn unsettled_transfer_ids(&self) -> Result<Vec<String>, LedgerError> {
        self.rows(sql::UNSETTLED_TRANSFER_IDS, args![], |r| r.get(0))
    }

    /// Number of transfers still open (claimed, sending, created, processing).
    pub(crate) fn open_transfer_count(&self) -> Result<i64, LedgerError> {
        self.one(sql::OPEN_TRANSFER_COUNT, args![], |r| r.get(0))
    }

    pub(crate) fn transfer_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<TransferRow>, LedgerError> {
        self.row(
            sql::TRANSFER_BY_EXTERNAL_ID,
            args![external_id],
            TransferRow::from_row,
        )
    }

    /// An attempt of the invoice that may still pay or has paid: its external id and status.
    pub(crate) fn paying_transfer(
        &self,
        invoice_id: &str,
    ) -> Result<Option<(String, TransferStatus)>, LedgerError> {
        let row: Option<(String, String)> =
            self.row(sql::PAYING_TRANSFER_OF_INVOICE, args![invoice_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        row.map(
            |(external_id, status)| match TransferStatus::parse(&status) {
                Some(s) => Ok((external_id, s)),
                None => Err(self.bad_status(&status)),
            },
        )
        .transpose()
    }

    /// The highest attempt number of the invoice's credit (0 if none; the next is this + 1).
    pub(crate) fn transfer_attempts(&self, invoice_id: &str) -> Result<u32, LedgerError> {
        self.one(sql::TRANSFER_ATTEMPTS, args![invoice_id], |r| r.get(0))
    }

    /// The errors noted on a transfer row, as stored.
    pub(crate) fn transfer_errors(&self, id: i64) -> Result<Option<String>, LedgerError> {
        Ok(self
            .row(sql::TRANSFER_ERRORS, args![id], |r| {
                r.get::<Option<String>>(0)
            })?
            .flatten())
    }

    /// Close an unresolved row (`sending`, no bank id, no live lease) as `rejected`, for the
    /// operator's retry. `false` if it is not such a row (any more).
    pub(crate) fn close_unresolved_transfer(
        &self,
        id: i64,
        wall_now: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.exec(sql::CLOSE_UNRESOLVED_TRANSFER, args![id, ts(now), wall_now])
            .map(|n| n == 1)
    }

    /// Put claims the bank never saw back to `claimed` (rows that may have been sent stay
    /// `sending` and are looked up before any resend).
    pub(crate) fn reopen_transfer_claims(&self, ids: &[i64]) -> Result<(), LedgerError> {
        self.exec_each_as_owner(sql::REOPEN_TRANSFER_CLAIM, ids)
    }

    /// Withdraw (delete) a claim that was never sent, superseded by a live transfer the bank
    /// holds for the same invoice. `false` if the row is not a never-sent claim.
    pub(crate) fn withdraw_transfer_claim(&self, id: i64) -> Result<bool, LedgerError> {
        self.exec(sql::WITHDRAW_TRANSFER_CLAIM, args![id])
            .map(|n| n == 1)
    }

    /// Run a (cached) statement once for each of these row ids (`?1`), as this process, the
    /// lease owner (`?2`).
    fn exec_each_as_owner(&self, sql: &str, ids: &[i64]) -> Result<(), LedgerError> {
        let owner = lease::owner_id();
        for id in ids {
            self.exec(sql, args![id, owner])?;
        }
        Ok(())
    }

    fn bad_status(&self, status: &str) -> LedgerError {
        LedgerError::Corrupt {
            path: self.path.to_path_buf(),
            reason: format!("bad transfer status {status}"),
        }
    }
}

impl Tx<'_> {
    /// Take up to `limit` transfers after `after_id` that need sending (claimed) or checking
    /// (sending), whose lease is free: released, voided (leases of processes that are gone are
    /// voided first) or expired, but never held by an owner judged alive here.
    /// Returns them with the status they had, so `sending` ones are looked up first; they are
    /// all `sending` now, leased until `wall_now + lease_secs`.
    pub(crate) fn lease_unsent(
        &self,
        after_id: i64,
        wall_now: i64,
        lease_secs: i64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransferRow>, LedgerError> {
        self.q((|| {
            let alive = lease::reap(self.conn, LeaseTable::Transfers, wall_now)?;
            let rows: Vec<TransferRow> = self
                .conn
                .query(
                    self.conn.pick(sql::LEASE_UNSENT, sql::LEASE_UNSENT_PG),
                    args![wall_now, limit as i64, after_id, alive],
                )?
                .iter()
                .map(TransferRow::from_row)
                .collect::<SqlResult<_>>()?;
            let owner = lease::owner_id();
            for r in &rows {
                self.conn.execute(
                    sql::TAKE_TRANSFER_LEASE,
                    args![r.id, wall_now + lease_secs, ts(now), owner],
                )?;
            }
            Ok(rows)
        })())
    }
}

/// A live transfer the bank holds under an invoice's tag that the ledger did not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Adopted<'a> {
    pub invoice_id: &'a str,
    /// The invoice's transfer tag (the one it was found under).
    pub tag: &'a str,
    /// The attempt number its `externalId` carries, if it is one of this scheme's.
    pub attempt: Option<u32>,
}

impl Tx<'_> {
    /// Record a transfer the bank holds for the invoice that the ledger does not know as its
    /// own attempt row (its own number if free, else the next one). `false` if the ledger
    /// knew it after all.
    pub(crate) fn adopt_bank_transfer(
        &self,
        a: &Adopted<'_>,
        t: &Transfer,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.q((|| {
            let taken = |n: u32| -> SqlResult<bool> {
                match self
                    .conn
                    .query_opt(sql::ATTEMPT_TAKEN, args![a.invoice_id, n])?
                {
                    Some(r) => r.get(0),
                    None => Ok(false),
                }
            };
            let attempt = match a.attempt {
                Some(n) if n >= 1 && !taken(n)? => n,
                _ => {
                    let max: u32 = self
                        .conn
                        .query(sql::TRANSFER_ATTEMPTS, args![a.invoice_id])?
                        .first()
                        .map_or(Ok(0), |r| r.get(0))?;
                    max + 1
                }
            };
            let status = TransferStatus::from_bank(&t.status);
            let settled = status.is_final().then(|| ts(now));
            let body = serde_json::to_string(t).unwrap_or_default();
            let n = self.conn.execute(
                sql::INSERT_ADOPTED,
                args![
                    a.invoice_id,
                    attempt,
                    t.external_id,
                    a.tag,
                    t.amount,
                    body,
                    status.as_str(),
                    t.id,
                    t.fee,
                    ts(now),
                    settled
                ],
            )?;
            Ok(n == 1)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statuses a SQL list names, in order.
    fn listed(sql_list: &str) -> Vec<TransferStatus> {
        sql_list
            .split(',')
            .map(|s| TransferStatus::parse(s.trim().trim_matches('\'')).unwrap())
            .collect()
    }

    fn having(f: fn(TransferStatus) -> bool) -> Vec<TransferStatus> {
        TransferStatus::ALL.into_iter().filter(|s| f(*s)).collect()
    }

    #[test]
    fn statuses_round_trip_and_the_sql_lists_match_the_code() {
        for s in TransferStatus::ALL {
            assert_eq!(TransferStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TransferStatus::parse("canceled"), None);
        assert_eq!(listed(live_statuses!()), having(TransferStatus::is_live));
        assert_eq!(
            listed(paying_statuses!()),
            having(TransferStatus::is_paying)
        );
        assert_eq!(listed(open_statuses!()), having(TransferStatus::is_open));
    }

    #[test]
    fn bank_statuses_map_to_ours() {
        use TransferStatus::*;
        let cases = [
            ("created", Created),
            ("processing", Processing),
            ("success", Success),
            ("failed", Failed),
            ("canceled", Failed),
            ("scheduled", Processing),
            ("", Processing),
            ("SUCCESS", Processing),
        ];
        for (bank, ours) in cases {
            assert_eq!(TransferStatus::from_bank(bank), ours, "{bank:?}");
        }
    }

    fn bank_transfer(external_id: &str, status: &str) -> Transfer {
        serde_json::from_value(serde_json::json!({
            "id": format!("T-{external_id}"), "amount": 993, "name": "Stark Bank S.A.",
            "taxId": "20.018.183/0001-80", "bankCode": "20018183", "branchCode": "0001",
            "accountNumber": "6341320293482496", "accountType": "payment",
            "externalId": external_id, "tags": [], "status": status, "fee": 0,
            "created": "2026-11-26T12:00:00.000000+00:00"
        }))
        .unwrap()
    }

    /// Attempt 1 of invoice `100`'s transfer.
    fn first_claim() -> NewTransfer<'static> {
        NewTransfer {
            invoice_id: "100",
            attempt: 1,
            external_id: "x-100-a1",
            tag: "tag-100",
            amount: 993,
            body: "{}",
        }
    }

    #[test]
    fn transfer_leases_are_never_taken_from_a_live_owner_and_only_their_owner_renews_or_releases_them()
     {
        use crate::ledger::lease::testing::*;
        let (_dir, mut l) = crate::ledger::testing::ledger_with_invoice("paid", true);
        let now = Utc::now();
        assert!(l.db().claim_transfer(&first_claim(), now).unwrap());
        // Another connection to the same ledger, as another process would have.
        let raw = crate::ledger::Ledger::open(l.path()).unwrap();
        let set_lease = |owner: &str, until: i64| {
            raw.db()
                .exec(
                    "UPDATE transfers SET lease_owner = ?1, lease_until = ?2",
                    args![owner, until],
                )
                .unwrap()
        };
        let lease = || -> (String, Option<i64>) {
            raw.db()
                .row(
                    "SELECT lease_owner, lease_until FROM transfers",
                    args![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
                .unwrap()
        };
        let lease_at = |l: &mut crate::ledger::Ledger, wall| {
            l.write(|tx| tx.lease_unsent(0, wall, 300, 100, now))
                .unwrap()
        };
        let wall = 1_000_000;
        let rows = lease_at(&mut l, wall);
        assert_eq!(rows.len(), 1);
        let id = rows[0].id;
        // Expired by a stepped clock, but its owner (this process) is alive: not taken.
        assert!(lease_at(&mut l, wall + 100_000).is_empty());
        assert!(
            l.db()
                .renew_transfer_leases(&[id], wall + 600)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            lease(),
            (crate::ledger::lease::owner_id(), Some(wall + 600))
        );
        // Taken over by a process in another PID namespace: renewing matches nothing (lost),
        // releasing is a no-op, and its lease is waited out.
        set_lease(&other_namespace(), wall + 600);
        assert_eq!(
            l.db().renew_transfer_leases(&[id], wall + 900).unwrap(),
            vec![id]
        );
        l.db().release_transfer_leases(&[id]).unwrap();
        l.db().note_transfer_error(id, "timeout", now).unwrap();
        l.db().reopen_transfer_claims(&[id]).unwrap();
        assert_eq!(lease(), (other_namespace(), Some(wall + 600)));
        let status: String = raw
            .db()
            .one("SELECT status FROM transfers", args![], |r| r.get(0))
            .unwrap();
        assert_eq!(
            status, "sending",
            "reopened by a process that lost its lease"
        );
        assert!(lease_at(&mut l, wall + 599).is_empty());
        assert_eq!(lease_at(&mut l, wall + 600).len(), 1);
        // Its owner releases it.
        l.db().release_transfer_leases(&[id]).unwrap();
        assert_eq!(lease(), (crate::ledger::lease::owner_id(), None));
        // A process that is gone: void at once; one on another boot: waited out.
        set_lease(&dead_owner(), wall + 10_000);
        assert_eq!(lease_at(&mut l, wall + 601).len(), 1);
        set_lease(&other_boot(), wall + 10_000);
        assert!(lease_at(&mut l, wall + 602).is_empty());
    }

    #[test]
    fn an_attempt_is_claimed_once_leased_and_settled_by_the_bank() {
        let (_dir, mut l) = crate::ledger::testing::ledger_with_invoice("paid", true);
        let now = Utc::now();
        let due = l.db().credits_needing_transfer(3).unwrap();
        assert_eq!(
            due,
            vec![CreditDue {
                invoice_id: "100".into(),
                net: 993,
                attempts: 0
            }]
        );
        let claim = first_claim();
        assert!(l.db().claim_transfer(&claim, now).unwrap());
        assert!(!l.db().claim_transfer(&claim, now).unwrap());
        assert!(l.db().credits_needing_transfer(3).unwrap().is_empty());
        assert_eq!(l.db().transfer_attempts("100").unwrap(), 1);
        assert_eq!(
            l.db().paying_transfer("100").unwrap(),
            Some(("x-100-a1".to_string(), TransferStatus::Claimed))
        );
        let rows = l
            .write(|tx| tx.lease_unsent(0, 1_000, 300, 100, now))
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, TransferStatus::Claimed);
        // Leased: another run does not get it until the lease is released.
        assert!(
            l.write(|tx| tx.lease_unsent(0, 1_000, 300, 100, now))
                .unwrap()
                .is_empty()
        );
        l.db().release_transfer_leases(&[rows[0].id]).unwrap();
        let again = l
            .write(|tx| tx.lease_unsent(0, 1_000, 300, 100, now))
            .unwrap();
        assert_eq!(
            again[0].status,
            TransferStatus::Sending,
            "may have been sent"
        );
        assert_eq!(l.db().open_transfer_count().unwrap(), 1);

        let t = bank_transfer("x-100-a1", "processing");
        assert_eq!(
            l.db().record_bank_transfer(&t, now).unwrap(),
            BankTransferUpdate::Changed {
                invoice_id: "100".into()
            }
        );
        assert_eq!(l.db().unsettled_transfer_ids().unwrap(), ["T-x-100-a1"]);
        let t = bank_transfer("x-100-a1", "canceled");
        assert_eq!(
            l.db().apply_bank_transfer(&t, now).unwrap().as_deref(),
            Some("100")
        );
        let row = l.db().transfer_by_external_id("x-100-a1").unwrap().unwrap();
        assert_eq!(row.status, TransferStatus::Failed);
        assert_eq!(
            l.db().record_bank_transfer(&t, now).unwrap(),
            BankTransferUpdate::Unchanged,
            "final"
        );
        assert_eq!(
            l.db()
                .record_bank_transfer(&bank_transfer("someone-else", "success"), now)
                .unwrap(),
            BankTransferUpdate::Unknown
        );
        assert_eq!(l.db().open_transfer_count().unwrap(), 0);
        assert_eq!(l.db().paying_transfer("100").unwrap(), None);
        // Failed: the credit may have attempt 2.
        assert_eq!(l.db().credits_needing_transfer(3).unwrap()[0].attempts, 1);
        assert!(l.db().credits_needing_transfer(1).unwrap().is_empty());
    }

    #[test]
    fn a_live_transfer_the_ledger_did_not_know_is_adopted_and_the_unsent_claim_withdrawn() {
        let (_dir, mut l) = crate::ledger::testing::ledger_with_invoice("paid", true);
        let now = Utc::now();
        let claim = first_claim();
        assert!(l.db().claim_transfer(&claim, now).unwrap());
        let rows = l
            .write(|tx| tx.lease_unsent(0, 1_000, 300, 100, now))
            .unwrap();
        // A request-level refusal: back to claimed, sendable.
        l.db().reopen_transfer_claims(&[rows[0].id]).unwrap();
        let row = l.db().transfer_by_external_id("x-100-a1").unwrap().unwrap();
        assert_eq!(row.status, TransferStatus::Claimed);

        // The bank holds attempt 2 (made before a restore): adopted with its own number.
        let a2 = bank_transfer("x-100-a2", "processing");
        assert_eq!(
            l.db().record_bank_transfer(&a2, now).unwrap(),
            BankTransferUpdate::Unknown
        );
        let adopted = Adopted {
            invoice_id: "100",
            tag: "tag-100",
            attempt: Some(2),
        };
        assert!(
            l.write(|tx| tx.adopt_bank_transfer(&adopted, &a2, now))
                .unwrap()
        );
        assert!(
            !l.write(|tx| tx.adopt_bank_transfer(&adopted, &a2, now))
                .unwrap(),
            "known now"
        );
        let row = l.db().transfer_by_external_id("x-100-a2").unwrap().unwrap();
        assert_eq!((row.attempt, row.status), (2, TransferStatus::Processing));
        assert_eq!(row.transfer_id.as_deref(), Some("T-x-100-a2"));
        assert!(
            l.db().withdraw_transfer_claim(row.id).is_ok_and(|w| !w),
            "not a claim"
        );
        assert!(l.db().withdraw_transfer_claim(rows[0].id).unwrap());
        assert_eq!(l.db().transfer_by_external_id("x-100-a1").unwrap(), None);
        assert_eq!(
            l.db().transfer_attempts("100").unwrap(),
            2,
            "the highest number"
        );
        // A transfer whose number is taken gets the next one.
        let other = bank_transfer("someone-else", "created");
        assert!(
            l.write(|tx| tx.adopt_bank_transfer(&adopted, &other, now))
                .unwrap()
        );
        let row = l
            .db()
            .transfer_by_external_id("someone-else")
            .unwrap()
            .unwrap();
        assert_eq!(row.attempt, 3);
        assert!(
            l.db().credits_needing_transfer(5).unwrap().is_empty(),
            "live"
        );
    }
}
