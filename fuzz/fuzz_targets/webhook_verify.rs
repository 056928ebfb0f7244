//! Arbitrary body bytes and `Digital-Signature` header text: verification never panics; a
//! valid signature over the body verifies, and any single-byte change to the body fails.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::webhook_verify(data));
