//! Diesel's layout: one directory per migration, `<version>_<name>/` (`2024-01-01-000000_x`, or
//! `00000000000000_diesel_initial_setup`), with `up.sql`, an optional `down.sql` and an optional
//! `metadata.toml` whose `run_in_transaction = false` means `-- strata:no-transaction`. The
//! version is the digits of the directory's prefix, as Diesel stores it.

use std::fs;
use std::path::Path;

use super::{Entry, Listed, Listing, Part, SourceError};
use crate::version::Version;

/// `metadata.toml`, as Diesel reads it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Metadata {
    run_in_transaction: bool,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            run_in_transaction: true,
        }
    }
}

/// The label (prefix as written) and name of a migration directory, if it is named like one.
fn parse_dir_name(name: &str) -> Option<(&str, &str)> {
    let (label, rest) = name.split_once('_')?;
    let digits = label.bytes().filter(u8::is_ascii_digit).count();
    let valid = digits > 0 && label.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    (valid && !rest.is_empty()).then_some((label, rest))
}

/// Whether the entry is a migration directory of this layout (for detecting the layout).
pub(super) fn claims(dir: &Path, entry: &Entry) -> bool {
    entry.is_dir
        && (parse_dir_name(&entry.name).is_some() || dir.join(&entry.name).join("up.sql").is_file())
}

pub(super) fn list(dir: &Path, entries: &[Entry]) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    for entry in entries {
        let path = dir.join(&entry.name);
        if !entry.is_dir {
            if entry.name.ends_with(".sql") && !super::is_known_companion(&entry.name) {
                listing.warnings.push(format!(
                    "ignoring {}: Diesel migrations are directories <version>_<name>/ with up.sql",
                    path.display()
                ));
            }
            continue;
        }
        let up = path.join("up.sql");
        let has_up = up.is_file();
        let Some((label, name)) = parse_dir_name(&entry.name) else {
            if has_up {
                return Err(SourceError::Unsupported {
                    path,
                    message: "a Diesel migration directory is named <version>_<name>, the version being digits and dashes (2024-01-01-000000_create_users)".into(),
                });
            }
            continue;
        };
        if !has_up {
            return Err(SourceError::Unsupported {
                path,
                message: "this Diesel migration directory has no up.sql".into(),
            });
        }
        let version =
            Version::parse(&label.replace('-', "")).map_err(|cause| SourceError::BadVersion {
                path: path.clone(),
                cause,
            })?;
        let down = path.join("down.sql");
        let metadata = read_metadata(&path.join("metadata.toml"))?;
        listing.migrations.push(Listed {
            version,
            label: label.to_owned(),
            name: name.to_owned(),
            up,
            up_part: Part::Whole,
            down: down.is_file().then_some(down),
            no_transaction: !metadata.run_in_transaction,
        });
    }
    Ok(listing)
}

/// A migration's `metadata.toml`, or the defaults when it has none.
fn read_metadata(path: &Path) -> Result<Metadata, SourceError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Metadata::default());
        }
        Err(cause) => {
            return Err(SourceError::Unreadable {
                path: path.to_owned(),
                cause,
            });
        }
    };
    toml::from_str(&text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        SourceError::Directive {
            path: path.to_owned(),
            line: crate::text::LineIndex::new(&text).line(offset),
            message: format!(
                "{} (metadata.toml takes `run_in_transaction = true|false`)",
                e.message()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::source::{Layout, MigrationSet, SourceError};

    fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn reads_diesel_directories_with_metadata() {
        let dir = fixture(&[
            ("00000000000000_diesel_initial_setup/up.sql", "SELECT 0;"),
            ("00000000000000_diesel_initial_setup/down.sql", "SELECT 0;"),
            (
                "2023-01-02-000000_create_posts/up.sql",
                "CREATE TABLE posts (id int);",
            ),
            (
                "2023-01-01-000000_create_users/up.sql",
                "CREATE TABLE users (id int);",
            ),
            (
                "2023-01-01-000000_create_users/down.sql",
                "DROP TABLE users;",
            ),
            (
                "2023-01-01-000000_create_users/metadata.toml",
                "run_in_transaction = false\n",
            ),
            ("README.md", "x"),
        ]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        assert_eq!(set.layout, Layout::Diesel);
        let found: Vec<(i64, &str, &str, bool)> = set
            .migrations
            .iter()
            .map(|m| {
                (
                    m.version.as_i64(),
                    m.label.as_str(),
                    m.name.as_str(),
                    m.down.is_some(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (0, "00000000000000", "diesel_initial_setup", true),
                (20230101000000, "2023-01-01-000000", "create_users", true),
                (20230102000000, "2023-01-02-000000", "create_posts", false),
            ]
        );
        assert_eq!(set.migrations[1].up.directives.transaction, Some(false));
        assert_eq!(
            set.migrations[1]
                .down_file()
                .unwrap()
                .unwrap()
                .directives
                .transaction,
            Some(false)
        );
        assert_eq!(set.migrations[2].up.directives.transaction, None);
        assert_eq!(
            set.parse_version("2023-01-01-000000").unwrap(),
            set.migrations[1].version
        );
    }

    #[test]
    fn malformed_metadata_names_file_and_line() {
        let dir = fixture(&[
            ("2023-01-01-000000_a/up.sql", "SELECT 1;"),
            (
                "2023-01-01-000000_a/metadata.toml",
                "# settings\nrun_in_transaction = \"no\"\n",
            ),
        ]);
        let message = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("2023-01-01-000000_a/metadata.toml:2: invalid type"),
            "{message}"
        );
        let dir = fixture(&[
            ("2023-01-01-000000_a/up.sql", "SELECT 1;"),
            (
                "2023-01-01-000000_a/metadata.toml",
                "run_in_transactions = false\n",
            ),
        ]);
        let message = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("metadata.toml:1: unknown field"),
            "{message}"
        );
    }

    #[test]
    fn a_contradicting_directive_and_a_missing_up_are_errors() {
        let dir = fixture(&[
            (
                "2023-01-01-000000_a/up.sql",
                "-- strata:transaction\nSELECT 1;",
            ),
            (
                "2023-01-01-000000_a/metadata.toml",
                "run_in_transaction = false",
            ),
        ]);
        let message = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("2023-01-01-000000_a/up.sql:1: `-- strata:transaction` contradicts"),
            "{message}"
        );
        let dir = fixture(&[("2023-01-01-000000_a/down.sql", "SELECT 1;")]);
        let error = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(error, SourceError::Unsupported { .. }));
        assert!(error.to_string().contains("has no up.sql"), "{error}");
    }

    #[test]
    fn duplicate_versions_and_mixed_layouts_name_both() {
        let dir = fixture(&[
            ("2023-01-01-000000_a/up.sql", "SELECT 1;"),
            ("20230101000000_b/up.sql", "SELECT 1;"),
        ]);
        let message = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("2023-01-01-000000_a/up.sql and")
                && message.contains("20230101000000_b/up.sql have the same version 20230101000000"),
            "{message}"
        );
        let dir = fixture(&[
            ("2023-01-01-000000_a/up.sql", "SELECT 1;"),
            ("2_b.up.sql", "SELECT 1;"),
        ]);
        let error = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(error, SourceError::MixedLayouts { .. }), "{error}");
        assert!(
            error.to_string().contains("2023-01-01-000000_a is diesel")
                && error.to_string().contains("2_b.up.sql is native"),
            "{error}"
        );
    }
}
