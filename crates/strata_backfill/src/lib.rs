//! The online backfill engine: it runs one `UPDATE`/`DELETE` as many short transactions over
//! key ranges, on any database whose driver implements [`strata_core::BackfillDriver`].
//!
//! - [`BackfillConfig`] holds the knobs, built from a file's `-- strata:backfill` options or the
//!   command line, with defaults for what is not given;
//! - [`Engine`] drives the batches: it fixes the key range at the start, records progress with
//!   every batch, retries lock timeouts under the run's [`strata_core::LockPolicy`], waits for
//!   lagging replicas, sizes batches towards a target duration, and reports
//!   [`strata_core::BackfillEvent`]s (the CLI draws the progress bar from them).
//!
//! ```no_run
//! # fn demo(driver: &mut dyn strata_core::Driver) -> Result<(), strata_core::BackfillError> {
//! use strata_core::{BackfillJob, BackfillRunner, BackfillStatement, Dialect, LockPolicy};
//! let statement = BackfillStatement::parse("UPDATE users SET n = n + 1", Dialect::Postgres).unwrap();
//! let job = BackfillJob {
//!     name: "bump_n".into(),
//!     statement,
//!     options: Default::default(),
//!     statement_checksum: "c0ffee".into(),
//! };
//! let report = strata_backfill::Engine.run(driver, &job, &LockPolicy::default(), &mut |_| {})?;
//! println!("{} rows changed", report.record.rows_changed);
//! # Ok(()) }
//! ```

mod config;
mod engine;
mod throttle;

pub use config::BackfillConfig;
pub use engine::Engine;
pub use throttle::lag_exceeded;
