//! Reading a migrations directory, in whichever layout it was written for ([`Layout`]):
//! strata's own `<version>_<name>.up.sql` / `.down.sql` / `.sql` (the golang-migrate and sqlx
//! layout, with dbmate's single files of `-- migrate:up` and `-- migrate:down` sections),
//! Diesel's `<version>_<name>/up.sql` directories, or Flyway's `V<version>__<name>.sql`.
//!
//! Every problem names the file: two files with one version, a down without its up, a file that
//! is not UTF-8. A directory is loaded completely before anything runs, so a bad file can never
//! leave a run half done. Each layout only lists its migrations ([`Listed`]); reading,
//! checksumming and the checks common to all of them are here.

mod dbmate;
mod diesel;
mod flyway;
mod layout;
mod native;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::Dialect;
use crate::checksum::Checksum;
use crate::directive::{Directives, parse_directives};
use crate::version::{Version, VersionError};

pub use layout::Layout;

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
    /// The version as written in the file name (`000001`, `2024-01-01-000000`, `1.2`), for
    /// display.
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
    part: Part,
    no_transaction: bool,
    loaded: OnceLock<MigrationFile>,
}

impl DownFile {
    fn new(path: PathBuf, dialect: Dialect, part: Part, no_transaction: bool) -> DownFile {
        DownFile {
            path,
            dialect,
            part,
            no_transaction,
            loaded: OnceLock::new(),
        }
    }

    /// The file, read and checksummed (once); fails like any migration file that cannot be read.
    pub fn load(&self) -> Result<&MigrationFile, SourceError> {
        if let Some(file) = self.loaded.get() {
            return Ok(file);
        }
        let (file, _) = read_file(&self.path, self.dialect, self.part, self.no_transaction)?;
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
    /// How the directory's files are named.
    pub layout: Layout,
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
    /// Files of two layouts in one directory: which one is meant cannot be guessed.
    #[error("{} mixes migration layouts: {} is {first_layout}, {} is {second_layout}", dir.display(), first.display(), second.display())]
    MixedLayouts {
        dir: PathBuf,
        first: PathBuf,
        first_layout: Layout,
        second: PathBuf,
        second_layout: Layout,
    },
    /// A file the layout's own tool would run (or use) that strata cannot honour.
    #[error("{}: {message}", path.display())]
    Unsupported { path: PathBuf, message: String },
}

/// Which part of a file a migration file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The whole file.
    Whole,
    /// A plain `.sql` file: the whole file, or the up section of a dbmate file.
    Plain,
    /// The `-- migrate:down` section of a dbmate file.
    DbmateDown,
}

/// A migration as its layout names it, before its up file is read.
#[derive(Debug)]
struct Listed {
    version: Version,
    label: String,
    name: String,
    up: PathBuf,
    up_part: Part,
    down: Option<PathBuf>,
    /// The layout's own "no transaction" setting (Diesel's `metadata.toml`, a Flyway
    /// `.sql.conf`), which means `-- strata:no-transaction`.
    no_transaction: bool,
}

/// What a layout found in a directory.
#[derive(Debug, Default)]
struct Listing {
    migrations: Vec<Listed>,
    warnings: Vec<String>,
}

/// Files that sit in migration directories by convention and deserve no warning.
fn is_known_companion(file_name: &str) -> bool {
    file_name == "schema.sql" || file_name.to_ascii_lowercase().starts_with("readme")
}

/// One entry of a migrations directory.
#[derive(Debug)]
struct Entry {
    name: String,
    is_dir: bool,
}

/// The directory's entries, sorted by name, without hidden ones.
fn list_dir(dir: &Path) -> Result<Vec<Entry>, SourceError> {
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
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|cause| SourceError::Unreadable {
            path: dir.to_owned(),
            cause,
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symlinks: a linked file or directory counts as what it links to.
        let is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        listed.push(Entry { name, is_dir });
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

impl MigrationSet {
    /// Loads every migration in `dir`, in the layout its files are named in.
    pub fn load(dir: &Path, dialect: Dialect) -> Result<MigrationSet, SourceError> {
        MigrationSet::load_as(dir, dialect, None)
    }

    /// Loads every migration in `dir`, in `layout`, or the one its files are named in.
    pub fn load_as(
        dir: &Path,
        dialect: Dialect,
        layout: Option<Layout>,
    ) -> Result<MigrationSet, SourceError> {
        let entries = list_dir(dir)?;
        let layout = match layout {
            Some(layout) => layout,
            None => Layout::detect(dir, &entries)?,
        };
        let Listing {
            migrations: mut listed,
            warnings,
        } = match layout {
            Layout::Native => native::list(dir, &entries)?,
            Layout::Diesel => diesel::list(dir, &entries)?,
            Layout::Flyway => flyway::list(dir, &entries)?,
        };
        // Sorted vectors rather than maps: a thousand files each, every run. The sort is
        // stable, so files of one version stay in name order and a duplicate names the earlier
        // file first.
        listed.sort_by_key(|m| m.version);
        if let Some([first, second]) = listed.array_windows().find(|[a, b]| a.version == b.version)
        {
            return Err(SourceError::DuplicateVersion {
                version: first.version,
                first: first.up.clone(),
                second: second.up.clone(),
            });
        }
        let up_files = read_files(&listed, dialect);
        let mut migrations = Vec::with_capacity(listed.len());
        for (listed, up) in listed.into_iter().zip(up_files) {
            let (up, sectioned) = up?;
            let down = match (&listed.down, sectioned) {
                (Some(path), _) => Some(DownFile::new(
                    path.clone(),
                    dialect,
                    Part::Whole,
                    listed.no_transaction,
                )),
                (None, true) => Some(DownFile::new(
                    listed.up.clone(),
                    dialect,
                    Part::DbmateDown,
                    false,
                )),
                (None, false) => None,
            };
            migrations.push(Migration {
                version: listed.version,
                label: listed.label,
                name: listed.name,
                up,
                down,
            });
        }
        Ok(MigrationSet {
            dir: dir.to_owned(),
            dialect,
            layout,
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

    /// A version as a user (or another tool's history table) writes it for this directory:
    /// digits, a Diesel `2024-01-01-000000`, or a Flyway `1.2.3`.
    pub fn parse_version(&self, text: &str) -> Result<Version, VersionError> {
        self.layout.parse_version(text)
    }
}

/// Reads and checksums the up files on every core: a deploy reads every up file (to check the
/// applied ones against their checksums) on each run, so this is most of a no-op `up`.
/// Results come back in the order of `listed`, so the first bad file in version order is the one
/// reported, whatever thread read it.
fn read_files(
    listed: &[Listed],
    dialect: Dialect,
) -> Vec<Result<(MigrationFile, bool), SourceError>> {
    let read = |m: &Listed| read_file(&m.up, dialect, m.up_part, m.no_transaction);
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if workers < 2 || listed.len() < 64 {
        return listed.iter().map(read).collect();
    }
    let chunk = listed.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let readers: Vec<_> = listed
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || chunk.iter().map(read).collect::<Vec<_>>()))
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

/// Reads one migration file (or its part), and says whether it is a dbmate file of sections.
/// `no_transaction` is the layout's own setting, which a `-- strata:transaction` in the file
/// contradicts.
fn read_file(
    path: &Path,
    dialect: Dialect,
    part: Part,
    no_transaction: bool,
) -> Result<(MigrationFile, bool), SourceError> {
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
    let (sql, sectioned, no_transaction) = match part {
        Part::Whole => (sql, false, no_transaction),
        Part::Plain | Part::DbmateDown => match dbmate::sections(path, &sql)? {
            None => (sql, false, no_transaction),
            Some(sections) if part == Part::Plain => {
                let has_down = sections.down.is_some();
                (sections.up.text, has_down, sections.up.no_transaction)
            }
            Some(sections) => {
                let down = sections.down.unwrap_or_default();
                (down.text, true, down.no_transaction)
            }
        },
    };
    let mut directives = parse_directives(&sql, dialect).map_err(|e| SourceError::Directive {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    if no_transaction {
        if directives.transaction == Some(true) {
            return Err(SourceError::Directive {
                path: path.to_owned(),
                line: directives.transaction_line.unwrap_or(1),
                message: "`-- strata:transaction` contradicts the layout's own setting to run this migration outside a transaction".into(),
            });
        }
        directives.transaction = Some(false);
    }
    let checksum = Checksum::of_sql(&sql, dialect);
    let file = MigrationFile {
        path: path.to_owned(),
        sql,
        checksum,
        directives,
    };
    Ok((file, sectioned))
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

/// Creates the up and down files of a new migration, named in the directory's layout, and
/// returns their paths. Refuses to overwrite anything, and refuses a version that already exists
/// in the directory.
pub fn create_migration(
    set: &MigrationSet,
    label: &str,
    description: &str,
) -> Result<(PathBuf, PathBuf), SourceError> {
    let version = set
        .parse_version(label)
        .map_err(|cause| SourceError::BadVersion {
            path: set.dir.join(label),
            cause,
        })?;
    let name = migration_file_name(description);
    let (up, down) = set.layout.new_paths(&set.dir, label, &name);
    if let Some(parent) = up.parent().filter(|p| *p != set.dir) {
        fs::create_dir(parent).map_err(|cause| SourceError::Write {
            path: parent.to_owned(),
            cause,
        })?;
    }
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
    fn dbmate_files_split_into_up_and_down() {
        let dir = dir_with(&[
            (
                "20240101000000_users.sql",
                b"-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n",
            ),
            (
                "20240102000000_index.sql",
                b"-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON users (id);\n",
            ),
            ("20240103000000_plain.sql", b"SELECT 1;"),
        ]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        assert_eq!(set.layout, Layout::Native);
        let users = &set.migrations[0];
        assert_eq!(
            users.up.sql,
            "-- migrate:up\nCREATE TABLE users (id int);\n\n"
        );
        let down = users.down_file().unwrap().unwrap();
        assert_eq!(down.path, users.up.path);
        assert!(down.sql.ends_with("-- migrate:down\nDROP TABLE users;\n"));
        assert_eq!(
            down.sql.matches('\n').count(),
            5,
            "the down keeps its line numbers"
        );
        assert_ne!(down.checksum, users.up.checksum);
        assert_eq!(set.migrations[1].up.directives.transaction, Some(false));
        assert!(set.migrations[1].down.is_none());
        assert!(set.migrations[2].down.is_none());
        assert_eq!(set.migrations[2].up.sql, "SELECT 1;");
    }

    #[test]
    fn a_forced_layout_reads_only_its_own_files() {
        let dir = dir_with(&[("V1__a.sql", b"SELECT 1;"), ("2_b.up.sql", b"SELECT 2;")]);
        let set =
            MigrationSet::load_as(dir.path(), Dialect::Postgres, Some(Layout::Flyway)).unwrap();
        assert_eq!(set.migrations.len(), 1);
        assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
        assert!(set.warnings[0].contains("2_b.up.sql"));
    }

    #[test]
    fn new_migrations_follow_the_layout() {
        let dir = dir_with(&[("V1__a.sql", b"SELECT 1;")]);
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        let (up, down) = create_migration(&set, "2", "add users").unwrap();
        assert!(up.ends_with("V2__add_users.sql") && down.ends_with("U2__add_users.sql"));
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("2024-01-01-000000_a")).unwrap();
        fs::write(dir.path().join("2024-01-01-000000_a/up.sql"), "SELECT 1;").unwrap();
        let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
        let (up, down) = create_migration(&set, "2024-02-01-000000", "b").unwrap();
        assert!(
            up.ends_with("2024-02-01-000000_b/up.sql")
                && down.ends_with("2024-02-01-000000_b/down.sql")
        );
        assert_eq!(
            MigrationSet::load(dir.path(), Dialect::Postgres)
                .unwrap()
                .migrations
                .len(),
            2
        );
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
