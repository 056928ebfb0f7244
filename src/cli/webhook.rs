//! `stark webhook ensure|remove`: the webhook at Stark Bank as a deploy step, so that
//! `serve-webhook` replicas behind a load balancer (`--no-register`) neither register nor
//! delete one, and never delete each other's.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::GlobalArgs;
use crate::serve;

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(subcommand)]
    pub action: WebhookAction,
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Register the webhook for URL (invoice and transfer events) unless Stark Bank already has it
    Ensure {
        /// Public HTTPS URL of the load balancer: exactly as given when it has a path,
        /// <URL>/webhook for a bare host (like `serve-webhook --public-url`)
        #[arg(long, value_name = "URL")]
        url: String,
    },
    /// Delete this ledger's webhooks at Stark Bank (only URL's with --url); none is no error
    Remove {
        /// Only the webhook for this URL (also when the ledger has no record of it)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(Serialize)]
struct HookJson<'a> {
    id: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct EnsureJson<'a> {
    /// `created` or `already_registered`.
    outcome: &'static str,
    id: &'a str,
    url: &'a str,
    subscriptions: &'a [String],
}

#[derive(Serialize)]
struct KeptJson<'a> {
    id: &'a str,
    url: &'a str,
    served_by: &'a str,
}

#[derive(Serialize)]
struct RemoveJson<'a> {
    /// `removed` or `nothing_to_remove`.
    outcome: &'static str,
    removed: Vec<HookJson<'a>>,
    kept: Vec<KeptJson<'a>>,
}

pub fn run(args: &WebhookArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    // Bad input first: nothing is asked of the bank.
    let url = match &args.action {
        WebhookAction::Ensure { url } => Some(super::serve::validate_url("--url", url)?),
        WebhookAction::Remove { url: Some(url) } => Some(super::serve::validate_url("--url", url)?),
        WebhookAction::Remove { url: None } => None,
    };
    super::open_ledger(&settings)?; // a missing ledger is a configuration error
    let client = settings.client()?;
    let ledger = settings.ledger.value.clone();
    let clock = crate::clock::from_env()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match (&args.action, url) {
        (WebhookAction::Ensure { .. }, Some(url)) => {
            let e = rt.block_on(serve::ensure(&client, &ledger, url.as_str(), &*clock))?;
            let outcome = if e.created {
                "created"
            } else {
                "already_registered"
            };
            if global.json {
                super::print_json(
                    "webhook ensure",
                    &EnsureJson {
                        outcome,
                        id: &e.hook.id,
                        url: &e.hook.url,
                        subscriptions: &e.hook.subscriptions,
                    },
                )?;
            } else if e.created {
                outln!("registered webhook {} for {}", e.hook.id, e.hook.url)?;
            } else {
                outln!(
                    "already registered: webhook {} for {}",
                    e.hook.id,
                    e.hook.url
                )?;
            }
        }
        (_, url) => {
            let url = url.as_ref().map(|u| u.as_str());
            let r = rt.block_on(serve::remove(&client, &ledger, url, &*clock))?;
            let outcome = if r.removed.is_empty() {
                "nothing_to_remove"
            } else {
                "removed"
            };
            if global.json {
                super::print_json(
                    "webhook remove",
                    &RemoveJson {
                        outcome,
                        removed: r
                            .removed
                            .iter()
                            .map(|h| HookJson {
                                id: &h.id,
                                url: &h.url,
                            })
                            .collect(),
                        kept: r
                            .kept
                            .iter()
                            .map(|(h, by)| KeptJson {
                                id: &h.id,
                                url: &h.url,
                                served_by: by,
                            })
                            .collect(),
                    },
                )?;
            } else {
                for h in &r.removed {
                    outln!("deleted webhook {} ({})", h.id, h.url)?;
                }
                if r.removed.is_empty() && r.kept.is_empty() {
                    outln!("nothing to remove")?;
                }
            }
            for (h, by) in &r.kept {
                eprintln!(
                    "kept webhook {} ({}): {by} serves it and deletes it when it stops",
                    h.id, h.url
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
