//! The HTTP front: `/_sandbox/` admin routes, and one dispatcher for everything else that
//! resolves the `/v2/` route (404/405), reads the body (413 above 1 MiB), authenticates,
//! applies request faults, then runs the handler under the state lock (or, for a late effect,
//! schedules it and answers a timeout-like outcome).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::routes::{self, Ctx, Reply};
use super::state::{Errors, err};
use super::{MAX_BODY, Shared, admin, auth};

/// Bodies up to this size are read to the end before a 413 is answered.
const DRAIN_LIMIT: usize = 16 * MAX_BODY;
/// How long (real time) a `late-effect` that hangs holds its answer before it sends a 504:
/// past the client's timeout (30 s by default). Shutting the sandbox down ends it sooner.
pub(crate) const HANG_HOLD: std::time::Duration = std::time::Duration::from_secs(60);
use crate::api::model::{PublicKeyEntry, Timestamp};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    admin::routes()
        .fallback(v2)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            super::traffic::requests,
        ))
        .with_state(shared)
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn errors_response(status: StatusCode, errors: &Errors) -> Response {
    json_response(status, &Reply::errors_body(errors))
}

fn reply_response(reply: Reply) -> Response {
    match reply {
        Reply::Ok(v) => json_response(StatusCode::OK, &v),
        Reply::Errors(status, e) => errors_response(status, &e),
        Reply::Cut => cut_connection(),
        Reply::Content(content_type, bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        // Held by the dispatcher before it gets here (see `hold`); a 504 otherwise.
        Reply::Hang => reply_response(routes::gateway_timeout()),
    }
}

/// Hold a hanging answer: until [`HANG_HOLD`] passes or the sandbox shuts down.
async fn hold(shared: &Shared) {
    let mut closing = shared.closing.subscribe();
    tokio::select! {
        _ = tokio::time::sleep(HANG_HOLD) => {}
        _ = closing.wait_for(|c| *c) => {}
    }
}

/// A response that promises more bytes than it sends: the connection is cut mid-answer, so
/// the client cannot know whether the request took effect.
fn cut_connection() -> Response {
    // A body that starts, then fails: hyper drops the connection mid-answer, as a proxy or a
    // network fault would, after the request took effect.
    let mut resp = Response::new(Body::new(CutBody { sent: false }));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
    resp
}

struct CutBody {
    sent: bool,
}

impl http_body::Body for CutBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::other(
                "connection cut (injected fault)",
            ))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(
            axum::body::Bytes::from_static(b"{\"invoices\":["),
        ))))
    }
}

async fn v2(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return errors_response(
            StatusCode::NOT_FOUND,
            &err(
                "notFound",
                format!("There is no route {path}: the API lives under /v2/"),
            ),
        );
    };
    let route = match routes::resolve(&parts.method, rest) {
        Ok(r) => r,
        Err((status, e)) => return errors_response(status, &e),
    };
    let too_big_to_read = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > DRAIN_LIMIT);
    // Read (and discard) bodies somewhat over the limit so that the client gets the 413
    // instead of a connection reset while it is still sending.
    let body = if too_big_to_read {
        None
    } else {
        axum::body::to_bytes(body, DRAIN_LIMIT)
            .await
            .ok()
            .filter(|b| b.len() <= MAX_BODY)
    };
    let Some(body) = body else {
        return reply_response(routes::too_large());
    };
    let query: HashMap<String, String> =
        match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            Ok(Query(pairs)) => pairs.into_iter().collect(),
            Err(e) => {
                return errors_response(
                    StatusCode::BAD_REQUEST,
                    &err("invalidQuery", format!("Cannot read the query string: {e}")),
                );
            }
        };

    let decision = {
        let bank = shared.bank();
        let public = route == routes::Route::PublicKeyList && auth::is_anonymous(&parts.headers);
        if !public {
            if let Err(e) = auth::check(&bank, &parts.headers, &body, shared.max_skew) {
                return errors_response(StatusCode::BAD_REQUEST, &e);
            }
        }
        drop(bank);
        shared.bank().decide_request_faults(route.name())
    };
    if decision.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(decision.latency_ms)).await;
    }
    let access_time = parts
        .headers
        .get("Access-Time")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    if let Some(refused) = routes::refusal(&decision, access_time, shared.max_skew) {
        return reply_response(refused);
    }

    shared.pump();
    let deferred = {
        let now = shared.clock.now();
        let mut bank = shared.bank();
        routes::defer(
            &mut bank,
            &decision,
            now,
            &route,
            &parts.method,
            rest,
            &query,
            &body,
        )
    };
    if let Some(reply) = deferred {
        tracing::debug!(method = %parts.method, path, "sandbox request deferred (late effect)");
        if reply == Reply::Hang {
            hold(&shared).await;
        }
        return reply_response(reply);
    }
    let result = {
        let now = shared.clock.now();
        let ctx = Ctx {
            now,
            query: &query,
            body: &body,
            public_key: PublicKeyEntry {
                content: shared.key.public_key().to_pem(),
                created: Timestamp(shared.key_created),
            },
            decision: &decision,
        };
        let mut bank = shared.bank();
        routes::handle(&mut bank, &ctx, &route)
    };
    shared.pump();
    tracing::debug!(method = %parts.method, path, ok = result.is_ok(), "sandbox request");
    reply_response(routes::outcome(&decision, result))
}

impl IntoResponse for super::GroundTruth {
    fn into_response(self) -> Response {
        json_response(
            StatusCode::OK,
            &serde_json::to_value(self).unwrap_or(Value::Null),
        )
    }
}
