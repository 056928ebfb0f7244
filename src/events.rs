//! Applying an event to the ledger — the same code for webhook deliveries and for events
//! swept from `GET /v2/event`. Idempotent: an event id is applied once; a credit is recorded
//! once per invoice whichever way it arrives first (webhook, event sweep, invoice logs).

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::Serialize;

use crate::api::model::{Event, EventLog, InvoiceLog};
use crate::ledger::money::{self, EventRecord, NewCredit};

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A credit for one of our invoices: a transfer will follow.
    Credit,
    /// A credit for an invoice this ledger did not issue: recorded, never transferred.
    CreditForeign,
    /// A credit with nothing to forward (fee >= amount, or invalid amounts).
    CreditSkipped,
    /// The invoice's credit was already recorded (another delivery path got there first).
    CreditKnown,
    /// Another invoice log (created, paid, overdue...): status noted.
    InvoiceUpdate,
    /// A log of one of our transfers: status noted.
    TransferUpdate,
    /// A verified event we do not act on (other subscriptions, others' transfers).
    Ignored,
    /// This event id was already applied.
    Duplicate,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Credit => "credit",
            Verdict::CreditForeign => "credit-foreign",
            Verdict::CreditSkipped => "credit-skipped",
            Verdict::CreditKnown => "credit-known",
            Verdict::InvoiceUpdate => "invoice-update",
            Verdict::TransferUpdate => "transfer-update",
            Verdict::Ignored => "ignored",
            Verdict::Duplicate => "duplicate",
        }
    }

    /// A new credit that should be transferred.
    pub fn wants_transfer(self) -> bool {
        self == Verdict::Credit
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub event_id: String,
    pub subscription: String,
    pub log_type: Option<String>,
    pub subject_id: Option<String>,
    pub verdict: Verdict,
    /// Free text for the operator (e.g. why a credit is skipped).
    pub note: Option<String>,
}

/// Apply one event inside the caller's transaction (callers may group several per commit).
pub fn apply(
    tx: &Transaction<'_>,
    event: &Event,
    raw: &str,
    source: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Applied> {
    let (log_type, subject_id) = match &event.log {
        EventLog::Invoice(l) => (Some(l.kind.clone()), Some(l.invoice.id.clone())),
        EventLog::Transfer(l) => (Some(l.kind.clone()), Some(l.transfer.id.clone())),
        EventLog::Other(v) => (
            v.get("type").and_then(|t| t.as_str()).map(str::to_string),
            None,
        ),
    };
    let mut applied = Applied {
        event_id: event.id.clone(),
        subscription: event.subscription.clone(),
        log_type: log_type.clone(),
        subject_id: subject_id.clone(),
        verdict: Verdict::Ignored,
        note: None,
    };
    if money::event_exists(tx, &event.id)? {
        applied.verdict = Verdict::Duplicate;
        return Ok(applied);
    }
    match &event.log {
        EventLog::Invoice(log) if log.kind == "credited" => {
            let (verdict, note) = record_credit(tx, log, source, now)?;
            applied.verdict = verdict;
            applied.note = note;
        }
        EventLog::Invoice(log) => {
            if money::is_our_invoice(tx, &log.invoice.id)? {
                money::update_invoice_status(tx, &log.invoice.id, &log.invoice.status, now)?;
                applied.verdict = Verdict::InvoiceUpdate;
            }
        }
        EventLog::Transfer(log) => {
            if money::apply_bank_transfer(tx, &log.transfer, now)?.is_some()
                || money::transfer_by_external_id(tx, &log.transfer.external_id)?.is_some()
            {
                applied.verdict = Verdict::TransferUpdate;
            }
        }
        EventLog::Other(_) => {}
    }
    money::insert_event(
        tx,
        &EventRecord {
            id: &event.id,
            subscription: &event.subscription,
            log_type: log_type.as_deref(),
            log_id: event.log.id(),
            subject_id: subject_id.as_deref(),
            created: &event.created.to_api(),
            source,
            verdict: applied.verdict.as_str(),
            body: raw,
        },
        now,
    )?;
    Ok(applied)
}

/// Record the credit carried by a `credited` invoice log (from an event or from
/// `GET /v2/invoice/log`). The amount forwarded is `invoice.amount - invoice.fee` of this
/// snapshot.
pub fn record_credit(
    tx: &Transaction<'_>,
    log: &InvoiceLog,
    source: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<(Verdict, Option<String>)> {
    let inv = &log.invoice;
    let inserted = money::insert_credit(
        tx,
        &NewCredit {
            invoice_id: &inv.id,
            log_id: &log.id,
            amount: inv.amount,
            fee: inv.fee,
            credited_at: &log.created.to_api(),
            source,
        },
        now,
    )?;
    if let Some(status) = Some(inv.status.as_str()).filter(|s| !s.is_empty()) {
        money::update_invoice_status(tx, &inv.id, status, now)?;
    }
    if !inserted {
        return Ok((Verdict::CreditKnown, None));
    }
    if !money::is_our_invoice(tx, &inv.id)? {
        return Ok((
            Verdict::CreditForeign,
            Some("not issued by this ledger: never transferred".into()),
        ));
    }
    if let Some(reason) = money::skip_reason(inv.amount, inv.fee) {
        return Ok((Verdict::CreditSkipped, Some(reason)));
    }
    Ok((Verdict::Credit, None))
}
