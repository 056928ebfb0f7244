//! The campaign schedule: slot k is due at `start + k·interval`. A tick belongs to the slot
//! whose window contains it. Windows tolerate cron jitter both ways: a slot's window opens
//! `early` before its due time (15 minutes, at most a quarter of the interval) and stays open
//! until the next slot's window opens. So for a 3-hour interval the 03:00 slot is issued by a
//! run anywhere in [02:45, 05:45): at 02:57 and at 03:06 alike, exactly once, while a run at
//! 00:00:07 (slot 0) and one at 03:00:00 (slot 1) are different slots.

use chrono::{DateTime, Duration, Utc};

/// How early a run may issue a slot: 15 minutes, or a quarter of the interval if shorter.
pub fn early_tolerance(interval: Duration) -> Duration {
    std::cmp::min(Duration::minutes(15), interval / 4)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub start: DateTime<Utc>,
    pub interval: Duration,
    pub slots: u32,
}

/// Where a moment falls in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Before slot 0's window opens.
    Before,
    /// Inside slot k's window.
    Slot(u32),
    /// After the last slot's window closed.
    After,
}

impl Schedule {
    pub fn new(start: DateTime<Utc>, interval: Duration, slots: u32) -> Self {
        Schedule {
            start,
            interval,
            slots,
        }
    }

    pub fn early(&self) -> Duration {
        early_tolerance(self.interval)
    }

    /// When slot k is due.
    pub fn due(&self, k: u32) -> DateTime<Utc> {
        self.start + self.interval * k as i32
    }

    /// When slot k's window opens.
    pub fn opens(&self, k: u32) -> DateTime<Utc> {
        self.due(k) - self.early()
    }

    /// The slot whose window holds `now`.
    pub fn position(&self, now: DateTime<Utc>) -> Position {
        let since = now - self.opens(0);
        if since < Duration::zero() {
            return Position::Before;
        }
        let interval_ms = self.interval.num_milliseconds().max(1);
        let k = since.num_milliseconds() / interval_ms;
        if k >= self.slots as i64 {
            Position::After
        } else {
            Position::Slot(k as u32)
        }
    }

    /// The end of the campaign: when the last slot's window closes.
    pub fn ends(&self) -> DateTime<Utc> {
        self.opens(self.slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(h: i64, m: i64, s: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::hours(h)
            + Duration::minutes(m)
            + Duration::seconds(s)
    }

    #[test]
    fn jitter_both_ways() {
        let s = Schedule::new(at(0, 0, 0), Duration::hours(3), 8);
        assert_eq!(s.position(at(0, 0, 7)), Position::Slot(0));
        assert_eq!(s.position(at(3, 0, 0)), Position::Slot(1));
        assert_eq!(s.position(at(2, 57, 0)), Position::Slot(1));
        assert_eq!(s.position(at(3, 6, 0)), Position::Slot(1));
        assert_eq!(s.position(at(2, 44, 59)), Position::Slot(0));
        assert_eq!(s.position(at(5, 44, 59)), Position::Slot(1));
        assert_eq!(s.position(at(5, 45, 0)), Position::Slot(2));
        assert_eq!(s.position(at(-1, 0, 0)), Position::Before);
        assert_eq!(s.position(at(21, 0, 0)), Position::Slot(7));
        assert_eq!(s.position(at(23, 44, 0)), Position::Slot(7));
        assert_eq!(s.position(at(23, 45, 0)), Position::After);
        assert_eq!(s.ends(), at(23, 45, 0));
    }

    #[test]
    fn short_intervals_shrink_the_early_window() {
        let s = Schedule::new(at(0, 0, 0), Duration::minutes(20), 3);
        assert_eq!(s.early(), Duration::minutes(5));
        assert_eq!(s.position(at(0, 15, 0)), Position::Slot(1));
        assert_eq!(s.position(at(0, 14, 59)), Position::Slot(0));
    }

    proptest! {
        #[test]
        fn every_due_time_and_small_jitter_maps_to_its_slot(k in 0u32..8, jitter in -899i64..3600) {
            let s = Schedule::new(at(0, 0, 0), Duration::hours(3), 8);
            prop_assert_eq!(s.position(s.due(k) + Duration::seconds(jitter)), Position::Slot(k));
        }

        #[test]
        fn positions_never_go_backwards(a in 0i64..100_000, b in 0i64..100_000) {
            let s = Schedule::new(at(0, 0, 0), Duration::hours(3), 8);
            let (lo, hi) = (a.min(b), a.max(b));
            let rank = |p: Position| match p { Position::Before => -1, Position::Slot(k) => k as i64, Position::After => 99 };
            prop_assert!(rank(s.position(at(0, 0, lo))) <= rank(s.position(at(0, 0, hi))));
        }
    }
}
