//! `strata status [--check]`.

use std::process::ExitCode;

use serde_json::json;
use strata_core::MigrationState;

use super::{Context, with_migrator};
use crate::report::{status_json, status_table};

pub(crate) fn run(context: &Context, check: bool) -> Result<ExitCode, crate::error::CliError> {
    let (mut database, set) = context.open()?;
    let statuses = with_migrator(context, &mut database, &set, context.run_options(), |m| {
        m.status()
    })?;
    if context.is_json() {
        context.print_json(&json!({"migrations": status_json(&statuses), "backfills": []}));
    } else {
        print!("{}", status_table(&statuses));
    }
    let all_applied = statuses.iter().all(|s| s.state == MigrationState::Applied);
    Ok(if check && !all_applied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
