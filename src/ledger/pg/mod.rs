//! The PostgreSQL backend: its address ([`url`]), its connection ([`Client`]), its schema and
//! migrations.
//!
//! PostgreSQL starts from one baseline, `schema.sql`, equal to the SQLite schema after
//! migration [`BASELINE`]; every later SQLite migration has its PostgreSQL text in
//! [`AFTER_BASELINE`], at the same position. The version lives in `stark_schema_version`.

mod client;
mod info;
mod tls;
pub mod url;

pub use client::{Client, PgError};
pub use info::ServerInfo;

/// The SQLite migration the baseline schema equals.
pub const BASELINE: i64 = 13;

/// The baseline: the schema after SQLite's migrations 1..=[`BASELINE`].
pub const SCHEMA: &str = include_str!("schema.sql");

/// Migrations after the baseline, in order (the PostgreSQL text of SQLite migration
/// `BASELINE + 1 + i`).
pub const AFTER_BASELINE: &[&str] = &[];

/// Move every identity past the highest id its table holds (after rows were inserted with
/// explicit ids: test fixtures, a copy).
pub const RESYNC_IDENTITIES: &str = "DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.table_name, c.column_name FROM information_schema.columns c
           WHERE c.table_schema = current_schema() AND c.is_identity = 'YES'
  LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT MAX(%I) FROM %I), 0) + 1, false)',
                   r.table_name, r.column_name, r.column_name, r.table_name);
  END LOOP;
END $$";

const VERSION_TABLE_EXISTS: &str = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'stark_schema_version'";
const VERSION: &str = "SELECT version FROM stark_schema_version";
const TABLES: &str = "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name LIMIT 5";
const INSERT_LEDGER_ID: &str = "INSERT INTO meta(key, value) VALUES ('ledger_id', ?1), ('created_at', ?2) ON CONFLICT DO NOTHING";

/// The schema version, 0 when the database has no ledger.
pub(crate) fn schema_version(c: &Client) -> Result<i64, PgError> {
    if c.query(VERSION_TABLE_EXISTS, vec![])?.is_empty() {
        return Ok(0);
    }
    let rows = c.query(VERSION, vec![])?;
    Ok(match rows.first().map(|r| r.values().first().cloned()) {
        Some(Some(super::Value::Int(v))) => v,
        _ => 0,
    })
}

/// What [`migrate`] found and did.
pub(crate) enum Migrated {
    /// The database holds a newer schema than this build knows.
    TooNew(i64),
    /// Tables of another application (up to five names).
    Foreign(Vec<String>),
    /// No ledger, and creating one was not asked for.
    Uninitialised,
    Current,
    Upgraded,
    Created,
}

/// Bring the schema to `supported`, inside the caller's locked transaction (so replicas that
/// start together migrate once: the second finds the first's work when it gets the lock).
pub(crate) fn migrate(
    c: &Client,
    supported: i64,
    init: bool,
    new_id: fn() -> String,
) -> Result<Migrated, PgError> {
    let found = schema_version(c)?;
    if found > supported {
        return Ok(Migrated::TooNew(found));
    }
    if found == supported {
        return Ok(Migrated::Current);
    }
    if found == 0 {
        let tables: Vec<String> = c
            .query(TABLES, vec![])?
            .iter()
            .filter_map(|r| match r.values().first() {
                Some(super::Value::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if !tables.is_empty() {
            return Ok(Migrated::Foreign(tables));
        }
        if !init {
            return Ok(Migrated::Uninitialised);
        }
        c.batch(SCHEMA)?;
        c.batch(&format!(
            "CREATE TABLE stark_schema_version (version BIGINT NOT NULL); INSERT INTO stark_schema_version VALUES ({BASELINE})"
        ))?;
        c.execute(
            INSERT_LEDGER_ID,
            vec![
                super::Value::Text(new_id()),
                super::Value::Text(crate::clock::system_now().to_rfc3339()),
            ],
        )?;
    }
    let from = schema_version(c)?;
    for (i, sql) in AFTER_BASELINE.iter().enumerate() {
        let version = BASELINE + 1 + i as i64;
        if version > from && version <= supported {
            c.batch(sql)?;
            c.batch(&format!(
                "UPDATE stark_schema_version SET version = {version}"
            ))?;
        }
    }
    Ok(if found == 0 {
        Migrated::Created
    } else {
        Migrated::Upgraded
    })
}

#[cfg(test)]
mod tests {
    /// A SQLite migration added without its PostgreSQL text would leave PostgreSQL ledgers a
    /// version behind: every migration after the baseline has one.
    #[test]
    fn every_migration_has_a_postgresql_text() {
        assert_eq!(
            super::BASELINE as usize + super::AFTER_BASELINE.len(),
            crate::ledger::MIGRATIONS.len(),
            "add the PostgreSQL text of the new migration to pg::AFTER_BASELINE"
        );
    }
}
