//! The sandbox with a real client, for the async tests of the emulator: raw signed requests,
//! admin calls, request bodies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stark::api::auth::{sign_request, wall_clock_seconds};
use stark::api::{Client, ClientConfig};
use stark::keys::PrivateKey;
use stark::sandbox::{self, Sandbox, SandboxConfig};

use super::PROJECT;

pub struct Api {
    pub sb: Sandbox,
    pub client: Client,
    pub key: Arc<PrivateKey>,
    pub http: reqwest::Client,
}

/// Start a sandbox from `cfg` (usually [`config`]) with [`PROJECT`] registered, and a client
/// for it that does not retry.
pub async fn api(mut cfg: SandboxConfig) -> Api {
    let key = Arc::new(PrivateKey::generate());
    cfg.projects.push((PROJECT.to_string(), key.public_key()));
    let sb = sandbox::start(cfg).await.expect("sandbox starts");
    let mut cc = ClientConfig::new(sb.url(), PROJECT, key.clone());
    cc.timeout = Duration::from_secs(10);
    cc.retries = 0;
    let client = Client::new(cc).unwrap();
    Api {
        sb,
        client,
        key,
        http: reqwest::Client::new(),
    }
}

/// `{"invoices": [...]}` with `n` invoices of `amount` cents tagged `tag`.
pub fn invoices_body(n: usize, amount: i64, tag: &str) -> Vec<u8> {
    let invoices: Vec<Value> = (0..n)
        .map(|i| {
            json!({"amount": amount + i as i64, "taxId": "012.345.678-90", "name": format!("Payer {i}"), "tags": [tag]})
        })
        .collect();
    serde_json::to_vec(&json!({ "invoices": invoices })).unwrap()
}

pub fn transfer_json(amount: i64, external_id: &str, tag: &str) -> Value {
    json!({
        "amount": amount,
        "name": "Stark Bank S.A.",
        "taxId": "20.018.183/0001-80",
        "bankCode": "20018183",
        "branchCode": "0001",
        "accountNumber": "6341320293482496",
        "accountType": "payment",
        "externalId": external_id,
        "tags": [tag],
    })
}

pub fn transfers_body(items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "transfers": items })).unwrap()
}

impl Api {
    /// A raw request signed over `signed_body` but sending `sent_body`.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        access_id: &str,
        access_time: &str,
        signed_body: &[u8],
        sent_body: &[u8],
    ) -> (u16, Value) {
        let h = sign_request(&self.key, access_id, access_time, signed_body);
        let resp = self
            .http
            .request(method, format!("{}{}", self.sb.url(), path))
            .header("Access-Id", h.access_id)
            .header("Access-Time", h.access_time)
            .header("Access-Signature", h.access_signature)
            .header("Content-Type", "application/json")
            .body(sent_body.to_vec())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, v)
    }

    pub async fn signed(&self, method: reqwest::Method, path: &str, body: &[u8]) -> (u16, Value) {
        self.raw(
            method,
            path,
            &format!("project/{PROJECT}"),
            &wall_clock_seconds(),
            body,
            body,
        )
        .await
    }

    /// Admin call on the sandbox (`path` under `/_sandbox/`).
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/_sandbox/{}", self.sb.url(), path);
        admin_call(&self.http, method, &url, body).await
    }
}

/// One admin request: a JSON body (none for `null`); the answer's status and JSON (`null` when
/// it has none).
async fn admin_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http
        .request(method, url)
        .header("Content-Type", "application/json")
        .body(if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        })
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

pub fn first_code(v: &Value) -> String {
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Poll `f` until it returns `Some`, or panic after `timeout`.
pub async fn poll<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
