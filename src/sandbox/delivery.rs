//! Webhook deliveries: POST `{"event": {...}}` with a `Digital-Signature` header (base64 DER
//! ECDSA over the exact body; about half of them high-S like the real server), outside the
//! state lock, then record the outcome (delivered, or an attempt plus the next retry).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use k256::ecdsa::Signature;

use super::Shared;
use super::state::{DeliveryOutcome, Dispatch};
use crate::keys::PrivateKey;

/// How long a reordered delivery waits for a later one before it is sent anyway.
const HOLD_LIMIT: Duration = Duration::from_millis(1000);

/// Sign `body` with `key`; when `high_s`, flip s to n - s (still a valid signature, but one
/// that strict low-S verifiers reject unless they normalize).
pub fn sign(key: &PrivateKey, body: &[u8], high_s: bool) -> String {
    let der = key.sign_der(body);
    if high_s {
        if let Ok(sig) = Signature::from_der(&der) {
            let (r, s) = sig.split_scalars();
            if let Ok(high) = Signature::from_scalars(r, -s) {
                return B64.encode(high.to_der().as_bytes());
            }
        }
    }
    B64.encode(der)
}

/// Send the deliveries of one pump, in order, in a background task. Reordered ones are held
/// back and sent after the next delivery (or after [`HOLD_LIMIT`]).
pub(crate) fn dispatch(shared: &Arc<Shared>, ds: Vec<Dispatch>) {
    if ds.is_empty() {
        return;
    }
    let mut batch = Vec::with_capacity(ds.len());
    {
        let mut held = shared.held.lock().unwrap_or_else(|e| e.into_inner());
        for d in ds {
            if d.reorder {
                held.push((d, Instant::now()));
            } else {
                batch.push(d);
            }
        }
        if !batch.is_empty() {
            batch.extend(held.drain(..).map(|(d, _)| d));
        }
    }
    spawn_batch(shared, batch);
}

/// Send held deliveries that waited longer than [`HOLD_LIMIT`].
pub(crate) fn release_stale(shared: &Arc<Shared>) {
    let batch: Vec<Dispatch> = {
        let mut held = shared.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.iter().all(|(_, t)| t.elapsed() < HOLD_LIMIT) {
            return;
        }
        held.drain(..).map(|(d, _)| d).collect()
    };
    spawn_batch(shared, batch);
}

fn release_all(shared: &Arc<Shared>) {
    let batch: Vec<Dispatch> = {
        let mut held = shared.held.lock().unwrap_or_else(|e| e.into_inner());
        held.drain(..).map(|(d, _)| d).collect()
    };
    spawn_batch(shared, batch);
}

fn spawn_batch(shared: &Arc<Shared>, batch: Vec<Dispatch>) {
    if batch.is_empty() {
        return;
    }
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let s = shared.clone();
    shared.handle.spawn(async move {
        for d in batch {
            let outcome = post(&s, &d).await;
            if d.duplicate {
                let _ = post(&s, &d).await;
            }
            tracing::debug!(event = %d.event_id, webhook = %d.webhook_id, attempt = d.attempt, outcome = ?outcome, "delivery");
            super::traffic::delivery(&s, &d, &outcome);
            s.bank().record_delivery(&d, &outcome);
        }
        s.in_flight.fetch_sub(1, Ordering::SeqCst);
    });
}

async fn post(shared: &Shared, d: &Dispatch) -> DeliveryOutcome {
    let signature = sign(&shared.key, &d.body, d.high_s);
    let result = shared
        .http
        .post(&d.url)
        .header("Content-Type", "application/json")
        .header("Digital-Signature", signature)
        .body(d.body.clone())
        .send()
        .await;
    match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.bytes().await;
            DeliveryOutcome::Status(status)
        }
        Err(e) if e.is_timeout() => DeliveryOutcome::Timeout,
        Err(e) => DeliveryOutcome::BadConnection(e.to_string()),
    }
}

/// Pump, release held deliveries, and wait until nothing is in flight (or `timeout`).
pub(crate) async fn flush(shared: &Arc<Shared>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        shared.pump();
        release_all(shared);
        let due_now = {
            let now = shared.clock.now();
            shared.bank().next_due().is_some_and(|t| t <= now)
        };
        if shared.in_flight() == 0 && !due_now {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_s_signatures_still_verify_after_normalizing() {
        let key = PrivateKey::generate();
        let body = br#"{"event":{"id":"1"}}"#;
        let high = sign(&key, body, true);
        let der = B64.decode(&high).unwrap();
        let sig = Signature::from_der(&der).unwrap();
        assert!(sig.normalize_s().is_some(), "s must be high");
        key.public_key().verify_base64(body, &high).unwrap();
        let low = sign(&key, body, false);
        let sig = Signature::from_der(&B64.decode(&low).unwrap()).unwrap();
        assert!(sig.normalize_s().is_none());
        key.public_key().verify_base64(body, &low).unwrap();
    }
}
