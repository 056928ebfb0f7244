//! Request signing and webhook verification costs.
//!
//! ```sh
//! cargo bench --bench crypto -- --warm-up-time 1 --measurement-time 3
//! ```
//! `verify/full` is what `stark serve-webhook` does per delivery (trim, base64, DER, high-S
//! normalization, SHA-256, verify); `verify/bare_k256` is k256 alone on the pre-decoded,
//! normalized signature (SHA-256 + verify); `verify/decode` is the decoding step alone. The
//! difference between the first two is the overhead of our wrapper. Results: BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use k256::pkcs8::DecodePublicKey;
use stark::api::auth::sign_request;
use stark::keys::{PrivateKey, PublicKey, decode_signature};

const SANDBOX_KEY: &str = include_str!("../tests/vectors/stark_sandbox_public_key.pem");
const WEBHOOK_EVENTS: &str = include_str!("../tests/vectors/webhook_events.json");

/// A real invoice event from Stark's sandbox with a high-S signature.
fn high_s_vector() -> (String, String) {
    let events: serde_json::Value = serde_json::from_str(WEBHOOK_EVENTS).unwrap();
    let e = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["expect"] == "valid"
                && e["verifies_as"] == "raw"
                && e["s_high"] == true
                && e["derived"] != true
                && e["content"]
                    .as_str()
                    .unwrap()
                    .contains("\"subscription\": \"invoice\"")
        })
        .expect("a real high-S invoice vector");
    (
        e["content"].as_str().unwrap().to_string(),
        e["signature"].as_str().unwrap().to_string(),
    )
}

/// An invoice batch body of about 1 KB (10 invoices), as `issue-invoices` sends.
fn invoice_batch_body() -> String {
    let invoices: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"amount":{},"taxId":"012.345.678-90","name":"Cliente Exemplo {i}","tags":["stark-abc234-c1-b1"]}}"#,
                10_000 + i * 1234
            )
        })
        .collect();
    let body = format!(r#"{{"invoices":[{}]}}"#, invoices.join(","));
    assert!((900..=1100).contains(&body.len()), "{} bytes", body.len());
    body
}

fn signing(c: &mut Criterion) {
    let key = PrivateKey::from_secret_bytes(&[7u8; 32]).unwrap();
    let body = invoice_batch_body();
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("request_1kb", |b| {
        b.iter(|| {
            sign_request(
                black_box(&key),
                black_box("project/5656565656565656"),
                black_box("1700000000"),
                black_box(body.as_bytes()),
            )
        })
    });
    g.finish();
}

fn verification(c: &mut Criterion) {
    let (content, signature) = high_s_vector();
    let key = PublicKey::from_pem(SANDBOX_KEY).unwrap();
    let bare_key = VerifyingKey::from_public_key_pem(SANDBOX_KEY.trim()).unwrap();
    let decoded: Signature = decode_signature(&signature).unwrap();
    // Sanity: every path accepts the vector (and the raw high-S form would not).
    key.verify_base64(content.as_bytes(), &signature).unwrap();
    bare_key.verify(content.as_bytes(), &decoded).unwrap();

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Bytes(content.len() as u64));
    g.bench_function("full", |b| {
        b.iter(|| {
            key.verify_base64(black_box(content.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });
    g.bench_function("bare_k256", |b| {
        b.iter(|| {
            bare_key
                .verify(black_box(content.as_bytes()), black_box(&decoded))
                .unwrap()
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| decode_signature(black_box(&signature)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, signing, verification);
criterion_main!(benches);
