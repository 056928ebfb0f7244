//! `stark keygen`: make the key pair whose public half is registered at Stark Bank.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use crate::keys::{PrivateKey, write_keypair};

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for private-key.pem and public-key.pem [default: the config directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Overwrite existing key files
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &KeygenArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => crate::config::default_config_dir()
            .context("no config directory is known for this platform: pass --dir")?,
    };
    let key = PrivateKey::generate();
    let (private_path, public_path) = write_keypair(&dir, &key, args.force)?;
    let public = key.public_key();
    if global.json {
        let out = serde_json::json!({
            "private_key": private_path,
            "public_key": public_path,
            "public_key_pem": public.to_pem(),
            "fingerprint": public.fingerprint(),
        });
        super::print_json("keygen", &out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if global.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Wrote {} (mode 600, keep it secret)",
        private_path.display()
    )?;
    outln!("Wrote {}", public_path.display())?;
    outln!()?;
    out!("{}", public.to_pem())?;
    outln!("fingerprint {}", public.fingerprint())?;
    outln!()?;
    outln!("Next steps:")?;
    outln!(
        "  1. In the Stark Bank web app, open Integrations and create a project with the public key above."
    )?;
    outln!("  2. Take the project id it shows and set it:")?;
    outln!("       export STARK_PROJECT_ID=<project id>")?;
    outln!("       export STARK_PRIVATE_KEY={}", private_path.display())?;
    outln!("  3. Create the ledger (once): stark init")?;
    outln!("  4. Check the setup: stark doctor")?;
    Ok(ExitCode::SUCCESS)
}
