//! `strata status [--check]`.

use std::process::ExitCode;

use serde_json::json;
use strata_core::{BackfillRecord, BackfillState, MigrationState};

use super::{Context, with_migrator};
use crate::error::CliError;
use crate::report::{backfill_json, backfills_text, status_json, status_table};

pub(crate) fn run(context: &Context, check: bool) -> Result<ExitCode, CliError> {
    let (mut database, set) = context.open()?;
    let statuses = with_migrator(context, &mut database, &set, context.run_options(), |m| {
        m.status()
    })?;
    // Left by failed or interrupted concurrent builds: they slow every write and are never used.
    let invalid_indexes = database.driver.invalid_indexes().map_err(|error| {
        CliError::from(strata_core::Error::Driver {
            context: "listing invalid indexes",
            error,
        })
    })?;
    // Running, interrupted and failed backfills; finished ones are history.
    let backfills: Vec<BackfillRecord> = match database.driver.backfill_driver() {
        Some(backfills) => backfills.list_progress().map_err(|error| {
            CliError::from(strata_core::Error::Driver {
                context: "listing backfills",
                error,
            })
        })?,
        None => Vec::new(),
    }
    .into_iter()
    .filter(|b| b.state != BackfillState::Done)
    .collect();
    if context.is_json() {
        context.print_json(&json!({
            "migrations": status_json(&statuses),
            "backfills": backfills.iter().map(backfill_json).collect::<Vec<_>>(),
            "invalid_indexes": invalid_indexes,
        }));
    } else {
        print!("{}", status_table(&statuses));
        if !backfills.is_empty() {
            print!("\n{}", backfills_text(&backfills));
        }
        for index in &invalid_indexes {
            eprintln!(
                "warning: index {index} is INVALID (left by a failed or interrupted concurrent build); \
                 drop it with DROP INDEX CONCURRENTLY, or run `strata up` to rebuild it"
            );
        }
    }
    let all_applied = statuses.iter().all(|s| s.state == MigrationState::Applied);
    Ok(if check && !all_applied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
