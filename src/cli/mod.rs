//! The command line: global flags, subcommands, output conventions and exit codes.
//!
//! Exit codes, decided in one place ([`errors::finish`]): 0 success (including "nothing to
//! do", and a closed stdout such as `stark status | head -1`), 1 failure, 2 usage or
//! configuration error (a flag, the environment, the config file, a key file, or a request the
//! bank refused for the credentials, the clock or the IP address), 3 done but something needs
//! the operator (a ledger command that succeeded while the ledger holds money or batches
//! waiting for you, said in one `attention:` line on stderr even with `--quiet`; `status
//! --check`). A panic (101) is never an intended exit.
//!
//! On a stderr that is not a terminal, every line starts with the time and the command name
//! ([`stamp`]).
//!
//! Data goes to stdout, written with [`outln!`] / [`out!`] (which return the write error
//! instead of panicking like `println!`); diagnostics go to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{ConfigError, Flags, Settings};
use crate::ledger::{Ledger, LedgerError};

/// `print!` for data on stdout that returns the write error (`anyhow::Result<()>`) instead of
/// panicking, so that a closed stdout reaches [`errors::finish`] and ends as a quiet exit 0.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` for data on stdout; see [`out!`].
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod attention;
pub mod completions;
pub mod confirm;
pub mod demo;
pub mod diagnostic;
pub mod doctor;
pub mod errors;
pub mod init;
pub mod issue;
pub mod keygen;
pub mod log;
pub mod progress;
pub mod reconcile;
pub mod sandbox;
pub mod serve;
pub mod stamp;
pub mod status;
pub mod style;
pub mod transfer;
pub mod webhook;

/// Run Stark Bank's invoice-to-transfer loop unattended.
#[derive(Debug, Parser)]
#[command(name = "stark", version = VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The version `--version` prints: `0.1.0 (<commit> <date>)` when built from a git checkout,
/// the crate version alone otherwise (set by `build.rs`).
pub const VERSION: &str = env!("STARK_VERSION");

/// Flags every subcommand understands (listed under "Global options", after the command's
/// own; [`command`] hides those that mean nothing for a command).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The ledger: a SQLite file, or a postgres:// URL [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub ledger: Option<PathBuf>,
    /// Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Stark Bank project id [env: STARK_PROJECT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub project_id: Option<String>,
    /// Private key PEM file [env: STARK_PRIVATE_KEY; the PEM text itself: STARK_PRIVATE_KEY_PEM]
    #[arg(long, global = true, value_name = "PATH")]
    pub private_key: Option<PathBuf>,
    /// `sandbox` or `production` [env: STARK_ENVIRONMENT] [default: sandbox]
    #[arg(long, global = true, value_name = "ENV")]
    pub environment: Option<String>,
    /// Override the API base URL, e.g. http://127.0.0.1:8080 [env: STARK_API_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// Machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors (for cron)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour FAIL, error and warnings (auto: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t = style::ColorChoice::Auto, hide_default_value = true)]
    pub color: style::ColorChoice,
}

impl GlobalArgs {
    pub fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            project_id: self.project_id.clone(),
            private_key: self.private_key.clone(),
            environment: self.environment.clone(),
            api_url: self.api_url.clone(),
            ledger: self.ledger.clone(),
            config_may_be_missing: false,
        }
    }

    /// Resolve configuration (flags > environment > config file).
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::resolve(&self.flags())
    }
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Create the ledger (once, before the first campaign); no other command creates one
    Init(init::InitArgs),
    /// Make the secp256k1 key pair whose public half you register at Stark Bank
    Keygen(keygen::KeygenArgs),
    /// Issue the campaign batch that is due (one cron tick; every 3 h for 24 h by default)
    IssueInvoices(issue::IssueArgs),
    /// Send each credited invoice's amount minus fees to Stark Bank S.A., exactly once
    TransferCredited(transfer::TransferArgs),
    /// Pick up what the webhook missed (undelivered events, credited invoice logs), then transfer
    Reconcile(reconcile::ReconcileArgs),
    /// Receive signed webhook events for a while (expose it with ngrok), record credits, transfer them
    ServeWebhook(serve::ServeArgs),
    /// Register or delete the webhook as a deploy step, for serve-webhook replicas (--no-register)
    Webhook(webhook::WebhookArgs),
    /// Check the setup: configuration, key, authentication, clock, webhooks, ledger
    Doctor(doctor::DoctorArgs),
    /// Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)
    Sandbox(sandbox::SandboxArgs),
    /// Show the ledger's history as one stream, oldest first (`--follow` for new entries)
    Log(log::LogArgs),
    /// Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you
    Status(status::StatusArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions(completions::CompletionsArgs),
    /// Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator
    Demo(demo::DemoArgs),
}

/// The global options that mean nothing for a command, hidden from its help (and its man page
/// and completions); given anyway, they are still accepted and ignored, so scripts do not break.
pub const HIDDEN_GLOBALS: &[(&str, &[&[&str]])] = &[
    // Writes a key pair to a directory: no ledger, no bank, no configuration read.
    ("keygen", &[LEDGER, SETUP, BANK]),
    // Prints a script: nothing is read, logged or reported.
    ("completions", &[LEDGER, SETUP, BANK, OUTPUT]),
    // The emulator itself: its projects are its own `--project-id`/`--public-key` pairs.
    (
        "sandbox",
        &[LEDGER, SETUP, &["private_key", "environment", "api_url"]],
    ),
    // Brings its own emulator, key and project; only `--ledger` (keep it) applies.
    ("demo", &[SETUP, BANK]),
    // Reads the ledger only: no key, no bank.
    ("status", &[BANK]),
];

/// The groups [`HIDDEN_GLOBALS`] is made of.
const LEDGER: &[&str] = &["ledger"];
const SETUP: &[&str] = &["config"];
const BANK: &[&str] = &["project_id", "private_key", "environment", "api_url"];
const OUTPUT: &[&str] = &["json", "quiet", "verbose"];

/// The EXAMPLES section of each command's help: (command, [(command line, what it does)]).
/// Every line is parsed by a test, so they stay true.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "init",
        &[
            ("stark init", "create the ledger at the default path, once"),
            (
                "stark init --ledger /srv/stark/ledger.sqlite3",
                "elsewhere (or set STARK_LEDGER)",
            ),
            (
                "stark init --ledger postgres://stark@db.example.com/stark",
                "in an empty PostgreSQL database (the password from PGPASSWORD)",
            ),
        ],
    ),
    (
        "keygen",
        &[
            (
                "stark keygen",
                "private-key.pem and public-key.pem in the config directory",
            ),
            ("stark keygen --dir ./keys", "elsewhere; --force overwrites"),
        ],
    ),
    (
        "issue-invoices",
        &[
            (
                "stark issue-invoices --quiet",
                "one cron tick (see crontab.example)",
            ),
            (
                "stark issue-invoices --new-campaign",
                "start a new campaign once the current one is over",
            ),
            (
                "stark issue-invoices --retry-batch 3",
                "resend rejected batch 3 once its cause is fixed",
            ),
            (
                "stark issue-invoices --every 1h --for 6h --min 8 --max 12",
                "a shorter campaign (new campaigns only)",
            ),
        ],
    ),
    (
        "transfer-credited",
        &[
            (
                "stark transfer-credited",
                "forward every credit not yet forwarded",
            ),
            (
                "stark transfer-credited --retry 5941925571985408",
                "one more attempt for a credit that waits for you",
            ),
        ],
    ),
    (
        "reconcile",
        &[
            (
                "stark reconcile --quiet",
                "every 10 minutes from cron; also transfers",
            ),
            (
                "stark reconcile --no-transfer",
                "only record what the webhook missed",
            ),
        ],
    ),
    (
        "serve-webhook",
        &[
            (
                "stark serve-webhook --public-url https://abcd.ngrok-free.app --for 2h",
                "behind `ngrok http 8000`, for two hours",
            ),
            (
                "stark serve-webhook --listen 127.0.0.1:8000 --no-transfer",
                "record only",
            ),
        ],
    ),
    (
        "webhook",
        &[
            (
                "stark webhook ensure --url https://stark.example.com",
                "deploy step: register https://stark.example.com/webhook once",
            ),
            (
                "stark webhook remove",
                "delete this ledger's webhooks at Stark Bank",
            ),
        ],
    ),
    (
        "doctor",
        &[
            (
                "stark doctor",
                "one line per check, with a fix for each failure",
            ),
            ("stark doctor --json", "the same checks as JSON"),
        ],
    ),
    (
        "sandbox",
        &[
            (
                "stark sandbox --listen 127.0.0.1:8080 --project-id 1234 --public-key ./keys/public-key.pem",
                "emulate the API for project 1234; prints STARK_API_URL=…",
            ),
            (
                "stark sandbox --seed 7 --speed 60 --fault invoice.create:lost-response=0.3",
                "an hour a minute, with lost responses",
            ),
        ],
    ),
    (
        "status",
        &[
            (
                "stark status",
                "the daily check: campaign, money, what needs you",
            ),
            (
                "stark status --invoices --limit 50",
                "the most recent invoices",
            ),
            ("stark status --json", "the same data as JSON"),
            (
                "stark status --check",
                "for monitors: exit 0 all well, 3 something needs you, 1 cannot tell",
            ),
        ],
    ),
    (
        "log",
        &[
            ("stark log", "the latest 50 entries, oldest first"),
            (
                "stark log --since 1d",
                "a day: batches, events, credits, transfers, runs",
            ),
            (
                "stark log --follow",
                "keep printing new entries until Ctrl-C",
            ),
            (
                "stark log --json",
                "JSON lines, each with a version and a type",
            ),
        ],
    ),
    (
        "completions",
        &[(
            "stark completions bash",
            "> ~/.local/share/bash-completion/completions/stark",
        )],
    ),
    (
        "demo",
        &[
            ("stark demo", "the whole 24-hour flow in about 30 seconds"),
            (
                "stark demo --seed 3 --faults heavy",
                "a rough day at the bank",
            ),
        ],
    ),
];

/// The top-level help's examples.
const TOP_EXAMPLES: &[(&str, &str)] = &[
    (
        "stark demo",
        "rehearse the whole flow against the built-in emulator",
    ),
    ("stark init", "create the ledger, once"),
    ("stark doctor", "check the setup"),
    ("stark status", "the daily check"),
    (
        "stark help issue-invoices",
        "a command's flags and examples",
    ),
];

fn examples_section(name: Option<&str>, examples: &[(&str, &str)]) -> String {
    let mut text = String::from("Examples:\n");
    for (line, what) in examples {
        text.push_str(&format!("  # {what}\n  $ {line}\n"));
    }
    let page = name.map_or_else(|| "stark".to_string(), |n| format!("stark-{n}"));
    text.push_str(&format!(
        "\nLearn more: `man {page}`; README.md and docs/ in the source."
    ));
    text
}

/// Give `cmd` hidden copies of the global options `ids` of `top`. clap propagates a global
/// option only to the commands that do not define it, so these copies (still global: they
/// reach the commands below `cmd` too) take the place of the visible ones, and parse the same.
/// A command's own option with the same id (`sandbox --project-id`) is left as it is.
fn hide_globals(top: &clap::Command, mut cmd: clap::Command, ids: &[&str]) -> clap::Command {
    for id in ids {
        let own = cmd.get_arguments().any(|a| a.get_id().as_str() == *id);
        let global = top
            .get_arguments()
            .find(|a| a.get_id().as_str() == *id && a.is_global_set());
        if let (false, Some(arg)) = (own, global) {
            cmd = cmd.arg(arg.clone().hide(true));
        }
    }
    cmd
}

/// The command line definition as `stark` uses it: [`Cli`]'s, with global options propagated,
/// those that mean nothing for a command hidden ([`HIDDEN_GLOBALS`]) and an EXAMPLES section
/// per command ([`EXAMPLES`]). Help, completions and the man pages all come from it.
pub fn command() -> clap::Command {
    command_colored(style::ColorChoice::Auto)
}

fn command_colored(color: style::ColorChoice) -> clap::Command {
    let mut cmd = Cli::command().color(match color {
        style::ColorChoice::Auto => clap::ColorChoice::Auto,
        style::ColorChoice::Always => clap::ColorChoice::Always,
        style::ColorChoice::Never => clap::ColorChoice::Never,
    });
    cmd = cmd.after_help(examples_section(None, TOP_EXAMPLES));
    let top = cmd.clone();
    for (name, groups) in HIDDEN_GLOBALS {
        let ids: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        cmd = cmd.mut_subcommand(*name, |c| hide_globals(&top, c, &ids));
    }
    for (name, examples) in EXAMPLES {
        cmd = cmd.mut_subcommand(*name, |c| {
            c.after_help(examples_section(Some(name), examples))
        });
    }
    cmd
}

/// Parse a command line with [`command`] (clap's help and errors follow `--color` too).
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let color = style::choice_in_args(&args).unwrap_or_default();
    let mut cmd = command_colored(color);
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// Parse this process's command line, or print clap's help or error and exit (2 for an error).
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// Initialise logging on stderr according to -v/--quiet (`STARK_LOG` overrides). `expected_noise`
/// (the demo, whose faults are on purpose) hides warnings unless -v is given; `stamped` (stderr
/// lines get the time and command name from [`stamp`]) drops tracing's own time.
pub fn init_logging(global: &GlobalArgs, expected_noise: bool, stamped: bool) {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet || (expected_noise && global.verbose == 0) {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("STARK_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},hyper=warn,reqwest=warn,rustls=warn,h2=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(style::enabled(style::Stream::Stderr));
    // The default verbosity reads like cargo's diagnostics; -v and STARK_LOG keep the full
    // structured lines.
    let friendly = global.verbose == 0 && std::env::var_os("STARK_LOG").is_none();
    let _ = if global.json {
        builder.json().try_init()
    } else if friendly {
        builder.event_format(diagnostic::Friendly).try_init()
    } else if stamped {
        // Each line gets the stamp's time and command name instead.
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Whether stderr is coloured: `--color`, else only on a terminal and never with NO_COLOR
/// (see [`style`]).
pub fn use_color() -> bool {
    style::enabled(style::Stream::Stderr)
}

/// The first retry step inside one run (500 ms; `STARK_BACKOFF_MS` shortens it in tests).
pub fn backoff() -> std::time::Duration {
    crate::test_hooks::backoff().unwrap_or(std::time::Duration::from_millis(500))
}

/// Write to stdout, handing back the error (a `BrokenPipe` when the reader is gone).
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .context("cannot write to stdout")
}

/// The version of the `--json` contract (`docs/json.md`): every document and every line of a
/// stream carries it as `"version"`. It changes only when a key is removed, renamed or changes
/// its type; new keys may appear at any time.
pub const JSON_VERSION: u64 = 1;

/// One `--json` document: the fields of `value` (a struct or map) and `"version"`, as one
/// compact line. `what` names the document in the error should it not be an object.
pub fn json_document<T: serde::Serialize>(what: &str, value: &T) -> anyhow::Result<String> {
    let serde_json::Value::Object(mut doc) = serde_json::to_value(value)? else {
        anyhow::bail!("the {what} JSON document is not an object");
    };
    doc.insert("version".into(), JSON_VERSION.into());
    Ok(serde_json::Value::Object(doc).to_string())
}

/// Print one `--json` document ([`json_document`]) on stdout, as one line.
pub fn print_json<T: serde::Serialize>(what: &str, value: &T) -> anyhow::Result<()> {
    let doc = json_document(what, value)?;
    outln!("{doc}")
}

/// The non-zero counts of a summary, `3 claimed, 2 sent in 1 request`, or `none` (a part
/// whose text is empty is left out).
pub(crate) fn nonzero(parts: &[(usize, String)]) -> String {
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, text)| *n > 0 && !text.is_empty())
        .map(|(n, text)| format!("{n} {text}"))
        .collect();
    if shown.is_empty() {
        "none".to_string()
    } else {
        shown.join(", ")
    }
}

/// `text` with an R$ amount after it, `12 sent (R$ 50,00)`: the text alone when the amount is
/// zero (a part [`nonzero`] leaves out anyway, or one without money).
pub(crate) fn with_brl(text: &str, cents: i64) -> String {
    if cents == 0 {
        text.to_string()
    } else {
        format!("{text} ({})", crate::domain::money::format_brl(cents))
    }
}

/// Open the ledger the settings point at. A missing or never-initialised ledger is a
/// configuration error (exit 2) that names the path, where it came from and the `stark init`
/// that creates it; nothing is created. A PostgreSQL server that refuses the login, the
/// database or the TLS setup is a configuration error too (exit 2); one that cannot be reached
/// is a failure (exit 1: the next run tries again), said with what to check.
pub fn open_ledger(settings: &Settings) -> anyhow::Result<Ledger> {
    match Ledger::open(&settings.ledger.value) {
        Ok(l) => Ok(l),
        Err(e) => Err(ledger_error(settings, e)),
    }
}

/// `e`, an error opening the settings' ledger, as the operator should read it (see
/// [`open_ledger`]).
pub fn ledger_error(settings: &Settings, e: LedgerError) -> anyhow::Error {
    if let Some(missing) = no_ledger(settings, &e) {
        return missing.into();
    }
    if !settings.ledger_is_postgres() {
        return e.into();
    }
    let address = settings.ledger_address();
    match e {
        LedgerError::Open { reason, .. } => ConfigError::LedgerRefused {
            fix: pg_refusal_fix(&reason),
            address,
            origin: settings.ledger.source.clone(),
            reason,
        }
        .into(),
        e @ LedgerError::Unreachable { .. } => anyhow::Error::new(e).context(format!(
            "the PostgreSQL server of the ledger (URL from {}) does not answer; {}",
            settings.ledger.source, PG_UNREACHABLE_FIX
        )),
        e => e.into(),
    }
}

/// What to check when the PostgreSQL server of the ledger cannot be reached.
pub const PG_UNREACHABLE_FIX: &str = "check the host and port in the ledger URL, that the server runs, and that this host reaches it (network, firewall)";

/// What to change when the PostgreSQL server refused to open the ledger for `reason` (a
/// [`LedgerError::Open`]'s).
pub fn pg_refusal_fix(reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    if reason.contains("SQLSTATE 28P01")
        || reason.contains("SQLSTATE 28000")
        || lower.contains("password")
    {
        "check the user and password: in the ledger URL, or PGPASSWORD when the URL has none (and the server's pg_hba.conf for this host)".into()
    } else if reason.contains("SQLSTATE 3D000") {
        "create the database (`createdb <name>`), or correct the database name in the ledger URL"
            .into()
    } else if reason.contains("SQLSTATE 42501") {
        "grant the user of the ledger URL the rights to connect and to create tables in the database".into()
    } else if ["tls", "ssl", "certificate"]
        .iter()
        .any(|w| lower.contains(w))
    {
        "check sslmode and sslrootcert in the ledger URL (verify-full needs the server's CA in sslrootcert, or the platform's roots)".into()
    } else {
        "check the ledger URL (user, password or PGPASSWORD, database, sslmode) and the server's log".into()
    }
}

/// The configuration error for `e` when it says there is no ledger at the settings' path.
pub fn no_ledger(settings: &Settings, e: &LedgerError) -> Option<ConfigError> {
    let path = settings.ledger.value.display();
    match e {
        LedgerError::Missing { .. } => Some(settings.no_ledger(format!("no ledger at {path}"))),
        LedgerError::Uninitialised { .. } if settings.ledger_is_postgres() => {
            Some(settings.no_ledger(String::new()))
        }
        LedgerError::Uninitialised { .. } => Some(settings.no_ledger(format!(
            "{path} is an empty file, not an initialised ledger"
        ))),
        _ => None,
    }
}

/// Run a parsed command line and map the outcome to an exit code.
pub fn run(cli: Cli) -> ExitCode {
    style::set_choice(cli.global.color);
    let name = attention::name(&cli.command);
    // The sandbox's request and delivery lines carry its business time already.
    let stamped = stamp::wanted(cli.global.json) && !matches!(cli.command, Command::Sandbox(_));
    let _stamp = stamped.then(|| stamp::install(name)).flatten();
    init_logging(
        &cli.global,
        matches!(cli.command, Command::Demo(_)),
        _stamp.is_some(),
    );
    errors::errors_as_json(cli.global.json);
    let recorded = attention::is_ledger_command(&cli.command)
        .then(|| attention::begin(name, &cli.global))
        .flatten();
    let result = match &cli.command {
        Command::Init(args) => init::run(args, &cli.global),
        Command::Keygen(args) => keygen::run(args, &cli.global),
        Command::IssueInvoices(args) => issue::run(args, &cli.global),
        Command::TransferCredited(args) => transfer::run(args, &cli.global),
        Command::Reconcile(args) => reconcile::run(args, &cli.global),
        Command::ServeWebhook(args) => serve::run(args, &cli.global),
        Command::Webhook(args) => webhook::run(args, &cli.global),
        Command::Doctor(args) => doctor::run(args, &cli.global),
        Command::Sandbox(args) => sandbox::run(args, &cli.global),
        Command::Status(args) => status::run(args, &cli.global),
        Command::Log(args) => log::run(args, &cli.global),
        Command::Completions(args) => completions::run(args),
        Command::Demo(args) => demo::run(args, &cli.global),
    };
    // Bad input leaves the ledger as it was: no run is recorded.
    let recorded = recorded.filter(|_| !attention::untouched(&result));
    attention::end(recorded, errors::finish(result))
}

#[cfg(test)]
mod tests {
    use super::pg_refusal_fix;

    #[test]
    fn a_refused_postgres_login_gets_the_fix_for_its_cause() {
        let fix = |r: &str| pg_refusal_fix(r);
        assert!(
            fix("password authentication failed for user \"u\" (SQLSTATE 28P01)")
                .contains("PGPASSWORD")
        );
        assert!(fix("invalid configuration: password missing").contains("PGPASSWORD"));
        assert!(fix("database \"x\" does not exist (SQLSTATE 3D000)").contains("createdb"));
        assert!(fix("the certificate is not valid for db.example.com").contains("sslrootcert"));
        assert!(fix("the server does not accept TLS").contains("sslmode"));
        assert!(fix("something else").contains("server's log"));
    }
}
