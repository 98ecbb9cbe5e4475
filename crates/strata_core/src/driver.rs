//! What a database must provide to strata: a small trait per capability, implemented once per
//! database in its own crate. The core decides *what* runs and in which order; a driver only
//! knows *how* to run it on its database.

use std::fmt;
use std::time::Duration;

use crate::Dialect;
use crate::history::{AppliedMigration, HistoryChange};
use crate::locks::{Blocker, LockPolicy, TableLock};
use crate::statement::{IndexBuild, Statement};

/// An error reported by the database or the connection to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct DriverError {
    /// The database's own error code (SQLSTATE on PostgreSQL, the extended result code on SQLite).
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement, when the database gives one.
    pub position: Option<u32>,
    /// The statement gave up waiting for a lock (PostgreSQL `55P03`): worth retrying.
    pub lock_not_available: bool,
    /// Who held the lock the statement waited for, as last seen while it waited.
    pub blockers: Vec<Blocker>,
}

impl DriverError {
    pub fn new(message: impl Into<String>) -> DriverError {
        DriverError {
            code: None,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            lock_not_available: false,
            blockers: Vec::new(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> DriverError {
        self.code = Some(code.into());
        self
    }

    pub fn with_detail(mut self, detail: Option<String>) -> DriverError {
        self.detail = detail;
        self
    }

    pub fn with_hint(mut self, hint: Option<String>) -> DriverError {
        self.hint = hint;
        self
    }

    pub fn with_position(mut self, position: Option<u32>) -> DriverError {
        self.position = position;
        self
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = &self.code {
            write!(f, "[{code}] ")?;
        }
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A statement that failed, with its index in the statements given to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// 0-based index of the failing statement, or `None` when the failure is not one
    /// statement's (the commit, the history write, the connection).
    pub index: Option<usize>,
    pub error: DriverError,
}

/// Who holds the migration lock, for messages while waiting and after giving up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: Option<i64>,
    pub application: Option<String>,
    pub user: Option<String>,
    pub client: Option<String>,
    /// When the holder's session or transaction began (RFC 3339), as the database reports it.
    pub since: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(pid) = self.pid {
            parts.push(format!("pid {pid}"));
        }
        if let Some(app) = self.application.as_deref().filter(|a| !a.is_empty()) {
            parts.push(format!("application '{app}'"));
        }
        if let Some(user) = &self.user {
            parts.push(format!("user {user}"));
        }
        if let Some(client) = &self.client {
            parts.push(format!("from {client}"));
        }
        if let Some(since) = &self.since {
            parts.push(format!("since {since}"));
        }
        if parts.is_empty() {
            f.write_str("another process")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Whether a transactional apply ran, or found its work already done by another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionOutcome {
    Committed {
        execution_ms: i64,
    },
    /// The history already had this change when the transaction began (another process on the
    /// same database did it first).
    AlreadyDone,
}

/// State of an index that a crashed or failed build may have left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    Missing,
    Valid,
    /// Left by a failed `CREATE INDEX CONCURRENTLY`: it slows writes and is never used.
    Invalid,
}

/// Called while a statement waits for other sessions, with them and the time waited so far.
pub type WaitReport<'a> = &'a mut dyn FnMut(&[Blocker], Duration);

/// A connection to one target database, able to run migrations and keep strata's history there.
pub trait Driver {
    fn dialect(&self) -> Dialect;

    /// The target, safe to print (no password).
    fn target(&self) -> &str;

    /// SQL the driver runs on its session before any migration (shown by `--dry-run`).
    fn session_settings(&self) -> Vec<String> {
        Vec::new()
    }

    /// Bounds every later statement's lock waits by `policy`. Databases without a lock queue
    /// for a statement to stall others in (SQLite: one writer holds the whole file, and the
    /// busy timeout bounds the wait for it) ignore it.
    fn set_lock_policy(&mut self, _policy: &LockPolicy) {}

    /// SQL the driver runs right before a statement (`in_transaction`: at the start of the
    /// migration's transaction), shown by `--dry-run`.
    fn statement_settings(&self, _statement: &Statement, _in_transaction: bool) -> Vec<String> {
        Vec::new()
    }

    /// Sessions whose transaction is older than `min_age` and holds a lock conflicting with one
    /// of `locks`: joining the lock queue behind them would stall the application. Empty where
    /// the database does not show who holds which table lock.
    fn conflicting_holders(
        &mut self,
        _locks: &[TableLock],
        _min_age: Duration,
    ) -> Result<Vec<Blocker>, DriverError> {
        Ok(Vec::new())
    }

    /// Indexes left invalid by failed or interrupted builds; none where builds are atomic.
    fn invalid_indexes(&mut self) -> Result<Vec<String>, DriverError> {
        Ok(Vec::new())
    }

    /// Takes the migration lock that makes concurrent runs serialise, waiting at most `wait`
    /// and reporting the holder through `waiting` from time to time. Returns the last holder
    /// seen if the wait ran out.
    fn lock(
        &mut self,
        wait: Duration,
        waiting: &mut dyn FnMut(&LockHolder, Duration),
    ) -> Result<(), LockError>;

    fn unlock(&mut self) -> Result<(), DriverError>;

    /// Creates the history table if it does not exist. Called with the lock held.
    fn ensure_history(&mut self) -> Result<(), DriverError>;

    /// Every history row; empty when the table does not exist yet (never creates it).
    fn read_history(&mut self) -> Result<Vec<AppliedMigration>, DriverError>;

    /// Runs `statements` and `change` in one transaction: all of it or none of it.
    /// `execution_ms` of an upserted row is filled in by the driver.
    fn run_in_transaction(
        &mut self,
        statements: &[Statement],
        change: &HistoryChange,
        waiting: WaitReport,
    ) -> Result<TransactionOutcome, StatementFailure>;

    /// Runs one statement on its own, outside any transaction.
    fn execute_alone(
        &mut self,
        statement: &Statement,
        waiting: WaitReport,
    ) -> Result<(), DriverError>;

    /// Writes one history change in its own transaction.
    fn write_history(&mut self, change: &HistoryChange) -> Result<(), DriverError>;

    /// Writes several history changes in one transaction, all or none: migrations recorded as
    /// applied without running (`baseline`, `adopt`) leave no half-recorded history behind.
    fn write_history_all(&mut self, changes: &[HistoryChange]) -> Result<(), DriverError>;

    /// Whether the index a build statement makes exists, and is valid. Only consulted for
    /// statements the splitter marked as index builds.
    fn index_state(&mut self, _index: &IndexBuild) -> Result<IndexState, DriverError> {
        Ok(IndexState::Missing)
    }

    /// Drops an invalid index left by a failed build, without blocking writes. Only called for
    /// an index [`Driver::index_state`] reported invalid.
    fn drop_index(&mut self, _index: &IndexBuild) -> Result<(), DriverError> {
        Ok(())
    }

    /// The driver's catalog reader, when its database has a catalog worth reading for the
    /// linter (table sizes, existing objects, the server version). `None` by default.
    fn catalog_reader(&mut self) -> Option<&mut dyn crate::CatalogReader> {
        None
    }

    /// The server's version as it reports it (`SELECT VERSION()`), for the linter's version-aware
    /// rules on databases without a [`crate::CatalogReader`] (MySQL and MariaDB, whose version
    /// string also tells them apart). `None` by default.
    fn server_version(&mut self) -> Result<Option<String>, DriverError> {
        Ok(None)
    }

    /// The driver's support for online backfills, when its database has it. `None` by default.
    fn backfill_driver(&mut self) -> Option<&mut dyn crate::BackfillDriver> {
        None
    }

    /// The driver's reader of other migration tools' history tables (`strata adopt`). `None`
    /// by default.
    fn foreign_tables(&mut self) -> Option<&mut dyn crate::ForeignTables> {
        None
    }

    /// The driver's support for expand/contract migrations, when its database has it. `None`
    /// by default.
    fn expander(&mut self) -> Option<&mut dyn crate::Expander> {
        None
    }
}

/// The migration lock could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("timed out after {}s waiting for the migration lock{}", waited.as_secs(), holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default())]
    Timeout {
        waited: Duration,
        holder: Option<LockHolder>,
    },
    #[error(transparent)]
    Driver(#[from] DriverError),
}
