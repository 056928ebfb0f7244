//! Validation of create requests. A batch with any bad element is rejected whole, with one
//! error per bad element (`Element {i}: ...`); wrong JSON types are errors, not coercions.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::state::{Bank, DEFAULT_EXPIRATION, Errors, err, unstored_invoice};
use crate::api::model::{ApiErrorItem, Invoice, Timestamp, Transfer};
use crate::domain::taxid::{is_valid_cnpj, is_valid_cpf};

pub const MAX_BATCH: usize = 100;
/// Amounts must stay below this many cents (10^15), as the real API requires.
pub const AMOUNT_LIMIT: i64 = 1_000_000_000_000_000;
/// The fields an invoice element may carry (the official SDKs send no others). `rules` and
/// `splits` are accepted and not stored.
pub const INVOICE_FIELDS: &[&str] = &[
    "amount",
    "taxId",
    "name",
    "due",
    "expiration",
    "fine",
    "interest",
    "discounts",
    "descriptions",
    "tags",
    "rules",
    "splits",
];
/// The fields a transfer element may carry. `displayDescription` and `metadata` are accepted
/// and not stored.
pub const TRANSFER_FIELDS: &[&str] = &[
    "amount",
    "name",
    "taxId",
    "bankCode",
    "branchCode",
    "accountNumber",
    "accountType",
    "externalId",
    "tags",
    "description",
    "displayDescription",
    "scheduled",
    "rules",
    "metadata",
];
/// What a transfer element cannot go without: one missing is `invalidJson` for that element.
pub const TRANSFER_REQUIRED: &[&str] = &[
    "amount",
    "name",
    "taxId",
    "bankCode",
    "branchCode",
    "accountNumber",
];
/// Ten years, in seconds.
pub const MAX_EXPIRATION: i64 = 315_360_000;
pub const ACCOUNT_TYPES: &[&str] = &["checking", "savings", "salary", "payment"];
pub const SUBSCRIPTIONS: &[&str] = &[
    "invoice",
    "transfer",
    "deposit",
    "boleto",
    "boleto-payment",
    "boleto-holmes",
    "brcode-payment",
    "utility-payment",
    "tax-payment",
    "darf-payment",
    "payment-request",
    "corporate-card",
    "corporate-holder",
    "corporate-invoice",
    "corporate-purchase",
    "holmes",
    "invoice-pull-request",
    "invoice-pull-subscription",
];

/// Parse a request body as a JSON object (`invalidJson` otherwise).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Errors> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(err("invalidJson", "The request body must be a JSON object")),
        Err(e) => Err(err(
            "invalidJson",
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

/// Validate the body of `PATCH /v2/event/{id}`: only `{"isDelivered": true}` (an event cannot
/// be marked undelivered again).
pub fn event_update(body: &[u8]) -> Result<(), Errors> {
    let o = json_object(body)?;
    if let Some(other) = o.keys().find(|k| *k != "isDelivered") {
        return Err(err(
            "invalidJson",
            format!("Unknown field `{other}`: send {{\"isDelivered\": true}}"),
        ));
    }
    match o.get("isDelivered") {
        Some(Value::Bool(true)) => Ok(()),
        Some(Value::Bool(false)) => Err(err(
            "invalidIsDelivered",
            "An event cannot be marked undelivered: send {\"isDelivered\": true}",
        )),
        _ => Err(err("invalidIsDelivered", "Send {\"isDelivered\": true}")),
    }
}

/// The `key` array of a create body, 1..=100 elements.
fn batch<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a Vec<Value>, Errors> {
    let list = match body.get(key) {
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(err(
                "invalidJson",
                format!("`{key}` must be a list of objects"),
            ));
        }
        None => return Err(err("invalidJson", format!("Missing `{key}` list"))),
    };
    if list.is_empty() || list.len() > MAX_BATCH {
        return Err(err(
            "invalidJson",
            format!(
                "`{key}` must hold 1 to {MAX_BATCH} elements, not {}",
                list.len()
            ),
        ));
    }
    Ok(list)
}

type Fail = (&'static str, String);

fn fail(code: &'static str, msg: impl Into<String>) -> Fail {
    (code, msg.into())
}

/// `Ok` when `ok`, else the failure `code` with the message `msg` builds.
fn ensure(ok: bool, code: &'static str, msg: impl FnOnce() -> String) -> Result<(), Fail> {
    if ok { Ok(()) } else { Err(fail(code, msg())) }
}

fn integer(o: &Map<String, Value>, key: &str, code: &'static str) -> Result<Option<i64>, Fail> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(v) => Err(fail(code, format!("`{key}` must be an integer, not {v}"))),
    }
}

fn number(o: &Map<String, Value>, key: &str, code: &'static str) -> Result<Option<f64>, Fail> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(v) => Err(fail(code, format!("`{key}` must be a number, not {v}"))),
    }
}

fn string<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    code: &'static str,
) -> Result<Option<&'a str>, Fail> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(v) => Err(fail(code, format!("`{key}` must be a string, not {v}"))),
    }
}

fn required_string<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    code: &'static str,
) -> Result<&'a str, Fail> {
    match string(o, key, code)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(fail(code, format!("`{key}` is required"))),
    }
}

fn tags(o: &Map<String, Value>) -> Result<Vec<String>, Fail> {
    match o.get("tags") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.trim().to_lowercase()),
                v => Err(fail(
                    "invalidTags",
                    format!("every tag must be a string, not {v}"),
                )),
            })
            .collect(),
        Some(v) => Err(fail(
            "invalidTags",
            format!("`tags` must be a list of strings, not {v}"),
        )),
    }
}

fn tax_id(o: &Map<String, Value>) -> Result<String, Fail> {
    let raw = required_string(o, "taxId", "invalidTaxId")?;
    if is_valid_cpf(raw) || is_valid_cnpj(raw) {
        Ok(format_tax_id(raw))
    } else {
        Err(fail(
            "invalidTaxId",
            format!("taxId {raw:?} is not a valid CPF or CNPJ"),
        ))
    }
}

/// `XXX.XXX.XXX-XX` or `XX.XXX.XXX/XXXX-XX`, as the API returns tax ids.
pub fn format_tax_id(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    match d.len() {
        11 => format!("{}.{}.{}-{}", &d[0..3], &d[3..6], &d[6..9], &d[9..11]),
        14 => format!(
            "{}.{}.{}/{}-{}",
            &d[0..2],
            &d[2..5],
            &d[5..8],
            &d[8..12],
            &d[12..14]
        ),
        _ => s.to_string(),
    }
}

/// An RFC 3339 datetime, or a date (`YYYY-MM-DD`, meaning the end of that day in São Paulo,
/// 02:59:59 UTC the next day).
pub fn parse_when(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = Timestamp::parse(s) {
        return Some(t.0);
    }
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    d.and_hms_opt(23, 59, 59)?
        .and_utc()
        .checked_add_signed(Duration::hours(3))
}

/// Judge every element of a batch: all of them judged, or the errors of every element that
/// failed (each named by its index).
fn each_element<T>(
    list: &[Value],
    mut judge: impl FnMut(&Value) -> Result<T, Fail>,
) -> Result<Vec<T>, Errors> {
    let mut ok = Vec::with_capacity(list.len());
    let mut bad = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match judge(v) {
            Ok(x) => ok.push(x),
            Err(f) => bad.push((i, f)),
        }
    }
    if bad.is_empty() {
        Ok(ok)
    } else {
        Err(element_errors(bad))
    }
}

fn element_errors(errors: Vec<(usize, Fail)>) -> Errors {
    errors
        .into_iter()
        .map(|(i, (code, msg))| ApiErrorItem {
            code: code.to_string(),
            message: format!("Element {i}: {msg}"),
        })
        .collect()
}

fn object(v: &Value) -> Result<&Map<String, Value>, Fail> {
    v.as_object()
        .ok_or_else(|| fail("invalidJson", "must be a JSON object"))
}

/// An element with a field outside `known` is refused (`invalidJson`), as the real API does.
fn known_fields(o: &Map<String, Value>, known: &[&str]) -> Result<(), Fail> {
    let unknown: Vec<&str> = o
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    ensure(unknown.is_empty(), "invalidJson", || {
        format!(
            "unknown field{} `{}`; the fields are {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join("`, `"),
            known.join(", ")
        )
    })
}

/// What every created item starts with, checked in this order: `amount` (required; more than
/// zero when `positive`, else not negative), `name` (trimmed) and `taxId`.
fn amount_name_tax_id(
    o: &Map<String, Value>,
    positive: bool,
) -> Result<(i64, String, String), Fail> {
    let amount = integer(o, "amount", "invalidAmount")?
        .ok_or_else(|| fail("invalidAmount", "`amount` is required"))?;
    let (ok, rule) = if positive {
        (amount > 0, "> 0")
    } else {
        (amount >= 0, ">= 0")
    };
    ensure(ok, "invalidAmount", || {
        format!("`amount` must be {rule}, not {amount}")
    })?;
    ensure(amount < AMOUNT_LIMIT, "invalidAmount", || {
        format!("`amount` must be less than {AMOUNT_LIMIT} cents, not {amount}")
    })?;
    let name = required_string(o, "name", "invalidName")?
        .trim()
        .to_string();
    Ok((amount, name, tax_id(o)?))
}

fn invoice(v: &Value, now: DateTime<Utc>) -> Result<Invoice, Fail> {
    let o = object(v)?;
    known_fields(o, INVOICE_FIELDS)?;
    let (amount, name, tax_id) = amount_name_tax_id(o, false)?;
    let due = match string(o, "due", "invalidDue")? {
        None => super::state::add_seconds(now, 2 * 86_400).unwrap_or(now),
        Some(s) => parse_when(s).ok_or_else(|| {
            fail(
                "invalidDue",
                format!("`due` {s:?} is not a date or an ISO 8601 datetime"),
            )
        })?,
    };
    let expiration = integer(o, "expiration", "invalidExpiration")?.unwrap_or(DEFAULT_EXPIRATION);
    ensure(
        (0..=MAX_EXPIRATION).contains(&expiration),
        "invalidExpiration",
        || format!("`expiration` must be from 0 to {MAX_EXPIRATION} seconds"),
    )?;
    let fine = number(o, "fine", "invalidFine")?.unwrap_or(2.0);
    ensure((0.0..=20.0).contains(&fine), "invalidFine", || {
        "`fine` must be between 0 and 20 (%)".into()
    })?;
    let interest = number(o, "interest", "invalidInterest")?.unwrap_or(1.0);
    ensure((0.0..=10.0).contains(&interest), "invalidInterest", || {
        "`interest` must be between 0 and 10 (% per month)".into()
    })?;
    let list_of_objects = |key: &str, code: &'static str| -> Result<Vec<Value>, Fail> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) if a.iter().all(Value::is_object) => Ok(a.clone()),
            Some(v) => Err(fail(
                code,
                format!("`{key}` must be a list of objects, not {v}"),
            )),
        }
    };
    let discounts = list_of_objects("discounts", "invalidDiscounts")?;
    for d in &discounts {
        let ok = d.get("percentage").is_some_and(Value::is_number)
            && d.get("due")
                .and_then(Value::as_str)
                .is_some_and(|s| parse_when(s).is_some());
        ensure(ok, "invalidDiscounts", || {
            "every discount needs a numeric `percentage` and a `due` datetime".into()
        })?;
    }
    let descriptions = list_of_objects("descriptions", "invalidDescriptions")?;
    let keyed = |d: &Value| d.get("key").is_some_and(Value::is_string);
    ensure(
        descriptions.iter().all(keyed),
        "invalidDescriptions",
        || "every description needs a string `key`".into(),
    )?;
    let tags = tags(o)?;
    Ok(Invoice {
        name,
        tax_id,
        tags,
        due: Some(Timestamp(due)),
        expiration: Some(expiration),
        fine,
        interest,
        discounts,
        descriptions,
        ..unstored_invoice(amount, now)
    })
}

/// Validate `{"invoices": [...]}`.
pub fn invoices(body: &[u8], now: DateTime<Utc>) -> Result<Vec<Invoice>, Errors> {
    let body = json_object(body)?;
    each_element(batch(&body, "invoices")?, |v| invoice(v, now))
}

fn digits_field(
    o: &Map<String, Value>,
    key: &str,
    code: &'static str,
    allow_dash: bool,
) -> Result<String, Fail> {
    let s = required_string(o, key, code)?.trim();
    let ok = s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || (allow_dash && c == '-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(fail(code, format!("`{key}` {s:?} must be digits")))
    }
}

fn transfer(
    v: &Value,
    now: DateTime<Utc>,
    bank: &Bank,
    seen: &mut HashSet<String>,
) -> Result<Transfer, Fail> {
    let o = object(v)?;
    known_fields(o, TRANSFER_FIELDS)?;
    let missing: Vec<&str> = TRANSFER_REQUIRED
        .iter()
        .copied()
        .filter(|k| o.get(*k).is_none_or(Value::is_null))
        .collect();
    ensure(missing.is_empty(), "invalidJson", || {
        format!("missing required field `{}`", missing.join("`, `"))
    })?;
    let (amount, name, tax_id) = amount_name_tax_id(o, true)?;
    let bank_code = digits_field(o, "bankCode", "invalidBankCode", false)?;
    ensure(
        matches!(bank_code.len(), 1..=3 | 8),
        "invalidBankCode",
        || {
            format!(
                "`bankCode` {bank_code:?} must be a bank code of 1 to 3 digits (TED) or an 8-digit ISPB (Pix)"
            )
        },
    )?;
    let branch_code = digits_field(o, "branchCode", "invalidBranchCode", true)?;
    let account_number = digits_field(o, "accountNumber", "invalidAccountNumber", true)?;
    let account_type = match string(o, "accountType", "invalidAccountType")? {
        None => "checking".to_string(),
        Some(t) if ACCOUNT_TYPES.contains(&t) => t.to_string(),
        Some(t) => {
            return Err(fail(
                "invalidAccountType",
                format!(
                    "`accountType` {t:?} must be one of {}",
                    ACCOUNT_TYPES.join(", ")
                ),
            ));
        }
    };
    let external_id = match string(o, "externalId", "invalidExternalId")? {
        None => String::new(),
        Some(e) if e.trim().is_empty() => {
            return Err(fail("invalidExternalId", "`externalId` must not be empty"));
        }
        Some(e) => e.to_string(),
    };
    let used = bank.has_external_id(&external_id) || seen.contains(&external_id);
    ensure(external_id.is_empty() || !used, "invalidExternalId", || {
        format!("externalId {external_id:?} was already used by another transfer")
    })?;
    let description = string(o, "description", "invalidDescription")?
        .unwrap_or_default()
        .to_string();
    let scheduled = match string(o, "scheduled", "invalidScheduled")? {
        None => None,
        Some(s) => {
            let at = parse_when(s).ok_or_else(|| {
                fail(
                    "invalidScheduled",
                    format!("`scheduled` {s:?} is not a date or datetime"),
                )
            })?;
            // A date means the end of that day, so today is never in the past.
            ensure(at >= now, "invalidScheduled", || {
                format!(
                    "`scheduled` {s:?} is in the past (the bank's time is {})",
                    now.to_rfc3339()
                )
            })?;
            Some(Timestamp(at))
        }
    };
    let tags = tags(o)?;
    let rules = super::transfer_extra::rules(o)?;
    if !external_id.is_empty() {
        seen.insert(external_id.clone());
    }
    Ok(Transfer {
        id: String::new(),
        amount,
        name,
        tax_id,
        bank_code,
        branch_code,
        account_number,
        account_type,
        external_id,
        tags,
        description,
        scheduled,
        status: "created".into(),
        fee: 0,
        transaction_ids: Vec::new(),
        rules,
        created: Timestamp(now),
        updated: None,
    })
}

/// Validate `{"transfers": [...]}`, including `externalId` uniqueness against every stored
/// transfer and within the request.
pub fn transfers(body: &[u8], now: DateTime<Utc>, bank: &Bank) -> Result<Vec<Transfer>, Errors> {
    let body = json_object(body)?;
    let mut seen = HashSet::new();
    each_element(batch(&body, "transfers")?, |v| {
        transfer(v, now, bank, &mut seen)
    })
}

/// Validate `{"url": ..., "subscriptions": [...]}`.
pub fn webhook(body: &[u8]) -> Result<(String, Vec<String>), Errors> {
    let o = json_object(body)?;
    let url = match o.get("url") {
        Some(Value::String(u)) => u.trim().to_string(),
        _ => return Err(err("invalidUrl", "`url` is required and must be a string")),
    };
    let local = [
        "http://127.0.0.1:",
        "http://localhost:",
        "http://127.0.0.1/",
        "http://localhost/",
    ];
    let https = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !https && !local.iter().any(|p| url.starts_with(p)) {
        return Err(err(
            "invalidUrl",
            format!(
                "Webhook url {url:?} must use https (plain http only for 127.0.0.1 or localhost)"
            ),
        ));
    }
    let subs = match o.get("subscriptions") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(err(
                "invalidSubscriptions",
                "`subscriptions` must be a non-empty list of subscription names",
            ));
        }
    };
    let mut out = Vec::new();
    for s in subs {
        match s.as_str() {
            Some(name) if SUBSCRIPTIONS.contains(&name) => {
                if !out.iter().any(|x| x == name) {
                    out.push(name.to_string());
                }
            }
            _ => {
                return Err(err(
                    "invalidSubscriptions",
                    format!(
                        "Unknown subscription {s}; known: {}",
                        SUBSCRIPTIONS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok((url, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn invoice_types_are_strict() {
        let ok = br#"{"invoices":[{"amount":100,"taxId":"01234567890","name":"A","tags":["X"]}]}"#;
        let v = invoices(ok, now()).unwrap();
        assert_eq!(v[0].tax_id, "012.345.678-90");
        assert_eq!(v[0].tags, vec!["x"]);
        for bad in [
            r#"{"invoices":[{"amount":1.5,"taxId":"012.345.678-90","name":"A"}]}"#,
            r#"{"invoices":[{"amount":"100","taxId":"012.345.678-90","name":"A"}]}"#,
            r#"{"invoices":[{"amount":-1,"taxId":"012.345.678-90","name":"A"}]}"#,
            r#"{"invoices":[{"amount":1,"taxId":"123.456.789-10","name":"A"}]}"#,
            r#"{"invoices":[{"amount":1,"taxId":"012.345.678-90"}]}"#,
        ] {
            let e = invoices(bad.as_bytes(), now()).unwrap_err();
            assert_eq!(e.len(), 1, "{bad}");
            assert!(e[0].message.starts_with("Element 0: "), "{:?}", e[0]);
        }
        assert_eq!(
            invoices(br#"{"invoices":[]}"#, now()).unwrap_err()[0].code,
            "invalidJson"
        );
        assert_eq!(invoices(b"{", now()).unwrap_err()[0].code, "invalidJson");
    }

    #[test]
    fn webhook_urls() {
        assert!(
            webhook(br#"{"url":"https://x.ngrok.app/hook","subscriptions":["invoice"]}"#).is_ok()
        );
        assert!(
            webhook(br#"{"url":"http://127.0.0.1:9/hook","subscriptions":["transfer"]}"#).is_ok()
        );
        assert!(webhook(br#"{"url":"http://example.com/","subscriptions":["invoice"]}"#).is_err());
        assert!(webhook(br#"{"url":"https://x/","subscriptions":["nope"]}"#).is_err());
        assert!(webhook(br#"{"url":"https://x/","subscriptions":[]}"#).is_err());
    }
}
