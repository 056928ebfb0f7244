//! Credits: one per invoice, whichever way it arrived first (webhook, event sweep, invoice
//! logs), with what the fee rule decided for it.
//!
//! Derived facts are computed, not stored: a credit is *ours* when its invoice is one this
//! ledger issued (a join), *settled* when one of its transfers succeeded, *waiting* when it
//! has no live transfer. That way a credit that arrives before its batch was recorded is not
//! misfiled forever: it becomes ours as soon as the batch is.

use chrono::{DateTime, Utc};

use super::events::EventSource;
use super::ts;
use super::{Db, LedgerError};
use crate::domain::money::NoForward;

/// The credit statements, and the few reads of our invoices that go with them, by name
/// (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const INSERT_CREDIT: &str = "INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source, skip_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(invoice_id) DO NOTHING";
    pub const IS_OUR_INVOICE: &str = "SELECT 1 FROM invoices WHERE invoice_id = ?1";
    pub const IS_TAGGED_INVOICE: &str = "SELECT 1 FROM tagged_invoices WHERE invoice_id = ?1";
    pub const INVOICE_STATUS: &str = "SELECT status FROM invoices WHERE invoice_id = ?1";
    pub const UPDATE_INVOICE_STATUS: &str = "UPDATE invoices SET status = ?2, updated_at = ?3 WHERE invoice_id = ?1 AND status IS DISTINCT FROM ?2";
    /// Every issued invoice of ours without a credit (the reconcile check): reads all of
    /// `invoices` by design; the credit lookup is by primary key.
    pub const UNCREDITED_INVOICES: &str = "SELECT i.invoice_id FROM invoices i
         WHERE i.invoice_id IS NOT NULL AND COALESCE(i.status, 'created') NOT IN ('canceled', 'expired')
           AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.invoice_id = i.invoice_id)
         ORDER BY i.rowid_";
    /// Every invoice the bank holds under our tags that no batch knows, still without a
    /// credit and payable (the reconcile check, after [`UNCREDITED_INVOICES`]).
    pub const UNCREDITED_TAGGED_INVOICES: &str = "SELECT g.invoice_id FROM tagged_invoices g
         WHERE COALESCE(g.status, 'created') NOT IN ('canceled', 'expired')
           AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.invoice_id = g.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = g.invoice_id)
         ORDER BY g.invoice_id";
    /// Record an invoice the bank holds under our tags that no batch knows (kept as first
    /// seen; its status moves forward with [`UPDATE_TAGGED_STATUS`]).
    pub const INSERT_TAGGED_INVOICE: &str =
        "INSERT INTO tagged_invoices(invoice_id, campaign, tag, status, seen_at)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM invoices WHERE invoice_id = ?1)
         ON CONFLICT(invoice_id) DO NOTHING";
    pub const TAGGED_STATUS: &str = "SELECT status FROM tagged_invoices WHERE invoice_id = ?1";
    pub const UPDATE_TAGGED_STATUS: &str = "UPDATE tagged_invoices SET status = ?2 WHERE invoice_id = ?1 AND status IS DISTINCT FROM ?2";
    /// The highest campaign number the bank is known to hold under our tags without the
    /// ledger having it (0 when none).
    pub const MAX_TAGGED_CAMPAIGN: &str = "SELECT COALESCE(MAX(campaign), 0) FROM tagged_invoices";
    pub const BATCH_TAG_KNOWN: &str = "SELECT 1 FROM batches WHERE tag = ?1";
    pub const LEDGER_ID: &str = "SELECT value FROM meta WHERE key = 'ledger_id'";
    /// The net of a credit of ours that can be transferred (for the operator's retry).
    pub const TRANSFERABLE_NET: &str = "SELECT c.net FROM credits c
                 WHERE c.invoice_id = ?1 AND c.ours = 1 AND c.skip_reason IS NULL AND c.net > 0";

    statements![
        INSERT_CREDIT,
        IS_OUR_INVOICE,
        IS_TAGGED_INVOICE,
        INVOICE_STATUS,
        UPDATE_INVOICE_STATUS,
        UNCREDITED_INVOICES,
        UNCREDITED_TAGGED_INVOICES,
        INSERT_TAGGED_INVOICE,
        TAGGED_STATUS,
        UPDATE_TAGGED_STATUS,
        MAX_TAGGED_CAMPAIGN,
        BATCH_TAG_KNOWN,
        LEDGER_ID,
        TRANSFERABLE_NET,
    ];
}

/// A credit to record, with what the fee rule ([`crate::domain::money::net_amount`])
/// decided for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewCredit<'a> {
    pub invoice_id: &'a str,
    pub log_id: &'a str,
    pub amount: i64,
    pub fee: i64,
    /// The net to forward, or why nothing is.
    pub forward: Result<i64, NoForward>,
    /// When the bank credited it, as the API wrote it.
    pub credited_at: &'a str,
    pub source: EventSource,
}

impl Db<'_> {
    /// Record a credit and its decision as is; `false` if the invoice's credit was already
    /// recorded.
    pub(crate) fn insert_credit(
        &self,
        c: &NewCredit<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let (net, skip_reason) = match c.forward {
            Ok(net) => (net, None),
            Err(why) => (why.recorded_net(), Some(why.to_string())),
        };
        let n = self.exec(
            sql::INSERT_CREDIT,
            args![
                c.invoice_id,
                c.log_id,
                c.amount,
                c.fee,
                net,
                c.credited_at,
                ts(now),
                c.source.as_str(),
                skip_reason
            ],
        )?;
        Ok(n == 1)
    }

    /// Whether the invoice is ours: one of our batches issued it, or the bank holds it under
    /// our tags ([`Db::note_tagged_invoice`]).
    pub(crate) fn is_our_invoice(&self, invoice_id: &str) -> Result<bool, LedgerError> {
        Ok(self.any(sql::IS_OUR_INVOICE, args![invoice_id])?
            || self.any(sql::IS_TAGGED_INVOICE, args![invoice_id])?)
    }

    /// Update one of our invoices' status from a log snapshot (the bank's status word).
    /// `false` when it is not ours, already had that status, or the snapshot is older than
    /// what the ledger holds (statuses only move forward: [`crate::domain::invoice`]).
    pub(crate) fn update_invoice_status(
        &self,
        invoice_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let current: Option<Option<String>> =
            self.row(sql::INVOICE_STATUS, args![invoice_id], |r| r.get(0))?;
        // Not ours, or an older snapshot than what the ledger holds: nothing to note.
        match current {
            Some(current) if crate::domain::invoice::advances(current.as_deref(), status) => {}
            _ => return Ok(false),
        }
        self.exec(
            sql::UPDATE_INVOICE_STATUS,
            args![invoice_id, status, ts(now)],
        )
        .map(|n| n > 0)
    }

    /// Our invoices with no credit recorded yet and a status that can still be paid: those
    /// our batches issued, then those the bank holds under our tags that no batch knows.
    pub(crate) fn uncredited_invoices(&self) -> Result<Vec<String>, LedgerError> {
        let mut ids: Vec<String> = self.rows(sql::UNCREDITED_INVOICES, args![], |r| r.get(0))?;
        ids.extend(self.rows::<String>(sql::UNCREDITED_TAGGED_INVOICES, args![], |r| r.get(0))?);
        Ok(ids)
    }

    /// Note an invoice the bank holds under our campaign `campaign`'s tag `tag` that no batch
    /// of this ledger knows: it is ours from now on (its credit, recorded or not, too).
    /// `false` when it was already noted or a batch knows it. A later `status` (the bank's
    /// word) replaces the noted one when it moves forward.
    pub(crate) fn note_tagged_invoice(
        &self,
        invoice_id: &str,
        campaign: i64,
        tag: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let status = Some(status).filter(|s| !s.is_empty());
        let n = self.exec(
            sql::INSERT_TAGGED_INVOICE,
            args![invoice_id, campaign, tag, status, ts(now)],
        )?;
        if n == 0
            && let Some(status) = status
        {
            let current: Option<Option<String>> =
                self.row(sql::TAGGED_STATUS, args![invoice_id], |r| r.get(0))?;
            if let Some(current) = current
                && crate::domain::invoice::advances(current.as_deref(), status)
            {
                self.exec(sql::UPDATE_TAGGED_STATUS, args![invoice_id, status])?;
            }
        }
        Ok(n == 1)
    }

    /// The highest campaign number found at the bank under our tags that the ledger does not
    /// have (0 when none): a new campaign is numbered past it.
    pub(crate) fn max_tagged_campaign(&self) -> Result<i64, LedgerError> {
        self.one(sql::MAX_TAGGED_CAMPAIGN, args![], |r| r.get(0))
    }

    /// Whether the ledger has a batch (of any status) under this tag.
    pub(crate) fn batch_tag_known(&self, tag: &str) -> Result<bool, LedgerError> {
        self.any(sql::BATCH_TAG_KNOWN, args![tag])
    }

    /// This ledger's id (the part of its tags that tells them from other ledgers').
    pub(crate) fn ledger_id(&self) -> Result<Option<String>, LedgerError> {
        self.row(sql::LEDGER_ID, args![], |r| r.get(0))
    }

    /// The net of the invoice's credit, if it is ours and has something to forward.
    pub(crate) fn transferable_net(&self, invoice_id: &str) -> Result<Option<i64>, LedgerError> {
        self.row(sql::TRANSFERABLE_NET, args![invoice_id], |r| r.get(0))
    }
}

/// Test fixtures: rows no typed method writes (campaigns, batches, invoices of other
/// aggregates), and counts to check.
#[cfg(test)]
impl Db<'_> {
    /// On PostgreSQL the identities are moved past the ids the fixture inserted (SQLite's
    /// rowids follow explicit ids by themselves).
    pub(crate) fn fixture_sql(&self, sql: &str) -> Result<(), LedgerError> {
        self.q(self.conn.batch(sql))?;
        if self.dialect() == super::Dialect::Postgres {
            self.q(self.conn.batch(super::pg::RESYNC_IDENTITIES))?;
        }
        Ok(())
    }

    pub(crate) fn fixture_i64(&self, sql: &str) -> Result<i64, LedgerError> {
        self.one(sql, args![], |r| r.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::net_amount;
    use crate::ledger::Ledger;

    /// A ledger holding invoice `100` of its own.
    fn ledger_with_invoice() -> (tempfile::TempDir, Ledger) {
        crate::ledger::testing::ledger_with_invoice("created", false)
    }

    fn credit(invoice_id: &str, amount: i64, fee: i64) -> NewCredit<'_> {
        NewCredit {
            invoice_id,
            log_id: "L",
            amount,
            fee,
            forward: net_amount(amount, fee),
            credited_at: "2026-11-26T12:00:00.000000+00:00",
            source: EventSource::InvoiceLog,
        }
    }

    #[test]
    fn the_ledger_stores_what_the_fee_rule_decided() {
        let (_d, l) = ledger_with_invoice();
        let db = l.db();
        let now = chrono::Utc::now();
        assert!(db.insert_credit(&credit("100", 1000, 7), now).unwrap());
        assert!(!db.insert_credit(&credit("100", 1000, 7), now).unwrap());
        assert!(db.insert_credit(&credit("200", 500, 500), now).unwrap());
        assert!(db.insert_credit(&credit("300", 1000, -5), now).unwrap());
        let row =
            |id: &str| {
                (
                db.fixture_i64(&format!("SELECT net FROM credits WHERE invoice_id = '{id}'"))
                    .unwrap(),
                db.fixture_i64(&format!(
                    "SELECT COUNT(*) FROM credits WHERE invoice_id = '{id}' AND skip_reason IS NULL"
                ))
                .unwrap(),
            )
            };
        assert_eq!(row("100"), (993, 1));
        assert_eq!(row("200"), (0, 0));
        assert_eq!(row("300"), (1005, 0));
        assert_eq!(
            db.fixture_i64(
                "SELECT COUNT(*) FROM credits WHERE skip_reason = 'nothing to forward: fee 500 >= amount 500' AND source = 'invoice-log'"
            )
            .unwrap(),
            1
        );
        assert_eq!(db.transferable_net("100").unwrap(), Some(993));
        assert_eq!(db.transferable_net("200").unwrap(), None, "not ours");
        assert!(db.is_our_invoice("100").unwrap());
        assert!(!db.is_our_invoice("200").unwrap());
        assert!(db.update_invoice_status("100", "paid", now).unwrap());
        assert!(!db.update_invoice_status("100", "paid", now).unwrap());
        assert!(db.uncredited_invoices().unwrap().is_empty());
    }

    /// Invoices the bank holds under our tags that no batch knows: noted once (never one a
    /// batch knows), their status moving only forward; ours for every read that asks, checked
    /// for credits until credited, and numbering new campaigns past theirs.
    #[test]
    fn tagged_invoices_are_ours_and_checked_until_credited() {
        let (_d, mut l) = ledger_with_invoice();
        let db = l.db();
        let now = chrono::Utc::now();
        assert_eq!(db.max_tagged_campaign().unwrap(), 0);
        assert!(db.ledger_id().unwrap().is_some());
        // A credit that arrived first, as foreign.
        assert!(db.insert_credit(&credit("G1", 1000, 10), now).unwrap());
        assert_eq!(db.transferable_net("G1").unwrap(), None);
        assert!(
            db.note_tagged_invoice("G1", 3, "stark-x-c3-b1", "paid", now)
                .unwrap()
        );
        assert!(
            !db.note_tagged_invoice("G1", 3, "stark-x-c3-b1", "paid", now)
                .unwrap()
        );
        assert!(
            db.note_tagged_invoice("G2", 2, "stark-x-c2-b1", "created", now)
                .unwrap()
        );
        assert!(
            db.note_tagged_invoice("G3", 2, "stark-x-c2-b1", "", now)
                .unwrap()
        );
        assert!(
            !db.note_tagged_invoice("100", 1, "t", "paid", now).unwrap(),
            "a batch knows it"
        );
        assert!(db.is_our_invoice("G1").unwrap());
        assert!(db.is_our_invoice("G2").unwrap());
        assert!(!db.is_our_invoice("F1").unwrap());
        assert_eq!(db.transferable_net("G1").unwrap(), Some(990));
        assert_eq!(
            db.fixture_i64("SELECT ours FROM credits WHERE invoice_id = 'G1'")
                .unwrap(),
            1
        );
        // Checked after the batches' invoices; a credited one is not.
        assert_eq!(db.uncredited_invoices().unwrap(), ["100", "G2", "G3"]);
        // Status moves forward only; an expired or cancelled one is no longer checked.
        assert!(
            !db.note_tagged_invoice("G2", 2, "stark-x-c2-b1", "expired", now)
                .unwrap()
        );
        assert!(
            !db.note_tagged_invoice("G2", 2, "stark-x-c2-b1", "created", now)
                .unwrap()
        );
        assert_eq!(
            db.fixture_i64("SELECT COUNT(*) FROM tagged_invoices WHERE invoice_id = 'G2' AND status = 'expired'")
                .unwrap(),
            1
        );
        assert_eq!(db.uncredited_invoices().unwrap(), ["100", "G3"]);
        assert_eq!(db.max_tagged_campaign().unwrap(), 3);
        assert!(db.batch_tag_known("t").unwrap());
        assert!(!db.batch_tag_known("stark-x-c3-b1").unwrap());
        assert!(
            db.audit_view().unwrap().ours.contains("G1"),
            "the audit knows them"
        );
        // A new campaign is numbered past the forgotten ones.
        let spec = crate::domain::campaign::CampaignSpec::default();
        let c = l.write(|tx| tx.insert_campaign(now, &spec, now)).unwrap();
        assert_eq!(c.id, 4);
    }
}
