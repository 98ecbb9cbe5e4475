//! The history table on SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params};
use strata_core::{AppliedMigration, Checksum, Direction, HistoryChange, RowState, Version};

pub(crate) const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS strata_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    down_checksum TEXT,
    state TEXT NOT NULL CHECK (state IN ('applied', 'running', 'failed')),
    direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
    statement_count INTEGER NOT NULL,
    statements_done INTEGER NOT NULL,
    statement_checksums TEXT NOT NULL,
    error TEXT,
    applied_at TEXT NOT NULL,
    execution_ms INTEGER NOT NULL,
    applied_by TEXT NOT NULL
)";

const SELECT_COLUMNS: &str = "version, name, checksum, down_checksum, state, direction, statement_count, \
    statements_done, statement_checksums, error, applied_at, execution_ms, applied_by";

pub(crate) fn history_exists(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'strata_migrations'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Vec<AppliedMigration>> {
    if !history_exists(conn)? {
        return Ok(Vec::new());
    }
    let mut statement = conn.prepare(&format!(
        "SELECT {SELECT_COLUMNS} FROM strata_migrations ORDER BY version"
    ))?;
    let rows = statement.query_map([], from_row)?;
    rows.collect()
}

/// The state of one version's row, read inside the migration's transaction to detect that
/// another process got there first. The history table exists by then: a run creates it before
/// its first transaction.
pub(crate) fn state_of(conn: &Connection, version: Version) -> rusqlite::Result<Option<RowState>> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM strata_migrations WHERE version = ?1")?
        .query_row([version.as_i64()], |row| row.get(0))
        .optional()?;
    Ok(state.as_deref().and_then(RowState::parse))
}

/// Writes every change in one transaction: all of them or none.
pub(crate) fn write_all(conn: &mut Connection, changes: &[HistoryChange]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for change in changes {
        write(&tx, change)?;
    }
    tx.commit()
}

pub(crate) fn write(conn: &Connection, change: &HistoryChange) -> rusqlite::Result<()> {
    match change {
        HistoryChange::Delete(version) => {
            conn.execute(
                "DELETE FROM strata_migrations WHERE version = ?1",
                [version.as_i64()],
            )?;
        }
        HistoryChange::Upsert(row) => {
            conn.prepare_cached(
                // Every column is given, so replacing the row is the upsert; the plain form is
                // cheaper for SQLite to re-prepare after each migration changes the schema.
                "INSERT OR REPLACE INTO strata_migrations (version, name, checksum, down_checksum, state, \
                 direction, statement_count, statements_done, statement_checksums, error, applied_at, \
                 execution_ms, applied_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 coalesce(?13, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), ?11, ?12)",
            )?
            .execute(params![
                row.version.as_i64(),
                row.name,
                row.checksum.as_str(),
                row.down_checksum.as_ref().map(Checksum::as_str),
                row.state.as_str(),
                row.direction.as_str(),
                row.statement_count,
                row.statements_done,
                row.statement_checksums.join(" "),
                row.error,
                row.execution_ms,
                row.applied_by,
                // The row's own time (an adopted migration's), else the time of writing.
                Some(row.applied_at.as_str()).filter(|at| !at.is_empty()),
            ])?;
        }
    }
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AppliedMigration> {
    let text_error = |index: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let state: String = row.get(4)?;
    let direction: String = row.get(5)?;
    let checksums: String = row.get(8)?;
    Ok(AppliedMigration {
        version: Version::from_i64(row.get(0)?),
        name: row.get(1)?,
        checksum: Checksum::from_stored(row.get::<_, String>(2)?),
        down_checksum: row.get::<_, Option<String>>(3)?.map(Checksum::from_stored),
        state: RowState::parse(&state).ok_or_else(|| text_error(4, "state"))?,
        direction: Direction::parse(&direction).ok_or_else(|| text_error(5, "direction"))?,
        statement_count: row.get(6)?,
        statements_done: row.get(7)?,
        statement_checksums: checksums.split_whitespace().map(String::from).collect(),
        error: row.get(9)?,
        applied_at: row.get(10)?,
        execution_ms: row.get(11)?,
        applied_by: row.get(12)?,
    })
}
