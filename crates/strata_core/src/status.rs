//! The state of every migration: the files compared with the history table.

use crate::checksum::Checksum;
use crate::history::{AppliedMigration, Direction, RowState};
use crate::source::{Migration, MigrationSet};
use crate::version::Version;

/// What `strata status` says about a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Applied,
    Pending,
    /// Applied, but the up file has changed since.
    Modified,
    /// Applied, but the file is gone.
    Missing,
    /// Stopped part-way outside a transaction (or its process died mid-statement).
    Failed,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Modified => "modified",
            MigrationState::Missing => "missing",
            MigrationState::Failed => "failed",
        }
    }
}

/// A migration's status, with what the history knows about it.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub version: Version,
    pub label: String,
    pub name: String,
    pub state: MigrationState,
    /// The file's checksum, or the stored one when the file is missing.
    pub checksum: Checksum,
    /// The down file's checksum as recorded when the migration was applied, or the file's own
    /// for a pending migration (`None` when it has none or it cannot be read: `validate` says why).
    pub down_checksum: Option<Checksum>,
    pub history: Option<AppliedMigration>,
    /// For `failed`: whether the file changed since the failed run.
    pub file_changed: bool,
}

impl MigrationStatus {
    pub fn failed_statement(&self) -> Option<u32> {
        if self.state == MigrationState::Failed {
            self.history.as_ref().and_then(AppliedMigration::stopped_at)
        } else {
            None
        }
    }

    /// For `failed`: which file stopped.
    pub fn failed_direction(&self) -> Option<Direction> {
        (self.state == MigrationState::Failed)
            .then(|| self.history.as_ref().map_or(Direction::Up, |h| h.direction))
    }
}

/// Computes the status of every migration in the files and in the history, ordered by version.
pub fn compute_status(set: &MigrationSet, history: &[AppliedMigration]) -> Vec<MigrationStatus> {
    pair_up(set, history)
        .into_iter()
        .map(|pair| match pair {
            Pair::File(migration, row) => file_status(migration, row),
            Pair::Missing(row) => missing(row),
        })
        .collect()
}

/// Only each version's state: what deciding which migrations are pending needs, without
/// copying the history or reading any down file.
pub fn migration_states(
    set: &MigrationSet,
    history: &[AppliedMigration],
) -> Vec<(Version, MigrationState)> {
    pair_up(set, history)
        .into_iter()
        .map(|pair| match pair {
            Pair::File(migration, row) => (migration.version, file_state(migration, row).0),
            Pair::Missing(row) => (row.version, MigrationState::Missing),
        })
        .collect()
}

/// One version as the directory and the history see it.
enum Pair<'a> {
    /// A file, and its history row if it has one.
    File(&'a Migration, Option<&'a AppliedMigration>),
    /// A history row whose file is gone.
    Missing(&'a AppliedMigration),
}

/// Each version's file and history row, ordered by version.
fn pair_up<'a>(set: &'a MigrationSet, history: &'a [AppliedMigration]) -> Vec<Pair<'a>> {
    let mut rows: Vec<&AppliedMigration> = history.iter().collect();
    rows.sort_by_key(|row| row.version);
    let mut pairs = Vec::with_capacity(set.migrations.len() + rows.len());
    let mut row_iter = rows.into_iter().peekable();
    for migration in &set.migrations {
        while let Some(row) = row_iter.next_if(|row| row.version < migration.version) {
            pairs.push(Pair::Missing(row));
        }
        let row = row_iter.next_if(|row| row.version == migration.version);
        pairs.push(Pair::File(migration, row));
    }
    pairs.extend(row_iter.map(Pair::Missing));
    pairs
}

/// A file's state, and whether it changed since its history row was written.
fn file_state(migration: &Migration, row: Option<&AppliedMigration>) -> (MigrationState, bool) {
    let changed = row.is_some_and(|row| row.checksum != migration.up.checksum);
    let state = match row.map(|row| row.state) {
        None => MigrationState::Pending,
        Some(RowState::Applied) if changed => MigrationState::Modified,
        Some(RowState::Applied) => MigrationState::Applied,
        Some(RowState::Running | RowState::Failed) => MigrationState::Failed,
    };
    (state, changed)
}

fn file_status(migration: &Migration, row: Option<&AppliedMigration>) -> MigrationStatus {
    let (state, changed) = file_state(migration, row);
    MigrationStatus {
        version: migration.version,
        label: migration.label.clone(),
        name: migration.name.clone(),
        state,
        checksum: migration.up.checksum.clone(),
        down_checksum: match row {
            Some(row) => row.down_checksum.clone(),
            None => migration
                .down_file()
                .ok()
                .flatten()
                .map(|d| d.checksum.clone()),
        },
        history: row.cloned(),
        file_changed: state == MigrationState::Failed && changed,
    }
}

fn missing(row: &AppliedMigration) -> MigrationStatus {
    MigrationStatus {
        version: row.version,
        label: row.version.to_string(),
        name: row.name.clone(),
        state: MigrationState::Missing,
        checksum: row.checksum.clone(),
        down_checksum: row.down_checksum.clone(),
        history: Some(row.clone()),
        file_changed: false,
    }
}
