//! The history table on PostgreSQL.

use chrono::{DateTime, SecondsFormat, Utc};
use strata_core::{AppliedMigration, Checksum, Direction, HistoryChange, RowState, Version};
use tokio_postgres::{Client, Row, ToStatement};

use crate::errors::{driver_error, sql_literal};

pub(crate) const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS strata_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    down_checksum text,
    state text NOT NULL CHECK (state IN ('applied', 'running', 'failed')),
    direction text NOT NULL CHECK (direction IN ('up', 'down')),
    statement_count integer NOT NULL,
    statements_done integer NOT NULL,
    statement_checksums text NOT NULL,
    error text,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms bigint NOT NULL,
    applied_by text NOT NULL
)";

pub(crate) const EXISTS: &str = "SELECT to_regclass('strata_migrations') IS NOT NULL";

const SELECT: &str = "SELECT version, name, checksum, down_checksum, state, direction, statement_count, statements_done, \
    statement_checksums, error, applied_at, execution_ms, applied_by \
    FROM strata_migrations ORDER BY version";

const UPSERT_TAIL: &str = "ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum, \
    down_checksum = excluded.down_checksum, state = excluded.state, direction = excluded.direction, \
    statement_count = excluded.statement_count, statements_done = excluded.statements_done, \
    statement_checksums = excluded.statement_checksums, error = excluded.error, applied_at = excluded.applied_at, \
    execution_ms = excluded.execution_ms, applied_by = excluded.applied_by";

pub(crate) async fn exists(client: &Client) -> Result<bool, strata_core::DriverError> {
    client
        .query_one(EXISTS, &[])
        .await
        .map(|row| row.get(0))
        .map_err(|e| driver_error(&e))
}

/// Every row; the caller knows the table exists.
pub(crate) async fn read(
    client: &Client,
) -> Result<Vec<AppliedMigration>, strata_core::DriverError> {
    // Typed (no parameters): one round trip, without a separate prepare.
    let rows = client
        .query_typed(SELECT, &[])
        .await
        .map_err(|e| driver_error(&e))?;
    rows.iter().map(from_row).collect()
}

/// The history change as SQL text with literal values, so that it can travel in the same
/// simple-protocol round trip as the migration's statements. `execution_ms` of an upsert is
/// measured by the server: the time since the transaction began.
pub(crate) fn change_sql(change: &HistoryChange) -> String {
    match change {
        HistoryChange::Delete(version) => format!(
            "DELETE FROM strata_migrations WHERE version = {}",
            version.as_i64()
        ),
        HistoryChange::Upsert(row) => format!(
            "INSERT INTO strata_migrations (version, name, checksum, down_checksum, state, direction, statement_count, \
             statements_done, statement_checksums, error, execution_ms, applied_by) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, \
             (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint, {}) {UPSERT_TAIL}",
            row.version.as_i64(),
            sql_literal(&row.name),
            sql_literal(row.checksum.as_str()),
            row.down_checksum
                .as_ref()
                .map_or("NULL".to_owned(), |c| sql_literal(c.as_str())),
            sql_literal(row.state.as_str()),
            sql_literal(row.direction.as_str()),
            row.statement_count,
            row.statements_done,
            sql_literal(&row.statement_checksums.join(" ")),
            row.error.as_deref().map_or("NULL".to_owned(), sql_literal),
            sql_literal(&row.applied_by),
        ),
    }
}

/// Writes one change (autocommit, unless the caller began a transaction), with the row's own
/// `execution_ms` and `applied_at` (now when it has none).
pub(crate) async fn write(
    client: &Client,
    change: &HistoryChange,
) -> Result<(), strata_core::DriverError> {
    match change {
        HistoryChange::Delete(version) => client
            .execute(
                "DELETE FROM strata_migrations WHERE version = $1",
                &[&version.as_i64()],
            )
            .await
            .map(drop)
            .map_err(|e| driver_error(&e)),
        HistoryChange::Upsert(row) => upsert(client, upsert_sql().as_str(), row).await,
    }
}

/// The upsert of one row, with its values as parameters.
fn upsert_sql() -> String {
    format!(
        "INSERT INTO strata_migrations (version, name, checksum, down_checksum, state, direction, statement_count, \
         statements_done, statement_checksums, error, execution_ms, applied_by, applied_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13, now())) {UPSERT_TAIL}"
    )
}

/// Runs [`upsert_sql`] (as text, or prepared once for many rows) for `row`.
async fn upsert<T: ?Sized + ToStatement>(
    client: &Client,
    statement: &T,
    row: &AppliedMigration,
) -> Result<(), strata_core::DriverError> {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    client
        .execute(
            statement,
            &[
                &row.version.as_i64(),
                &row.name,
                &row.checksum.as_str(),
                &row.down_checksum.as_ref().map(Checksum::as_str),
                &row.state.as_str(),
                &row.direction.as_str(),
                &count(row.statement_count),
                &count(row.statements_done),
                &row.statement_checksums.join(" "),
                &row.error,
                &row.execution_ms,
                &row.applied_by,
                &applied_at(row)?,
            ],
        )
        .await
        .map(drop)
        .map_err(|e| driver_error(&e))
}

/// The row's own `applied_at`, or `None` for the time of writing.
fn applied_at(row: &AppliedMigration) -> Result<Option<DateTime<Utc>>, strata_core::DriverError> {
    if row.applied_at.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(&row.applied_at)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|e| {
            strata_core::DriverError::new(format!(
                "applied_at {:?} of version {} is not an RFC 3339 time: {e}",
                row.applied_at, row.version
            ))
        })
}

/// Writes every change in one transaction: all of them or none.
pub(crate) async fn write_all(
    client: &Client,
    changes: &[HistoryChange],
) -> Result<(), strata_core::DriverError> {
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| driver_error(&e))?;
    let written = match distinct_upserts(changes) {
        Some(rows) => upsert_all(client, &rows).await,
        // Sent together: the client pipelines them, so a long history costs few round trips.
        None => futures_util::future::try_join_all(changes.iter().map(|c| write(client, c)))
            .await
            .map(drop),
    };
    let end = if written.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = client
        .batch_execute(end)
        .await
        .map_err(|e| driver_error(&e));
    written?;
    ended
}

/// The rows, when every change is an upsert of a version no other change touches: what
/// `baseline` and `adopt` write, possibly thousands of rows, which then go in one statement.
fn distinct_upserts(changes: &[HistoryChange]) -> Option<Vec<&AppliedMigration>> {
    let mut versions = std::collections::HashSet::new();
    changes
        .iter()
        .map(|change| match change {
            HistoryChange::Upsert(row) if versions.insert(row.version) => Some(row),
            _ => None,
        })
        .collect()
}

/// Upserts `rows` in one statement, each column sent as one array: one parse, plan and round
/// trip for the whole history instead of one per row (10,000 rows in well under a second).
async fn upsert_all(
    client: &Client,
    rows: &[&AppliedMigration],
) -> Result<(), strata_core::DriverError> {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let column = |value: fn(&AppliedMigration) -> &str| -> Vec<&str> {
        rows.iter().map(|row| value(row)).collect()
    };
    let versions: Vec<i64> = rows.iter().map(|row| row.version.as_i64()).collect();
    let names = column(|row| row.name.as_str());
    let checksums = column(|row| row.checksum.as_str());
    let down_checksums: Vec<Option<&str>> = rows
        .iter()
        .map(|row| row.down_checksum.as_ref().map(Checksum::as_str))
        .collect();
    let states = column(|row| row.state.as_str());
    let directions = column(|row| row.direction.as_str());
    let statement_counts: Vec<i32> = rows.iter().map(|row| count(row.statement_count)).collect();
    let statements_done: Vec<i32> = rows.iter().map(|row| count(row.statements_done)).collect();
    let statement_checksums: Vec<String> = rows
        .iter()
        .map(|row| row.statement_checksums.join(" "))
        .collect();
    let errors: Vec<Option<&str>> = rows.iter().map(|row| row.error.as_deref()).collect();
    let execution_ms: Vec<i64> = rows.iter().map(|row| row.execution_ms).collect();
    let applied_by = column(|row| row.applied_by.as_str());
    let applied_at = rows
        .iter()
        .map(|row| applied_at(row))
        .collect::<Result<Vec<_>, _>>()?;
    client
        .execute(
            &format!(
                "INSERT INTO strata_migrations (version, name, checksum, down_checksum, state, direction, \
                 statement_count, statements_done, statement_checksums, error, execution_ms, applied_by, applied_at) \
                 SELECT version, name, checksum, down_checksum, state, direction, statement_count, statements_done, \
                 statement_checksums, error, execution_ms, applied_by, coalesce(applied_at, now()) \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], \
                 $8::int[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::timestamptz[]) \
                 AS r(version, name, checksum, down_checksum, state, direction, statement_count, statements_done, \
                 statement_checksums, error, execution_ms, applied_by, applied_at) {UPSERT_TAIL}"
            ),
            &[
                &versions,
                &names,
                &checksums,
                &down_checksums,
                &states,
                &directions,
                &statement_counts,
                &statements_done,
                &statement_checksums,
                &errors,
                &execution_ms,
                &applied_by,
                &applied_at,
            ],
        )
        .await
        .map(drop)
        .map_err(|e| driver_error(&e))
}

fn from_row(row: &Row) -> Result<AppliedMigration, strata_core::DriverError> {
    let unknown = |what: &str, value: &str| {
        strata_core::DriverError::new(format!("strata_migrations has an unknown {what} {value:?}"))
    };
    let state: String = row.get(4);
    let direction: String = row.get(5);
    let checksums: String = row.get(8);
    let count = |i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
    Ok(AppliedMigration {
        version: Version::from_i64(row.get(0)),
        name: row.get(1),
        checksum: Checksum::from_stored(row.get::<_, String>(2)),
        down_checksum: row.get::<_, Option<String>>(3).map(Checksum::from_stored),
        state: RowState::parse(&state).ok_or_else(|| unknown("state", &state))?,
        direction: Direction::parse(&direction).ok_or_else(|| unknown("direction", &direction))?,
        statement_count: count(6),
        statements_done: count(7),
        statement_checksums: checksums.split_whitespace().map(String::from).collect(),
        error: row.get(9),
        applied_at: row
            .get::<_, DateTime<Utc>>(10)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        execution_ms: row.get(11),
        applied_by: row.get(12),
    })
}
