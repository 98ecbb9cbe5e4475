//! What the linter is asked to look at: migrations, settings and optional live-catalog facts.
//!
//! This module depends on no other strata crate so that the CLI, the runner and the tracer can all build these
//! values from whatever they have (files on disk, embedded migrations, a connected server).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::SettingsError;
use crate::registry;
use crate::report::Severity;

/// The SQL dialect a migration is written in; it picks the parser and the rules that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL, parsed with the server's own grammar (`pg_query`).
    Postgres,
    /// SQLite, parsed best-effort with `sqlparser`.
    Sqlite,
}

impl Dialect {
    /// The schema an unqualified name resolves to; qualified names in this schema are stored unqualified so
    /// that `public.users` and `users` are the same table.
    pub(crate) fn default_schema(self) -> &'static str {
        match self {
            Dialect::Postgres => "public",
            Dialect::Sqlite => "main",
        }
    }

    /// Lower-case name used in documentation.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// Whether the runner will wrap the migration in a transaction.
///
/// The linter needs this because several rules (`concurrent-in-transaction`, `validate-same-transaction`,
/// `statement-after-access-exclusive`, ...) only make sense for one of the two modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// Decide like the runner does: directives first (`-- strata:no-transaction`, `-- strata:transaction`,
    /// sqlx's `-- no-transaction`), then the content (a PostgreSQL statement that cannot run in a transaction,
    /// SQLite `VACUUM` / `PRAGMA foreign_keys`).
    #[default]
    Decide,
    /// The runner wraps the file in one transaction.
    InTransaction,
    /// The runner executes the file statement by statement, outside any transaction.
    OutsideTransaction,
}

/// Execution directives: SQL comments before the first statement of a file (see the CLI contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Directives {
    /// `-- strata:no-transaction` (or sqlx's first-line `-- no-transaction`).
    pub no_transaction: bool,
    /// `-- strata:transaction`: forces a transaction.
    pub transaction: bool,
    /// `-- strata:irreversible`: the migration has no down on purpose.
    pub irreversible: bool,
    /// `-- strata:backfill ...`: the whole file is an online backfill.
    pub backfill: bool,
}

/// One migration file to lint.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Path shown in diagnostics, as the user should see it.
    pub path: String,
    /// The SQL text of the up (or named down) file.
    pub sql: String,
    /// Dialect of `sql`.
    pub dialect: Dialect,
    /// How the runner will execute it.
    pub transaction: TransactionMode,
    /// Whether a down file exists next to the up file (for `missing-down`).
    pub has_down: bool,
    /// Directives read from the header comments; [`Migration::new`] fills them in.
    pub directives: Directives,
}

impl Migration {
    /// A migration with its directives read from `sql`, the transaction mode left to the runner's rules, and
    /// a down file assumed present (call [`Migration::with_down`] when the caller knows better).
    pub fn new(path: impl Into<String>, sql: impl Into<String>, dialect: Dialect) -> Self {
        let sql = sql.into();
        let directives = crate::directives::read_directives(&sql, dialect);
        Migration {
            path: path.into(),
            sql,
            dialect,
            transaction: TransactionMode::Decide,
            has_down: true,
            directives,
        }
    }

    /// Sets whether a down file exists.
    #[must_use]
    pub fn with_down(mut self, has_down: bool) -> Self {
        self.has_down = has_down;
        self
    }

    /// Overrides the transaction mode (the runner's own decision).
    #[must_use]
    pub fn with_transaction(mut self, mode: TransactionMode) -> Self {
        self.transaction = mode;
        self
    }
}

/// A schema-qualified object name. An unqualified name, and one qualified by the dialect's default schema
/// (`public`, `main`), are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName {
    /// `None` for the default schema.
    pub schema: Option<String>,
    /// The object's own name, exactly as stored by the server (quoted names keep their case).
    pub name: String,
}

impl ObjectName {
    /// Builds a name, dropping the schema when it is `dialect`'s default one.
    pub fn new(schema: Option<&str>, name: &str, dialect: Dialect) -> Self {
        let schema = schema
            .filter(|s| !s.is_empty() && *s != dialect.default_schema())
            .map(str::to_owned);
        ObjectName {
            schema,
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// How a user configured one rule in `strata.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// Report the rule's findings at this severity instead of its default.
    Severity(Severity),
    /// Do not run the rule.
    Disabled,
}

/// Linter settings (from flags, `strata.toml` `[lint]`, or the connected server).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Target PostgreSQL major version (`--pg-version`); version-aware rules read it.
    pub postgres_version: u32,
    /// Tables with fewer estimated rows than this have their locking findings lowered to `info`.
    pub small_table_rows: u64,
    rules: BTreeMap<&'static str, RuleSetting>,
}

/// PostgreSQL major version assumed when none is given or connected (CLI contract, "Default server versions").
pub const DEFAULT_POSTGRES_VERSION: u32 = 15;
/// Default for [`Settings::small_table_rows`].
pub const DEFAULT_SMALL_TABLE_ROWS: u64 = 10_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            postgres_version: DEFAULT_POSTGRES_VERSION,
            small_table_rows: DEFAULT_SMALL_TABLE_ROWS,
            rules: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Configures one rule; an unknown id is an error so that typos in configuration do not pass silently.
    pub fn configure(&mut self, rule_id: &str, setting: RuleSetting) -> Result<(), SettingsError> {
        let rule = registry::find(rule_id).ok_or_else(|| SettingsError::UnknownRule {
            id: rule_id.to_owned(),
        })?;
        self.rules.insert(rule.id, setting);
        Ok(())
    }

    /// The severity findings of `rule_id` get, or `None` when the rule is disabled.
    pub(crate) fn severity_of(&self, rule: &registry::Rule) -> Option<Severity> {
        match self.rules.get(rule.id) {
            Some(RuleSetting::Disabled) => None,
            Some(RuleSetting::Severity(severity)) => Some(*severity),
            None => Some(rule.default_severity),
        }
    }
}

/// Facts read from the live database. Everything is optional: an absent table is simply unknown.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Existing tables.
    pub tables: Vec<CatalogTable>,
    /// Existing enum types and their values.
    pub enums: Vec<CatalogEnum>,
    /// Objects created earlier in the same `up` run: findings about them drop to `info`.
    pub created_in_run: BTreeSet<ObjectName>,
}

/// One existing table.
#[derive(Debug, Clone)]
pub struct CatalogTable {
    /// The table's name.
    pub name: ObjectName,
    /// `pg_class.reltuples` or equivalent; negative means never analysed (unknown, not small).
    pub estimated_rows: f64,
    /// Its columns.
    pub columns: Vec<CatalogColumn>,
    /// Its indexes.
    pub indexes: Vec<CatalogIndex>,
    /// Its constraints.
    pub constraints: Vec<CatalogConstraint>,
}

/// One column of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogColumn {
    /// Column name.
    pub name: String,
    /// Type as the server formats it (`character varying(20)`, `integer`, ...).
    pub data_type: String,
    /// Whether the column is `NOT NULL`.
    pub not_null: bool,
}

/// One index of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogIndex {
    /// Index name (in the table's schema).
    pub name: String,
    /// Key columns, in order; expressions are left out.
    pub columns: Vec<String>,
    /// Unique index.
    pub unique: bool,
    /// Backs the primary key.
    pub primary: bool,
    /// `pg_index.indisvalid`.
    pub valid: bool,
}

/// The kind of an existing constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogConstraintKind {
    /// Primary key.
    PrimaryKey,
    /// Unique constraint.
    Unique,
    /// Check constraint; `not_null_column` is set when it is exactly `CHECK (col IS NOT NULL)`.
    Check {
        /// The column the check proves non-null, if that is all it says.
        not_null_column: Option<String>,
    },
    /// Foreign key.
    ForeignKey,
    /// Exclusion constraint.
    Exclusion,
}

/// One constraint of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogConstraint {
    /// Constraint name.
    pub name: String,
    /// What it constrains.
    pub kind: CatalogConstraintKind,
    /// Columns it covers.
    pub columns: Vec<String>,
    /// `pg_constraint.convalidated`.
    pub validated: bool,
}

/// An existing enum type.
#[derive(Debug, Clone)]
pub struct CatalogEnum {
    /// Type name.
    pub name: ObjectName,
    /// Labels in sort order.
    pub values: Vec<String>,
}
