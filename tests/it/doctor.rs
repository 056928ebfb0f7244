//! `stark doctor` against `stark sandbox`.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

#[test]
fn doctor_passes_against_the_sandbox() {
    let env = Env::new(|_| {});
    let out = env.cmd().run(["doctor"]).success();
    let text = stdout(&out);
    for check in [
        "project id",
        "private key",
        "authentication",
        "clock",
        "webhook key",
        "ledger",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("no {check} line in\n{text}"));
        assert!(
            line.starts_with("pass") || line.starts_with("warn"),
            "{line}"
        );
    }
    assert!(
        text.contains("environment STARK_PROJECT_ID"),
        "provenance shown: {text}"
    );
    assert!(text.contains("SHA256:"), "fingerprint shown");
    // No webhook registered yet: a warning with a fix, not a failure.
    assert!(
        text.lines()
            .any(|l| l.starts_with("warn") && l.contains("webhooks")),
        "{text}"
    );
    let v = env.cmd().run(["doctor", "--json"]).json();
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["level"] != "fail")
    );
}

#[test]
fn doctor_fails_with_a_wrong_key_and_gives_the_hint() {
    let env = Env::new(|_| {});
    let other = env.dir.path().join("other.pem");
    std::fs::write(&other, stark::keys::PrivateKey::generate().to_sec1_pem()).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env
        .cmd()
        .env("STARK_PRIVATE_KEY", &other)
        .run(["doctor"])
        .exits(1);
    let text = stdout(&out);
    let fail = text
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        fail.contains("authentication") && fail.contains("invalidCredentials"),
        "{fail}"
    );
    // The fix names the key loaded (its fingerprint) and where each value came from, and
    // does not send the reader to `stark doctor`, which is running.
    let fingerprint = stark::keys::PrivateKey::load(&other)
        .unwrap()
        .public_key()
        .fingerprint();
    let fix = text
        .lines()
        .skip_while(|l| !l.starts_with("FAIL"))
        .find(|l| l.contains("fix:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        fix.contains(&format!("the key loaded is {fingerprint}")),
        "{fix}"
    );
    assert!(fix.contains("from environment STARK_PRIVATE_KEY"), "{fix}");
    assert!(fix.contains("from environment STARK_PROJECT_ID"), "{fix}");
    assert!(!fix.contains("stark doctor"), "{fix}");
    // Any other command says the same in its hint.
    let out = env
        .cmd()
        .env("STARK_PRIVATE_KEY", &other)
        .run(["reconcile"])
        .exits(2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("hint: the key loaded is {fingerprint}")),
        "{err}"
    );
}

#[test]
fn a_misspelt_config_key_gets_a_suggestion_and_a_fix() {
    let env = Env::new(|_| {});
    let config = env.dir.path().join("config.toml");
    std::fs::write(&config, "projectid = \"1234\"\n").unwrap();
    let out = env
        .cmd()
        .env("STARK_CONFIG", &config)
        .run(["doctor"])
        .exits(1);
    let text = stdout(&out);
    assert!(
        text.contains("did you mean `project_id` instead of `projectid`?"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "fix: rename `projectid` to `project_id` in {}",
            config.display()
        )),
        "{text}"
    );
    assert!(!text.contains("named above"), "{text}");
}

#[test]
fn an_environment_that_disagrees_with_the_api_url_is_a_warning() {
    let env = Env::new(|_| {});
    let out = env
        .cmd()
        .env("STARK_ENVIRONMENT", "production")
        .run(["doctor"]);
    let text = out.stdout();
    let line = text
        .lines()
        .find(|l| l.to_lowercase().starts_with("warn") && l.contains("environment"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("disagrees with API URL"), "{line}");
    // The default environment with an override (the emulator) is no warning.
    let text = env.cmd().run(["doctor"]).stdout();
    assert!(!text.contains("disagrees"), "{text}");
}

#[test]
fn doctor_reports_missing_configuration_and_unsafe_keys() {
    let env = Env::new(|_| {});
    let out = env
        .cmd()
        .env_remove("STARK_PROJECT_ID")
        .run(["doctor"])
        .exits(1);
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("project id")),
        "{}",
        stdout(&out)
    );
    std::fs::set_permissions(&env.key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.cmd().run(["doctor"]).exits(1);
    assert!(
        stdout(&out).contains(&format!("fix: chmod 600 {}", env.key_path.display())),
        "{}",
        stdout(&out)
    );
    // Unreachable API: a failure that says so.
    std::fs::set_permissions(&env.key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env
        .cmd()
        .env("STARK_API_URL", "http://127.0.0.1:9")
        .run(["doctor"])
        .exits(1);
    assert!(stdout(&out).contains("cannot connect"), "{}", stdout(&out));
}

#[test]
fn doctor_names_stark_private_key_pem_as_the_source_and_says_which_key_wins() {
    let env = Env::new(|_| {});
    let pem = std::fs::read_to_string(&env.key_path).unwrap();
    let fingerprint = stark::keys::PrivateKey::from_pem(&pem)
        .unwrap()
        .public_key()
        .fingerprint();
    let key_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("private key"))
            .map(str::to_string)
            .collect()
    };
    // The variable alone: the source and the fingerprint, and authentication passes.
    let out = env
        .cmd()
        .env_remove("STARK_PRIVATE_KEY")
        .env("STARK_PRIVATE_KEY_PEM", &pem)
        .run(["doctor"])
        .success();
    let text = stdout(&out);
    let lines = key_lines(&text);
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("pass"), "{text}");
    assert!(
        lines[0].contains(&format!(
            "from environment STARK_PRIVATE_KEY_PEM, public key {fingerprint}"
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pass") && l.contains("authentication")),
        "{text}"
    );
    assert!(!text.contains(pem.lines().nth(1).unwrap()), "key material");
    // With STARK_PRIVATE_KEY too: the variable signs, and a warning says so.
    let text = env
        .cmd()
        .env("STARK_PRIVATE_KEY_PEM", &pem)
        .run(["doctor"])
        .success()
        .stdout();
    let warn = key_lines(&text)
        .into_iter()
        .find(|l| l.starts_with("warn"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        warn.contains(&format!(
            "STARK_PRIVATE_KEY_PEM wins over {} (from environment STARK_PRIVATE_KEY), which is not used",
            env.key_path.display()
        )),
        "{warn}"
    );
    // The flag beats the variable: doctor says that instead.
    let text = env
        .cmd()
        .env("STARK_PRIVATE_KEY_PEM", "not a key")
        .arg("--private-key")
        .arg(&env.key_path)
        .run(["doctor"])
        .success()
        .stdout();
    assert!(
        text.contains(&format!(
            "--private-key {} wins over STARK_PRIVATE_KEY_PEM, which is not used",
            env.key_path.display()
        )),
        "{text}"
    );
    // A broken variable is a failed check that names it and how to fix it.
    let text = env
        .cmd()
        .env_remove("STARK_PRIVATE_KEY")
        .env("STARK_PRIVATE_KEY_PEM", pem.replace('\n', " "))
        .run(["doctor"])
        .exits(1)
        .stdout();
    let fail = key_lines(&text)
        .into_iter()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        fail.contains("STARK_PRIVATE_KEY_PEM does not hold a usable private key"),
        "{fail}"
    );
    assert!(
        text.contains("fix: correct STARK_PRIVATE_KEY_PEM"),
        "{text}"
    );
    assert!(
        !text.contains(&pem.lines().nth(1).unwrap()[..16]),
        "key material: {text}"
    );
}
