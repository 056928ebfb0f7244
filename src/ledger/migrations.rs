//! Schema migrations, applied in order; `PRAGMA user_version` is the number applied. Never
//! edit a released migration: add a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: ledger identity and cached API data.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE public_keys (
        fingerprint TEXT PRIMARY KEY,
        pem         TEXT NOT NULL,
        fetched_at  TEXT NOT NULL
    ) STRICT;
    "#,
];
