//! Request authentication, as the real API does it: `Access-Id: project/{id}`,
//! `Access-Time` (Unix seconds, checked against the real wall clock) and `Access-Signature`
//! (base64 DER ECDSA over `accessId:accessTime:body`, high-S accepted).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;

use super::faults::FaultKind;
use super::state::{Bank, Errors, err};
use crate::api::auth::{parse_access_time, signing_message};
use crate::keys::PublicKey;

/// The last (key, signed message, signature) that verified. The message does not include the
/// path, so the requests a client makes within one second with the same small body (e.g.
/// `PATCH event/{id}` with `{"isDelivered": true}`) carry the same signature; a repeat of
/// exactly that triple is not verified again. Everything else (skew, project) is checked
/// every time.
static LAST_VERIFIED: std::sync::Mutex<Option<(PublicKey, Vec<u8>, String)>> =
    std::sync::Mutex::new(None);
const CACHE_MAX: usize = 1024;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Does the request carry none of the `Access-*` headers? The SDKs' public user sends none to
/// `GET /v2/public-key`, which the real API answers without credentials.
pub fn is_anonymous(headers: &HeaderMap) -> bool {
    ["Access-Id", "Access-Time", "Access-Signature"]
        .iter()
        .all(|h| !headers.contains_key(*h))
}

/// Check the three authentication headers against the registered projects.
pub fn check(
    bank: &Bank,
    headers: &HeaderMap,
    body: &[u8],
    max_skew: Duration,
) -> Result<(), Errors> {
    let creds = |m: &str| err("invalidCredentials", m);
    let access_id = header(headers, "Access-Id")
        .ok_or_else(|| creds("Missing Access-Id header: send `project/{projectId}`"))?;
    let access_time = header(headers, "Access-Time")
        .ok_or_else(|| creds("Missing Access-Time header: send the Unix time in seconds"))?;
    let signature = header(headers, "Access-Signature")
        .ok_or_else(|| creds("Missing Access-Signature header"))?;
    let project = access_id.strip_prefix("project/").ok_or_else(|| {
        creds(&format!(
            "Access-Id {access_id:?} is not of the form project/{{projectId}}"
        ))
    })?;
    let key = bank
        .project_key(project)
        .ok_or_else(|| creds(&format!("Unknown project {project:?}")))?;
    let time = parse_access_time(access_time).ok_or_else(|| {
        err(
            "invalidAccessTime",
            format!("Access-Time {access_time:?} is not a Unix time in seconds"),
        )
    })?;
    // The raw header value is what was signed (not a re-formatted number).
    let raw_time = headers
        .get("Access-Time")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(access_time);
    let message = signing_message(access_id, raw_time, body);
    let small = message.len() <= CACHE_MAX;
    let seen = small
        && LAST_VERIFIED
            .lock()
            .map(|c| {
                c.as_ref()
                    .is_some_and(|(k, m, s)| k == key && *m == message && s == signature)
            })
            .unwrap_or(false);
    if !seen {
        key.verify_base64(&message, signature)
            .map_err(|e| signature_mismatch(&e.to_string()))?;
        if small {
            if let Ok(mut c) = LAST_VERIFIED.lock() {
                *c = Some((key.clone(), message, signature.to_string()));
            }
        }
    }
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    if (time - wall).abs() > max_skew.as_secs_f64() {
        return Err(access_time_too_far(access_time, max_skew, wall as u64));
    }
    Ok(())
}

/// The `invalidCredentials` answer to a signature that does not verify (`reason` says why).
pub(crate) fn signature_mismatch(reason: &str) -> Errors {
    err(
        "invalidCredentials",
        format!(
            "Access-Signature does not match the request ({reason}): sign \"accessId:accessTime:body\" with the project's private key"
        ),
    )
}

/// The `invalidAccessTime` answer to an `Access-Time` more than `max_skew` away from
/// `server_time` (Unix seconds).
pub(crate) fn access_time_too_far(
    access_time: &str,
    max_skew: Duration,
    server_time: u64,
) -> Errors {
    err(
        "invalidAccessTime",
        format!(
            "Access-Time {access_time} is more than {} seconds away from the server time {server_time}",
            max_skew.as_secs(),
        ),
    )
}

/// What an injected `invalid-access-time` or `invalid-credentials` fault answers: the errors
/// a real failure of that kind gives, marked as injected. `access_time` is what the request
/// sent, `max_skew` the allowed distance.
pub(crate) fn injected(kind: FaultKind, access_time: &str, max_skew: Duration) -> Errors {
    if kind == FaultKind::InvalidAccessTime {
        let mut errors = access_time_too_far(access_time, max_skew, wall_seconds());
        for e in &mut errors {
            e.message.push_str(" (injected fault)");
        }
        errors
    } else {
        signature_mismatch("injected fault")
    }
}

/// This machine's real clock, in Unix seconds.
pub(crate) fn wall_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
