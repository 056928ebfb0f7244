//! Each run of a ledger command (`issue-invoices`, `transfer-credited`, `reconcile`,
//! `serve-webhook`): when it started and ended, how it ended (its exit code) and a one-line
//! summary, so that "is cron alive?" has an answer (`stark status` shows the last run of each
//! command).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, LedgerError, parse_ts, ts};

/// The latest run of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRun {
    pub command: String,
    pub started_at: String,
    /// `None` only for a row written without its end.
    pub ended_at: Option<String>,
    /// The exit code the run ended with (0 ok, 1 failed, 2 usage, 3 needs the operator).
    pub exit_code: Option<i64>,
    pub summary: Option<String>,
    #[serde(skip)]
    pub started: DateTime<Utc>,
}

/// The run statements, by name (`tests/it/query_plans.rs` checks their plans).
pub mod sql {
    pub const RECORD_RUN: &str =
        "INSERT INTO runs(command, started_at, ended_at, exit_code, summary)
        VALUES (?1, ?2, ?3, ?4, ?5)";
    /// The latest run of each command (one index search per command name).
    pub const LAST_RUNS: &str = "SELECT r.command, r.started_at, r.ended_at, r.exit_code, r.summary
        FROM (SELECT DISTINCT command FROM runs) d
        JOIN runs r ON r.id = (SELECT id FROM runs x WHERE x.command = d.command
                               ORDER BY x.started_at DESC, x.id DESC LIMIT 1)
        ORDER BY r.command";

    statements![RECORD_RUN, LAST_RUNS];
}

impl Db<'_> {
    /// Note a whole run once it ended.
    pub fn record_run(
        &self,
        command: &str,
        started: DateTime<Utc>,
        ended: DateTime<Utc>,
        exit_code: u8,
        summary: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.exec(
            sql::RECORD_RUN,
            args![
                command,
                ts(started),
                ts(ended),
                i64::from(exit_code),
                summary
            ],
        )
        .map(drop)
    }

    /// The latest run of each command that ever ran, by command name.
    pub fn last_runs(&self) -> Result<Vec<LastRun>, LedgerError> {
        self.rows(sql::LAST_RUNS, args![], |r| {
            let started_at: String = r.get(1)?;
            Ok(LastRun {
                command: r.get(0)?,
                started: parse_ts(&started_at)?,
                started_at,
                ended_at: r.get(2)?,
                exit_code: r.get(3)?,
                summary: r.get(4)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::ledger::testing::on_scratch_db;

    #[test]
    fn the_last_run_of_each_command_is_listed() {
        on_scratch_db(|db, t| {
            assert!(db.last_runs().unwrap().is_empty());
            let later = t + chrono::Duration::minutes(5);
            db.record_run("reconcile", t, t, 0, None).unwrap();
            db.record_run("reconcile", later, later, 3, Some("attention: 1 credit"))
                .unwrap();
            db.record_run("issue-invoices", t, later, 1, None).unwrap();
            let runs = db.last_runs().unwrap();
            assert_eq!(runs.len(), 2);
            assert_eq!(
                (runs[0].command.as_str(), runs[0].exit_code),
                ("issue-invoices", Some(1))
            );
            assert_eq!(runs[1].command, "reconcile");
            assert_eq!(runs[1].started, later, "the latest");
            assert_eq!(
                (runs[1].exit_code, runs[1].summary.as_deref()),
                (Some(3), Some("attention: 1 credit"))
            );
        })
    }
}
