//! Flyway's layout: versioned migrations `V<version>__<description>.sql` (versions of dotted or
//! underscored parts, `V1.2.3__x.sql`, `V1_2__x.sql`, ordered part by part), undo files
//! `U<version>__<description>.sql` as their downs, and `<file>.sql.conf` sidecars whose
//! `executeInTransaction=false` means `-- strata:no-transaction`.
//!
//! What Flyway would run and strata cannot is an error naming the file, never skipped: repeatable
//! migrations (`R__x.sql`, re-run whenever they change), baseline migrations (`B<version>__x.sql`)
//! and SQL callbacks (`beforeMigrate.sql`, `afterEachMigrate.sql`, ...).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Entry, Listed, Listing, Part, SourceError, is_known_companion};
use crate::version::Version;

/// Flyway's SQL callback events: files named after them run around each migrate.
const CALLBACK_PREFIXES: [&str; 2] = ["before", "after"];

/// What a file name is to Flyway.
enum Kind<'a> {
    Versioned {
        label: &'a str,
        name: &'a str,
    },
    Undo {
        label: &'a str,
    },
    Repeatable,
    Baseline,
    Callback,
    /// A `.sql.conf` sidecar.
    Config,
}

fn classify(file_name: &str) -> Option<Kind<'_>> {
    if file_name.ends_with(".sql.conf") {
        return Some(Kind::Config);
    }
    let stem = file_name.strip_suffix(".sql")?;
    if stem.starts_with("R__") {
        return Some(Kind::Repeatable);
    }
    if CALLBACK_PREFIXES.iter().any(|p| stem.starts_with(p)) {
        return Some(Kind::Callback);
    }
    let prefix = stem.chars().next()?;
    let (label, name) = stem[1..].split_once("__")?;
    let is_version = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    if !is_version {
        return None;
    }
    match prefix {
        'V' => Some(Kind::Versioned { label, name }),
        'U' => Some(Kind::Undo { label }),
        'B' => Some(Kind::Baseline),
        _ => None,
    }
}

/// Whether the entry is a migration file of this layout (for detecting the layout).
pub(super) fn claims(entry: &Entry) -> bool {
    !entry.is_dir
        && matches!(
            classify(&entry.name),
            Some(Kind::Versioned { .. } | Kind::Undo { .. } | Kind::Repeatable | Kind::Baseline)
        )
}

pub(super) fn list(dir: &Path, entries: &[Entry]) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    let mut undos: BTreeMap<Version, PathBuf> = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
        let path = dir.join(&entry.name);
        let unsupported = |message: &str| SourceError::Unsupported {
            path: path.clone(),
            message: message.to_owned(),
        };
        let version_of = |label: &str| {
            Version::parse_dotted(label).map_err(|cause| SourceError::BadVersion {
                path: path.clone(),
                cause,
            })
        };
        match classify(&entry.name) {
            Some(Kind::Versioned { label, name }) => {
                let conf = dir.join(format!("{}.conf", entry.name));
                listing.migrations.push(Listed {
                    version: version_of(label)?,
                    label: label.to_owned(),
                    name: name.to_owned(),
                    up: path.clone(),
                    up_part: Part::Whole,
                    down: None,
                    no_transaction: !read_conf(&conf)?,
                });
            }
            Some(Kind::Undo { label, .. }) => {
                let version = version_of(label)?;
                if let Some(first) = undos.insert(version, path.clone()) {
                    return Err(SourceError::DuplicateVersion {
                        version,
                        first,
                        second: path,
                    });
                }
            }
            Some(Kind::Repeatable) => {
                return Err(unsupported(
                    "repeatable migrations are not supported: strata runs each migration once, in version order; \
                     make it a versioned migration (V<version>__<name>.sql) holding the current definition, or remove it",
                ));
            }
            Some(Kind::Baseline) => {
                return Err(unsupported(
                    "baseline migrations are not supported: adopt the database with `strata baseline <version>` \
                     or `strata adopt`, and keep the versioned migrations",
                ));
            }
            Some(Kind::Callback) => {
                return Err(unsupported(
                    "Flyway callbacks are not supported: strata runs only migrations; move its SQL into a migration, or remove it",
                ));
            }
            // Read with its migration; one without a migration configures nothing.
            Some(Kind::Config) => {}
            None => {
                if entry.name.ends_with(".sql") && !is_known_companion(&entry.name) {
                    listing.warnings.push(format!(
                        "ignoring {}: not named V<version>__<name>.sql or U<version>__<name>.sql",
                        path.display()
                    ));
                }
            }
        }
    }
    listing.migrations.sort_by_key(|m| m.version);
    for (version, path) in undos {
        match listing
            .migrations
            .binary_search_by_key(&version, |m| m.version)
        {
            Ok(index) => {
                let migration = &mut listing.migrations[index];
                migration.down = Some(path);
            }
            Err(_) => {
                let file_name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                return Err(SourceError::DownWithoutUp {
                    expected: dir.join(format!("V{}", &file_name[1..])),
                    path,
                });
            }
        }
    }
    Ok(listing)
}

/// Whether a migration runs in a transaction, by its `.sql.conf` sidecar (`true` without one).
/// Only `executeInTransaction` is understood: any other setting changes what Flyway would do in
/// a way strata cannot follow, so it is an error naming the line.
fn read_conf(path: &Path) -> Result<bool, SourceError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(cause) => {
            return Err(SourceError::Unreadable {
                path: path.to_owned(),
                cause,
            });
        }
    };
    let mut in_transaction = true;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| SourceError::Directive {
            path: path.to_owned(),
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            message,
        };
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| error(format!("expected key=value, got {line:?}")))?;
        match (key, value) {
            ("executeInTransaction", "true") => in_transaction = true,
            ("executeInTransaction", "false") => in_transaction = false,
            ("executeInTransaction", other) => {
                return Err(error(format!(
                    "executeInTransaction is true or false, got {other:?}"
                )));
            }
            (other, _) => {
                return Err(error(format!(
                    "unsupported setting {other:?}: strata understands only executeInTransaction"
                )));
            }
        }
    }
    Ok(in_transaction)
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::source::{Layout, MigrationSet, SourceError};

    fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        dir
    }

    fn load_error(files: &[(&str, &str)]) -> String {
        let dir = fixture(files);
        MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn orders_versions_part_by_part_and_pairs_undos() {
        let dir = fixture(&[
            ("V1.10__ten.sql", "SELECT 10;"),
            ("V1.2__two.sql", "SELECT 2;"),
            ("V1_3__three.sql", "SELECT 3;"),
            ("V1__init.sql", "SELECT 1;"),
            ("U1.2__two.sql", "SELECT -2;"),
            (
                "V2__concurrently.sql",
                "CREATE INDEX CONCURRENTLY i ON t (a);",
            ),
            (
                "V2__concurrently.sql.conf",
                "# sidecar\nexecuteInTransaction=false\n",
            ),
            ("notes.sql", "--"),
        ]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        assert_eq!(set.layout, Layout::Flyway);
        let labels: Vec<&str> = set.migrations.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["1", "1.2", "1_3", "1.10", "2"]);
        let names: Vec<&str> = set.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["init", "two", "three", "ten", "concurrently"]);
        assert_eq!(
            set.migrations[1].down_file().unwrap().unwrap().sql,
            "SELECT -2;"
        );
        assert!(set.migrations[0].down.is_none());
        assert_eq!(set.migrations[4].up.directives.transaction, Some(false));
        assert_eq!(set.migrations[2].version.to_string(), "1.3");
        assert_eq!(
            set.parse_version("1.10").unwrap(),
            set.migrations[3].version
        );
        assert_eq!(set.warnings.len(), 1);
        assert!(set.warnings[0].contains("notes.sql"), "{:?}", set.warnings);
    }

    #[test]
    fn what_flyway_would_run_and_strata_cannot_is_an_error_naming_the_file() {
        let message = load_error(&[("V1__a.sql", "SELECT 1;"), ("R__views.sql", "SELECT 1;")]);
        assert!(
            message.contains("R__views.sql: repeatable migrations are not supported"),
            "{message}"
        );
        let message = load_error(&[("V1__a.sql", "SELECT 1;"), ("B5__base.sql", "SELECT 1;")]);
        assert!(
            message.contains("B5__base.sql: baseline migrations are not supported"),
            "{message}"
        );
        let message = load_error(&[
            ("V1__a.sql", "SELECT 1;"),
            ("beforeMigrate.sql", "SELECT 1;"),
        ]);
        assert!(
            message.contains("beforeMigrate.sql: Flyway callbacks are not supported"),
            "{message}"
        );
        let message = load_error(&[
            ("V1__a.sql", "SELECT 1;"),
            (
                "V1__a.sql.conf",
                "executeInTransaction=false\nencoding=latin1\n",
            ),
        ]);
        assert!(
            message.contains("V1__a.sql.conf:2: unsupported setting \"encoding\""),
            "{message}"
        );
    }

    #[test]
    fn duplicates_orphan_undos_and_bad_versions_name_the_files() {
        let message = load_error(&[("V1__a.sql", "SELECT 1;"), ("V1.0__b.sql", "SELECT 1;")]);
        assert!(
            message.contains("V1.0__b.sql and")
                && message.contains("V1__a.sql have the same version 1"),
            "{message}"
        );
        let dir = fixture(&[("V1__a.sql", "SELECT 1;"), ("U2__b.sql", "SELECT 1;")]);
        let error = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(error, SourceError::DownWithoutUp { .. }));
        assert!(
            error
                .to_string()
                .contains("U2__b.sql has no up file (expected"),
            "{error}"
        );
        assert!(error.to_string().ends_with("V2__b.sql)"), "{error}");
        let message = load_error(&[("V1..2__a.sql", "SELECT 1;")]);
        assert!(
            message.contains("V1..2__a.sql: a dotted version"),
            "{message}"
        );
        let message = load_error(&[("V1__a.sql", "SELECT 1;"), ("1_b.up.sql", "SELECT 1;")]);
        assert!(message.contains("mixes migration layouts"), "{message}");
    }
}
