//! What the linter is asked to look at: migrations, settings and optional live-catalog facts.
//!
//! The dialect, the directives and the live catalog's data types are `strata_core`'s, so the CLI, the runner
//! and the drivers build these values from what they already have (files on disk, a connected server).

use std::collections::BTreeMap;

pub use strata_core::directive::Directives;
pub use strata_core::{
    Catalog, CatalogColumn, CatalogConstraint, CatalogConstraintKind, CatalogEnum, CatalogIndex,
    CatalogTable, Dialect, ObjectName,
};

use crate::error::SettingsError;
use crate::facts::MySqlVersion;
use crate::registry;
use crate::report::Severity;

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
    ///
    /// A malformed directive is the runner's error to report (it refuses such a file before anything runs,
    /// naming the line); the linter then reads the file as if it had no directives.
    pub fn new(path: impl Into<String>, sql: impl Into<String>, dialect: Dialect) -> Self {
        let sql = sql.into();
        let directives =
            strata_core::directive::parse_directives(&sql, dialect).unwrap_or_default();
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
    /// Target MySQL or MariaDB version (`--mysql-version`); `mysql-copy-alter` reads it.
    pub mysql_version: MySqlVersion,
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
            mysql_version: MySqlVersion::default(),
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
