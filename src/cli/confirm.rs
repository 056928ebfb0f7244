//! `[y/N]` before an operator override that abandons or replaces something.
//!
//! Asked only on a terminal (stdin and stderr both are one): the consequence lines, then the
//! question, on stderr; anything but `y`/`yes` declines. `--yes`, or a stdin that is not a
//! terminal (cron, scripts, tests), proceeds without a word, as before the prompt existed.

use std::io::{BufRead, IsTerminal, Write};

/// Whether a prompt can be answered here: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Show `consequence` and ask `question [y/N]` when [`interactive`] and not `yes`. Ok(true) to
/// go on; Ok(false) when the operator declined (nothing is done then).
pub fn confirm(consequence: &[String], question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes || !interactive() {
        return Ok(true);
    }
    let mut err = std::io::stderr().lock();
    for line in consequence {
        writeln!(err, "{line}")?;
    }
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    drop(err);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// A question the operator answered no: nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{0}: not confirmed; nothing changed (pass --yes to skip the question)")]
pub struct Declined(String);

/// The error a declined prompt ends with (exit 1): nothing was changed, so no run is recorded.
pub fn declined(what: &str) -> anyhow::Error {
    Declined(what.to_string()).into()
}
