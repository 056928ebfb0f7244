//! The one exit-code policy: every command ends in [`finish`], which picks the exit code.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success, including "nothing to do", and a closed stdout (`stark status \| head -1`) |
//! | 1    | failure: the run could not do all it should, or its report says something failed |
//! | 2    | usage or configuration: a flag, the environment, the config file, a key file, or a request the bank refused for the credentials, the clock or the IP address |
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

use crate::api::ApiError;
use crate::cli::doctor::{Check, Level};

/// The run did what it should.
pub const SUCCESS: u8 = 0;
/// The run failed, or its report says something failed.
pub const FAILURE: u8 = 1;
/// A usage or configuration mistake: nothing was attempted.
pub const USAGE: u8 = 2;

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
    let _ = writeln!(stderr, "error: {err:#}");
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ApiError>() {
            // An authentication failure names the key loaded and where each value came from.
            let hint = match crate::config::credentials_note() {
                Some(note) if e.codes().contains(&"invalidCredentials") => Some(note),
                _ => e.hint(),
            };
            if let Some(hint) = hint {
                let _ = writeln!(stderr, "hint: {hint}");
            }
        }
    }
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
