//! The `--json` contract of `docs/json.md`: every command's output is one compact line with
//! `"version": 1` and snake_case keys, and has the SHAPE of the example documented for it (the
//! same keys, recursively, with the same JSON types; arrays compared by their first element).
//! The streams (`serve-webhook --json`, `log --json`) are JSON lines: each kind of line has the
//! shape of the example for its `type`.
//! Errors under `--json` are one JSON object on stderr. And every command exits quietly (0, no
//! panic, no message) when its stdout is closed (`stark status --json | head -c1`).
//!
//! After a deliberate change of an output, refresh the examples from a real run:
//! `STARK_BLESS_JSON=1 cargo test --test it json_contract -- --test-threads 1`, then review the
//! diff of `docs/json.md` (a removed or retyped key needs a new `version`).

use std::collections::BTreeSet;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::Value;

use crate::harness::{Env, Output, Run, bare, free_port, path_str, tick, wait_until};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/json.md")
}

const MARKER: &str = "<!-- json: ";
const FENCE: &str = "```json\n";

/// The documented examples, by name, in the order of the file: each a `<!-- json: NAME -->`
/// marker followed by a fenced `json` block.
fn documented(text: &str) -> Vec<(String, Value, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(MARKER) {
        let start = from + at + MARKER.len();
        let end = start
            + text[start..]
                .find(" -->")
                .expect("marker closed with ` -->`");
        let name = text[start..end].to_string();
        let open = end
            + text[end..]
                .find(FENCE)
                .expect("a ```json block after the marker");
        let body = open + FENCE.len();
        let close = body
            + text[body..]
                .find("```")
                .expect("the ```json block is closed");
        let value = serde_json::from_str(&text[body..close])
            .unwrap_or_else(|e| panic!("docs/json.md: the `{name}` example is not JSON: {e}"));
        out.push((name, value, body..close));
        from = close;
    }
    out
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `actual`'s shape differs from `documented`'s: `PATH: documented X, actual Y`.
fn shape_diffs(path: &str, documented: &Value, actual: &Value, diffs: &mut Vec<String>) {
    if kind(documented) != kind(actual) {
        diffs.push(format!(
            "{path}: documented {}, actual {}",
            kind(documented),
            kind(actual)
        ));
        return;
    }
    match (documented, actual) {
        (Value::Object(d), Value::Object(a)) => {
            let keys: BTreeSet<&String> = d.keys().chain(a.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (d.get(k), a.get(k)) {
                    (Some(x), Some(y)) => shape_diffs(&p, x, y, diffs),
                    (Some(x), None) => {
                        diffs.push(format!("{p}: documented {}, actual missing", kind(x)))
                    }
                    (None, Some(y)) => {
                        diffs.push(format!("{p}: documented missing, actual {}", kind(y)))
                    }
                    (None, None) => unreachable!(),
                }
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if let (Some(x), Some(y)) = (d.first(), a.first()) {
                shape_diffs(&format!("{path}[0]"), x, y, diffs);
            }
        }
        _ => {}
    }
}

fn snake_case(key: &str) -> bool {
    !key.is_empty()
        && key.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Keys anywhere in `v` that are not snake_case, by path.
fn not_snake_case(path: &str, v: &Value, bad: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{path}.{k}");
                if !snake_case(k) {
                    bad.push(p.clone());
                }
                not_snake_case(&p, v, bad);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                not_snake_case(&format!("{path}[{i}]"), v, bad);
            }
        }
        _ => {}
    }
}

/// One captured output: the example `name` of docs/json.md it is checked against, and the raw
/// text (stdout, or stderr for an error).
struct Captured {
    name: &'static str,
    raw: String,
}

fn stdout_of(name: &'static str, out: &Output) -> Captured {
    Captured {
        name,
        raw: out.stdout(),
    }
}

fn stderr_of(name: &'static str, out: &Output) -> Captured {
    Captured {
        name,
        raw: out.stderr(),
    }
}

/// Check each capture against the contract and its example; with `STARK_BLESS_JSON` set,
/// write the captures into docs/json.md instead of comparing shapes, with each `(from, to)` of
/// `anonymise` replaced (the test's temporary paths and ports).
fn check(captured: &[Captured], anonymise: &[(String, &str)]) {
    static DOC: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = DOC.lock().unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    let mut parsed = Vec::new();
    for c in captured {
        let lines: Vec<&str> = c.raw.lines().collect();
        if lines.len() != 1 || !c.raw.ends_with('\n') {
            failures.push(format!(
                "{}: not one line ({} lines): {}",
                c.name,
                lines.len(),
                c.raw
            ));
            continue;
        }
        let v: Value = match serde_json::from_str(lines[0]) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: not JSON ({e}): {}", c.name, c.raw));
                continue;
            }
        };
        if v["version"] != 1 {
            failures.push(format!("{}: no top-level \"version\": 1: {v}", c.name));
        }
        let mut bad = Vec::new();
        not_snake_case("", &v, &mut bad);
        for p in bad {
            failures.push(format!("{}: key {p} is not snake_case", c.name));
        }
        parsed.push((c.name, v));
    }
    let text = std::fs::read_to_string(doc_path()).expect("docs/json.md exists");
    let docs = documented(&text);
    if std::env::var_os("STARK_BLESS_JSON").is_some() {
        let mut text = text.clone();
        // From the end, so that the ranges found stay valid.
        for (name, _, range) in docs.iter().rev() {
            if let Some((_, v)) = parsed.iter().find(|(n, _)| n == name) {
                let mut pretty = serde_json::to_string_pretty(v).unwrap();
                for (from, to) in anonymise {
                    pretty = pretty.replace(from.as_str(), to);
                }
                text.replace_range(range.clone(), &format!("{pretty}\n"));
            }
        }
        std::fs::write(doc_path(), text).unwrap();
    } else {
        for (name, actual) in &parsed {
            match docs.iter().find(|(n, _, _)| n == name) {
                None => failures.push(format!(
                    "{name}: no example in docs/json.md (add `<!-- json: {name} -->` and a ```json block)"
                )),
                Some((_, documented, _)) => {
                    let mut diffs = Vec::new();
                    shape_diffs("", documented, actual, &mut diffs);
                    failures.extend(diffs.into_iter().map(|d| format!("{name}: {d}")));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the --json outputs drifted from docs/json.md (fix the code, or bless a deliberate change: see tests/it/json_contract.rs):\n  {}",
        failures.join("\n  ")
    );
}

/// Every example the file documents is checked by one of the tests here: the file holds no
/// example that could drift unseen.
#[test]
fn json_contract_every_documented_example_is_checked() {
    let text = std::fs::read_to_string(doc_path()).unwrap();
    let names: BTreeSet<String> = documented(&text).into_iter().map(|(n, _, _)| n).collect();
    let checked: BTreeSet<String> = CHECKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, checked);
}

/// The examples [`json_contract_outputs_match_their_documented_shapes`],
/// [`json_contract_demo_matches_its_documented_shape`],
/// [`json_contract_serve_webhook_lines_match_their_documented_shapes`] and
/// [`json_contract_log_lines_match_their_documented_shapes`] capture.
const CHECKED: &[&str] = &[
    "init",
    "keygen",
    "doctor",
    "error",
    "error-usage",
    "attention",
    "webhook-ensure",
    "webhook-remove",
    "issue-invoices-rejected",
    "issue-invoices",
    "reconcile",
    "transfer-credited",
    "status",
    "status-invoices",
    "status-transfers",
    "demo",
    "serve-webhook-event",
    "serve-webhook-refused",
    "serve-webhook-transfer",
    "serve-webhook-summary",
    "log-batch",
    "log-event",
    "log-credit",
    "log-transfer",
    "log-run",
];

/// One day against the sandbox that produces every documented output: a first tick refused
/// for the setup (exit 2), the same batch then rejected by the bank (exit 1), the next batch
/// issued, a sweep that records the credits and forwards them, and the status of it all.
#[test]
fn json_contract_outputs_match_their_documented_shapes() {
    let env = Env::without_ledger(|c| c.pay_rate = 1.0);
    let mut got = Vec::new();
    got.push(stdout_of(
        "init",
        &env.cmd().run(["init", "--json"]).success(),
    ));
    // The config.toml it wrote goes: the refused tick below must find no project id.
    let init: serde_json::Value = serde_json::from_str(got.last().unwrap().raw.trim()).unwrap();
    std::fs::remove_file(init["config"].as_str().unwrap()).unwrap();
    let keys = env.dir.path().join("keys");
    got.push(stdout_of(
        "keygen",
        &env.cmd()
            .run(["keygen", "--json", "--dir", path_str(&keys)])
            .success(),
    ));
    got.push(stdout_of(
        "doctor",
        &env.at(env.t0).run(["doctor", "--json"]),
    ));
    let first = env.at(env.t0 + Duration::minutes(1));
    let refused = first
        .clone()
        .env_remove("STARK_PROJECT_ID")
        .run(["issue-invoices", "--json"])
        .exits(2);
    assert!(refused.stdout().is_empty(), "{}", refused.stdout());
    got.push(stderr_of("error", &refused));
    got.push(stderr_of(
        "error-usage",
        &env.cmd()
            .run(["status", "--json", "--no-such-flag"])
            .exits(2),
    ));
    // The bank rejects the batch for an invalid tax id.
    let body: String = env.sql_one("SELECT body FROM batches", &[]);
    let mut v: Value = serde_json::from_str(&body).unwrap();
    v["invoices"][0]["taxId"] = "123.456.789-10".into();
    env.sql_exec("UPDATE batches SET body = ?1", &[&v.to_string()]);
    got.push(stdout_of(
        "issue-invoices-rejected",
        &first.run(["issue-invoices", "--json"]).exits(1),
    ));
    let second = env.at(env.t0 + Duration::hours(3) + Duration::minutes(1));
    // Issued; batch 1 stays rejected, so it needs you: exit 3, the attention object on stderr.
    let issued = second.run(["issue-invoices", "--json"]).exits(3);
    got.push(stdout_of("issue-invoices", &issued));
    got.push(stderr_of("attention", &issued));
    env.advance(Duration::hours(1));
    got.push(stdout_of(
        "reconcile",
        &env.at_now().run(["reconcile", "--json"]).exits(3),
    ));
    got.push(stdout_of(
        "transfer-credited",
        &env.at_now().run(["transfer-credited", "--json"]).exits(3),
    ));
    let now = env.at_now();
    got.push(stdout_of(
        "status",
        &now.run(["status", "--json"]).success(),
    ));
    got.push(stdout_of(
        "status-invoices",
        &now.run(["status", "--json", "--invoices", "--limit", "2"])
            .success(),
    ));
    got.push(stdout_of(
        "status-transfers",
        &now.run(["status", "--json", "--transfers", "--limit", "2"])
            .success(),
    ));
    let anonymise = [
        (path_str(env.dir.path()).to_string(), "/home/operator/stark"),
        (env.url.clone(), "http://127.0.0.1:8080"),
    ];
    check(&got, &anonymise);
}

#[test]
fn json_contract_demo_matches_its_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare(dir.path())
        .env("TMPDIR", dir.path())
        .run([
            "demo", "--seed", "1", "--faults", "none", "--speed", "1000000", "--json",
        ])
        .success();
    check(&[stdout_of("demo", &out)], &[]);
}

/// The first line of a JSON-lines `stream` for which `which` holds, captured as the example
/// `name` (the checker takes one line at a time).
fn line_of(name: &'static str, stream: &str, which: impl Fn(&Value) -> bool) -> Captured {
    let line = stream
        .lines()
        .find(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| which(&v)))
        .unwrap_or_else(|| panic!("{name}: no such line in the stream:\n{stream}"));
    Captured {
        name,
        raw: format!("{line}\n"),
    }
}

/// Every line of a JSON-lines `stream` is JSON with `"version": 1`, snake_case keys and one of
/// the documented `types`, and each of them occurs: a new kind of line cannot go unseen.
fn every_line_is_of(stream: &str, types: &[&str]) {
    let mut seen = BTreeSet::new();
    for l in stream.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert_eq!(v["version"], 1, "{l}");
        let mut bad = Vec::new();
        not_snake_case("", &v, &mut bad);
        assert!(bad.is_empty(), "keys not snake_case {bad:?}: {l}");
        let t = v["type"].as_str().unwrap_or_else(|| panic!("no type: {l}"));
        assert!(
            types.contains(&t),
            "a type docs/json.md does not document: {l}"
        );
        seen.insert(t.to_string());
    }
    let all: BTreeSet<String> = types.iter().map(|t| t.to_string()).collect();
    assert_eq!(seen, all, "the run printed these types of line:\n{stream}");
}

/// `serve-webhook --json` through a short run: a request with a bad signature refused, a
/// batch's events recorded, the transfers they queued sent, and the summary at stop. Each
/// kind of line is checked against its example.
#[test]
fn json_contract_serve_webhook_lines_match_their_documented_shapes() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let stream_path = env.dir.path().join("serve-webhook.jsonl");
    let mut child = env
        .cmd()
        .arg("--json")
        .command([
            "serve-webhook",
            "--listen",
            &listen,
            "--public-url",
            &public,
        ])
        .stdout(std::fs::File::create(&stream_path).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let up = wait_until(StdDuration::from_secs(15), || {
        rx.try_iter().any(|l| l.contains("listening on"))
    });
    assert!(up, "serve-webhook did not start");
    let stream = || std::fs::read_to_string(&stream_path).unwrap();
    let status = env.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{public}/webhook"))
            .header("Digital-Signature", "not-a-signature")
            .body(r#"{"event":{}}"#)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert!((400..500).contains(&status), "{status}");
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.flush();
    assert!(
        wait_until(StdDuration::from_secs(20), || stream()
            .contains(r#""outcome":"sent""#)),
        "no transfer sent:\n{}",
        stream()
    );
    // SAFETY: a plain kill(2) of the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let exit = child.wait().unwrap();
    assert_eq!(
        exit.code(),
        Some(0),
        "{:?}",
        rx.try_iter().collect::<Vec<_>>()
    );
    let stream = stream();
    every_line_is_of(&stream, &["event", "refused", "transfer", "summary"]);
    let got = [
        line_of("serve-webhook-refused", &stream, |v| v["type"] == "refused"),
        line_of("serve-webhook-event", &stream, |v| {
            v["type"] == "event" && v["log_type"] == "credited"
        }),
        line_of("serve-webhook-transfer", &stream, |v| {
            v["type"] == "transfer" && v["outcome"] == "sent"
        }),
        line_of("serve-webhook-summary", &stream, |v| v["type"] == "summary"),
    ];
    check(&got, &[]);
}

/// `stark log --json` after a short day (a batch issued and paid, its events, credits and
/// transfers recorded by reconcile): each type of entry is checked against its example.
#[test]
fn json_contract_log_lines_match_their_documented_shapes() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.at_now().run(["reconcile"]).success();
    let stream = env
        .at_now()
        .run(["log", "--json", "--limit", "1000"])
        .success()
        .stdout();
    every_line_is_of(&stream, &["batch", "event", "credit", "transfer", "run"]);
    let got = [
        line_of("log-batch", &stream, |v| {
            v["type"] == "batch" && v["status"] == "issued"
        }),
        line_of("log-event", &stream, |v| {
            v["type"] == "event" && v["verdict"] == "credit"
        }),
        line_of("log-credit", &stream, |v| {
            v["type"] == "credit" && v["status"] == "credited"
        }),
        line_of("log-transfer", &stream, |v| {
            v["type"] == "transfer" && v["status"] == "created"
        }),
        line_of("log-run", &stream, |v| {
            v["type"] == "run" && v["id"] == "reconcile"
        }),
    ];
    check(&got, &[]);
}

/// `stark webhook ensure` (created, then already registered: one shape) and `stark webhook
/// remove` (removed, then nothing to remove), each checked against its example.
#[test]
fn json_contract_webhook_documents_match_their_documented_shapes() {
    let env = Env::new(|_| {});
    let url = "http://127.0.0.1:9/hooks/stark";
    let ensure = || {
        env.at(env.t0)
            .run(["webhook", "ensure", "--url", url, "--json"])
            .success()
    };
    let created = ensure();
    assert!(
        created.stdout().contains("\"outcome\":\"created\""),
        "{}",
        created.stdout()
    );
    let again = ensure();
    assert!(
        again.stdout().contains("already_registered"),
        "{}",
        again.stdout()
    );
    let removed = env
        .at(env.t0)
        .run(["webhook", "remove", "--json"])
        .success();
    assert!(
        removed.stdout().contains("\"outcome\":\"removed\""),
        "{}",
        removed.stdout()
    );
    let none = env
        .at(env.t0)
        .run(["webhook", "remove", "--json"])
        .success();
    assert!(
        none.stdout().contains("nothing_to_remove"),
        "{}",
        none.stdout()
    );
    let got = [
        stdout_of("webhook-ensure", &created),
        stdout_of("webhook-ensure", &again),
        stdout_of("webhook-remove", &removed),
    ];
    check(&got, &[]);
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes; each is owned once.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

/// Run `stark ARGS` with its stdout closed: it must exit 0 without complaining (row 38 of the
/// trial: it used to panic with "failed printing to stdout: Broken pipe", exit 101). Prose
/// that goes to stderr anyway (the demo's progress) may stay.
fn quiet_on_a_closed_stdout(run: &Run, args: &[&str], failures: &mut Vec<String>) {
    let out = run
        .command(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaint = ["panicked", "Broken pipe", "broken pipe", "error"]
        .iter()
        .any(|w| stderr.contains(w));
    if out.status.code() != Some(0) || complaint {
        failures.push(format!(
            "`stark {}` on a closed stdout: {}, stderr: {stderr}",
            args.join(" "),
            out.status
        ));
    }
}

#[test]
fn every_command_exits_quietly_when_its_stdout_is_closed() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let mut failures = Vec::new();
    let t1 = env.t0 + Duration::minutes(1);
    let at = |t| env.at(t);
    let keys = env.dir.path().join("keys");
    let keys_json = env.dir.path().join("keys-json");
    let fresh = env.dir.path().join("fresh.sqlite3");
    let fresh_json = env.dir.path().join("fresh-json.sqlite3");
    let cases: Vec<(chrono::DateTime<chrono::Utc>, Vec<&str>)> = vec![
        (t1, vec!["init", "--ledger", path_str(&fresh)]),
        (
            t1,
            vec!["init", "--json", "--ledger", path_str(&fresh_json)],
        ),
        (t1, vec!["keygen", "--dir", path_str(&keys)]),
        (t1, vec!["keygen", "--json", "--dir", path_str(&keys_json)]),
        (t1, vec!["issue-invoices"]),
        (t1 + Duration::hours(3), vec!["issue-invoices", "--json"]),
        (t1 + Duration::hours(4), vec!["reconcile"]),
        (t1 + Duration::hours(5), vec!["reconcile", "--json"]),
        (t1 + Duration::hours(6), vec!["issue-invoices"]),
        (t1 + Duration::hours(7), vec!["transfer-credited"]),
        (t1 + Duration::hours(7), vec!["transfer-credited", "--json"]),
        (t1 + Duration::hours(7), vec!["status"]),
        (t1 + Duration::hours(7), vec!["status", "--json"]),
        (t1 + Duration::hours(7), vec!["status", "--invoices"]),
        (
            t1 + Duration::hours(7),
            vec!["status", "--invoices", "--json"],
        ),
        (t1 + Duration::hours(7), vec!["status", "--transfers"]),
        (
            t1 + Duration::hours(7),
            vec!["status", "--transfers", "--json"],
        ),
        (t1 + Duration::hours(7), vec!["doctor"]),
        (t1 + Duration::hours(7), vec!["doctor", "--json"]),
        (t1 + Duration::hours(7), vec!["completions", "bash"]),
        (t1 + Duration::hours(7), vec!["--help"]),
        (t1 + Duration::hours(7), vec!["status", "--help"]),
        (t1 + Duration::hours(7), vec!["--version"]),
    ];
    for (t, args) in &cases {
        quiet_on_a_closed_stdout(&at(*t), args, &mut failures);
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = bare(dir.path()).env("TMPDIR", dir.path());
    let demo_args = [
        "demo", "--seed", "2", "--faults", "none", "--speed", "1000000",
    ];
    quiet_on_a_closed_stdout(&demo, &demo_args, &mut failures);
    let demo_json = [&demo_args[..], &["--json"]].concat();
    quiet_on_a_closed_stdout(&demo, &demo_json, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The drift report names the key path and both types: a key retyped, one gone, one new, and
/// a list's elements compared by their first.
#[test]
fn json_contract_shape_diffs_name_the_path_and_both_types() {
    let documented = serde_json::json!({
        "a": {"errors": [{"code": "x"}], "n": 1},
        "gone": true,
        "list": [{"k": 1}],
    });
    let actual = serde_json::json!({
        "a": {"errors": "[{\"code\":\"x\"}]", "n": 1.5},
        "new": null,
        "list": [{"k": "1"}, {"k": 1}],
    });
    let mut diffs = Vec::new();
    shape_diffs("", &documented, &actual, &mut diffs);
    assert_eq!(
        diffs,
        [
            ".a.errors: documented array, actual string",
            ".a.n: documented integer, actual number",
            ".gone: documented boolean, actual missing",
            ".list[0].k: documented integer, actual string",
            ".new: documented missing, actual null",
        ]
    );
    assert!(snake_case("stale_credits") && snake_case("v2_total"));
    assert!(!snake_case("publicKey") && !snake_case("_x") && !snake_case("a__b"));
}
