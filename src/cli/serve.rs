//! `stark serve-webhook`: receive Stark Bank's signed events for a while, like `stripe listen`:
//! bind, register the public URL, check it from outside, then print one line per event (and
//! one per transfer sent), and a money summary at stop.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use super::errors::UsageError;
use crate::clock::Clock;
use crate::domain::money::format_brl;
use crate::events::Verdict;
use crate::keys::PublicKey;
use crate::ledger::Ledger;
use crate::serve::{self, RequestOutcome, RequestRecord, RequestSink, ServeError, ServerConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; ngrok forwards to it)
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Public HTTPS URL (e.g. an ngrok URL) registered at Stark Bank: exactly as given when it
    /// has a path, <URL>/webhook for a bare host; deleted again on shutdown
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
    /// Register and delete no webhook (replicas behind a load balancer, after `stark webhook
    /// ensure`); with --public-url, only its path is served
    #[arg(long)]
    pub no_register: bool,
}

/// How often the transfer lines look at the ledger.
const TRANSFER_POLL: std::time::Duration = std::time::Duration::from_millis(300);

pub fn run(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let webhook_key = match &args.webhook_key {
        Some(p) => Some(PublicKey::load(p)?),
        None => None,
    };
    // Credentials are needed to fetch the key, register the webhook and transfer.
    let client = match settings.client() {
        Ok(c) => Some(c),
        Err(e)
            if webhook_key.is_some()
                && (args.public_url.is_none() || args.no_register)
                && args.no_transfer =>
        {
            tracing::info!(error = %e, "no API credentials: recording only");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let public = match &args.public_url {
        Some(url) => Some(validate_public_url(url)?),
        None => None,
    };
    super::open_ledger(&settings)?; // fail fast on a missing or bad ledger
    let ledger_path = settings.ledger.value.clone();
    let clock = crate::clock::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let lines = Arc::new(EventLines::new(global.json, global.quiet, clock.clone()));
    rt.block_on(async {
        let mut cfg = ServerConfig::new(args.listen, ledger_path.clone());
        cfg.client = client.clone();
        cfg.webhook_key = webhook_key;
        cfg.transfer = !args.no_transfer;
        cfg.sink = lines.clone();
        cfg.payout.backoff = super::backoff();
        cfg.clock = clock.clone();
        cfg.public_path = public.as_ref().map(|u| u.path().to_string());
        let duration = args.duration.and_then(|d| d.to_std().ok());
        // Transfers recorded from here on get a line.
        let watch = TransferWatch::start(&ledger_path)?;
        // Bind (and start) before registering anything: a busy port registers nothing.
        let server = match serve::start(cfg, stop_signal(duration)).await {
            Ok(s) => s,
            Err(ServeError::Bind { addr, source }) => return Err(busy(addr, &source).into()),
            Err(e) => return Err(e.into()),
        };
        let addr = server.addr;
        let registered = match (&public, &client) {
            (Some(url), Some(c)) if !args.no_register => {
                match serve::register(c, &ledger_path, url.as_str(), &*clock).await {
                    Ok(serve::Registration { hook, ours: true }) => {
                        eprintln!("registered webhook {} for {}", hook.id, hook.url);
                        self_check(&hook.url, addr).await;
                        Some(hook.id)
                    }
                    Ok(serve::Registration { hook, ours: false }) => {
                        eprintln!(
                            "serving webhook {} for {}, registered by `stark webhook ensure` (left in place at stop)",
                            hook.id, hook.url
                        );
                        self_check(&hook.url, addr).await;
                        None
                    }
                    Err(e) => {
                        // Nothing stays registered (`register` removes what it could not
                        // record); stop serving before saying why.
                        let _ = server.stop().await;
                        return Err(match e {
                            ServeError::ServedElsewhere { id, url, by } => UsageError(format!(
                                "webhook {id} ({url}) is still served by {by}: nothing was registered or deleted. \
                                 Stop that serve-webhook first (it deletes its webhook when it stops), \
                                 or run this one without --public-url to only listen"
                            ))
                            .into(),
                            ServeError::BadUrl { .. } => UsageError(e.to_string()).into(),
                            e => e.into(),
                        });
                    }
                }
            }
            _ if args.no_register => {
                if !global.quiet {
                    let deployed = deployed_webhooks(&ledger_path);
                    if deployed.is_empty() {
                        eprintln!(
                            "note: --no-register, and this ledger records no webhook from `stark webhook ensure`: \
                             Stark Bank delivers here only through a webhook registered elsewhere"
                        );
                    } else {
                        eprintln!(
                            "not registering (--no-register): deliveries come through {}",
                            deployed.join(", ")
                        );
                    }
                }
                if let Some(url) = &public {
                    self_check(url.as_str(), addr).await;
                }
                None
            }
            _ => {
                if !global.quiet {
                    eprintln!(
                        "note: no webhook registered, so Stark Bank will not deliver here; pass \
                         --public-url https://<tunnel> (e.g. ngrok forwarding to {addr})"
                    );
                }
                None
            }
        };
        if !global.quiet {
            eprintln!(
                "listening on http://{addr}/webhook (POST), health at /healthz; Ctrl-C stops"
            );
        }
        let watcher = tokio::spawn(watch_transfers(
            watch,
            ledger_path.clone(),
            lines.clone(),
            server.stopped(),
        ));
        let stats = server.stats.clone();
        server.wait().await?;
        let _ = watcher.await;
        if let (Some(id), Some(c)) = (registered, &client) {
            match serve::unregister(c, &ledger_path, &id, &*clock).await {
                Ok(true) => eprintln!("deleted webhook {id}"),
                Ok(false) => eprintln!(
                    "left webhook {id} in place: `stark webhook ensure` registered it meanwhile"
                ),
                Err(e) => eprintln!(
                    "warning: could not delete webhook {id} ({e}); the next serve-webhook --public-url removes it"
                ),
            }
        }
        {
            use std::sync::atomic::Ordering::Relaxed;
            lines.summary(stats.accepted.load(Relaxed), stats.rejected.load(Relaxed));
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The webhooks `stark webhook ensure` recorded in the ledger, as `<id> (<url>)`.
fn deployed_webhooks(ledger: &Path) -> Vec<String> {
    let Ok(l) = Ledger::open(ledger) else {
        return Vec::new();
    };
    l.db()
        .live_webhooks()
        .unwrap_or_default()
        .into_iter()
        .filter(|h| l.db().is_deployed_webhook(&h.id).unwrap_or(false))
        .map(|h| format!("webhook {} ({})", h.id, h.url))
        .collect()
}

/// A listen address in use (or not ours): name it, suggest the next port.
fn busy(addr: SocketAddr, e: &std::io::Error) -> UsageError {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            let mut next = addr;
            next.set_port(addr.port().wrapping_add(1).max(1));
            format!(
                " (another serve-webhook, or another program, listens there); try --listen {next}"
            )
        }
        _ => String::new(),
    };
    UsageError(format!(
        "cannot listen on {addr}: {e}{hint}; nothing was registered"
    ))
}

/// GET `<public URL's>/healthz` from here, through the tunnel: warn (and go on) when it does
/// not reach this server.
async fn self_check(webhook: &str, addr: SocketAddr) {
    let Some(h) = serve::health_url(webhook) else {
        return;
    };
    if let Err(what) = serve::health_check(&h).await {
        eprintln!(
            "warning: self-check GET {h} failed ({what}): Stark Bank's deliveries will not reach \
             this server; is the tunnel up and forwarding to {addr}?"
        );
    }
}

/// The public URL to register, or a usage error saying why it cannot be.
pub(super) fn validate_public_url(url: &str) -> Result<reqwest::Url, UsageError> {
    validate_url("--public-url", url)
}

/// [`validate_public_url`] for the option `flag`.
pub(super) fn validate_url(flag: &str, url: &str) -> Result<reqwest::Url, UsageError> {
    let parsed = serve::webhook_url(url).map_err(|e| {
        let hint = if url.contains("://") {
            String::new()
        } else {
            format!("; did you mean https://{}?", url.trim_start_matches('/'))
        };
        UsageError(format!(
            "{flag} {url:?} is not a URL ({e}): give an absolute https:// URL{hint}"
        ))
    })?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !loopback {
        return Err(UsageError(format!(
            "{flag} must be https:// (Stark Bank only delivers to HTTPS with a valid certificate, e.g. an ngrok URL)"
        )));
    }
    Ok(parsed)
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

/// Watch the ledger's transfer attempts while the server runs and print one line when each
/// attempt is sent (or rejected); its later outcome comes as the bank's transfer event.
async fn watch_transfers(
    mut watch: TransferWatch,
    ledger: PathBuf,
    lines: Arc<EventLines>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let done = tokio::select! {
            _ = tokio::time::sleep(TRANSFER_POLL) => false,
            _ = stopped.changed() => true,
        };
        for change in watch.poll(&ledger) {
            lines.transfer(&change);
        }
        if done || *stopped.borrow() {
            return;
        }
    }
}

/// A transfer attempt's first state worth a line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TransferChange {
    invoice_id: String,
    amount: i64,
    /// `sent` or `rejected`.
    outcome: &'static str,
    transfer_id: Option<String>,
    errors: Option<String>,
}

/// The transfer rows still to report: from the lowest row not yet sent or rejected on.
struct TransferWatch {
    from: i64,
    reported: HashSet<i64>,
}

impl TransferWatch {
    fn start(ledger: &Path) -> Result<TransferWatch, crate::ledger::LedgerError> {
        let l = Ledger::open(ledger)?;
        let from = l.db().last_transfer_row()? + 1;
        Ok(TransferWatch {
            from,
            reported: HashSet::new(),
        })
    }

    fn poll(&mut self, ledger: &Path) -> Vec<TransferChange> {
        let Ok(l) = Ledger::open(ledger) else {
            return Vec::new();
        };
        let Ok(rows) = l.db().transfers_from(self.from) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut lowest_open = None;
        for t in rows {
            let outcome = match t.status.as_str() {
                "claimed" | "sending" => {
                    lowest_open.get_or_insert(t.row);
                    continue;
                }
                "rejected" => "rejected",
                _ => "sent",
            };
            if self.reported.insert(t.row) {
                out.push(TransferChange {
                    invoice_id: t.invoice_id,
                    amount: t.amount,
                    outcome,
                    transfer_id: t.transfer_id,
                    errors: t.errors,
                });
            }
        }
        if let Some(low) = lowest_open {
            self.from = low;
            self.reported.retain(|r| *r >= low);
        } else if let Some(max) = self.reported.iter().max().copied() {
            self.from = max + 1;
            self.reported.clear();
        }
        out
    }
}

/// Money seen by this run, for the stop summary.
#[derive(Debug, Default)]
struct Totals {
    credits: u64,
    credited: i64,
    forwarded: i64,
    sent: u64,
    /// Credits of this run whose transfer was not sent yet: invoice → amount to forward.
    waiting: HashMap<String, i64>,
}

/// The lines `serve-webhook` prints on stdout: one per event, one per transfer sent; text
/// (80 columns) or, with `--json`, JSON lines. With `--quiet`, only the refusals that make
/// Stark Bank retry (5xx).
struct EventLines {
    json: bool,
    quiet: bool,
    clock: Arc<dyn Clock>,
    totals: Mutex<Totals>,
}

impl EventLines {
    fn new(json: bool, quiet: bool, clock: Arc<dyn Clock>) -> Self {
        EventLines {
            json,
            quiet,
            clock,
            totals: Mutex::new(Totals::default()),
        }
    }

    fn emit(&self, line: &str) {
        // One `write` per line.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }

    /// Note a request in the totals; the line for it, if it is shown.
    fn request_line(&self, r: &RequestRecord) -> Option<String> {
        let now = self.clock.now();
        if let Ok(mut t) = self.totals.lock() {
            match &r.outcome {
                RequestOutcome::Recorded { verdict, .. } => {
                    if *verdict == Verdict::Credit
                        && let Some(e) = &r.event
                    {
                        let amount = e.amount.unwrap_or_default();
                        t.credits += 1;
                        t.credited += amount;
                        let net = amount - e.fee.unwrap_or_default();
                        if let Some(inv) = &e.invoice_id {
                            t.waiting.insert(inv.clone(), net);
                        }
                    }
                }
                RequestOutcome::Refused(_) => {}
            }
        }
        if self.quiet && r.status < 500 {
            return None;
        }
        Some(if self.json {
            json_event(r, now)
        } else {
            text_event(r, now)
        })
    }

    fn transfer(&self, c: &TransferChange) {
        if let Ok(mut t) = self.totals.lock()
            && c.outcome == "sent"
        {
            t.sent += 1;
            t.forwarded += c.amount;
            t.waiting.remove(&c.invoice_id);
        }
        if self.quiet && c.outcome != "rejected" {
            return;
        }
        let now = self.clock.now();
        self.emit(&if self.json {
            json_transfer(c, now)
        } else {
            text_transfer(c, now)
        });
    }

    /// The money summary at stop (stderr; with `--json` also a `summary` line on stdout).
    fn summary(&self, events: u64, refused: u64) {
        let Ok(t) = self.totals.lock() else {
            return;
        };
        let waiting: i64 = t.waiting.values().sum();
        if self.json {
            let line = serde_json::json!({
                "version": 1,
                "type": "summary",
                "events": events,
                "refused": refused,
                "credits": t.credits,
                "credited": t.credited,
                "transfers_sent": t.sent,
                "forwarded": t.forwarded,
                "waiting": t.waiting.len(),
                "waiting_amount": waiting,
            });
            self.emit(&format!("{line}\n"));
        }
        if !self.quiet {
            eprintln!(
                "stopped: {} events ({} refused); credited {} ({}); forwarded {} ({}); waiting {} ({})",
                events,
                refused,
                format_brl(t.credited),
                t.credits,
                format_brl(t.forwarded),
                t.sent,
                format_brl(waiting),
                t.waiting.len(),
            );
            if !t.waiting.is_empty() {
                eprintln!(
                    "  the waiting credits are forwarded by `stark transfer-credited` or `stark reconcile`"
                );
            }
        }
    }
}

impl RequestSink for EventLines {
    fn record(&self, record: &RequestRecord) {
        if let Some(text) = self.request_line(record) {
            self.emit(&text);
        }
    }
}

/// Long ids shortened for the 80-column text lines (`2546…2301`); JSON keeps them whole.
pub(super) fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 12 {
        return id.to_string();
    }
    let head: String = id.chars().take(4).collect();
    let tail: String = id.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

/// At most 80 columns (cut with `…`).
pub(super) fn fit80(mut s: String) -> String {
    if s.chars().count() > 80 {
        s = s.chars().take(79).collect();
        s.push('…');
    }
    s.push('\n');
    s
}

/// `HH:MM:SS` (UTC, like the ledger's stamps).
pub(super) fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// What an event is, in a word or two: `credited`, `paid`, `transfer success`.
fn kind_of(e: &serve::EventIds) -> String {
    match (e.subscription.as_str(), e.log_type.as_deref()) {
        ("invoice", Some(t)) => t.to_string(),
        (sub, Some(t)) => format!("{sub} {t}"),
        (sub, None) => sub.to_string(),
    }
}

/// What was done with a recorded event, short.
fn action(verdict: Verdict, net: Option<i64>, note: Option<&str>) -> String {
    match verdict {
        Verdict::Credit => match net {
            Some(n) => format!("-> transfer {} queued", format_brl(n)),
            None => "-> transfer queued".into(),
        },
        Verdict::CreditForeign => "not ours: never forwarded".into(),
        Verdict::CreditSkipped | Verdict::CreditIncomplete => {
            format!("not forwarded ({})", note.unwrap_or("nothing to forward"))
        }
        Verdict::Undecodable => "does not decode: kept raw, see `stark status`".into(),
        Verdict::CreditKnown => "credit already recorded".into(),
        Verdict::Duplicate => "duplicate: already recorded".into(),
        Verdict::InvoiceUpdate | Verdict::TransferUpdate => String::new(),
        Verdict::Ignored => "ignored".into(),
    }
}

/// `09:01:03 credited   2546…2301 R$ 710,97 fee R$ 2,22 -> transfer R$ 708,75 queued`.
fn text_event(r: &RequestRecord, now: DateTime<Utc>) -> String {
    let time = hms(now);
    match (&r.outcome, &r.event) {
        (RequestOutcome::Recorded { verdict, note }, Some(e)) => {
            let mut s = format!("{time} {:<10}", kind_of(e));
            if let Some(i) = &e.invoice_id {
                s.push_str(&format!(" {}", short_id(i)));
            }
            if let Some(t) = &e.transfer_id {
                s.push_str(&format!(" id {}", short_id(t)));
            }
            if let Some(a) = e.amount {
                s.push_str(&format!(" {}", format_brl(a)));
            }
            let credit = matches!(e.log_type.as_deref(), Some("credited" | "paid"));
            if let Some(f) = e.fee.filter(|f| *f != 0 || credit) {
                s.push_str(&format!(" fee {}", format_brl(f).trim_start_matches("R$ ")));
            }
            let net = e.amount.zip(e.fee).map(|(a, f)| a - f);
            let what = action(*verdict, net, note.as_deref());
            if !what.is_empty() {
                s.push(' ');
                s.push_str(&what);
            }
            fit80(s)
        }
        (RequestOutcome::Recorded { verdict, .. }, None) => {
            fit80(format!("{time} event      {}", verdict.as_str()))
        }
        (RequestOutcome::Refused(refusal), e) => {
            let mut s = format!("{time} refused    {}", r.status);
            if let Some(e) = e {
                s.push_str(&format!(" {} {}", kind_of(e), short_id(&e.event_id)));
            }
            s.push_str(&format!(": {refusal}"));
            if refusal.is_retryable() {
                s.push_str(" (Stark Bank retries)");
            }
            fit80(s)
        }
    }
}

/// One JSON line per request.
#[derive(Serialize)]
struct EventJson<'a> {
    version: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fee: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<bool>,
}

fn json_event(r: &RequestRecord, now: DateTime<Utc>) -> String {
    let e = r.event.as_ref();
    let (kind, verdict, note, reason, retry) = match &r.outcome {
        RequestOutcome::Recorded { verdict, note } => {
            ("event", Some(verdict.as_str()), note.as_deref(), None, None)
        }
        RequestOutcome::Refused(x) => (
            "refused",
            None,
            None,
            Some(x.to_string()),
            Some(x.is_retryable()),
        ),
    };
    let line = EventJson {
        version: 1,
        kind,
        time: crate::ledger::ts(now),
        status: r.status,
        event_id: e.map(|e| e.event_id.as_str()),
        subscription: e.map(|e| e.subscription.as_str()),
        log_type: e.and_then(|e| e.log_type.as_deref()),
        invoice_id: e.and_then(|e| e.invoice_id.as_deref()),
        amount: e.and_then(|e| e.amount),
        fee: e.and_then(|e| e.fee),
        transfer_id: e.and_then(|e| e.transfer_id.as_deref()),
        verdict,
        note,
        reason,
        retry,
    };
    let mut t = serde_json::to_string(&line).unwrap_or_default();
    t.push('\n');
    t
}

/// `09:01:04 transfer   2546…2301 R$ 708,75 sent (id 5678…1234)`.
fn text_transfer(c: &TransferChange, now: DateTime<Utc>) -> String {
    let mut s = format!(
        "{} transfer   {} {} {}",
        hms(now),
        short_id(&c.invoice_id),
        format_brl(c.amount),
        c.outcome
    );
    if let Some(id) = &c.transfer_id {
        s.push_str(&format!(" (id {})", short_id(id)));
    }
    if let Some(e) = &c.errors {
        s.push_str(&format!(": {}", super::log::error_text(e)));
    }
    fit80(s)
}

fn json_transfer(c: &TransferChange, now: DateTime<Utc>) -> String {
    let line = serde_json::json!({
        "version": 1,
        "type": "transfer",
        "time": crate::ledger::ts(now),
        "invoice_id": c.invoice_id,
        "amount": c.amount,
        "outcome": c.outcome,
        "transfer_id": c.transfer_id,
        "errors": c.errors.as_deref().map(json_text),
    });
    format!("{line}\n")
}

/// A stored JSON text as JSON (never a JSON string holding JSON); other text as a string.
pub(super) fn json_text(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::keys::SignatureError;
    use crate::serve::{EventIds, Refusal};

    fn t() -> DateTime<Utc> {
        "2026-03-02T09:01:03Z".parse().unwrap()
    }

    fn credited(invoice: &str, amount: i64, fee: i64) -> EventIds {
        EventIds {
            event_id: "e1".into(),
            subscription: "invoice".into(),
            log_type: Some("credited".into()),
            invoice_id: Some(invoice.into()),
            amount: Some(amount),
            fee: Some(fee),
            transfer_id: None,
        }
    }

    fn recorded(event: EventIds, verdict: Verdict, note: Option<&str>) -> RequestRecord {
        RequestRecord {
            status: 200,
            event: Some(event),
            outcome: RequestOutcome::Recorded {
                verdict,
                note: note.map(Into::into),
            },
            elapsed: Duration::from_millis(3),
        }
    }

    /// The trial's line: time, kind, invoice, amount, fee, the transfer it queued; 80 columns.
    #[test]
    fn a_credit_is_one_line_with_amount_fee_and_the_transfer_queued() {
        let r = recorded(
            credited("2546000000000301", 71097, 222),
            Verdict::Credit,
            None,
        );
        let line = text_event(&r, t());
        assert_eq!(
            line,
            "09:01:03 credited   2546…0301 R$ 710,97 fee 2,22 -> transfer R$ 708,75 queued\n"
        );
        assert!(line.trim_end().chars().count() <= 80);
        let json: serde_json::Value = serde_json::from_str(&json_event(&r, t())).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["type"], "event");
        assert_eq!(json["invoice_id"], "2546000000000301");
        assert_eq!(json["amount"], 71097);
        assert_eq!(json["fee"], 222);
        assert_eq!(json["log_type"], "credited");
        assert_eq!(json["verdict"], "credit");
        assert_eq!(json["time"], "2026-03-02T09:01:03.000000Z");
    }

    #[test]
    fn transfer_events_name_their_invoice_and_every_line_fits_80_columns() {
        let ev = EventIds {
            event_id: "e3".into(),
            subscription: "transfer".into(),
            log_type: Some("success".into()),
            invoice_id: Some("2546000000000301".into()),
            amount: Some(70875),
            fee: Some(0),
            transfer_id: Some("5678000000001234".into()),
        };
        assert_eq!(
            text_event(&recorded(ev, Verdict::TransferUpdate, None), t()),
            "09:01:03 transfer success 2546…0301 id 5678…1234 R$ 708,75\n"
        );
        let long = recorded(
            credited("1", 5, 10),
            Verdict::CreditSkipped,
            Some(&"a very long reason ".repeat(10)),
        );
        let line = text_event(&long, t());
        assert_eq!(line.trim_end().chars().count(), 80, "{line}");
        assert!(line.ends_with("…\n"));
        let refused = RequestRecord {
            status: 400,
            event: None,
            outcome: RequestOutcome::Refused(Refusal::BadSignature(SignatureError::Mismatch)),
            elapsed: Duration::from_millis(1),
        };
        assert_eq!(
            text_event(&refused, t()),
            "09:01:03 refused    400: bad signature: signature does not match the content\n"
        );
        let json: serde_json::Value = serde_json::from_str(&json_event(&refused, t())).unwrap();
        assert_eq!(json["type"], "refused");
        assert_eq!(json["retry"], false);
    }

    #[test]
    fn a_sent_transfer_is_a_later_line_and_counts_as_forwarded() {
        let lines = EventLines::new(false, false, Arc::new(crate::clock::ManualClock::new(t())));
        let r = recorded(credited("100", 1000, 10), Verdict::Credit, None);
        assert!(lines.request_line(&r).is_some());
        let c = TransferChange {
            invoice_id: "100".into(),
            amount: 990,
            outcome: "sent",
            transfer_id: Some("77".into()),
            errors: None,
        };
        assert_eq!(
            text_transfer(&c, t()),
            "09:01:03 transfer   100 R$ 9,90 sent (id 77)\n"
        );
        {
            let tot = lines.totals.lock().unwrap();
            assert_eq!((tot.credited, tot.waiting.len()), (1000, 1));
        }
        lines.transfer(&c);
        let tot = lines.totals.lock().unwrap();
        assert_eq!((tot.forwarded, tot.sent, tot.waiting.len()), (990, 1, 0));
        let rejected = TransferChange {
            outcome: "rejected",
            errors: Some(r#"[{"code":"invalidBalance"}]"#.into()),
            ..c
        };
        let j: serde_json::Value = serde_json::from_str(&json_transfer(&rejected, t())).unwrap();
        assert_eq!(
            j["errors"][0]["code"], "invalidBalance",
            "errors are JSON, not a string"
        );
    }

    #[test]
    fn quiet_shows_only_what_makes_the_bank_retry() {
        let quiet = EventLines::new(false, true, Arc::new(crate::clock::ManualClock::new(t())));
        let r = recorded(credited("100", 1000, 10), Verdict::Credit, None);
        assert_eq!(quiet.request_line(&r), None);
        let shutting = RequestRecord {
            status: 503,
            event: None,
            outcome: RequestOutcome::Refused(Refusal::ShuttingDown),
            elapsed: Duration::from_millis(1),
        };
        assert_eq!(
            quiet.request_line(&shutting).as_deref(),
            Some("09:01:03 refused    503: shutting down (Stark Bank retries)\n")
        );
    }

    #[test]
    fn public_urls_bare_hosts_paths_and_mistakes() {
        assert_eq!(
            validate_public_url("https://abcd.ngrok-free.app/webhook")
                .unwrap()
                .as_str(),
            "https://abcd.ngrok-free.app/webhook"
        );
        assert_eq!(
            validate_public_url("https://abcd.ngrok-free.app")
                .unwrap()
                .as_str(),
            "https://abcd.ngrok-free.app/webhook"
        );
        let e = validate_public_url("abcd.ngrok-free.app").unwrap_err().0;
        assert!(
            e.contains("did you mean https://abcd.ngrok-free.app?"),
            "{e}"
        );
        assert!(e.contains("is not a URL"), "{e}");
    }

    #[test]
    fn a_busy_port_names_the_address_and_suggests_the_next() {
        let e = busy(
            "127.0.0.1:8000".parse().unwrap(),
            &std::io::Error::from(std::io::ErrorKind::AddrInUse),
        )
        .0;
        assert!(e.starts_with("cannot listen on 127.0.0.1:8000: "), "{e}");
        assert!(e.contains("try --listen 127.0.0.1:8001"), "{e}");
        assert!(e.contains("nothing was registered"), "{e}");
    }

    #[test]
    fn transfer_ids_map_back_to_their_invoice() {
        assert_eq!(
            crate::payout::invoice_of_external_id("stark-xfer-123-a2"),
            Some("123")
        );
        assert_eq!(crate::payout::invoice_of_external_id("other-123"), None);
        assert_eq!(
            crate::payout::invoice_of_external_id("stark-xfer--a1"),
            None
        );
    }
}
