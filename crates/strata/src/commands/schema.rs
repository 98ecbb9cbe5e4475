//! `strata schema dump [-o FILE] [--owners]`, and the schema file that `up`, `down` and `redo`
//! keep up to date when `schema_file` is set in `strata.toml`.

use std::path::Path;
use std::process::ExitCode;

use strata_core::{SchemaSnapshot, SnapshotOptions};

use super::Context;
use crate::args::SchemaDumpArgs;
use crate::database::{self, Access, Database};
use crate::error::CliError;
use crate::output::out;

pub(crate) fn dump(context: &Context, args: &SchemaDumpArgs) -> Result<ExitCode, CliError> {
    let mut database = database::open(&context.settings, Access::Read)?;
    let options = SnapshotOptions {
        include_owners: args.owners,
    };
    let text = snapshot(&mut database, &options)?.to_text();
    match &args.output {
        Some(path) => write_if_changed(path, &text)?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the schema of an open database.
pub(crate) fn snapshot(
    database: &mut Database,
    options: &SnapshotOptions,
) -> Result<SchemaSnapshot, CliError> {
    database.driver.snapshot(options).map_err(|error| {
        strata_core::Error::Driver {
            context: "reading the schema",
            error,
        }
        .into()
    })
}

/// After `up`, `down` or `redo` (`outcome`) that changed the database: rewrites the configured
/// schema file when the command succeeded, so that code review shows each migration's effect
/// on the schema.
pub(crate) fn refresh_schema_file(
    context: &Context,
    changed_database: bool,
    outcome: Result<ExitCode, CliError>,
) -> Result<ExitCode, CliError> {
    let code = outcome?;
    let Some(path) = &context.settings.schema_file else {
        return Ok(code);
    };
    if changed_database && code == ExitCode::SUCCESS {
        let mut database = database::open(&context.settings, Access::Read)?;
        let text = snapshot(&mut database, &SnapshotOptions::default())?.to_text();
        write_if_changed(path, &text)?;
    }
    Ok(code)
}

/// Leaves the file (and its modification time) alone when nothing changed.
fn write_if_changed(path: &Path, text: &str) -> Result<(), CliError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))
}
