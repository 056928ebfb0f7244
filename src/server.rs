//! `serve-webhook` as a library: a small HTTP server that receives Stark Bank's signed events.
//!
//! Per request: read the raw body (1 MiB limit → 413, slow bodies → 408), verify
//! `Digital-Signature` before parsing (400 when missing, malformed or wrong; 503 when the key
//! cannot be fetched, so Stark retries), then hand the event to the ledger writer and answer
//! 200 only after it is committed. The writer is one thread that groups the events waiting at
//! that moment into one transaction (group commit): one fsync serves many deliveries. After a
//! commit that recorded credits, a background task runs the transfer step (the same code as
//! `transfer-credited`); the HTTP answer never waits for Stark Bank.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Serialize;
use tokio::sync::{Notify, oneshot};

use crate::api::Client;
use crate::api::model::{EventEnvelope, EventLog};
use crate::api::webhook::{KeyFetcher, VerifyError, WebhookVerifier};
use crate::clock::{Clock, SystemClock};
use crate::events::{self, Applied, Verdict};
use crate::keys::PublicKey;
use crate::ledger::Ledger;
use crate::payout::{self, PayoutOptions};

/// Largest body accepted.
pub const BODY_LIMIT: usize = 1 << 20;
/// Oversized bodies up to this size are read and dropped before answering 413.
const DRAIN_LIMIT: usize = 16 << 20;
/// Most events committed in one transaction.
const GROUP_MAX: usize = 512;

#[derive(Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub ledger: PathBuf,
    /// For fetching the signing key and for background transfers. Without it, the server
    /// only records (it needs `webhook_key`).
    pub client: Option<Client>,
    /// Pin the webhook signing key (otherwise: the ledger's cache, then `GET /v2/public-key`).
    pub webhook_key: Option<PublicKey>,
    pub transfer: bool,
    pub payout: PayoutOptions,
    pub json_lines: bool,
    pub quiet: bool,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Business time for ledger stamps (`STARK_NOW` in tests, the sandbox's clock in the demo).
    pub clock: Arc<dyn Clock>,
}

impl ServerConfig {
    pub fn new(listen: SocketAddr, ledger: PathBuf) -> Self {
        ServerConfig {
            listen,
            ledger,
            client: None,
            webhook_key: None,
            transfer: true,
            payout: PayoutOptions::default(),
            json_lines: false,
            quiet: false,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

/// One line per request on stderr.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLine {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    pub verdict: String,
    pub action: String,
}

/// Counters, for tests and the shutdown summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    pub credits: AtomicU64,
    pub commits: AtomicU64,
}

enum Job {
    Event {
        envelope: Box<EventEnvelope>,
        raw: String,
        reply: oneshot::Sender<Result<Applied, String>>,
    },
    Key(PublicKey),
}

struct App {
    verifier: WebhookVerifier,
    writer: tokio::sync::mpsc::Sender<Job>,
    stats: Arc<Stats>,
    json_lines: bool,
    quiet: bool,
    body_timeout: Duration,
}

/// A running server.
pub struct WebhookServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl WebhookServer {
    /// Ask the server to stop (graceful) and wait until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await?
    }

    /// Wait until the server stops by itself (or is asked to through `stop_signal`).
    pub async fn wait(self) -> anyhow::Result<()> {
        let WebhookServer { shutdown, task, .. } = self;
        let r = task.await?;
        drop(shutdown);
        r
    }
}

/// Bind and start serving. `stop` resolves when the server should shut down gracefully.
pub async fn start(
    cfg: ServerConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<WebhookServer> {
    let ledger = Ledger::open(&cfg.ledger)?;
    let cached = cached_key(&ledger);
    let initial = cfg.webhook_key.clone().or(cached);
    let fetcher: Option<KeyFetcher> = match (&cfg.webhook_key, &cfg.client) {
        (None, Some(client)) => {
            let client = client.clone();
            Some(Arc::new(move || {
                let client = client.clone();
                Box::pin(async move {
                    let keys = client.public_keys().await.map_err(|e| e.to_string())?;
                    let first = keys
                        .first()
                        .ok_or_else(|| "the API returned no public key".to_string())?;
                    PublicKey::from_pem(&first.content)
                })
            }))
        }
        _ => None,
    };
    if initial.is_none() && fetcher.is_none() {
        anyhow::bail!(
            "no way to verify webhooks: configure the Stark Bank credentials (to fetch the key) or pass --webhook-key"
        );
    }
    let stats = Arc::new(Stats::default());
    let payout_wake = Arc::new(Notify::new());
    let (tx, rx) = tokio::sync::mpsc::channel::<Job>(4096);
    // Checkpoints run on their own connection and thread, not inside a commit: a webhook's
    // 200 waits for its commit's fsync only, never for a checkpoint's (durability is the same:
    // the WAL is synced at every commit).
    ledger
        .conn()
        .execute_batch("PRAGMA wal_autocheckpoint = 0")
        .map_err(|e| ledger.err(e))?;
    let checkpointer = Checkpointer::start(&cfg.ledger)?;
    let writer = {
        let stats = stats.clone();
        let wake = payout_wake.clone();
        let kick = checkpointer.kick.clone();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn({
                let clock = cfg.clock.clone();
                move || {
                    writer_loop(ledger, rx, stats, wake, clock, &kick);
                    drop(kick);
                }
            })?
    };
    let app = Arc::new(App {
        verifier: WebhookVerifier::new(initial, fetcher),
        writer: tx,
        stats: stats.clone(),
        json_lines: cfg.json_lines,
        quiet: cfg.quiet,
        body_timeout: cfg.body_timeout,
    });
    let router = Router::new()
        .route("/webhook", post(webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;

    let payout_task = match (&cfg.client, cfg.transfer) {
        (Some(client), true) => Some(tokio::spawn(payout_loop(
            cfg.ledger.clone(),
            client.clone(),
            cfg.payout.clone(),
            payout_wake.clone(),
            cfg.clock.clone(),
        ))),
        _ => None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let header_timeout = cfg.header_timeout;
    let task = tokio::spawn(async move {
        let stop_all = async move {
            tokio::select! {
                _ = stop => {}
                _ = stop_rx => {}
            }
        };
        serve(listener, router, header_timeout, stop_all).await;
        // In-flight requests are done; let the writer drain and stop.
        drop(app);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = writer.join();
            checkpointer.stop();
        })
        .await;
        if let Some(t) = payout_task {
            payout_wake.notify_one();
            t.abort();
            let _ = t.await;
        }
        Ok(())
    });
    Ok(WebhookServer {
        addr,
        stats,
        shutdown: Some(stop_tx),
        task,
    })
}

/// Accept loop with header read timeouts and graceful shutdown.
async fn serve(
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

fn cached_key(ledger: &Ledger) -> Option<PublicKey> {
    let pem: Option<String> = ledger
        .conn()
        .query_row(
            "SELECT pem FROM public_keys ORDER BY fetched_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    pem.and_then(|p| PublicKey::from_pem(&p).ok())
}

fn store_key(ledger: &Ledger, key: &PublicKey) {
    let r = ledger.conn().execute(
        "INSERT INTO public_keys(fingerprint, pem, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(fingerprint) DO UPDATE SET fetched_at = excluded.fetched_at",
        rusqlite::params![
            key.fingerprint(),
            key.to_pem(),
            crate::ledger::ts(Utc::now())
        ],
    );
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot cache the webhook key in the ledger");
    }
}

/// Frames appended to the WAL between checkpoints (SQLite's own default).
const CHECKPOINT_PAGES: u64 = 1000;

/// A thread that checkpoints the ledger's WAL once the writer has appended about
/// `CHECKPOINT_PAGES` pages (PASSIVE: it never blocks the writer or readers).
struct Checkpointer {
    kick: std::sync::mpsc::SyncSender<u64>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &std::path::Path) -> anyhow::Result<Checkpointer> {
        let ledger = Ledger::open(path)?;
        let (kick, rx) = std::sync::mpsc::sync_channel::<u64>(64);
        let thread = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                let mut pending = 0u64;
                while let Ok(pages) = rx.recv() {
                    pending += pages;
                    if pending >= CHECKPOINT_PAGES {
                        pending = 0;
                        if let Err(e) = ledger
                            .conn()
                            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            tracing::warn!(error = %e, "ledger checkpoint failed; the next one retries");
                        }
                    }
                }
                // Shutting down: leave a short WAL behind.
                let _ = ledger
                    .conn()
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            })?;
        Ok(Checkpointer { kick, thread })
    }

    fn stop(self) {
        drop(self.kick);
        let _ = self.thread.join();
    }
}

/// The single ledger writer: takes every job waiting, applies them in one transaction,
/// commits, then answers each.
fn writer_loop(
    mut ledger: Ledger,
    mut rx: tokio::sync::mpsc::Receiver<Job>,
    stats: Arc<Stats>,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    checkpoint: &std::sync::mpsc::SyncSender<u64>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut events = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Key(k) => store_key(&ledger, &k),
                Job::Event {
                    envelope,
                    raw,
                    reply,
                } => events.push((envelope, raw, reply)),
            }
        }
        if events.is_empty() {
            continue;
        }
        let now = clock.now();
        let result = ledger.write_raw(|tx| {
            events
                .iter()
                .map(|(env, raw, _)| events::apply(tx, &env.event, raw, "webhook", now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| crate::ledger::LedgerError::Sql {
                    path: PathBuf::new(),
                    source: e,
                })
        });
        match result {
            Ok(applied) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                // About one page per event plus the index pages it touched.
                let _ = checkpoint.try_send(4 * applied.len() as u64);
                let mut credit = false;
                for ((_, _, reply), a) in events.into_iter().zip(applied) {
                    credit |= a.verdict.wants_transfer();
                    let _ = reply.send(Ok(a));
                }
                if credit {
                    wake.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot record events; answering 503 so Stark Bank retries");
                for (_, _, reply) in events {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Runs the transfer step whenever credits were recorded (one run at a time).
async fn payout_loop(
    ledger_path: PathBuf,
    client: Client,
    opts: PayoutOptions,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
) {
    loop {
        wake.notified().await;
        // Let a burst of credits gather into one request.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut ledger = match Ledger::open(&ledger_path) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "transfer step: cannot open the ledger");
                continue;
            }
        };
        match payout::run(&mut ledger, &client, clock.now(), &opts).await {
            Ok(r) => tracing::info!(
                claimed = r.claimed,
                sent = r.sent,
                rejected = r.rejected.len(),
                unresolved = r.unresolved.len(),
                "transfer step done"
            ),
            Err(e) => {
                tracing::error!(error = %e, "transfer step failed; `stark transfer-credited` or `stark reconcile` will finish it")
            }
        }
    }
}

fn emit(app: &App, line: RequestLine) {
    if line.status == 200 {
        app.stats.accepted.fetch_add(1, Ordering::Relaxed);
    } else {
        app.stats.rejected.fetch_add(1, Ordering::Relaxed);
    }
    if app.quiet && line.status < 500 {
        return;
    }
    // One `write` per line: `eprintln!` on unbuffered stderr writes each formatted piece
    // separately (a dozen system calls per request).
    let text = if app.json_lines {
        let mut t = serde_json::to_string(&line).unwrap_or_default();
        t.push('\n');
        t
    } else {
        format!(
            "{} event={} {}/{} invoice={} verdict={} action={}\n",
            line.status,
            line.event.as_deref().unwrap_or("-"),
            line.subscription.as_deref().unwrap_or("-"),
            line.log_type.as_deref().unwrap_or("-"),
            line.invoice_id.as_deref().unwrap_or("-"),
            line.verdict,
            line.action
        )
    };
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn refuse(app: &App, status: StatusCode, verdict: &str, action: &str) -> Response {
    emit(
        app,
        RequestLine {
            status: status.as_u16(),
            event: None,
            subscription: None,
            log_type: None,
            invoice_id: None,
            verdict: verdict.to_string(),
            action: action.to_string(),
        },
    );
    (status, format!("{verdict}\n")).into_response()
}

async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    // 1. The raw body, bounded in size and time.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > DRAIN_LIMIT as u64) {
        return refuse(
            &app,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large",
            "rejected",
        );
    }
    let bytes = match tokio::time::timeout(
        app.body_timeout,
        read_body(body, BODY_LIMIT, DRAIN_LIMIT),
    )
    .await
    {
        Err(_) => {
            return refuse(
                &app,
                StatusCode::REQUEST_TIMEOUT,
                "body too slow",
                "rejected",
            );
        }
        Ok(Err(BodyError::TooLarge)) => {
            return refuse(
                &app,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large",
                "rejected",
            );
        }
        Ok(Err(BodyError::Read)) => {
            return refuse(
                &app,
                StatusCode::BAD_REQUEST,
                "cannot read body",
                "rejected",
            );
        }
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
            return refuse(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                "signing key unavailable",
                "retry later",
            );
        }
        Err(VerifyError::Signature(e)) => {
            return refuse(
                &app,
                StatusCode::BAD_REQUEST,
                &format!("bad signature: {e}"),
                "rejected",
            );
        }
    }
    // 3. The content.
    let Ok(raw) = std::str::from_utf8(&bytes) else {
        return refuse(
            &app,
            StatusCode::BAD_REQUEST,
            "body is not UTF-8",
            "rejected",
        );
    };
    let envelope: EventEnvelope = match serde_json::from_str(raw) {
        Ok(e) => e,
        Err(e) => {
            return refuse(
                &app,
                StatusCode::BAD_REQUEST,
                &format!("not an event: {e}"),
                "rejected",
            );
        }
    };
    let ev = &envelope.event;
    let (subscription, log_type, invoice_id) = (
        ev.subscription.clone(),
        ev.log.kind().map(str::to_string),
        match &ev.log {
            EventLog::Invoice(l) => Some(l.invoice.id.clone()),
            _ => None,
        },
    );
    let event_id = ev.id.clone();
    // 4. Durably recorded, then 200.
    let (reply_tx, reply_rx) = oneshot::channel();
    let job = Job::Event {
        envelope: Box::new(envelope),
        raw: raw.to_string(),
        reply: reply_tx,
    };
    if app.writer.send(job).await.is_err() {
        return refuse(
            &app,
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down",
            "retry later",
        );
    }
    let line = |status: StatusCode, verdict: &str, action: &str| RequestLine {
        status: status.as_u16(),
        event: Some(event_id.clone()),
        subscription: Some(subscription.clone()),
        log_type: log_type.clone(),
        invoice_id: invoice_id.clone(),
        verdict: verdict.to_string(),
        action: action.to_string(),
    };
    match reply_rx.await {
        Ok(Ok(applied)) => {
            let action = match applied.verdict {
                Verdict::Credit => {
                    app.stats.credits.fetch_add(1, Ordering::Relaxed);
                    "credit recorded; transfer queued".to_string()
                }
                Verdict::CreditForeign => "recorded as foreign; never transferred".into(),
                Verdict::CreditSkipped => format!(
                    "recorded; not transferred ({})",
                    applied.note.as_deref().unwrap_or("nothing to forward")
                ),
                Verdict::CreditKnown => "credit already recorded".into(),
                Verdict::Duplicate => "already recorded".into(),
                Verdict::InvoiceUpdate | Verdict::TransferUpdate => "status recorded".into(),
                Verdict::Ignored => "recorded; nothing to do".into(),
            };
            emit(
                &app,
                line(StatusCode::OK, applied.verdict.as_str(), &action),
            );
            (StatusCode::OK, "ok\n").into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "event not recorded");
            emit(
                &app,
                line(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger unavailable",
                    "retry later",
                ),
            );
            (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable\n").into_response()
        }
        Err(_) => {
            emit(
                &app,
                line(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting down",
                    "retry later",
                ),
            );
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
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

/// Remove the webhooks this ledger registered before (stale tunnel URLs), then register
/// `<base>/webhook` for the `invoice` and `transfer` subscriptions and record it.
pub async fn register(
    client: &Client,
    ledger_path: &std::path::Path,
    base: &str,
) -> anyhow::Result<crate::api::model::Webhook> {
    use anyhow::Context;
    let ledger = Ledger::open(ledger_path)?;
    for crate::ledger::webhooks::RegisteredWebhook { id, url } in ledger.db().live_webhooks()? {
        match client.delete_webhook(&id).await {
            Ok(()) | Err(crate::api::ApiError::Rejected { .. }) => {
                tracing::info!(webhook = %id, %url, "removed a webhook registered earlier");
                ledger.db().mark_webhook_deleted(&id, Utc::now())?;
            }
            Err(e) => tracing::warn!(webhook = %id, error = %e, "cannot remove an old webhook"),
        }
    }
    let url = format!("{}/webhook", base.trim_end_matches('/'));
    // A webhook for this very URL that the ledger does not know (a run killed between
    // registering and recording) is ours too: adopt it rather than register a second.
    let existing =
        |hooks: Vec<crate::api::model::Webhook>| hooks.into_iter().find(|h| h.url == url);
    let mut tries = 0;
    let hook = loop {
        tries += 1;
        if let Ok(Some(h)) = client.list_webhooks().await.map(existing) {
            break h;
        }
        match client.create_webhook(&url, &["invoice", "transfer"]).await {
            Ok(h) => break h,
            Err(e) if e.is_transient() && tries < 4 => {
                tokio::time::sleep(crate::api::client::backoff_delay(
                    Duration::from_millis(200),
                    tries - 1,
                ))
                .await;
            }
            Err(e) => return Err(e).with_context(|| format!("registering the webhook {url}")),
        }
    };
    ledger
        .db()
        .record_webhook(&hook.id, &hook.url, Utc::now())?;
    Ok(hook)
}

/// Delete a webhook registered by [`register`] and record that it is gone.
pub async fn unregister(
    client: &Client,
    ledger_path: &std::path::Path,
    id: &str,
) -> Result<(), crate::api::ApiError> {
    match client.delete_webhook(id).await {
        Ok(()) | Err(crate::api::ApiError::Rejected { .. }) => {
            if let Ok(ledger) = Ledger::open(ledger_path) {
                let _ = ledger.db().mark_webhook_deleted(id, Utc::now());
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}
