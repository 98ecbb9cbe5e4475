//! `strata drift`: the live database's schema against the schema its applied migrations give on
//! a scratch database. A difference means someone changed the database outside the migrations.

use std::process::ExitCode;

use serde_json::json;
use strata_core::{Event, MigrationState, Migrator, SnapshotOptions};

use super::schema::snapshot;
use super::{Context, with_migrator};
use crate::database::{self, Access};
use crate::error::CliError;
use crate::output::{out, outln};
use crate::report::{differences_json, differences_text};

pub(crate) fn run(context: &Context) -> Result<ExitCode, CliError> {
    let (mut live, set) = context.open(Access::Read)?;
    let statuses = with_migrator(context, &mut live, &set, context.run_options(), |m| {
        m.status()
    })?;
    let newest_applied = statuses
        .iter()
        .filter(|s| s.history.is_some())
        .map(|s| s.version)
        .max();
    for status in statuses
        .iter()
        .filter(|s| newest_applied.is_some_and(|newest| s.version <= newest))
    {
        let problem = match status.state {
            MigrationState::Applied => continue,
            MigrationState::Modified => {
                eprintln!(
                    "warning: {} ({}) was modified after it was applied; the scratch database runs the file as it is now",
                    status.label, status.name
                );
                continue;
            }
            MigrationState::Pending => "is pending, but later migrations are applied",
            MigrationState::Missing => "is applied, but its file is missing",
            MigrationState::Failed => "stopped part-way",
        };
        return Err(CliError::failed(format!(
            "cannot rebuild the expected schema: {} ({}) {problem}",
            status.label, status.name
        ))
        .with_hint(
            "see `strata status`; drift compares a database whose migrations are all applied",
        ));
    }
    let found = snapshot(&mut live, &SnapshotOptions::default())?;
    drop(live);

    let mut scratch = database::open_scratch(&context.settings)?;
    if let Some(newest) = newest_applied {
        let database = &mut scratch.database;
        let mut quiet = |_: &Event| {};
        Migrator::new(
            database.driver.as_mut(),
            database.splitter.as_ref(),
            &set,
            context.scratch_run_options(),
            &mut quiet,
        )
        .up(Some(newest))?;
    }
    let expected = snapshot(&mut scratch.database, &SnapshotOptions::default())?;
    drop(scratch);

    let diff = found.diff(&expected);
    if context.is_json() {
        context.print_json(&json!({
            "drift": !diff.is_equivalent(),
            "differences": differences_json(&diff.differences),
            "notes": differences_json(&diff.notes),
        }));
    } else if diff.is_equivalent() {
        outln!("no drift: the schema is the one the applied migrations give");
        out!("{}", differences_text(&[], &diff.notes, "  "));
    } else {
        outln!(
            "drift: the schema differs from the one the applied migrations give \
             (- expected but missing, + present but not expected, ~ changed):"
        );
        out!("{}", differences_text(&diff.differences, &diff.notes, "  "));
    }
    Ok(if diff.is_equivalent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
