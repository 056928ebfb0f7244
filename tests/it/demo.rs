//! `stark demo`: the main job on the embedded default. It checks its own invariants against
//! the sandbox's ground truth and exits non-zero if any fails.

use crate::harness::{Run, bare};

fn stark(dir: &std::path::Path) -> Run {
    bare(dir).env("TMPDIR", dir)
}

#[test]
fn demo_seed_1_passes_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = stark(dir.path()).args(["demo", "--seed", "1"]).output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: PASS — 8 batches"), "{stdout}");
    assert!(
        stdout.contains("Campaign") && stdout.contains("Transfers"),
        "ends with the status tables"
    );
    assert!(
        !stderr.contains("WARN"),
        "expected faults are not shouted about: {stderr}"
    );
    // The flag's spelling, and the temporary ledger is gone once the demo ends.
    assert!(stderr.contains("faults light,"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("stark-demo-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    for line in stdout.lines().chain(stderr.lines()) {
        for noun in [
            "credits",
            "transfers",
            "batches",
            "invoices",
            "failed attempts",
        ] {
            assert!(
                !line.contains(&format!(" 1 {noun} ")) && !line.contains(&format!(" 1 {noun},")),
                "{line}"
            );
        }
    }
}

#[test]
fn demo_heavy_faults_json() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.sqlite3");
    let out = stark(dir.path())
        .args([
            "demo", "--seed", "3", "--faults", "heavy", "--speed", "1000000", "--json", "--ledger",
        ])
        .arg(&ledger)
        .output()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["audit"]["batches"], 8);
    assert!(v["audit"]["violations"].as_array().unwrap().is_empty());
    assert!(v["audit"]["transferred"].as_u64().unwrap() > 0);
    assert_eq!(
        v["audit"]["transferred"],
        v["audit"]["credited"].as_u64().unwrap()
            - v["audit"]["nothing_to_forward"].as_u64().unwrap()
    );
    // The ledger is kept where asked, and a second demo refuses to reuse it: a usage mistake
    // (the flag names a path that must not exist yet), so exit 2 like every other.
    assert!(ledger.exists());
    let again = stark(dir.path())
        .args(["demo", "--ledger"])
        .arg(&ledger)
        .output()
        .exits(2);
    assert!(String::from_utf8_lossy(&again.stderr).contains("fresh ledger"));
}

#[test]
fn demo_speed_below_1_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.sqlite3");
    for speed in ["0.5", "NaN"] {
        let out = stark(dir.path())
            .args(["demo", "--speed", speed, "--ledger"])
            .arg(&ledger)
            .output()
            .exits(2);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--speed must be at least 1"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!ledger.exists(), "nothing was started");
}
