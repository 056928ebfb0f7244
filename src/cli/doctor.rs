//! `stark doctor`: check the setup, one line per check, each failure with a fix.
//!
//! Exits 0 when no check fails and 1 when one does — except that a missing ledger exits 2,
//! as it does for every other command: the ledger check fails with the same message (the
//! path, where it came from, `stark init`), the other checks still run, and nothing is
//! created.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use super::errors::Report;
use crate::api::ApiError;
use crate::config::{ConfigError, KeySource, PRIVATE_KEY_PEM_VAR, Settings, Source};
use crate::keys::KeyError;
use crate::ledger::{Ledger, MIGRATIONS};

#[derive(Debug, Args)]
pub struct DoctorArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub level: Level,
    pub name: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(
    level: Level,
    name: &'static str,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        level,
        name,
        detail: detail.into(),
        fix,
    }
}

pub fn run(_args: &DoctorArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    let mut no_ledger = false;
    match global.settings() {
        Ok(settings) => no_ledger = diagnose(&settings, &mut checks),
        Err(e) => checks.push(check(Level::Fail, "config", e.to_string(), Some(e.fix()))),
    }
    print(&checks, global)?;
    if no_ledger {
        return Ok(ExitCode::from(super::errors::USAGE));
    }
    Ok(checks.exit_code())
}

/// Run every check; whether the ledger is missing.
pub(super) fn diagnose(s: &Settings, checks: &mut Vec<Check>) -> bool {
    checks.push(check(
        Level::Pass,
        "config file",
        if s.config_file_exists {
            format!(
                "{} ({})",
                s.config_file.value.display(),
                s.config_file.source
            )
        } else {
            format!("{} (not present; optional)", s.config_file.value.display())
        },
        None,
    ));
    match &s.project_id {
        Some(p) => checks.push(check(
            Level::Pass,
            "project id",
            format!("{} ({})", p.value, p.source),
            None,
        )),
        None => checks.push(check(
            Level::Fail,
            "project id",
            "not set",
            Some(
                "pass --project-id, set STARK_PROJECT_ID, or add project_id to the config file"
                    .into(),
            ),
        )),
    }
    checks.push(check(
        Level::Pass,
        "environment",
        format!(
            "{} ({})",
            s.environment.value.as_str(),
            s.environment.source
        ),
        None,
    ));
    if let Some(w) = s.environment_warning() {
        checks.push(check(
            Level::Warn,
            "environment",
            w,
            Some("keep `environment` and `api_url` for the same bank, or drop one".into()),
        ));
    }
    checks.push(check(
        Level::Pass,
        "api url",
        format!(
            "{} ({})",
            s.base_url(),
            s.api_url
                .as_ref()
                .map(|u| u.source.to_string())
                .unwrap_or_else(|| "from the environment".into())
        ),
        None,
    ));
    let no_ledger = ledger_check(s, checks);
    api_checks(s, checks);
    no_ledger
}

/// The key, the API and what the API says (authentication, clock, webhooks, deliveries).
fn api_checks(s: &Settings, checks: &mut Vec<Check>) {
    let described = match s.key_source() {
        None => None,
        Some(KeySource::EnvPem) => Some(format!("from {}", Source::Env(PRIVATE_KEY_PEM_VAR))),
        Some(KeySource::File(p)) => Some(format!("{} ({})", p.value.display(), p.source)),
    };
    let key_ok = match described {
        None => {
            checks.push(check(Level::Fail, "private key", "not set", Some("pass --private-key, set STARK_PRIVATE_KEY (a path) or STARK_PRIVATE_KEY_PEM (the PEM text), or add private_key to the config file; `stark keygen` makes one".into())));
            false
        }
        Some(described) => match s.private_key() {
            Ok(k) => {
                checks.push(check(
                    Level::Pass,
                    "private key",
                    format!("{described}, public key {}", k.public_key().fingerprint()),
                    None,
                ));
                true
            }
            Err(e) => {
                let fix = match &e {
                    ConfigError::Key(KeyError::InsecurePermissions { path, .. }) => format!("chmod 600 {}", path.display()),
                    ConfigError::Key(KeyError::PublicNotPrivate { .. }) => "point it at private-key.pem, not public-key.pem".into(),
                    ConfigError::Key(KeyError::InEnv { .. }) => e.fix(),
                    _ => "check the file, or make a new pair with `stark keygen` and register its public key".into(),
                };
                checks.push(check(Level::Fail, "private key", e.to_string(), Some(fix)));
                false
            }
        },
    };
    if let Some(note) = s.key_override_note() {
        checks.push(check(
            Level::Warn,
            "private key",
            note,
            Some(format!(
                "unset the one not meant to be used ({PRIVATE_KEY_PEM_VAR} or the key path)"
            )),
        ));
    }
    if !key_ok || s.project_id.is_none() {
        checks.push(check(
            Level::Warn,
            "api",
            "skipped (needs a project id and a loadable key)",
            None,
        ));
        return;
    }
    let client = match s.client() {
        Ok(c) => c,
        Err(e) => {
            checks.push(check(Level::Fail, "api", e.to_string(), None));
            return;
        }
    };
    let rt = match super::transfer::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            checks.push(check(Level::Fail, "runtime", e.to_string(), None));
            return;
        }
    };
    rt.block_on(async {
        match client.balance().await {
            Ok(answer) => {
                checks.push(check(
                    Level::Pass,
                    "authentication",
                    format!(
                        "signed request accepted (balance {})",
                        crate::domain::money::format_brl(answer.value.amount)
                    ),
                    None,
                ));
                clock_check(answer.date.as_deref(), checks);
            }
            Err(e) => {
                let fix = if e.codes().contains(&"invalidCredentials") {
                    crate::config::credentials_note().map(str::to_string)
                } else {
                    e.hint().map(str::to_string)
                };
                let fix = fix.or_else(|| match &e {
                    ApiError::Connect { .. } => Some("check the network and the API URL".into()),
                    _ => None,
                });
                checks.push(check(Level::Fail, "authentication", e.to_string(), fix));
                return;
            }
        }
        match client.public_keys().await {
            Ok(keys) => match keys
                .first()
                .map(|k| crate::keys::PublicKey::from_pem(&k.content))
            {
                Some(Ok(k)) => checks.push(check(
                    Level::Pass,
                    "webhook key",
                    format!("Stark Bank signs events with {}", k.fingerprint()),
                    None,
                )),
                Some(Err(e)) => checks.push(check(
                    Level::Fail,
                    "webhook key",
                    format!("the API's public key does not parse: {e}"),
                    None,
                )),
                None => checks.push(check(
                    Level::Fail,
                    "webhook key",
                    "the API returned no public key",
                    None,
                )),
            },
            Err(e) => checks.push(check(Level::Fail, "webhook key", e.to_string(), None)),
        }
        match client.list_webhooks().await {
            Ok(hooks) if hooks.is_empty() => checks.push(check(
                Level::Warn,
                "webhooks",
                "none registered: credits arrive only through `stark reconcile`",
                Some(
                    "run `stark serve-webhook --public-url https://...` while a tunnel is up"
                        .into(),
                ),
            )),
            Ok(hooks) => {
                let list = hooks
                    .iter()
                    .map(|h| format!("{} {} [{}]", h.id, h.url, h.subscriptions.join(",")))
                    .collect::<Vec<_>>()
                    .join("; ");
                checks.push(check(Level::Pass, "webhooks", list, None));
            }
            Err(e) => checks.push(check(Level::Fail, "webhooks", e.to_string(), None)),
        }
        let since = (crate::clock::system_now() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        match client.failed_deliveries(&since).await {
            Ok(attempts) if attempts.is_empty() => checks.push(check(
                Level::Pass,
                "deliveries",
                "no failed webhook deliveries in the last day",
                None,
            )),
            Ok(attempts) => {
                let last = &attempts[0];
                checks.push(check(
                    Level::Warn,
                    "deliveries",
                    format!(
                        "{} failed webhook deliveries in the last day (latest: {} {})",
                        attempts.len(),
                        last.code,
                        last.message
                    ),
                    Some("`stark reconcile` picks up what the webhook missed".into()),
                ));
            }
            Err(e) => checks.push(check(
                Level::Warn,
                "deliveries",
                format!("cannot list delivery attempts: {e}"),
                None,
            )),
        }
    });
}

/// The ledger check; whether the ledger is missing (or was never initialised).
fn ledger_check(s: &Settings, checks: &mut Vec<Check>) -> bool {
    if s.ledger_is_postgres() {
        return pg_ledger_check(s, checks);
    }
    let path = &s.ledger.value;
    match Ledger::open(path) {
        Ok(l) => {
            let v = l.schema_version().unwrap_or(-1);
            checks.push(check(
                Level::Pass,
                "ledger",
                format!(
                    "{} (schema {v} of {}, id {})",
                    path.display(),
                    MIGRATIONS.len(),
                    l.ledger_id().unwrap_or_default()
                ),
                None,
            ));
        }
        Err(e) => match super::no_ledger(s, &e) {
            Some(missing) => {
                checks.push(check(Level::Fail, "ledger", missing.to_string(), None));
                return true;
            }
            None => checks.push(check(
                Level::Fail,
                "ledger",
                e.to_string(),
                Some("restore the ledger from a backup, or point --ledger elsewhere".into()),
            )),
        },
    }
    false
}

/// The checks of a PostgreSQL ledger: the connection (host, port, database, TLS, server
/// version), the schema, `synchronous_commit`, and the write lock within the busy timeout.
/// No file checks. Whether the database holds no ledger.
fn pg_ledger_check(s: &Settings, checks: &mut Vec<Check>) -> bool {
    use crate::ledger::LedgerError;
    let address = s.ledger_address();
    let text = s.ledger.value.to_str().unwrap_or_default();
    let target = match crate::ledger::pg::url::PgTarget::parse(text) {
        Ok(t) => t,
        Err(e) => {
            // Settings refuse a URL that does not parse; kept for completeness.
            checks.push(check(Level::Fail, "ledger", e.to_string(), None));
            return false;
        }
    };
    let server = if target.is_unix_socket() {
        format!("socket {} port {}", target.host(), target.port())
    } else {
        format!("{}:{}", target.host(), target.port())
    };
    let ledger = match Ledger::open(&s.ledger.value) {
        Ok(l) => l,
        Err(e) => {
            if let Some(missing) = super::no_ledger(s, &e) {
                checks.push(check(
                    Level::Fail,
                    "ledger",
                    missing.to_string(),
                    Some(missing.fix()),
                ));
                return true;
            }
            let fix = match &e {
                LedgerError::Unreachable { .. } => super::PG_UNREACHABLE_FIX.to_string(),
                LedgerError::Open { reason, .. } => super::pg_refusal_fix(reason),
                LedgerError::Corrupt { .. } => {
                    "point --ledger / STARK_LEDGER at an empty database of its own (`createdb stark`), or at the right one".into()
                }
                LedgerError::TooNew { .. } => "upgrade stark".into(),
                LedgerError::Busy { .. } => {
                    "another stark holds the ledger's write lock (a migration?); try again".into()
                }
                _ => "check the server's log".into(),
            };
            checks.push(check(
                Level::Fail,
                "ledger",
                format!("{e} (server {server}, database {})", target.dbname()),
                Some(fix),
            ));
            return false;
        }
    };
    let v = ledger.schema_version().unwrap_or(-1);
    let id = ledger.ledger_id().unwrap_or_default();
    let info = match ledger.server_info() {
        Ok(Some(info)) => info,
        Ok(None) => return false,
        Err(e) => {
            checks.push(check(
                Level::Fail,
                "ledger",
                format!("{address}: cannot read the server's settings: {e}"),
                Some("check the server's log".into()),
            ));
            return false;
        }
    };
    let tls = match &info.tls {
        Some(version) => format!("TLS {version}"),
        None => "no TLS".to_string(),
    };
    checks.push(check(
        Level::Pass,
        "ledger",
        format!(
            "{address} (PostgreSQL {}, server {server}, database {}, user {}, {tls}, sslmode={})",
            info.version,
            info.database,
            info.user,
            target.sslmode()
        ),
        None,
    ));
    let supported = MIGRATIONS.len() as i64;
    checks.push(check(
        if v == supported {
            Level::Pass
        } else {
            Level::Fail
        },
        "ledger schema",
        format!("schema {v} of {supported}, id {id}"),
        (v != supported).then(|| "run any ledger command once to migrate it".to_string()),
    ));
    if info.synchronous_commit == "on" {
        checks.push(check(
            Level::Pass,
            "durability",
            "synchronous_commit is on: a commit is on disk before it is answered",
            None,
        ));
    } else {
        checks.push(check(
            Level::Fail,
            "durability",
            format!(
                "synchronous_commit is {}: a commit may be lost after it was answered",
                info.synchronous_commit
            ),
            Some(
                "let stark's session keep synchronous_commit on (check `options` in the URL and the role's settings)"
                    .into(),
            ),
        ));
    }
    let mut ledger = ledger;
    let started = std::time::Instant::now();
    match ledger.write(|_| Ok::<_, LedgerError>(())) {
        Ok(()) => checks.push(check(
            Level::Pass,
            "write lock",
            format!(
                "taken in {} ms (busy timeout {} s)",
                started.elapsed().as_millis(),
                crate::ledger::busy_timeout().as_secs()
            ),
            None,
        )),
        Err(e @ LedgerError::Busy { .. }) => checks.push(check(
            Level::Fail,
            "write lock",
            e.to_string(),
            Some("another stark holds the ledger's write lock: see `stark status` and the running commands".into()),
        )),
        Err(e) => checks.push(check(
            Level::Fail,
            "write lock",
            e.to_string(),
            Some("grant the user of the ledger URL write access to the ledger's tables".into()),
        )),
    }
    false
}

fn clock_check(date: Option<&str>, checks: &mut Vec<Check>) {
    let Some(server) = date.and_then(|d| DateTime::parse_from_rfc2822(d).ok()) else {
        checks.push(check(
            Level::Warn,
            "clock",
            "the API sent no Date header; cannot measure skew",
            None,
        ));
        return;
    };
    let skew = (crate::clock::system_now() - server.with_timezone(&Utc)).num_seconds();
    let detail = format!("local clock is {skew:+} s from the API's");
    let fix = Some(
        "sync the clock (e.g. `timedatectl set-ntp true`): requests are signed with the local time"
            .to_string(),
    );
    if skew.abs() > 300 {
        checks.push(check(Level::Fail, "clock", detail, fix));
    } else if skew.abs() > 30 {
        checks.push(check(Level::Warn, "clock", detail, fix));
    } else {
        checks.push(check(Level::Pass, "clock", detail, None));
    }
}

pub(super) fn print(checks: &[Check], global: &GlobalArgs) -> anyhow::Result<()> {
    if global.json {
        return super::print_json("doctor", &serde_json::json!({ "checks": checks }));
    }
    for c in checks {
        if global.quiet && c.level != Level::Fail {
            continue;
        }
        use crate::cli::style::{Stream, red, yellow};
        let tag = match c.level {
            Level::Pass => "pass".to_string(),
            Level::Warn => yellow("warn", Stream::Stdout),
            Level::Fail => red("FAIL", Stream::Stdout),
        };
        outln!("{tag}  {:<15} {}", c.name, c.detail)?;
        if let Some(fix) = &c.fix {
            outln!("      {:<15} fix: {fix}", "")?;
        }
    }
    Ok(())
}
