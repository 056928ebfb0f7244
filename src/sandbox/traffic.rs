//! One line on stderr per request the sandbox answers and per webhook delivery it makes, so
//! that a rehearsal shows what the bank saw. Off unless [`super::Sandbox::log_traffic`] turns
//! it on (`stark sandbox` does, unless `--quiet`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};

use super::Shared;
use super::state::{DeliveryOutcome, Dispatch};

/// The request-logging layer of the router.
pub(crate) async fn requests(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if !s.log_traffic.load(Ordering::Relaxed) {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    eprintln!(
        "{}",
        request_line(
            Utc::now(),
            &method,
            &target,
            resp.status().as_u16(),
            started.elapsed()
        )
    );
    resp
}

/// Log one delivery attempt, when logging is on.
pub(crate) fn delivery(s: &Shared, d: &Dispatch, outcome: &DeliveryOutcome) {
    if s.log_traffic.load(Ordering::Relaxed) {
        eprintln!("{}", delivery_line(Utc::now(), d, outcome));
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-03-02T00:20:00Z GET /v2/invoice?limit=100 200 3ms`
pub(crate) fn request_line(
    at: DateTime<Utc>,
    method: &str,
    target: &str,
    status: u16,
    took: Duration,
) -> String {
    format!(
        "{} {method} {target} {status} {}ms",
        stamp(at),
        took.as_millis()
    )
}

/// `2026-03-02T00:20:00Z delivery event 123 (invoice) to http://…/webhook: 200 delivered, attempt 1`
/// (attempts counted from 1: retries follow 5, 30 and 120 minutes of business time later).
pub(crate) fn delivery_line(at: DateTime<Utc>, d: &Dispatch, outcome: &DeliveryOutcome) -> String {
    let subscription = serde_json::from_slice::<serde_json::Value>(&d.body)
        .ok()
        .and_then(|v| {
            v.pointer("/event/subscription")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    let result = match outcome {
        DeliveryOutcome::Status(code) if (200..300).contains(code) => format!("{code} delivered"),
        DeliveryOutcome::Status(code) => format!("{code} refused"),
        DeliveryOutcome::Timeout => "failed (timeout)".to_string(),
        DeliveryOutcome::BadConnection(why) => format!("failed ({why})"),
    };
    format!(
        "{} delivery event {} ({subscription}) to {}: {result}, attempt {}",
        stamp(at),
        d.event_id,
        d.url,
        d.attempt + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 20, 0).unwrap()
    }

    #[test]
    fn a_request_line_has_time_method_target_status_and_milliseconds() {
        let line = request_line(
            at(),
            "GET",
            "/v2/invoice?limit=100",
            200,
            Duration::from_millis(3),
        );
        assert_eq!(
            line,
            "2026-03-02T00:20:00Z GET /v2/invoice?limit=100 200 3ms"
        );
    }

    #[test]
    fn a_delivery_line_has_event_subscription_url_outcome_and_attempt() {
        let d = Dispatch {
            event_id: "5001".into(),
            webhook_id: "77".into(),
            url: "http://127.0.0.1:9/webhook".into(),
            body: br#"{"event":{"id":"5001","subscription":"invoice"}}"#.to_vec(),
            attempt: 1,
            base: at(),
            at: at(),
            duplicate: false,
            reorder: false,
            high_s: false,
        };
        assert_eq!(
            delivery_line(at(), &d, &DeliveryOutcome::Status(200)),
            "2026-03-02T00:20:00Z delivery event 5001 (invoice) to http://127.0.0.1:9/webhook: 200 delivered, attempt 2"
        );
        assert!(
            delivery_line(at(), &d, &DeliveryOutcome::Timeout)
                .ends_with(": failed (timeout), attempt 2")
        );
        assert!(
            delivery_line(at(), &d, &DeliveryOutcome::BadConnection("refused".into()))
                .ends_with(": failed (refused), attempt 2")
        );
        assert!(delivery_line(at(), &d, &DeliveryOutcome::Status(500)).contains(": 500 refused,"));
    }
}
