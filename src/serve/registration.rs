//! The webhook's lifecycle at the bank: register the public URL (removing the webhooks this
//! ledger registered before that nobody serves any more), note which process serves it, and
//! delete it again, recording each step in the ledger.
//!
//! A webhook `stark webhook ensure` registered (a deploy step, for replicas behind a load
//! balancer) is never deleted or taken over by `serve-webhook`: only `stark webhook remove`
//! deletes it.
//!
//! A webhook another live `serve-webhook` serves is never deleted: registering refuses
//! ([`ServeError::ServedElsewhere`]). A webhook is judged served when the process recorded
//! as serving it is alive here, or (when that cannot be told: another host, an older stark)
//! when its `healthz` answers.

use std::path::Path;
use std::time::Duration;

use super::ServeError;
use crate::api::model::Webhook;
use crate::api::{ApiError, Client};
use crate::clock::Clock;
use crate::ledger::Ledger;
use crate::ledger::lease;
use crate::ledger::webhooks::{DEPLOYED_OWNER, RegisteredWebhook};

/// Tries to create the webhook when the API fails transiently.
const CREATE_TRIES: u32 = 4;
/// How long a health check waits for an answer.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// The URL to register for `--public-url`: a bare host (no path, or `/`) gets `/webhook`;
/// a URL with a path is taken exactly as given. `Err` says why it is not an absolute URL.
pub fn webhook_url(public: &str) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(public).map_err(|e| e.to_string())?;
    if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/webhook");
    }
    Ok(url)
}

/// Where the server behind a webhook URL answers its health check: the sibling `healthz` of
/// the webhook's last path segment (`https://h/webhook` → `https://h/healthz`).
pub fn health_url(webhook: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(webhook).ok()?;
    let mut h = url.join("healthz").ok()?;
    h.set_query(None);
    Some(h)
}

/// GET `url` within [`HEALTH_TIMEOUT`]; `Err` says what came back instead of a 200.
pub async fn health_check(url: &reqwest::Url) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(HEALTH_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    match client.get(url.clone()).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let body: String = body.trim().chars().take(80).collect();
            Err(if body.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {body}")
            })
        }
        Err(e) if e.is_timeout() => Err(format!("no answer within {}s", HEALTH_TIMEOUT.as_secs())),
        Err(e) => Err(error_chain(&e)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Whether the ledger names a live process other than this one as serving `hook` (a webhook
/// for this process's own URL is otherwise this process's: it answers its health check).
fn owned_elsewhere(ledger: &Ledger, hook: &RegisteredWebhook) -> bool {
    matches!(
        ledger.db().webhook_owner(&hook.id),
        Ok(Some(o)) if o != lease::owner_id() && lease::is_alive(&o) == Some(true)
    )
}

/// Who serves a webhook this ledger registered, if anybody provably does.
async fn served_by(
    ledger: &Ledger,
    hook: &RegisteredWebhook,
) -> Result<Option<String>, ServeError> {
    let owner = ledger.db().webhook_owner(&hook.id)?;
    if let Some(o) = &owner {
        if *o == lease::owner_id() {
            return Ok(None);
        }
        match lease::is_alive(o) {
            Some(true) => {
                let pid = lease::Owner::parse(o).map(|o| o.pid).unwrap_or_default();
                return Ok(Some(format!("serve-webhook pid {pid} on this host")));
            }
            Some(false) => return Ok(None),
            None => {}
        }
    }
    // Liveness cannot be told here: ask the server behind it.
    let Some(h) = health_url(&hook.url) else {
        return Ok(None);
    };
    Ok(match health_check(&h).await {
        Ok(()) => Some(format!("a server that answers at {h}")),
        Err(_) => None,
    })
}

/// What [`register`] registered.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) hook: Webhook,
    /// False when the URL is a webhook `stark webhook ensure` registered: this process serves
    /// it but must leave it in place at stop.
    pub(crate) ours: bool,
}

/// Remove the webhooks this ledger registered before that nobody serves (stale tunnel URLs),
/// then register `public` (see [`webhook_url`]) for the `invoice` and `transfer`
/// subscriptions, and record it as served by this process. Refuses, deleting nothing, when
/// one of them is still served ([`ServeError::ServedElsewhere`]). The webhooks `stark webhook
/// ensure` registered are never deleted; when `public` is one of them, it is served as is.
pub(crate) async fn register(
    client: &Client,
    ledger_path: &Path,
    public: &str,
    clock: &dyn Clock,
) -> Result<Registration, ServeError> {
    let url = parse_url(public)?;
    let ledger = Ledger::open(ledger_path)?;
    let mut live = Vec::new();
    for hook in ledger.db().live_webhooks()? {
        if !ledger.db().is_deployed_webhook(&hook.id)? {
            live.push(hook);
        } else if hook.url == url {
            let hook = Webhook {
                id: hook.id,
                url: hook.url,
                subscriptions: subscriptions(),
            };
            return Ok(Registration { hook, ours: false });
        }
    }
    for hook in live
        .iter()
        .filter(|h| h.url != url || owned_elsewhere(&ledger, h))
    {
        if let Some(by) = served_by(&ledger, hook).await? {
            return Err(ServeError::ServedElsewhere {
                id: hook.id.clone(),
                url: hook.url.clone(),
                by,
            });
        }
    }
    for RegisteredWebhook { id, url } in live {
        match client.delete_webhook(&id).await {
            Ok(()) | Err(ApiError::Rejected { .. }) => {
                tracing::info!(webhook = %id, %url, "removed a webhook registered earlier that nobody serves");
                ledger.db().mark_webhook_deleted(&id, clock.now())?;
            }
            Err(e) => tracing::warn!(webhook = %id, error = %e, "cannot remove an old webhook"),
        }
    }
    let (hook, _) = create_or_adopt(client, &url).await?;
    let noted = ledger
        .db()
        .record_webhook(&hook.id, &hook.url, clock.now())
        .and_then(|()| ledger.db().set_webhook_owner(&hook.id, &lease::owner_id()));
    if let Err(e) = noted {
        // Not recorded: remove it again rather than leave a webhook nobody knows of.
        let _ = client.delete_webhook(&hook.id).await;
        return Err(e.into());
    }
    Ok(Registration { hook, ours: true })
}

fn parse_url(public: &str) -> Result<String, ServeError> {
    Ok(webhook_url(public)
        .map_err(|reason| ServeError::BadUrl {
            url: public.to_string(),
            reason,
        })?
        .to_string())
}

fn subscriptions() -> Vec<String> {
    crate::api::model::WEBHOOK_SUBSCRIPTIONS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Whether a webhook at the bank is `url` with every subscription `serve-webhook` needs.
fn is_for(hook: &Webhook, url: &str) -> bool {
    hook.url == url
        && crate::api::model::WEBHOOK_SUBSCRIPTIONS
            .iter()
            .all(|s| hook.subscriptions.iter().any(|h| h == s))
}

/// The webhook for `url` at the bank: an existing one (a run killed between registering and
/// recording left it; adopted rather than registered twice), or a new one. True when created.
async fn create_or_adopt(client: &Client, url: &str) -> Result<(Webhook, bool), ServeError> {
    let mut tries = 0;
    loop {
        tries += 1;
        if let Ok(Some(h)) = client
            .list_webhooks()
            .await
            .map(|hooks| hooks.into_iter().find(|h| is_for(h, url)))
        {
            return Ok((h, false));
        }
        match client
            .create_webhook(url, crate::api::model::WEBHOOK_SUBSCRIPTIONS)
            .await
        {
            Ok(h) => return Ok((h, true)),
            Err(e) if e.is_transient() && tries < CREATE_TRIES => {
                tokio::time::sleep(crate::api::client::backoff_delay(
                    Duration::from_millis(200),
                    tries - 1,
                ))
                .await;
            }
            Err(source) => {
                return Err(ServeError::Register {
                    url: url.to_string(),
                    source,
                });
            }
        }
    }
}

/// What [`ensure`] found or did.
#[derive(Debug, Clone)]
pub struct Ensured {
    pub hook: Webhook,
    /// False: the bank already had it (`already registered`).
    pub created: bool,
}

/// `stark webhook ensure`: make sure the bank has a webhook for `public` (see
/// [`webhook_url`]) with the `invoice` and `transfer` subscriptions, registering it when it
/// has not, and record it in the ledger as a deploy step's ([`DEPLOYED_OWNER`]): no
/// `serve-webhook` deletes it. Idempotent.
pub async fn ensure(
    client: &Client,
    ledger_path: &Path,
    public: &str,
    clock: &dyn Clock,
) -> Result<Ensured, ServeError> {
    let url = parse_url(public)?;
    let ledger = Ledger::open(ledger_path)?;
    let (hook, created) = create_or_adopt(client, &url).await?;
    let noted = ledger
        .db()
        .record_webhook(&hook.id, &hook.url, clock.now())
        .and_then(|()| ledger.db().set_webhook_owner(&hook.id, DEPLOYED_OWNER));
    if let Err(e) = noted {
        if created {
            // Not recorded: remove it again rather than leave a webhook nobody knows of.
            let _ = client.delete_webhook(&hook.id).await;
        }
        return Err(e.into());
    }
    Ok(Ensured { hook, created })
}

/// What [`remove`] did.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    /// Deleted at the bank (or already gone there) and marked deleted in the ledger.
    pub removed: Vec<RegisteredWebhook>,
    /// Left in place: a live `serve-webhook` on this host serves it (it deletes it at stop).
    pub kept: Vec<(RegisteredWebhook, String)>,
}

/// `stark webhook remove`: delete the webhooks this ledger registered (only `public`'s when
/// given, which is also deleted when the bank has it but the ledger does not) at the bank and
/// in the ledger, except those a live `serve-webhook` on this host serves. Idempotent.
pub async fn remove(
    client: &Client,
    ledger_path: &Path,
    public: Option<&str>,
    clock: &dyn Clock,
) -> Result<Removal, ServeError> {
    let url = public.map(parse_url).transpose()?;
    let ledger = Ledger::open(ledger_path)?;
    let mut hooks: Vec<RegisteredWebhook> = ledger
        .db()
        .live_webhooks()?
        .into_iter()
        .filter(|h| url.as_ref().is_none_or(|u| h.url == *u))
        .collect();
    if let Some(u) = &url {
        let at_bank = client
            .list_webhooks()
            .await
            .map_err(|source| ServeError::ListWebhooks { source })?;
        for h in at_bank {
            if h.url == *u && !hooks.iter().any(|k| k.id == h.id) {
                hooks.push(RegisteredWebhook {
                    id: h.id,
                    url: h.url,
                });
            }
        }
    }
    let mut out = Removal::default();
    for hook in hooks {
        if owned_elsewhere(&ledger, &hook) && !ledger.db().is_deployed_webhook(&hook.id)? {
            let pid = ledger
                .db()
                .webhook_owner(&hook.id)?
                .and_then(|o| lease::Owner::parse(&o).map(|o| o.pid))
                .unwrap_or_default();
            out.kept
                .push((hook, format!("serve-webhook pid {pid} on this host")));
            continue;
        }
        match client.delete_webhook(&hook.id).await {
            Ok(()) | Err(ApiError::Rejected { .. }) => {
                ledger.db().mark_webhook_deleted(&hook.id, clock.now())?;
                out.removed.push(hook);
            }
            Err(source) => {
                return Err(ServeError::Remove {
                    id: hook.id,
                    url: hook.url,
                    source,
                });
            }
        }
    }
    Ok(out)
}

/// Delete a webhook registered by [`register`] and record that it is gone. A webhook
/// `stark webhook ensure` has claimed meanwhile is left in place: `Ok(false)`.
pub(crate) async fn unregister(
    client: &Client,
    ledger_path: &Path,
    id: &str,
    clock: &dyn Clock,
) -> Result<bool, ApiError> {
    if let Ok(ledger) = Ledger::open(ledger_path)
        && ledger.db().is_deployed_webhook(id).unwrap_or(false)
    {
        return Ok(false);
    }
    match client.delete_webhook(id).await {
        Ok(()) | Err(ApiError::Rejected { .. }) => {
            if let Ok(ledger) = Ledger::open(ledger_path) {
                let _ = ledger.db().mark_webhook_deleted(id, clock.now());
            }
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_gets_webhook_and_a_path_is_kept() {
        let u = |s: &str| webhook_url(s).map(|u| u.to_string());
        assert_eq!(u("https://a.example").unwrap(), "https://a.example/webhook");
        assert_eq!(
            u("https://a.example/").unwrap(),
            "https://a.example/webhook"
        );
        assert_eq!(
            u("https://a.example/webhook").unwrap(),
            "https://a.example/webhook"
        );
        assert_eq!(
            u("https://a.example/hooks/stark").unwrap(),
            "https://a.example/hooks/stark"
        );
        assert!(u("a.example").is_err());
        assert!(u("/webhook").is_err());
        assert!(u("mailto:x@a.example").is_err());
    }

    #[test]
    fn the_health_url_is_the_webhook_paths_sibling() {
        let h = |s: &str| health_url(s).unwrap().to_string();
        assert_eq!(h("https://a.example/webhook"), "https://a.example/healthz");
        assert_eq!(
            h("https://a.example/hooks/stark?x=1"),
            "https://a.example/hooks/healthz"
        );
        assert_eq!(
            h("http://127.0.0.1:9/webhook"),
            "http://127.0.0.1:9/healthz"
        );
    }
}
