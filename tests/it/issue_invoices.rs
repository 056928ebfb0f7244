//! `stark issue-invoices` against `stark sandbox`: the real binary, a real SQLite ledger and
//! STARK_NOW walking a whole campaign.

use crate::harness::*;
use chrono::Duration;
use stark::domain::taxid::is_valid_cpf;

#[test]
fn a_whole_campaign_issues_eight_batches_of_eight_to_twelve() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    let mut total = 0;
    for k in 0..8 {
        let at = t0 + Duration::hours(3 * k) + Duration::seconds(7);
        let out = tick(&env, at).success();
        let line = stdout(&out);
        assert!(
            line.contains(&format!("batch {}/8: issued", k + 1)),
            "{line}"
        );
        // A second tick in the same slot issues nothing.
        let again = tick(&env, at + Duration::minutes(20)).success();
        assert!(stdout(&again).contains("nothing due"), "{}", stdout(&again));
        total += 1;
    }
    let batches = env.batches_at_bank();
    assert_eq!(batches.len(), 8);
    let mut cpfs = std::collections::HashSet::new();
    for (tag, invoices) in &batches {
        assert!(
            (8..=12).contains(&invoices.len()),
            "{tag}: {}",
            invoices.len()
        );
        for inv in invoices {
            assert!(
                (1_000..=100_000).contains(&inv.nominal_amount),
                "{}",
                inv.nominal_amount
            );
            assert!(inv.tags.iter().all(|t| t == &t.to_lowercase()));
        }
    }
    // CPFs validate and are unique within the campaign (read from the ledger's record).
    let rows: Vec<(String, Option<String>)> = env
        .sql_rows("SELECT tax_id, invoice_id FROM invoices", &[])
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    for (cpf, id) in &rows {
        assert!(is_valid_cpf(cpf), "{cpf}");
        assert!(id.is_some(), "every planned invoice was issued");
        assert!(cpfs.insert(cpf.clone()), "CPF {cpf} repeated");
    }
    assert_eq!(rows.len(), batches.values().map(Vec::len).sum::<usize>());
    assert_eq!(total, 8);
    // After the last slot: complete, exit 0, nothing new.
    let out = tick(&env, t0 + Duration::hours(24)).success();
    assert!(
        stdout(&out).contains("campaign c1 is complete: 8 of 8 batches issued, 0 missed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 8);
}

#[test]
fn jitter_both_ways_issues_each_slot_exactly_once() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    tick(&env, t0 + Duration::seconds(7)).success();
    // 02:57 is the 03:00 slot, early.
    let out = tick(&env, t0 + Duration::minutes(177));
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
    // 03:06 is the same slot: nothing.
    let out = tick(&env, t0 + Duration::minutes(186));
    assert!(stdout(&out).contains("nothing due"), "{}", stdout(&out));
    assert_eq!(env.batches_at_bank().len(), 2);

    // A separate ledger: slot 0 at 00:00:07, then 03:00:00 is slot 1, not slot 0 again.
    let env2 = Env::new(|c| c.pay_rate = 0.0);
    tick(&env2, t0 + Duration::seconds(7)).success();
    let out = tick(&env2, t0 + Duration::hours(3));
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_skipped_window_is_recorded_as_missed_not_backfilled() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    tick(&env, t0).success();
    // No run for slot 1 (03:00); the next run is at 06:00.
    let out = tick(&env, t0 + Duration::hours(6));
    let text = stdout(&out);
    assert!(
        text.contains("batch 2/8: its window passed without a run; recorded as missed"),
        "{text}"
    );
    assert!(text.contains("batch 3/8: issued"), "{text}");
    assert_eq!(env.batches_at_bank().len(), 2);
    let missed = env.sql_i64("SELECT COUNT(*) FROM batches WHERE status = 'missed'");
    assert_eq!(missed, 1);
    // --catch-up issues it.
    let out = env
        .at(t0 + Duration::hours(6) + Duration::minutes(5))
        .run(["issue-invoices", "--catch-up"]);
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 3);
}

#[test]
fn a_lost_response_leaves_exactly_one_batch() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    env.faults(&["invoice.create:lost-response=1"]);
    let out = tick(&env, env.t0).success();
    // Issued by the first POST (whose answer was lost), found by the lookup, never resent.
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("found at the bank after an unclear answer"),
        "{}",
        stdout(&out)
    );
    let batches = env.batches_at_bank();
    assert_eq!(batches.len(), 1);
    let n = batches.values().next().unwrap().len();
    let recorded = env.sql_i64("SELECT COUNT(*) FROM invoices WHERE invoice_id IS NOT NULL");
    assert_eq!(recorded as usize, n);
}

#[test]
fn server_errors_are_retried_after_a_lookup_and_a_later_tick_resumes() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    // Every create answers 503 (nothing done): the tick gives up, the batch stays open.
    env.faults(&["invoice.create:503=1"]);
    let out = tick(&env, env.t0).exits(1);
    assert!(stderr(&out).contains("no clear answer"), "{}", stderr(&out));
    assert_eq!(env.batches_at_bank().len(), 0);
    // The API recovers; the next tick (same slot) looks the batch up, finds nothing, sends it once.
    env.faults(&[]);
    let out = tick(&env, env.t0 + Duration::minutes(10)).success();
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 1);
}

#[test]
fn two_simultaneous_ticks_issue_one_batch() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let at = env.at(env.t0);
    let children: Vec<_> = (0..4)
        .map(|_| {
            at.command(["issue-invoices"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", stderr(o));
    }
    let issued = outs.iter().filter(|o| stdout(o).contains("issued")).count();
    assert_eq!(
        issued,
        1,
        "{:?}",
        outs.iter().map(stdout).collect::<Vec<_>>()
    );
    assert_eq!(env.batches_at_bank().len(), 1);
}

#[test]
fn a_rejected_batch_is_reported_and_not_retried() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let at = env.at(env.t0);
    // Claim the slot without credentials (the tick stops before sending)...
    let out = at
        .clone()
        .env_remove("STARK_PROJECT_ID")
        .run(["issue-invoices"])
        .exits(2);
    assert!(stderr(&out).contains("STARK_PROJECT_ID"));
    // ...then spoil one CPF in the recorded body, as a buggy generator would.
    let body: String = env.sql_one("SELECT body FROM batches", &[]);
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["invoices"][0]["taxId"] = "123.456.789-10".into();
    env.sql_exec("UPDATE batches SET body = ?1", &[&v.to_string()]);
    let out = at.run(["issue-invoices"]).exits(1);
    assert!(
        stderr(&out).contains("rejected by Stark Bank"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).to_lowercase().contains("tax"),
        "{}",
        stderr(&out)
    );
    let errors: Option<String> = env.sql_one("SELECT errors FROM batches", &[]);
    assert!(errors.unwrap().contains("invalid"));
    // Not retried blindly: the next tick in the slot sends nothing.
    let out = at.run(["issue-invoices"]);
    assert!(
        stdout(&out).contains("already rejected"),
        "{}",
        stdout(&out)
    );
    assert!(env.truth().invoices.is_empty());
}

/// `--retry-batch N` reopens a rejected batch once its cause is fixed and sends it in the same
/// run (looked up by its tag first); it refuses, exit 2, a batch that is not rejected or that
/// does not exist. `status` says how.
#[test]
fn retry_batch_reopens_a_rejected_batch_and_refuses_any_other() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let at = env.at(env.t0 + Duration::minutes(1));
    at.clone()
        .env_remove("STARK_PROJECT_ID")
        .run(["issue-invoices"])
        .exits(2);
    let good: String = env.sql_one("SELECT body FROM batches", &[]);
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["invoices"][0]["taxId"] = "123.456.789-10".into();
    env.sql_exec("UPDATE batches SET body = ?1", &[&v.to_string()]);
    at.run(["issue-invoices"]).exits(1);
    let tag = format!("stark-{}-c1-b1", env.ledger_id());
    assert_eq!(ledger_batch(&env, &tag).0, "rejected");
    let text = at.run(["status"]).success().stdout();
    assert!(
        text.contains("stark issue-invoices --retry-batch 1"),
        "{text}"
    );
    // Unknown batches are refused, and nothing changes.
    for which in ["7", "stark-nope-c1-b1"] {
        let out = at.run(["issue-invoices", "--retry-batch", which]).exits(2);
        assert!(stderr(&out).contains("no batch"), "{}", stderr(&out));
    }
    // The cause is fixed (the body the generator should have written).
    env.sql_exec("UPDATE batches SET body = ?1", &[&good]);
    let out = at.run(["issue-invoices", "--retry-batch", &tag]).success();
    assert!(stdout(&out).contains("reopened"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!(status, "issued");
    assert_eq!(env.batches_at_bank()[&tag].len(), count as usize);
    assert!(rows.iter().all(|r| r.0.is_some()));
    // An issued batch is not rejected: refused, and nothing is sent again.
    let out = at.run(["issue-invoices", "--retry-batch", "1"]).exits(2);
    assert!(
        stderr(&out).contains("is issued, not rejected"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.batches_at_bank()[&tag].len(), count as usize);
    let out = at
        .run(["issue-invoices", "--retry-batch", "1", "--new-campaign"])
        .exits(2);
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn nothing_due_needs_no_key_and_no_network() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    tick(&env, env.t0).success();
    let out = env
        .cmd()
        .now(env.t0 + Duration::minutes(30))
        .env(
            "STARK_PRIVATE_KEY",
            env.dir.path().join("does-not-exist.pem"),
        )
        .env("STARK_API_URL", "http://127.0.0.1:9")
        .run(["issue-invoices"])
        .success();
    let text = stdout(&out);
    assert!(
        text.contains(
            "nothing due: batch 1/8 already issued; next batch 2/8 at 2026-03-02T03:00:00"
        ),
        "{text}"
    );
}

#[test]
fn json_and_quiet_output() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let at = env.at(env.t0);
    let v = at.run(["issue-invoices", "--json"]).json();
    let o = &v["outcomes"][0];
    assert_eq!(o["action"], "issued");
    assert_eq!(o["batch"], 1);
    assert_eq!(o["of"], 8);
    assert!((8..=12).contains(&o["invoices"].as_u64().unwrap()));
    let out = at.run(["issue-invoices", "--quiet"]).success();
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn new_campaign_refuses_while_one_runs() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    tick(&env, env.t0).success();
    let out = env
        .at(env.t0 + Duration::hours(1))
        .run(["issue-invoices", "--new-campaign"])
        .exits(2);
    assert!(stderr(&out).contains("still running"), "{}", stderr(&out));
    let out = env
        .at(env.t0 + Duration::hours(25))
        .run(short_campaign(false, "1h", "2h"))
        .success();
    assert!(
        stdout(&out).contains("batch 1/2: issued"),
        "{}",
        stdout(&out)
    );
}

/// `issue-invoices --new-campaign [--force]` of a short campaign (`--every`, `--for`), of one
/// or two invoices per batch.
fn short_campaign(force: bool, every: &'static str, length: &'static str) -> Vec<&'static str> {
    let mut args = vec!["issue-invoices", "--new-campaign"];
    if force {
        args.push("--force");
    }
    args.extend([
        "--every", every, "--for", length, "--min", "1", "--max", "2",
    ]);
    args
}

/// One invoice of a batch as the ledger records it: (invoice id, tax id, amount).
type LedgerInvoice = (Option<String>, String, i64);

/// The ledger's record of a batch: (status, invoice count, its invoices).
fn ledger_batch(env: &Env, tag: &str) -> (String, i64, Vec<LedgerInvoice>) {
    let batch = env
        .sql_rows(
            "SELECT id, status, invoice_count FROM batches WHERE tag = ?1",
            &[&tag],
        )
        .remove(0);
    let (id, status, count): (i64, String, i64) = (
        batch.get(0).unwrap(),
        batch.get(1).unwrap(),
        batch.get(2).unwrap(),
    );
    let rows = env
        .sql_rows(
            "SELECT invoice_id, tax_id, amount FROM invoices WHERE batch_id = ?1 ORDER BY position",
            &[&id],
        )
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    (status, count, rows)
}

/// Issue batch 1, back the ledger up, issue batch 2, then restore the backup: the ledger
/// knows nothing of batch 2. Batch 2's tag and the ids the bank holds under it, sorted.
fn issue_two_batches_then_restore_after_the_first(env: &Env) -> (String, Vec<String>) {
    tick(env, env.t0).success();
    let backup = spare_ledger_address(&env.ledger, env.dir.path(), "backup.sqlite3");
    copy_ledger(&env.ledger, &backup);
    tick(env, env.t0 + Duration::hours(3)).success();
    let tag = format!("stark-{}-c1-b2", env.ledger_id());
    let mut held: Vec<String> = env.batches_at_bank()[&tag]
        .iter()
        .map(|i| i.id.clone())
        .collect();
    held.sort();
    copy_ledger(&backup, &env.ledger);
    (tag, held)
}

#[test]
fn a_ledger_restored_from_a_backup_adopts_what_the_bank_holds_instead_of_sending_again() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let (tag, held) = issue_two_batches_then_restore_after_the_first(&env);
    // The backup knows nothing of batch 2: it plans the slot again, with other people.
    let out = tick(&env, env.t0 + Duration::hours(3) + Duration::minutes(10)).success();
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
    let batches = env.batches_at_bank();
    assert_eq!(batches.len(), 2);
    let mut now_held: Vec<String> = batches[&tag].iter().map(|i| i.id.clone()).collect();
    now_held.sort();
    assert_eq!(
        now_held, held,
        "one batch's worth under {tag}, the first one"
    );
    // The ledger adopted the bank's invoices: their ids, tax ids and nominal amounts.
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!((status.as_str(), count as usize), ("issued", held.len()));
    let truth = env.truth();
    let mut recorded: Vec<String> = rows
        .iter()
        .map(|(id, tax_id, amount)| {
            let id = id.clone().expect("every invoice recorded");
            let inv = truth.invoices.iter().find(|i| i.id == id).unwrap();
            assert_eq!(*amount, inv.nominal_amount);
            assert!(is_valid_cpf(tax_id), "{tax_id}");
            id
        })
        .collect();
    recorded.sort();
    assert_eq!(recorded, held);
    env.assert_money_invariants();
}

#[test]
fn a_slot_a_restored_ledger_would_record_missed_is_adopted_from_the_bank_and_its_credits_forwarded()
{
    let env = Env::new(|c| c.pay_rate = 1.0);
    let (tag, held) = issue_two_batches_then_restore_after_the_first(&env);
    // Restored from before batch 2, the next tick falls in batch 3's window: slot 2's window
    // passed with no batch in this ledger. It used to be recorded missed without asking the
    // bank, and batch 2's credits were foreign forever.
    let out = tick(&env, env.t0 + Duration::hours(6)).success();
    let text = stdout(&out);
    assert!(text.contains("batch 2/8: issued"), "{text}");
    assert!(!text.contains("recorded as missed"), "{text}");
    assert!(text.contains("batch 3/8: issued"), "{text}");
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!((status.as_str(), count as usize), ("issued", held.len()));
    let mut recorded: Vec<String> = rows.into_iter().filter_map(|(id, _, _)| id).collect();
    recorded.sort();
    assert_eq!(recorded, held, "the bank's invoices, adopted");
    assert_eq!(
        env.batches_at_bank()[&tag].len(),
        held.len(),
        "nothing sent again"
    );
    // Its credits are ours: forwarded once.
    env.settle();
    let truth = env.truth();
    let mut credited = 0;
    for id in &held {
        let inv = truth.invoices.iter().find(|i| &i.id == id).unwrap();
        if inv.credited {
            credited += 1;
            let live = truth
                .transfers
                .iter()
                .filter(|t| t.status != "failed" && t.tags.iter().any(|g| g.contains(id.as_str())))
                .count();
            assert_eq!(live, 1, "invoice {id} is forwarded once");
        }
    }
    assert!(credited > 0, "some of batch 2 was paid by then");
    env.assert_money_invariants();
}

#[test]
fn a_batch_forgotten_by_a_restore_then_left_behind_by_a_new_campaign_is_found() {
    // Unpaid: no event ever names batch 2's invoices, only the bank's lists do.
    let env = Env::new(|c| c.pay_rate = 0.0);
    let (tag, held) = issue_two_batches_then_restore_after_the_first(&env);
    // Restored from before batch 2, the operator starts a new campaign at once: campaign 1's
    // slot 2 is never decided by a tick again (only the latest campaign's slots are).
    env.at(env.t0 + Duration::hours(3) + Duration::minutes(30))
        .run(["issue-invoices", "--new-campaign", "--force"])
        .success();
    // Superseding campaign 1 records its slot 2 missed and looks it up: the bank's batch is
    // adopted whole.
    env.settle();
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!((status.as_str(), count as usize), ("issued", held.len()));
    let mut recorded: Vec<String> = rows.into_iter().filter_map(|(id, _, _)| id).collect();
    recorded.sort();
    assert_eq!(recorded, held, "batch 2's invoices are ours again");
    // Nothing of ours at the bank is unknown to the ledger.
    env.assert_money_invariants();
}

#[test]
fn a_forgotten_slot_is_adopted_only_once_the_bank_lists_all_of_it() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let (tag, held) = issue_two_batches_then_restore_after_the_first(&env);
    // Every tag query returns a strict part: the slot is not adopted with the rest unknown.
    env.faults(&["invoice.list:list-partial=1"]);
    tick(&env, env.t0 + Duration::hours(6)).success();
    let (status, _, rows) = ledger_batch(&env, &tag);
    assert_eq!(status, "missed", "not adopted from a partial list");
    assert!(rows.is_empty(), "{rows:?}");
    // Once the list is whole, the next tick adopts all of it.
    env.faults(&[]);
    tick(&env, env.t0 + Duration::hours(6) + Duration::minutes(10)).success();
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!((status.as_str(), count as usize), ("issued", held.len()));
    let mut recorded: Vec<String> = rows.into_iter().filter_map(|(id, _, _)| id).collect();
    recorded.sort();
    assert_eq!(recorded, held);
    env.assert_money_invariants();
}

#[test]
fn a_slot_whose_window_passed_with_nothing_at_the_bank_stays_missed() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    tick(&env, env.t0).success();
    let out = tick(&env, env.t0 + Duration::hours(6)).success();
    assert!(
        stdout(&out).contains("batch 2/8: its window passed without a run; recorded as missed"),
        "{}",
        stdout(&out)
    );
    let tag = format!("stark-{}-c1-b2", env.ledger_id());
    let (status, _, _) = ledger_batch(&env, &tag);
    assert_eq!(status, "missed");
    // Looked up once: the next tick does not ask again.
    let recheck: Option<String> =
        env.sql_one("SELECT recheck_until FROM batches WHERE tag = ?1", &[&tag]);
    assert_eq!(recheck, None);
}

#[test]
fn a_partial_lookup_never_marks_a_batch_issued_with_invoices_unknown() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    // The POST takes effect but its answer is lost; every tag query returns a strict part.
    env.faults(&[
        "invoice.create:lost-response=1",
        "invoice.list:list-partial=1",
    ]);
    let _ = tick(&env, env.t0);
    let tag = format!("stark-{}-c1-b1", env.ledger_id());
    let at_bank = env.batches_at_bank();
    assert_eq!(at_bank.len(), 1, "sent once");
    let n = at_bank[&tag].len();
    let (status, _, rows) = ledger_batch(&env, &tag);
    let recorded = rows.iter().filter(|r| r.0.is_some()).count();
    // Issued only with every invoice accounted for; otherwise open, to be looked up again.
    assert!(
        status == "sending" || (status == "issued" && recorded == n),
        "{status} with {recorded} of {n} invoices recorded"
    );
    env.faults(&[]);
    let out = tick(&env, env.t0 + Duration::minutes(20)).success();
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!(status, "issued", "{}", stdout(&out));
    assert_eq!(count as usize, n);
    assert!(rows.iter().all(|r| r.0.is_some()), "{rows:?}");
    assert_eq!(rows.len(), n);
    assert_eq!(env.batches_at_bank()[&tag].len(), n, "never resent");
}

#[test]
fn a_late_effect_is_never_resent_inside_the_settle_window_and_is_adopted_once_it_applies() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    // Every create answers unclearly now and takes effect 2 minutes of business time later.
    env.faults(&["invoice.create:late-effect=1@120000"]);
    let out = tick(&env, env.t0).exits(1);
    assert!(stderr(&out).contains("no clear answer"), "{}", stderr(&out));
    // Inside the settle window: looked up, nothing there yet, nothing sent.
    let out = tick(&env, env.t0 + Duration::minutes(1)).success();
    assert!(
        stdout(&out).contains("not sent again before"),
        "{}",
        stdout(&out)
    );
    assert!(env.batches_at_bank().is_empty());
    // The late effect applies; the next tick (after the window) adopts it instead of resending.
    env.faults(&[]);
    let out = tick(&env, env.t0 + Duration::minutes(10)).success();
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    let tag = format!("stark-{}-c1-b1", env.ledger_id());
    let batches = env.batches_at_bank();
    assert_eq!(batches.len(), 1);
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!(status, "issued");
    assert_eq!(batches[&tag].len(), count as usize, "one batch's worth");
    assert!(rows.iter().all(|r| r.0.is_some()));
    // Later ticks in the slot send nothing more.
    tick(&env, env.t0 + Duration::minutes(40)).success();
    assert_eq!(env.batches_at_bank()[&tag].len(), count as usize);
}

#[test]
fn a_request_level_refusal_leaves_the_batch_open_exits_2_and_the_next_good_run_sends_it() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let tag = |env: &Env| format!("stark-{}-c1-b1", env.ledger_id());
    for (fault, code) in [
        ("invalid-access-time=1", "invalidAccessTime"),
        ("invalid-credentials=1", "invalidCredentials"),
    ] {
        env.faults(&[fault]);
        let out = tick(&env, env.t0 + Duration::minutes(1)).exits(2);
        assert!(stderr(&out).contains(code), "{}", stderr(&out));
        let (status, _, _) = ledger_batch(&env, &tag(&env));
        assert_ne!(status, "rejected", "{fault}");
        assert!(env.truth().invoices.is_empty());
    }
    env.faults(&[]);
    let out = tick(&env, env.t0 + Duration::minutes(5)).success();
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 1);
    assert_eq!(ledger_batch(&env, &tag(&env)).0, "issued");
}

#[test]
fn an_open_batch_of_an_earlier_campaign_is_resumed_and_new_campaign_refuses_while_one_is_open() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    tick(&env, t0).success();
    // The last slot (21:00) gets no clear answer: its batch stays open.
    env.faults(&["invoice.create:503=1"]);
    tick(&env, t0 + Duration::hours(21)).exits(1);
    env.faults(&[]);
    let tag = format!("stark-{}-c1-b8", env.ledger_id());
    assert_eq!(ledger_batch(&env, &tag).0, "sending");
    // Over, but a new campaign would orphan it: refused, even with --force.
    let out = env
        .at(t0 + Duration::hours(25))
        .run(["issue-invoices", "--new-campaign", "--force"])
        .exits(2);
    assert!(stderr(&out).contains("still open"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&tag), "{}", stderr(&out));
    // A ledger from an earlier version may hold a newer campaign next to an open batch.
    env.sql_exec(
        "UPDATE batches SET status = 'rejected' WHERE tag = ?1",
        &[&tag],
    );
    env.at(t0 + Duration::hours(25))
        .run(short_campaign(false, "1h", "2h"))
        .success();
    env.sql_exec(
        "UPDATE batches SET status = 'sending' WHERE tag = ?1",
        &[&tag],
    );
    // `status` shows the earlier campaign's open batch next to the latest campaign.
    let report = env.at_now().run(["status", "--json"]).success().json();
    assert_eq!(report["campaign"]["id"], 2);
    let open = &report["notes"]["open_batches"]["items"];
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|b| b["campaign_id"] == 1 && b["tag"] == tag.as_str()),
        "{report:#}"
    );
    // The next tick resumes the earlier campaign's batch too.
    let out = tick(&env, t0 + Duration::hours(25) + Duration::minutes(10)).success();
    assert!(
        stdout(&out).contains("batch 8/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(ledger_batch(&env, &tag).0, "issued");
    assert_eq!(env.batches_at_bank().len(), 3);
}

#[test]
fn a_batch_sent_twice_keeps_one_batchs_worth_and_cancels_the_unpaid_extras() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let t0 = env.t0;
    // Every create answers unclearly now and takes effect 10 minutes later: longer than the
    // settle window, so the batch is sent twice before the first copy shows up.
    env.faults(&["invoice.create:late-effect=1@600000"]);
    tick(&env, t0).exits(1);
    tick(&env, t0 + Duration::minutes(6)).exits(1);
    env.faults(&[]);
    let out = tick(&env, t0 + Duration::minutes(20)).success();
    assert!(
        stdout(&out).contains("extra invoices under its tag cancelled"),
        "{}",
        stdout(&out)
    );
    let tag = format!("stark-{}-c1-b1", env.ledger_id());
    let (status, count, rows) = ledger_batch(&env, &tag);
    assert_eq!(status, "issued");
    let at_bank = &env.batches_at_bank()[&tag];
    let live: Vec<_> = at_bank.iter().filter(|i| i.status != "canceled").collect();
    assert_eq!(live.len(), count as usize, "one batch's worth is live");
    assert_eq!(
        at_bank.len(),
        2 * count as usize,
        "the other copy is cancelled"
    );
    for (id, _, _) in &rows {
        let id = id.as_deref().expect("recorded");
        assert!(live.iter().any(|i| i.id == id), "{id} is a live invoice");
    }
    // `status` shows each cancelled extra, as a note (nothing waits for the operator).
    let report = env.at_now().run(["status", "--json"]).success().json();
    let extras = &report["notes"]["cancelled_extras"];
    assert_eq!(extras["total"], count, "{report:#}");
    for x in extras["items"].as_array().unwrap() {
        assert_eq!(x["tag"], tag.as_str());
        let id = x["invoice_id"].as_str().unwrap();
        assert!(
            at_bank.iter().any(|i| i.id == id && i.status == "canceled"),
            "{id} is cancelled at the bank"
        );
    }
    let text = env.at_now().run(["status"]).success().stdout();
    assert!(text.contains("cancelled extra"), "{text}");
    env.assert_money_invariants();
}

/// Several cron commands starting together on a ledger that does not exist yet all run:
/// switching the new file to WAL answered SQLITE_BUSY at once (no busy timeout) to all but
/// one, which failed them with "the ledger is busy".
#[test]
fn first_runs_racing_on_a_new_ledger_all_succeed() {
    for round in 0..12 {
        let env = Env::new(|c| c.pay_rate = 0.0);
        let at = env.at(env.t0);
        let children: Vec<_> = (0..6)
            .map(|_| {
                at.command(["issue-invoices"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {}", stderr(&o));
        }
        assert_eq!(env.batches_at_bank().len(), 1, "round {round}");
    }
}

/// Issue a batch whose first POST the bank applies 10 minutes late, resent after the settle
/// window and issued by the resend at t0 + 6 min; returns its tag and size. The late copy
/// appears under the tag at t0 + 10 min, after the batch was marked issued.
fn issue_with_a_late_copy(env: &Env) -> (String, usize) {
    env.faults(&["invoice.create:late-effect=1@600000"]);
    tick(env, env.t0).exits(1);
    env.faults(&[]);
    let out = tick(env, env.t0 + Duration::minutes(6)).success();
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    let tag = format!("stark-{}-c1-b1", env.ledger_id());
    let (status, count, _) = ledger_batch(env, &tag);
    assert_eq!(status, "issued");
    env.advance(Duration::minutes(5));
    let at_bank = &env.batches_at_bank()[&tag];
    assert_eq!(at_bank.len(), 2 * count as usize, "the late copy applied");
    (tag, count as usize)
}

/// A copy the bank applies after the batch was issued (a resent POST, late) is found by a
/// later tick, which looks recently issued batches up again: unpaid, it is cancelled and
/// shown in `status`. Nothing looked for it before.
#[test]
fn a_late_copy_after_a_batch_is_issued_is_found_and_cancelled_while_unpaid() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let (tag, count) = issue_with_a_late_copy(&env);
    let out = tick(&env, env.t0 + Duration::minutes(20)).success();
    assert!(
        stdout(&out).contains(&format!(
            "applied it again after it was issued: {count} extra invoices cancelled, 0 already paid"
        )),
        "{}",
        stdout(&out)
    );
    let at_bank = &env.batches_at_bank()[&tag];
    let live = at_bank.iter().filter(|i| i.status != "canceled").count();
    assert_eq!(live, count, "one batch's worth is live");
    let report = env.at_now().run(["status", "--json"]).success().json();
    assert_eq!(report["notes"]["cancelled_extras"]["total"], count);
    // Looked up once after its window: no more rechecks, nothing more sent.
    let recheck: Option<String> =
        env.sql_one("SELECT recheck_until FROM batches WHERE tag = ?1", &[&tag]);
    assert_eq!(recheck, None);
    let out = tick(&env, env.t0 + Duration::minutes(40)).success();
    assert!(
        !stdout(&out).contains("applied it again"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank()[&tag].len(), 2 * count);
    env.assert_money_invariants();
}

/// A late copy that was paid before the next tick looked can no longer be cancelled: it is
/// recorded as ours — its payer is one of the batch's, which the ledger's old
/// UNIQUE(campaign_id, tax_id) refused — and its credit is forwarded exactly once.
#[test]
fn a_late_copy_paid_before_it_is_found_is_ours_and_forwarded_once() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let (tag, count) = issue_with_a_late_copy(&env);
    let ours: Vec<String> = env
        .sql_rows(
            "SELECT invoice_id FROM invoices WHERE invoice_id IS NOT NULL",
            &[],
        )
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    let extra = env.batches_at_bank()[&tag]
        .iter()
        .find(|i| !ours.contains(&i.id))
        .unwrap()
        .clone();
    env.admin(
        "POST",
        &format!("/_sandbox/invoices/{}/pay", extra.id),
        serde_json::json!({}),
    );
    let out = tick(&env, env.t0 + Duration::minutes(20)).success();
    assert!(
        stdout(&out).contains(&format!(
            "{} extra invoices cancelled, 1 already paid recorded as ours",
            count - 1
        )),
        "{}",
        stdout(&out)
    );
    let recorded: i64 = env.sql_one(
        "SELECT COUNT(*) FROM invoices WHERE invoice_id = ?1",
        &[&extra.id],
    );
    assert_eq!(recorded, 1, "the paid copy is ours");
    env.advance(Duration::hours(1));
    env.settle();
    let paid = env.assert_money_invariants().paid;
    assert_eq!(paid, 1, "the paid copy's credit is forwarded, once");
    let truth = env.truth();
    let xfers = truth
        .transfers
        .iter()
        .filter(|t| t.tags.iter().any(|g| g.ends_with(&extra.id)))
        .count();
    assert_eq!(xfers, 1);
}

#[test]
fn a_campaign_a_restored_ledger_never_saw_is_found_at_the_bank_and_its_credits_forwarded_once() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let t0 = env.t0;
    tick(&env, t0).success();
    let backup = spare_ledger_address(&env.ledger, env.dir.path(), "backup.sqlite3");
    copy_ledger(&env.ledger, &backup);
    // After the backup: a short new campaign, issued, paid, credited and forwarded (its
    // events marked delivered) by the ledger that is then lost.
    let short = short_campaign(true, "1h", "2h");
    env.at(t0 + Duration::hours(1)).run(&short).success();
    env.advance(Duration::minutes(30));
    env.flush();
    env.at_now().run(["reconcile"]).success();
    // Batch 2's credits are consumed (their events marked delivered) but not forwarded.
    tick(&env, t0 + Duration::hours(2)).success();
    for _ in 0..2 {
        env.advance(Duration::minutes(30));
        env.flush();
        env.at_now().run(["reconcile", "--no-transfer"]).success();
    }
    let prefix = format!("stark-{}-c2", env.ledger_id());
    let truth = env.truth();
    let forgotten: Vec<_> = truth
        .invoices
        .iter()
        .filter(|i| i.tags.iter().any(|t| t == &prefix))
        .map(|i| (i.id.clone(), i.credited))
        .collect();
    let forwarded = |id: &str| {
        truth
            .transfers
            .iter()
            .any(|t| t.tags.iter().any(|g| g.contains(id)))
    };
    assert!(
        forgotten.iter().any(|(id, c)| *c && forwarded(id)),
        "some of campaign 2 was forwarded by the lost ledger: {forgotten:?}"
    );
    assert!(
        forgotten.iter().any(|(id, c)| *c && !forwarded(id)),
        "some of campaign 2 was credited and consumed, not forwarded: {forgotten:?}"
    );
    // Restored from before campaign 2: it knows nothing of it.
    copy_ledger(&backup, &env.ledger);
    let ours = env.sql_i64("SELECT COUNT(*) FROM campaigns");
    assert_eq!(ours, 1);
    for _ in 0..2 {
        env.advance(Duration::minutes(30));
        env.flush();
        env.at_now().run(["reconcile"]).success();
        env.at_now().run(["transfer-credited"]).success();
    }
    let truth = env.truth();
    // Each credit of campaign 2 has exactly one live transfer: the lost ledger's adopted, or
    // one made now; nothing else of campaign 2 was sent.
    for (id, _) in &forgotten {
        let inv = truth.invoices.iter().find(|i| &i.id == id).unwrap();
        let live = truth
            .transfers
            .iter()
            .filter(|t| t.status != "failed" && t.tags.iter().any(|g| g.contains(id.as_str())))
            .count();
        assert_eq!(live, usize::from(inv.credited), "invoice {id}");
    }
    env.assert_money_invariants();
    // A new campaign started now does not reuse the forgotten campaign's number.
    let out = env
        .at(t0 + Duration::hours(30))
        .run(["issue-invoices", "--new-campaign", "--force"])
        .success();
    assert!(
        !stdout(&out).contains(&format!("{prefix}-b")),
        "{}",
        stdout(&out)
    );
    let latest = env.sql_i64("SELECT MAX(id) FROM campaigns");
    assert_eq!(latest, 3, "campaign 2 is the bank's, already");
    env.assert_money_invariants();
}

#[test]
fn a_new_campaign_that_takes_a_forgotten_campaigns_number_leaves_none_of_it_behind() {
    let env = Env::new(|c| c.pay_rate = 1.0);
    let t0 = env.t0;
    tick(&env, t0).success();
    let backup = spare_ledger_address(&env.ledger, env.dir.path(), "backup.sqlite3");
    copy_ledger(&env.ledger, &backup);
    let campaign = |every, length| short_campaign(true, every, length);
    // The lost ledger's campaign 2: two batches, credited, consumed, not forwarded.
    env.at(t0 + Duration::hours(1))
        .run(campaign("1h", "3h"))
        .success();
    tick(&env, t0 + Duration::hours(2)).success();
    for _ in 0..2 {
        env.advance(Duration::minutes(30));
        env.flush();
        env.at_now().run(["reconcile", "--no-transfer"]).success();
    }
    let prefix = format!("stark-{}-c2", env.ledger_id());
    let b1_before = env.batches_at_bank()[&format!("{prefix}-b1")].len();
    // Restored, and a new one-batch campaign before any reconcile: it is campaign 2 too, and
    // adopts the bank's batch 1 (looked up before its first POST); batch 2 it has no row for.
    copy_ledger(&backup, &env.ledger);
    let out = env
        .at(t0 + Duration::hours(3))
        .run(campaign("1h", "1h"))
        .success();
    assert!(
        stdout(&out).contains("batch 1/1: issued"),
        "{}",
        stdout(&out)
    );
    for _ in 0..2 {
        env.advance(Duration::minutes(30));
        env.flush();
        env.at_now().run(["reconcile"]).success();
    }
    let truth = env.truth();
    let forgotten: Vec<_> = truth
        .invoices
        .iter()
        .filter(|i| i.tags.iter().any(|t| t == &prefix))
        .collect();
    assert!(
        forgotten
            .iter()
            .any(|i| i.credited && i.tags.iter().any(|t| t == &format!("{prefix}-b2"))),
        "batch 2 of campaign 2 was credited"
    );
    for inv in &forgotten {
        let live = truth
            .transfers
            .iter()
            .filter(|t| t.status != "failed" && t.tags.iter().any(|g| g.contains(inv.id.as_str())))
            .count();
        assert_eq!(live, usize::from(inv.credited), "invoice {}", inv.id);
    }
    assert_eq!(
        env.batches_at_bank()[&format!("{prefix}-b1")].len(),
        b1_before,
        "batch 1 not sent again"
    );
    env.assert_money_invariants();
}

#[test]
fn a_new_campaign_records_the_slots_it_supersedes_that_have_no_batch() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    tick(&env, env.t0).success();
    // The ledger is away when slot 2's tick runs: refused, nothing sent.
    let away = spare_ledger_address(&env.ledger, env.dir.path(), "away.sqlite3");
    copy_ledger(&env.ledger, &away);
    drop_ledger(&env.ledger);
    // A missing file, or a missing database: a configuration error, nothing sent.
    tick(&env, env.t0 + Duration::hours(3)).exits(2);
    // Put back, then superseded inside slot 2's window: slot 2 is recorded missed, not left
    // without a row that no later tick of campaign 1 would ever decide.
    copy_ledger(&away, &env.ledger);
    let out = env
        .at(env.t0 + Duration::hours(3) + Duration::minutes(20))
        .run(short_campaign(true, "1h", "2h"))
        .success();
    assert!(
        stdout(&out).contains("batch 2/8: its window passed without a run; recorded as missed"),
        "{}",
        stdout(&out)
    );
    let c1 = |slot: u32| format!("stark-{}-c1-b{slot}", env.ledger_id());
    assert_eq!(ledger_batch(&env, &c1(1)).0, "issued");
    assert_eq!(ledger_batch(&env, &c1(2)).0, "missed");
    // Slots whose windows had not opened are not campaign 1's any more: no row.
    let later = env.sql_i64("SELECT COUNT(*) FROM batches WHERE campaign_id = 1 AND slot >= 2");
    assert_eq!(later, 0);
    env.settle();
    env.assert_money_invariants();
}

/// Trial row 14: campaign flags given to a tick of a running campaign are not silently
/// ignored: a note says they apply to a new campaign only and what the campaign keeps.
#[test]
fn campaign_flags_mid_campaign_say_they_apply_to_a_new_campaign_only() {
    let env = Env::new(|_| {});
    tick(&env, env.t0).success();
    let out = env
        .at(env.t0 + Duration::minutes(10))
        .run([
            "issue-invoices",
            "--every",
            "1h",
            "--min",
            "2",
            "--max",
            "3",
        ])
        .success();
    let err = out.stderr();
    assert!(
        err.contains("note: --every, --min, --max apply to a new campaign only; c1 keeps every 3h, for 24h, 8–12 invoices"),
        "{err}"
    );
    assert!(out.stdout().contains("nothing due"), "{}", out.stdout());
    // Without campaign flags, no note.
    let out = env
        .at(env.t0 + Duration::minutes(20))
        .run(["issue-invoices"])
        .success();
    assert!(!out.stderr().contains("note:"), "{}", out.stderr());
}

/// Trial row 43: clearer names for the campaign flags, beside the old ones.
#[test]
fn campaign_length_and_invoice_count_aliases() {
    let env = Env::new(|_| {});
    let v = env
        .at(env.t0 + Duration::seconds(5))
        .run([
            "issue-invoices",
            "--campaign-length",
            "6h",
            "--min-invoices",
            "1",
            "--max-invoices",
            "2",
            "--json",
        ])
        .success()
        .json();
    let issued = &v["outcomes"][0];
    assert_eq!(issued["of"], 2, "{v}");
    assert!(
        (1..=2).contains(&issued["invoices"].as_i64().unwrap()),
        "{v}"
    );
}

#[test]
fn a_campaign_is_anchored_to_the_minute_of_its_first_run() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let first =
        env.t0 + Duration::hours(10) + Duration::minutes(20) + Duration::microseconds(21_401_515);
    tick(&env, first).success();
    let started: String = env.sql_one("SELECT started_at FROM campaigns", &[]);
    assert_eq!(started, "2026-03-02T10:20:00.000000Z");
    let status = env.at(first).run(["status", "--json"]).success().stdout();
    assert!(
        status.contains("\"2026-03-02T13:20:00.000000Z\""),
        "{status}"
    );
    assert!(!status.contains("13:20:21"), "{status}");
}

#[test]
fn a_key_in_stark_private_key_pem_signs_and_only_the_flag_beats_it() {
    let env = Env::new(|c| c.pay_rate = 0.0);
    let pem = std::fs::read_to_string(&env.key_path).unwrap();
    // Another key, not registered for the project, as a file with a safe mode.
    let other = env.dir.path().join("other.pem");
    std::fs::write(&other, stark::keys::PrivateKey::generate().to_sec1_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let at = env.at(env.t0).env("STARK_PRIVATE_KEY_PEM", &pem);
    // --private-key beats the variable: the wrong key signs, the bank refuses, nothing is sent.
    let out = at
        .clone()
        .arg("--private-key")
        .arg(&other)
        .run(["issue-invoices"])
        .exits(2);
    assert!(
        stderr(&out).contains("invalidCredentials"),
        "{}",
        stderr(&out)
    );
    assert!(env.batches_at_bank().is_empty());
    // The variable beats STARK_PRIVATE_KEY (here the wrong key): the batch is signed with the
    // key of the variable and accepted.
    let out = at
        .env("STARK_PRIVATE_KEY", &other)
        .run(["issue-invoices"])
        .success();
    assert!(
        stdout(&out).contains("batch 1/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 1);
    // With no key file anywhere, the variable alone is enough.
    std::fs::remove_file(&env.key_path).unwrap();
    let out = env
        .at(env.t0 + Duration::hours(3) + Duration::seconds(7))
        .env_remove("STARK_PRIVATE_KEY")
        .env("STARK_PRIVATE_KEY_PEM", &pem)
        .run(["issue-invoices"])
        .success();
    assert!(
        stdout(&out).contains("batch 2/8: issued"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.batches_at_bank().len(), 2);
}
