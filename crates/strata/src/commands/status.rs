//! `strata status [--check]`.

use std::process::ExitCode;

use serde_json::json;
use strata_core::{
    AppliedMigration, BackfillRecord, BackfillState, Expansion, MigrationState, compute_status,
};

use super::Context;
use crate::database::{Access, Database};
use crate::error::CliError;
use crate::output::out;
use crate::report::{
    backfill_json, backfills_text, expansion_json, expansions_text, status_json, status_table,
};

pub(crate) fn run(context: &Context, check: bool) -> Result<ExitCode, CliError> {
    let (_database, set, server) = context.open_and_read(Access::Read, read_state)?;
    let ServerState {
        history,
        invalid_indexes,
        backfills,
        expansions,
    } = server;
    let statuses = compute_status(&set, &history);
    let expansions: Vec<_> = expansions
        .into_iter()
        .map(|e| {
            let state = e.effective_state(&history);
            (e, state)
        })
        .collect();
    if context.is_json() {
        context.print_json(&json!({
            "migrations": status_json(&statuses),
            "backfills": backfills.iter().map(backfill_json).collect::<Vec<_>>(),
            "expansions": expansions.iter().map(|(e, state)| expansion_json(e, *state)).collect::<Vec<_>>(),
            "invalid_indexes": invalid_indexes,
        }));
    } else {
        out!("{}", status_table(&statuses));
        if !backfills.is_empty() {
            out!("\n{}", backfills_text(&backfills));
        }
        if !expansions.is_empty() {
            out!("\n{}", expansions_text(&expansions));
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

/// What `status` reports from the server besides the files.
struct ServerState {
    history: Vec<AppliedMigration>,
    /// Left by failed or interrupted concurrent builds: they slow every write and are never used.
    invalid_indexes: Vec<String>,
    /// Running, interrupted and failed backfills; finished ones are history.
    backfills: Vec<BackfillRecord>,
    /// Expand/contract migrations not yet completed or aborted.
    expansions: Vec<Expansion>,
}

fn read_state(database: &mut Database) -> Result<ServerState, CliError> {
    let failed = |context: &'static str| {
        move |error| CliError::from(strata_core::Error::Driver { context, error })
    };
    let history = super::read_history(database)?;
    let invalid_indexes = database
        .driver
        .invalid_indexes()
        .map_err(failed("listing invalid indexes"))?;
    let backfills = match database.driver.backfill_driver() {
        Some(backfills) => backfills
            .list_progress()
            .map_err(failed("listing backfills"))?,
        None => Vec::new(),
    }
    .into_iter()
    .filter(|b| b.state != BackfillState::Done)
    .collect();
    let expansions = match database.driver.expander() {
        Some(expander) => expander
            .expansions()
            .map_err(failed("listing expand/contract migrations"))?,
        None => Vec::new(),
    };
    Ok(ServerState {
        history,
        invalid_indexes,
        backfills,
        expansions,
    })
}
