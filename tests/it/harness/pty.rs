//! A pseudo-terminal for tests of what `stark` does on a terminal: prompts, widths, colours.
//!
//! The binary runs with stdin, stdout and stderr all on the terminal side of a new pty of the
//! given size (it is its session leader, with the pty as its controlling terminal), so
//! `is_terminal()` is true for each of them and `TIOCGWINSZ` reports `cols`×`rows`. The test
//! holds the other side:
//!
//! ```ignore
//! let mut t = env.at(t0).pty(["keygen", "--dir", dir, "--force"], 80, 24);
//! t.expect("[y/N]", Duration::from_secs(10));   // everything printed so far, up to the match
//! t.send("n\n");
//! assert_eq!(t.wait(Duration::from_secs(10)), 1);  // the exit code
//! let all = t.output();                         // all it printed (stdout and stderr mixed)
//! ```
//!
//! The terminal is in its default (cooked) mode: input is echoed back into the output and
//! newlines come out as `\r\n`; [`Pty::output`] turns `\r\n` into `\n`. Built on `libc`'s
//! `openpty` (already a dependency): no extra crate, nothing to fetch.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::run::Run;

/// The bytes read from the terminal so far and whether it closed, with a condvar for waiters.
type Screen = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

/// A child running on a pseudo-terminal; killed on drop if still running.
pub struct Pty {
    child: Child,
    master: File,
    /// What the child printed so far, and whether the terminal closed (all its writers gone).
    seen: Screen,
    /// Where the last [`Pty::expect`] match ended, in `seen`.
    pos: usize,
}

impl Run {
    /// `stark ARGS` (after the leading arguments) on a `cols`×`rows` pseudo-terminal.
    pub fn pty<I, S>(&self, args: I, cols: u16, rows: u16) -> Pty
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Pty::spawn(self.command(args), cols, rows)
    }
}

impl Pty {
    /// Spawn `cmd` with its three standard streams on a new `cols`×`rows` pseudo-terminal.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Pty {
        let (mut master_fd, mut slave_fd) = (-1, -1);
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two fds into the out-pointers; no name buffer, default termios.
        let rc = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut slave_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just opened by openpty and are owned here only.
        let (master, slave) = unsafe {
            (
                OwnedFd::from_raw_fd(master_fd),
                OwnedFd::from_raw_fd(slave_fd),
            )
        };
        let stdio = || Stdio::from(slave.try_clone().unwrap());
        cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // stdin is the pty's terminal side: make it the controlling terminal.
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        // The child holds the terminal side now; closing ours lets reads end at its exit.
        drop(cmd);
        drop(slave);
        let master = File::from(master);
        let mut reader = master.try_clone().unwrap();
        let seen: Screen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                // EIO once every writer of the terminal side is gone.
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, cv) = &*sink;
                let mut s = lock.lock().unwrap();
                if n == 0 {
                    s.1 = true;
                    cv.notify_all();
                    return;
                }
                s.0.extend_from_slice(&buf[..n]);
                cv.notify_all();
            }
        });
        Pty {
            child,
            master,
            seen,
            pos: 0,
        }
    }

    /// Type `input` (e.g. `"y\n"`).
    pub fn send(&mut self, input: &str) {
        self.master.write_all(input.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Wait until `pattern` appears after the previous match; return the output up to and
    /// including it (since the previous match). Panics with everything seen after `timeout`,
    /// or when the terminal closes first.
    #[track_caller]
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.seen;
        let mut s = lock.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&s.0[self.pos..]).into_owned();
            if let Some(i) = text.find(pattern) {
                let upto = &text[..i + pattern.len()];
                self.pos += upto.len();
                return upto.replace("\r\n", "\n");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if s.1 || left.is_zero() {
                panic!(
                    "{pattern:?} did not appear ({}); the terminal showed:\n{}",
                    if s.1 {
                        "the terminal closed"
                    } else {
                        "timed out"
                    },
                    String::from_utf8_lossy(&s.0)
                );
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
    }

    /// Wait for the child to exit; its exit code (-1 for a signal). Panics after `timeout`.
    #[track_caller]
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader drain what is left.
                let (lock, cv) = &*self.seen;
                let s = lock.lock().unwrap();
                let _ = cv
                    .wait_timeout_while(s, Duration::from_secs(2), |s| !s.1)
                    .unwrap();
                return status.code().unwrap_or(-1);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "still running after {timeout:?}; it showed:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything printed so far (stdout and stderr as the terminal showed them, with the
    /// echoed input), `\r\n` turned into `\n`.
    pub fn output(&self) -> String {
        let s = self.seen.0.lock().unwrap();
        String::from_utf8_lossy(&s.0).replace("\r\n", "\n")
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
