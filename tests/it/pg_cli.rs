//! Every command on a PostgreSQL ledger (`--ledger` / `STARK_LEDGER` = `postgres://…`): `init`
//! creates the schema in an empty database once and refuses another application's, `doctor`
//! checks the database, `status`, `log`, `issue-invoices` and `reconcile --dry-run` work on it,
//! an unreachable server is a clear error, and a password given in the URL appears in no output
//! and in no file. Each test gets a fresh database from `STARK_TEST_PG` (SKIP without it).

use std::path::PathBuf;

use chrono::Duration;

use crate::harness::*;

const SECRET: &str = "s3cr3t-Pa55";

/// A sandbox environment whose ledger is a fresh, empty PostgreSQL database (not initialised).
fn pg_env(label: &str) -> Option<Env> {
    let url = stark::testing::pg_test_database(label)?;
    let mut env = Env::without_ledger(|c| c.pay_rate = 1.0);
    env.ledger = PathBuf::from(url);
    Some(env)
}

fn url(env: &Env) -> String {
    env.ledger.to_str().unwrap().to_string()
}

/// The test database's URL with a password in it (the trust-auth test server ignores it).
fn with_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    format!("{scheme}://{user}:{SECRET}@{host}")
}

/// The URL with its port replaced by one nothing listens on.
fn closed_port(url: &str) -> String {
    let port = free_port();
    let (head, tail) = url.rsplit_once(':').unwrap();
    let (_, path) = tail.split_once('/').unwrap();
    format!("{head}:{port}/{path}")
}

fn psql(env: &Env, sql: &str) -> String {
    stark::testing::psql(&url(env), sql)
}

fn config_file(env: &Env) -> PathBuf {
    env.dir.path().join("config/stark/config.toml")
}

#[test]
fn pg_init_creates_the_schema_in_an_empty_database_and_a_second_init_changes_nothing() {
    let Some(env) = pg_env("pg_init_creates_the_schema") else {
        return;
    };
    let first = env.cmd().run(["init", "--json"]).success().json();
    assert_eq!(first["created"], true, "{first}");
    let id = first["ledger_id"].as_str().unwrap().to_string();
    assert_eq!(
        psql(&env, "SELECT version FROM stark_schema_version"),
        stark::ledger::MIGRATIONS.len().to_string()
    );
    assert_eq!(
        psql(&env, "SELECT value FROM meta WHERE key = 'ledger_id'"),
        id
    );
    let checks = first["checks"].as_array().unwrap();
    let ledger = checks.iter().find(|c| c["name"] == "ledger").unwrap();
    assert_eq!(ledger["level"], "pass", "{first}");

    let second = env.cmd().run(["init"]).success();
    let text = second.stdout();
    assert!(
        text.contains("already initialised: postgres://") && text.contains(&id),
        "{text}"
    );
    assert_eq!(
        psql(&env, "SELECT count(*) FROM meta WHERE key = 'ledger_id'"),
        "1"
    );
    // The config file names the database (a URL, not a path made absolute).
    let config = std::fs::read_to_string(config_file(&env)).unwrap();
    let written: toml::Table = toml::from_str(&config).unwrap();
    let ledger = written["ledger"].as_str().unwrap();
    assert!(ledger.starts_with("postgres://"), "{config}");
    // And every command finds the ledger through it alone.
    env.cmd()
        .env_remove("STARK_LEDGER")
        .run(["status"])
        .success();
}

#[test]
fn pg_init_refuses_another_applications_database() {
    let Some(env) = pg_env("pg_init_refuses_another_applications_database") else {
        return;
    };
    psql(&env, "CREATE TABLE orders (id BIGINT PRIMARY KEY)");
    let out = env.cmd().run(["init"]).failure();
    let err = out.stderr();
    assert!(
        err.contains("another application's database") && err.contains("orders"),
        "{err}"
    );
    assert!(
        !err.contains("empty file") && !err.contains("backup"),
        "{err}"
    );
    assert_eq!(
        psql(
            &env,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ),
        "1",
        "nothing added to it"
    );
}

#[test]
fn pg_commands_before_init_say_the_database_has_no_ledger() {
    let Some(env) = pg_env("pg_commands_before_init") else {
        return;
    };
    for cmd in ["status", "log", "issue-invoices", "reconcile"] {
        let out = env.at(env.t0).run([cmd]).exits(2);
        let err = out.stderr();
        assert!(
            err.contains("has no stark ledger")
                && err.contains("run `stark init --ledger 'postgres://"),
            "{cmd}: {err}"
        );
        assert!(
            !err.contains("empty file") && !err.contains("backup"),
            "{cmd}: file advice for a database: {err}"
        );
    }
    let doctor = env.cmd().run(["doctor", "--json"]).exits(2).json();
    let ledger = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ledger")
        .unwrap()
        .clone();
    assert_eq!(ledger["level"], "fail", "{doctor}");
    assert!(
        ledger["detail"]
            .as_str()
            .unwrap()
            .contains("has no stark ledger"),
        "{doctor}"
    );
    // Nothing was created by any of them.
    assert_eq!(
        psql(
            &env,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ),
        "0"
    );
}

#[test]
fn pg_doctor_checks_the_connection_schema_durability_and_write_lock() {
    let Some(env) = pg_env("pg_doctor_checks_the_database") else {
        return;
    };
    env.cmd().run(["init"]).success();
    let out = env.cmd().run(["doctor", "--json"]).success().json();
    let checks = out["checks"].as_array().unwrap();
    let level = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {out}"))
            .clone()
    };
    for name in ["ledger", "ledger schema", "durability", "write lock"] {
        assert_eq!(level(name)["level"], "pass", "{name}: {out}");
    }
    let ledger = level("ledger")["detail"].as_str().unwrap().to_string();
    let target = stark::ledger::pg::url::PgTarget::parse(&url(&env)).unwrap();
    assert!(
        ledger.contains("PostgreSQL 1")
            && ledger.contains(&format!("{}:{}", target.host(), target.port()))
            && ledger.contains(&format!("database {}", target.dbname()))
            && ledger.contains("no TLS, sslmode=disable"),
        "{ledger}"
    );
    assert!(
        level("durability")["detail"]
            .as_str()
            .unwrap()
            .contains("synchronous_commit is on"),
        "{out}"
    );

    // The wrong port: one FAIL line that says what to check; exit 1.
    let bad = env
        .cmd()
        .env("STARK_LEDGER", closed_port(&url(&env)))
        .run(["doctor"])
        .exits(1);
    let text = bad.stdout();
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL") && l.contains("ledger"))
        .unwrap_or_else(|| panic!("no ledger FAIL line:\n{text}"));
    assert!(line.contains("cannot be reached"), "{text}");
    assert!(text.contains("fix: check the host and port"), "{text}");
    assert!(
        !text.contains("ledger schema"),
        "no further ledger checks: {text}"
    );

    // A database that does not exist: the fix says to create it.
    let missing = url(&env).replace("/stark_t_", "/nosuch_");
    let bad = env
        .cmd()
        .env("STARK_LEDGER", &missing)
        .run(["doctor"])
        .exits(1);
    assert!(
        bad.stdout().contains("fix: create the database"),
        "{}",
        bad.stdout()
    );
}

#[test]
fn pg_a_password_in_the_url_appears_in_no_output_and_no_file() {
    let Some(env) = pg_env("pg_a_password_in_the_url_appears_nowhere") else {
        return;
    };
    let secret_url = with_password(&url(&env));
    let run = || env.at(env.t0).env("STARK_LEDGER", &secret_url);
    let mut outputs = Vec::new();
    let init = run().run(["init"]).success();
    assert!(
        init.stderr().contains("without its password") && init.stderr().contains("PGPASSWORD"),
        "{}",
        init.stderr()
    );
    outputs.push(init);
    outputs.push(run().run(["init", "--json"]).success());
    outputs.push(run().run(["doctor"]).success());
    outputs.push(run().run(["doctor", "--json"]).success());
    outputs.push(run().run(["-v", "issue-invoices"]).success());
    outputs.push(run().run(["issue-invoices", "--json"]).success());
    outputs.push(run().run(["status"]).success());
    outputs.push(run().run(["status", "--json"]).success());
    outputs.push(run().run(["log", "--json"]).success());
    outputs.push(run().run(["-vv", "reconcile", "--dry-run"]).success());
    // Errors: an unreachable server, a refused database, a URL that does not parse.
    outputs.push(
        env.cmd()
            .env("STARK_LEDGER", closed_port(&secret_url))
            .run(["status"])
            .failure(),
    );
    outputs.push(
        env.cmd()
            .env("STARK_LEDGER", secret_url.replace("/stark_t_", "/nosuch_"))
            .run(["--json", "status"])
            .exits(2),
    );
    outputs.push(
        env.cmd()
            .env(
                "STARK_LEDGER",
                secret_url.replace("@127.0.0.1:", "@127.0.0.1:99999"),
            )
            .run(["issue-invoices"])
            .exits(2),
    );
    for out in &outputs {
        assert!(!out.stdout().contains(SECRET), "stdout: {}", out.stdout());
        assert!(!out.stderr().contains(SECRET), "stderr: {}", out.stderr());
    }
    let config = std::fs::read_to_string(config_file(&env)).unwrap();
    assert!(!config.contains(SECRET), "{config}");
    assert!(config.contains("ledger = \"postgres://stark@"), "{config}");
}

#[test]
fn pg_status_and_log_show_a_tick_against_the_sandbox() {
    let Some(env) = pg_env("pg_status_and_log_show_a_tick") else {
        return;
    };
    env.cmd().run(["init"]).success();
    tick(&env, env.t0).success();
    let issued = env.truth().invoices.len();
    assert!(issued > 0);
    assert_eq!(
        psql(&env, "SELECT count(*) FROM invoices"),
        issued.to_string()
    );
    let status = env.at_now().run(["status", "--json"]).success().json();
    assert_eq!(status["version"], 1, "{status}");
    let text = env.at_now().run(["status"]).success().stdout();
    assert!(text.contains("Campaign"), "{text}");
    let log = env.at_now().run(["log", "--json"]).success().stdout();
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["type"] == "batch" && e["status"] == "issued"),
        "{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["type"] == "run" && e["id"] == "issue-invoices"),
        "{log}"
    );
}

#[test]
fn pg_reconcile_dry_run_leaves_the_database_unchanged() {
    let Some(env) = pg_env("pg_reconcile_dry_run_leaves_the_database_unchanged") else {
        return;
    };
    env.cmd().run(["init"]).success();
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    let counts = || {
        psql(
            &env,
            "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM credits) || ' ' \
             || (SELECT count(*) FROM transfers) || ' ' || (SELECT count(*) FROM runs) || ' ' \
             || (SELECT count(*) FROM invoices WHERE status <> 'created')",
        )
    };
    let before = counts();
    let dry = env
        .at_now()
        .run(["reconcile", "--dry-run", "--json"])
        .success()
        .json();
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(counts(), before, "the dry run wrote to the database: {dry}");
    // No temporary copy was made beside a path derived from the URL.
    assert!(!std::path::Path::new("postgres:").exists());
    // The real run has something to record: the dry run could have changed the database.
    env.at_now().run(["reconcile"]).success();
    assert_ne!(counts(), before);
}

#[test]
fn pg_an_unreachable_server_is_a_clear_error() {
    let Some(env) = pg_env("pg_an_unreachable_server_is_a_clear_error") else {
        return;
    };
    let closed = closed_port(&url(&env));
    for cmd in ["status", "issue-invoices"] {
        let out = env
            .at(env.t0)
            .env("STARK_LEDGER", &closed)
            .run([cmd])
            .exits(1);
        let err = out.stderr();
        assert!(
            err.contains("does not answer")
                && err.contains("check the host and port")
                && err.contains("environment STARK_LEDGER"),
            "{cmd}: {err}"
        );
        assert!(
            !err.contains("stark init"),
            "{cmd}: not a missing ledger: {err}"
        );
    }
    let json = env
        .cmd()
        .env("STARK_LEDGER", &closed)
        .run(["status", "--json"])
        .exits(1);
    let v: serde_json::Value = serde_json::from_str(json.stderr().trim()).unwrap();
    assert_eq!(v["error"]["kind"], "failure", "{v}");
}

#[test]
fn pg_serve_webhook_records_credits_and_transfers_them_in_the_database() {
    let Some(mut env) = pg_env("pg_serve_webhook_records_credits") else {
        return;
    };
    env.ledger = PathBuf::from(with_password(&url(&env)));
    env.cmd().run(["init"]).success();
    let server = serve(&env, &[]);
    tick(&env, env.t0).success();
    let issued = env.truth().invoices.len();
    assert!(issued > 0);
    env.advance(Duration::hours(1));
    env.flush();
    let count = |sql: &str| psql(&env, sql).parse::<usize>().unwrap();
    assert!(
        wait_until(std::time::Duration::from_secs(30), || count(
            "SELECT count(*) FROM credits"
        ) == issued),
        "credits recorded: {} of {issued}",
        count("SELECT count(*) FROM credits")
    );
    assert!(
        wait_until(std::time::Duration::from_secs(30), || count(
            "SELECT count(*) FROM transfers"
        ) >= issued),
        "transfers: {}",
        count("SELECT count(*) FROM transfers")
    );
    let health = get(server.port, "/healthz");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "/healthz reads the database: {health}"
    );
}

/// `GET path` on 127.0.0.1:`port`: the whole answer.
fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn pg_webhook_ensure_and_remove_and_transfer_credited_work_on_the_database() {
    let Some(env) = pg_env("pg_webhook_ensure_and_remove") else {
        return;
    };
    env.cmd().run(["init"]).success();
    let hooks_at_bank = || {
        env.rt
            .block_on(env.other_client().list_webhooks())
            .unwrap()
            .len()
    };
    let url = "https://stark.example.com/webhook";
    let first = env
        .cmd()
        .run(["webhook", "ensure", "--url", url, "--json"])
        .success()
        .json();
    assert_eq!(first["outcome"], "created", "{first}");
    let again = env
        .cmd()
        .run(["webhook", "ensure", "--url", url, "--json"])
        .success()
        .json();
    assert_eq!(again["outcome"], "already_registered", "{again}");
    assert_eq!(hooks_at_bank(), 1);
    assert_eq!(
        psql(
            &env,
            "SELECT count(*) FROM webhooks WHERE deleted_at IS NULL"
        ),
        "1"
    );
    let removed = env.cmd().run(["webhook", "remove"]).success().stdout();
    assert!(removed.contains("deleted webhook"), "{removed}");
    assert_eq!(hooks_at_bank(), 0);
    assert_eq!(
        psql(
            &env,
            "SELECT count(*) FROM webhooks WHERE deleted_at IS NULL"
        ),
        "0"
    );

    // The money path without a webhook: reconcile records the credits (no transfers), then
    // transfer-credited forwards each once.
    tick(&env, env.t0).success();
    let issued = env.truth().invoices.len();
    env.advance(Duration::hours(1));
    env.at_now().run(["reconcile", "--no-transfer"]).success();
    assert_eq!(
        psql(&env, "SELECT count(*) FROM credits"),
        issued.to_string()
    );
    assert_eq!(psql(&env, "SELECT count(*) FROM transfers"), "0");
    env.at_now().run(["transfer-credited"]).success();
    env.at_now().run(["transfer-credited"]).success();
    assert_eq!(
        psql(&env, "SELECT count(DISTINCT invoice_id) FROM transfers"),
        issued.to_string()
    );
    assert_eq!(env.truth().transfers.len(), issued, "each credit paid once");
}
