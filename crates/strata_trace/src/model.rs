//! What a trace found, as data. The renderers and the findings read only this; `--format json`
//! serialises it.

use std::fmt;
use std::ops::Range;

use serde::{Serialize, Serializer};
use strata_core::{ExpandPhase, LockMode};
use strata_lint::Diagnostic;

/// Where the migrations were traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceMode {
    /// On a scratch database holding the schema of the earlier migrations; each traced migration
    /// is committed there, so later ones see what it made.
    Scratch,
    /// On the configured database itself, each migration rolled back.
    InPlace,
}

/// The whole trace.
#[derive(Debug, Clone, Serialize)]
pub struct TraceReport {
    pub mode: TraceMode,
    /// The database traced on: the scratch database (gone by the time anyone reads this), or the
    /// configured one.
    pub database: String,
    /// `server_version` of the server the trace ran on.
    pub server_version: String,
    pub migrations: Vec<MigrationTrace>,
    /// What the traced facts mean, in the linter's terms (allows and configured severities
    /// applied).
    pub diagnostics: Vec<Diagnostic>,
}

impl TraceReport {
    /// The traced statement that failed, if one did (the trace stops there).
    pub fn failure(&self) -> Option<(&MigrationTrace, &StatementFailure)> {
        self.migrations
            .iter()
            .find_map(|m| m.failure.as_ref().map(|f| (m, f)))
    }
}

/// One traced migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationTrace {
    pub version: String,
    pub name: String,
    pub file: String,
    /// The phase of an expand/contract migration this trace is of (each phase is traced on its
    /// own, as its statements are strata's, not the file's); `None` for a migration run as
    /// written.
    pub phase: Option<ExpandPhase>,
    /// How `strata up` runs it: in one transaction, or statement by statement.
    pub in_transaction: bool,
    pub statements: Vec<StatementTrace>,
    /// Every lock on an object that existed before the migration, from the statement that took
    /// it until its transaction ended.
    pub locks_held: Vec<LockHold>,
    /// New foreign keys whose referencing columns no index covers when the migration ends.
    pub unindexed_foreign_keys: Vec<UnindexedForeignKey>,
    #[serde(rename = "duration_ms", serialize_with = "milliseconds")]
    pub duration: std::time::Duration,
    pub failure: Option<StatementFailure>,
}

/// How a statement was run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Execution {
    /// In the migration's transaction (or its own, for a migration run statement by statement).
    Transaction,
    /// A `CONCURRENTLY` statement, run in its plain form inside a transaction; its locks are
    /// those the concurrent form takes.
    ConcurrentFormAsPlain { plain_sql: String },
    /// A statement that cannot run in a transaction (`VACUUM`, a `DO` block that commits): run
    /// on its own, so its locks ended with it and were not observed.
    OutsideTransaction,
    /// An online backfill, which `strata up` runs in key-range batches, each in a short
    /// transaction of its own: traced as one statement in one transaction, so its row locks
    /// here are those of all batches together, its table locks those of each batch.
    Backfill,
    /// Not run, for the reason given.
    NotRun { reason: String },
}

/// One traced statement.
#[derive(Debug, Clone, Serialize)]
pub struct StatementTrace {
    /// 1-based line of its first character in the file.
    pub line: u32,
    /// Its byte range in the file (for locating findings).
    #[serde(skip)]
    pub range: Range<usize>,
    pub sql: String,
    pub execution: Execution,
    #[serde(rename = "duration_ms", serialize_with = "milliseconds")]
    pub duration: std::time::Duration,
    /// Locks it acquired that its transaction did not hold before.
    pub locks: Vec<LockTaken>,
    /// Tables and indexes whose storage it replaced (`pg_class.relfilenode` changed).
    pub rewrites: Vec<Relation>,
    pub created: Vec<Relation>,
    pub dropped: Vec<Relation>,
    pub columns: Vec<ColumnChange>,
    pub constraints: Vec<ConstraintChange>,
}

impl StatementTrace {
    /// Whether the statement is `CONCURRENTLY` (traced as its plain form).
    pub fn is_concurrent(&self) -> bool {
        matches!(self.execution, Execution::ConcurrentFormAsPlain { .. })
    }
}

/// A table, index, view or sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation {
    #[serde(skip)]
    pub oid: u32,
    /// `schema.name`.
    pub name: String,
    pub kind: RelationKind,
    pub age: RelationAge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    Table,
    PartitionedTable,
    Index,
    PartitionedIndex,
    MaterializedView,
    View,
    Sequence,
}

impl RelationKind {
    /// From `pg_class.relkind`.
    pub(crate) fn from_relkind(relkind: &str) -> Option<RelationKind> {
        Some(match relkind {
            "r" => RelationKind::Table,
            "p" => RelationKind::PartitionedTable,
            "i" => RelationKind::Index,
            "I" => RelationKind::PartitionedIndex,
            "m" => RelationKind::MaterializedView,
            "v" => RelationKind::View,
            "S" => RelationKind::Sequence,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::PartitionedTable => "partitioned table",
            RelationKind::Index => "index",
            RelationKind::PartitionedIndex => "partitioned index",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::View => "view",
            RelationKind::Sequence => "sequence",
        }
    }

    pub fn is_index(self) -> bool {
        matches!(self, RelationKind::Index | RelationKind::PartitionedIndex)
    }
}

/// Whether anyone but the migration can be using a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationAge {
    /// It existed before the trace: the application may be using it.
    Existing,
    /// An earlier traced migration created it.
    CreatedEarlierInTrace,
    /// This migration created it: nobody else can see it yet.
    CreatedInMigration,
}

/// A lock a statement acquired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTaken {
    pub relation: Relation,
    #[serde(serialize_with = "pg_lock_name")]
    pub mode: LockMode,
    pub blocks: Blocks,
}

/// A lock held from the statement that took it until its transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHold {
    pub relation: Relation,
    #[serde(serialize_with = "pg_lock_name")]
    pub mode: LockMode,
    pub blocks: Blocks,
    /// Line of the statement that took it.
    pub from_line: u32,
    /// From the start of that statement until commit (or rollback).
    #[serde(rename = "held_ms", serialize_with = "milliseconds")]
    pub held: std::time::Duration,
}

/// What a lock makes other sessions wait for, from PostgreSQL's conflict table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Blocks {
    /// `SELECT` waits (it needs `ACCESS SHARE`).
    pub reads: bool,
    /// `INSERT`, `UPDATE`, `DELETE` wait (they need `ROW EXCLUSIVE`).
    pub writes: bool,
    /// Schema changes, `VACUUM` and concurrent index builds wait (they need at least
    /// `SHARE UPDATE EXCLUSIVE`).
    pub ddl: bool,
}

impl Blocks {
    pub fn of(mode: LockMode) -> Blocks {
        Blocks {
            reads: mode.conflicts_with(LockMode::AccessShare),
            writes: mode.conflicts_with(LockMode::RowExclusive),
            ddl: mode.conflicts_with(LockMode::ShareUpdateExclusive),
        }
    }

    pub fn reads_or_writes(self) -> bool {
        self.reads || self.writes
    }
}

impl fmt::Display for Blocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.reads, self.writes, self.ddl) {
            (true, _, _) => "blocks reads, writes and DDL",
            (false, true, _) => "blocks writes and DDL",
            (false, false, true) => "blocks DDL, not reads or writes",
            (false, false, false) => "blocks neither reads nor writes",
        })
    }
}

/// Added, changed (e.g. validated, made `NOT NULL`) or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Added,
    Changed,
    Dropped,
}

/// A column's definition at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnState {
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnChange {
    pub table: Relation,
    pub column: String,
    /// The column's name before, when the statement renamed it (`column` is the new name).
    pub renamed_from: Option<String>,
    pub change: Change,
    pub before: Option<ColumnState>,
    pub after: Option<ColumnState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
    NotNull,
    Trigger,
}

impl ConstraintKind {
    /// From `pg_constraint.contype`.
    pub(crate) fn from_contype(contype: &str) -> Option<ConstraintKind> {
        Some(match contype {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "f" => ConstraintKind::ForeignKey,
            "c" => ConstraintKind::Check,
            "x" => ConstraintKind::Exclusion,
            "n" => ConstraintKind::NotNull,
            "t" => ConstraintKind::Trigger,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::Check => "check",
            ConstraintKind::Exclusion => "exclusion",
            ConstraintKind::NotNull => "not null",
            ConstraintKind::Trigger => "constraint trigger",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstraintChange {
    #[serde(skip)]
    pub oid: u32,
    pub table: Relation,
    pub name: String,
    pub kind: ConstraintKind,
    pub change: Change,
    /// `pg_constraint.convalidated` after the statement (before it, for a dropped one).
    pub validated: bool,
    pub definition: String,
    /// The index it built, for a primary key, unique or exclusion constraint made by this
    /// statement (not `USING INDEX`).
    #[serde(skip)]
    pub built_index: bool,
}

/// A new foreign key no index covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnindexedForeignKey {
    pub table: Relation,
    pub constraint: String,
    pub columns: Vec<String>,
    /// Index of the statement that added it.
    #[serde(skip)]
    pub statement: usize,
}

/// The traced statement that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementFailure {
    /// Index of the statement in [`MigrationTrace::statements`].
    #[serde(skip)]
    pub statement: usize,
    pub line: u32,
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

fn milliseconds<S: Serializer>(
    duration: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 10_000.0).round() / 10.0)
}

fn pg_lock_name<S: Serializer>(mode: &LockMode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(mode.pg_name())
}
