//! What the ledger believes, read whole for [`crate::audit`] (which compares it with the bank's
//! ground truth) and for the demo's closing counts. These reads visit every row on purpose;
//! no command on the money path runs them.

use std::collections::HashSet;

use super::campaigns::{Batch, Campaign};
use super::{Db, LedgerError};

/// A transfer attempt as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedTransfer {
    pub external_id: String,
    /// The ledger's transfer status, as stored (`claimed`, `sending`, `created`,
    /// `processing`, `success`, `failed`, `rejected`).
    pub status: String,
    pub amount: i64,
}

/// Everything the audit checks against the bank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LedgerView {
    /// The bank ids of the invoices this ledger issued, and of those the bank holds under its
    /// tags that no batch of it knows (a campaign a restored ledger never saw).
    pub ours: HashSet<String>,
    /// Slots recorded as missed, in every campaign.
    pub missed_batches: i64,
    pub transfers: Vec<RecordedTransfer>,
    /// Every campaign, by id, with its batches by slot.
    pub campaigns: Vec<(Campaign, Vec<Batch>)>,
}

/// Events recorded, by how they arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventCounts {
    pub webhook: i64,
    pub sweep: i64,
}

/// The audit's statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const AUDIT_ISSUED_INVOICE_IDS: &str =
        "SELECT invoice_id FROM invoices WHERE invoice_id IS NOT NULL
         UNION SELECT invoice_id FROM tagged_invoices";
    pub const AUDIT_MISSED_BATCHES: &str = "SELECT COUNT(*) FROM batches WHERE status = 'missed'";
    pub const AUDIT_TRANSFERS: &str = "SELECT external_id, status, amount FROM transfers";
    pub const EVENT_COUNTS_BY_SOURCE: &str =
        "SELECT COALESCE(SUM(CASE WHEN source = 'webhook' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN source = 'sweep' THEN 1 ELSE 0 END), 0)
         FROM events";

    pub const ALL: &[(&str, &str)] = &[
        ("AUDIT_ISSUED_INVOICE_IDS", AUDIT_ISSUED_INVOICE_IDS),
        ("AUDIT_MISSED_BATCHES", AUDIT_MISSED_BATCHES),
        ("AUDIT_TRANSFERS", AUDIT_TRANSFERS),
        ("EVENT_COUNTS_BY_SOURCE", EVENT_COUNTS_BY_SOURCE),
    ];
}

impl Db<'_> {
    /// The issued invoice ids, the missed slots and every transfer attempt.
    pub(crate) fn audit_view(&self) -> Result<LedgerView, LedgerError> {
        let ours = self
            .rows(sql::AUDIT_ISSUED_INVOICE_IDS, args![], |r| r.get(0))?
            .into_iter()
            .collect();
        let missed_batches = self.one(sql::AUDIT_MISSED_BATCHES, args![], |r| r.get(0))?;
        let transfers = self.rows(sql::AUDIT_TRANSFERS, args![], |r| {
            Ok(RecordedTransfer {
                external_id: r.get(0)?,
                status: r.get(1)?,
                amount: r.get(2)?,
            })
        })?;
        Ok((ours, missed_batches, transfers)).and_then(|(ours, missed_batches, transfers)| {
            Ok(LedgerView {
                ours,
                missed_batches,
                transfers,
                campaigns: self.campaigns_with_batches()?,
            })
        })
    }

    /// Every campaign (ids run from 1 to the latest's) with its batches.
    fn campaigns_with_batches(&self) -> Result<Vec<(Campaign, Vec<Batch>)>, LedgerError> {
        let Some(latest) = self.latest_campaign()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for id in 1..=latest.id {
            if let Some(c) = self.campaign(id)? {
                let batches = self.batches(id)?;
                out.push((c, batches));
            }
        }
        Ok(out)
    }

    /// How many events arrived by webhook and how many by a reconcile sweep.
    pub(crate) fn event_counts(&self) -> Result<EventCounts, LedgerError> {
        self.one(sql::EVENT_COUNTS_BY_SOURCE, args![], |r| {
            Ok(EventCounts {
                webhook: r.get(0)?,
                sweep: r.get(1)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::scratch_ledger;

    #[test]
    fn counts_and_view_of_a_small_ledger() {
        let (_dir, ledger) = scratch_ledger();
        let db = ledger.db();
        assert_eq!(db.event_counts().unwrap(), EventCounts::default());
        assert_eq!(db.audit_view().unwrap(), LedgerView::default());
        db.conn
            .batch(
                "INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, 'x');
                 INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
                   VALUES (1, 1, 0, 't0', 'issued', 2, 2000, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z'),
                          (2, 1, 1, 't1', 'missed', 0, 0, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z');
                 INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
                   VALUES (1, 1, 0, 'A', '1', 1000, 'A1', 'paid', 'x'), (1, 1, 1, 'B', '2', 1000, NULL, NULL, 'x');
                 INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
                   VALUES ('A1', 'l', 1000, 10, 990, 'x', 'x', 'webhook');
                 INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
                   VALUES ('A1', 1, 'e1', 't', 990, '{}', 'failed', 'x', 'x');
                 INSERT INTO events(id, subscription, created, received_at, source, verdict, body)
                   VALUES ('1', 'invoice', 'x', 'x', 'webhook', 'ok', '{}'),
                          ('2', 'invoice', 'x', 'x', 'webhook', 'ok', '{}'),
                          ('3', 'invoice', 'x', 'x', 'sweep', 'ok', '{}');",
            )
            .unwrap();
        assert_eq!(
            db.event_counts().unwrap(),
            EventCounts {
                webhook: 2,
                sweep: 1
            }
        );
        let v = db.audit_view().unwrap();
        assert_eq!(v.ours, HashSet::from(["A1".to_string()]));
        assert_eq!(v.missed_batches, 1);
        assert_eq!(v.campaigns.len(), 1);
        let (c, batches) = &v.campaigns[0];
        assert_eq!(c.id, 1);
        let slots: Vec<_> = batches.iter().map(|b| (b.slot, b.tag.as_str())).collect();
        assert_eq!(slots, [(0, "t0"), (1, "t1")]);
        assert_eq!(
            v.transfers,
            [RecordedTransfer {
                external_id: "e1".into(),
                status: "failed".into(),
                amount: 990,
            }]
        );
    }
}
