//! Arbitrary text as a private key PEM: parsing never panics; whatever loads signs and
//! verifies, and survives a PEM round trip.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pem_private_key(data));
