//! Hostile input for the webhook endpoint: every case asserts the status code and that the
//! ledger did not change where it must not. The server runs in-process with a pinned key.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use stark::keys::PrivateKey;
use stark::serve::{self, Refusal, RequestOutcome, RequestRecord, ServerConfig};

struct Harness {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    key: PrivateKey,
    ledger: std::path::PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_sink(|_: &RequestRecord| {})
    }

    fn with_sink(sink: impl stark::serve::RequestSink) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        // One invoice of ours, so credits for it are "ours".
        drop(stark::ledger::Ledger::open_or_create(&ledger).unwrap());
        rusqlite::Connection::open(&ledger)
            .unwrap()
            .execute_batch(
                "INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, '2026-03-02T00:00:00Z');
                 INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
                   VALUES (1, 1, 0, 't', 'issued', 1, 1000, '2026-03-02T00:00:00Z', 'x', 'x');
                 INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
                   VALUES (1, 1, 0, 'Ana', '012.345.678-90', 1000, '100', 'created', 'x');",
            )
            .unwrap();
        let key = PrivateKey::generate();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), ledger.clone());
        cfg.webhook_key = Some(key.public_key());
        cfg.transfer = false;
        cfg.sink = std::sync::Arc::new(sink);
        cfg.header_timeout = Duration::from_millis(500);
        cfg.body_timeout = Duration::from_millis(500);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let srv = rt
            .block_on(serve::start(cfg, async move {
                let _ = rx.await;
            }))
            .unwrap();
        let addr = srv.addr;
        rt.spawn(async move { srv.wait().await });
        Harness {
            rt,
            addr,
            key,
            ledger,
            _dir: dir,
            stop: Some(tx),
        }
    }

    /// Undecodable events kept raw.
    fn kept(&self) -> i64 {
        rusqlite::Connection::open(&self.ledger)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM undecoded_events", [], |r| r.get(0))
            .unwrap()
    }

    fn counts(&self) -> (i64, i64) {
        let c = rusqlite::Connection::open(&self.ledger).unwrap();
        let e = c
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        let k = c
            .query_row("SELECT COUNT(*) FROM credits", [], |r| r.get(0))
            .unwrap();
        (e, k)
    }

    fn request(&self, method: &str, path: &str, body: Vec<u8>, signature: Option<&str>) -> u16 {
        self.rt.block_on(async {
            let c = reqwest::Client::new();
            let url = format!("http://{}{}", self.addr, path);
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = c.request(m, url).body(body);
            if let Some(s) = signature {
                req = req.header("Digital-Signature", s);
            }
            req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        })
    }

    fn post_signed(&self, body: &[u8]) -> u16 {
        let sig = self.key.sign_base64(body);
        self.request("POST", "/webhook", body.to_vec(), Some(&sig))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn credited(event_id: &str, invoice_id: &str, amount: &str, fee: &str) -> String {
    format!(
        r#"{{"event": {{"id": "{event_id}", "created": "2026-03-02T12:00:00.000000+00:00", "subscription": "invoice", "workspaceId": "1", "log": {{"id": "9{event_id}", "created": "2026-03-02T12:00:00+00:00", "type": "credited", "errors": [], "invoice": {{"id": "{invoice_id}", "amount": {amount}, "nominalAmount": 1000, "fee": {fee}, "name": "Ana", "taxId": "012.345.678-90", "status": "paid", "tags": [], "created": "2026-03-02T09:00:00+00:00"}}}}}}}}"#
    )
}

/// A high-S signature for `body` (what Stark's servers send half the time).
fn high_s(key: &PrivateKey, body: &[u8]) -> String {
    use base64::Engine;
    use k256::ecdsa::Signature;
    use k256::elliptic_curve::ops::Neg;
    let sig = Signature::from_der(&key.sign_der(body)).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = Signature::from_scalars(r, s.neg()).unwrap();
    assert!(
        flipped.normalize_s().is_some(),
        "flipped signature is high-S"
    );
    base64::engine::general_purpose::STANDARD.encode(flipped.to_der().as_bytes())
}

#[derive(Clone, Copy)]
enum Effect {
    /// Nothing recorded.
    None,
    /// One event recorded, no credit.
    Event,
    /// One event and one credit recorded.
    Credit,
    /// A verified event with an id that does not decode: kept raw (answered 200), no event,
    /// no credit.
    Kept,
}

#[test]
fn hostile_table() {
    let h = Harness::new();
    let other = PrivateKey::generate();
    let good = credited("1", "100", "1000", "10");
    let mut n = 1000;
    let mut next_id = || {
        n += 1;
        n.to_string()
    };
    type Case = (
        &'static str,
        Box<dyn Fn(&Harness, &str) -> u16>,
        u16,
        Effect,
    );
    let cases: Vec<Case> = vec![
        (
            "missing signature",
            Box::new(|h, id| {
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "1000", "10").into_bytes(),
                    None,
                )
            }),
            400,
            Effect::None,
        ),
        (
            "empty signature",
            Box::new(|h, id| {
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "1000", "10").into_bytes(),
                    Some(""),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "whitespace signature",
            Box::new(|h, id| {
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "1000", "10").into_bytes(),
                    Some("  \t "),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "garbage signature",
            Box::new(|h, id| {
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "1000", "10").into_bytes(),
                    Some("something is definitely wrong"),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "base64 that is not DER",
            Box::new(|h, id| {
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "1000", "10").into_bytes(),
                    Some("aGVsbG8gd29ybGQ="),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "truncated DER",
            Box::new(|h, id| {
                let b = credited(id, "555", "1000", "10");
                let sig = h.key.sign_base64(b.as_bytes());
                h.request(
                    "POST",
                    "/webhook",
                    b.into_bytes(),
                    Some(&sig[..sig.len() - 8]),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "signature by another key",
            Box::new(move |h, id| {
                let b = credited(id, "555", "1000", "10");
                let sig = other.sign_base64(b.as_bytes());
                h.request("POST", "/webhook", b.into_bytes(), Some(&sig))
            }),
            400,
            Effect::None,
        ),
        (
            "signature for another body",
            Box::new(|h, id| {
                let sig = h
                    .key
                    .sign_base64(credited(id, "555", "1000", "10").as_bytes());
                h.request(
                    "POST",
                    "/webhook",
                    credited(id, "555", "9000", "10").into_bytes(),
                    Some(&sig),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "a trailing newline",
            Box::new(|h, id| {
                let b = credited(id, "100", "1000", "10");
                let sig = h.key.sign_base64(b.as_bytes());
                h.request(
                    "POST",
                    "/webhook",
                    format!("{b}\n").into_bytes(),
                    Some(&sig),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "a trailing space",
            Box::new(|h, id| {
                let b = credited(id, "100", "1000", "10");
                let sig = h.key.sign_base64(b.as_bytes());
                h.request("POST", "/webhook", format!("{b} ").into_bytes(), Some(&sig))
            }),
            400,
            Effect::None,
        ),
        (
            "signature header not ASCII",
            Box::new(|h, id| {
                let b = credited(id, "100", "1000", "10");
                h.rt.block_on(async {
                    let v = reqwest::header::HeaderValue::from_bytes(b"MEUC\xff\xfe").unwrap();
                    reqwest::Client::new()
                        .post(format!("http://{}/webhook", h.addr))
                        .header("Digital-Signature", v)
                        .body(b)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            }),
            400,
            Effect::None,
        ),
        (
            "non-UTF-8 body, valid signature",
            Box::new(|h, _| h.post_signed(b"{\"event\": \"\xff\xfe\"}")),
            400,
            Effect::None,
        ),
        (
            "invalid JSON, valid signature",
            Box::new(|h, _| h.post_signed(b"{\"event\": {")),
            400,
            Effect::None,
        ),
        (
            "JSON array, valid signature",
            Box::new(|h, _| h.post_signed(b"[1, 2, 3]")),
            400,
            Effect::None,
        ),
        (
            "empty object, valid signature",
            Box::new(|h, _| h.post_signed(b"{}")),
            400,
            Effect::None,
        ),
        (
            "empty body, valid signature",
            Box::new(|h, _| h.post_signed(b"")),
            400,
            Effect::None,
        ),
        (
            "event without id",
            Box::new(|h, id| {
                h.post_signed(
                    credited(id, "100", "1000", "10")
                        .replacen(&format!("\"id\": \"{id}\", "), "", 1)
                        .as_bytes(),
                )
            }),
            400,
            Effect::None,
        ),
        (
            "event without log",
            Box::new(|h, id| {
                h.post_signed(format!(r#"{{"event": {{"id": "{id}", "created": "2026-03-02T12:00:00+00:00", "subscription": "invoice"}}}}"#).as_bytes())
            }),
            200,
            Effect::Kept,
        ),
        (
            "invoice log without invoice",
            Box::new(|h, id| {
                h.post_signed(format!(r#"{{"event": {{"id": "{id}", "created": "2026-03-02T12:00:00+00:00", "subscription": "invoice", "log": {{"id": "1", "created": "2026-03-02T12:00:00+00:00", "type": "credited"}}}}}}"#).as_bytes())
            }),
            200,
            Effect::Kept,
        ),
        (
            "amount as a string",
            Box::new(|h, id| h.post_signed(credited(id, "100", "\"1000\"", "10").as_bytes())),
            200,
            Effect::Kept,
        ),
        (
            "amount as a float",
            Box::new(|h, id| h.post_signed(credited(id, "100", "1000.5", "10").as_bytes())),
            200,
            Effect::Kept,
        ),
        (
            "amount beyond 64 bits",
            Box::new(|h, id| {
                h.post_signed(credited(id, "100", "100000000000000000000", "10").as_bytes())
            }),
            200,
            Effect::Kept,
        ),
        (
            "bad datetime",
            Box::new(|h, id| {
                h.post_signed(
                    credited(id, "555", "1000", "10")
                        .replace("2026-03-02T12:00:00.000000+00:00", "yesterday")
                        .as_bytes(),
                )
            }),
            200,
            Effect::Kept,
        ),
        (
            "deeply nested JSON",
            Box::new(|h, _| {
                let deep = format!(
                    "{{\"event\": {}{}}}",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                );
                h.post_signed(deep.as_bytes())
            }),
            400,
            Effect::None,
        ),
        (
            "10 MB body",
            Box::new(|h, _| {
                let big = vec![b' '; 10 << 20];
                let sig = h.key.sign_base64(&big);
                h.request("POST", "/webhook", big, Some(&sig))
            }),
            413,
            Effect::None,
        ),
        (
            "wrong method GET",
            Box::new(|h, _| h.request("GET", "/webhook", vec![], None)),
            405,
            Effect::None,
        ),
        (
            "wrong method PUT",
            Box::new(|h, id| {
                h.request(
                    "PUT",
                    "/webhook",
                    credited(id, "100", "1000", "10").into_bytes(),
                    None,
                )
            }),
            405,
            Effect::None,
        ),
        (
            "wrong path",
            Box::new(|h, id| {
                h.post_signed_to("/webhooks", credited(id, "100", "1000", "10").as_bytes())
            }),
            404,
            Effect::None,
        ),
        (
            "unknown subscription",
            Box::new(|h, id| {
                h.post_signed(format!(r#"{{"event": {{"id": "{id}", "created": "2026-03-02T12:00:00+00:00", "subscription": "pix-request.in", "log": {{"id": "1", "type": "created"}}}}}}"#).as_bytes())
            }),
            200,
            Effect::Event,
        ),
        (
            "unknown invoice log type",
            Box::new(|h, id| {
                h.post_signed(
                    credited(id, "100", "1000", "10")
                        .replace("\"credited\"", "\"reversed\"")
                        .as_bytes(),
                )
            }),
            200,
            Effect::Event,
        ),
        (
            "negative amount",
            Box::new(|h, id| h.post_signed(credited(id, "556", "-1000", "10").as_bytes())),
            200,
            Effect::Credit,
        ),
        (
            "huge amount (foreign)",
            Box::new(|h, id| {
                h.post_signed(credited(id, "557", "9223372036854775807", "10").as_bytes())
            }),
            200,
            Effect::Credit,
        ),
        (
            "fee greater than amount",
            Box::new(|h, id| h.post_signed(credited(id, "558", "1000", "2000").as_bytes())),
            200,
            Effect::Credit,
        ),
        (
            "event for a foreign invoice",
            Box::new(|h, id| h.post_signed(credited(id, "559", "1000", "10").as_bytes())),
            200,
            Effect::Credit,
        ),
        (
            "high-S signature",
            Box::new(|h, id| {
                let b = credited(id, "560", "1000", "10");
                let sig = high_s(&h.key, b.as_bytes());
                h.request("POST", "/webhook", b.into_bytes(), Some(&sig))
            }),
            200,
            Effect::Credit,
        ),
        (
            "signature with surrounding whitespace",
            Box::new(|h, id| {
                let b = credited(id, "561", "1000", "10");
                let sig = format!("\t {} \n", h.key.sign_base64(b.as_bytes()));
                h.request("POST", "/webhook", b.into_bytes(), Some(sig.trim_end()))
            }),
            200,
            Effect::Credit,
        ),
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for (name, case, status, effect) in &cases {
        let before = h.counts();
        let kept = h.kept();
        let id = next_id();
        let got = case(&h, &id);
        assert_eq!(got, *status, "case {name:?}");
        let after = h.counts();
        let expected = match effect {
            Effect::None | Effect::Kept => before,
            Effect::Event => (before.0 + 1, before.1),
            Effect::Credit => (before.0 + 1, before.1 + 1),
        };
        assert_eq!(after, expected, "case {name:?}: ledger (events, credits)");
        let expected_kept = kept + i64::from(matches!(effect, Effect::Kept));
        assert_eq!(h.kept(), expected_kept, "case {name:?}: kept raw");
        if matches!(effect, Effect::Kept) {
            // Delivered again: 200 again, kept once.
            assert_eq!(case(&h, &id), 200, "case {name:?} again");
            assert_eq!(h.kept(), expected_kept, "case {name:?}: kept once");
        }
    }
    // A replayed event: 200 both times, recorded once.
    let before = h.counts();
    assert_eq!(h.post_signed(good.as_bytes()), 200);
    assert_eq!(h.post_signed(good.as_bytes()), 200);
    assert_eq!(h.counts(), (before.0 + 1, before.1 + 1));
    // What was recorded for the odd credits: never transferable.
    let l = stark::ledger::Ledger::open(&h.ledger).unwrap();
    let transferable: Vec<(String, i64, u32)> = l
        .db()
        .credits_needing_transfer(3)
        .unwrap()
        .into_iter()
        .map(|c| (c.invoice_id, c.net, c.attempts))
        .collect();
    assert_eq!(
        transferable,
        vec![("100".to_string(), 990, 0)],
        "only our normal credit is transferable"
    );
}

impl Harness {
    fn post_signed_to(&self, path: &str, body: &[u8]) -> u16 {
        let sig = self.key.sign_base64(body);
        self.request("POST", path, body.to_vec(), Some(&sig))
    }
}

#[test]
fn slow_clients_cannot_hold_the_server() {
    let h = Harness::new();
    // Headers dripped slower than the header timeout: the connection is closed.
    let mut s = TcpStream::connect(h.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let _ = s.write_all(b"Digital-Signature: x\r\n");
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let _ = s.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the server closed the connection"
    );
    // A body dripped slower than the body timeout: 408.
    let mut s = TcpStream::connect(h.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nDigital-Signature: x\r\n\r\n{").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    assert!(
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Meanwhile the server still answers others.
    assert_eq!(h.request("GET", "/healthz", vec![], None), 200);
    assert_eq!(h.counts(), (0, 0));
}

/// Every request hands the sink one record: its status, what the event was (once verified
/// and parsed) and how it ended.
#[test]
fn each_request_hands_the_sink_one_record() {
    type Seen = (
        u16,
        Option<(String, String, Option<String>, Option<String>)>,
        String,
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Seen>::new()));
    let h = Harness::with_sink({
        let seen = seen.clone();
        move |r: &RequestRecord| {
            let ids = r.event.as_ref().map(|e| {
                (
                    e.event_id.clone(),
                    e.subscription.clone(),
                    e.log_type.clone(),
                    e.invoice_id.clone(),
                )
            });
            let outcome = match &r.outcome {
                RequestOutcome::Recorded { verdict, note } => {
                    format!("recorded {} {note:?}", verdict.as_str())
                }
                RequestOutcome::Refused(f) => {
                    assert_eq!(f.status(), r.status);
                    assert_eq!(f.is_retryable(), r.status >= 500);
                    let kind = match f {
                        Refusal::BodyTooLarge => "too large",
                        Refusal::BadSignature(_) => "bad signature",
                        Refusal::NotAnEvent(_) => "not an event",
                        other => panic!("unexpected {other:?}"),
                    };
                    format!("refused {kind}: {f}")
                }
            };
            seen.lock().unwrap().push((r.status, ids, outcome));
        }
    });
    let credit = credited("e1", "100", "1000", "10");
    assert_eq!(h.post_signed(credit.as_bytes()), 200);
    assert_eq!(h.post_signed(credit.as_bytes()), 200);
    assert_eq!(
        h.request("POST", "/webhook", credit.clone().into_bytes(), None),
        400
    );
    assert_eq!(h.post_signed(b"{}"), 400);
    assert_eq!(
        h.request("POST", "/webhook", vec![b' '; (1 << 20) + 1], Some("x")),
        413
    );
    assert_eq!(h.request("GET", "/healthz", vec![], None), 200);
    let ids = Some((
        "e1".to_string(),
        "invoice".to_string(),
        Some("credited".to_string()),
        Some("100".to_string()),
    ));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert_eq!(seen[0], (200, ids.clone(), "recorded credit None".into()));
    assert_eq!(seen[1], (200, ids, "recorded duplicate None".into()));
    assert_eq!(
        seen[2],
        (
            400,
            None,
            "refused bad signature: bad signature: signature is missing".into()
        ),
        "{seen:#?}"
    );
    assert_eq!(seen[3].0, 400);
    assert!(
        seen[3]
            .2
            .starts_with("refused not an event: not an event: "),
        "{seen:#?}"
    );
    assert_eq!(
        seen[4],
        (413, None, "refused too large: body too large".into())
    );
}
