//! `strata drift`: the live database's schema against the schema its applied migrations give on
//! a scratch database. A difference means someone changed the database outside the migrations.
//! An expand/contract migration that is expanded and not completed is rebuilt the same way on the
//! scratch database (its expand phase only), so its shadow columns, triggers and views are
//! expected, not drift.

use std::process::ExitCode;

use serde_json::json;
use strata_core::{
    AppliedMigration, Event, Expansion, ExpansionState, MigrationState, MigrationStatus, Migrator,
    RunOptions, SnapshotOptions, Version,
};

use super::schema::snapshot;
use super::{Context, with_migrator};
use crate::database::{self, Access};
use crate::error::CliError;
use crate::output::{out, outln};
use crate::report::{differences_json, differences_text};

pub(crate) fn run(context: &Context) -> Result<ExitCode, CliError> {
    let (mut live, set) = context.open(Access::Read)?;
    let (statuses, expansions) =
        with_migrator(context, &mut live, &set, context.run_options(), |m| {
            Ok::<_, strata_core::Error>((m.status()?, m.expansions()?))
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
    let expanded = expanded_migration(&statuses, &expansions, newest_applied)?;
    let found = snapshot(&mut live, &SnapshotOptions::default())?;
    drop(live);

    let mut scratch = database::open_scratch(&context.settings)?;
    let database = &mut scratch.database;
    let mut quiet = |_: &Event| {};
    let mut up = |target: Version, options: RunOptions| {
        Migrator::new(
            database.driver.as_mut(),
            database.splitter.as_ref(),
            &set,
            options,
            &mut quiet,
        )
        .up(Some(target))
        .map(drop)
    };
    match (expanded, newest_applied) {
        (Some(version), _) => {
            if let Some(before) = set.migrations.iter().rfind(|m| m.version < version) {
                up(before.version, context.scratch_run_options())?;
            }
            up(version, context.run_options())?;
        }
        (None, Some(newest)) => up(newest, context.scratch_run_options())?,
        (None, None) => {}
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

/// The expand/contract migration that is expanded and not completed, if one is: the newest
/// applied migration (`up` applies none after it until it completes). One whose complete or
/// abort phase stopped part-way leaves a schema no scratch database rebuilds: refused.
fn expanded_migration(
    statuses: &[MigrationStatus],
    expansions: &[Expansion],
    newest_applied: Option<Version>,
) -> Result<Option<Version>, CliError> {
    let history: Vec<AppliedMigration> =
        statuses.iter().filter_map(|s| s.history.clone()).collect();
    let Some(expansion) = expansions.first() else {
        return Ok(None);
    };
    match expansion.effective_state(&history) {
        ExpansionState::Expanded if Some(expansion.version) == newest_applied => {
            Ok(Some(expansion.version))
        }
        state => Err(CliError::failed(format!(
            "cannot rebuild the expected schema: the expand/contract migration {} ({}) is {}",
            expansion.label,
            expansion.name,
            state.as_str()
        ))
        .with_hint(match state {
            ExpansionState::Completing => "finish it with `strata complete`, then run drift again",
            ExpansionState::Aborting => "finish it with `strata abort`, then run drift again",
            _ => "see `strata status`; drift compares a database whose migrations are all applied",
        })),
    }
}
