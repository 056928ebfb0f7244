//! Fault injection: `KIND=RATE` or `ROUTE:KIND=RATE` rules, decided with a seeded RNG.
//!
//! Route names are `resource.action` (see [`ROUTES`]); a rule's route matches that route and
//! every route below it (`invoice` matches `invoice.create` and `invoice.log.list`), `*` or
//! no route matches everything. Delivery faults match `delivery.invoice` /
//! `delivery.transfer`, `transfer-fail` matches `transfer.settle`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every route name a rule can target.
pub const ROUTES: &[&str] = &[
    "invoice.create",
    "invoice.list",
    "invoice.get",
    "invoice.log.list",
    "invoice.log.get",
    "transfer.create",
    "transfer.list",
    "transfer.get",
    "transfer.log.list",
    "transfer.log.get",
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
}

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
    /// For `latency`: how long to wait (default 1000 ms).
    pub latency_ms: u64,
}

pub const DEFAULT_LATENCY_MS: u64 = 1000;

impl FaultRule {
    /// Parse `KIND=RATE`, `ROUTE:KIND=RATE` or `[ROUTE:]latency=RATE@MS`.
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
            format!(
                "fault rule {t:?}: unknown kind {kind:?} (known: 500, 503, 429, latency, lost-response, duplicate-delivery, reorder-delivery, drop-delivery, transfer-fail)"
            )
        })?;
        let (rate, ms) = match rhs.split_once('@') {
            Some((r, ms)) => {
                if kind != FaultKind::Latency {
                    return Err(format!("fault rule {t:?}: `@MS` only applies to latency"));
                }
                let ms = ms
                    .trim()
                    .trim_end_matches("ms")
                    .parse::<u64>()
                    .map_err(|_| format!("fault rule {t:?}: {ms:?} is not milliseconds"))?;
                (r, ms)
            }
            None => (rhs, DEFAULT_LATENCY_MS),
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
        Ok(FaultRule {
            route,
            kind,
            rate,
            latency_ms: ms,
        })
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
        if self.kind == FaultKind::Latency {
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

/// The faults that fire for one request (or delivery), decided once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub latency_ms: u64,
    /// 500, 503 or 429: answer this and do nothing.
    pub status: Option<u16>,
    pub lost_response: bool,
    /// For a lost response: cut the connection (true) or answer 502 (false).
    pub lost_as_cut: bool,
    pub duplicate: bool,
    pub reorder: bool,
    pub drop: bool,
    pub transfer_fail: bool,
}

/// Roll every matching rule once (in order) and collect what fires.
pub fn decide<R: rand::Rng>(rules: &[FaultRule], route: &str, rng: &mut R) -> Decision {
    let mut d = Decision::default();
    for rule in rules.iter().filter(|r| r.matches(route)) {
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
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
        let rules = vec![
            FaultRule::parse("invoice.create:500=1").unwrap(),
            FaultRule::parse("latency=0").unwrap(),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(decide(&rules, "invoice.create", &mut rng).status, Some(500));
        assert_eq!(
            decide(&rules, "invoice.list", &mut rng),
            Decision::default()
        );
    }
}
