//! Events received (from the webhook or swept from the API), kept with their raw body for
//! audits. An event id is recorded once; the sweep notes when the API was told it is
//! delivered.

use chrono::{DateTime, Utc};

use super::ts;
use super::{Db, LedgerError};

/// Where an event or a credit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// A signed delivery to `serve-webhook`.
    Webhook,
    /// An undelivered event swept from the API by `reconcile`.
    Sweep,
    /// A `credited` invoice log `reconcile` asked for (credits only: it is not an event).
    InvoiceLog,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Webhook => "webhook",
            EventSource::Sweep => "sweep",
            EventSource::InvoiceLog => "invoice-log",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "webhook" => EventSource::Webhook,
            "sweep" => EventSource::Sweep,
            "invoice-log" => EventSource::InvoiceLog,
            _ => return None,
        })
    }
}

/// The event statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const INSERT_EVENT: &str = "INSERT INTO events(id, subscription, log_type, log_id, subject_id, created, received_at, source, verdict, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING";
    pub const EVENT_EXISTS: &str = "SELECT 1 FROM events WHERE id = ?1";
    pub const MARK_EVENT_DELIVERED: &str =
        "UPDATE events SET marked_delivered_at = ?2 WHERE id = ?1";

    statements![INSERT_EVENT, EVENT_EXISTS, MARK_EVENT_DELIVERED];
}

/// An event as stored (raw body kept for audits).
#[derive(Debug, Clone)]
pub(crate) struct EventRecord<'a> {
    pub id: &'a str,
    pub subscription: &'a str,
    pub log_type: Option<&'a str>,
    pub log_id: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    /// When the API created it, as the API wrote it.
    pub created: &'a str,
    /// [`EventSource::Webhook`] or [`EventSource::Sweep`].
    pub source: EventSource,
    /// What applying it did (`crate::events::Verdict::as_str`).
    pub verdict: &'a str,
    pub body: &'a str,
}

impl Db<'_> {
    /// Insert an event; `false` if its id was already recorded (a duplicate delivery).
    pub(crate) fn insert_event(
        &self,
        e: &EventRecord<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let n = self.exec(
            sql::INSERT_EVENT,
            args![
                e.id,
                e.subscription,
                e.log_type,
                e.log_id,
                e.subject_id,
                e.created,
                ts(now),
                e.source.as_str(),
                e.verdict,
                e.body
            ],
        )?;
        Ok(n == 1)
    }

    /// Whether this event id is recorded.
    pub(crate) fn event_exists(&self, id: &str) -> Result<bool, LedgerError> {
        self.any(sql::EVENT_EXISTS, args![id])
    }

    /// Note that the API was told these events are delivered (one statement each; inside
    /// [`super::Ledger::write`] they share one commit).
    pub(crate) fn mark_events_delivered(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let at = ts(now);
        for id in ids {
            self.exec(sql::MARK_EVENT_DELIVERED, args![id, at])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{new_year, scratch_ledger};

    #[test]
    fn sources_round_trip() {
        for s in [
            EventSource::Webhook,
            EventSource::Sweep,
            EventSource::InvoiceLog,
        ] {
            assert_eq!(EventSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(EventSource::parse("logs"), None);
    }

    #[test]
    fn an_event_is_recorded_once() {
        let (_dir, mut ledger) = scratch_ledger();
        let now = new_year();
        let e = EventRecord {
            id: "1",
            subscription: "invoice",
            log_type: Some("credited"),
            log_id: Some("L1"),
            subject_id: Some("100"),
            created: "2026-01-01T00:00:00.000000+00:00",
            source: EventSource::Sweep,
            verdict: "credit",
            body: "{}",
        };
        let (first, second) = ledger
            .write(|tx| {
                Ok::<_, LedgerError>((tx.insert_event(&e, now)?, tx.insert_event(&e, now)?))
            })
            .unwrap();
        assert!(first && !second);
        assert!(ledger.db().event_exists("1").unwrap());
        assert!(!ledger.db().event_exists("2").unwrap());
        ledger
            .write(|tx| tx.mark_events_delivered(&["1".to_string()], now))
            .unwrap();
    }
}
