//! The central promise, checked against the bank's ground truth (the sandbox's): no extra
//! batch, no double payment, no forgotten credit. Used by `stark demo`, the integration tests
//! and the randomized simulation.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::schedule::Position;
use crate::ledger::audit::RecordedTransfer;
use crate::ledger::campaigns::{Batch, BatchStatus, Campaign};
use crate::ledger::{Ledger, LedgerError};
use crate::payout::Destination;
use crate::sandbox::GroundTruth;

/// What a campaign should look like.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Batches expected at the bank (slots minus recorded missed ones).
    pub batches: usize,
    pub min_invoices: usize,
    pub max_invoices: usize,
    /// Attempts per credit before it waits for the operator (`PayoutOptions::max_attempts`).
    pub max_attempts: usize,
    /// Business times of the `issue-invoices` runs that ran to their end. When given, the
    /// slot rule replaces the fixed count of `batches`: every slot whose window saw one of
    /// these ticks (or passed before a later one) is issued once at the bank or reported
    /// (recorded missed, or rejected), in every campaign of the ledger.
    pub issue_ticks: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    pub batches: usize,
    pub invoices: usize,
    pub credited: usize,
    pub transferred: usize,
    pub transferred_amount: i64,
    pub failed_attempts: usize,
    /// Credits whose every allowed attempt the bank confirmed failed: by design they wait for
    /// the operator (shown by `stark status`); they are not forgotten.
    pub waiting_for_operator: usize,
    pub nothing_to_forward: usize,
    pub foreign_credited: usize,
    /// Invoices beyond their batch's plan that the bank applied late and that were paid before
    /// they could be cancelled: ours, forwarded like any other.
    pub paid_extras: usize,
    pub violations: Vec<String>,
}

impl Audit {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Compare the bank's ground truth with what the ledger believes and with the promise.
/// `settled` says whether the system was given time to finish (every credit must then be paid).
pub fn audit(
    truth: &GroundTruth,
    ledger: &Ledger,
    expect: Option<&Expectations>,
    settled: bool,
) -> Result<Audit, LedgerError> {
    let mut a = Audit::default();
    let ledger_id = ledger.ledger_id()?;
    let prefix = format!("stark-{ledger_id}-c");
    let view = ledger.db().audit_view()?;
    let ours = &view.ours;
    let missed = view.missed_batches;

    // Batches: grouped by batch tag at the bank; only live invoices count (an extra that
    // `issue-invoices` cancelled is never paid and is not part of its batch).
    let live = || truth.invoices.iter().filter(|i| i.status != "canceled");
    let mut by_batch: BTreeMap<String, usize> = BTreeMap::new();
    let mut paid_by_batch: HashMap<String, usize> = HashMap::new();
    for inv in live() {
        if let Some(tag) = inv
            .tags
            .iter()
            .find(|t| crate::issuer::is_batch_tag(&ledger_id, t))
        {
            *by_batch.entry(tag.clone()).or_default() += 1;
            if inv.status == "paid" || inv.credited {
                *paid_by_batch.entry(tag.clone()).or_default() += 1;
            }
        }
    }
    a.batches = by_batch.len();
    a.invoices = by_batch.values().sum();
    let planned: HashMap<&str, u32> = view
        .campaigns
        .iter()
        .flat_map(|(_, bs)| bs.iter())
        // A missed slot planned nothing; what the bank holds under its tag is bounded below.
        .filter(|b| b.status != BatchStatus::Missed)
        .map(|b| (b.tag.as_str(), b.invoice_count))
        .collect();
    if let Some(e) = expect {
        if e.issue_ticks.is_empty() {
            let want = e.batches.saturating_sub(missed as usize);
            if a.batches != want {
                a.violations.push(format!(
                    "{} batches at the bank, expected {want} ({} slots, {missed} missed)",
                    a.batches, e.batches
                ));
            }
        } else {
            check_slots(
                &mut a,
                &ledger_id,
                &view.campaigns,
                &by_batch,
                &e.issue_ticks,
            );
        }
    }
    // No batch tag holds more live invoices than its batch planned (an extra copy of a
    // batch that was not cancelled while unpaid). A copy the bank applied late and that was
    // paid before it could be cancelled cannot be undone: it is ours and forwarded, and
    // counted in `paid_extras`. So a tag may hold more than its plan only by paid invoices:
    // its unpaid live invoices never outnumber the plan. (Which of them the batch is, the
    // ledger says: every live invoice under our tags must be known to it, checked below.)
    // A batch the ledger does not know (it was restored from an older copy) is bounded by
    // the size tag its invoices carry at the bank.
    let size_at_bank = |tag: &str| {
        let p = format!("{tag}-n");
        truth
            .invoices
            .iter()
            .flat_map(|i| &i.tags)
            .filter_map(|t| t.strip_prefix(&p)?.parse::<u32>().ok())
            .max()
    };
    let mut paid_extras: HashMap<&str, usize> = HashMap::new();
    for (tag, n) in &by_batch {
        // The size tag is the plan as it was sent; the ledger's count includes the paid
        // extras it adopted (ours, forwarded), so it is only the fallback.
        let want = size_at_bank(tag).or_else(|| planned.get(tag.as_str()).copied());
        if let Some(want) = want
            && *n > want as usize
        {
            let paid = paid_by_batch.get(tag).copied().unwrap_or(0);
            if n - paid.min(*n) > want as usize {
                a.violations.push(format!(
                    "batch {tag} holds {n} live invoices at the bank ({paid} paid), its batch planned {want}"
                ));
            } else {
                a.paid_extras += n - want as usize;
                paid_extras.insert(tag.as_str(), n - want as usize);
            }
        }
    }
    // Each batch is one batch's worth (its paid extras apart).
    if let Some(e) = expect {
        for (tag, n) in &by_batch {
            let n = n - paid_extras.get(tag.as_str()).copied().unwrap_or(0);
            if n < e.min_invoices || n > e.max_invoices {
                a.violations.push(format!(
                    "batch {tag} has {n} invoices, expected {}..={}",
                    e.min_invoices, e.max_invoices
                ));
            }
        }
    }
    // Every live invoice at the bank carrying our tags must be recorded in the ledger.
    for inv in live() {
        let tagged = inv.tags.iter().any(|t| t.starts_with(&prefix));
        if tagged && !ours.contains(&inv.id) && settled {
            a.violations.push(format!(
                "invoice {} is at the bank with our tags but not in the ledger",
                inv.id
            ));
        }
    }

    // Transfers, by the invoice they pay.
    let mut transfers: HashMap<&str, Vec<&crate::sandbox::TruthTransfer>> = HashMap::new();
    for t in &truth.transfers {
        match t
            .tags
            .iter()
            .find_map(|tag| tag.strip_prefix("stark-invoice-"))
        {
            Some(inv) => transfers.entry(inv).or_default().push(t),
            None => a.violations.push(format!(
                "transfer {} ({}) carries no invoice tag",
                t.id, t.external_id
            )),
        }
        if t.bank_code != Destination::BANK_CODE
            || t.branch_code != Destination::BRANCH_CODE
            || t.account_number != Destination::ACCOUNT_NUMBER
            || t.account_type != Destination::ACCOUNT_TYPE
            || t.tax_id != Destination::TAX_ID
        {
            a.violations
                .push(format!("transfer {} went to the wrong account", t.id));
        }
        if t.status == "failed" {
            a.failed_attempts += 1;
        }
    }
    for inv in &truth.invoices {
        let ts = transfers.remove(inv.id.as_str()).unwrap_or_default();
        let successes: Vec<_> = ts.iter().filter(|t| t.status == "success").collect();
        let live = ts.iter().filter(|t| t.status != "failed").count();
        // Ours: known to the ledger, or carrying this ledger's tags (a copy or a batch the
        // ledger forgot is ours all the same, and its credit must be forwarded).
        let is_ours = ours.contains(&inv.id) || inv.tags.iter().any(|t| t.starts_with(&prefix));
        if inv.credited {
            a.credited += usize::from(is_ours);
            a.foreign_credited += usize::from(!is_ours);
        }
        let net = inv.amount - inv.fee;
        if inv.credited && is_ours && net > 0 {
            if successes.len() > 1 || live > 1 {
                a.violations.push(format!(
                    "invoice {} paid more than once: {} successful, {live} live transfers",
                    inv.id,
                    successes.len()
                ));
            }
            for t in ts
                .iter()
                .filter(|t| t.status != "failed" && t.amount != net)
            {
                a.violations.push(format!(
                    "invoice {}: live transfer {} of {} instead of amount - fee = {net}",
                    inv.id, t.id, t.amount
                ));
            }
            if let Some(t) = successes.first() {
                a.transferred += 1;
                a.transferred_amount += t.amount;
            } else if !ts.is_empty()
                && ts.len() >= expect.map_or(usize::MAX, |e| e.max_attempts)
                && ts.iter().all(|t| t.status == "failed")
            {
                a.waiting_for_operator += 1;
            } else if settled {
                a.violations.push(format!(
                    "invoice {} was credited but never paid out",
                    inv.id
                ));
            }
        } else {
            if inv.credited && is_ours {
                a.nothing_to_forward += 1;
            }
            if !ts.is_empty() {
                a.violations.push(format!(
                    "invoice {} (credited: {}, ours: {is_ours}, net {net}) must have no transfer, has {}",
                    inv.id,
                    inv.credited,
                    ts.len()
                ));
            }
        }
    }
    for (inv, ts) in transfers {
        a.violations.push(format!(
            "{} transfers for invoice {inv}, unknown to the bank",
            ts.len()
        ));
    }

    // No other integration's event is marked delivered: every event a client marked is about
    // one of our invoices, or a transfer that pays one.
    let our_invoice = |id: &str, tags: &[String]| {
        ours.contains(id) || tags.iter().any(|t| t.starts_with(&prefix))
    };
    let tagged: HashSet<&str> = truth
        .invoices
        .iter()
        .filter(|i| our_invoice(&i.id, &i.tags))
        .map(|i| i.id.as_str())
        .collect();
    for ev in &truth.marked_delivered {
        let concerns_us = match (ev.subscription.as_str(), &ev.subject_id) {
            ("invoice", Some(id)) => our_invoice(id, &ev.subject_tags),
            ("transfer", Some(_)) => ev.subject_tags.iter().any(|t| {
                t.strip_prefix("stark-invoice-")
                    .is_some_and(|inv| tagged.contains(inv))
            }),
            _ => false,
        };
        if !concerns_us {
            a.violations.push(format!(
                "event {} ({} {}) of another integration was marked delivered",
                ev.id,
                ev.subscription,
                ev.subject_id.as_deref().unwrap_or("-")
            ));
        }
    }

    // The ledger agrees with the bank about every transfer it knows.
    let bank: HashMap<&str, &crate::sandbox::TruthTransfer> = truth
        .transfers
        .iter()
        .map(|t| (t.external_id.as_str(), t))
        .collect();
    // Transfer statuses are the ledger's stored strings until the ledger has a status type.
    for RecordedTransfer {
        external_id: ext,
        status,
        amount,
    } in view.transfers
    {
        match (bank.get(ext.as_str()), status.as_str()) {
            (Some(t), _) if t.amount != amount => a
                .violations
                .push(format!("{ext}: ledger amount {amount}, bank {}", t.amount)),
            (Some(t), s @ ("success" | "failed")) if settled && t.status != s => a
                .violations
                .push(format!("{ext}: ledger says {s}, bank says {}", t.status)),
            (None, "success" | "created" | "processing") => a.violations.push(format!(
                "{ext}: ledger says {status}, the bank has no such transfer"
            )),
            _ => {}
        }
    }
    Ok(a)
}

/// The slot rule: in every campaign, every slot whose window saw a tick (or passed before a
/// later tick of the same campaign) is issued once at the bank (its tag holds live invoices)
/// or reported — recorded missed or rejected, with nothing at the bank. A tick belongs to
/// the latest campaign started at or before it.
fn check_slots(
    a: &mut Audit,
    ledger_id: &str,
    campaigns: &[(Campaign, Vec<Batch>)],
    by_batch: &BTreeMap<String, usize>,
    ticks: &[DateTime<Utc>],
) {
    for (i, (c, batches)) in campaigns.iter().enumerate() {
        let until = campaigns.get(i + 1).map(|(n, _)| n.started_at);
        let schedule = c.schedule();
        let passed = ticks
            .iter()
            .filter(|t| **t >= c.started_at && until.is_none_or(|u| **t < u))
            .map(|t| match schedule.position(*t) {
                Position::Before => 0,
                Position::Slot(k) => k + 1,
                Position::After => c.slots(),
            })
            .max()
            .unwrap_or(0);
        for slot in 0..passed {
            let batch = batches.iter().find(|b| b.slot == slot);
            let tag = batch.map_or_else(
                || format!("stark-{ledger_id}-c{}-b{}", c.id, slot + 1),
                |b| b.tag.clone(),
            );
            let at_bank = by_batch.get(&tag).copied().unwrap_or(0);
            let what = format!("campaign c{} slot {}/{}", c.id, slot + 1, c.slots());
            match batch.map(|b| b.status) {
                // Issued at the bank, unknown to the ledger (restored from an older copy): the
                // slot is issued once; its invoices and credits are checked on their own.
                None if at_bank > 0 => {}
                None => a.violations.push(format!(
                    "{what}: its window saw a tick, neither the ledger nor the bank has its batch"
                )),
                Some(BatchStatus::Issued) if at_bank > 0 => {}
                Some(BatchStatus::Missed | BatchStatus::Rejected) if at_bank == 0 => {}
                Some(s) => a.violations.push(format!(
                    "{what}: ledger says {}, the bank holds {at_bank} live invoices under {}",
                    s.as_str(),
                    tag
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::scratch_ledger;
    use crate::sandbox::{TruthInvoice, TruthMarkedEvent, TruthTransfer};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
    }

    /// A ledger with campaign 1 (8 slots of 3 h from `t0`) whose slot 0 issued invoices `A1`
    /// and `A2` (planned 2); the bank's truth holds both, credited (1000 − 10) and each paid
    /// once. The tag of slot 0 is returned too.
    fn fixture() -> (tempfile::TempDir, Ledger, GroundTruth, String) {
        let (dir, ledger) = scratch_ledger();
        let lid = ledger.ledger_id().unwrap();
        let tag = format!("stark-{lid}-c1-b1");
        ledger
            .db()
            .fixture_sql(&format!(
                "INSERT INTO campaigns VALUES (1, '2026-03-02T00:00:00Z', 10800, 8, 1, 12, 1000, 100000, 'x');
                 INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
                   VALUES (1, 1, 0, '{tag}', 'issued', 2, 2000, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z');
                 INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
                   VALUES (1, 1, 0, 'A', '1', 1000, 'A1', 'paid', 'x'), (1, 1, 1, 'B', '2', 1000, 'A2', 'paid', 'x');"
            ))
            .unwrap();
        let truth = GroundTruth {
            invoices: ["A1", "A2"].iter().map(|id| invoice(id, &tag)).collect(),
            transfers: ["A1", "A2"].iter().map(|id| transfer(id, 990)).collect(),
            balance: 0,
            events: 0,
            undelivered_events: 0,
            marked_delivered: Vec::new(),
        };
        (dir, ledger, truth, tag)
    }

    fn invoice(id: &str, tag: &str) -> TruthInvoice {
        TruthInvoice {
            id: id.into(),
            status: "paid".into(),
            amount: 1000,
            nominal_amount: 1000,
            fee: 10,
            tags: vec![tag.to_string(), format!("{tag}-n2")],
            credited: true,
            credited_at: Some(t0()),
        }
    }

    /// An invoice under `tag` that is not paid yet.
    fn unpaid(id: &str, tag: &str) -> TruthInvoice {
        let mut i = invoice(id, tag);
        unpay_one(&mut i);
        i
    }

    fn unpay_one(i: &mut TruthInvoice) {
        i.status = "created".into();
        i.credited = false;
        i.credited_at = None;
    }

    /// Make the invoices `which` picks unpaid, and drop their transfers.
    fn unpay(truth: &mut GroundTruth, which: impl Fn(&TruthInvoice) -> bool) {
        let mut tags = Vec::new();
        for i in truth.invoices.iter_mut().filter(|i| which(i)) {
            unpay_one(i);
            tags.push(format!("stark-invoice-{}", i.id));
        }
        truth
            .transfers
            .retain(|t| !t.tags.iter().any(|g| tags.contains(g)));
    }

    fn transfer(invoice: &str, amount: i64) -> TruthTransfer {
        TruthTransfer {
            id: format!("T{invoice}-{amount}"),
            external_id: format!("x-{invoice}-{amount}"),
            amount,
            status: "success".into(),
            fee: 0,
            tags: vec![format!("stark-invoice-{invoice}")],
            tax_id: Destination::TAX_ID.into(),
            bank_code: Destination::BANK_CODE.into(),
            branch_code: Destination::BRANCH_CODE.into(),
            account_number: Destination::ACCOUNT_NUMBER.into(),
            account_type: Destination::ACCOUNT_TYPE.into(),
            name: "x".into(),
        }
    }

    fn expect(ticks: &[DateTime<Utc>]) -> Expectations {
        Expectations {
            batches: 1,
            min_invoices: 1,
            max_invoices: 12,
            max_attempts: 3,
            issue_ticks: ticks.to_vec(),
        }
    }

    fn violations(truth: &GroundTruth, ledger: &Ledger, e: &Expectations) -> Vec<String> {
        audit(truth, ledger, Some(e), true).unwrap().violations
    }

    fn has(v: &[String], needle: &str) -> bool {
        v.iter().any(|m| m.contains(needle))
    }

    /// The audit (no ticks given) reports a violation that contains `needle`.
    fn assert_caught(truth: &GroundTruth, ledger: &Ledger, needle: &str) {
        assert_caught_at(truth, ledger, &[], needle);
    }

    /// The audit, given these ticks, reports a violation that contains `needle`.
    fn assert_caught_at(
        truth: &GroundTruth,
        ledger: &Ledger,
        ticks: &[DateTime<Utc>],
        needle: &str,
    ) {
        let v = violations(truth, ledger, &expect(ticks));
        assert!(has(&v, needle), "no {needle:?} in {v:?}");
    }

    /// The audit finds no batch tag above its plan: how many paid extras it counted.
    fn paid_extras_without_excess(truth: &GroundTruth, ledger: &Ledger) -> usize {
        let a = audit(truth, ledger, Some(&expect(&[t0()])), true).unwrap();
        assert!(!has(&a.violations, "live invoices"), "{:?}", a.violations);
        a.paid_extras
    }

    #[test]
    fn a_clean_campaign_passes_with_ticks_or_a_fixed_count() {
        let (_d, ledger, truth, _) = fixture();
        assert_eq!(
            violations(&truth, &ledger, &expect(&[t0()])),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&truth, &ledger, &expect(&[])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_batch_tag_with_more_live_invoices_than_planned_is_caught() {
        let (_d, ledger, mut truth, tag) = fixture();
        truth.invoices.push(unpaid("A3", &tag));
        // Unpaid and not cancelled: an extra the ledger does not know.
        assert_caught_at(
            &truth,
            &ledger,
            &[t0()],
            "invoice A3 is at the bank with our tags but not in the ledger",
        );
        // More unpaid invoices than the plan: an extra batch, whatever the ledger knows.
        let saved = (truth.invoices.clone(), truth.transfers.clone());
        unpay(&mut truth, |_| true);
        assert_caught_at(
            &truth,
            &ledger,
            &[t0()],
            "holds 3 live invoices at the bank (0 paid), its batch planned 2",
        );
        (truth.invoices, truth.transfers) = saved;
        // Cancelled, the extra does not count.
        truth.invoices.last_mut().unwrap().status = "canceled".into();
        assert!(violations(&truth, &ledger, &expect(&[t0()])).is_empty());
        // A batch the ledger forgot is bounded by its size tag.
        let forgotten = tag.replace("-b1", "-b2");
        for id in ["B1", "B2", "B3"] {
            truth.invoices.push(invoice(id, &forgotten));
            truth.transfers.push(transfer(id, 990));
        }
        unpay(&mut truth, |i| i.tags.contains(&forgotten));
        assert_caught(
            &truth,
            &ledger,
            &format!(
                "batch {forgotten} holds 3 live invoices at the bank (0 paid), its batch planned 2"
            ),
        );
    }

    #[test]
    fn a_batchs_size_is_checked_without_its_paid_extras() {
        let (_d, ledger, mut truth, tag) = fixture();
        truth.invoices.push(invoice("A3", &tag));
        truth.transfers.push(transfer("A3", 990));
        let tight = Expectations {
            max_invoices: 2,
            ..expect(&[t0()])
        };
        let v = violations(&truth, &ledger, &tight);
        assert!(!has(&v, "invoices, expected"), "{v:?}");
        // Unpaid, none of them is a paid extra: the batch is too big.
        unpay(&mut truth, |_| true);
        let v = violations(&truth, &ledger, &tight);
        assert!(has(&v, "has 3 invoices, expected 1..=2"), "{v:?}");
    }

    #[test]
    fn a_batch_that_recorded_its_paid_extras_is_sized_by_its_plan() {
        // Both copies of a batch were paid before its lookup: the ledger records the paid
        // extra as part of the batch (3 invoices), the size tag still says 2.
        let (_d, ledger, mut truth, tag) = fixture();
        ledger
            .db()
            .fixture_sql(
                "UPDATE batches SET invoice_count = 3, total_amount = 3000 WHERE id = 1;
                 INSERT INTO invoices(batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, updated_at)
                   VALUES (1, 1, 2, 'A', '1', 1000, 'A3', 'paid', 'x');",
            )
            .unwrap();
        truth.invoices.push(invoice("A3", &tag));
        truth.transfers.push(transfer("A3", 990));
        let tight = Expectations {
            max_invoices: 2,
            ..expect(&[t0()])
        };
        let a = audit(&truth, &ledger, Some(&tight), true).unwrap();
        assert_eq!(a.violations, Vec::<String>::new());
        assert_eq!(a.paid_extras, 1);
        // All unpaid, the third is above the plan, whatever the ledger's count says.
        unpay(&mut truth, |_| true);
        let v = violations(&truth, &ledger, &tight);
        assert!(
            has(
                &v,
                "holds 3 live invoices at the bank (0 paid), its batch planned 2"
            ),
            "{v:?}"
        );
    }

    #[test]
    fn a_late_copy_paid_before_it_could_be_cancelled_is_counted_not_a_violation() {
        let (_d, ledger, mut truth, tag) = fixture();
        // Both planned invoices and a late copy of one of them are paid and forwarded.
        truth.invoices.push(invoice("A3", &tag));
        truth.transfers.push(transfer("A3", 990));
        assert_eq!(paid_extras_without_excess(&truth, &ledger), 1);
        // A planned one still unpaid beside the paid copy: the same.
        unpay(&mut truth, |i| i.id == "A1");
        assert_eq!(paid_extras_without_excess(&truth, &ledger), 1);
        // Two more copies, unpaid: more unpaid invoices than the plan, extras not cancelled.
        truth
            .invoices
            .extend(["A4", "A5"].map(|id| unpaid(id, &tag)));
        let a = audit(&truth, &ledger, Some(&expect(&[t0()])), true).unwrap();
        assert!(
            has(&a.violations, "holds 5 live invoices at the bank (2 paid)"),
            "{:?}",
            a.violations
        );
        assert_eq!(a.paid_extras, 0);
    }

    #[test]
    fn a_credit_under_our_tags_unknown_to_the_ledger_must_be_paid_once() {
        let (_d, ledger, mut truth, tag) = fixture();
        // A copy of the batch the ledger never recorded, paid and credited: ours all the same.
        truth
            .invoices
            .push(invoice("C1", &tag.replace("-b1", "-b2")));
        assert_caught(
            &truth,
            &ledger,
            "invoice C1 was credited but never paid out",
        );
        truth.transfers.push(transfer("C1", 990));
        let v = violations(&truth, &ledger, &expect(&[]));
        assert!(!has(&v, "C1 was credited"), "{v:?}");
        truth.transfers.push(transfer("C1", 991));
        assert_caught(&truth, &ledger, "invoice C1 paid more than once");
    }

    #[test]
    fn a_live_transfer_of_the_wrong_amount_is_caught() {
        let (_d, ledger, mut truth, _) = fixture();
        truth.transfers[0].amount = 1000;
        truth.transfers[0].status = "processing".into();
        let v = audit(&truth, &ledger, Some(&expect(&[])), false)
            .unwrap()
            .violations;
        assert!(
            has(
                &v,
                "invoice A1: live transfer TA1-990 of 1000 instead of amount - fee = 990"
            ),
            "{v:?}"
        );
    }

    #[test]
    fn a_transfer_for_anything_but_our_credits_is_caught() {
        let (_d, ledger, mut truth, _) = fixture();
        let mut foreign = invoice("F1", "someone-else");
        foreign.tags = vec!["someone-else".into()];
        truth.invoices.push(foreign);
        truth.transfers.push(transfer("F1", 990));
        assert_caught(
            &truth,
            &ledger,
            "invoice F1 (credited: true, ours: false, net 990) must have no transfer, has 1",
        );
    }

    #[test]
    fn another_integrations_event_marked_delivered_is_caught() {
        let (_d, ledger, mut truth, tag) = fixture();
        let marked = |id: &str, sub: &str, subject: &str, tags: Vec<String>| TruthMarkedEvent {
            id: id.into(),
            subscription: sub.into(),
            subject_id: Some(subject.into()),
            subject_tags: tags,
        };
        truth.marked_delivered = vec![
            marked("E1", "invoice", "A1", vec![tag.clone()]),
            marked("E2", "transfer", "TA1", vec!["stark-invoice-A1".into()]),
        ];
        assert!(violations(&truth, &ledger, &expect(&[])).is_empty());
        truth
            .marked_delivered
            .push(marked("E3", "invoice", "F1", vec!["other".into()]));
        truth.marked_delivered.push(marked(
            "E4",
            "transfer",
            "TF",
            vec!["stark-invoice-F1".into()],
        ));
        assert_caught(
            &truth,
            &ledger,
            "event E3 (invoice F1) of another integration was marked delivered",
        );
        assert_caught(
            &truth,
            &ledger,
            "event E4 (transfer TF) of another integration was marked delivered",
        );
    }

    #[test]
    fn every_slot_whose_window_saw_a_tick_is_issued_once_or_reported() {
        let (_d, ledger, truth, tag) = fixture();
        let lid = ledger.ledger_id().unwrap();
        // A tick in slot 2's window: slot 2 has no batch in the ledger.
        let slot2 = t0() + chrono::Duration::hours(3);
        assert_caught_at(
            &truth,
            &ledger,
            &[t0(), slot2],
            "campaign c1 slot 2/8: its window saw a tick, neither the ledger nor the bank has its batch",
        );
        // At the bank though unknown to the ledger, it is issued (its invoices are not in the
        // ledger, which the audit reports on its own).
        let mut at_bank = truth.clone();
        at_bank
            .invoices
            .push(invoice("B1", &format!("stark-{lid}-c1-b2")));
        at_bank.transfers.push(transfer("B1", 990));
        let v = violations(&at_bank, &ledger, &expect(&[t0(), slot2]));
        assert_eq!(
            v,
            ["invoice B1 is at the bank with our tags but not in the ledger"]
        );
        // Reported as missed: fine. Left planned: not.
        ledger
            .db()
            .fixture_sql(&format!(
                "INSERT INTO batches(id, campaign_id, slot, tag, status, invoice_count, total_amount, due_at, created_at, updated_at)
                   VALUES (2, 1, 1, 'stark-{lid}-c1-b2', 'missed', 0, 0, '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z')"
            ))
            .unwrap();
        assert!(violations(&truth, &ledger, &expect(&[t0(), slot2])).is_empty());
        ledger
            .db()
            .fixture_sql("UPDATE batches SET status = 'planned' WHERE id = 2")
            .unwrap();
        assert_caught_at(
            &truth,
            &ledger,
            &[t0(), slot2],
            "campaign c1 slot 2/8: ledger says planned, the bank holds 0 live invoices",
        );
        // Missed in the ledger while the bank holds the batch: not reported truthfully.
        ledger
            .db()
            .fixture_sql("UPDATE batches SET status = 'missed' WHERE id = 1")
            .unwrap();
        assert_caught_at(
            &truth,
            &ledger,
            &[t0()],
            &format!(
                "campaign c1 slot 1/8: ledger says missed, the bank holds 2 live invoices under {tag}"
            ),
        );
    }

    #[test]
    fn a_tick_counts_for_the_campaign_running_at_its_time() {
        let (_d, ledger, truth, _) = fixture();
        let later = t0() + chrono::Duration::hours(4);
        ledger
            .db()
            .fixture_sql(
                "INSERT INTO campaigns VALUES (2, '2026-03-02T04:00:00Z', 10800, 8, 1, 12, 1000, 100000, 'x')",
            )
            .unwrap();
        // The tick at +4 h started campaign 2 (slot 1 of campaign 1 is no longer due), and
        // campaign 2 has no batch for its slot 1.
        let v = violations(&truth, &ledger, &expect(&[t0(), later]));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            has(
                &v,
                "campaign c2 slot 1/8: its window saw a tick, neither the ledger nor the bank has its batch"
            ),
            "{v:?}"
        );
    }
}
