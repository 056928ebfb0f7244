//! The HTTP side: the accept loop (header timeout, graceful shutdown), the router, and the
//! webhook handler (body limits and timeout, signature before content, 200 only after the
//! writer committed).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use super::Stats;
use super::record::{EventIds, Refusal, RequestOutcome, RequestRecord, RequestSink};
use super::writer::{Incoming, Job};
use crate::api::model::{EventEnvelope, EventLog};
use crate::api::webhook::{VerifyError, WebhookVerifier};
use crate::events::{Undecodable, Verdict};

/// Largest body accepted.
pub(crate) const BODY_LIMIT: usize = 1 << 20;
/// Oversized bodies up to this size are read and dropped before answering 413.
const DRAIN_LIMIT: usize = 16 << 20;

/// What the handler shares across requests.
pub(crate) struct App {
    pub(crate) verifier: WebhookVerifier,
    pub(crate) writer: mpsc::Sender<Job>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) sink: Arc<dyn RequestSink>,
    pub(crate) body_timeout: Duration,
    /// The path of the registered public URL when it is not `/webhook` (a tunnel forwards
    /// it as is): deliveries are taken there too, and its sibling `healthz` answers.
    pub(crate) public_path: Option<String>,
    /// The ledger `/healthz` reads.
    pub(crate) ledger: std::path::PathBuf,
}

/// How long `/healthz` waits for its read of the ledger.
const HEALTH_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// `POST /webhook`, `GET /healthz` (and the same at the public URL's path), 404 for the rest.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/webhook", post(webhook))
        .route("/healthz", get(healthz))
        .fallback(other_path)
        .with_state(app)
}

/// The public URL's own path and its `healthz`, when it has one; 404 for the rest.
async fn other_path(
    State(app): State<Arc<App>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(p) = &app.public_path {
        let health = p.rsplit_once('/').map(|(dir, _)| format!("{dir}/healthz"));
        if uri.path() == p && method == axum::http::Method::POST {
            return webhook(State(app.clone()), headers, body).await;
        }
        if health.as_deref() == Some(uri.path()) && method == axum::http::Method::GET {
            return healthz(State(app.clone())).await;
        }
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// `GET /healthz`: 200 when the ledger can be read (its id, a cheap read of a fresh
/// connection, so a removed or unreadable file shows), else 503 with a short reason (no path:
/// the answer may go out through a tunnel).
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let path = app.ledger.clone();
    let read = tokio::task::spawn_blocking(move || {
        crate::ledger::Ledger::open(&path).and_then(|l| l.ledger_id())
    });
    let reason = match tokio::time::timeout(HEALTH_READ_TIMEOUT, read).await {
        Ok(Ok(Ok(_))) => return "ok\n".into_response(),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "healthz: cannot read the ledger");
            use crate::ledger::LedgerError as E;
            match e {
                E::Missing { .. } => "ledger missing",
                E::Busy { .. } => "ledger busy",
                E::Corrupt { .. } | E::Uninitialised { .. } => "ledger corrupt",
                E::TooNew { .. } => "ledger written by a newer stark",
                _ => "ledger cannot be read",
            }
        }
        Ok(Err(_)) => "ledger cannot be read",
        Err(_) => "ledger does not answer",
    };
    (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response()
}

/// Accept loop with header read timeouts and graceful shutdown.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = watched.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within 30 s of shutdown");
    }
}

/// One delivery: handle it, count it, hand its record to the sink, answer.
async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (event, outcome) = handle(&app, &headers, body).await;
    let record = RequestRecord {
        status: outcome.status(),
        event,
        outcome,
        elapsed: started.elapsed(),
    };
    app.stats.count(&record);
    app.sink.record(&record);
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match &record.outcome {
        RequestOutcome::Recorded { .. } => (status, "ok\n").into_response(),
        RequestOutcome::Refused(r) => (status, format!("{r}\n")).into_response(),
    }
}

/// The steps of a delivery, in order; each refusal ends it.
async fn handle(app: &App, headers: &HeaderMap, body: Body) -> (Option<EventIds>, RequestOutcome) {
    let refused = |r: Refusal| (None, RequestOutcome::Refused(r));
    // 1. The raw body, bounded in size and time.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > DRAIN_LIMIT as u64) {
        return refused(Refusal::BodyTooLarge);
    }
    let bytes = match tokio::time::timeout(
        app.body_timeout,
        read_body(body, BODY_LIMIT, DRAIN_LIMIT),
    )
    .await
    {
        Err(_) => return refused(Refusal::BodyTooSlow),
        Ok(Err(BodyError::TooLarge)) => return refused(Refusal::BodyTooLarge),
        Ok(Err(BodyError::Read)) => return refused(Refusal::UnreadableBody),
        Ok(Ok(b)) => b,
    };
    // 2. The signature, before looking at the content.
    let signature = headers
        .get("digital-signature")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    match app.verifier.verify(&bytes, signature).await {
        Ok(Some(new_key)) => {
            let _ = app.writer.try_send(Job::Key(new_key));
        }
        Ok(None) => {}
        Err(VerifyError::KeyUnavailable(e)) => {
            tracing::warn!(error = %e, "cannot fetch Stark Bank's public key");
            return refused(Refusal::KeyUnavailable(e));
        }
        Err(VerifyError::Signature(e)) => return refused(Refusal::BadSignature(e)),
    }
    // 3. The content.
    let Ok(raw) = std::str::from_utf8(&bytes) else {
        return refused(Refusal::NotUtf8);
    };
    // A signed body with an event id that does not decode is still the bank's event: it is
    // kept raw and answered 200 once (a 400 would only bring the same bytes back, and
    // `status` shows it to the operator). Without an id it is not an event.
    let (event, ids) = match serde_json::from_str::<EventEnvelope>(raw) {
        Ok(envelope) => {
            let ev = &envelope.event;
            let mut ids = EventIds {
                event_id: ev.id.clone(),
                subscription: ev.subscription.clone(),
                log_type: ev.log.kind().map(str::to_string),
                invoice_id: None,
                amount: None,
                fee: None,
                transfer_id: None,
            };
            match &ev.log {
                EventLog::Invoice(l) => {
                    ids.invoice_id = Some(l.subject.id.clone());
                    ids.amount = l.subject.amount.or(Some(l.subject.nominal_amount));
                    ids.fee = l.subject.fee;
                }
                EventLog::Transfer(l) => {
                    ids.invoice_id = crate::payout::invoice_of_external_id(&l.subject.external_id)
                        .map(str::to_string);
                    ids.amount = Some(l.subject.amount);
                    ids.fee = Some(l.subject.fee);
                    ids.transfer_id = Some(l.subject.id.clone());
                }
                EventLog::Other(_) => {}
            }
            (Incoming::Decoded(Box::new(envelope)), ids)
        }
        Err(e) => {
            let Some(u) = Undecodable::of(raw, e.to_string()) else {
                return refused(Refusal::NotAnEvent(e));
            };
            tracing::warn!(event = %u.id, error = %u.reason, "a verified event does not decode; keeping it raw (see `stark status`)");
            let ids = EventIds {
                event_id: u.id.clone(),
                subscription: u.subscription.clone().unwrap_or_default(),
                log_type: None,
                invoice_id: None,
                amount: None,
                fee: None,
                transfer_id: None,
            };
            (Incoming::Undecodable(u), ids)
        }
    };
    // 4. Durably recorded, then 200.
    let (reply_tx, reply_rx) = oneshot::channel();
    let job = Job::Event {
        event,
        raw: raw.to_string(),
        reply: reply_tx,
    };
    if app.writer.send(job).await.is_err() {
        return refused(Refusal::ShuttingDown);
    }
    let outcome = match reply_rx.await {
        Ok(Ok(applied)) => RequestOutcome::Recorded {
            verdict: applied.verdict,
            note: applied.note,
        },
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "event not recorded");
            RequestOutcome::Refused(Refusal::LedgerUnavailable(e))
        }
        Err(_) => RequestOutcome::Refused(Refusal::ShuttingDown),
    };
    (Some(ids), outcome)
}

impl Stats {
    /// Count one answered request.
    fn count(&self, record: &RequestRecord) {
        if record.status == 200 {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
        if let RequestOutcome::Recorded {
            verdict: Verdict::Credit,
            ..
        } = record.outcome
        {
            self.credits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

enum BodyError {
    TooLarge,
    Read,
}

/// Read at most `limit` bytes of body. A larger body is read on (and dropped) up to `drain`
/// bytes, so the client gets its 413 instead of a reset connection.
async fn read_body(
    mut body: Body,
    limit: usize,
    drain: usize,
) -> Result<axum::body::Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Read)?;
        if let Ok(data) = frame.into_data() {
            total += data.len();
            if total > drain {
                return Err(BodyError::TooLarge);
            }
            if total <= limit {
                buf.extend_from_slice(&data);
            }
        }
    }
    if total > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(buf.into())
}
