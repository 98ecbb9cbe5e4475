//! What happens during a run, as typed events. The core never prints: the CLI renders events
//! for a terminal or as JSON lines, and library users can log them however they like.

use std::time::Duration;

use crate::driver::{IndexState, LockHolder};
use crate::plan::Step;
use crate::statement::IndexBuild;

/// Something that happened during a run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Another process holds the migration lock; strata keeps waiting.
    LockWaiting {
        holder: &'a LockHolder,
        waited: Duration,
    },
    /// A migration is about to run.
    MigrationStarted { step: &'a Step },
    /// A statement of a migration that runs outside a transaction is about to run (1-based).
    StatementStarted { step: &'a Step, number: usize },
    /// An index left by an earlier failed or interrupted build was found before re-running it.
    IndexLeftover {
        step: &'a Step,
        index: &'a IndexBuild,
        state: IndexState,
    },
    /// A migration finished.
    MigrationFinished { step: &'a Step, execution_ms: i64 },
    /// Another process applied (or reverted) this migration first; nothing was done.
    MigrationSkipped { step: &'a Step },
    /// Something worth knowing that does not stop the run.
    Warning { message: String },
}
