//! `serve-webhook` as a library: a small HTTP server that receives Stark Bank's signed events.
//!
//! Per request: read the raw body (1 MiB limit → 413, slow bodies → 408), verify
//! `Digital-Signature` before parsing (400 when missing, malformed or wrong; 503 when the key
//! cannot be fetched, so Stark retries), then hand the event to the ledger writer and answer
//! 200 only after it is committed. The writer is one thread that groups the events waiting at
//! that moment into one transaction (group commit): one fsync serves many deliveries. After a
//! commit that recorded credits, a background task runs the transfer step (the same code as
//! `transfer-credited`); the HTTP answer never waits for Stark Bank.
//!
//! Invariants:
//! - **200 only after commit.** A request is answered 200 once the transaction holding its
//!   event is committed (synchronous=FULL), never before; anything else is a 4xx (never
//!   recorded, never will be) or a 503 (not recorded; Stark Bank retries).
//! - **The signature before the content.** Nothing of the body is parsed before its
//!   signature verified over the raw bytes.
//! - **One writer.** Only the writer thread writes events; checkpoints run on their own
//!   connection and never inside a commit; the transfer step opens its own connection.
//! - **Shutdown drains.** On stop the accept loop ends, in-flight requests finish (up to 30 s),
//!   the writer commits and answers what it holds, then the checkpointer checkpoints once more.
//! - **Business time from the clock.** Every ledger stamp comes from [`ServerConfig::clock`].
//! - **No printing.** Each request ends in one [`RequestRecord`], handed to
//!   [`ServerConfig::sink`]; the embedding program decides what to show.
//!
//! Layout: `http.rs` (accept loop, limits, handler), `writer.rs` (the single writer with group
//! commit, and the checkpointer), `payout_loop.rs` (the transfer step), `registration.rs` (the
//! webhook at the bank and in the ledger), `record.rs` (what each request produces).

mod http;
mod payout_loop;
mod record;
mod registration;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use crate::api::webhook::{KeyFetchError, KeyFetcher, WebhookVerifier};
use crate::api::{ApiError, Client};
use crate::clock::{Clock, SystemClock};
use crate::keys::PublicKey;
use crate::ledger::{Ledger, LedgerError};
use crate::payout::PayoutOptions;

pub use record::{Discard, EventIds, Refusal, RequestOutcome, RequestRecord, RequestSink};
pub use registration::{Ensured, Removal, ensure, remove};
pub use registration::{HEALTH_TIMEOUT, health_check, health_url, webhook_url};
pub(crate) use registration::{Registration, register, unregister};

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
    /// Receives one record per request ([`Discard`] by default).
    pub sink: Arc<dyn RequestSink>,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Business time for ledger stamps (`STARK_NOW` in tests, the sandbox's clock in the demo).
    pub clock: Arc<dyn Clock>,
    /// The path of the registered public URL, served besides `/webhook` (see
    /// [`webhook_url`]).
    pub public_path: Option<String>,
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
            sink: Arc::new(Discard),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            public_path: None,
        }
    }
}

/// Why the server could not start, stop or register its webhook.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "no way to verify webhooks: configure the Stark Bank credentials (to fetch the key) or pass --webhook-key"
    )]
    NoVerifier,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Starting a thread.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The listen address cannot be bound (in use, not ours).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("--public-url {url:?} is not a URL ({reason})")]
    BadUrl { url: String, reason: String },
    /// A webhook this ledger registered is still served by another process: nothing deleted.
    #[error("webhook {id} ({url}) is still served by {by}")]
    ServedElsewhere { id: String, url: String, by: String },
    #[error("registering the webhook {url}")]
    Register {
        url: String,
        #[source]
        source: ApiError,
    },
    #[error("listing the webhooks at Stark Bank")]
    ListWebhooks {
        #[source]
        source: ApiError,
    },
    /// Deleting a webhook for `stark webhook remove`.
    #[error("removing the webhook {id} ({url})")]
    Remove {
        id: String,
        url: String,
        #[source]
        source: ApiError,
    },
    /// The server's task panicked.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

/// Counters, for tests and the shutdown summary.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) credits: AtomicU64,
    pub(crate) commits: AtomicU64,
}

/// A running server.
pub struct WebhookServer {
    pub addr: SocketAddr,
    pub(crate) stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl WebhookServer {
    /// Turns true once the server has stopped (its writer and transfer step done).
    pub fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopped.clone()
    }

    /// Ask the server to stop (graceful) and wait until it has.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        Ok(self.task.await?)
    }

    /// Wait until the server stops by itself (or is asked to through `stop_signal`).
    pub async fn wait(self) -> Result<(), ServeError> {
        let WebhookServer { shutdown, task, .. } = self;
        let r = task.await;
        drop(shutdown);
        Ok(r?)
    }
}

/// How long a stopping server waits for a transfer step under way to finish.
const PAYOUT_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Bind and start serving. `stop` resolves when the server should shut down gracefully.
pub async fn start(
    cfg: ServerConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<WebhookServer, ServeError> {
    // Bind first: a busy port fails before anything starts (or is registered).
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let ledger = Ledger::open(&cfg.ledger)?;
    let cached = cached_key(&ledger);
    let initial = cfg.webhook_key.clone().or(cached);
    let fetcher = match (&cfg.webhook_key, &cfg.client) {
        (None, Some(client)) => Some(key_fetcher(client)),
        _ => None,
    };
    if initial.is_none() && fetcher.is_none() {
        return Err(ServeError::NoVerifier);
    }
    let stats = Arc::new(Stats::default());
    let payout_wake = Arc::new(Notify::new());
    let (writer, jobs) = writer::Writer::start(
        ledger,
        stats.clone(),
        payout_wake.clone(),
        cfg.clock.clone(),
    )?;
    let app = Arc::new(http::App {
        verifier: WebhookVerifier::new(initial, fetcher),
        writer: jobs,
        stats: stats.clone(),
        sink: cfg.sink.clone(),
        body_timeout: cfg.body_timeout,
        public_path: cfg.public_path.clone().filter(|p| p != "/webhook"),
        ledger: cfg.ledger.clone(),
    });
    let router = http::router(app.clone());

    let (payout_stop, payout_stopped) = tokio::sync::watch::channel(false);
    let payout_task = match (&cfg.client, cfg.transfer) {
        (Some(client), true) => Some(tokio::spawn(payout_loop::payout_loop(
            cfg.ledger.clone(),
            client.clone(),
            cfg.payout.clone(),
            payout_wake.clone(),
            cfg.clock.clone(),
            payout_stopped,
        ))),
        _ => None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let header_timeout = cfg.header_timeout;
    let (stopped_tx, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let stop_all = async move {
            tokio::select! {
                _ = stop => {}
                _ = stop_rx => {}
            }
        };
        http::serve(listener, router, header_timeout, stop_all).await;
        // In-flight requests are done; let the writer drain and stop.
        drop(app);
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        if let Some(mut t) = payout_task {
            // A transfer step under way finishes (and releases its leases); one that hangs
            // past the grace period is dropped, its rows left to `reconcile` once this process
            // is gone.
            let _ = payout_stop.send(true);
            if tokio::time::timeout(PAYOUT_GRACE, &mut t).await.is_err() {
                tracing::warn!("the transfer step did not finish in time; stopping it");
                t.abort();
                let _ = t.await;
            }
        }
        let _ = stopped_tx.send(true);
    });
    Ok(WebhookServer {
        addr,
        stats,
        shutdown: Some(stop_tx),
        task,
        stopped,
    })
}

/// The signing key the ledger cached last, if it still parses.
fn cached_key(ledger: &Ledger) -> Option<PublicKey> {
    match ledger.db().cached_webhook_key() {
        Ok(pem) => pem.and_then(|p| PublicKey::from_pem(&p).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the cached webhook key; fetching it");
            None
        }
    }
}

/// Fetch Stark Bank's current signing key through `client`.
fn key_fetcher(client: &Client) -> KeyFetcher {
    let client = client.clone();
    Arc::new(move || {
        let client = client.clone();
        Box::pin(async move {
            let keys = client.public_keys().await?;
            let first = keys.first().ok_or(KeyFetchError::NoKey)?;
            PublicKey::from_pem(&first.content).map_err(|e| KeyFetchError::BadKey(e.to_string()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClientConfig;
    use crate::clock::ManualClock;
    use crate::issuer::{self, TickOptions};
    use crate::keys::PrivateKey;
    use crate::sandbox::{self, FaultRule, SandboxConfig};
    use chrono::{DateTime, Duration, Utc};
    use rand::SeedableRng;

    /// Stopping the server while its transfer step is POSTing lets that step finish: it used to
    /// be dropped halfway (`abort`), leaving its rows leased by this process, which is alive, so
    /// nobody could send them while it ran on (the demo's "credited but never paid out").
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_the_server_mid_transfer_leaves_no_row_leased() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        let key = PrivateKey::generate();
        let t0: DateTime<Utc> = "2026-03-02T00:00:00Z".parse().unwrap();
        let sb = sandbox::start(SandboxConfig {
            projects: vec![("1234".to_string(), key.public_key())],
            speed: 0.0,
            pay_rate: 1.0,
            pay_delay: (Duration::minutes(5), Duration::minutes(10)),
            start_time: Some(t0),
            faults: vec![FaultRule::parse("transfer.create:latency=1@1500").unwrap()],
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let mut cc = ClientConfig::new(sb.url(), "1234", Arc::new(key));
        cc.backoff = std::time::Duration::from_millis(10);
        let client = Client::new(cc).unwrap();
        let mut ledger = Ledger::open_or_create(&path).unwrap();
        let clock = ManualClock::new(t0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        issuer::tick(
            &mut ledger,
            || Ok::<_, issuer::IssueError>(client.clone()),
            &clock,
            &mut rng,
            &TickOptions::default(),
        )
        .await
        .unwrap();
        let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), path.clone());
        cfg.client = Some(client.clone());
        cfg.clock = Arc::new(clock.clone());
        let srv = start(cfg, std::future::pending()).await.unwrap();
        let _ = register(&client, &path, &format!("http://{}", srv.addr), &clock)
            .await
            .unwrap();
        // Every invoice is paid; the credits reach the server, which starts its transfer step.
        sb.set_time(t0 + Duration::hours(1));
        let sending = "SELECT COUNT(*) FROM transfers WHERE lease_until IS NOT NULL";
        let started = std::time::Instant::now();
        while ledger.db().fixture_i64(sending).unwrap() == 0 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "no transfer step began"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        srv.stop().await.unwrap();
        assert_eq!(
            ledger.db().fixture_i64(sending).unwrap(),
            0,
            "a row is still leased by this live process"
        );
        assert!(
            ledger
                .db()
                .fixture_i64("SELECT COUNT(*) FROM transfers WHERE status = 'created'")
                .unwrap()
                > 0
        );
    }
}
