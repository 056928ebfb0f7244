//! Webhook ingest, end to end: the release `stark serve-webhook` on one CPU, a load generator
//! on the other, real signed `credited` events for invoices the ledger issued.
//!
//! ```sh
//! cargo bench --bench ingest
//! INGEST_N=4000 INGEST_OPEN_SECS=10 cargo bench --bench ingest   # knobs, see below
//! eval "$(tests/pg/cluster.sh start)"; cargo bench --bench ingest  # SQLite, then PostgreSQL
//! ```
//!
//! Steps 2–5 run once per backend of `STARK_BENCH_BACKEND` (`sqlite`, `postgres`, `both`: the
//! default; PostgreSQL needs `STARK_TEST_PG`, else it is skipped with a printed line), each on
//! a fresh ledger with the same requests. On PostgreSQL the bench also prints the server's
//! version and durability settings, the latency of a `SELECT 1` round trip through the
//! ledger's client, the CPU of the database processes serving the server's connections (pinned
//! to CPU 0 beside the server when pinning, as SQLite runs inside it), and, when the server
//! preloads `pg_stat_statements`, the round trips and commits per event.
//!
//! 1. Bare k256 verification of the same (pre-decoded, normalized) signatures, one thread on
//!    the server's CPU: the ceiling for a one-core server.
//! 2. `stark serve-webhook --webhook-key <pem> --no-transfer` pinned to CPU 0 on a fresh ledger
//!    (on the target directory's file system, so fsync is real) holding the invoices.
//! 3. Closed loop at each concurrency in `INGEST_LEVELS` (keep-alive HTTP/1.1 connections,
//!    `INGEST_N` distinct events per level, half of them with high-S signatures): events/s,
//!    p50/p99 latency, the server's peak RSS.
//! 4. Open loop: `INGEST_OPEN_RATE` events/s offered for `INGEST_OPEN_SECS` s; latency is
//!    measured from the scheduled send time (no coordinated omission).
//! 5. The ledger must hold exactly one event and one credit per request sent (each 200 came
//!    after its commit; the server is stopped before counting).
//!
//! Knobs (environment): `STARK_BENCH_BACKEND` (both), `INGEST_N` (2000), `INGEST_LEVELS` (1,8,32,128), `INGEST_OPEN_RATE`
//! (1000), `INGEST_OPEN_SECS` (10), `INGEST_PIN` (1: server on CPU 0, client on CPU 1),
//! `INGEST_QUIET` (0: the server prints its one line per request to stderr, into a file).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use k256::elliptic_curve::ops::Neg;
use k256::pkcs8::DecodePublicKey;
use stark::keys::PrivateKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::*;

/// One pre-built request: the whole HTTP/1.1 message, plus what bare verification needs.
struct Req {
    wire: Vec<u8>,
    body_len: usize,
    body_at: usize,
    sig: Signature,
}

fn event_body(i: usize) -> String {
    let amount = 1_000 + (i as i64 * 7919) % 99_000;
    let fee = 50;
    format!(
        concat!(
            r#"{{"event": {{"created": "2026-03-02T12:00:{s:02}.123456+00:00", "id": "ev{i}", "log": {{"created": "2026-03-02T12:00:{s:02}.100000+00:00", "errors": [], "id": "log{i}", "invoice": {{"amount": {amount}, "brcode": "00020101021226890014br.gov.bcb.pix2567brcode-h.sandbox.starkinfra.com/v2/inv{i}5204000053039865802BR5915Stark Bank S.A.6009Sao Paulo62070503***6304ABCD", "created": "2026-03-02T09:00:00.000000+00:00", "descriptions": [], "discountAmount": 0, "discounts": [], "due": "2026-03-04T09:00:00.000000+00:00", "expiration": 5097600, "fee": {fee}, "fine": 2.0, "fineAmount": 0, "id": "inv{i}", "interest": 1.0, "interestAmount": 0, "link": "https://sandbox.starkbank.com/invoicelink/inv{i}", "name": "Cliente Exemplo {i}", "nominalAmount": {amount}, "pdf": "https://sandbox.api.starkbank.com/v2/invoice/inv{i}.pdf", "status": "paid", "tags": ["stark-bench1-c1-b1"], "taxId": "{tax}", "transactionIds": ["tx{i}"], "updated": "2026-03-02T12:00:{s:02}.100000+00:00"}}, "type": "credited"}}, "subscription": "invoice", "workspaceId": "5560467233701888"}}}}"#
        ),
        i = i,
        s = i % 60,
        amount = amount,
        fee = fee,
        tax = tax_id(i),
    )
}

fn tax_id(i: usize) -> String {
    format!("{:011}", i)
}

/// Sign `body`; every other one with the high-S twin of the signature (as Stark does).
fn sign(key: &PrivateKey, body: &[u8], high: bool) -> (String, Signature) {
    let sig = Signature::from_der(&key.sign_der(body)).unwrap();
    let sent = if high {
        let (r, s) = sig.split_scalars();
        let flipped = Signature::from_scalars(r, s.neg()).unwrap();
        assert!(flipped.normalize_s().is_some());
        flipped
    } else {
        sig
    };
    let header = base64::engine::general_purpose::STANDARD.encode(sent.to_der().as_bytes());
    (header, sent.normalize_s().unwrap_or(sent))
}

fn build(key: &PrivateKey, i: usize) -> Req {
    let body = event_body(i);
    let (header, sig) = sign(key, body.as_bytes(), i % 2 == 1);
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nDigital-Signature: {header}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut wire = head.into_bytes();
    let body_at = wire.len();
    wire.extend_from_slice(body.as_bytes());
    Req {
        body_len: body.len(),
        body_at,
        wire,
        sig,
    }
}

fn prefill(ledger: &Path, n: usize) {
    let f = Fixture::create(ledger);
    f.transaction(|f| {
        f.batch(
            "INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, '2026-03-02T00:00:00Z');
             INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
               VALUES (1, 1, 0, 'stark-bench1-c1-b1', 'issued', 0, 0, '2026-03-02T00:00:00Z', 'x', 'x');",
        );
        f.insert_rows(
            "invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)",
            (0..n).map(|i| {
                let amount = 1_000 + (i as i64 * 7919) % 99_000;
                format!(
                    "(1, 1, {i}, {}, {}, {amount}, {}, 'created', '2026-03-02T00:00:00Z')",
                    lit(&format!("Cliente Exemplo {i}")),
                    lit(&tax_id(i)),
                    lit(&format!("inv{i}"))
                )
            }),
        );
    });
}

/// Send one request on a keep-alive connection and read the answer; returns the status.
async fn roundtrip(conn: &mut TcpStream, buf: &mut Vec<u8>, wire: &[u8]) -> u16 {
    conn.write_all(wire).await.expect("send");
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).expect("ascii head");
            let status: u16 = head[9..12].parse().expect("status");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk).await.expect("read");
                assert!(n > 0, "server closed the connection");
                buf.extend_from_slice(&chunk[..n]);
            }
            return status;
        }
        let n = conn.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Run {
    sent: usize,
    elapsed: Duration,
    lat: Vec<Duration>,
}

/// Closed loop: `conc` connections, each sending its next event as soon as the last answered.
async fn closed(port: u16, reqs: Arc<Vec<Req>>, range: std::ops::Range<usize>, conc: usize) -> Run {
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (next, reqs) = (next.clone(), reqs.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            conn.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(512);
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let s = Instant::now();
                let status = roundtrip(&mut conn, &mut buf, &reqs[i].wire).await;
                assert_eq!(status, 200, "event {i}");
                lat.push(s.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    Run {
        sent: range.len(),
        elapsed: t0.elapsed(),
        lat,
    }
}

/// Open loop: request k is due at t0 + k/rate; a pool of connections takes them in order.
async fn open(port: u16, reqs: Arc<Vec<Req>>, range: std::ops::Range<usize>, rate: f64) -> Run {
    let pool = 256;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut tasks = Vec::new();
    for _ in 0..pool {
        let (rx, reqs) = (rx.clone(), reqs.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            conn.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(512);
            let mut lat = Vec::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some((i, due)) = next else { break };
                let sent = Instant::now();
                let status = roundtrip(&mut conn, &mut buf, &reqs[i].wire).await;
                assert_eq!(status, 200, "event {i}");
                lat.push((due.elapsed(), sent.elapsed()));
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // connections up
    let t0 = Instant::now();
    for (k, i) in range.clone().enumerate() {
        let due = t0 + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        tx.send((i, due)).unwrap();
    }
    drop(tx);
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = t0.elapsed();
    let mut from_send: Vec<Duration> = lat.iter().map(|l| l.1).collect();
    from_send.sort();
    println!(
        "    open loop measured from the actual send (without the generator's timer slack): p50 {} p99 {}",
        ms(percentile(&from_send, 50.0)),
        ms(percentile(&from_send, 99.0))
    );
    Run {
        sent: range.len(),
        elapsed,
        lat: lat.into_iter().map(|l| l.0).collect(),
    }
}

fn report(name: &str, run: &mut Run, hwm: Option<u64>) -> f64 {
    run.lat.sort();
    let rate = run.sent as f64 / run.elapsed.as_secs_f64();
    println!(
        "{name:<22} {:>6} events in {:>7.3} s = {:>7.0} events/s | p50 {:>9} p99 {:>9} max {:>9} | server VmHWM {} KiB",
        run.sent,
        run.elapsed.as_secs_f64(),
        rate,
        ms(percentile(&run.lat, 50.0)),
        ms(percentile(&run.lat, 99.0)),
        ms(*run.lat.last().unwrap_or(&Duration::ZERO)),
        hwm.map(|k| k.to_string()).unwrap_or("?".into()),
    );
    rate
}

/// Verifications per second, one thread (on CPU 0 when pinning).
fn bare_verify(reqs: &Arc<Vec<Req>>, pem: &str, pin: bool, count: usize) -> f64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            if pin {
                pin_current(0);
            }
            let vk = VerifyingKey::from_public_key_pem(pem).unwrap();
            let count = reqs.len().min(count);
            let t = Instant::now();
            for r in &reqs[..count] {
                let body = &r.wire[r.body_at..];
                vk.verify(std::hint::black_box(body), &r.sig).unwrap();
            }
            count as f64 / t.elapsed().as_secs_f64()
        })
        .join()
        .unwrap()
    })
}

/// Latency of appending 4 KiB to a file and `fdatasync`ing it, as a WAL commit does.
fn fsync_latency(dir: &Path, n: usize) -> (Duration, Duration) {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![7u8; 4096];
    let mut lat: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f.write_all(&block).unwrap();
            f.sync_data().unwrap();
            t.elapsed()
        })
        .collect();
    drop(f);
    let _ = std::fs::remove_file(&path);
    lat.sort();
    (percentile(&lat, 50.0), percentile(&lat, 99.0))
}

fn stop(mut child: Child) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "serve-webhook exited with {status}");
}

/// What one backend's run gave, for the summary.
struct Summary {
    backend: Backend,
    /// (label, events/s, p50, p99, server CPU µs per event, database backend CPU µs per event)
    rows: Vec<(String, f64, Duration, Duration, f64, Option<f64>)>,
    best: (f64, f64),
    hwm: Option<u64>,
}

/// What every backend's run shares: the requests and the knobs.
struct Setup {
    dir: tempfile::TempDir,
    pem: std::path::PathBuf,
    pem_text: String,
    reqs: Arc<Vec<Req>>,
    n: usize,
    levels: Vec<usize>,
    open_rate: usize,
    open_n: usize,
    pin: bool,
    quiet: bool,
}

fn main() {
    let n = env_usize("INGEST_N", 2000);
    let levels: Vec<usize> = std::env::var("INGEST_LEVELS")
        .unwrap_or_else(|_| "1,8,32,128".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let open_rate = env_usize("INGEST_OPEN_RATE", 1000);
    let open_secs = env_usize("INGEST_OPEN_SECS", 10);
    let pin = env_usize("INGEST_PIN", 1) == 1 && cpus() >= 2;
    let quiet = env_usize("INGEST_QUIET", 0) == 1;
    let machine = load_line();
    let open_n = open_rate * open_secs;
    let total = n * levels.len() + open_n;

    println!("ingest bench: {machine}");
    let backends = backends("ingest");
    println!(
        "backends: {} | server pinned to CPU 0, load generator to CPU 1: {pin}; server log lines: {}",
        backends
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", "),
        if quiet {
            "off (--quiet)"
        } else {
            "on (to a file)"
        }
    );
    let dir = scratch();
    let key = PrivateKey::generate();
    let pem = dir.path().join("webhook-public.pem");
    std::fs::write(&pem, key.public_key().to_pem()).unwrap();

    let t = Instant::now();
    let reqs: Arc<Vec<Req>> = Arc::new((0..total).map(|i| build(&key, i)).collect());
    println!(
        "signed {total} events ({} bytes each on average) in {:.1} s; each backend gets a fresh ledger holding their {total} invoices",
        reqs.iter().map(|r| r.body_len).sum::<usize>() / total,
        t.elapsed().as_secs_f64()
    );

    // 1. Bare verification, single thread, on the server's CPU (repeated around each level
    //    below: the CPUs are shared, so each level is compared with the rate measured next
    //    to it).
    let pem_text = std::fs::read_to_string(&pem).unwrap();
    let verify_rate = bare_verify(&reqs, &pem_text, pin, 4000);
    println!(
        "bare k256 verify (1 thread, SHA-256 + verify): {verify_rate:.0} verifications/s ({:.1} µs each)",
        1e6 / verify_rate
    );
    let (fs50, fs99) = fsync_latency(dir.path(), 200);
    println!(
        "fsync of a 4 KiB append on the SQLite ledger's file system (200 times): p50 {} p99 {}",
        ms(fs50),
        ms(fs99)
    );

    let setup = Setup {
        dir,
        pem,
        pem_text,
        reqs,
        n,
        levels,
        open_rate,
        open_n,
        pin,
        quiet,
    };
    let summaries: Vec<Summary> = backends.iter().map(|&b| run(b, &setup)).collect();

    println!(
        "summary (events/s | p50 / p99 | server CPU per event | database server CPU per event):"
    );
    for s in &summaries {
        for (label, rate, p50, p99, cpu, db) in &s.rows {
            println!(
                "  ingest/{}/{label:<20} {rate:>7.0} events/s | {:>9} / {:>9} | {cpu:>5.0} µs{}",
                s.backend.name(),
                ms(*p50),
                ms(*p99),
                db.map(|d| format!(" | {d:>5.0} µs")).unwrap_or_default()
            );
        }
        println!(
            "  ingest/{}: best closed-loop ingest / bare verify beside it = {:.0} / {:.0} = {:.0} % (target >= 80 %) | server peak RSS {} KiB (target <= 30720)",
            s.backend.name(),
            s.best.0,
            s.best.1,
            100.0 * s.best.0 / s.best.1.max(1.0),
            s.hwm.unwrap_or(0),
        );
    }
    println!("{machine} at the start; at the end: {}", load_line());
}

/// One backend: a fresh ledger, the server on it, every level, then the ledger checked.
fn run(backend: Backend, s: &Setup) -> Summary {
    let name = backend.name();
    let total = s.reqs.len();
    println!("--- ingest/{name} ---");
    let ledger = new_ledger(backend, s.dir.path(), "ingest");
    let t = Instant::now();
    prefill(&ledger, total);
    println!(
        "{name}: ledger with {total} invoices in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let fixture = Fixture::connect(&ledger);
    let mut statements = false;
    if backend == Backend::Postgres {
        println!("{name}: {}", fixture.pg_settings());
        let (rt50, rt99) = fixture.round_trip(2000);
        println!(
            "{name}: SELECT 1 round trip over loopback through the ledger's client (2000 times): p50 {} p99 {}",
            ms(rt50),
            ms(rt99)
        );
        statements = fixture.pg_enable_statements();
        println!(
            "{name}: round trips and commits per event: {}",
            if statements {
                "counted with pg_stat_statements"
            } else {
                "not counted (the server does not preload pg_stat_statements)"
            }
        );
    }

    // 2. The server.
    let port = free_port();
    // INGEST_WRAP="perf record -g -o FILE --" runs the server under a profiler.
    let wrap: Vec<String> = std::env::var("INGEST_WRAP")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut cmd = stark(s.dir.path(), &ledger);
    if let Some((prog, args)) = wrap.split_first() {
        let mut w = Command::new(prog);
        w.args(args).arg(stark_bin()).env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                w.env(k, v);
            }
        }
        cmd = w;
    }
    if s.quiet {
        cmd.arg("--quiet");
    }
    cmd.args([
        "serve-webhook",
        "--no-transfer",
        "--webhook-key",
        s.pem.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(s.dir.path().join(format!("server-{name}.log"))).unwrap());
    if s.pin {
        pin_child(&mut cmd, 0);
        pin_current(1);
    }
    let child = cmd.spawn().expect("start stark serve-webhook");
    assert!(
        wait_http(port, "/healthz", Duration::from_secs(10)),
        "server did not come up"
    );
    let pid = child.id();
    // The database server's processes serving this server's connections: their CPU counts
    // as the ledger's, and they share the server's CPU, as SQLite does in-process.
    let db_pids = if backend == Backend::Postgres {
        let pids = fixture.pg_backend_pids();
        let pinned = s.pin && pids.iter().all(|&p| pin_pid(p, 0));
        println!(
            "{name}: {} PostgreSQL backend process(es) serve the server's connections; pinned to CPU 0 beside it: {pinned}",
            pids.len()
        );
        pids
    } else {
        Vec::new()
    };
    let db_cpu = || db_pids.iter().map(|&p| cpu_time(p)).sum::<Duration>();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut summary = Summary {
        backend,
        rows: Vec::new(),
        best: (0.0, 0.0),
        hwm: None,
    };
    let mut offset = 0;
    let n = s.n;
    let verify = |count: usize| bare_verify(&s.reqs, &s.pem_text, s.pin, count);
    let counts = |f: &Fixture| if statements { f.pg_statements() } else { None };
    for &c in &s.levels {
        let before = verify(1500);
        let (cpu0, db0, st0) = (cpu_time(pid), db_cpu(), counts(&fixture));
        let mut run = rt.block_on(closed(port, s.reqs.clone(), offset..offset + n, c));
        let (cpu, db, st1) = (cpu_time(pid) - cpu0, db_cpu() - db0, counts(&fixture));
        let after = verify(1500);
        offset += n;
        let label = format!("closed, {c} conn");
        let rate = report(&format!("{name}: {label}"), &mut run, vm_hwm_kib(pid));
        let beside = (before + after) / 2.0;
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "    bare verify beside it: {before:.0} before, {after:.0} after -> ingest / verify = {:.0} % | server CPU {:.0} µs per event ({:.0} % of one CPU; a bare verify is {:.0} µs){}",
            100.0 * rate / beside,
            per(cpu),
            100.0 * cpu.as_secs_f64() / run.elapsed.as_secs_f64(),
            1e6 / beside,
            if db_pids.is_empty() {
                String::new()
            } else {
                format!(" | PostgreSQL backend CPU {:.0} µs per event", per(db))
            }
        );
        if let (Some(a), Some(b)) = (st0, st1) {
            println!(
                "    PostgreSQL: {:.2} round trips and {:.3} commits per event ({} events per commit)",
                (b.0 - a.0) as f64 / n as f64,
                (b.1 - a.1) as f64 / n as f64,
                if b.1 > a.1 {
                    format!("{:.1}", n as f64 / (b.1 - a.1) as f64)
                } else {
                    "?".into()
                }
            );
        }
        summary.rows.push((
            label,
            rate,
            percentile(&run.lat, 50.0),
            percentile(&run.lat, 99.0),
            per(cpu),
            (!db_pids.is_empty()).then(|| per(db)),
        ));
        if rate / beside > summary.best.0 / summary.best.1.max(1.0) {
            summary.best = (rate, beside);
        }
    }
    let (cpu0, db0) = (cpu_time(pid), db_cpu());
    let mut run = rt.block_on(open(
        port,
        s.reqs.clone(),
        offset..offset + s.open_n,
        s.open_rate as f64,
    ));
    let (cpu, db) = (cpu_time(pid) - cpu0, db_cpu() - db0);
    let label = format!("open, {}/s offered", s.open_rate);
    let rate = report(&format!("{name}: {label}"), &mut run, vm_hwm_kib(pid));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / s.open_n as f64;
    summary.rows.push((
        label,
        rate,
        percentile(&run.lat, 50.0),
        percentile(&run.lat, 99.0),
        per(cpu),
        (!db_pids.is_empty()).then(|| per(db)),
    ));
    summary.hwm = vm_hwm_kib(pid);
    stop(child);

    // 5. Every 200 was a committed event and credit.
    let got = fixture.ints(
        "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM credits),
                (SELECT COUNT(*) FROM events WHERE verdict = 'credit')",
    );
    println!(
        "{name}: ledger: {} events, {} credits ({} with verdict credit) for {total} requests",
        got[0], got[1], got[2]
    );
    assert_eq!(got, vec![total as i64; 3]);
    summary
}
