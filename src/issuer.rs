//! `issue-invoices` as a library: one cron tick of the campaign.
//!
//! A tick first decides, from the ledger alone (no key, no HTTP client, no runtime), what is
//! due. Claiming a slot inserts its batch — with the exact request body — inside
//! `BEGIN IMMEDIATE`, guarded by `UNIQUE(campaign_id, slot)`, so two overlapping ticks claim it
//! once. Sending takes a lease on the batch; a batch whose POST may have happened (`sending`)
//! is looked up by its tag before it is ever sent again.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::api::model::{Invoice, InvoiceRequest};
use crate::api::{ApiError, Client, Query};
use crate::domain::people::random_people;
use crate::domain::schedule::Position;
use crate::ledger::campaign::{
    self as store, Batch, BatchStatus, Campaign, NewCampaign, PlannedInvoice,
};
use crate::ledger::{Ledger, LedgerError};

/// How long a sending tick holds a batch; longer than one request's timeout.
pub const LEASE_SECS: i64 = 300;
/// Attempts (POSTs plus lookups) per batch within one tick.
pub const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone)]
pub struct CampaignParams {
    pub every: Duration,
    pub length: Duration,
    pub min_invoices: u32,
    pub max_invoices: u32,
    pub min_amount: i64,
    pub max_amount: i64,
}

impl Default for CampaignParams {
    fn default() -> Self {
        CampaignParams {
            every: Duration::hours(3),
            length: Duration::hours(24),
            min_invoices: 8,
            max_invoices: 12,
            min_amount: 1_000,
            max_amount: 100_000,
        }
    }
}

impl CampaignParams {
    pub fn validate(&self) -> Result<u32, String> {
        if self.every <= Duration::zero() {
            return Err("--every must be positive".into());
        }
        if self.length < self.every {
            return Err("--for must be at least one --every interval".into());
        }
        let slots = self.length.num_seconds() / self.every.num_seconds();
        if slots > 10_000 {
            return Err("a campaign of more than 10000 batches is surely a mistake".into());
        }
        if self.min_invoices == 0
            || self.min_invoices > self.max_invoices
            || self.max_invoices > 100
        {
            return Err(
                "need 1 <= --min <= --max <= 100 (the API takes at most 100 invoices per request)"
                    .into(),
            );
        }
        if self.min_amount < 0 || self.min_amount > self.max_amount {
            return Err("need 0 <= --min-amount <= --max-amount".into());
        }
        Ok(slots as u32)
    }
}

#[derive(Debug, Clone, Default)]
pub struct TickOptions {
    pub params: CampaignParams,
    pub new_campaign: bool,
    pub force: bool,
    pub catch_up: bool,
}

/// What a tick did, for the summary line and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Outcome {
    Issued {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        invoices: u32,
        amount: i64,
        resumed: bool,
    },
    NothingDue {
        campaign: i64,
        reason: String,
        next_batch: Option<u32>,
        of: u32,
        next_due: Option<String>,
    },
    Complete {
        campaign: i64,
        issued: u32,
        missed: u32,
        of: u32,
    },
    Busy {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
    },
    Rejected {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        errors: Vec<crate::api::model::ApiErrorItem>,
    },
    Unresolved {
        campaign: i64,
        batch: u32,
        of: u32,
        tag: String,
        error: String,
    },
    Missed {
        campaign: i64,
        batch: u32,
        of: u32,
    },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Rejected { .. } | Outcome::Unresolved { .. })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Usage(String),
}

/// The decision made from the ledger: batches to send (in order) and notes.
#[derive(Debug, Default)]
pub struct Plan {
    pub campaign: Option<Campaign>,
    pub to_send: Vec<Batch>,
    pub notes: Vec<Outcome>,
}

pub fn campaign_tag(ledger_id: &str, campaign: i64) -> String {
    format!("stark-{ledger_id}-c{campaign}")
}

pub fn batch_tag(ledger_id: &str, campaign: i64, slot: u32) -> String {
    debug_assert!(is_batch_tag(
        ledger_id,
        &format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
    ));
    format!("stark-{ledger_id}-c{campaign}-b{}", slot + 1)
}

/// Whether `tag` is one of this ledger's batch tags (`stark-<ledger>-c<N>-b<M>`), as opposed
/// to its campaign tags (`stark-<ledger>-c<N>`) or anything else.
pub fn is_batch_tag(ledger_id: &str, tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix(&format!("stark-{ledger_id}-c")) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    matches!(rest.split_once("-b"), Some((c, b)) if digits(c) && digits(b))
}

/// Decide what this tick must do, from the ledger alone, claiming the due slot.
pub fn plan(
    ledger: &mut Ledger,
    now: DateTime<Utc>,
    opts: &TickOptions,
) -> Result<Plan, IssueError> {
    let slots = opts.params.validate().map_err(IssueError::Usage)?;
    let ledger_id = ledger.ledger_id()?;
    let path = ledger.path().to_path_buf();
    let sql = |e: rusqlite::Error| IssueError::Ledger(crate::ledger::classify(&path, e));
    ledger.write_raw(|tx| {
        let mut plan = Plan::default();
        let mut campaign = store::latest_campaign(tx).map_err(sql)?;
        if let Some(c) = &campaign {
            let over = c.schedule().position(now) == Position::After;
            if opts.new_campaign && !over && !opts.force {
                return Err(IssueError::Usage(format!(
                    "campaign c{} is still running (until {}); pass --force to start a new one anyway",
                    c.id,
                    store::ts(c.schedule().ends())
                )));
            }
        }
        let start_new = campaign.is_none() || opts.new_campaign;
        if start_new {
            let p = &opts.params;
            let c = store::insert_campaign(
                tx,
                &NewCampaign {
                    started_at: now,
                    interval: p.every,
                    slots,
                    min_invoices: p.min_invoices,
                    max_invoices: p.max_invoices,
                    min_amount: p.min_amount,
                    max_amount: p.max_amount,
                },
                now,
            )
            .map_err(sql)?;
            tracing::info!(campaign = c.id, slots, "started a new campaign");
            campaign = Some(c);
        }
        let c = campaign.expect("set above");
        let schedule = c.schedule();
        let existing = store::batches(tx, c.id).map_err(sql)?;
        let has = |slot: u32| existing.iter().find(|b| b.slot == slot);

        // Unfinished batches first (a crash or an unclear answer in an earlier tick).
        plan.to_send.extend(existing.iter().filter(|b| b.status.is_open()).cloned());

        let position = schedule.position(now);
        let upto = match position {
            Position::Before => 0,
            Position::Slot(k) => k,
            Position::After => c.slots,
        };
        // Slots whose window passed: missed, or planned now with --catch-up.
        for slot in 0..upto {
            match has(slot) {
                None if opts.catch_up => {
                    if let Some(b) = claim(tx, &c, &ledger_id, slot, now).map_err(sql)? {
                        plan.to_send.push(b);
                    }
                }
                None => {
                    store::insert_missed(tx, &c, slot, &batch_tag(&ledger_id, c.id, slot), now).map_err(sql)?;
                    tracing::warn!(campaign = c.id, batch = slot + 1, "slot window passed without a run: recorded as missed");
                    plan.notes.push(Outcome::Missed { campaign: c.id, batch: slot + 1, of: c.slots });
                }
                Some(b) if b.status == BatchStatus::Missed && opts.catch_up => {
                    tx.execute(crate::ledger::campaign::sql::DELETE_MISSED, [b.id]).map_err(sql)?;
                    if let Some(b) = claim(tx, &c, &ledger_id, slot, now).map_err(sql)? {
                        plan.to_send.push(b);
                    }
                }
                Some(_) => {}
            }
        }
        match position {
            Position::Slot(k) if has(k).is_none() => {
                if let Some(b) = claim(tx, &c, &ledger_id, k, now).map_err(sql)? {
                    plan.to_send.push(b);
                }
            }
            Position::Slot(k) => {
                let next = k + 1;
                plan.notes.push(nothing_due(&c, format!("batch {}/{} already {}", k + 1, c.slots, has(k).map(|b| b.status.as_str()).unwrap_or("issued")), next));
            }
            Position::Before => plan.notes.push(nothing_due(&c, "the campaign has not started".into(), 0)),
            Position::After => {}
        }
        plan.campaign = Some(c);
        Ok(plan)
    })
}

fn nothing_due(c: &Campaign, reason: String, next: u32) -> Outcome {
    let more = next < c.slots;
    Outcome::NothingDue {
        campaign: c.id,
        reason,
        next_batch: more.then_some(next + 1),
        of: c.slots,
        next_due: more.then(|| store::ts(c.schedule().due(next))),
    }
}

/// Generate a slot's invoices and insert its batch. `None` if another tick claimed it.
fn claim(
    tx: &rusqlite::Transaction<'_>,
    c: &Campaign,
    ledger_id: &str,
    slot: u32,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<Batch>> {
    use rand::Rng;
    let count = rand::thread_rng().gen_range(c.min_invoices..=c.max_invoices) as usize;
    let taken = store::campaign_tax_ids(tx, c.id)?;
    let people = random_people(count, c.min_amount, c.max_amount, &taken);
    let tag = batch_tag(ledger_id, c.id, slot);
    let tags = vec![campaign_tag(ledger_id, c.id), tag.clone()];
    let requests: Vec<InvoiceRequest> = people
        .iter()
        .map(|p| InvoiceRequest {
            amount: p.amount,
            tax_id: p.tax_id.clone(),
            name: p.name.clone(),
            due: None,
            tags: tags.clone(),
        })
        .collect();
    let body = serde_json::to_string(&serde_json::json!({ "invoices": requests }))
        .expect("invoice requests serialize");
    let planned: Vec<PlannedInvoice> = people
        .into_iter()
        .enumerate()
        .map(|(i, p)| PlannedInvoice {
            position: i as u32,
            name: p.name,
            tax_id: p.tax_id,
            amount: p.amount,
        })
        .collect();
    match store::insert_planned(tx, c, slot, &tag, &body, &planned, now)? {
        Some(id) => store::batch(tx, id),
        None => Ok(None),
    }
}

/// Does the plan need the network at all?
pub fn needs_network(plan: &Plan) -> bool {
    !plan.to_send.is_empty()
}

/// Send every batch of the plan (async: needs the API client).
pub async fn send(
    ledger: &mut Ledger,
    client: &Client,
    plan: &Plan,
    now: DateTime<Utc>,
    backoff: StdDuration,
) -> Result<Vec<Outcome>, IssueError> {
    let c = plan
        .campaign
        .as_ref()
        .expect("a plan with work has a campaign");
    let mut outcomes = Vec::new();
    for b in &plan.to_send {
        outcomes.push(send_batch(ledger, client, c, b, now, backoff).await?);
    }
    Ok(outcomes)
}

async fn send_batch(
    ledger: &mut Ledger,
    client: &Client,
    c: &Campaign,
    b: &Batch,
    now: DateTime<Utc>,
    backoff: StdDuration,
) -> Result<Outcome, IssueError> {
    let path = ledger.path().to_path_buf();
    let sql = |e: rusqlite::Error| IssueError::Ledger(crate::ledger::classify(&path, e));
    let batch_no = b.slot + 1;
    let Some(batch) = ledger.write_raw(|tx| {
        store::take_lease(tx, b.id, crate::ledger::lease::wall_now(), LEASE_SECS, now).map_err(sql)
    })?
    else {
        return Ok(Outcome::Busy {
            campaign: c.id,
            batch: batch_no,
            of: c.slots,
            tag: b.tag.clone(),
        });
    };
    // `sending` with an earlier attempt: a POST may have happened. Look before sending.
    let mut must_look = batch.attempts > 1 || b.status == BatchStatus::Sending;
    let resumed = batch.attempts > 1;
    let body = batch.body.clone().unwrap_or_default();
    let mut last_error = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(crate::api::client::backoff_delay(backoff, attempt - 1)).await;
            store::renew_lease(
                ledger.conn(),
                batch.id,
                crate::ledger::lease::wall_now() + LEASE_SECS,
            )
            .map_err(sql)?;
        }
        if must_look {
            match lookup(client, &batch.tag).await {
                Ok(found) if !found.is_empty() => {
                    tracing::info!(tag = %batch.tag, found = found.len(), "batch found at the bank; recording it");
                    return record_issued(ledger, c, &batch, &found, now, true);
                }
                Ok(_) => tracing::info!(tag = %batch.tag, "batch not at the bank; sending it"),
                Err(e) => {
                    last_error = format!("looking up {}: {e}", batch.tag);
                    tracing::warn!(tag = %batch.tag, error = %e, "lookup failed");
                    continue;
                }
            }
        }
        match client.create_invoices_raw(body.as_bytes()).await {
            Ok(created) => return record_issued(ledger, c, &batch, &created, now, resumed),
            Err(ApiError::Rejected { errors, .. }) => {
                let json = serde_json::to_string(&errors).unwrap_or_default();
                ledger
                    .write_raw(|tx| store::mark_rejected(tx, batch.id, &json, now).map_err(sql))?;
                return Ok(Outcome::Rejected {
                    campaign: c.id,
                    batch: batch_no,
                    of: c.slots,
                    tag: batch.tag.clone(),
                    errors,
                });
            }
            Err(e) => {
                must_look = e.is_ambiguous();
                last_error = e.to_string();
                tracing::warn!(tag = %batch.tag, error = %e, ambiguous = must_look, "invoice POST failed");
            }
        }
    }
    store::note_error(ledger.conn(), batch.id, &last_error, now).map_err(sql)?;
    Ok(Outcome::Unresolved {
        campaign: c.id,
        batch: batch_no,
        of: c.slots,
        tag: batch.tag.clone(),
        error: last_error,
    })
}

async fn lookup(client: &Client, tag: &str) -> Result<Vec<Invoice>, ApiError> {
    client
        .list_all("invoice", "invoices", Query::new().set("tags", tag))
        .await
}

fn record_issued(
    ledger: &mut Ledger,
    c: &Campaign,
    batch: &Batch,
    invoices: &[Invoice],
    now: DateTime<Utc>,
    resumed: bool,
) -> Result<Outcome, IssueError> {
    let path = ledger.path().to_path_buf();
    let matched = ledger.write_raw(|tx| {
        store::mark_issued(tx, batch.id, invoices, now)
            .map_err(|e| IssueError::Ledger(crate::ledger::classify(&path, e)))
    })?;
    if matched != batch.invoice_count as usize || invoices.len() != batch.invoice_count as usize {
        tracing::warn!(tag = %batch.tag, expected = batch.invoice_count, got = invoices.len(), matched, "the bank's batch differs from the planned one");
    }
    Ok(Outcome::Issued {
        campaign: c.id,
        batch: batch.slot + 1,
        of: c.slots,
        tag: batch.tag.clone(),
        invoices: invoices.len() as u32,
        amount: invoices
            .iter()
            .map(|i| i.nominal_amount.max(i.amount))
            .sum(),
        resumed,
    })
}

/// The tick's final word when nothing was sent and the campaign is over.
pub fn completion(
    ledger: &Ledger,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>, LedgerError> {
    let Some(c) = &plan.campaign else {
        return Ok(None);
    };
    if c.schedule().position(now) != Position::After || !plan.to_send.is_empty() {
        return Ok(None);
    }
    let bs = store::batches(ledger.conn(), c.id).map_err(|e| ledger.err(e))?;
    Ok(Some(Outcome::Complete {
        campaign: c.id,
        issued: bs
            .iter()
            .filter(|b| b.status == BatchStatus::Issued)
            .count() as u32,
        missed: bs
            .iter()
            .filter(|b| b.status == BatchStatus::Missed)
            .count() as u32,
        of: c.slots,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_tags_are_told_from_campaign_tags_whatever_the_ledger_id() {
        // A ledger id starting with `b` once made the campaign tag look like a batch tag.
        for lid in ["bsdkjp", "abc123", "b2b2b2"] {
            assert!(is_batch_tag(lid, &batch_tag(lid, 1, 0)));
            assert!(is_batch_tag(lid, &batch_tag(lid, 12, 7)));
            assert!(!is_batch_tag(lid, &campaign_tag(lid, 1)));
            assert!(!is_batch_tag(lid, &format!("stark-{lid}-c1-b")));
            assert!(!is_batch_tag(lid, &format!("stark-{lid}-c1-bx")));
            assert!(!is_batch_tag("other1", &batch_tag(lid, 1, 0)));
        }
    }
}
