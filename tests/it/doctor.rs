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
    assert!(
        text.contains("check STARK_PROJECT_ID and that the public key registered"),
        "{text}"
    );
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
