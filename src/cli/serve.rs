//! `stark serve-webhook`: receive Stark Bank's signed events for a while.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use super::errors::UsageError;
use crate::keys::PublicKey;
use crate::ledger::Ledger;
use crate::server::{self, ServerConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; ngrok forwards to it)
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Public HTTPS base URL (e.g. an ngrok URL): registers <URL>/webhook at Stark Bank,
    /// removes webhooks this ledger registered before, and deletes it on shutdown
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Stop by itself after this long (e.g. 30m)
    #[arg(long = "for", value_name = "DURATION", value_parser = super::issue::parse_duration)]
    pub duration: Option<chrono::Duration>,
    /// Verify with this public key instead of fetching Stark Bank's (SPKI PEM)
    #[arg(long, value_name = "FILE")]
    pub webhook_key: Option<PathBuf>,
    /// Only record; leave transfers to `transfer-credited` / `reconcile`
    #[arg(long)]
    pub no_transfer: bool,
}

pub fn run(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let webhook_key = match &args.webhook_key {
        Some(p) => Some(PublicKey::load(p)?),
        None => None,
    };
    // Credentials are needed to fetch the key, register the webhook and transfer.
    let client = match settings.client() {
        Ok(c) => Some(c),
        Err(e) if webhook_key.is_some() && args.public_url.is_none() && args.no_transfer => {
            tracing::info!(error = %e, "no API credentials: recording only");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(url) = &args.public_url {
        validate_public_url(url)?;
    }
    Ledger::open(&settings.ledger.value)?; // fail fast on a bad ledger
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let registered = match (&args.public_url, &client) {
            (Some(url), Some(c)) => {
                let hook = server::register(c, &settings.ledger.value, url).await?;
                eprintln!("registered webhook {} for {}", hook.id, hook.url);
                Some(hook.id)
            }
            _ => None,
        };
        let mut cfg = ServerConfig::new(args.listen, settings.ledger.value.clone());
        cfg.client = client.clone();
        cfg.webhook_key = webhook_key;
        cfg.transfer = !args.no_transfer;
        cfg.json_lines = global.json;
        cfg.quiet = global.quiet;
        cfg.payout.backoff = super::backoff();
        cfg.clock = crate::clock::from_env()?;
        let duration = args.duration.and_then(|d| d.to_std().ok());
        let server = server::start(cfg, stop_signal(duration)).await?;
        if !global.quiet {
            eprintln!(
                "listening on http://{}/webhook (POST), health at /healthz",
                server.addr
            );
        }
        let stats = server.stats.clone();
        server.wait().await?;
        if let (Some(id), Some(c)) = (registered, &client) {
            match server::unregister(c, &settings.ledger.value, &id).await {
                Ok(()) => eprintln!("deleted webhook {id}"),
                Err(e) => eprintln!("warning: could not delete webhook {id} ({e}); the next serve-webhook --public-url removes it"),
            }
        }
        if !global.quiet {
            use std::sync::atomic::Ordering::Relaxed;
            eprintln!(
                "stopped: {} events accepted, {} requests refused, {} credits recorded",
                stats.accepted.load(Relaxed),
                stats.rejected.load(Relaxed),
                stats.credits.load(Relaxed)
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn validate_public_url(url: &str) -> Result<(), UsageError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| UsageError(format!("--public-url {url:?} is not a URL: {e}")))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !loopback {
        return Err(UsageError::new(
            "--public-url must be https:// (Stark Bank only delivers to HTTPS with a valid certificate, e.g. an ngrok URL)",
        ));
    }
    Ok(())
}

/// SIGINT, SIGTERM or the `--for` timer.
async fn stop_signal(duration: Option<std::time::Duration>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = timer => tracing::info!("--for elapsed: shutting down"),
    }
}
