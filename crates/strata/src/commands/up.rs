//! `strata up [--to V] [--dry-run] [--allow-unsafe]`: lints the pending migrations, then applies them.

use std::collections::HashSet;
use std::process::ExitCode;

use serde_json::json;
use strata_core::Version;

use super::{Context, with_migrator};
use crate::args::UpArgs;
use crate::database::Access;
use crate::error::CliError;
use crate::lint::gate::{GateMode, LintGate};
use crate::output::{out, outln};
use crate::report::{plan_json, plan_text, status_json};

pub(crate) fn run(context: &Context, args: &UpArgs) -> Result<ExitCode, CliError> {
    let target = args
        .to
        .as_deref()
        .map(|v| context.parse_version(v))
        .transpose()?;
    let (mut database, set, history) =
        context.open_and_read(Access::unless_dry_run(args.dry_run), super::read_history)?;
    let mut options = context.run_options();
    options.out_of_order |= args.out_of_order;
    options.ignore_modified = args.ignore_modified;
    options.ignore_missing = args.ignore_missing;
    options.complete_expansions = args.complete;
    let mode = GateMode {
        dry_run: args.dry_run,
        allow_unsafe: args.allow_unsafe,
    };
    // Applying records each pending migration's down checksum: read those files on the other
    // core while the linter works. A bad one still stops the run, before anything is applied,
    // when the plan is made.
    let applied: HashSet<Version> = history.iter().map(|row| row.version).collect();
    let lint = std::thread::scope(|scope| {
        scope.spawn(|| {
            for migration in set
                .migrations
                .iter()
                .filter(|m| !applied.contains(&m.version))
            {
                let _ = migration.down_file();
            }
        });
        LintGate::check(context, &mut database, &set, &history, target, mode)
    })?;
    with_migrator(context, &mut database, &set, options, |migrator| {
        if args.dry_run {
            let plan = migrator.plan_up(target)?;
            if context.is_json() {
                context.print_json(&lint.annotate(plan_json(&plan)));
            } else {
                out!("{}", plan_text(&plan));
            }
            return Ok(lint.dry_run_exit_code());
        }
        match migrator.up_given(target, &history) {
            Ok(report) => {
                if context.is_json() {
                    let document = json!({"migrations": status_json(&report.touched)});
                    context.print_json(&lint.annotate(document));
                } else {
                    let applied = report.steps.iter().filter(|s| s.performed).count();
                    match applied {
                        0 if report.steps.is_empty() => {
                            outln!("nothing to apply: the database is up to date")
                        }
                        n => outln!("applied {n} migration{}", if n == 1 { "" } else { "s" }),
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Err(super::failure_with_statuses(context, migrator, error)),
        }
    })
}
