//! `stark keygen`: make the key pair whose public half is registered at Stark Bank.

use std::path::{Path, PathBuf};
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
    /// Replace existing key files (the old private key is backed up first, mode 600)
    #[arg(long)]
    pub force: bool,
    /// Do not ask before `--force` replaces a key (the question is asked only on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Copy `path` to `<path>.bak-<UTC time>` (a new file, mode 600; `-2`, `-3`… if taken).
fn backup(path: &Path) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{}.bak-{stamp}", path.display());
    for n in 1..100 {
        let candidate = PathBuf::from(if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&candidate)
        {
            Ok(mut f) => {
                f.write_all(&bytes)
                    .and_then(|_| f.sync_all())
                    .with_context(|| format!("cannot write {}", candidate.display()))?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot write {}", candidate.display()));
            }
        }
    }
    anyhow::bail!("cannot find a free backup name next to {}", path.display())
}

pub fn run(args: &KeygenArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => crate::config::default_config_dir()
            .context("no config directory is known for this platform: pass --dir")?,
    };
    // Absolute, so that the next steps (and cron) work from any directory.
    let dir =
        std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let old = dir.join("private-key.pem");
    let mut backed_up = None;
    if args.force && old.exists() {
        let fingerprint = PrivateKey::load(&old)
            .map(|k| format!("fingerprint {}", k.public_key().fingerprint()))
            .unwrap_or_else(|_| "not readable as a key".to_string());
        let consequence = [format!(
            "keygen --force replaces {} ({fingerprint}): a project registered with its public key stops authenticating until the new public key is registered; the old key is backed up first, next to it (mode 600)",
            old.display()
        )];
        if !super::confirm::confirm(&consequence, "Replace the key?", args.yes)? {
            return Err(super::confirm::declined(&format!("{} kept", old.display())));
        }
        backed_up = Some(backup(&old)?);
    }
    let key = PrivateKey::generate();
    let (private_path, public_path) = write_keypair(&dir, &key, args.force)?;
    let public = key.public_key();
    if global.json {
        let out = serde_json::json!({
            "private_key": private_path,
            "public_key": public_path,
            "public_key_pem": public.to_pem(),
            "fingerprint": public.fingerprint(),
            "backup": backed_up,
            "version": 1,
        });
        super::print_json("keygen", &out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if global.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(b) = &backed_up {
        outln!(
            "Backed up the old private key to {} (mode 600)",
            b.display()
        )?;
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
    outln!("  2. Take the project id it shows, then create the ledger and config.toml (once;")?;
    outln!("     it ends with the doctor checks):")?;
    outln!(
        "       stark init --project-id <project id> --private-key {}",
        private_path.display()
    )?;
    outln!("     or set them in the environment instead, then run `stark init`:")?;
    outln!("       export STARK_PROJECT_ID=<project id>")?;
    outln!("       export STARK_PRIVATE_KEY={}", private_path.display())?;
    Ok(ExitCode::SUCCESS)
}
