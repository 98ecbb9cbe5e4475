//! `strata baseline <version>`: adopt an existing database.

use std::process::ExitCode;

use serde_json::json;

use super::{Context, with_migrator};
use crate::database::Access;
use crate::error::CliError;
use crate::output::outln;

pub(crate) fn run(context: &Context, version: &str) -> Result<ExitCode, CliError> {
    let version = context.parse_version(version)?;
    let (mut database, set) = context.open(Access::Write)?;
    let recorded = with_migrator(context, &mut database, &set, context.run_options(), |m| {
        m.baseline(version)
    })?;
    if context.is_json() {
        let versions: Vec<String> = recorded.iter().map(ToString::to_string).collect();
        context.print_json(&json!({"baselined": versions}));
    } else {
        outln!(
            "recorded {} migration{} up to {version} as applied (not run)",
            recorded.len(),
            if recorded.len() == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
