//! The run builder: one way to run the real binary ([`Run`]), what a run gives back
//! ([`Output`]), and a `serve-webhook` child ([`Server`]).

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Env, free_port, stderr, stdout};

/// One way to run the real binary: a cleared environment plus these variables (and leading
/// arguments). Configure it, then [`Run::run`] it as often as needed.
#[derive(Debug, Clone)]
pub struct Run {
    /// In order; `None` removes the variable.
    vars: Vec<(OsString, Option<OsString>)>,
    args: Vec<OsString>,
}

/// The binary with a cleared environment, `HOME` and the XDG directories under `home`, and
/// nothing configured.
pub fn bare(home: &Path) -> Run {
    Run {
        vars: Vec::new(),
        args: Vec::new(),
    }
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("HOME", home)
    .env("XDG_CONFIG_HOME", home.join("config"))
    .env("XDG_DATA_HOME", home.join("data"))
}

impl Run {
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Run {
        self.vars
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Run {
        self.vars.push((key.as_ref().to_owned(), None));
        self
    }

    /// The business clock of the run (`STARK_NOW`), without touching the sandbox's.
    pub fn now(self, t: DateTime<Utc>) -> Run {
        self.env("STARK_NOW", t.to_rfc3339())
    }

    /// An argument every run starts with.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Run {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Arguments every run starts with.
    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The command, to spawn it or change its stdio.
    pub fn command<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("stark"));
        cmd.env_clear();
        for (k, v) in &self.vars {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.args(&self.args).args(args);
        cmd
    }

    /// Run `stark ARGS` (after the leading arguments) to completion.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        let what = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        Output { out, what }
    }

    /// Run it with the leading arguments only.
    pub fn output(&self) -> Output {
        self.run(std::iter::empty::<&str>())
    }

    /// `stark serve-webhook EXTRA` on a free loopback port, registered at the sandbox under its
    /// own URL. Returns at once; [`Server::listening`] waits for it.
    pub fn spawn_webhook(&self, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let public = format!("http://127.0.0.1:{port}");
        let mut child = self
            .command([
                "serve-webhook",
                "--listen",
                &listen,
                "--public-url",
                &public,
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drain stderr in the background, passing its lines on.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Server {
            child,
            port,
            lines: Some(rx),
        }
    }
}

/// Start `stark serve-webhook EXTRA` registered at the sandbox; wait until it is listening.
pub fn serve(env: &Env, extra: &[&str]) -> Server {
    let mut s = env.cmd().spawn_webhook(extra);
    assert!(
        s.listening(Duration::from_secs(15)),
        "serve-webhook did not start"
    );
    assert!(s.healthy());
    s
}

/// What one run printed and how it exited; derefs to [`std::process::Output`].
pub struct Output {
    out: std::process::Output,
    what: String,
}

impl std::ops::Deref for Output {
    type Target = std::process::Output;

    fn deref(&self) -> &std::process::Output {
        &self.out
    }
}

impl Output {
    /// Assert exit status 0.
    #[track_caller]
    pub fn success(self) -> Output {
        assert!(self.status.success(), "{}", self.report());
        self
    }

    /// Assert a non-zero exit.
    #[track_caller]
    pub fn failure(self) -> Output {
        assert!(!self.status.success(), "{}", self.report());
        self
    }

    /// Assert this exit code.
    #[track_caller]
    pub fn exits(self, code: i32) -> Output {
        assert_eq!(self.status.code(), Some(code), "{}", self.report());
        self
    }

    pub fn stdout(&self) -> String {
        stdout(&self.out)
    }

    pub fn stderr(&self) -> String {
        stderr(&self.out)
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.report()))
    }

    fn report(&self) -> String {
        format!(
            "`stark {}`: {}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.status,
            self.stdout(),
            self.stderr()
        )
    }
}

/// A `serve-webhook` child, killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    lines: Option<Receiver<String>>,
}

impl Server {
    pub fn healthy(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    /// Wait until it says it is listening (its webhook is registered by then). False when it
    /// exited, or said nothing for `timeout`.
    pub fn listening(&mut self, timeout: Duration) -> bool {
        let Some(rx) = self.lines.take() else {
            return true; // asked before, and it was
        };
        let deadline = Instant::now() + timeout;
        let up = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("listening on") => break true,
                Ok(_) => {}
                Err(_) => break false,
            }
        };
        // Keep draining so that it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        up
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
