//! Arbitrary bytes as a webhook body or a list page: decoding never panics, and whatever
//! decodes re-serializes to something that decodes to the same value.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::event_decode(data));
