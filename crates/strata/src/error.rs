//! Errors as the user sees them: one message, the file and line it is about (with the source
//! line), the database's error, and what to do next. Exit code 2 for what is knowable before
//! contacting a server (usage, configuration, the migrations directory), 1 for everything else.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use strata_core::{Error, LockError};

/// An error on its way to stderr, with its exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit_code: u8,
    pub(crate) message: String,
    pub(crate) location: Option<(PathBuf, u32)>,
    /// Further lines: the database's error, detail.
    pub(crate) notes: Vec<String>,
    pub(crate) hint: Option<String>,
    /// With `--format json`, the document still printed on stdout (e.g. what `up` did before
    /// it failed).
    pub(crate) document: Option<serde_json::Value>,
}

impl CliError {
    /// Bad usage or configuration: exit 2.
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError {
            exit_code: 2,
            message: message.into(),
            location: None,
            notes: Vec::new(),
            hint: None,
            document: None,
        }
    }

    /// The operation failed: exit 1.
    pub(crate) fn failed(message: impl Into<String>) -> CliError {
        CliError {
            exit_code: 1,
            ..CliError::usage(message)
        }
    }

    pub(crate) fn at(mut self, path: &Path, line: u32) -> CliError {
        self.location = Some((path.to_owned(), line));
        self
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn with_document(mut self, document: serde_json::Value) -> CliError {
        self.document = Some(document);
        self
    }

    /// The text for stderr, rustc-style.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some((path, line)) = &self.location {
            let _ = writeln!(out, "  --> {}:{line}", path.display());
            if let Some(source) = source_line(path, *line) {
                let width = line.to_string().len();
                let _ = writeln!(out, "{:width$} |", "");
                let _ = writeln!(out, "{line} | {source}");
                let _ = writeln!(out, "{:width$} |", "");
            }
        }
        for note in &self.notes {
            for (i, text) in note.split('\n').enumerate() {
                let _ = writeln!(
                    out,
                    "{} {}",
                    if i == 0 { "  =" } else { "   " },
                    text.trim_start()
                );
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out
    }
}

/// One line of a file, for showing where an error is.
fn source_line(path: &Path, line: u32) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.replace("\r\n", "\n");
    text.split('\n')
        .nth(line.checked_sub(1)? as usize)
        .map(|l| l.trim_end().to_owned())
}

impl From<Error> for CliError {
    fn from(error: Error) -> CliError {
        let hint = error.hint();
        let mut cli = if error.is_usage() {
            CliError::usage(error.to_string())
        } else {
            CliError::failed(error.to_string())
        };
        cli.hint = hint;
        match &error {
            Error::Source(strata_core::SourceError::Directive {
                path,
                line,
                message,
            }) => {
                cli.message = message.clone();
                cli.location = Some((path.clone(), *line));
            }
            Error::Parse {
                path,
                line,
                message,
            } => {
                cli.message = format!("cannot parse {}: {message}", path.display());
                cli.location = Some((path.clone(), *line));
            }
            Error::Script {
                path,
                line,
                message,
                ..
            } => {
                cli.message = message.clone();
                cli.location = Some((path.clone(), *line));
            }
            Error::MigrationFailed {
                label,
                name,
                path,
                statement,
                line,
                error,
                direction,
                completed,
                attempts,
                ..
            } => {
                let what = if *direction == strata_core::Direction::Down {
                    "reverting"
                } else {
                    "migration"
                };
                cli.message = format!(
                    "{what} {label} ({name}) failed{}",
                    statement
                        .map(|n| format!(" at statement {n}"))
                        .unwrap_or_default()
                );
                cli.location = Some((path.clone(), *line));
                cli.notes.push(format!("database error: {error}"));
                if error.lock_not_available {
                    cli.notes.push(format!(
                        "gave up after {attempts} attempt{}: the lock was not free within lock_timeout \
                         and the retry budget ran out",
                        if *attempts == 1 { "" } else { "s" }
                    ));
                    cli.hint = Some(
                        "the sessions named above hold the lock; let them finish (or end them), then run the command again"
                            .into(),
                    );
                }
                for blocker in &error.blockers {
                    cli.notes.push(format!("blocked by {blocker}"));
                }
                if !completed.is_empty() {
                    let versions: Vec<String> = completed.iter().map(ToString::to_string).collect();
                    cli.notes.push(format!(
                        "completed before the failure (still in place): {}",
                        versions.join(", ")
                    ));
                }
            }
            Error::Driver { context, error } => {
                cli.message = format!("{context} failed");
                cli.notes.push(format!("database error: {error}"));
            }
            Error::Lock(LockError::Driver(error)) => {
                cli.message = "taking the migration lock failed".into();
                cli.notes.push(format!("database error: {error}"));
            }
            _ => {}
        }
        cli
    }
}
