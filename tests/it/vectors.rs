//! The real Stark Bank / starkbank-ecdsa vectors (copied from the shared vector set into
//! tests/vectors/): webhook signatures, ecdsa forgeries, request-signing examples, key formats.

use serde_json::Value;
use stark::api::auth::{signing_message, verify_request};
use stark::api::model::{EventEnvelope, EventLog};
use stark::keys::{PrivateKey, PublicKey, SignatureError, decode_signature};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn sandbox_key() -> PublicKey {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/vectors/stark_sandbox_public_key.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    PublicKey::from_pem(&pem).unwrap()
}

#[test]
fn every_webhook_vector_verifies_or_is_rejected_as_labelled() {
    let key = sandbox_key();
    let events = load("webhook_events.json");
    let (mut valid, mut invalid, mut high_s) = (0, 0, 0);
    for (i, e) in events.as_array().unwrap().iter().enumerate() {
        let content = e["content"].as_str().unwrap();
        let sig = e["signature"].as_str().unwrap();
        let result = key.verify_base64(content.as_bytes(), sig);
        match (
            e["expect"].as_str().unwrap(),
            e["verifies_as"].as_str().unwrap(),
        ) {
            ("valid", "raw") => {
                assert_eq!(result, Ok(()), "vector {i} must verify");
                valid += 1;
                if e["s_high"].as_bool() == Some(true) {
                    high_s += 1;
                }
            }
            ("invalid", _) => {
                assert!(result.is_err(), "vector {i} must be rejected");
                invalid += 1;
            }
            _ => {} // normalized_only: valid only via Python's sorted-keys fallback; optional
        }
    }
    assert_eq!(valid, 29);
    assert_eq!(invalid, 52);
    assert!(high_s >= 15, "high-S vectors exercised: {high_s}");
}

#[test]
fn malformed_and_mismatched_webhook_signatures_are_distinct_errors() {
    let key = sandbox_key();
    let events = load("webhook_events.json");
    let mut malformed = 0;
    let mut mismatch = 0;
    for e in events.as_array().unwrap() {
        if e["expect"] != "invalid" {
            continue;
        }
        match key.verify_base64(
            e["content"].as_str().unwrap().as_bytes(),
            e["signature"].as_str().unwrap(),
        ) {
            Err(SignatureError::Malformed(_)) | Err(SignatureError::Missing) => malformed += 1,
            Err(SignatureError::Mismatch) => mismatch += 1,
            Ok(()) => unreachable!(),
        }
    }
    assert!(
        malformed > 0 && mismatch > 0,
        "malformed {malformed}, mismatch {mismatch}"
    );
}

#[test]
fn valid_invoice_and_transfer_events_decode() {
    let events = load("webhook_events.json");
    let (mut invoices, mut transfers, mut others) = (0, 0, 0);
    for e in events.as_array().unwrap() {
        if e["expect"] != "valid" {
            continue;
        }
        let content = e["content"].as_str().unwrap();
        let Ok(v) = serde_json::from_str::<Value>(content) else {
            continue;
        };
        if v.get("event").is_none() {
            continue;
        }
        let env: EventEnvelope =
            serde_json::from_str(content).unwrap_or_else(|err| panic!("{err}: {content}"));
        match env.event.log {
            EventLog::Invoice(log) => {
                invoices += 1;
                assert!(!log.subject.id.is_empty());
            }
            EventLog::Transfer(log) => {
                transfers += 1;
                assert!(!log.subject.id.is_empty());
            }
            EventLog::Other(_) => others += 1,
        }
    }
    assert!(
        invoices > 0 && transfers > 0 && others > 0,
        "{invoices} {transfers} {others}"
    );
}

#[test]
fn ecdsa_cases_including_forgeries() {
    let v = load("ecdsa_vectors.json");
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let message = match case["message_hex"].as_str() {
            Some(h) => hex_decode(h),
            None => case["message"].as_str().unwrap().as_bytes().to_vec(),
        };
        let outcome = PublicKey::from_pem(case["public_key_pem"].as_str().unwrap())
            .map_err(|_| ())
            .and_then(|k| {
                k.verify_base64(&message, case["signature_base64"].as_str().unwrap())
                    .map_err(|_| ())
            });
        match case["expect"].as_str().unwrap() {
            "valid" => assert!(outcome.is_ok(), "{id} must verify"),
            _ => assert!(outcome.is_err(), "{id} must be rejected"),
        }
    }
}

#[test]
fn official_request_signatures_verify_with_our_verifier() {
    let v = load("ecdsa_vectors.json");
    let examples = v["request_signing_examples"]["examples"]
        .as_array()
        .unwrap();
    assert_eq!(examples.len(), 3);
    for ex in examples {
        let key = PublicKey::from_pem(ex["public_key_pem"].as_str().unwrap()).unwrap();
        let (id, time, body) = (
            ex["access_id"].as_str().unwrap(),
            ex["access_time"].as_str().unwrap(),
            ex["body"].as_str().unwrap(),
        );
        assert_eq!(
            signing_message(id, time, body.as_bytes()),
            ex["message"].as_str().unwrap().as_bytes()
        );
        let sig = ex["signature_base64"].as_str().unwrap();
        verify_request(&key, id, time, body.as_bytes(), sig).unwrap();
        // Change any byte of the signed message: rejected.
        let msg = signing_message(id, time, body.as_bytes());
        for i in 0..msg.len() {
            let mut m = msg.clone();
            m[i] = m[i].wrapping_add(1);
            assert_eq!(key.verify_base64(&m, sig), Err(SignatureError::Mismatch));
        }
        // And our signer, with the same private key, produces signatures their key accepts.
        let private = PrivateKey::from_pem(ex["private_key_pem"].as_str().unwrap()).unwrap();
        assert_eq!(private.public_key(), key);
        let ours = stark::api::auth::sign_request(&private, id, time, body.as_bytes());
        verify_request(&key, id, time, body.as_bytes(), &ours.access_signature).unwrap();
        // k256 signs low-S.
        let der = decode_signature(&ours.access_signature).unwrap();
        assert!(der.normalize_s().is_none());
    }
}

#[test]
fn key_formats_that_a_sane_loader_reads_all_load() {
    let v = load("key_formats.json");
    for k in v["readme_example_private_keys"].as_array().unwrap() {
        let key = PrivateKey::from_pem(k["pem"].as_str().unwrap()).unwrap();
        let expected = PublicKey::from_pem(k["openssl_pubout"].as_str().unwrap()).unwrap();
        assert_eq!(key.public_key(), expected, "{}", k["id"]);
    }
    let mut loaded = 0;
    let mut converted = 0;
    let mut reference: Option<PublicKey> = None;
    for f in v["format_examples"].as_array().unwrap() {
        let file = f["file"].as_str().unwrap();
        let pem = f["pem"].as_str().unwrap();
        if pem.contains("PUBLIC KEY") {
            // A public key given where a private key is expected is refused, by name.
            let err = PrivateKey::from_pem(pem).unwrap_err();
            assert!(err.to_string().contains("public key"), "{file}: {err}");
            PublicKey::from_pem(pem).unwrap_or_else(|e| panic!("{file}: {e}"));
            continue;
        }
        // openssl reads every private key example; so do we.
        assert_eq!(f["openssl_reads"], true);
        let key = PrivateKey::from_pem(pem).unwrap_or_else(|e| panic!("{file}: {e}"));
        loaded += 1;
        // Files converted from openssl_ecparam_genkey.pem hold that same key.
        if file == "openssl_ecparam_genkey.pem" {
            reference = Some(key.public_key());
        } else if f["generated_by"]
            .as_str()
            .unwrap()
            .contains("openssl_ecparam_genkey.pem ")
        {
            assert_eq!(
                Some(key.public_key()),
                reference,
                "{file} is converted from openssl_ecparam_genkey.pem"
            );
            converted += 1;
        }
        if let Some(hex) = f["starkbank_ecdsa_2_3_1_load"]["secret_hex"].as_str() {
            let expected = PrivateKey::from_secret_bytes(&hex_decode(hex)).unwrap();
            assert_eq!(key.public_key(), expected.public_key(), "{file}");
        }
    }
    assert_eq!(loaded, 8);
    assert_eq!(converted, 5);
}

#[test]
fn compressed_public_keys_and_derivation() {
    let v = load("ecdsa_vectors.json");
    for c in v["compressed_public_keys"].as_array().unwrap() {
        let key =
            PublicKey::from_pem(c["public_key_pem_starkbank_toPem"].as_str().unwrap()).unwrap();
        let x = c["x"].as_str().unwrap();
        let y = c["y"].as_str().unwrap();
        assert_eq!(key.point_hex(), format!("04{x}{y}"));
    }
    let d = &v["key_derivation"][0];
    let key =
        PrivateKey::from_secret_bytes(&hex_decode(d["secret_hex"].as_str().unwrap())).unwrap();
    assert_eq!(
        key.public_key().point_hex(),
        format!(
            "04{}{}",
            d["expected_x"].as_str().unwrap(),
            d["expected_y"].as_str().unwrap()
        )
    );
}

#[test]
fn sandbox_public_key_encodings_agree() {
    let v = load("public_keys.json");
    let key = sandbox_key();
    let s = &v["stark_sandbox"];
    assert_eq!(
        key.point_hex(),
        s["sec1_uncompressed_hex"].as_str().unwrap()
    );
    assert_eq!(
        key.fingerprint(),
        format!("SHA256:{}", s["spki_der_sha256"].as_str().unwrap())
    );
    assert_eq!(key.to_pem(), s["pem"].as_str().unwrap());
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
