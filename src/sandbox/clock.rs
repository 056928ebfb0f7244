//! The sandbox's business clock: a start instant, plus real elapsed time × speed, plus manual
//! advances. Authentication never uses it (it checks `Access-Time` against the wall clock).

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};

#[derive(Debug)]
pub struct SandboxClock {
    inner: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    at: DateTime<Utc>,
    speed: f64,
}

impl Anchor {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.real.elapsed().as_secs_f64() * self.speed;
        let micros = (elapsed * 1e6).min(i64::MAX as f64) as i64;
        self.at
            .checked_add_signed(chrono::Duration::microseconds(micros))
            .unwrap_or(self.at)
    }
}

impl SandboxClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        SandboxClock {
            inner: Mutex::new(Anchor {
                real: Instant::now(),
                at: start,
                speed: if speed.is_finite() && speed >= 0.0 {
                    speed
                } else {
                    1.0
                },
            }),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).now()
    }

    pub fn speed(&self) -> f64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).speed
    }

    /// Jump forward (or back, with a negative duration) and keep running from there.
    pub fn advance(&self, by: chrono::Duration) -> DateTime<Utc> {
        let mut a = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = a.now();
        let at = now.checked_add_signed(by).unwrap_or(now);
        a.real = Instant::now();
        a.at = at;
        at
    }

    /// Set the business time and keep running from there.
    pub fn set(&self, t: DateTime<Utc>) {
        let mut a = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        a.real = Instant::now();
        a.at = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_only_moves_when_told() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = SandboxClock::new(t0, 0.0);
        assert_eq!(c.now(), t0);
        c.advance(chrono::Duration::hours(3));
        assert_eq!(c.now(), t0 + chrono::Duration::hours(3));
        c.set(t0);
        assert_eq!(c.now(), t0);
    }
}
