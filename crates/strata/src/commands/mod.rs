//! One file per command; each is a thin function from arguments to the core's operations and
//! the renderers.

mod abort;
mod adopt;
mod backfill;
mod baseline;
mod complete;
mod down;
mod drift;
mod explain;
mod init;
mod lint;
mod new;
mod redo;
mod resolve;
mod schema;
mod status;
mod trace;
mod up;
mod validate;
mod verify;

use std::process::ExitCode;

use serde_json::Value;
use strata_core::source::Layout;
use strata_core::{AppliedMigration, Dialect, Event, MigrationSet, Migrator, RunOptions, Version};

use crate::args::{Cli, Command, Format, SchemaCommand};
use crate::config::Settings;
use crate::database::{self, Access, Database};
use crate::error::CliError;
use crate::output::{out, outln};
use crate::report::EventPrinter;

/// Runs the command line.
pub(crate) fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let format = cli.global.format;
    if let Command::Init = cli.command {
        return init::run(&cli.global);
    }
    if let Command::Explain { rule_id } = &cli.command {
        return explain::run(rule_id);
    }
    if matches!(format, Format::Sarif | Format::Github) && !matches!(cli.command, Command::Lint(_))
    {
        return Err(CliError::usage(
            "--format sarif and --format github are lint reports; only `strata lint` takes them",
        ));
    }
    if format == Format::Markdown && !matches!(cli.command, Command::Trace(_)) {
        return Err(CliError::usage(
            "--format markdown is a trace report; only `strata trace` takes it",
        ));
    }
    let context = Context {
        settings: Settings::resolve(&cli.global)?,
        format,
    };
    match cli.command {
        Command::Init => unreachable!("handled above"),
        Command::New { name } => new::run(&context, &name.join(" ")),
        Command::Status { check } => status::run(&context, check),
        Command::Up(args) => {
            schema::refresh_schema_file(&context, !args.dry_run, up::run(&context, &args))
        }
        Command::Down(args) => {
            schema::refresh_schema_file(&context, !args.dry_run, down::run(&context, &args))
        }
        Command::Redo { steps, dry_run } => {
            schema::refresh_schema_file(&context, !dry_run, redo::run(&context, steps, dry_run))
        }
        Command::Complete { version } => {
            schema::refresh_schema_file(&context, true, complete::run(&context, version.as_deref()))
        }
        Command::Abort { version } => {
            schema::refresh_schema_file(&context, true, abort::run(&context, version.as_deref()))
        }
        Command::Validate => validate::run(&context),
        Command::Baseline { version } => baseline::run(&context, &version),
        Command::Adopt(args) => adopt::run(&context, &args),
        Command::Resolve(args) => resolve::run(&context, &args),
        Command::Backfill(args) => backfill::run(&context, &args),
        Command::Lint(args) => lint::run(&context, &args),
        Command::Trace(args) => trace::run(&context, &args),
        Command::Verify(args) => verify::run(&context, &args),
        Command::Drift => drift::run(&context),
        Command::Schema(SchemaCommand::Dump(args)) => schema::dump(&context, &args),
        Command::Explain { .. } => unreachable!("handled above"),
    }
}

/// What every command needs: the settings and the output format.
pub(crate) struct Context {
    pub(crate) settings: Settings,
    pub(crate) format: Format,
}

impl Context {
    /// The dialect of the configured database URL.
    fn dialect(&self) -> Result<Dialect, CliError> {
        database::dialect_of(&self.settings.database_url)
    }

    /// Reads the migrations directory, printing its warnings.
    fn load_migrations(&self) -> Result<MigrationSet, CliError> {
        load_migrations(&self.settings.dir, self.dialect()?, self.settings.layout)
    }

    /// Parses a version given on the command line as the migrations directory's layout writes
    /// it (exit 2 if it is not one).
    fn parse_version(&self, text: &str) -> Result<Version, CliError> {
        let layout = match self.settings.layout {
            Some(layout) => layout,
            // A directory that cannot be read says so when it is loaded.
            None => Layout::of_dir(&self.settings.dir).unwrap_or(Layout::Native),
        };
        layout
            .parse_version(text)
            .map_err(|e| CliError::usage(format!("invalid version {text:?}: {e}")))
    }

    /// Reads the migrations directory while connecting: each takes milliseconds, and every
    /// command needs both. A problem in the directory still wins (exit 2), and a missing
    /// directory is reported before any server is contacted.
    fn open(&self, access: Access) -> Result<(Database, MigrationSet), CliError> {
        let (database, set, ()) = self.open_and_read(access, |_| Ok(()))?;
        Ok((database, set))
    }

    /// [`Context::open`], running `read` on the database as soon as it is connected, while the
    /// directory may still be loading: a no-op deploy or a `status` then costs the longer of the
    /// two, not their sum. `read` must only read (it runs before anything is locked).
    fn open_and_read<T>(
        &self,
        access: Access,
        read: impl FnOnce(&mut Database) -> Result<T, CliError>,
    ) -> Result<(Database, MigrationSet, T), CliError> {
        let dialect = self.dialect()?;
        if !self.settings.dir.is_dir() {
            return Err(self.load_migrations().err().unwrap_or_else(|| {
                CliError::usage(format!(
                    "{} is not a directory",
                    self.settings.dir.display()
                ))
            }));
        }
        let dir = self.settings.dir.clone();
        let layout = self.settings.layout;
        let loading = std::thread::spawn(move || load_migrations(&dir, dialect, layout));
        let database = database::open(&self.settings, access)
            .and_then(|mut database| read(&mut database).map(|value| (database, value)));
        let set = loading
            .join()
            .map_err(|_| CliError::failed("reading the migrations directory failed"))??;
        let (database, value) = database?;
        Ok((database, set, value))
    }

    fn run_options(&self) -> RunOptions {
        RunOptions {
            lock_wait: self.settings.lock_wait,
            out_of_order: self.settings.out_of_order,
            lock_policy: self.settings.lock_policy.clone(),
            applied_by: applied_by(),
            backfill_runner: Some(std::sync::Arc::new(strata_backfill::Engine)),
            ..RunOptions::default()
        }
    }

    /// [`Context::run_options`] for a database no application uses (a scratch database):
    /// expand/contract migrations complete right after their expand.
    fn scratch_run_options(&self) -> RunOptions {
        RunOptions {
            complete_expansions: true,
            ..self.run_options()
        }
    }

    /// Prints the command's JSON document on stdout.
    fn print_json(&self, document: &Value) {
        outln!("{document}");
    }

    fn is_json(&self) -> bool {
        self.format == Format::Json
    }
}

/// Runs `work` with a migrator over the given database and directory, printing events.
fn with_migrator<T>(
    context: &Context,
    database: &mut Database,
    set: &MigrationSet,
    options: RunOptions,
    work: impl FnOnce(&mut Migrator) -> T,
) -> T {
    let mut printer = EventPrinter::new(context.format);
    let mut events = |event: &Event| printer.print(event);
    let mut migrator = Migrator::new(
        database.driver.as_mut(),
        database.splitter.as_ref(),
        set,
        options,
        &mut events,
    );
    work(&mut migrator)
}

/// The history table's rows (none when it does not exist yet), read without the lock.
fn read_history(database: &mut Database) -> Result<Vec<AppliedMigration>, CliError> {
    database.driver.read_history().map_err(|error| {
        CliError::from(strata_core::Error::Driver {
            context: "reading the history table",
            error,
        })
    })
}

/// `user@host (strata x.y.z)`, recorded with every history row.
fn applied_by() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{host} (strata {})", env!("CARGO_PKG_VERSION"))
}

/// The error of a failed `up`/`down`/`redo`; with `--format json` its document lists the
/// migrations the command touched, with their state after the failure.
fn failure_with_statuses(
    context: &Context,
    migrator: &mut Migrator,
    error: strata_core::Error,
) -> CliError {
    let touched: Vec<Version> = match &error {
        strata_core::Error::MigrationFailed {
            version, completed, ..
        } => completed
            .iter()
            .copied()
            .chain(std::iter::once(*version))
            .collect(),
        _ => Vec::new(),
    };
    let document = if context.is_json() {
        let statuses: Vec<_> = migrator
            .status()
            .map(|all| {
                all.into_iter()
                    .filter(|s| touched.contains(&s.version))
                    .collect()
            })
            .unwrap_or_default();
        Some(serde_json::json!({"migrations": crate::report::status_json(&statuses)}))
    } else {
        None
    };
    let cli = CliError::from(error);
    match document {
        Some(document) => cli.with_document(document),
        None => cli,
    }
}

/// `--dry-run` output: every statement that would run, as SQL with comments, or as JSON.
fn print_plan(context: &Context, plan: &strata_core::Plan) {
    if context.is_json() {
        context.print_json(&crate::report::plan_json(plan));
    } else {
        out!("{}", crate::report::plan_text(plan));
    }
}

/// After a run: the migrations it touched, with their new state, as JSON; or `summary`.
fn print_touched(context: &Context, report: &strata_core::RunReport, summary: &str) {
    if context.is_json() {
        context.print_json(
            &serde_json::json!({"migrations": crate::report::status_json(&report.touched)}),
        );
    } else {
        outln!("{summary}");
    }
}

/// `strata complete` and `strata abort`: one phase of the open expand/contract migration (or
/// of `version`), then what it did, and the migration's new state as JSON.
fn run_expand_phase(
    context: &Context,
    version: Option<&str>,
    phase: strata_core::ExpandPhase,
) -> Result<ExitCode, CliError> {
    let version = version.map(|v| context.parse_version(v)).transpose()?;
    let (mut database, set) = context.open(Access::Write)?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            let outcome = match phase {
                strata_core::ExpandPhase::Complete => migrator.complete(version),
                _ => migrator.abort(version),
            }?;
            if context.is_json() {
                let statuses: Vec<_> = migrator
                    .status()?
                    .into_iter()
                    .filter(|s| s.version == outcome.expansion.version)
                    .collect();
                let state = match phase {
                    strata_core::ExpandPhase::Complete => "completed",
                    _ => "aborted",
                };
                let mut expansion =
                    crate::report::expansion_json(&outcome.expansion, outcome.expansion.state);
                expansion["state"] = state.into();
                expansion["execution_ms"] = outcome.execution_ms.into();
                context.print_json(&serde_json::json!({
                    "migrations": crate::report::status_json(&statuses),
                    "expansion": expansion,
                }));
            } else {
                outln!(
                    "{}",
                    crate::report::phase_done_text(&outcome.expansion, phase, outcome.execution_ms)
                );
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// "1 migration", "3 migrations".
fn migrations(n: usize) -> String {
    format!("{n} migration{}", if n == 1 { "" } else { "s" })
}

/// Reads a migrations directory (in `layout`, or the one detected), printing its warnings.
fn load_migrations(
    dir: &std::path::Path,
    dialect: Dialect,
    layout: Option<Layout>,
) -> Result<MigrationSet, CliError> {
    let set = MigrationSet::load_as(dir, dialect, layout).map_err(strata_core::Error::from)?;
    for warning in &set.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(set)
}
