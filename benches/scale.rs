//! The money path at scale, against the release `stark sandbox` in its own process.
//!
//! ```sh
//! cargo bench --bench scale            # SCALE_EVENTS=100000 by default
//! eval "$(tests/pg/cluster.sh start)"; cargo bench --bench scale   # SQLite, then PostgreSQL
//! ```
//!
//! Each step runs on every backend of `STARK_BENCH_BACKEND` (`sqlite`, `postgres`, `both`:
//! the default; PostgreSQL needs `STARK_TEST_PG`, else it is skipped with a printed line), each
//! with its own sandbox and fresh ledgers (a new database per ledger on PostgreSQL).
//!
//! 1. `POST /_sandbox/generate` makes `SCALE_EVENTS / 3` credited invoices (3 events each:
//!    created, paid, credited), all undelivered.
//! 2. `stark reconcile --no-transfer`, on a ledger that holds those invoices as its own (the
//!    sweep marks delivered only the events that concern the ledger), sweeps them: pages of
//!    100 events, each page applied in one
//!    transaction, then every event PATCHed delivered (16 in flight), the marks committed
//!    per page. Wall time and peak RSS (`wait4`) of the reconcile process; afterwards the
//!    sandbox must have no undelivered event and the ledger every event.
//! 3. `stark transfer-credited` with 1,000 credits waiting: wall time and create requests.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;
use stark::keys::PrivateKey;

const PROJECT: &str = "5656565656565656";

fn api_cmd(dir: &Path, ledger: &Path, key: &Path, url: &str) -> Command {
    let mut c = stark(dir, ledger);
    c.env("STARK_API_URL", url)
        .env("STARK_PROJECT_ID", PROJECT)
        .env("STARK_PRIVATE_KEY", key);
    c
}

fn main() {
    let want_events = env_usize("SCALE_EVENTS", 100_000);
    let machine = load_line();
    println!("scale bench: {machine}");
    let backends = backends("scale");
    let dir = scratch();
    let key = PrivateKey::generate();
    let key_path = dir.path().join("private-key.pem");
    std::fs::write(&key_path, key.to_sec1_pem()).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pub_path = dir.path().join("public-key.pem");
    std::fs::write(&pub_path, key.public_key().to_pem()).unwrap();

    let mut summary = Vec::new();
    for backend in backends {
        summary.push(run(backend, dir.path(), &key_path, &pub_path, want_events));
    }
    println!("summary:");
    for line in summary {
        println!("  {line}");
    }
    println!("{machine} at the start; at the end: {}", load_line());
}

/// A fresh sandbox, then reconcile and transfer-credited on fresh ledgers of `backend`; the
/// summary lines.
fn run(backend: Backend, dir: &Path, key_path: &Path, pub_path: &Path, want: usize) -> String {
    let name = backend.name();
    println!("--- scale/{name} ---");
    let mut sandbox = stark(dir, &dir.join("unused.sqlite3"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--project-id",
            PROJECT,
            "--public-key",
            pub_path.to_str().unwrap(),
            "--speed",
            "0",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start stark sandbox");
    let mut lines = BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("STARK_API_URL=")
        .expect("sandbox prints its URL first")
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let sb_pid = sandbox.id();

    // 1. The events.
    let invoices = want.div_ceil(3);
    let t = std::time::Instant::now();
    let (status, body) = http(
        port,
        "POST",
        "/_sandbox/generate",
        &format!(r#"{{"invoices": {invoices}, "credited": true, "tags": ["stark-scale-c1-b1"]}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let events = v["events"].as_u64().unwrap();
    println!(
        "{name}: sandbox generated {invoices} credited invoices = {events} undelivered events in {:.2} s (sandbox VmHWM {} KiB)",
        t.elapsed().as_secs_f64(),
        vm_hwm_kib(sb_pid).unwrap_or(0)
    );

    // 2. reconcile. The invoices are this ledger's (reconcile marks delivered only the events
    // that concern it); `--no-transfer` keeps this step the sweep alone.
    let ledger = new_ledger(backend, dir, "reconcile");
    let t = std::time::Instant::now();
    let fixture = seed_ours(&ledger, &v, false);
    println!(
        "{name}: ledger with the {invoices} invoices in {:.1} s",
        t.elapsed().as_secs_f64()
    );
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
    }
    let st0 = statements.then(|| fixture.pg_statements()).flatten();
    let m = measure(api_cmd(dir, &ledger, key_path, &url).args([
        "--json",
        "reconcile",
        "--no-transfer",
    ]));
    assert!(m.ok, "reconcile failed: {}\n{}", m.stdout, m.stderr);
    let st1 = statements.then(|| fixture.pg_statements()).flatten();
    let report: Value = serde_json::from_str(&m.stdout).unwrap();
    let reconcile = format!(
        "scale/{name}: reconcile: {} events seen, {} applied, {} marked delivered in {:.2} s = {:.0} events/s | peak RSS {} KiB (target: <= 30 s, bounded memory)",
        report["events_seen"],
        report["events_applied"],
        report["events_marked"],
        m.wall.as_secs_f64(),
        events as f64 / m.wall.as_secs_f64(),
        m.max_rss_kib
    );
    println!("{reconcile}");
    if let (Some(a), Some(b)) = (st0, st1) {
        println!(
            "    PostgreSQL: {} round trips ({:.2} per event), {} commits",
            b.0 - a.0,
            (b.0 - a.0) as f64 / events as f64,
            b.1 - a.1
        );
    }
    assert_eq!(report["events_marked"].as_u64(), Some(events), "{report}");
    let (_, truth) = http(port, "GET", "/_sandbox/truth", "");
    let truth: Value = serde_json::from_str(&truth).unwrap();
    assert_eq!(truth["undelivered_events"], 0);
    let in_ledger =
        fixture.ints("SELECT COUNT(*) FROM events WHERE marked_delivered_at IS NOT NULL")[0];
    assert_eq!(in_ledger as u64, events);
    println!(
        "{name}: sandbox VmHWM after the sweep: {} KiB",
        vm_hwm_kib(sb_pid).unwrap_or(0)
    );

    // 3. transfer-credited with 1,000 credits waiting.
    let (status, body) = http(
        port,
        "POST",
        "/_sandbox/generate",
        r#"{"invoices": 1000, "credited": true, "amount": 10000, "tags": ["stark-scale-c1-b1"]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let ledger2 = new_ledger(backend, dir, "transfers");
    drop(seed_ours(&ledger2, &v, true));
    let m = measure(api_cmd(dir, &ledger2, key_path, &url).args(["--json", "transfer-credited"]));
    assert!(m.ok, "transfer-credited failed: {}\n{}", m.stdout, m.stderr);
    let report: Value = serde_json::from_str(&m.stdout).unwrap();
    let transfers = format!(
        "scale/{name}: transfer-credited: {} claimed, {} sent in {} create requests in {:.2} s | peak RSS {} KiB (target: <= 10 requests)",
        report["claimed"],
        report["sent"],
        report["requests"],
        m.wall.as_secs_f64(),
        m.max_rss_kib
    );
    println!("{transfers}");
    assert_eq!(report["sent"], 1000);
    assert!(report["requests"].as_u64().unwrap() <= 10);

    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(sb_pid as i32, libc::SIGTERM);
    }
    let _ = sandbox.wait();
    format!("{reconcile}\n  {transfers}")
}

/// A ledger whose one issued batch (`stark-scale-c1-b1`) holds the invoices a `generate` call
/// made (`v["invoices"]`), with their credits when `credited`; the fixture connection to it.
fn seed_ours(ledger: &Path, v: &Value, credited: bool) -> Fixture {
    let f = Fixture::create(ledger);
    let invoices = v["invoices"].as_array().unwrap();
    let field = |inv: &Value, k: &str| inv[k].as_i64().unwrap();
    f.transaction(|f| {
        f.batch("INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 8, 12, 1000, 100000, '2026-03-02T00:00:00Z')");
        f.execute(
            "INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
               VALUES (1, 1, 0, 'stark-scale-c1-b1', 'issued', ?1, 0, '2026-03-02T00:00:00Z', 'x', 'x')",
            &[&(invoices.len() as i64) as &dyn stark::ledger::ToSql],
        );
        f.insert_rows(
            "invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)",
            invoices.iter().enumerate().map(|(i, inv)| {
                format!(
                    "(1, 1, {i}, 'Cliente', {}, {}, {}, 'paid', 'x')",
                    lit(&format!("{i:011}")),
                    field(inv, "amount"),
                    lit(inv["id"].as_str().unwrap())
                )
            }),
        );
        if credited {
            f.insert_rows(
                "credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source)",
                invoices.iter().map(|inv| {
                    let (amount, fee) = (field(inv, "amount"), field(inv, "fee"));
                    format!(
                        "({}, 'log', {amount}, {fee}, {}, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', 'sweep')",
                        lit(inv["id"].as_str().unwrap()),
                        amount - fee
                    )
                }),
            );
        }
    });
    f
}
