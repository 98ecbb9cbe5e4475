//! Expand/contract migrations: a schema change that would break the running application (a
//! column renamed, retyped, made NOT NULL or dropped, a foreign key added) runs in two phases, so
//! that the old and the new application versions both work while the new one rolls out.
//!
//! - **expand** (`strata up`): the new shape is added beside the old one (shadow columns kept in
//!   sync by triggers, backfilled online in batches, constraints added `NOT VALID`), and a
//!   version schema holds views that show the tables in their new shape. The old application
//!   keeps using the tables; the new one puts the version schema first in its `search_path`.
//! - **complete** (`strata complete`): once no old application is left, the old shape goes
//!   (constraints validated, old columns dropped, shadow columns renamed into place, views and
//!   triggers dropped).
//! - **abort** (`strata abort`): the expand is undone and the migration is pending again; the
//!   old columns were never touched, and the new application's writes reached them through the
//!   triggers, so nothing is lost.
//!
//! The core knows no SQL: a driver's [`Expander`] recognises the operations and writes each
//! phase as statements ([`ExpandPlan`]). The plan is stored when the expand starts, so a resumed
//! or later phase runs exactly what was planned, whatever the catalog says by then.

use std::path::Path;

use crate::driver::DriverError;
use crate::history::{AppliedMigration, RowState};
use crate::statement::Statement;
use crate::version::Version;

/// The three phases of an expand/contract migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpandPhase {
    Expand,
    Complete,
    Abort,
}

impl ExpandPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpandPhase::Expand => "expand",
            ExpandPhase::Complete => "complete",
            ExpandPhase::Abort => "abort",
        }
    }
}

/// One statement of a phase, as the driver wrote it. Every statement is safe to run again
/// (guarded by existence checks, or one atomic `DO` block), so a phase killed at any point
/// resumes by re-running the statement it was in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhaseStatement {
    pub sql: String,
    /// The 1-based line of the file's statement this one serves, for messages.
    pub line: u32,
    /// An `UPDATE` of one table that runs as an online backfill, in resumable batches.
    #[serde(default)]
    pub backfill: bool,
}

/// One recognised operation, for `--dry-run`, `status` and the lint gate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlannedOperation {
    /// The 1-based line of the statement it replaces.
    pub line: u32,
    /// What it does, in words: "rename column public.users.name to full_name".
    pub summary: String,
    /// The lint rules whose findings on that statement the operation makes moot.
    pub rules: Vec<String>,
}

/// An expand/contract migration as planned: its operations and the SQL of each phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpandPlan {
    pub operations: Vec<PlannedOperation>,
    /// The schema whose views show the new shape. The new application sets
    /// `search_path = <version_schema>, <its usual schemas>`; once the migration completes,
    /// the schema is gone and the same setting finds the tables themselves.
    pub version_schema: String,
    pub expand: Vec<PhaseStatement>,
    pub complete: Vec<PhaseStatement>,
    pub abort: Vec<PhaseStatement>,
}

impl ExpandPlan {
    pub fn phase(&self, phase: ExpandPhase) -> &[PhaseStatement] {
        match phase {
            ExpandPhase::Expand => &self.expand,
            ExpandPhase::Complete => &self.complete,
            ExpandPhase::Abort => &self.abort,
        }
    }
}

/// Where an expansion stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpansionState {
    /// The expand phase started (the migration's history row says how far it got).
    Expanding,
    /// The expand phase finished: both application versions work; `complete` or `abort` next.
    Expanded,
    /// The complete phase started and has not finished.
    Completing,
    /// The abort phase started and has not finished.
    Aborting,
}

impl ExpansionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpansionState::Expanding => "expanding",
            ExpansionState::Expanded => "expanded",
            ExpansionState::Completing => "completing",
            ExpansionState::Aborting => "aborting",
        }
    }

    pub fn parse(text: &str) -> Option<ExpansionState> {
        match text {
            "expanding" => Some(ExpansionState::Expanding),
            "expanded" => Some(ExpansionState::Expanded),
            "completing" => Some(ExpansionState::Completing),
            "aborting" => Some(ExpansionState::Aborting),
            _ => None,
        }
    }
}

/// A stored expansion: an expand/contract migration that has not completed or been aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub version: Version,
    pub label: String,
    pub name: String,
    pub state: ExpansionState,
    /// The up file's checksum when the expand started: a later edit is refused.
    pub checksum: String,
    pub plan: ExpandPlan,
    /// Statements of the current phase (complete or abort) that finished.
    pub statements_done: u32,
    /// The error that stopped the current phase, if one did (a crash leaves none).
    pub error: Option<String>,
    /// UTC, RFC 3339, as the database wrote it.
    pub started_at: String,
}

impl Expansion {
    /// The state, from the row and the migration's history row: an expand phase whose history
    /// row says applied has finished, even if its process died before saying so here.
    pub fn effective_state(&self, history: &[AppliedMigration]) -> ExpansionState {
        let applied = history
            .iter()
            .any(|row| row.version == self.version && row.state == RowState::Applied);
        match self.state {
            ExpansionState::Expanding if applied => ExpansionState::Expanded,
            state => state,
        }
    }
}

/// What the driver needs to plan one migration file as an expand/contract migration.
#[derive(Debug, Clone, Copy)]
pub struct ExpandRequest<'a> {
    pub version: Version,
    pub label: &'a str,
    pub name: &'a str,
    pub path: &'a Path,
    /// The whole file (for `-- strata:allow` comments above a statement).
    pub sql: &'a str,
    pub statements: &'a [Statement],
    /// `-- strata:expand`: every statement must be an operation, or planning fails. Without it,
    /// a file is planned only when every statement is an operation on a table that exists.
    pub forced: bool,
}

/// Why a file that asked for expand/contract cannot run as one.
#[derive(Debug, thiserror::Error)]
pub enum ExpandPlanError {
    #[error("line {line}: {message}")]
    Refused {
        line: u32,
        message: String,
        hint: String,
    },
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// The capability of a driver whose database can run expand/contract migrations (PostgreSQL).
pub trait Expander {
    /// The plan for `request`'s file, or `None` when it is not an expand/contract migration
    /// (only possible when not forced).
    fn plan_expand(
        &mut self,
        request: &ExpandRequest<'_>,
    ) -> Result<Option<ExpandPlan>, ExpandPlanError>;

    /// Every stored expansion; none when the table does not exist (never creates it).
    fn expansions(&mut self) -> Result<Vec<Expansion>, DriverError>;

    /// Inserts or replaces the expansion of its version (creating the table on first use).
    fn write_expansion(&mut self, expansion: &Expansion) -> Result<(), DriverError>;

    /// Forgets the expansion of `version` (it completed, or was aborted).
    fn delete_expansion(&mut self, version: Version) -> Result<(), DriverError>;
}

/// The lint rules whose findings an expand/contract operation makes moot on its statement: the
/// operations are the two-phase forms of what these rules warn about. A file marked
/// `-- strata:expand` is linted with these lowered to `info`.
pub const EXPAND_RULES: &[&str] = &[
    "rename-column",
    "change-column-type",
    "table-rewrite",
    "set-not-null",
    "foreign-key-not-valid",
    "drop-column",
    "statement-after-access-exclusive",
    "unbatched-update",
    "mixed-schema-and-data",
];

/// The name under which the backfill of statement `number` (1-based) of an expand phase keeps
/// its progress in `strata_backfills`; the abort phase forgets these rows, so expanding again
/// backfills from the start.
pub fn backfill_name(label: &str, name: &str, number: usize) -> String {
    format!("{label}_{name}.expand.{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_survive_storage() {
        let plan = ExpandPlan {
            operations: vec![PlannedOperation {
                line: 3,
                summary: "rename column public.users.name to full_name".into(),
                rules: vec!["rename-column".into()],
            }],
            version_schema: "public_20260101000000".into(),
            expand: vec![PhaseStatement {
                sql: "UPDATE t SET b = a".into(),
                line: 3,
                backfill: true,
            }],
            complete: Vec::new(),
            abort: Vec::new(),
        };
        let text = serde_json::to_string(&plan).unwrap();
        let back: ExpandPlan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
        assert_eq!(back.phase(ExpandPhase::Expand).len(), 1);
    }

    #[test]
    fn states_round_trip() {
        for state in [
            ExpansionState::Expanding,
            ExpansionState::Expanded,
            ExpansionState::Completing,
            ExpansionState::Aborting,
        ] {
            assert_eq!(ExpansionState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ExpansionState::parse("done"), None);
        assert_eq!(backfill_name("0042", "retype", 3), "0042_retype.expand.3");
    }
}
