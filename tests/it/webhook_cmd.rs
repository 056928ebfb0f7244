//! `stark webhook ensure|remove` as a deploy step, `serve-webhook --no-register` replicas, and a
//! `/healthz` that reads the ledger: replicas behind one URL never register, never delete each
//! other's webhook, and a load balancer can tell the one whose ledger is gone.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration as StdDuration, Instant};

use crate::harness::*;
use chrono::Duration;

/// The webhooks the sandbox holds now: `(id, url)`, sorted.
fn hooks_at_bank(env: &Env) -> Vec<(String, String)> {
    let c = env.other_client();
    let mut hooks: Vec<(String, String)> = env
        .rt
        .block_on(c.list_webhooks())
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.url))
        .collect();
    hooks.sort();
    hooks
}

/// The ledger's live webhook records: `(id, url, owner)`.
fn ledger_hooks(env: &Env) -> Vec<(String, String, Option<String>)> {
    env.sql_rows(
        "SELECT id, url, (SELECT value FROM meta WHERE key = 'webhook_owner:' || id) \
         FROM webhooks WHERE deleted_at IS NULL ORDER BY id",
        &[],
    )
    .iter()
    .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
    .collect()
}

/// A `serve-webhook` child whose stderr is read line by line; killed on drop.
struct Serving {
    child: Child,
    err: Receiver<String>,
    seen: Vec<String>,
}

impl Serving {
    fn spawn(env: &Env, args: &[&str]) -> Serving {
        let mut child = env
            .cmd()
            .command(["serve-webhook"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, err) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let mut s = Serving {
            child,
            err,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + StdDuration::from_secs(15);
        while !s.seen.iter().any(|l| l.contains("listening on")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match s.err.recv_timeout(left) {
                Ok(l) => s.seen.push(l),
                Err(_) => panic!("serve-webhook did not start: {:?}", s.seen),
            }
        }
        s
    }

    /// SIGTERM; its stderr and exit code.
    fn stop(mut self) -> (Vec<String>, Option<i32>) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        let mut err = std::mem::take(&mut self.seen);
        err.extend(self.err.iter());
        (err, status.code())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn credits(env: &Env) -> i64 {
    env.sql_i64("SELECT COUNT(*) FROM credits")
}

/// `GET http://127.0.0.1:<port>/healthz`: status and body.
fn healthz(env: &Env, port: u16) -> (u16, String) {
    env.rt.block_on(async {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// `ensure` twice: one webhook at the bank (a bare host gets `/webhook`, with the invoice and
/// transfer subscriptions), recorded once in the ledger as the deploy step's; the second run
/// says it is already registered, in text and in JSON.
#[test]
fn webhook_ensure_twice_leaves_one_webhook_at_the_bank() {
    let env = Env::new(|_| {});
    let out = env
        .cmd()
        .run(["webhook", "ensure", "--url", "https://lb.example.com"])
        .success();
    assert!(
        out.stdout().starts_with("registered webhook "),
        "{}",
        out.stdout()
    );
    let hooks = hooks_at_bank(&env);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].1, "https://lb.example.com/webhook");
    let c = env.other_client();
    let subs = env.rt.block_on(c.list_webhooks()).unwrap()[0]
        .subscriptions
        .clone();
    assert!(
        subs.contains(&"invoice".into()) && subs.contains(&"transfer".into()),
        "{subs:?}"
    );

    let again = env
        .cmd()
        .run(["webhook", "ensure", "--url", "https://lb.example.com"])
        .success();
    assert!(
        again.stdout().starts_with("already registered: webhook "),
        "{}",
        again.stdout()
    );
    let json = env
        .cmd()
        .run([
            "webhook",
            "ensure",
            "--url",
            "https://lb.example.com/webhook",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["outcome"], "already_registered");
    assert_eq!(json["id"], hooks[0].0.as_str());
    assert_eq!(json["url"], "https://lb.example.com/webhook");
    assert_eq!(hooks_at_bank(&env), hooks, "still exactly one webhook");
    assert_eq!(
        ledger_hooks(&env),
        [(
            hooks[0].0.clone(),
            hooks[0].1.clone(),
            Some("stark webhook ensure".to_string())
        )]
    );
    // Bad input asks nothing of the bank.
    env.cmd()
        .run(["webhook", "ensure", "--url", "lb.example.com"])
        .exits(2);
    assert_eq!(hooks_at_bank(&env), hooks);
}

/// `remove` twice: the first deletes the webhook at the bank and in the ledger, the second
/// finds nothing to remove and exits 0 (text and JSON).
#[test]
fn webhook_remove_twice_deletes_it_then_has_nothing_to_remove() {
    let env = Env::new(|_| {});
    env.cmd()
        .run(["webhook", "ensure", "--url", "https://lb.example.com"])
        .success();
    // Someone else's webhook in the same workspace is never this ledger's to delete.
    let c = env.other_client();
    let foreign = env
        .rt
        .block_on(c.create_webhook("https://other.example.com/hook", &["invoice"]))
        .unwrap();
    let out = env.cmd().run(["webhook", "remove"]).success();
    assert!(
        out.stdout().contains("deleted webhook ")
            && out.stdout().contains("https://lb.example.com/webhook"),
        "{}",
        out.stdout()
    );
    assert_eq!(
        hooks_at_bank(&env),
        [(foreign.id.clone(), foreign.url.clone())]
    );
    assert!(ledger_hooks(&env).is_empty());
    let again = env.cmd().run(["webhook", "remove"]).success();
    assert_eq!(again.stdout(), "nothing to remove\n");
    let json = env
        .cmd()
        .run(["webhook", "remove", "--json"])
        .success()
        .json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["outcome"], "nothing_to_remove");
    assert_eq!(json["removed"], serde_json::json!([]));
    // --url removes that URL's webhook even when the ledger has no record of it.
    let json = env
        .cmd()
        .run([
            "webhook",
            "remove",
            "--url",
            "https://other.example.com/hook",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(json["outcome"], "removed");
    assert_eq!(json["removed"][0]["id"], foreign.id.as_str());
    assert!(hooks_at_bank(&env).is_empty());
}

/// A replica started with `--no-register` after `webhook ensure` leaves the bank's webhooks
/// exactly as they were, during and after its run, and records the credits the bank delivers
/// through the ensured webhook.
#[test]
fn serve_webhook_no_register_changes_no_webhook_and_records_credits() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    env.cmd()
        .run(["webhook", "ensure", "--url", &public])
        .success();
    let before = hooks_at_bank(&env);
    let records = ledger_hooks(&env);
    assert_eq!(before.len(), 1);
    let s = Serving::spawn(
        &env,
        &[
            "--listen",
            &listen,
            "--public-url",
            &public,
            "--no-register",
        ],
    );
    assert_eq!(hooks_at_bank(&env), before, "nothing registered or deleted");
    tick(&env, env.t0).success();
    env.advance(Duration::hours(1));
    env.flush();
    assert!(
        wait_until(StdDuration::from_secs(20), || credits(&env) > 0),
        "no credit recorded from the delivered events"
    );
    let (err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
    assert!(
        err.iter()
            .any(|l| l.contains("not registering (--no-register)")),
        "{err:?}"
    );
    assert!(
        !err.iter().any(|l| l.contains("deleted webhook")),
        "{err:?}"
    );
    assert_eq!(hooks_at_bank(&env), before, "nothing deleted at stop");
    assert_eq!(ledger_hooks(&env), records);
}

/// A normal `serve-webhook --public-url` start removes the stale webhooks this ledger
/// registered, but never one `webhook ensure` registered: not for another URL (its own is
/// registered beside it and deleted at its stop), nor for the same URL (served as is, and
/// left in place at stop).
#[test]
fn serve_webhook_with_public_url_never_deletes_the_ensured_webhook() {
    let env = Env::new(|_| {});
    env.cmd()
        .run(["webhook", "ensure", "--url", "https://lb.example.com"])
        .success();
    let ensured = hooks_at_bank(&env);
    assert_eq!(ensured.len(), 1);

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let s = Serving::spawn(&env, &["--listen", &listen, "--public-url", &public]);
    let during = hooks_at_bank(&env);
    assert!(
        during.contains(&ensured[0]),
        "the ensured webhook was deleted at start: {during:?}"
    );
    assert_eq!(during.len(), 2, "{during:?}");
    let (err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
    assert_eq!(hooks_at_bank(&env), ensured, "{err:?}");

    // The same URL as the ensured webhook: served, never taken over or deleted.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    env.cmd()
        .run(["webhook", "ensure", "--url", &public])
        .success();
    let both = hooks_at_bank(&env);
    assert_eq!(both.len(), 2);
    let s = Serving::spawn(&env, &["--listen", &listen, "--public-url", &public]);
    assert_eq!(hooks_at_bank(&env), both);
    let (err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
    assert!(
        err.iter()
            .any(|l| l.contains("registered by `stark webhook ensure`")),
        "{err:?}"
    );
    assert_eq!(hooks_at_bank(&env), both, "{err:?}");
    assert!(
        ledger_hooks(&env)
            .iter()
            .all(|(_, _, o)| o.as_deref() == Some("stark webhook ensure")),
        "{:?}",
        ledger_hooks(&env)
    );
}

/// `/healthz` reads the ledger: 200 while it can, 503 with a short reason once the file is
/// gone while serving, 200 again once it is back.
#[test]
fn healthz_answers_503_when_the_ledger_cannot_be_read() {
    if on_postgres() {
        eprintln!("SKIP: the ledger file is moved away while serving (SQLite file only)");
        return;
    }
    let env = Env::new(|_| {});
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let s = Serving::spawn(&env, &["--listen", &listen, "--no-register"]);
    assert_eq!(healthz(&env, port), (200, "ok\n".to_string()));
    let moved = env.ledger.with_extension("moved");
    std::fs::rename(&env.ledger, &moved).unwrap();
    let (status, body) = healthz(&env, port);
    std::fs::rename(&moved, &env.ledger).unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, "ledger missing\n");
    assert!(
        !body.contains(env.ledger.to_str().unwrap()),
        "no path: {body}"
    );
    assert_eq!(healthz(&env, port).0, 200);
    let (err, code) = s.stop();
    assert_eq!(code, Some(0), "{err:?}");
}
