//! Everything the emulated bank knows, and how it changes: invoices and transfers with their
//! logs, events, delivery attempts, webhooks, the balance, and the schedule of what happens
//! next (payments, credits, transfer settlement, deliveries). Pure state: no I/O, no clock
//! reads — callers pass "now" in, so advancing the clock replays everything in time order.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::faults::{self, FaultRule};
use super::{FeeRange, GroundTruth, TruthInvoice, TruthMarkedEvent, TruthTransfer};
use crate::api::model::*;
use crate::keys::PublicKey;

/// A rehearsal balance, R$ 1.000.000,00: what the test harness starts its sandbox with
/// (`--start-balance`). A fresh sandbox starts at zero, like a new real sandbox workspace.
pub const START_BALANCE: i64 = 100_000_000;
/// Delivery retries, in minutes after the first attempt.
pub const RETRY_OFFSETS_MIN: [i64; 3] = [5, 30, 120];
/// Default invoice expiration (seconds after due), as the API uses.
pub const DEFAULT_EXPIRATION: i64 = 5_097_600;

/// The bank's knobs (a subset of the sandbox config).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankSettings {
    pub seed: u64,
    pub pay_rate: f64,
    pub pay_delay: (i64, i64),
    pub invoice_fee: FeeRange,
    pub transfer_fee: i64,
    /// The balance a fresh bank starts with, in cents (a saved state keeps its own).
    #[serde(default)]
    pub start_balance: i64,
}

/// An item with its insertion sequence number (the paging key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rec<T> {
    pub seq: u64,
    pub item: T,
}

/// Something that happens at a given business time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
pub enum Task {
    InvoicePay {
        id: String,
    },
    InvoiceCredit {
        id: String,
    },
    InvoiceOverdue {
        id: String,
    },
    InvoiceExpire {
        id: String,
    },
    TransferProcess {
        id: String,
    },
    TransferSettle {
        id: String,
    },
    Deliver {
        event_id: String,
        webhook_id: String,
        attempt: u32,
        base: DateTime<Utc>,
    },
    /// A request whose client got a timeout-like answer (the `late-effect` fault), applied
    /// now as if it arrived now: `path` is below `/v2/`, `body` is base64 of the exact bytes.
    LateEffect {
        method: String,
        path: String,
        #[serde(default)]
        query: BTreeMap<String, String>,
        body: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    pub at: DateTime<Utc>,
    pub seq: u64,
    pub task: Task,
}

// Min-heap on (at, seq).
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A webhook POST to make, prepared under the lock and sent outside it.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub event_id: String,
    pub webhook_id: String,
    pub url: String,
    pub body: Vec<u8>,
    pub attempt: u32,
    pub base: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub duplicate: bool,
    pub reorder: bool,
    pub high_s: bool,
}

/// What a delivery ended in.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    /// The endpoint answered with this HTTP status.
    Status(u16),
    /// No answer in time (attempt code `timeout`).
    Timeout,
    /// No connection, or it broke (attempt code `badConnection`), with the reason.
    BadConnection(String),
}

impl DeliveryOutcome {
    /// The attempt an unsuccessful delivery records: the real API's `code` and `message`
    /// (`badHttpStatus` with "HTTP POST request returned status 404", `badConnection`,
    /// `timeout`). `None` for a 200.
    pub fn attempt_code(&self) -> Option<(&'static str, String)> {
        match self {
            DeliveryOutcome::Status(200) => None,
            DeliveryOutcome::Status(s) => Some((
                "badHttpStatus",
                format!("HTTP POST request returned status {s}"),
            )),
            DeliveryOutcome::Timeout => Some(("timeout", "HTTP POST request timed out".into())),
            DeliveryOutcome::BadConnection(reason) => Some((
                "badConnection",
                format!("HTTP POST request could not connect: {reason}"),
            )),
        }
    }
}

fn default_rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// Items in insertion order (ascending `seq`, the paging key), indexed by id. Saved as the
/// list alone: `reindex` rebuilds the index after loading.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Table<T> {
    recs: Vec<Rec<T>>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            recs: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> std::ops::Deref for Table<T> {
    type Target = [Rec<T>];

    fn deref(&self) -> &[Rec<T>] {
        &self.recs
    }
}

impl<T> Table<T> {
    pub fn get(&self, id: &str) -> Option<&T> {
        self.index.get(id).map(|&i| &self.recs[i].item)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let i = *self.index.get(id)?;
        Some(&mut self.recs[i].item)
    }

    /// Append `item` (its id `id`, its sequence number `seq`) and index it by id.
    fn push(&mut self, id: String, seq: u64, item: T) {
        self.index.insert(id, self.recs.len());
        self.recs.push(Rec { seq, item });
    }

    /// Take out the item `id`, if there is one.
    fn remove(&mut self, id: &str) -> Option<T> {
        let i = self.index.remove(id)?;
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Some(self.recs.remove(i).item)
    }

    /// Index the items by `id` again (after loading).
    fn reindex(&mut self, id: impl Fn(&T) -> &str) {
        self.index = (self.recs.iter().enumerate())
            .map(|(i, r)| (id(&r.item).to_string(), i))
            .collect();
    }

    fn ids(&self) -> impl Iterator<Item = &String> {
        self.index.keys()
    }
}

/// An invoice or a transfer: kept with a log of each change, each log announced by an event
/// of subscription [`LogSubject::KEY`].
trait Kept: LogSubject + Clone {
    /// The bank's table of these and the table of their logs.
    fn tables(bank: &mut Bank) -> (&mut Table<Self>, &mut Table<Log<Self>>);
    /// Its status and when it last changed.
    fn status(&mut self) -> (&mut String, &mut Option<Timestamp>);
}

impl Kept for Invoice {
    fn tables(bank: &mut Bank) -> (&mut Table<Self>, &mut Table<Log<Self>>) {
        (&mut bank.invoices, &mut bank.invoice_logs)
    }
    fn status(&mut self) -> (&mut String, &mut Option<Timestamp>) {
        (&mut self.status, &mut self.updated)
    }
}

impl Kept for Transfer {
    fn tables(bank: &mut Bank) -> (&mut Table<Self>, &mut Table<Log<Self>>) {
        (&mut bank.transfers, &mut bank.transfer_logs)
    }
    fn status(&mut self) -> (&mut String, &mut Option<Timestamp>) {
        (&mut self.status, &mut self.updated)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bank {
    pub settings: BankSettings,
    pub workspace_id: String,
    pub seq: u64,
    /// project id → SPKI PEM.
    pub projects: BTreeMap<String, String>,
    pub invoices: Table<Invoice>,
    pub invoice_logs: Table<Log<Invoice>>,
    pub transfers: Table<Transfer>,
    pub transfer_logs: Table<Log<Transfer>>,
    pub events: Table<Event>,
    pub attempts: Table<EventAttempt>,
    pub webhooks: Table<Webhook>,
    pub balance: i64,
    pub balance_updated: DateTime<Utc>,
    /// invoice id → when it was credited.
    pub credited: BTreeMap<String, DateTime<Utc>>,
    pub tasks: BinaryHeap<Scheduled>,
    /// Business time when the state was saved.
    #[serde(default)]
    pub saved_at: Option<DateTime<Utc>>,
    /// Events a client marked delivered (`PATCH /v2/event/{id}`), as opposed to a webhook
    /// delivery answered 200: what the audit checks for other integrations' events.
    #[serde(default)]
    pub marked_delivered: BTreeSet<String>,
    #[serde(skip)]
    keys: HashMap<String, PublicKey>,
    #[serde(skip)]
    ids: HashSet<String>,
    #[serde(skip)]
    external_ids: HashSet<String>,
    #[serde(skip, default = "default_rng")]
    rng: StdRng,
    #[serde(skip, default = "default_rng")]
    id_rng: StdRng,
    #[serde(skip, default = "default_rng")]
    fault_rng: StdRng,
    #[serde(skip)]
    pub faults: Vec<FaultRule>,
}

/// The error type of bank operations: the API's `errors` list.
pub type Errors = Vec<ApiErrorItem>;

pub fn err(code: &str, message: impl Into<String>) -> Errors {
    vec![ApiErrorItem {
        code: code.to_string(),
        message: message.into(),
    }]
}

impl Bank {
    pub fn new(settings: BankSettings, now: DateTime<Utc>) -> Bank {
        let mut bank = Bank {
            balance: settings.start_balance,
            settings,
            workspace_id: String::new(),
            seq: 0,
            projects: BTreeMap::new(),
            invoices: Table::default(),
            invoice_logs: Table::default(),
            transfers: Table::default(),
            transfer_logs: Table::default(),
            events: Table::default(),
            attempts: Table::default(),
            webhooks: Table::default(),
            balance_updated: now,
            credited: BTreeMap::new(),
            tasks: BinaryHeap::new(),
            saved_at: None,
            marked_delivered: BTreeSet::new(),
            keys: HashMap::new(),
            ids: HashSet::new(),
            external_ids: HashSet::new(),
            rng: default_rng(),
            id_rng: default_rng(),
            fault_rng: default_rng(),
            faults: Vec::new(),
        };
        bank.reseed();
        bank.workspace_id = bank.new_id();
        bank
    }

    /// Rebuild indexes and caches after loading a saved state (settings come from the new
    /// config; the RNGs continue from a seed mixed with the saved sequence number).
    pub fn restore(mut self, settings: BankSettings) -> Result<Bank, String> {
        self.settings = settings;
        self.reseed();
        self.keys.clear();
        for (id, pem) in &self.projects {
            let key = PublicKey::from_pem(pem)
                .map_err(|e| format!("saved key of project {id} is invalid: {e}"))?;
            self.keys.insert(id.clone(), key);
        }
        self.reindex();
        Ok(self)
    }

    fn reseed(&mut self) {
        let s = self.settings.seed ^ self.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.rng = StdRng::seed_from_u64(s);
        self.id_rng = StdRng::seed_from_u64(s.wrapping_add(1));
        self.fault_rng = StdRng::seed_from_u64(s.wrapping_add(2));
    }

    fn reindex(&mut self) {
        self.invoices.reindex(|x| &x.id);
        self.invoice_logs.reindex(|x| &x.id);
        self.transfers.reindex(|x| &x.id);
        self.transfer_logs.reindex(|x| &x.id);
        self.events.reindex(|x| &x.id);
        self.attempts.reindex(|x| &x.id);
        self.webhooks.reindex(|x| &x.id);
        self.ids = (self.invoices.ids())
            .chain(self.invoice_logs.ids())
            .chain(self.transfers.ids())
            .chain(self.transfer_logs.ids())
            .chain(self.events.ids())
            .chain(self.attempts.ids())
            .chain(self.webhooks.ids())
            .cloned()
            .collect();
        self.ids.insert(self.workspace_id.clone());
        self.external_ids = self
            .transfers
            .iter()
            .filter(|t| !t.item.external_id.is_empty())
            .map(|t| t.item.external_id.clone())
            .collect();
    }

    // --- ids, sequence, schedule -----------------------------------------------------------

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh, unique 16-digit id.
    pub fn new_id(&mut self) -> String {
        loop {
            let n: u64 = self
                .id_rng
                .gen_range(1_000_000_000_000_000..10_000_000_000_000_000);
            let id = n.to_string();
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn transaction_id(&mut self) -> String {
        let a: u64 = self
            .id_rng
            .gen_range(1_000_000_000_000_000..10_000_000_000_000_000);
        let b: u64 = self.id_rng.gen_range(0..10_000_000_000_000_000);
        format!("{a}{b:016}")
    }

    pub fn schedule(&mut self, at: DateTime<Utc>, task: Task) {
        let seq = self.next_seq();
        self.tasks.push(Scheduled { at, seq, task });
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.tasks.peek().map(|s| s.at)
    }

    /// Run every task due at or before `now`, in time order. Returns the deliveries to send.
    pub fn process_due(&mut self, now: DateTime<Utc>) -> Vec<Dispatch> {
        let mut out = Vec::new();
        while self.tasks.peek().is_some_and(|s| s.at <= now) {
            let s = self.tasks.pop().expect("peeked");
            self.exec(s.at, s.task, &mut out);
        }
        out
    }

    fn exec(&mut self, at: DateTime<Utc>, task: Task, out: &mut Vec<Dispatch>) {
        match task {
            Task::InvoicePay { id } => {
                let unpaid = self.invoices.get(&id).filter(|i| i.status == "created");
                if let Some(amount) = unpaid.map(|i| i.nominal_amount) {
                    let fee = self.settings.invoice_fee.sample(amount, &mut self.rng);
                    self.pay_invoice(&id, at, amount, fee);
                    let delay = self.rng.gen_range(60..=180);
                    self.schedule(
                        add_seconds(at, delay).unwrap_or(at),
                        Task::InvoiceCredit { id },
                    );
                }
            }
            Task::InvoiceCredit { id } => self.credit_invoice(&id, at),
            Task::InvoiceOverdue { id } => {
                // An update may have moved `due` later: the task of the old due does nothing.
                if self.invoices.get(&id).is_some_and(|i| invoice_due(i) <= at) {
                    self.advance::<Invoice>(&id, at, "created", "overdue", Vec::new());
                }
            }
            Task::InvoiceExpire { id } => {
                let expires = self.invoices.get(&id).and_then(invoice_expires);
                if expires.is_some_and(|e| e <= at) {
                    self.advance::<Invoice>(&id, at, "overdue", "expired", Vec::new());
                }
            }
            Task::TransferProcess { id } => {
                if self.advance::<Transfer>(&id, at, "created", "processing", Vec::new()) {
                    let delay = self.rng.gen_range(10..=60);
                    self.schedule(
                        add_seconds(at, delay).unwrap_or(at),
                        Task::TransferSettle { id },
                    );
                }
            }
            Task::TransferSettle { id } => {
                if self
                    .transfers
                    .get(&id)
                    .is_some_and(|t| t.status == "processing")
                {
                    let d = faults::decide(&self.faults, "transfer.settle", &mut self.fault_rng);
                    self.settle_transfer(&id, at, !d.transfer_fail, false);
                }
            }
            Task::Deliver {
                event_id,
                webhook_id,
                attempt,
                base,
            } => {
                if let Some(d) = self.prepare_delivery(&event_id, &webhook_id, attempt, base, at) {
                    out.push(d);
                }
            }
            Task::LateEffect {
                method,
                path,
                query,
                body,
            } => super::routes::apply_late(self, at, &method, &path, &query, &body),
        }
    }

    // --- lookups ---------------------------------------------------------------------------

    pub fn project_key(&self, id: &str) -> Option<&PublicKey> {
        self.keys.get(id)
    }
    pub fn has_external_id(&self, external_id: &str) -> bool {
        self.external_ids.contains(external_id)
    }

    pub fn register_project(&mut self, id: &str, key: PublicKey) {
        self.projects.insert(id.to_string(), key.to_pem());
        self.keys.insert(id.to_string(), key);
    }

    // --- invoices --------------------------------------------------------------------------

    /// Store a validated invoice, log `created` and schedule its fate.
    pub fn create_invoice(&mut self, mut inv: Invoice, now: DateTime<Utc>) -> Invoice {
        let id = self.new_id();
        inv.id = id.clone();
        inv.status = "created".into();
        inv.created = Timestamp(now);
        inv.updated = Some(Timestamp(now));
        inv.nominal_amount = inv.amount.unwrap_or(0);
        inv.fee = Some(0);
        inv.link = format!("https://sandbox.starkbank.com/invoicelink/{id}");
        inv.pdf = format!("https://sandbox.api.starkbank.com/v2/invoice/{id}.pdf");
        inv.brcode = format!(
            "00020101021226890014br.gov.bcb.pix2567brcode-h.sandbox.starkinfra.com/v2/{id}5204000053039865802BR5915Stark Bank S.A.6009Sao Paulo62070503***6304{:04X}",
            (inv.amount.unwrap_or(0) as u64) & 0xffff
        );
        let seq = self.next_seq();
        self.invoices.push(id.clone(), seq, inv.clone());
        self.log::<Invoice>(&id, now, "created", Vec::new());

        let due = inv
            .due
            .map(|d| d.0)
            .unwrap_or_else(|| add_seconds(now, 2 * 86_400).unwrap_or(now));
        let expiration = inv.expiration.unwrap_or(DEFAULT_EXPIRATION);
        if self.rng.gen_bool(self.settings.pay_rate.clamp(0.0, 1.0)) {
            let (lo, hi) = self.settings.pay_delay;
            let delay = if hi > lo {
                self.rng.gen_range(lo..=hi)
            } else {
                lo
            };
            if let Some(pay_at) = add_seconds(now, delay).filter(|t| *t < due) {
                self.schedule(pay_at, Task::InvoicePay { id: id.clone() });
            }
        }
        self.schedule(due, Task::InvoiceOverdue { id: id.clone() });
        if let Some(at) = add_seconds(due, expiration) {
            self.schedule(at, Task::InvoiceExpire { id: id.clone() });
        }
        self.invoices.get(&id).cloned().expect("just stored")
    }

    /// Log the change `kind` of the invoice or transfer `id` (its snapshot now, stamped `at`)
    /// and announce it with an event.
    fn log<T: Kept>(&mut self, id: &str, at: DateTime<Utc>, kind: &str, errors: Vec<Value>)
    where
        EventLog: From<Log<T>>,
    {
        let Some(subject) = T::tables(self).0.get(id).cloned() else {
            return;
        };
        let log = Log {
            id: self.new_id(),
            created: Timestamp(at),
            kind: kind.to_string(),
            errors,
            subject,
        };
        let seq = self.next_seq();
        T::tables(self).1.push(log.id.clone(), seq, log.clone());
        self.emit(at, T::KEY, EventLog::from(log));
    }

    /// Move the invoice or transfer `id` from status `from` to `to`, logged as `to` with
    /// `errors`. False (and nothing done) when there is no such item or it is not `from`.
    fn advance<T: Kept>(
        &mut self,
        id: &str,
        at: DateTime<Utc>,
        from: &str,
        to: &str,
        errors: Vec<Value>,
    ) -> bool
    where
        EventLog: From<Log<T>>,
    {
        let Some(item) = T::tables(self).0.get_mut(id) else {
            return false;
        };
        let (status, updated) = item.status();
        if status != from {
            return false;
        }
        *status = to.to_string();
        *updated = Some(Timestamp(at));
        self.log::<T>(id, at, to, errors);
        true
    }

    /// Cancel a `created` invoice (status and log `canceled`); it is never paid afterwards.
    /// `None` if there is no such invoice or it is not `created`.
    pub fn cancel_invoice(&mut self, id: &str, at: DateTime<Utc>) -> Option<Invoice> {
        if !self.advance::<Invoice>(id, at, "created", "canceled", Vec::new()) {
            return None;
        }
        self.invoices.get(id).cloned()
    }

    /// Change the `amount`, `due` or `expiration` of a `created` invoice (log `updated`); a
    /// new `due` or `expiration` moves when it becomes overdue and expires. `None` if there
    /// is no such invoice or it is not `created`.
    pub fn update_invoice(
        &mut self,
        id: &str,
        at: DateTime<Utc>,
        amount: Option<i64>,
        due: Option<DateTime<Utc>>,
        expiration: Option<i64>,
    ) -> Option<Invoice> {
        let inv = self
            .invoices
            .get_mut(id)
            .filter(|i| i.status == "created")?;
        if let Some(a) = amount {
            inv.amount = Some(a);
            inv.nominal_amount = a;
        }
        if let Some(d) = due {
            inv.due = Some(Timestamp(d));
        }
        if let Some(e) = expiration {
            inv.expiration = Some(e);
        }
        inv.updated = Some(Timestamp(at));
        let snapshot = inv.clone();
        if due.is_some() || expiration.is_some() {
            // The tasks of the old dates stay in the schedule and do nothing when they come.
            self.schedule(
                invoice_due(&snapshot),
                Task::InvoiceOverdue { id: id.to_string() },
            );
            if let Some(e) = invoice_expires(&snapshot) {
                self.schedule(e, Task::InvoiceExpire { id: id.to_string() });
            }
        }
        self.log::<Invoice>(id, at, "updated", Vec::new());
        self.invoices.get(id).cloned()
    }

    /// A fee for a payment of `amount`, from the configured range.
    pub fn sample_invoice_fee(&mut self, amount: i64) -> i64 {
        self.settings.invoice_fee.sample(amount, &mut self.rng)
    }

    /// Mark paid with `amount` actually paid and `fee` (log `paid`).
    pub fn pay_invoice(&mut self, id: &str, at: DateTime<Utc>, amount: i64, fee: i64) {
        let tx = self.transaction_id();
        if let Some(inv) = self.invoices.get_mut(id) {
            inv.status = "paid".into();
            inv.amount = Some(amount);
            inv.fee = Some(fee);
            inv.transaction_ids = vec![tx];
            inv.updated = Some(Timestamp(at));
        }
        self.log::<Invoice>(id, at, "paid", Vec::new());
    }

    /// Credit a paid invoice (log `credited`, balance += amount - fee). Once only.
    pub fn credit_invoice(&mut self, id: &str, at: DateTime<Utc>) {
        if self.credited.contains_key(id) {
            return;
        }
        let Some(inv) = self.invoices.get(id) else {
            return;
        };
        if inv.status != "paid" {
            return;
        }
        let net = inv.amount.unwrap_or(0) - inv.fee.unwrap_or(0);
        self.credited.insert(id.to_string(), at);
        self.balance = self.balance.saturating_add(net);
        self.balance_updated = at;
        if let Some(inv) = self.invoices.get_mut(id) {
            inv.updated = Some(Timestamp(at));
        }
        self.log::<Invoice>(id, at, "credited", Vec::new());
    }

    /// Admin (`POST /_sandbox/generate`): create `n` invoices at once, tagged `tags`, each
    /// with its `created` log and event; with `credited`, also paid (amount `amount`, a fee
    /// from the configured range) and credited now, with their logs and events. For load
    /// tests: the same records the API would make, without the per-request cost.
    pub fn generate_invoices(
        &mut self,
        n: usize,
        credited: bool,
        tags: &[String],
        amount: Option<i64>,
        now: DateTime<Utc>,
    ) -> Vec<Invoice> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let amount = amount.unwrap_or_else(|| self.rng.gen_range(1_000..=100_000));
            let inv = Invoice {
                name: format!("Generated Customer {i}"),
                tax_id: "012.345.678-90".into(),
                tags: tags.to_vec(),
                due: add_seconds(now, 2 * 86_400).map(Timestamp),
                expiration: Some(DEFAULT_EXPIRATION),
                fine: 2.0,
                interest: 1.0,
                ..unstored_invoice(amount, now)
            };
            let id = self.create_invoice(inv, now).id;
            if credited {
                let fee = self.sample_invoice_fee(amount);
                self.pay_invoice(&id, now, amount, fee);
                self.credit_invoice(&id, now);
            }
            out.push(self.invoices.get(&id).cloned().expect("just stored"));
        }
        out
    }

    // --- transfers -------------------------------------------------------------------------

    pub fn create_transfer(&mut self, mut t: Transfer, now: DateTime<Utc>) -> Transfer {
        let id = self.new_id();
        t.id = id.clone();
        t.status = "created".into();
        t.fee = 0;
        t.created = Timestamp(now);
        t.updated = Some(Timestamp(now));
        if !t.external_id.is_empty() {
            self.external_ids.insert(t.external_id.clone());
        }
        let start = t.scheduled.map(|s| s.0.max(now)).unwrap_or(now);
        let start = add_seconds(start, 2).unwrap_or(start);
        let seq = self.next_seq();
        self.transfers.push(id.clone(), seq, t.clone());
        self.log::<Transfer>(&id, now, "created", Vec::new());
        self.schedule(start, Task::TransferProcess { id: id.clone() });
        self.transfers.get(&id).cloned().expect("just stored")
    }

    /// Cancel a transfer that is still `created`, i.e. waiting for its `scheduled` time
    /// (status and log `canceled`): it never runs. `None` if there is no such transfer or it
    /// is no longer `created`.
    pub fn cancel_transfer(&mut self, id: &str, at: DateTime<Utc>) -> Option<Transfer> {
        if !self.advance::<Transfer>(id, at, "created", "canceled", Vec::new()) {
            return None;
        }
        self.transfers.get(id).cloned()
    }

    /// Settle a transfer that is `created` or `processing`: success debits amount + fee when
    /// the balance covers it (or always, when `force`); otherwise it fails.
    pub fn settle_transfer(&mut self, id: &str, at: DateTime<Utc>, succeed: bool, force: bool) {
        self.advance::<Transfer>(id, at, "created", "processing", Vec::new());
        let Some(t) = self.transfers.get(id) else {
            return;
        };
        if t.status != "processing" {
            return;
        }
        let fee = self.settings.transfer_fee;
        let total = t.amount.saturating_add(fee);
        let refusal = if !succeed {
            Some("Transfer rejected by the receiving bank")
        } else if !force && self.balance < total {
            Some("Insufficient balance")
        } else {
            None
        };
        if let Some(reason) = refusal {
            let errors = vec![Value::String(reason.into())];
            self.advance::<Transfer>(id, at, "processing", "failed", errors);
        } else {
            let tx = self.transaction_id();
            self.balance = self.balance.saturating_sub(total);
            self.balance_updated = at;
            if let Some(t) = self.transfers.get_mut(id) {
                t.fee = fee;
                t.transaction_ids = vec![tx];
            }
            self.advance::<Transfer>(id, at, "processing", "success", Vec::new());
        }
    }

    // --- events and deliveries -------------------------------------------------------------

    fn emit(&mut self, at: DateTime<Utc>, subscription: &str, log: EventLog) {
        let event = Event {
            id: self.new_id(),
            created: Timestamp(at),
            subscription: subscription.to_string(),
            workspace_id: Some(self.workspace_id.clone()),
            is_delivered: Some(false),
            log,
        };
        let event_id = event.id.clone();
        let seq = self.next_seq();
        self.events.push(event.id.clone(), seq, event);
        let hooks: Vec<String> = self
            .webhooks
            .iter()
            .filter(|w| w.item.subscriptions.iter().any(|s| s == subscription))
            .map(|w| w.item.id.clone())
            .collect();
        for webhook_id in hooks {
            self.schedule(
                at,
                Task::Deliver {
                    event_id: event_id.clone(),
                    webhook_id,
                    attempt: 0,
                    base: at,
                },
            );
        }
    }

    fn prepare_delivery(
        &mut self,
        event_id: &str,
        webhook_id: &str,
        attempt: u32,
        base: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Option<Dispatch> {
        let event = self.events.get(event_id)?;
        if event.is_delivered == Some(true) {
            return None;
        }
        let url = self.webhooks.get(webhook_id)?.url.clone();
        let mut body_event = event.clone();
        body_event.is_delivered = None;
        let route = format!("delivery.{}", body_event.subscription);
        let d = faults::decide(&self.faults, &route, &mut self.fault_rng);
        if d.drop {
            return None;
        }
        let envelope = EventEnvelope { event: body_event };
        let body = if d.reshapes() {
            let mut v = serde_json::to_value(envelope).ok()?;
            d.reshape(&mut v);
            serde_json::to_vec(&v).ok()?
        } else {
            serde_json::to_vec(&envelope).ok()?
        };
        Some(Dispatch {
            event_id: event_id.to_string(),
            webhook_id: webhook_id.to_string(),
            url,
            body,
            attempt,
            base,
            at,
            duplicate: d.duplicate,
            reorder: d.reorder,
            high_s: self.fault_rng.gen_bool(0.5),
        })
    }

    /// Record what a delivery ended in: 200 marks the event delivered; anything else records
    /// an attempt and schedules the next retry (+5, +30, +120 min after the first try).
    pub fn record_delivery(&mut self, d: &Dispatch, outcome: &DeliveryOutcome) {
        let Some((code, message)) = outcome.attempt_code() else {
            if let Some(e) = self.events.get_mut(&d.event_id) {
                e.is_delivered = Some(true);
            }
            return;
        };
        if self.events.get(&d.event_id).is_none() {
            return;
        }
        let attempt = EventAttempt {
            id: self.new_id(),
            code: code.to_string(),
            message,
            event_id: d.event_id.clone(),
            webhook_id: d.webhook_id.clone(),
            created: Timestamp(d.at),
        };
        let seq = self.next_seq();
        self.attempts.push(attempt.id.clone(), seq, attempt);
        if let Some(offset) = RETRY_OFFSETS_MIN.get(d.attempt as usize) {
            self.schedule(
                add_seconds(d.base, offset * 60).unwrap_or(d.base),
                Task::Deliver {
                    event_id: d.event_id.clone(),
                    webhook_id: d.webhook_id.clone(),
                    attempt: d.attempt + 1,
                    base: d.base,
                },
            );
        }
    }

    pub fn set_event_delivered(&mut self, id: &str, delivered: bool) -> Option<Event> {
        let e = self.events.get_mut(id)?;
        e.is_delivered = Some(delivered);
        let e = e.clone();
        if delivered {
            self.marked_delivered.insert(id.to_string());
        }
        Some(e)
    }

    pub fn delete_event(&mut self, id: &str) -> Option<Event> {
        self.events.remove(id)
    }

    pub fn create_webhook(&mut self, url: String, subscriptions: Vec<String>) -> Webhook {
        let w = Webhook {
            id: self.new_id(),
            url,
            subscriptions,
        };
        let seq = self.next_seq();
        self.webhooks.push(w.id.clone(), seq, w.clone());
        w
    }

    pub fn delete_webhook(&mut self, id: &str) -> Option<Webhook> {
        self.webhooks.remove(id)
    }

    /// Decide request faults for `route`.
    pub fn decide_request_faults(&mut self, route: &str) -> faults::Decision {
        let rules: Vec<FaultRule> = self
            .faults
            .iter()
            .filter(|r| r.kind.is_request_fault())
            .cloned()
            .collect();
        faults::decide(&rules, route, &mut self.fault_rng)
    }

    // --- ground truth ----------------------------------------------------------------------

    pub fn truth(&self) -> GroundTruth {
        GroundTruth {
            invoices: self
                .invoices
                .iter()
                .map(|r| {
                    let i = &r.item;
                    TruthInvoice {
                        id: i.id.clone(),
                        status: i.status.clone(),
                        amount: i.amount.unwrap_or(0),
                        nominal_amount: i.nominal_amount,
                        fee: i.fee.unwrap_or(0),
                        tags: i.tags.clone(),
                        credited: self.credited.contains_key(&i.id),
                        credited_at: self.credited.get(&i.id).copied(),
                    }
                })
                .collect(),
            transfers: self
                .transfers
                .iter()
                .map(|r| {
                    let t = &r.item;
                    TruthTransfer {
                        id: t.id.clone(),
                        external_id: t.external_id.clone(),
                        amount: t.amount,
                        status: t.status.clone(),
                        fee: t.fee,
                        tags: t.tags.clone(),
                        tax_id: t.tax_id.clone(),
                        bank_code: t.bank_code.clone(),
                        branch_code: t.branch_code.clone(),
                        account_number: t.account_number.clone(),
                        account_type: t.account_type.clone(),
                        name: t.name.clone(),
                    }
                })
                .collect(),
            balance: self.balance,
            events: self.events.len(),
            undelivered_events: self
                .events
                .iter()
                .filter(|e| e.item.is_delivered != Some(true))
                .count(),
            marked_delivered: self
                .marked_delivered
                .iter()
                .filter_map(|id| self.events.get(id))
                .map(|e| {
                    let (subject_id, subject_tags) = match &e.log {
                        EventLog::Invoice(l) => {
                            (Some(l.subject.id.clone()), l.subject.tags.clone())
                        }
                        EventLog::Transfer(l) => {
                            (Some(l.subject.id.clone()), l.subject.tags.clone())
                        }
                        EventLog::Other(_) => (None, Vec::new()),
                    };
                    TruthMarkedEvent {
                        id: e.id.clone(),
                        subscription: e.subscription.clone(),
                        subject_id,
                        subject_tags,
                    }
                })
                .collect(),
        }
    }
}

/// A `created` invoice of `amount` made at `now`, before the bank gives it an id: nothing
/// paid, no fine, interest, due date, tags or descriptions yet (callers set what they have).
pub(crate) fn unstored_invoice(amount: i64, now: DateTime<Utc>) -> Invoice {
    Invoice {
        id: String::new(),
        amount: Some(amount),
        nominal_amount: amount,
        fee: Some(0),
        fine_amount: 0,
        interest_amount: 0,
        discount_amount: 0,
        name: String::new(),
        tax_id: String::new(),
        status: "created".into(),
        tags: Vec::new(),
        due: None,
        expiration: None,
        fine: 0.0,
        interest: 0.0,
        discounts: Vec::new(),
        descriptions: Vec::new(),
        brcode: String::new(),
        link: String::new(),
        pdf: String::new(),
        transaction_ids: Vec::new(),
        created: Timestamp(now),
        updated: None,
    }
}

/// When a stored invoice is due (its `due`; one without is due two days after creation).
pub(crate) fn invoice_due(inv: &Invoice) -> DateTime<Utc> {
    inv.due
        .map(|d| d.0)
        .unwrap_or_else(|| add_seconds(inv.created.0, 2 * 86_400).unwrap_or(inv.created.0))
}

/// When a stored invoice expires: `expiration` seconds after it is due.
pub(crate) fn invoice_expires(inv: &Invoice) -> Option<DateTime<Utc>> {
    add_seconds(
        invoice_due(inv),
        inv.expiration.unwrap_or(DEFAULT_EXPIRATION),
    )
}

/// `t + secs`, or `None` past the representable range.
pub(crate) fn add_seconds(t: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(Duration::try_seconds(secs)?)
}

/// One page of `items` (sorted by ascending `seq`), newest first, starting below `cursor`.
/// Returns the items and the cursor of the next page, if there is one.
pub fn page<T>(
    items: &[Rec<T>],
    cursor: Option<u64>,
    limit: usize,
    mut keep: impl FnMut(&T) -> bool,
) -> (Vec<&T>, Option<u64>) {
    let end = match cursor {
        Some(c) => items.partition_point(|r| r.seq < c),
        None => items.len(),
    };
    let mut out = Vec::new();
    let mut last = 0;
    for r in items[..end].iter().rev() {
        if !keep(&r.item) {
            continue;
        }
        if out.len() == limit {
            return (out, Some(last));
        }
        out.push(&r.item);
        last = r.seq;
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_deliveries_get_the_real_attempt_codes() {
        assert_eq!(DeliveryOutcome::Status(200).attempt_code(), None);
        assert_eq!(
            DeliveryOutcome::Status(404).attempt_code(),
            Some((
                "badHttpStatus",
                "HTTP POST request returned status 404".into()
            ))
        );
        assert_eq!(
            DeliveryOutcome::Timeout.attempt_code().map(|c| c.0),
            Some("timeout")
        );
        assert_eq!(
            DeliveryOutcome::BadConnection("refused".into())
                .attempt_code()
                .map(|c| c.0),
            Some("badConnection")
        );
    }
}
