//! [`Driver`] for SQLite.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use strata_core::{
    AppliedMigration, Dialect, Driver, DriverError, HistoryChange, IndexBuild, IndexState,
    LockError, LockHolder, RowState, Statement, StatementFailure, TransactionOutcome, WaitReport,
};

use crate::errors::driver_error;
use crate::history;
use crate::target::SqliteTarget;

/// A connection to a SQLite database file.
///
/// SQLite has no sessions to hold a lock across a whole run, so each migration's transaction
/// begins with `BEGIN IMMEDIATE` (the database-wide write lock, waited for up to the lock wait
/// through SQLite's busy timeout) and re-reads the history row inside it: when two processes
/// run `up` on one file, one waits and then skips what the other already applied.
pub struct SqliteDriver {
    pub(crate) conn: Connection,
    description: String,
}

impl SqliteDriver {
    /// Opens the database for commands that only read it (`status`, dry runs, `lint`): a file
    /// that does not exist yet reads as an empty database and is not created, so looking
    /// leaves nothing behind.
    pub fn open_existing(target: &SqliteTarget) -> Result<SqliteDriver, DriverError> {
        match target {
            SqliteTarget::File(path) if !path.exists() && missing_directory(path).is_none() => {
                SqliteDriver::with_connection(
                    Connection::open_in_memory().map_err(|e| driver_error(&e))?,
                    target,
                )
            }
            _ => SqliteDriver::open(target),
        }
    }

    /// Opens (creating if needed) the database. The directory must exist.
    pub fn open(target: &SqliteTarget) -> Result<SqliteDriver, DriverError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match target {
            SqliteTarget::File(path) => Connection::open_with_flags(path, flags).map_err(|e| {
                let mut error = driver_error(&e);
                error.message = format!(
                    "cannot open SQLite database {}: {}",
                    path.display(),
                    error.message
                );
                if let Some(dir) = missing_directory(path) {
                    error.hint = Some(format!("the directory {} does not exist", dir.display()));
                }
                error
            })?,
            SqliteTarget::Memory => Connection::open_in_memory().map_err(|e| driver_error(&e))?,
        };
        SqliteDriver::with_connection(conn, target)
    }

    fn with_connection(
        conn: Connection,
        target: &SqliteTarget,
    ) -> Result<SqliteDriver, DriverError> {
        let driver = SqliteDriver {
            conn,
            description: target.describe(),
        };
        driver.set_busy_timeout(Duration::from_secs(60))?;
        // Opening is lazy in SQLite: touch the file so a non-database file fails here, clearly.
        driver
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| driver_error(&e))?;
        Ok(driver)
    }

    fn set_busy_timeout(&self, wait: Duration) -> Result<(), DriverError> {
        self.conn.busy_timeout(wait).map_err(|e| driver_error(&e))
    }
}

/// The directory a database file would be created in, when there is no such directory (a bare
/// file name is in the current directory, which exists).
fn missing_directory(path: &std::path::Path) -> Option<&std::path::Path> {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn target(&self) -> &str {
        &self.description
    }

    fn lock(
        &mut self,
        wait: Duration,
        _waiting: &mut dyn FnMut(&LockHolder, Duration),
    ) -> Result<(), LockError> {
        // Each migration takes SQLite's write lock itself; the wait bounds how long it may queue.
        self.set_busy_timeout(wait)?;
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DriverError> {
        Ok(())
    }

    fn ensure_history(&mut self) -> Result<(), DriverError> {
        self.conn
            .execute_batch(history::CREATE_HISTORY)
            .map_err(|e| driver_error(&e))
    }

    fn read_history(&mut self) -> Result<Vec<AppliedMigration>, DriverError> {
        history::read(&self.conn).map_err(|e| driver_error(&e))
    }

    fn run_in_transaction(
        &mut self,
        statements: &[Statement],
        change: &HistoryChange,
        _waiting: WaitReport,
    ) -> Result<TransactionOutcome, StatementFailure> {
        let whole = |e: rusqlite::Error| StatementFailure {
            index: None,
            error: driver_error(&e),
        };
        let started = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(whole)?;
        let current = history::state_of(&tx, change.version()).map_err(whole)?;
        let already_done = match change {
            HistoryChange::Upsert(_) => current == Some(RowState::Applied),
            HistoryChange::Delete(_) => current.is_none(),
        };
        if already_done {
            return Ok(TransactionOutcome::AlreadyDone);
        }
        for (index, statement) in statements.iter().enumerate() {
            tx.execute_batch(&statement.sql)
                .map_err(|e| StatementFailure {
                    index: Some(index),
                    error: driver_error(&e),
                })?;
        }
        let execution_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let change = match change {
            HistoryChange::Upsert(row) => HistoryChange::Upsert(AppliedMigration {
                execution_ms,
                ..row.clone()
            }),
            delete => delete.clone(),
        };
        history::write(&tx, &change).map_err(whole)?;
        tx.commit().map_err(whole)?;
        Ok(TransactionOutcome::Committed { execution_ms })
    }

    fn execute_alone(
        &mut self,
        statement: &Statement,
        _waiting: WaitReport,
    ) -> Result<(), DriverError> {
        self.conn
            .execute_batch(&statement.sql)
            .map_err(|e| driver_error(&e))
    }

    fn write_history(&mut self, change: &HistoryChange) -> Result<(), DriverError> {
        history::write(&self.conn, change).map_err(|e| driver_error(&e))
    }

    fn write_history_all(&mut self, changes: &[HistoryChange]) -> Result<(), DriverError> {
        history::write_all(&mut self.conn, changes).map_err(|e| driver_error(&e))
    }

    fn foreign_tables(&mut self) -> Option<&mut dyn strata_core::ForeignTables> {
        Some(self)
    }

    fn index_state(&mut self, index: &IndexBuild) -> Result<IndexState, DriverError> {
        // SQLite builds indexes atomically: one that exists is complete.
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
                [&index.name],
                |row| row.get(0),
            )
            .map_err(|e| driver_error(&e))?;
        Ok(if exists {
            IndexState::Valid
        } else {
            IndexState::Missing
        })
    }

    fn backfill_driver(&mut self) -> Option<&mut dyn strata_core::BackfillDriver> {
        Some(self)
    }

    fn drop_index(&mut self, index: &IndexBuild) -> Result<(), DriverError> {
        let quoted = format!("\"{}\"", index.name.replace('"', "\"\""));
        self.conn
            .execute_batch(&format!("DROP INDEX IF EXISTS {quoted}"))
            .map_err(|e| driver_error(&e))
    }
}
