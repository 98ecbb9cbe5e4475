//! `strata resolve <version> --applied | --rolled-back`.

use std::process::ExitCode;

use serde_json::json;
use strata_core::Resolution;

use super::{Context, with_migrator};
use crate::args::ResolveArgs;
use crate::database::Access;
use crate::error::CliError;
use crate::output::outln;

pub(crate) fn run(context: &Context, args: &ResolveArgs) -> Result<ExitCode, CliError> {
    let version = context.parse_version(&args.version)?;
    let resolution = if args.applied {
        Resolution::Applied
    } else {
        Resolution::RolledBack
    };
    let (mut database, set) = context.open(Access::Write)?;
    with_migrator(context, &mut database, &set, context.run_options(), |m| {
        m.resolve(version, resolution)
    })?;
    let state = if args.applied { "applied" } else { "pending" };
    if context.is_json() {
        context.print_json(&json!({"version": version.to_string(), "state": state}));
    } else {
        outln!("migration {version} is now recorded as {state}");
    }
    Ok(ExitCode::SUCCESS)
}
