//! Replays every saved fuzz input through the same check its fuzz target runs
//! (`fuzz/checks.rs`): `tests/fuzz_regressions/<target>/*`. Crashers found by `cargo fuzz` are
//! copied here so they stay fixed; a few hand-made seeds keep each check exercised.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}/{name}: {msg}");
        }
        n += 1;
    }
    assert!(n > 0, "no inputs for {target}");
}

#[test]
fn webhook_verify_inputs() {
    replay("webhook_verify", checks::webhook_verify);
}

#[test]
fn pem_private_key_inputs() {
    replay("pem_private_key", checks::pem_private_key);
}

#[test]
fn event_decode_inputs() {
    replay("event_decode", checks::event_decode);
}

#[test]
fn signature_decode_inputs() {
    replay("signature_decode", checks::signature_decode);
}
