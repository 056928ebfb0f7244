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

use clap::{Args, Parser, Subcommand};

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
pub mod demo;
pub mod doctor;
pub mod errors;
pub mod init;
pub mod issue;
pub mod keygen;
pub mod progress;
pub mod reconcile;
pub mod sandbox;
pub mod serve;
pub mod stamp;
pub mod status;
pub mod transfer;

/// Run Stark Bank's invoice-to-transfer loop unattended.
#[derive(Debug, Parser)]
#[command(name = "stark", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The SQLite ledger [env: STARK_LEDGER] [default: <data dir>/stark/ledger.sqlite3]
    #[arg(long, global = true, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Config file [env: STARK_CONFIG] [default: <config dir>/stark/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Stark Bank project id [env: STARK_PROJECT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub project_id: Option<String>,
    /// Private key PEM file [env: STARK_PRIVATE_KEY]
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
    /// Check the setup: configuration, key, authentication, clock, webhooks, ledger
    Doctor(doctor::DoctorArgs),
    /// Run a local emulator of the Stark Bank API (for tests, demos and rehearsals)
    Sandbox(sandbox::SandboxArgs),
    /// Show what the ledger says: campaign progress, invoices, credits, transfers, what needs you
    Status(status::StatusArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions(completions::CompletionsArgs),
    /// Rehearse the whole 24-hour flow in about 30 seconds against the built-in emulator
    Demo(demo::DemoArgs),
}

/// Initialise logging on stderr according to -v/--quiet (`STARK_LOG` overrides). `expected_noise`
/// (the demo, whose faults are on purpose) hides warnings unless -v is given.
pub fn init_logging(global: &GlobalArgs, expected_noise: bool) {
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
        .with_ansi(use_color());
    let _ = if global.json {
        builder.json().try_init()
    } else if stamp::wanted(global.json) {
        // Each line gets the stamp's time and command name instead.
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Colour only on a terminal and never with NO_COLOR.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
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

/// Open the ledger the settings point at. A missing or never-initialised ledger is a
/// configuration error (exit 2) that names the path, where it came from and the `stark init`
/// that creates it; nothing is created.
pub fn open_ledger(settings: &Settings) -> anyhow::Result<Ledger> {
    match Ledger::open(&settings.ledger.value) {
        Ok(l) => Ok(l),
        Err(e) => Err(no_ledger(settings, &e).map_or_else(|| e.into(), Into::into)),
    }
}

/// The configuration error for `e` when it says there is no ledger at the settings' path.
pub fn no_ledger(settings: &Settings, e: &LedgerError) -> Option<ConfigError> {
    let path = settings.ledger.value.display();
    match e {
        LedgerError::Missing { .. } => Some(settings.no_ledger(format!("no ledger at {path}"))),
        LedgerError::Uninitialised { .. } => Some(settings.no_ledger(format!(
            "{path} is an empty file, not an initialised ledger"
        ))),
        _ => None,
    }
}

/// Run a parsed command line and map the outcome to an exit code.
pub fn run(cli: Cli) -> ExitCode {
    let name = attention::name(&cli.command);
    let _stamp = stamp::wanted(cli.global.json)
        .then(|| stamp::install(name))
        .flatten();
    init_logging(&cli.global, matches!(cli.command, Command::Demo(_)));
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
        Command::Doctor(args) => doctor::run(args, &cli.global),
        Command::Sandbox(args) => sandbox::run(args, &cli.global),
        Command::Status(args) => status::run(args, &cli.global),
        Command::Completions(args) => completions::run(args),
        Command::Demo(args) => demo::run(args, &cli.global),
    };
    // Bad input leaves the ledger as it was: no run is recorded.
    let recorded = recorded.filter(|_| !attention::untouched(&result));
    attention::end(recorded, errors::finish(result))
}
