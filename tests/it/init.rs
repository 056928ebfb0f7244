//! `stark init` is the one command that creates a ledger. Every other command on a missing
//! ledger exits 2, names the path and where it came from, points at `stark init`, and creates
//! nothing — no file, no directory, no campaign at the bank. The crontab's placeholder
//! project id is refused before anything is sent.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::harness::*;

/// The commands that need a ledger, as a cron line or an operator runs them (serve-webhook
/// bounded, so that a wrongly created ledger does not keep it running).
const COMMANDS: &[&[&str]] = &[
    &["issue-invoices"],
    &["transfer-credited"],
    &["reconcile"],
    &["serve-webhook", "--listen", "127.0.0.1:0", "--for", "1s"],
    &["status"],
    &["doctor"],
];

/// What a command printed, both streams (doctor reports on stdout, the others on stderr).
fn said(out: &Output) -> String {
    format!("{}{}", out.stdout(), out.stderr())
}

/// The first token a successful human `init` printed after "id ".
fn printed_id(text: &str) -> String {
    let rest = text
        .split("(id ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    rest.split(';').next().unwrap().to_string()
}

/// How many tables the PostgreSQL database at `url` has (read with `psql`).
fn tables_in(url: &Path) -> String {
    stark::testing::psql(
        path_str(url),
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
}

#[test]
fn init_creates_the_ledger_and_prints_its_path_and_id() {
    let env = Env::without_ledger(|_| {});
    if on_postgres() {
        // A fresh database without a table, and a password in the URL the init is given
        // (the trust-auth test server ignores it): what it prints is the URL without it.
        assert_eq!(tables_in(&env.ledger), "0");
        let url = path_str(&env.ledger);
        let (scheme, rest) = url.split_once("://").unwrap();
        let (user, host) = rest.split_once('@').unwrap();
        let out = env
            .cmd()
            .env(
                "STARK_LEDGER",
                format!("{scheme}://{user}:pw-0f-init@{host}"),
            )
            .run(["init"])
            .success();
        let text = out.stdout();
        assert!(text.starts_with("created ledger "), "{text}");
        assert!(
            text.contains(&format!("{scheme}://{user}:***@{host} (id ")),
            "the URL, redacted: {text}"
        );
        assert!(!text.contains("pw-0f-init"), "{text}");
        assert!(text.contains("URL from environment STARK_LEDGER"), "{text}");
        assert_eq!(printed_id(&text), env.ledger_id());
        assert_ne!(tables_in(&env.ledger), "0", "the schema was created");
    } else {
        assert!(!env.ledger.exists());
        let out = env.cmd().run(["init"]).success();
        let text = out.stdout();
        assert!(text.starts_with("created ledger "), "{text}");
        assert!(text.contains(path_str(&env.ledger)), "{text}");
        assert!(text.contains("environment STARK_LEDGER"), "{text}");
        assert_eq!(printed_id(&text), env.ledger_id());
        let mode = std::fs::metadata(&env.ledger).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "private");
    }
    // The ledger it made is one every command opens.
    env.at(env.t0 + chrono::Duration::seconds(5))
        .run(["issue-invoices"])
        .success();
    assert_eq!(env.batches_at_bank().len(), 1);
}

/// A second `init` — a setup script run again, an operator unsure — changes nothing and
/// exits 0, saying so with the same path and id; `--json` says whether it created.
#[test]
fn a_second_init_is_safe_and_never_overwrites() {
    let env = Env::without_ledger(|_| {});
    let v = env.cmd().run(["init", "--json"]).success().json();
    assert_eq!(v["created"], true, "{v}");
    assert_eq!(v["ledger"], path_str(&env.ledger));
    let id = env.ledger_id();
    assert_eq!(v["ledger_id"], id.as_str());
    env.at(env.t0 + chrono::Duration::seconds(5))
        .run(["issue-invoices"])
        .success();
    let batches = env.sql_i64("SELECT COUNT(*) FROM batches");
    assert_eq!(batches, 1);

    let out = env.cmd().run(["init"]).success();
    let text = out.stdout();
    assert!(text.starts_with("already initialised: "), "{text}");
    assert!(
        text.contains(path_str(&env.ledger)) && text.contains(&id),
        "{text}"
    );
    assert!(text.contains("nothing changed"), "{text}");
    let v = env.cmd().run(["init", "--json"]).success().json();
    assert_eq!(v["created"], false, "{v}");
    assert_eq!(v["ledger_id"], id.as_str());
    assert_eq!(env.ledger_id(), id);
    let after = env.sql_i64("SELECT COUNT(*) FROM batches");
    assert_eq!(after, batches, "the ledger's contents are kept");
}

/// `--ledger` into a directory that does not exist: `init` creates the directories; every
/// other command refuses and creates neither the file nor the directory.
#[test]
fn ledger_flag_into_a_missing_directory() {
    let env = Env::without_ledger(|_| {});
    let path = env.dir.path().join("srv/stark/ledger.sqlite3");
    let flag = ["--ledger", path_str(&path)];
    for cmd in COMMANDS {
        let out = env.at(env.t0).args(flag).run(*cmd).exits(2);
        let text = said(&out);
        assert!(
            text.contains(&format!("no ledger at {}", path.display())),
            "{cmd:?}: {text}"
        );
        assert!(text.contains("flag --ledger"), "{cmd:?}: {text}");
        assert!(
            text.contains(&format!("stark init --ledger {}", path.display())),
            "the same --ledger in the advice: {cmd:?}: {text}"
        );
        assert!(!path.exists(), "{cmd:?} created the file");
        assert!(
            !env.dir.path().join("srv").exists(),
            "{cmd:?} created the directory"
        );
    }
    let out = env.cmd().args(flag).run(["init"]).success();
    assert!(out.stdout().contains("flag --ledger"), "{}", out.stdout());
    assert!(path.is_file());
    env.at(env.t0 + chrono::Duration::seconds(5))
        .args(flag)
        .run(["issue-invoices"])
        .success();
}

/// Each way of naming the ledger — `STARK_LEDGER` (a typo in the crontab), the config file,
/// the default — is named in the refusal, and nothing is created or sent.
#[test]
fn every_command_on_a_missing_ledger_exits_2_names_the_path_and_its_source() {
    let env = Env::without_ledger(|_| {});
    // STARK_LEDGER with a typo in a directory that does not exist.
    let typo = env.dir.path().join("stark-typo/ledger.sqlite3");
    // The config file's `ledger`.
    let config = env.dir.path().join("config.toml");
    let from_file = env.dir.path().join("from-file/ledger.sqlite3");
    std::fs::write(&config, format!("ledger = {:?}\n", path_str(&from_file))).unwrap();
    // The default: <data dir>/stark/ledger.sqlite3 under the run's XDG_DATA_HOME.
    let default = env.dir.path().join("data/stark/ledger.sqlite3");
    let cases: Vec<(&str, Run, &Path, String, String)> = vec![
        (
            "environment",
            env.at(env.t0).env("STARK_LEDGER", &typo),
            &typo,
            "environment STARK_LEDGER".into(),
            format!("stark init --ledger {}", typo.display()),
        ),
        (
            "config file",
            env.at(env.t0)
                .env_remove("STARK_LEDGER")
                .env("STARK_CONFIG", &config),
            &from_file,
            format!("config file {}", config.display()),
            format!("stark init --ledger {}", from_file.display()),
        ),
        (
            "default",
            env.at(env.t0).env_remove("STARK_LEDGER"),
            &default,
            "(ledger path from default)".into(),
            "run `stark init`".into(),
        ),
    ];
    for (case, run, path, source, init) in &cases {
        for cmd in COMMANDS {
            let out = run.run(*cmd).exits(2);
            let text = said(&out);
            let what = format!("{case}, {cmd:?}");
            assert!(
                text.contains(&format!("no ledger at {}", path.display())),
                "{what}: {text}"
            );
            assert!(text.contains(source.as_str()), "{what}: {text}");
            assert!(text.contains(init.as_str()), "{what}: {text}");
            assert!(text.contains("restore it from a backup"), "{what}: {text}");
            assert!(!path.exists(), "{what}: the file was created");
            assert!(
                !path.parent().unwrap().exists(),
                "{what}: the directory was created"
            );
        }
    }
    assert!(!env.ledger.exists());
    assert!(env.truth().invoices.is_empty(), "nothing sent to the bank");
}

/// An empty file where the ledger should be (an interrupted `init`, a `touch`): refused and
/// left as it is, until `stark init` initialises it.
#[test]
fn an_empty_ledger_file_is_refused_untouched_until_init() {
    if on_postgres() {
        // An empty database is `pg_cli::pg_commands_before_init_say_the_database_has_no_ledger`.
        eprintln!("SKIP: an empty ledger file (a SQLite file)");
        return;
    }
    let env = Env::without_ledger(|_| {});
    std::fs::write(&env.ledger, b"").unwrap();
    for cmd in COMMANDS {
        let out = env.at(env.t0).run(*cmd).exits(2);
        let text = said(&out);
        assert!(
            text.contains("is an empty file, not an initialised ledger"),
            "{cmd:?}: {text}"
        );
        assert!(text.contains("stark init"), "{cmd:?}: {text}");
        assert_eq!(std::fs::read(&env.ledger).unwrap(), b"", "{cmd:?}");
    }
    let out = env.cmd().run(["init"]).success();
    assert!(
        out.stdout().starts_with("created ledger"),
        "{}",
        out.stdout()
    );
    assert_eq!(printed_id(&out.stdout()), env.ledger_id());
}

/// Several `init`s at once (a provisioning script run twice): one ledger, one id, all exit 0,
/// exactly one of them created it.
#[test]
fn concurrent_inits_make_one_ledger() {
    let env = Env::without_ledger(|_| {});
    let children: Vec<_> = (0..6)
        .map(|_| {
            env.cmd()
                .command(["init"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let id = env.ledger_id();
    let mut created = 0;
    for o in &outs {
        let text = stdout(o);
        assert!(o.status.success(), "{text}{}", stderr(o));
        assert_eq!(printed_id(&text), id, "{text}");
        created += usize::from(text.starts_with("created ledger"));
    }
    assert_eq!(created, 1);
}

/// The project id `crontab.example` ships with, pasted unchanged, is refused before anything
/// is sent, with a message naming the variable; the crontab's setup says `stark init`.
#[test]
fn the_crontab_placeholder_project_id_is_refused() {
    let crontab =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crontab.example"))
            .unwrap();
    let placeholder = crontab
        .lines()
        .find_map(|l| l.strip_prefix("STARK_PROJECT_ID="))
        .expect("the crontab sets STARK_PROJECT_ID")
        .trim()
        .to_string();
    assert!(
        crontab.contains("stark init"),
        "the setup comments say stark init"
    );
    let env = Env::new(|_| {});
    for cmd in ["issue-invoices", "reconcile", "transfer-credited", "init"] {
        let out = env
            .at(env.t0 + chrono::Duration::seconds(5))
            .env("STARK_PROJECT_ID", &placeholder)
            .run([cmd])
            .exits(2);
        let err = out.stderr();
        assert!(
            err.contains("project id") && err.contains(&placeholder),
            "{cmd}: {err}"
        );
        assert!(
            err.contains("placeholder of crontab.example"),
            "{cmd}: {err}"
        );
        assert!(err.contains("set STARK_PROJECT_ID"), "{cmd}: {err}");
    }
    let out = env
        .cmd()
        .args(["--project-id", &placeholder, "issue-invoices"])
        .run(std::iter::empty::<&str>())
        .exits(2);
    assert!(
        out.stderr().contains("set --project-id"),
        "{}",
        out.stderr()
    );
    assert!(env.truth().invoices.is_empty(), "nothing sent");
}

/// `init` writes the config file (mode 0600) with absolute paths — the ledger, the key, the
/// project id, the environment — and ends with the doctor checks; an existing config file is
/// kept unless `--force`.
#[test]
fn init_writes_a_private_config_with_absolute_paths_and_runs_doctor() {
    let env = Env::without_ledger(|_| {});
    let out = env
        .cmd()
        .env_remove("STARK_LEDGER")
        .command(["--ledger", "data/ledger.sqlite3", "init"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.starts_with("created ledger "), "{text}");
    let config = env.dir.path().join("config/stark/config.toml");
    assert!(
        text.contains(&format!("wrote {} (mode 600)", config.display())),
        "{text}"
    );
    assert_eq!(std::fs::metadata(&config).unwrap().mode() & 0o777, 0o600);
    let v: toml::Table = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let ledger = env.dir.path().join("data/ledger.sqlite3");
    assert_eq!(v["ledger"].as_str(), Some(path_str(&ledger)), "{v}");
    assert_eq!(
        v["private_key"].as_str(),
        Some(path_str(&env.key_path)),
        "{v}"
    );
    assert_eq!(v["project_id"].as_str(), Some(PROJECT), "{v}");
    assert_eq!(v["environment"].as_str(), Some("sandbox"), "{v}");
    // The doctor checks ran, with the new config file.
    assert!(text.contains("doctor:"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("pass")
            && l.contains("config file")
            && l.contains(path_str(&config))),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pass") && l.contains("private key")),
        "{text}"
    );
    // The config alone now runs a command from anywhere.
    bare(env.dir.path())
        .env("STARK_API_URL", &env.url)
        .now(env.t0 + chrono::Duration::seconds(5))
        .run(["issue-invoices"])
        .success();
    assert!(!env.truth().invoices.is_empty(), "the batch went out");

    // Kept without --force, replaced with it.
    std::fs::write(&config, "# mine\n").unwrap();
    let out = env.cmd().run(["init"]).success();
    assert!(out.stdout().contains("kept"), "{}", out.stdout());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
    let v = env
        .cmd()
        .run(["init", "--force", "--json"])
        .success()
        .json();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["config_written"], true, "{v}");
    assert!(v["checks"].as_array().is_some_and(|c| !c.is_empty()), "{v}");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("project_id")
    );
    assert_eq!(std::fs::metadata(&config).unwrap().mode() & 0o777, 0o600);
}

/// On a terminal with no project id configured, `init` asks for it and saves the answer.
#[test]
fn init_asks_for_the_project_id_on_a_terminal() {
    let env = Env::without_ledger(|_| {});
    let mut t = env
        .cmd()
        .env_remove("STARK_PROJECT_ID")
        .pty(["init"], 100, 24);
    t.expect("project id", std::time::Duration::from_secs(30));
    t.send(&format!("{PROJECT}\n"));
    assert_eq!(
        t.wait(std::time::Duration::from_secs(30)),
        0,
        "{}",
        t.output()
    );
    let config = env.dir.path().join("config/stark/config.toml");
    let v: toml::Table = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(v["project_id"].as_str(), Some(PROJECT), "{v}");
}

/// The config file `--config` or `STARK_CONFIG` names is the one `init` writes: it need not
/// exist yet (every other command still refuses a named file that is missing).
#[test]
fn init_writes_the_config_file_it_is_pointed_at_even_when_it_does_not_exist_yet() {
    let env = Env::without_ledger(|_| {});
    let named = env.dir.path().join("etc/stark.toml");
    let out = env
        .cmd()
        .run(["init", "--config", path_str(&named)])
        .success();
    assert!(
        out.stdout()
            .contains(&format!("wrote {} (mode 600)", named.display())),
        "{}",
        out.stdout()
    );
    assert_eq!(std::fs::metadata(&named).unwrap().mode() & 0o777, 0o600);
    let other = env.dir.path().join("etc/other.toml");
    env.cmd()
        .env("STARK_CONFIG", path_str(&other))
        .run(["init"])
        .success();
    assert!(other.exists());
    let out = env
        .cmd()
        .run([
            "status",
            "--config",
            path_str(&env.dir.path().join("nope.toml")),
        ])
        .exits(2);
    assert!(
        out.stderr().contains("cannot read config file"),
        "{}",
        out.stderr()
    );
}
