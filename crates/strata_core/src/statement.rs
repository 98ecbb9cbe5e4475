//! Statements as the runner sees them: the exact source text, where it is in the file, and the
//! facts about it that decide how it runs (inside a transaction or alone, safe to re-run or not).
//! Splitting is dialect-specific (PostgreSQL uses its real parser), so drivers supply a
//! [`Splitter`]; the core only consumes its output.

use crate::locks::TableLock;

/// Transaction control found in a file, which the runner must manage itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionControl {
    Begin,
    Commit,
    /// `ROLLBACK`, `SAVEPOINT`, `PREPARE TRANSACTION`, ...
    Other,
}

/// An index build, so that a crashed or failed build can be checked (and an invalid leftover
/// dropped) before it is run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBuild {
    /// The schema the statement names, if it names one.
    pub schema: Option<String>,
    pub name: String,
    pub concurrent: bool,
}

/// One statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text exactly as in the file, without the terminating `;`.
    pub sql: String,
    /// Byte offset of the statement's first character in the file.
    pub offset: usize,
    /// 1-based line of the statement's first character.
    pub line: u32,
    /// Set when the statement is `BEGIN`, `COMMIT` and the like.
    pub transaction_control: Option<TransactionControl>,
    /// The server refuses to run it inside a transaction block (`CREATE INDEX CONCURRENTLY`,
    /// `VACUUM`, a `DO` block that commits, ...).
    pub outside_transaction: bool,
    /// Running it twice has the same effect as once (`IF NOT EXISTS`, `CREATE OR REPLACE`, ...),
    /// so it may be re-run after a crash left its outcome unknown.
    pub rerun_safe: bool,
    /// The index it builds, if it is an index build.
    pub index_build: Option<IndexBuild>,
    /// A `CONCURRENTLY` form: it waits for every older transaction in the database by design,
    /// so it runs without a lock timeout.
    pub concurrent: bool,
    /// The table locks it takes that matter for waiting (preflight checks them).
    pub locks: Vec<TableLock>,
}

impl Statement {
    /// A statement with no special properties (the common case).
    pub fn plain(sql: impl Into<String>, offset: usize, line: u32) -> Statement {
        Statement {
            sql: sql.into(),
            offset,
            line,
            transaction_control: None,
            outside_transaction: false,
            rerun_safe: false,
            index_build: None,
            concurrent: false,
            locks: Vec::new(),
        }
    }
}

/// A file that cannot be split into statements (it does not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SplitError {
    pub line: u32,
    pub message: String,
}

/// Splits a file into statements and classifies them, for one SQL dialect.
pub trait Splitter {
    fn split(&self, sql: &str) -> Result<Vec<Statement>, SplitError>;
}
