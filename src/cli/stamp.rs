//! Timestamps on stderr for logs: when stderr is not a terminal (a cron log, a pipe, a file),
//! every line written to it starts with the time it was written, RFC 3339 UTC to the second,
//! and the command name: `2026-03-02T03:00:00Z issue-invoices error: …`. Two cron lines that
//! share one log stay readable.
//!
//! The time is the wall clock ([`chrono::Utc::now`]), not the business clock `STARK_NOW`: a
//! log line says when it was written. On a terminal nothing changes, and neither does it under
//! `--json` (whose stderr lines are JSON objects a prefix would break).
//!
//! It works below every writer (`eprintln!`, the tracing subscriber, a panic message): the
//! process's stderr (fd 2) is replaced by a pipe whose lines a thread stamps and passes on to
//! the original stderr. [`Stamp`]'s drop puts the original back and waits for the last lines.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The prefix of one stderr line written at `at` by `command`.
pub fn prefix(at: chrono::DateTime<chrono::Utc>, command: &str) -> String {
    format!(
        "{} {command} ",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Stamping in force; dropping it restores stderr and flushes the last lines.
pub struct Stamp {
    /// A copy of the original stderr, put back on fd 2 at drop.
    original: RawFd,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

/// Whether stderr lines get stamped: stderr is not a terminal and the output is not JSON.
pub fn wanted(json: bool) -> bool {
    !json && !std::io::stderr().is_terminal()
}

/// Stamp every stderr line of this process with the time and `command` (see the module
/// docs). `None` when it cannot be set up: stderr then stays as it is.
pub fn install(command: &'static str) -> Option<Stamp> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: plain descriptor calls on descriptors this function owns; each result is checked.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return None;
        }
        let [read, write] = fds;
        let original = libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3);
        let passed_on = libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3);
        if original < 0 || passed_on < 0 || libc::dup2(write, 2) < 0 {
            for fd in [read, write, original, passed_on] {
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            return None;
        }
        libc::close(write);
        let reader = File::from_raw_fd(read);
        let out = File::from_raw_fd(passed_on);
        let (tx, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("stderr-stamp".into())
            .spawn(move || {
                pass_on(reader, out, command);
                let _ = tx.send(());
            })
            .ok();
        if thread.is_none() {
            libc::dup2(original, 2);
            libc::close(original);
            return None;
        }
        Some(Stamp {
            original,
            done,
            thread,
        })
    }
}

/// Copy each line from `reader` to `out` behind its stamp, until the pipe closes.
fn pass_on(reader: File, mut out: File, command: &str) {
    for line in BufReader::new(reader).split(b'\n') {
        let Ok(line) = line else { break };
        let mut buf = prefix(chrono::Utc::now(), command).into_bytes();
        buf.extend_from_slice(&line);
        buf.push(b'\n');
        let _ = out.write_all(&buf);
    }
}

impl Drop for Stamp {
    fn drop(&mut self) {
        // SAFETY: `original` is a descriptor this guard owns; putting it back on fd 2 closes
        // the pipe's write end there, which ends the thread's reading.
        unsafe {
            libc::dup2(self.original, 2);
            libc::close(self.original);
        }
        // A child process that inherited the pipe keeps it open: wait a little, not forever.
        if self.done.recv_timeout(Duration::from_secs(2)).is_ok()
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_the_utc_second_and_the_command() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T03:00:00.734+00:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            prefix(at, "issue-invoices"),
            "2026-03-02T03:00:00Z issue-invoices "
        );
    }
}
