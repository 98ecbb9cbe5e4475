//! PostgreSQL driver for strata.
//!
//! - [`connect`]: URLs, libpq `sslmode` semantics over rustls, classified connection errors;
//! - [`PgSplitter`]: files split and classified by PostgreSQL's own parser (`pg_query`);
//! - [`PgDriver`]: runs migrations (one round trip per transactional migration), keeps the
//!   history table, and serialises deployers with a polled advisory lock;
//! - the live catalog for the linter (`strata_core::CatalogReader` on [`PgDriver`]);
//! - other tools' history tables for `strata adopt` (`strata_core::ForeignTables`).

mod backfill;
mod catalog;
pub mod connect;
mod driver;
mod errors;
mod expand;
mod foreign;
mod history;
mod introspect;
mod lock;
mod scratch;
mod split;
mod table_locks;
mod tls;
mod waits;

pub use connect::{ConnectError, PgTarget, SslMode};
pub use driver::PgDriver;
pub use errors::driver_error;
pub use scratch::{SCRATCH_PREFIX, ScratchDatabase, ScratchError};
pub use split::PgSplitter;
