//! The `/v2/` resources: route resolution and one handler per route, run under the state lock;
//! and how a request ends ([`Reply`]: injected refusals, late effects, lost responses), shared
//! by the HTTP server and the in-memory adapter.

use std::collections::{BTreeMap, HashMap};

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use super::faults::{Decision, LateAnswer};
use super::state::{Bank, Errors, Rec, Task, err, page};
use super::{MAX_BODY, auth, content, invoice_extra, transfer_extra, validate};
use crate::api::model::{Balance, Invoice, Log, PublicKeyEntry, Timestamp, Transfer};

/// A resolved `/v2/` route (with its path id, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    InvoiceCreate,
    InvoiceList,
    InvoiceGet(String),
    InvoicePatch(String),
    InvoiceLogList,
    InvoiceLogGet(String),
    TransferCreate,
    TransferList,
    TransferGet(String),
    TransferLogList,
    TransferLogGet(String),
    InvoiceQrcode(String),
    InvoicePdf(String),
    InvoicePayment(String),
    InvoiceLogPdf(String),
    TransferDelete(String),
    TransferPdf(String),
    EventList,
    EventGet(String),
    EventPatch(String),
    EventDelete(String),
    AttemptList,
    AttemptGet(String),
    WebhookCreate,
    WebhookList,
    WebhookGet(String),
    WebhookDelete(String),
    PublicKeyList,
    BalanceGet,
}

impl Route {
    /// The name fault rules use.
    pub fn name(&self) -> &'static str {
        match self {
            Route::InvoiceCreate => "invoice.create",
            Route::InvoiceList => "invoice.list",
            Route::InvoiceGet(_) => "invoice.get",
            Route::InvoicePatch(_) => "invoice.patch",
            Route::InvoiceLogList => "invoice.log.list",
            Route::InvoiceLogGet(_) => "invoice.log.get",
            Route::TransferCreate => "transfer.create",
            Route::TransferList => "transfer.list",
            Route::TransferGet(_) => "transfer.get",
            Route::TransferLogList => "transfer.log.list",
            Route::TransferLogGet(_) => "transfer.log.get",
            Route::InvoiceQrcode(_) => "invoice.qrcode",
            Route::InvoicePdf(_) => "invoice.pdf",
            Route::InvoicePayment(_) => "invoice.payment",
            Route::InvoiceLogPdf(_) => "invoice.log.pdf",
            Route::TransferDelete(_) => "transfer.delete",
            Route::TransferPdf(_) => "transfer.pdf",
            Route::EventList => "event.list",
            Route::EventGet(_) => "event.get",
            Route::EventPatch(_) => "event.patch",
            Route::EventDelete(_) => "event.delete",
            Route::AttemptList => "event.attempt.list",
            Route::AttemptGet(_) => "event.attempt.get",
            Route::WebhookCreate => "webhook.create",
            Route::WebhookList => "webhook.list",
            Route::WebhookGet(_) => "webhook.get",
            Route::WebhookDelete(_) => "webhook.delete",
            Route::PublicKeyList => "public-key.list",
            Route::BalanceGet => "balance.get",
        }
    }

    /// Does the route change the bank (so that a late effect has something to apply)?
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::InvoiceCreate
                | Route::InvoicePatch(_)
                | Route::TransferCreate
                | Route::TransferDelete(_)
                | Route::EventPatch(_)
                | Route::EventDelete(_)
                | Route::WebhookCreate
                | Route::WebhookDelete(_)
        )
    }
}

/// Resolve `method path` (the part after `/v2/`), or say 404 / 405.
pub fn resolve(method: &Method, rest: &str) -> Result<Route, (StatusCode, Errors)> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let id = |s: &str| s.to_string();
    type Table = Vec<(Method, Route)>;
    let table: Option<Table> = match segs.as_slice() {
        ["invoice"] => Some(vec![
            (Method::POST, Route::InvoiceCreate),
            (Method::GET, Route::InvoiceList),
        ]),
        ["invoice", "log"] => Some(vec![(Method::GET, Route::InvoiceLogList)]),
        ["invoice", "log", x] => Some(vec![(Method::GET, Route::InvoiceLogGet(id(x)))]),
        ["invoice", "log", x, "pdf"] => Some(vec![(Method::GET, Route::InvoiceLogPdf(id(x)))]),
        ["invoice", x, "qrcode"] => Some(vec![(Method::GET, Route::InvoiceQrcode(id(x)))]),
        ["invoice", x, "pdf"] => Some(vec![(Method::GET, Route::InvoicePdf(id(x)))]),
        ["invoice", x, "payment"] => Some(vec![(Method::GET, Route::InvoicePayment(id(x)))]),
        ["transfer", x, "pdf"] => Some(vec![(Method::GET, Route::TransferPdf(id(x)))]),
        ["invoice", x] => Some(vec![
            (Method::GET, Route::InvoiceGet(id(x))),
            (Method::PATCH, Route::InvoicePatch(id(x))),
        ]),
        ["transfer"] => Some(vec![
            (Method::POST, Route::TransferCreate),
            (Method::GET, Route::TransferList),
        ]),
        ["transfer", "log"] => Some(vec![(Method::GET, Route::TransferLogList)]),
        ["transfer", "log", x] => Some(vec![(Method::GET, Route::TransferLogGet(id(x)))]),
        ["transfer", x] => Some(vec![
            (Method::GET, Route::TransferGet(id(x))),
            (Method::DELETE, Route::TransferDelete(id(x))),
        ]),
        ["event"] => Some(vec![(Method::GET, Route::EventList)]),
        ["event", "attempt"] => Some(vec![(Method::GET, Route::AttemptList)]),
        ["event", "attempt", x] => Some(vec![(Method::GET, Route::AttemptGet(id(x)))]),
        ["event", x] => Some(vec![
            (Method::GET, Route::EventGet(id(x))),
            (Method::PATCH, Route::EventPatch(id(x))),
            (Method::DELETE, Route::EventDelete(id(x))),
        ]),
        ["webhook"] => Some(vec![
            (Method::POST, Route::WebhookCreate),
            (Method::GET, Route::WebhookList),
        ]),
        ["webhook", x] => Some(vec![
            (Method::GET, Route::WebhookGet(id(x))),
            (Method::DELETE, Route::WebhookDelete(id(x))),
        ]),
        ["public-key"] => Some(vec![(Method::GET, Route::PublicKeyList)]),
        ["balance"] => Some(vec![(Method::GET, Route::BalanceGet)]),
        _ => None,
    };
    let Some(table) = table else {
        return Err((
            StatusCode::NOT_FOUND,
            err("notFound", format!("There is no route /v2/{rest}")),
        ));
    };
    let allowed: Vec<String> = table.iter().map(|(m, _)| m.to_string()).collect();
    table
        .into_iter()
        .find(|(m, _)| m == method)
        .map(|(_, r)| r)
        .ok_or_else(|| {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                err(
                    "methodNotAllowed",
                    format!(
                        "/v2/{rest} does not accept {method}; use {}",
                        allowed.join(" or ")
                    ),
                ),
            )
        })
}

// --- how a request ends ----------------------------------------------------------------------

/// How a `/v2/` request ends, before it becomes bytes: the HTTP server renders it as a
/// response, the in-memory adapter (`sandbox::memory`) decodes it as the client would.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with this body.
    Ok(Value),
    /// This status with an `{"errors": [...]}` body.
    Errors(StatusCode, Errors),
    /// The connection breaks mid-answer (after the request took effect, or while it waits to
    /// take effect later).
    Cut,
    /// No answer at all: the client waits until its own timeout (a late effect). The HTTP
    /// server holds the response (then answers [`gateway_timeout`]); the in-memory adapter
    /// answers a client timeout.
    Hang,
    /// 200 with a file: its content type and bytes (a QR code PNG, a PDF).
    Content(String, Vec<u8>),
}

impl Reply {
    /// The body of a [`Reply::Errors`].
    pub fn errors_body(errors: &Errors) -> Value {
        json!({ "errors": errors })
    }
}

/// The answer to a body over [`MAX_BODY`] bytes (nothing is done).
pub fn too_large() -> Reply {
    Reply::Errors(
        StatusCode::PAYLOAD_TOO_LARGE,
        err(
            "invalidJson",
            format!("The request body is larger than {MAX_BODY} bytes"),
        ),
    )
}

/// The answer an injected request-level 400 (`invalidAccessTime`, `invalidCredentials`), 500,
/// 503 or 429 gives in place of running the handler, if one fires in `decision`: nothing is
/// done. `access_time` (what the request sent) and `max_skew` go into the `invalidAccessTime`
/// message, which is the one a real skew gets.
pub fn refusal(
    decision: &Decision,
    access_time: &str,
    max_skew: std::time::Duration,
) -> Option<Reply> {
    if let Some(kind) = decision.request_error {
        return Some(Reply::Errors(
            StatusCode::BAD_REQUEST,
            auth::injected(kind, access_time, max_skew),
        ));
    }
    let status = decision.status?;
    let (code, msg) = match status {
        429 => ("tooManyRequests", "Too many requests (injected fault)"),
        503 => ("serviceUnavailable", "Service unavailable (injected fault)"),
        _ => (
            "internalServerError",
            "Internal server error (injected fault)",
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(Reply::Errors(status, err(code, msg)))
}

/// The 504 a gateway answers when it stopped waiting for the bank.
pub fn gateway_timeout() -> Reply {
    Reply::Errors(
        StatusCode::GATEWAY_TIMEOUT,
        err(
            "gatewayTimeout",
            "Gateway timeout: the request may still take effect (injected fault)",
        ),
    )
}

/// If a late effect fires in `decision`: keep the request (`method`, `path` below `/v2/`,
/// `query`, `body`) to take effect `late_effect_ms` of business time after `now` — as a task
/// of the bank's schedule, so that advancing the clock applies it once, in time order — and
/// give the timeout-like answer the client gets now. Reads are not kept (they change
/// nothing); their client gets the same answer. `None`: no late effect, handle the request.
#[allow(clippy::too_many_arguments)]
pub fn defer(
    bank: &mut Bank,
    decision: &Decision,
    now: DateTime<Utc>,
    route: &Route,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Option<Reply> {
    let ms = decision.late_effect_ms?;
    if route.is_write() {
        let at = i64::try_from(ms)
            .ok()
            .and_then(Duration::try_milliseconds)
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now);
        bank.schedule(
            at,
            Task::LateEffect {
                method: method.to_string(),
                path: path.to_string(),
                query: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                body: STANDARD.encode(body),
            },
        );
    }
    Some(match decision.late_answer {
        LateAnswer::GatewayTimeout => gateway_timeout(),
        LateAnswer::Cut => Reply::Cut,
        LateAnswer::Hang => Reply::Hang,
    })
}

/// Apply a request kept by [`defer`], at business time `at`, as if it arrived then: it is
/// validated and judged against the state at `at` (a transfer whose `externalId` exists by
/// then, a PATCH of an invoice no longer `created`, an event deleted meanwhile: refused, and
/// then nothing is done), and everything it creates is stamped `at`. Nobody reads the answer.
pub(crate) fn apply_late(
    bank: &mut Bank,
    at: DateTime<Utc>,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &str,
) {
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let Ok(route) = resolve(&method, path) else {
        return;
    };
    if !route.is_write() {
        return;
    }
    let Ok(body) = STANDARD.decode(body) else {
        return;
    };
    let query: HashMap<String, String> =
        query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let decision = Decision::default();
    let ctx = Ctx {
        now: at,
        query: &query,
        body: &body,
        // Only read by `public-key.list`, which is never deferred.
        public_key: PublicKeyEntry {
            content: String::new(),
            created: Timestamp(at),
        },
        decision: &decision,
    };
    let result = handle(bank, &ctx, &route);
    tracing::debug!(%method, path, ok = result.is_ok(), %at, "sandbox late effect applied");
}

/// The answer to a request whose handler ran (and took effect) with `result`: 200 or 400,
/// unless a lost response fires in `decision`, which hides it behind a cut connection or a
/// 502.
pub fn outcome(decision: &Decision, result: Result<Value, Errors>) -> Reply {
    if decision.lost_response {
        return if decision.lost_as_cut {
            Reply::Cut
        } else {
            Reply::Errors(
                StatusCode::BAD_GATEWAY,
                err("badGateway", "Bad gateway (injected fault)"),
            )
        };
    }
    match result {
        Ok(mut v) => {
            if let Some((content_type, bytes)) = content::unwrap(&v) {
                return Reply::Content(content_type, bytes);
            }
            decision.reshape(&mut v);
            Reply::Ok(v)
        }
        Err(e) => Reply::Errors(StatusCode::BAD_REQUEST, e),
    }
}

/// Everything a handler needs besides the bank.
pub struct Ctx<'a> {
    pub now: DateTime<Utc>,
    pub query: &'a HashMap<String, String>,
    pub body: &'a [u8],
    pub public_key: PublicKeyEntry,
    /// The request faults that fired (lists read `list_lag_ms` and `partial_seed`).
    pub decision: &'a Decision,
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// --- query parameters ----------------------------------------------------------------------

struct ListParams {
    limit: usize,
    cursor: Option<u64>,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
    /// `list-lag`: items created after this are not visible yet.
    visible_until: Option<DateTime<Utc>>,
    /// `list-partial` on a tag query: the seed that picks which part of each page is left.
    partial: Option<u64>,
    /// `sort=created`: oldest first (the default, `-created`, is newest first).
    oldest_first: bool,
}

impl ListParams {
    fn parse(ctx: &Ctx<'_>) -> Result<ListParams, Errors> {
        let q = ctx.query;
        let limit = match q.get("limit").map(|s| s.trim()) {
            None | Some("") => 100,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(err(
                        "invalidLimit",
                        format!("limit {s:?} must be an integer from 1 to 100"),
                    ));
                }
            },
        };
        let cursor = match q.get("cursor").map(|s| s.trim()) {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                err(
                    "invalidCursor",
                    format!("cursor {c:?} is not a cursor this API gave"),
                )
            })?),
        };
        let after = date_param(q, "after", false)?;
        let before = date_param(q, "before", true)?;
        let visible_until = ctx.decision.list_lag_ms.map(|ms| {
            i64::try_from(ms)
                .ok()
                .and_then(Duration::try_milliseconds)
                .and_then(|d| ctx.now.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        });
        let tag_query = q.get("tags").is_some_and(|t| !t.trim().is_empty());
        let partial = ctx.decision.partial_seed.filter(|_| tag_query);
        Ok(ListParams {
            limit,
            cursor,
            after,
            before,
            visible_until,
            partial,
            oldest_first: sort_param(q)?,
        })
    }

    /// Does `created` fall in [after, before] (dates are whole UTC days, both inclusive), and
    /// is it old enough to be seen through a `list-lag`?
    fn in_range(&self, created: &Timestamp) -> bool {
        self.after.is_none_or(|a| created.0 >= a)
            && self.before.is_none_or(|b| created.0 < b)
            && self.visible_until.is_none_or(|v| created.0 <= v)
    }
}

/// `list-partial`: keep a random, non-empty, strict part of a page of 2 or more items (a page
/// of 0 or 1 is left alone). The cursor still moves past the whole page, so what is dropped
/// does not come back on a later page of the same walk.
fn thin<T>(page: &mut Vec<T>, seed: u64) {
    if page.len() < 2 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keep: Vec<bool> = (0..page.len()).map(|_| rng.gen_bool(0.5)).collect();
    let i = rng.gen_range(0..keep.len());
    if keep.iter().all(|k| *k) {
        keep[i] = false;
    } else if !keep.iter().any(|k| *k) {
        keep[i] = true;
    }
    let mut flags = keep.into_iter();
    page.retain(|_| flags.next().unwrap_or(true));
}

/// `sort`: `-created` (newest first, the default) or `created` (oldest first).
fn sort_param(q: &HashMap<String, String>) -> Result<bool, Errors> {
    match q.get("sort").map(|s| s.trim()) {
        None | Some("") | Some("-created") => Ok(false),
        Some("created") => Ok(true),
        Some(s) => Err(err(
            "invalidSort",
            format!("sort {s:?} must be created or -created"),
        )),
    }
}

/// [`page`] oldest first: the items after `cursor` (the last one a previous page gave).
fn page_oldest_first<T>(
    items: &[Rec<T>],
    cursor: Option<u64>,
    limit: usize,
    mut keep: impl FnMut(&T) -> bool,
) -> (Vec<&T>, Option<u64>) {
    let start = cursor.map_or(0, |c| items.partition_point(|r| r.seq <= c));
    let mut out = Vec::new();
    let mut last = 0;
    for r in items[start..].iter().filter(|r| keep(&r.item)) {
        if out.len() == limit {
            return (out, Some(last));
        }
        out.push(&r.item);
        last = r.seq;
    }
    (out, None)
}

fn date_param(
    q: &HashMap<String, String>,
    key: &str,
    end: bool,
) -> Result<Option<DateTime<Utc>>, Errors> {
    let Some(s) = q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let code = if end { "invalidBefore" } else { "invalidAfter" };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        return Ok(Some(if end {
            start.checked_add_signed(Duration::days(1)).unwrap_or(start)
        } else {
            start
        }));
    }
    if let Some(t) = Timestamp::parse(s) {
        return Ok(Some(if end {
            t.0.checked_add_signed(Duration::microseconds(1))
                .unwrap_or(t.0)
        } else {
            t.0
        }));
    }
    Err(err(
        code,
        format!("{key} {s:?} must be a date like 2026-01-31"),
    ))
}

fn list_param(q: &HashMap<String, String>, key: &str) -> Option<Vec<String>> {
    q.get(key).map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

fn matches_any(filter: &Option<Vec<String>>, value: &str) -> bool {
    filter.as_ref().is_none_or(|f| f.iter().any(|x| x == value))
}

/// The `status`, `ids` and `tags` filters of an invoice or transfer list (tags compared in
/// lower case).
struct ItemFilter {
    status: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    tags: Option<Vec<String>>,
}

impl ItemFilter {
    fn parse(q: &HashMap<String, String>) -> ItemFilter {
        ItemFilter {
            status: list_param(q, "status"),
            ids: list_param(q, "ids"),
            tags: lower(list_param(q, "tags")),
        }
    }

    fn keeps(&self, status: &str, id: &str, tags: &[String]) -> bool {
        matches_any(&self.status, status)
            && matches_any(&self.ids, id)
            && self
                .tags
                .as_ref()
                .is_none_or(|f| tags.iter().any(|x| f.contains(x)))
    }
}

fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_cursor(c: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
}

fn list<T: Serialize>(
    key: &str,
    items: &[Rec<T>],
    p: &ListParams,
    keep: impl FnMut(&T) -> bool,
) -> Value {
    let (mut page, next) = if p.oldest_first {
        page_oldest_first(items, p.cursor, p.limit, keep)
    } else {
        page(items, p.cursor, p.limit, keep)
    };
    if let Some(seed) = p.partial {
        thin(&mut page, seed);
    }
    let mut m = serde_json::Map::new();
    m.insert(key.to_string(), to_value(page));
    m.insert(
        "cursor".to_string(),
        next.map(|c| Value::String(encode_cursor(c)))
            .unwrap_or(Value::Null),
    );
    Value::Object(m)
}

fn get<T: Serialize>(key: &str, item: Option<&T>, code: &str, id: &str) -> Result<Value, Errors> {
    match item {
        Some(x) => Ok(json!({ key: to_value(x) })),
        None => Err(err(code, format!("No {key} with id {id:?}"))),
    }
}

// --- handlers ------------------------------------------------------------------------------

pub fn handle(bank: &mut Bank, ctx: &Ctx<'_>, route: &Route) -> Result<Value, Errors> {
    let q = ctx.query;
    match route {
        Route::InvoiceCreate => {
            let new = validate::invoices(ctx.body, ctx.now)?;
            let created = new.into_iter().map(|i| bank.create_invoice(i, ctx.now));
            Ok(created_list("Invoice", "invoices", created.collect()))
        }
        Route::InvoiceList => item_list(ctx, "invoices", &bank.invoices),
        Route::InvoiceGet(id) => get("invoice", bank.invoices.get(id), "invalidInvoice", id),
        Route::InvoicePatch(id) => invoice_extra::patch(bank, ctx, id),
        Route::InvoiceQrcode(id) => invoice_extra::qrcode(bank, ctx, id),
        Route::InvoicePdf(id) => invoice_extra::pdf(bank, id),
        Route::InvoicePayment(id) => invoice_extra::payment(bank, id),
        Route::InvoiceLogPdf(id) => invoice_extra::log_pdf(bank, id),
        Route::TransferDelete(id) => transfer_extra::delete(bank, ctx, id),
        Route::TransferPdf(id) => transfer_extra::pdf(bank, id),
        Route::InvoiceLogList => log_list(ctx, &bank.invoice_logs, "invoiceIds"),
        Route::InvoiceLogGet(id) => get("log", bank.invoice_logs.get(id), "invalidInvoiceLog", id),
        Route::TransferCreate => {
            let new = validate::transfers(ctx.body, ctx.now, bank)?;
            let created = new.into_iter().map(|t| bank.create_transfer(t, ctx.now));
            Ok(created_list("Transfer", "transfers", created.collect()))
        }
        Route::TransferList => {
            // The transfer-only filters the SDKs offer: `taxId` (formatted or not) and
            // `transactionIds`.
            let tax_id = q
                .get("taxId")
                .map(|t| validate::format_tax_id(t.trim()))
                .filter(|t| !t.is_empty());
            let transactions = list_param(q, "transactionIds");
            let p = ListParams::parse(ctx)?;
            let f = ItemFilter::parse(q);
            Ok(list("transfers", &bank.transfers, &p, |t| {
                let (created, status, id, tags) = t.list_fields();
                p.in_range(created)
                    && f.keeps(status, id, tags)
                    && tax_id.as_ref().is_none_or(|x| *x == t.tax_id)
                    && transactions
                        .as_ref()
                        .is_none_or(|f| t.transaction_ids.iter().any(|x| f.contains(x)))
            }))
        }
        Route::TransferGet(id) => get("transfer", bank.transfers.get(id), "invalidTransfer", id),
        Route::TransferLogList => log_list(ctx, &bank.transfer_logs, "transferIds"),
        Route::TransferLogGet(id) => {
            get("log", bank.transfer_logs.get(id), "invalidTransferLog", id)
        }
        Route::EventList => {
            let p = ListParams::parse(ctx)?;
            // The official Python SDK sends Python's `str(bool)` (`False`, `True`); the real
            // API takes booleans in either case.
            let delivered = match q.get("isDelivered").map(|s| s.trim()) {
                None | Some("") => None,
                Some(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Some(s) if s.eq_ignore_ascii_case("false") => Some(false),
                Some(s) => {
                    return Err(err(
                        "invalidIsDelivered",
                        format!("isDelivered {s:?} must be true or false"),
                    ));
                }
            };
            Ok(list("events", &bank.events, &p, |e| {
                p.in_range(&e.created)
                    && delivered.is_none_or(|d| e.is_delivered.unwrap_or(false) == d)
            }))
        }
        Route::EventGet(id) => get("event", bank.events.get(id), "invalidEvent", id),
        Route::EventPatch(id) => {
            validate::event_update(ctx.body)?;
            let ev = bank.set_event_delivered(id, true);
            get("event", ev.as_ref(), "invalidEvent", id)
        }
        Route::EventDelete(id) => {
            let ev = bank.delete_event(id);
            get("event", ev.as_ref(), "invalidEvent", id)
        }
        Route::AttemptList => {
            let p = ListParams::parse(ctx)?;
            let events = list_param(q, "eventIds");
            let hooks = list_param(q, "webhookIds");
            Ok(list("attempts", &bank.attempts, &p, |a| {
                p.in_range(&a.created)
                    && matches_any(&events, &a.event_id)
                    && matches_any(&hooks, &a.webhook_id)
            }))
        }
        Route::AttemptGet(id) => get("attempt", bank.attempts.get(id), "invalidEventAttempt", id),
        Route::WebhookCreate => {
            let (url, subs) = validate::webhook(ctx.body)?;
            let w = bank.create_webhook(url, subs);
            Ok(json!({"message": "Webhook successfully created", "webhook": w}))
        }
        Route::WebhookList => {
            let p = ListParams::parse(ctx)?;
            Ok(list("webhooks", &bank.webhooks, &p, |_| true))
        }
        Route::WebhookGet(id) => get("webhook", bank.webhooks.get(id), "invalidWebhook", id),
        Route::WebhookDelete(id) => {
            let w = bank.delete_webhook(id);
            get("webhook", w.as_ref(), "invalidWebhook", id)
        }
        Route::PublicKeyList => Ok(json!({"publicKeys": [ctx.public_key.clone()], "cursor": null})),
        Route::BalanceGet => {
            let b = Balance {
                id: bank.workspace_id.clone(),
                amount: bank.balance,
                currency: "BRL".into(),
                updated: Timestamp(bank.balance_updated),
            };
            Ok(json!({"balances": [b], "cursor": null}))
        }
    }
}

/// A page of `logs` filtered by `types` and by the ids (query key `ids_key`) of the items
/// they log; `fields` gives a log's creation time, type and item id.
/// An invoice or transfer list: the page of `items` in the date range that the `status`,
/// `ids` and `tags` filters keep.
/// The answer to a create: `{"message": "<What>(s) successfully created", "<key>": [...]}`.
fn created_list<T: Serialize>(what: &str, key: &str, created: Vec<T>) -> Value {
    let mut answer = json!({ "message": format!("{what}(s) successfully created") });
    answer[key] = json!(created);
    answer
}

/// What a list filters an item on: its creation time, status, id and tags.
trait Listed {
    fn list_fields(&self) -> (&Timestamp, &str, &str, &[String]);
}

impl Listed for Invoice {
    fn list_fields(&self) -> (&Timestamp, &str, &str, &[String]) {
        (&self.created, &self.status, &self.id, &self.tags)
    }
}

impl Listed for Transfer {
    fn list_fields(&self) -> (&Timestamp, &str, &str, &[String]) {
        (&self.created, &self.status, &self.id, &self.tags)
    }
}

/// What a log list filters a log on: its creation time, type and the id of what it logs.
trait Logged {
    fn log_fields(&self) -> (&Timestamp, &str, &str);
}

impl<T: Listed> Logged for Log<T> {
    fn log_fields(&self) -> (&Timestamp, &str, &str) {
        (&self.created, &self.kind, self.subject.list_fields().2)
    }
}

fn item_list<T: Serialize + Listed>(
    ctx: &Ctx<'_>,
    key: &str,
    items: &[Rec<T>],
) -> Result<Value, Errors> {
    let p = ListParams::parse(ctx)?;
    let f = ItemFilter::parse(ctx.query);
    Ok(list(key, items, &p, |i| {
        let (created, status, id, tags) = i.list_fields();
        p.in_range(created) && f.keeps(status, id, tags)
    }))
}

fn log_list<L: Serialize + Logged>(
    ctx: &Ctx<'_>,
    logs: &[Rec<L>],
    ids_key: &str,
) -> Result<Value, Errors> {
    let p = ListParams::parse(ctx)?;
    let types = list_param(ctx.query, "types");
    let ids = list_param(ctx.query, ids_key);
    Ok(list("logs", logs, &p, |l| {
        let (created, kind, id) = l.log_fields();
        p.in_range(created) && matches_any(&types, kind) && matches_any(&ids, id)
    }))
}

fn lower(v: Option<Vec<String>>) -> Option<Vec<String>> {
    v.map(|v| v.into_iter().map(|s| s.to_lowercase()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve() {
        for (method, path, route) in [
            (Method::POST, "invoice", Route::InvoiceCreate),
            (
                Method::GET,
                "invoice/log/12",
                Route::InvoiceLogGet("12".into()),
            ),
            (Method::PATCH, "event/1/", Route::EventPatch("1".into())),
            (Method::GET, "event/attempt", Route::AttemptList),
            (Method::PATCH, "invoice/7", Route::InvoicePatch("7".into())),
        ] {
            assert_eq!(resolve(&method, path).unwrap(), route, "{method} {path}");
        }
        assert_eq!(Route::InvoicePatch("7".into()).name(), "invoice.patch");
        assert!(Route::InvoicePatch("7".into()).is_write());
        assert!(!Route::InvoiceList.is_write());
        // Every route has its name in the fault table.
        for r in [
            Route::InvoiceCreate,
            Route::InvoicePatch("1".into()),
            Route::EventDelete("1".into()),
            Route::BalanceGet,
        ] {
            assert!(super::super::faults::ROUTES.contains(&r.name()), "{r:?}");
        }
        assert_eq!(
            resolve(&Method::GET, "nope").unwrap_err().0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            resolve(&Method::PUT, "invoice").unwrap_err().0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("garbage!"), None);
    }

    #[test]
    fn a_thinned_page_keeps_a_strict_nonempty_part_in_order() {
        for seed in 0..200u64 {
            let n = (seed % 7) as usize + 2;
            let mut page: Vec<usize> = (0..n).collect();
            thin(&mut page, seed);
            assert!(!page.is_empty() && page.len() < n, "seed {seed}: {page:?}");
            assert!(page.windows(2).all(|w| w[0] < w[1]), "order kept");
            let mut again: Vec<usize> = (0..n).collect();
            thin(&mut again, seed);
            assert_eq!(page, again, "seeded");
        }
        let mut one = vec![1];
        thin(&mut one, 5);
        assert_eq!(one, vec![1]);
    }
}
