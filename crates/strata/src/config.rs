//! Settings from flags, environment and `strata.toml`, in that order of precedence.
//!
//! Paths in `strata.toml` (`dir`, `sqlite://` paths) resolve from the file's own directory;
//! paths from flags or the environment resolve from the working directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use strata_core::LockPolicy;
use strata_core::source::Layout;

use crate::args::GlobalArgs;
use crate::error::CliError;
use crate::lint::config::LintTable;

/// The file `strata init` writes and every command looks for.
pub(crate) const CONFIG_FILE: &str = "strata.toml";

/// The embedded default: a SQLite file in the working directory.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://strata.db";

/// `strata.toml`. Unknown keys are errors, so a typo never silently falls back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database_url: Option<String>,
    dir: Option<PathBuf>,
    /// How the directory's files are named (`native`, `diesel`, `flyway`); detected when unset.
    layout: Option<Layout>,
    /// A schema snapshot that `up`, `down` and `redo` keep up to date (relative to this file).
    schema_file: Option<PathBuf>,
    out_of_order: Option<bool>,
    lock_wait: Option<String>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    lock_retry_budget: Option<String>,
    lock_retries: Option<u32>,
    /// `[lint]`: target version, small-table threshold, per-rule severities.
    #[serde(default)]
    lint: LintTable,
    /// `[backfill]`: the replicas whose lag `max_lag` waits for.
    #[serde(default)]
    backfill: BackfillTable,
}

/// `[backfill]` in `strata.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackfillTable {
    /// MySQL/MariaDB replica URLs: those servers show replication lag only on the replica, so a
    /// backfill's `max_lag` reads it there.
    #[serde(default)]
    replicas: Vec<String>,
}

/// Where the database URL came from (paths in it resolve relative to `url_base`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) database_url: String,
    /// Directory that a relative `sqlite://` path resolves from.
    pub(crate) url_base: PathBuf,
    pub(crate) dir: PathBuf,
    /// The directory's layout when set (`--layout`, `layout` in `strata.toml`); else detected.
    pub(crate) layout: Option<Layout>,
    /// Where `up`, `down` and `redo` write the schema snapshot after a successful run.
    pub(crate) schema_file: Option<PathBuf>,
    pub(crate) out_of_order: bool,
    pub(crate) lock_wait: Duration,
    pub(crate) lock_policy: LockPolicy,
    pub(crate) lint: LintTable,
    /// MySQL/MariaDB replicas a backfill's `max_lag` reads the lag on (`[backfill] replicas`,
    /// replaced by `strata backfill --replica`).
    pub(crate) replicas: Vec<String>,
    /// The `strata.toml` in use, named by errors in its `[lint]` table.
    pub(crate) config_file: Option<PathBuf>,
}

impl Settings {
    /// Resolves the settings for this invocation.
    pub(crate) fn resolve(global: &GlobalArgs) -> Result<Settings, CliError> {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::usage(format!("cannot read the working directory: {e}")))?;
        let config_path = match &global.config {
            Some(path) => {
                let path = cwd.join(path);
                if !path.is_file() {
                    return Err(CliError::usage(format!(
                        "configuration file {} does not exist",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => find_upward(&cwd, CONFIG_FILE),
        };
        let (file, file_dir) = match &config_path {
            Some(path) => (read_config(path)?, path.parent().unwrap_or(&cwd).to_owned()),
            None => (ConfigFile::default(), cwd.clone()),
        };
        let (database_url, url_base) = match (&global.database_url, file.database_url) {
            (Some(url), _) => (url.clone(), cwd.clone()),
            (None, Some(url)) => (url, file_dir.clone()),
            (None, None) => (DEFAULT_DATABASE_URL.to_owned(), cwd.clone()),
        };
        let dir = match (&global.dir, file.dir) {
            (Some(dir), _) => cwd.join(dir),
            (None, Some(dir)) => file_dir.join(dir),
            (None, None) => cwd.join("migrations"),
        };
        let lock_wait = duration("lock_wait", &global.lock_wait, &file.lock_wait)?
            .unwrap_or(Duration::from_secs(60));
        let defaults = LockPolicy::default();
        let lock_policy = LockPolicy {
            lock_timeout: duration("lock_timeout", &global.lock_timeout, &file.lock_timeout)?
                .unwrap_or(defaults.lock_timeout),
            retry_budget: duration(
                "lock_retry_budget",
                &global.lock_retry_budget,
                &file.lock_retry_budget,
            )?
            .unwrap_or(defaults.retry_budget),
            max_attempts: file.lock_retries.unwrap_or(defaults.max_attempts).max(1),
            statement_timeout: match global
                .statement_timeout
                .as_ref()
                .or(file.statement_timeout.as_ref())
            {
                Some(off) if off == "off" => None,
                Some(_) => duration(
                    "statement_timeout",
                    &global.statement_timeout,
                    &file.statement_timeout,
                )?,
                None => defaults.statement_timeout,
            },
            ..defaults
        };
        Ok(Settings {
            database_url,
            url_base,
            dir: relative_to(&dir, &cwd),
            layout: global.layout.or(file.layout),
            schema_file: file
                .schema_file
                .map(|path| relative_to(&file_dir.join(path), &cwd)),
            out_of_order: file.out_of_order.unwrap_or(false),
            lock_wait,
            lock_policy,
            lint: file.lint,
            replicas: file.backfill.replicas,
            config_file: config_path,
        })
    }
}

/// A duration from the flag, else from `strata.toml` (`50ms`, `2s`, `1m`).
fn duration(
    name: &str,
    flag: &Option<String>,
    file: &Option<String>,
) -> Result<Option<Duration>, CliError> {
    flag.as_ref()
        .or(file.as_ref())
        .map(|text| strata_core::directive::parse_duration(name, text).map_err(CliError::usage))
        .transpose()
}

fn find_upward(start: &Path, name: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn read_config(path: &Path) -> Result<ConfigFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1);
        CliError::usage(format!("{} is not valid: {}", path.display(), e.message()))
            .at(
                path,
                line.map_or(1, |l| u32::try_from(l).unwrap_or(u32::MAX)),
            )
            .with_hint("see `strata init` for the keys strata.toml understands")
    })
}

/// Shows paths under the working directory relative to it, so messages stay short.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_owned(), Path::to_owned)
}

/// The `strata.toml` that `strata init` writes.
pub(crate) fn initial_config() -> String {
    format!(
        "# strata configuration. Flags and the DATABASE_URL environment variable override these.\n\
         \n\
         # postgres://user:password@host:5432/db, or sqlite://PATH (relative to this file).\n\
         database_url = \"{DEFAULT_DATABASE_URL}\"\n\
         \n\
         # Directory of <version>_<name>.up.sql / .down.sql files (relative to this file).\n\
         dir = \"migrations\"\n\
         \n\
         # Apply a pending migration older than the newest applied one instead of refusing.\n\
         out_of_order = false\n\
         \n\
         # How long `up` and `down` wait for another run's migration lock.\n\
         lock_wait = \"60s\"\n\
         \n\
         # PostgreSQL: each attempt to take a table lock waits at most lock_timeout in the queue\n\
         # (so the application never stalls behind a migration for longer); lock timeouts are\n\
         # retried with backoff for up to lock_retry_budget per migration, lock_retries attempts.\n\
         lock_timeout = \"2s\"\n\
         lock_retry_budget = \"30s\"\n\
         lock_retries = 10\n\
         # statement_timeout = \"10m\"   # default off: index builds are long\n\
         \n\
         # MySQL/MariaDB: the replicas whose lag a backfill's max_lag waits for (those servers\n\
         # show replication lag only on the replica; PostgreSQL needs nothing here).\n\
         # [backfill]\n\
         # replicas = [\"mysql://monitor:password@replica1:3306\"]\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_config_parses_and_uses_the_embedded_default() {
        let config: ConfigFile = toml::from_str(&initial_config()).unwrap();
        assert_eq!(config.database_url.as_deref(), Some(DEFAULT_DATABASE_URL));
        assert_eq!(config.dir.as_deref(), Some(Path::new("migrations")));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<ConfigFile>("databse_url = \"x\"").is_err());
        assert!(toml::from_str::<ConfigFile>("[backfill]\nreplica = [\"x\"]").is_err());
    }

    #[test]
    fn backfill_replicas_are_read() {
        let config: ConfigFile =
            toml::from_str("[backfill]\nreplicas = [\"mysql://r1/\", \"mysql://r2/\"]").unwrap();
        assert_eq!(config.backfill.replicas, ["mysql://r1/", "mysql://r2/"]);
        let config: ConfigFile = toml::from_str("").unwrap();
        assert!(config.backfill.replicas.is_empty());
    }
}
