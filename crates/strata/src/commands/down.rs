//! `strata down [--steps N | --to V | --all] [--dry-run]`.

use std::process::ExitCode;

use strata_core::DownTarget;

use super::{Context, migrations, print_plan, print_touched, with_migrator};
use crate::args::DownArgs;
use crate::database::Access;
use crate::error::CliError;

pub(crate) fn run(context: &Context, args: &DownArgs) -> Result<ExitCode, CliError> {
    let target = match (&args.to, args.all, args.steps) {
        (Some(version), _, _) => DownTarget::To(context.parse_version(version)?),
        (None, true, _) => DownTarget::All,
        (None, false, steps) => DownTarget::Steps(steps.unwrap_or(1)),
    };
    let (mut database, set) = context.open(Access::unless_dry_run(args.dry_run))?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            if args.dry_run {
                print_plan(context, &migrator.plan_down(target)?);
                return Ok(ExitCode::SUCCESS);
            }
            match migrator.down(target) {
                Ok(report) => {
                    let summary = match report.steps.len() {
                        0 => "nothing to revert".to_owned(),
                        n => format!("reverted {}", migrations(n)),
                    };
                    print_touched(context, &report, &summary);
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
            }
        },
    )
}
