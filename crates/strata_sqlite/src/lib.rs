//! SQLite driver for strata: the zero-setup embedded default. SQLite is compiled in (`bundled`),
//! so `strata` works on a fresh machine with no server at all.
//!
//! - [`SqliteTarget`] parses `sqlite://PATH` and `sqlite::memory:` URLs;
//! - [`SqliteSplitter`] cuts files into statements the way the `sqlite3` shell does, and rejects
//!   files SQLite's parser cannot read before anything runs;
//! - [`SqliteDriver`] runs migrations, keeps the history table, and serialises concurrent runs
//!   with `BEGIN IMMEDIATE` and a busy timeout; it also reads its schema (`introspect`) for
//!   `verify`, `drift` and `schema dump`, and other tools' history tables for `strata adopt`.

mod backfill;
mod driver;
mod errors;
mod foreign;
mod history;
mod introspect;
mod split;
mod target;

pub use driver::SqliteDriver;
pub use split::SqliteSplitter;
pub use target::{SqliteTarget, TargetError};
