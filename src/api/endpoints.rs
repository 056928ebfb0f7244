//! The wire names of the calls the [`Bank`](super::Bank) port makes, each written once:
//! method, path below `/v2/`, envelope key and query parameters.
//!
//! [`Client`](super::Client) sends these requests over HTTP; the emulator's in-memory adapter
//! (`sandbox::memory`) hands the very same requests to the emulator's router. Neither names a
//! path or a query parameter of its own, so the two cannot drift apart.

use reqwest::Method;

use super::client::Query;

/// `POST /v2/{path}` with the caller's body; the created items come back under `key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Create {
    pub path: &'static str,
    pub key: &'static str,
}

/// `GET /v2/{path}?{query}`, one page at a time (see [`page_query`]); the items come back
/// under `key`, the next page's cursor under `cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub path: &'static str,
    pub key: &'static str,
    pub query: Query,
}

/// One request with a fixed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: &'static [u8],
}

pub const CREATE_INVOICES: Create = Create {
    path: "invoice",
    key: "invoices",
};

pub const CREATE_TRANSFERS: Create = Create {
    path: "transfer",
    key: "transfers",
};

/// Every invoice carrying `tag`.
pub fn invoices_by_tag(tag: &str) -> List {
    invoices(Query::new().set("tags", tag))
}

/// The invoices with these ids.
pub fn invoices_by_ids<S: AsRef<str>>(ids: &[S]) -> List {
    invoices(Query::new().list("ids", ids))
}

/// The `credited` logs of these invoices.
pub fn invoice_credit_logs<S: AsRef<str>>(invoice_ids: &[S]) -> List {
    List {
        path: "invoice/log",
        key: "logs",
        query: Query::new()
            .set("types", "credited")
            .list("invoiceIds", invoice_ids),
    }
}

/// Every transfer carrying any of `tags`.
pub fn transfers_by_tags<S: AsRef<str>>(tags: &[S]) -> List {
    transfers(Query::new().list("tags", tags))
}

/// The transfers with these ids.
pub fn transfers_by_ids<S: AsRef<str>>(ids: &[S]) -> List {
    transfers(Query::new().list("ids", ids))
}

/// A list of invoices (where they are created).
fn invoices(query: Query) -> List {
    List {
        path: CREATE_INVOICES.path,
        key: CREATE_INVOICES.key,
        query,
    }
}

/// A list of transfers (where they are created).
fn transfers(query: Query) -> List {
    List {
        path: CREATE_TRANSFERS.path,
        key: CREATE_TRANSFERS.key,
        query,
    }
}

/// The events not yet marked delivered.
pub fn undelivered_events() -> List {
    List {
        path: "event",
        key: "events",
        query: Query::new().set("isDelivered", false),
    }
}

/// `PATCH /v2/event/{id}` `{"isDelivered": true}`.
pub fn mark_event_delivered(id: &str) -> Call {
    Call {
        method: Method::PATCH,
        path: format!("event/{}", encode_path(id)),
        body: br#"{"isDelivered": true}"#,
    }
}

/// The query of one page of a list: `query`, with `limit` 100 unless it sets one, and the
/// cursor of the page (none for the first).
pub fn page_query(query: &Query, cursor: Option<&str>) -> Query {
    let mut q = query.clone();
    if q.get("limit").is_none() {
        q = q.set("limit", 100);
    }
    if let Some(c) = cursor {
        q = q.set("cursor", c);
    }
    q
}

/// An id as a path segment: only ASCII letters, digits, `-` and `_` are kept.
pub fn encode_path(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_ask_for_100_unless_told_and_carry_the_cursor() {
        let list = invoices_by_tag("batch-1");
        let q = page_query(&list.query, None);
        assert_eq!(q.get("tags"), Some("batch-1"));
        assert_eq!(q.get("limit"), Some("100"));
        assert_eq!(q.get("cursor"), None);
        let q = page_query(&Query::new().set("limit", 5), Some("abc"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("cursor"), Some("abc"));
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(mark_event_delivered("12/../34?x").path, "event/1234x");
        assert_eq!(
            invoice_credit_logs(&["1", "2"]).query.get("invoiceIds"),
            Some("1,2")
        );
    }
}
