//! PostgreSQL driver for strata.

pub mod connect;
mod tls;
