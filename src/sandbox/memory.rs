//! The emulated bank behind the [`Bank`] port, in process: no socket, no server task, no
//! real clock.
//!
//! Why: the use cases (`issuer`, `payout`, `reconcile`) are generic over [`Bank`], so their
//! unit tests can run against [`MemoryBank`] — deterministic (a seeded bank, business time
//! that moves only when told) and fast — while still meeting the emulator's exact behaviour,
//! not a hand-written mock's idea of it.
//!
//! How: every [`Bank`] call builds the request [`Client`](crate::api::Client) would send (the
//! method, path, query and body bytes come from the same `api::endpoints` table), hands it to
//! the emulator's router (`routes::resolve` and `routes::handle`, the code the HTTP server
//! runs), and decodes the answer with the client's own helpers. Validation, per-element 400s,
//! paging and cursors are therefore the emulator's, and errors are the same [`ApiError`]
//! variants the HTTP path produces: a 400 with errors is [`ApiError::Rejected`] (an injected
//! `invalid-access-time` / `invalid-credentials` too, with nothing done), an injected
//! 500/503/429 is [`ApiError::Status`] with nothing done, a lost response is applied and then
//! answered as [`ApiError::Transport`] (connection cut) or `Status { status: 502 }`, a late
//! effect is kept for later and answered as `Status { status: 504 }`, `Transport` or
//! [`ApiError::Timeout`] (the hang the HTTP server holds until the client gives up), an
//! unknown route is `Status { status: 404 }`, a body over [`MAX_BODY`] is `Status { status:
//! 413 }`.
//!
//! What is emulated: everything `state::Bank` does — invoices paid and credited on their
//! schedule with fees, overdue, expiry and cancellation, transfers processed and settled
//! against the balance (`transfer-fail` rules included), logs and events, `isDelivered`
//! marks — and the request faults `500`, `503`, `429`, `lost-response`, `late-effect`,
//! `list-lag`, `list-partial`, `invalid-access-time`, `invalid-credentials`, `null-optionals`,
//! `missing-fee` and `undecodable-event`, decided with
//! the same seeded RNG and in the same order as the HTTP server. A late effect waits in the
//! bank's schedule: [`MemoryBank::advance`] past its time applies it.
//!
//! What is not:
//! - authentication: requests carry no `Access-*` headers and every call is accepted (the
//!   signing path is covered by the HTTP tests);
//! - `latency` faults: they are decided (so the fault RNG advances as over HTTP) but nothing
//!   waits, and there is no client timeout to hit;
//! - the client's retries: each call is one attempt, as a [`Client`](crate::api::Client) with
//!   `retries = 0`;
//! - the business clock does not run by itself ([`SandboxConfig::speed`] is ignored): it moves
//!   with [`MemoryBank::advance`] and [`MemoryBank::set_time`], which run everything that
//!   became due;
//! - webhook deliveries: no POST is made and nothing is signed. Deliveries only exist for
//!   webhooks registered through [`MemoryBank::with_state`]; they are collected and handed
//!   out by [`MemoryBank::take_deliveries`] (record an outcome with
//!   `state::Bank::record_delivery` to mark the event delivered or schedule its retry).
//!   Events are still created and stay undelivered until marked, which is what the sweep
//!   ([`Bank::undelivered_events`]) reads;
//! - state files, listening addresses and registered projects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::clock::SandboxClock;
use super::faults::FaultRule;
use super::routes::{self, Ctx, Reply};
use super::state::{self, BankSettings, Dispatch};
use super::{GroundTruth, MAX_BODY, SandboxConfig};
use crate::api::auth::wall_clock_seconds;
use crate::api::client::{decode_answer, decode_page, take_field};
use crate::api::endpoints::{self, Create, List};
use crate::api::model::{Invoice, InvoiceLog, PublicKeyEntry, Timestamp, Transfer};
use crate::api::{ApiError, Bank, Page, Query};
use crate::keys::{PrivateKey, PublicKey};

/// The emulated bank in process. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct MemoryBank {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    bank: state::Bank,
    /// Frozen (speed 0): business time moves only when told.
    clock: SandboxClock,
    /// Served at `/v2/public-key`; deliveries are not signed.
    key: PrivateKey,
    key_created: DateTime<Utc>,
    deliveries: Vec<Dispatch>,
    /// Goes into the message of an injected `invalidAccessTime`.
    max_skew: std::time::Duration,
}

impl Inner {
    /// Run everything due by business now; keep the deliveries it prepared.
    fn pump(&mut self) {
        let now = self.clock.now();
        let ds = self.bank.process_due(now);
        self.deliveries.extend(ds);
    }
}

impl std::fmt::Debug for MemoryBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryBank")
            .field("now", &inner.clock.now())
            .field("invoices", &inner.bank.invoices.len())
            .field("transfers", &inner.bank.transfers.len())
            .field("events", &inner.bank.events.len())
            .finish()
    }
}

impl MemoryBank {
    /// A fresh bank (balance `settings.start_balance`, no faults) at business time `start`.
    pub fn new(settings: BankSettings, start: DateTime<Utc>) -> MemoryBank {
        MemoryBank::build(
            state::Bank::new(settings, start),
            start,
            PrivateKey::generate(),
            SandboxConfig::default().max_skew,
        )
    }

    /// A fresh bank with the settings, fault rules, start time (default: now) and signing
    /// key (default: a fresh one) of `config`; its other fields are ignored (see the module
    /// documentation).
    pub fn from_config(config: &SandboxConfig) -> MemoryBank {
        let start = config.start_time.unwrap_or_else(Utc::now);
        let mut bank = state::Bank::new(config.bank_settings(), start);
        bank.faults = config.faults.clone();
        let key = config
            .signing_key
            .clone()
            .unwrap_or_else(PrivateKey::generate);
        MemoryBank::build(bank, start, key, config.max_skew)
    }

    fn build(
        bank: state::Bank,
        start: DateTime<Utc>,
        key: PrivateKey,
        max_skew: std::time::Duration,
    ) -> MemoryBank {
        MemoryBank {
            inner: Arc::new(Mutex::new(Inner {
                bank,
                clock: SandboxClock::new(start, 0.0),
                key,
                key_created: start,
                deliveries: Vec::new(),
                max_skew,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- steering, as the HTTP `Sandbox` handle and its admin routes do ---------------------

    /// Business time.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().clock.now()
    }

    /// Move business time forward and process everything that became due, in time order.
    pub fn advance(&self, by: chrono::Duration) {
        let mut inner = self.lock();
        inner.clock.advance(by);
        inner.pump();
    }

    /// Set business time and process everything that became due.
    pub fn set_time(&self, t: DateTime<Utc>) {
        let mut inner = self.lock();
        inner.clock.set(t);
        inner.pump();
    }

    /// Replace the fault rules.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.lock().bank.faults = rules;
    }

    /// What really happened.
    pub fn truth(&self) -> GroundTruth {
        self.lock().bank.truth()
    }

    /// The key the bank would sign webhook deliveries with (served at `/v2/public-key`).
    pub fn public_key(&self) -> PublicKey {
        self.lock().key.public_key()
    }

    /// Pay a `created` or `overdue` invoice now, in full, with `fee` (default: one from the
    /// configured range), and credit it at once — as `POST /_sandbox/invoices/{id}/pay`.
    /// `None` if there is no such invoice or it cannot be paid.
    pub fn pay_invoice(&self, id: &str, fee: Option<i64>) -> Option<Invoice> {
        self.with_state(|bank, now| {
            let amount = bank
                .invoices
                .get(id)
                .filter(|i| matches!(i.status.as_str(), "created" | "overdue"))?
                .nominal_amount;
            let fee = fee.unwrap_or_else(|| bank.sample_invoice_fee(amount));
            bank.pay_invoice(id, now, amount, fee);
            bank.credit_invoice(id, now);
            bank.invoices.get(id).cloned()
        })
    }

    /// Settle a `created` or `processing` transfer now: `success` (debited even beyond the
    /// balance) or `failed` — as `POST /_sandbox/transfers/{id}/succeed` and `.../fail`.
    /// `None` if there is no such transfer or it is already settled.
    pub fn settle_transfer(&self, id: &str, succeed: bool) -> Option<Transfer> {
        self.with_state(|bank, now| {
            bank.transfers
                .get(id)
                .filter(|t| matches!(t.status.as_str(), "created" | "processing"))?;
            bank.settle_transfer(id, now, succeed, true);
            bank.transfers.get(id).cloned()
        })
    }

    /// Set the balance, in cents.
    pub fn set_balance(&self, cents: i64) {
        self.with_state(|bank, now| {
            bank.balance = cents;
            bank.balance_updated = now;
        });
    }

    /// Run `f` on the emulated bank at business now, then process whatever became due. The
    /// escape hatch for anything the methods above do not cover (e.g. `create_webhook`).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut state::Bank, DateTime<Utc>) -> R) -> R {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let r = f(&mut inner.bank, now);
        inner.pump();
        r
    }

    /// The webhook deliveries prepared since the last call, in order (unsigned, not sent).
    pub fn take_deliveries(&self) -> Vec<Dispatch> {
        std::mem::take(&mut self.lock().deliveries)
    }

    // --- requests --------------------------------------------------------------------------

    /// One request below `/v2/` (`path` like `invoice` or `event/123`), answered as the HTTP
    /// client would see it: the JSON of a 200, or the [`ApiError`] of anything else.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        answer(self.exchange(&method, path, query, body))
    }

    /// What the HTTP server does for one request, minus the bytes, authentication and
    /// waiting: resolve, refuse injected request-level 400s and statuses, run due tasks, keep
    /// a late effect for later (answering a timeout-like outcome) or handle, run due tasks,
    /// lose the answer if a fault says so.
    fn exchange(&self, method: &Method, path: &str, query: &Query, body: &[u8]) -> Reply {
        let path = path.trim_start_matches('/');
        let route = match routes::resolve(method, path) {
            Ok(r) => r,
            Err((status, e)) => return Reply::Errors(status, e),
        };
        if body.len() > MAX_BODY {
            return routes::too_large();
        }
        let query: HashMap<String, String> = query.0.iter().cloned().collect();
        let mut inner = self.lock();
        let decision = inner.bank.decide_request_faults(route.name());
        if let Some(refused) = routes::refusal(&decision, &wall_clock_seconds(), inner.max_skew) {
            return refused;
        }
        inner.pump();
        let now = inner.clock.now();
        if let Some(reply) = routes::defer(
            &mut inner.bank,
            &decision,
            now,
            &route,
            method,
            path,
            &query,
            body,
        ) {
            return reply;
        }
        let public_key = PublicKeyEntry {
            content: inner.key.public_key().to_pem(),
            created: Timestamp(inner.key_created),
        };
        let ctx = Ctx {
            now: inner.clock.now(),
            query: &query,
            body,
            public_key,
            decision: &decision,
        };
        let result = routes::handle(&mut inner.bank, &ctx, &route);
        inner.pump();
        routes::outcome(&decision, result)
    }

    fn create<T: DeserializeOwned>(&self, create: Create, body: &[u8]) -> Result<Vec<T>, ApiError> {
        take_field(
            self.request(Method::POST, create.path, &Query::new(), body)?,
            create.key,
        )
    }

    fn page<T: DeserializeOwned>(
        &self,
        list: &List,
        cursor: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), ApiError> {
        let query = endpoints::page_query(&list.query, cursor);
        decode_page(self.request(Method::GET, list.path, &query, b"")?, list.key)
    }

    fn list_all<T: DeserializeOwned>(&self, list: List) -> Result<Vec<T>, ApiError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = self.page(&list, cursor.as_deref())?;
            all.extend(items);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}

/// The timeout a hanging answer (`late-effect`) is reported with: the HTTP client's default.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A reply as the client decodes it.
fn answer(reply: Reply) -> Result<Value, ApiError> {
    match reply {
        Reply::Ok(v) => Ok(v),
        // No `Bank` call asks for a file (a QR code, a PDF).
        Reply::Content(..) => Ok(Value::Null),
        Reply::Errors(status, errors) => {
            let bytes = serde_json::to_vec(&Reply::errors_body(&errors)).unwrap_or_default();
            decode_answer(status, &bytes)
        }
        Reply::Cut => Err(ApiError::Transport {
            reason: "the connection was cut mid-answer (injected fault)".into(),
        }),
        Reply::Hang => Err(ApiError::Timeout(CLIENT_TIMEOUT)),
    }
}

impl Bank for MemoryBank {
    async fn create_invoices(&self, body: &[u8]) -> Result<Vec<Invoice>, ApiError> {
        self.create(endpoints::CREATE_INVOICES, body)
    }

    async fn invoices_by_tag(&self, tag: &str) -> Result<Vec<Invoice>, ApiError> {
        self.list_all(endpoints::invoices_by_tag(tag))
    }

    async fn invoices_by_ids(&self, ids: &[String]) -> Result<Vec<Invoice>, ApiError> {
        self.list_all(endpoints::invoices_by_ids(ids))
    }

    async fn invoice_credit_logs(
        &self,
        invoice_ids: &[String],
    ) -> Result<Vec<InvoiceLog>, ApiError> {
        self.list_all(endpoints::invoice_credit_logs(invoice_ids))
    }

    async fn create_transfers(&self, body: &[u8]) -> Result<Vec<Transfer>, ApiError> {
        self.create(endpoints::CREATE_TRANSFERS, body)
    }

    async fn transfers_by_tags(&self, tags: &[&str]) -> Result<Vec<Transfer>, ApiError> {
        self.list_all(endpoints::transfers_by_tags(tags))
    }

    async fn transfers_by_ids(&self, ids: &[String]) -> Result<Vec<Transfer>, ApiError> {
        self.list_all(endpoints::transfers_by_ids(ids))
    }

    async fn undelivered_events(&self, cursor: Option<&str>) -> Result<Page<Value>, ApiError> {
        let (items, cursor) = self.page(&endpoints::undelivered_events(), cursor)?;
        Ok(Page { items, cursor })
    }

    async fn mark_event_delivered(&self, id: &str) -> Result<(), ApiError> {
        let call = endpoints::mark_event_delivered(id);
        self.request(call.method, &call.path, &Query::new(), call.body)
            .map(|_| ())
    }

    async fn cancel_invoice(&self, id: &str) -> Result<(), ApiError> {
        let call = endpoints::cancel_invoice(id);
        self.request(call.method, &call.path, &Query::new(), call.body)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{
        InvoiceRequest, TransferRequest, invoices_body, transfer_element, transfers_body,
    };
    use crate::sandbox::{FeeRange, START_BALANCE};
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Every invoice paid 5 to 15 minutes after creation, with a fee of 7 cents.
    fn bank() -> MemoryBank {
        MemoryBank::from_config(&SandboxConfig {
            seed: 7,
            pay_rate: 1.0,
            invoice_fee: FeeRange::parse("7").unwrap(),
            start_balance: START_BALANCE,
            start_time: Some(t0()),
            ..SandboxConfig::default()
        })
    }

    fn invoices(n: usize, amount: i64, tag: &str) -> Vec<u8> {
        let requests: Vec<InvoiceRequest> = (0..n)
            .map(|i| InvoiceRequest {
                amount: amount + i as i64,
                tax_id: "012.345.678-90".into(),
                name: format!("Payer {i}"),
                due: None,
                tags: vec![tag.to_string()],
            })
            .collect();
        invoices_body(&requests).into_bytes()
    }

    /// Create `n` invoices (see [`invoices`]), which must succeed.
    async fn create_ok(b: &MemoryBank, n: usize, amount: i64, tag: &str) -> Vec<Invoice> {
        b.create_invoices(&invoices(n, amount, tag)).await.unwrap()
    }

    fn transfer(amount: i64, external_id: &str, tag: &str) -> String {
        transfer_element(&TransferRequest {
            amount,
            name: "Stark Bank S.A.".into(),
            tax_id: "20.018.183/0001-80".into(),
            bank_code: "20018183".into(),
            branch_code: "0001".into(),
            account_number: "6341320293482496".into(),
            account_type: "payment".into(),
            external_id: external_id.into(),
            tags: vec![tag.to_string()],
            description: None,
        })
    }

    fn rules(texts: &[&str]) -> Vec<FaultRule> {
        texts.iter().map(|t| FaultRule::parse(t).unwrap()).collect()
    }

    fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|x| id(x).to_string()).collect()
    }

    #[tokio::test]
    async fn invoices_are_created_and_found_by_tag_and_by_id() {
        let b = bank();
        let a = create_ok(&b, 3, 1_000, "Batch-A").await;
        create_ok(&b, 2, 5_000, "batch-b").await;
        assert_eq!(a.len(), 3);
        assert!(
            a.iter()
                .all(|i| i.status == "created" && i.tags == ["batch-a"])
        );

        let found = b.invoices_by_tag("batch-a").await.unwrap();
        let mut amounts: Vec<i64> = found.iter().filter_map(|i| i.amount).collect();
        amounts.sort();
        assert_eq!(amounts, vec![1_000, 1_001, 1_002]);
        assert!(b.invoices_by_tag("nobody").await.unwrap().is_empty());

        let mut wanted = ids(&a[..2], |i| &i.id);
        wanted.push("1234567890123456".into());
        let by_id = b.invoices_by_ids(&wanted).await.unwrap();
        let mut got = ids(&by_id, |i| &i.id);
        got.sort();
        wanted.pop();
        wanted.sort();
        assert_eq!(got, wanted);

        // More than one page (100 per page): every invoice once.
        create_ok(&b, 80, 100, "big").await;
        create_ok(&b, 80, 100, "big").await;
        let big = b.invoices_by_tag("big").await.unwrap();
        let mut unique = ids(&big, |i| &i.id);
        unique.sort();
        unique.dedup();
        assert_eq!((big.len(), unique.len()), (160, 160));
        assert_eq!(b.truth().invoices.len(), 165);
    }

    #[tokio::test]
    async fn credit_logs_follow_payments_and_credits() {
        let b = bank();
        let created = create_ok(&b, 3, 10_000, "pay").await;
        let all = ids(&created, |i| &i.id);
        assert!(b.invoice_credit_logs(&all).await.unwrap().is_empty());

        let paid = b.pay_invoice(&all[0], Some(30)).unwrap();
        assert_eq!((paid.status.as_str(), paid.fee), ("paid", Some(30)));
        assert!(b.pay_invoice(&all[0], None).is_none(), "paid only once");
        let logs = b.invoice_credit_logs(&all).await.unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].kind, "credited");
        assert_eq!(
            (logs[0].subject.id.as_str(), logs[0].subject.fee),
            (all[0].as_str(), Some(30))
        );

        // The others get paid 5 to 15 minutes in, and credited 1 to 3 minutes later.
        b.advance(Duration::minutes(4));
        assert_eq!(b.invoice_credit_logs(&all).await.unwrap().len(), 1);
        b.advance(Duration::minutes(16));
        let logs = b.invoice_credit_logs(&all).await.unwrap();
        assert_eq!(logs.len(), 3);
        let mut fees: Vec<i64> = logs.iter().filter_map(|l| l.subject.fee).collect();
        fees.sort();
        assert_eq!(fees, vec![7, 7, 30]);
        let truth = b.truth();
        assert!(truth.invoices.iter().all(|i| i.credited));
        let net: i64 = truth.invoices.iter().map(|i| i.amount - i.fee).sum();
        assert_eq!(truth.balance, START_BALANCE + net);
        assert_eq!(b.now(), t0() + Duration::minutes(20));
    }

    #[tokio::test]
    async fn transfers_are_created_found_by_tags_and_ids_and_settled() {
        let b = bank();
        let body = transfers_body(&[
            transfer(1_000, "ext-1", "payout-a"),
            transfer(2_000, "ext-2", "payout-b"),
        ]);
        let created = b.create_transfers(body.as_bytes()).await.unwrap();
        assert_eq!(created.len(), 2);
        assert!(created.iter().all(|t| t.status == "created"));

        assert_eq!(b.transfers_by_tags(&["payout-a"]).await.unwrap().len(), 1);
        let both = b
            .transfers_by_tags(&["payout-a", "payout-b"])
            .await
            .unwrap();
        assert_eq!(both.len(), 2);
        let one = b.transfers_by_ids(&[created[1].id.clone()]).await.unwrap();
        assert_eq!((one.len(), one[0].amount), (1, 2_000));
        assert_eq!(one[0].external_id, "ext-2");

        b.advance(Duration::minutes(2));
        let settled = b.transfers_by_ids(&ids(&created, |t| &t.id)).await.unwrap();
        assert!(settled.iter().all(|t| t.status == "success"), "{settled:?}");
        assert_eq!(b.truth().balance, START_BALANCE - 3_000);

        // Forced settlement, as the admin route does.
        let body = transfers_body(&[transfer(500, "ext-3", "payout-c")]);
        let t = b.create_transfers(body.as_bytes()).await.unwrap().remove(0);
        let failed = b.settle_transfer(&t.id, false).unwrap();
        assert_eq!(failed.status, "failed");
        assert!(b.settle_transfer(&t.id, true).is_none(), "already settled");
    }

    #[tokio::test]
    async fn one_bad_transfer_rejects_the_whole_request() {
        let b = bank();
        let body = transfers_body(&[transfer(1_000, "ext-1", "first")]);
        b.create_transfers(body.as_bytes()).await.unwrap();

        // Element 1 reuses an external id: nothing of the request is created.
        let body = transfers_body(&[
            transfer(700, "ext-2", "second"),
            transfer(800, "ext-1", "second"),
        ]);
        let e = b.create_transfers(body.as_bytes()).await.unwrap_err();
        let ApiError::Rejected { status, errors } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((*status, errors.len()), (400, 1), "{errors:?}");
        assert_eq!(errors[0].code, "invalidExternalId");
        assert!(errors[0].message.starts_with("Element 1: "), "{errors:?}");
        assert!(!e.is_ambiguous());
        assert!(b.transfers_by_tags(&["second"]).await.unwrap().is_empty());
        assert_eq!(b.truth().transfers.len(), 1);

        // Invoices too: one bad tax id, nothing created.
        let body = br#"{"invoices": [
            {"amount": 100, "taxId": "012.345.678-90", "name": "A"},
            {"amount": 100, "taxId": "123.456.789-10", "name": "B"}
        ]}"#;
        let e = b.create_invoices(body).await.unwrap_err();
        assert_eq!(e.codes(), vec!["invalidTaxId"]);
        assert!(b.truth().invoices.is_empty());
    }

    #[tokio::test]
    async fn undelivered_events_page_with_a_cursor_and_marks_stick() {
        let b = bank();
        create_ok(&b, 60, 100, "ev").await;
        create_ok(&b, 60, 100, "ev").await;

        let first = b.undelivered_events(None).await.unwrap();
        assert_eq!(first.items.len(), 100);
        let cursor = first.cursor.clone().expect("a second page");
        let second = b.undelivered_events(Some(&cursor)).await.unwrap();
        assert_eq!((second.items.len(), second.cursor.as_deref()), (20, None));
        let mut seen: Vec<&str> = first
            .items
            .iter()
            .chain(&second.items)
            .filter_map(|e| e["id"].as_str())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 120, "each event once");

        for e in &first.items[..5] {
            let id = e["id"].as_str().unwrap();
            b.mark_event_delivered(id).await.unwrap();
            b.mark_event_delivered(id).await.unwrap(); // idempotent
        }
        let again = b.undelivered_events(None).await.unwrap();
        let rest = b.undelivered_events(again.cursor.as_deref()).await.unwrap();
        assert_eq!(again.items.len() + rest.items.len(), 115);
        assert_eq!(b.truth().undelivered_events, 115);
        // The truth lists the events a client marked, with the invoice each is about.
        let marked = b.truth().marked_delivered;
        assert_eq!(marked.len(), 5);
        assert!(
            marked.iter().all(|m| m.subscription == "invoice"
                && m.subject_id.is_some()
                && m.subject_tags.contains(&"ev".to_string())),
            "{marked:?}"
        );

        let e = b
            .mark_event_delivered("1234567890123456")
            .await
            .unwrap_err();
        assert_eq!(e.codes(), vec!["invalidEvent"]);
        let e = b
            .undelivered_events(Some("not-a-cursor"))
            .await
            .unwrap_err();
        assert_eq!(e.codes(), vec!["invalidCursor"]);
    }

    #[tokio::test]
    async fn a_lost_response_applies_the_create_and_is_ambiguous() {
        let b = bank();
        b.set_faults(rules(&["invoice.create:lost-response=1"]));
        let (mut cut, mut bad_gateway) = (0, 0);
        for round in 0..12 {
            let tag = format!("lost-{round}");
            match ambiguous_create(&b, &tag).await {
                ApiError::Transport { .. } => cut += 1,
                ApiError::Status { status: 502, .. } => bad_gateway += 1,
                other => panic!("unexpected {other:?}"),
            }
            // The invoices exist; reads are not affected by the rule.
            assert_eq!(b.invoices_by_tag(&tag).await.unwrap().len(), 2);
        }
        assert!(cut > 0 && bad_gateway > 0, "cut {cut}, 502 {bad_gateway}");

        b.set_faults(rules(&["transfer.create:lost-response=1"]));
        let body = transfers_body(&[transfer(1_000, "ext-1", "lost-t")]);
        let e = b.create_transfers(body.as_bytes()).await.unwrap_err();
        assert!(e.is_ambiguous(), "{e:?}");
        assert_eq!(b.transfers_by_tags(&["lost-t"]).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_injected_status_applies_nothing() {
        let b = bank();
        b.set_faults(rules(&["invoice.create:500=1", "transfer.create:503=1"]));
        let e = b.create_invoices(&invoices(2, 500, "x")).await.unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 500, .. }), "{e:?}");
        assert!(e.is_ambiguous());
        let body = transfers_body(&[transfer(1_000, "ext-1", "x")]);
        let e = b.create_transfers(body.as_bytes()).await.unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 503, .. }), "{e:?}");
        let truth = b.truth();
        assert!(truth.invoices.is_empty() && truth.transfers.is_empty());
        assert_eq!(truth.events, 0);

        b.set_faults(Vec::new());
        create_ok(&b, 1, 500, "x").await;
        b.set_faults(rules(&["event.patch:500=1", "event.list:429=1"]));
        let id = b.with_state(|bank, _| bank.events[0].item.id.clone());
        let e = b.mark_event_delivered(&id).await.unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 500, .. }), "{e:?}");
        assert_eq!(b.truth().undelivered_events, 1, "the mark was not applied");
        let e = b.undelivered_events(None).await.unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 429, .. }), "{e:?}");
        b.set_faults(Vec::new());
        b.create_transfers(body.as_bytes()).await.unwrap();
    }

    #[tokio::test]
    async fn routes_and_bodies_fail_as_over_http() {
        let b = bank();
        let e = b
            .request(Method::GET, "nope", &Query::new(), b"")
            .unwrap_err();
        let ApiError::Status { status, body } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*status, 404);
        assert!(body.contains("\"errors\""), "{body}");
        let e = b
            .request(Method::PUT, "invoice", &Query::new(), b"")
            .unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 405, .. }), "{e:?}");
        let big = vec![b' '; MAX_BODY + 1];
        let e = b.create_invoices(&big).await.unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 413, .. }), "{e:?}");
        let e = b.create_invoices(b"{\"invoices\": [").await.unwrap_err();
        assert_eq!(e.codes(), vec!["invalidJson"]);
        let keys = b
            .request(Method::GET, "public-key", &Query::new(), b"")
            .unwrap();
        assert_eq!(
            keys["publicKeys"][0]["content"].as_str(),
            Some(b.public_key().to_pem().as_str())
        );
    }

    #[tokio::test]
    async fn clones_share_one_bank_and_deliveries_are_collected() {
        let b = bank();
        let other = b.clone();
        other.set_time(t0() + Duration::hours(1));
        assert_eq!(b.now(), t0() + Duration::hours(1));
        assert!(b.take_deliveries().is_empty(), "no webhook, no delivery");

        b.with_state(|bank, _| {
            bank.create_webhook("http://127.0.0.1:9/hook".into(), vec!["invoice".into()])
        });
        create_ok(&other, 1, 500, "hook").await;
        let ds = b.take_deliveries();
        assert_eq!(ds.len(), 1, "the `created` event");
        assert!(b.take_deliveries().is_empty());
        b.with_state(|bank, _| bank.record_delivery(&ds[0], &state::DeliveryOutcome::Status(200)));
        assert_eq!(b.truth().undelivered_events, 0);
    }

    /// Create two invoices tagged `tag` under a fault: the error, which must be ambiguous.
    async fn ambiguous_create(b: &MemoryBank, tag: &str) -> ApiError {
        let e = b.create_invoices(&invoices(2, 500, tag)).await.unwrap_err();
        assert!(e.is_ambiguous(), "{e:?}");
        e
    }

    fn invoice_path(id: &str) -> String {
        format!("invoice/{id}")
    }

    fn cancel(b: &MemoryBank, id: &str) -> Result<Value, ApiError> {
        b.request(
            Method::PATCH,
            &invoice_path(id),
            &Query::new(),
            br#"{"status": "canceled"}"#,
        )
    }

    #[tokio::test]
    async fn a_late_effect_answers_ambiguously_then_applies_once_later() {
        let b = bank();
        b.set_faults(rules(&["invoice.create:late-effect=1@3000"]));
        let (mut gateway, mut cut, mut timeout) = (0, 0, 0);
        for round in 0..9 {
            let tag = format!("late-{round}");
            match ambiguous_create(&b, &tag).await {
                ApiError::Status { status: 504, .. } => gateway += 1,
                ApiError::Transport { .. } => cut += 1,
                ApiError::Timeout(_) => timeout += 1,
                other => panic!("unexpected {other:?}"),
            }
            // Nothing yet: not by tag, not in the truth.
            assert!(b.invoices_by_tag(&tag).await.unwrap().is_empty());
        }
        assert!(
            gateway > 0 && cut > 0 && timeout > 0,
            "{gateway} {cut} {timeout}"
        );
        assert!(b.truth().invoices.is_empty());
        assert_eq!(b.truth().events, 0);

        b.set_faults(Vec::new());
        b.advance(Duration::milliseconds(2_999));
        assert!(b.truth().invoices.is_empty(), "not before its time");
        b.advance(Duration::milliseconds(1));
        for round in 0..9 {
            let found = b.invoices_by_tag(&format!("late-{round}")).await.unwrap();
            assert_eq!(found.len(), 2, "round {round}: exactly one copy");
            // Stamped at the time it took effect, with its `created` log and event.
            assert!(
                found
                    .iter()
                    .all(|i| i.created.0 == t0() + Duration::seconds(3))
            );
            assert!(
                found
                    .iter()
                    .all(|i| i.due.unwrap().0 == t0() + Duration::seconds(3) + Duration::days(2))
            );
        }
        let logs = b.with_state(|bank, _| {
            bank.invoice_logs
                .iter()
                .map(|l| (l.item.kind.clone(), l.item.created.0))
                .collect::<Vec<_>>()
        });
        assert_eq!(logs.len(), 18);
        assert!(
            logs.iter()
                .all(|(k, at)| k == "created" && *at == t0() + Duration::seconds(3))
        );
        assert_eq!(b.truth().events, 18);
        // And only once: more time changes nothing but their own fate (paid later).
        b.advance(Duration::minutes(30));
        assert_eq!(b.truth().invoices.len(), 18);
        assert!(b.truth().invoices.iter().all(|i| i.credited));
    }

    #[tokio::test]
    async fn a_late_effect_survives_set_time_and_a_saved_state() {
        let b = bank();
        b.set_faults(rules(&["transfer.create:late-effect=1@60000"]));
        let body = transfers_body(&[transfer(1_000, "ext-late", "late-t")]);
        let e = b.create_transfers(body.as_bytes()).await.unwrap_err();
        assert!(e.is_ambiguous(), "{e:?}");
        // The pending effect is part of the state a `--state` file saves.
        let saved = b.with_state(|bank, _| serde_json::to_string(&*bank).unwrap());
        assert!(saved.contains("lateEffect"), "{saved}");
        let restored: state::Bank = serde_json::from_str(&saved).unwrap();
        let settings = b.with_state(|bank, _| bank.settings.clone());
        let mut restored = restored.restore(settings).unwrap();
        restored.process_due(t0() + Duration::minutes(2));
        assert_eq!(restored.truth().transfers.len(), 1);
        assert_eq!(
            restored.transfers[0].item.created.0,
            t0() + Duration::minutes(1)
        );

        b.set_time(t0() + Duration::seconds(59));
        assert!(b.truth().transfers.is_empty());
        b.set_time(t0() + Duration::minutes(5));
        let t = b.transfers_by_tags(&["late-t"]).await.unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].created.0, t0() + Duration::minutes(1));
        assert_eq!(
            t[0].status, "success",
            "settled on its own schedule after that"
        );
    }

    #[tokio::test]
    async fn a_late_effect_is_judged_when_it_takes_effect() {
        let b = bank();
        // The client resends the transfer (same externalId) before the late one lands: the
        // late one is then a duplicate, refused, and nothing more is created.
        b.set_faults(rules(&["transfer.create:late-effect=1@10000"]));
        let body = transfers_body(&[transfer(1_000, "ext-once", "once")]);
        assert!(b.create_transfers(body.as_bytes()).await.is_err());
        b.set_faults(Vec::new());
        b.advance(Duration::seconds(5));
        b.create_transfers(body.as_bytes()).await.unwrap();
        b.advance(Duration::seconds(10));
        let found = b.transfers_by_tags(&["once"]).await.unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].created.0, t0() + Duration::seconds(5));
        assert_eq!(b.truth().transfers.len(), 1);

        // Invoices have no such key: the resend and the late one are two batches.
        b.set_faults(rules(&["invoice.create:late-effect=1@10000"]));
        assert!(b.create_invoices(&invoices(1, 300, "twice")).await.is_err());
        b.set_faults(Vec::new());
        create_ok(&b, 1, 300, "twice").await;
        b.advance(Duration::seconds(10));
        assert_eq!(b.invoices_by_tag("twice").await.unwrap().len(), 2);

        // A late cancel of an invoice that was paid meanwhile does nothing.
        let inv = create_ok(&b, 1, 300, "paid").await.remove(0);
        b.set_faults(rules(&["invoice.patch:late-effect=1@10000"]));
        assert!(cancel(&b, &inv.id).unwrap_err().is_ambiguous());
        b.set_faults(Vec::new());
        b.pay_invoice(&inv.id, Some(1)).unwrap();
        b.advance(Duration::seconds(10));
        let truth = b.truth();
        let t = truth.invoices.iter().find(|i| i.id == inv.id).unwrap();
        assert_eq!((t.status.as_str(), t.credited), ("paid", true));

        // A read has no effect to keep: the client just gets the ambiguous answer.
        b.set_faults(rules(&["invoice.list:late-effect=1@10"]));
        let pending = b.with_state(|bank, _| bank.tasks.len());
        assert!(b.invoices_by_tag("paid").await.unwrap_err().is_ambiguous());
        assert_eq!(b.with_state(|bank, _| bank.tasks.len()), pending);
    }

    #[tokio::test]
    async fn a_list_lag_hides_recent_items_from_lists_but_not_from_gets() {
        let b = bank();
        b.set_faults(rules(&["list-lag=1@60000"]));
        let created = create_ok(&b, 3, 500, "lag").await;
        let all = ids(&created, |i| &i.id);
        assert!(b.invoices_by_tag("lag").await.unwrap().is_empty());
        assert!(b.invoices_by_ids(&all).await.unwrap().is_empty());
        assert!(b.undelivered_events(None).await.unwrap().items.is_empty());
        let logs = b
            .request(Method::GET, "invoice/log", &Query::new(), b"")
            .unwrap();
        assert_eq!(logs["logs"].as_array().unwrap().len(), 0);
        // Gets by id see it at once.
        let got = b
            .request(Method::GET, &invoice_path(&all[0]), &Query::new(), b"")
            .unwrap();
        assert_eq!(got["invoice"]["id"].as_str(), Some(all[0].as_str()));

        b.advance(Duration::seconds(59));
        assert!(b.invoices_by_tag("lag").await.unwrap().is_empty());
        b.advance(Duration::seconds(1));
        assert_eq!(b.invoices_by_tag("lag").await.unwrap().len(), 3);
        assert_eq!(b.invoices_by_ids(&all).await.unwrap().len(), 3);
        assert_eq!(b.undelivered_events(None).await.unwrap().items.len(), 3);

        // Transfers and their logs lag too; a rule on one route leaves the others alone.
        b.set_faults(rules(&["transfer:list-lag=1@60000"]));
        let body = transfers_body(&[transfer(1_000, "ext-lag", "lag-t")]);
        let t = b.create_transfers(body.as_bytes()).await.unwrap();
        assert!(b.transfers_by_tags(&["lag-t"]).await.unwrap().is_empty());
        let q = Query::new().set("transferIds", &t[0].id);
        let logs = b.request(Method::GET, "transfer/log", &q, b"").unwrap();
        assert_eq!(logs["logs"].as_array().unwrap().len(), 0);
        assert_eq!(b.undelivered_events(None).await.unwrap().items.len(), 4);
        b.advance(Duration::minutes(1));
        assert_eq!(b.transfers_by_tags(&["lag-t"]).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_partial_tag_query_returns_a_strict_nonempty_part() {
        async fn tagged(b: &MemoryBank) -> Vec<Vec<String>> {
            let mut out = Vec::new();
            for _ in 0..12 {
                let mut got = ids(&b.invoices_by_tag("part").await.unwrap(), |i| &i.id);
                got.sort();
                out.push(got);
            }
            out
        }
        let b = bank();
        let created = create_ok(&b, 6, 500, "part").await;
        let mut all = ids(&created, |i| &i.id);
        all.sort();
        create_ok(&b, 1, 500, "single").await;
        b.set_faults(rules(&["invoice.list:list-partial=1"]));
        let answers = tagged(&b).await;
        for got in &answers {
            assert!(!got.is_empty() && got.len() < all.len(), "{got:?}");
            assert!(got.iter().all(|id| all.contains(id)));
        }
        assert!(answers.iter().any(|a| a != &answers[0]), "the part varies");
        // One match is returned whole; lookups by id are not tag queries.
        assert_eq!(b.invoices_by_tag("single").await.unwrap().len(), 1);
        assert_eq!(b.invoices_by_ids(&all).await.unwrap().len(), 6);

        // Seeded: the same bank and calls give the same parts.
        let again = bank();
        create_ok(&again, 6, 500, "part").await;
        create_ok(&again, 1, 500, "single").await;
        again.set_faults(rules(&["invoice.list:list-partial=1"]));
        let replay = tagged(&again).await;
        assert_eq!(answers, replay);

        // Transfers by tags too.
        b.set_faults(Vec::new());
        let body = transfers_body(&[
            transfer(100, "p-1", "part-t"),
            transfer(200, "p-2", "part-t"),
            transfer(300, "p-3", "part-t"),
        ]);
        b.create_transfers(body.as_bytes()).await.unwrap();
        b.set_faults(rules(&["transfer.list:list-partial=1"]));
        let got = b.transfers_by_tags(&["part-t"]).await.unwrap();
        assert!((1..3).contains(&got.len()), "{got:?}");
    }

    #[tokio::test]
    async fn injected_request_level_errors_do_nothing() {
        let b = bank();
        for (rule, code) in [
            ("invoice.create:invalid-access-time=1", "invalidAccessTime"),
            ("invoice.create:invalid-credentials=1", "invalidCredentials"),
        ] {
            b.set_faults(rules(&[rule]));
            let e = b
                .create_invoices(&invoices(2, 500, "refused"))
                .await
                .unwrap_err();
            let ApiError::Rejected { status, errors } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(*status, 400);
            assert_eq!(e.codes(), vec![code]);
            assert!(errors[0].message.contains("injected fault"), "{errors:?}");
            assert!(
                !e.is_ambiguous(),
                "a request-level 400 proves nothing was done"
            );
            assert!(e.hint().is_some());
        }
        b.set_faults(Vec::new());
        b.advance(Duration::hours(1));
        assert!(b.truth().invoices.is_empty());
        assert_eq!(b.truth().events, 0);
        let e = {
            b.set_faults(rules(&["invalid-credentials=1"]));
            b.undelivered_events(None).await.unwrap_err()
        };
        assert_eq!(e.codes(), vec!["invalidCredentials"]);
        assert!(
            e.to_string()
                .contains("Access-Signature does not match the request"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_created_invoice_can_be_canceled_and_is_never_paid() {
        let b = bank();
        let created = create_ok(&b, 3, 500, "cancel").await;
        let id = created[0].id.clone();
        let v = cancel(&b, &id).unwrap();
        assert_eq!(v["invoice"]["status"].as_str(), Some("canceled"));
        // Its log and event, like the other logs.
        let q = Query::new().set("invoiceIds", &id).set("types", "canceled");
        let logs = b.request(Method::GET, "invoice/log", &q, b"").unwrap();
        let logs = logs["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["invoice"]["status"].as_str(), Some("canceled"));
        assert_eq!(b.truth().events, 4);
        // Never paid: not on its schedule, not by force.
        b.advance(Duration::hours(1));
        let truth = b.truth();
        let t = truth.invoices.iter().find(|i| i.id == id).unwrap();
        assert_eq!((t.status.as_str(), t.credited), ("canceled", false));
        assert!(b.pay_invoice(&id, None).is_none());
        assert_eq!(
            b.invoices_by_tag("cancel")
                .await
                .unwrap()
                .iter()
                .filter(|i| i.status == "paid")
                .count(),
            2
        );
        b.advance(Duration::days(3));
        let truth = b.truth();
        let t = truth.invoices.iter().find(|i| i.id == id).unwrap();
        assert_eq!(t.status, "canceled", "nor overdue nor expired");

        // Only a `created` invoice: a canceled or paid one is refused, and so are unknown
        // ids and other updates.
        let e = cancel(&b, &id).unwrap_err();
        assert_eq!(e.codes(), vec!["invalidInvoiceStatus"]);
        let e = cancel(&b, &created[1].id).unwrap_err();
        assert_eq!(e.codes(), vec!["invalidInvoiceStatus"]);
        let e = cancel(&b, "1234567890123456").unwrap_err();
        assert_eq!(e.codes(), vec!["invalidInvoice"]);
        let fresh = create_ok(&b, 1, 500, "fresh").await.remove(0);
        for (body, code) in [
            (&br#"{"status": "paid"}"#[..], "invalidStatus"),
            (br#"{}"#, "invalidStatus"),
            (br#"{"status": "canceled", "amount": 10}"#, "invalidJson"),
            (br#"{"status": "canceled", "color": "red"}"#, "invalidJson"),
            (br#"["canceled"]"#, "invalidJson"),
        ] {
            let e = b
                .request(Method::PATCH, &invoice_path(&fresh.id), &Query::new(), body)
                .unwrap_err();
            assert_eq!(e.codes(), vec![code], "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            b.invoices_by_tag("fresh").await.unwrap()[0].status,
            "created"
        );
        // Fault rules reach the new route by name.
        b.set_faults(rules(&["invoice.patch:500=1"]));
        let e = cancel(&b, &fresh.id).unwrap_err();
        assert!(matches!(e, ApiError::Status { status: 500, .. }), "{e:?}");
        b.set_faults(Vec::new());
        cancel(&b, &fresh.id).unwrap();
    }
}
