//! What could not be used as it came: verified events that do not decode (kept raw, so that a
//! bad delivery is answered 200 once and a bad event in the sweep does not fail every run),
//! and credited invoice logs without the `amount` or `fee` a transfer needs (never forwarded
//! as fee 0; they wait until a log with both is read).
//!
//! Both are derived when reported: an undecodable event stops counting once an event of that
//! id is applied (a later version decodes it), an incomplete credit once the invoice's credit
//! is recorded (reconcile reads its `credited` log again while the invoice has no credit).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::events::EventSource;
use super::report::Listing;
use super::ts;
use super::{Db, LedgerError};

/// The statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const INSERT_UNDECODED_EVENT: &str =
        "INSERT INTO undecoded_events(id, source, reason, body, received_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET last_seen_at = excluded.last_seen_at";
    pub const UNDECODED_EVENT_EXISTS: &str = "SELECT 1 FROM undecoded_events WHERE id = ?1";
    pub const NOTE_INCOMPLETE_CREDIT: &str = "INSERT INTO incomplete_credits(invoice_id, log_id, event_id, missing, source, first_seen_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT(invoice_id) DO UPDATE SET log_id = excluded.log_id, missing = excluded.missing,
             source = excluded.source, last_seen_at = excluded.last_seen_at,
             event_id = COALESCE(excluded.event_id, incomplete_credits.event_id)";
    pub const CREDIT_RECORDED: &str = "SELECT 1 FROM credits WHERE invoice_id = ?1";
    /// For `status`: undecodable events no event of the same id replaced (both tables are
    /// looked up by primary key; `undecoded_events` only holds what went wrong).
    pub const OPEN_UNDECODED_EVENTS: &str =
        "SELECT u.id, u.source, u.reason, u.received_at, u.last_seen_at, COUNT(*) OVER ()
         FROM undecoded_events u
         WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = u.id)
         ORDER BY u.received_at, u.id LIMIT ?1";
    /// For `status`: our invoices credited without amount or fee whose credit is not recorded
    /// yet.
    pub const OPEN_INCOMPLETE_CREDITS: &str = "SELECT ic.invoice_id, ic.missing, ic.source, ic.event_id, ic.first_seen_at, ic.last_seen_at, COUNT(*) OVER ()
         FROM incomplete_credits ic
         WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_id = ic.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.invoice_id = ic.invoice_id)
         ORDER BY ic.first_seen_at, ic.invoice_id LIMIT ?1";

    statements![
        INSERT_UNDECODED_EVENT,
        UNDECODED_EVENT_EXISTS,
        NOTE_INCOMPLETE_CREDIT,
        CREDIT_RECORDED,
        OPEN_UNDECODED_EVENTS,
        OPEN_INCOMPLETE_CREDITS,
    ];
}

/// A verified event that does not decode, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UndecodedRecord<'a> {
    pub id: &'a str,
    /// [`EventSource::Webhook`] or [`EventSource::Sweep`].
    pub source: EventSource,
    /// The decoding error, one line.
    pub reason: &'a str,
    pub body: &'a str,
}

/// A credited invoice log without what a transfer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncompleteRecord<'a> {
    pub invoice_id: &'a str,
    pub log_id: &'a str,
    /// The event that carried it (`None` for a log read from `GET /v2/invoice/log`).
    pub event_id: Option<&'a str>,
    /// What the snapshot lacks: `fee`, `amount` or `amount and fee`.
    pub missing: &'a str,
    pub source: EventSource,
}

/// An undecodable event, as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndecodedEvent {
    pub id: String,
    /// `webhook` or `sweep`: how it first arrived.
    pub source: String,
    pub reason: String,
    pub received_at: String,
    pub last_seen_at: String,
}

/// A credit of ours that cannot be forwarded yet, as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncompleteCredit {
    pub invoice_id: String,
    /// `fee`, `amount` or `amount and fee`.
    pub missing: String,
    /// Where it was last seen: `webhook`, `sweep` or `invoice-log`.
    pub source: String,
    pub event_id: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
}

from_row!(UndecodedEvent {
    id,
    source,
    reason,
    received_at,
    last_seen_at
});
from_row!(IncompleteCredit {
    invoice_id,
    missing,
    source,
    event_id,
    first_seen_at,
    last_seen_at
});

impl Db<'_> {
    /// Keep a verified event that does not decode; `false` if its id was already kept (then
    /// only when it was last seen moves).
    pub(crate) fn record_undecoded_event(
        &self,
        e: &UndecodedRecord<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let known = self.any(sql::UNDECODED_EVENT_EXISTS, args![e.id])?;
        self.exec(
            sql::INSERT_UNDECODED_EVENT,
            args![e.id, e.source.as_str(), e.reason, e.body, ts(now)],
        )?;
        Ok(!known)
    }

    /// Note a credited log without amount or fee (once per invoice; later sightings update it).
    pub(crate) fn note_incomplete_credit(
        &self,
        c: &IncompleteRecord<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::NOTE_INCOMPLETE_CREDIT,
            args![
                c.invoice_id,
                c.log_id,
                c.event_id,
                c.missing,
                c.source.as_str(),
                ts(now)
            ],
        )
        .map(|_| ())
    }

    /// Whether the invoice's credit is recorded (by any path).
    pub(crate) fn credit_recorded(&self, invoice_id: &str) -> Result<bool, LedgerError> {
        self.any(sql::CREDIT_RECORDED, args![invoice_id])
    }
}

/// Undecodable events still open, oldest first.
impl Listing for UndecodedEvent {
    const SQL: &'static str = sql::OPEN_UNDECODED_EVENTS;
}

/// Our credits seen without amount or fee and not recorded since, oldest first.
impl Listing for IncompleteCredit {
    const SQL: &'static str = sql::OPEN_INCOMPLETE_CREDITS;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{ledger_with_invoice, new_year};

    #[test]
    fn an_undecodable_event_is_kept_once_and_reported_until_an_event_replaces_it() {
        let (_d, mut l) = ledger_with_invoice("created", false);
        let now = new_year();
        let e = UndecodedRecord {
            id: "9",
            source: EventSource::Webhook,
            reason: "invoice log: invalid type",
            body: "{\"event\": {\"id\": \"9\"}}",
        };
        let (first, second) = l
            .write(|tx| {
                Ok::<_, LedgerError>((
                    tx.record_undecoded_event(&e, now)?,
                    tx.record_undecoded_event(&e, now + chrono::Duration::minutes(1))?,
                ))
            })
            .unwrap();
        assert!(first && !second);
        let g = l.db().listing::<UndecodedEvent>(10).unwrap();
        assert_eq!(g.total, 1);
        assert_eq!(
            (g.items[0].id.as_str(), g.items[0].source.as_str()),
            ("9", "webhook")
        );
        assert_ne!(g.items[0].received_at, g.items[0].last_seen_at);
        l.db()
            .fixture_sql("INSERT INTO events(id, subscription, created, received_at, source, verdict, body) VALUES ('9', 'invoice', 'x', 'x', 'sweep', 'ignored', '{}')")
            .unwrap();
        assert!(l.db().listing::<UndecodedEvent>(10).unwrap().is_empty());
    }

    #[test]
    fn an_incomplete_credit_of_ours_is_open_until_its_credit_is_recorded() {
        let (_d, mut l) = ledger_with_invoice("created", false);
        let now = new_year();
        for (invoice_id, missing) in [("100", "fee"), ("999", "amount")] {
            l.write(|tx| {
                tx.note_incomplete_credit(
                    &IncompleteRecord {
                        invoice_id,
                        log_id: "L1",
                        event_id: Some("E1"),
                        missing,
                        source: EventSource::Webhook,
                    },
                    now,
                )
            })
            .unwrap();
        }
        // Seen again from the invoice logs: still one, its event kept.
        l.write(|tx| {
            tx.note_incomplete_credit(
                &IncompleteRecord {
                    invoice_id: "100",
                    log_id: "L1",
                    event_id: None,
                    missing: "amount and fee",
                    source: EventSource::InvoiceLog,
                },
                now,
            )
        })
        .unwrap();
        let g = l.db().listing::<IncompleteCredit>(10).unwrap();
        assert_eq!(g.total, 1, "only ours: {g:?}");
        let c = &g.items[0];
        assert_eq!(
            (
                c.invoice_id.as_str(),
                c.missing.as_str(),
                c.source.as_str(),
                c.event_id.as_deref()
            ),
            ("100", "amount and fee", "invoice-log", Some("E1"))
        );
        assert!(!l.db().credit_recorded("100").unwrap());
        l.db()
            .fixture_sql("INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source) VALUES ('100', 'L2', 1000, 7, 993, 'x', 'x', 'sweep')")
            .unwrap();
        assert!(l.db().credit_recorded("100").unwrap());
        assert!(l.db().listing::<IncompleteCredit>(10).unwrap().is_empty());
    }
}
