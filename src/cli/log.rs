//! `stark log [--follow]`: the ledger's history as one stream, oldest first, like
//! `stripe logs tail`: batches issued, missed or rejected; events received; credits recorded;
//! transfers queued and how they ended. Read-only: it never creates nor changes a ledger.

use std::collections::HashSet;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;

use super::GlobalArgs;
use super::serve::{fit80, json_text, short_id};
use crate::domain::money::format_brl;
use crate::ledger::activity::{Entry, EntryKind};

/// How often `--follow` looks at the ledger.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Keep printing new entries as they are recorded (the ledger is read every second) until
    /// Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only entries from this long ago on (e.g. 1h, 2d)
    #[arg(long, value_name = "DURATION", value_parser = super::issue::parse_duration)]
    pub since: Option<chrono::Duration>,
    /// At most this many entries (the latest of them), before following
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

pub fn run(args: &LogArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let settings = global.settings()?;
    let ledger = super::open_ledger(&settings)?;
    let clock = crate::clock::from_env()?;
    let since = match args.since {
        Some(d) => clock.now() - d,
        None => DateTime::<Utc>::MIN_UTC,
    };
    let first = ledger.db().log_entries(since, Some(args.limit))?;
    let mut cursor = Cursor::new(since);
    for e in &first {
        print(e, global.json)?;
        cursor.saw(e);
    }
    if !args.follow {
        if first.is_empty() && !global.json && !global.quiet {
            eprintln!("nothing recorded yet");
        }
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        std::thread::sleep(FOLLOW_POLL);
        for e in ledger.db().log_entries(cursor.at, None)? {
            if cursor.is_new(&e) {
                print(&e, global.json)?;
                cursor.saw(&e);
            }
        }
    }
}

/// What `--follow` printed already: the latest time seen, and the entries at that time (a
/// row shows again with a new status; entries at the same time may arrive later).
struct Cursor {
    at: DateTime<Utc>,
    seen: HashSet<(EntryKind, String, String)>,
}

impl Cursor {
    fn new(at: DateTime<Utc>) -> Self {
        Cursor {
            at,
            seen: HashSet::new(),
        }
    }

    fn key(e: &Entry) -> (EntryKind, String, String) {
        let (k, id, status) = e.key();
        (k, id.to_string(), status.to_string())
    }

    fn is_new(&self, e: &Entry) -> bool {
        e.at >= self.at && !self.seen.contains(&Self::key(e))
    }

    fn saw(&mut self, e: &Entry) {
        if e.at > self.at {
            self.at = e.at;
            self.seen.clear();
        }
        if e.at == self.at {
            self.seen.insert(Self::key(e));
        }
    }
}

fn print(e: &Entry, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", json_line(e))
    } else {
        out!("{}", text_line(e))
    }
}

/// `03-02 09:01:03 credit    2546…0301 R$ 710,97 fee 2,22`, at most 80 columns.
fn text_line(e: &Entry) -> String {
    let mut s = format!("{} {:<9}", e.at.format("%m-%d %H:%M:%S"), e.kind.as_str());
    match e.kind {
        EntryKind::Batch => {
            s.push_str(&format!(" {} {}", e.id, e.status));
            if let (Some(n), Some(a)) = (e.count, e.amount) {
                s.push_str(&format!(": {n} invoices, {}", format_brl(a)));
            }
        }
        EntryKind::Event => {
            s.push_str(&format!(" {}", e.status));
            if let Some(i) = &e.invoice_id {
                s.push_str(&format!(" {}", short_id(i)));
            }
            if let Some(v) = e
                .detail
                .as_deref()
                .filter(|v| !matches!(*v, "invoice-update" | "transfer-update"))
            {
                s.push_str(&format!(" ({v})"));
            }
        }
        EntryKind::Credit => {
            s.push_str(&format!(" {}", short_id(&e.id)));
            if let (Some(a), Some(f)) = (e.amount, e.fee) {
                s.push_str(&format!(
                    " {} fee {}",
                    format_brl(a),
                    format_brl(f).trim_start_matches("R$ ")
                ));
            }
            if e.status != "credited" {
                s.push_str(" not forwarded");
            }
        }
        EntryKind::Transfer => {
            if let Some(i) = &e.invoice_id {
                s.push_str(&format!(" {}", short_id(i)));
            }
            if let Some(a) = e.amount {
                s.push_str(&format!(" {}", format_brl(a)));
            }
            s.push_str(&format!(" {}", e.status));
            if let Some(t) = &e.transfer_id {
                s.push_str(&format!(" (id {})", short_id(t)));
            }
        }
    }
    if matches!(
        e.kind,
        EntryKind::Batch | EntryKind::Transfer | EntryKind::Credit
    ) && let Some(d) = &e.detail
    {
        s.push_str(&format!(": {d}"));
    }
    fit80(s)
}

/// `{"version":1,"type":"credit",...}`: the entry's fields, snake_case, amounts in cents.
fn json_line(e: &Entry) -> serde_json::Value {
    let mut v = serde_json::json!({
        "version": 1,
        "type": e.kind.as_str(),
        "time": crate::ledger::ts(e.at),
        "id": e.id,
        "status": e.status,
    });
    let put = |v: &mut serde_json::Value, k: &str, x: serde_json::Value| {
        if !x.is_null() {
            v[k] = x;
        }
    };
    put(&mut v, "invoice_id", serde_json::json!(e.invoice_id));
    put(&mut v, "amount", serde_json::json!(e.amount));
    put(&mut v, "fee", serde_json::json!(e.fee));
    put(&mut v, "invoice_count", serde_json::json!(e.count));
    put(&mut v, "transfer_id", serde_json::json!(e.transfer_id));
    if let Some(d) = &e.detail {
        let (key, value) = match e.kind {
            EntryKind::Event => ("verdict", serde_json::Value::String(d.clone())),
            EntryKind::Credit => ("skip_reason", serde_json::Value::String(d.clone())),
            EntryKind::Batch | EntryKind::Transfer => ("errors", json_text(d)),
        };
        v[key] = value;
    }
    v
}
