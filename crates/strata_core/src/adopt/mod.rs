//! Taking over another migration tool's history (`strata adopt`): golang-migrate, dbmate, sqlx,
//! Diesel and Flyway. Their history table is read as that tool wrote it ([`ForeignTool`]), each
//! version it counts as applied is matched with the directory's migration of that version, and
//! those migrations are recorded in strata's history as applied, without running anything.
//!
//! Nothing is recorded unless everything agrees: every foreign version has a file, every
//! checksum the tool kept matches its file, no entry is failed or dirty, and strata's own history
//! says nothing different. The foreign table is only read, never changed.

mod checksum;
mod sqlx_settings;
mod tools;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use crate::driver::DriverError;
use crate::history::{AppliedMigration, RowState};
use crate::source::{Migration, MigrationSet};
use crate::version::Version;

pub use checksum::ForeignChecksum;
pub use sqlx_settings::SqlxSettings;

/// A migration tool whose history table strata can take over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForeignTool {
    GolangMigrate,
    Dbmate,
    Sqlx,
    Diesel,
    Flyway,
}

impl ForeignTool {
    pub const ALL: [ForeignTool; 5] = [
        ForeignTool::GolangMigrate,
        ForeignTool::Dbmate,
        ForeignTool::Sqlx,
        ForeignTool::Diesel,
        ForeignTool::Flyway,
    ];

    /// The tool's name, as `--from` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ForeignTool::GolangMigrate => "golang-migrate",
            ForeignTool::Dbmate => "dbmate",
            ForeignTool::Sqlx => "sqlx",
            ForeignTool::Diesel => "diesel",
            ForeignTool::Flyway => "flyway",
        }
    }

    /// The history table the tool creates by default.
    pub fn table(self) -> &'static str {
        match self {
            ForeignTool::GolangMigrate | ForeignTool::Dbmate => "schema_migrations",
            ForeignTool::Sqlx => "_sqlx_migrations",
            ForeignTool::Diesel => "__diesel_schema_migrations",
            ForeignTool::Flyway => "flyway_schema_history",
        }
    }

    /// The columns strata reads, which the table must have to be this tool's.
    fn columns(self) -> &'static [&'static str] {
        tools::columns(self)
    }

    /// Of the tools whose table these columns fit, the one that reads most of them: a table
    /// given by name alone has no default name to tell, say, Diesel's (`version`, `run_on`) from
    /// dbmate's (`version`), which every tool's table with a `version` column also fits.
    fn best_match(columns: &[String]) -> Option<ForeignTool> {
        ForeignTool::ALL
            .into_iter()
            .filter(|tool| tool.matches(columns))
            .max_by_key(|tool| tool.columns().len())
    }

    /// Whether a table with these columns is this tool's: golang-migrate and dbmate both name
    /// theirs `schema_migrations`, golang-migrate's has a `dirty` column and dbmate's does not.
    fn matches(self, columns: &[String]) -> bool {
        let has = |name: &str| columns.iter().any(|c| c == name);
        let own = self.columns().iter().all(|c| has(c));
        match self {
            ForeignTool::Dbmate => own && !has("dirty"),
            _ => own,
        }
    }
}

impl fmt::Display for ForeignTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ForeignTool {
    type Err = String;

    fn from_str(text: &str) -> Result<ForeignTool, String> {
        ForeignTool::ALL
            .into_iter()
            .find(|tool| tool.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown tool {text:?}: expected golang-migrate, dbmate, sqlx, diesel or flyway"
                )
            })
    }
}

/// A value read from another tool's table, typed as loosely as the databases type them (MySQL
/// returns text and binary columns alike as bytes, SQLite keeps timestamps as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignValue {
    Null,
    Integer(i64),
    Boolean(bool),
    Text(String),
    Bytes(Vec<u8>),
    /// A timestamp, as UTC RFC 3339 (`2024-01-01T12:00:00Z`).
    Timestamp(String),
}

impl ForeignValue {
    fn as_text(&self) -> Option<String> {
        match self {
            ForeignValue::Text(text) | ForeignValue::Timestamp(text) => Some(text.clone()),
            ForeignValue::Integer(n) => Some(n.to_string()),
            ForeignValue::Bytes(bytes) => String::from_utf8(bytes.clone()).ok(),
            ForeignValue::Boolean(_) | ForeignValue::Null => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            ForeignValue::Integer(n) => Some(*n),
            other => other.as_text()?.trim().parse().ok(),
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            ForeignValue::Boolean(b) => Some(*b),
            ForeignValue::Integer(n) => Some(*n != 0),
            other => match other.as_text()?.as_str() {
                "t" | "true" | "1" => Some(true),
                "f" | "false" | "0" => Some(false),
                _ => None,
            },
        }
    }

    fn as_bytes(&self) -> Option<Vec<u8>> {
        match self {
            ForeignValue::Bytes(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }

    /// A timestamp as UTC RFC 3339 to the second; text such as SQLite's `CURRENT_TIMESTAMP`
    /// (`2024-01-01 12:00:00`, UTC) is accepted too.
    fn as_time(&self) -> Option<String> {
        let text = self.as_text()?;
        let bytes = text.as_bytes();
        let shaped = bytes.len() >= 19
            && bytes[..19].iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b' ' || *b == b'T',
                13 | 16 => *b == b':',
                _ => b.is_ascii_digit(),
            });
        shaped.then(|| format!("{}T{}Z", &text[..10], &text[11..19]))
    }
}

/// Where `strata adopt` finds the other tool's history table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignSource {
    /// The tool (`--from`); `None` finds it by the table's columns.
    pub tool: Option<ForeignTool>,
    /// The table (`--table`), for a tool set up with another name than its default
    /// (golang-migrate's `x-migrations-table`, dbmate's `--migrations-table`, Flyway's
    /// `flyway.table`); `None` looks for each tool's default.
    pub table: Option<String>,
}

/// Another tool's history tables, read by a driver for `strata adopt`.
pub trait ForeignTables {
    /// The column names (lower case) of `table` where strata's own history lives (the current
    /// schema or database), or `None` when there is no such table.
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, DriverError>;

    /// Every row of `table`, with `columns` in order.
    fn rows(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<ForeignValue>>, DriverError>;
}

/// One version the other tool recorded as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignEntry {
    /// The version as the tool stored it (`20240101000000`, `1.2`).
    pub version: String,
    /// When the tool applied it (UTC RFC 3339), where it kept that.
    pub applied_at: Option<String>,
    /// The tool's checksum of the file, where it kept one.
    pub checksum: Option<ForeignChecksum>,
    /// What the tool ran, when that was code rather than an SQL file (a Flyway Java migration:
    /// `Java migration db.migration.V3__Backfill`), for the message when no file has its version.
    pub ran_from_code: Option<String>,
}

/// What the other tool's history says is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignHistory {
    pub tool: ForeignTool,
    /// The table it was read from.
    pub table: String,
    /// Versions with a row each.
    pub entries: Vec<ForeignEntry>,
    /// A position below which everything counts as applied: golang-migrate's one version (whose
    /// file must exist) or a Flyway baseline (whose file need not).
    pub up_to: Option<UpTo>,
    /// Rows that record nothing to adopt, and why (Flyway's repeatable and undone migrations).
    pub notes: Vec<String>,
}

/// Every migration up to `version` counts as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpTo {
    pub version: String,
    pub applied_at: Option<String>,
    /// Whether `version` itself must be a migration of the directory.
    pub needs_file: bool,
}

/// A migration `strata adopt` records (or would record) as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub version: Version,
    pub label: String,
    pub name: String,
    /// The other tool's time, or `None` (the time of adoption is recorded).
    pub applied_at: Option<String>,
}

/// What `strata adopt` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptReport {
    pub tool: ForeignTool,
    pub table: String,
    /// Recorded as applied by this run (or, with `--dry-run`, to be).
    pub adopted: Vec<Adopted>,
    /// Already in strata's history, agreeing with the other tool (a second adopt finds all).
    pub already_recorded: usize,
    /// Migrations of the directory the other tool had not applied: `strata up` applies them.
    pub pending: usize,
    pub notes: Vec<String>,
    pub dry_run: bool,
}

/// Why `strata adopt` changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    #[error(
        "this database has no migration history table of golang-migrate, dbmate, sqlx, Diesel or Flyway"
    )]
    NoForeignHistory,
    #[error(
        "several migration tools' history tables exist: {}; choose one with --from",
        list_tools(found)
    )]
    /// Each tool with the table it was found in.
    SeveralTools { found: Vec<(ForeignTool, String)> },
    #[error("no {} history table: {} {}", tool, table, match columns { Some(columns) => format!("has the columns {}, not {}'s", columns.join(", "), tool), None => "does not exist".to_owned() })]
    TableNotFound {
        tool: ForeignTool,
        table: String,
        columns: Option<Vec<String>>,
    },
    #[error("{table} {}", match columns { Some(columns) => format!("has the columns {}: it is not the history table of golang-migrate, dbmate, sqlx, Diesel or Flyway", columns.join(", ")), None => "does not exist".to_owned() })]
    NotAHistoryTable {
        table: String,
        columns: Option<Vec<String>>,
    },
    #[error("{table} row {row}: {message}")]
    BadRow {
        table: String,
        row: usize,
        message: String,
    },
    #[error(
        "golang-migrate's schema_migrations is dirty at version {version}: that migration failed part-way"
    )]
    Dirty { version: String },
    #[error("{tool} recorded failed migrations: {}", versions.join(", "))]
    Failed {
        tool: ForeignTool,
        versions: Vec<String>,
    },
    #[error("{tool} recorded {} that no file in {} has: {}", plural(versions.len(), "version"), dir.display(), versions.join(", "))]
    MissingFiles {
        tool: ForeignTool,
        dir: PathBuf,
        versions: Vec<String>,
    },
    #[error("{} changed since {tool} applied {}: {}", plural(files.len(), "file"), if files.len() == 1 { "it" } else { "them" }, files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    ChecksumMismatch {
        tool: ForeignTool,
        files: Vec<PathBuf>,
    },
    #[error("strata's history disagrees with {tool}'s: {}", disagreements.join("; "))]
    HistoryDisagrees {
        tool: ForeignTool,
        disagreements: Vec<String>,
    },
    #[error("this database's driver cannot read other tools' history tables")]
    Unsupported,
    #[error("{}: {message}", path.display())]
    SqlxSettings { path: PathBuf, message: String },
}

impl AdoptError {
    /// What the user can do next.
    pub fn hint(&self) -> String {
        match self {
            AdoptError::NoForeignHistory => "point --database-url at the database the other tool migrated, and --table at its history table if the tool was set up to name it otherwise; for a database no tool tracked, use `strata baseline <version>`".into(),
            AdoptError::SeveralTools { .. } => "pass --from golang-migrate|dbmate|sqlx|diesel|flyway; the other tables are left alone".into(),
            AdoptError::TableNotFound { .. } => "check --from, --table and --database-url; without --from, strata finds the tool itself".into(),
            AdoptError::NotAHistoryTable { .. } => "check --table and --database-url (the table is looked for where strata keeps its own history); without --table, strata looks for each tool's default table".into(),
            AdoptError::BadRow { .. } => "the table is not as the tool writes it; fix the row, or adopt with `strata baseline <version>`".into(),
            AdoptError::Dirty { .. } => "check what the failed migration left, fix the database, then clear the flag with `migrate force <version>` (the last fully applied version) and run `strata adopt` again".into(),
            AdoptError::Failed { tool: ForeignTool::Flyway, .. } => "check what the failed migrations left, fix the database, remove the failed rows with `flyway repair`, and run `strata adopt` again".into(),
            AdoptError::Failed { .. } => "check what the failed migrations left, fix the database, delete their rows from the history table, and run `strata adopt` again".into(),
            AdoptError::MissingFiles { .. } => "restore those migration files (or point --dir at the directory the tool used); for a migration the tool ran from code, add an SQL file of its version that does what the code did (adopt records it without running it); nothing was recorded".into(),
            AdoptError::ChecksumMismatch { .. } => "restore the files as they were applied (see your version control); nothing was recorded".into(),
            AdoptError::HistoryDisagrees { .. } => "see `strata status`; settle strata's rows (`strata down`, `strata resolve`) or the other tool's, then run `strata adopt` again".into(),
            AdoptError::Unsupported => "use `strata baseline <version>`".into(),
            AdoptError::SqlxSettings { .. } => "strata reads sqlx.toml's migrate.table-name and migrate.ignored-chars; pass the table with --table if it is elsewhere".into(),
        }
    }
}

fn list_tools(tools: &[(ForeignTool, String)]) -> String {
    tools
        .iter()
        .map(|(tool, table)| format!("{tool} ({table})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Finds the tool whose history table exists (as `source` narrows it), and reads it; `sqlx` is
/// the project's sqlx settings (its table name, and what its checksums leave out).
pub fn read_foreign_history(
    tables: &mut dyn ForeignTables,
    source: &ForeignSource,
    sqlx: &SqlxSettings,
) -> Result<ForeignHistory, crate::Error> {
    let default_table = |tool: ForeignTool| match tool {
        ForeignTool::Sqlx => sqlx.table(),
        tool => tool.table(),
    };
    let driver = |error| crate::Error::Driver {
        context: "reading the other tool's history table",
        error,
    };
    let (tool, table) = match (source.tool, &source.table) {
        (Some(tool), table) => {
            let table = table
                .clone()
                .unwrap_or_else(|| default_table(tool).to_owned());
            let columns = tables.columns(&table).map_err(driver)?;
            if !columns.as_deref().is_some_and(|c| tool.matches(c)) {
                return Err(AdoptError::TableNotFound {
                    tool,
                    table,
                    columns,
                }
                .into());
            }
            (tool, table)
        }
        (None, Some(table)) => {
            let columns = tables.columns(table).map_err(driver)?;
            match columns.as_deref().and_then(ForeignTool::best_match) {
                Some(tool) => (tool, table.clone()),
                None => {
                    return Err(AdoptError::NotAHistoryTable {
                        table: table.clone(),
                        columns,
                    }
                    .into());
                }
            }
        }
        (None, None) => {
            let mut found = Vec::new();
            for tool in ForeignTool::ALL {
                if let Some(columns) = tables.columns(default_table(tool)).map_err(driver)?
                    && tool.matches(&columns)
                {
                    found.push((tool, default_table(tool).to_owned()));
                }
            }
            match found.as_slice() {
                [] => return Err(AdoptError::NoForeignHistory.into()),
                [(tool, table)] => (*tool, table.clone()),
                _ => return Err(AdoptError::SeveralTools { found }.into()),
            }
        }
    };
    let rows = tables.rows(&table, tool.columns()).map_err(driver)?;
    Ok(tools::interpret(tool, table, &rows, &sqlx.ignored_chars)?)
}

/// Matches the other tool's history with the directory and strata's own history: the
/// migrations to record, or why nothing may be.
pub fn plan_adoption(
    set: &MigrationSet,
    foreign: &ForeignHistory,
    history: &[AppliedMigration],
) -> Result<AdoptReport, AdoptError> {
    let tool = foreign.tool;
    let mut missing = Vec::new();
    let mut applied: Vec<(&Migration, Option<String>)> = Vec::new();
    let mut changed = Vec::new();
    for entry in &foreign.entries {
        let Some(migration) = set
            .parse_version(&entry.version)
            .ok()
            .and_then(|version| set.get(version))
        else {
            missing.push(match &entry.ran_from_code {
                Some(code) => format!("{} ({code})", entry.version),
                None => entry.version.clone(),
            });
            continue;
        };
        if let Some(checksum) = &entry.checksum
            && !checksum.matches_file(&migration.up.path)
        {
            changed.push(migration.up.path.clone());
        }
        applied.push((migration, entry.applied_at.clone()));
    }
    if let Some(up_to) = &foreign.up_to {
        match set.parse_version(&up_to.version) {
            Ok(version) if !up_to.needs_file || set.get(version).is_some() => {
                let listed: HashSet<Version> = applied.iter().map(|(m, _)| m.version).collect();
                for migration in set.migrations.iter().take_while(|m| m.version <= version) {
                    if !listed.contains(&migration.version) {
                        applied.push((migration, up_to.applied_at.clone()));
                    }
                }
            }
            _ => missing.push(up_to.version.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(AdoptError::MissingFiles {
            tool,
            dir: set.dir.clone(),
            versions: missing,
        });
    }
    if !changed.is_empty() {
        return Err(AdoptError::ChecksumMismatch {
            tool,
            files: changed,
        });
    }
    applied.sort_by_key(|(m, _)| m.version);
    applied.dedup_by_key(|(m, _)| m.version);
    let newest = applied.last().map(|(m, _)| m.version);
    let applied_versions: HashSet<Version> = applied.iter().map(|(m, _)| m.version).collect();
    let rows: HashMap<Version, &AppliedMigration> =
        history.iter().map(|row| (row.version, row)).collect();
    let mut disagreements = Vec::new();
    let mut already_recorded = 0;
    let mut adopted = Vec::new();
    for (migration, applied_at) in &applied {
        match rows.get(&migration.version) {
            None => adopted.push(Adopted {
                version: migration.version,
                label: migration.label.clone(),
                name: migration.name.clone(),
                applied_at: applied_at.clone(),
            }),
            Some(row)
                if row.state == RowState::Applied && row.checksum == migration.up.checksum =>
            {
                already_recorded += 1;
            }
            Some(row) if row.state == RowState::Applied => disagreements.push(format!(
                "{} ({}) is recorded with another checksum",
                migration.label, migration.name
            )),
            Some(row) => disagreements.push(format!(
                "{} ({}) is {} in strata's history",
                migration.label,
                migration.name,
                row.state.as_str()
            )),
        }
    }
    for row in history {
        if !applied_versions.contains(&row.version)
            && newest.is_some_and(|newest| row.version < newest)
        {
            let label = set
                .get(row.version)
                .map_or_else(|| row.version.to_string(), |m| m.label.clone());
            disagreements.push(format!(
                "{label} ({}) is recorded by strata but not applied by {tool}",
                row.name
            ));
        }
    }
    if !disagreements.is_empty() {
        return Err(AdoptError::HistoryDisagrees {
            tool,
            disagreements,
        });
    }
    let pending = set
        .migrations
        .iter()
        .filter(|m| !applied_versions.contains(&m.version) && !rows.contains_key(&m.version))
        .count();
    Ok(AdoptReport {
        tool,
        table: foreign.table.clone(),
        adopted,
        already_recorded,
        pending,
        notes: foreign.notes.clone(),
        dry_run: false,
    })
}

#[cfg(test)]
mod tests;
