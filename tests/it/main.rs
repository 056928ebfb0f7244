//! The integration tests: one binary, one module per area, one harness (`harness.rs`).
//! `tests/simulation.rs` stays its own binary for its knobs (`SIM_RUNS`, `SIM_SEED`) and shares
//! the harness.
//!
//! Run one area with a filter: `cargo test --test it sandbox_`, `cargo test --test it money_path`.

mod harness;

mod abuse;
mod attention;
mod cli_keys;
mod completions;
mod decoding;
mod demo;
mod deploy_examples;
mod doctor;
mod dry_run;
mod examples;
mod fuzz_regressions;
mod help;
mod init;
mod issue_invoices;
mod json_contract;
mod key_errors;
mod leases;
mod log;
mod money_path;
mod pg_cli;
mod pg_clock;
mod pg_concurrency;
mod pg_harness;
mod pg_tls;
mod prompts;
mod properties;
mod query_plans;
mod readme;
mod sandbox_api;
mod sandbox_auth;
mod sandbox_cli;
mod sandbox_surface;
mod sandbox_webhooks;
mod scale;
mod sdk_conformance;
mod secrets;
mod serve_listen;
mod status;
mod vectors;
mod webhook_cmd;
mod webhook_hostile;
