//! The webhook's lifecycle at the bank: register `<base>/webhook` (removing what this ledger
//! registered before) and delete it again, recording both in the ledger.

use std::path::Path;
use std::time::Duration;

use super::ServeError;
use crate::api::model::Webhook;
use crate::api::{ApiError, Client};
use crate::clock::Clock;
use crate::ledger::Ledger;
use crate::ledger::webhooks::RegisteredWebhook;

/// Tries to create the webhook when the API fails transiently.
const CREATE_TRIES: u32 = 4;

/// Remove the webhooks this ledger registered before (stale tunnel URLs), then register
/// `<base>/webhook` for the `invoice` and `transfer` subscriptions and record it.
pub(crate) async fn register(
    client: &Client,
    ledger_path: &Path,
    base: &str,
    clock: &dyn Clock,
) -> Result<Webhook, ServeError> {
    let ledger = Ledger::open(ledger_path)?;
    for RegisteredWebhook { id, url } in ledger.db().live_webhooks()? {
        match client.delete_webhook(&id).await {
            Ok(()) | Err(ApiError::Rejected { .. }) => {
                tracing::info!(webhook = %id, %url, "removed a webhook registered earlier");
                ledger.db().mark_webhook_deleted(&id, clock.now())?;
            }
            Err(e) => tracing::warn!(webhook = %id, error = %e, "cannot remove an old webhook"),
        }
    }
    let url = format!("{}/webhook", base.trim_end_matches('/'));
    // A webhook for this very URL that the ledger does not know (a run killed between
    // registering and recording) is ours too: adopt it rather than register a second.
    let existing = |hooks: Vec<Webhook>| hooks.into_iter().find(|h| h.url == url);
    let mut tries = 0;
    let hook = loop {
        tries += 1;
        if let Ok(Some(h)) = client.list_webhooks().await.map(existing) {
            break h;
        }
        match client
            .create_webhook(&url, crate::api::model::WEBHOOK_SUBSCRIPTIONS)
            .await
        {
            Ok(h) => break h,
            Err(e) if e.is_transient() && tries < CREATE_TRIES => {
                tokio::time::sleep(crate::api::client::backoff_delay(
                    Duration::from_millis(200),
                    tries - 1,
                ))
                .await;
            }
            Err(source) => return Err(ServeError::Register { url, source }),
        }
    };
    ledger
        .db()
        .record_webhook(&hook.id, &hook.url, clock.now())?;
    Ok(hook)
}

/// Delete a webhook registered by [`register`] and record that it is gone.
pub(crate) async fn unregister(
    client: &Client,
    ledger_path: &Path,
    id: &str,
    clock: &dyn Clock,
) -> Result<(), ApiError> {
    match client.delete_webhook(id).await {
        Ok(()) | Err(ApiError::Rejected { .. }) => {
            if let Ok(ledger) = Ledger::open(ledger_path) {
                let _ = ledger.db().mark_webhook_deleted(id, clock.now());
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}
