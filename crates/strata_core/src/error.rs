//! The runner's errors. Each names the migration, the file and the line where it can, and says
//! what to do next ([`Error::hint`]); the CLI renders them.

use std::path::PathBuf;

use crate::adopt::AdoptError;
use crate::driver::{DriverError, LockError};
use crate::history::Direction;
use crate::source::SourceError;
use crate::version::Version;

/// Something that stopped a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),

    #[error(transparent)]
    Adopt(#[from] AdoptError),

    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: u32,
        message: String,
    },

    #[error("{}:{line}: {message}", path.display())]
    Script {
        path: PathBuf,
        line: u32,
        message: String,
        hint: String,
    },

    #[error("{context}: {error}")]
    Driver {
        context: &'static str,
        error: DriverError,
    },

    #[error(transparent)]
    Lock(#[from] LockError),

    #[error("migration {label} ({name}) failed{}: {}:{line}: {error}",
        statement.map(|n| format!(" at statement {n}")).unwrap_or_default(), path.display())]
    MigrationFailed {
        version: Version,
        label: String,
        name: String,
        direction: Direction,
        path: PathBuf,
        /// 1-based statement number, when one statement failed.
        statement: Option<usize>,
        line: u32,
        error: DriverError,
        /// Whether the statements before the failure stay applied (run outside a transaction).
        partial: bool,
        /// Migrations completed by this command before the failure.
        completed: Vec<Version>,
        /// Attempts made (more than one when lock timeouts were retried).
        attempts: u32,
    },

    #[error(
        "applied migrations differ from the files: {}",
        describe_changes(modified, missing)
    )]
    ChangedHistory {
        modified: Vec<(Version, PathBuf)>,
        missing: Vec<(Version, String)>,
    },

    #[error("pending migration {} is older than the newest applied migration {newest_applied} ({newest_name})", pending_path.display())]
    OutOfOrder {
        pending: Version,
        pending_path: PathBuf,
        newest_applied: Version,
        newest_name: String,
    },

    #[error("unknown version {0}: no migration file or history row has it")]
    UnknownVersion(String),

    #[error("cannot revert: {}", .0.iter().map(|(v, why)| format!("{v} {why}")).collect::<Vec<_>>().join("; "))]
    NotReversible(Vec<(Version, String)>),

    #[error("cannot resume migration {version} ({}): {reason}", path.display())]
    ResumeRefused {
        version: Version,
        path: PathBuf,
        reason: String,
    },

    #[error("migration {version} is {state}, not failed: there is nothing to resolve")]
    NotFailed {
        version: Version,
        state: &'static str,
    },

    #[error(
        "migration {version} stopped part-way while running its down file; settle it with `strata resolve` first"
    )]
    DownInterrupted { version: Version },

    /// An expand/contract migration is in a state that does not allow the command.
    #[error("{message}")]
    Expansion { message: String, hint: String },
}

/// The changed migrations, the first few by name: a directory pointed at the wrong place can
/// make every applied migration "missing", and a thousand-item line helps nobody.
fn describe_changes(modified: &[(Version, PathBuf)], missing: &[(Version, String)]) -> String {
    const SHOWN: usize = 10;
    let modified = modified
        .iter()
        .map(|(v, path)| format!("{v} modified ({})", path.display()));
    let missing = missing
        .iter()
        .map(|(v, name)| format!("{v} ({name}) missing"));
    let mut parts: Vec<String> = modified.chain(missing).collect();
    if parts.len() > SHOWN {
        let more = parts.len() - SHOWN;
        parts.truncate(SHOWN);
        parts.push(format!("and {more} more (see `strata status`)"));
    }
    parts.join(", ")
}

impl Error {
    /// Whether the error is about usage or configuration, knowable before contacting a server
    /// (the CLI exits 2 for these, 1 for everything else).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Source(_) | Error::UnknownVersion(_))
    }

    /// What the user can do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Source(SourceError::MissingDirectory { .. }) => "create it with `strata init`, or point --dir at your migrations".into(),
            Error::Parse { .. } => "fix the SQL; nothing was run".into(),
            Error::Script { hint, .. } => hint.clone(),
            Error::Lock(LockError::Timeout { .. }) => {
                "another deployment is running migrations; wait for it, or raise `lock_wait` in strata.toml / --lock-wait".into()
            }
            Error::MigrationFailed { partial: true, version, statement, .. } => format!(
                "the statements before {} stay applied; fix the file (or the database) and run `strata up` again to resume at statement {}, \
                 or settle it by hand with `strata resolve {version} --applied|--rolled-back`",
                statement.map_or("the failure".to_owned(), |n| format!("statement {n}")),
                statement.unwrap_or(1),
            ),
            Error::MigrationFailed { .. } => "its transaction was rolled back, so nothing of it was applied; fix it and run the command again".into(),
            Error::ChangedHistory { .. } => {
                "restore the files as they were applied (see `strata status`), or pass --ignore-modified / --ignore-missing if this is intended".into()
            }
            Error::OutOfOrder { .. } => {
                "renumber the migration after the newest applied one, or apply it anyway with --out-of-order (or `out_of_order = true` in strata.toml)".into()
            }
            Error::UnknownVersion(_) => "see `strata status` for the known versions".into(),
            Error::NotReversible(_) => "write the missing down files; nothing was reverted".into(),
            Error::ResumeRefused { version, .. } => format!(
                "check the database by hand, then settle the migration with `strata resolve {version} --applied` or `--rolled-back`"
            ),
            Error::DownInterrupted { version } => format!("run `strata resolve {version} --applied` or `--rolled-back` after checking the database"),
            Error::Expansion { hint, .. } => hint.clone(),
            Error::Adopt(error) => error.hint(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(count: i64) -> Vec<(Version, String)> {
        (1..=count)
            .map(|v| (Version::from_i64(v), format!("t{v}")))
            .collect()
    }

    #[test]
    fn a_few_changes_are_all_named() {
        let modified = vec![(Version::from_i64(7), PathBuf::from("m/7_a.up.sql"))];
        assert_eq!(
            describe_changes(&modified, &missing(2)),
            "7 modified (m/7_a.up.sql), 1 (t1) missing, 2 (t2) missing"
        );
    }

    #[test]
    fn many_changes_name_the_first_ten_and_count_the_rest() {
        let text = describe_changes(&[], &missing(1000));
        assert!(
            text.starts_with("1 (t1) missing, 2 (t2) missing,"),
            "{text}"
        );
        assert!(text.contains("10 (t10) missing"), "{text}");
        assert!(!text.contains("11 (t11)"), "{text}");
        assert!(
            text.ends_with("and 990 more (see `strata status`)"),
            "{text}"
        );
    }
}
