//! `[y/N]` before the operator overrides that abandon or replace something, on a terminal
//! (a pseudo-terminal: `harness/pty.rs`): `n` changes nothing, `y` goes on, `--yes` skips the
//! question, and without a terminal on stdin nothing is ever asked (cron and scripts go on
//! as before).

use std::os::unix::fs::MetadataExt;
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::dry_run::ledger_rows;
use crate::harness::*;

const WAIT: StdDuration = StdDuration::from_secs(30);

/// The `private-key.pem.bak-*` files in `dir`.
fn backups(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("private-key.pem.bak-")
        })
        .collect()
}

#[test]
fn keygen_force_asks_on_a_terminal_backs_up_on_yes_and_keeps_the_key_on_no() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("keys");
    let stark = bare(home.path());
    stark.run(["keygen", "--dir", path_str(&dir)]).success();
    let private = dir.join("private-key.pem");
    let old = std::fs::read(&private).unwrap();

    let mut t = stark.pty(["keygen", "--dir", path_str(&dir), "--force"], 80, 24);
    let asked = t.expect("[y/N]", WAIT);
    assert!(
        asked.contains(&format!("replaces {}", private.display())),
        "{asked}"
    );
    assert!(asked.contains("fingerprint SHA256:"), "{asked}");
    assert!(asked.contains("backed up"), "{asked}");
    t.send("n\n");
    assert_eq!(t.wait(WAIT), 1, "{}", t.output());
    assert!(t.output().contains("nothing changed"), "{}", t.output());
    assert_eq!(std::fs::read(&private).unwrap(), old, "n keeps the key");
    assert!(backups(&dir).is_empty(), "n writes no backup");

    let mut t = stark.pty(["keygen", "--dir", path_str(&dir), "--force"], 80, 24);
    t.expect("[y/N]", WAIT);
    t.send("y\n");
    assert_eq!(t.wait(WAIT), 0, "{}", t.output());
    assert_ne!(std::fs::read(&private).unwrap(), old, "y replaces it");
    let b = backups(&dir);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(
        std::fs::read(&b[0]).unwrap(),
        old,
        "the backup is the old key"
    );
    assert_eq!(std::fs::metadata(&b[0]).unwrap().mode() & 0o777, 0o600);
    assert!(
        t.output().contains(&format!(
            "Backed up the old private key to {}",
            b[0].display()
        )),
        "{}",
        t.output()
    );

    // --yes: no question, still a backup.
    let mut t = stark.pty(
        ["keygen", "--dir", path_str(&dir), "--force", "--yes"],
        80,
        24,
    );
    assert_eq!(t.wait(WAIT), 0, "{}", t.output());
    assert!(!t.output().contains("[y/N]"), "{}", t.output());
    assert_eq!(backups(&dir).len(), 2);
}

#[test]
fn new_campaign_force_asks_naming_the_campaign_it_abandons() {
    let env = Env::new(|_| {});
    tick(&env, env.t0).success();
    let at = env.t0 + Duration::hours(4);
    let run = env.at(at); // the bank's clock moved first: only the run may change it now
    let rows = ledger_rows(&env);
    let truth = env.truth();

    let args = ["issue-invoices", "--new-campaign", "--force"];
    let mut t = run.pty(args, 100, 24);
    let asked = t.expect("[y/N]", WAIT);
    assert!(asked.contains("abandons campaign c1"), "{asked}");
    assert!(
        asked.contains("1 of 8 batches issued, 7 slot(s) left"),
        "{asked}"
    );
    t.send("n\n");
    assert_eq!(t.wait(WAIT), 1, "{}", t.output());
    assert_eq!(ledger_rows(&env), rows, "n changes nothing in the ledger");
    assert_eq!(env.truth(), truth, "n sends nothing");

    let mut t = run.pty(args, 100, 24);
    t.expect("[y/N]", WAIT);
    t.send("y\n");
    assert_eq!(t.wait(WAIT), 0, "{}", t.output());
    assert!(t.output().contains("batch 1/8: issued"), "{}", t.output());
    let campaigns = env.sql_i64("SELECT COUNT(*) FROM campaigns");
    assert_eq!(campaigns, 2);

    // --yes on a terminal, and no terminal at all: no question.
    let at = at + Duration::hours(4);
    let mut t = env.at(at).pty(
        ["issue-invoices", "--new-campaign", "--force", "--yes"],
        100,
        24,
    );
    assert_eq!(t.wait(WAIT), 0, "{}", t.output());
    assert!(!t.output().contains("[y/N]"), "{}", t.output());
    let out = env
        .at(at + Duration::hours(4))
        .run(["issue-invoices", "--new-campaign", "--force"])
        .success();
    assert!(!out.stderr().contains("[y/N]"), "{}", out.stderr());
}

#[test]
fn retry_asks_with_the_amount_and_the_invoice() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.faults(&["transfer-fail=1"]);
    for _ in 0..3 {
        env.advance(Duration::minutes(30));
        let _ = env.at_now().run(["reconcile", "--max-attempts", "1"]);
    }
    env.faults(&[]);
    let row = env
        .sql_rows(
            "SELECT invoice_id, net FROM credits ORDER BY invoice_id LIMIT 1",
            &[],
        )
        .remove(0);
    let (invoice, net): (String, i64) = (row.get(0).unwrap(), row.get(1).unwrap());
    let transfers = env.truth().transfers.len();
    let rows = ledger_rows(&env);
    let args = [
        "transfer-credited",
        "--max-attempts",
        "1",
        "--retry",
        &invoice,
    ];

    let mut t = env.at_now().pty(args, 120, 24);
    let asked = t.expect("[y/N]", WAIT);
    assert!(asked.contains(&format!("--retry {invoice}")), "{asked}");
    let reais = format!("{},{:02}", net / 100, net % 100);
    assert!(asked.replace('.', "").contains(&reais), "{reais}: {asked}");
    t.send("n\n");
    assert_eq!(t.wait(WAIT), 1, "{}", t.output());
    assert_eq!(ledger_rows(&env), rows, "n claims nothing");
    assert_eq!(env.truth().transfers.len(), transfers, "n sends nothing");

    let mut t = env.at_now().pty(args, 120, 24);
    t.expect("[y/N]", WAIT);
    t.send("y\n");
    // Done; the other credits of the batch still wait (exit 3, the attention line).
    assert_eq!(t.wait(WAIT), 3, "{}", t.output());
    assert!(t.output().contains("attention: "), "{}", t.output());
    assert!(
        t.output()
            .contains(&format!("invoice {invoice}: attempt 2 claimed")),
        "{}",
        t.output()
    );
    assert!(env.truth().transfers.len() > transfers);
}

/// Without a terminal on stdin (cron), `keygen --force` asks nothing, backs the old key up
/// (mode 600) and says where.
#[test]
fn keygen_force_without_a_terminal_backs_up_and_never_asks() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("keys");
    let stark = bare(home.path());
    stark.run(["keygen", "--dir", path_str(&dir)]).success();
    let old = std::fs::read(dir.join("private-key.pem")).unwrap();
    let out = stark
        .run(["keygen", "--dir", path_str(&dir), "--force"])
        .success();
    assert!(!out.stderr().contains("[y/N]"), "{}", out.stderr());
    let b = backups(&dir);
    assert_eq!(b.len(), 1);
    assert_eq!(std::fs::read(&b[0]).unwrap(), old);
    assert_eq!(std::fs::metadata(&b[0]).unwrap().mode() & 0o777, 0o600);
    assert!(
        out.stdout().contains(&b[0].display().to_string()),
        "{}",
        out.stdout()
    );
}
