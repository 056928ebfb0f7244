//! `stark init`: create the ledger, once, before the first campaign. No other command creates
//! one (they exit 2 on a missing ledger), so a mistyped `STARK_LEDGER` or a deleted file can
//! never silently start a second ledger and campaign.
//!
//! It creates the parent directories and the file (mode 0600), applies the migrations and
//! prints the path and the new ledger id. On a ledger that already exists it changes nothing,
//! says "already initialised" with the same path and id, and exits 0, so a setup script can
//! run it every time. It never overwrites a ledger; a file that is not a stark ledger is
//! refused as every command refuses it.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use crate::ledger::{Creation, Ledger};

#[derive(Debug, Args)]
pub struct InitArgs {}

pub fn run(_args: &InitArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let path = &settings.ledger.value;
    let (ledger, creation) = Ledger::create(path)?;
    let id = ledger.ledger_id()?;
    let created = creation == Creation::New;
    if global.json {
        super::print_json(
            "init",
            &serde_json::json!({
                "ledger": path,
                "ledger_id": id,
                "created": created,
                "source": settings.ledger.source.to_string(),
            }),
        )?;
    } else if !global.quiet {
        if created {
            outln!(
                "created ledger {} (id {id}; path from {})",
                path.display(),
                settings.ledger.source
            )?;
        } else {
            outln!(
                "already initialised: {} (id {id}; path from {}); nothing changed",
                path.display(),
                settings.ledger.source
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
