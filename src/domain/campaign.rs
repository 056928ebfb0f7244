//! What shapes a campaign: how often a batch is due, for how long, and how many invoices of
//! what amounts each batch holds. One type for the operator's request, the campaign the ledger
//! stores and the one a tick reads back.

use chrono::{DateTime, Duration, Utc};

use super::schedule::Schedule;

/// The most batches a campaign may have (more is surely a typo in `--every` or `--for`).
const MAX_SLOTS: i64 = 10_000;
/// The most invoices one batch may have: the API takes at most 100 per request.
const MAX_INVOICES: u32 = 100;

/// A campaign's parameters, fixed when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignSpec {
    /// Interval between batches.
    pub every: Duration,
    /// How long the campaign runs; it has `length / every` batches (see [`CampaignSpec::slots`]).
    pub length: Duration,
    pub min_invoices: u32,
    pub max_invoices: u32,
    /// Smallest invoice amount, in cents.
    pub min_amount: i64,
    /// Largest invoice amount, in cents.
    pub max_amount: i64,
}

impl Default for CampaignSpec {
    fn default() -> Self {
        CampaignSpec {
            every: Duration::hours(3),
            length: Duration::hours(24),
            min_invoices: 8,
            max_invoices: 12,
            min_amount: 1_000,
            max_amount: 100_000,
        }
    }
}

/// Why a campaign cannot start as asked (the messages name the flags to fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("--every must be positive")]
    IntervalNotPositive,
    #[error("--for must be at least one --every interval")]
    ShorterThanInterval,
    #[error("a campaign of more than 10000 batches is surely a mistake")]
    TooManyBatches,
    #[error("need 1 <= --min <= --max <= 100 (the API takes at most 100 invoices per request)")]
    InvoiceCounts,
    #[error("need 0 <= --min-amount <= --max-amount")]
    Amounts,
}

impl CampaignSpec {
    /// Check the spec and count its batches.
    pub fn validate(&self) -> Result<u32, CampaignError> {
        if self.every <= Duration::zero() {
            return Err(CampaignError::IntervalNotPositive);
        }
        if self.length < self.every {
            return Err(CampaignError::ShorterThanInterval);
        }
        let slots = self.length.num_seconds() / self.every.num_seconds();
        if slots > MAX_SLOTS {
            return Err(CampaignError::TooManyBatches);
        }
        if self.min_invoices == 0
            || self.min_invoices > self.max_invoices
            || self.max_invoices > MAX_INVOICES
        {
            return Err(CampaignError::InvoiceCounts);
        }
        if self.min_amount < 0 || self.min_amount > self.max_amount {
            return Err(CampaignError::Amounts);
        }
        Ok(slots as u32)
    }

    /// How many batches the campaign has: whole intervals in its length.
    pub fn slots(&self) -> u32 {
        let every = self.every.num_seconds().max(1);
        (self.length.num_seconds() / every).clamp(0, u32::MAX as i64) as u32
    }

    /// The schedule of a campaign with this spec started at `started_at`.
    pub fn schedule(&self, started_at: DateTime<Utc>) -> Schedule {
        Schedule::new(started_at, self.every, self.slots())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_flag_to_fix() {
        let ok = CampaignSpec::default();
        let cases: &[(CampaignSpec, Result<u32, &str>)] = &[
            (ok, Ok(8)),
            (
                CampaignSpec {
                    length: Duration::hours(25),
                    ..ok
                },
                Ok(8),
            ),
            (
                CampaignSpec {
                    every: Duration::zero(),
                    ..ok
                },
                Err("--every must be positive"),
            ),
            (
                CampaignSpec {
                    length: Duration::hours(2),
                    ..ok
                },
                Err("--for must be at least one --every interval"),
            ),
            (
                CampaignSpec {
                    every: Duration::seconds(1),
                    length: Duration::seconds(10_001),
                    ..ok
                },
                Err("a campaign of more than 10000 batches is surely a mistake"),
            ),
            (
                CampaignSpec {
                    min_invoices: 0,
                    ..ok
                },
                Err(
                    "need 1 <= --min <= --max <= 100 (the API takes at most 100 invoices per request)",
                ),
            ),
            (
                CampaignSpec {
                    min_invoices: 13,
                    ..ok
                },
                Err(
                    "need 1 <= --min <= --max <= 100 (the API takes at most 100 invoices per request)",
                ),
            ),
            (
                CampaignSpec {
                    max_invoices: 101,
                    ..ok
                },
                Err(
                    "need 1 <= --min <= --max <= 100 (the API takes at most 100 invoices per request)",
                ),
            ),
            (
                CampaignSpec {
                    min_amount: -1,
                    ..ok
                },
                Err("need 0 <= --min-amount <= --max-amount"),
            ),
            (
                CampaignSpec {
                    min_amount: 100_001,
                    ..ok
                },
                Err("need 0 <= --min-amount <= --max-amount"),
            ),
        ];
        for (spec, want) in cases {
            let got = spec.validate().map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{spec:?}");
        }
    }

    #[test]
    fn a_stored_spec_has_the_slots_it_was_stored_with() {
        for slots in [1, 8, 10_000] {
            let spec = CampaignSpec {
                length: Duration::hours(3) * slots,
                ..CampaignSpec::default()
            };
            assert_eq!(spec.slots(), slots as u32);
            assert_eq!(spec.validate(), Ok(slots as u32));
        }
        // A length that is not a whole number of intervals counts whole intervals only.
        let spec = CampaignSpec {
            length: Duration::hours(25),
            ..CampaignSpec::default()
        };
        assert_eq!(spec.slots(), 8);
    }
}
