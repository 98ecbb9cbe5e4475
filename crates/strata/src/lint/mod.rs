//! The linter inside the CLI: which migrations `strata lint` and `strata up` look at, with which
//! context, settings and live catalog, and how the findings are shown. The rules themselves live in
//! `strata_lint`; this module only feeds them what the CLI knows.

pub(crate) mod config;
pub(crate) mod gate;

use std::collections::HashMap;

use serde_json::{Value, json};
use strata_core::{
    AppliedMigration, CatalogReader, Dialect, MigrationSet, MigrationState, Version,
    migration_states,
};
use strata_lint::facts::{DEFAULT_MARIADB_VERSION, DEFAULT_MYSQL_VERSION, MySqlVersion};
use strata_lint::{Catalog, Diagnostic, Migration, Settings, Summary};

use crate::database::Database;
use crate::error::CliError;

/// A migration of a directory as the linter reads it: its up file, and whether it has a down.
pub(crate) fn up_file(migration: &strata_core::Migration, dialect: Dialect) -> Migration {
    Migration::new(
        migration.up.path.display().to_string(),
        migration.up.sql.clone(),
        dialect,
    )
    .with_down(migration.down.is_some())
}

/// The migrations of `set` the history shows applied (context for the linter), and those an
/// `up` to `target` would run: pending ones, and a failed one it would resume.
pub(crate) struct ByHistory {
    pub(crate) applied: Vec<Migration>,
    pub(crate) pending: Vec<Migration>,
}

impl ByHistory {
    /// Sorts `set` by `history`. With nothing pending, `applied` stays empty too: it is only
    /// context for linting pending migrations, and a deploy with nothing new should not copy
    /// every file for nothing.
    pub(crate) fn new(
        set: &MigrationSet,
        history: &[AppliedMigration],
        target: Option<Version>,
    ) -> ByHistory {
        let states: HashMap<Version, MigrationState> =
            migration_states(set, history).into_iter().collect();
        let state_of = |migration: &&strata_core::Migration| {
            states
                .get(&migration.version)
                .copied()
                .unwrap_or(MigrationState::Pending)
        };
        let pending: Vec<Migration> = set
            .migrations
            .iter()
            .filter(|m| {
                matches!(
                    state_of(m),
                    MigrationState::Pending | MigrationState::Failed
                )
            })
            .filter(|m| target.is_none_or(|t| m.version <= t))
            .map(|m| up_file(m, set.dialect))
            .collect();
        if pending.is_empty() {
            return ByHistory {
                applied: Vec::new(),
                pending,
            };
        }
        let applied = set
            .migrations
            .iter()
            .filter(|m| {
                matches!(
                    state_of(m),
                    MigrationState::Applied | MigrationState::Modified
                )
            })
            .map(|m| up_file(m, set.dialect))
            .collect();
        ByHistory { applied, pending }
    }
}

/// Completes `settings` from the connected server: its major version unless `--pg-version` or
/// `strata.toml` gave one, and its catalog when `with_catalog`.
pub(crate) fn read_server(
    reader: &mut dyn CatalogReader,
    settings: &mut Settings,
    version_given: bool,
    with_catalog: bool,
) -> Result<Option<Catalog>, CliError> {
    let failed = |what: &str, e: strata_core::DriverError| {
        CliError::failed(format!("cannot read the {what} for linting: {e}"))
    };
    if !version_given {
        settings.postgres_version = reader
            .server_major_version()
            .map_err(|e| failed("server version", e))?;
    }
    with_catalog
        .then(|| reader.read_catalog().map_err(|e| failed("catalog", e)))
        .transpose()
}

/// The `diagnostics` and `summary` members of a JSON document (`lint`, and `up` stopped by lint).
pub(crate) fn json_members(diagnostics: &[Diagnostic]) -> (Value, Value) {
    (
        serde_json::to_value(diagnostics).expect("diagnostics serialise"),
        serde_json::to_value(Summary::of(diagnostics)).expect("a summary serialises"),
    )
}

/// `{"diagnostics": [...], "summary": {...}}` merged into `document`.
pub(crate) fn with_diagnostics(mut document: Value, diagnostics: &[Diagnostic]) -> Value {
    let (list, summary) = json_members(diagnostics);
    document["diagnostics"] = list;
    document["summary"] = summary;
    document
}

/// Reads `--mysql-version` / `[lint] mysql_version` (exit 2 when it is not a version).
pub(crate) fn parse_mysql_version(text: &str) -> Result<MySqlVersion, CliError> {
    MySqlVersion::parse(text).ok_or_else(|| {
        CliError::usage(format!("`{text}` is not a MySQL or MariaDB version"))
            .with_hint("write e.g. 8.0.28, 8.4 or 10.11-mariadb")
    })
}

/// Completes `settings.mysql_version` when neither `--mysql-version` nor `strata.toml` gave one:
/// the connected server's (`SELECT VERSION()`), else the default for the URL's scheme (MariaDB
/// 10.11 for `mariadb://`, MySQL 8.4 otherwise).
pub(crate) fn resolve_mysql_version(
    settings: &mut Settings,
    database: Option<&mut Database>,
    url: &str,
) -> Result<(), CliError> {
    let reported = match database {
        Some(database) => database.driver.server_version().map_err(|e| {
            CliError::failed(format!("cannot read the server version for linting: {e}"))
        })?,
        None => None,
    };
    settings.mysql_version = match reported.as_deref().and_then(MySqlVersion::parse) {
        Some(version) => version,
        None if url.starts_with("mariadb:") => DEFAULT_MARIADB_VERSION,
        None => DEFAULT_MYSQL_VERSION,
    };
    Ok(())
}

/// A JSON event line for stderr (the shape of the run events).
pub(crate) fn event_json(event: &str, diagnostics: &[Diagnostic]) -> Value {
    let (list, summary) = json_members(diagnostics);
    json!({"event": event, "summary": summary, "diagnostics": list})
}
