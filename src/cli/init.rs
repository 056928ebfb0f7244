//! `stark init`: create the ledger, once, before the first campaign. No other command creates
//! one (they exit 2 on a missing ledger), so a mistyped `STARK_LEDGER` or a deleted file can
//! never silently start a second ledger and campaign.
//!
//! It creates the parent directories and the file (mode 0600), applies the migrations and
//! prints the path and the new ledger id. On a ledger that already exists it changes nothing,
//! says "already initialised" with the same path and id, and exits 0, so a setup script can
//! run it every time. It never overwrites a ledger; a file that is not a stark ledger is
//! refused as every command refuses it.
//!
//! With a `postgres://` URL it creates the schema in the database, which must exist and be
//! empty (a database holding other tables is refused, and nothing is added to it). The config
//! file gets the URL without its password: `PGPASSWORD` gives it (a note says so).
//!
//! It then writes the config file (`--config`, `STARK_CONFIG`, or `<config dir>/stark/
//! config.toml`; mode 0600) with absolute paths: the ledger, the private key (as configured,
//! else where `stark keygen` writes by default if that file exists), the project id (as
//! configured, else asked on a terminal) and the environment. An existing config file is kept
//! unless `--force`. Last, it runs the `doctor` checks and prints them (exit 0 whatever they
//! say: the setup is written; they tell what is left to do).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::GlobalArgs;
use crate::config::Settings;
use crate::ledger::{Creation, Ledger};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing config file (the ledger is never replaced)
    #[arg(long)]
    pub force: bool,
}

/// What became of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Created,
    Replaced,
    Kept,
}

pub fn run(args: &InitArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // The config file `--config` / `STARK_CONFIG` names is the one init writes: it may not
    // exist yet.
    let flags = crate::config::Flags {
        config_may_be_missing: true,
        ..global.flags()
    };
    let settings = crate::config::Settings::resolve(&flags)?;
    let path = &settings.ledger.value;
    let postgres = settings.ledger_is_postgres();
    let address = settings.ledger_address();
    let (ledger, creation) = Ledger::create(path).map_err(|e| super::ledger_error(&settings, e))?;
    let id = ledger.ledger_id()?;
    drop(ledger);
    let created = creation == Creation::New;
    let what = if postgres { "URL" } else { "path" };
    if !global.json && !global.quiet {
        if created {
            outln!(
                "created ledger {address} (id {id}; {what} from {})",
                settings.ledger.source
            )?;
        } else {
            outln!(
                "already initialised: {address} (id {id}; {what} from {}); nothing changed",
                settings.ledger.source
            )?;
        }
    }
    let config_path = absolute(&settings.config_file.value)?;
    let written = write_config(&settings, &config_path, args.force, global)?;
    if postgres && written != Written::Kept && url_has_password(path) && !global.quiet {
        eprintln!(
            "note: {} holds the ledger URL without its password: give the password with PGPASSWORD \
             (or STARK_LEDGER with the whole URL) wherever stark runs",
            config_path.display()
        );
    }
    if !global.json && !global.quiet {
        match written {
            Written::Created => outln!("wrote {} (mode 600)", config_path.display())?,
            Written::Replaced => outln!("replaced {} (mode 600)", config_path.display())?,
            Written::Kept => outln!(
                "kept {} as it is (--force replaces it)",
                config_path.display()
            )?,
        }
        outln!()?;
        outln!("doctor:")?;
    }
    // The checks, with the config file just written.
    let mut checks = Vec::new();
    match global.settings() {
        Ok(s) => {
            super::doctor::diagnose(&s, &mut checks);
        }
        Err(e) => checks.push(super::doctor::Check {
            level: super::doctor::Level::Fail,
            name: "config",
            detail: e.to_string(),
            fix: Some("fix the configuration value named above".into()),
        }),
    }
    if global.json {
        super::print_json(
            "init",
            &serde_json::json!({
                "ledger": address,
                "ledger_id": id,
                "created": created,
                "source": settings.ledger.source.to_string(),
                "config": config_path,
                "config_written": written != Written::Kept,
                "checks": checks,
            }),
        )?;
    } else {
        super::doctor::print(&checks, global)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the ledger URL itself holds a password (not counting PGPASSWORD).
fn url_has_password(path: &Path) -> bool {
    let text = path.to_str().unwrap_or_default();
    crate::ledger::pg::url::redact(text) != text
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

/// Write the config file at `to` unless one is there (or with `force`), atomically: a
/// temporary sibling (mode 0600), then a link that refuses an existing file (or a rename over
/// it with `force`).
fn write_config(
    s: &Settings,
    to: &Path,
    force: bool,
    global: &GlobalArgs,
) -> anyhow::Result<Written> {
    use std::os::unix::fs::OpenOptionsExt;
    let exists = to.exists();
    if exists && !force {
        return Ok(Written::Kept);
    }
    let mut table = toml::Table::new();
    let ledger = if s.ledger_is_postgres() {
        // Never the password: PGPASSWORD (or STARK_LEDGER) gives it.
        let text = s.ledger.value.to_str().unwrap_or_default();
        crate::ledger::pg::url::PgTarget::parse(text)
            .map(|t| t.without_password())
            .map_err(|e| anyhow::anyhow!("the ledger URL is invalid: {e}"))?
    } else {
        absolute(&s.ledger.value)?.display().to_string()
    };
    table.insert("ledger".into(), ledger.into());
    let key = match &s.private_key {
        Some(k) => Some(k.value.clone()),
        None => crate::config::default_private_key(),
    };
    if let Some(k) = key {
        table.insert(
            "private_key".into(),
            absolute(&k)?.display().to_string().into(),
        );
    }
    let project = match &s.project_id {
        Some(p) => Some(p.value.trim().to_string()),
        None => ask_project_id(global)?,
    };
    if let Some(p) = project {
        table.insert("project_id".into(), p.into());
    }
    table.insert(
        "environment".into(),
        s.environment.value.as_str().to_string().into(),
    );
    if let Some(u) = &global.api_url {
        table.insert("api_url".into(), u.clone().into());
    }
    let text = format!(
        "# Written by `stark init`. Flags and STARK_* variables override these values.\n{}",
        toml::to_string(&table).context("cannot write the config as TOML")?
    );
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = to.with_extension(format!("toml.tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write().with_context(|| format!("cannot write {}", tmp.display()))?;
    let placed = if force {
        std::fs::rename(&tmp, to)
    } else {
        let linked = std::fs::hard_link(&tmp, to);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            // Another init wrote it meanwhile: that one is kept.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Written::Kept),
            other => other,
        }
    };
    placed.with_context(|| format!("cannot write {}", to.display()))?;
    Ok(if exists {
        Written::Replaced
    } else {
        Written::Created
    })
}

/// The project id, asked on a terminal (empty: none yet); never asked elsewhere.
fn ask_project_id(global: &GlobalArgs) -> anyhow::Result<Option<String>> {
    if global.json || !super::confirm::interactive() {
        return Ok(None);
    }
    eprint!("Stark Bank project id (Integrations in the web app; empty to set it later): ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let id = line.trim();
    if id.is_empty() {
        return Ok(None);
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_')
    {
        anyhow::bail!(
            "{id:?} is not a project id: expected the numeric id shown in the Stark Bank web app"
        );
    }
    Ok(Some(id.to_string()))
}
