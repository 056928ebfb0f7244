//! TEMPORARY (replaced by the pgurl branch).
use std::str::FromStr;
pub fn is_postgres_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
}
pub fn redact(s: &str) -> String {
    s.to_string()
}
#[derive(Clone, Debug)]
pub struct PgTarget {
    url: String,
}
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PgUrlError(String);
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String, Option<String>, bool);
impl ConnectError {
    pub fn sqlstate(&self) -> Option<&str> {
        self.1.as_deref()
    }
    pub fn is_unreachable(&self) -> bool {
        self.2
    }
}
impl PgTarget {
    pub fn parse(url: &str) -> Result<PgTarget, PgUrlError> {
        tokio_postgres::Config::from_str(url).map_err(|e| PgUrlError(e.to_string()))?;
        Ok(PgTarget { url: url.into() })
    }
    pub fn redacted(&self) -> &str {
        &self.url
    }
    pub async fn connect(&self) -> Result<tokio_postgres::Client, ConnectError> {
        let (c, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .map_err(|e| {
                ConnectError(
                    e.to_string(),
                    e.code().map(|c| c.code().to_string()),
                    e.as_db_error().is_none(),
                )
            })?;
        tokio::spawn(conn);
        Ok(c)
    }
}
