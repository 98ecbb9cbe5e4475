//! The rules: one file per rule, each holding its documentation (`Rule` metadata) and its check.
//!
//! A rule sees one statement at a time through a [`StatementContext`] (the schema before the statement and
//! what this file did so far), or the whole migration through a [`MigrationContext`]. It reports
//! [`Finding`]s; the engine locates them, applies configuration, suppressions and catalog facts.

use std::collections::HashSet;

use crate::facts::PgOperation;
use crate::input::{Dialect, Directives, ObjectName, Settings};
use crate::ir::{AlterTable, Statement};
use crate::report::Severity;
use crate::schema::Schema;

pub(crate) mod common;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) mod add_column_required;
pub(crate) mod add_column_serial;
pub(crate) mod add_column_stored_generated;
pub(crate) mod add_column_volatile_default;
pub(crate) mod add_exclusion_constraint;
pub(crate) mod add_primary_key;
pub(crate) mod add_unique_constraint;
pub(crate) mod ban_char;
pub(crate) mod change_column_type;
pub(crate) mod check_not_valid;
pub(crate) mod concurrent_in_transaction;
pub(crate) mod concurrent_with_other_statements;
pub(crate) mod detach_partition_not_concurrent;
pub(crate) mod disable_safety_checks;
pub(crate) mod drop_column;
pub(crate) mod drop_index_not_concurrent;
pub(crate) mod drop_not_null;
pub(crate) mod drop_schema_or_database;
pub(crate) mod drop_table;
pub(crate) mod enum_value_used_same_transaction;
pub(crate) mod foreign_key_not_valid;
pub(crate) mod foreign_key_without_index;
pub(crate) mod identifier_too_long;
pub(crate) mod index_not_concurrent;
pub(crate) mod lock_table;
pub(crate) mod missing_down;
pub(crate) mod mixed_schema_and_data;
pub(crate) mod mysql_blocking_algorithm;
pub(crate) mod mysql_copy_alter;
pub(crate) mod mysql_multiple_ddl;
pub(crate) mod not_idempotent_outside_transaction;
pub(crate) mod prefer_bigint;
pub(crate) mod prefer_identity;
pub(crate) mod prefer_jsonb;
pub(crate) mod prefer_text;
pub(crate) mod prefer_timestamptz;
pub(crate) mod reindex_not_concurrent;
pub(crate) mod rename_column;
pub(crate) mod rename_enum_value;
pub(crate) mod rename_table;
pub(crate) mod set_not_null;
pub(crate) mod sqlite_unsupported_alter;
pub(crate) mod statement_after_access_exclusive;
pub(crate) mod syntax_error;
pub(crate) mod table_rewrite;
pub(crate) mod timeout_disabled;
pub(crate) mod transaction_control;
pub(crate) mod truncate;
pub(crate) mod unbatched_update;
pub(crate) mod unused_allow;
pub(crate) mod vacuum_full;
pub(crate) mod validate_same_transaction;

/// Which part of the catalogue a rule belongs to; it orders the documentation and decides how catalog facts
/// affect its severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// PostgreSQL locking and rewrites.
    Locking,
    /// Breaking changes for running application code.
    Breaking,
    /// Data loss.
    DataLoss,
    /// Migration hygiene.
    Hygiene,
    /// Types and naming.
    Style,
    /// MySQL and MariaDB online DDL and implicit commits.
    MySql,
    /// SQLite.
    Sqlite,
    /// About the linter itself (`unused-allow`, `syntax-error`).
    Meta,
}

impl Category {
    /// Heading used in documentation.
    pub fn title(self) -> &'static str {
        match self {
            Category::Locking => "PostgreSQL: locking and rewrites",
            Category::Breaking => "Breaking changes for running application code",
            Category::DataLoss => "Data loss",
            Category::Hygiene => "Migration hygiene",
            Category::Style => "Types and naming",
            Category::MySql => "MySQL and MariaDB",
            Category::Sqlite => "SQLite",
            Category::Meta => "About the linter itself",
        }
    }
}

/// When catalog facts may lower a finding to `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// Below `small_table_rows`, or on an object created earlier in the run (locking rules).
    SmallTable,
    /// Only on an object created earlier in the run.
    CreatedInRun,
    /// Only when the table is known to be empty: the statement would fail on a non-empty table.
    KnownEmpty,
    /// Never: the rule predicts an error at run time, or is about the linter itself.
    Never,
}

/// Everything known about one rule: its documentation and its check.
#[derive(Debug)]
pub struct Rule {
    /// The kebab-case id users write in `strata:allow` and configuration.
    pub id: &'static str,
    /// One line: what the rule reports.
    pub summary: &'static str,
    /// One line: the safe alternative, shown as the diagnostic's help.
    pub help: &'static str,
    /// Severity unless configured otherwise.
    pub default_severity: Severity,
    /// Section of the catalogue.
    pub category: Category,
    /// Dialects it runs on.
    pub dialects: &'static [Dialect],
    /// First PostgreSQL major version it applies to (`None`: all).
    pub since_postgres: Option<u32>,
    /// Why the statement is dangerous: the lock, rewrite or scan, and what it blocks or breaks.
    pub why: &'static str,
    /// The safe multi-step recipe.
    pub instead: &'static str,
    /// Example SQL the rule reports.
    pub bad: &'static str,
    /// The same change done safely.
    pub good: &'static str,
    /// The PostgreSQL operation of `bad`, whose lock facts document the rule and are checked on a live server.
    pub operation: Option<PgOperation>,
    /// Reported only by `strata trace`, never by the static linter.
    pub trace_only: bool,
    /// How catalog facts may lower it.
    pub lowering: Lowering,
    pub(crate) check: Check,
}

/// How the engine runs a rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    /// Once per statement (including statements read from `DO` blocks).
    Statement(fn(&StatementContext<'_>, &mut Vec<Finding>)),
    /// Once per migration.
    Migration(fn(&MigrationContext<'_>, &mut Vec<Finding>)),
    /// Reported by the engine itself (`unused-allow`, `syntax-error`) or by the tracer.
    External,
}

/// One finding, before the engine locates it in the file.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) message: String,
    /// Replaces the rule's default help when set (e.g. a version-specific recipe).
    pub(crate) help: Option<String>,
    /// The table it is about, for catalog-based lowering.
    pub(crate) table: Option<ObjectName>,
    /// Forces a severity regardless of configuration (e.g. `info` on servers where the rule does not apply).
    pub(crate) severity: Option<Severity>,
    /// The statement it is about, for migration-level checks (`None`: the file as a whole).
    pub(crate) statement: Option<usize>,
}

impl Finding {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Finding {
            message: message.into(),
            help: None,
            table: None,
            severity: None,
            statement: None,
        }
    }

    pub(crate) fn on_table(mut self, table: &ObjectName) -> Self {
        self.table = Some(table.clone());
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub(crate) fn at_statement(mut self, index: usize) -> Self {
        self.statement = Some(index);
        self
    }
}

/// Facts about the migration being linted that do not change from statement to statement.
#[derive(Debug, Clone)]
pub(crate) struct MigrationFacts {
    pub(crate) dialect: Dialect,
    pub(crate) in_transaction: bool,
    pub(crate) has_down: bool,
    pub(crate) directives: Directives,
    /// The file is wrapped in one `BEGIN; ... COMMIT;` that the runner replaces with its own transaction.
    pub(crate) wrapped_in_begin_commit: bool,
}

/// What earlier statements of the same file did.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileState {
    /// Tables created by this file: locking rules do not apply to them.
    pub(crate) created_tables: HashSet<ObjectName>,
    /// The first `ACCESS EXCLUSIVE` lock taken on an existing table, with the 1-based line that took it.
    pub(crate) access_exclusive: Option<(ObjectName, u32)>,
    /// `ALTER TYPE ... ADD VALUE` so far: (type, value).
    pub(crate) added_enum_values: Vec<(ObjectName, String)>,
    /// Constraints added so far, by (table, name).
    pub(crate) added_constraints: HashSet<(ObjectName, String)>,
    /// Types created by this file.
    pub(crate) created_types: HashSet<ObjectName>,
    /// Inside an explicit `BEGIN` written in the file.
    pub(crate) in_explicit_transaction: bool,
}

/// What a statement-level check sees.
#[derive(Debug)]
pub(crate) struct StatementContext<'a> {
    pub(crate) statement: &'a Statement,
    /// The schema before this statement.
    pub(crate) schema: &'a Schema,
    pub(crate) file: &'a FileState,
    pub(crate) migration: &'a MigrationFacts,
    pub(crate) settings: &'a Settings,
    /// Marked `-- strata:backfill` (the statement, or the whole file).
    pub(crate) backfill: bool,
    /// See [`common::existing_alter`].
    pub(crate) existing_alter: Option<&'a AlterTable>,
}

impl StatementContext<'_> {
    /// "Existing table": not created earlier in this file.
    pub(crate) fn is_existing(&self, table: &ObjectName) -> bool {
        !self.file.created_tables.contains(table)
    }

    pub(crate) fn pg_version(&self) -> u32 {
        self.settings.postgres_version
    }
}

/// One statement of a migration, as migration-level checks see it.
#[derive(Debug)]
pub(crate) struct LocatedStatement {
    pub(crate) statement: Statement,
    /// Whether it was read from inside a `DO` block.
    pub(crate) in_do_block: bool,
    pub(crate) backfill: bool,
}

/// What a migration-level check sees.
#[derive(Debug)]
pub(crate) struct MigrationContext<'a> {
    pub(crate) statements: &'a [LocatedStatement],
    pub(crate) migration: &'a MigrationFacts,
    /// Tables the migration created (after all its statements).
    pub(crate) created_tables: &'a HashSet<ObjectName>,
}
