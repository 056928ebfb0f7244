//! A PostgreSQL ledger address: libpq's URL form, parsed by `stark` itself, and the connection.
//!
//! `postgres[ql]://[user[:password]@][host][:port][/dbname][?param=value&...]`, as in libpq
//! (PostgreSQL 15, "Connection URIs"), with these rules:
//!
//! - User, password, host, dbname and parameter values are percent-decoded. A password that
//!   contains `/` or `?` must be written percent-encoded (`%2F`, `%3F`); a raw `@` or `:` in a
//!   password is read correctly (the user ends at the first `:`, the password at the last `@`
//!   before the host), but encoding them (`%40`, `%3A`) is the portable spelling.
//! - An IPv6 host is written in brackets: `postgres://stark@[::1]:5432/stark`.
//! - A host that starts with `/` (`?host=/var/run/postgresql`, or `%2F…` in the URL) is the
//!   directory of a Unix socket; TLS is never used over one.
//! - The port defaults to 5432, the user to the operating-system user (libpq's default), and the
//!   database name to the user.
//! - Parameters (a later one wins, a query parameter wins over the URL part): `host`, `port`,
//!   `user`, `password`, `dbname`, `sslmode`, `sslrootcert`, `connect_timeout` (whole seconds,
//!   default 10), `application_name` (default `stark`) and `options` (passed to the server, e.g.
//!   `-c search_path=ledger`). Any other parameter is refused, naming the supported ones.
//! - `sslmode` is one of `disable`, `require`, `verify-ca`, `verify-full`. libpq's `prefer` and
//!   `allow` are refused: they fall back to plaintext without saying so. Without `sslmode`, a
//!   loopback host (`localhost`, 127.0.0.0/8, `::1`) or a Unix socket means `disable`, any other
//!   host `require`.
//! - `require` encrypts but checks no certificate (libpq's meaning), unless `sslrootcert` is
//!   given: then it checks the chain like `verify-ca`. `verify-ca` checks the chain, `verify-full`
//!   the chain and the host name. The roots are `sslrootcert=<file>` (PEM, one or more
//!   certificates), or the platform's roots when it is absent or `sslrootcert=system`.
//!
//! - Without a password in the URL, `PGPASSWORD` (libpq's variable) gives it, so that it can stay
//!   out of config files and command lines.
//!
//! No error message, [`PgTarget::redacted`] or `Debug` output contains the password.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::tls;

/// The port libpq uses when the URL names none.
pub const DEFAULT_PORT: u16 = 5432;
/// `connect_timeout` when the URL names none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// `application_name` when the URL names none (what `pg_stat_activity` shows).
pub const DEFAULT_APPLICATION_NAME: &str = "stark";

const SUPPORTED_PARAMS: &str = "host, port, user, password, dbname, sslmode, sslrootcert, \
                                connect_timeout, application_name, options";

/// The environment variable that gives the password when the URL has none (libpq's).
pub const PASSWORD_VAR: &str = "PGPASSWORD";

/// Whether `s` is a PostgreSQL URL (`postgres://` or `postgresql://`, scheme in any case).
pub fn is_postgres_url(s: &str) -> bool {
    strip_scheme(s).is_some()
}

fn strip_scheme(s: &str) -> Option<&str> {
    for scheme in ["postgresql://", "postgres://"] {
        if s.len() >= scheme.len()
            && s.is_char_boundary(scheme.len())
            && s[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return Some(&s[scheme.len()..]);
        }
    }
    None
}

/// `s` with the password of every PostgreSQL URL in it replaced by `***` (the user is kept);
/// any other text unchanged. Works on URLs that do not parse, and errs on the side of hiding
/// too much: everything between the first `:` after the scheme and the last `@` of the URL.
/// A `password=` parameter's value is hidden too.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = find_scheme(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        out.push_str(&redact_one(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The byte offset of the first `postgres://`/`postgresql://` in `s`, any case.
fn find_scheme(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    // ASCII lowering keeps byte offsets.
    lower
        .find("postgres://")
        .into_iter()
        .chain(lower.find("postgresql://"))
        .min()
}

fn redact_one(url: &str) -> String {
    let Some(body) = strip_scheme(url) else {
        return url.to_string();
    };
    let scheme = &url[..url.len() - body.len()];
    let mut body = body.to_string();
    if let Some(at) = body.rfind('@') {
        if let Some(colon) = body[..at].find(':') {
            body.replace_range(colon + 1..at, "***");
        }
    }
    let body = redact_password_params(&body);
    format!("{scheme}{body}")
}

fn redact_password_params(body: &str) -> String {
    let Some(q) = body.find('?') else {
        return body.to_string();
    };
    let (head, query) = body.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if percent_decode(k).is_ok_and(|k| k == "password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

/// How the connection uses TLS (libpq's `sslmode`, less `prefer` and `allow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext.
    Disable,
    /// TLS; no certificate check unless `sslrootcert` is given (then the chain, like `VerifyCa`).
    Require,
    /// TLS; the certificate chain must lead to a trusted root. The host name is not checked.
    VerifyCa,
    /// TLS; the chain, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the certificates that a verifying `sslmode` trusts come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCerts {
    /// The platform's trust store (no `sslrootcert`, or `sslrootcert=system`).
    System,
    /// A PEM file with one or more certificates.
    File(PathBuf),
}

/// Why a PostgreSQL URL was refused. No message contains the password or any part of the URL
/// that could hold one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgUrlError {
    #[error("a PostgreSQL ledger URL starts with postgres:// or postgresql://")]
    Scheme,
    #[error(
        "the PostgreSQL URL has {0}: write '@', ':', '/' and '?' in a user or password \
         percent-encoded (%40, %3A, %2F, %3F)"
    )]
    Malformed(&'static str),
    #[error(
        "the PostgreSQL URL's {part} has a bad percent-encoding (a '%' must be followed by two hex digits of UTF-8)"
    )]
    Encoding { part: &'static str },
    #[error(
        "the PostgreSQL URL's port is not a number from 1 to 65535 (if the password contains \
         '/' or '?', write them percent-encoded: %2F, %3F)"
    )]
    Port,
    #[error("the PostgreSQL URL names several hosts; stark connects to one (no failover lists)")]
    MultipleHosts,
    #[error("the PostgreSQL URL names no host (give one, or ?host=/path/to/socket/directory)")]
    NoHost,
    #[error(
        "unknown PostgreSQL URL parameter {name:?}; the supported ones are: {SUPPORTED_PARAMS}"
    )]
    UnknownParam { name: String },
    #[error("the PostgreSQL URL has a parameter without '=value'")]
    ParamWithoutValue,
    #[error(
        "sslmode={0} is not supported: it may silently fall back to plaintext. Pick one of \
         disable, require, verify-ca, verify-full"
    )]
    WeakSslMode(&'static str),
    #[error("unknown sslmode {0:?}; pick one of disable, require, verify-ca, verify-full")]
    SslMode(String),
    #[error(
        "sslmode={0} over a Unix socket: TLS is not used over a socket; drop sslmode (or use \
         sslmode=disable), or connect over TCP"
    )]
    UnixSocketTls(SslMode),
    #[error("connect_timeout must be a whole number of seconds from 1 to 3600, got {0:?}")]
    ConnectTimeout(String),
    #[error("sslrootcert is empty; give the path of a PEM file, or `system`")]
    EmptyRootCert,
    #[error("the PostgreSQL URL names no user and the operating-system user name is unknown")]
    NoUser,
}

/// A parsed PostgreSQL ledger address.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    dbname: String,
    sslmode: SslMode,
    roots: Option<RootCerts>,
    connect_timeout: Duration,
    application_name: String,
    options: Option<String>,
    redacted: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PgTarget").field(&self.redacted).finish()
    }
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl PgTarget {
    /// Parse a libpq URL (see the module documentation for the rules).
    pub fn parse(url: &str) -> Result<PgTarget, PgUrlError> {
        let rest = strip_scheme(url).ok_or(PgUrlError::Scheme)?;
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let after = &rest[auth_end..];
        let (path, query) = match after.strip_prefix('/') {
            Some(p) => p.split_once('?').map_or((p, None), |(p, q)| (p, Some(q))),
            None => ("", after.strip_prefix('?')),
        };
        // An '@' past the host, with none before it, is most likely a password's raw '/' or '?'
        // that ended the host early: refuse it rather than show a piece of the password.
        if path.contains('@')
            || (!authority.contains('@') && query.is_some_and(|q| q.contains('@')))
        {
            return Err(PgUrlError::Malformed("an '@' after the host"));
        }

        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let mut user = None;
        let mut password = None;
        if let Some(info) = userinfo {
            let (u, p) = info
                .split_once(':')
                .map_or((info, None), |(u, p)| (u, Some(p)));
            if !u.is_empty() {
                user = Some(decode(u, "user")?);
            }
            if let Some(p) = p {
                password = Some(decode(p, "password")?);
            }
        }

        let (host_raw, port_raw) = split_host_port(hostport)?;
        if host_raw.contains(',') || port_raw.is_some_and(|p| p.contains(',')) {
            return Err(PgUrlError::MultipleHosts);
        }
        let mut host = (!host_raw.is_empty())
            .then(|| decode(host_raw, "host"))
            .transpose()?;
        let mut port = port_raw
            .filter(|p| !p.is_empty())
            .map(parse_port)
            .transpose()?;
        let mut dbname = (!path.is_empty())
            .then(|| decode(path, "database name"))
            .transpose()?;

        let mut sslmode = None;
        let mut sslrootcert = None;
        let mut connect_timeout = None;
        let mut application_name = None;
        let mut options = None;
        for kv in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|kv| !kv.is_empty())
        {
            let (k, v) = kv.split_once('=').ok_or(PgUrlError::ParamWithoutValue)?;
            let k = decode(k, "parameter name")?;
            let v = decode(v, "parameter value")?;
            match k.as_str() {
                "host" => {
                    if v.contains(',') {
                        return Err(PgUrlError::MultipleHosts);
                    }
                    host = (!v.is_empty()).then_some(v);
                }
                "port" => {
                    if v.contains(',') {
                        return Err(PgUrlError::MultipleHosts);
                    }
                    port = Some(parse_port(&v)?);
                }
                "user" => user = Some(v),
                "password" => password = Some(v),
                "dbname" => dbname = Some(v),
                "sslmode" => sslmode = Some(parse_sslmode(&v)?),
                "sslrootcert" => sslrootcert = Some(v),
                "connect_timeout" => connect_timeout = Some(parse_timeout(&v)?),
                "application_name" => application_name = Some(v),
                "options" => options = Some(v),
                _ => {
                    return Err(PgUrlError::UnknownParam { name: echoable(&k) });
                }
            }
        }

        let host = host.ok_or(PgUrlError::NoHost)?;
        let unix = host.starts_with('/');
        let loopback = unix || is_loopback(&host);
        let sslmode = match sslmode {
            Some(SslMode::Disable) | None if loopback => SslMode::Disable,
            Some(mode) if unix => return Err(PgUrlError::UnixSocketTls(mode)),
            Some(mode) => mode,
            None => SslMode::Require,
        };
        let roots = match sslrootcert.as_deref() {
            Some("") => return Err(PgUrlError::EmptyRootCert),
            Some("system") => Some(RootCerts::System),
            Some(path) => Some(RootCerts::File(PathBuf::from(path))),
            None => None,
        };
        let user = match user {
            Some(u) => u,
            None => whoami::username().map_err(|_| PgUrlError::NoUser)?,
        };
        let dbname = dbname
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| user.clone());

        let mut target = PgTarget {
            host,
            port: port.unwrap_or(DEFAULT_PORT),
            user,
            password,
            dbname,
            sslmode,
            roots,
            connect_timeout: connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            application_name: application_name.unwrap_or_else(|| DEFAULT_APPLICATION_NAME.into()),
            options,
            redacted: String::new(),
        };
        target.redacted = target.render(true);
        // libpq's PGPASSWORD, when the URL has no password: the password stays out of files
        // and command lines. The redacted address says nothing about it.
        if target.password.is_none() {
            target.password = std::env::var(PASSWORD_VAR).ok().filter(|p| !p.is_empty());
        }
        Ok(target)
    }

    /// The address without any password (none shown, none masked), in the canonical form of
    /// [`PgTarget::redacted`]: what `stark init` writes to the config file.
    pub fn without_password(&self) -> String {
        self.render(false)
    }

    /// Whether a password is set (in the URL, or from `PGPASSWORD`).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The address with the password as `***`, in a canonical form:
    /// `postgres://stark:***@db.example.com:5432/stark?sslmode=verify-full`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The effective `sslmode` (after the loopback/remote default).
    pub fn sslmode(&self) -> SslMode {
        self.sslmode
    }

    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The host name or IP address (IPv6 without brackets), or a Unix socket's directory.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Always `None`: libpq URLs have no schema parameter. A schema is chosen with
    /// `options=-c search_path=<schema>`, which is passed through to the server.
    pub fn schema(&self) -> Option<&str> {
        None
    }

    /// `options`, passed to the server as given.
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// The trust roots the URL names: `None` when it names none (a verifying mode then uses the
    /// platform's).
    pub fn sslrootcert(&self) -> Option<&RootCerts> {
        self.roots.as_ref()
    }

    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// Whether the host is a Unix socket directory.
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// What the TLS layer checks, from `sslmode` and `sslrootcert` (libpq's rules).
    pub(super) fn tls_check(&self) -> Option<tls::Check> {
        match (self.sslmode, &self.roots) {
            (SslMode::Disable, _) => None,
            (SslMode::Require, None) => Some(tls::Check::Nothing),
            (SslMode::Require, Some(_)) | (SslMode::VerifyCa, _) => Some(tls::Check::Chain),
            (SslMode::VerifyFull, _) => Some(tls::Check::ChainAndHost),
        }
    }

    pub(super) fn roots(&self) -> &RootCerts {
        self.roots.as_ref().unwrap_or(&RootCerts::System)
    }

    fn render(&self, masked: bool) -> String {
        let user = encode(&self.user);
        let auth = if masked && self.password.is_some() {
            format!("{user}:***@")
        } else {
            format!("{user}@")
        };
        let db = encode(&self.dbname);
        let mut params = Vec::new();
        let hostport = if self.is_unix_socket() {
            params.push(format!("host={}", encode(&self.host)));
            params.push(format!("port={}", self.port));
            String::new()
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", encode(&self.host), self.port)
        };
        params.push(format!("sslmode={}", self.sslmode));
        match &self.roots {
            Some(RootCerts::System) => params.push("sslrootcert=system".into()),
            Some(RootCerts::File(p)) => {
                params.push(format!("sslrootcert={}", encode(&p.to_string_lossy())))
            }
            None => {}
        }
        if self.connect_timeout != DEFAULT_CONNECT_TIMEOUT {
            params.push(format!(
                "connect_timeout={}",
                self.connect_timeout.as_secs()
            ));
        }
        if self.application_name != DEFAULT_APPLICATION_NAME {
            params.push(format!(
                "application_name={}",
                encode(&self.application_name)
            ));
        }
        if let Some(o) = &self.options {
            params.push(format!("options={}", encode(o)));
        }
        format!("postgres://{auth}{hostport}/{db}?{}", params.join("&"))
    }

    /// Connect, and spawn the connection's task with `tokio::spawn` (call it inside a tokio
    /// runtime). The whole attempt (TCP, TLS, authentication) is bounded by `connect_timeout`.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, ConnectError> {
        let tls = tls::MakeRustls::new(self)
            .map_err(|detail| self.error(ConnectErrorKind::Tls, detail))?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(60))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(6)
            .ssl_mode(match self.sslmode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                _ => tokio_postgres::config::SslMode::Require,
            });
        if let Some(p) = &self.password {
            config.password(p.as_bytes());
        }
        if let Some(o) = &self.options {
            config.options(o);
        }
        let attempt = tokio::time::timeout(self.connect_timeout, config.connect(tls)).await;
        let (client, connection) = match attempt {
            Err(_) => {
                return Err(self.error(
                    ConnectErrorKind::Unreachable,
                    format!(
                        "no answer within connect_timeout={}s",
                        self.connect_timeout.as_secs()
                    ),
                ));
            }
            Ok(Err(e)) => return Err(self.classify(&e)),
            Ok(Ok(pair)) => pair,
        };
        let target = self.redacted.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(ledger = %target, error = %e, "the PostgreSQL connection ended with an error");
            }
        });
        Ok(client)
    }

    fn error(&self, kind: ConnectErrorKind, detail: String) -> ConnectError {
        ConnectError {
            kind,
            target: self.redacted.clone(),
            detail: self.scrub(detail),
        }
    }

    /// `detail` with the password replaced, in case a lower layer ever echoes it.
    fn scrub(&self, detail: String) -> String {
        match &self.password {
            Some(p) if p.len() >= 3 => detail.replace(p.as_str(), "***"),
            _ => detail,
        }
    }

    fn classify(&self, e: &tokio_postgres::Error) -> ConnectError {
        use ConnectErrorKind::*;
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let kind = match code {
                "28P01" | "28000" => Auth,
                "3D000" => DatabaseMissing,
                "57P03" => Unreachable,
                _ => Other,
            };
            let mut detail = format!("{} (SQLSTATE {code})", db.message());
            if code == "28000" && db.message().contains("no encryption") {
                detail.push_str("; the server accepts this user only over TLS: use sslmode=require or verify-full");
            }
            return self.error(kind, detail);
        }
        if let Some(tls_error) = tls::find_rustls_error(e) {
            return match tls::describe_verification_failure(tls_error, self) {
                Some(why) => self.error(Tls, why),
                None => self.error(
                    Unreachable,
                    format!("the TLS handshake failed: {tls_error}"),
                ),
            };
        }
        let text = error_chain(e);
        if text.contains("server does not support TLS") {
            return self.error(
                Tls,
                format!(
                    "the server does not accept TLS, and sslmode={} requires it (use sslmode=disable only on a trusted network)",
                    self.sslmode
                ),
            );
        }
        if let Some(io) = find_io_error(e) {
            let detail = match io.kind() {
                std::io::ErrorKind::TimedOut => format!(
                    "no answer within connect_timeout={}s",
                    self.connect_timeout.as_secs()
                ),
                _ => io.to_string(),
            };
            return self.error(Unreachable, detail);
        }
        if e.is_closed() {
            return self.error(Unreachable, text);
        }
        self.error(Other, text)
    }
}

/// `e` and its sources, `: `-joined (tokio-postgres puts the reason in the source).
fn error_chain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cur = err.source();
    }
    text
}

fn find_io_error(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// What kind of failure a [`ConnectError`] is, for the caller to decide (retry, tell the
/// operator to fix the URL, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// DNS, connection refused, a timeout, a TLS handshake that broke off, a server starting up.
    Unreachable,
    /// The server refused the credentials or has no `pg_hba.conf` entry (SQLSTATE 28P01, 28000).
    Auth,
    /// The database does not exist (SQLSTATE 3D000).
    DatabaseMissing,
    /// A TLS check failed (the message says which: chain or host name), the roots could not be
    /// loaded, or the server does not accept TLS.
    Tls,
    /// Anything else.
    Other,
}

/// A failed [`PgTarget::connect`]. Its messages show the redacted address, never the password.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot connect to the PostgreSQL ledger {target}: {detail}")]
pub struct ConnectError {
    kind: ConnectErrorKind,
    target: String,
    detail: String,
}

impl ConnectError {
    pub fn kind(&self) -> ConnectErrorKind {
        self.kind
    }

    /// The reason, without the address.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), PgUrlError> {
    if let Some(inner) = hostport.strip_prefix('[') {
        let close = inner.find(']').ok_or(PgUrlError::Malformed(
            "an IPv6 address without its closing ']'",
        ))?;
        let host = &inner[..close];
        let after = &inner[close + 1..];
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(PgUrlError::Malformed(
                "something in brackets that is not an IPv6 address",
            ));
        }
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(PgUrlError::Port),
        };
    }
    match hostport.split_once(':') {
        Some((_, port)) if port.contains(':') => Err(PgUrlError::Malformed(
            "more than one ':' after the host (write an IPv6 address in brackets)",
        )),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((hostport, None)),
    }
}

fn parse_port(s: &str) -> Result<u16, PgUrlError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PgUrlError::Port);
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(PgUrlError::Port),
        Ok(p) => Ok(p),
    }
}

fn parse_sslmode(v: &str) -> Result<SslMode, PgUrlError> {
    match v {
        "disable" => Ok(SslMode::Disable),
        "require" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" => Ok(SslMode::VerifyFull),
        "prefer" => Err(PgUrlError::WeakSslMode("prefer")),
        "allow" => Err(PgUrlError::WeakSslMode("allow")),
        other => Err(PgUrlError::SslMode(echoable(other))),
    }
}

fn parse_timeout(v: &str) -> Result<Duration, PgUrlError> {
    match v.parse::<u64>() {
        Ok(s @ 1..=3600) if v.bytes().all(|b| b.is_ascii_digit()) => Ok(Duration::from_secs(s)),
        _ => Err(PgUrlError::ConnectTimeout(echoable(v))),
    }
}

/// `s` if it is short and looks like a name or number, else a placeholder: error messages
/// echo what they refuse only when it cannot be a piece of a misplaced password.
fn echoable(s: &str) -> String {
    if !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        s.to_string()
    } else {
        "(not shown)".to_string()
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn decode(s: &str, part: &'static str) -> Result<String, PgUrlError> {
    percent_decode(s).map_err(|()| PgUrlError::Encoding { part })
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a root-certificate file, for messages.
pub(super) fn roots_label(roots: &RootCerts) -> String {
    match roots {
        RootCerts::System => "the system's root certificates".to_string(),
        RootCerts::File(p) => format!("sslrootcert={}", display_path(p)),
    }
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Pa55";

    fn parse(url: &str) -> PgTarget {
        PgTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn refuse(url: &str) -> PgUrlError {
        PgTarget::parse(url).expect_err(url)
    }

    #[test]
    fn a_full_url_parses() {
        let t = parse(
            "postgres://stark:pw@db.example.com:6543/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3&application_name=stark-cron",
        );
        assert_eq!(t.host(), "db.example.com");
        assert_eq!(t.port(), 6543);
        assert_eq!(t.user(), "stark");
        assert_eq!(t.dbname(), "ledger");
        assert_eq!(t.sslmode(), SslMode::VerifyFull);
        assert_eq!(
            t.sslrootcert(),
            Some(&RootCerts::File("/etc/ca.pem".into()))
        );
        assert_eq!(t.connect_timeout(), Duration::from_secs(3));
        assert_eq!(t.application_name(), "stark-cron");
        assert_eq!(t.schema(), None);
        assert_eq!(
            t.redacted(),
            "postgres://stark:***@db.example.com:6543/ledger?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3&application_name=stark-cron"
        );
    }

    #[test]
    fn each_sslmode_parses() {
        for (v, mode) in [
            ("disable", SslMode::Disable),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            for host in ["db.example.com", "127.0.0.1"] {
                let t = parse(&format!("postgresql://u@{host}/d?sslmode={v}"));
                assert_eq!(t.sslmode(), mode, "{host} {v}");
                assert!(
                    t.redacted().ends_with(&format!("?sslmode={v}")),
                    "{}",
                    t.redacted()
                );
            }
        }
    }

    #[test]
    fn sslmode_defaults_to_disable_on_loopback_and_require_elsewhere() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]"] {
            let t = parse(&format!("postgres://u@{host}/d"));
            assert_eq!(t.sslmode(), SslMode::Disable, "{host}");
        }
        let t = parse("postgres://u@/d?host=/var/run/postgresql");
        assert_eq!(t.sslmode(), SslMode::Disable);
        assert!(t.is_unix_socket());
        for host in [
            "db.example.com",
            "10.0.0.5",
            "[2001:db8::1]",
            "localhost.example.com",
            "128.0.0.1",
        ] {
            let t = parse(&format!("postgres://u@{host}/d"));
            assert_eq!(t.sslmode(), SslMode::Require, "{host}");
        }
    }

    #[test]
    fn defaults_port_user_dbname_timeout_application_name() {
        let t = parse("postgres://db.example.com");
        assert_eq!(t.port(), 5432);
        let os_user = whoami::username().unwrap();
        assert_eq!(t.user(), os_user);
        assert_eq!(t.dbname(), os_user);
        assert_eq!(t.connect_timeout(), Duration::from_secs(10));
        assert_eq!(t.application_name(), "stark");
        let t = parse("postgres://stark@db.example.com:/");
        assert_eq!((t.port(), t.dbname()), (5432, "stark"));
        assert_eq!(
            t.redacted(),
            "postgres://stark@db.example.com:5432/stark?sslmode=require"
        );
    }

    #[test]
    fn a_percent_encoded_password_with_at_colon_slash_decodes() {
        let t = parse("postgres://st%40rk:p%40ss%3Aw%2Frd%3F@db.example.com/my%20db");
        assert_eq!(t.user(), "st@rk");
        assert_eq!(t.password.as_deref(), Some("p@ss:w/rd?"));
        assert_eq!(t.dbname(), "my db");
        assert_eq!(
            t.redacted(),
            "postgres://st%40rk:***@db.example.com:5432/my%20db?sslmode=require"
        );
        // Raw '@' and ':' in a password are read like libpq reads them.
        let t = parse("postgres://stark:p@ss:w@db.example.com/d");
        assert_eq!(t.password.as_deref(), Some("p@ss:w"));
        assert_eq!(t.host(), "db.example.com");
    }

    #[test]
    fn query_parameters_override_the_url() {
        let t = parse(
            "postgres://a:x@h1:1/d1?host=h2&port=2&user=b&password=y&dbname=d2&options=-c%20search_path%3Dledger",
        );
        assert_eq!(
            (t.host(), t.port(), t.user(), t.dbname()),
            ("h2", 2, "b", "d2")
        );
        assert_eq!(t.password.as_deref(), Some("y"));
        assert_eq!(t.options(), Some("-c search_path=ledger"));
        assert!(
            t.redacted().starts_with("postgres://b:***@h2:2/d2?"),
            "{}",
            t.redacted()
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let t = parse("postgres://u@[::1]:5433/d");
        assert_eq!((t.host(), t.port()), ("::1", 5433));
        assert_eq!(t.redacted(), "postgres://u@[::1]:5433/d?sslmode=disable");
        let t = parse("postgres://u@[2001:db8::1]/d");
        assert_eq!((t.host(), t.port()), ("2001:db8::1", 5432));
        assert!(matches!(
            refuse("postgres://u@::1/d"),
            PgUrlError::Malformed(_)
        ));
        assert!(matches!(
            refuse("postgres://u@[::1/d"),
            PgUrlError::Malformed(_)
        ));
        assert!(matches!(
            refuse("postgres://u@[db]/d"),
            PgUrlError::Malformed(_)
        ));
        assert_eq!(refuse("postgres://u@[::1]x/d"), PgUrlError::Port);
    }

    #[test]
    fn a_unix_socket_directory_is_a_host() {
        let t = parse("postgres://u@%2Fvar%2Frun%2Fpostgresql:5433/d");
        assert_eq!((t.host(), t.port()), ("/var/run/postgresql", 5433));
        assert_eq!(
            t.redacted(),
            "postgres://u@/d?host=%2Fvar%2Frun%2Fpostgresql&port=5433&sslmode=disable"
        );
        assert_eq!(
            refuse("postgres://u@/d?host=/tmp&sslmode=verify-full"),
            PgUrlError::UnixSocketTls(SslMode::VerifyFull)
        );
        assert_eq!(
            parse("postgres://u@/d?host=/tmp&sslmode=disable").sslmode(),
            SslMode::Disable
        );
    }

    #[test]
    fn the_scheme_is_postgres_or_postgresql_in_any_case() {
        assert!(is_postgres_url("postgres://h"));
        assert!(is_postgres_url("PostgreSQL://h"));
        assert!(is_postgres_url("POSTGRES://h"));
        assert!(!is_postgres_url("postgre://h"));
        assert!(!is_postgres_url("/var/lib/stark/ledger.db"));
        assert!(!is_postgres_url("mysql://h"));
        assert!(!is_postgres_url("postgres:/h"));
        assert_eq!(parse("POSTGRESQL://u@h/d").host(), "h");
        assert_eq!(refuse("mysql://u@h/d"), PgUrlError::Scheme);
        assert_eq!(refuse("http://u@h/d"), PgUrlError::Scheme);
    }

    #[test]
    fn unknown_params_are_named_with_the_supported_ones() {
        let e = refuse("postgres://u@h/d?sslcert=/c.pem");
        assert_eq!(
            e,
            PgUrlError::UnknownParam {
                name: "sslcert".into()
            }
        );
        let text = e.to_string();
        assert!(text.contains("\"sslcert\""), "{text}");
        assert!(text.contains("sslmode, sslrootcert"), "{text}");
        assert_eq!(
            refuse("postgres://u@h/d?sslmode"),
            PgUrlError::ParamWithoutValue
        );
    }

    #[test]
    fn bad_ports_are_refused() {
        for port in ["0", "65536", "99999999", "-1", "54x", "%35"] {
            assert_eq!(
                refuse(&format!("postgres://u@h:{port}/d")),
                PgUrlError::Port,
                "{port}"
            );
        }
        assert_eq!(refuse("postgres://u@h/d?port=abc"), PgUrlError::Port);
        assert_eq!(parse("postgres://u@h:65535/d").port(), 65535);
    }

    #[test]
    fn prefer_and_allow_are_refused_for_their_plaintext_fallback() {
        for weak in ["prefer", "allow"] {
            let e = refuse(&format!("postgres://u@db.example.com/d?sslmode={weak}"));
            assert_eq!(
                e,
                PgUrlError::WeakSslMode(if weak == "prefer" { "prefer" } else { "allow" })
            );
            let text = e.to_string();
            assert!(text.contains("plaintext"), "{text}");
            assert!(
                text.contains("disable, require, verify-ca, verify-full"),
                "{text}"
            );
        }
        assert_eq!(
            refuse("postgres://u@h/d?sslmode=VERIFY"),
            PgUrlError::SslMode("VERIFY".into())
        );
    }

    #[test]
    fn other_refusals() {
        assert_eq!(refuse("postgres://u@h1,h2/d"), PgUrlError::MultipleHosts);
        assert_eq!(
            refuse("postgres://u@h/d?host=a,b"),
            PgUrlError::MultipleHosts
        );
        assert_eq!(refuse("postgres://u@/d"), PgUrlError::NoHost);
        assert_eq!(
            refuse("postgres://u@h/d?connect_timeout=0"),
            PgUrlError::ConnectTimeout("0".into())
        );
        assert_eq!(
            refuse("postgres://u@h/d?connect_timeout=1.5"),
            PgUrlError::ConnectTimeout("1.5".into())
        );
        assert_eq!(
            refuse("postgres://u@h/d?sslrootcert="),
            PgUrlError::EmptyRootCert
        );
        assert_eq!(
            refuse("postgres://u@h/d%zz"),
            PgUrlError::Encoding {
                part: "database name"
            }
        );
        assert_eq!(
            refuse("postgres://u@h/d%ff"),
            PgUrlError::Encoding {
                part: "database name"
            }
        );
        assert_eq!(
            parse("postgres://u@h/d?sslmode=verify-ca&sslrootcert=system").sslrootcert(),
            Some(&RootCerts::System)
        );
    }

    /// Every refusal, each from a URL that carries the password somewhere: none shows it.
    #[test]
    fn no_error_shows_the_password() {
        let urls = [
            format!("mysql://u:{SECRET}@h/d"),
            format!("postgres://u:{SECRET}@h:99999/d"),
            // A raw '/', '?' or ':' in the password moves its tail to the port, path or query.
            format!("postgres://u:ab/{SECRET}@h/d"),
            format!("postgres://u:{SECRET}/x@h/d"),
            format!("postgres://u:ab?{SECRET}=1@h/d"),
            format!("postgres://u:ab?x={SECRET}@h/d"),
            format!("postgres://u:{SECRET}@h/d?x=1"),
            format!("postgres://u:{SECRET}@h/d?sslmode"),
            format!("postgres://u:{SECRET}@h/d?sslmode=bogus"),
            format!("postgres://u:{SECRET}@h/d?sslmode=prefer"),
            format!("postgres://u:{SECRET}@h/d?sslmode=allow"),
            format!("postgres://u:{SECRET}@h/d?connect_timeout=0"),
            format!("postgres://u:{SECRET}@h/d?sslrootcert="),
            format!("postgres://u:{SECRET}@h1,h2/d"),
            format!("postgres://u:{SECRET}@/d"),
            format!("postgres://u:{SECRET}%zz@h/d"),
            format!("postgres://u:{SECRET}@[::1/d"),
            format!("postgres://u:{SECRET}@/d?host=/tmp&sslmode=require"),
            format!("postgres://u@h/d?password={SECRET}&port=x"),
            format!("postgres://u@h/d?password={SECRET}&bogus=1"),
            format!("postgres://u@h/d?password={SECRET}%zz"),
        ];
        let mut seen = std::collections::HashSet::new();
        for url in &urls {
            let e = PgTarget::parse(url).expect_err(url);
            seen.insert(std::mem::discriminant(&e));
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(SECRET), "{url} -> {text}");
                assert!(!text.contains("s3cr3t"), "{url} -> {text}");
            }
        }
        // Every variant but NoUser (which needs an unknown OS user) is covered above.
        assert_eq!(seen.len(), 13, "variants covered");
        assert!(PgUrlError::NoUser.to_string().contains("names no user"));
    }

    #[test]
    fn redacted_and_debug_never_show_the_password() {
        for url in [
            format!("postgres://stark:{SECRET}@db.example.com/stark?sslmode=verify-full"),
            format!("postgres://stark@db.example.com/stark?password={SECRET}"),
            format!(
                "postgres://stark:{}@db.example.com/stark",
                SECRET.replace('-', "%2D")
            ),
        ] {
            let t = parse(&url);
            assert_eq!(t.password.as_deref(), Some(SECRET));
            for text in [t.redacted().to_string(), format!("{t:?}"), t.to_string()] {
                assert!(!text.contains(SECRET), "{text}");
                assert!(text.contains("stark:***@db.example.com:5432"), "{text}");
            }
        }
        assert_eq!(
            parse(&format!(
                "postgres://stark:{SECRET}@db.example.com/stark?sslmode=verify-full"
            ))
            .redacted(),
            "postgres://stark:***@db.example.com:5432/stark?sslmode=verify-full"
        );
    }

    #[test]
    fn redact_hides_passwords_in_any_text() {
        assert_eq!(
            redact(&format!("postgres://stark:{SECRET}@db.example.com/stark")),
            "postgres://stark:***@db.example.com/stark"
        );
        assert_eq!(
            redact(&format!(
                "ledger POSTGRESQL://stark:{SECRET}@h/d?sslmode=require failed; again postgres://u:{SECRET}@h2"
            )),
            "ledger POSTGRESQL://stark:***@h/d?sslmode=require failed; again postgres://u:***@h2"
        );
        assert_eq!(
            redact(&format!(
                "postgres://stark@h/d?sslmode=require&password={SECRET}&x=1"
            )),
            "postgres://stark@h/d?sslmode=require&password=***&x=1"
        );
        // Unparseable URLs too: a raw '/' or '@' in the password.
        for url in [
            format!("postgres://u:ab/{SECRET}@h/d"),
            format!("postgres://u:{SECRET}@x@h/d"),
            format!("postgres://u:{SECRET}@h1,h2/d"),
        ] {
            let out = redact(&url);
            assert!(!out.contains(SECRET), "{out}");
            assert!(out.starts_with("postgres://u:***@"), "{out}");
        }
        for plain in [
            "",
            "/var/lib/stark/ledger.db",
            "https://u:p@example.com/",
            "postgres://h/d",
        ] {
            assert_eq!(redact(plain), plain);
        }
    }

    #[tokio::test]
    async fn connect_errors_are_redacted_and_classified() {
        // A port nothing listens on: refused, so Unreachable.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let t = parse(&format!(
            "postgres://stark:{SECRET}@127.0.0.1:{port}/stark?connect_timeout=2"
        ));
        let e = t.connect().await.expect_err("nothing listens");
        assert_eq!(e.kind(), ConnectErrorKind::Unreachable, "{e}");
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(text.contains("stark:***@127.0.0.1"), "{text}");
        }
        // A server that never answers: the attempt ends at connect_timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = parse(&format!(
            "postgres://stark:{SECRET}@127.0.0.1:{port}/stark?connect_timeout=1"
        ));
        let started = std::time::Instant::now();
        let e = t.connect().await.expect_err("silent server");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(e.kind(), ConnectErrorKind::Unreachable, "{e}");
        assert!(e.detail().contains("connect_timeout=1s"), "{e}");
        // A server that speaks no TLS, asked for TLS: Tls.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 8];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"N").await.unwrap();
            let _ = s.read(&mut buf).await;
        });
        let t = parse(&format!(
            "postgres://stark:{SECRET}@127.0.0.1:{port}/stark?sslmode=require"
        ));
        let e = t.connect().await.expect_err("no TLS");
        assert_eq!(e.kind(), ConnectErrorKind::Tls, "{e}");
        assert!(e.detail().contains("does not accept TLS"), "{e}");
        // An unreadable root file: Tls, before any network.
        let t = parse(&format!(
            "postgres://stark:{SECRET}@db.invalid/stark?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
        ));
        let e = t.connect().await.expect_err("no roots");
        assert_eq!(e.kind(), ConnectErrorKind::Tls, "{e}");
        // Every kind's message goes through the scrubber.
        for kind in [
            ConnectErrorKind::Unreachable,
            ConnectErrorKind::Auth,
            ConnectErrorKind::DatabaseMissing,
            ConnectErrorKind::Tls,
            ConnectErrorKind::Other,
        ] {
            let e = t.error(kind, format!("the server said {SECRET}"));
            assert_eq!(e.kind(), kind);
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(SECRET), "{text}");
            }
        }
    }
}
