//! The webhooks this ledger registered at the bank (so a later run can remove a stale tunnel
//! URL it left behind, and never someone else's).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::ts;
use super::{Db, LedgerError};

/// A webhook this ledger registered and has not seen deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    pub id: String,
    pub url: String,
}

/// The webhook statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const RECORD_WEBHOOK: &str =
        "INSERT INTO webhooks(id, url, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING";
    pub const LIVE_WEBHOOKS: &str =
        "SELECT id, url FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at";
    pub const MARK_WEBHOOK_DELETED: &str = "UPDATE webhooks SET deleted_at = ?2 WHERE id = ?1";

    statements![RECORD_WEBHOOK, LIVE_WEBHOOKS, MARK_WEBHOOK_DELETED];
}

impl Db<'_> {
    /// Note a webhook this ledger registered (idempotent).
    pub fn record_webhook(
        &self,
        id: &str,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(sql::RECORD_WEBHOOK, params![id, url, ts(now)])
            .map(drop)
    }

    /// The webhooks this ledger registered and has not deleted, oldest first.
    pub fn live_webhooks(&self) -> Result<Vec<RegisteredWebhook>, LedgerError> {
        self.rows(sql::LIVE_WEBHOOKS, [], |r| {
            Ok(RegisteredWebhook {
                id: r.get(0)?,
                url: r.get(1)?,
            })
        })
    }

    /// Note that a webhook is gone at the bank.
    pub fn mark_webhook_deleted(&self, id: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
        self.exec(sql::MARK_WEBHOOK_DELETED, params![id, ts(now)])
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use crate::ledger::testing::on_scratch_db;

    #[test]
    fn registered_webhooks_are_listed_until_deleted() {
        on_scratch_db(|db, t| {
            db.record_webhook("1", "https://a.example/webhook", t)
                .unwrap();
            db.record_webhook("1", "https://a.example/webhook", t)
                .unwrap();
            db.record_webhook(
                "2",
                "https://b.example/webhook",
                t + chrono::Duration::seconds(1),
            )
            .unwrap();
            let ids: Vec<String> = db
                .live_webhooks()
                .unwrap()
                .into_iter()
                .map(|w| w.id)
                .collect();
            assert_eq!(ids, ["1", "2"]);
            db.mark_webhook_deleted("1", t).unwrap();
            assert_eq!(
                db.live_webhooks().unwrap()[0].url,
                "https://b.example/webhook"
            );
            assert_eq!(db.live_webhooks().unwrap().len(), 1);
        })
    }
}
