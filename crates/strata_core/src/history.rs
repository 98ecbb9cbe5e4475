//! Rows of strata's history table (`strata_migrations`), as every driver stores them.

use crate::checksum::Checksum;
use crate::version::Version;

/// Which file of a migration a row's progress is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            _ => None,
        }
    }
}

/// The stored state of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// The migration ran completely.
    Applied,
    /// A migration running outside a transaction started statement `statements_done + 1`
    /// and has not recorded its end: it is running now, or its process died.
    Running,
    /// A migration running outside a transaction failed at statement `statements_done + 1`.
    Failed,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Running => "running",
            RowState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RowState> {
        match text {
            "applied" => Some(RowState::Applied),
            "running" => Some(RowState::Running),
            "failed" => Some(RowState::Failed),
            _ => None,
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: Version,
    pub name: String,
    /// Checksum of the up file when it was applied.
    pub checksum: Checksum,
    pub down_checksum: Option<Checksum>,
    pub state: RowState,
    pub direction: Direction,
    /// Per-statement checksums of a migration run outside a transaction (to refuse resuming
    /// after an already-run statement was edited); empty otherwise.
    pub statement_checksums: Vec<String>,
    /// Statements completed by a migration run outside a transaction.
    pub statements_done: u32,
    /// Total statements of the file that ran.
    pub statement_count: u32,
    /// The server's error for a failed statement.
    pub error: Option<String>,
    /// UTC time, RFC 3339 (`2024-01-01T12:00:00Z`). Empty in a row to write: the database sets
    /// the time of writing; a row adopted from another tool brings that tool's time.
    pub applied_at: String,
    pub execution_ms: i64,
    /// `user@host (strata x.y.z)` of the process that wrote the row.
    pub applied_by: String,
}

impl AppliedMigration {
    /// The 1-based statement a `running`/`failed` row stopped at.
    pub fn stopped_at(&self) -> Option<u32> {
        (self.state != RowState::Applied).then_some(self.statements_done + 1)
    }
}

/// A change to the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryChange {
    /// Insert the row, or replace the row of that version.
    Upsert(AppliedMigration),
    /// Remove the row of that version (the migration was reverted or rolled back).
    Delete(Version),
}

impl HistoryChange {
    pub fn version(&self) -> Version {
        match self {
            HistoryChange::Upsert(row) => row.version,
            HistoryChange::Delete(version) => *version,
        }
    }
}
