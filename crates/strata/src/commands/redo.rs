//! `strata redo [--steps N]`: down then up, under one lock.

use std::process::ExitCode;

use serde_json::json;

use super::{Context, with_migrator};
use crate::error::CliError;
use crate::report::{plan_json, plan_text, status_json};

pub(crate) fn run(context: &Context, steps: usize, dry_run: bool) -> Result<ExitCode, CliError> {
    let (mut database, set) = context.open()?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            if dry_run {
                let plan = migrator.plan_redo(steps)?;
                if context.is_json() {
                    context.print_json(&plan_json(&plan));
                } else {
                    print!("{}", plan_text(&plan));
                }
                return Ok(ExitCode::SUCCESS);
            }
            match migrator.redo(steps) {
                Ok(report) => {
                    if context.is_json() {
                        context.print_json(&json!({"migrations": status_json(&report.touched)}));
                    } else {
                        println!(
                            "redid {} migration{}",
                            report.touched.len(),
                            if report.touched.len() == 1 { "" } else { "s" }
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
            }
        },
    )
}
