//! Online backfills on SQLite: the SQL behind [`BackfillDriver`].
//!
//! Each batch is one `BEGIN IMMEDIATE` transaction: it takes the database's write lock (waiting
//! up to the busy timeout), checks that the progress row still ends where this run thinks, runs
//! the change and updates the progress row. Keys keep their storage class: an integer key is
//! compared with an integer literal, a text key with a text literal. SQLite has no sessions, so a
//! backfill's row names its process (`pid@host`), and `status` calls a `running` row whose
//! process is gone `interrupted`.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use strata_core::backfill::{
    BackfillDriver, Batch, BatchEnd, ColumnShape, Key, KeyComparison, KeyValue, ProgressRow,
    ReplicaLag, SqlQuoting, TableName, TableShape, count_from_stored, encode_columns, owner_alive,
    owner_here, stored_count,
};
use strata_core::{BackfillRecord, BackfillState, BackfillStatement, DriverError};

use crate::driver::SqliteDriver;
use crate::errors::driver_error;

const CREATE_PROGRESS: &str = "CREATE TABLE IF NOT EXISTS strata_backfills (
    name TEXT PRIMARY KEY,
    table_name TEXT NOT NULL,
    statement_checksum TEXT NOT NULL,
    key_columns TEXT NOT NULL,
    end_key TEXT,
    last_key TEXT,
    rows_scanned INTEGER NOT NULL,
    rows_changed INTEGER NOT NULL,
    estimated_rows INTEGER,
    batch_size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'failed', 'done')),
    error TEXT,
    owner TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)";

const SELECT_PROGRESS: &str = "SELECT name, table_name, statement_checksum, key_columns, end_key, last_key, \
    rows_scanned, rows_changed, estimated_rows, batch_size, state, error, started_at, updated_at, owner \
    FROM strata_backfills";

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const QUOTING: SqlQuoting = SqlQuoting {
    identifier: quote,
    string,
    comparison: KeyComparison::RowValues,
};

/// The key in the first `width` columns of `row`.
fn key_of(row: &Row, width: usize) -> rusqlite::Result<Key> {
    (0..width)
        .map(|i| match row.get_ref(i)? {
            ValueRef::Integer(n) => Ok(KeyValue::Integer(n)),
            ValueRef::Text(text) => Ok(KeyValue::Text(String::from_utf8_lossy(text).into_owned())),
            other => Err(rusqlite::Error::FromSqlConversionFailure(
                i,
                other.data_type(),
                "strata batches over integer and text keys only".into(),
            )),
        })
        .collect::<rusqlite::Result<Vec<_>>>()
        .map(Key)
}

fn sqlite(error: rusqlite::Error) -> DriverError {
    driver_error(&error)
}

fn batch_in_transaction(conn: &Connection, batch: &Batch) -> Result<u64, DriverError> {
    let stored: Option<(Option<String>, String)> = conn
        .query_row(
            "SELECT last_key, state FROM strata_backfills WHERE name = ?1",
            [batch.name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(sqlite)?;
    batch.check_progress(
        stored
            .as_ref()
            .map(|(last_key, state)| (last_key.as_deref(), state.as_str())),
    )?;
    let range = QUOTING.key_range(batch.key_columns, batch.after, batch.upto);
    let changed = conn
        .execute(&batch.statement.restricted_to(&range), [])
        .map_err(sqlite)?;
    let changed = u64::try_from(changed).unwrap_or(u64::MAX);
    conn.execute(
        &format!(
            "UPDATE strata_backfills SET last_key = ?2, rows_scanned = rows_scanned + ?3, \
             rows_changed = rows_changed + ?4, batch_size = ?5, state = ?6, error = NULL, owner = ?7, \
             updated_at = {NOW} WHERE name = ?1"
        ),
        params![
            batch.name,
            batch.upto.encode(),
            stored_count(batch.rows),
            stored_count(changed),
            stored_count(batch.batch_size),
            batch.state_after().as_str(),
            owner_here(),
        ],
    )
    .map_err(sqlite)?;
    Ok(changed)
}

impl BackfillDriver for SqliteDriver {
    fn describe_table(&mut self, table: &TableName) -> Result<Option<TableShape>, DriverError> {
        let schema = table.schema.as_deref().unwrap_or("main");
        let mut statement = self
            .conn
            .prepare("SELECT name, \"notnull\", pk FROM pragma_table_info(?1, ?2) ORDER BY cid")
            .map_err(sqlite)?;
        let rows: Vec<(String, bool, i64)> = statement
            .query_map([&table.name, schema], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .and_then(Iterator::collect)
            .map_err(sqlite)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut primary_key: Vec<(i64, String)> = rows
            .iter()
            .filter(|(_, _, pk)| *pk > 0)
            .map(|(name, _, pk)| (*pk, name.clone()))
            .collect();
        primary_key.sort();
        let estimated: i64 = self
            .conn
            .query_row(
                &format!("SELECT count(*) FROM {}", QUOTING.table(table)),
                [],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        Ok(Some(TableShape {
            primary_key: primary_key.into_iter().map(|(_, name)| name).collect(),
            // SQLite lets a non-integer PRIMARY KEY column hold NULL unless declared NOT NULL,
            // but a key that holds one is broken anyway; it is the declared key, so trust it.
            columns: rows
                .into_iter()
                .map(|(name, not_null, pk)| ColumnShape {
                    name,
                    nullable: !not_null && pk == 0,
                })
                .collect(),
            estimated_rows: Some(count_from_stored(estimated)),
        }))
    }

    fn check_statement(
        &mut self,
        statement: &BackfillStatement,
        key_columns: &[String],
    ) -> Result<(), DriverError> {
        let range = QUOTING.empty_key_range(key_columns);
        self.conn
            .prepare(&statement.restricted_to(&range))
            .map(drop)
            .map_err(sqlite)
    }

    fn largest_key(
        &mut self,
        table: &TableName,
        key_columns: &[String],
    ) -> Result<Option<Key>, DriverError> {
        let selected = QUOTING.columns(key_columns).join(", ");
        self.conn
            .query_row(
                &QUOTING.largest_key_query(table, key_columns, &selected),
                [],
                |row| key_of(row, key_columns.len()),
            )
            .optional()
            .map_err(sqlite)
    }

    fn batch_end(
        &mut self,
        table: &TableName,
        key_columns: &[String],
        after: Option<&Key>,
        end: &Key,
        size: u64,
    ) -> Result<Option<BatchEnd>, DriverError> {
        let selected = QUOTING.columns(key_columns).join(", ");
        let width = key_columns.len();
        self.conn
            .query_row(
                &QUOTING.batch_end_query(table, key_columns, &selected, after, end, size),
                [],
                |row| {
                    Ok(BatchEnd {
                        key: key_of(row, width)?,
                        rows: count_from_stored(row.get(width)?),
                    })
                },
            )
            .optional()
            .map_err(sqlite)
    }

    fn run_batch(&mut self, batch: &Batch) -> Result<u64, DriverError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let changed = batch_in_transaction(&tx, batch)?;
        tx.commit().map_err(sqlite)?;
        Ok(changed)
    }

    fn ensure_progress_table(&mut self) -> Result<(), DriverError> {
        self.conn.execute_batch(CREATE_PROGRESS).map_err(sqlite)
    }

    fn read_progress(&mut self, name: &str) -> Result<Option<BackfillRecord>, DriverError> {
        if !progress_exists(&self.conn)? {
            return Ok(None);
        }
        self.conn
            .query_row(&format!("{SELECT_PROGRESS} WHERE name = ?1"), [name], raw)
            .optional()
            .map_err(sqlite)?
            .map(record)
            .transpose()
    }

    fn list_progress(&mut self) -> Result<Vec<BackfillRecord>, DriverError> {
        if !progress_exists(&self.conn)? {
            return Ok(Vec::new());
        }
        let mut statement = self
            .conn
            .prepare(&format!("{SELECT_PROGRESS} ORDER BY started_at, name"))
            .map_err(sqlite)?;
        let rows: Vec<RawRecord> = statement
            .query_map([], raw)
            .and_then(Iterator::collect)
            .map_err(sqlite)?;
        rows.into_iter().map(record).collect()
    }

    fn start_progress(&mut self, record: &BackfillRecord) -> Result<(), DriverError> {
        self.conn
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO strata_backfills (name, table_name, statement_checksum, key_columns, \
                     end_key, last_key, rows_scanned, rows_changed, estimated_rows, batch_size, state, owner, \
                     started_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, {NOW}, {NOW})"
                ),
                params![
                    record.name,
                    record.table,
                    record.statement_checksum,
                    encode_columns(&record.key_columns),
                    record.end_key.as_ref().map(Key::encode),
                    record.last_key.as_ref().map(Key::encode),
                    stored_count(record.rows_scanned),
                    stored_count(record.rows_changed),
                    record.estimated_rows.map(stored_count),
                    stored_count(record.batch_size),
                    record.state.as_str(),
                    owner_here(),
                ],
            )
            .map(drop)
            .map_err(sqlite)
    }

    fn set_state(
        &mut self,
        name: &str,
        state: BackfillState,
        error: Option<&str>,
    ) -> Result<(), DriverError> {
        self.conn
            .execute(
                &format!(
                    "UPDATE strata_backfills SET state = ?2, error = ?3, owner = ?4, updated_at = {NOW} WHERE name = ?1"
                ),
                params![name, state.as_str(), error, owner_here()],
            )
            .map(drop)
            .map_err(sqlite)
    }

    /// Each batch re-checks the progress row under SQLite's write lock, which is what keeps two
    /// processes from applying a range twice; there is no session to mark.
    fn claim(&mut self, _name: &str) -> Result<bool, DriverError> {
        Ok(true)
    }

    fn release(&mut self, _name: &str) -> Result<(), DriverError> {
        Ok(())
    }

    /// An embedded database has no replicas to wait for.
    fn replica_lag(&mut self) -> Result<ReplicaLag, DriverError> {
        Ok(ReplicaLag::NoReplicas)
    }
}

fn progress_exists(conn: &Connection) -> Result<bool, DriverError> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'strata_backfills'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(sqlite)
}

/// A progress row and the process named in it (whether it is alive tells `running` from
/// `interrupted`); decoding it can fail with a [`DriverError`], not a `rusqlite::Error`.
type RawRecord = (ProgressRow, Option<String>);

fn raw(row: &Row) -> rusqlite::Result<RawRecord> {
    Ok((
        ProgressRow {
            name: row.get(0)?,
            table: row.get(1)?,
            statement_checksum: row.get(2)?,
            key_columns: row.get(3)?,
            end_key: row.get(4)?,
            last_key: row.get(5)?,
            rows_scanned: row.get(6)?,
            rows_changed: row.get(7)?,
            estimated_rows: row.get(8)?,
            batch_size: row.get(9)?,
            state: row.get(10)?,
            error: row.get(11)?,
            started_at: row.get(12)?,
            updated_at: row.get(13)?,
        },
        row.get(14)?,
    ))
}

fn record((row, owner): RawRecord) -> Result<BackfillRecord, DriverError> {
    row.into_record(owner.as_deref().is_some_and(owner_alive))
}
