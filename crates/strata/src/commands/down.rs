//! `strata down [--steps N | --to V | --all] [--dry-run]`.

use std::process::ExitCode;

use serde_json::json;
use strata_core::DownTarget;

use super::{Context, parse_version, with_migrator};
use crate::args::DownArgs;
use crate::error::CliError;
use crate::report::{plan_json, plan_text, status_json};

pub(crate) fn run(context: &Context, args: &DownArgs) -> Result<ExitCode, CliError> {
    let target = match (&args.to, args.all, args.steps) {
        (Some(version), _, _) => DownTarget::To(parse_version(version)?),
        (None, true, _) => DownTarget::All,
        (None, false, steps) => DownTarget::Steps(steps.unwrap_or(1)),
    };
    let (mut database, set) = context.open()?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            if args.dry_run {
                let plan = migrator.plan_down(target)?;
                if context.is_json() {
                    context.print_json(&plan_json(&plan));
                } else {
                    print!("{}", plan_text(&plan));
                }
                return Ok(ExitCode::SUCCESS);
            }
            match migrator.down(target) {
                Ok(report) => {
                    if context.is_json() {
                        context.print_json(&json!({"migrations": status_json(&report.touched)}));
                    } else {
                        match report.steps.len() {
                            0 => println!("nothing to revert"),
                            n => {
                                println!("reverted {n} migration{}", if n == 1 { "" } else { "s" })
                            }
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
            }
        },
    )
}
