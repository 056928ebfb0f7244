//! The ledger backends the end-to-end benches run on, and fixture SQL that works on both.
//!
//! `STARK_BENCH_BACKEND` = `sqlite`, `postgres` or `both` (the default): which ledgers a bench
//! runs on, one after the other in the same process, with the same requests. A PostgreSQL
//! ledger is a fresh database from `stark::testing::pg_test_database` on the server named by
//! `STARK_TEST_PG` (`tests/pg/cluster.sh start` makes a throwaway one); without it the
//! PostgreSQL runs are skipped with a printed line.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stark::ledger::conn::Conn;
use stark::ledger::{Ledger, ToSql, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The backends this run measures (see the module documentation). Prints why PostgreSQL is
/// skipped when it is.
pub fn backends(bench: &str) -> Vec<Backend> {
    let want = std::env::var("STARK_BENCH_BACKEND").unwrap_or_else(|_| "both".into());
    let mut out = Vec::new();
    match want.trim() {
        "sqlite" => out.push(Backend::Sqlite),
        "postgres" => out.push(Backend::Postgres),
        "both" | "" => out.extend([Backend::Sqlite, Backend::Postgres]),
        other => panic!("STARK_BENCH_BACKEND={other:?}: expected sqlite, postgres or both"),
    }
    if out.contains(&Backend::Postgres) && stark::testing::pg_test_server().is_none() {
        println!(
            "{bench}/postgres: SKIPPED: STARK_TEST_PG is not set (eval \"$(tests/pg/cluster.sh start)\" starts a throwaway PostgreSQL)"
        );
        out.retain(|b| *b != Backend::Postgres);
    }
    out
}

/// A fresh, empty ledger address: `dir/<name>.sqlite3`, or a new database on the test server.
pub fn new_ledger(backend: Backend, dir: &Path, name: &str) -> PathBuf {
    match backend {
        Backend::Sqlite => dir.join(format!("{name}.sqlite3")),
        Backend::Postgres => PathBuf::from(
            stark::testing::pg_test_database(name).expect("STARK_TEST_PG was checked"),
        ),
    }
}

/// A fixture connection to a ledger (created and migrated by [`Fixture::create`]): rows no
/// command writes in bulk, and counts to check afterwards. Statements use `?N` placeholders
/// and portable SQL.
pub enum Fixture {
    Sqlite(rusqlite::Connection),
    Pg(stark::ledger::pg::Client),
}

impl Fixture {
    /// Create and migrate the ledger at `ledger`, then connect to it.
    pub fn create(ledger: &Path) -> Fixture {
        drop(Ledger::open_or_create(ledger).expect("create the ledger"));
        Fixture::connect(ledger)
    }

    /// Connect to an existing ledger.
    pub fn connect(ledger: &Path) -> Fixture {
        if stark::ledger::is_postgres(ledger) {
            let target = stark::ledger::pg::url::PgTarget::parse(ledger.to_str().unwrap())
                .expect("a PostgreSQL URL");
            Fixture::Pg(
                stark::ledger::pg::Client::connect(&target, Duration::from_secs(30))
                    .expect("connect to the PostgreSQL ledger"),
            )
        } else {
            Fixture::Sqlite(rusqlite::Connection::open(ledger).expect("open the SQLite ledger"))
        }
    }

    pub fn conn(&self) -> Conn<'_> {
        match self {
            Fixture::Sqlite(c) => Conn::Sqlite(c),
            Fixture::Pg(c) => Conn::Pg(c),
        }
    }

    pub fn batch(&self, sql: &str) {
        self.conn()
            .batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub fn execute(&self, sql: &str, args: &[&dyn ToSql]) {
        self.conn()
            .execute(sql, args)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The integer columns of the first row of `sql`.
    pub fn ints(&self, sql: &str) -> Vec<i64> {
        let row = self
            .conn()
            .query_opt(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("a row");
        row.values()
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i,
                other => panic!("{sql}: expected an integer, got {other:?}"),
            })
            .collect()
    }

    /// The first column of the first row, as text (`SHOW …`, `version()`).
    pub fn text(&self, sql: &str) -> Option<String> {
        let row = self.conn().query_opt(sql, &[]).ok()??;
        match row.values().first()? {
            Value::Text(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    /// Run `f` in one write transaction; on PostgreSQL the identities are then moved past
    /// the explicit ids the fixture inserted.
    pub fn transaction(&self, f: impl FnOnce(&Fixture)) {
        match self {
            Fixture::Sqlite(_) => {
                self.batch("BEGIN IMMEDIATE");
                f(self);
                self.batch("COMMIT");
            }
            Fixture::Pg(c) => {
                c.begin().expect("begin");
                f(self);
                c.commit().expect("commit");
                self.batch(stark::ledger::pg::RESYNC_IDENTITIES);
            }
        }
    }

    /// `INSERT INTO <into> VALUES <rows>` in statements of a few hundred rows each; each row
    /// is a parenthesised list of SQL literals (see [`lit`]).
    pub fn insert_rows(&self, into: &str, rows: impl IntoIterator<Item = String>) {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<String> = rows.by_ref().take(400).collect();
            self.batch(&format!("INSERT INTO {into} VALUES {}", chunk.join(", ")));
        }
    }

    /// Latency of a `SELECT 1` round trip on this connection, `n` times (p50, p99). On
    /// PostgreSQL that is the server's answer over the socket through the same client the
    /// ledger uses; on SQLite an in-process call.
    pub fn round_trip(&self, n: usize) -> (Duration, Duration) {
        let mut lat: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                self.conn().query("SELECT 1", &[]).expect("SELECT 1");
                t.elapsed()
            })
            .collect();
        lat.sort();
        (super::percentile(&lat, 50.0), super::percentile(&lat, 99.0))
    }

    /// The PostgreSQL server's version and durability settings, for the report.
    pub fn pg_settings(&self) -> String {
        let show = |s: &str| self.text(&format!("SHOW {s}")).unwrap_or("?".into());
        format!(
            "PostgreSQL {} | fsync={} synchronous_commit={} full_page_writes={} wal_sync_method={} shared_buffers={}",
            show("server_version"),
            show("fsync"),
            show("synchronous_commit"),
            show("full_page_writes"),
            show("wal_sync_method"),
            show("shared_buffers"),
        )
    }

    /// Process ids of the other sessions on this database (a server's connections).
    pub fn pg_backend_pids(&self) -> Vec<u32> {
        self.conn()
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("pg_stat_activity")
            .iter()
            .filter_map(|r| match r.values().first() {
                Some(Value::Int(p)) => Some(*p as u32),
                _ => None,
            })
            .collect()
    }

    /// What the server ran on this database so far, from `pg_stat_statements` (when the
    /// server preloads it; `None` otherwise): (round trips, commits). A round trip is every
    /// call except the `SET LOCAL` and the lock that travel in one message with `BEGIN`, and
    /// except this bench's own probes.
    pub fn pg_statements(&self) -> Option<(i64, i64)> {
        let rows = self
            .conn()
            .query(
                "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT),
                        CAST(COALESCE(SUM(calls) FILTER (WHERE query = 'COMMIT'), 0) AS BIGINT)
                 FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND query NOT LIKE 'SET LOCAL%' AND query NOT LIKE '%pg_advisory_xact_lock%'
                   AND query NOT LIKE '%pg_stat_statements%' AND query NOT IN ('SELECT 1', 'SELECT $1')
                   AND query NOT LIKE '%pg_stat_activity%'",
                &[],
            )
            .ok()?;
        match rows.first()?.values() {
            [Value::Int(calls), Value::Int(commits)] => Some((*calls, *commits)),
            _ => None,
        }
    }

    /// Load `pg_stat_statements` in this database if the server preloads it; whether it did.
    pub fn pg_enable_statements(&self) -> bool {
        self.conn()
            .batch("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .is_ok()
            && self
                .conn()
                .query("SELECT COUNT(*) FROM pg_stat_statements", &[])
                .is_ok()
    }
}

/// A SQL text literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
