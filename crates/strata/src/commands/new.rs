//! `strata new <name>`: creates the up and down files of a new migration.

use std::process::ExitCode;

use strata_core::source::{Layout, create_migration, migration_file_name};

use super::Context;
use crate::error::CliError;
use crate::output::outln;

pub(crate) fn run(context: &Context, description: &str) -> Result<ExitCode, CliError> {
    if migration_file_name(description).is_empty() {
        return Err(CliError::usage(
            "give the migration a name, e.g. `strata new add users email`",
        ));
    }
    let set = context.load_migrations()?;
    let now = chrono::Utc::now();
    let timestamp = now.format("%Y%m%d%H%M%S").to_string();
    let label = match set.layout {
        Layout::Native => next_label(&set, timestamp),
        Layout::Diesel => now.format("%Y-%m-%d-%H%M%S").to_string(),
        Layout::Flyway => next_flyway_label(&set, timestamp),
    };
    let (up, down) =
        create_migration(&set, &label, description).map_err(strata_core::Error::from)?;
    outln!("{}", up.display());
    outln!("{}", down.display());
    Ok(ExitCode::SUCCESS)
}

/// The new version: the current UTC time `YYYYMMDDHHMMSS`, or, in a directory numbered
/// sequentially (`000001`, `000002`), the next number in the same width. Always newer than every
/// existing migration, so a new file is never out of order.
fn next_label(set: &strata_core::MigrationSet, timestamp: String) -> String {
    let Some(newest) = set.migrations.last() else {
        return timestamp;
    };
    let next = newest.version.as_i64() + 1;
    if newest.label.len() < timestamp.len() {
        return format!("{next:0width$}", width = newest.label.len());
    }
    let now: i64 = timestamp.parse().unwrap_or(0);
    if now >= next {
        timestamp
    } else {
        next.to_string()
    }
}

/// A Flyway directory's new version: the next major number (`V3` after `V2` or `V2.1`), or the
/// current UTC time in a directory of timestamps.
fn next_flyway_label(set: &strata_core::MigrationSet, timestamp: String) -> String {
    let Some(newest) = set.migrations.last() else {
        return "1".to_owned();
    };
    let major = newest.label.split(['.', '_']).next().unwrap_or_default();
    match major.parse::<i64>() {
        Ok(major) if major.to_string().len() < timestamp.len() => (major + 1).to_string(),
        _ => timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::{Dialect, MigrationSet};

    fn set_with(files: &[&str]) -> (tempfile::TempDir, MigrationSet) {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), "SELECT 1;").unwrap();
        }
        let set = MigrationSet::load(dir.path(), Dialect::Sqlite).unwrap();
        (dir, set)
    }

    #[test]
    fn continues_sequential_numbering() {
        let (_dir, set) = set_with(&["000001_a.up.sql", "000002_b.up.sql"]);
        assert_eq!(next_label(&set, "20240101000000".into()), "000003");
    }

    #[test]
    fn uses_the_timestamp_unless_a_newer_version_exists() {
        let (_dir, set) = set_with(&[]);
        assert_eq!(next_label(&set, "20240101000000".into()), "20240101000000");
        let (_dir, set) = set_with(&["20240101000000_a.up.sql"]);
        assert_eq!(next_label(&set, "20240101000000".into()), "20240101000001");
        assert_eq!(next_label(&set, "20250101000000".into()), "20250101000000");
    }

    #[test]
    fn flyway_directories_continue_their_major_number() {
        let (_dir, set) = set_with(&[]);
        assert_eq!(next_flyway_label(&set, "20240101000000".into()), "1");
        let (_dir, set) = set_with(&["V1__a.sql", "V2.1__b.sql"]);
        assert_eq!(next_flyway_label(&set, "20240101000000".into()), "3");
        let (_dir, set) = set_with(&["V20230101000000__a.sql"]);
        assert_eq!(
            next_flyway_label(&set, "20240101000000".into()),
            "20240101000000"
        );
    }
}
