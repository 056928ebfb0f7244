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
        EntryKind::Run => {
            s.push_str(&format!(" {} {}", e.id, e.status.replace('_', " ")));
            if let Some(d) = &e.detail {
                s.push_str(&format!(": {d}"));
            }
        }
    }
    if matches!(
        e.kind,
        EntryKind::Batch | EntryKind::Transfer | EntryKind::Credit
    ) && let Some(d) = &e.detail
    {
        s.push_str(&format!(": {}", error_text(d)));
    }
    fit80(s)
}

/// The bank's errors (`[{"code":…,"message":…}]`) as `message (code); …`; other text as is.
pub(super) fn error_text(d: &str) -> String {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(d) else {
        return d.to_string();
    };
    items
        .iter()
        .map(|i| {
            let code = i["code"].as_str().unwrap_or("");
            match i["message"].as_str() {
                Some(m) if !code.is_empty() => format!("{m} ({code})"),
                Some(m) => m.to_string(),
                None => code.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
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
            EntryKind::Run => ("summary", serde_json::Value::String(d.clone())),
        };
        v[key] = value;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str, kind: EntryKind, id: &str, status: &str) -> Entry {
        Entry {
            at: at.parse().unwrap(),
            kind,
            id: id.into(),
            status: status.into(),
            invoice_id: Some("100".into()),
            amount: Some(990),
            fee: None,
            count: None,
            detail: None,
            transfer_id: None,
            seq: 1,
        }
    }

    /// `--follow` prints a row again only with a new status, and nothing older than it saw.
    #[test]
    fn the_follow_cursor_prints_each_entry_once() {
        let mut c = Cursor::new(DateTime::<Utc>::MIN_UTC);
        let q = entry("2026-03-02T01:00:00Z", EntryKind::Transfer, "1", "queued");
        assert!(c.is_new(&q));
        c.saw(&q);
        assert!(!c.is_new(&q));
        let created = entry("2026-03-02T01:00:00Z", EntryKind::Transfer, "1", "created");
        assert!(c.is_new(&created), "same time, new status");
        let later = entry("2026-03-02T01:00:05Z", EntryKind::Transfer, "1", "success");
        c.saw(&later);
        assert!(!c.is_new(&created), "older than what was seen");
    }

    #[test]
    fn lines_fit_80_columns_and_json_errors_are_json() {
        let mut t = entry("2026-03-02T01:00:00Z", EntryKind::Transfer, "1", "rejected");
        t.invoice_id = Some("2546000000000301".into());
        t.detail = Some(r#"[{"code":"invalidAccount","message":"x"}]"#.into());
        assert_eq!(
            text_line(&t),
            "03-02 01:00:00 transfer  2546…0301 R$ 9,90 rejected: x (invalidAccount)\n"
        );
        let j = json_line(&t);
        assert_eq!(j["version"], 1);
        assert_eq!(j["type"], "transfer");
        assert_eq!(j["errors"][0]["code"], "invalidAccount");
        assert!(j.get("fee").is_none());
    }
}
