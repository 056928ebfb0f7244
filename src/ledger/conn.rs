//! The seam between the store and its database: values, rows and statements that mean the same
//! on SQLite and on PostgreSQL.
//!
//! Every store method binds [`ToSql`] values (with [`args!`]) and reads [`Row`]s of [`Value`]s
//! through [`Conn`], which runs the statement on whichever backend the ledger lives in. The
//! statements are written once, in the SQL both engines share (`?N` placeholders, rewritten to
//! `$N` for PostgreSQL); the few that cannot be are chosen with [`Conn::dialect`]. Only
//! integers and text cross the seam: the schema has no other types (booleans are 0/1).

use super::pg;

/// A value bound to a statement or read from a result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// Which SQL a backend speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A Rust value that binds as a [`Value`].
pub trait ToSql {
    fn to_value(&self) -> Value;
}

/// A Rust value read back from a [`Value`]; the error says why it does not fit.
pub trait FromSql: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

/// What a statement failed with, before the store says what it means for the operator
/// ([`super::classify`]).
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pg(#[from] pg::PgError),
    /// A column that does not hold what the code expects (column `col`, and why).
    #[error("column {col}: {reason}")]
    Conversion { col: usize, reason: String },
}

pub type SqlResult<T> = Result<T, SqlError>;

/// A column that does not hold what it should.
pub(crate) fn conversion(col: usize, reason: impl Into<String>) -> SqlError {
    SqlError::Conversion {
        col,
        reason: reason.into(),
    }
}

/// One result row, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Column `col`, converted.
    pub fn get<T: FromSql>(&self, col: usize) -> SqlResult<T> {
        let v = self
            .values
            .get(col)
            .ok_or_else(|| conversion(col, format!("no column {col}")))?;
        T::from_value(v).map_err(|reason| conversion(col, reason))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// The arguments of a statement: `args![a, b]` is `&[&dyn ToSql]`.
macro_rules! args {
    ($($e:expr),* $(,)?) => {
        &[$(&$e as &dyn $crate::ledger::conn::ToSql),*] as &[&dyn $crate::ledger::conn::ToSql]
    };
}

impl ToSql for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToSql for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToSql for i32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToSql for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToSql for u64 {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToSql for usize {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToSql for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToSql for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToSql for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

impl FromSql for Value {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(v.clone())
    }
}
impl FromSql for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_value(v: &Value) -> Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
from_int!(i32, u32, u64, usize);
impl FromSql for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromSql for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// A SQLite column as a [`Value`] (the schema has no REAL or BLOB columns; one read anyway is
/// a conversion error naming it).
fn sqlite_value(col: usize, v: rusqlite::types::ValueRef<'_>) -> SqlResult<Value> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| conversion(col, format!("text is not UTF-8: {e}")))?
                .to_owned(),
        ),
        ValueRef::Real(r) => return Err(conversion(col, format!("unexpected real {r}"))),
        ValueRef::Blob(_) => return Err(conversion(col, "unexpected blob")),
    })
}

/// At most `limit` rows of a (cached) SQLite statement, as owned [`Row`]s.
fn sqlite_rows(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[&dyn ToSql],
    limit: usize,
) -> SqlResult<Vec<Row>> {
    let mut stmt = c.prepare_cached(sql)?;
    let n = stmt.column_count();
    let values: Vec<Value> = args.iter().map(|a| a.to_value()).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(r) = rows.next()? else { break };
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(sqlite_value(i, r.get_ref(i)?)?);
        }
        out.push(Row::new(vals));
    }
    Ok(out)
}

/// A connection the store runs statements on.
#[derive(Clone, Copy)]
pub enum Conn<'c> {
    Sqlite(&'c rusqlite::Connection),
    Pg(&'c pg::Client),
}

impl Conn<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Postgres,
        }
    }

    /// The statement text for this backend: `sqlite`'s, or `pg`'s on PostgreSQL.
    pub fn pick(&self, sqlite: &'static str, pg: &'static str) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => pg,
        }
    }

    /// Every row of a statement.
    pub fn query(&self, sql: &str, args: &[&dyn ToSql]) -> SqlResult<Vec<Row>> {
        match self {
            Conn::Sqlite(c) => sqlite_rows(c, sql, args, usize::MAX),
            Conn::Pg(c) => Ok(c.query(sql, args.iter().map(|a| a.to_value()).collect())?),
        }
    }

    /// The first row of a statement, if any (SQLite stops stepping after it).
    pub fn query_opt(&self, sql: &str, args: &[&dyn ToSql]) -> SqlResult<Option<Row>> {
        match self {
            Conn::Sqlite(c) => Ok(sqlite_rows(c, sql, args, 1)?.into_iter().next()),
            Conn::Pg(_) => Ok(self.query(sql, args)?.into_iter().next()),
        }
    }

    /// Run a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, args: &[&dyn ToSql]) -> SqlResult<usize> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let values: Vec<Value> = args.iter().map(|a| a.to_value()).collect();
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))?)
            }
            Conn::Pg(c) => Ok(c.execute(sql, args.iter().map(|a| a.to_value()).collect())?),
        }
    }

    /// Run statements without parameters, separated by `;` (fixtures, migrations).
    pub fn batch(&self, sql: &str) -> SqlResult<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(c) => Ok(c.batch(sql)?),
        }
    }
}
