//! What happens during a run, as typed events. The core never prints: the CLI renders events
//! for a terminal or as JSON lines, and library users can log them however they like.

use std::time::Duration;

use crate::backfill::BackfillEvent;
use crate::driver::{IndexState, LockHolder};
use crate::expand::{ExpandPhase, ExpandPlan};
use crate::locks::Blocker;
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
    /// Old transactions hold locks the next statement conflicts with: strata waits for them
    /// instead of queueing behind them (which would stall every reader and writer).
    PreflightWaiting {
        step: &'a Step,
        blockers: &'a [Blocker],
        waited: Duration,
    },
    /// A statement is waiting for other sessions (a `CONCURRENTLY` build waits for older
    /// transactions, by design).
    StatementWaiting {
        step: &'a Step,
        blockers: &'a [Blocker],
        waited: Duration,
    },
    /// A lock was not available within `lock_timeout`; strata retries after `pause`.
    LockRetry {
        step: &'a Step,
        attempt: u32,
        pause: Duration,
        blockers: &'a [Blocker],
    },
    /// An invalid index left by this run's failed build was dropped.
    InvalidIndexDropped {
        step: &'a Step,
        index: &'a IndexBuild,
    },
    /// The expand phase of an expand/contract migration finished: both application versions
    /// work now, and `strata complete` (or `strata abort`) comes next.
    Expanded {
        step: &'a Step,
        plan: &'a ExpandPlan,
    },
    /// The complete or abort phase of an expand/contract migration is about to run.
    PhaseStarted { step: &'a Step, phase: ExpandPhase },
    /// The complete or abort phase finished.
    PhaseFinished {
        step: &'a Step,
        phase: ExpandPhase,
        execution_ms: i64,
    },
    /// Something worth knowing that does not stop the run.
    Warning { message: String },
    /// Progress of an online backfill (a migration marked `-- strata:backfill`, or `strata backfill`).
    Backfill(BackfillEvent<'a>),
}
