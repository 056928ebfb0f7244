//! What each request produces: one [`RequestRecord`], handed to the [`RequestSink`] the
//! embedding program supplies (the CLI formats it as a text or JSON line). The server itself
//! prints nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::api::webhook::KeyFetchError;
use crate::events::Verdict;
use crate::keys::SignatureError;
use crate::ledger::LedgerError;

/// One webhook request, as answered.
#[derive(Debug)]
pub struct RequestRecord {
    /// The HTTP status answered.
    pub status: u16,
    /// What the delivery said it was, once it was verified and parsed (`None` when it was
    /// refused before that).
    pub event: Option<EventIds>,
    pub outcome: RequestOutcome,
    /// From the handler's start to the answer (the body read included).
    pub elapsed: Duration,
}

/// The identifiers of a verified, parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIds {
    pub event_id: String,
    pub subscription: String,
    /// The log's `type` (`credited`, `paid`…), when it has one.
    pub log_type: Option<String>,
    /// The invoice of an invoice log, or the invoice a transfer of ours forwards.
    pub invoice_id: Option<String>,
    /// The snapshot's amount in cents (the invoice's, or the transfer's).
    pub amount: Option<i64>,
    /// The snapshot's fee in cents, when it carries one.
    pub fee: Option<i64>,
    /// The bank's id of the transfer of a transfer log.
    pub transfer_id: Option<String>,
}

/// How a request ended.
#[derive(Debug)]
pub enum RequestOutcome {
    /// The event is committed to the ledger (answered 200).
    Recorded {
        verdict: Verdict,
        /// The ledger's note for the operator (e.g. why a credit is not forwarded).
        note: Option<String>,
    },
    /// Nothing was recorded.
    Refused(Refusal),
}

impl RequestOutcome {
    /// The HTTP status this outcome is answered with.
    pub fn status(&self) -> u16 {
        match self {
            RequestOutcome::Recorded { .. } => 200,
            RequestOutcome::Refused(r) => r.status(),
        }
    }
}

/// Why a request was answered with something other than 200. The `Display` text is the
/// answer's body (and the reason an operator sees).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Over the body limit (or declared so): 413.
    #[error("body too large")]
    BodyTooLarge,
    /// The body did not arrive within the body timeout: 408.
    #[error("body too slow")]
    BodyTooSlow,
    /// The connection failed while the body was read: 400.
    #[error("cannot read body")]
    UnreadableBody,
    /// The signing key could not be fetched: 503, so Stark Bank retries.
    #[error("signing key unavailable")]
    KeyUnavailable(#[source] KeyFetchError),
    /// `Digital-Signature` missing, malformed or wrong: 400.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// Signed, but not UTF-8: 400.
    #[error("body is not UTF-8")]
    NotUtf8,
    /// Signed, but not an event (no `event.id` to keep it by; a signed event with an id that
    /// does not decode is kept raw and answered 200 instead): 400.
    #[error("not an event: {0}")]
    NotAnEvent(serde_json::Error),
    /// The ledger could not commit it: 503.
    #[error("ledger unavailable")]
    LedgerUnavailable(#[source] Arc<LedgerError>),
    /// The server is stopping: 503.
    #[error("shutting down")]
    ShuttingDown,
}

impl Refusal {
    /// The HTTP status for it.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BodyTooLarge => 413,
            Refusal::BodyTooSlow => 408,
            Refusal::UnreadableBody
            | Refusal::BadSignature(_)
            | Refusal::NotUtf8
            | Refusal::NotAnEvent(_) => 400,
            Refusal::KeyUnavailable(_) | Refusal::LedgerUnavailable(_) | Refusal::ShuttingDown => {
                503
            }
        }
    }

    /// The delivery may succeed later (Stark Bank retries a 5xx); otherwise it never will.
    pub fn is_retryable(&self) -> bool {
        self.status() >= 500
    }
}

/// Where request records go. Called once per request, on the request's task, before the
/// answer is sent: keep it quick.
pub trait RequestSink: Send + Sync + 'static {
    fn record(&self, record: &RequestRecord);
}

impl<F> RequestSink for F
where
    F: Fn(&RequestRecord) + Send + Sync + 'static,
{
    fn record(&self, record: &RequestRecord) {
        self(record)
    }
}

/// A sink that drops every record (the default: a library prints nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl RequestSink for Discard {
    fn record(&self, _: &RequestRecord) {}
}
