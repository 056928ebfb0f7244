//! Raw SQL on the store, for the integration tests only: they read and seed the ledger the
//! same way on either backend. Not part of the library's interface.

use super::conn::{Row, ToSql};
use super::{Db, LedgerError};

#[doc(hidden)]
impl Db<'_> {
    /// Every row of `sql` (`?N` placeholders on both backends), outside any transaction.
    #[doc(hidden)]
    pub fn raw_query(&self, sql: &str, args: &[&dyn ToSql]) -> Result<Vec<Row>, LedgerError> {
        self.q(self.conn.query(sql, args))
    }

    /// Run one statement outside any transaction; the number of rows it changed.
    #[doc(hidden)]
    pub fn raw_exec(&self, sql: &str, args: &[&dyn ToSql]) -> Result<usize, LedgerError> {
        self.exec(sql, args)
    }

    /// Run statements without parameters, separated by `;`.
    #[doc(hidden)]
    pub fn raw_batch(&self, sql: &str) -> Result<(), LedgerError> {
        self.q(self.conn.batch(sql))
    }
}
