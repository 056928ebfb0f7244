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
