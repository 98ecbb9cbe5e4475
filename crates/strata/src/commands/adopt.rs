//! `strata adopt [--from TOOL] [--table NAME] [--dry-run]`: take over another tool's history.

use std::process::ExitCode;

use strata_core::ForeignSource;

use super::{Context, with_migrator};
use crate::args::AdoptArgs;
use crate::database::Access;
use crate::error::CliError;
use crate::output::out;

pub(crate) fn run(context: &Context, args: &AdoptArgs) -> Result<ExitCode, CliError> {
    let (mut database, set) = context.open(Access::unless_dry_run(args.dry_run))?;
    with_migrator(
        context,
        &mut database,
        &set,
        context.run_options(),
        |migrator| {
            let source = ForeignSource {
                tool: args.from,
                table: args.table.clone(),
            };
            let report = migrator.adopt(&source, args.dry_run)?;
            if context.is_json() {
                let statuses: Vec<_> = migrator
                    .status()?
                    .into_iter()
                    .filter(|s| report.adopted.iter().any(|a| a.version == s.version))
                    .collect();
                context.print_json(&crate::report::adopt_json(&report, &statuses));
            } else {
                out!("{}", crate::report::adopt_text(&report));
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}
