//! `strata redo [--steps N]`: down then up, under one lock.

use std::process::ExitCode;

use super::{Context, migrations, print_plan, print_touched, with_migrator};
use crate::database::Access;
use crate::error::CliError;

pub(crate) fn run(context: &Context, steps: usize, dry_run: bool) -> Result<ExitCode, CliError> {
    let (mut database, set) = context.open(Access::unless_dry_run(dry_run))?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            if dry_run {
                print_plan(context, &migrator.plan_redo(steps)?);
                return Ok(ExitCode::SUCCESS);
            }
            match migrator.redo(steps) {
                Ok(report) => {
                    print_touched(
                        context,
                        &report,
                        &format!("redid {}", migrations(report.touched.len())),
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
            }
        },
    )
}
