//! Webhook deliveries: signed with the sandbox key (some high-S), retried at +5/+30/+120
//! minutes on failure, recorded as attempts; delivery faults.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use crate::harness::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use stark::api::Query;
use stark::api::model::{Event, EventAttempt, EventEnvelope, EventLog};
use stark::sandbox::{FaultRule, SandboxConfig};

/// (Digital-Signature, raw body) of each delivery received.
type Deliveries = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Receiver {
    got: Deliveries,
    status: Arc<AtomicU16>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("Digital-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.got.lock().unwrap().push((sig, body.to_vec()));
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

/// A webhook endpoint on 127.0.0.1:0 answering `status`.
async fn receiver(status: u16) -> (Receiver, String) {
    let r = Receiver::default();
    r.status.store(status, Ordering::SeqCst);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (r, url)
}

fn count(r: &Receiver) -> usize {
    r.got.lock().unwrap().len()
}

#[tokio::test]
async fn deliveries_are_signed_with_the_sandbox_key_some_high_s() {
    let env = api(config()).await;
    let (r, url) = receiver(200).await;
    let hook = env
        .client
        .create_webhook(&url, &["invoice", "transfer"])
        .await
        .unwrap();
    assert_eq!(hook.subscriptions, vec!["invoice", "transfer"]);
    assert_eq!(
        env.client.list_webhooks().await.unwrap(),
        vec![hook.clone()]
    );

    env.client
        .create_invoices_raw(&invoices_body(8, 5_000, "hooked"))
        .await
        .unwrap();
    env.sb.advance(Duration::minutes(20));
    poll(StdDuration::from_secs(10), "24 deliveries", || async {
        (count(&r) >= 24).then_some(())
    })
    .await;
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);

    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 24);
    let key = env.sb.public_key();
    let mut high_s = 0;
    let mut kinds = Vec::new();
    for (sig, body) in &got {
        key.verify_base64(body, sig)
            .unwrap_or_else(|e| panic!("signature {sig}: {e}"));
        let der = base64_decode(sig);
        let parsed = k256::ecdsa::Signature::from_der(&der).unwrap();
        if parsed.normalize_s().is_some() {
            high_s += 1;
        }
        // One changed byte fails.
        let mut changed = body.clone();
        changed[10] ^= 1;
        assert!(key.verify_base64(&changed, sig).is_err());
        let env: EventEnvelope = serde_json::from_slice(body).unwrap();
        assert_eq!(env.event.subscription, "invoice");
        assert!(env.event.workspace_id.is_some());
        let EventLog::Invoice(log) = &env.event.log else {
            panic!("invoice log expected")
        };
        kinds.push(log.kind.clone());
    }
    assert!(
        high_s > 0 && high_s < got.len(),
        "{high_s} high-S of {}",
        got.len()
    );
    for k in ["created", "paid", "credited"] {
        assert_eq!(kinds.iter().filter(|x| *x == k).count(), 8, "{k}");
    }
    // A 200 marks the event delivered.
    let undelivered: Vec<Event> = env
        .client
        .list_all("event", "events", Query::new().set("isDelivered", false))
        .await
        .unwrap();
    assert!(undelivered.is_empty(), "{}", undelivered.len());
    assert_eq!(env.sb.truth().undelivered_events, 0);

    // Deleting the webhook stops deliveries.
    env.client.delete_webhook(&hook.id).await.unwrap();
    env.client
        .create_invoices_raw(&invoices_body(1, 5_000, "after"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    assert_eq!(count(&r), 24);
    assert_eq!(env.sb.truth().undelivered_events, 1);
    env.sb.shutdown().await;
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap()
}

#[tokio::test]
async fn failed_deliveries_are_retried_at_5_30_and_120_minutes_then_abandoned() {
    let env = api(SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    let (r, url) = receiver(500).await;
    let hook = env.client.create_webhook(&url, &["invoice"]).await.unwrap();
    env.client
        .create_invoices_raw(&invoices_body(1, 5_000, "retry"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    assert_eq!(count(&r), 1);
    let event_id = {
        let events: Vec<Event> = env
            .client
            .list_all("event", "events", Query::new())
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        events[0].id.clone()
    };

    let mut expected = 1;
    for (step, retry) in [
        (4, false),
        (1, true),
        (24, false),
        (1, true),
        (89, false),
        (1, true),
    ] {
        env.sb.advance(Duration::minutes(step));
        assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
        if retry {
            expected += 1;
        }
        assert_eq!(count(&r), expected, "after advancing {step} more minutes");
    }
    env.sb.advance(Duration::hours(10));
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    assert_eq!(count(&r), 4, "gives up after 3 retries");

    let event = env.client.get_event(&event_id).await.unwrap();
    assert_eq!(event.is_delivered, Some(false));
    let attempts: Vec<EventAttempt> = env
        .client
        .list_all(
            "event/attempt",
            "attempts",
            Query::new().set("eventIds", &event_id),
        )
        .await
        .unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a.code == "badHttpStatus"
        && a.message == "HTTP POST request returned status 500"
        && a.webhook_id == hook.id));
    let base = event.created.0;
    let mut offsets: Vec<i64> = attempts
        .iter()
        .map(|a| (a.created.0 - base).num_minutes())
        .collect();
    offsets.sort();
    assert_eq!(offsets, vec![0, 5, 30, 120]);

    // The receiver recovers, but nothing is retried any more: reconciliation must find it.
    r.status.store(200, Ordering::SeqCst);
    env.sb.advance(Duration::hours(1));
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    assert_eq!(count(&r), 4);
    env.client.set_event_delivered(&event_id).await.unwrap();
    assert_eq!(env.sb.truth().undelivered_events, 0);
    env.sb.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_records_connection_errors() {
    let env = api(SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    // A port nobody listens on.
    let url = format!("http://127.0.0.1:{}/hook", free_port());
    env.client.create_webhook(&url, &["invoice"]).await.unwrap();
    env.client
        .create_invoices_raw(&invoices_body(1, 5_000, "down"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    let attempts: Vec<EventAttempt> = env
        .client
        .list_all("event/attempt", "attempts", Query::new())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].code, "badConnection");
    assert!(
        attempts[0]
            .message
            .starts_with("HTTP POST request could not connect"),
        "{}",
        attempts[0].message
    );
    env.sb.shutdown().await;
}

#[tokio::test]
async fn delivery_faults_duplicate_drop_and_reorder() {
    let env = api(SandboxConfig {
        pay_rate: 0.0,
        ..config()
    })
    .await;
    let (r, url) = receiver(200).await;
    env.client.create_webhook(&url, &["invoice"]).await.unwrap();

    env.sb.set_faults(vec![
        FaultRule::parse("delivery:duplicate-delivery=1").unwrap(),
    ]);
    env.client
        .create_invoices_raw(&invoices_body(1, 100, "dup"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    {
        let got = r.got.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, got[1].1, "the same event twice");
    }

    env.sb
        .set_faults(vec![FaultRule::parse("drop-delivery=1").unwrap()]);
    env.client
        .create_invoices_raw(&invoices_body(1, 100, "drop"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    assert_eq!(count(&r), 2, "dropped: no POST");
    assert_eq!(env.sb.truth().undelivered_events, 1);

    // Reorder: the first delivery is held and arrives after the second.
    env.sb
        .set_faults(vec![FaultRule::parse("reorder-delivery=1").unwrap()]);
    let first = env
        .client
        .create_invoices_raw(&invoices_body(1, 100, "first"))
        .await
        .unwrap();
    env.sb.set_faults(vec![]);
    // The create answered after its delivery was dispatched (and held).
    assert_eq!(count(&r), 2);
    let second = env
        .client
        .create_invoices_raw(&invoices_body(1, 100, "second"))
        .await
        .unwrap();
    assert!(env.sb.flush_deliveries(StdDuration::from_secs(10)).await);
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    let ids: Vec<String> = got[2..]
        .iter()
        .map(|(_, b)| {
            let e: EventEnvelope = serde_json::from_slice(b).unwrap();
            match e.event.log {
                EventLog::Invoice(l) => l.subject.id,
                _ => panic!(),
            }
        })
        .collect();
    assert_eq!(ids, vec![second[0].id.clone(), first[0].id.clone()]);
    env.sb.shutdown().await;
}
