//! The official Python SDK (`starkbank` from PyPI) against the sandbox, host rewritten and
//! nothing else: `tests/sdk/conformance.py` makes every call the SDK offers for the emulated
//! resources. The interpreter is `STARK_SDK_PYTHON`, else `.venv-sdk/bin/python` in the repo
//! (`.ci/run` creates it). Without it the test prints SKIP and passes, except under `CI=true`,
//! where it fails.

use std::path::PathBuf;
use std::process::Command;

use stark::keys::PrivateKey;
use stark::sandbox::{self, SandboxConfig};

use crate::harness::PROJECT;

fn sdk_python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidate = match std::env::var_os("STARK_SDK_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root.join(".venv-sdk/bin/python"),
    };
    candidate.is_file().then_some(candidate)
}

#[test]
fn the_official_python_sdk_gets_real_api_answers() {
    let Some(python) = sdk_python() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "the official Python SDK is missing: set STARK_SDK_PYTHON or create .venv-sdk (.ci/run does)"
        );
        eprintln!(
            "SKIP the_official_python_sdk_gets_real_api_answers: no SDK interpreter (set STARK_SDK_PYTHON or create .venv-sdk with `pip install starkbank`)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate();
    let key_path = dir.path().join("private-key.pem");
    std::fs::write(&key_path, key.to_sec1_pem()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Business time starts at real now and stands still: the script moves it through the
    // admin API, as a rehearsal does.
    let cfg = SandboxConfig {
        seed: 11,
        speed: 0.0,
        pay_rate: 0.0,
        projects: vec![(PROJECT.to_string(), key.public_key())],
        ..SandboxConfig::default()
    };
    let sb = rt.block_on(sandbox::start(cfg)).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/conformance.py");
    let out = Command::new(&python)
        .arg(&script)
        .env("STARK_SANDBOX_URL", sb.url())
        .env("STARK_PROJECT_ID", PROJECT)
        .env("STARK_PRIVATE_KEY", &key_path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the SDK interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    rt.block_on(sb.shutdown());
    assert!(
        out.status.success(),
        "the SDK conformance script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("conformance:") && stdout.contains(" 0 failed"),
        "{stdout}"
    );
}
