//! `stark serve-webhook`: receive Stark Bank's signed events for a while.

use std::borrow::Cow;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use super::errors::UsageError;
use crate::events::Verdict;
use crate::keys::PublicKey;
use crate::serve::{self, RequestOutcome, RequestRecord, RequestSink, ServerConfig};

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
    super::open_ledger(&settings)?; // fail fast on a missing or bad ledger
    let clock = crate::clock::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let registered = match (&args.public_url, &client) {
            (Some(url), Some(c)) => {
                let hook = serve::register(c, &settings.ledger.value, url, &*clock).await?;
                eprintln!("registered webhook {} for {}", hook.id, hook.url);
                Some(hook.id)
            }
            _ => None,
        };
        let mut cfg = ServerConfig::new(args.listen, settings.ledger.value.clone());
        cfg.client = client.clone();
        cfg.webhook_key = webhook_key;
        cfg.transfer = !args.no_transfer;
        cfg.sink = Arc::new(RequestLines {
            json: global.json,
            quiet: global.quiet,
        });
        cfg.payout.backoff = super::backoff();
        cfg.clock = clock.clone();
        let duration = args.duration.and_then(|d| d.to_std().ok());
        let server = serve::start(cfg, stop_signal(duration)).await?;
        if !global.quiet {
            eprintln!(
                "listening on http://{}/webhook (POST), health at /healthz",
                server.addr
            );
        }
        let stats = server.stats.clone();
        server.wait().await?;
        if let (Some(id), Some(c)) = (registered, &client) {
            match serve::unregister(c, &settings.ledger.value, &id, &*clock).await {
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

/// One line per request on stderr: text, or JSON with `--json`; with `--quiet`, only the
/// answers that make Stark Bank retry (5xx).
struct RequestLines {
    json: bool,
    quiet: bool,
}

impl RequestLines {
    /// The line for a request, if it is shown.
    fn line(&self, record: &RequestRecord) -> Option<String> {
        if self.quiet && record.status < 500 {
            return None;
        }
        Some(if self.json {
            json_line(record)
        } else {
            text_line(record)
        })
    }
}

impl RequestSink for RequestLines {
    fn record(&self, record: &RequestRecord) {
        if let Some(text) = self.line(record) {
            // One `write` per line: `eprintln!` on unbuffered stderr writes each formatted
            // piece separately (a dozen system calls per request).
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// A request line's fields, in their JSON order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestLine<'a> {
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_id: Option<&'a str>,
    verdict: Cow<'a, str>,
    action: Cow<'a, str>,
}

impl<'a> RequestLine<'a> {
    fn of(r: &'a RequestRecord) -> Self {
        let ids = r.event.as_ref();
        let (verdict, action): (Cow<'a, str>, Cow<'a, str>) = match &r.outcome {
            RequestOutcome::Recorded { verdict, note } => {
                (verdict.as_str().into(), action(*verdict, note.as_deref()))
            }
            RequestOutcome::Refused(refusal) => (
                refusal.to_string().into(),
                if refusal.is_retryable() {
                    "retry later"
                } else {
                    "rejected"
                }
                .into(),
            ),
        };
        RequestLine {
            status: r.status,
            event: ids.map(|e| e.event_id.as_str()),
            subscription: ids.map(|e| e.subscription.as_str()),
            log_type: ids.and_then(|e| e.log_type.as_deref()),
            invoice_id: ids.and_then(|e| e.invoice_id.as_deref()),
            verdict,
            action,
        }
    }
}

/// What the server did with a recorded event, for the operator.
fn action(verdict: Verdict, note: Option<&str>) -> Cow<'static, str> {
    match verdict {
        Verdict::Credit => "credit recorded; transfer queued".into(),
        Verdict::CreditForeign => "recorded as foreign; never transferred".into(),
        Verdict::CreditSkipped => format!(
            "recorded; not transferred ({})",
            note.unwrap_or("nothing to forward")
        )
        .into(),
        Verdict::CreditIncomplete => format!(
            "not transferred ({})",
            note.unwrap_or("credited without amount or fee")
        )
        .into(),
        Verdict::Undecodable => "does not decode: kept raw; see `stark status`".into(),
        Verdict::CreditKnown => "credit already recorded".into(),
        Verdict::Duplicate => "already recorded".into(),
        Verdict::InvoiceUpdate | Verdict::TransferUpdate => "status recorded".into(),
        Verdict::Ignored => "recorded; nothing to do".into(),
    }
}

/// `200 event=E invoice/credited invoice=I verdict=credit action=…`, `-` for what is unknown.
fn text_line(r: &RequestRecord) -> String {
    let l = RequestLine::of(r);
    format!(
        "{} event={} {}/{} invoice={} verdict={} action={}\n",
        l.status,
        l.event.unwrap_or("-"),
        l.subscription.unwrap_or("-"),
        l.log_type.unwrap_or("-"),
        l.invoice_id.unwrap_or("-"),
        l.verdict,
        l.action
    )
}

/// The same fields as one JSON object per line.
fn json_line(r: &RequestRecord) -> String {
    let mut t = serde_json::to_string(&RequestLine::of(r)).unwrap_or_default();
    t.push('\n');
    t
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::keys::SignatureError;
    use crate::serve::{EventIds, Refusal};

    fn ids(event: &str, sub: &str, log: Option<&str>, invoice: Option<&str>) -> Option<EventIds> {
        Some(EventIds {
            event_id: event.into(),
            subscription: sub.into(),
            log_type: log.map(Into::into),
            invoice_id: invoice.map(Into::into),
        })
    }

    fn recorded(event: Option<EventIds>, verdict: Verdict, note: Option<&str>) -> RequestRecord {
        RequestRecord {
            status: 200,
            event,
            outcome: RequestOutcome::Recorded {
                verdict,
                note: note.map(Into::into),
            },
            elapsed: Duration::from_millis(3),
        }
    }

    fn refused(event: Option<EventIds>, r: Refusal) -> RequestRecord {
        RequestRecord {
            status: r.status(),
            event,
            outcome: RequestOutcome::Refused(r),
            elapsed: Duration::from_millis(3),
        }
    }

    /// The lines are what `serve-webhook` has always printed, byte for byte.
    #[test]
    fn request_lines_keep_their_text_and_json_shapes() {
        let busy = || {
            Refusal::LedgerUnavailable(Arc::new(crate::ledger::LedgerError::Busy {
                path: "l.sqlite3".into(),
                timeout: Duration::from_secs(10),
                waited: None,
            }))
        };
        let cases = [
            (
                recorded(
                    ids("e1", "invoice", Some("credited"), Some("100")),
                    Verdict::Credit,
                    None,
                ),
                "200 event=e1 invoice/credited invoice=100 verdict=credit action=credit recorded; transfer queued\n",
                r#"{"status":200,"event":"e1","subscription":"invoice","logType":"credited","invoiceId":"100","verdict":"credit","action":"credit recorded; transfer queued"}"#,
            ),
            (
                recorded(
                    ids("e2", "invoice", Some("credited"), Some("101")),
                    Verdict::CreditSkipped,
                    Some("fee 10 >= amount 5"),
                ),
                "200 event=e2 invoice/credited invoice=101 verdict=credit-skipped action=recorded; not transferred (fee 10 >= amount 5)\n",
                r#"{"status":200,"event":"e2","subscription":"invoice","logType":"credited","invoiceId":"101","verdict":"credit-skipped","action":"recorded; not transferred (fee 10 >= amount 5)"}"#,
            ),
            (
                recorded(
                    ids("e3", "transfer", Some("success"), None),
                    Verdict::TransferUpdate,
                    None,
                ),
                "200 event=e3 transfer/success invoice=- verdict=transfer-update action=status recorded\n",
                r#"{"status":200,"event":"e3","subscription":"transfer","logType":"success","verdict":"transfer-update","action":"status recorded"}"#,
            ),
            (
                recorded(ids("e4", "boleto", None, None), Verdict::Ignored, None),
                "200 event=e4 boleto/- invoice=- verdict=ignored action=recorded; nothing to do\n",
                r#"{"status":200,"event":"e4","subscription":"boleto","verdict":"ignored","action":"recorded; nothing to do"}"#,
            ),
            (
                refused(None, Refusal::BadSignature(SignatureError::Mismatch)),
                "400 event=- -/- invoice=- verdict=bad signature: signature does not match the content action=rejected\n",
                r#"{"status":400,"verdict":"bad signature: signature does not match the content","action":"rejected"}"#,
            ),
            (
                refused(None, Refusal::BodyTooLarge),
                "413 event=- -/- invoice=- verdict=body too large action=rejected\n",
                r#"{"status":413,"verdict":"body too large","action":"rejected"}"#,
            ),
            (
                refused(None, Refusal::BodyTooSlow),
                "408 event=- -/- invoice=- verdict=body too slow action=rejected\n",
                r#"{"status":408,"verdict":"body too slow","action":"rejected"}"#,
            ),
            (
                refused(
                    None,
                    Refusal::KeyUnavailable(crate::api::webhook::KeyFetchError::NoKey),
                ),
                "503 event=- -/- invoice=- verdict=signing key unavailable action=retry later\n",
                r#"{"status":503,"verdict":"signing key unavailable","action":"retry later"}"#,
            ),
            (
                refused(ids("e5", "invoice", Some("paid"), Some("102")), busy()),
                "503 event=e5 invoice/paid invoice=102 verdict=ledger unavailable action=retry later\n",
                r#"{"status":503,"event":"e5","subscription":"invoice","logType":"paid","invoiceId":"102","verdict":"ledger unavailable","action":"retry later"}"#,
            ),
            (
                refused(None, Refusal::ShuttingDown),
                "503 event=- -/- invoice=- verdict=shutting down action=retry later\n",
                r#"{"status":503,"verdict":"shutting down","action":"retry later"}"#,
            ),
        ];
        for (record, text, json) in &cases {
            assert_eq!(text_line(record), *text);
            assert_eq!(json_line(record), format!("{json}\n"));
        }
        let e = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let msg = e.to_string();
        assert_eq!(
            text_line(&refused(None, Refusal::NotAnEvent(e))),
            format!("400 event=- -/- invoice=- verdict=not an event: {msg} action=rejected\n")
        );
        assert_eq!(
            text_line(&refused(None, Refusal::NotUtf8)),
            "400 event=- -/- invoice=- verdict=body is not UTF-8 action=rejected\n"
        );
        assert_eq!(
            text_line(&refused(None, Refusal::UnreadableBody)),
            "400 event=- -/- invoice=- verdict=cannot read body action=rejected\n"
        );
    }

    #[test]
    fn every_verdict_has_its_action_text() {
        for (verdict, note, text) in [
            (Verdict::Credit, None, "credit recorded; transfer queued"),
            (
                Verdict::CreditForeign,
                None,
                "recorded as foreign; never transferred",
            ),
            (
                Verdict::CreditSkipped,
                Some("why"),
                "recorded; not transferred (why)",
            ),
            (
                Verdict::CreditSkipped,
                None,
                "recorded; not transferred (nothing to forward)",
            ),
            (Verdict::CreditKnown, None, "credit already recorded"),
            (Verdict::Duplicate, None, "already recorded"),
            (Verdict::InvoiceUpdate, None, "status recorded"),
            (Verdict::TransferUpdate, None, "status recorded"),
            (Verdict::Ignored, None, "recorded; nothing to do"),
        ] {
            assert_eq!(action(verdict, note), text, "{verdict:?}");
        }
    }

    #[test]
    fn quiet_shows_only_what_makes_the_bank_retry() {
        let quiet = RequestLines {
            json: false,
            quiet: true,
        };
        assert_eq!(quiet.line(&recorded(None, Verdict::Credit, None)), None);
        assert_eq!(quiet.line(&refused(None, Refusal::BodyTooLarge)), None);
        assert_eq!(
            quiet.line(&refused(None, Refusal::ShuttingDown)).as_deref(),
            Some("503 event=- -/- invoice=- verdict=shutting down action=retry later\n")
        );
        let json = RequestLines {
            json: true,
            quiet: false,
        };
        assert_eq!(
            json.line(&refused(None, Refusal::BodyTooLarge)).as_deref(),
            Some("{\"status\":413,\"verdict\":\"body too large\",\"action\":\"rejected\"}\n")
        );
    }
}
