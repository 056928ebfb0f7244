//! Verify a saved webhook delivery the way `stark serve-webhook` does: the `Digital-Signature`
//! header (base64 DER ECDSA, secp256k1, SHA-256, high-S accepted) over the raw body bytes.
//!
//! ```sh
//! cargo run --example verify_event -- --body event.json --signature 'MEUCIQ...'
//! cargo run --example verify_event -- --body event.json --signature 'MEUCIQ...' --key production.pem
//! ```
//! Without `--key` it uses Stark Bank's sandbox key (`tests/vectors/stark_sandbox_public_key.pem`).
//! Prints `verified ...` and exits 0, or says why not and exits 1.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use stark::api::webhook::verify_signature;
use stark::keys::PublicKey;

/// The key Stark Bank's sandbox signs webhook bodies with.
pub const SANDBOX_KEY: &str = include_str!("../tests/vectors/stark_sandbox_public_key.pem");

#[derive(Debug, Parser)]
#[command(about = "Verify a saved Stark Bank webhook body against its Digital-Signature")]
pub struct Args {
    /// The raw body exactly as received (no reformatting: one changed byte breaks it)
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// The Digital-Signature header value
    #[arg(long, value_name = "SIG", allow_hyphen_values = true)]
    pub signature: String,
    /// The public key PEM (SPKI) [default: Stark Bank's sandbox key]
    #[arg(long, value_name = "PEM_FILE")]
    pub key: Option<PathBuf>,
}

/// `Ok(what was verified)` or `Err(why not)`.
pub fn run(args: &Args) -> Result<String, String> {
    let body = std::fs::read(&args.body)
        .map_err(|e| format!("cannot read the body {}: {e}", args.body.display()))?;
    let key = match &args.key {
        Some(path) => PublicKey::load(path).map_err(|e| e.to_string())?,
        None => PublicKey::from_pem(SANDBOX_KEY).map_err(|e| format!("sandbox key: {e}"))?,
    };
    verify_signature(&key, &body, &args.signature)
        .map_err(|e| format!("not verified: {e} (key {})", key.fingerprint()))?;
    let event = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .map(|v| {
            format!(
                ", event {} ({})",
                v["event"]["id"].as_str().unwrap_or("?"),
                v["event"]["subscription"].as_str().unwrap_or("?")
            )
        })
        .unwrap_or_default();
    Ok(format!(
        "verified: {} bytes signed by {}{event}",
        body.len(),
        key.fingerprint()
    ))
}

#[allow(dead_code)] // tests include this file as a module and call `run`
fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("{why}");
            ExitCode::FAILURE
        }
    }
}
