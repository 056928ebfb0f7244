//! Request signing: `Access-Id`, `Access-Time`, `Access-Signature` over
//! `"{accessId}:{accessTime}:{body}"`, computed over the exact bytes that go on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::keys::{PrivateKey, PublicKey, SignatureError};

/// The three authentication headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeaders {
    pub access_id: String,
    pub access_time: String,
    pub access_signature: String,
}

/// The exact bytes that are signed: `accessId:accessTime:body`.
pub fn signing_message(access_id: &str, access_time: &str, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(access_id.len() + access_time.len() + body.len() + 2);
    msg.extend_from_slice(access_id.as_bytes());
    msg.push(b':');
    msg.extend_from_slice(access_time.as_bytes());
    msg.push(b':');
    msg.extend_from_slice(body);
    msg
}

/// Unix seconds from the real wall clock, the only clock authentication ever uses.
pub fn wall_clock_seconds() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}

/// Sign `body` (empty for GET and DELETE) for `access_id` at `access_time`.
pub fn sign_request(
    key: &PrivateKey,
    access_id: &str,
    access_time: &str,
    body: &[u8],
) -> AuthHeaders {
    let signature = key.sign_base64(&signing_message(access_id, access_time, body));
    AuthHeaders {
        access_id: access_id.to_string(),
        access_time: access_time.to_string(),
        access_signature: signature,
    }
}

/// Check a request's signature, as the API (and `stark sandbox`) does.
pub fn verify_request(
    key: &PublicKey,
    access_id: &str,
    access_time: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    key.verify_base64(&signing_message(access_id, access_time, body), signature)
}

/// Parse an `Access-Time` value (`1700000000` or `1700000000.123`) into seconds.
pub fn parse_access_time(value: &str) -> Option<f64> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    v.parse::<f64>().ok().filter(|t| t.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_id_time_body() {
        assert_eq!(
            signing_message("project/1", "17", b""),
            b"project/1:17:".to_vec()
        );
        assert_eq!(
            signing_message("project/1", "17", b"{}"),
            b"project/1:17:{}".to_vec()
        );
    }

    #[test]
    fn our_signatures_verify_and_any_changed_byte_breaks_them() {
        let key = PrivateKey::generate();
        let body = br#"{"invoices":[{"amount":100}]}"#;
        let h = sign_request(&key, "project/42", "1700000000", body);
        let public = key.public_key();
        verify_request(
            &public,
            "project/42",
            "1700000000",
            body,
            &h.access_signature,
        )
        .unwrap();
        let msg = signing_message("project/42", "1700000000", body);
        for i in 0..msg.len() {
            let mut changed = msg.clone();
            changed[i] ^= 0x01;
            assert_eq!(
                public.verify_base64(&changed, &h.access_signature),
                Err(SignatureError::Mismatch),
                "byte {i} changed"
            );
        }
        assert!(
            verify_request(
                &public,
                "project/42",
                "1700000001",
                body,
                &h.access_signature
            )
            .is_err()
        );
        assert!(
            verify_request(
                &public,
                "project/43",
                "1700000000",
                body,
                &h.access_signature
            )
            .is_err()
        );
    }

    #[test]
    fn access_time_parsing() {
        assert_eq!(parse_access_time("1700000000"), Some(1_700_000_000.0));
        assert_eq!(parse_access_time("1700000000.5"), Some(1_700_000_000.5));
        assert_eq!(parse_access_time("-1"), None);
        assert_eq!(parse_access_time("abc"), None);
        assert_eq!(parse_access_time(""), None);
    }
}
