//! The single ledger writer and the WAL checkpointer.
//!
//! One thread owns the ledger's write connection. It takes every job waiting at that moment
//! (up to [`GROUP_MAX`]), applies the events in one transaction, commits, and only then
//! answers each request (group commit: one fsync serves many deliveries). Checkpoints run on
//! their own connection and thread, not inside a commit: a webhook's 200 waits for its
//! commit's fsync only, never for a checkpoint's.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Notify, mpsc, oneshot};

use super::{ServeError, Stats};
use crate::api::model::EventEnvelope;
use crate::clock::Clock;
use crate::events::{self, Applied};
use crate::keys::PublicKey;
use crate::ledger::{Ledger, LedgerError};

/// Most events committed in one transaction.
const GROUP_MAX: usize = 512;
/// Frames appended to the WAL between checkpoints (SQLite's own default).
const CHECKPOINT_PAGES: u64 = 1000;
/// Jobs waiting for the writer before senders wait too.
const QUEUE: usize = 4096;

/// What the HTTP side asks of the writer.
pub(crate) enum Job {
    /// Record a verified event (or keep one that does not decode); the answer comes after
    /// the commit.
    Event {
        event: Incoming,
        raw: String,
        reply: oneshot::Sender<Result<Applied, Arc<LedgerError>>>,
    },
    /// Cache a signing key that had to be fetched.
    Key(PublicKey),
}

/// A verified delivery, decoded or not.
pub(crate) enum Incoming {
    Decoded(Box<EventEnvelope>),
    /// Signed, with an event id, but not an event this version can read: kept raw.
    Undecodable(events::Undecodable),
}

/// The running writer and checkpointer threads.
pub(crate) struct Writer {
    thread: std::thread::JoinHandle<()>,
    /// `None` on PostgreSQL: the server checkpoints.
    checkpointer: Option<Checkpointer>,
}

impl Writer {
    /// Start the writer on `ledger` (whose automatic checkpoints are turned off here) and a
    /// checkpointer on its own connection to the same file. `wake` is notified after each
    /// commit that recorded a credit to transfer. The writer stops once every sender is gone.
    pub(crate) fn start(
        ledger: Ledger,
        stats: Arc<Stats>,
        wake: Arc<Notify>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Writer, mpsc::Sender<Job>), ServeError> {
        ledger.disable_autocheckpoint()?;
        // PostgreSQL checkpoints by itself; and its ledger's path() is the URL without the
        // password, which must not be opened again.
        let (checkpointer, kick) = match ledger.dialect() {
            crate::ledger::Dialect::Postgres => (None, std::sync::mpsc::sync_channel(1).0),
            crate::ledger::Dialect::Sqlite => {
                let c = Checkpointer::start(ledger.path())?;
                let kick = c.kick.clone();
                (Some(c), kick)
            }
        };
        let (tx, rx) = mpsc::channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                writer_loop(ledger, rx, &stats, &wake, &*clock, &kick);
                drop(kick);
            })?;
        Ok((
            Writer {
                thread,
                checkpointer,
            },
            tx,
        ))
    }

    /// Wait until the writer has drained its queue (every sender dropped), then stop the
    /// checkpointer (which checkpoints once more). Blocking.
    pub(crate) fn join(self) {
        let _ = self.thread.join();
        if let Some(c) = self.checkpointer {
            c.stop();
        }
    }
}

/// The single ledger writer: takes every job waiting, applies them in one transaction,
/// commits, then answers each.
fn writer_loop(
    mut ledger: Ledger,
    mut rx: mpsc::Receiver<Job>,
    stats: &Stats,
    wake: &Notify,
    clock: &dyn Clock,
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
                Job::Key(k) => store_key(&ledger, &k, clock),
                Job::Event { event, raw, reply } => events.push((event, raw, reply)),
            }
        }
        if events.is_empty() {
            continue;
        }
        let now = clock.now();
        let result = ledger.write(|tx| {
            events
                .iter()
                .map(|(event, raw, _)| match event {
                    Incoming::Decoded(env) => {
                        events::apply(tx, &env.event, events::Arrival::webhook(raw, now))
                    }
                    Incoming::Undecodable(u) => {
                        events::keep_undecodable(tx, u, events::Arrival::webhook(raw, now))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
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
                let e = Arc::new(e);
                for (_, _, reply) in events {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Cache a fetched signing key, so that a restart verifies without asking the API. A
/// failure only costs a fetch after the next restart.
fn store_key(ledger: &Ledger, key: &PublicKey, clock: &dyn Clock) {
    if let Err(e) = ledger
        .db()
        .store_webhook_key(&key.fingerprint(), &key.to_pem(), clock.now())
    {
        tracing::warn!(error = %e, "cannot cache the webhook key in the ledger");
    }
}

/// A thread that checkpoints the ledger's WAL once the writer has appended about
/// `CHECKPOINT_PAGES` pages (PASSIVE: it never blocks the writer or readers).
struct Checkpointer {
    kick: std::sync::mpsc::SyncSender<u64>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, ServeError> {
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
                        if let Err(e) = ledger.checkpoint() {
                            tracing::warn!(error = %e, "ledger checkpoint failed; the next one retries");
                        }
                    }
                }
                // Shutting down: leave a short WAL behind.
                let _ = ledger.checkpoint();
            })?;
        Ok(Checkpointer { kick, thread })
    }

    fn stop(self) {
        drop(self.kick);
        let _ = self.thread.join();
    }
}
