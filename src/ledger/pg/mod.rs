//! The PostgreSQL ledger backend: its address ([`url`]) and its TLS layer (rustls, no OpenSSL).

pub mod url;

mod tls;
