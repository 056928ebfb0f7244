//! A PostgreSQL ledger copied into a new SQLite file, for the dry runs that replay a whole
//! command on a copy (`reconcile --dry-run`).

use std::path::Path;

use super::conn::{Conn, ToSql};
use super::{Backend, Ledger, LedgerError, classify};

/// Copy every table of the PostgreSQL ledger `from` into a new SQLite ledger at `to`, column
/// by column (by name), while holding the write lock so that no writer commits meanwhile.
pub(super) fn pg_to_sqlite(from: &Ledger, to: &Path) -> Result<(), LedgerError> {
    let Backend::Pg(client) = &from.backend else {
        unreachable!("pg_to_sqlite copies a PostgreSQL ledger");
    };
    let copy = Ledger::create(to)?.0;
    let Backend::Sqlite(target) = &copy.backend else {
        unreachable!("the copy is a SQLite file");
    };
    let sq = |e: rusqlite::Error| classify(to, e.into());
    let tables: Vec<String> = target
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sq)?;
    target
        .execute_batch("PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE; DELETE FROM meta;")
        .map_err(sq)?;
    let pe = |e: super::pg::PgError| classify(&from.path, e.into());
    client.begin().map_err(pe)?;
    let out = (|| {
        for table in &tables {
            let columns: Vec<String> = target
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                ))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(sq)?;
            let list = columns.join(", ");
            let rows = Conn::Pg(client)
                .query(&format!("SELECT {list} FROM {table}"), &[])
                .map_err(|e| classify(&from.path, e))?;
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let insert = format!("INSERT INTO {table} ({list}) VALUES ({})", marks.join(", "));
            for row in &rows {
                let args: Vec<&dyn ToSql> = row.values().iter().map(|v| v as &dyn ToSql).collect();
                Conn::Sqlite(target)
                    .execute(&insert, &args)
                    .map_err(|e| classify(to, e))?;
            }
        }
        Ok(())
    })();
    let _ = client.rollback();
    out?;
    target
        .execute_batch("COMMIT; PRAGMA foreign_keys=ON;")
        .map_err(sq)?;
    Ok(())
}
