//! Bad keys: each refused with a message naming the file and what to do.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use stark::keys::{KeyError, PrivateKey};

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

const GOOD: &str = "-----BEGIN EC PARAMETERS-----\nBgUrgQQACg==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\nMHQCAQEEIASO6cc3pAWCrdcyO++zoWLJKYQHyXKU5WQP1VQDtNXxoAcGBSuBBAAK\noUQDQgAEw9goLpko/2hpods1dcpbkodXW2E0W5O6yjFGTjnMNsz8kvsX1px7Lhkz\n6I24/RJnok5HfVP++rK2cUDcWF/9iA==\n-----END EC PRIVATE KEY-----\n";
// `openssl ecparam -name prime256v1 -genkey -noout`
const P256: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIJdEUh+iHU+UGbuF6QwYZbhJfhzqgETIHl3zDLKTcC6EoAoGCCqGSM49
AwEHoUQDQgAE2wsc3KUcAvGCR2tt6CM7wuPbjGuL1ae+FXGmRXlf54pAAX+wiK+Q
6gKH4lJ2zUTUkHn/8o9gJ6XI8iYuWLan1g==
-----END EC PRIVATE KEY-----
";
const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEw9goLpko/2hpods1dcpbkodXW2E0W5O6\nyjFGTjnMNsz8kvsX1px7Lhkz6I24/RJnok5HfVP++rK2cUDcWF/9iA==\n-----END PUBLIC KEY-----\n";
// `openssl genpkey -algorithm ed25519`
const ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINZs1jUn1q8LPfH7EREm8jkO0DalHYrbxPLH6GxZmGHp
-----END PRIVATE KEY-----
";

fn load_err(name: &str, text: &str, mode: u32) -> (PathBuf, KeyError) {
    let dir = tempfile::tempdir().unwrap().keep();
    let p = write(&dir, name, text, mode);
    let e = PrivateKey::load(&p).unwrap_err();
    (p, e)
}

#[test]
fn good_key_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "k.pem", GOOD, 0o600);
    PrivateKey::load(&p).unwrap();
    let p = write(dir.path(), "crlf.pem", &GOOD.replace('\n', "\r\n"), 0o400);
    PrivateKey::load(&p).unwrap();
}

#[test]
fn world_or_group_readable_key_is_refused_with_the_chmod_fix() {
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let (p, e) = load_err("k.pem", GOOD, mode);
        assert!(matches!(e, KeyError::InsecurePermissions { .. }));
        let msg = e.to_string();
        assert!(msg.contains(&format!("chmod 600 {}", p.display())), "{msg}");
    }
}

#[test]
fn empty_file() {
    let (p, e) = load_err("empty.pem", "", 0o600);
    assert!(matches!(e, KeyError::Empty { .. }));
    assert!(e.to_string().contains(&p.display().to_string()));
    let (_, e) = load_err("blank.pem", "\n\n  \n", 0o600);
    assert!(matches!(e, KeyError::Empty { .. }));
}

#[test]
fn truncated_file() {
    for cut in [40, 80, 120, GOOD.len() - 10] {
        let (p, e) = load_err("cut.pem", &GOOD[..cut], 0o600);
        assert!(
            matches!(e, KeyError::Malformed { .. } | KeyError::NoKeyBlock { .. }),
            "cut {cut}: {e}"
        );
        assert!(e.to_string().contains(&p.display().to_string()));
    }
    // A complete block whose DER is cut short.
    let short = "-----BEGIN EC PRIVATE KEY-----\nMHQCAQEEIASO6cc3pAWCrdcyO++zoWLJKYQHyXKU5WQP1VQDtNXx\n-----END EC PRIVATE KEY-----\n";
    let (_, e) = load_err("short.pem", short, 0o600);
    assert!(matches!(e, KeyError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("truncated"));
}

#[test]
fn key_on_another_curve() {
    let (_, e) = load_err("p256.pem", P256, 0o600);
    assert!(matches!(e, KeyError::WrongCurve { .. }), "{e}");
    assert!(
        e.to_string().contains("prime256v1") && e.to_string().contains("secp256k1"),
        "{e}"
    );
    let (_, e) = load_err("ed.pem", ED25519, 0o600);
    assert!(matches!(e, KeyError::WrongCurve { .. }), "{e}");
    assert!(e.to_string().contains("Ed25519"), "{e}");
}

#[test]
fn public_key_given_as_private() {
    let (p, e) = load_err("pub.pem", PUBLIC, 0o600);
    assert!(matches!(e, KeyError::PublicNotPrivate { .. }));
    assert!(e.to_string().contains(&p.display().to_string()));
}

#[test]
fn not_a_key_at_all() {
    let (_, e) = load_err("x.pem", "hello world\n", 0o600);
    assert!(matches!(e, KeyError::NoKeyBlock { .. }));
    let (_, e) = load_err("bin.pem", "\u{0}\u{1}", 0o600);
    assert!(matches!(
        e,
        KeyError::NoKeyBlock { .. } | KeyError::Malformed { .. }
    ));
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGEAgEAMBAGByqGSM49AgEGBSuBBAAK\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let (_, e) = load_err("enc.pem", encrypted, 0o600);
    assert!(matches!(e, KeyError::Encrypted { .. }));
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let e = PrivateKey::load(&missing).unwrap_err();
    assert!(matches!(e, KeyError::Read { .. }));
    assert!(e.to_string().contains("nope.pem"));
    let e = PrivateKey::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            e,
            KeyError::Read { .. } | KeyError::InsecurePermissions { .. }
        ),
        "{e}"
    );
}

#[test]
fn a_public_key_with_an_open_mode_is_named_a_public_key_first() {
    let (_, e) = load_err("public-key.pem", PUBLIC, 0o644);
    assert!(matches!(e, KeyError::PublicNotPrivate { .. }), "{e}");
}

#[test]
fn a_missing_key_file_says_each_cause_once_and_where_the_path_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::harness::bare(dir.path())
        .env("STARK_PROJECT_ID", "1234")
        .env("STARK_PRIVATE_KEY", "./nope.pem")
        .env("STARK_API_URL", "http://127.0.0.1:9")
        .env("STARK_LEDGER", dir.path().join("ledger.sqlite3"))
        .run(["init"]);
    let _ = out;
    let out = crate::harness::bare(dir.path())
        .env("STARK_PROJECT_ID", "1234")
        .env("STARK_PRIVATE_KEY", "./nope.pem")
        .env("STARK_API_URL", "http://127.0.0.1:9")
        .env("STARK_LEDGER", dir.path().join("ledger.sqlite3"))
        .run(["reconcile"])
        .exits(2);
    let err = out.stderr();
    assert!(
        err.contains(
            "cannot read key file ./nope.pem (from environment STARK_PRIVATE_KEY): No such file or directory"
        ),
        "{err}"
    );
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

/// Each base64 line of the key's body (what must never be printed).
fn body_lines(pem: &str) -> Vec<&str> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect()
}

#[test]
fn stark_private_key_pem_takes_the_text_with_line_breaks_crlf_or_escaped_ones() {
    let want = PrivateKey::from_pem(GOOD).unwrap().public_key();
    let var = "STARK_PRIVATE_KEY_PEM";
    for text in [
        GOOD.to_string(),
        GOOD.replace('\n', "\r\n"),
        GOOD.replace('\n', "\\n"),
        format!("\n  {}\n", GOOD.trim()),
    ] {
        let key = PrivateKey::from_env_pem(var, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.public_key(), want);
    }
}

#[test]
fn a_bad_stark_private_key_pem_names_the_variable_says_why_and_quotes_nothing() {
    let var = "STARK_PRIVATE_KEY_PEM";
    let cut: String = GOOD.lines().take(5).collect::<Vec<_>>().join("\n");
    let cases = [
        // Cut short: no END line.
        (cut.clone(), "truncated or corrupted"),
        // Joined into one line (a YAML folded block): no block, and a hint.
        (GOOD.replace('\n', " "), "keep the PEM's line breaks"),
        // A path where the text belongs.
        (
            "/etc/stark/private-key.pem".to_string(),
            "name a key file with STARK_PRIVATE_KEY",
        ),
        (PUBLIC.to_string(), "public key"),
        (P256.to_string(), "secp256k1"),
        (ED25519.to_string(), "secp256k1"),
    ];
    for (text, says) in cases {
        let e = PrivateKey::from_env_pem(var, &text).unwrap_err();
        assert!(matches!(e, KeyError::InEnv { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("STARK_PRIVATE_KEY_PEM does not hold a usable private key: "),
            "{msg}"
        );
        assert!(msg.contains(says), "{says}: {msg}");
        for line in body_lines(GOOD).into_iter().chain(body_lines(P256)) {
            assert!(!msg.contains(&line[..16]), "key material in: {msg}");
        }
    }
}

#[test]
fn a_malformed_pem_in_the_variable_stops_a_command_naming_it_without_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        crate::harness::bare(dir.path())
            .env("STARK_PROJECT_ID", "1234")
            .env("STARK_API_URL", "http://127.0.0.1:9")
            .env("STARK_LEDGER", dir.path().join("ledger.sqlite3"))
    };
    run().run(["init"]).success();
    // The key's last body line is lost (a copy cut short by a paste).
    let mut lines: Vec<&str> = GOOD.lines().collect();
    lines.remove(lines.len() - 2);
    let broken = lines.join("\n");
    for json in [false, true] {
        let mut args = vec!["reconcile"];
        if json {
            args.insert(0, "--json");
        }
        let out = run()
            .env("STARK_PRIVATE_KEY_PEM", &broken)
            .run(&args)
            .exits(2);
        let err = out.stderr();
        assert!(
            err.contains("STARK_PRIVATE_KEY_PEM does not hold a usable private key"),
            "{err}"
        );
        for line in body_lines(GOOD) {
            assert!(!err.contains(&line[..16]), "key material in: {err}");
            assert!(
                !out.stdout().contains(&line[..16]),
                "key material on stdout"
            );
        }
    }
}
