//! `strata backfill FILE | --sql SQL [--name NAME] [--batch N] [--sleep D] [--target D]
//! [--key C,C] [--max-lag D] [--replica URL]...`: the engine of `-- strata:backfill` migrations, ad hoc. The same
//! name resumes the same backfill, so the command can simply be run again after any failure.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use strata_core::directive::{BackfillOptions, parse_directives, parse_duration};
use strata_core::{
    BackfillError, BackfillJob, BackfillRunner, BackfillStatement, Checksum, Event, Statement,
};

use super::Context;
use crate::args::BackfillArgs;
use crate::database::{self, Access};
use crate::error::CliError;
use crate::report::{EventPrinter, backfill_json};

pub(crate) fn run(context: &Context, args: &BackfillArgs) -> Result<ExitCode, CliError> {
    let dialect = context.dialect()?;
    let (sql, path, from_file) = match (&args.file, &args.sql) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let directives = parse_directives(&text, dialect)
                .map_err(|e| CliError::usage(e.message).at(path, e.line))?;
            (
                text,
                Some(path.as_path()),
                directives.backfill.unwrap_or_default(),
            )
        }
        (None, Some(sql)) => (sql.clone(), None, BackfillOptions::default()),
        (None, None) => unreachable!("clap requires FILE or --sql"),
    };
    let options = with_flags(from_file, args)?;
    let statement = single_statement(&sql, path, dialect)?;
    let locate = |error: CliError, offset: usize| match path {
        Some(path) => {
            let line = statement.line
                + u32::try_from(statement.sql[..offset].matches('\n').count()).unwrap_or(0);
            error.at(path, line)
        }
        None => error,
    };
    let parsed = BackfillStatement::parse(&statement.sql, dialect).map_err(|e| {
        locate(CliError::usage(e.message.clone()), e.offset).with_hint(
            "write one UPDATE or DELETE of one table; strata adds the key ranges to its WHERE",
        )
    })?;
    let checksum = Checksum::of_sql(&statement.sql, dialect)
        .as_str()
        .trim_start_matches("v1:sha256:")
        .to_owned();
    let job = BackfillJob {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("backfill_{}", &checksum[..12])),
        statement: parsed,
        options,
        statement_checksum: checksum,
    };
    let mut settings = context.settings.clone();
    if !args.replicas.is_empty() {
        settings.replicas.clone_from(&args.replicas);
    }
    let mut database = database::open(&settings, Access::Write)?;
    let mut printer = EventPrinter::new(context.format);
    let outcome = strata_backfill::Engine.run(
        database.driver.as_mut(),
        &job,
        &context.settings.lock_policy,
        &mut |event: &Event| printer.print(event),
    );
    match outcome {
        Ok(report) => {
            if context.is_json() {
                context.print_json(&json!({
                    "backfill": backfill_json(&report.record),
                    "batches": report.batches,
                    "elapsed_ms": report.elapsed.as_millis(),
                }));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Err(locate(failure(&error), 0)),
    }
}

/// The file's directive options, overridden by the flags given.
fn with_flags(
    mut options: BackfillOptions,
    args: &BackfillArgs,
) -> Result<BackfillOptions, CliError> {
    let duration = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|text| parse_duration(name, text).map_err(CliError::usage))
            .transpose()
    };
    if let Some(batch) = args.batch {
        if batch == 0 {
            return Err(CliError::usage("--batch must be a positive whole number"));
        }
        options.batch = Some(batch);
    }
    options.sleep = duration("--sleep", &args.sleep)?.or(options.sleep);
    options.target = duration("--target", &args.target)?.or(options.target);
    options.max_lag = duration("--max-lag", &args.max_lag)?.or(options.max_lag);
    if let Some(key) = &args.key {
        options.key = Some(key.clone());
    }
    Ok(options)
}

/// The one statement of the text, split as the database would; anything else is refused.
fn single_statement(
    sql: &str,
    path: Option<&Path>,
    dialect: strata_core::Dialect,
) -> Result<Statement, CliError> {
    let at = |error: CliError, line: u32| match path {
        Some(path) => error.at(path, line),
        None => error,
    };
    let mut statements = database::splitter_for(dialect)?
        .split(sql)
        .map_err(|e| at(CliError::usage(e.message), e.line))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(at(CliError::usage("there is no statement to backfill"), 1)),
        _ => Err(at(
            CliError::usage(
                "a backfill is a single UPDATE or DELETE statement; this is a second statement",
            ),
            statements[1].line,
        )),
    }
}

fn failure(error: &BackfillError) -> CliError {
    let cli = CliError::failed(error.to_string());
    match error.hint() {
        Some(hint) => cli.with_hint(hint),
        None => cli,
    }
}
