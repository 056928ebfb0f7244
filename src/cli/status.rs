//! `stark status`: what the ledger says, as tables (or `--json`). Read-only: it never creates a
//! ledger, builds no async runtime and no HTTP client.
//!
//! A missing ledger exits 2 like every other command: the path may be mistyped or the ledger
//! deleted, and "nothing has happened yet" would hide that. The error names the path, where
//! it came from and `stark init`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

use super::{GlobalArgs, errors};
use crate::domain::money::format_brl;
use crate::status::{
    self, AttentionSummary, Group, InvoiceRow, StatusOptions, StatusReport, TransferListRow,
    describe_errors,
};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("list").args(["invoices", "transfers"])))]
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
    /// Rows to list with --invoices or --transfers [default: 20]
    #[arg(long, value_name = "N", requires = "list")]
    pub limit: Option<u32>,
    /// For monitors: print the verdict line only; exit 0 all well, 3 something needs you, 1
    /// cannot tell (the ledger cannot be read)
    #[arg(long, conflicts_with = "list")]
    pub check: bool,
}

/// `status --json`: the report with the verdict and what needs you on top.
#[derive(Serialize)]
struct JsonStatus<'a> {
    version: u32,
    verdict: String,
    needs_you: &'a AttentionSummary,
    #[serde(flatten)]
    report: &'a StatusReport,
}

/// `status --check --json`.
#[derive(Serialize)]
struct JsonCheck<'a> {
    version: u32,
    verdict: String,
    needs_you: &'a AttentionSummary,
}

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if args.check {
        return Ok(check(args, global));
    }
    let settings = global.settings()?;
    let now = crate::clock::from_env()?.now();
    let ledger = super::open_ledger(&settings)?;
    let db = ledger.db();
    let layout = Layout::detect();
    let limit = args.limit.unwrap_or(20);
    let out = if args.invoices {
        let rows = db.recent_invoices(limit)?;
        if global.json {
            super::json_document("status", &serde_json::json!({ "invoices": rows }))?
        } else if limit == 0 {
            "0 rows requested\n".to_string()
        } else {
            render_invoices(&rows, layout)
        }
    } else if args.transfers {
        let rows = db.recent_transfers(limit)?;
        if global.json {
            super::json_document("status", &serde_json::json!({ "transfers": rows }))?
        } else if limit == 0 {
            "0 rows requested\n".to_string()
        } else {
            render_transfers(&rows, layout)
        }
    } else {
        let report =
            status::report(&db, now, &options(args)).context("cannot read the ledger's status")?;
        if global.json {
            let needs_you = status::needs_you(&report);
            serde_json::to_string(&JsonStatus {
                version: 1,
                verdict: needs_you.verdict(),
                needs_you: &needs_you,
                report: &report,
            })?
        } else {
            render(&report, layout)
        }
    };
    // Status is what the user asked for: --quiet does not hide it.
    outln!("{}", out.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

fn options(args: &StatusArgs) -> StatusOptions {
    StatusOptions {
        stale_after: chrono::Duration::minutes(args.stale_minutes.into()),
    }
}

/// `--check`: the verdict line, and 0 all well, 3 something needs you, 1 cannot tell (any
/// error reading the settings or the ledger, said on stderr).
fn check(args: &StatusArgs, global: &GlobalArgs) -> ExitCode {
    let summary = (|| -> anyhow::Result<AttentionSummary> {
        let settings = global.settings()?;
        let now = crate::clock::from_env()?.now();
        let ledger = super::open_ledger(&settings)?;
        let report = status::report(&ledger.db(), now, &options(args))
            .context("cannot read the ledger's status")?;
        Ok(status::needs_you(&report))
    })();
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            let e = e.context("cannot tell whether something needs you");
            return match super::errors::report_error(&e) {
                c if c == ExitCode::SUCCESS => c,
                _ => ExitCode::from(errors::FAILURE),
            };
        }
    };
    let printed = if global.json {
        serde_json::to_string(&JsonCheck {
            version: 1,
            verdict: summary.verdict(),
            needs_you: &summary,
        })
        .map_err(anyhow::Error::from)
        .and_then(|j| outln!("{j}"))
    } else {
        outln!(
            "{}",
            summary.line().unwrap_or_else(|| "all well".to_string())
        )
    };
    let code = if summary.is_empty() {
        errors::SUCCESS
    } else {
        errors::ATTENTION
    };
    match printed {
        Ok(()) => ExitCode::from(code),
        // A closed stdout: the exit code still says it.
        Err(e) if errors::exit_code(&e) == errors::SUCCESS => ExitCode::from(code),
        Err(e) => errors::report_error(&e),
    }
}

/// How tables are drawn: their width (`COLUMNS` when set, else the terminal's; unbounded
/// when piped, so that no id is split and `grep` finds it) and whether they are boxed (a
/// terminal) or plain (piped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub width: Option<u16>,
    pub plain: bool,
}

impl Layout {
    /// Boxed tables `width` columns wide.
    pub fn boxed(width: u16) -> Layout {
        Layout {
            width: Some(width),
            plain: false,
        }
    }

    /// Plain tables (no borders) `width` columns wide.
    pub fn plain(width: u16) -> Layout {
        Layout {
            width: Some(width),
            plain: true,
        }
    }

    /// Plain tables as wide as their content (piped, no `COLUMNS`).
    pub fn piped() -> Layout {
        Layout {
            width: None,
            plain: true,
        }
    }

    fn columns(self) -> usize {
        self.width.map_or(usize::MAX, usize::from)
    }

    /// The layout of this process's stdout.
    pub fn detect() -> Layout {
        use std::io::IsTerminal;
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&c| c >= 20);
        let terminal = std::io::stdout().is_terminal();
        let width = columns.or_else(|| {
            terminal
                .then(|| Table::new().width())
                .flatten()
                .or(terminal.then_some(80))
        });
        Layout {
            width,
            plain: !terminal,
        }
    }
}

fn table(header: &[&str], layout: Layout) -> Table {
    let mut t = Table::new();
    t.load_style(if layout.plain {
        presets::NOTHING
    } else {
        presets::UTF8_FULL_CONDENSED
    })
    .set_header(header.to_vec());
    match layout.width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.force_no_tty();
        }
    }
    t
}

fn right(t: &mut Table, cols: &[usize]) {
    for &c in cols {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A stored time to the minute, `2025-03-01 15:00` (the text as stored if it does not
/// parse).
pub fn minute(at: &str) -> String {
    match parse(at) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => at.to_string(),
    }
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `at` relative to `now`: `in 2h10m`, `7m ago`, `now`.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let m = secs.unsigned_abs() / 60;
    if m == 0 {
        return "now".to_string();
    }
    let (d, h, m) = (m / 1440, m / 60 % 24, m % 60);
    let span = match (d, h, m) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m:02}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    };
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// A stored time to the minute with its relative time: `2025-03-01 15:00 (in 3h)`.
fn when(at: &str, now: Option<DateTime<Utc>>) -> String {
    match (parse(at), now) {
        (Some(t), Some(n)) => format!("{} ({})", minute(at), relative(t, n)),
        _ => minute(at),
    }
}

/// `text` wrapped at spaces to `width` columns, continued lines indented by two.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = format!("  {word}");
        } else {
            if len > 0 {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The headline: the verdict, the campaign, the money, the last runs, the webhook.
fn headline(r: &StatusReport, needs: &AttentionSummary, now: Option<DateTime<Utc>>) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(if needs.is_empty() {
        "OK: all well".to_string()
    } else {
        format!(
            "ACTION NEEDED: {}: {}",
            needs.verdict(),
            needs.parts().join("; ")
        )
    });
    lines.push(match &r.campaign {
        None => "Campaign: none yet; `stark issue-invoices` starts one".to_string(),
        Some(c) => {
            let mut l = format!(
                "Campaign c{}: {}/{} batches issued",
                c.id, c.issued, c.slots
            );
            for (n, what) in [
                (c.rejected, "rejected"),
                (c.missed, "missed"),
                (c.open, "open"),
            ] {
                if n > 0 {
                    l.push_str(&format!(", {n} {what}"));
                }
            }
            match (&c.next_batch, &c.next_due) {
                (Some(n), Some(at)) => l.push_str(&format!(
                    "; next batch {n}/{} due {}",
                    c.slots,
                    when(at, now)
                )),
                _ if c.open > 0 => l.push_str("; every slot has a batch"),
                _ => l.push_str(
                    "; complete: start the next one with `stark issue-invoices --new-campaign`",
                ),
            }
            l
        }
    });
    let amount = |statuses: &[&str]| -> i64 {
        r.transfers
            .iter()
            .filter(|t| statuses.contains(&t.status.as_str()))
            .map(|t| t.amount)
            .sum()
    };
    lines.push(format!(
        "Money: credited {}, forwarded {}, in flight {}, waiting for you {}",
        format_brl(r.credits.ours.net),
        format_brl(amount(&["success"])),
        format_brl(amount(&["claimed", "sending", "created", "processing"])),
        format_brl(r.attention.waiting_net),
    ));
    lines.push(if r.runs.is_empty() {
        "Last runs: none recorded".to_string()
    } else {
        let runs: Vec<String> = r
            .runs
            .iter()
            .map(|run| {
                // A run stamped later than this report's time (another clock): absolute.
                let ago = match now {
                    Some(n) if run.started <= n => relative(run.started, n),
                    _ => minute(&run.started_at),
                };
                let how = match (run.exit_code, &run.ended_at) {
                    (Some(0), _) => "ok".to_string(),
                    (Some(3), _) => "needs you".to_string(),
                    (Some(c), _) => format!("exit {c}"),
                    (None, _) => "running, or died".to_string(),
                };
                format!("{} {ago} ({how})", run.command)
            })
            .collect();
        format!("Last runs: {}", runs.join(", "))
    });
    lines.push(match r.webhooks.as_slice() {
        [] => "Webhook: none registered by this ledger (`stark serve-webhook` registers one)"
            .to_string(),
        [one] => format!("Webhook: registered, {one}"),
        many => format!("Webhook: {} registered, {}", many.len(), many.join(", ")),
    });
    lines
}

/// The summary as text: the headline, then the tables, each fitted to `layout`.
pub fn render(r: &StatusReport, layout: Layout) -> String {
    let now = parse(&r.now);
    let width = layout.columns();
    let needs = status::needs_you(r);
    let mut out = String::new();
    out.push_str(&wrap(
        &format!("ledger status at {} UTC", minute(&r.now)),
        width,
    ));
    for line in headline(r, &needs, now) {
        out.push_str(&wrap(&line, width));
    }

    out.push_str("\nInvoices\n");
    let mut t = table(&["status", "count", "amount"], layout);
    let (mut n, mut sum) = (0, 0);
    let mut planned = None;
    for s in &r.invoices {
        if s.status == "planned" {
            planned = Some(s);
            continue;
        }
        n += s.count;
        sum += s.amount;
        t.add_row(vec![
            s.status.clone(),
            s.count.to_string(),
            format_brl(s.amount),
        ]);
    }
    t.add_row(vec![
        "sent, total".to_string(),
        n.to_string(),
        format_brl(sum),
    ]);
    if let Some(p) = planned {
        t.add_row(vec![
            "not sent (planned)".to_string(),
            p.count.to_string(),
            format_brl(p.amount),
        ]);
    }
    right(&mut t, &[1, 2]);
    out.push_str(&format!("{t}\n"));

    out.push_str("\nCredits\n");
    let mut t = table(&["", "count", "gross", "fees", "net"], layout);
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

    out.push_str("\nTransfers (attempts: a credit may have several)\n");
    if r.transfers.is_empty() {
        out.push_str("none yet\n");
    } else {
        let mut t = table(&["status", "count", "amount", "fee"], layout);
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

    render_attention(r, now, layout, &mut out);
    render_notes(r, now, layout, &mut out);
    out
}

/// What waits for the operator: one row per credit, with the command to run.
fn render_attention(
    r: &StatusReport,
    now: Option<DateTime<Utc>>,
    layout: Layout,
    out: &mut String,
) {
    let a = &r.attention;
    if a.is_empty() {
        out.push_str("\nAttention: nothing needs you\n");
        return;
    }
    out.push_str("\nAttention\n");
    let mut rows = KindRows::new(layout);
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
        "waits for you",
        "credits that wait for you",
        &a.waiting_credits,
        |w| {
            let how = match w.last_status.as_deref() {
                Some("rejected") => "its transfer was rejected".to_string(),
                _ => format!("{} attempts failed", w.attempts),
            };
            [
                format!("invoice {}", w.invoice_id),
                format_brl(w.net),
                format!(
                    "{how}; once the cause is fixed: stark transfer-credited --retry {}",
                    w.invoice_id
                ),
            ]
        },
    );
    let waiting: std::collections::HashSet<&str> = a
        .waiting_credits
        .items
        .iter()
        .map(|w| w.invoice_id.as_str())
        .collect();
    let stale = Group {
        total: a.stale_credits.total
            - a.stale_credits
                .items
                .iter()
                .filter(|s| waiting.contains(s.invoice_id.as_str()))
                .count() as i64,
        items: a
            .stale_credits
            .items
            .iter()
            .filter(|s| !waiting.contains(s.invoice_id.as_str()))
            .collect(),
    };
    rows.add("stale credit", "stale credits", &stale, |s| {
        let mut detail = format!(
            "recorded {}, transfer: {}",
            when(&s.recorded_at, now),
            s.transfer_status.as_deref().unwrap_or("none")
        );
        if s.retry_opens_new_attempt {
            detail.push_str(&format!(
                "; the bank refuses it and does not hold it: stark transfer-credited --retry {} asks the bank and, if it holds nothing live, opens a new attempt",
                s.invoice_id
            ));
        } else {
            detail.push_str("; the next reconcile forwards or looks it up");
        }
        [
            format!("invoice {}", s.invoice_id),
            format_brl(s.net),
            detail,
        ]
    });
    if !a.foreign_credits.is_empty() {
        let f = r.credits.foreign;
        rows.add_row([
            "foreign credits".to_string(),
            plural_credits(f.count),
            format_brl(f.gross),
            "not issued by this ledger; never forwarded".to_string(),
        ]);
    }
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
            format!("was due {}", when(&x.due_at, now)),
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
                format!(
                    "kept raw {}: {}",
                    when(&x.received_at, now),
                    status::one_line(&x.reason, 120)
                ),
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
                    x.missing,
                    when(&x.last_seen_at, now),
                    x.source
                ),
            ]
        },
    );
    let attempts = a.failed_transfers.total + a.rejected_transfers.total;
    if attempts > 0 {
        rows.more.push(format!(
            "{} failed and {} rejected transfer attempts in all: `stark status --transfers` lists them",
            a.failed_transfers.total, a.rejected_transfers.total
        ));
    }
    rows.render(out);
}

/// What is worth knowing but waits for nobody.
fn render_notes(r: &StatusReport, now: Option<DateTime<Utc>>, layout: Layout, out: &mut String) {
    let n = &r.notes;
    if n.is_empty() {
        return;
    }
    out.push_str("\nNotes (nothing to do)\n");
    let mut rows = KindRows::new(layout);
    rows.add("open batch", "open batches", &n.open_batches, |x| {
        let mut detail = format!("{}, due {}", x.status, when(&x.due_at, now));
        if let Some(since) = &x.unclear_since {
            detail.push_str(&format!("; unclear since {}", when(since, now)));
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
                    x.campaign_id,
                    x.batch,
                    x.tag,
                    when(&x.cancelled_at, now)
                ),
            ]
        },
    );
    rows.render(out);
}

/// The table of the attention and notes sections (kind, what, amount, detail), and below it
/// a note for each kind that holds more than it shows.
struct KindRows {
    t: Table,
    more: Vec<String>,
    width: usize,
}

impl KindRows {
    fn new(layout: Layout) -> KindRows {
        KindRows {
            t: table(&["kind", "what", "amount", "detail"], layout),
            more: Vec::new(),
            width: layout.columns(),
        }
    }

    /// One row as given (kind, what, amount, detail).
    fn add_row(&mut self, row: [String; 4]) {
        self.t.add_row(row.to_vec());
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
            out.push_str(&wrap(&m, self.width));
        }
    }
}

/// `--invoices`: most recent first.
pub fn render_invoices(rows: &[InvoiceRow], layout: Layout) -> String {
    render_list(
        rows,
        layout,
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
                minute(&r.updated_at),
            ]
        },
    )
}

/// `--transfers`: most recent attempt first.
pub fn render_transfers(rows: &[TransferListRow], layout: Layout) -> String {
    render_list(
        rows,
        layout,
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
                minute(&r.updated_at),
                describe_errors(r.errors.as_ref()),
            ]
        },
    )
}

/// A table of `rows` under `headers` (`right_cols` aligned right), or `empty` when there are
/// none.
fn render_list<R>(
    rows: &[R],
    layout: Layout,
    empty: &str,
    headers: &[&str],
    right_cols: &[usize],
    row: impl Fn(&R) -> Vec<String>,
) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut t = table(headers, layout);
    for r in rows {
        t.add_row(row(r));
    }
    right(&mut t, right_cols);
    format!("{t}\n")
}

fn plural_credits(n: i64) -> String {
    if n == 1 {
        "1 credit".to_string()
    } else {
        format!("{n} credits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse(s).unwrap()
    }

    #[test]
    fn relative_times_read_like_a_clock() {
        let now = t("2025-03-01T12:00:00Z");
        let cases = [
            ("2025-03-01T14:10:30Z", "in 2h10m"),
            ("2025-03-01T15:00:00Z", "in 3h"),
            ("2025-03-01T11:53:00Z", "7m ago"),
            ("2025-03-01T12:00:40Z", "now"),
            ("2025-02-27T09:00:00Z", "2d3h ago"),
        ];
        for (at, want) in cases {
            assert_eq!(relative(t(at), now), want, "{at}");
        }
        assert_eq!(minute("2025-03-01T15:00:00.000000Z"), "2025-03-01 15:00");
        assert_eq!(minute("not a time"), "not a time");
    }

    #[test]
    fn long_lines_wrap_at_spaces_with_an_indent() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\n  ccc\n");
        assert_eq!(wrap("short", 80), "short\n");
    }
}
