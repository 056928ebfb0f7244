//! Business time. Production reads the system clock; tests and the demo set `STARK_NOW`
//! (RFC 3339) or use a controllable clock. Request signing never uses this: it always uses
//! the real wall clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time, for what is about this machine rather than the business: when a ledger file was
/// created, how far this machine's clock is from the bank's, when a signing key was fetched.
/// Business decisions take a [`Clock`]; leases use [`crate::ledger::lease::wall_now`].
pub fn system_now() -> DateTime<Utc> {
    Utc::now()
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// `STARK_NOW` holds something that is not a time.
#[derive(Debug, thiserror::Error)]
#[error("STARK_NOW={value:?} is not an RFC 3339 time: {source}")]
pub struct ClockError {
    pub value: String,
    pub source: chrono::ParseError,
}

/// The clock for this process: `STARK_NOW` when set (a testing aid, read by
/// [`crate::test_hooks::now`]), else the system clock.
pub fn from_env() -> Result<Arc<dyn Clock>, ClockError> {
    match crate::test_hooks::now() {
        Some(value) => {
            let at = DateTime::parse_from_rfc3339(&value)
                .map_err(|source| ClockError { value, source })?;
            Ok(Arc::new(ManualClock::new(at.with_timezone(&Utc))))
        }
        None => Ok(Arc::new(SystemClock)),
    }
}
