//! PostgreSQL driver for strata.
//!
//! - [`connect`]: URLs, libpq `sslmode` semantics over rustls, classified connection errors;
//! - [`PgSplitter`]: files split and classified by PostgreSQL's own parser (`pg_query`);
//! - [`PgDriver`]: runs migrations (one round trip per transactional migration), keeps the
//!   history table, and serialises deployers with a polled advisory lock.

pub mod connect;
mod driver;
mod errors;
mod history;
mod lock;
mod split;
mod tls;

pub use connect::{ConnectError, PgTarget, SslMode};
pub use driver::PgDriver;
pub use split::PgSplitter;
