//! `sqlite://` URLs.

use std::path::{Path, PathBuf};

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    File(PathBuf),
    Memory,
}

/// A URL that is not a SQLite URL strata understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("not a SQLite URL (expected sqlite://PATH or sqlite::memory:)")]
    NotSqlite,
    #[error("the SQLite URL names no file (expected sqlite://PATH)")]
    EmptyPath,
}

impl SqliteTarget {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`. A relative path resolves
    /// from `base` (the working directory for flags and env, the config file's directory for
    /// `strata.toml`). A `?query` suffix is not part of the path.
    pub fn parse(url: &str, base: &Path) -> Result<SqliteTarget, TargetError> {
        let rest = url.strip_prefix("sqlite:").ok_or(TargetError::NotSqlite)?;
        if rest == ":memory:" || rest == "//:memory:" {
            return Ok(SqliteTarget::Memory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        if path.is_empty() {
            return Err(TargetError::EmptyPath);
        }
        Ok(SqliteTarget::File(base.join(path)))
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            SqliteTarget::File(path) => format!("sqlite://{}", path.display()),
            SqliteTarget::Memory => "sqlite::memory:".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_relative_to_base() {
        let base = Path::new("/work/app");
        assert_eq!(
            SqliteTarget::parse("sqlite://strata.db", base),
            Ok(SqliteTarget::File("/work/app/strata.db".into()))
        );
        assert_eq!(
            SqliteTarget::parse("sqlite:///tmp/x.db", base),
            Ok(SqliteTarget::File("/tmp/x.db".into()))
        );
        assert_eq!(
            SqliteTarget::parse("sqlite:data/x.db?mode=rwc", base),
            Ok(SqliteTarget::File("/work/app/data/x.db".into()))
        );
        assert_eq!(
            SqliteTarget::parse("sqlite::memory:", base),
            Ok(SqliteTarget::Memory)
        );
        assert_eq!(
            SqliteTarget::parse("sqlite://", base),
            Err(TargetError::EmptyPath)
        );
        assert_eq!(
            SqliteTarget::parse("postgres://x", base),
            Err(TargetError::NotSqlite)
        );
    }
}
