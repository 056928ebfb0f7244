//! Wire models of the Stark Bank v2 API: camelCase JSON, ids as strings, money as integer
//! cents, datetimes as ISO 8601 with `+00:00`. Unknown fields are tolerated everywhere.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A UTC instant that serializes the way Stark Bank does (`2026-11-26T20:21:36.123456+00:00`)
/// and parses any RFC 3339 form (`Z` or an offset, with or without fractions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn to_api(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, false)
    }
    /// Parse RFC 3339. Digits below the microsecond (the API's precision) are dropped, so
    /// that a parsed value survives `to_api` and back unchanged (found by fuzzing).
    pub fn parse(s: &str) -> Option<Timestamp> {
        use chrono::SubsecRound;
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|d| Timestamp(d.with_timezone(&Utc).trunc_subsecs(6)))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(d: DateTime<Utc>) -> Self {
        Timestamp(d)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_api())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_api())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid datetime {s:?}")))
    }
}

/// One entry of an API `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    pub code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub errors: Vec<ApiErrorItem>,
}

/// Decode `null` as the type's default, as absence already is with `#[serde(default)]`: the
/// API may send `null` for any optional field it has no value for, and the official SDKs
/// accept it anywhere. Use as `#[serde(default, deserialize_with = "null_as_default")]` on
/// optional fields that are not `Option`s (an `Option` already reads `null` as `None`).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An invoice as the API returns it. Only `id` and `created` are required; every other
/// field may be `null` or absent. `amount` and `fee` stay `Option`s: a credited invoice
/// without them has nothing that can be forwarded (never read as 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub nominal_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub fine_amount: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub interest_amount: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub discount_amount: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tax_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub fine: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub interest: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub discounts: Vec<Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub descriptions: Vec<Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub brcode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub link: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pdf: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub transaction_ids: Vec<String>,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
}

impl Invoice {
    /// What a credit needs to be forwarded, `(amount, fee)`, or the names of the fields
    /// the snapshot lacks (`"fee"`, `"amount"`, `"amount and fee"`).
    pub fn credit_money(&self) -> Result<(i64, i64), &'static str> {
        match (self.amount, self.fee) {
            (Some(a), Some(f)) => Ok((a, f)),
            (Some(_), None) => Err("fee"),
            (None, Some(_)) => Err("amount"),
            (None, None) => Err("amount and fee"),
        }
    }
}

/// What we send to create an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRequest {
    pub amount: i64,
    pub tax_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A transfer as the API returns it. `id`, `amount` and `created` are required; every other
/// field may be `null` or absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub id: String,
    pub amount: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tax_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub bank_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub branch_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub account_number: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub account_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub external_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<Timestamp>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub fee: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub transaction_ids: Vec<String>,
    /// Rules that change how the bank handles it (`resendingLimit`), as sent.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rules: Vec<TransferRule>,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
}

/// A transfer rule: `{"key": "resendingLimit", "value": 5}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRule {
    pub key: String,
    pub value: i64,
}

/// What we send to create a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequest {
    pub amount: i64,
    pub name: String,
    pub tax_id: String,
    pub bank_code: String,
    pub branch_code: String,
    pub account_number: String,
    pub account_type: String,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a log is about: the key its snapshot is under (`invoice` for invoice logs).
pub trait LogSubject {
    const KEY: &'static str;
}

impl LogSubject for Invoice {
    const KEY: &'static str = "invoice";
}

impl LogSubject for Transfer {
    const KEY: &'static str = "transfer";
}

/// A log (`invoice/log`, `transfer/log`, or inside an event): `{id, created, type, errors,
/// <KEY>: snapshot}`. `errors` may be `null` or absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Log<T> {
    pub id: String,
    pub created: Timestamp,
    pub kind: String,
    pub errors: Vec<Value>,
    /// The snapshot of the invoice or transfer, as of this log.
    pub subject: T,
}

pub type InvoiceLog = Log<Invoice>;
pub type TransferLog = Log<Transfer>;

#[derive(Serialize, Deserialize)]
struct LogHead {
    id: String,
    created: Timestamp,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    errors: Vec<Value>,
}

impl<'de, T: LogSubject + serde::de::DeserializeOwned> Deserialize<'de> for Log<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = Value::deserialize(d)?;
        let subject = match v.get_mut(T::KEY).map(Value::take) {
            Some(s) if !s.is_null() => s,
            _ => return Err(D::Error::missing_field(T::KEY)),
        };
        let head = LogHead::deserialize(v).map_err(D::Error::custom)?;
        Ok(Log {
            id: head.id,
            created: head.created,
            kind: head.kind,
            errors: head.errors,
            subject: T::deserialize(subject)
                .map_err(|e| D::Error::custom(format!("{}: {e}", T::KEY)))?,
        })
    }
}

impl<T: LogSubject + Serialize> Serialize for Log<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("created", &self.created)?;
        m.serialize_entry("type", &self.kind)?;
        m.serialize_entry("errors", &self.errors)?;
        m.serialize_entry(T::KEY, &self.subject)?;
        m.end()
    }
}

/// The log inside an event, typed by the event's subscription. Subscriptions we do not model
/// are kept as raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum EventLog {
    Invoice(Box<InvoiceLog>),
    Transfer(Box<TransferLog>),
    Other(Value),
}

impl From<InvoiceLog> for EventLog {
    fn from(log: InvoiceLog) -> Self {
        EventLog::Invoice(Box::new(log))
    }
}

impl From<TransferLog> for EventLog {
    fn from(log: TransferLog) -> Self {
        EventLog::Transfer(Box::new(log))
    }
}

impl EventLog {
    /// The log's `type` (`credited`, `success`, ...), if it has one.
    pub fn kind(&self) -> Option<&str> {
        match self {
            EventLog::Invoice(l) => Some(&l.kind),
            EventLog::Transfer(l) => Some(&l.kind),
            EventLog::Other(v) => v.get("type").and_then(Value::as_str),
        }
    }
    pub fn id(&self) -> Option<&str> {
        match self {
            EventLog::Invoice(l) => Some(&l.id),
            EventLog::Transfer(l) => Some(&l.id),
            EventLog::Other(v) => v.get("id").and_then(Value::as_str),
        }
    }
}

/// A webhook event (also what `GET /v2/event` lists).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub created: Timestamp,
    pub subscription: String,
    pub workspace_id: Option<String>,
    pub is_delivered: Option<bool>,
    pub log: EventLog,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    id: String,
    created: Timestamp,
    subscription: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_delivered: Option<bool>,
    log: Value,
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawEvent::deserialize(d)?;
        let log = match raw.subscription.as_str() {
            "invoice" => EventLog::Invoice(Box::new(
                serde_json::from_value(raw.log)
                    .map_err(|e| D::Error::custom(format!("invoice log: {e}")))?,
            )),
            "transfer" => EventLog::Transfer(Box::new(
                serde_json::from_value(raw.log)
                    .map_err(|e| D::Error::custom(format!("transfer log: {e}")))?,
            )),
            _ => EventLog::Other(raw.log),
        };
        Ok(Event {
            id: raw.id,
            created: raw.created,
            subscription: raw.subscription,
            workspace_id: raw.workspace_id,
            is_delivered: raw.is_delivered,
            log,
        })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let log = match &self.log {
            EventLog::Invoice(l) => serde_json::to_value(l).map_err(S::Error::custom)?,
            EventLog::Transfer(l) => serde_json::to_value(l).map_err(S::Error::custom)?,
            EventLog::Other(v) => v.clone(),
        };
        RawEvent {
            id: self.id.clone(),
            created: self.created,
            subscription: self.subscription.clone(),
            workspace_id: self.workspace_id.clone(),
            is_delivered: self.is_delivered,
            log,
        }
        .serialize(s)
    }
}

/// The body of a webhook delivery: `{"event": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAttempt {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub webhook_id: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscriptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyEntry {
    pub content: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub id: String,
    pub amount: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub currency: String,
    pub updated: Timestamp,
}

/// The webhook subscriptions `serve-webhook` registers: invoice logs (credits) and transfer
/// logs (settlement).
pub const WEBHOOK_SUBSCRIPTIONS: &[&str] = &["invoice", "transfer"];

/// The body that creates a batch of invoices: `{"invoices": [...]}`. The ledger stores these
/// exact bytes when it claims the batch, and they are what is signed and sent.
pub fn invoices_body(invoices: &[InvoiceRequest]) -> String {
    // Through a `Value`, as the first version did: the stored bytes of a batch claimed by any
    // version are the same shape (keys in sorted order).
    serde_json::to_string(&serde_json::json!({ "invoices": invoices }))
        .expect("invoice requests serialize")
}

/// The serialized form of one transfer element, as the ledger stores it with its claim.
pub fn transfer_element(t: &TransferRequest) -> String {
    serde_json::to_string(t).expect("a transfer request serializes")
}

/// The body that creates transfers from their stored elements (each one the output of
/// [`transfer_element`]), byte for byte: `{"transfers":[e1,e2,...]}`.
pub fn transfers_body<S: AsRef<str>>(elements: &[S]) -> String {
    let mut body = String::from("{\"transfers\":[");
    for (i, e) in elements.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e.as_ref());
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_like_the_api() {
        let t = Timestamp::parse("2021-04-26T20:16:51.866857+00:00").unwrap();
        assert_eq!(t.to_api(), "2021-04-26T20:16:51.866857+00:00");
        let z = Timestamp::parse("2021-04-26T20:16:51Z").unwrap();
        assert_eq!(z.to_api(), "2021-04-26T20:16:51.000000+00:00");
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn sub_microsecond_digits_are_dropped_so_the_value_round_trips() {
        let t = Timestamp::parse("2025-10-14T19:23:03.3167079+00:00").unwrap();
        assert_eq!(t.to_api(), "2025-10-14T19:23:03.316707+00:00");
        assert_eq!(Timestamp::parse(&t.to_api()), Some(t));
    }

    #[test]
    fn decodes_list_envelope_with_unknown_fields() {
        let body = r#"{"cursor": null, "invoices": [{"id": "5941925571985408", "amount": 256,
            "name": "Oscar", "taxId": "337.451.076-08", "status": "paid", "fee": 12,
            "created": "2021-04-26T20:16:50.886319+00:00", "somethingNew": {"a": 1}}]}"#;
        #[derive(Deserialize)]
        struct Page {
            invoices: Vec<Invoice>,
            cursor: Option<String>,
        }
        let page: Page = serde_json::from_str(body).unwrap();
        assert_eq!(page.invoices[0].id, "5941925571985408");
        assert_eq!(page.invoices[0].fee, Some(12));
        assert!(page.cursor.is_none());
    }

    #[test]
    fn decodes_error_envelope() {
        let e: ErrorEnvelope = serde_json::from_str(
            r#"{"errors": [{"code": "invalidTaxId", "message": "Element 0: bad"}]}"#,
        )
        .unwrap();
        assert_eq!(e.errors[0].code, "invalidTaxId");
    }

    #[test]
    fn unknown_subscription_is_kept_raw() {
        let body = r#"{"event": {"id": "1", "created": "2025-10-14T19:23:03.316779+00:00",
            "subscription": "corporate-card", "log": {"id": "9", "type": "created", "card": {}}}}"#;
        let env: EventEnvelope = serde_json::from_str(body).unwrap();
        assert!(matches!(env.event.log, EventLog::Other(_)));
        assert_eq!(env.event.log.kind(), Some("created"));
        assert_eq!(env.event.log.id(), Some("9"));
    }

    #[test]
    fn malformed_invoice_log_is_an_error() {
        let body = r#"{"event": {"id": "1", "created": "2025-10-14T19:23:03+00:00",
            "subscription": "invoice", "log": {"id": "9", "type": "credited"}}}"#;
        assert!(serde_json::from_str::<EventEnvelope>(body).is_err());
    }

    /// Every optional field `null`, as the official SDKs accept.
    #[test]
    fn null_optionals_decode_everywhere() {
        let body = r#"{"event": {"id": "1", "created": "2025-10-14T19:23:03+00:00",
            "subscription": "invoice", "workspaceId": null, "isDelivered": null,
            "log": {"id": "9", "created": "2025-10-14T19:23:03+00:00", "type": "credited", "errors": null,
            "invoice": {"id": "5", "amount": 1000, "fee": 7, "nominalAmount": null, "fineAmount": null,
            "interestAmount": null, "discountAmount": null, "name": null, "taxId": null, "status": null,
            "tags": null, "due": null, "expiration": null, "fine": null, "interest": null,
            "discounts": null, "descriptions": null, "brcode": null, "link": null, "pdf": null,
            "transactionIds": null, "created": "2025-10-14T19:00:00+00:00", "updated": null}}}}"#;
        let env: EventEnvelope = serde_json::from_str(body).unwrap();
        let EventLog::Invoice(log) = &env.event.log else {
            panic!("an invoice log")
        };
        assert!(log.errors.is_empty() && log.subject.tags.is_empty());
        assert_eq!(log.subject.credit_money(), Ok((1000, 7)));
        let transfer = r#"{"id": "T", "amount": 993, "name": null, "taxId": null, "bankCode": null,
            "branchCode": null, "accountNumber": null, "accountType": null, "externalId": null,
            "tags": null, "description": null, "scheduled": null, "status": null, "fee": null,
            "transactionIds": null, "created": "2025-10-14T19:00:00+00:00", "updated": null}"#;
        let t: Transfer = serde_json::from_str(transfer).unwrap();
        assert_eq!((t.amount, t.fee, t.external_id.as_str()), (993, 0, ""));
        let small = r#"{"id": "a", "code": "x", "message": null, "eventId": null, "webhookId": null,
            "created": "2025-10-14T19:00:00+00:00"}"#;
        assert!(serde_json::from_str::<EventAttempt>(small).is_ok());
        assert!(serde_json::from_str::<ApiErrorItem>(r#"{"code": "x", "message": null}"#).is_ok());
    }

    #[test]
    fn a_credit_without_amount_or_fee_says_what_it_lacks_never_zero() {
        let inv = |extra: &str| -> Invoice {
            serde_json::from_str(&format!(
                r#"{{"id": "5", "created": "2025-10-14T19:00:00+00:00"{extra}}}"#
            ))
            .unwrap()
        };
        assert_eq!(inv(r#", "amount": 10"#).credit_money(), Err("fee"));
        assert_eq!(
            inv(r#", "amount": 10, "fee": null"#).credit_money(),
            Err("fee")
        );
        assert_eq!(inv(r#", "fee": 1"#).credit_money(), Err("amount"));
        assert_eq!(inv("").credit_money(), Err("amount and fee"));
        assert_eq!(
            inv(r#", "amount": 10, "fee": 0"#).credit_money(),
            Ok((10, 0))
        );
    }

    #[test]
    fn logs_of_both_kinds_round_trip_under_their_key() {
        let raw = r#"{"id": "9", "created": "2025-10-14T19:23:03.000000+00:00", "type": "success",
            "transfer": {"id": "T", "amount": 5, "created": "2025-10-14T19:00:00.000000+00:00"}}"#;
        let log: TransferLog = serde_json::from_str(raw).unwrap();
        assert_eq!((log.subject.id.as_str(), log.errors.len()), ("T", 0));
        let v = serde_json::to_value(&log).unwrap();
        assert_eq!(v["transfer"]["amount"], 5);
        assert_eq!(v["type"], "success");
        assert_eq!(serde_json::from_value::<TransferLog>(v).unwrap(), log);
        // Under the other key it is not a transfer log.
        assert!(serde_json::from_str::<InvoiceLog>(raw).is_err());
    }
}
