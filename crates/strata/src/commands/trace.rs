//! `strata trace [<version>|PATH...] [--in-place]`: runs migrations on PostgreSQL statement by
//! statement and reports the locks, rewrites and schema changes each one really makes, with the
//! findings in the linter's terms. The tracing itself is `strata_trace`'s; this file picks the
//! migrations, the database, and the output.
//!
//! Exit codes as for `lint`: 1 when a finding is an error (or a traced statement failed), 2 for
//! usage problems known before any server is contacted.

use std::path::Path;
use std::process::ExitCode;

use strata_core::{Dialect, MigrationSet, MigrationState, Version, migration_states};
use strata_lint::Summary;
use strata_trace::{TraceError, TraceOptions, TraceReport};

use super::Context;
use crate::args::{Format, TraceArgs};
use crate::database::{self, Access};
use crate::error::CliError;
use crate::output::out;

pub(crate) fn run(context: &Context, args: &TraceArgs) -> Result<ExitCode, CliError> {
    if context.dialect()? != Dialect::Postgres {
        return Err(CliError::usage(format!(
            "strata trace runs migrations on PostgreSQL, but the configured database is {}",
            database::redact_url(&context.settings.database_url)
        ))
        .with_hint("pass a postgres:// URL with --database-url, DATABASE_URL or strata.toml"));
    }
    let set = context.load_migrations()?;
    let named = args
        .migrations
        .iter()
        .map(|argument| named_migration(&set, argument))
        .collect::<Result<Vec<_>, _>>()?;
    let config_file = context.settings.config_file.as_deref();
    let options = TraceOptions {
        lock_policy: context.settings.lock_policy.clone(),
        run: context.scratch_run_options(),
        lint: context.settings.lint.to_settings(config_file)?,
    };
    let server = database::pg_target(&context.settings)?;

    let pending = pending_migrations(context, &set)?;
    let traced = if named.is_empty() {
        pending.clone()
    } else {
        named
    };
    if args.in_place
        && let Some(applied) = traced.iter().find(|v| !pending.contains(v))
    {
        return Err(CliError::failed(format!(
            "--in-place traces pending migrations, and {applied} is applied on the configured database"
        ))
        .with_hint("trace it on a scratch database: leave out --in-place"));
    }

    let report = if args.in_place {
        let warn = || {
            if context.format != Format::Json {
                eprintln!(
                    "warning: --in-place: the locks the traced statements take on {} are real and block other sessions while each migration runs; every migration is rolled back (sequence positions excepted)",
                    server.redacted()
                );
            }
        };
        strata_trace::trace_in_place(&server, &set, &traced, &options, warn)
    } else {
        let (scratch, _cleanup) = database::create_pg_scratch(&server)?;
        strata_trace::trace_on_scratch(&server, &scratch, &set, &traced, &options)
    }
    .map_err(trace_error)?;

    let document = document(&report);
    let failed = statement_failed(&report);
    match context.format {
        Format::Json if failed.is_some() => {}
        Format::Json => context.print_json(&document),
        Format::Markdown => out!("{}", strata_trace::render_markdown(&report)),
        _ => out!("{}", strata_trace::render_human(&report, args.verbose)),
    }
    if let Some(error) = failed {
        return Err(error.with_document(document));
    }
    Ok(if Summary::of(&report.diagnostics).errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A version (as the directory's layout writes it) or the path of a migration's up file.
fn named_migration(set: &MigrationSet, argument: &str) -> Result<Version, CliError> {
    if let Ok(version) = set.parse_version(argument) {
        return match set.get(version) {
            Some(_) => Ok(version),
            None => Err(strata_core::Error::UnknownVersion(argument.to_owned()).into()),
        };
    }
    let wanted = Path::new(argument).canonicalize().map_err(|e| {
        CliError::usage(format!("cannot read {argument}: {e}"))
            .with_hint("name migrations by version or by their up file")
    })?;
    set.migrations
        .iter()
        .find(|m| m.up.path.canonicalize().is_ok_and(|path| path == wanted))
        .map(|m| m.version)
        .ok_or_else(|| {
            CliError::usage(format!(
                "{argument} is not the up file of a migration in {}",
                set.dir.display()
            ))
            .with_hint("strata trace runs up files of the migrations directory (--dir)")
        })
}

/// What `strata up` would run on the configured database: pending migrations and a failed one.
fn pending_migrations(context: &Context, set: &MigrationSet) -> Result<Vec<Version>, CliError> {
    let mut database = database::open(&context.settings, Access::Read)?;
    let history = super::read_history(&mut database)?;
    Ok(migration_states(set, &history)
        .into_iter()
        .filter(|(_, state)| matches!(state, MigrationState::Pending | MigrationState::Failed))
        .map(|(version, _)| version)
        .collect())
}

/// `--format json`: the report with the lint summary next to its diagnostics.
fn document(report: &TraceReport) -> serde_json::Value {
    let mut document = serde_json::to_value(report).expect("a trace report serialises");
    document["summary"] =
        serde_json::to_value(Summary::of(&report.diagnostics)).expect("a summary serialises");
    document
}

/// The traced statement that failed, as the error naming its file and line.
fn statement_failed(report: &TraceReport) -> Option<CliError> {
    let (migration, failure) = report.failure()?;
    let mut error = CliError::failed(format!(
        "a traced statement of {} {} failed; the trace stops here",
        migration.version, migration.name
    ))
    .at(Path::new(&migration.file), failure.line);
    let code = failure
        .code
        .as_deref()
        .map_or(String::new(), |code| format!("[{code}] "));
    error.notes.push(format!("{code}{}", failure.message));
    error
        .notes
        .extend(failure.detail.iter().map(|d| format!("detail: {d}")));
    if let Some(hint) = &failure.hint {
        error = error.with_hint(hint.clone());
    }
    Some(error)
}

fn trace_error(error: TraceError) -> CliError {
    match error {
        TraceError::Connect(error) => database::connect_error(error),
        TraceError::Migrations(error) => error.into(),
        expand @ TraceError::ExpandInPlace { .. } => CliError::failed(expand.to_string())
            .with_hint("leave out --in-place: on a scratch database both phases are traced, one after the other"),
        session @ TraceError::Session { .. } => CliError::failed(session.to_string()),
    }
}
