//! The properties each fuzz target checks, shared with `tests/it/fuzz_regressions.rs` so that a
//! saved crasher replays exactly the check that caught it. No libFuzzer dependency here.
#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::Value;
use stark::api::model::{Event, EventEnvelope, Invoice, InvoiceLog, Transfer, TransferLog};
use stark::api::webhook::verify_signature;
use stark::keys::{PrivateKey, PublicKey, decode_signature};

fn fixed_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::from_secret_bytes(&[0x5a; 32]).expect("valid scalar"))
}

/// `webhook_verify`: input is `[header length][header bytes][body bytes]`.
pub fn webhook_verify(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize).min(rest.len());
    let (header, body) = rest.split_at(n);
    let header = String::from_utf8_lossy(header);
    let key = fixed_key();
    let public = key.public_key();

    // Never panics, whatever the header holds.
    let _ = public.verify_base64(body, &header);
    let _ = verify_signature(&public, body, &header);

    // A real signature over the body verifies, with surrounding whitespace too.
    let sig = key.sign_base64(body);
    assert_eq!(verify_signature(&public, body, &sig), Ok(()));
    assert_eq!(
        verify_signature(&public, body, &format!(" {sig}\r\n")),
        Ok(())
    );

    // A single-byte mutation of the body fails (position and xor chosen by the input).
    if !body.is_empty() {
        let pos = (n * 131 + body.len()) % body.len();
        let flip = header.bytes().next().unwrap_or(1) | 1;
        let mut changed = body.to_vec();
        changed[pos] ^= flip;
        assert!(verify_signature(&public, &changed, &sig).is_err());
    }
    let mut longer = body.to_vec();
    longer.push(b' ');
    assert!(verify_signature(&public, &longer, &sig).is_err());
}

/// `pem_private_key`: arbitrary text as PEM.
pub fn pem_private_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PublicKey::from_pem(text);
    if let Ok(key) = PrivateKey::from_pem(text) {
        let public = key.public_key();
        let sig = key.sign_base64(data);
        assert_eq!(public.verify_base64(data, &sig), Ok(()));
        let again = PrivateKey::from_pem(&key.to_sec1_pem()).expect("own PEM reloads");
        assert_eq!(again.public_key(), public);
        assert_eq!(PublicKey::from_pem(&public.to_pem()), Ok(public));
    }
}

/// What `Client::page` does with a list answer: take `key` out of the object and decode it.
fn page<T>(v: &Value, key: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let Some(obj) = v.as_object() else {
        return;
    };
    let items = obj.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
    if let Ok(items) = serde_json::from_value::<Vec<T>>(items) {
        let text = serde_json::to_vec(&items).expect("decoded items serialize");
        let back: Vec<T> = serde_json::from_slice(&text).expect("re-serialized items decode");
        assert_eq!(back, items);
    }
}

/// `event_decode`: arbitrary bytes as a webhook body and as list pages.
pub fn event_decode(data: &[u8]) {
    if let Ok(env) = serde_json::from_slice::<EventEnvelope>(data) {
        let text = serde_json::to_vec(&env).expect("a decoded event serializes");
        let back: EventEnvelope =
            serde_json::from_slice(&text).expect("a re-serialized event decodes");
        assert_eq!(back, env);
        let _ = (env.event.log.kind(), env.event.log.id());
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        page::<Event>(&v, "events");
        page::<Invoice>(&v, "invoices");
        page::<InvoiceLog>(&v, "logs");
        page::<Transfer>(&v, "transfers");
        page::<TransferLog>(&v, "logs");
    }
}

/// `signature_decode`: arbitrary text as a signature header.
pub fn signature_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(sig) = decode_signature(&text) {
        assert!(sig.normalize_s().is_none(), "decoded signatures are low-S");
        let b64 = base64_encode(sig.to_der().as_bytes());
        assert_eq!(decode_signature(&b64), Ok(sig));
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
