//! The one exit-code policy: every command ends in [`finish`], which picks the exit code.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success, including "nothing to do", and a closed stdout (`stark status \| head -1`) |
//! | 1    | failure: the run could not do all it should, or its report says something failed |
//! | 2    | usage or configuration: a flag, the environment, the config file, a key file, or a request the bank refused for the credentials, the clock or the IP address |
//! | 3    | done, but something needs the operator: a ledger command that succeeded while the ledger holds credits waiting after failed transfers, a rejected batch, a batch open too long, money stuck or paid twice (its `attention:` line on stderr says what and the command to run); `stark status --check` when something needs you |
//!
//! clap's own parse errors exit 2 as well. A panic (101) is never an intended exit.
//!
//! A command returns `Ok(code)` with the code its report decides ([`Report::exit_code`]), or an
//! error; [`report_error`] prints the error with its causes and hints and maps it to a code
//! ([`exit_code`]). Commands print data with [`outln!`](crate::cli), which hands back the write
//! error instead of panicking, so a closed pipe reaches this policy as a `BrokenPipe` and ends
//! quietly with 0 (as ripgrep does: the reader has what it wanted).

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::ApiError;
use crate::cli::doctor::{Check, Level};

/// The run did what it should.
pub const SUCCESS: u8 = 0;
/// The run failed, or its report says something failed.
pub const FAILURE: u8 = 1;
/// A usage or configuration mistake: nothing was attempted.
pub const USAGE: u8 = 2;
/// Done, but something needs the operator (see [`crate::status::needs_you`]).
pub const ATTENTION: u8 = 3;

/// A mistake in the flags given that clap cannot see by itself (a value out of range for
/// this command, flags that must come in pairs, a path that must not exist yet). Exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }
}

/// End a command: flush stdout and turn the result into the exit code.
pub fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    let flushed = result.and_then(|code| {
        io::stdout().flush()?;
        Ok(code)
    });
    match flushed {
        Ok(code) => code,
        Err(err) => report_error(&err),
    }
}

/// Print an error with its causes and hints (nothing for a closed stdout) and pick its exit
/// code.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if code == SUCCESS {
        return ExitCode::SUCCESS;
    }
    // Never panic here either: a closed stderr loses the message, not the exit code.
    let mut stderr = io::stderr().lock();
    if JSON_ERRORS.load(Ordering::Relaxed) {
        let _ = writeln!(stderr, "{}", json_error(err, code));
        return ExitCode::from(code);
    }
    let label = crate::cli::style::error_label(crate::cli::style::Stream::Stderr);
    let _ = writeln!(stderr, "{label} {err:#}");
    for hint in hints(err) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    ExitCode::from(code)
}

/// Whether [`report_error`] prints errors as JSON (`--json`): set once by `cli::run`.
static JSON_ERRORS: AtomicBool = AtomicBool::new(false);

/// Print the errors of this run as one JSON object on stderr (`--json`), or as text.
pub fn errors_as_json(json: bool) {
    JSON_ERRORS.store(json, Ordering::Relaxed);
}

fn hints(err: &anyhow::Error) -> impl Iterator<Item = String> + '_ {
    err.chain().filter_map(|cause| {
        let e = cause.downcast_ref::<ApiError>()?;
        // An authentication failure names the key loaded and where each value came from.
        match crate::config::credentials_note() {
            Some(note) if e.codes().contains(&"invalidCredentials") => Some(note.to_string()),
            _ => e.hint().map(|h| h.to_string()),
        }
    })
}

/// What kind of error ended the run, for `--json`: `usage` (a flag), `config` (the setup: the
/// environment, the config file, a key, the credentials or the clock) or `failure` (exit 1).
fn error_kind(err: &anyhow::Error, code: u8) -> &'static str {
    use crate::issuer::IssueError;
    use crate::payout::RetryError;
    let usage = |c: &(dyn std::error::Error + 'static)| {
        c.is::<UsageError>()
            || c.is::<RetryError>()
            || c.downcast_ref::<IssueError>()
                .is_some_and(IssueError::is_usage)
    };
    match code {
        USAGE if err.chain().any(usage) => "usage",
        USAGE => "config",
        _ => "failure",
    }
}

/// The `--json` form of an error: `{"version":1,"error":{"kind","message","causes","hints",
/// "exit_code"}}` on one line, the outermost message first and each cause after it.
pub fn json_error(err: &anyhow::Error, code: u8) -> String {
    error_document(
        error_kind(err, code),
        &err.to_string(),
        err.chain().skip(1).map(|c| c.to_string()).collect(),
        hints(err).collect(),
        code,
    )
}

fn error_document(
    kind: &str,
    message: &str,
    causes: Vec<String>,
    hints: Vec<String>,
    code: u8,
) -> String {
    serde_json::json!({
        "version": crate::cli::JSON_VERSION,
        "error": {
            "kind": kind,
            "message": message,
            "causes": causes,
            "hints": hints,
            "exit_code": code,
        }
    })
    .to_string()
}

/// End a command line clap refused (or `--help` / `--version`, which clap prints itself).
/// With `--json` among the arguments, a refusal is the JSON error object of kind `usage`.
pub fn clap_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if !json
        || matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        )
        || !err.use_stderr()
    {
        err.exit();
    }
    let text = err.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    let hints = lines
        .filter_map(|l| l.strip_prefix("tip: "))
        .map(str::to_string)
        .collect();
    let code = u8::try_from(err.exit_code()).unwrap_or(USAGE);
    let _ = writeln!(
        io::stderr().lock(),
        "{}",
        error_document("usage", &message, Vec::new(), hints, code)
    );
    ExitCode::from(code)
}

/// The exit code for an error: 0 for a closed stdout, 2 for usage and configuration, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(is_broken_pipe) {
        SUCCESS
    } else if err.chain().any(is_usage) {
        USAGE
    } else {
        FAILURE
    }
}

fn is_broken_pipe(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn is_usage(cause: &(dyn std::error::Error + 'static)) -> bool {
    use crate::issuer::IssueError;
    use crate::payout::RetryError;
    cause.is::<UsageError>()
        || cause.is::<RequestRefused>()
        || cause.is::<crate::config::ConfigError>()
        || cause.is::<crate::keys::KeyError>()
        || cause.is::<crate::clock::ClockError>()
        || cause.is::<crate::api::client::ClientError>()
        || cause
            .downcast_ref::<IssueError>()
            .is_some_and(IssueError::is_usage)
        || matches!(
            cause.downcast_ref(),
            Some(RetryError::NoCredit(_) | RetryError::Live { .. } | RetryError::LiveAtBank { .. })
        )
        || cause.downcast_ref::<ApiError>().is_some_and(|e| {
            e.codes()
                .iter()
                .any(|c| crate::api::client::SETUP_CODES.contains(c))
        })
}

/// The bank refused a request as a whole, not one of its elements
/// ([`ApiError::is_request_level`]: the credentials, the clock, the IP address, or a 400 whose
/// errors name no element): a configuration error, exit 2. The API's error is its source (its
/// hint is printed).
#[derive(Debug, thiserror::Error)]
#[error("Stark Bank refused the request as a whole")]
pub struct RequestRefused(#[source] pub ApiError);

/// A finished run's report, which decides whether the run counts as failed.
pub trait Report {
    /// Something in the report did not go as it should (the operator reads why on stderr).
    fn failed(&self) -> bool;

    fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.failed() { FAILURE } else { SUCCESS })
    }
}

/// One `issue-invoices` tick: a batch rejected, or without a clear answer.
impl Report for [crate::issuer::Outcome] {
    fn failed(&self) -> bool {
        self.iter().any(crate::issuer::Outcome::is_failure)
    }
}

/// A `transfer-credited` run: a transfer rejected, or without a clear answer.
impl Report for crate::payout::PayoutReport {
    fn failed(&self) -> bool {
        !self.rejected.is_empty() || !self.unresolved.is_empty() || self.refused.is_some()
    }
}

/// A `reconcile` run: an event not applied, a sweep error, or a failed transfer run.
impl Report for crate::reconcile::ReconcileReport {
    fn failed(&self) -> bool {
        !self.events_failed.is_empty()
            || !self.errors.is_empty()
            || self.transfers.as_ref().is_some_and(Report::failed)
    }
}

/// `stark demo`: the audit found a violation of the promise.
impl Report for crate::audit::Audit {
    fn failed(&self) -> bool {
        !self.ok()
    }
}

/// `stark doctor`: a check failed (warnings do not fail).
impl Report for [Check] {
    fn failed(&self) -> bool {
        self.iter().any(|c| c.level == Level::Fail)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use anyhow::Context;

    use super::*;
    use crate::issuer::{BatchLabel, IssueError, Outcome};
    use crate::ledger::LedgerError;
    use crate::payout::{PayoutReport, RejectedTransfer, RetryError};
    use crate::reconcile::{FailedEvent, ReconcileReport};

    fn rejected(code: &str) -> ApiError {
        ApiError::rejected(&[(code, "x")])
    }

    fn busy() -> LedgerError {
        LedgerError::Busy {
            path: PathBuf::from("l.sqlite3"),
            timeout: std::time::Duration::from_secs(10),
            waited: None,
        }
    }

    #[test]
    fn usage_and_configuration_exit_2_wherever_they_are_in_the_chain() {
        let cases: Vec<anyhow::Error> = vec![
            UsageError::new("--speed must be at least 1").into(),
            crate::config::ConfigError::NoDataDir.into(),
            crate::keys::KeyError::Empty {
                path: PathBuf::from("k.pem"),
            }
            .into(),
            IssueError::StillRunning {
                campaign: 1,
                until: "later".into(),
            }
            .into(),
            RetryError::NoCredit("inv1".into()).into(),
            RetryError::Live {
                invoice: "inv1".into(),
                external_id: "e".into(),
                status: crate::ledger::transfers::TransferStatus::Success,
            }
            .into(),
            RetryError::LiveAtBank {
                invoice: "inv1".into(),
                external_id: "e".into(),
                status: "processing".into(),
            }
            .into(),
            rejected("invalidCredentials").into(),
            rejected("invalidAccessTime").into(),
            rejected("invalidIp").into(),
            anyhow::Error::new(UsageError::new("inner")).context("outer"),
            anyhow::Error::new(crate::reconcile::ReconcileError::Api(rejected(
                "invalidCredentials",
            ))),
            // A 400 whose errors name no element, whatever its code.
            anyhow::Error::new(RequestRefused(rejected("invalidJson"))).context("reconcile"),
            RequestRefused(ApiError::rejected(&[])).into(),
        ];
        for err in cases {
            assert_eq!(exit_code(&err), USAGE, "{err:#}");
        }
        let clock = crate::clock::ClockError {
            value: "yesterday".into(),
            source: chrono::DateTime::parse_from_rfc3339("yesterday").unwrap_err(),
        };
        assert_eq!(exit_code(&clock.into()), USAGE);
    }

    #[test]
    fn everything_else_exits_1() {
        let cases: Vec<anyhow::Error> = vec![
            anyhow::anyhow!("something broke"),
            busy().into(),
            IssueError::Ledger(busy()).into(),
            RetryError::Ledger(busy()).into(),
            rejected("invalidTaxId").into(),
            ApiError::Timeout(std::time::Duration::from_secs(1)).into(),
            io::Error::other("disk full").into(),
            anyhow::Error::new(busy()).context("while issuing"),
        ];
        for err in cases {
            assert_eq!(exit_code(&err), FAILURE, "{err:#}");
        }
    }

    #[test]
    fn a_broken_pipe_anywhere_is_a_quiet_success() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        let direct: anyhow::Error = pipe().into();
        assert_eq!(exit_code(&direct), SUCCESS);
        let deep = Err::<(), _>(pipe())
            .context("cannot write to stdout")
            .context("printing the status")
            .unwrap_err();
        assert_eq!(exit_code(&deep), SUCCESS);
        assert_eq!(report_error(&deep), ExitCode::SUCCESS);
        assert_eq!(finish(Err(deep)), ExitCode::SUCCESS);
    }

    #[test]
    fn finish_keeps_the_code_a_report_chose() {
        assert_eq!(finish(Ok(ExitCode::from(FAILURE))), ExitCode::FAILURE);
        assert_eq!(finish(Ok(ExitCode::SUCCESS)), ExitCode::SUCCESS);
        assert_eq!(
            finish(Err(UsageError::new("x").into())),
            ExitCode::from(USAGE)
        );
    }

    #[test]
    fn payout_and_reconcile_reports() {
        let mut p = PayoutReport {
            claimed: 3,
            succeeded: 1,
            failed: 1,
            ..PayoutReport::default()
        };
        assert!(!p.failed(), "failed attempts are retried, not a failed run");
        assert_eq!(p.exit_code(), ExitCode::SUCCESS);
        p.unresolved.push("e-1".into());
        assert!(p.failed());
        let rejected = PayoutReport {
            rejected: vec![RejectedTransfer {
                invoice_id: "i".into(),
                external_id: "e".into(),
                errors: vec![],
            }],
            ..PayoutReport::default()
        };
        assert!(rejected.failed());

        let mut r = ReconcileReport::default();
        assert!(!r.failed());
        r.transfers = Some(PayoutReport::default());
        assert!(!r.failed());
        r.transfers = Some(p);
        assert!(r.failed());
        let mut r = ReconcileReport::default();
        r.errors.push("checking invoice logs: timeout".into());
        assert!(r.failed());
        let mut r = ReconcileReport::default();
        r.events_failed.push(FailedEvent {
            id: "ev".into(),
            error: "x".into(),
        });
        assert_eq!(r.exit_code(), ExitCode::FAILURE);
    }

    #[test]
    fn issue_outcomes() {
        let nothing = Outcome::NothingDue {
            campaign: 1,
            reason: "not yet".into(),
            next_batch: None,
            of: 8,
            next_due: None,
        };
        let unresolved = Outcome::Unresolved {
            batch: BatchLabel {
                campaign: 1,
                batch: 1,
                of: 8,
                tag: "t".into(),
            },
            error: "timeout".into(),
        };
        assert!(!([] as [Outcome; 0]).failed());
        assert!(!std::slice::from_ref(&nothing).failed());
        assert!([nothing, unresolved].failed());
    }

    #[test]
    fn json_errors_are_one_object_with_their_kind_causes_and_exit_code() {
        let parse = |err: &anyhow::Error| -> serde_json::Value {
            let line = json_error(err, exit_code(err));
            assert!(!line.contains('\n'), "{line}");
            serde_json::from_str(&line).unwrap()
        };
        let usage = anyhow::Error::new(UsageError::new("--speed must be at least 1"))
            .context("cannot start the demo");
        let v = parse(&usage);
        assert_eq!(v["version"], 1);
        assert_eq!(v["error"]["kind"], "usage");
        assert_eq!(v["error"]["message"], "cannot start the demo");
        assert_eq!(
            v["error"]["causes"],
            serde_json::json!(["--speed must be at least 1"])
        );
        assert_eq!(v["error"]["exit_code"], 2);
        let config = parse(&crate::config::ConfigError::NoDataDir.into());
        assert_eq!(config["error"]["kind"], "config");
        let failure = parse(&anyhow::Error::new(busy()).context("while issuing"));
        assert_eq!(failure["error"]["kind"], "failure");
        assert_eq!(failure["error"]["exit_code"], 1);
        let refused = parse(&rejected("invalidCredentials").into());
        assert_eq!(refused["error"]["kind"], "config");
        assert!(
            !refused["error"]["hints"].as_array().unwrap().is_empty(),
            "{refused}"
        );
    }

    #[test]
    fn doctor_checks() {
        let check = |level| Check {
            level,
            name: "clock",
            detail: String::new(),
            fix: None,
        };
        assert!(!([check(Level::Pass), check(Level::Warn)]).failed());
        assert!([check(Level::Pass), check(Level::Fail)].failed());
    }
}
