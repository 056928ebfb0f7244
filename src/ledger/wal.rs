//! Write-ahead-log checkpoints, for a process that wants to run them itself (off the
//! committing thread) instead of letting SQLite run them inside a commit.

use super::{Ledger, LedgerError};

/// The checkpoint pragmas. Not in [`super::statements`]: a pragma has no query plan.
pub mod sql {
    pub const DISABLE_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0";
    pub const CHECKPOINT_PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";
}

impl Ledger {
    /// Stop this connection's commits from checkpointing the WAL (another connection then
    /// calls [`Ledger::checkpoint`]). Durability is unchanged: the WAL is synced at every
    /// commit.
    /// On PostgreSQL there is nothing to do: the server checkpoints.
    pub fn disable_autocheckpoint(&self) -> Result<(), LedgerError> {
        let Some(conn) = self.sqlite() else {
            return Ok(());
        };
        conn.execute_batch(sql::DISABLE_AUTOCHECKPOINT)
            .map_err(|e| self.err(e))
    }

    /// Copy what it can of the WAL back into the database without waiting for readers or
    /// the writer (PASSIVE), so the WAL stops growing.
    /// On PostgreSQL there is nothing to do: the server checkpoints.
    pub fn checkpoint(&self) -> Result<(), LedgerError> {
        let Some(conn) = self.sqlite() else {
            return Ok(());
        };
        conn.query_row(sql::CHECKPOINT_PASSIVE, [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::scratch_ledger;

    #[test]
    fn a_manual_checkpoint_empties_the_wal() {
        if crate::ledger::testing::on_postgres() {
            return; // SQLite's WAL only
        }
        let (_dir, writer) = scratch_ledger();
        let path = writer.path().to_path_buf();
        writer.disable_autocheckpoint().unwrap();
        let pages: i64 = writer
            .sqlite()
            .unwrap()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pages, 0);
        let checkpointer = Ledger::open(&path).unwrap();
        for i in 0..50 {
            writer
                .db()
                .record_webhook(
                    &format!("k{i}"),
                    "https://a.example/webhook",
                    chrono::Utc::now(),
                )
                .unwrap();
        }
        let wal_path = path.with_extension("sqlite3-wal");
        let wal = || std::fs::metadata(&wal_path).map_or(0, |m| m.len());
        let before = wal();
        assert!(before > 0);
        checkpointer.checkpoint().unwrap();
        // The WAL is reused from its start after a complete checkpoint: the next commit
        // does not grow it.
        writer
            .db()
            .record_webhook("after", "https://a.example/webhook", chrono::Utc::now())
            .unwrap();
        assert_eq!(wal(), before);
        let (log, done): (i64, i64) = checkpointer
            .sqlite()
            .unwrap()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(log, done, "everything checkpointed");
    }
}
