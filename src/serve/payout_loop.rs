//! The background transfer step: after a commit that recorded credits, run the same code as
//! `transfer-credited`. The HTTP answer never waits for it, and it never holds the writer's
//! connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::api::Client;
use crate::clock::Clock;
use crate::ledger::{Ledger, LedgerError};
use crate::payout::{self, PayoutOptions, PayoutReport};

/// How long a wake waits so that a burst of credits goes out in one request.
const GATHER: Duration = Duration::from_millis(100);

/// What one transfer step ended in.
enum PayoutOutcome {
    /// The step ran (whatever it sent, rejected or left unresolved is in the report).
    Done(PayoutReport),
    /// The ledger could not be opened; the next wake tries again.
    NoLedger(LedgerError),
    /// The step stopped part-way; `transfer-credited` or `reconcile` finishes it.
    Failed(LedgerError),
}

/// Runs the transfer step whenever credits were recorded (one run at a time), until `stop`
/// turns true: a step under way is finished first, never dropped halfway, since a dropped step
/// would leave its rows leased by a process that is still alive (nobody may take them while
/// it lives).
pub(crate) async fn payout_loop(
    ledger_path: PathBuf,
    client: Client,
    opts: PayoutOptions,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(GATHER) => {}
            _ = stop.changed() => return,
        }
        match run_once(&ledger_path, &client, &opts, &*clock).await {
            PayoutOutcome::Done(r) => tracing::info!(
                claimed = r.claimed,
                sent = r.sent,
                rejected = r.rejected.len(),
                unresolved = r.unresolved.len(),
                "transfer step done"
            ),
            PayoutOutcome::NoLedger(e) => {
                tracing::error!(error = %e, "transfer step: cannot open the ledger")
            }
            PayoutOutcome::Failed(e) => {
                tracing::error!(error = %e, "transfer step failed; `stark transfer-credited` or `stark reconcile` will finish it")
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// One transfer step on a connection of its own (opened per step: the writer's connection
/// stays the writer's, and a step never inherits a previous one's state).
async fn run_once(
    ledger_path: &Path,
    client: &Client,
    opts: &PayoutOptions,
    clock: &dyn Clock,
) -> PayoutOutcome {
    let mut ledger = match Ledger::open(ledger_path) {
        Ok(l) => l,
        Err(e) => return PayoutOutcome::NoLedger(e),
    };
    match payout::run(&mut ledger, client, clock.now(), opts).await {
        Ok(r) => PayoutOutcome::Done(r),
        Err(e) => PayoutOutcome::Failed(e),
    }
}
