//! Around each ledger command (`issue-invoices`, `transfer-credited`, `reconcile`,
//! `serve-webhook`): the run is recorded in the ledger (command, start, end, exit code,
//! summary), and once it is done, what needs the operator ([`crate::status::needs_you`]) is
//! printed as one `attention:` line on stderr, even with `--quiet`, and a run that succeeded
//! exits 3 instead of 0: done, but something needs you.
//!
//! Only a ledger that exists is written (none is ever created here), and nothing here changes
//! a command's outcome when it goes wrong: a ledger that cannot be read or written leaves the
//! run unrecorded and the exit code as the command chose it. A run that ends in a usage or
//! configuration error (exit 2: nothing was attempted) or in an error of the ledger itself is
//! not recorded either: bad input leaves the ledger as it was. Such a cron line shows in
//! `stark status` as a last run that gets older.
//!
//! The run's row is written once, when it ends, with the business time (`STARK_NOW` when
//! set) of its start and end, as every ledger record.

use std::process::ExitCode;

use super::errors::{ATTENTION, FAILURE, SUCCESS, USAGE};
use super::{Command, GlobalArgs};
use crate::ledger::Ledger;
use crate::status::{self, StatusOptions};

/// The name a command is known by (`issue-invoices`…).
pub fn name(command: &Command) -> &'static str {
    match command {
        Command::Init(_) => "init",
        Command::Keygen(_) => "keygen",
        Command::IssueInvoices(_) => "issue-invoices",
        Command::TransferCredited(_) => "transfer-credited",
        Command::Reconcile(_) => "reconcile",
        Command::ServeWebhook(_) => "serve-webhook",
        Command::Webhook(_) => "webhook",
        Command::Doctor(_) => "doctor",
        Command::Sandbox(_) => "sandbox",
        Command::Status(_) => "status",
        Command::Log(_) => "log",
        Command::Completions(_) => "completions",
        Command::Demo(_) => "demo",
    }
}

/// Whether a command works on the ledger and is recorded as a run (a `--dry-run` changes
/// nothing, its run included).
pub fn is_ledger_command(command: &Command) -> bool {
    match command {
        Command::IssueInvoices(a) => !a.dry_run,
        Command::TransferCredited(a) => !a.dry_run,
        Command::Reconcile(a) => !a.dry_run,
        Command::ServeWebhook(_) => true,
        _ => false,
    }
}

/// A run being recorded.
pub struct Run {
    command: &'static str,
    ledger: Ledger,
    started: Option<chrono::DateTime<chrono::Utc>>,
    /// `--json`: the attention line is a JSON object on stderr, like errors.
    json: bool,
}

/// The business time (`STARK_NOW` when set), as every ledger record uses.
fn now() -> Option<chrono::DateTime<chrono::Utc>> {
    crate::clock::from_env().ok().map(|c| c.now())
}

/// Open the existing ledger (never create one) and note when `command` started.
pub fn begin(command: &'static str, global: &GlobalArgs) -> Option<Run> {
    let settings = global.settings().ok()?;
    let ledger = Ledger::open(&settings.ledger.value).ok()?;
    Some(Run {
        command,
        ledger,
        started: now(),
        json: global.json,
    })
}

/// Whether a command's result is one that leaves no trace: a usage or configuration error
/// (nothing was attempted), or an error of the ledger itself.
pub fn untouched(result: &anyhow::Result<ExitCode>) -> bool {
    result.as_ref().err().is_some_and(|e| {
        super::errors::exit_code(e) == USAGE
            || e.chain().any(|c| c.is::<crate::ledger::LedgerError>())
            || e.is::<super::confirm::Declined>()
    })
}

/// The exit code an `ExitCode` stands for (commands hand back one of the policy's).
fn code_of(code: ExitCode) -> u8 {
    [SUCCESS, FAILURE, USAGE, ATTENTION]
        .into_iter()
        .find(|&c| ExitCode::from(c) == code)
        .unwrap_or(FAILURE)
}

/// After the command: print the `attention:` line when something needs the operator (a
/// success becomes exit 3), and record the run.
pub fn end(run: Option<Run>, code: ExitCode) -> ExitCode {
    let Some(run) = run else {
        return code;
    };
    let mut exit = code_of(code);
    let Some(now) = now() else {
        return code;
    };
    // A ledger whose report cannot be read (a table dropped, a newer schema…) is not
    // written to either.
    let report = match status::report(&run.ledger.db(), now, &StatusOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("cannot read what needs you: {e}");
            return code;
        }
    };
    let needs_you = status::needs_you(&report);
    let line = needs_you.line();
    if let Some(line) = &line {
        let shown = match run.json {
            true => serde_json::json!({
                "version": super::JSON_VERSION,
                "attention": { "line": line, "needs_you": &needs_you },
            })
            .to_string(),
            false => line.clone(),
        };
        // Never panic on a closed stderr: the exit code still says it.
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "{shown}");
        if exit == SUCCESS {
            exit = ATTENTION;
        }
    }
    if let Some(start) = run.started
        && let Err(e) = run
            .ledger
            .db()
            .record_run(run.command, start, now, exit, line.as_deref())
    {
        tracing::debug!("cannot record the {} run: {e}", run.command);
    }
    ExitCode::from(exit)
}
