//! The Stark Bank v2 API: request signing, the HTTP client, wire models and webhook
//! verification.

pub mod auth;
pub mod bank;
pub mod client;
pub(crate) mod endpoints;
pub mod model;
pub mod webhook;

pub use bank::{Bank, Page};
pub use client::{ApiError, Client, ClientConfig, Environment, Query};
