//! Log records as an operator reads them, at the default verbosity: one line per record in
//! the style of cargo's diagnostics, `warning: no answer from Stark Bank (connection refused);
//! retrying (2 left)`, with only the fields that say what it is about (an invoice, a transfer,
//! an event) and the error, if any, after a colon. `-v` (or `STARK_LOG`) keeps tracing's full
//! structured lines (`WARN … tag=… cause=…`); `--json` keeps its JSON records.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::style;

/// The fields shown, in this order, and the word each is shown with.
const SHOWN: &[(&str, &str)] = &[
    ("invoice", "invoice"),
    ("id", "invoice"),
    ("external_id", "transfer"),
    ("live", "live transfer"),
    ("status", "status"),
    ("event", "event"),
    ("webhook", "webhook"),
    ("campaign", "campaign"),
    ("invoices", "invoices"),
];

/// The [`FormatEvent`] of the default verbosity (see the module docs).
pub(crate) struct Friendly;

#[derive(Default)]
struct Fields {
    message: String,
    shown: Vec<(&'static str, String)>,
    error: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.keep(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.keep(field, format!("{value:?}"));
    }
}

impl Fields {
    fn keep(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "error" => self.error = Some(value),
            name => {
                if let Some((_, word)) = SHOWN.iter().find(|(n, _)| *n == name) {
                    self.shown.push((word, value));
                }
            }
        }
    }
}

/// One record as a line: `warning: <message> (invoice 42, transfer x): <error>`.
fn line(level: Level, mut f: Fields, color: bool) -> String {
    let stream = style::Stream::Stderr;
    let label = match level {
        Level::ERROR if color => style::error_label(stream),
        Level::WARN if color => style::warning_label(stream),
        Level::ERROR => "error:".to_string(),
        Level::WARN => "warning:".to_string(),
        Level::INFO => "info:".to_string(),
        Level::DEBUG => "debug:".to_string(),
        Level::TRACE => "trace:".to_string(),
    };
    let mut out = format!("{label} {}", f.message);
    f.shown.sort_by_key(|(word, _)| {
        SHOWN
            .iter()
            .position(|(_, w)| w == word)
            .unwrap_or(usize::MAX)
    });
    if !f.shown.is_empty() {
        let parts: Vec<String> = f.shown.iter().map(|(w, v)| format!("{w} {v}")).collect();
        let _ = write!(out, " ({})", parts.join(", "));
    }
    if let Some(e) = f.error {
        let _ = write!(out, ": {e}");
    }
    out
}

impl<S, N> FormatEvent<S, N> for Friendly
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let color = writer.has_ansi_escapes();
        writeln!(writer, "{}", line(*event.metadata().level(), fields, color))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str, shown: &[(&'static str, &str)], error: Option<&str>) -> Fields {
        Fields {
            message: message.into(),
            shown: shown.iter().map(|(w, v)| (*w, v.to_string())).collect(),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_record_reads_like_a_diagnostic() {
        let f = fields(
            "no answer from Stark Bank (connection refused); retrying (2 left)",
            &[],
            None,
        );
        assert_eq!(
            line(Level::WARN, f, false),
            "warning: no answer from Stark Bank (connection refused); retrying (2 left)"
        );
        let f = fields(
            "the bank holds a transfer for this invoice that the ledger did not know; recorded",
            &[
                ("status", "success"),
                ("invoice", "42"),
                ("transfer", "x-1"),
            ],
            None,
        );
        assert_eq!(
            line(Level::WARN, f, false),
            "warning: the bank holds a transfer for this invoice that the ledger did not know; recorded (invoice 42, transfer x-1, status success)"
        );
        let f = fields("event not recorded", &[], Some("disk full"));
        assert_eq!(
            line(Level::ERROR, f, false),
            "error: event not recorded: disk full"
        );
    }
}
