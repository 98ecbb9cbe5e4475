//! `strata up [--to V] [--dry-run]`.

use std::process::ExitCode;

use serde_json::json;

use super::{Context, parse_version, with_migrator};
use crate::args::UpArgs;
use crate::error::CliError;
use crate::report::{plan_json, plan_text, status_json};

pub(crate) fn run(context: &Context, args: &UpArgs) -> Result<ExitCode, CliError> {
    let target = args.to.as_deref().map(parse_version).transpose()?;
    let (mut database, set) = context.open()?;
    let mut options = context.run_options();
    options.out_of_order |= args.out_of_order;
    options.ignore_modified = args.ignore_modified;
    options.ignore_missing = args.ignore_missing;
    with_migrator(context, &mut database, &set, options, |migrator| {
        if args.dry_run {
            let plan = migrator.plan_up(target)?;
            if context.is_json() {
                context.print_json(&plan_json(&plan));
            } else {
                print!("{}", plan_text(&plan));
            }
            return Ok(ExitCode::SUCCESS);
        }
        match migrator.up(target) {
            Ok(report) => {
                if context.is_json() {
                    context.print_json(&json!({"migrations": status_json(&report.touched)}));
                } else {
                    let applied = report.steps.iter().filter(|s| s.performed).count();
                    match applied {
                        0 if report.steps.is_empty() => {
                            println!("nothing to apply: the database is up to date")
                        }
                        n => println!("applied {n} migration{}", if n == 1 { "" } else { "s" }),
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
        }
    })
}
