//! Applying an event to the ledger — the same code for webhook deliveries and for events
//! swept from `GET /v2/event`. Idempotent: an event id is applied once; a credit is recorded
//! once per invoice whichever way it arrives first (webhook, event sweep, invoice logs).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::model::{Event, EventLog, InvoiceLog};
use crate::domain::money::net_amount;
use crate::ledger::credits::NewCredit;
use crate::ledger::decoding::{IncompleteRecord, UndecodedRecord};
use crate::ledger::events::EventRecord;
pub use crate::ledger::events::EventSource;
use crate::ledger::transfers::BankTransferUpdate;
use crate::ledger::{LedgerError, Tx};

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
    /// A credit whose snapshot lacks `amount` or `fee`: nothing is recorded as forwardable;
    /// it is reported, and `reconcile` reads the invoice's `credited` log again until one
    /// carries both.
    CreditIncomplete,
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
    /// A verified event that does not decode: kept raw (`ledger::decoding`), answered 200
    /// once, listed by `status`.
    Undecodable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Credit => "credit",
            Verdict::CreditForeign => "credit-foreign",
            Verdict::CreditSkipped => "credit-skipped",
            Verdict::CreditIncomplete => "credit-incomplete",
            Verdict::CreditKnown => "credit-known",
            Verdict::InvoiceUpdate => "invoice-update",
            Verdict::TransferUpdate => "transfer-update",
            Verdict::Ignored => "ignored",
            Verdict::Duplicate => "duplicate",
            Verdict::Undecodable => "undecodable",
        }
    }

    /// A new credit that should be transferred.
    pub(crate) fn wants_transfer(self) -> bool {
        self == Verdict::Credit
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Applied {
    pub event_id: String,
    pub subscription: String,
    pub log_type: Option<String>,
    pub subject_id: Option<String>,
    pub verdict: Verdict,
    /// Free text for the operator (e.g. why a credit is skipped).
    pub note: Option<String>,
}

/// How an event reached us: its body as received, by which path, and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival<'a> {
    pub raw: &'a str,
    pub source: EventSource,
    pub now: DateTime<Utc>,
}

impl<'a> Arrival<'a> {
    /// Delivered to `serve-webhook`.
    pub(crate) fn webhook(raw: &'a str, now: DateTime<Utc>) -> Self {
        Arrival {
            raw,
            source: EventSource::Webhook,
            now,
        }
    }

    /// Found by `reconcile`'s sweep of undelivered events.
    pub(crate) fn sweep(raw: &'a str, now: DateTime<Utc>) -> Self {
        Arrival {
            raw,
            source: EventSource::Sweep,
            now,
        }
    }
}

/// Apply one event inside the caller's transaction (callers may group several per commit).
pub(crate) fn apply(tx: &Tx<'_>, event: &Event, at: Arrival<'_>) -> Result<Applied, LedgerError> {
    let Arrival { raw, source, now } = at;
    let (log_type, subject_id) = match &event.log {
        EventLog::Invoice(l) => (Some(l.kind.clone()), Some(l.subject.id.clone())),
        EventLog::Transfer(l) => (Some(l.kind.clone()), Some(l.subject.id.clone())),
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
    if tx.event_exists(&event.id)? {
        applied.verdict = Verdict::Duplicate;
        return Ok(applied);
    }
    match &event.log {
        EventLog::Invoice(log) if log.kind == "credited" => {
            let (verdict, note) = record_credit(tx, log, Some(&event.id), source, now)?;
            applied.verdict = verdict;
            applied.note = note;
        }
        EventLog::Invoice(log) => {
            if tx.is_our_invoice(&log.subject.id)? {
                tx.update_invoice_status(&log.subject.id, &log.subject.status, now)?;
                applied.verdict = Verdict::InvoiceUpdate;
            }
        }
        EventLog::Transfer(log) => {
            if tx.record_bank_transfer(&log.subject, now)? != BankTransferUpdate::Unknown {
                applied.verdict = Verdict::TransferUpdate;
            }
        }
        EventLog::Other(_) => {}
    }
    tx.insert_event(
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

/// Keep a verified event that does not decode (`reason`), raw, inside the caller's
/// transaction: [`Verdict::Undecodable`] the first time, [`Verdict::Duplicate`] after.
pub(crate) fn keep_undecodable(
    tx: &Tx<'_>,
    event: &Undecodable,
    at: Arrival<'_>,
) -> Result<Applied, LedgerError> {
    let Arrival { raw, source, now } = at;
    let new = tx.record_undecoded_event(
        &UndecodedRecord {
            id: &event.id,
            source,
            reason: &event.reason,
            body: raw,
        },
        now,
    )?;
    Ok(Applied {
        event_id: event.id.clone(),
        subscription: event.subscription.clone().unwrap_or_default(),
        log_type: None,
        subject_id: None,
        verdict: if new {
            Verdict::Undecodable
        } else {
            Verdict::Duplicate
        },
        note: Some(event.reason.clone()),
    })
}

/// A verified event that has an id but does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Undecodable {
    pub id: String,
    pub subscription: Option<String>,
    /// The decoding error.
    pub reason: String,
}

impl Undecodable {
    /// What can be read of a body that is not an [`crate::api::model::EventEnvelope`]: its
    /// `event.id` (a string) and `event.subscription`; `None` when it has no id (then it is
    /// not an event at all).
    pub(crate) fn of(raw: &str, reason: String) -> Option<Undecodable> {
        let v: serde_json::Value = serde_json::from_str(raw).ok()?;
        let event = v.get("event")?;
        Some(Undecodable {
            id: event.get("id")?.as_str()?.to_string(),
            subscription: event
                .get("subscription")
                .and_then(|s| s.as_str())
                .map(str::to_string),
            reason,
        })
    }
}

/// Whether an applied event concerns this ledger — an invoice it issued or a transfer it made
/// — and so may be marked delivered by this ledger's sweep. Events of other integrations in
/// the same workspace are left undelivered for their own sweeps (and are not applied again:
/// the ledger keeps their ids).
pub(crate) fn concerns_this_ledger(
    tx: &Tx<'_>,
    event: &Event,
    applied: &Applied,
) -> Result<bool, LedgerError> {
    if let Some(known) = ours_by_verdict(applied.verdict) {
        return Ok(known);
    }
    match &event.log {
        EventLog::Invoice(l) => tx.is_our_invoice(&l.subject.id),
        EventLog::Transfer(l) => Ok(tx
            .transfer_by_external_id(&l.subject.external_id)?
            .is_some()),
        EventLog::Other(_) => Ok(false),
    }
}

/// What a verdict alone says about whose event it is (`None`: ask the ledger).
fn ours_by_verdict(verdict: Verdict) -> Option<bool> {
    match verdict {
        Verdict::Credit
        | Verdict::CreditSkipped
        | Verdict::CreditIncomplete
        | Verdict::InvoiceUpdate
        | Verdict::TransferUpdate => Some(true),
        // What an undecodable event is about cannot be read (it is never applied anyway).
        Verdict::CreditForeign | Verdict::Ignored | Verdict::Undecodable => Some(false),
        // Applied before, or a credit another path recorded first: it depends on the subject
        // (a credit recorded as foreign becomes ours once its batch is recorded).
        Verdict::CreditKnown | Verdict::Duplicate => None,
    }
}

/// Whether the sweep may mark this applied event delivered: it concerns this ledger
/// ([`concerns_this_ledger`]) and, if it is a credit, the invoice's credit is recorded (a
/// credit seen without amount or fee stays open at the bank until it is).
pub(crate) fn may_mark_delivered(
    tx: &Tx<'_>,
    event: &Event,
    applied: &Applied,
) -> Result<bool, LedgerError> {
    if !concerns_this_ledger(tx, event, applied)? {
        return Ok(false);
    }
    match &event.log {
        EventLog::Invoice(l) if l.kind == "credited" => tx.credit_recorded(&l.subject.id),
        _ => Ok(true),
    }
}

/// Record the credit carried by a `credited` invoice log (from event `event_id` or from
/// `GET /v2/invoice/log`). What is forwarded is decided by the fee rule
/// ([`net_amount`]) on this snapshot's `invoice.amount` and `invoice.fee`; a snapshot
/// without either is never read as 0: nothing is recorded as a credit, the invoice is noted
/// as [`Verdict::CreditIncomplete`] (it stays without a credit, so `reconcile` asks for its
/// `credited` log again).
pub(crate) fn record_credit(
    tx: &Tx<'_>,
    log: &InvoiceLog,
    event_id: Option<&str>,
    source: EventSource,
    now: DateTime<Utc>,
) -> Result<(Verdict, Option<String>), LedgerError> {
    let inv = &log.subject;
    if let Some(status) = Some(inv.status.as_str()).filter(|s| !s.is_empty()) {
        tx.update_invoice_status(&inv.id, status, now)?;
    }
    // An invoice under one of our batch tags that no batch of the ledger knows (issued by a
    // copy of the ledger this one no longer has) is ours all the same.
    if let Some(ledger_id) = tx.ledger_id()?
        && let Some((campaign, tag)) = crate::issuer::our_batch_tag(&ledger_id, &inv.tags)
        && !tx.is_our_invoice(&inv.id)?
    {
        tx.note_tagged_invoice(&inv.id, campaign, tag, &inv.status, now)?;
    }
    let (amount, fee) = match inv.credit_money() {
        Ok(money) => money,
        Err(missing) => {
            if tx.credit_recorded(&inv.id)? {
                return Ok((Verdict::CreditKnown, None));
            }
            tx.note_incomplete_credit(
                &IncompleteRecord {
                    invoice_id: &inv.id,
                    log_id: &log.id,
                    event_id,
                    missing,
                    source,
                },
                now,
            )?;
            if !tx.is_our_invoice(&inv.id)? {
                return Ok((
                    Verdict::CreditForeign,
                    Some(format!(
                        "not issued by this ledger, and credited without {missing}: never transferred"
                    )),
                ));
            }
            return Ok((
                Verdict::CreditIncomplete,
                Some(format!(
                    "credited without {missing}: not forwarded; `stark reconcile` reads its credit log again"
                )),
            ));
        }
    };
    let forward = net_amount(amount, fee);
    let inserted = tx.insert_credit(
        &NewCredit {
            invoice_id: &inv.id,
            log_id: &log.id,
            amount,
            fee,
            forward,
            credited_at: &log.created.to_api(),
            source,
        },
        now,
    )?;
    if !inserted {
        return Ok((Verdict::CreditKnown, None));
    }
    if !tx.is_our_invoice(&inv.id)? {
        return Ok((
            Verdict::CreditForeign,
            Some("not issued by this ledger: never transferred".into()),
        ));
    }
    if let Err(why) = forward {
        return Ok((Verdict::CreditSkipped, Some(why.to_string())));
    }
    Ok((Verdict::Credit, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::EventEnvelope;
    use crate::ledger::Ledger;
    use chrono::TimeZone;

    fn credited(event_id: &str, invoice_id: &str, amount: i64, fee: i64) -> (Event, String) {
        credited_with(
            event_id,
            invoice_id,
            &format!(r#""amount": {amount}, "nominalAmount": {amount}, "fee": {fee},"#),
        )
    }

    /// A credited event for invoice `invoice_id` whose snapshot carries `money` (JSON
    /// members, e.g. `"amount": 1000,` without a fee).
    fn credited_with(event_id: &str, invoice_id: &str, money: &str) -> (Event, String) {
        decoded(format!(
            r#"{{"event": {{"id": "{event_id}", "created": "2026-11-26T12:00:00+00:00", "subscription": "invoice",
            "log": {{"id": "L{event_id}", "created": "2026-11-26T12:00:00+00:00", "type": "credited", "errors": [],
            "invoice": {{"id": "{invoice_id}", {money} "name": "Ana", "taxId": "012.345.678-90", "status": "paid",
            "created": "2026-11-26T09:00:00+00:00"}}}}}}}}"#
        ))
    }

    /// The event of a delivery body, and the body.
    fn decoded(raw: String) -> (Event, String) {
        let env: EventEnvelope = serde_json::from_str(&raw).unwrap();
        (env.event, raw)
    }

    use crate::ledger::testing::{
        add_invoice_200, add_sending_transfer_100, credit_count_and_net, event_source_and_verdict,
    };

    /// A ledger holding invoice `100` of its own.
    fn ledger_with_invoice(invoice_id: &str) -> (tempfile::TempDir, Ledger) {
        assert_eq!(invoice_id, "100", "the shared fixture holds invoice 100");
        crate::ledger::testing::ledger_with_invoice("created", false)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    fn apply_one(l: &mut Ledger, ev: &Event, raw: &str) -> Applied {
        l.write(|tx| apply(tx, ev, Arrival::webhook(raw, now())))
            .unwrap()
    }

    /// What the transfer step would pick up: (invoice, net, attempts so far).
    fn transferable(l: &Ledger) -> Vec<(String, i64, u32)> {
        l.db()
            .credits_needing_transfer(3)
            .unwrap()
            .into_iter()
            .map(|c| (c.invoice_id, c.net, c.attempts))
            .collect()
    }

    #[test]
    fn a_credit_is_recorded_once_whatever_the_path() {
        let (_d, mut l) = ledger_with_invoice("100");
        let (ev, raw) = credited("1", "100", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Credit);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Duplicate);
        // The same credit in another event (e.g. from the sweep after a webhook).
        let (ev2, raw2) = credited("2", "100", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev2, &raw2).verdict, Verdict::CreditKnown);
        assert_eq!(credit_count_and_net(&l), (1, 993));
        let need = transferable(&l);
        assert_eq!(need, vec![("100".to_string(), 993, 0)]);
    }

    #[test]
    fn foreign_and_skipped_credits_are_never_transferred() {
        let (_d, mut l) = ledger_with_invoice("100");
        let (ev, raw) = credited("1", "999", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditForeign);
        let (_d2, mut l2) = ledger_with_invoice("100");
        let (ev, raw) = credited("2", "100", 500, 500);
        let a = apply_one(&mut l2, &ev, &raw);
        assert_eq!(a.verdict, Verdict::CreditSkipped);
        assert!(a.note.unwrap().contains("nothing to forward"));
        assert!(transferable(&l).is_empty());
        assert!(transferable(&l2).is_empty());
        let (ev, raw) = credited("3", "100", -5, 0);
        let (_d3, mut l3) = ledger_with_invoice("100");
        assert_eq!(
            apply_one(&mut l3, &ev, &raw).verdict,
            Verdict::CreditSkipped
        );
    }

    #[test]
    fn a_credit_that_arrives_before_its_batch_is_recorded_becomes_ours_later() {
        let (_d, mut l) = ledger_with_invoice("100");
        let (ev, raw) = credited("1", "200", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditForeign);
        assert!(transferable(&l).is_empty());
        // The batch holding invoice 200 gets recorded afterwards (its POST answer was late).
        add_invoice_200(&l);
        let need = transferable(&l);
        assert_eq!(need, vec![("200".to_string(), 993, 0)]);
    }

    #[test]
    fn a_credit_under_our_batch_tag_that_no_batch_knows_is_ours() {
        let (_d, mut l) = ledger_with_invoice("100");
        let id = l.ledger_id().unwrap();
        let tagged = |event_id: &str, invoice_id: &str, tags: &str| {
            credited_with(
                event_id,
                invoice_id,
                &format!(r#""amount": 1000, "nominalAmount": 1000, "fee": 7, "tags": [{tags}],"#),
            )
        };
        // A forgotten campaign's batch tag (and its campaign and size tags): ours.
        let (ev, raw) = tagged(
            "1",
            "300",
            &format!(r#""stark-{id}-c2", "stark-{id}-c2-b1", "stark-{id}-c2-b1-n2""#),
        );
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Credit);
        assert_eq!(transferable(&l), vec![("300".to_string(), 993, 0)]);
        assert_eq!(l.db().max_tagged_campaign().unwrap(), 2);
        // Another ledger's tags, or only a campaign tag: foreign as before.
        let (ev, raw) = tagged("2", "400", r#""stark-other-c2", "stark-other-c2-b1""#);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditForeign);
        let (ev, raw) = tagged("3", "500", &format!(r#""stark-{id}-c2""#));
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditForeign);
        assert!(!l.db().is_our_invoice("400").unwrap());
    }

    fn transfer_event(event_id: &str, external_id: &str, status: &str) -> (Event, String) {
        decoded(format!(
            r#"{{"event": {{"id": "{event_id}", "created": "2026-11-26T13:00:00+00:00", "subscription": "transfer",
            "log": {{"id": "L{event_id}", "created": "2026-11-26T13:00:00+00:00", "type": "{status}", "errors": [],
            "transfer": {{"id": "T1", "amount": 993, "name": "Stark Bank S.A.", "taxId": "20.018.183/0001-80",
            "bankCode": "20018183", "branchCode": "0001", "accountNumber": "6341320293482496", "accountType": "payment",
            "externalId": "{external_id}", "tags": [], "status": "{status}", "fee": 0,
            "created": "2026-11-26T12:30:00+00:00"}}}}}}}}"#
        ))
    }

    #[test]
    fn transfer_events_update_our_transfers_only() {
        let (_d, mut l) = ledger_with_invoice("100");
        let (ev, raw) = credited("1", "100", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Credit);
        add_sending_transfer_100(&l);
        let (ev, raw) = transfer_event("2", "x-100-a1", "success");
        let swept = l
            .write(|tx| apply(tx, &ev, Arrival::sweep(&raw, now())))
            .unwrap();
        assert_eq!(swept.verdict, Verdict::TransferUpdate);
        let row = l.db().transfer_by_external_id("x-100-a1").unwrap().unwrap();
        assert_eq!(
            (row.status, row.transfer_id.as_deref()),
            (
                crate::ledger::transfers::TransferStatus::Success,
                Some("T1")
            )
        );
        assert_eq!(
            event_source_and_verdict(&l, "2"),
            ("sweep".to_string(), "transfer-update".to_string())
        );
        // Final already: still one of ours.
        let (ev, raw) = transfer_event("3", "x-100-a1", "failed");
        assert_eq!(
            apply_one(&mut l, &ev, &raw).verdict,
            Verdict::TransferUpdate
        );
        let (ev, raw) = transfer_event("4", "someone-else", "success");
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Ignored);
    }

    #[test]
    fn whose_event_it_is_follows_the_verdict_or_the_ledger() {
        use Verdict::*;
        for (verdict, want) in [
            (Credit, Some(true)),
            (CreditSkipped, Some(true)),
            (InvoiceUpdate, Some(true)),
            (TransferUpdate, Some(true)),
            (CreditForeign, Some(false)),
            (Ignored, Some(false)),
            (CreditKnown, None),
            (Duplicate, None),
        ] {
            assert_eq!(ours_by_verdict(verdict), want, "{verdict:?}");
        }
        // A duplicate of a credit for one of our invoices is ours; one for another's is not.
        let (_d, mut l) = ledger_with_invoice("100");
        let (ev, raw) = credited("1", "100", 1000, 7);
        apply_one(&mut l, &ev, &raw);
        let (foreign, foreign_raw) = credited("2", "999", 1000, 7);
        apply_one(&mut l, &foreign, &foreign_raw);
        l.write(|tx| {
            let again = apply(tx, &ev, Arrival::sweep(&raw, now()))?;
            assert_eq!(again.verdict, Duplicate);
            assert!(concerns_this_ledger(tx, &ev, &again)?);
            let again = apply(tx, &foreign, Arrival::sweep(&foreign_raw, now()))?;
            assert!(!concerns_this_ledger(tx, &foreign, &again)?);
            Ok::<_, LedgerError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_credit_without_fee_is_never_forwarded_until_a_complete_one_arrives() {
        let (_d, mut l) = ledger_with_invoice("100");
        for (id, money) in [
            ("1", r#""amount": 1000,"#),
            ("2", r#""amount": 1000, "fee": null,"#),
            ("3", r#""fee": 7,"#),
        ] {
            let (ev, raw) = credited_with(id, "100", money);
            let a = apply_one(&mut l, &ev, &raw);
            assert_eq!(a.verdict, Verdict::CreditIncomplete, "{money}");
            assert!(a.note.unwrap().contains("credited without"));
            assert!(transferable(&l).is_empty(), "never forwarded as fee 0");
            assert_eq!(credit_count_and_net(&l).0, 0);
            // The sweep keeps it open at the bank.
            let open = l
                .write(|tx| {
                    let again = apply(tx, &ev, Arrival::sweep(&raw, now()))?;
                    assert_eq!(again.verdict, Verdict::Duplicate);
                    may_mark_delivered(tx, &ev, &again)
                })
                .unwrap();
            assert!(!open, "not marked delivered while the credit is incomplete");
        }
        assert_eq!(
            l.db()
                .listing::<crate::status::IncompleteCredit>(10)
                .unwrap()
                .total,
            1
        );
        // Foreign and incomplete: nothing recorded as ours.
        let (ev, raw) = credited_with("4", "999", r#""amount": 1000,"#);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditForeign);
        // A complete snapshot (e.g. the invoice log reconcile reads): forwarded once.
        let (ev, raw) = credited("5", "100", 1000, 7);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::Credit);
        assert_eq!(transferable(&l), vec![("100".to_string(), 993, 0)]);
        assert!(
            l.db()
                .listing::<crate::status::IncompleteCredit>(10)
                .unwrap()
                .is_empty()
        );
        let (ev, raw) = credited_with("1", "100", r#""amount": 1000,"#);
        let marked = l
            .write(|tx| {
                let again = apply(tx, &ev, Arrival::sweep(&raw, now()))?;
                may_mark_delivered(tx, &ev, &again)
            })
            .unwrap();
        assert!(marked, "marked once the credit is recorded");
        // An incomplete copy after the credit is known changes nothing.
        let (ev, raw) = credited_with("6", "100", r#""amount": 1000,"#);
        assert_eq!(apply_one(&mut l, &ev, &raw).verdict, Verdict::CreditKnown);
        assert_eq!(credit_count_and_net(&l), (1, 993));
    }

    #[test]
    fn an_undecodable_event_is_kept_once() {
        let (_d, mut l) = ledger_with_invoice("100");
        let raw = r#"{"event": {"id": "77", "subscription": "invoice", "log": {"amount": "1"}}}"#;
        let u = Undecodable::of(raw, "invoice log: bad".into()).unwrap();
        assert_eq!(
            (u.id.as_str(), u.subscription.as_deref()),
            ("77", Some("invoice"))
        );
        let first = l
            .write(|tx| keep_undecodable(tx, &u, Arrival::webhook(raw, now())))
            .unwrap();
        let again = l
            .write(|tx| keep_undecodable(tx, &u, Arrival::webhook(raw, now())))
            .unwrap();
        assert_eq!(
            (first.verdict, again.verdict),
            (Verdict::Undecodable, Verdict::Duplicate)
        );
        assert_eq!(
            l.db()
                .listing::<crate::status::UndecodedEvent>(10)
                .unwrap()
                .total,
            1
        );
        for not_an_event in ["{}", "[1]", r#"{"event": {"id": 5}}"#, "{\"event\": {"] {
            assert!(Undecodable::of(not_an_event, String::new()).is_none());
        }
    }
}
