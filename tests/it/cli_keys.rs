//! `stark keygen` and key/config errors through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::process::Command as StdCommand;

use crate::harness::{Run, bare};

fn stark(home: &std::path::Path) -> Run {
    bare(home)
}

#[test]
fn keygen_writes_files_openssl_reads_and_never_overwrites() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("keys");
    let out = stark(home.path())
        .args(["keygen", "--dir"])
        .arg(&dir)
        .output()
        .success();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(stdout.contains("-----BEGIN PUBLIC KEY-----"));
    assert!(stdout.contains("Integrations"));
    assert!(stdout.contains("STARK_PROJECT_ID"));
    let private = dir.join("private-key.pem");
    let public = dir.join("public-key.pem");
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let private_text = std::fs::read_to_string(&private).unwrap();
    assert!(private_text.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(
        !stdout.contains(private_text.lines().nth(1).unwrap()),
        "the secret is never printed"
    );
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    if which("openssl") {
        let ec = StdCommand::new("openssl")
            .args(["ec", "-noout", "-text", "-in"])
            .arg(&private)
            .output()
            .unwrap();
        assert!(
            ec.status.success(),
            "{}",
            String::from_utf8_lossy(&ec.stderr)
        );
        assert!(String::from_utf8_lossy(&ec.stdout).contains("secp256k1"));
        let pk = StdCommand::new("openssl")
            .args(["pkey", "-pubin", "-noout", "-in"])
            .arg(&public)
            .output()
            .unwrap();
        assert!(
            pk.status.success(),
            "{}",
            String::from_utf8_lossy(&pk.stderr)
        );
        // openssl derives the same public key from the private file.
        let derived = StdCommand::new("openssl")
            .args(["ec", "-pubout", "-in"])
            .arg(&private)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&derived.stdout),
            std::fs::read_to_string(&public).unwrap()
        );
    }

    let before = std::fs::read(&private).unwrap();
    let out = stark(home.path())
        .args(["keygen", "--dir"])
        .arg(&dir)
        .output()
        .failure();
    assert!(
        out.stderr().contains("already exists") && out.stderr().contains("--force"),
        "{}",
        out.stderr()
    );
    assert_eq!(std::fs::read(&private).unwrap(), before, "not overwritten");
    stark(home.path())
        .args(["keygen", "--force", "--dir"])
        .arg(&dir)
        .output()
        .success();
    assert_ne!(std::fs::read(&private).unwrap(), before);
}

#[test]
fn keygen_defaults_to_the_config_directory_and_json() {
    let home = tempfile::tempdir().unwrap();
    let out = stark(home.path())
        .args(["keygen", "--json"])
        .output()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = home.path().join("config/stark/private-key.pem");
    assert_eq!(
        v["private_key"].as_str().unwrap(),
        expected.to_str().unwrap()
    );
    assert!(expected.exists());
    assert!(v["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
}

fn which(bin: &str) -> bool {
    StdCommand::new(bin).arg("version").output().is_ok()
}

/// Trial row 1: the key `keygen` wrote to its default place is found there by every command
/// (here `doctor`) with nothing configured.
#[test]
fn the_key_keygen_wrote_by_default_is_found_without_configuration() {
    let home = tempfile::tempdir().unwrap();
    stark(home.path()).args(["keygen"]).output().success();
    let key = home.path().join("config/stark/private-key.pem");
    let out = stark(home.path()).args(["doctor"]).output();
    let text = out.stdout();
    let line = text
        .lines()
        .find(|l| l.contains("private key"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("pass"), "{text}");
    assert!(
        line.contains(key.to_str().unwrap()) && line.contains("(default)"),
        "{text}"
    );
}

/// Trial row 2: keygen's next steps name the key by its absolute path (cron runs elsewhere),
/// and offer `stark init` to save the setup in config.toml.
#[test]
fn keygen_next_steps_print_absolute_paths() {
    let home = tempfile::tempdir().unwrap();
    let out = stark(home.path())
        .command(["keygen", "--dir", "./keys"])
        .current_dir(home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let abs = home.path().join("keys/private-key.pem");
    assert!(
        text.contains(&format!("export STARK_PRIVATE_KEY={}", abs.display())),
        "{text}"
    );
    assert!(text.contains(&format!("Wrote {}", abs.display())), "{text}");
    assert!(!text.contains("./keys"), "{text}");
    // `stark init` is one step (it creates the ledger and ends with the doctor checks).
    assert!(!text.contains("  3. "), "{text}");
    assert!(
        text.contains(&format!(
            "stark init --project-id <project id> --private-key {}",
            abs.display()
        )),
        "{text}"
    );
}
