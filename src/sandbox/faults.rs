//! Fault injection: `KIND=RATE` or `ROUTE:KIND=RATE` rules, decided with a seeded RNG.
//!
//! Route names are `resource.action` (see [`ROUTES`]); a rule's route matches that route and
//! every route below it (`invoice` matches `invoice.create` and `invoice.log.list`), `*` or
//! no route matches everything. Delivery faults match `delivery.invoice` /
//! `delivery.transfer`, `transfer-fail` matches `transfer.settle`.
//!
//! Some kinds only make sense on some routes ([`FaultKind::applies_to`]): `late-effect`,
//! `invalid-access-time` and `invalid-credentials` on API requests, `list-lag` on the list
//! routes ([`LIST_ROUTES`]), `list-partial` on the tag-filtered lists ([`TAG_ROUTES`]),
//! `null-optionals` on every answer and delivery, `missing-fee` on what carries invoice logs
//! ([`INVOICE_LOG_ROUTES`]). A rule
//! of such a kind is never rolled elsewhere, and a rule whose route covers none of them is a
//! parse error.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every route name a rule can target.
pub const ROUTES: &[&str] = &[
    "invoice.create",
    "invoice.list",
    "invoice.get",
    "invoice.patch",
    "invoice.log.list",
    "invoice.log.get",
    "invoice.qrcode",
    "invoice.pdf",
    "invoice.payment",
    "invoice.log.pdf",
    "transfer.create",
    "transfer.list",
    "transfer.get",
    "transfer.log.list",
    "transfer.log.get",
    "transfer.delete",
    "transfer.pdf",
    "event.list",
    "event.get",
    "event.patch",
    "event.delete",
    "event.attempt.list",
    "event.attempt.get",
    "webhook.create",
    "webhook.list",
    "webhook.get",
    "webhook.delete",
    "public-key.list",
    "balance.get",
    "delivery.invoice",
    "delivery.transfer",
    "transfer.settle",
];

/// The routes that list items stamped with a `created` time: what `list-lag` applies to.
pub const LIST_ROUTES: &[&str] = &[
    "invoice.list",
    "invoice.log.list",
    "transfer.list",
    "transfer.log.list",
    "event.list",
    "event.attempt.list",
];

/// The lists that take a `tags` filter: what `list-partial` applies to.
pub const TAG_ROUTES: &[&str] = &["invoice.list", "transfer.list"];

/// What answers or delivers invoice logs (so credited invoice snapshots): what `missing-fee`
/// applies to.
pub const INVOICE_LOG_ROUTES: &[&str] = &[
    "invoice.log.list",
    "invoice.log.get",
    "event.list",
    "event.get",
    "delivery.invoice",
];

/// What answers or delivers events: what `undecodable-event` applies to.
pub const EVENT_ROUTES: &[&str] = &[
    "event.list",
    "event.get",
    "delivery.invoice",
    "delivery.transfer",
];

/// The optional fields `null-optionals` sends as `null` when they are unset (an empty string
/// or list, a zero, `false`) — never the money of an invoice (`amount`, `fee`), ids, times,
/// types or statuses.
pub const OPTIONAL_KEYS: &[&str] = &[
    "nominalAmount",
    "fineAmount",
    "interestAmount",
    "discountAmount",
    "expiration",
    "fine",
    "interest",
    "discounts",
    "descriptions",
    "tags",
    "brcode",
    "link",
    "pdf",
    "transactionIds",
    "accountType",
    "externalId",
    "description",
    "errors",
    "isDelivered",
    "subscriptions",
    "currency",
];

/// Routes that are not API requests (webhook deliveries, transfer settlement).
fn is_request_route(route: &str) -> bool {
    !(route == "transfer.settle" || route == "delivery" || route.starts_with("delivery."))
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Answer 500 with an `errors` body; nothing is done.
    Status500,
    /// Answer 503; nothing is done.
    Status503,
    /// Answer 429; nothing is done.
    Status429,
    /// Wait before handling the request (see [`FaultRule::latency_ms`]).
    Latency,
    /// The request takes effect, then the client gets a 502 or a connection cut mid-answer.
    LostResponse,
    /// A webhook delivery is POSTed twice.
    DuplicateDelivery,
    /// A webhook delivery is held back and sent after the next one.
    ReorderDelivery,
    /// A webhook delivery is silently lost: no POST, no attempt, no retry.
    DropDelivery,
    /// A transfer ends `failed` instead of `success`.
    TransferFail,
    /// The client gets a timeout-like outcome now (504, a cut connection, or no answer until
    /// it gives up) and the request takes effect [`FaultRule::latency_ms`] of business time
    /// later, judged against the state at that time.
    LateEffect,
    /// List queries omit items created within the last [`FaultRule::latency_ms`] of business
    /// time (gets by id are not affected).
    ListLag,
    /// A tag query returns a strict, non-empty part of what matches (when 2 or more match).
    ListPartial,
    /// Answer 400 `invalidAccessTime` (a request-level error); nothing is done.
    InvalidAccessTime,
    /// Answer 400 `invalidCredentials` (a request-level error); nothing is done.
    InvalidCredentials,
    /// The answer (or delivery) carries `null` for every unset optional field
    /// ([`OPTIONAL_KEYS`]; and `due`, `expiration`, `scheduled`, `updated`, `workspaceId`
    /// where they would be left out), as the real API may.
    NullOptionals,
    /// Invoice snapshots of `credited` logs come without `fee` (left out, or `null`: a coin
    /// flip per answer), in log lists and gets, events and deliveries.
    MissingFee,
    /// Events (in `event.list` and `event.get` answers and in deliveries) carry their log's
    /// `amount` as a string (`"1000"`): still signed, but not an event a client can decode.
    UndecodableEvent,
}

/// Every kind, in the order the documentation lists them.
pub const KINDS: &[FaultKind] = &[
    FaultKind::Status500,
    FaultKind::Status503,
    FaultKind::Status429,
    FaultKind::Latency,
    FaultKind::LostResponse,
    FaultKind::LateEffect,
    FaultKind::ListLag,
    FaultKind::ListPartial,
    FaultKind::InvalidAccessTime,
    FaultKind::InvalidCredentials,
    FaultKind::NullOptionals,
    FaultKind::MissingFee,
    FaultKind::UndecodableEvent,
    FaultKind::DuplicateDelivery,
    FaultKind::ReorderDelivery,
    FaultKind::DropDelivery,
    FaultKind::TransferFail,
];

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "500" => FaultKind::Status500,
            "503" => FaultKind::Status503,
            "429" => FaultKind::Status429,
            "latency" => FaultKind::Latency,
            "lost-response" => FaultKind::LostResponse,
            "duplicate-delivery" => FaultKind::DuplicateDelivery,
            "reorder-delivery" => FaultKind::ReorderDelivery,
            "drop-delivery" => FaultKind::DropDelivery,
            "transfer-fail" => FaultKind::TransferFail,
            "late-effect" => FaultKind::LateEffect,
            "list-lag" => FaultKind::ListLag,
            "list-partial" => FaultKind::ListPartial,
            "invalid-access-time" => FaultKind::InvalidAccessTime,
            "invalid-credentials" => FaultKind::InvalidCredentials,
            "null-optionals" => FaultKind::NullOptionals,
            "missing-fee" => FaultKind::MissingFee,
            "undecodable-event" => FaultKind::UndecodableEvent,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Status500 => "500",
            FaultKind::Status503 => "503",
            FaultKind::Status429 => "429",
            FaultKind::Latency => "latency",
            FaultKind::LostResponse => "lost-response",
            FaultKind::DuplicateDelivery => "duplicate-delivery",
            FaultKind::ReorderDelivery => "reorder-delivery",
            FaultKind::DropDelivery => "drop-delivery",
            FaultKind::TransferFail => "transfer-fail",
            FaultKind::LateEffect => "late-effect",
            FaultKind::ListLag => "list-lag",
            FaultKind::ListPartial => "list-partial",
            FaultKind::InvalidAccessTime => "invalid-access-time",
            FaultKind::InvalidCredentials => "invalid-credentials",
            FaultKind::NullOptionals => "null-optionals",
            FaultKind::MissingFee => "missing-fee",
            FaultKind::UndecodableEvent => "undecodable-event",
        }
    }

    /// Whether a rule of this kind takes `@MS`, and its default.
    pub fn default_ms(self) -> Option<u64> {
        match self {
            FaultKind::Latency => Some(DEFAULT_LATENCY_MS),
            FaultKind::LateEffect => Some(DEFAULT_LATE_EFFECT_MS),
            FaultKind::ListLag => Some(DEFAULT_LIST_LAG_MS),
            _ => None,
        }
    }

    /// Can this kind happen on `route` (a name of [`ROUTES`])? The kinds that predate this
    /// check answer yes everywhere (their rules are rolled wherever the route matches).
    pub fn applies_to(self, route: &str) -> bool {
        match self {
            FaultKind::LateEffect
            | FaultKind::InvalidAccessTime
            | FaultKind::InvalidCredentials => is_request_route(route),
            FaultKind::ListLag => LIST_ROUTES.contains(&route),
            FaultKind::ListPartial => TAG_ROUTES.contains(&route),
            FaultKind::NullOptionals => route != "transfer.settle",
            FaultKind::MissingFee => INVOICE_LOG_ROUTES.contains(&route),
            FaultKind::UndecodableEvent => EVENT_ROUTES.contains(&route),
            _ => true,
        }
    }

    /// Kinds that apply to API requests (as opposed to deliveries or settlement).
    pub fn is_request_fault(self) -> bool {
        matches!(
            self,
            FaultKind::Status500
                | FaultKind::Status503
                | FaultKind::Status429
                | FaultKind::Latency
                | FaultKind::LostResponse
                | FaultKind::LateEffect
                | FaultKind::ListLag
                | FaultKind::ListPartial
                | FaultKind::InvalidAccessTime
                | FaultKind::InvalidCredentials
                | FaultKind::NullOptionals
                | FaultKind::MissingFee
                | FaultKind::UndecodableEvent
        )
    }
}

/// One fault rule: with probability `rate`, `kind` happens on requests to `route`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// `None` (or `*`) matches every route.
    pub route: Option<String>,
    pub kind: FaultKind,
    /// Probability in 0..=1.
    pub rate: f64,
    /// The `@MS` of the kinds that take one ([`FaultKind::default_ms`]): for `latency`, how
    /// long to wait (default 1000 ms); for `late-effect`, how much business time passes
    /// before the request takes effect (default 5000 ms); for `list-lag`, how recent (in
    /// business time) an item must be to be left out of lists (default 5000 ms). 0 for the
    /// other kinds.
    pub latency_ms: u64,
}

pub const DEFAULT_LATENCY_MS: u64 = 1000;
/// Default delay of a `late-effect`, business time.
pub const DEFAULT_LATE_EFFECT_MS: u64 = 5000;
/// Default window of a `list-lag`, business time.
pub const DEFAULT_LIST_LAG_MS: u64 = 5000;

impl FaultRule {
    /// Parse `KIND=RATE`, `ROUTE:KIND=RATE` or `[ROUTE:]KIND=RATE@MS` (for `latency`,
    /// `late-effect` and `list-lag`).
    pub fn parse(text: &str) -> Result<FaultRule, String> {
        let t = text.trim();
        let (lhs, rhs) = t
            .split_once('=')
            .ok_or_else(|| format!("fault rule {t:?}: expected KIND=RATE or ROUTE:KIND=RATE"))?;
        let (route, kind) = match lhs.rsplit_once(':') {
            Some((r, k)) => (Some(r.trim()), k),
            None => (None, lhs),
        };
        let kind = FaultKind::parse(kind).ok_or_else(|| {
            let known: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
            format!(
                "fault rule {t:?}: unknown kind {kind:?} (known: {})",
                known.join(", ")
            )
        })?;
        let (rate, ms) = match rhs.split_once('@') {
            Some((r, ms)) => {
                if kind.default_ms().is_none() {
                    return Err(format!(
                        "fault rule {t:?}: `@MS` only applies to latency, late-effect and list-lag"
                    ));
                }
                let ms = ms
                    .trim()
                    .trim_end_matches("ms")
                    .parse::<u64>()
                    .map_err(|_| format!("fault rule {t:?}: {ms:?} is not milliseconds"))?;
                (r, ms)
            }
            None => (rhs, kind.default_ms().unwrap_or(0)),
        };
        let rate = rate
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| format!("fault rule {t:?}: rate {rate:?} must be a number in 0..1"))?;
        let route = match route {
            None | Some("*") | Some("") => None,
            Some(r) => {
                if !ROUTES
                    .iter()
                    .any(|known| *known == r || known.starts_with(&format!("{r}.")))
                {
                    return Err(format!(
                        "fault rule {t:?}: unknown route {r:?} (known: {})",
                        ROUTES.join(", ")
                    ));
                }
                Some(r.to_string())
            }
        };
        let rule = FaultRule {
            route,
            kind,
            rate,
            latency_ms: ms,
        };
        if !ROUTES
            .iter()
            .any(|known| rule.matches(known) && kind.applies_to(known))
        {
            let targets: Vec<&str> = ROUTES
                .iter()
                .copied()
                .filter(|known| kind.applies_to(known))
                .collect();
            return Err(format!(
                "fault rule {t:?}: {} does not apply to that route (it applies to: {})",
                kind.as_str(),
                targets.join(", ")
            ));
        }
        Ok(rule)
    }

    /// Does this rule apply to `route`?
    pub fn matches(&self, route: &str) -> bool {
        match &self.route {
            None => true,
            Some(r) => {
                route == r || (route.starts_with(r.as_str()) && route[r.len()..].starts_with('.'))
            }
        }
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.route {
            write!(f, "{r}:")?;
        }
        write!(f, "{}={}", self.kind.as_str(), self.rate)?;
        if self.kind.default_ms().is_some() {
            write!(f, "@{}", self.latency_ms)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FaultRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultRule::parse(s)
    }
}

/// What the client of a `late-effect` request gets now (decided with the fault RNG, one in
/// three each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LateAnswer {
    /// 504 with an `errors` body (`gatewayTimeout`), as a gateway that stopped waiting.
    #[default]
    GatewayTimeout,
    /// The connection is cut mid-answer.
    Cut,
    /// No answer: over HTTP the server holds the response until the client gives up (or for
    /// a while, then answers 504); the in-memory adapter answers a client timeout.
    Hang,
}

/// The faults that fire for one request (or delivery), decided once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub latency_ms: u64,
    /// 500, 503 or 429: answer this and do nothing.
    pub status: Option<u16>,
    /// `InvalidAccessTime` or `InvalidCredentials`: answer that request-level 400 and do
    /// nothing.
    pub request_error: Option<FaultKind>,
    pub lost_response: bool,
    /// For a lost response: cut the connection (true) or answer 502 (false).
    pub lost_as_cut: bool,
    /// Take effect this many ms of business time later; answer [`Decision::late_answer`] now.
    /// Wins over `lost_response` (the handler does not run now), loses to `status` and
    /// `request_error` (nothing is done at all).
    pub late_effect_ms: Option<u64>,
    pub late_answer: LateAnswer,
    /// Leave out of lists the items created within this many ms of business time.
    pub list_lag_ms: Option<u64>,
    /// Answer a tag query with part of each page, chosen with an RNG seeded with this.
    pub partial_seed: Option<u64>,
    pub duplicate: bool,
    pub reorder: bool,
    pub drop: bool,
    pub transfer_fail: bool,
    /// Send unset optional fields as `null` ([`Decision::reshape`]).
    pub null_optionals: bool,
    /// Leave the fee out of credited invoice snapshots: `Some(true)` as `null`, `Some(false)`
    /// by removing the key.
    pub missing_fee: Option<bool>,
    /// Send each event's log `amount` as a string.
    pub undecodable_event: bool,
}

impl Decision {
    /// Rewrite a 200 answer's body (or a delivery's) as `null-optionals` and `missing-fee`
    /// say; nothing else changes.
    pub fn reshape(&self, body: &mut Value) {
        if self.null_optionals {
            null_optionals(body);
        }
        if let Some(as_null) = self.missing_fee {
            drop_credited_fees(body, as_null);
        }
        if self.undecodable_event {
            garble_events(body);
        }
    }

    /// Whether [`Decision::reshape`] changes anything.
    pub fn reshapes(&self) -> bool {
        self.null_optionals || self.missing_fee.is_some() || self.undecodable_event
    }
}

/// Whether a value is what an unset optional field holds.
fn unset(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// `null-optionals`, everywhere in `v`.
fn null_optionals(v: &mut Value) {
    match v {
        Value::Object(m) => {
            // Fields the sandbox leaves out when unset, by the kind of object.
            let absent: &[&str] = if m.contains_key("brcode") {
                &["due", "expiration", "updated"]
            } else if m.contains_key("bankCode") {
                &["scheduled", "updated"]
            } else if m.contains_key("subscription") {
                &["workspaceId"]
            } else {
                &[]
            };
            for key in absent {
                m.entry(*key).or_insert(Value::Null);
            }
            for (k, x) in m.iter_mut() {
                if OPTIONAL_KEYS.contains(&k.as_str()) && unset(x) {
                    *x = Value::Null;
                } else {
                    null_optionals(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(null_optionals),
        _ => {}
    }
}

/// `undecodable-event`, everywhere in `v`: an event's log's `amount` becomes a string.
fn garble_events(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("subscription") {
                if let Some(Value::Object(log)) = m.get_mut("log") {
                    for subject in ["invoice", "transfer"] {
                        if let Some(Value::Object(s)) = log.get_mut(subject) {
                            if let Some(a) = s.get("amount").cloned() {
                                s.insert("amount".into(), Value::String(a.to_string()));
                            }
                        }
                    }
                }
                return;
            }
            m.values_mut().for_each(garble_events);
        }
        Value::Array(a) => a.iter_mut().for_each(garble_events),
        _ => {}
    }
}

/// `missing-fee`, everywhere in `v`: the `fee` of the invoice in each `credited` log.
fn drop_credited_fees(v: &mut Value, as_null: bool) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("credited") {
                if let Some(Value::Object(inv)) = m.get_mut("invoice") {
                    if as_null {
                        inv.insert("fee".into(), Value::Null);
                    } else {
                        inv.remove("fee");
                    }
                }
            }
            m.values_mut().for_each(|x| drop_credited_fees(x, as_null));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| drop_credited_fees(x, as_null)),
        _ => {}
    }
}

/// Roll every matching rule once (in order) and collect what fires.
pub fn decide<R: rand::Rng>(rules: &[FaultRule], route: &str, rng: &mut R) -> Decision {
    let mut d = Decision::default();
    for rule in rules
        .iter()
        .filter(|r| r.matches(route) && r.kind.applies_to(route))
    {
        if rule.rate <= 0.0 || !rng.gen_bool(rule.rate.min(1.0)) {
            continue;
        }
        match rule.kind {
            FaultKind::Status500 => d.status = d.status.or(Some(500)),
            FaultKind::Status503 => d.status = d.status.or(Some(503)),
            FaultKind::Status429 => d.status = d.status.or(Some(429)),
            FaultKind::Latency => d.latency_ms = d.latency_ms.max(rule.latency_ms),
            FaultKind::LostResponse => {
                d.lost_response = true;
                d.lost_as_cut = rng.gen_bool(0.5);
            }
            FaultKind::DuplicateDelivery => d.duplicate = true,
            FaultKind::ReorderDelivery => d.reorder = true,
            FaultKind::DropDelivery => d.drop = true,
            FaultKind::TransferFail => d.transfer_fail = true,
            FaultKind::LateEffect => {
                let answer = match rng.gen_range(0..3) {
                    0 => LateAnswer::GatewayTimeout,
                    1 => LateAnswer::Cut,
                    _ => LateAnswer::Hang,
                };
                if d.late_effect_ms.is_none() {
                    d.late_effect_ms = Some(rule.latency_ms);
                    d.late_answer = answer;
                }
            }
            FaultKind::ListLag => {
                d.list_lag_ms = Some(d.list_lag_ms.unwrap_or(0).max(rule.latency_ms));
            }
            FaultKind::ListPartial => {
                let seed = rng.r#gen::<u64>();
                d.partial_seed = d.partial_seed.or(Some(seed));
            }
            FaultKind::InvalidAccessTime | FaultKind::InvalidCredentials => {
                d.request_error = d.request_error.or(Some(rule.kind));
            }
            FaultKind::NullOptionals => d.null_optionals = true,
            FaultKind::UndecodableEvent => d.undecodable_event = true,
            FaultKind::MissingFee => {
                let as_null = rng.gen_bool(0.5);
                d.missing_fee = d.missing_fee.or(Some(as_null));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn parse_all(texts: &[&str]) -> Vec<FaultRule> {
        texts.iter().map(|t| FaultRule::parse(t).unwrap()).collect()
    }

    fn seeded(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    #[test]
    fn parses_rules() {
        let r = FaultRule::parse("invoice.create:lost-response=0.5").unwrap();
        assert_eq!(r.route.as_deref(), Some("invoice.create"));
        assert_eq!(r.kind, FaultKind::LostResponse);
        assert_eq!(r.rate, 0.5);
        let r = FaultRule::parse("500=0.1").unwrap();
        assert_eq!(r.route, None);
        assert_eq!(r.kind, FaultKind::Status500);
        let r = FaultRule::parse("event:latency=1@250").unwrap();
        assert_eq!(r.latency_ms, 250);
        assert!(r.matches("event.list") && r.matches("event.attempt.list"));
        assert!(!r.matches("eventx.list") && !r.matches("invoice.list"));
        assert!(FaultRule::parse("invoice.create:teapot=0.5").is_err());
        assert!(FaultRule::parse("nowhere:500=0.5").is_err());
        assert!(FaultRule::parse("500=1.5").is_err());
        assert!(FaultRule::parse("500").is_err());
        assert_eq!(
            FaultRule::parse("invoice.create:lost-response=0.5")
                .unwrap()
                .to_string(),
            "invoice.create:lost-response=0.5"
        );
    }

    #[test]
    fn decisions_follow_rates() {
        let rules = parse_all(&["invoice.create:500=1", "latency=0"]);
        let mut rng = seeded(1);
        assert_eq!(decide(&rules, "invoice.create", &mut rng).status, Some(500));
        assert_eq!(
            decide(&rules, "invoice.list", &mut rng),
            Decision::default()
        );
    }

    #[test]
    fn parses_the_consistency_kinds() {
        let r = FaultRule::parse("invoice.create:late-effect=0.5").unwrap();
        assert_eq!(r.kind, FaultKind::LateEffect);
        assert_eq!(r.latency_ms, DEFAULT_LATE_EFFECT_MS);
        assert_eq!(r.to_string(), "invoice.create:late-effect=0.5@5000");
        let r = FaultRule::parse("late-effect=1@250ms").unwrap();
        assert_eq!((r.route.as_deref(), r.latency_ms), (None, 250));
        let r = FaultRule::parse("list-lag=1").unwrap();
        assert_eq!(r.latency_ms, DEFAULT_LIST_LAG_MS);
        let r = FaultRule::parse("event:list-lag=0.5@30000").unwrap();
        assert_eq!(r.to_string(), "event:list-lag=0.5@30000");
        let r = FaultRule::parse("transfer.list:list-partial=1").unwrap();
        assert_eq!((r.kind, r.latency_ms), (FaultKind::ListPartial, 0));
        assert_eq!(r.to_string(), "transfer.list:list-partial=1");
        for (text, kind) in [
            ("invalid-access-time=1", FaultKind::InvalidAccessTime),
            (
                "invoice:invalid-credentials=0.2",
                FaultKind::InvalidCredentials,
            ),
        ] {
            let r = FaultRule::parse(text).unwrap();
            assert_eq!(r.kind, kind);
            assert_eq!(r.to_string(), text);
            assert_eq!(FaultRule::parse(&r.to_string()).unwrap(), r);
        }
        // `@MS` only where it means something.
        assert!(FaultRule::parse("list-partial=1@10").is_err());
        assert!(FaultRule::parse("invalid-credentials=1@10").is_err());
        // A rule whose route its kind can never apply to.
        assert!(FaultRule::parse("invoice.get:list-lag=1").is_err());
        assert!(FaultRule::parse("event.list:list-partial=1").is_err());
        assert!(FaultRule::parse("delivery:late-effect=1").is_err());
        assert!(FaultRule::parse("transfer.settle:invalid-access-time=1").is_err());
        // ...but a broader route is fine: the kind applies where it can.
        assert!(FaultRule::parse("invoice:list-lag=1").is_ok());
        assert!(FaultRule::parse("invoice:list-partial=1").is_ok());
        for kind in KINDS {
            assert_eq!(FaultKind::parse(kind.as_str()), Some(*kind));
        }
        let e = FaultRule::parse("teapot=1").unwrap_err();
        assert!(
            e.contains("late-effect") && e.contains("invalid-credentials"),
            "{e}"
        );
    }

    #[test]
    fn the_consistency_kinds_fire_only_where_they_apply() {
        let rules = parse_all(&["late-effect=1@700", "list-lag=1@900", "list-partial=1"]);
        let mut rng = seeded(3);
        let d = decide(&rules, "invoice.list", &mut rng);
        assert_eq!(d.late_effect_ms, Some(700));
        assert_eq!(d.list_lag_ms, Some(900));
        assert!(d.partial_seed.is_some());
        let d = decide(&rules, "event.list", &mut rng);
        assert_eq!((d.list_lag_ms, d.partial_seed), (Some(900), None));
        let d = decide(&rules, "invoice.get", &mut rng);
        assert_eq!((d.late_effect_ms, d.list_lag_ms), (Some(700), None));
        // Deliveries and settlement neither see them nor roll for them.
        let before = rng.clone();
        assert_eq!(
            decide(&rules, "delivery.invoice", &mut rng),
            Decision::default()
        );
        assert_eq!(
            decide(&rules, "transfer.settle", &mut rng),
            Decision::default()
        );
        assert_eq!(rng, before);

        // The answer of a late effect is a seeded mix of the three.
        let rule = parse_all(&["late-effect=1"]);
        let mut rng = seeded(11);
        let answers: Vec<LateAnswer> = (0..60)
            .map(|_| decide(&rule, "invoice.create", &mut rng).late_answer)
            .collect();
        for a in [
            LateAnswer::GatewayTimeout,
            LateAnswer::Cut,
            LateAnswer::Hang,
        ] {
            assert!(answers.contains(&a), "{a:?} never drawn");
        }
        let mut again = seeded(11);
        let replay: Vec<LateAnswer> = (0..60)
            .map(|_| decide(&rule, "invoice.create", &mut again).late_answer)
            .collect();
        assert_eq!(answers, replay, "same seed, same answers");

        let rules = parse_all(&[
            "invoice.create:invalid-credentials=1",
            "invalid-access-time=1",
        ]);
        let d = decide(&rules, "invoice.create", &mut rng);
        assert_eq!(d.request_error, Some(FaultKind::InvalidCredentials));
        let d = decide(&rules, "balance.get", &mut rng);
        assert_eq!(d.request_error, Some(FaultKind::InvalidAccessTime));
    }

    #[test]
    fn the_decoding_kinds_parse_apply_where_they_can_and_reshape_answers() {
        for kind in ["null-optionals", "missing-fee", "undecodable-event"] {
            let r = FaultRule::parse(&format!("{kind}=1")).unwrap();
            assert_eq!(r.to_string(), format!("{kind}=1"));
            assert!(FaultRule::parse(&format!("{kind}=1@10")).is_err());
        }
        assert!(FaultRule::parse("transfer.settle:null-optionals=1").is_err());
        assert!(FaultRule::parse("invoice.list:missing-fee=1").is_err());
        assert!(FaultRule::parse("invoice.log:missing-fee=1").is_ok());
        assert!(FaultRule::parse("invoice.list:undecodable-event=1").is_err());
        assert!(FaultRule::parse("delivery:undecodable-event=1").is_ok());

        let rules = parse_all(&["null-optionals=1", "missing-fee=1", "undecodable-event=1"]);
        let mut rng = seeded(5);
        let d = decide(&rules, "invoice.list", &mut rng);
        assert!(d.null_optionals && d.missing_fee.is_none() && !d.undecodable_event);
        let d = decide(&rules, "delivery.invoice", &mut rng);
        assert!(d.null_optionals && d.missing_fee.is_some() && d.undecodable_event);
        assert_eq!(
            decide(&rules, "transfer.settle", &mut rng),
            Decision::default()
        );

        let event = || {
            serde_json::json!({"events": [{"id": "1", "subscription": "invoice", "log": {
                "id": "2", "type": "credited", "errors": [], "invoice": {"id": "3", "amount": 1000,
                "fee": 0, "fineAmount": 0, "brcode": "x", "tags": [], "name": "Ana"}}}],
                "cursor": null})
        };
        let mut v = event();
        Decision {
            null_optionals: true,
            ..Decision::default()
        }
        .reshape(&mut v);
        let log = &v["events"][0]["log"];
        assert!(log["errors"].is_null() && log["invoice"]["tags"].is_null());
        assert!(log["invoice"]["fineAmount"].is_null() && log["invoice"]["due"].is_null());
        assert_eq!(log["invoice"]["fee"], 0, "money is never nulled");
        assert_eq!(log["invoice"]["brcode"], "x", "set values are kept");
        assert!(v["events"][0]["workspaceId"].is_null());
        for as_null in [true, false] {
            let mut v = event();
            Decision {
                missing_fee: Some(as_null),
                ..Decision::default()
            }
            .reshape(&mut v);
            let inv = &v["events"][0]["log"]["invoice"];
            assert!(inv["fee"].is_null());
            assert_eq!(inv.as_object().unwrap().contains_key("fee"), as_null);
        }
        let mut v = event();
        Decision {
            undecodable_event: true,
            ..Decision::default()
        }
        .reshape(&mut v);
        assert_eq!(v["events"][0]["log"]["invoice"]["amount"], "1000");
    }
}
