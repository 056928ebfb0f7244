//! Arbitrary strings as a signature header: `decode_signature` never panics, and whatever it
//! accepts is a normalized (low-S) signature that re-encodes to DER it accepts again.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::signature_decode(data));
