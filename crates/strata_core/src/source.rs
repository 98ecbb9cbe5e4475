//! Reading a migrations directory: `<version>_<name>.up.sql`, optional `<version>_<name>.down.sql`,
//! and up-only `<version>_<name>.sql` (the golang-migrate / sqlx layout).
//!
//! Every problem names the file: two files with one version, a down without its up, a file that
//! is not UTF-8. A directory is loaded completely before anything runs, so a bad file can never
//! leave a run half done.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::Dialect;
use crate::checksum::Checksum;
use crate::directive::{Directives, parse_directives};
use crate::version::{Version, VersionError};

/// One SQL file of a migration, read and checksummed.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub path: PathBuf,
    pub sql: String,
    pub checksum: Checksum,
    pub directives: Directives,
}

/// A migration: its version, its name and its files.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    /// The version's digits as written in the file name (`000001`), for display.
    pub label: String,
    pub name: String,
    pub up: MigrationFile,
    pub down: Option<DownFile>,
}

/// A down file, found when the directory is listed and read on first use: most runs never
/// revert, and a deploy reads every up file (to check the applied ones), so reading every down
/// file too would double the work of each run for nothing.
#[derive(Debug, Clone)]
pub struct DownFile {
    pub path: PathBuf,
    dialect: Dialect,
    loaded: OnceLock<MigrationFile>,
}

impl DownFile {
    fn new(path: PathBuf, dialect: Dialect) -> DownFile {
        DownFile {
            path,
            dialect,
            loaded: OnceLock::new(),
        }
    }

    /// The file, read and checksummed (once); fails like any migration file that cannot be read.
    pub fn load(&self) -> Result<&MigrationFile, SourceError> {
        if let Some(file) = self.loaded.get() {
            return Ok(file);
        }
        let file = read_file(&self.path, self.dialect)?;
        Ok(self.loaded.get_or_init(|| file))
    }
}

impl Migration {
    /// Whether the up file declares that the migration has no down on purpose.
    pub fn is_irreversible(&self) -> bool {
        self.up.directives.irreversible
    }

    /// The down file, read on first use; `None` when the migration has none.
    pub fn down_file(&self) -> Result<Option<&MigrationFile>, SourceError> {
        self.down.as_ref().map(DownFile::load).transpose()
    }
}

/// All migrations of a directory, ordered by version.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    pub dir: PathBuf,
    pub dialect: Dialect,
    pub migrations: Vec<Migration>,
    /// Files that look like migrations but do not follow the naming pattern.
    pub warnings: Vec<String>,
}

/// A problem with the migrations directory or one of its files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("migrations directory {} does not exist (run `strata init`, or pass --dir)", path.display())]
    MissingDirectory { path: PathBuf },
    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot read {}: {cause}", path.display())]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} is not valid UTF-8 (byte {offset}); save it as UTF-8", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{}: {cause}", path.display())]
    BadVersion { path: PathBuf, cause: VersionError },
    #[error("{} and {} have the same version {version}; versions must be unique", first.display(), second.display())]
    DuplicateVersion {
        version: Version,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{} has no up file (expected {})", path.display(), expected.display())]
    DownWithoutUp { path: PathBuf, expected: PathBuf },
    #[error("{}:{line}: {message}", path.display())]
    Directive {
        path: PathBuf,
        line: u32,
        message: String,
    },
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

struct ParsedName<'a> {
    label: &'a str,
    name: &'a str,
    direction: Direction,
}

/// Splits a file name into version digits, name and direction, or `None` if it is not a migration.
fn parse_file_name(file_name: &str) -> Option<ParsedName<'_>> {
    let stem = file_name.strip_suffix(".sql")?;
    let (stem, direction) = if let Some(stem) = stem.strip_suffix(".up") {
        (stem, Direction::Up)
    } else if let Some(stem) = stem.strip_suffix(".down") {
        (stem, Direction::Down)
    } else {
        (stem, Direction::Up)
    };
    let (label, name) = stem.split_once('_')?;
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    Some(ParsedName {
        label,
        name,
        direction,
    })
}

/// Files that sit in migration directories by convention and deserve no warning.
fn is_known_companion(file_name: &str) -> bool {
    file_name == "schema.sql" || file_name.to_ascii_lowercase().starts_with("readme")
}

impl MigrationSet {
    /// Loads every migration in `dir`.
    pub fn load(dir: &Path, dialect: Dialect) -> Result<MigrationSet, SourceError> {
        let entries = fs::read_dir(dir).map_err(|cause| match cause.kind() {
            std::io::ErrorKind::NotFound => SourceError::MissingDirectory {
                path: dir.to_owned(),
            },
            std::io::ErrorKind::NotADirectory => SourceError::NotADirectory {
                path: dir.to_owned(),
            },
            _ => SourceError::Unreadable {
                path: dir.to_owned(),
                cause,
            },
        })?;
        let mut file_names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|cause| SourceError::Unreadable {
                path: dir.to_owned(),
                cause,
            })?;
            if entry
                .file_type()
                .is_ok_and(|t| t.is_file() || t.is_symlink())
                && let Some(name) = entry.file_name().to_str()
            {
                file_names.push(name.to_owned());
            }
        }
        file_names.sort();

        let mut warnings = Vec::new();
        let mut named = Vec::with_capacity(file_names.len());
        for file_name in &file_names {
            if file_name.starts_with('.') {
                continue;
            }
            let Some(parsed) = parse_file_name(file_name) else {
                if file_name.ends_with(".sql") && !is_known_companion(file_name) {
                    warnings.push(format!(
                        "ignoring {}: not named <version>_<name>.up.sql, .down.sql or .sql",
                        dir.join(file_name).display()
                    ));
                }
                continue;
            };
            named.push((dir.join(file_name), parsed));
        }
        let up_paths = named
            .iter()
            .filter(|(_, parsed)| parsed.direction == Direction::Up)
            .map(|(path, _)| path.as_path());
        let mut up_files = read_files(up_paths, dialect).into_iter();

        let mut ups = Vec::new();
        let mut downs = Vec::new();
        for (path, parsed) in named {
            let up_file = match parsed.direction {
                Direction::Up => Some(up_files.next().expect("one read per up file")?),
                Direction::Down => None,
            };
            let version =
                Version::parse(parsed.label).map_err(|cause| SourceError::BadVersion {
                    path: path.clone(),
                    cause,
                })?;
            match up_file {
                Some(file) => ups.push((version, parsed, file)),
                None => downs.push((version, parsed, path)),
            }
        }
        // Sorted vectors rather than maps: a thousand files each, every run. The sorts are
        // stable, so files of one version stay in name order and a duplicate names the earlier
        // file first.
        ups.sort_by_key(|(version, ..)| *version);
        downs.sort_by_key(|(version, ..)| *version);
        let duplicate =
            |version: Version, first: &Path, second: &Path| SourceError::DuplicateVersion {
                version,
                first: first.to_owned(),
                second: second.to_owned(),
            };
        if let Some([(version, _, first), (_, _, second)]) =
            ups.array_windows().find(|[a, b]| a.0 == b.0)
        {
            return Err(duplicate(*version, &first.path, &second.path));
        }
        if let Some([(version, _, first), (_, _, second)]) =
            downs.array_windows().find(|[a, b]| a.0 == b.0)
        {
            return Err(duplicate(*version, first, second));
        }

        let mut downs = downs.into_iter().peekable();
        let mut migrations = Vec::with_capacity(ups.len());
        for (version, parsed, up) in ups {
            if let Some((_, _, orphan)) = downs.next_if(|(v, ..)| *v < version) {
                return Err(orphan_down(dir, &orphan));
            }
            let down = match downs.next_if(|(v, ..)| *v == version) {
                // The down of `<label>_<name>.up.sql` must be `<label>_<name>.down.sql`.
                Some((_, down, path)) if (down.label, down.name) != (parsed.label, parsed.name) => {
                    return Err(orphan_down(dir, &path));
                }
                Some((_, _, path)) => Some(DownFile::new(path, dialect)),
                None => None,
            };
            migrations.push(Migration {
                version,
                label: parsed.label.to_owned(),
                name: parsed.name.to_owned(),
                up,
                down,
            });
        }
        if let Some((_, _, orphan)) = downs.next() {
            return Err(orphan_down(dir, &orphan));
        }
        Ok(MigrationSet {
            dir: dir.to_owned(),
            dialect,
            migrations,
            warnings,
        })
    }

    /// The migration with this version, if any.
    pub fn get(&self, version: Version) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }
}

/// A down file whose version has no up file, or whose up file has another name.
fn orphan_down(dir: &Path, down: &Path) -> SourceError {
    let file_name = down
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    SourceError::DownWithoutUp {
        path: down.to_owned(),
        expected: dir.join(file_name.replace(".down.sql", ".up.sql")),
    }
}

/// Reads and checksums files on every core: a deploy reads every up file (to check the applied
/// ones against their checksums) on each run, so this is most of a no-op `up`.
/// Results come back in the order of `paths`, so the first bad file in name order is the one
/// reported, whatever thread read it.
fn read_files<'a>(
    paths: impl Iterator<Item = &'a Path>,
    dialect: Dialect,
) -> Vec<Result<MigrationFile, SourceError>> {
    let paths: Vec<&Path> = paths.collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if workers < 2 || paths.len() < 64 {
        return paths
            .into_iter()
            .map(|path| read_file(path, dialect))
            .collect();
    }
    let chunk = paths.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let readers: Vec<_> = paths
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|path| read_file(path, dialect))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        readers
            .into_iter()
            .flat_map(|reader| {
                reader
                    .join()
                    .expect("reading a migration file does not panic")
            })
            .collect()
    })
}

fn read_file(path: &Path, dialect: Dialect) -> Result<MigrationFile, SourceError> {
    let bytes = read_small_file(path).map_err(|cause| SourceError::Unreadable {
        path: path.to_owned(),
        cause,
    })?;
    let sql = String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
        path: path.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let sql = match sql.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => sql,
    };
    let directives = parse_directives(&sql, dialect).map_err(|e| SourceError::Directive {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    let checksum = Checksum::of_sql(&sql, dialect);
    Ok(MigrationFile {
        path: path.to_owned(),
        sql,
        checksum,
        directives,
    })
}

/// The bytes of a file expected to be small. Unlike `fs::read`, it does not ask for the file's
/// size first (a `statx` and an `lseek` per file, which a deploy reading thousands of files
/// notices): it reads into a buffer that fits a typical migration and grows it when needed.
fn read_small_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(8 * 1024);
    // Through `Take`, `read_to_end` skips `File`'s size probe and reads until end of file.
    file.take(u64::MAX).read_to_end(&mut bytes)?;
    // Thousands of files are kept: give back the unused part of each buffer.
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// Turns a free-form description into a file-name-safe `snake_case` name.
pub fn migration_file_name(description: &str) -> String {
    let mut name = String::new();
    for c in description.trim().chars() {
        if c.is_alphanumeric() {
            name.extend(c.to_lowercase());
        } else if !name.ends_with('_') && !name.is_empty() {
            name.push('_');
        }
    }
    name.trim_end_matches('_').to_owned()
}

/// Creates the up and down files of a new migration and returns their paths. Refuses to
/// overwrite anything, and refuses a version that already exists in the directory.
pub fn create_migration(
    set: &MigrationSet,
    label: &str,
    description: &str,
) -> Result<(PathBuf, PathBuf), SourceError> {
    let version = Version::parse(label).map_err(|cause| SourceError::BadVersion {
        path: set.dir.join(label),
        cause,
    })?;
    let name = migration_file_name(description);
    let up = set.dir.join(format!("{label}_{name}.up.sql"));
    let down = set.dir.join(format!("{label}_{name}.down.sql"));
    if let Some(existing) = set.get(version) {
        return Err(SourceError::DuplicateVersion {
            version,
            first: existing.up.path.clone(),
            second: up,
        });
    }
    let header = |direction: &str| {
        format!(
            "-- {direction}: {description}\n-- Write the SQL below. Directives such as `-- strata:no-transaction` go before the first statement.\n\n"
        )
    };
    for (path, text) in [(&up, header("up")), (&down, header("down"))] {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
            .map_err(|cause| SourceError::Write {
                path: path.clone(),
                cause,
            })?;
    }
    Ok((up, down))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    #[test]
    fn loads_and_orders_by_numeric_version() {
        let dir = dir_with(&[
            ("10_c.up.sql", b"SELECT 10;"),
            ("9_b.sql", b"SELECT 9;"),
            ("0001_a.up.sql", b"SELECT 1;"),
            ("0001_a.down.sql", b"SELECT -1;"),
            ("schema.sql", b"--"),
            ("notes.sql", b"--"),
            ("README.md", b"x"),
        ]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        let versions: Vec<i64> = set.migrations.iter().map(|m| m.version.as_i64()).collect();
        assert_eq!(versions, vec![1, 9, 10]);
        assert_eq!(set.migrations[0].label, "0001");
        assert!(set.migrations[0].down.is_some());
        assert!(set.migrations[1].down.is_none());
        assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
        assert!(set.warnings[0].contains("notes.sql"));
    }

    #[test]
    fn duplicate_versions_name_both_files() {
        let dir = dir_with(&[("001_a.up.sql", b"SELECT 1;"), ("1_b.up.sql", b"SELECT 1;")]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("001_a.up.sql") && err.contains("1_b.up.sql"),
            "{err}"
        );
    }

    #[test]
    fn down_without_up_is_an_error() {
        let dir = dir_with(&[("2_x.down.sql", b"SELECT 1;")]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, SourceError::DownWithoutUp { .. }));
        assert!(err.to_string().contains("2_x.down.sql"));
        let dir = dir_with(&[("2_x.up.sql", b"SELECT 1;"), ("2_y.down.sql", b"SELECT 1;")]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2_y.down.sql has no up file"), "{err}");
        // A down older than every up, between two ups, and after the last one.
        for orphan in ["1_z.down.sql", "3_z.down.sql", "5_z.down.sql"] {
            let dir = dir_with(&[
                ("2_a.up.sql", b"SELECT 1;"),
                ("2_a.down.sql", b"SELECT 1;"),
                ("4_b.up.sql", b"SELECT 1;"),
                (orphan, b"SELECT 1;"),
            ]);
            let err = MigrationSet::load(dir.path(), Dialect::Postgres)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("{orphan} has no up file")), "{err}");
        }
    }

    #[test]
    fn downs_pair_with_their_ups_and_duplicate_downs_are_named() {
        let dir = dir_with(&[
            ("1_a.up.sql", b"SELECT 1;"),
            ("2_b.up.sql", b"SELECT 2;"),
            ("2_b.down.sql", b"SELECT 3;"),
            ("10_c.up.sql", b"SELECT 4;"),
            ("10_c.down.sql", b"SELECT 5;"),
        ]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        let downs: Vec<(String, Option<String>)> = set
            .migrations
            .iter()
            .map(|m| {
                (
                    m.label.clone(),
                    m.down_file().unwrap().map(|d| d.sql.clone()),
                )
            })
            .collect();
        assert_eq!(
            downs,
            [
                ("1".to_owned(), None),
                ("2".to_owned(), Some("SELECT 3;".to_owned())),
                ("10".to_owned(), Some("SELECT 5;".to_owned())),
            ]
        );
        let dir = dir_with(&[
            ("2_b.up.sql", b"SELECT 2;"),
            ("2_b.down.sql", b"SELECT 3;"),
            ("002_b.down.sql", b"SELECT 3;"),
        ]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("002_b.down.sql and")
                && err.contains("2_b.down.sql have the same version 2"),
            "{err}"
        );
    }

    #[test]
    fn non_utf8_and_missing_directory() {
        let dir = dir_with(&[("1_a.up.sql", b"SELECT '\xff';")]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1_a.up.sql is not valid UTF-8 (byte 8)"),
            "{err}"
        );
        let err = MigrationSet::load(&dir.path().join("nope"), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, SourceError::MissingDirectory { .. }));
    }

    #[test]
    fn bad_directive_names_file_and_line() {
        let dir = dir_with(&[("1_a.up.sql", b"-- x\n-- strata:nope\nSELECT 1;")]);
        let err = MigrationSet::load(dir.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1_a.up.sql:2: unknown directive"), "{err}");
    }

    #[test]
    fn bom_is_stripped_and_too_long_versions_rejected() {
        let dir = dir_with(&[("1_a.up.sql", "\u{feff}SELECT 1;".as_bytes())]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        assert_eq!(set.migrations[0].up.sql, "SELECT 1;");
        let dir = dir_with(&[("1234567890123456789_a.up.sql", b"SELECT 1;")]);
        assert!(matches!(
            MigrationSet::load(dir.path(), Dialect::Postgres),
            Err(SourceError::BadVersion { .. })
        ));
    }

    #[test]
    fn creates_new_migrations_without_overwriting() {
        let dir = dir_with(&[("1_a.up.sql", b"SELECT 1;")]);
        let set = MigrationSet::load(dir.path(), Dialect::Sqlite).unwrap();
        let (up, down) = create_migration(&set, "20240101000000", "Add users table!").unwrap();
        assert!(up.ends_with("20240101000000_add_users_table.up.sql"));
        assert!(down.exists());
        assert!(create_migration(&set, "1", "again").is_err());
    }
}
