//! Campaigns, batches and the invoices they issue.
//!
//! A batch is claimed by inserting it, with the exact request body, under
//! `UNIQUE(campaign_id, slot)`; a sender then takes a lease on it (`Tx::take_lease`), whose
//! `Claim` says whether the batch may already be at the bank (`Claim::LookUpFirst`).

use std::collections::HashSet;

use super::conn::{Conn, FromSql, Value};
use super::{Row, SqlResult};
use chrono::{DateTime, Duration, Utc};

use super::lease::{self, LeaseTable};
use super::report::StoredErrors;
use super::{Db, LedgerError, Tx, conversion, parse_ts, ts};
use crate::api::model::{ApiErrorItem, Invoice};
use crate::domain::campaign::CampaignSpec;
use crate::domain::schedule::Schedule;

/// A campaign as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Campaign {
    pub(crate) id: i64,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) spec: CampaignSpec,
}

impl Campaign {
    pub(crate) fn schedule(&self) -> Schedule {
        self.spec.schedule(self.started_at)
    }

    /// How many batches it has.
    pub(crate) fn slots(&self) -> u32 {
        self.spec.slots()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchStatus {
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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Planned => "planned",
            BatchStatus::Sending => "sending",
            BatchStatus::Issued => "issued",
            BatchStatus::Rejected => "rejected",
            BatchStatus::Missed => "missed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
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
    pub(crate) fn is_open(self) -> bool {
        matches!(self, BatchStatus::Planned | BatchStatus::Sending)
    }
}

/// A stored status; text that is none is a conversion failure.
impl FromSql for BatchStatus {
    fn from_value(v: &Value) -> Result<Self, String> {
        let s = String::from_value(v)?;
        BatchStatus::parse(&s).ok_or_else(|| format!("bad status {s}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) id: i64,
    pub(crate) campaign_id: i64,
    pub(crate) slot: u32,
    pub(crate) tag: String,
    pub(crate) status: BatchStatus,
    pub(crate) body: Option<String>,
    pub(crate) invoice_count: u32,
    pub(crate) total_amount: i64,
    pub(crate) attempts: u32,
    pub(crate) errors: Option<String>,
    pub(crate) lease_until: Option<i64>,
    pub(crate) due_at: DateTime<Utc>,
    /// Business time of the last POST that may have taken effect without a clear answer (or of
    /// finding the batch `sending` with no such record); `None` once the outcome is clear.
    pub(crate) unclear_since: Option<DateTime<Utc>>,
}

/// One invoice of a batch, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedInvoice {
    pub(crate) position: u32,
    pub(crate) name: String,
    pub(crate) tax_id: String,
    pub(crate) amount: i64,
}

/// A slot's batch about to be claimed: its tag, the exact body to send and its invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewBatch {
    pub(crate) slot: u32,
    pub(crate) tag: String,
    pub(crate) body: String,
    pub(crate) invoices: Vec<PlannedInvoice>,
}

/// The outcome of taking a batch's lease: what its new holder does first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Never sent: POST it.
    Send(Batch),
    /// A POST may have happened (an earlier attempt, or `sending` left by a crash): look the
    /// batch up by its tag before ever sending it again.
    LookUpFirst(Batch),
    /// Another live process holds it, or it is no longer open.
    Busy,
}

impl Claim {
    /// Decide from the row as it was before this lease (its status and attempts so far).
    fn taken(prior_status: BatchStatus, prior_attempts: u32, batch: Batch) -> Claim {
        if prior_status == BatchStatus::Sending || prior_attempts > 0 {
            Claim::LookUpFirst(batch)
        } else {
            Claim::Send(batch)
        }
    }
}

macro_rules! campaign_cols {
    () => {
        "id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount"
    };
}

macro_rules! batch_cols {
    () => {
        "id, campaign_id, slot, tag, status, body, invoice_count, total_amount, attempts, errors, lease_until, due_at, unclear_since"
    };
}

/// Every statement of the campaign, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const LATEST_CAMPAIGN: &str = concat!(
        "SELECT ",
        campaign_cols!(),
        " FROM campaigns ORDER BY id DESC LIMIT 1"
    );
    pub const CAMPAIGN: &str =
        concat!("SELECT ", campaign_cols!(), " FROM campaigns WHERE id = ?1");
    /// Numbered past both the ledger's campaigns and those the bank holds under its tags that
    /// the ledger does not have (`tagged_invoices`): a new campaign never takes the number,
    /// and so the tags, of a campaign a restored ledger forgot.
    pub const INSERT_CAMPAIGN: &str = "INSERT INTO campaigns(id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount, created_at)
         VALUES ((SELECT COALESCE(MAX(m), 0) + 1 FROM (SELECT MAX(id) AS m FROM campaigns UNION ALL SELECT MAX(campaign) FROM tagged_invoices) AS known),
                 ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         RETURNING id";
    pub const BATCHES: &str = concat!(
        "SELECT ",
        batch_cols!(),
        " FROM batches WHERE campaign_id = ?1 ORDER BY slot"
    );
    pub const BATCH: &str = concat!("SELECT ", batch_cols!(), " FROM batches WHERE id = ?1");
    pub const OPEN_BATCHES: &str = concat!(
        "SELECT ",
        batch_cols!(),
        " FROM batches WHERE status IN ('planned', 'sending') ORDER BY campaign_id, slot"
    );
    /// A missed slot is looked up once by its tag (`recheck_until` = now): a ledger restored
    /// from an older copy may have forgotten a batch the bank holds.
    pub const INSERT_MISSED: &str = "INSERT INTO batches(campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at, recheck_until)
         VALUES (?1, ?2, ?3, 'missed', 0, 0, ?4, ?5, ?5, ?5)
         ON CONFLICT DO NOTHING";
    pub const DELETE_MISSED: &str = "DELETE FROM batches WHERE id = ?1 AND status = 'missed'";
    pub const INSERT_PLANNED: &str = "INSERT INTO batches(campaign_id, slot, tag, status, body, invoice_count, total_amount, due_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'planned', ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT DO NOTHING RETURNING id";
    pub const INSERT_PLANNED_INVOICE: &str =
        "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    pub const CAMPAIGN_TAX_IDS: &str = "SELECT tax_id FROM invoices WHERE campaign_id = ?1";
    pub const TAKE_LEASE: &str = "UPDATE batches SET lease_until = ?2, lease_owner = ?5, status = 'sending', attempts = attempts + 1, updated_at = ?4
         WHERE id = ?1 AND status IN ('planned', 'sending')
           AND (lease_until IS NULL OR (lease_until <= ?3 AND COALESCE(lease_owner, '') NOT IN (SELECT value FROM json_each(?6))))";
    /// [`TAKE_LEASE`] on PostgreSQL (its JSON function).
    pub const TAKE_LEASE_PG: &str = "UPDATE batches SET lease_until = ?2, lease_owner = ?5, status = 'sending', attempts = attempts + 1, updated_at = ?4
         WHERE id = ?1 AND status IN ('planned', 'sending')
           AND (lease_until IS NULL OR (lease_until <= ?3 AND COALESCE(lease_owner, '') NOT IN (SELECT value FROM json_array_elements_text(CAST(CAST(?6 AS TEXT) AS json)))))";
    /// Only by its owner: a holder whose lease was taken over renews nothing.
    pub const RENEW_LEASE: &str =
        "UPDATE batches SET lease_until = ?2 WHERE id = ?1 AND lease_owner = ?3";
    pub const MATCH_ISSUED_INVOICE: &str = "UPDATE invoices SET invoice_id = ?1, status = ?2, created_at = ?3, updated_at = ?4
         WHERE rowid_ = (SELECT rowid_ FROM invoices WHERE batch_id = ?5 AND invoice_id IS NULL
                         AND replace(replace(tax_id, '.', ''), '-', '') = ?6 AND amount = ?7 ORDER BY position LIMIT 1)";
    pub const DROP_UNMATCHED_INVOICES: &str =
        "DELETE FROM invoices WHERE batch_id = ?1 AND invoice_id IS NULL";
    pub const INSERT_ADOPTED_INVOICE: &str = "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, created_at, updated_at)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(position) + 1, 0) FROM invoices WHERE batch_id = ?1), ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT DO NOTHING";
    pub const MARK_ISSUED: &str = "UPDATE batches SET status = 'issued', lease_until = NULL, errors = NULL, unclear_since = NULL, issued_at = ?2, updated_at = ?2,
             invoice_count = ?3, total_amount = ?4 WHERE id = ?1";
    pub const MARK_UNCLEAR: &str = "UPDATE batches SET unclear_since = ?2 WHERE id = ?1";
    pub const MARK_REJECTED: &str = "UPDATE batches SET status = 'rejected', lease_until = NULL, errors = ?2, updated_at = ?3 WHERE id = ?1";
    /// Releases the lease only for its owner (`?4`).
    pub const NOTE_ERROR: &str = "UPDATE batches SET errors = ?2, lease_until = CASE WHEN lease_owner = ?4 THEN NULL ELSE lease_until END, updated_at = ?3 WHERE id = ?1";
    pub const BATCH_BY_TAG: &str =
        concat!("SELECT ", batch_cols!(), " FROM batches WHERE tag = ?1");
    pub const BATCH_BY_SLOT: &str = concat!(
        "SELECT ",
        batch_cols!(),
        " FROM batches WHERE campaign_id = ?1 AND slot = ?2"
    );
    /// `--retry-batch`: a rejected batch (a per-element 400 proved nothing was done) becomes
    /// open again, to be looked up by its tag and sent with its stored body.
    pub const REOPEN_REJECTED: &str =
        "UPDATE batches SET status = 'planned', errors = NULL, unclear_since = NULL,
             lease_until = NULL, lease_owner = NULL, updated_at = ?2
         WHERE id = ?1 AND status = 'rejected'";
    /// Issued batches that the bank may still apply again, and missed slots the bank may hold
    /// after all: looked up by later ticks.
    pub const RECHECK_DUE: &str = "SELECT id, recheck_until FROM batches
         WHERE status IN ('issued', 'missed') AND recheck_until IS NOT NULL ORDER BY campaign_id, slot";
    pub const SET_RECHECK: &str = "UPDATE batches SET recheck_until = ?2 WHERE id = ?1";
    /// The ledger knows this invoice id: one of its invoices, or an extra it cancelled.
    pub const INVOICE_KNOWN: &str = "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM invoices WHERE invoice_id = ?1)
             OR EXISTS (SELECT 1 FROM cancelled_invoices WHERE invoice_id = ?1) THEN 1 ELSE 0 END AS BIGINT)";
    /// An extra invoice under a batch's tag, cancelled at the bank while unpaid.
    pub const INSERT_CANCELLED_INVOICE: &str =
        "INSERT INTO cancelled_invoices(invoice_id, batch_id, name, tax_id, amount, cancelled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

    statements![
        LATEST_CAMPAIGN,
        CAMPAIGN,
        INSERT_CAMPAIGN,
        BATCHES,
        BATCH,
        OPEN_BATCHES,
        INSERT_MISSED,
        DELETE_MISSED,
        INSERT_PLANNED,
        INSERT_PLANNED_INVOICE,
        CAMPAIGN_TAX_IDS,
        TAKE_LEASE,
        RENEW_LEASE,
        MATCH_ISSUED_INVOICE,
        DROP_UNMATCHED_INVOICES,
        INSERT_ADOPTED_INVOICE,
        MARK_ISSUED,
        MARK_UNCLEAR,
        MARK_REJECTED,
        NOTE_ERROR,
        BATCH_BY_TAG,
        BATCH_BY_SLOT,
        REOPEN_REJECTED,
        INSERT_CANCELLED_INVOICE,
        RECHECK_DUE,
        SET_RECHECK,
        INVOICE_KNOWN,
    ];
}

fn campaign_from_row(r: &Row) -> SqlResult<Campaign> {
    let every = Duration::seconds(r.get(2)?);
    let slots: u32 = r.get(3)?;
    let length = i32::try_from(slots)
        .ok()
        .and_then(|n| every.checked_mul(n))
        .ok_or_else(|| conversion(3, format!("a campaign of {slots} slots of {every}")))?;
    Ok(Campaign {
        id: r.get(0)?,
        started_at: parse_ts(&r.get::<String>(1)?)?,
        spec: CampaignSpec {
            every,
            length,
            min_invoices: r.get(4)?,
            max_invoices: r.get(5)?,
            min_amount: r.get(6)?,
            max_amount: r.get(7)?,
        },
    })
}

fn batch_from_row(r: &Row) -> SqlResult<Batch> {
    Ok(Batch {
        id: r.get(0)?,
        campaign_id: r.get(1)?,
        slot: r.get(2)?,
        tag: r.get(3)?,
        status: r.get(4)?,
        body: r.get(5)?,
        invoice_count: r.get(6)?,
        total_amount: r.get(7)?,
        attempts: r.get(8)?,
        errors: r.get(9)?,
        lease_until: r.get(10)?,
        due_at: parse_ts(&r.get::<String>(11)?)?,
        unclear_since: r
            .get::<Option<String>>(12)?
            .map(|s| parse_ts(&s))
            .transpose()?,
    })
}

/// The latest campaign over a connection (for reads that combine it with others in one
/// closure, such as the status read model's); callers outside use [`Db::latest_campaign`].
pub(super) fn latest_campaign(conn: Conn<'_>) -> SqlResult<Option<Campaign>> {
    conn.query_opt(sql::LATEST_CAMPAIGN, args![])?
        .as_ref()
        .map(campaign_from_row)
        .transpose()
}

fn batch(conn: Conn<'_>, id: i64) -> SqlResult<Option<Batch>> {
    conn.query_opt(sql::BATCH, args![id])?
        .as_ref()
        .map(batch_from_row)
        .transpose()
}

impl Db<'_> {
    /// The most recent campaign.
    pub(crate) fn latest_campaign(&self) -> Result<Option<Campaign>, LedgerError> {
        self.q(latest_campaign(self.conn))
    }

    /// A campaign by id.
    pub(crate) fn campaign(&self, id: i64) -> Result<Option<Campaign>, LedgerError> {
        self.row(sql::CAMPAIGN, args![id], campaign_from_row)
    }

    /// Every open batch (`planned` or `sending`) of every campaign, by campaign and slot.
    pub(crate) fn open_batches(&self) -> Result<Vec<Batch>, LedgerError> {
        self.rows(sql::OPEN_BATCHES, args![], batch_from_row)
    }

    /// A campaign's batches, by slot.
    pub(crate) fn batches(&self, campaign_id: i64) -> Result<Vec<Batch>, LedgerError> {
        self.rows(sql::BATCHES, args![campaign_id], batch_from_row)
    }

    /// Tax ids already used in a campaign (CPFs are unique within a campaign).
    pub(crate) fn campaign_tax_ids(
        &self,
        campaign_id: i64,
    ) -> Result<HashSet<String>, LedgerError> {
        self.rows(sql::CAMPAIGN_TAX_IDS, args![campaign_id], |r| r.get(0))
            .map(|v| v.into_iter().collect())
    }

    /// Record a slot whose window passed without a run (a no-op if the slot has a batch).
    pub(crate) fn insert_missed(
        &self,
        campaign: &Campaign,
        slot: u32,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::INSERT_MISSED,
            args![
                campaign.id,
                slot,
                tag,
                ts(campaign.schedule().due(slot)),
                ts(now)
            ],
        )
        .map(drop)
    }

    /// Whether the ledger knows this bank invoice id (issued by it, or cancelled as an extra).
    pub(crate) fn invoice_known(&self, invoice_id: &str) -> Result<bool, LedgerError> {
        self.row(sql::INVOICE_KNOWN, args![invoice_id], |r| r.get(0))
            .map(|v| v.unwrap_or(false))
    }

    /// Extend this process's lease on a batch (before each POST and each retry). `until` is
    /// real Unix time. `false` when this process no longer holds it (another took it over):
    /// the lease is lost, and the caller must send nothing more.
    pub(crate) fn renew_lease(&self, batch_id: i64, until: i64) -> Result<bool, LedgerError> {
        self.exec(sql::RENEW_LEASE, args![batch_id, until, lease::owner_id()])
            .map(|n| n > 0)
    }

    /// File a batch the bank refused, with its errors for the operator; it is not retried.
    pub(crate) fn mark_rejected(
        &self,
        batch_id: i64,
        errors: &[ApiErrorItem],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::MARK_REJECTED,
            args![batch_id, StoredErrors::encode(errors), ts(now)],
        )
        .map(drop)
    }

    /// Record that a POST of the batch is about to be made (`Some(now)`: until a clear answer
    /// its outcome is unclear), or that the answer proved nothing was done (`None`).
    pub(crate) fn mark_unclear(
        &self,
        batch_id: i64,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), LedgerError> {
        self.exec(sql::MARK_UNCLEAR, args![batch_id, since.map(ts)])
            .map(drop)
    }

    /// Note an unclear outcome and release this process's lease (a lease another process
    /// took over stays its own); the batch stays `sending` (look it up before any resend).
    pub(crate) fn note_error(
        &self,
        batch_id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::NOTE_ERROR,
            args![batch_id, error, ts(now), lease::owner_id()],
        )
        .map(drop)
    }
}

impl Tx<'_> {
    /// Start a campaign with `spec` (validated by the caller) at `started_at`.
    pub(crate) fn insert_campaign(
        &self,
        started_at: DateTime<Utc>,
        spec: &CampaignSpec,
        now: DateTime<Utc>,
    ) -> Result<Campaign, LedgerError> {
        self.q((|| {
            let id: i64 = self.conn.query(
                sql::INSERT_CAMPAIGN,
                args![
                    ts(started_at),
                    spec.every.num_seconds(),
                    spec.slots(),
                    spec.min_invoices,
                    spec.max_invoices,
                    spec.min_amount,
                    spec.max_amount,
                    ts(now)
                ],
            )?[0]
                .get(0)?;
            campaign_from_row(&self.conn.query(sql::CAMPAIGN, args![id])?[0])
        })())
    }

    /// Drop a slot's `missed` record so that it can be claimed again (`--catch-up`), in the
    /// same transaction as the claim. Whether there was one.
    pub(crate) fn replan_missed(&self, batch_id: i64) -> Result<bool, LedgerError> {
        self.exec(sql::DELETE_MISSED, args![batch_id])
            .map(|n| n > 0)
    }

    /// Claim a slot: insert its batch with the exact body to send and its planned invoices.
    /// `None` if the slot already has a batch (the unique constraint is the claim).
    pub(crate) fn insert_planned(
        &self,
        campaign: &Campaign,
        new: &NewBatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Batch>, LedgerError> {
        let total: i64 = new.invoices.iter().map(|i| i.amount).sum();
        self.q((|| {
            let inserted = self.conn.query(
                sql::INSERT_PLANNED,
                args![
                    campaign.id,
                    new.slot,
                    new.tag,
                    new.body,
                    new.invoices.len() as i64,
                    total,
                    ts(campaign.schedule().due(new.slot)),
                    ts(now)
                ],
            )?;
            let Some(row) = inserted.first() else {
                return Ok(None);
            };
            let batch_id: i64 = row.get(0)?;
            for inv in &new.invoices {
                self.conn.execute(
                    sql::INSERT_PLANNED_INVOICE,
                    args![
                        batch_id,
                        campaign.id,
                        inv.position,
                        inv.name,
                        inv.tax_id,
                        inv.amount,
                        ts(now)
                    ],
                )?;
            }
            batch(self.conn, batch_id)
        })())
    }

    /// Take the batch for sending if no lease holds it, for `lease_secs`: a lease is free once
    /// released, voided (its owner is gone) or expired, but never while its owner is judged
    /// alive here, whatever the clock says ([`lease::reap`]). `wall_now` is real Unix time
    /// (leases are about processes, not business time). Marks it `sending` and counts the
    /// attempt; the [`Claim`] says whether to look it up before sending.
    pub(crate) fn take_lease(
        &self,
        batch_id: i64,
        wall_now: i64,
        lease_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        self.q((|| {
            let alive = lease::reap(self.conn, LeaseTable::Batches, wall_now)?;
            let Some(prior) = batch(self.conn, batch_id)? else {
                return Ok(Claim::Busy);
            };
            let n = self.conn.execute(
                self.conn.pick(sql::TAKE_LEASE, sql::TAKE_LEASE_PG),
                args![
                    batch_id,
                    wall_now + lease_secs,
                    wall_now,
                    ts(now),
                    lease::owner_id(),
                    alive
                ],
            )?;
            if n == 0 {
                return Ok(Claim::Busy);
            }
            Ok(match batch(self.conn, batch_id)? {
                Some(b) => Claim::taken(prior.status, prior.attempts, b),
                None => Claim::Busy,
            })
        })())
    }

    /// A batch by its tag.
    pub(crate) fn batch_by_tag(&self, tag: &str) -> Result<Option<Batch>, LedgerError> {
        self.row(sql::BATCH_BY_TAG, args![tag], batch_from_row)
    }

    /// A campaign's batch by slot (0-based).
    pub(crate) fn batch_by_slot(
        &self,
        campaign_id: i64,
        slot: u32,
    ) -> Result<Option<Batch>, LedgerError> {
        self.row(sql::BATCH_BY_SLOT, args![campaign_id, slot], batch_from_row)
    }

    /// Reopen a rejected batch (`planned` again, its errors and unclear time cleared). Whether
    /// it was rejected.
    pub(crate) fn reopen_rejected(
        &self,
        batch_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.exec(sql::REOPEN_REJECTED, args![batch_id, ts(now)])
            .map(|n| n > 0)
    }

    /// Issued batches to look up again (the bank may still apply one of their POSTs), with
    /// the time after which one more look ends their recheck; by campaign and slot.
    pub(crate) fn batches_to_recheck(&self) -> Result<Vec<(Batch, DateTime<Utc>)>, LedgerError> {
        self.q((|| {
            let due: Vec<(i64, String)> = self
                .conn
                .query(sql::RECHECK_DUE, args![])?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<SqlResult<_>>()?;
            let mut out = Vec::with_capacity(due.len());
            for (id, until) in due {
                if let Some(b) = batch(self.conn, id)? {
                    out.push((b, parse_ts(&until)?));
                }
            }
            Ok(out)
        })())
    }

    /// Look an issued batch up again until `until` (and once after it), or no more (`None`).
    pub(crate) fn set_recheck(
        &self,
        batch_id: i64,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), LedgerError> {
        self.exec(sql::SET_RECHECK, args![batch_id, until.map(ts)])
            .map(drop)
    }

    /// Record an invoice the bank holds under an issued batch's tag beyond the batch (a copy
    /// applied late) that can no longer be cancelled: it is ours, its credit is forwarded.
    /// Whether it was new.
    pub(crate) fn adopt_late_copy(
        &self,
        batch: &Batch,
        inv: &Invoice,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        self.q(insert_adopted(
            self.conn,
            batch.id,
            batch.campaign_id,
            inv,
            now,
        ))
        .map(|n| n > 0)
    }

    /// Record the extras under a batch's tag that were cancelled at the bank (shown by `stark
    /// status`; a second record of one is a no-op).
    pub(crate) fn record_cancelled(
        &self,
        batch_id: i64,
        cancelled: &[Invoice],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.q((|| {
            for inv in cancelled {
                self.conn.execute(
                    sql::INSERT_CANCELLED_INVOICE,
                    args![
                        inv.id,
                        batch_id,
                        inv.name,
                        inv.tax_id,
                        nominal(inv),
                        ts(now)
                    ],
                )?;
            }
            Ok(())
        })())
    }

    /// Adopt what the bank holds under a batch's tag and mark it issued. The bank's own data
    /// is the record: each of its invoices is matched to a planned one by tax id and nominal
    /// amount (the planned row keeps its position); planned rows left unmatched (a plan drawn
    /// again after a restore, say) are dropped and the bank's unmatched invoices inserted
    /// with their ids, names, tax ids and amounts. The batch's count and total become the
    /// bank's. Returns how many matched the plan.
    pub(crate) fn mark_issued(
        &self,
        batch_id: i64,
        invoices: &[Invoice],
        now: DateTime<Utc>,
    ) -> Result<usize, LedgerError> {
        self.q((|| {
            let Some(b) = batch(self.conn, batch_id)? else {
                return Ok(0);
            };
            let mut matched = 0;
            let mut unmatched = Vec::new();
            for inv in invoices {
                let digits: String = inv.tax_id.chars().filter(|c| c.is_ascii_digit()).collect();
                let n = self.conn.execute(
                    sql::MATCH_ISSUED_INVOICE,
                    args![
                        inv.id,
                        inv.status,
                        inv.created.to_api(),
                        ts(now),
                        batch_id,
                        digits,
                        nominal(inv)
                    ],
                )?;
                matched += n;
                if n == 0 {
                    unmatched.push(inv);
                }
            }
            if !unmatched.is_empty() {
                self.conn
                    .execute(sql::DROP_UNMATCHED_INVOICES, args![batch_id])?;
                for inv in unmatched {
                    insert_adopted(self.conn, batch_id, b.campaign_id, inv, now)?;
                }
            }
            let total: i64 = invoices.iter().map(nominal).sum();
            self.conn.execute(
                sql::MARK_ISSUED,
                args![batch_id, ts(now), invoices.len() as i64, total],
            )?;
            Ok(matched)
        })())
    }
}

/// Insert an invoice the bank holds under a batch's tag, with its id, at the batch's next
/// position (a no-op for an id already recorded); the number of rows inserted.
fn insert_adopted(
    conn: Conn<'_>,
    batch_id: i64,
    campaign_id: i64,
    inv: &Invoice,
    now: DateTime<Utc>,
) -> SqlResult<usize> {
    conn.execute(
        sql::INSERT_ADOPTED_INVOICE,
        args![
            batch_id,
            campaign_id,
            inv.name,
            inv.tax_id,
            nominal(inv),
            inv.id,
            inv.status,
            inv.created.to_api(),
            ts(now)
        ],
    )
}

/// The amount an invoice was issued for: its `nominalAmount` (its `amount` grows with fine and
/// interest when paid late), or `amount` from an answer that leaves it out.
pub(crate) fn nominal(inv: &Invoice) -> i64 {
    if inv.nominal_amount > 0 {
        inv.nominal_amount
    } else {
        inv.amount.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn batch_of(status: BatchStatus, attempts: u32) -> Batch {
        Batch {
            id: 1,
            campaign_id: 1,
            slot: 0,
            tag: "stark-abc123-c1-b1".into(),
            status,
            body: Some("{}".into()),
            invoice_count: 1,
            total_amount: 1000,
            attempts,
            errors: None,
            lease_until: None,
            due_at: t("2026-03-02T00:00:00Z"),
            unclear_since: None,
        }
    }

    #[test]
    fn a_stored_status_reads_back_and_an_unknown_one_is_a_conversion_failure() {
        use crate::ledger::transfers::TransferStatus;
        assert_eq!(
            BatchStatus::from_value(&Value::Text("issued".into())).ok(),
            Some(BatchStatus::Issued)
        );
        assert_eq!(
            TransferStatus::from_value(&Value::Text("success".into())).ok(),
            Some(TransferStatus::Success)
        );
        for bad in [Value::Text("lost".into()), Value::Int(1), Value::Null] {
            assert!(BatchStatus::from_value(&bad).is_err(), "{bad:?}");
            assert!(TransferStatus::from_value(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_lease_says_whether_the_batch_may_already_be_at_the_bank() {
        use BatchStatus::*;
        // (status and attempts before this lease, look it up first?)
        let cases = [
            (Planned, 0, false),
            (Planned, 1, true),
            (Sending, 0, true),
            (Sending, 1, true),
            (Sending, 3, true),
        ];
        for (status, attempts, look_first) in cases {
            let b = batch_of(Sending, attempts + 1);
            let want = if look_first {
                Claim::LookUpFirst(b.clone())
            } else {
                Claim::Send(b.clone())
            };
            assert_eq!(
                Claim::taken(status, attempts, b),
                want,
                "{status:?} after {attempts} attempts"
            );
        }
    }

    #[test]
    fn a_batch_lease_is_never_taken_from_a_live_owner_and_only_its_owner_renews_it() {
        use crate::ledger::lease::testing::*;
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
        let now = t("2026-03-02T00:00:07Z");
        let new = NewBatch {
            slot: 0,
            tag: "stark-abc123-c1-b1".into(),
            body: r#"{"invoices":[]}"#.into(),
            invoices: vec![],
        };
        let b = ledger
            .write(|tx| {
                let c = tx.insert_campaign(now, &CampaignSpec::default(), now)?;
                Ok::<_, LedgerError>(tx.insert_planned(&c, &new, now)?.unwrap())
            })
            .unwrap();
        let raw = rusqlite::Connection::open(ledger.path()).unwrap();
        let set_lease = |owner: &str, until: i64| {
            raw.execute(
                "UPDATE batches SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1",
                rusqlite::params![b.id, owner, until],
            )
            .unwrap()
        };
        let lease = || -> (String, i64) {
            raw.query_row(
                "SELECT lease_owner, lease_until FROM batches WHERE id = ?1",
                [b.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let take = |l: &mut Ledger, wall| l.write(|tx| tx.take_lease(b.id, wall, 300, now));
        let taken = |c: Claim| !matches!(c, Claim::Busy);
        let wall = 1_000_000;
        assert!(taken(take(&mut ledger, wall).unwrap()));
        // A clock stepped forward, or a stall past the lease: its owner (this process) is
        // alive, so the lease is not taken, expired or not.
        assert_eq!(take(&mut ledger, wall + 100_000).unwrap(), Claim::Busy);
        assert_eq!(lease(), (lease::owner_id(), wall + 300));
        assert!(ledger.db().renew_lease(b.id, wall + 600).unwrap());
        // Taken over by a process whose liveness cannot be told here: renewing matches
        // nothing (the lease is lost), and its lease is waited out.
        set_lease(&other_boot(), wall + 600);
        assert!(!ledger.db().renew_lease(b.id, wall + 900).unwrap());
        // Nor does noting an error release it.
        ledger.db().note_error(b.id, "timeout", now).unwrap();
        assert_eq!(lease(), (other_boot(), wall + 600));
        assert_eq!(take(&mut ledger, wall + 599).unwrap(), Claim::Busy);
        assert!(taken(take(&mut ledger, wall + 600).unwrap()));
        assert_eq!(lease(), (lease::owner_id(), wall + 900));
        // Another PID namespace with the same hostname: a pid that is gone here may be alive
        // there; waited out, not voided.
        set_lease(&dead_here_other_namespace(), wall + 2_000);
        assert_eq!(take(&mut ledger, wall + 1_000).unwrap(), Claim::Busy);
        assert!(taken(take(&mut ledger, wall + 2_000).unwrap()));
        // An owner recorded by an older stark: waited out too.
        set_lease(&dead_old_form(), wall + 3_000);
        assert_eq!(take(&mut ledger, wall + 2_001).unwrap(), Claim::Busy);
        // A process that is gone (same host, boot and namespace): void at once.
        set_lease(&dead_owner(), wall + 10_000);
        assert!(taken(take(&mut ledger, wall + 2_002).unwrap()));
        assert_eq!(lease(), (lease::owner_id(), wall + 2_302));
    }

    #[test]
    fn a_batch_is_claimed_once_leased_once_and_looked_up_after_an_unclear_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
        let now = t("2026-03-02T00:00:07Z");
        let spec = CampaignSpec::default();
        let new = NewBatch {
            slot: 0,
            tag: "stark-abc123-c1-b1".into(),
            body: r#"{"invoices":[]}"#.into(),
            invoices: vec![PlannedInvoice {
                position: 0,
                name: "Ana Souza".into(),
                tax_id: "012.345.678-90".into(),
                amount: 1234,
            }],
        };
        let (c, b) = ledger
            .write(|tx| {
                let c = tx.insert_campaign(now, &spec, now)?;
                let b = tx.insert_planned(&c, &new, now)?;
                // The slot is taken: a second claim gets nothing.
                assert_eq!(tx.insert_planned(&c, &new, now)?, None);
                Ok::<_, LedgerError>((c, b.unwrap()))
            })
            .unwrap();
        assert_eq!(ledger.db().latest_campaign().unwrap(), Some(c.clone()));
        assert_eq!(c.spec, spec);
        assert_eq!(
            (b.status, b.invoice_count, b.total_amount),
            (BatchStatus::Planned, 1, 1234)
        );
        assert_eq!(
            ledger.db().campaign_tax_ids(c.id).unwrap(),
            HashSet::from(["012.345.678-90".to_string()])
        );

        let wall = lease::wall_now();
        let take = |l: &mut Ledger, wall| l.write(|tx| tx.take_lease(b.id, wall, 300, now));
        let Claim::Send(held) = take(&mut ledger, wall).unwrap() else {
            panic!("a planned batch is sent")
        };
        assert_eq!((held.status, held.attempts), (BatchStatus::Sending, 1));
        assert_eq!(
            take(&mut ledger, wall).unwrap(),
            Claim::Busy,
            "the lease is live"
        );
        // An unclear answer: the lease is released, the batch stays `sending`.
        ledger.db().note_error(b.id, "timeout", now).unwrap();
        let Claim::LookUpFirst(again) = take(&mut ledger, wall).unwrap() else {
            panic!("a batch that may have been sent is looked up first")
        };
        assert_eq!(again.attempts, 2);
        assert_eq!(again.errors.as_deref(), Some("timeout"));

        let issued: Invoice = serde_json::from_value(serde_json::json!({
            "id": "inv1", "amount": 1234, "name": "Ana Souza", "taxId": "01234567890",
            "status": "created", "created": "2026-03-02T00:00:08.000000+00:00"
        }))
        .unwrap();
        let matched = ledger
            .write(|tx| tx.mark_issued(b.id, &[issued], now))
            .unwrap();
        assert_eq!(matched, 1);
        let after = ledger.db().batches(c.id).unwrap();
        assert_eq!(after[0].status, BatchStatus::Issued);
        assert_eq!(after[0].errors, None);
        assert_eq!(
            take(&mut ledger, wall).unwrap(),
            Claim::Busy,
            "issued is closed"
        );
    }

    #[test]
    fn the_banks_invoices_are_adopted_over_a_plan_drawn_again_and_unclear_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
        let now = t("2026-03-02T00:00:07Z");
        let planned = |position, tax_id: &str, amount| PlannedInvoice {
            position,
            name: "Planned".into(),
            tax_id: tax_id.into(),
            amount,
        };
        let new = NewBatch {
            slot: 0,
            tag: "stark-abc123-c1-b1".into(),
            body: "{}".into(),
            invoices: vec![
                planned(0, "111.111.111-11", 1000),
                planned(1, "222.222.222-22", 2000),
                planned(2, "333.333.333-33", 3000),
            ],
        };
        let (c, b) = ledger
            .write(|tx| {
                let c = tx.insert_campaign(now, &CampaignSpec::default(), now)?;
                let b = tx.insert_planned(&c, &new, now)?.unwrap();
                Ok::<_, LedgerError>((c, b))
            })
            .unwrap();
        assert_eq!(b.unclear_since, None);
        ledger.db().mark_unclear(b.id, Some(now)).unwrap();
        assert_eq!(
            ledger.db().batches(c.id).unwrap()[0].unclear_since,
            Some(now)
        );
        // The bank holds another plan of the slot: one person in common (paid late, so its
        // `amount` grew; `nominalAmount` is what was issued), two others.
        let bank = |id: &str, name: &str, tax_id: &str, nominal: i64, amount: i64| -> Invoice {
            serde_json::from_value(serde_json::json!({
                "id": id, "amount": amount, "nominalAmount": nominal, "name": name,
                "taxId": tax_id, "status": "paid",
                "created": "2026-03-02T00:00:08.000000+00:00"
            }))
            .unwrap()
        };
        let held = [
            bank("i1", "Planned", "22222222222", 2000, 2150),
            bank("i2", "Bia Lima", "444.444.444-44", 4000, 4000),
            bank("i3", "Caio Reis", "555.555.555-55", 5000, 5000),
        ];
        let matched = ledger.write(|tx| tx.mark_issued(b.id, &held, now)).unwrap();
        assert_eq!(matched, 1);
        let after = &ledger.db().batches(c.id).unwrap()[0];
        assert_eq!(after.status, BatchStatus::Issued);
        assert_eq!((after.invoice_count, after.total_amount), (3, 11_000));
        assert_eq!(after.unclear_since, None);
        let conn = rusqlite::Connection::open(dir.path().join("l.sqlite3")).unwrap();
        let mut stmt = conn
            .prepare("SELECT invoice_id, name, tax_id, amount FROM invoices ORDER BY invoice_id")
            .unwrap();
        let rows: Vec<(String, String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let row = |id: &str, name: &str, tax_id: &str, amount| {
            (id.to_string(), name.to_string(), tax_id.to_string(), amount)
        };
        assert_eq!(
            rows,
            [
                row("i1", "Planned", "222.222.222-22", 2000),
                row("i2", "Bia Lima", "444.444.444-44", 4000),
                row("i3", "Caio Reis", "555.555.555-55", 5000),
            ]
        );
    }

    #[test]
    fn a_missed_slot_can_be_replanned_and_a_rejected_batch_keeps_its_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open_or_create(&dir.path().join("l.sqlite3")).unwrap();
        let now = t("2026-03-02T06:00:00Z");
        let c = ledger
            .write(|tx| {
                tx.insert_campaign(t("2026-03-02T00:00:00Z"), &CampaignSpec::default(), now)
            })
            .unwrap();
        let db = ledger.db();
        db.insert_missed(&c, 1, "stark-abc123-c1-b2", now).unwrap();
        db.insert_missed(&c, 1, "stark-abc123-c1-b2", now).unwrap();
        let bs = db.batches(c.id).unwrap();
        assert_eq!(bs.len(), 1);
        assert_eq!((bs[0].slot, bs[0].status), (1, BatchStatus::Missed));
        assert_eq!(bs[0].due_at, t("2026-03-02T03:00:00Z"));
        let id = bs[0].id;
        assert!(ledger.write(|tx| tx.replan_missed(id)).unwrap());
        assert!(!ledger.write(|tx| tx.replan_missed(id)).unwrap());
        assert!(ledger.db().batches(c.id).unwrap().is_empty());

        let new = NewBatch {
            slot: 1,
            tag: "stark-abc123-c1-b2".into(),
            body: "{}".into(),
            invoices: vec![],
        };
        let b = ledger
            .write(|tx| tx.insert_planned(&c, &new, now))
            .unwrap()
            .unwrap();
        let errors = vec![ApiErrorItem {
            code: "invalidTaxId".into(),
            message: "invalid tax id".into(),
        }];
        ledger.db().mark_rejected(b.id, &errors, now).unwrap();
        let bs = ledger.db().batches(c.id).unwrap();
        assert_eq!(bs[0].status, BatchStatus::Rejected);
        let kept: Vec<ApiErrorItem> =
            serde_json::from_str(bs[0].errors.as_deref().unwrap()).unwrap();
        assert_eq!(kept, errors);
    }
}
