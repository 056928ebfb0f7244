//! The webhooks this ledger registered at the bank (so a later run can remove a stale tunnel
//! URL it left behind, and never someone else's).

use chrono::{DateTime, Utc};

use super::ts;
use super::{Db, LedgerError};

/// The owner recorded for a webhook `stark webhook ensure` registered (a deploy step's): it
/// is served by whichever replica the load balancer picks, so no `serve-webhook` ever deletes
/// it or takes it over; only `stark webhook remove` does.
pub const DEPLOYED_OWNER: &str = "stark webhook ensure";

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
    /// Which process serves a webhook (a lease owner, `ledger::lease::Owner`), kept in `meta`
    /// under `webhook_owner:<id>`.
    pub const SET_WEBHOOK_OWNER: &str = "INSERT INTO meta(key, value) VALUES ('webhook_owner:' || ?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    pub const WEBHOOK_OWNER: &str = "SELECT value FROM meta WHERE key = 'webhook_owner:' || ?1";
    pub const CLEAR_WEBHOOK_OWNER: &str = "DELETE FROM meta WHERE key = 'webhook_owner:' || ?1";

    statements![
        RECORD_WEBHOOK,
        LIVE_WEBHOOKS,
        MARK_WEBHOOK_DELETED,
        SET_WEBHOOK_OWNER,
        WEBHOOK_OWNER,
        CLEAR_WEBHOOK_OWNER
    ];
}

impl Db<'_> {
    /// Note a webhook this ledger registered (idempotent).
    pub fn record_webhook(
        &self,
        id: &str,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(sql::RECORD_WEBHOOK, args![id, url, ts(now)])
            .map(drop)
    }

    /// The webhooks this ledger registered and has not deleted, oldest first.
    pub fn live_webhooks(&self) -> Result<Vec<RegisteredWebhook>, LedgerError> {
        self.rows(sql::LIVE_WEBHOOKS, args![], |r| {
            Ok(RegisteredWebhook {
                id: r.get(0)?,
                url: r.get(1)?,
            })
        })
    }

    /// Note that a webhook is gone at the bank (and that nobody serves it any more).
    pub fn mark_webhook_deleted(&self, id: &str, now: DateTime<Utc>) -> Result<(), LedgerError> {
        self.exec(sql::MARK_WEBHOOK_DELETED, args![id, ts(now)])?;
        self.exec(sql::CLEAR_WEBHOOK_OWNER, args![id]).map(drop)
    }

    /// Note the process serving a webhook (`ledger::lease::owner_id()` of that process).
    pub fn set_webhook_owner(&self, id: &str, owner: &str) -> Result<(), LedgerError> {
        self.exec(sql::SET_WEBHOOK_OWNER, args![id, owner])
            .map(drop)
    }

    /// The process recorded as serving a webhook, if any (none for webhooks registered by an
    /// older stark).
    pub fn webhook_owner(&self, id: &str) -> Result<Option<String>, LedgerError> {
        self.row(sql::WEBHOOK_OWNER, args![id], |r| r.get(0))
    }

    /// Whether `stark webhook ensure` registered this webhook ([`DEPLOYED_OWNER`]).
    pub fn is_deployed_webhook(&self, id: &str) -> Result<bool, LedgerError> {
        Ok(self.webhook_owner(id)?.as_deref() == Some(DEPLOYED_OWNER))
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
            db.set_webhook_owner("2", "h:1:2:b:n").unwrap();
            db.set_webhook_owner("2", "h:3:4:b:n").unwrap();
            assert_eq!(db.webhook_owner("2").unwrap().as_deref(), Some("h:3:4:b:n"));
            assert_eq!(db.webhook_owner("1").unwrap(), None);
            assert!(!db.is_deployed_webhook("2").unwrap());
            db.set_webhook_owner("2", super::DEPLOYED_OWNER).unwrap();
            assert!(db.is_deployed_webhook("2").unwrap());
            db.mark_webhook_deleted("2", t).unwrap();
            assert_eq!(db.webhook_owner("2").unwrap(), None);
        })
    }
}
