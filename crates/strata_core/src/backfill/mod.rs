//! Online backfills: one `UPDATE`/`DELETE` run as many short key-range transactions, each
//! recording its progress in strata's `strata_backfills` table in the same transaction, so that
//! a crash never loses a batch nor applies one twice.
//!
//! The pieces here are the ones every database shares and the core needs to plan a migration:
//! - [`BackfillStatement`] reads the user's statement (no database needed), so a statement that
//!   cannot be batched is refused when the file is planned, before anything runs;
//! - [`BackfillDriver`] is the small capability a database implements: describe a table, find
//!   batch boundaries, run one batch with its progress row, read progress, report replica lag;
//! - [`BackfillRunner`] is the engine that drives batches (the `strata_backfill` crate), handed
//!   to the [`crate::Migrator`] through [`crate::RunOptions`] so the core stays engine-free;
//! - [`BackfillEvent`]s report progress; the CLI renders them.

mod statement;

use std::fmt;
use std::time::Duration;

pub use statement::{BackfillKind, BackfillStatement, StatementError, TableName, key_range};

use crate::directive::BackfillOptions;
use crate::driver::{Driver, DriverError};
use crate::event::Event;
use crate::locks::{Blocker, LockPolicy};

/// One key column's value. Integers stay numbers so that they compare as numbers everywhere
/// (SQLite compares an integer with a text literal as text in a column without affinity).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Integer(i64),
    Text(String),
}

/// A row's key, one value per key column, in key order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Key(pub Vec<KeyValue>);

impl Key {
    /// The stored form: a JSON array, readable in the progress table and in `status`.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("keys always serialise")
    }

    pub fn decode(text: &str) -> Result<Key, DriverError> {
        serde_json::from_str(text).map_err(|e| {
            DriverError::new(format!("unreadable key {text:?} in strata_backfills: {e}"))
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|value| match value {
                KeyValue::Integer(n) => n.to_string(),
                KeyValue::Text(text) => text.clone(),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// How a dialect writes identifiers and string literals, for the SQL a driver builds around the
/// user's statement (key ranges, key look-ups). Key values become untyped literals: integers as
/// numbers, everything else as a string the database reads as the key column's type.
#[derive(Debug, Clone, Copy)]
pub struct SqlQuoting {
    pub identifier: fn(&str) -> String,
    pub string: fn(&str) -> String,
}

impl SqlQuoting {
    pub fn table(&self, table: &TableName) -> String {
        match &table.schema {
            Some(schema) => format!(
                "{}.{}",
                (self.identifier)(schema),
                (self.identifier)(&table.name)
            ),
            None => (self.identifier)(&table.name),
        }
    }

    pub fn columns(&self, columns: &[String]) -> Vec<String> {
        columns.iter().map(|c| (self.identifier)(c)).collect()
    }

    pub fn key(&self, key: &Key) -> Vec<String> {
        key.0
            .iter()
            .map(|value| match value {
                KeyValue::Integer(n) => n.to_string(),
                KeyValue::Text(text) => (self.string)(text),
            })
            .collect()
    }

    /// The query for the largest key: one row of `selected` (the key as the driver reads it).
    pub fn largest_key_query(
        &self,
        table: &TableName,
        columns: &[String],
        selected: &str,
    ) -> String {
        let descending: Vec<String> = self
            .columns(columns)
            .into_iter()
            .map(|c| format!("{c} DESC"))
            .collect();
        format!(
            "SELECT {selected} FROM {} ORDER BY {} LIMIT 1",
            self.table(table),
            descending.join(", ")
        )
    }

    /// The query for a batch's end ([`BackfillDriver::batch_end`]): one row of `selected` (the
    /// key as the driver reads it) and `n`, the number of keys up to it. It walks the key's index
    /// for at most `size` keys, so it costs the same at the end of the table as at its start.
    pub fn batch_end_query(
        &self,
        table: &TableName,
        columns: &[String],
        selected: &str,
        after: Option<&Key>,
        end: &Key,
        size: u64,
    ) -> String {
        let ordered = self.columns(columns).join(", ");
        format!(
            "SELECT {selected}, n FROM (SELECT {ordered}, row_number() OVER (ORDER BY {ordered}) AS n \
             FROM {} WHERE {} ORDER BY {ordered} LIMIT {size}) AS batch ORDER BY n DESC LIMIT 1",
            self.table(table),
            self.key_range(columns, after, end)
        )
    }

    /// A key range that selects nothing (NULL bounds), for having the database compile the batched
    /// statement without running it.
    pub fn empty_key_range(&self, columns: &[String]) -> String {
        let nulls = vec!["NULL".to_owned(); columns.len()];
        key_range(&self.columns(columns), Some(&nulls), &nulls)
    }

    /// The condition selecting keys in (`after`, `upto`] over `columns` ([`key_range`]).
    pub fn key_range(&self, columns: &[String], after: Option<&Key>, upto: &Key) -> String {
        key_range(
            &self.columns(columns),
            after.map(|key| self.key(key)).as_deref(),
            &self.key(upto),
        )
    }
}

/// Column names as stored in `strata_backfills` (a JSON array: names may hold commas).
pub fn encode_columns(columns: &[String]) -> String {
    serde_json::to_string(columns).expect("strings always serialise")
}

pub fn decode_columns(text: &str) -> Result<Vec<String>, DriverError> {
    serde_json::from_str(text).map_err(|e| {
        DriverError::new(format!(
            "unreadable key columns {text:?} in strata_backfills: {e}"
        ))
    })
}

/// Who runs a backfill, as `pid@host`: lets a database without sessions (SQLite) tell a running
/// backfill from one whose process died.
pub fn owner_here() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{}@{host}", std::process::id())
}

/// Whether the process an [`owner_here`] value names may still be running: `false` only when it
/// names this host and the process is gone (where `/proc` can tell).
pub fn owner_alive(owner: &str) -> bool {
    let Some((pid, host)) = owner.split_once('@') else {
        return false;
    };
    let here = owner_here();
    let this_host = here.split_once('@').map_or("", |(_, h)| h);
    if host != this_host || !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new("/proc").join(pid).exists()
}

/// What the engine needs to know about a table before it batches over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// Primary key columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    pub columns: Vec<ColumnShape>,
    /// The planner's row estimate, for progress (never exact, never a full count on large tables).
    pub estimated_rows: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnShape {
    pub name: String,
    pub nullable: bool,
}

/// Where a backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackfillState {
    /// A process is working on it now.
    Running,
    /// Started, not finished, and no process is working on it (killed, or stopped by Ctrl-C):
    /// the next run resumes it.
    Interrupted,
    /// A batch failed with an error other than a lock timeout; the next run resumes it.
    Failed,
    Done,
}

impl BackfillState {
    /// The stored spelling (`interrupted` is never stored: it is `running` with nobody on it).
    pub fn as_str(self) -> &'static str {
        match self {
            BackfillState::Running => "running",
            BackfillState::Interrupted => "interrupted",
            BackfillState::Failed => "failed",
            BackfillState::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<BackfillState> {
        Some(match text {
            "running" => BackfillState::Running,
            "interrupted" => BackfillState::Interrupted,
            "failed" => BackfillState::Failed,
            "done" => BackfillState::Done,
            _ => return None,
        })
    }
}

/// A backfill's row in `strata_backfills`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRecord {
    pub name: String,
    /// The table as the statement names it.
    pub table: String,
    /// Checksum of the statement's tokens: resuming with another statement is refused.
    pub statement_checksum: String,
    pub key_columns: Vec<String>,
    /// The largest key when the backfill started: rows inserted later, above it, are not chased.
    /// `None` for a table that was empty.
    pub end_key: Option<Key>,
    /// The last key whose batch committed; `None` before the first batch.
    pub last_key: Option<Key>,
    /// Rows whose keys the committed batches covered.
    pub rows_scanned: u64,
    /// Rows the statement changed (or deleted).
    pub rows_changed: u64,
    pub estimated_rows: Option<u64>,
    /// The size of the latest batch (adapted towards `target`); a resumed run starts with it.
    pub batch_size: u64,
    pub state: BackfillState,
    pub error: Option<String>,
    /// RFC 3339, UTC; filled in by the database.
    pub started_at: String,
    pub updated_at: String,
}

/// The last key of the next batch and how many keys the batch covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEnd {
    pub key: Key,
    pub rows: u64,
}

/// One batch to run: the statement restricted to keys in (`after`, `upto`], and the progress row
/// update that commits with it.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    pub name: &'a str,
    pub statement: &'a BackfillStatement,
    pub key_columns: &'a [String],
    /// The key the previous batch ended at, as the progress row must still say: if it says
    /// otherwise, another process moved on and the batch is not run.
    pub after: Option<&'a Key>,
    pub upto: &'a Key,
    /// Keys the range covers, added to `rows_scanned`.
    pub rows: u64,
    /// The size this batch was planned with, stored so that a resumed run starts at the size the
    /// adaptive sizing had reached.
    pub batch_size: u64,
    /// This batch completes the backfill.
    pub last: bool,
}

impl Batch<'_> {
    /// Checks the progress row as read (and locked) inside the batch's transaction: `stored` is
    /// its `(last_key, state)`, or `None` if the row is gone. Unless it still ends at `after` and
    /// is not done, another process moved on, and running the batch would apply a range twice.
    pub fn check_progress(&self, stored: Option<(Option<&str>, &str)>) -> Result<(), DriverError> {
        let expected = self.after.map(Key::encode);
        match stored {
            Some((last_key, state))
                if last_key == expected.as_deref() && state != BackfillState::Done.as_str() =>
            {
                Ok(())
            }
            _ => Err(DriverError::new(format!(
                "the progress of backfill {} moved on while this run prepared its batch: \
                 another process is running it",
                self.name
            ))),
        }
    }

    /// The state the progress row has once the batch commits.
    pub fn state_after(&self) -> BackfillState {
        if self.last {
            BackfillState::Done
        } else {
            BackfillState::Running
        }
    }
}

/// What a database does for the backfill engine. The SQL is the driver's (quoting, literals, how
/// one transaction holds the batch and its progress row); the decisions are the engine's.
pub trait BackfillDriver {
    /// The table's key, columns and estimated size; `None` if there is no such table.
    fn describe_table(&mut self, table: &TableName) -> Result<Option<TableShape>, DriverError>;

    /// Has the database compile (not run) the batched statement, so that unknown columns and
    /// type errors are reported before anything changes.
    fn check_statement(
        &mut self,
        statement: &BackfillStatement,
        key_columns: &[String],
    ) -> Result<(), DriverError>;

    /// The largest key in the table now; `None` when it is empty.
    fn largest_key(
        &mut self,
        table: &TableName,
        key_columns: &[String],
    ) -> Result<Option<Key>, DriverError>;

    /// The `size`-th key after `after` (or the last one up to `end`, if fewer remain) and how
    /// many keys that is; `None` when no key is left in (`after`, `end`].
    fn batch_end(
        &mut self,
        table: &TableName,
        key_columns: &[String],
        after: Option<&Key>,
        end: &Key,
        size: u64,
    ) -> Result<Option<BatchEnd>, DriverError>;

    /// Runs one batch and its progress update in one short transaction, under the lock timeout
    /// the driver's policy sets; returns the rows changed. Fails, changing nothing, if the progress
    /// row no longer ends at `batch.after`.
    fn run_batch(&mut self, batch: &Batch) -> Result<u64, DriverError>;

    /// Creates `strata_backfills` if needed.
    fn ensure_progress_table(&mut self) -> Result<(), DriverError>;

    fn read_progress(&mut self, name: &str) -> Result<Option<BackfillRecord>, DriverError>;

    /// Every backfill, with `running` rows nobody works on reported as `interrupted`; empty when
    /// the table does not exist (never creates it).
    fn list_progress(&mut self) -> Result<Vec<BackfillRecord>, DriverError>;

    /// Inserts the row of a new backfill (or replaces a finished one of the same name).
    fn start_progress(&mut self, record: &BackfillRecord) -> Result<(), DriverError>;

    /// Records a state change that happens outside a batch (`running` on resume, `failed`).
    fn set_state(
        &mut self,
        name: &str,
        state: BackfillState,
        error: Option<&str>,
    ) -> Result<(), DriverError>;

    /// Marks this session as the one working on `name`; `false` if another session is.
    fn claim(&mut self, name: &str) -> Result<bool, DriverError>;

    fn release(&mut self, name: &str) -> Result<(), DriverError>;

    /// The largest replication lag among replicas; `None` when there are none (or the database
    /// cannot see them from here).
    fn replica_lag(&mut self) -> Result<Option<Duration>, DriverError>;
}

/// A backfill to run: its statement, its options and the name its progress is kept under.
#[derive(Debug, Clone)]
pub struct BackfillJob {
    pub name: String,
    pub statement: BackfillStatement,
    pub options: BackfillOptions,
    /// Checksum of the statement's tokens, stored to refuse resuming with another statement.
    pub statement_checksum: String,
}

/// How a backfill ended.
#[derive(Debug, Clone)]
pub struct BackfillReport {
    pub record: BackfillRecord,
    /// Batches this run committed (0 when it was already done).
    pub batches: u64,
    pub elapsed: Duration,
}

/// Why a backfill stopped, or never started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillError {
    #[error("{database} cannot run online backfills")]
    Unsupported { database: String },
    #[error("there is no table {table}")]
    NoSuchTable { table: String },
    #[error("there is no column {column} in {table} (named in key={column})")]
    NoSuchKeyColumn { table: String, column: String },
    #[error("{table} has no primary key to batch over")]
    NoKey { table: String },
    #[error(
        "key column {column} of {table} can be NULL; rows where it is NULL would never be reached"
    )]
    NullableKey { table: String, column: String },
    #[error("the statement cannot run: {error}")]
    InvalidStatement { error: DriverError },
    #[error("backfill {name} was started with another statement")]
    StatementChanged { name: String },
    #[error("backfill {name} is running in another session")]
    AlreadyRunning { name: String },
    #[error("backfill {name} failed after {rows_changed} rows{}: {error}", last_key.as_ref().map(|k| format!(" (last key done: {k})")).unwrap_or_default())]
    BatchFailed {
        name: String,
        rows_changed: u64,
        last_key: Option<Key>,
        error: DriverError,
    },
    #[error("{context}: {error}")]
    Driver {
        context: &'static str,
        error: DriverError,
    },
}

impl BackfillError {
    /// What the user can do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            BackfillError::NoKey { .. } => "add a primary key, or name the key columns with `key=col,col` (a backfill needs an ordered, non-NULL key)".into(),
            BackfillError::NullableKey { .. } => "name NOT NULL key columns with `key=`".into(),
            BackfillError::StatementChanged { name } => format!(
                "finish it with the statement it started with, or give the new statement another name (--name); `strata status` shows {name}'s progress"
            ),
            BackfillError::AlreadyRunning { .. } => "wait for it to finish; `strata status` shows its progress".into(),
            BackfillError::BatchFailed { .. } => "fix the cause and run the same command again: the backfill resumes after the last committed batch".into(),
            BackfillError::NoSuchTable { .. } | BackfillError::NoSuchKeyColumn { .. } | BackfillError::InvalidStatement { .. } => {
                "fix the statement; nothing was changed".into()
            }
            _ => return None,
        })
    }

    /// The database's own error, when there is one.
    pub fn driver_error(&self) -> Option<&DriverError> {
        match self {
            BackfillError::InvalidStatement { error }
            | BackfillError::BatchFailed { error, .. }
            | BackfillError::Driver { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The backfill engine, implemented by `strata_backfill`. A trait so that the runner in this
/// crate can run a migration that is a backfill without depending on the engine.
pub trait BackfillRunner: fmt::Debug + Send + Sync {
    fn run(
        &self,
        driver: &mut dyn Driver,
        job: &BackfillJob,
        policy: &LockPolicy,
        events: &mut dyn FnMut(&Event),
    ) -> Result<BackfillReport, BackfillError>;
}

/// A migration file's backfill: its analysed statement and the directive's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillPlan {
    pub statement: BackfillStatement,
    pub options: BackfillOptions,
}

/// What happens during a backfill.
#[derive(Debug)]
#[non_exhaustive]
pub enum BackfillEvent<'a> {
    /// The first batch is about to run (`resumed`: after an earlier run stopped part-way).
    Started {
        record: &'a BackfillRecord,
        resumed: bool,
    },
    /// A batch committed; `record` is the progress after it.
    Progress {
        record: &'a BackfillRecord,
        batch_rows_changed: u64,
        batch_time: Duration,
    },
    /// Replicas lag more than `max_lag`: strata waits before the next batch.
    LagPause {
        name: &'a str,
        lag: Duration,
        max_lag: Duration,
    },
    /// A batch's lock was not available within `lock_timeout`; it is retried after `pause`.
    LockRetry {
        name: &'a str,
        attempt: u32,
        pause: Duration,
        blockers: &'a [Blocker],
    },
    /// The backfill completed (in this run or an earlier one).
    Finished {
        record: &'a BackfillRecord,
        elapsed: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_stored_form() {
        let key = Key(vec![
            KeyValue::Integer(42),
            KeyValue::Text("a \"b\"".into()),
        ]);
        assert_eq!(key.encode(), r#"[42,"a \"b\""]"#);
        assert_eq!(Key::decode(&key.encode()).unwrap(), key);
        assert_eq!(key.to_string(), "42, a \"b\"");
        assert!(Key::decode("not json").is_err());
        let columns = vec!["a,b".to_owned(), "c".to_owned()];
        assert_eq!(decode_columns(&encode_columns(&columns)).unwrap(), columns);
    }

    #[test]
    fn owners_are_alive_while_their_process_is() {
        assert!(owner_alive(&owner_here()));
        let host = owner_here().split_once('@').unwrap().1.to_owned();
        assert!(!owner_alive(&format!("{}@{host}", u32::MAX)));
        assert!(
            owner_alive("1@some-other-host"),
            "cannot tell: assume running"
        );
        assert!(!owner_alive("garbage"));
    }

    #[test]
    fn a_batch_runs_only_where_the_progress_row_still_ends() {
        let statement =
            BackfillStatement::parse("UPDATE t SET n = n + 1", crate::Dialect::Postgres).unwrap();
        let after = Key(vec![KeyValue::Integer(10)]);
        let upto = Key(vec![KeyValue::Integer(20)]);
        let batch = Batch {
            name: "b",
            statement: &statement,
            key_columns: &["id".to_owned()],
            after: Some(&after),
            upto: &upto,
            rows: 10,
            batch_size: 10,
            last: false,
        };
        assert!(
            batch
                .check_progress(Some((Some("[10]"), "running")))
                .is_ok()
        );
        assert!(batch.check_progress(Some((Some("[10]"), "failed"))).is_ok());
        let moved = batch
            .check_progress(Some((Some("[20]"), "running")))
            .unwrap_err();
        assert!(moved.message.contains("another process"), "{moved}");
        assert!(batch.check_progress(Some((Some("[10]"), "done"))).is_err());
        assert!(batch.check_progress(None).is_err());
        let first = Batch {
            after: None,
            ..batch.clone()
        };
        assert!(first.check_progress(Some((None, "running"))).is_ok());
        assert!(
            first
                .check_progress(Some((Some("[10]"), "running")))
                .is_err()
        );
        assert_eq!(first.state_after(), BackfillState::Running);
        assert_eq!(
            Batch {
                last: true,
                ..batch
            }
            .state_after(),
            BackfillState::Done
        );
    }

    #[test]
    fn states_round_trip() {
        for state in [
            BackfillState::Running,
            BackfillState::Interrupted,
            BackfillState::Failed,
            BackfillState::Done,
        ] {
            assert_eq!(BackfillState::parse(state.as_str()), Some(state));
        }
    }
}
