//! `/_sandbox/`: the admin API (no authentication; not part of the real API). It inspects and
//! steers the emulated bank: projects, clock, faults, forced payments and settlements,
//! ground truth, delivery flushing.

// Handlers answer errors as ready responses; they are rare and cheap to move.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::server::{errors_response, json_response};
use super::state::{Errors, err};
use super::{FaultRule, Shared, delivery, validate};
use crate::keys::PublicKey;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox", get(index))
        .route("/_sandbox/", get(index))
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/truth", get(truth))
        .route("/_sandbox/projects", post(add_project))
        .route("/_sandbox/invoices/{id}/pay", post(pay_invoice))
        .route("/_sandbox/transfers/{id}/fail", post(fail_transfer))
        .route("/_sandbox/transfers/{id}/succeed", post(succeed_transfer))
        .route("/_sandbox/clock", get(clock).post(set_clock))
        .route("/_sandbox/faults", get(faults).post(set_faults))
        .route("/_sandbox/balance", post(set_balance))
        .route("/_sandbox/webhooks/deliver", post(deliver))
        .route("/_sandbox/save", post(save))
        .route("/_sandbox/generate", post(generate))
        .method_not_allowed_fallback(method_not_allowed)
}

type Answer = Result<Response, Response>;

/// Every admin route: method, path, what it does (answered by `GET /_sandbox/`).
pub(crate) const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/_sandbox/", "this list"),
    (
        "GET",
        "/_sandbox/state",
        "the whole emulated bank, business time, speed, faults",
    ),
    (
        "GET",
        "/_sandbox/truth",
        "what really happened: invoices, transfers, balance, events",
    ),
    (
        "POST",
        "/_sandbox/projects",
        "register a project: {\"id\", \"publicKey\"}",
    ),
    (
        "POST",
        "/_sandbox/invoices/{id}/pay",
        "pay and credit an invoice now: {\"amount\"?, \"fee\"?}",
    ),
    (
        "POST",
        "/_sandbox/transfers/{id}/fail",
        "end a pending transfer failed",
    ),
    (
        "POST",
        "/_sandbox/transfers/{id}/succeed",
        "end a pending transfer successfully",
    ),
    ("GET", "/_sandbox/clock", "business time and speed"),
    (
        "POST",
        "/_sandbox/clock",
        "move business time: {\"advance\": \"20m\"} or {\"set\": RFC3339}",
    ),
    ("GET", "/_sandbox/faults", "the fault rules"),
    (
        "POST",
        "/_sandbox/faults",
        "replace the fault rules: {\"rules\": [\"KIND=RATE\", ...]}",
    ),
    (
        "POST",
        "/_sandbox/balance",
        "set the balance: {\"amount\": cents}",
    ),
    (
        "POST",
        "/_sandbox/webhooks/deliver",
        "send every due delivery now and wait for them",
    ),
    (
        "POST",
        "/_sandbox/save",
        "save the state file now (with --state)",
    ),
    (
        "POST",
        "/_sandbox/generate",
        "make invoices: {\"invoices\": n, \"credited\"?, \"tags\"?, \"amount\"?}",
    ),
];

async fn index() -> Answer {
    let routes: Vec<Value> = ROUTES
        .iter()
        .map(|(method, path, about)| json!({"method": method, "path": path, "description": about}))
        .collect();
    ok(json!({ "routes": routes }))
}

fn bad(e: Errors) -> Response {
    errors_response(StatusCode::BAD_REQUEST, &e)
}

fn ok(v: Value) -> Answer {
    Ok(json_response(StatusCode::OK, &v))
}

/// An optional JSON object body (empty means `{}`).
fn body_object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    validate::json_object(body).map_err(bad)
}

fn opt_int(o: &Map<String, Value>, key: &str) -> Result<Option<i64>, Response> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(v) => Err(bad(err(
            "invalidJson",
            format!("`{key}` must be an integer, not {v}"),
        ))),
    }
}

async fn method_not_allowed() -> Response {
    errors_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &err(
            "methodNotAllowed",
            "This admin route does not accept that method",
        ),
    )
}

async fn state(State(s): State<Arc<Shared>>) -> Answer {
    let now = s.clock.now();
    let bank = s.bank();
    let mut v = serde_json::to_value(&*bank).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("now".into(), json!(now));
        m.insert("speed".into(), json!(s.clock.speed()));
        m.insert(
            "faults".into(),
            json!(
                bank.faults
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
            ),
        );
        m.insert(
            "webhookPublicKey".into(),
            json!(s.key.public_key().to_pem()),
        );
    }
    ok(v)
}

async fn truth(State(s): State<Arc<Shared>>) -> Answer {
    s.pump();
    let t = s.bank().truth();
    ok(serde_json::to_value(t).unwrap_or(Value::Null))
}

async fn add_project(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .ok_or_else(|| bad(err("invalidJson", "`id` (the project id) is required")))?;
    let pem = o
        .get("publicKey")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(err("invalidJson", "`publicKey` (SPKI PEM) is required")))?;
    let key = PublicKey::from_pem(pem)
        .map_err(|e| bad(err("invalidPublicKey", format!("`publicKey`: {e}"))))?;
    s.bank().register_project(id, key.clone());
    ok(json!({"project": {"id": id, "publicKey": key.to_pem()}}))
}

async fn pay_invoice(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    let amount = opt_int(&o, "amount")?;
    let fee = opt_int(&o, "fee")?;
    let invoice = {
        let mut bank = s.bank();
        let now = s.clock.now();
        let inv = bank
            .invoices
            .get(&id)
            .ok_or_else(|| bad(err("invalidInvoice", format!("No invoice with id {id:?}"))))?;
        if !matches!(inv.status.as_str(), "created" | "overdue") {
            return Err(bad(err(
                "invalidInvoiceStatus",
                format!("Invoice {id} is {} and cannot be paid", inv.status),
            )));
        }
        let amount = amount.unwrap_or(inv.nominal_amount);
        let fee = match fee {
            Some(f) => f,
            None => bank.sample_invoice_fee(amount),
        };
        bank.pay_invoice(&id, now, amount, fee);
        bank.credit_invoice(&id, now);
        bank.invoices.get(&id).cloned()
    };
    s.pump();
    ok(json!({ "invoice": invoice }))
}

/// Most invoices one `generate` call makes.
const GENERATE_MAX: i64 = 1_000_000;

async fn generate(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    let n = opt_int(&o, "invoices")?
        .filter(|n| (1..=GENERATE_MAX).contains(n))
        .ok_or_else(|| {
            bad(err(
                "invalidJson",
                format!("`invoices` must be an integer from 1 to {GENERATE_MAX}"),
            ))
        })?;
    let credited = match o.get("credited") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(bad(err(
                "invalidJson",
                format!("`credited` must be true or false, not {v}"),
            )));
        }
    };
    let tags: Vec<String> = match o.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        Some(v) => {
            return Err(bad(err(
                "invalidJson",
                format!("`tags` must be a list of strings, not {v}"),
            )));
        }
    };
    let amount = opt_int(&o, "amount")?;
    if amount.is_some_and(|a| a <= 0) {
        return Err(bad(err("invalidJson", "`amount` must be positive (cents)")));
    }
    let (invoices, events) = {
        let mut bank = s.bank();
        let now = s.clock.now();
        let before = bank.events.len();
        let invoices = bank.generate_invoices(n as usize, credited, &tags, amount, now);
        (invoices, bank.events.len() - before)
    };
    s.pump();
    let summary: Vec<Value> = invoices
        .iter()
        .map(|i| json!({"id": i.id, "amount": i.amount, "fee": i.fee, "status": i.status}))
        .collect();
    ok(json!({"generated": invoices.len(), "events": events, "invoices": summary}))
}

async fn settle(s: Arc<Shared>, id: String, succeed: bool) -> Answer {
    let transfer = {
        let mut bank = s.bank();
        let now = s.clock.now();
        let t = bank.transfers.get(&id).ok_or_else(|| {
            bad(err(
                "invalidTransfer",
                format!("No transfer with id {id:?}"),
            ))
        })?;
        if !matches!(t.status.as_str(), "created" | "processing") {
            return Err(bad(err(
                "invalidTransferStatus",
                format!("Transfer {id} is already {}", t.status),
            )));
        }
        bank.settle_transfer(&id, now, succeed, true);
        bank.transfers.get(&id).cloned()
    };
    s.pump();
    ok(json!({ "transfer": transfer }))
}

async fn fail_transfer(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    settle(s, id, false).await
}

async fn succeed_transfer(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    settle(s, id, true).await
}

async fn clock(State(s): State<Arc<Shared>>) -> Answer {
    ok(json!({"now": s.clock.now(), "speed": s.clock.speed()}))
}

async fn set_clock(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    match (o.get("advance"), o.get("set")) {
        (Some(Value::String(d)), None) => {
            let d = humantime::parse_duration(d.trim())
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .ok_or_else(|| {
                    bad(err(
                        "invalidJson",
                        format!("`advance` {d:?} is not a duration like 3h or 90s"),
                    ))
                })?;
            s.clock.advance(d);
        }
        (None, Some(Value::String(t))) => {
            let t = crate::api::model::Timestamp::parse(t).ok_or_else(|| {
                bad(err(
                    "invalidJson",
                    format!("`set` {t:?} is not an RFC 3339 datetime"),
                ))
            })?;
            s.clock.set(t.0);
        }
        _ => {
            return Err(bad(err(
                "invalidJson",
                "Send {\"advance\": \"3h\"} or {\"set\": \"2026-01-01T00:00:00Z\"}",
            )));
        }
    }
    s.pump();
    ok(json!({"now": s.clock.now(), "speed": s.clock.speed()}))
}

async fn faults(State(s): State<Arc<Shared>>) -> Answer {
    let rules: Vec<String> = s.bank().faults.iter().map(|f| f.to_string()).collect();
    ok(json!({ "rules": rules }))
}

async fn set_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    let list = o
        .get("rules")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(err("invalidJson", "Send {\"rules\": [\"KIND=RATE\", ...]}")))?;
    let mut rules = Vec::new();
    for r in list {
        let text = r
            .as_str()
            .ok_or_else(|| bad(err("invalidFault", format!("rule {r} must be a string"))))?;
        rules.push(FaultRule::parse(text).map_err(|e| bad(err("invalidFault", e)))?);
    }
    let names: Vec<String> = rules.iter().map(|f| f.to_string()).collect();
    s.bank().faults = rules;
    ok(json!({ "rules": names }))
}

async fn set_balance(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let o = body_object(&body)?;
    let amount = opt_int(&o, "amount")?
        .ok_or_else(|| bad(err("invalidJson", "Send {\"amount\": cents}")))?;
    let now = s.clock.now();
    let mut bank = s.bank();
    bank.balance = amount;
    bank.balance_updated = now;
    ok(json!({"balance": amount}))
}

async fn deliver(State(s): State<Arc<Shared>>) -> Answer {
    let settled = delivery::flush(&s, std::time::Duration::from_secs(10)).await;
    ok(json!({"settled": settled, "inFlight": s.in_flight()}))
}

async fn save(State(s): State<Arc<Shared>>) -> Answer {
    if s.state_file.is_none() {
        return Err(bad(err("noStateFile", "The sandbox runs without --state")));
    }
    let s2 = s.clone();
    let r = tokio::task::spawn_blocking(move || s2.save()).await;
    match r {
        Ok(Ok(())) => ok(json!({"saved": true})),
        Ok(Err(e)) => Err(errors_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &err("saveFailed", format!("{e:#}")),
        )),
        Err(e) => Err(errors_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &err("saveFailed", e.to_string()),
        )),
    }
}
