//! The Stark Bank HTTP client: signs every request over the exact bytes it sends, maps
//! responses to typed errors, retries only what is safe to retry, and pages through lists.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::auth::{sign_request, wall_clock_seconds};
use super::endpoints::{self, encode_path};
use super::model::*;
use crate::keys::PrivateKey;

/// The two Stark Bank environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Sandbox,
    Production,
}

impl Environment {
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://sandbox.api.starkbank.com",
            Environment::Production => "https://api.starkbank.com",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Some(Environment::Sandbox),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }
}

/// Everything a client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Scheme, host and port, e.g. `https://sandbox.api.starkbank.com` or
    /// `http://127.0.0.1:8080`. A trailing `/v2` is accepted.
    pub base_url: String,
    /// `project/{id}` (or `organization/{id}[/workspace/{id}]`).
    pub access_id: String,
    pub key: Arc<PrivateKey>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Extra attempts for requests that are safe to repeat (GET, DELETE, PATCH isDelivered).
    pub retries: u32,
    /// First backoff step; doubled each retry, with jitter, capped at 10 s.
    pub backoff: Duration,
    pub language: String,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, project_id: &str, key: Arc<PrivateKey>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            access_id: format!("project/{project_id}"),
            key,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            language: "en-US".into(),
        }
    }
}

/// What a request to the API can end in, other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API refused the request (HTTP 400 with an `errors` list). Nothing was done.
    #[error("Stark Bank rejected the request: {}", format_errors(.errors))]
    Rejected {
        status: u16,
        errors: Vec<ApiErrorItem>,
    },
    /// The request never reached the server (connection refused, DNS...). Nothing was done.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The request may or may not have been processed: the connection broke after sending.
    #[error("no answer from Stark Bank ({reason}); the request may or may not have taken effect")]
    Transport { reason: String },
    #[error("Stark Bank did not answer within {0:?}; the request may or may not have taken effect")]
    Timeout(Duration),
    /// 5xx, 429 and any other unexpected status.
    #[error("Stark Bank answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("cannot decode Stark Bank's answer (HTTP {status}): {reason}")]
    Decode { status: u16, reason: String },
}

fn format_errors(errors: &[ApiErrorItem]) -> String {
    errors
        .iter()
        .map(|e| format!("{} ({})", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// The outcome is unknown: the request may have taken effect. Never resend a create
    /// after this without looking the resource up first.
    ///
    /// Only two answers prove that nothing was done: a 400 with an `errors` body
    /// ([`ApiError::Rejected`]) and a connection that never opened ([`ApiError::Connect`]).
    /// Everything else — a timeout, a cut connection, any other status (a gateway's 504, a
    /// proxy's 408 or 499, a 409 or 425 from a CDN), an answer that does not decode — may come
    /// from a request the bank applied, or will apply.
    pub fn is_ambiguous(&self) -> bool {
        !matches!(self, ApiError::Rejected { .. } | ApiError::Connect { .. })
    }

    /// The failure in a few words, for one line an operator reads (`no answer from Stark Bank
    /// (connection refused)`); the `Display` form has the whole chain.
    pub fn brief(&self) -> String {
        match self {
            ApiError::Connect { reason, .. } | ApiError::Transport { reason } => {
                format!("no answer from Stark Bank ({})", last_cause(reason))
            }
            ApiError::Timeout(d) => format!("no answer from Stark Bank within {d:?}"),
            ApiError::Status { status, .. } => format!("Stark Bank answered HTTP {status}"),
            ApiError::Decode { status, .. } => {
                format!("Stark Bank's answer does not decode (HTTP {status})")
            }
            ApiError::Rejected { .. } => self.to_string(),
        }
    }

    /// Worth another try for a request that is safe to repeat (a GET, a DELETE, the
    /// delivered mark): the failures that usually pass.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout(_) | ApiError::Connect { .. } => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429,
            ApiError::Decode { status, .. } => *status == 200,
            ApiError::Rejected { .. } => false,
        }
    }

    /// A refusal of the request as a whole — the credentials, the clock, the caller's IP, or
    /// any error not scoped to one element — rather than a verdict on its content: nothing
    /// was done and nothing in the body was judged, so the same body may be sent again once
    /// the setup is fixed. Per-element errors say which element (`"Element 3: ..."`); a
    /// refusal whose errors do not all say so counts as request-level (the safe side: the
    /// request stays open instead of being filed as rejected).
    pub fn is_request_level(&self) -> bool {
        match self {
            ApiError::Rejected { errors, .. } => {
                errors.is_empty()
                    || errors.iter().any(|e| {
                        SETUP_CODES.contains(&e.code.as_str()) || !e.message.starts_with("Element ")
                    })
            }
            _ => false,
        }
    }

    /// The API's error codes, if it rejected the request.
    pub fn codes(&self) -> Vec<&str> {
        match self {
            ApiError::Rejected { errors, .. } => errors.iter().map(|e| e.code.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// A 400 refusal carrying these `(code, message)` errors, as the API words them.
    #[cfg(test)]
    pub(crate) fn rejected(items: &[(&str, &str)]) -> ApiError {
        ApiError::Rejected {
            status: 400,
            errors: items
                .iter()
                .map(|(code, message)| ApiErrorItem {
                    code: code.to_string(),
                    message: message.to_string(),
                })
                .collect(),
        }
    }

    /// A hint for the operator for well-known failures.
    pub fn hint(&self) -> Option<&'static str> {
        let codes = self.codes();
        if codes.contains(&"invalidCredentials") {
            Some(
                "check STARK_PROJECT_ID and that the public key registered for the project matches STARK_PRIVATE_KEY (`stark doctor` compares them)",
            )
        } else if codes.contains(&"invalidAccessTime") {
            Some("this machine's clock is off: sync it (e.g. `timedatectl set-ntp true`)")
        } else if codes.contains(&"invalidIp") {
            Some(
                "the project only accepts requests from registered IP addresses: add this machine's address in the Stark Bank web app",
            )
        } else {
            None
        }
    }
}

/// Refusals that are about the setup (who signs, when, from where), never about a body.
pub const SETUP_CODES: &[&str] = &["invalidCredentials", "invalidAccessTime", "invalidIp"];

/// Query parameters in camelCase, lists comma-joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Query(Vec::new())
    }
    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_string(), value.to_string()));
        self
    }
    pub fn list<S: AsRef<str>>(self, key: &str, values: &[S]) -> Self {
        let joined = values
            .iter()
            .map(|v| v.as_ref())
            .collect::<Vec<_>>()
            .join(",");
        self.set(key, joined)
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One request as signed and sent: the method, the path under `/v2/`, the query and the exact
/// body bytes the signature covers.
struct Request<'a> {
    method: Method,
    path: &'a str,
    query: &'a Query,
    body: &'a [u8],
}

impl<'a> Request<'a> {
    fn new(method: Method, path: &'a str, query: &'a Query, body: &'a [u8]) -> Self {
        Request {
            method,
            path,
            query,
            body,
        }
    }
}

/// A Stark Bank API client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: Arc<ClientConfig>,
    base: Url,
    /// (access time, body, headers) of the last small request signed.
    last_signature: Arc<std::sync::Mutex<Option<LastSignature>>>,
}

/// (access time, body, headers) of the last small request signed.
type LastSignature = (String, Vec<u8>, super::auth::AuthHeaders);

/// Bodies up to this size have their signature remembered for the rest of the second.
const SIGNATURE_CACHE_MAX: usize = 256;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("access_id", &self.cfg.access_id)
            .finish()
    }
}

/// A decoded 200 answer together with the server's `Date` header.
#[derive(Debug)]
pub struct Answer<T> {
    pub value: T,
    pub date: Option<String>,
}

/// A [`Client`] cannot be built from its [`ClientConfig`].
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid API URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        let mut base = cfg.base_url.trim().trim_end_matches('/').to_string();
        if let Some(stripped) = base.strip_suffix("/v2") {
            base = stripped.to_string();
        }
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: cfg.base_url.clone(),
            reason,
        };
        let base = Url::parse(&format!("{base}/")).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("use http or https".into()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("stark/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(ClientError::Http)?;
        Ok(Client {
            http,
            cfg: Arc::new(cfg),
            base,
            last_signature: Arc::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn url(&self, path: &str, query: &Query) -> Url {
        let mut url = self
            .base
            .join(&format!("v2/{}", path.trim_start_matches('/')))
            .expect("paths are static and valid");
        if !query.0.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &query.0 {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// The authentication headers for `body` now. The signed message is
    /// `accessId:accessTime:body` (no path) with a time in whole seconds, and signing is
    /// deterministic (RFC 6979): requests with the same small body within one second (the
    /// event PATCHes of a sweep) reuse the signature instead of computing it again.
    fn auth_for(&self, body: &[u8]) -> super::auth::AuthHeaders {
        let time = wall_clock_seconds();
        if body.len() > SIGNATURE_CACHE_MAX {
            return sign_request(&self.cfg.key, &self.cfg.access_id, &time, body);
        }
        let mut cache = self
            .last_signature
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((t, b, auth)) = cache.as_ref() {
            if *t == time && b == body {
                return auth.clone();
            }
        }
        let auth = sign_request(&self.cfg.key, &self.cfg.access_id, &time, body);
        *cache = Some((time, body.to_vec(), auth.clone()));
        auth
    }

    /// Send one request, signed over its body exactly. No retries.
    async fn send_once(&self, req: &Request<'_>) -> Result<Answer<Value>, ApiError> {
        let url = self.url(req.path, req.query);
        let auth = self.auth_for(req.body);
        let started = std::time::Instant::now();
        let resp = self
            .http
            .request(req.method.clone(), url.clone())
            .header("Access-Id", &auth.access_id)
            .header("Access-Time", &auth.access_time)
            .header("Access-Signature", &auth.access_signature)
            .header("Content-Type", "application/json")
            .header("Accept-Language", &self.cfg.language)
            .body(req.body.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_error(e, &url))?;
        let status = resp.status();
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, &url))?;
        tracing::debug!(method = %req.method, path = req.path, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "api request");
        decode_answer(status, &bytes).map(|value| Answer { value, date })
    }

    fn transport_error(&self, e: reqwest::Error, url: &Url) -> ApiError {
        if e.is_timeout() {
            ApiError::Timeout(self.cfg.timeout)
        } else if e.is_connect() {
            ApiError::Connect {
                url: format!("{}://{}", url.scheme(), url.authority()),
                reason: error_chain(&e),
            }
        } else {
            ApiError::Transport {
                reason: error_chain(&e),
            }
        }
    }

    /// Send a request that is safe to repeat, retrying transient failures with backoff.
    async fn send_idempotent(&self, req: Request<'_>) -> Result<Answer<Value>, ApiError> {
        let mut attempt = 0;
        loop {
            match self.send_once(&req).await {
                Err(e) if e.is_transient() && attempt < self.cfg.retries => {
                    let delay = backoff_delay(self.cfg.backoff, attempt);
                    let left = self.cfg.retries - attempt;
                    tracing::warn!(method = %req.method, path = req.path, attempt, cause = %e, delay_ms = delay.as_millis() as u64, "{}; retrying ({left} left)", e.brief());
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// GET (retried when transient).
    pub async fn get_value(&self, path: &str, query: &Query) -> Result<Answer<Value>, ApiError> {
        self.send_idempotent(Request::new(Method::GET, path, query, b""))
            .await
    }

    /// POST `body` exactly once. Callers must handle an ambiguous error by looking the
    /// resource up before sending again.
    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Result<Value, ApiError> {
        Ok(self
            .send_once(&Request::new(Method::POST, path, &Query::new(), body))
            .await?
            .value)
    }

    /// `GET /v2/{kind}/{id}`: the item under `kind`.
    async fn get_one<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<T, ApiError> {
        let path = format!("{kind}/{}", encode_path(id));
        let answer = self.get_value(&path, &Query::new()).await?;
        take_field(answer.value, kind)
    }

    /// A create sent once with `body` as is: the created items.
    async fn create_raw<T: DeserializeOwned>(
        &self,
        create: endpoints::Create,
        body: &[u8],
    ) -> Result<Vec<T>, ApiError> {
        take_field(self.post_raw(create.path, body).await?, create.key)
    }

    /// One page of a list endpoint.
    pub async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        query: &Query,
        cursor: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), ApiError> {
        let q = endpoints::page_query(query, cursor);
        let answer = self.get_value(path, &q).await?;
        decode_page(answer.value, key)
    }

    /// A pager over every page of a list endpoint.
    pub fn pager<T: DeserializeOwned>(&self, path: &str, key: &str, query: Query) -> Pager<T> {
        Pager {
            client: self.clone(),
            path: path.to_string(),
            key: key.to_string(),
            query,
            cursor: None,
            done: false,
            _t: std::marker::PhantomData,
        }
    }

    /// Every item of a list endpoint (use for lists known to be small).
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        query: Query,
    ) -> Result<Vec<T>, ApiError> {
        let mut pager = self.pager(path, key, query);
        let mut all = Vec::new();
        while let Some(page) = pager.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    // --- invoices -------------------------------------------------------------------------

    /// Create invoices from an already serialized `{"invoices": [...]}` body, sent as is.
    pub async fn create_invoices_raw(&self, body: &[u8]) -> Result<Vec<Invoice>, ApiError> {
        self.create_raw(endpoints::CREATE_INVOICES, body).await
    }

    pub async fn get_invoice(&self, id: &str) -> Result<Invoice, ApiError> {
        self.get_one("invoice", id).await
    }

    // --- transfers ------------------------------------------------------------------------

    /// Create transfers from an already serialized `{"transfers": [...]}` body, sent as is.
    pub async fn create_transfers_raw(&self, body: &[u8]) -> Result<Vec<Transfer>, ApiError> {
        self.create_raw(endpoints::CREATE_TRANSFERS, body).await
    }

    pub async fn get_transfer(&self, id: &str) -> Result<Transfer, ApiError> {
        self.get_one("transfer", id).await
    }

    // --- events ---------------------------------------------------------------------------

    pub async fn get_event(&self, id: &str) -> Result<Event, ApiError> {
        self.get_one("event", id).await
    }

    /// `PATCH /v2/event/{id}` with `{"isDelivered": true}` (idempotent, so retried).
    pub async fn set_event_delivered(&self, id: &str) -> Result<(), ApiError> {
        self.call(endpoints::mark_event_delivered(id)).await
    }

    /// Cancel a `created` invoice (safe to repeat: a second cancel is refused, nothing more).
    pub async fn cancel_invoice_by_id(&self, id: &str) -> Result<(), ApiError> {
        self.call(endpoints::cancel_invoice(id)).await
    }

    /// Send an idempotent [`endpoints::Call`] (retried when transient); its answer is dropped.
    async fn call(&self, call: endpoints::Call) -> Result<(), ApiError> {
        let query = Query::new();
        let req = Request::new(call.method, &call.path, &query, call.body);
        self.send_idempotent(req).await.map(|_| ())
    }

    pub async fn delete_event(&self, id: &str) -> Result<(), ApiError> {
        self.delete("event", id).await
    }

    /// `DELETE /v2/{resource}/{id}` (idempotent, so retried).
    async fn delete(&self, resource: &str, id: &str) -> Result<(), ApiError> {
        let path = format!("{resource}/{}", encode_path(id));
        self.send_idempotent(Request::new(Method::DELETE, &path, &Query::new(), b""))
            .await
            .map(|_| ())
    }

    /// The first page (up to 100) of failed webhook delivery attempts since `since`
    /// (a date, `YYYY-MM-DD`).
    pub async fn failed_deliveries(&self, since: &str) -> Result<Vec<EventAttempt>, ApiError> {
        let query = Query::new().set("after", since).set("limit", 100);
        Ok(self
            .page("event/attempt", "attempts", &query, None)
            .await?
            .0)
    }

    // --- webhooks -------------------------------------------------------------------------

    pub async fn create_webhook(
        &self,
        url: &str,
        subscriptions: &[&str],
    ) -> Result<Webhook, ApiError> {
        let body =
            serde_json::to_vec(&serde_json::json!({"url": url, "subscriptions": subscriptions}))
                .expect("static shape serializes");
        take_field(self.post_raw("webhook", &body).await?, "webhook")
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, ApiError> {
        self.list_all("webhook", "webhooks", Query::new()).await
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), ApiError> {
        self.delete("webhook", id).await
    }

    // --- keys and balance -----------------------------------------------------------------

    /// The API's webhook signing keys, newest first.
    pub async fn public_keys(&self) -> Result<Vec<PublicKeyEntry>, ApiError> {
        let answer = self
            .get_value("public-key", &Query::new().set("limit", 1))
            .await?;
        take_field(answer.value, "publicKeys")
    }

    pub async fn balance(&self) -> Result<Answer<Balance>, ApiError> {
        let answer = self.get_value("balance", &Query::new()).await?;
        let date = answer.date;
        let mut list: Vec<Balance> = take_field(answer.value, "balances")?;
        if list.is_empty() {
            return Err(ApiError::Decode {
                status: 200,
                reason: "`balances` is empty".into(),
            });
        }
        Ok(Answer {
            value: list.remove(0),
            date,
        })
    }
}

/// Follows `cursor` until the API stops returning one.
pub struct Pager<T> {
    client: Client,
    path: String,
    key: String,
    query: Query,
    cursor: Option<String>,
    done: bool,
    _t: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Pager<T> {
    /// The next page, or `None` once every page was returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let (items, cursor) = self
            .client
            .page(&self.path, &self.key, &self.query, self.cursor.as_deref())
            .await?;
        self.done = cursor.is_none();
        self.cursor = cursor;
        Ok(Some(items))
    }
}

/// A response as the client sees it: a 200's JSON, or the error its status and body mean
/// (400 with an `errors` list: [`ApiError::Rejected`]; anything else: [`ApiError::Status`]).
pub(crate) fn decode_answer(status: StatusCode, bytes: &[u8]) -> Result<Value, ApiError> {
    let code = status.as_u16();
    if status.is_success() {
        return serde_json::from_slice(bytes).map_err(|e| ApiError::Decode {
            status: code,
            reason: e.to_string(),
        });
    }
    if code == 400 {
        if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(bytes) {
            return Err(ApiError::Rejected {
                status: code,
                errors: env.errors,
            });
        }
    }
    Err(ApiError::Status {
        status: code,
        body: String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned(),
    })
}

fn into_object(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::Decode {
            status: 200,
            reason: "expected a JSON object".into(),
        }),
    }
}

/// Decode one page of a list answer: the items under `key` (none if absent) and the cursor of
/// the next page (`None` on the last).
pub(crate) fn decode_page<T: DeserializeOwned>(
    v: Value,
    key: &str,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let mut map = into_object(v)?;
    let cursor = match map.remove("cursor") {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let items = map.remove(key).unwrap_or(Value::Array(Vec::new()));
    let items: Vec<T> = serde_json::from_value(items).map_err(|e| ApiError::Decode {
        status: 200,
        reason: format!("`{key}`: {e}"),
    })?;
    Ok((items, cursor))
}

/// Decode the field `key` of a JSON object answer.
pub fn take_field<T: DeserializeOwned>(v: Value, key: &str) -> Result<T, ApiError> {
    let mut map = into_object(v)?;
    let field = map.remove(key).ok_or_else(|| ApiError::Decode {
        status: 200,
        reason: format!("missing `{key}`"),
    })?;
    serde_json::from_value(field).map_err(|e| ApiError::Decode {
        status: 200,
        reason: format!("`{key}`: {e}"),
    })
}

/// The innermost cause of an [`error_chain`], lower-cased and without the OS error number:
/// `connection refused` for `…: tcp connect error: Connection refused (os error 111)`.
fn last_cause(chain: &str) -> String {
    let last = chain.rsplit(": ").next().unwrap_or(chain).trim();
    let last = match last.rfind(" (os error ") {
        Some(at) if last.ends_with(')') => &last[..at],
        _ => last,
    };
    let mut chars = last.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => last.to_string(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = inner.source();
    }
    s
}

/// Exponential backoff with full jitter: uniform in [step/2, step], step = base·2^attempt ≤ 10 s.
pub fn backoff_delay(base: Duration, attempt: u32) -> Duration {
    use rand::Rng;
    let step = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(10));
    let ms = step.as_millis() as u64;
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_in_a_few_words() {
        let refused = ApiError::Connect {
            url: "http://127.0.0.1:9".into(),
            reason: "error sending request for url (http://127.0.0.1:9/v2/event): client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
        };
        assert_eq!(
            refused.brief(),
            "no answer from Stark Bank (connection refused)"
        );
        assert_eq!(
            ApiError::Timeout(Duration::from_secs(30)).brief(),
            "no answer from Stark Bank within 30s"
        );
        let busy = ApiError::Status {
            status: 503,
            body: "busy".into(),
        };
        assert_eq!(busy.brief(), "Stark Bank answered HTTP 503");
        assert_eq!(last_cause("DNS error"), "DNS error");
    }

    #[test]
    fn ambiguity_classification() {
        let status = |s| ApiError::Status {
            status: s,
            body: String::new(),
        };
        // Only a 400 with errors and a connection that never opened prove nothing was done.
        for s in [500, 502, 503, 504, 429, 404, 408, 409, 425, 499, 400] {
            assert!(status(s).is_ambiguous(), "{s}");
        }
        for s in [500, 503, 429] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [404, 408, 409, 425, 499, 400] {
            assert!(!status(s).is_transient(), "{s}");
        }
        assert!(
            ApiError::Decode {
                status: 200,
                reason: "x".into()
            }
            .is_ambiguous()
        );
        assert!(ApiError::Timeout(Duration::from_secs(1)).is_ambiguous());
        assert!(
            ApiError::Transport {
                reason: "reset".into()
            }
            .is_ambiguous()
        );
        let conn = ApiError::Connect {
            url: "x".into(),
            reason: "refused".into(),
        };
        assert!(!conn.is_ambiguous() && conn.is_transient());
        let rej = ApiError::rejected(&[]);
        assert!(!rej.is_ambiguous() && !rej.is_transient());
    }

    #[test]
    fn request_level_refusals_are_told_from_element_errors() {
        let rej = ApiError::rejected;
        assert!(!rej(&[("invalidTaxId", "Element 3: invalid tax id")]).is_request_level());
        assert!(
            !rej(&[
                ("invalidTaxId", "Element 0: x"),
                ("invalidAmount", "Element 2: y")
            ])
            .is_request_level()
        );
        for code in SETUP_CODES {
            assert!(rej(&[(code, "whatever")]).is_request_level(), "{code}");
            assert!(
                rej(&[(code, "Element 0: odd")]).is_request_level(),
                "{code}"
            );
        }
        assert!(rej(&[("invalidJson", "the body is not JSON")]).is_request_level());
        assert!(rej(&[]).is_request_level());
        assert!(
            !ApiError::Status {
                status: 400,
                body: String::new()
            }
            .is_request_level()
        );
    }

    #[test]
    fn decode_answer_maps_statuses() {
        let e = decode_answer(
            StatusCode::BAD_REQUEST,
            br#"{"errors":[{"code":"invalidCredentials","message":"x"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.codes(), vec!["invalidCredentials"]);
        assert!(e.hint().unwrap().contains("STARK_PROJECT_ID"));
        let e = decode_answer(StatusCode::BAD_REQUEST, b"<html>").unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 400, .. }));
        let e = decode_answer(StatusCode::OK, b"{not json").unwrap_err();
        assert!(matches!(e, ApiError::Decode { .. }) && e.is_ambiguous());
    }

    #[test]
    fn urls_and_queries() {
        let cfg = ClientConfig::new(
            "http://127.0.0.1:9/v2/",
            "1",
            Arc::new(PrivateKey::generate()),
        );
        let c = Client::new(cfg).unwrap();
        let q = Query::new()
            .list("tags", &["a", "b"])
            .set("isDelivered", false);
        assert_eq!(
            c.url("event", &q).as_str(),
            "http://127.0.0.1:9/v2/event?tags=a%2Cb&isDelivered=false"
        );
        assert_eq!(
            c.url("invoice/123", &Query::new()).as_str(),
            "http://127.0.0.1:9/v2/invoice/123"
        );
        assert!(
            Client::new(ClientConfig::new(
                "ftp://x",
                "1",
                Arc::new(PrivateKey::generate())
            ))
            .is_err()
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let d0 = backoff_delay(Duration::from_millis(100), 0);
        assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
        let d9 = backoff_delay(Duration::from_millis(100), 9);
        assert!(d9 <= Duration::from_secs(10));
    }
}
