//! The private key never leaks: the main commands at `-vvv` (trace logging) against the
//! sandbox never print any form of the key material, and the ledger (the file, or every row of
//! the database) never stores it. And `serve-webhook` listens on loopback unless told otherwise.

use std::net::SocketAddr;
use std::path::Path;

use crate::harness::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use clap::Parser;

/// Every spelling of a private key we look for.
struct Material {
    needles: Vec<(String, Vec<u8>)>,
}

impl Material {
    fn of(pem_path: &Path) -> Material {
        let pem = std::fs::read_to_string(pem_path).unwrap();
        let body: Vec<&str> = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        assert!(body.len() >= 2, "a SEC1 PEM body has several lines");
        let b64 = body.concat();
        let der = STANDARD.decode(&b64).unwrap();
        // ECPrivateKey: 30 74 02 01 01 04 20 <32-byte scalar> ...
        assert_eq!(&der[..7], &[0x30, 0x74, 0x02, 0x01, 0x01, 0x04, 0x20]);
        let scalar = der[7..39].to_vec();
        // The scalar really is this key's secret.
        let key = stark::keys::PrivateKey::from_secret_bytes(&scalar).unwrap();
        assert_eq!(
            key.public_key(),
            stark::keys::PrivateKey::load(pem_path)
                .unwrap()
                .public_key()
        );
        let hex: String = scalar.iter().map(|b| format!("{b:02x}")).collect();
        let mut needles = vec![
            ("base64 DER".to_string(), b64.clone().into_bytes()),
            ("scalar hex".to_string(), hex.clone().into_bytes()),
            ("scalar HEX".to_string(), hex.to_uppercase().into_bytes()),
            ("raw scalar".to_string(), scalar.clone()),
            (
                "base64 scalar".to_string(),
                STANDARD.encode(&scalar).trim_end_matches('=').as_bytes()[..40].to_vec(),
            ),
        ];
        // PEM body lines holding scalar bytes (DER bytes 7..39; a 64-character line holds 48
        // bytes). The later lines carry only the public point, which is public by design and
        // printed by `keygen`.
        let mut offset = 0;
        for (i, line) in body.iter().enumerate() {
            let bytes = line.len() / 4 * 3;
            if offset < 39 && offset + bytes > 7 {
                needles.push((format!("PEM line {i}"), line.as_bytes().to_vec()));
            }
            offset += bytes;
        }
        assert!(needles.iter().any(|(n, _)| n == "PEM line 0"));
        Material { needles }
    }

    fn assert_absent(&self, what: &str, haystack: &[u8]) {
        for (name, needle) in &self.needles {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "{name} of the private key appears in {what}"
            );
        }
    }
}

fn check(material: &Material, cmd: &str, out: &Output) {
    material.assert_absent(&format!("{cmd} stdout"), &out.stdout);
    material.assert_absent(&format!("{cmd} stderr"), &out.stderr);
}

fn check_ledger(material: &Material, ledger: &Path, after: &str) {
    if stark::ledger::is_postgres(ledger) {
        // Everything the database stores: every row of every table, as text.
        let rows = pg_table_rows(ledger);
        assert!(rows.contains_key("meta"), "the ledger exists after {after}");
        let text: String = rows
            .iter()
            .map(|(table, rows)| format!("{table}\n{}\n", rows.join("\n")))
            .collect();
        material.assert_absent(
            &format!("the database's rows after {after}"),
            text.as_bytes(),
        );
        return;
    }
    let mut seen = 0;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = ledger.with_file_name(format!(
            "{}{suffix}",
            ledger.file_name().unwrap().to_str().unwrap()
        ));
        if let Ok(bytes) = std::fs::read(&p) {
            seen += 1;
            material.assert_absent(&format!("ledger file {suffix:?} after {after}"), &bytes);
        }
    }
    assert!(seen >= 1, "the ledger exists after {after}");
}

#[test]
fn no_command_prints_or_stores_the_private_key() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let material = Material::of(&env.key_path);
    let run = |args: &[&str], at: chrono::DateTime<chrono::Utc>| -> Output {
        let out = env.at(at).arg("-vvv").run(args);
        check(&material, &args.join(" "), &out);
        out
    };
    let t = env.t0 + Duration::seconds(5);
    let out = run(&["issue-invoices"], t).success();
    assert!(
        stderr(&out).contains("TRACE") || stderr(&out).contains("DEBUG"),
        "-vvv really logs: {}",
        stderr(&out)
    );
    check_ledger(&material, &env.ledger, "issue-invoices");
    // Let the sandbox pay, then pick the credits up and forward them.
    env.advance(Duration::hours(2));
    env.flush();
    let t = t + Duration::hours(2);
    for args in [
        &["reconcile"][..],
        &["transfer-credited"],
        &["status"],
        &["--json", "status"],
        &["doctor"],
    ] {
        let out = run(args, t);
        // doctor may report a warning (webhook not registered) with exit 1; the rest succeed.
        if args != ["doctor"] {
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        } else {
            assert!(
                stdout(&out).contains("key") || stderr(&out).contains("key"),
                "doctor talks about the key"
            );
        }
        check_ledger(&material, &env.ledger, &args.join(" "));
    }
    let credits = env.sql_i64("SELECT count(*) FROM credits");
    assert!(credits > 0, "the run exercised the money path");
    run(
        &["serve-webhook", "--listen", "127.0.0.1:0", "--for", "2s"],
        t,
    )
    .success();
    check_ledger(&material, &env.ledger, "serve-webhook");

    // keygen: the new key is written to its file and never shown.
    let dir = env.dir.path().join("new-keys");
    let out = env
        .cmd()
        .args(["-vvv", "keygen", "--dir"])
        .arg(&dir)
        .output()
        .success();
    let fresh = Material::of(&dir.join("private-key.pem"));
    check(&fresh, "keygen", &out);
    let out = env
        .cmd()
        .args(["-vvv", "--json", "keygen", "--force", "--dir"])
        .arg(&dir)
        .output()
        .success();
    check(
        &Material::of(&dir.join("private-key.pem")),
        "keygen --json",
        &out,
    );
}

#[test]
fn serve_webhook_listens_on_loopback_by_default() {
    let cli = stark::cli::Cli::try_parse_from(["stark", "serve-webhook"]).unwrap();
    let stark::cli::Command::ServeWebhook(args) = cli.command else {
        panic!("parsed another command");
    };
    assert!(args.listen.ip().is_loopback(), "{}", args.listen);
    assert_eq!(args.listen, "127.0.0.1:8000".parse::<SocketAddr>().unwrap());
    // And an explicit address is taken as given.
    let cli = stark::cli::Cli::try_parse_from(["stark", "serve-webhook", "--listen", "0.0.0.0:9"])
        .unwrap();
    let stark::cli::Command::ServeWebhook(args) = cli.command else {
        panic!("parsed another command");
    };
    assert!(!args.listen.ip().is_loopback());
}
