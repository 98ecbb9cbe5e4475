//! Why a trace could not be made. A traced statement that fails is not among these: it is part
//! of the report ([`crate::StatementFailure`]), next to what was traced before it.

use strata_core::DriverError;
use strata_postgres::ConnectError;

/// A trace that could not be made or finished.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A migration file could not be prepared, or applying the migrations before the traced
    /// ones on the scratch database failed.
    #[error(transparent)]
    Migrations(#[from] strata_core::Error),
    /// `--in-place` was asked of an expand/contract migration, whose phases commit one after
    /// the other: rolled back, the complete phase would have nothing to complete.
    #[error(
        "--in-place cannot trace {version} {name}: it is an expand/contract migration, whose complete phase needs its expand phase committed"
    )]
    ExpandInPlace { version: String, name: String },
    /// Reading the catalog, or managing the tracing transaction, failed.
    #[error("cannot {action}: {error}")]
    Session {
        action: &'static str,
        error: DriverError,
    },
}

impl TraceError {
    pub(crate) fn session(action: &'static str) -> impl FnOnce(DriverError) -> TraceError {
        move |error| TraceError::Session { action, error }
    }
}
