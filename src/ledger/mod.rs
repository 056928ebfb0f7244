//! The local SQLite ledger: the single source of truth that makes every command idempotent.
//!
//! Only [`Ledger::create`] (`stark init`, the demo's own ledger) creates a ledger: the file
//! (mode 0600) and its parent directories. [`Ledger::open`], which every other command uses,
//! refuses a missing file ([`LedgerError::Missing`]) or one that was never initialised
//! ([`LedgerError::Uninitialised`]) and creates nothing, so a mistyped or deleted ledger path
//! cannot silently start a second ledger and campaign. Both turn on WAL, a busy timeout and
//! foreign keys, and apply the numbered migrations (`PRAGMA user_version`). A ledger written by
//! a newer `stark` is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use conn::Conn;
pub use conn::{Dialect, FromSql, Row, SqlError, SqlResult, ToSql, Value};

/// `impl FromRow` for a struct read from a row whose columns are its fields, in the order
/// listed (the order of the statement's result columns): `field` reads its column as is,
/// `field: f` passes the column's value through the function `f`.
macro_rules! from_row {
    ($ty:ident { $($field:ident $(: $conv:expr)?),* $(,)? }) => {
        impl $crate::ledger::FromRow for $ty {
            fn from_row(r: &$crate::ledger::Row) -> $crate::ledger::SqlResult<Self> {
                let mut col = 0;
                let mut next = || {
                    col += 1;
                    col - 1
                };
                // Fields are evaluated in the order written: column 0, 1, 2…
                Ok($ty {
                    $($field: from_row!(@read r, next() $(, $conv)?),)*
                })
            }
        }
    };
    (@read $r:ident, $col:expr) => {
        $r.get($col)?
    };
    (@read $r:ident, $col:expr, $conv:expr) => {
        ($conv)($r.get($col)?)
    };
}

/// A `sql` module's `pub const ALL`: each of the statements named, as `(name, sql)` (gathered
/// by [`statements`]).
macro_rules! statements {
    ($($name:ident),* $(,)?) => {
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

#[macro_use]
pub mod conn;

pub mod activity;
pub(crate) mod audit;
pub mod campaigns;
mod copy;
pub mod credits;
pub mod decoding;
pub mod events;
pub mod keys;
pub mod lease;
mod migrations;
pub mod pg;
mod raw;
pub mod report;
pub mod runs;
pub mod transfers;
mod wal;
pub mod webhooks;

pub use migrations::MIGRATIONS;

/// How long a command waits for another process holding the write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The busy timeout in effect: [`BUSY_TIMEOUT`], unless `STARK_BUSY_TIMEOUT_MS` is set.
///
/// `STARK_BUSY_TIMEOUT_MS` is a testing aid (it lets the lock-contention tests fail in
/// milliseconds instead of ten seconds); operators have no reason to set it.
pub fn busy_timeout() -> Duration {
    crate::test_hooks::busy_timeout().unwrap_or(BUSY_TIMEOUT)
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot create the ledger directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the ledger {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    /// No file at the path: only `stark init` creates a ledger.
    #[error("no ledger at {path}: run `stark init` to create one")]
    Missing { path: PathBuf },
    /// A file without any schema (an interrupted `stark init`, or an empty file): only
    /// `stark init` initialises it.
    #[error("{}", uninitialised_message(path))]
    Uninitialised { path: PathBuf },
    #[error(
        "the ledger {path} was written by a newer stark (schema version {found}, this build knows up to {supported}); upgrade stark"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("the ledger {path} is not a stark ledger or is corrupted: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// Another process holds the lock. `timeout` is the busy timeout the connection used;
    /// `waited` how long this command waited before SQLite answered busy, where it was
    /// measured (SQLite answers some requests busy at once, without the busy handler).
    #[error("{}", busy_message(path, *timeout, *waited))]
    Busy {
        path: PathBuf,
        timeout: Duration,
        waited: Option<Duration>,
    },
    #[error("the ledger {path} cannot be written: {reason}")]
    ReadOnly { path: PathBuf, reason: String },
    /// The database server cannot be reached (PostgreSQL: refused, lost, shutting down).
    #[error("the ledger {path} cannot be reached: {reason}")]
    Unreachable { path: PathBuf, reason: String },
    /// The statement's own error is part of the message, not a separate cause (so the
    /// operator reads it once).
    #[error("ledger {path}: {error}")]
    Sql { path: PathBuf, error: SqlError },
}

/// [`LedgerError::Uninitialised`]'s message: a file, or a database without the schema.
fn uninitialised_message(path: &Path) -> String {
    if is_postgres(path) {
        format!(
            "the database {} has no stark ledger: run `stark init` to create one",
            display_address(path)
        )
    } else {
        format!(
            "{} is an empty file, not an initialised ledger: run `stark init` to initialise it",
            path.display()
        )
    }
}

/// An open ledger.
pub struct Ledger {
    backend: Backend,
    /// The file, or for PostgreSQL the URL without its password: what messages name.
    path: PathBuf,
}

enum Backend {
    Sqlite(Connection),
    Pg(pg::Client),
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

/// What [`Ledger::create`] found at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// This call initialised the ledger (a new ledger id).
    New,
    /// A ledger was already there: it was opened as is, never overwritten.
    Existing,
}

/// Whether a ledger address (`--ledger`, `STARK_LEDGER`, config `ledger`) names a PostgreSQL
/// database rather than a SQLite file.
pub fn is_postgres(path: &Path) -> bool {
    path.to_str().is_some_and(pg::url::is_postgres_url)
}

/// A ledger address as messages may show it: a PostgreSQL URL without its password.
pub fn display_address(path: &Path) -> String {
    match path.to_str() {
        Some(s) if pg::url::is_postgres_url(s) => pg::url::redact(s),
        _ => path.display().to_string(),
    }
}

impl Ledger {
    /// Open the existing ledger at `path` and migrate it. Creates nothing: a missing file is
    /// [`LedgerError::Missing`], a file that was never initialised (empty, or left by an
    /// interrupted `stark init`) is [`LedgerError::Uninitialised`]. A `postgres://` URL opens
    /// that database, which must hold a ledger (`stark init` makes one).
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if is_postgres(path) {
            return Ledger::connect_pg(path, false).map(|(l, _)| l);
        }
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LedgerError::Missing {
                    path: path.to_path_buf(),
                });
            }
            // Not even a SQLite header: refused before SQLite writes one.
            Ok(m) if m.is_file() && m.len() == 0 => {
                return Err(LedgerError::Uninitialised {
                    path: path.to_path_buf(),
                });
            }
            _ => {}
        }
        let (ledger, _) = Ledger::connect(path, false)?;
        Ok(ledger)
    }

    /// Create the ledger at `path` — its parent directories, the file (mode 0600), the schema
    /// and a new ledger id — or, if a ledger is already there, open it unchanged. Only
    /// `stark init` and the demo's own temporary ledger call this. For a `postgres://` URL the
    /// database must exist; the schema is created in it.
    pub fn create(path: &Path) -> Result<(Ledger, Creation), LedgerError> {
        if is_postgres(path) {
            return Ledger::connect_pg(path, true);
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|source| LedgerError::CreateDir {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
        }
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            // Create it private before SQLite does (SQLite would use the umask). Losing a race
            // with another `stark init` is fine: the migration below runs once, under the lock.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
        }
        Ledger::connect(path, true)
    }

    /// [`Ledger::create`] without the report of what it found (tests, benches, the demo).
    pub fn open_or_create(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::create(path).map(|(ledger, _)| ledger)
    }

    /// Connect to the file at `path` (never creating it), configure and migrate; `init` allows
    /// initialising a file without schema.
    fn connect(path: &Path, init: bool) -> Result<(Ledger, Creation), LedgerError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            if path.exists() {
                LedgerError::Open {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            } else {
                // Removed between the check and the open.
                LedgerError::Missing {
                    path: path.to_path_buf(),
                }
            }
        })?;
        let mut ledger = Ledger {
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
        };
        ledger.configure()?;
        let creation = ledger.migrate(init)?;
        Ok((ledger, creation))
    }

    /// Connect to the PostgreSQL database at the URL `url` and migrate; `init` allows creating
    /// the schema in a database without it.
    fn connect_pg(url: &Path, init: bool) -> Result<(Ledger, Creation), LedgerError> {
        let text = url.to_str().unwrap_or_default();
        let target = pg::url::PgTarget::parse(text).map_err(|e| LedgerError::Open {
            path: PathBuf::from(pg::url::redact(text)),
            reason: e.to_string(),
        })?;
        let path = PathBuf::from(target.redacted());
        let client =
            pg::Client::connect(&target, busy_timeout()).map_err(|e| classify(&path, e.into()))?;
        let mut ledger = Ledger {
            backend: Backend::Pg(client),
            path,
        };
        let creation = ledger.migrate_pg(init)?;
        Ok((ledger, creation))
    }

    /// The file this ledger lives in, or for PostgreSQL its URL without the password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which database the ledger lives in.
    pub fn dialect(&self) -> Dialect {
        self.db().conn.dialect()
    }

    /// Map a database error to what the operator should know.
    fn err(&self, e: impl Into<SqlError>) -> LedgerError {
        classify(&self.path, e.into())
    }

    fn sqlite(&self) -> Option<&Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Pg(_) => None,
        }
    }

    fn configure(&mut self) -> Result<(), LedgerError> {
        let Backend::Sqlite(conn) = &self.backend else {
            return Ok(());
        };
        conn.busy_timeout(busy_timeout()).map_err(|e| self.err(e))?;
        // A garbage file fails here with "file is not a database". Switching a new file to WAL
        // needs an exclusive lock and answers SQLITE_BUSY at once, without the busy handler,
        // when another process is opening the same new file: retry within the busy timeout.
        let started = std::time::Instant::now();
        let deadline = started + busy_timeout();
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other.map_err(|e| classify_since(&self.path, e.into(), started))?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %self.path.display(), mode, "ledger is not in WAL mode");
        }
        // FULL: a commit is on disk before we act on it (the money path relies on that).
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The schema version stored in the ledger.
    pub fn schema_version(&self) -> Result<i64, LedgerError> {
        match &self.backend {
            Backend::Sqlite(c) => c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e)),
            Backend::Pg(c) => pg::schema_version(c).map_err(|e| self.err(e)),
        }
    }

    /// Apply the migrations the file lacks. A file without schema is initialised only when
    /// `init` (by [`Ledger::create`]); otherwise it is [`LedgerError::Uninitialised`].
    fn migrate(&mut self, init: bool) -> Result<Creation, LedgerError> {
        let supported = MIGRATIONS.len() as i64;
        let found = self.schema_version()?;
        if found > supported {
            return Err(LedgerError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        if found == supported {
            return Ok(Creation::Existing);
        }
        let path = self.path.clone();
        let Backend::Sqlite(conn) = &mut self.backend else {
            unreachable!("migrate is SQLite's");
        };
        let started = std::time::Instant::now();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify_since(&path, e.into(), started))?;
        let sq = |e: rusqlite::Error| classify(&path, e.into());
        // Re-read inside the write lock: another process may have migrated meanwhile.
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sq)?;
        if current == 0 {
            // A database that already holds tables but no stark schema belongs to something
            // else: never add our tables to it.
            let mut stmt = tx
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 5",
                )
                .map_err(sq)?;
            let foreign: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(sq)?;
            if !foreign.is_empty() {
                return Err(foreign_database(path, &foreign));
            }
            if !init {
                return Err(LedgerError::Uninitialised { path });
            }
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql).map_err(sq)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(sq)?;
        }
        if current == 0 {
            Conn::Sqlite(&tx)
                .execute(
                    sql::INSERT_LEDGER_ID,
                    args![new_ledger_id(), crate::clock::system_now().to_rfc3339()],
                )
                .map_err(|e| classify(&path, e))?;
        }
        tx.commit().map_err(sq)?;
        Ok(if current == 0 {
            Creation::New
        } else {
            Creation::Existing
        })
    }

    /// [`Ledger::migrate`] for PostgreSQL: under the write lock, so that replicas starting
    /// together migrate once.
    fn migrate_pg(&mut self, init: bool) -> Result<Creation, LedgerError> {
        let supported = MIGRATIONS.len() as i64;
        let path = self.path.clone();
        let Backend::Pg(client) = &self.backend else {
            unreachable!("migrate_pg is PostgreSQL's");
        };
        // The fast path, without the lock: already at this build's version.
        if let Ok(found) = pg::schema_version(client) {
            if found == supported {
                return Ok(Creation::Existing);
            }
        }
        let pe = |e: pg::PgError| classify(&path, e.into());
        client.begin().map_err(pe)?;
        let out = (|| {
            let creation = pg::migrate(client, supported, init, new_ledger_id).map_err(pe)?;
            match creation {
                pg::Migrated::TooNew(found) => Err(LedgerError::TooNew {
                    path: path.clone(),
                    found,
                    supported,
                }),
                pg::Migrated::Foreign(tables) => Err(foreign_database(path.clone(), &tables)),
                pg::Migrated::Uninitialised => {
                    Err(LedgerError::Uninitialised { path: path.clone() })
                }
                pg::Migrated::Current => Ok(Creation::Existing),
                pg::Migrated::Upgraded => Ok(Creation::Existing),
                pg::Migrated::Created => Ok(Creation::New),
            }
        })();
        match out {
            Ok(c) => {
                client.commit().map_err(pe)?;
                Ok(c)
            }
            Err(e) => {
                let _ = client.rollback();
                Err(e)
            }
        }
    }

    /// A short random id that makes this ledger's tags differ from any other ledger's.
    pub fn ledger_id(&self) -> Result<String, LedgerError> {
        self.meta("ledger_id")?.ok_or_else(|| LedgerError::Corrupt {
            path: self.path.clone(),
            reason: "no ledger id".into(),
        })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        self.db().row(sql::META, args![key], |r| r.get(0))
    }

    /// Reads and single-statement writes outside a transaction (each statement commits on its
    /// own; on PostgreSQL a write takes the write lock for its statement).
    pub fn db(&self) -> Db<'_> {
        Db {
            conn: match &self.backend {
                Backend::Sqlite(c) => Conn::Sqlite(c),
                Backend::Pg(c) => Conn::Pg(c),
            },
            path: &self.path,
        }
    }

    /// Run `f` in a write transaction (the write lock is taken up front — `BEGIN IMMEDIATE` on
    /// SQLite, `pg_advisory_xact_lock` on PostgreSQL — so two processes can never both decide
    /// on stale reads). Commits when `f` returns `Ok`, rolls back otherwise.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        self.immediate(f, true)
    }

    /// `f` in a write transaction; with `commit`, what it wrote is kept when it returns `Ok`.
    /// Everything else is rolled back.
    fn immediate<T, E>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
        commit: bool,
    ) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        let started = std::time::Instant::now();
        let path = &self.path;
        match &mut self.backend {
            Backend::Sqlite(conn) => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| E::from(classify_since(path, e.into(), started)))?;
                let out = f(&Tx {
                    db: Db {
                        conn: Conn::Sqlite(&tx),
                        path,
                    },
                });
                match out {
                    Ok(out) if commit => {
                        tx.commit().map_err(|e| E::from(classify(path, e.into())))?;
                        Ok(out)
                    }
                    Ok(out) => {
                        tx.rollback()
                            .map_err(|e| E::from(classify(path, e.into())))?;
                        Ok(out)
                    }
                    // Dropped, the transaction rolls back; the error is `f`'s.
                    Err(e) => Err(e),
                }
            }
            Backend::Pg(client) => {
                client
                    .begin()
                    .map_err(|e| E::from(classify_since(path, e.into(), started)))?;
                // Rolled back if `f` panics (the connection is then dropped with the ledger).
                let out = f(&Tx {
                    db: Db {
                        conn: Conn::Pg(client),
                        path,
                    },
                });
                match out {
                    Ok(out) if commit => {
                        client
                            .commit()
                            .map_err(|e| E::from(classify(path, e.into())))?;
                        Ok(out)
                    }
                    Ok(out) => {
                        client
                            .rollback()
                            .map_err(|e| E::from(classify(path, e.into())))?;
                        Ok(out)
                    }
                    Err(e) => {
                        let _ = client.rollback();
                        Err(e)
                    }
                }
            }
        }
    }

    /// A consistent copy of the ledger at `to` (`VACUUM INTO`; `to` must not exist): for a
    /// dry run that replays a whole command on the copy. A PostgreSQL ledger is copied into a
    /// new SQLite file at `to`, table by table, inside one snapshot.
    pub fn copy_to(&self, to: &Path) -> Result<(), LedgerError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let target = to.to_string_lossy();
                conn.execute("VACUUM INTO ?1", [target.as_ref()])
                    .map(|_| ())
                    .map_err(|e| self.err(e))
            }
            Backend::Pg(_) => copy::pg_to_sqlite(self, to),
        }
    }

    /// [`Ledger::write`] that never commits: `f` runs in the same write transaction (so it
    /// decides exactly as a real run would, claims included), and everything it wrote is
    /// rolled back whatever it returns. For `--dry-run`.
    pub fn dry<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<LedgerError>,
    {
        self.immediate(f, false)
    }
}

/// The ledger's own statements (opening, meta).
mod sql {
    pub const META: &str = "SELECT value FROM meta WHERE key = ?1";
    pub const INSERT_LEDGER_ID: &str = "INSERT INTO meta(key, value) VALUES ('ledger_id', ?1), ('created_at', ?2) ON CONFLICT DO NOTHING";
}

/// Why a database that holds other tables is not migrated.
fn foreign_database(path: PathBuf, tables: &[String]) -> LedgerError {
    LedgerError::Corrupt {
        path,
        reason: format!(
            "it is another application's database (tables: {}); point --ledger / STARK_LEDGER at a new file or database",
            tables.join(", ")
        ),
    }
}

/// The ledger's typed store for reads and single-statement writes. Each aggregate module
/// (`campaigns`, `transfers`, …) adds its methods with `impl Db<'_> { … }`; they take and
/// return domain types and [`LedgerError`], classified here where the path is known. No
/// database driver's type crosses this boundary.
#[derive(Clone, Copy)]
pub struct Db<'c> {
    conn: Conn<'c>,
    path: &'c Path,
}

/// Every statement the store runs, as `(name, sql)` (`tests/it/query_plans.rs` checks the plan of
/// each). Each aggregate module keeps its own `sql::ALL`; add a new module's list here.
pub fn statements() -> Vec<(&'static str, &'static str)> {
    [
        activity::sql::ALL,
        audit::sql::ALL,
        campaigns::sql::ALL,
        credits::sql::ALL,
        decoding::sql::ALL,
        events::sql::ALL,
        keys::sql::ALL,
        lease::sql::ALL,
        report::sql::ALL,
        runs::sql::ALL,
        transfers::sql::ALL,
        webhooks::sql::ALL,
    ]
    .concat()
}

/// The statements of [`statements`] that PostgreSQL runs in a text of its own, as
/// `(name, PostgreSQL text)`.
pub fn pg_variants() -> &'static [(&'static str, &'static str)] {
    &[
        ("TAKE_LEASE", campaigns::sql::TAKE_LEASE_PG),
        ("LEASE_UNSENT", transfers::sql::LEASE_UNSENT_PG),
        ("LOG_EVENTS", activity::sql::LOG_EVENTS_PG),
        ("LOG_CREDITS", activity::sql::LOG_CREDITS_PG),
    ]
}

impl Db<'_> {
    /// `EXPLAIN QUERY PLAN` of a statement, one detail line per step (parameters bound to
    /// NULL). SQLite only: on PostgreSQL it is empty.
    pub fn query_plan(&self, sql: &str) -> Result<Vec<String>, LedgerError> {
        let Conn::Sqlite(conn) = self.conn else {
            return Ok(Vec::new());
        };
        self.q((|| {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            Ok(stmt
                .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })())
    }

    /// The ledger this handle reads (a file, or a PostgreSQL URL without its password).
    pub fn path(&self) -> &Path {
        self.path
    }

    /// Which database this handle reads.
    pub fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// Real Unix time in seconds for leases: this host's clock on SQLite (one machine), the
    /// database server's on PostgreSQL, so that leases taken from several hosts are judged by
    /// one clock whatever the hosts' skew.
    pub fn wall_now(&self) -> Result<i64, LedgerError> {
        match self.conn {
            Conn::Sqlite(_) => Ok(lease::wall_now()),
            Conn::Pg(_) => self.one(lease::DB_NOW_PG, args![], |r| r.get(0)),
        }
    }

    /// Classify a database result for the operator (every store method ends with this).
    fn q<T>(&self, r: SqlResult<T>) -> Result<T, LedgerError> {
        r.map_err(|e| classify(self.path, e))
    }

    /// Every row of a statement, each mapped by `map`.
    fn rows<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        map: impl FnMut(&Row) -> SqlResult<T>,
    ) -> Result<Vec<T>, LedgerError> {
        self.q(self
            .conn
            .query(sql, args)
            .and_then(|rows| rows.iter().map(map).collect()))
    }

    /// The first row of a statement mapped by `map`, if there is one.
    fn row<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        map: impl FnOnce(&Row) -> SqlResult<T>,
    ) -> Result<Option<T>, LedgerError> {
        self.q(self
            .conn
            .query_opt(sql, args)
            .and_then(|r| r.as_ref().map(map).transpose()))
    }

    /// The one row a statement always returns (an aggregate), mapped by `map`.
    fn one<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        map: impl FnOnce(&Row) -> SqlResult<T>,
    ) -> Result<T, LedgerError> {
        self.row(sql, args, map)?.ok_or_else(|| LedgerError::Sql {
            path: self.path.to_path_buf(),
            error: conversion(0, "the statement returned no row"),
        })
    }

    /// Whether a statement returns any row.
    fn any(&self, sql: &str, args: &[&dyn ToSql]) -> Result<bool, LedgerError> {
        self.row(sql, args, |_| Ok(())).map(|o| o.is_some())
    }

    /// Run a statement; the number of rows it changed.
    fn exec(&self, sql: &str, args: &[&dyn ToSql]) -> Result<usize, LedgerError> {
        self.q(self.conn.execute(sql, args))
    }
}

/// A value read from one result row (most are implemented with `from_row!`).
pub(crate) trait FromRow: Sized {
    fn from_row(r: &Row) -> SqlResult<Self>;
}

/// A write transaction on the ledger, handed to [`Ledger::write`]'s closure. Everything
/// [`Db`] does (through `Deref`), plus the multi-statement claims that are only safe under the
/// write lock (aggregate modules add them with `impl Tx<'_> { … }`).
pub struct Tx<'c> {
    db: Db<'c>,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Db<'c>;
    fn deref(&self) -> &Db<'c> {
        &self.db
    }
}

/// A time as the ledger stores it: UTC RFC 3339 with microseconds.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) use conn::conversion;

/// A stored time read back (a column that does not parse is a conversion failure).
pub(crate) fn parse_ts(s: &str) -> SqlResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|e| conversion(0, format!("bad time {s:?}: {e}")))
}

/// What [`LedgerError::Busy`] says: the busy timeout actually used, and a duration of
/// waiting only where it was measured.
fn busy_message(path: &Path, timeout: Duration, waited: Option<Duration>) -> String {
    let path = path.display();
    let secs = timeout.as_secs_f64();
    match waited {
        // Within a few milliseconds of the timeout: the busy handler waited it out.
        Some(w) if w + Duration::from_millis(20) >= timeout => format!(
            "the ledger {path} is busy: another process held its lock for more than the {secs:.1} s busy timeout; try again"
        ),
        Some(w) => format!(
            "the ledger {path} is busy: the database answered busy after {} ms, without waiting for the {secs:.1} s busy timeout, because another process is using the ledger; try again",
            w.as_millis()
        ),
        None => format!(
            "the ledger {path} is busy: another process is using it (busy timeout {secs:.1} s); try again"
        ),
    }
}

/// [`classify`] for a request that started at `started`: a busy answer records how long this
/// command waited for it.
fn classify_since(path: &Path, e: SqlError, started: std::time::Instant) -> LedgerError {
    match classify(path, e) {
        LedgerError::Busy { path, timeout, .. } => LedgerError::Busy {
            path,
            timeout,
            waited: Some(started.elapsed()),
        },
        other => other,
    }
}

/// Turn a database error into an operator-facing ledger error.
pub(crate) fn classify(path: &Path, e: SqlError) -> LedgerError {
    match e {
        SqlError::Sqlite(e) => classify_sqlite(path, e),
        SqlError::Pg(e) => classify_pg(path, e),
        e @ SqlError::Conversion { .. } => LedgerError::Sql {
            path: path.to_path_buf(),
            error: e,
        },
    }
}

/// A PostgreSQL error by its SQLSTATE: lock waits, serialization failures and deadlocks are
/// busy (try again); a read-only server (a standby after failover) or a full disk cannot be
/// written; a lost or refused connection is unreachable; a refused login cannot open.
fn classify_pg(path: &Path, e: pg::PgError) -> LedgerError {
    let path = path.to_path_buf();
    let state = e.sqlstate.as_deref().unwrap_or("");
    // A refused connection's message names its SQLSTATE already (`pg::url`): not twice.
    match state {
        "55P03" | "40001" | "40P01" => LedgerError::Busy {
            path,
            timeout: busy_timeout(),
            waited: None,
        },
        "25006" | "53100" | "53200" | "53300" => LedgerError::ReadOnly {
            path,
            reason: with_sqlstate(&e.message, state),
        },
        "28P01" | "28000" | "3D000" | "42501" => LedgerError::Open {
            path,
            reason: with_sqlstate(&e.message, state),
        },
        _ if e.refused => LedgerError::Open {
            path,
            reason: e.message.clone(),
        },
        s if s.starts_with("08") || s.starts_with("57P") => LedgerError::Unreachable {
            path,
            reason: with_sqlstate(&e.message, state),
        },
        _ if e.connection => LedgerError::Unreachable {
            path,
            reason: e.message.clone(),
        },
        _ => LedgerError::Sql {
            path,
            error: SqlError::Pg(e),
        },
    }
}

/// `message (SQLSTATE code)`, unless the message names it already (a refused connection's does).
fn with_sqlstate(message: &str, state: &str) -> String {
    if message.contains(&format!("SQLSTATE {state}")) {
        message.to_string()
    } else {
        format!("{message} (SQLSTATE {state})")
    }
}

/// Turn a SQLite error into an operator-facing ledger error.
fn classify_sqlite(path: &Path, e: rusqlite::Error) -> LedgerError {
    use rusqlite::ErrorCode;
    let path = path.to_path_buf();
    if let rusqlite::Error::SqliteFailure(f, ref msg) = e {
        let reason = msg.clone().unwrap_or_else(|| f.to_string());
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return LedgerError::Busy {
                    path,
                    timeout: busy_timeout(),
                    waited: None,
                };
            }
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                return LedgerError::Corrupt { path, reason };
            }
            // Failing to write or grow the WAL or its `-shm` index: on a full disk SQLite
            // reports these (e.g. SQLITE_IOERR_SHMSIZE) rather than SQLITE_FULL.
            ErrorCode::SystemIoFailure => {
                return LedgerError::ReadOnly {
                    path,
                    reason: format!(
                        "{reason} (SQLite code {}): the disk may be full or failing",
                        f.extended_code
                    ),
                };
            }
            ErrorCode::ReadOnly
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied => {
                return LedgerError::ReadOnly { path, reason };
            }
            _ => {}
        }
    }
    LedgerError::Sql {
        path,
        error: SqlError::Sqlite(e),
    }
}

fn new_ledger_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Fixtures for the store's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{DateTime, Utc};

    use super::{Db, Ledger};

    /// A fresh ledger in a temporary directory that lives as long as the guard: a SQLite file,
    /// or with `STARK_TEST_BACKEND=postgres` a fresh PostgreSQL database on `STARK_TEST_PG`
    /// (`tests/run` runs the store's tests both ways).
    pub(crate) fn scratch_ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let path = match crate::testing::backend_under_test() {
            crate::testing::Backend::Sqlite => dir.path().join("l.sqlite3"),
            crate::testing::Backend::Postgres => std::path::PathBuf::from(
                crate::testing::pg_test_database("scratch ledger")
                    .expect("STARK_TEST_BACKEND=postgres needs STARK_TEST_PG"),
            ),
        };
        let ledger = Ledger::open_or_create(&path).unwrap();
        (dir, ledger)
    }

    /// Whether the store's tests run on PostgreSQL (`STARK_TEST_BACKEND=postgres`): tests of
    /// what only SQLite has (the file, its pragmas) return early.
    pub(crate) fn on_postgres() -> bool {
        crate::testing::backend_under_test() == crate::testing::Backend::Postgres
    }

    /// Run `f` on the store of a fresh scratch ledger, with the tests' "now" ([`new_year`]).
    pub(crate) fn on_scratch_db<T>(f: impl FnOnce(Db<'_>, DateTime<Utc>) -> T) -> T {
        let (_dir, ledger) = scratch_ledger();
        f(ledger.db(), new_year())
    }

    /// A ledger with one issued batch holding invoice `100` (R$ 10,00) of its own, in
    /// `status` (`created`, `paid`…), and, with `credited`, its credit of 1000 − 7.
    pub(crate) fn ledger_with_invoice(status: &str, credited: bool) -> (tempfile::TempDir, Ledger) {
        let (dir, l) = scratch_ledger();
        let mut sql = format!(
            "INSERT INTO campaigns VALUES (1, '2026-11-26T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, '2026-11-26T00:00:00Z');
             INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
               VALUES (1, 1, 0, 't', 'issued', 1, 1000, '2026-11-26T00:00:00Z', 'x', 'x');
             INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
               VALUES (1, 1, 0, 'Ana', '012.345.678-90', 1000, '100', '{status}', 'x');"
        );
        if credited {
            sql.push_str(
                "INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)
                   VALUES ('100', 'L', 1000, 7, 993, 'x', 'x', 'webhook');",
            );
        }
        l.db().fixture_sql(&sql).unwrap();
        (dir, l)
    }

    /// Record a second invoice of ours (`200`, Bia) in batch 1, as a late POST answer would.
    pub(crate) fn add_invoice_200(l: &Ledger) {
        l.db()
            .fixture_sql(
                "INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
                 VALUES (1, 1, 1, 'Bia', '337.451.076-08', 1000, '200', 'created', 'x')",
            )
            .unwrap();
    }

    /// Attempt 1 of invoice `100`'s transfer, `sending` (a POST may have happened).
    pub(crate) fn add_sending_transfer_100(l: &Ledger) {
        l.db()
            .fixture_sql(
                "INSERT INTO transfers(invoice_id, attempt, external_id, tag, amount, body, status, created_at, updated_at)
                 VALUES ('100', 1, 'x-100-a1', 'tag-100', 993, '{}', 'sending', 'x', 'x')",
            )
            .unwrap();
    }

    /// How many credits the ledger holds, and their net total.
    pub(crate) fn credit_count_and_net(l: &Ledger) -> (i64, i64) {
        (
            l.db().fixture_i64("SELECT COUNT(*) FROM credits").unwrap(),
            l.db()
                .fixture_i64("SELECT CAST(COALESCE(SUM(net), 0) AS BIGINT) FROM credits")
                .unwrap(),
        )
    }

    /// The source and verdict an event was stored with.
    pub(crate) fn event_source_and_verdict(l: &Ledger, id: &str) -> (String, String) {
        l.db()
            .row(
                "SELECT source, verdict FROM events WHERE id = ?1",
                args![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
            .unwrap()
    }

    /// 2026-01-01T00:00:00Z, the tests' "now".
    pub(crate) fn new_year() -> chrono::DateTime<chrono::Utc> {
        super::parse_ts("2026-01-01T00:00:00Z").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that does not exist cannot open, and the reason names its SQLSTATE once
    /// (the connection's message carries it already).
    #[test]
    fn a_missing_postgres_database_names_its_sqlstate_once() {
        let Some(url) = crate::testing::pg_test_database("missing database") else {
            return;
        };
        let gone = url.replace("/stark_t_", "/stark_gone_");
        let e = Ledger::open(Path::new(&gone)).unwrap_err();
        assert!(matches!(e, LedgerError::Open { .. }), "{e:?}");
        let text = e.to_string();
        assert_eq!(text.matches("SQLSTATE 3D000").count(), 1, "{text}");
    }

    #[test]
    fn fresh_ledger_migrates_and_reopen_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/ledger.sqlite3");
        let (l, creation) = Ledger::create(&path).unwrap();
        assert_eq!(creation, Creation::New);
        assert_eq!(l.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let id = l.ledger_id().unwrap();
        assert_eq!(id.len(), 6);
        drop(l);
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.ledger_id().unwrap(), id);
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn dry_runs_the_transaction_and_rolls_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_or_create(&dir.path().join("ledger.sqlite3")).unwrap();
        let count =
            |l: &Ledger| -> i64 { l.db().fixture_i64("SELECT COUNT(*) FROM meta").unwrap() };
        let before = count(&l);
        let seen = l
            .dry(|tx| {
                tx.exec("INSERT INTO meta (key, value) VALUES ('dry', 'x')", args![])?;
                Ok::<_, LedgerError>(tx.fixture_i64("SELECT COUNT(*) FROM meta").unwrap())
            })
            .unwrap();
        assert_eq!(seen, before + 1, "the closure sees its own writes");
        assert_eq!(count(&l), before, "and nothing is kept");
        assert_eq!(l.meta("dry").unwrap(), None);
    }

    #[test]
    fn newer_ledger_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        drop(Ledger::open_or_create(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        drop(c);
        let err = Ledger::open(&path).unwrap_err();
        assert!(
            matches!(err, LedgerError::TooNew { found: 999, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer stark"));
    }

    #[test]
    fn open_creates_nothing_and_create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/ledger.sqlite3");
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("stark init"), "{err}");
        assert!(!path.parent().unwrap().exists(), "no directory created");

        // An empty file (an interrupted init, a `touch`) is not a ledger to open.
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, b"").unwrap();
        let err = Ledger::open(&empty).unwrap_err();
        assert!(matches!(err, LedgerError::Uninitialised { .. }), "{err}");
        assert_eq!(std::fs::read(&empty).unwrap(), b"", "left as it was");
        let (l, creation) = Ledger::create(&empty).unwrap();
        assert_eq!(creation, Creation::New);
        let id = l.ledger_id().unwrap();
        drop(l);

        let (l, creation) = Ledger::create(&empty).unwrap();
        assert_eq!(creation, Creation::Existing);
        assert_eq!(l.ledger_id().unwrap(), id, "never overwritten");
        assert_eq!(Ledger::open(&empty).unwrap().ledger_id().unwrap(), id);
    }

    #[test]
    fn busy_says_the_timeout_used_and_claims_no_wait_it_did_not_measure() {
        let busy = |timeout_ms: u64, waited_ms: Option<u64>| {
            LedgerError::Busy {
                path: PathBuf::from("l.sqlite3"),
                timeout: Duration::from_millis(timeout_ms),
                waited: waited_ms.map(Duration::from_millis),
            }
            .to_string()
        };
        let waited_out = busy(300, Some(301));
        assert!(
            waited_out.contains("more than the 0.3 s busy timeout")
                && waited_out.contains("try again"),
            "{waited_out}"
        );
        let at_once = busy(10_000, Some(2));
        assert!(
            at_once.contains("after 2 ms") && !at_once.contains("more than"),
            "{at_once}"
        );
        let unmeasured = busy(10_000, None);
        assert!(
            unmeasured.contains("busy timeout 10.0 s") && !unmeasured.contains("more than"),
            "{unmeasured}"
        );
    }

    #[test]
    fn io_errors_say_the_ledger_cannot_be_written() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(4874), // SQLITE_IOERR_SHMSIZE, seen on a full tmpfs
            Some("disk I/O error".into()),
        );
        let err = classify(Path::new("l.sqlite3"), e.into());
        assert!(matches!(err, LedgerError::ReadOnly { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("cannot be written") && msg.contains("disk may be full"),
            "{msg}"
        );
    }

    #[test]
    fn another_applications_database_is_not_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE users(id INTEGER PRIMARY KEY); INSERT INTO users VALUES (1);",
        )
        .unwrap();
        drop(c);
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("another application's database (tables: users)")
        );
        let c = Connection::open(&path).unwrap();
        let tables: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "nothing added");
    }

    /// Every statement the store runs, in the text PostgreSQL gets, prepares on PostgreSQL
    /// against the baseline schema (a statement no test happens to run is checked too).
    #[test]
    fn every_statement_prepares_on_postgres() {
        let Some(url) = crate::testing::pg_test_database("every statement prepares") else {
            return;
        };
        let l = Ledger::open_or_create(Path::new(&url)).unwrap();
        let Backend::Pg(client) = &l.backend else {
            panic!("a PostgreSQL ledger");
        };
        let variants: std::collections::HashMap<_, _> = pg_variants().iter().copied().collect();
        let mut failed = Vec::new();
        let all = statements();
        for (name, sql) in &all {
            let text = variants.get(name).copied().unwrap_or(sql);
            if let Err(e) = client.prepare(text) {
                failed.push(format!("{name}: {e}"));
            }
        }
        assert!(variants.keys().all(|v| all.iter().any(|(n, _)| n == v)));
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    /// SQLSTATEs map to what the operator should know: wait and retry, cannot write, cannot
    /// reach, cannot open.
    #[test]
    fn postgres_errors_are_classified_by_sqlstate() {
        let e = |state: &str| {
            SqlError::Pg(pg::PgError {
                sqlstate: Some(state.into()),
                message: "m".into(),
                connection: false,
                refused: false,
            })
        };
        let p = Path::new("postgres://u@h/db");
        for s in ["55P03", "40001", "40P01"] {
            assert!(matches!(classify(p, e(s)), LedgerError::Busy { .. }), "{s}");
        }
        for s in ["25006", "53100"] {
            assert!(
                matches!(classify(p, e(s)), LedgerError::ReadOnly { .. }),
                "{s}"
            );
        }
        for s in ["08006", "57P01", "57P03"] {
            assert!(
                matches!(classify(p, e(s)), LedgerError::Unreachable { .. }),
                "{s}"
            );
        }
        for s in ["28P01", "3D000"] {
            assert!(matches!(classify(p, e(s)), LedgerError::Open { .. }), "{s}");
        }
        let other = classify(p, e("23505"));
        assert!(matches!(other, LedgerError::Sql { .. }));
        // Its reason is said once: in the message, not again as a cause.
        assert!(std::error::Error::source(&other).is_none());
        assert_eq!(other.to_string().matches(": m").count(), 1, "{other}");
        let lost = SqlError::Pg(pg::PgError {
            sqlstate: None,
            message: "connection closed".into(),
            connection: true,
            refused: false,
        });
        assert!(matches!(classify(p, lost), LedgerError::Unreachable { .. }));
    }

    /// A writer waits for the write lock at most the busy timeout, then the ledger is busy;
    /// readers are never blocked by it.
    #[test]
    fn on_postgres_a_second_writer_waits_for_the_lock_then_is_busy() {
        let Some(url) = crate::testing::pg_test_database("a second writer is busy") else {
            return;
        };
        drop(Ledger::open_or_create(Path::new(&url)).unwrap());
        let target = pg::url::PgTarget::parse(&url).unwrap();
        let a = pg::Client::connect(&target, Duration::from_secs(10)).unwrap();
        let b = pg::Client::connect(&target, Duration::from_millis(300)).unwrap();
        a.begin().unwrap();
        let started = std::time::Instant::now();
        let err = b.begin().unwrap_err();
        let waited = started.elapsed();
        assert_eq!(err.sqlstate.as_deref(), Some("55P03"), "{err}");
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(matches!(
            classify(Path::new("x"), err.into()),
            LedgerError::Busy { .. }
        ));
        // A read goes on meanwhile.
        assert_eq!(
            b.query("SELECT COUNT(*) FROM meta", vec![]).unwrap().len(),
            1
        );
        a.commit().unwrap();
        b.begin().unwrap();
        b.rollback().unwrap();
    }

    /// A connection the server dropped (a restart, a failover, a proxy) is made again for the
    /// next read or write; a transaction it was in is not resumed.
    #[test]
    fn on_postgres_a_dropped_connection_is_made_again() {
        let Some(url) = crate::testing::pg_test_database("a dropped connection") else {
            return;
        };
        let mut l = Ledger::open_or_create(Path::new(&url)).unwrap();
        let id = l.ledger_id().unwrap();
        let kill = |l: &Ledger| {
            let pid: i64 = l
                .db()
                .one("SELECT CAST(pg_backend_pid() AS BIGINT)", args![], |r| {
                    r.get(0)
                })
                .unwrap();
            crate::testing::psql(&url, &format!("SELECT pg_terminate_backend({pid})"));
        };
        kill(&l);
        assert_eq!(l.ledger_id().unwrap(), id, "a read after the drop");
        kill(&l);
        l.write(|tx| tx.exec("INSERT INTO meta (key, value) VALUES ('k', 'v')", args![]))
            .unwrap();
        assert_eq!(
            l.meta("k").unwrap().as_deref(),
            Some("v"),
            "a write after the drop"
        );
        kill(&l);
        l.db()
            .record_webhook("w", "https://a.example/webhook", chrono::Utc::now())
            .unwrap();
    }

    #[test]
    fn garbage_file_is_reported_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err}");
    }
}
