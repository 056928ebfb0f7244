//! `serve-webhook` like `stripe listen`: bind before registering, never delete what another
//! live instance serves, the public URL as given, a self-check through it, one line per event
//! (and per transfer sent) on stdout, JSON lines with `--json`, a money summary at stop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration as StdDuration, Instant};

use crate::harness::*;
use chrono::Duration;

/// The webhooks the sandbox holds now: `(id, url)`.
fn hooks_at_bank(env: &Env) -> Vec<(String, String)> {
    let c = env.other_client();
    env.rt
        .block_on(c.list_webhooks())
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.url))
        .collect()
}

/// A `serve-webhook` child with both streams read line by line; killed on drop.
struct Listen {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    err_seen: Vec<String>,
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    rx
}

impl Listen {
    fn spawn(run: Run, args: &[&str]) -> Listen {
        let mut child = run
            .command(["serve-webhook"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = lines_of(child.stdout.take().unwrap());
        let err = lines_of(child.stderr.take().unwrap());
        Listen {
            child,
            out,
            err,
            err_seen: Vec::new(),
        }
    }

    /// Wait for a stderr line containing `what`.
    fn stderr_until(&mut self, what: &str, timeout: StdDuration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(what);
                    self.err_seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Stdout lines until one satisfies `f` (all of them, that one last), or `None`.
    fn stdout_until(&self, timeout: StdDuration, f: impl Fn(&str) -> bool) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = self.out.recv_timeout(left).ok()?;
            let hit = f(&l);
            seen.push(l);
            if hit {
                return Some(seen);
            }
        }
    }

    /// SIGTERM, then the rest of its output and its exit code.
    fn stop(mut self) -> (Vec<String>, Vec<String>, Option<i32>) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        let out: Vec<String> = self.out.iter().collect();
        let mut err = std::mem::take(&mut self.err_seen);
        err.extend(self.err.iter());
        (out, err, status.code())
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen_args(port: u16) -> (String, String) {
    (
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    )
}

/// Row 20: a busy port is found before anything is registered: the error names the address
/// and suggests the next port, exit 2, and neither the bank nor the ledger holds a webhook.
/// (It used to register first, then fail to bind, leaving the webhook at the bank.)
#[test]
fn a_busy_port_names_the_address_and_a_failed_start_leaves_no_webhook() {
    let env = Env::new(|_| {});
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (listen, public) = listen_args(port);
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "5s", "--listen", &listen])
        .args(["--public-url", &public])
        .output()
        .exits(2);
    let err = out.stderr();
    assert!(err.contains(&format!("cannot listen on {listen}")), "{err}");
    assert!(
        err.contains(&format!("--listen 127.0.0.1:{}", port + 1)),
        "{err}"
    );
    assert!(!err.contains("registered webhook"), "{err}");
    assert_eq!(hooks_at_bank(&env), vec![], "nothing left at the bank");
    let n = env.sql_i64("SELECT COUNT(*) FROM webhooks");
    assert_eq!(n, 0, "nothing recorded in the ledger");
}

/// Row 21: a second `--public-url` start while the first serves refuses, naming the first's
/// webhook and its process, and deletes nothing; the first keeps its webhook. Once the first
/// is gone (killed: its webhook is provably not served), a new start removes that webhook.
#[test]
fn a_second_instance_never_deletes_the_webhook_a_live_one_serves() {
    let env = Env::new(|_| {});
    let first = serve(&env, &[]);
    let before = hooks_at_bank(&env);
    assert_eq!(before.len(), 1, "{before:?}");
    let (id, url) = before[0].clone();
    let (listen, public) = listen_args(free_port());
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "5s", "--listen", &listen])
        .args(["--public-url", &public])
        .output()
        .exits(2);
    let err = out.stderr();
    assert!(err.contains(&format!("webhook {id} ({url})")), "{err}");
    assert!(err.contains(&format!("pid {}", first.child.id())), "{err}");
    assert!(err.contains("nothing was registered or deleted"), "{err}");
    assert_eq!(
        hooks_at_bank(&env),
        before,
        "the live webhook is still there"
    );
    assert!(first.healthy());
    drop(first); // SIGKILL: its webhook stays at the bank, served by nobody
    let mut third = Listen::spawn(env.cmd(), &["--listen", &listen, "--public-url", &public]);
    assert!(third.stderr_until("listening on", StdDuration::from_secs(15)));
    let now = hooks_at_bank(&env);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0].0, id, "the dead instance's webhook was removed");
    assert_eq!(now[0].1, format!("{public}/webhook"));
}

/// Row 22: a public URL with a path is registered exactly as given (and deliveries to it are
/// taken; its self-check passes); a bare host gets `/webhook`.
#[test]
fn a_url_with_a_path_is_registered_as_given_and_a_bare_host_gets_webhook() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let port = free_port();
    let (listen, public) = listen_args(port);
    let with_path = format!("{public}/hooks/stark");
    let mut s = Listen::spawn(
        env.cmd(),
        &["--listen", &listen, "--public-url", &with_path],
    );
    assert!(s.stderr_until("listening on", StdDuration::from_secs(15)));
    let hooks = hooks_at_bank(&env);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].1, with_path, "registered as given");
    tick(&env, env.t0).success();
    let n: usize = env.batches_at_bank().values().map(Vec::len).sum();
    env.advance(Duration::hours(1));
    env.flush();
    env.wait_for_credits(n);
    let (_, err, _) = s.stop();
    assert!(
        !err.iter().any(|l| l.contains("self-check")),
        "the self-check reached the server: {err:?}"
    );
    assert!(hooks_at_bank(&env).is_empty(), "deleted at stop");
    let mut bare = Listen::spawn(env.cmd(), &["--listen", &listen, "--public-url", &public]);
    assert!(bare.stderr_until("listening on", StdDuration::from_secs(15)));
    assert_eq!(hooks_at_bank(&env)[0].1, format!("{public}/webhook"));
}

/// Rows 23 and 26: without --public-url it says the bank will not deliver here; with a public
/// URL that does not reach this server, the self-check warns, naming the URL (and goes on).
#[test]
fn it_says_when_stark_bank_cannot_reach_it() {
    let env = Env::new(|_| {});
    let (listen, _) = listen_args(free_port());
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "1s", "--listen", &listen])
        .output()
        .success();
    let err = out.stderr();
    assert!(err.contains("no webhook registered"), "{err}");
    assert!(err.contains("--public-url"), "{err}");
    let out = env
        .cmd()
        .args(["serve-webhook", "--for", "1s", "--listen", &listen])
        .args(["--public-url", "http://127.0.0.1:1/webhook"])
        .output()
        .success();
    let err = out.stderr();
    assert!(
        err.contains("warning: self-check GET http://127.0.0.1:1/healthz failed"),
        "{err}"
    );
    assert!(err.contains("listening on"), "it goes on: {err}");
}

/// Row 24: one credited event is one line with its time, kind, invoice, amount and fee and the
/// transfer it queued; a later line says the transfer was sent, with its id; the stop summary
/// has the money. Everything fits 80 columns.
#[test]
fn one_event_is_one_line_with_amount_fee_and_the_transfer_outcome() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let (listen, public) = listen_args(free_port());
    let mut s = Listen::spawn(env.cmd(), &["--listen", &listen, "--public-url", &public]);
    assert!(s.stderr_until("listening on", StdDuration::from_secs(15)));
    tick(&env, env.t0).success();
    let invoices = env.batches_at_bank();
    let first = invoices.values().flatten().next().unwrap().clone();
    env.advance(Duration::hours(1));
    env.flush();
    let lines = s
        .stdout_until(StdDuration::from_secs(20), |l| l.contains(" sent (id "))
        .expect("a transfer line");
    let credited: Vec<&String> = lines.iter().filter(|l| l.contains(" credited ")).collect();
    assert!(!credited.is_empty(), "{lines:?}");
    let l = credited[0];
    assert!(
        l.chars().nth(2) == Some(':') && l.chars().nth(5) == Some(':'),
        "starts with HH:MM:SS: {l}"
    );
    assert!(l.contains("R$ ") && l.contains(" fee "), "{l}");
    assert!(
        l.contains("-> transfer R$ ") && l.ends_with(" queued"),
        "{l}"
    );
    let id = &first.id;
    let short = if id.chars().count() > 12 {
        format!("{}…{}", &id[..4], &id[id.len() - 4..])
    } else {
        id.clone()
    };
    assert!(
        lines.iter().any(|l| l.contains(&short)),
        "the invoice {id} appears as {short}: {lines:?}"
    );
    for l in &lines {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
        assert!(!l.contains("verdict="), "no internal jargon: {l}");
    }
    let (_, err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
    let summary = err
        .iter()
        .find(|l| l.contains(" stopped: ") || l.starts_with("stopped: "))
        .unwrap();
    assert!(
        summary.contains("credited R$ ") && summary.contains("forwarded R$ "),
        "{summary}"
    );
    assert!(summary.contains("waiting"), "{summary}");
}

/// Row 25: with --json every stdout line is a JSON object with `version` 1 and a `type`,
/// snake_case keys; prose stays on stderr; a `summary` line at stop.
#[test]
fn json_lines_go_to_stdout_with_a_version_and_prose_to_stderr() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let (listen, public) = listen_args(free_port());
    let mut s = Listen::spawn(
        env.cmd().arg("--json"),
        &["--listen", &listen, "--public-url", &public],
    );
    assert!(s.stderr_until("listening on", StdDuration::from_secs(15)));
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.flush();
    assert!(
        s.stdout_until(StdDuration::from_secs(20), |l| l
            .contains(r#""type":"transfer""#))
            .is_some()
    );
    let (out, err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
    let parsed: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let last = parsed.last().unwrap();
    assert_eq!(last["type"], "summary", "{last}");
    assert!(last["credited"].as_i64().unwrap() > 0, "{last}");
    for v in &parsed {
        assert_eq!(v["version"], 1, "{v}");
        assert!(v["type"].is_string(), "{v}");
        for k in v.as_object().unwrap().keys() {
            assert_eq!(*k, k.to_lowercase(), "snake_case: {v}");
        }
    }
    assert!(
        !err.iter().any(|l| l.trim_start().starts_with('{')),
        "no JSON on stderr: {err:?}"
    );
}
