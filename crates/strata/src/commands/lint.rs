//! `strata lint [PATH...]`: the safety linter on migration files, directories, or (by default) the
//! pending migrations of the configured database.
//!
//! Static by default: the database is contacted only to learn what is pending (no PATH and no
//! `--all`) and with `--catalog`. Everything knowable before that (arguments, `[lint]`
//! configuration, the migration files) is checked first, so such problems exit 2.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strata_core::{Dialect, MigrationSet};
use strata_lint::{Catalog, Diagnostic, Migration, Settings, Summary, report};

use super::Context;
use crate::args::{Format, LintArgs, LintDialect};
use crate::config::DEFAULT_DATABASE_URL;
use crate::database::{self, Access};
use crate::error::CliError;
use crate::lint::{ByHistory, parse_mysql_version, read_server, resolve_mysql_version, up_file};
use crate::output;

/// What to lint, decided before any server is contacted.
enum Work {
    /// The pending migrations of the configured database, the applied ones as context.
    Pending(MigrationSet),
    /// Every up file of a directory, in version order.
    Directory(Vec<Migration>),
    /// One file, with the files before it as context.
    File {
        file: Migration,
        earlier: Vec<Migration>,
    },
}

pub(crate) fn run(context: &Context, args: &LintArgs) -> Result<ExitCode, CliError> {
    let url = &context.settings.database_url;
    // The embedded SQLite default is where `up` keeps its demo data, not a statement about the
    // dialect of the migrations: without a configured database, lint PostgreSQL.
    let configured = url != DEFAULT_DATABASE_URL;
    let dialect = match args.dialect {
        Some(LintDialect::Postgres) => Dialect::Postgres,
        Some(LintDialect::Sqlite) => Dialect::Sqlite,
        Some(LintDialect::Mysql) => Dialect::MySql,
        None if configured => database::dialect_of(url)?,
        None => Dialect::Postgres,
    };
    if args.catalog && (!configured || database::dialect_of(url)? != Dialect::Postgres) {
        return Err(
            CliError::usage("--catalog reads the live catalog of a PostgreSQL database")
                .with_hint("configure one with --database-url, DATABASE_URL or strata.toml"),
        );
    }
    let mut settings = context
        .settings
        .lint
        .to_settings(context.settings.config_file.as_deref())?;
    if let Some(version) = args.pg_version {
        settings.postgres_version = version;
    }
    let version_given = args.pg_version.is_some() || context.settings.lint.pg_version().is_some();
    if let Some(version) = &args.mysql_version {
        settings.mysql_version = parse_mysql_version(version)?;
    }
    let mysql_version_given =
        args.mysql_version.is_some() || context.settings.lint.sets_mysql_version();

    let work = if args.paths.is_empty() {
        let set = load(&context.settings.dir, dialect)?;
        if configured && !args.all {
            vec![Work::Pending(set)]
        } else {
            let all = set.migrations.iter().map(|m| up_file(m, dialect)).collect();
            vec![Work::Directory(all)]
        }
    } else {
        args.paths
            .iter()
            .map(|path| work_for_path(path, dialect))
            .collect::<Result<_, _>>()?
    };

    let needs_server = args.catalog || work.iter().any(|w| matches!(w, Work::Pending(_)));
    let mut database = needs_server
        .then(|| database::open(&context.settings, Access::Read))
        .transpose()?;
    let catalog = match database.as_mut().and_then(|db| db.driver.catalog_reader()) {
        Some(reader) => read_server(reader, &mut settings, version_given, args.catalog)?,
        None => None,
    };
    if dialect == Dialect::MySql && !mysql_version_given {
        resolve_mysql_version(&mut settings, database.as_mut(), url)?;
    }

    let mut diagnostics = Vec::new();
    for item in work {
        diagnostics.extend(match item {
            Work::Pending(set) => {
                let history =
                    super::read_history(database.as_mut().expect("pending work connects"))?;
                lint_pending(
                    &ByHistory::new(&set, &history, None),
                    &settings,
                    catalog.as_ref(),
                )
            }
            Work::Directory(migrations) => {
                strata_lint::lint_directory(&migrations, &settings, catalog.as_ref())
            }
            Work::File { file, earlier } => {
                strata_lint::lint_one(&file, &earlier, &settings, catalog.as_ref())
            }
        });
    }
    output::write_with(|out| write_report(out, &diagnostics, context.format, args.verbose));
    Ok(if Summary::of(&diagnostics).errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The pending migrations' findings. Without the catalog the applied migrations are linted too, as
/// context, and their findings dropped; the catalog already holds what they created.
fn lint_pending(
    by_history: &ByHistory,
    settings: &Settings,
    catalog: Option<&Catalog>,
) -> Vec<Diagnostic> {
    if catalog.is_some() {
        return strata_lint::lint_directory(&by_history.pending, settings, catalog);
    }
    let all: Vec<Migration> = by_history
        .applied
        .iter()
        .chain(&by_history.pending)
        .cloned()
        .collect();
    let mut diagnostics = strata_lint::lint_directory(&all, settings, None);
    diagnostics.retain(|d| by_history.pending.iter().any(|m| m.path == d.file));
    diagnostics
}

/// Writes the report in `format`; JSON as it is serialised (a large run's document is tens of
/// megabytes).
fn write_report(
    out: &mut dyn Write,
    diagnostics: &[Diagnostic],
    format: Format,
    verbose: bool,
) -> std::io::Result<()> {
    let text = match format {
        Format::Human => report::render_human(diagnostics, verbose),
        Format::Json => {
            report::write_json(&mut *out, diagnostics)?;
            return out.write_all(b"\n");
        }
        Format::Sarif => report::render_sarif(diagnostics) + "\n",
        Format::Github => report::render_github(diagnostics),
        Format::Markdown => unreachable!("commands::run lets only `trace` take --format markdown"),
    };
    out.write_all(text.as_bytes())
}

fn load(dir: &Path, dialect: Dialect) -> Result<MigrationSet, CliError> {
    let set = MigrationSet::load(dir, dialect).map_err(strata_core::Error::from)?;
    for warning in &set.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(set)
}

/// A directory: all its up files. A file inside a migrations directory: that file with its earlier
/// siblings as context (a down file also with its own up, which it reverts). Any other file: alone.
fn work_for_path(path: &Path, dialect: Dialect) -> Result<Work, CliError> {
    if path.is_dir() {
        let set = load(path, dialect)?;
        return Ok(Work::Directory(
            set.migrations.iter().map(|m| up_file(m, dialect)).collect(),
        ));
    }
    let sql = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!("cannot read {}: {e}", path.display()))
            .with_hint("pass migration files or directories")
    })?;
    let named = Migration::new(path.display().to_string(), sql, dialect);
    let parent = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let Ok(set) = MigrationSet::load(&parent, dialect) else {
        return Ok(Work::File {
            file: named,
            earlier: Vec::new(),
        });
    };
    let file_name = path.file_name();
    let position = set.migrations.iter().position(|m| {
        m.up.path.file_name() == file_name
            || m.down
                .as_ref()
                .is_some_and(|d| d.path.file_name() == file_name)
    });
    let Some(position) = position else {
        return Ok(Work::File {
            file: named,
            earlier: Vec::new(),
        });
    };
    let migration = &set.migrations[position];
    let is_up = migration.up.path.file_name() == file_name;
    let context_end = if is_up { position } else { position + 1 };
    let earlier = set.migrations[..context_end]
        .iter()
        .map(|m| up_file(m, dialect))
        .collect();
    let file = named.with_down(!is_up || migration.down.is_some());
    Ok(Work::File { file, earlier })
}
