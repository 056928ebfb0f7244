//! A synchronous PostgreSQL connection for the store.
//!
//! The store is synchronous (so is SQLite), and it is called from async commands running on
//! tokio runtimes, where a nested runtime cannot block. So one thread per connection owns a
//! current-thread runtime and the `tokio_postgres::Client`; each call sends it a job over a
//! channel and waits for the answer. Statements are prepared once per connection (cached by
//! their text, `?N` rewritten to `$N`) and their parameters converted to the types the server
//! inferred.
//!
//! Every write happens under the ledger's write lock, as on SQLite: [`Client::begin`] opens a
//! READ COMMITTED transaction that first takes `pg_advisory_xact_lock` (READ COMMITTED, not
//! REPEATABLE READ, so that statements after the wait see every commit made before it), and a
//! write outside a transaction is wrapped in one.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use tokio_postgres::types::{IsNull, Type};

use super::super::conn::{Row, Value};
use super::url::PgTarget;

/// What a PostgreSQL request failed with: the server's SQLSTATE when it answered, and whether
/// the connection itself is gone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PgError {
    pub sqlstate: Option<String>,
    pub message: String,
    /// The connection failed or was lost (the server is unreachable, restarting, or closed it).
    pub connection: bool,
    /// The connection was refused for a reason retrying does not change (credentials, a
    /// missing database, a TLS check).
    pub refused: bool,
}

impl PgError {
    fn closed() -> PgError {
        PgError {
            sqlstate: None,
            message: "the connection to PostgreSQL was lost".into(),
            connection: true,
            refused: false,
        }
    }

    fn other(message: impl Into<String>) -> PgError {
        PgError {
            sqlstate: None,
            message: message.into(),
            connection: false,
            refused: false,
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> PgError {
        let sqlstate = e.code().map(|c| c.code().to_string());
        let message = match e.as_db_error() {
            Some(db) => {
                let mut m = db.message().to_string();
                if let Some(d) = db.detail() {
                    m.push_str(&format!(" ({d})"));
                }
                m
            }
            None => {
                let mut m = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    m.push_str(&format!(": {s}"));
                    src = s.source();
                }
                m
            }
        };
        let lost_state = sqlstate
            .as_deref()
            .is_some_and(|s| s.starts_with("08") || s.starts_with("57P"));
        let connection = e.is_closed()
            || lost_state
            || (e.as_db_error().is_none()
                && sqlstate.is_none()
                && !message.contains("error serializing")
                && !message.contains("error deserializing"));
        PgError {
            sqlstate,
            message,
            connection,
            refused: false,
        }
    }
}

/// The lock every write takes (one writer at a time per ledger: per database and schema).
pub(crate) const WRITE_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('stark-ledger'), hashtext(current_schema()))";

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// One connection to a PostgreSQL ledger.
pub struct Client {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    in_tx: std::cell::Cell<bool>,
    lock_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pg::Client").finish_non_exhaustive()
    }
}

struct Worker {
    rt: tokio::runtime::Runtime,
    target: PgTarget,
    client: tokio_postgres::Client,
    statements: HashMap<String, tokio_postgres::Statement>,
}

/// The session settings of every connection: a commit is durable before it is answered (a 200
/// to Stark Bank must survive a crash), and no statement hangs forever.
const SESSION: &str = "SET synchronous_commit TO on; SET statement_timeout TO '60s'; SET idle_in_transaction_session_timeout TO '120s'";

async fn open(target: &PgTarget) -> Result<tokio_postgres::Client, PgError> {
    use super::url::ConnectErrorKind as Kind;
    let client = target.connect().await.map_err(|e| {
        let (sqlstate, connection) = match e.kind() {
            Kind::Unreachable => (None, true),
            Kind::Auth => (Some("28P01"), false),
            Kind::DatabaseMissing => (Some("3D000"), false),
            // A certificate or TLS setting the operator must fix: it cannot open, as a refused
            // login cannot.
            Kind::Tls | Kind::Other => (None, false),
        };
        PgError {
            sqlstate: sqlstate.map(str::to_owned),
            message: e.detail().to_string(),
            connection,
            refused: !connection,
        }
    })?;
    client.batch_execute(SESSION).await?;
    Ok(client)
}

impl Client {
    /// Connect (and set the session up); `lock_timeout` bounds the wait for the write lock.
    pub fn connect(target: &PgTarget, lock_timeout: Duration) -> Result<Client, PgError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready, ready_rx) = mpsc::sync_channel::<Result<(), PgError>>(1);
        let target = target.clone();
        let thread = std::thread::Builder::new()
            .name("stark-pg".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready.send(Err(PgError::other(format!("cannot start: {e}"))));
                        return;
                    }
                };
                let client = match rt.block_on(open(&target)) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut w = Worker {
                    rt,
                    target,
                    client,
                    statements: HashMap::new(),
                };
                while let Ok(job) = rx.recv() {
                    job(&mut w);
                }
            })
            .map_err(|e| PgError::other(format!("cannot start a thread: {e}")))?;
        ready_rx.recv().map_err(|_| PgError::closed())??;
        Ok(Client {
            jobs: Some(jobs),
            thread: Some(thread),
            in_tx: std::cell::Cell::new(false),
            lock_timeout,
        })
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> Result<T, PgError> + Send + 'static,
    ) -> Result<T, PgError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |w| {
            let _ = tx.send(f(w));
        });
        self.jobs
            .as_ref()
            .ok_or_else(PgError::closed)?
            .send(job)
            .map_err(|_| PgError::closed())?;
        rx.recv().map_err(|_| PgError::closed())?
    }

    /// Prepare a statement without running it (it is cached for later runs).
    pub fn prepare(&self, sql: &str) -> Result<(), PgError> {
        let sql = sql.to_owned();
        self.call(move |w| w.statement(&sql).map(drop))
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Every row of a statement. Outside a transaction a write (`… RETURNING`) takes the write
    /// lock in a transaction of its own, as [`Client::execute`] does.
    pub fn query(&self, sql: &str, args: Vec<Value>) -> Result<Vec<Row>, PgError> {
        let sql = sql.to_owned();
        if self.in_tx.get() {
            return self.call(move |w| w.query(&sql, &args, false));
        }
        if !writes(&sql) {
            return self.call(move |w| w.query(&sql, &args, true));
        }
        self.begin()?;
        let out = self
            .call(move |w| w.query(&sql, &args, false))
            .and_then(|rows| self.commit().map(|()| rows));
        if out.is_err() {
            let _ = self.rollback();
        }
        out
    }

    /// Run a statement; the rows it changed. Outside a transaction a write takes the write
    /// lock in a transaction of its own.
    pub fn execute(&self, sql: &str, args: Vec<Value>) -> Result<usize, PgError> {
        let sql = sql.to_owned();
        if self.in_tx.get() {
            return self.call(move |w| w.execute(&sql, &args));
        }
        self.begin()?;
        let out = self
            .call(move |w| w.execute(&sql, &args))
            .and_then(|n| self.commit().map(|()| n));
        if out.is_err() {
            let _ = self.rollback();
        }
        out
    }

    /// Statements without parameters (simple protocol; several separated by `;`).
    pub fn batch(&self, sql: &str) -> Result<(), PgError> {
        let sql = sql.to_owned();
        let reconnect = !self.in_tx.get();
        self.call(move |w| {
            w.retrying(reconnect, |w| {
                Ok(w.rt.block_on(w.client.batch_execute(&sql))?)
            })
        })
    }

    /// Open a READ COMMITTED transaction holding the ledger's write lock.
    pub fn begin(&self) -> Result<(), PgError> {
        let ms = self.lock_timeout.as_millis().max(1);
        let sql = format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout TO '{ms}ms'; {WRITE_LOCK}"
        );
        self.call(move |w| {
            w.retrying(true, |w| {
                match w.rt.block_on(w.client.batch_execute(&sql)) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        let e = PgError::from(e);
                        let _ = w.rt.block_on(w.client.batch_execute("ROLLBACK"));
                        Err(e)
                    }
                }
            })
        })?;
        self.in_tx.set(true);
        Ok(())
    }

    pub fn commit(&self) -> Result<(), PgError> {
        self.in_tx.set(false);
        self.call(|w| Ok(w.rt.block_on(w.client.batch_execute("COMMIT"))?))
    }

    pub fn rollback(&self) -> Result<(), PgError> {
        self.in_tx.set(false);
        self.call(|w| Ok(w.rt.block_on(w.client.batch_execute("ROLLBACK"))?))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.in_tx.get() {
            let _ = self.rollback();
        }
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Worker {
    /// A connection lost between requests is opened again (its prepared statements with it).
    fn ensure_connected(&mut self) -> Result<(), PgError> {
        if self.client.is_closed() {
            self.reconnect()?;
        }
        Ok(())
    }

    fn reconnect(&mut self) -> Result<(), PgError> {
        self.statements.clear();
        self.client = self.rt.block_on(open(&self.target))?;
        Ok(())
    }

    /// `f`, and once more on a new connection if the connection turned out to be lost (a
    /// server restart, a failover, an idle connection a proxy closed) — only for requests that
    /// are safe to repeat: outside a transaction, or the `BEGIN` that opens one.
    fn retrying<T>(
        &mut self,
        retry: bool,
        mut f: impl FnMut(&mut Worker) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        if retry {
            self.ensure_connected()?;
        }
        match f(self) {
            Err(e) if retry && e.connection => {
                tracing::info!(error = %e, "the PostgreSQL connection was lost; connecting again");
                self.reconnect()?;
                f(self)
            }
            other => other,
        }
    }

    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement, PgError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let text = placeholders(sql);
        let stmt = self.rt.block_on(self.client.prepare(&text))?;
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    fn query(&mut self, sql: &str, args: &[Value], retry: bool) -> Result<Vec<Row>, PgError> {
        self.retrying(retry, |w| w.query_once(sql, args))
    }

    fn query_once(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, PgError> {
        let (stmt, params) = self.bound(sql, args)?;
        let rows = self.rt.block_on(self.client.query(&stmt, &refs(&params)))?;
        rows.iter().map(row).collect()
    }

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<usize, PgError> {
        let (stmt, params) = self.bound(sql, args)?;
        let n = self
            .rt
            .block_on(self.client.execute(&stmt, &refs(&params)))?;
        Ok(n as usize)
    }

    /// The prepared statement and its arguments, bound as the types it takes.
    fn bound(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> Result<(tokio_postgres::Statement, Vec<Arg>), PgError> {
        let stmt = self.statement(sql)?;
        let params = bind(&stmt, args)?;
        Ok((stmt, params))
    }
}

/// Arguments as tokio-postgres takes them.
fn refs(params: &[Arg]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// Whether a statement writes: it starts with `INSERT`, `UPDATE`, `DELETE` or `MERGE` (the
/// store writes no other way).
fn writes(sql: &str) -> bool {
    let head = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["INSERT", "UPDATE", "DELETE", "MERGE"]
        .iter()
        .any(|k| head.eq_ignore_ascii_case(k))
}

/// `?N` placeholders as PostgreSQL's `$N` (outside quoted strings and identifiers).
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

/// A [`Value`] bound as the type the server inferred for its parameter.
#[derive(Debug)]
struct Arg {
    value: Value,
    ty: Type,
}

fn bind(stmt: &tokio_postgres::Statement, args: &[Value]) -> Result<Vec<Arg>, PgError> {
    let types = stmt.params();
    if types.len() != args.len() {
        return Err(PgError::other(format!(
            "statement takes {} parameters, {} given",
            types.len(),
            args.len()
        )));
    }
    Ok(args
        .iter()
        .zip(types)
        .map(|(v, ty)| Arg {
            value: v.clone(),
            ty: ty.clone(),
        })
        .collect())
}

impl tokio_postgres::types::ToSql for Arg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        debug_assert_eq!(ty, &self.ty);
        match &self.value {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().as_str().to_sql(&Type::TEXT, out)
                }
                ref other => Err(format!("cannot bind an integer as {other}").into()),
            },
            Value::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    s.as_str().to_sql(&Type::TEXT, out)
                }
                ref other => Err(format!(
                    "cannot bind text as {other} (cast the parameter in the statement)"
                )
                .into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A result row as [`Value`]s (only integer, boolean and text columns cross the seam).
fn row(r: &tokio_postgres::Row) -> Result<Row, PgError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let bad = |e: tokio_postgres::Error| {
            PgError::other(format!("column {} ({}): {e}", col.name(), col.type_()))
        };
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(bad)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text),
            ref other => {
                return Err(PgError::other(format!(
                    "column {} is of type {other}, which the ledger does not read (cast it to BIGINT or TEXT)",
                    col.name()
                )));
            }
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row::new(values))
}

#[cfg(test)]
mod tests {
    use super::{Client, Value, placeholders, writes};
    use crate::ledger::pg::url::PgTarget;
    use std::time::Duration;

    #[test]
    fn statements_that_write_are_told_from_reads() {
        for sql in [
            "UPDATE transfers SET status = ?2 WHERE id = ?1 RETURNING invoice_id",
            "  insert into t values (1) returning id",
            "\n\tDELETE FROM t RETURNING id",
        ] {
            assert!(writes(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "  select updated_at FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
        ] {
            assert!(!writes(sql), "{sql}");
        }
    }

    /// A write that returns rows, outside a transaction (`Db::apply_bank_transfer`'s
    /// `UPDATE … RETURNING`), waits for the ledger's write lock like every other write: while
    /// another connection holds it, it times out and changes nothing.
    #[test]
    fn a_write_returning_rows_outside_a_transaction_takes_the_write_lock() {
        let Some(url) = crate::testing::pg_test_database(
            "pg::client::a_write_returning_rows_outside_a_transaction_takes_the_write_lock",
        ) else {
            return;
        };
        let target = PgTarget::parse(&url).unwrap();
        let holder = Client::connect(&target, Duration::from_secs(5)).unwrap();
        let writer = Client::connect(&target, Duration::from_millis(300)).unwrap();
        writer
            .batch("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT); INSERT INTO t VALUES (1, 1)")
            .unwrap();
        let update = "UPDATE t SET v = v + 1 WHERE id = ?1 RETURNING v";
        let v = |c: &Client| {
            c.query("SELECT v FROM t WHERE id = 1", vec![]).unwrap()[0].values()[0].clone()
        };

        holder.begin().unwrap(); // holds the ledger's write lock
        let e = writer.query(update, vec![Value::Int(1)]).unwrap_err();
        assert_eq!(e.sqlstate.as_deref(), Some("55P03"), "{e}");
        assert!(!writer.in_transaction());
        assert_eq!(v(&holder), Value::Int(1), "written without the lock");
        holder.rollback().unwrap();

        let rows = writer.query(update, vec![Value::Int(1)]).unwrap();
        assert_eq!(rows[0].values()[0], Value::Int(2));
        assert_eq!(v(&holder), Value::Int(2), "committed");
    }

    /// Every statement of the store that writes anything is seen to write, so that outside a
    /// transaction it takes the write lock (a `WITH … UPDATE` would not be: there is none).
    #[test]
    fn every_writing_statement_of_the_store_is_seen_to_write() {
        let all = crate::ledger::statements();
        let texts = all
            .iter()
            .copied()
            .chain(crate::ledger::pg_variants().iter().copied());
        for (name, sql) in texts {
            // `FOR UPDATE` locks rows a transaction reads; it writes nothing.
            let upper = sql.to_ascii_uppercase().replace("FOR UPDATE", "");
            let mentions = upper
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| matches!(w, "INSERT" | "UPDATE" | "DELETE" | "MERGE"));
            assert_eq!(super::writes(sql), mentions, "{name}: {sql}");
        }
    }

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            placeholders("SELECT ?1, '?2', \"a?3\" FROM t WHERE x = ?12 AND y IS ?"),
            "SELECT $1, '?2', \"a?3\" FROM t WHERE x = $12 AND y IS ?"
        );
    }
}
