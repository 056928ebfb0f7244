//! `stark sandbox` as a child process: it prints its URL first, serves the API, stops on
//! SIGTERM, and keeps its state in `--state` across restarts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stark::api::{Client, ClientConfig, Query};
use stark::keys::{PrivateKey, PublicKey};

struct Running {
    child: Child,
    url: String,
    key: PublicKey,
}

fn spawn(args: &[&str]) -> Running {
    spawn_with(args, Stdio::null())
}

/// [`spawn`], with stderr read to the end on a thread (joined after [`terminate`]).
fn spawn_logging(args: &[&str]) -> (Running, std::thread::JoinHandle<String>) {
    let mut run = spawn_with(args, Stdio::piped());
    let mut err = run.child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).unwrap();
        s
    });
    (run, reader)
}

fn spawn_with(args: &[&str], stderr: Stdio) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stark"))
        .arg("sandbox")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary runs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("STARK_API_URL=")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut pem = String::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "PEM cut short: {pem}"
        );
        pem.push_str(&line);
        if line.starts_with("-----END PUBLIC KEY-----") {
            break;
        }
    }
    Running {
        child,
        url,
        key: PublicKey::from_pem(&pem).unwrap(),
    }
}

fn terminate(mut r: Running) {
    unsafe {
        libc::kill(r.child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = r.child.kill();
            panic!("the sandbox did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn child_process_prints_its_url_serves_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(PrivateKey::generate());
    let public = dir.path().join("public-key.pem");
    std::fs::write(&public, key.public_key().to_pem()).unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--project-id",
        "31",
        "--public-key",
        public.to_str().unwrap(),
        "--speed",
        "0",
        "--start",
        "2026-03-02T12:00:00Z",
        "--state",
        state.to_str().unwrap(),
        "--fault",
        "event.list:latency=0@10",
    ];
    let run = spawn(&args);
    let client = Client::new(ClientConfig::new(&run.url, "31", key.clone())).unwrap();
    let body =
        br#"{"invoices":[{"amount":1234,"taxId":"012.345.678-90","name":"Child","tags":["cli"]}]}"#;
    let created = client.create_invoices_raw(body).await.unwrap();
    let keys = client.public_keys().await.unwrap();
    assert_eq!(PublicKey::from_pem(&keys[0].content).unwrap(), run.key);
    let first_key = run.key.clone();
    terminate(run);
    assert!(state.exists(), "state saved on SIGTERM");

    // Restart from the state file: same data, same webhook key, same clock.
    let run = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--state",
        state.to_str().unwrap(),
        "--speed",
        "0",
    ]);
    assert_eq!(run.key, first_key);
    let client = Client::new(ClientConfig::new(&run.url, "31", key.clone())).unwrap();
    let got = client.get_invoice(&created[0].id).await.unwrap();
    assert_eq!(got.amount, Some(1234));
    let list: Vec<stark::api::model::Invoice> = client
        .list_all("invoice", "invoices", Query::new().set("tags", "cli"))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let truth: serde_json::Value = serde_json::from_slice(
        &reqwest::get(format!("{}/_sandbox/truth", run.url))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(truth["invoices"].as_array().unwrap().len(), 1);
    let clock: serde_json::Value = serde_json::from_slice(
        &reqwest::get(format!("{}/_sandbox/clock", run.url))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        clock["now"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-02T12:00:00"),
        "{clock}"
    );
    terminate(run);
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        vec!["--pay-rate", "2"],
        vec!["--fault", "teapot=1"],
        vec!["--invoice-fee", "x..1%"],
        vec!["--pay-delay", "15m..5m"],
        vec!["--project-id", "1"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stark"))
            .arg("sandbox")
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        // Exit 2, whether clap or the command itself (--project-id without its key) finds it.
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
}

/// `stark sandbox <admin subcommand> --url URL ...`: (exit code, stdout, stderr).
fn admin(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stark"))
        .arg("sandbox")
        .args(args)
        .args(["--url", url])
        .env_remove("STARK_API_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_subcommands_drive_a_running_sandbox_which_logs_requests_and_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(PrivateKey::generate());
    let public = dir.path().join("public-key.pem");
    std::fs::write(&public, key.public_key().to_pem()).unwrap();
    let (run, stderr) = spawn_logging(&[
        "--listen",
        "127.0.0.1:0",
        "--project-id",
        "31",
        "--public-key",
        public.to_str().unwrap(),
        "--speed",
        "0",
        "--pay-rate",
        "0",
        "--start",
        "2026-03-02T12:00:00Z",
    ]);
    let url = run.url.clone();

    // The clock: shown, advanced, set; --json is one versioned line.
    let (code, out, _) = admin(&url, &["clock"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("2026-03-02T12:00:00"), "{out}");
    let (code, out, _) = admin(&url, &["clock", "advance", "20m"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("2026-03-02T12:20:00"), "{out}");
    let (code, out, _) = admin(&url, &["clock", "set", "2026-03-02T15:00:00Z"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("2026-03-02T15:00:00"), "{out}");
    let (code, out, _) = admin(&url, &["clock", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["version"], 1);
    assert!(
        v["now"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-02T15:00:00")
    );
    assert_eq!(admin(&url, &["clock", "advance", "soon"]).0, 2);

    // Faults: replaced, added to, cleared; a bad rule is a usage error that changes nothing.
    let (code, out, _) = admin(&url, &["fault", "503=0.5", "invoice.list:list-lag=1@60000"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (code, out, _) = admin(&url, &["fault", "--add", "429=0.1"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains("429"), "{out}");
    assert_eq!(admin(&url, &["fault", "teapot=1"]).0, 2);
    assert_eq!(admin(&url, &["fault"]).1.lines().count(), 3);
    let (code, out, _) = admin(&url, &["fault", "clear"]);
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert_eq!(admin(&url, &["fault"]).1, "");

    // Pay: a webhook (whose endpoint is down) sees the events; the invoice ends credited.
    let client = Client::new(ClientConfig::new(&url, "31", key.clone())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    client
        .create_webhook(&format!("http://127.0.0.1:{port}/webhook"), &["invoice"])
        .await
        .unwrap();
    let body =
        br#"{"invoices":[{"amount":1234,"taxId":"012.345.678-90","name":"Child","tags":["cli"]}]}"#;
    let created = client.create_invoices_raw(body).await.unwrap();
    let id = created[0].id.clone();
    let (code, out, err) = admin(&url, &["pay", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{id} ")), "{out}");
    assert!(out.contains("R$ 12,34") || out.contains("12.34"), "{out}");
    let got = client.get_invoice(&id).await.unwrap();
    assert_eq!(got.status, "paid");
    let (code, _, err) = admin(&url, &["pay", "no-such-invoice"]);
    assert_eq!(code, 1);
    assert!(err.contains("no-such-invoice"), "{err}");
    let (code, _, err) = admin(&url, &["flush"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = admin(&url, &["pay", "--all", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["invoices"],
        serde_json::json!([]),
        "nothing is left open"
    );
    // `pay --all` pays every open invoice even when its reader has gone (`| head -1`).
    let body = br#"{"invoices":[{"amount":100,"taxId":"012.345.678-90","name":"Ana"},{"amount":200,"taxId":"012.345.678-90","name":"Bia"},{"amount":300,"taxId":"012.345.678-90","name":"Caio"}]}"#;
    let three = client.create_invoices_raw(body).await.unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stark"));
    cmd.args(["sandbox", "pay", "--all", "--url", &url])
        .env_remove("STARK_API_URL");
    let out = crate::abuse::with_closed_stdout(cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for inv in &three {
        assert_eq!(
            client.get_invoice(&inv.id).await.unwrap().status,
            "paid",
            "{}",
            inv.id
        );
    }

    // GET /_sandbox/ lists the admin routes; each GET route it lists answers.
    let index: serde_json::Value = serde_json::from_slice(
        &reqwest::get(format!("{url}/_sandbox/"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    let routes = index["routes"].as_array().unwrap();
    assert!(routes.len() >= 10, "{index}");
    for r in routes {
        let path = r["path"].as_str().unwrap();
        assert!(!r["description"].as_str().unwrap().is_empty());
        if r["method"] == "GET" {
            let status = reqwest::get(format!("{url}{path}")).await.unwrap().status();
            assert_eq!(status, 200, "{path}");
        }
    }
    terminate(run);

    let log = stderr.join().unwrap();
    let has = |needle: &str| log.lines().any(|l| l.contains(needle));
    assert!(has(" GET /_sandbox/clock 200 "), "{log}");
    assert!(has(" POST /_sandbox/clock 200 "), "{log}");
    assert!(
        has(" POST /_sandbox/faults 400 ") || has(" POST /_sandbox/faults 200 "),
        "{log}"
    );
    assert!(has(" POST /v2/invoice 200 "), "{log}");
    assert!(
        has(&format!(" POST /_sandbox/invoices/{id}/pay 200 ")),
        "{log}"
    );
    let request = log
        .lines()
        .find(|l| l.contains(" GET /_sandbox/clock "))
        .unwrap();
    // One time, then the request: no second stamp and command name before it.
    assert!(request.starts_with("20"), "{request}");
    assert_eq!(request.split(' ').nth(1), Some("GET"), "{request}");
    assert!(request.ends_with("ms"), "{request}");
    let delivery = log
        .lines()
        .find(|l| l.contains(" delivery event ") && l.contains("(invoice)"))
        .unwrap_or_else(|| panic!("no delivery line: {log}"));
    assert!(
        delivery.contains(&format!("127.0.0.1:{port}/webhook: failed")),
        "{delivery}"
    );
    assert!(delivery.ends_with(", attempt 1"), "{delivery}");
}

#[test]
fn quiet_sandbox_logs_no_requests() {
    let (run, stderr) = spawn_logging(&["--listen", "127.0.0.1:0", "--speed", "0", "-q"]);
    assert_eq!(admin(&run.url, &["clock"]).0, 0);
    terminate(run);
    let log = stderr.join().unwrap();
    assert!(!log.contains("/_sandbox/clock"), "{log}");
}

#[test]
fn admin_subcommands_name_the_sandbox_they_cannot_reach() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, _, err) = admin(&url, &["clock", "advance", "20m"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("cannot reach the sandbox at {url}")),
        "{err}"
    );
}
