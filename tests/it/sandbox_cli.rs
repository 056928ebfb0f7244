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
    let mut child = Command::new(env!("CARGO_BIN_EXE_stark"))
        .arg("sandbox")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
