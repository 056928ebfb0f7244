//! Configuration: command-line flags > environment variables > the config file
//! (`<config dir>/stark/config.toml`) > defaults. Every value remembers where it came from, so
//! `stark doctor` can show it and errors can say what to change.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::api::{Client, ClientConfig, Environment};
use crate::keys::{KeyError, PrivateKey};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::File(p) => write!(f, "config file {}", p.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// Values given on the command line (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub project_id: Option<String>,
    pub private_key: Option<PathBuf>,
    pub environment: Option<String>,
    pub api_url: Option<String>,
    pub ledger: Option<PathBuf>,
    /// `stark init`, which writes the config file: one named by `--config` or `STARK_CONFIG`
    /// may not exist yet (every other command refuses a named file that is missing).
    pub config_may_be_missing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{what} is not set: pass {flag}, set {var}, or add `{key} = \"...\"` to {file}")]
    Missing {
        what: &'static str,
        flag: &'static str,
        var: &'static str,
        key: &'static str,
        file: PathBuf,
    },
    #[error("{what} {value:?} (from {origin}) is invalid: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        origin: Source,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File {
        path: PathBuf,
        reason: String,
        /// An unknown key and the valid key it most likely means (`projectid`, `project_id`).
        misspelt: Option<(String, &'static str)>,
    },
    #[error("no data directory is known for this platform: pass --ledger or set STARK_LEDGER")]
    NoDataDir,
    /// The ledger the configuration points at does not exist (or was never initialised):
    /// no command but `stark init` creates one.
    #[error(
        "{found} (ledger path from {origin}). No command but `stark init` creates a ledger. If this is the right path and no ledger exists yet, run `{init}`. If the path is wrong (a typo, a moved file), {fix}. If the ledger was deleted, restore it from a backup: a new ledger starts a new campaign and cannot forward the old one's credits"
    )]
    NoLedger {
        /// What is at the path ("no ledger at …", or an empty file).
        found: String,
        path: PathBuf,
        origin: Source,
        /// The `stark init` command line that creates this very path.
        init: String,
        /// What to correct if the path is wrong (the flag, the variable, the config file's key).
        fix: String,
    },
    /// The PostgreSQL database the ledger URL names holds no stark ledger (yet).
    #[error(
        "the database {address} has no stark ledger (ledger URL from {origin}): run `{init}` to create one there. If the URL is wrong (another database, host or port), {fix}"
    )]
    NoDatabaseLedger {
        /// The URL without its password.
        address: String,
        origin: Source,
        /// The `stark init` command line that creates the ledger in this database.
        init: String,
        fix: String,
    },
    /// The PostgreSQL server refused the connection for a reason that only a change of the
    /// setup fixes (credentials, a missing database, a TLS check).
    #[error("cannot open the ledger {address} (ledger URL from {origin}): {reason}; {fix}")]
    LedgerRefused {
        address: String,
        origin: Source,
        reason: String,
        fix: String,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl ConfigError {
    /// What to do about it, in one line (doctor's `fix:`).
    pub fn fix(&self) -> String {
        match self {
            ConfigError::Missing {
                flag,
                var,
                key,
                file,
                ..
            } => format!(
                "pass {flag}, set {var}, or add `{key} = \"...\"` to {}",
                file.display()
            ),
            ConfigError::Invalid { what, origin, .. } => match origin {
                Source::Flag(f) => format!("correct the {f} given"),
                Source::Env(v) => format!("correct {v} (in the crontab too, if cron runs stark)"),
                Source::File(p) => format!("correct the {what} in {}", p.display()),
                Source::Default => format!("set the {what}"),
            },
            ConfigError::File {
                path,
                misspelt: Some((bad, good)),
                ..
            } => format!("rename `{bad}` to `{good}` in {}", path.display()),
            ConfigError::File { path, .. } => format!(
                "edit {}: TOML with the keys {}",
                path.display(),
                FILE_KEYS.join(", ")
            ),
            ConfigError::NoDataDir => "pass --ledger or set STARK_LEDGER".into(),
            ConfigError::NoLedger { fix, init, .. } => format!("run `{init}`, or {fix}"),
            ConfigError::NoDatabaseLedger { fix, init, .. } => format!("run `{init}`, or {fix}"),
            ConfigError::LedgerRefused { fix, .. } => fix.clone(),
            ConfigError::Key(KeyError::InEnv { var, .. }) => format!(
                "correct {var}: it must hold the whole PEM text of the private key, line breaks included"
            ),
            ConfigError::Key(_) => {
                "check the key file, or make a new pair with `stark keygen` and register its public key".into()
            }
        }
    }
}

/// The keys a config file may hold.
const FILE_KEYS: [&str; 5] = [
    "project_id",
    "private_key",
    "environment",
    "api_url",
    "ledger",
];

/// The first key of a config file that is not a valid one but looks like one: the same
/// letters without `_`/`-` or in another case, or at most two edits away.
fn misspelt_key(text: &str) -> Option<(String, &'static str)> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let squash = |k: &str| {
        k.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    table
        .keys()
        .filter(|k| !FILE_KEYS.contains(&k.as_str()))
        .find_map(|k| {
            FILE_KEYS
                .iter()
                .find(|good| squash(good) == squash(k))
                .or_else(|| {
                    FILE_KEYS
                        .iter()
                        .map(|good| (good, edit_distance(&squash(good), &squash(k))))
                        .filter(|(_, d)| *d <= 2)
                        .min_by_key(|(_, d)| *d)
                        .map(|(good, _)| good)
                })
                .map(|good| (k.clone(), *good))
        })
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    project_id: Option<String>,
    private_key: Option<PathBuf>,
    environment: Option<String>,
    api_url: Option<String>,
    ledger: Option<PathBuf>,
}

/// The environment variable that holds the private key's PEM text itself (for containers,
/// where a key file's mode is not the operator's to set). Read from the environment only:
/// there is no flag and no config key for it, so it never lands in shell history or a file.
pub const PRIVATE_KEY_PEM_VAR: &str = "STARK_PRIVATE_KEY_PEM";

/// The PEM text of `STARK_PRIVATE_KEY_PEM`. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPem(String);

impl fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPem(<redacted>)")
    }
}

/// Where the key that signs comes from (see [`Settings::key_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    /// `STARK_PRIVATE_KEY_PEM`.
    EnvPem,
    /// A key file, and where its path came from.
    File(&'a Sourced<PathBuf>),
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Sourced<PathBuf>,
    pub config_file_exists: bool,
    pub project_id: Option<Sourced<String>>,
    /// The key file's path (flag, `STARK_PRIVATE_KEY`, config file or the default file);
    /// [`Settings::key_source`] says whether it or `private_key_pem` signs.
    pub private_key: Option<Sourced<PathBuf>>,
    /// The key's PEM text from `STARK_PRIVATE_KEY_PEM`.
    pub private_key_pem: Option<KeyPem>,
    pub environment: Sourced<Environment>,
    pub api_url: Option<Sourced<String>>,
    pub ledger: Sourced<PathBuf>,
}

/// The project id `crontab.example` ships with: an obvious placeholder that must be replaced.
pub const PLACEHOLDER_PROJECT_ID: &str = "REPLACE-with-your-project-id";

/// A project id that was pasted from an example instead of the operator's own: the
/// placeholder of `crontab.example` (any case), anything starting with "replace", or all
/// zeros.
fn is_placeholder_project_id(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    lower == PLACEHOLDER_PROJECT_ID.to_ascii_lowercase()
        || lower.starts_with("replace")
        || lower.contains("your-project")
        || (!v.is_empty() && v.chars().all(|c| c == '0'))
}

/// `<config dir>/stark` (e.g. `~/.config/stark` on Linux).
pub fn default_config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("stark"))
}

/// `<config dir>/stark/private-key.pem`, where `stark keygen` writes by default, when that
/// file exists.
pub fn default_private_key() -> Option<PathBuf> {
    default_config_dir()
        .map(|d| d.join("private-key.pem"))
        .filter(|p| p.is_file())
}

/// `<data dir>/stark/ledger.sqlite3` (e.g. `~/.local/share/stark/ledger.sqlite3`).
pub fn default_ledger_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("stark").join("ledger.sqlite3"))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The names of a setting: its flag, its environment variable and its config file key.
struct Names {
    flag: &'static str,
    var: &'static str,
    key: &'static str,
}

impl Names {
    const fn new(flag: &'static str, var: &'static str, key: &'static str) -> Names {
        Names { flag, var, key }
    }
}

const PROJECT_ID: Names = Names::new("--project-id", "STARK_PROJECT_ID", "project_id");
const PRIVATE_KEY: Names = Names::new("--private-key", "STARK_PRIVATE_KEY", "private_key");
/// For the error when no key is set at all: both variables.
const ANY_PRIVATE_KEY: Names = Names::new(
    "--private-key",
    "STARK_PRIVATE_KEY (a path) or STARK_PRIVATE_KEY_PEM (the PEM text)",
    "private_key",
);
const ENVIRONMENT: Names = Names::new("--environment", "STARK_ENVIRONMENT", "environment");
const API_URL: Names = Names::new("--api-url", "STARK_API_URL", "api_url");
const LEDGER: Names = Names::new("--ledger", "STARK_LEDGER", "ledger");

/// A PostgreSQL ledger URL that does not parse is a configuration error naming where it came
/// from; neither the message nor the value shown contains the password.
fn check_ledger_url(ledger: &Sourced<PathBuf>) -> Result<(), ConfigError> {
    if !crate::ledger::is_postgres(&ledger.value) {
        return Ok(());
    }
    let text = ledger.value.to_str().unwrap_or_default();
    match crate::ledger::pg::url::PgTarget::parse(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(ConfigError::Invalid {
            what: "ledger URL",
            value: crate::ledger::pg::url::redact(text),
            origin: ledger.source.clone(),
            reason: e.to_string(),
        }),
    }
}

/// The setting `names` from its flag, else its environment variable, else the config file
/// `file_path` (the value it holds there: `file`).
fn pick<T: From<String>>(
    names: &Names,
    flag: Option<T>,
    file: Option<T>,
    file_path: &Path,
) -> Option<Sourced<T>> {
    if let Some(v) = flag {
        return Some(Sourced {
            value: v,
            source: Source::Flag(names.flag),
        });
    }
    if let Some(v) = env_var(names.var) {
        return Some(Sourced {
            value: T::from(v),
            source: Source::Env(names.var),
        });
    }
    file.map(|v| Sourced {
        value: v,
        source: Source::File(file_path.to_path_buf()),
    })
}

impl Settings {
    /// Resolve flags, environment and config file.
    pub fn resolve(flags: &Flags) -> Result<Settings, ConfigError> {
        let config_file = match (&flags.config, env_var("STARK_CONFIG")) {
            (Some(p), _) => Sourced {
                value: p.clone(),
                source: Source::Flag("--config"),
            },
            (None, Some(p)) => Sourced {
                value: PathBuf::from(p),
                source: Source::Env("STARK_CONFIG"),
            },
            (None, None) => Sourced {
                value: default_config_dir()
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join("config.toml"),
                source: Source::Default,
            },
        };
        let path = config_file.value.clone();
        let (file, exists) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let parsed: FileConfig = toml::from_str(&text).map_err(|e| {
                    let misspelt = misspelt_key(&text);
                    let mut reason = e.to_string().trim().to_string();
                    if let Some((bad, good)) = &misspelt {
                        reason.push_str(&format!("\ndid you mean `{good}` instead of `{bad}`?"));
                    }
                    ConfigError::File {
                        path: path.clone(),
                        reason,
                        misspelt,
                    }
                })?;
                (parsed, true)
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && (config_file.source == Source::Default || flags.config_may_be_missing) =>
            {
                (FileConfig::default(), false)
            }
            Err(e) => {
                return Err(ConfigError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                    misspelt: None,
                });
            }
        };
        // Relative paths in the config file are relative to the file's directory.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let rel = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };

        let project_id = pick(
            &PROJECT_ID,
            flags.project_id.clone(),
            file.project_id,
            &path,
        );
        if let Some(p) = &project_id {
            let v = p.value.trim();
            if is_placeholder_project_id(v) {
                return Err(ConfigError::Invalid {
                    what: "project id",
                    value: p.value.clone(),
                    origin: p.source.clone(),
                    reason: format!(
                        "it is the placeholder of crontab.example, not a project id: set {} to the numeric id shown in the Stark Bank web app",
                        match &p.source {
                            Source::Flag(f) => f.to_string(),
                            Source::Env(var) => var.to_string(),
                            Source::File(f) => format!("project_id in {}", f.display()),
                            Source::Default => PROJECT_ID.var.to_string(),
                        }
                    ),
                });
            }
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_')
            {
                return Err(ConfigError::Invalid {
                    what: "project id",
                    value: p.value.clone(),
                    origin: p.source.clone(),
                    reason: "expected the numeric id shown in the Stark Bank web app".into(),
                });
            }
        }
        // Unset, it is the key `stark keygen` writes by default, if that file exists.
        let private_key = pick(
            &PRIVATE_KEY,
            flags.private_key.clone(),
            file.private_key.map(rel),
            &path,
        )
        .or_else(|| {
            default_private_key().map(|value| Sourced {
                value,
                source: Source::Default,
            })
        });
        let private_key_pem = std::env::var(PRIVATE_KEY_PEM_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(KeyPem);
        let environment = match pick(
            &ENVIRONMENT,
            flags.environment.clone(),
            file.environment,
            &path,
        ) {
            None => Sourced {
                value: Environment::Sandbox,
                source: Source::Default,
            },
            Some(s) => match Environment::parse(&s.value) {
                Some(env) => Sourced {
                    value: env,
                    source: s.source,
                },
                None => {
                    return Err(ConfigError::Invalid {
                        what: "environment",
                        value: s.value,
                        origin: s.source,
                        reason: "use `sandbox` or `production`".into(),
                    });
                }
            },
        };
        let api_url = pick(&API_URL, flags.api_url.clone(), file.api_url, &path);
        if let Some(u) = &api_url {
            let ok = (u.value.starts_with("http://") || u.value.starts_with("https://"))
                && reqwest::Url::parse(&u.value).is_ok();
            if !ok {
                return Err(ConfigError::Invalid {
                    what: "API URL",
                    value: u.value.clone(),
                    origin: u.source.clone(),
                    reason: "expected an http:// or https:// URL such as http://127.0.0.1:8080"
                        .into(),
                });
            }
        }
        // A PostgreSQL URL in the config file is kept as it is (it is not a path).
        let ledger_rel = |p: PathBuf| {
            if crate::ledger::is_postgres(&p) {
                p
            } else {
                rel(p)
            }
        };
        let ledger = match pick(
            &LEDGER,
            flags.ledger.clone(),
            file.ledger.map(ledger_rel),
            &path,
        ) {
            Some(l) => l,
            None => Sourced {
                value: default_ledger_path().ok_or(ConfigError::NoDataDir)?,
                source: Source::Default,
            },
        };
        check_ledger_url(&ledger)?;
        Ok(Settings {
            config_file,
            config_file_exists: exists,
            project_id,
            private_key,
            private_key_pem,
            environment,
            api_url,
            ledger,
        })
    }

    pub fn project_id(&self) -> Result<&str, ConfigError> {
        self.project_id
            .as_ref()
            .map(|p| p.value.as_str())
            .ok_or_else(|| self.missing("the Stark Bank project id", &PROJECT_ID))
    }

    /// Where the key that signs comes from: the `--private-key` flag, else
    /// `STARK_PRIVATE_KEY_PEM`, else the path of `STARK_PRIVATE_KEY`, the config file's
    /// `private_key` or the default file. `None`: no key is set.
    pub fn key_source(&self) -> Option<KeySource<'_>> {
        match (&self.private_key, &self.private_key_pem) {
            (Some(p), _) if matches!(p.source, Source::Flag(_)) => Some(KeySource::File(p)),
            (_, Some(_)) => Some(KeySource::EnvPem),
            (Some(p), None) => Some(KeySource::File(p)),
            (None, None) => None,
        }
    }

    /// When `STARK_PRIVATE_KEY_PEM` and a key path set explicitly (not the default file) are
    /// both given: which one signs, in a sentence.
    pub fn key_override_note(&self) -> Option<String> {
        let path = self.private_key.as_ref()?;
        self.private_key_pem.as_ref()?;
        match &path.source {
            Source::Default => None,
            Source::Flag(flag) => Some(format!(
                "{flag} {} wins over {PRIVATE_KEY_PEM_VAR}, which is not used",
                path.value.display()
            )),
            source => Some(format!(
                "{PRIVATE_KEY_PEM_VAR} wins over {} (from {source}), which is not used",
                path.value.display()
            )),
        }
    }

    /// Load the key that signs ([`Settings::key_source`]).
    pub fn private_key(&self) -> Result<PrivateKey, ConfigError> {
        match self.key_source() {
            Some(KeySource::EnvPem) => {
                let pem = self.private_key_pem.as_ref().expect("key_source saw it");
                Ok(PrivateKey::from_env_pem(PRIVATE_KEY_PEM_VAR, &pem.0)?)
            }
            Some(KeySource::File(p)) => Ok(PrivateKey::load_from(&p.value, &p.source)?),
            None => Err(self.missing("the private key", &ANY_PRIVATE_KEY)),
        }
    }

    /// `what` is not set: the error names the flag, the variable and the key of the
    /// config file that would set it.
    fn missing(&self, what: &'static str, names: &Names) -> ConfigError {
        ConfigError::Missing {
            what,
            flag: names.flag,
            var: names.var,
            key: names.key,
            file: self.config_file.value.clone(),
        }
    }

    /// The error for a ledger path with no ledger (`found` says what is there instead): it
    /// names the path, where it came from, the `stark init` that creates it and what to fix
    /// if the path is wrong.
    pub fn no_ledger(&self, found: String) -> ConfigError {
        let path = self.ledger.value.clone();
        let postgres = crate::ledger::is_postgres(&path);
        let shown = if postgres {
            // Without the password (not even masked): a line to copy, with PGPASSWORD set.
            let text = path.to_str().unwrap_or_default();
            let url = crate::ledger::pg::url::PgTarget::parse(text)
                .map(|t| t.without_password())
                .unwrap_or_else(|_| crate::ledger::pg::url::redact(text));
            shell_word(Path::new(&url))
        } else {
            shell_word(&path)
        };
        let what = if postgres { "URL" } else { "path" };
        let (init, fix) = match &self.ledger.source {
            Source::Default => (
                "stark init".to_string(),
                format!("pass --ledger or set STARK_LEDGER to the ledger's {what}"),
            ),
            Source::Flag(flag) => (
                format!("stark init {flag} {shown}"),
                format!("correct the {flag} given"),
            ),
            Source::Env(var) => (
                format!("stark init --ledger {shown}"),
                format!("correct {var} (in the crontab too, if cron runs stark)"),
            ),
            Source::File(file) => (
                format!("stark init --ledger {shown}"),
                format!("correct `ledger` in {}", file.display()),
            ),
        };
        if postgres {
            return ConfigError::NoDatabaseLedger {
                address: crate::ledger::display_address(&path),
                origin: self.ledger.source.clone(),
                init,
                fix,
            };
        }
        ConfigError::NoLedger {
            found,
            path,
            origin: self.ledger.source.clone(),
            init,
            fix,
        }
    }

    /// The ledger's address as messages show it (a PostgreSQL URL without its password).
    pub fn ledger_address(&self) -> String {
        crate::ledger::display_address(&self.ledger.value)
    }

    /// Whether the ledger is a PostgreSQL database rather than a SQLite file.
    pub fn ledger_is_postgres(&self) -> bool {
        crate::ledger::is_postgres(&self.ledger.value)
    }

    /// A warning when `environment` was set but `api_url` sends the requests elsewhere
    /// (production to a non-production host, or sandbox to the production host).
    pub fn environment_warning(&self) -> Option<String> {
        let url = self.api_url.as_ref()?;
        if self.environment.source == Source::Default {
            return None;
        }
        let host = reqwest::Url::parse(&url.value)
            .ok()?
            .host_str()?
            .to_string();
        let production = reqwest::Url::parse(Environment::Production.base_url())
            .ok()?
            .host_str()?
            .to_string();
        let disagree = match self.environment.value {
            Environment::Production => host != production,
            Environment::Sandbox => host == production,
        };
        disagree.then(|| {
            format!(
                "environment {} (from {}) disagrees with API URL {} (from {}): requests go to {}; unset one of them",
                self.environment.value.as_str(),
                self.environment.source,
                url.value,
                url.source,
                url.value
            )
        })
    }

    /// The API base URL: the override if set, else the environment's host.
    pub fn base_url(&self) -> String {
        match &self.api_url {
            Some(u) => u.value.clone(),
            None => self.environment.value.base_url().to_string(),
        }
    }

    /// What the requests are signed with and where each value came from, for an
    /// authentication failure: `the key loaded is SHA256:… (private key k.pem, from
    /// environment STARK_PRIVATE_KEY), project 123 (from config file …): …`.
    pub fn credentials_hint(&self, key: &PrivateKey) -> String {
        let project = match &self.project_id {
            Some(p) => format!("project {} (from {})", p.value, p.source),
            None => "no project id".into(),
        };
        let path = match self.key_source() {
            Some(KeySource::File(p)) => {
                format!("private key {}, from {}", p.value.display(), p.source)
            }
            Some(KeySource::EnvPem) => {
                format!("private key from {}", Source::Env(PRIVATE_KEY_PEM_VAR))
            }
            None => "private key".into(),
        };
        format!(
            "the key loaded is {} ({path}), {project}: check the project id, and compare the fingerprint with the public key registered for that project in the Stark Bank web app (`openssl pkey -pubin -in public-key.pem -outform DER | sha256sum` prints it)",
            key.public_key().fingerprint()
        )
    }

    /// Load the key and build an API client.
    pub fn client(&self) -> Result<Client, ConfigError> {
        let project = self.project_id()?.to_string();
        let key = self.private_key()?;
        let _ = CREDENTIALS.set(self.credentials_hint(&key));
        if let Some(w) = self.environment_warning() {
            tracing::warn!("{w}");
        }
        let cfg = ClientConfig::new(self.base_url(), &project, Arc::new(key));
        Client::new(cfg).map_err(|e| ConfigError::Invalid {
            what: "API URL",
            value: self.base_url(),
            origin: self
                .api_url
                .as_ref()
                .map(|u| u.source.clone())
                .unwrap_or(Source::Default),
            reason: e.to_string(),
        })
    }
}

/// The [`Settings::credentials_hint`] of the first client this process built.
static CREDENTIALS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// What the API client of this process signs with and where each value came from (set when
/// [`Settings::client`] builds one): the hint for an authentication failure.
pub fn credentials_note() -> Option<&'static str> {
    CREDENTIALS.get().map(String::as_str)
}

/// `p` as one shell word (single-quoted unless it needs no quoting).
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_missing_values_name_every_way_to_set_them() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, "project_id = \"111\"\nprivate_key = \"keys/private-key.pem\"\nenvironment = \"production\"\n").unwrap();
        let flags = Flags {
            config: Some(cfg.clone()),
            project_id: Some("222".into()),
            ledger: Some(dir.path().join("l.sqlite3")),
            ..Flags::default()
        };
        let s = Settings::resolve(&flags).unwrap();
        assert_eq!(s.project_id.as_ref().unwrap().value, "222");
        assert_eq!(
            s.project_id.as_ref().unwrap().source,
            Source::Flag("--project-id")
        );
        assert_eq!(
            s.private_key.as_ref().unwrap().value,
            dir.path().join("keys/private-key.pem")
        );
        assert_eq!(s.environment.value, Environment::Production);
        assert_eq!(s.base_url(), "https://api.starkbank.com");

        std::fs::write(&cfg, "").unwrap();
        let s = Settings::resolve(&Flags {
            config: Some(cfg.clone()),
            ledger: flags.ledger.clone(),
            ..Flags::default()
        })
        .unwrap();
        if std::env::var("STARK_PROJECT_ID").is_err() {
            let msg = s.project_id().unwrap_err().to_string();
            assert!(
                msg.contains("--project-id")
                    && msg.contains("STARK_PROJECT_ID")
                    && msg.contains("project_id"),
                "{msg}"
            );
        }
    }

    #[test]
    fn placeholder_project_ids_are_refused_naming_what_sets_them() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |id: &str| {
            Settings::resolve(&Flags {
                config: Some(dir.path().join("none.toml")),
                project_id: Some(id.into()),
                ledger: Some(dir.path().join("l.sqlite3")),
                ..Flags::default()
            })
        };
        std::fs::write(dir.path().join("none.toml"), "").unwrap();
        for id in [PLACEHOLDER_PROJECT_ID, "replace-me", "0000000000000000"] {
            let err = resolve(id).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
            let msg = err.to_string();
            assert!(
                msg.contains("placeholder") && msg.contains("set --project-id"),
                "{msg}"
            );
        }
        assert!(resolve("5656565656565656").is_ok());
    }

    #[test]
    fn no_ledger_names_the_path_its_source_and_the_init_that_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.toml"), "").unwrap();
        let path = dir.path().join("my ledger/l.sqlite3");
        let s = Settings::resolve(&Flags {
            config: Some(dir.path().join("c.toml")),
            ledger: Some(path.clone()),
            ..Flags::default()
        })
        .unwrap();
        let msg = s
            .no_ledger(format!("no ledger at {}", path.display()))
            .to_string();
        assert!(msg.contains("(ledger path from flag --ledger)"), "{msg}");
        assert!(
            msg.contains(&format!("run `stark init --ledger '{}'`", path.display())),
            "quoted for the shell: {msg}"
        );
        assert!(msg.contains("correct the --ledger given"), "{msg}");
    }

    #[test]
    fn a_postgres_ledger_url_is_kept_as_is_and_checked_early_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        let url = "postgres://stark:s3cr3t-Pa55@db.example.com:5432/stark?sslmode=verify-full";
        std::fs::write(&cfg, format!("ledger = \"{url}\"\n")).unwrap();
        let resolve = |ledger: Option<&str>| {
            Settings::resolve(&Flags {
                config: Some(cfg.clone()),
                ledger: ledger.map(PathBuf::from),
                ..Flags::default()
            })
        };
        if std::env::var_os("STARK_LEDGER").is_none() {
            let s = resolve(None).unwrap();
            assert_eq!(s.ledger.value, PathBuf::from(url), "not made relative");
            assert!(s.ledger_is_postgres());
            assert!(
                !s.ledger_address().contains("s3cr3t"),
                "{}",
                s.ledger_address()
            );
            let msg = s.no_ledger(String::new()).to_string();
            assert!(msg.contains("the database postgres://"), "{msg}");
            assert!(
                msg.contains(
                    "run `stark init --ledger 'postgres://stark@db.example.com:5432/stark?sslmode=verify-full'`"
                ),
                "{msg}"
            );
            assert!(!msg.contains("s3cr3t") && !msg.contains("backup"), "{msg}");
        }
        let err = resolve(Some("postgresql://stark:s3cr3t-Pa55@db:99999/stark")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{msg}");
        assert!(
            msg.contains("flag --ledger") && msg.contains("port"),
            "{msg}"
        );
        assert!(!msg.contains("s3cr3t"), "{msg}");
        assert!(!err.fix().contains("s3cr3t"));
    }

    #[test]
    fn broken_config_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        let from_file = |config: PathBuf| {
            Settings::resolve(&Flags {
                config: Some(config),
                ..Flags::default()
            })
        };
        std::fs::write(&cfg, "project_id = [unterminated").unwrap();
        let err = from_file(cfg.clone()).unwrap_err();
        assert!(
            err.to_string().contains(&cfg.display().to_string()),
            "{err}"
        );
        std::fs::write(&cfg, "projct_id = \"1\"").unwrap();
        let err = from_file(cfg.clone()).unwrap_err();
        assert!(err.to_string().contains("projct_id"), "{err}");
        let err = from_file(dir.path().join("missing.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }));
        let err = Settings::resolve(&Flags {
            config: Some(dir.path().join("none.toml")),
            environment: Some("staging".into()),
            ..Flags::default()
        });
        assert!(err.is_err());
    }
}
