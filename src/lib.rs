//! `stark` runs Stark Bank's invoice-to-transfer loop unattended: it issues invoices on a
//! schedule, verifies and records webhook credits, and forwards each credit exactly once —
//! with a local SQLite ledger that makes every cron run idempotent.
//!
//! The library is usable without the CLI: [`keys`] (PEM loading, signing, verification),
//! [`api`] (the Stark Bank client, models and webhook verification), [`ledger`] (the SQLite
//! ledger) and [`domain`] (tax ids, money).

pub mod api;
pub mod audit;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod demo;
pub mod domain;
pub mod events;
pub mod issuer;
pub mod keys;
pub mod ledger;
pub(crate) mod payout;
pub(crate) mod reconcile;
pub mod sandbox;
pub mod serve;
pub mod status;
pub(crate) mod test_hooks;
#[doc(hidden)]
pub mod testing;
