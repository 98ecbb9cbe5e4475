//! `strata validate`: applied migrations against the files, order, and that every file parses.

use std::process::ExitCode;

use serde_json::json;

use super::{Context, with_migrator};
use crate::database::Access;
use crate::error::CliError;
use crate::output::outln;

pub(crate) fn run(context: &Context) -> Result<ExitCode, CliError> {
    let (mut database, set) = context.open(Access::Read)?;
    let problems = with_migrator(context, &mut database, &set, context.run_options(), |m| {
        m.validate()
    })?;
    if context.is_json() {
        let problems: Vec<_> = problems
            .iter()
            .map(|p| json!({"version": p.version.map(|v| v.to_string()), "message": p.message}))
            .collect();
        context.print_json(&json!({"valid": problems.is_empty(), "problems": problems}));
    } else if problems.is_empty() {
        outln!(
            "ok: {} migrations, the applied ones match their files",
            set.migrations.len()
        );
    } else {
        for problem in &problems {
            outln!("problem: {}", problem.message);
        }
        outln!(
            "\n{} problem{}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
