//! What `stark doctor` shows of a PostgreSQL ledger's server.

use super::super::{Backend, Ledger, LedgerError};

/// The server and session a PostgreSQL ledger is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub version: String,
    pub database: String,
    pub user: String,
    /// This session's `synchronous_commit` (stark sets it `on`: a commit is durable before it
    /// is answered).
    pub synchronous_commit: String,
    /// The TLS protocol of this connection (`TLSv1.3`), `None` over plaintext.
    pub tls: Option<String>,
}

const INFO: &str = "SELECT current_setting('server_version'), CAST(current_database() AS TEXT), \
    CAST(current_user AS TEXT), current_setting('synchronous_commit'), \
    COALESCE((SELECT CAST(version AS TEXT) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl), '')";

impl Ledger {
    /// The server's version and this connection's settings; `None` for a SQLite ledger.
    pub fn server_info(&self) -> Result<Option<ServerInfo>, LedgerError> {
        let Backend::Pg(client) = &self.backend else {
            return Ok(None);
        };
        let rows = client.query(INFO, vec![]).map_err(|e| self.err(e))?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let text = |i: usize| -> Result<String, LedgerError> {
            row.get::<String>(i).map_err(|e| self.err(e))
        };
        let tls = text(4)?;
        Ok(Some(ServerInfo {
            version: text(0)?,
            database: text(1)?,
            user: text(2)?,
            synchronous_commit: text(3)?,
            tls: (!tls.is_empty()).then_some(tls),
        }))
    }
}
