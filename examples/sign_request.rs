//! Sign a Stark Bank API request the way `stark` does and print the three authentication
//! headers as curl flags: `Access-Signature` is base64 DER ECDSA over
//! `"{accessId}:{accessTime}:{body}"`, with the real wall clock as the time.
//!
//! ```sh
//! cargo run --example sign_request -- project/1234 private-key.pem            # GET (empty body)
//! cargo run --example sign_request -- project/1234 private-key.pem '{"invoices": []}'
//! cargo run --example sign_request -- project/1234 private-key.pem @body.json  # body from a file
//! ```
//! Send exactly the same body bytes you signed (`--data-binary @body.json`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use stark::api::auth::{sign_request, wall_clock_seconds};
use stark::keys::PrivateKey;

#[derive(Debug, Parser)]
#[command(about = "Print Access-Id/Access-Time/Access-Signature headers as curl -H flags")]
pub struct Args {
    /// `project/<id>` (or `organization/<id>[/workspace/<id>]`)
    pub access_id: String,
    /// The private key PEM (must not be readable by group or others)
    pub private_key: PathBuf,
    /// The request body, or `@FILE` to read it from a file; omit for GET and DELETE
    #[arg(default_value = "")]
    pub body: String,
}

/// The curl flags, signed at `access_time` (Unix seconds).
pub fn run(args: &Args, access_time: &str) -> Result<String, String> {
    let key = PrivateKey::load(&args.private_key).map_err(|e| e.to_string())?;
    let body = match args.body.strip_prefix('@') {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read the body {path}: {e}"))?
        }
        None => args.body.clone().into_bytes(),
    };
    let h = sign_request(&key, &args.access_id, access_time, &body);
    Ok(format!(
        "-H 'Access-Id: {}' -H 'Access-Time: {}' -H 'Access-Signature: {}'",
        h.access_id, h.access_time, h.access_signature
    ))
}

#[allow(dead_code)] // tests include this file as a module and call `run`
fn main() -> ExitCode {
    match run(&Args::parse(), &wall_clock_seconds()) {
        Ok(flags) => {
            println!("{flags}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}
