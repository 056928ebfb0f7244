//! The programs in `examples/`, run through their `run` functions (the example files are
//! included as modules, so this needs no `cargo run`) on the real vectors.

#[path = "../../examples/verify_event.rs"]
mod verify_event;

#[path = "../../examples/sign_request.rs"]
mod sign_request;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use clap::Parser;
use serde_json::Value;
use stark::api::auth::verify_request;
use stark::keys::PublicKey;

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A real invoice event signed by Stark's sandbox with a high-S signature.
fn high_s_invoice_event() -> (String, String) {
    let events = vectors("webhook_events.json");
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

fn file_with(dir: &std::path::Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn verify_event_accepts_a_real_delivery_and_rejects_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let (content, signature) = high_s_invoice_event();
    let body = file_with(dir.path(), "event.json", content.as_bytes());
    let b = body.to_str().unwrap();
    let args = verify_event::Args::try_parse_from([
        "verify_event",
        "--body",
        b,
        "--signature",
        &signature,
    ])
    .unwrap();
    let out = verify_event::run(&args).unwrap();
    assert!(out.starts_with("verified:"), "{out}");
    assert!(out.contains("(invoice)"), "{out}");

    // One byte more (a trailing newline an editor adds) and it no longer verifies.
    let changed = file_with(
        dir.path(),
        "changed.json",
        format!("{content}\n").as_bytes(),
    );
    let args = verify_event::Args::try_parse_from([
        "verify_event",
        "--body",
        changed.to_str().unwrap(),
        "--signature",
        &signature,
    ])
    .unwrap();
    let why = verify_event::run(&args).unwrap_err();
    assert!(why.contains("does not match"), "{why}");

    // With another key (the one from the ecdsa fixture) it is a mismatch, too.
    let other = vectors("ecdsa_vectors.json")["cases"][0]["public_key_pem"]
        .as_str()
        .unwrap()
        .to_string();
    let key = file_with(dir.path(), "other.pem", other.as_bytes());
    let args = verify_event::Args::try_parse_from([
        "verify_event",
        "--body",
        b,
        "--signature",
        &signature,
        "--key",
        key.to_str().unwrap(),
    ])
    .unwrap();
    assert!(
        verify_event::run(&args)
            .unwrap_err()
            .contains("not verified")
    );

    // Garbage is malformed, not a mismatch.
    let args = verify_event::Args::try_parse_from([
        "verify_event",
        "--body",
        b,
        "--signature",
        "not base64!",
    ])
    .unwrap();
    assert!(verify_event::run(&args).unwrap_err().contains("malformed"));
}

#[test]
fn sign_request_output_verifies_with_the_examples_key() {
    let dir = tempfile::tempdir().unwrap();
    let example = &vectors("ecdsa_vectors.json")["request_signing_examples"]["examples"][1];
    let private = file_with(
        dir.path(),
        "private-key.pem",
        example["private_key_pem"].as_str().unwrap().as_bytes(),
    );
    let public = PublicKey::from_pem(example["public_key_pem"].as_str().unwrap()).unwrap();
    let access_id = example["access_id"].as_str().unwrap();
    let time = example["access_time"].as_str().unwrap();
    let body = example["body"].as_str().unwrap();

    // The official signer's signature for this message verifies, and so does ours.
    verify_request(
        &public,
        access_id,
        time,
        body.as_bytes(),
        example["signature_base64"].as_str().unwrap(),
    )
    .unwrap();
    let args = sign_request::Args::try_parse_from([
        "sign_request",
        access_id,
        private.to_str().unwrap(),
        body,
    ])
    .unwrap();
    let flags = sign_request::run(&args, time).unwrap();
    let header = |name: &str| {
        let start = flags.find(&format!("'{name}: ")).unwrap() + name.len() + 3;
        flags[start..].split('\'').next().unwrap().to_string()
    };
    assert_eq!(header("Access-Id"), access_id);
    assert_eq!(header("Access-Time"), time);
    verify_request(
        &public,
        access_id,
        time,
        body.as_bytes(),
        &header("Access-Signature"),
    )
    .unwrap();
    assert!(
        verify_request(
            &public,
            access_id,
            "1700000001",
            body.as_bytes(),
            &header("Access-Signature")
        )
        .is_err()
    );

    // @FILE reads the body from a file; an empty body signs `id:time:`.
    let body_file = file_with(dir.path(), "body.json", body.as_bytes());
    let args = sign_request::Args::try_parse_from([
        "sign_request",
        access_id,
        private.to_str().unwrap(),
        &format!("@{}", body_file.display()),
    ])
    .unwrap();
    assert_eq!(
        sign_request::run(&args, time).unwrap(),
        flags,
        "RFC 6979: same input, same signature"
    );
    let args =
        sign_request::Args::try_parse_from(["sign_request", access_id, private.to_str().unwrap()])
            .unwrap();
    let get = sign_request::run(&args, time).unwrap();
    let sig = get
        .rsplit("Access-Signature: ")
        .next()
        .unwrap()
        .trim_end_matches('\'');
    verify_request(&public, access_id, time, b"", sig).unwrap();

    // A key file readable by others is refused, with the fix in the message.
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args =
        sign_request::Args::try_parse_from(["sign_request", access_id, private.to_str().unwrap()])
            .unwrap();
    assert!(
        sign_request::run(&args, time)
            .unwrap_err()
            .contains("chmod 600")
    );
}
