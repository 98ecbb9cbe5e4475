//! Which tool's naming a migrations directory follows, and how to tell from its files.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Entry, SourceError, diesel, flyway, native};
use crate::version::{Version, VersionError};

/// How a directory's migrations are named. A directory is read as it is: the layout is detected
/// from its files, or set with `layout` in `strata.toml` (`--layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `<version>_<name>.up.sql`, `.down.sql` and up-only `.sql` (golang-migrate, sqlx), and
    /// dbmate's `<version>_<name>.sql` with `-- migrate:up` and `-- migrate:down` sections.
    Native,
    /// `<version>_<name>/up.sql`, `down.sql` and `metadata.toml` (Diesel).
    Diesel,
    /// `V<version>__<name>.sql` with undo files `U<version>__<name>.sql` (Flyway).
    Flyway,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::Native, Layout::Diesel, Layout::Flyway];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Native => "native",
            Layout::Diesel => "diesel",
            Layout::Flyway => "flyway",
        }
    }

    /// The layout of the files in `dir` (see [`Layout::detect`]).
    pub fn of_dir(dir: &Path) -> Result<Layout, SourceError> {
        Layout::detect(dir, &super::list_dir(dir)?)
    }

    /// The layout of the directory's files: the only one any of them follows, native when none
    /// does (an empty directory). Files of two layouts are an error naming one of each.
    pub(super) fn detect(dir: &Path, entries: &[Entry]) -> Result<Layout, SourceError> {
        let mut found: Option<(Layout, &Entry)> = None;
        for entry in entries {
            let layout = if native::claims(entry) {
                Layout::Native
            } else if diesel::claims(dir, entry) {
                Layout::Diesel
            } else if flyway::claims(entry) {
                Layout::Flyway
            } else {
                continue;
            };
            match found {
                None => found = Some((layout, entry)),
                Some((first, first_entry)) if first != layout => {
                    return Err(SourceError::MixedLayouts {
                        dir: dir.to_owned(),
                        first: dir.join(&first_entry.name),
                        first_layout: first,
                        second: dir.join(&entry.name),
                        second_layout: layout,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(found.map_or(Layout::Native, |(layout, _)| layout))
    }

    /// A version as this layout writes it: digits; Diesel's digits and dashes
    /// (`2024-01-01-000000`); Flyway's dotted parts (`1.2.3`, `1_2`).
    pub fn parse_version(self, text: &str) -> Result<Version, VersionError> {
        match self {
            Layout::Native => Version::parse(text),
            Layout::Diesel => Version::parse(&text.replace('-', "")),
            Layout::Flyway => Version::parse_dotted(text),
        }
    }

    /// The up and down files of a new migration in `dir`.
    pub(super) fn new_paths(self, dir: &Path, label: &str, name: &str) -> (PathBuf, PathBuf) {
        match self {
            Layout::Native => (
                dir.join(format!("{label}_{name}.up.sql")),
                dir.join(format!("{label}_{name}.down.sql")),
            ),
            Layout::Diesel => {
                let migration = dir.join(format!("{label}_{name}"));
                (migration.join("up.sql"), migration.join("down.sql"))
            }
            Layout::Flyway => (
                dir.join(format!("V{label}__{name}.sql")),
                dir.join(format!("U{label}__{name}.sql")),
            ),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Layout {
    type Err = String;

    fn from_str(text: &str) -> Result<Layout, String> {
        Layout::ALL
            .into_iter()
            .find(|layout| layout.as_str() == text)
            .ok_or_else(|| format!("unknown layout {text:?}: expected native, diesel or flyway"))
    }
}
