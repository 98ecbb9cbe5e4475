//! The history table on MySQL/MariaDB.

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Row, params};
use strata_core::{
    AppliedMigration, Checksum, Direction, DriverError, HistoryChange, RowState, Version,
};

use crate::errors::driver_error;

pub(crate) const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS strata_migrations (
    version BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    checksum VARCHAR(80) NOT NULL,
    down_checksum VARCHAR(80) NULL,
    state VARCHAR(10) NOT NULL,
    direction VARCHAR(4) NOT NULL,
    statement_count INT NOT NULL,
    statements_done INT NOT NULL,
    statement_checksums MEDIUMTEXT NOT NULL,
    error TEXT NULL,
    applied_at DATETIME NOT NULL,
    execution_ms BIGINT NOT NULL,
    applied_by VARCHAR(255) NOT NULL
) ENGINE=InnoDB";

const EXISTS: &str = "SELECT COUNT(*) FROM information_schema.TABLES \
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'strata_migrations'";

pub(crate) async fn exists(conn: &mut Conn) -> Result<bool, DriverError> {
    let count: Option<i64> = conn
        .query_first(EXISTS)
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(count.unwrap_or(0) > 0)
}

pub(crate) async fn read(conn: &mut Conn) -> Result<Vec<AppliedMigration>, DriverError> {
    if !exists(conn).await? {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = conn
        .query(
            "SELECT version, name, checksum, down_checksum, state, direction, statement_count, statements_done, \
             statement_checksums, error, DATE_FORMAT(applied_at, '%Y-%m-%dT%H:%i:%sZ'), execution_ms, applied_by \
             FROM strata_migrations ORDER BY version",
        )
        .await
        .map_err(|e| driver_error(&e))?;
    rows.into_iter().map(from_row).collect()
}

/// A row's own RFC 3339 `applied_at` (`2024-01-01T12:00:00Z`) as a `DATETIME` literal, or
/// `None` for the time of writing.
fn datetime(applied_at: &str) -> Option<String> {
    let date = applied_at.get(..10)?;
    let time = applied_at.get(11..19)?;
    Some(format!("{date} {time}"))
}

/// Writes every change in one transaction: all of them or none.
pub(crate) async fn write_all(
    conn: &mut Conn,
    changes: &[HistoryChange],
) -> Result<(), DriverError> {
    conn.query_drop("START TRANSACTION")
        .await
        .map_err(|e| driver_error(&e))?;
    let mut written = Ok(());
    for change in changes {
        written = write(conn, change).await;
        if written.is_err() {
            break;
        }
    }
    let end = if written.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = conn.query_drop(end).await.map_err(|e| driver_error(&e));
    written?;
    ended
}

/// Writes one change (autocommit, unless the caller began a transaction), with the row's own
/// `applied_at` (now when it has none).
pub(crate) async fn write(conn: &mut Conn, change: &HistoryChange) -> Result<(), DriverError> {
    let result = match change {
        HistoryChange::Delete(version) => {
            conn.exec_drop("DELETE FROM strata_migrations WHERE version = ?", (version.as_i64(),)).await
        }
        HistoryChange::Upsert(row) => {
            conn.exec_drop(
                "INSERT INTO strata_migrations (version, name, checksum, down_checksum, state, direction, statement_count, \
                 statements_done, statement_checksums, error, applied_at, execution_ms, applied_by) \
                 VALUES (:version, :name, :checksum, :down_checksum, :state, :direction, :statement_count, \
                 :statements_done, :statement_checksums, :error, COALESCE(:applied_at, UTC_TIMESTAMP()), :execution_ms, :applied_by) \
                 ON DUPLICATE KEY UPDATE name = VALUES(name), checksum = VALUES(checksum), \
                 down_checksum = VALUES(down_checksum), state = VALUES(state), direction = VALUES(direction), \
                 statement_count = VALUES(statement_count), statements_done = VALUES(statements_done), \
                 statement_checksums = VALUES(statement_checksums), error = VALUES(error), \
                 applied_at = VALUES(applied_at), execution_ms = VALUES(execution_ms), applied_by = VALUES(applied_by)",
                params! {
                    "version" => row.version.as_i64(),
                    "name" => &row.name,
                    "checksum" => row.checksum.as_str(),
                    "down_checksum" => row.down_checksum.as_ref().map(Checksum::as_str),
                    "state" => row.state.as_str(),
                    "direction" => row.direction.as_str(),
                    "statement_count" => row.statement_count,
                    "statements_done" => row.statements_done,
                    "statement_checksums" => row.statement_checksums.join(" "),
                    "error" => &row.error,
                    "execution_ms" => row.execution_ms,
                    "applied_by" => &row.applied_by,
                    "applied_at" => datetime(&row.applied_at),
                },
            )
            .await
        }
    };
    result.map_err(|e| driver_error(&e))
}

fn from_row(mut row: Row) -> Result<AppliedMigration, DriverError> {
    let state: String = column(&mut row, 4)?;
    let direction: String = column(&mut row, 5)?;
    let checksums: String = column(&mut row, 8)?;
    let unknown = |what: &str, value: &str| {
        DriverError::new(format!("strata_migrations has an unknown {what} {value:?}"))
    };
    Ok(AppliedMigration {
        version: Version::from_i64(column(&mut row, 0)?),
        name: column(&mut row, 1)?,
        checksum: Checksum::from_stored(column::<String>(&mut row, 2)?),
        down_checksum: column::<Option<String>>(&mut row, 3)?.map(Checksum::from_stored),
        state: RowState::parse(&state).ok_or_else(|| unknown("state", &state))?,
        direction: Direction::parse(&direction).ok_or_else(|| unknown("direction", &direction))?,
        statement_count: column(&mut row, 6)?,
        statements_done: column(&mut row, 7)?,
        statement_checksums: checksums.split_whitespace().map(String::from).collect(),
        error: column(&mut row, 9)?,
        applied_at: column(&mut row, 10)?,
        execution_ms: column(&mut row, 11)?,
        applied_by: column(&mut row, 12)?,
    })
}

/// One column of a history row, converted.
fn column<T: FromValue>(row: &mut Row, index: usize) -> Result<T, DriverError> {
    match row.take_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(DriverError::new(format!(
            "unreadable strata_migrations column {index}: {e}"
        ))),
        None => Err(DriverError::new(format!(
            "strata_migrations row has no column {index}"
        ))),
    }
}
