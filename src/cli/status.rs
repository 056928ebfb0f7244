//! `stark status`: what the ledger says, as tables (or `--json`). Read-only: it never creates a
//! ledger, builds no async runtime and no HTTP client.
//!
//! A missing ledger exits 2 like every other command: the path may be mistyped or the ledger
//! deleted, and "nothing has happened yet" would hide that. The error names the path, where
//! it came from and `stark init`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comfy_table::{CellAlignment, Table, presets};

use super::GlobalArgs;
use crate::domain::money::format_brl;
use crate::status::{
    self, Group, InvoiceRow, StatusOptions, StatusReport, StoredErrors, TransferListRow,
};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A credit of ours older than this many minutes without a successful transfer needs attention
    #[arg(long, default_value_t = 30, value_name = "MINUTES")]
    pub stale_minutes: u32,
    /// List the most recent invoices instead of the summary
    #[arg(long, conflicts_with = "transfers")]
    pub invoices: bool,
    /// List the most recent transfer attempts instead of the summary
    #[arg(long)]
    pub transfers: bool,
    /// Rows to list with --invoices or --transfers
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u32,
}

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let now = crate::clock::from_env()?.now();
    let ledger = super::open_ledger(&settings)?;
    let db = ledger.db();
    let out = if args.invoices {
        let rows = db.recent_invoices(args.limit)?;
        if global.json {
            super::json_document("status", &serde_json::json!({ "invoices": rows }))?
        } else {
            render_invoices(&rows)
        }
    } else if args.transfers {
        let rows = db.recent_transfers(args.limit)?;
        if global.json {
            super::json_document("status", &serde_json::json!({ "transfers": rows }))?
        } else {
            render_transfers(&rows)
        }
    } else {
        let opts = StatusOptions {
            stale_after: chrono::Duration::minutes(args.stale_minutes.into()),
        };
        let report = status::report(&db, now, &opts).context("cannot read the ledger's status")?;
        if global.json {
            super::json_document("status", &report)?
        } else {
            render(&report)
        }
    };
    // Status is what the user asked for: --quiet does not hide it.
    outln!("{}", out.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_header(header.to_vec());
    t
}

fn right(t: &mut Table, cols: &[usize]) {
    for &c in cols {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn minutes(secs: i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs.max(0) as u64)).to_string()
}

/// Stored errors on one line: the API's `code: message` pairs, or the text as stored.
fn describe_errors(errors: Option<&StoredErrors>) -> String {
    let Some(e) = errors else {
        return String::new();
    };
    if e.items().is_empty() {
        return e.raw().to_string();
    }
    e.items()
        .iter()
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The summary as text tables.
pub fn render(r: &StatusReport) -> String {
    let mut out = format!("ledger status at {}\n\n", r.now);

    out.push_str("Campaign\n");
    match &r.campaign {
        None => out.push_str("no campaign yet: `stark issue-invoices` starts one\n"),
        Some(c) => {
            let mut t = table(&[
                "campaign", "started", "every", "issued", "missed", "rejected", "open", "of",
                "next due",
            ]);
            let next = match (&c.next_batch, &c.next_due) {
                (Some(n), Some(at)) => format!("batch {n}/{} at {at}", c.slots),
                _ => "none: every slot has a batch".to_string(),
            };
            t.add_row(vec![
                format!("c{}", c.id),
                c.started_at.clone(),
                minutes(c.interval_secs),
                c.issued.to_string(),
                c.missed.to_string(),
                c.rejected.to_string(),
                c.open.to_string(),
                c.slots.to_string(),
                next,
            ]);
            right(&mut t, &[3, 4, 5, 6, 7]);
            out.push_str(&format!("{t}\n"));
        }
    }

    out.push_str("\nInvoices\n");
    let mut t = table(&["status", "count", "amount"]);
    let (mut n, mut sum) = (0, 0);
    for s in &r.invoices {
        n += s.count;
        sum += s.amount;
        t.add_row(vec![
            s.status.clone(),
            s.count.to_string(),
            format_brl(s.amount),
        ]);
    }
    t.add_row(vec!["total".to_string(), n.to_string(), format_brl(sum)]);
    right(&mut t, &[1, 2]);
    out.push_str(&format!("{t}\n"));

    out.push_str("\nCredits\n");
    let mut t = table(&["", "count", "gross", "fees", "net"]);
    let c = &r.credits;
    for (label, m) in [
        ("ours", c.ours),
        ("foreign", c.foreign),
        (
            "total",
            status::MoneyTotals {
                count: c.ours.count + c.foreign.count,
                gross: c.ours.gross + c.foreign.gross,
                fees: c.ours.fees + c.foreign.fees,
                net: c.ours.net + c.foreign.net,
            },
        ),
    ] {
        t.add_row(vec![
            label.to_string(),
            m.count.to_string(),
            format_brl(m.gross),
            format_brl(m.fees),
            format_brl(m.net),
        ]);
    }
    right(&mut t, &[1, 2, 3, 4]);
    out.push_str(&format!("{t}\n"));

    out.push_str("\nTransfers\n");
    if r.transfers.is_empty() {
        out.push_str("none yet\n");
    } else {
        let mut t = table(&["status", "count", "amount", "fee"]);
        for s in &r.transfers {
            t.add_row(vec![
                s.status.clone(),
                s.count.to_string(),
                format_brl(s.amount),
                format_brl(s.fee),
            ]);
        }
        right(&mut t, &[1, 2, 3]);
        out.push_str(&format!("{t}\n"));
    }

    render_attention(r, &mut out);
    render_notes(r, &mut out);
    out
}

/// What waits for the operator.
fn render_attention(r: &StatusReport, out: &mut String) {
    let a = &r.attention;
    if a.is_empty() {
        out.push_str("\nAttention: nothing needs you\n");
        return;
    }
    out.push_str("\nAttention\n");
    let mut rows = KindRows::new();
    rows.add(
        "paid more than once",
        "paid more than once",
        &a.paid_more_than_once,
        |x| {
            [
                format!("invoice {}", x.invoice_id),
                format_brl(x.amount),
                format!(
                    "{} live transfers at the bank: {}; ask Stark Bank to reverse the extra",
                    x.transfers, x.external_ids
                ),
            ]
        },
    );
    rows.add(
        "stale credit",
        "stale credits",
        &a.stale_credits,
        |s| {
            let mut detail = format!(
                "recorded {} min ago, transfer: {}",
                s.age_minutes,
                s.transfer_status.as_deref().unwrap_or("none")
            );
            if s.retry_opens_new_attempt {
                detail.push_str(&format!(
                    "; the bank refuses it and does not hold it: stark transfer-credited --retry {} asks the bank and, if it holds nothing live, opens a new attempt",
                    s.invoice_id
                ));
            }
            [
                format!("invoice {}", s.invoice_id),
                format_brl(s.net),
                detail,
            ]
        },
    );
    for (kind, g) in [
        ("failed transfer", &a.failed_transfers),
        ("rejected transfer", &a.rejected_transfers),
    ] {
        rows.add(kind, kind, g, |x| {
            [
                format!(
                    "invoice {} attempt {} ({})",
                    x.invoice_id, x.attempt, x.external_id
                ),
                format_brl(x.amount),
                describe_errors(x.errors.as_ref()),
            ]
        });
    }
    rows.add(
        "foreign credit",
        "foreign credits",
        &a.foreign_credits,
        |x| {
            [
                format!("invoice {}", x.invoice_id),
                format_brl(x.amount),
                format!("not issued by this ledger; recorded {}", x.recorded_at),
            ]
        },
    );
    rows.add(
        "rejected batch",
        "rejected batches",
        &a.rejected_batches,
        |x| {
            // A batch of the latest campaign is named by its number, any other by its tag.
            let which = match &r.campaign {
                Some(c) if c.id == x.campaign_id => x.batch.to_string(),
                _ => x.tag.clone(),
            };
            [
                format!("c{} batch {} ({})", x.campaign_id, x.batch, x.tag),
                String::new(),
                format!(
                    "{}; once the cause is fixed: stark issue-invoices --retry-batch {which}",
                    describe_errors(x.errors.as_ref())
                ),
            ]
        },
    );
    rows.add("missed slot", "missed slots", &a.missed_slots, |x| {
        [
            format!("c{} batch {}", x.campaign_id, x.batch),
            String::new(),
            format!("was due {}", x.due_at),
        ]
    });
    rows.add(
        "skipped credit",
        "skipped credits",
        &a.skipped_credits,
        |x| {
            [
                format!("invoice {}", x.invoice_id),
                format_brl(x.amount),
                x.skip_reason.clone().unwrap_or_default(),
            ]
        },
    );
    rows.add(
        "undecodable event",
        "undecodable events",
        &a.undecodable_events,
        |x| {
            [
                format!("event {} ({})", x.id, x.source),
                String::new(),
                format!("kept raw {}: {}", x.received_at, one_line(&x.reason)),
            ]
        },
    );
    rows.add(
        "incomplete credit",
        "incomplete credits",
        &a.incomplete_credits,
        |x| {
            [
                format!("invoice {}", x.invoice_id),
                String::new(),
                format!(
                    "credited without {}: not forwarded; `stark reconcile` reads its credit log again (last seen {}, {})",
                    x.missing, x.last_seen_at, x.source
                ),
            ]
        },
    );
    rows.render(out);
}

/// What is worth knowing but waits for nobody.
fn render_notes(r: &StatusReport, out: &mut String) {
    let n = &r.notes;
    if n.is_empty() {
        return;
    }
    out.push_str("\nNotes (nothing to do)\n");
    let mut rows = KindRows::new();
    rows.add("open batch", "open batches", &n.open_batches, |x| {
        let mut detail = format!("{}, due {}", x.status, x.due_at);
        if let Some(since) = &x.unclear_since {
            detail.push_str(&format!("; unclear since {since}"));
        }
        let errors = describe_errors(x.errors.as_ref());
        if !errors.is_empty() {
            detail.push_str(&format!("; {errors}"));
        }
        detail.push_str("; the next issue-invoices run resumes it");
        [
            format!("c{} batch {} ({})", x.campaign_id, x.batch, x.tag),
            String::new(),
            detail,
        ]
    });
    rows.add(
        "cancelled extra",
        "cancelled extras",
        &n.cancelled_extras,
        |x| {
            [
                format!("invoice {}", x.invoice_id),
                format_brl(x.amount),
                format!(
                    "beyond c{} batch {}'s worth under {}; cancelled unpaid {}",
                    x.campaign_id, x.batch, x.tag, x.cancelled_at
                ),
            ]
        },
    );
    rows.render(out);
}

/// The first line of `s`, at most 120 characters.
fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The table of the attention and notes sections (kind, what, amount, detail), and below it
/// a note for each kind that holds more than it shows.
struct KindRows {
    t: Table,
    more: Vec<String>,
}

impl KindRows {
    fn new() -> KindRows {
        KindRows {
            t: table(&["kind", "what", "amount", "detail"]),
            more: Vec::new(),
        }
    }

    /// One row per item of `g` (`row` gives its what, amount and detail), and a note when
    /// `g` holds more than it shows.
    fn add<T>(
        &mut self,
        kind: &str,
        note_kind: &str,
        g: &Group<T>,
        row: impl Fn(&T) -> [String; 3],
    ) {
        for x in &g.items {
            let [what, amount, detail] = row(x);
            self.t.add_row(vec![kind.to_string(), what, amount, detail]);
        }
        let shown = g.items.len() as i64;
        if g.total > shown {
            self.more
                .push(format!("{note_kind}: {} more not shown", g.total - shown));
        }
    }

    fn render(mut self, out: &mut String) {
        right(&mut self.t, &[2]);
        out.push_str(&format!("{}\n", self.t));
        for m in self.more {
            out.push_str(&format!("{m}\n"));
        }
    }
}

/// `--invoices`: most recent first.
pub fn render_invoices(rows: &[InvoiceRow]) -> String {
    render_list(
        rows,
        "no invoices yet",
        &[
            "batch",
            "invoice",
            "name",
            "amount",
            "status",
            "credited (net)",
            "updated",
        ],
        &[3, 5],
        |r| {
            vec![
                format!("c{} b{} #{}", r.campaign_id, r.batch, r.position),
                r.invoice_id.as_deref().unwrap_or("-").to_string(),
                r.name.clone(),
                format_brl(r.amount),
                r.status.clone(),
                r.credited_net.map(format_brl).unwrap_or_default(),
                r.updated_at.clone(),
            ]
        },
    )
}

/// `--transfers`: most recent attempt first.
pub fn render_transfers(rows: &[TransferListRow]) -> String {
    render_list(
        rows,
        "no transfers yet",
        &[
            "id",
            "invoice",
            "attempt",
            "external id",
            "amount",
            "fee",
            "status",
            "bank id",
            "updated",
            "errors",
        ],
        &[0, 2, 4, 5],
        |r| {
            vec![
                r.id.to_string(),
                r.invoice_id.clone(),
                r.attempt.to_string(),
                r.external_id.clone(),
                format_brl(r.amount),
                r.fee.map(format_brl).unwrap_or_default(),
                r.status.clone(),
                r.transfer_id.clone().unwrap_or_default(),
                r.updated_at.clone(),
                describe_errors(r.errors.as_ref()),
            ]
        },
    )
}

/// A table of `rows` under `headers` (`right_cols` aligned right), or `empty` when there are
/// none.
fn render_list<R>(
    rows: &[R],
    empty: &str,
    headers: &[&str],
    right_cols: &[usize],
    row: impl Fn(&R) -> Vec<String>,
) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut t = table(headers);
    for r in rows {
        t.add_row(row(r));
    }
    right(&mut t, right_cols);
    format!("{t}\n")
}
