//! Stark Bank's webhook signing key, cached in the ledger so that a restarted server verifies
//! its first delivery without calling the API.

use chrono::{DateTime, Utc};

use super::ts;
use super::{Db, LedgerError};

/// The key-cache statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const LATEST_WEBHOOK_KEY: &str =
        "SELECT pem FROM public_keys ORDER BY fetched_at DESC LIMIT 1";
    pub const STORE_WEBHOOK_KEY: &str =
        "INSERT INTO public_keys(fingerprint, pem, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(fingerprint) DO UPDATE SET fetched_at = excluded.fetched_at";

    statements![LATEST_WEBHOOK_KEY, STORE_WEBHOOK_KEY];
}

impl Db<'_> {
    /// The PEM of the signing key fetched most recently, if any was ever stored.
    pub fn cached_webhook_key(&self) -> Result<Option<String>, LedgerError> {
        self.row(sql::LATEST_WEBHOOK_KEY, args![], |r| r.get(0))
    }

    /// Store a signing key (identified by its fingerprint) as fetched at `now`; storing a
    /// known key again only moves its time.
    pub fn store_webhook_key(
        &self,
        fingerprint: &str,
        pem: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.exec(sql::STORE_WEBHOOK_KEY, args![fingerprint, pem, ts(now)])
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use crate::ledger::testing::on_scratch_db;

    #[test]
    fn the_key_fetched_last_is_the_cached_one() {
        on_scratch_db(|db, t| {
            assert_eq!(db.cached_webhook_key().unwrap(), None);
            db.store_webhook_key("SHA256:a", "pem a", t).unwrap();
            db.store_webhook_key("SHA256:b", "pem b", t + chrono::Duration::seconds(1))
                .unwrap();
            assert_eq!(db.cached_webhook_key().unwrap().as_deref(), Some("pem b"));
            // Seeing the first key again makes it the latest; it is not stored twice.
            db.store_webhook_key("SHA256:a", "pem a", t + chrono::Duration::seconds(2))
                .unwrap();
            assert_eq!(db.cached_webhook_key().unwrap().as_deref(), Some("pem a"));
            let rows = db.fixture_i64("SELECT COUNT(*) FROM public_keys").unwrap();
            assert_eq!(rows, 2);
        })
    }
}
