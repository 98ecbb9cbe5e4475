//! Picks the driver for a database URL. The only place in the CLI that knows which databases
//! exist; everything else talks to `dyn Driver` (`dyn SchemaDriver` where the schema is read).

use strata_core::{Dialect, DriverError, SchemaDriver, Splitter};
use strata_mysql::{MySqlDriver, MySqlSplitter, MySqlTarget};
use strata_postgres::{
    ConnectError, PgDriver, PgSplitter, PgTarget, ScratchDatabase, ScratchError,
};
use strata_sqlite::{SqliteDriver, SqliteSplitter, SqliteTarget};

use crate::config::Settings;
use crate::error::CliError;
use crate::interrupt::{CleanupOnInterrupt, on_interrupt};

/// An open connection with the splitter for its dialect.
pub(crate) struct Database {
    pub(crate) driver: Box<dyn SchemaDriver>,
    pub(crate) splitter: Box<dyn Splitter>,
}

/// The dialect a URL's scheme names (exit 2 for an unknown scheme).
pub(crate) fn dialect_of(url: &str) -> Result<Dialect, CliError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme {
        "postgres" | "postgresql" => Ok(Dialect::Postgres),
        "mysql" | "mariadb" => Ok(Dialect::MySql),
        "sqlite" => Ok(Dialect::Sqlite),
        _ => Err(CliError::usage(format!(
            "unknown database URL scheme in {}",
            redact_url(url)
        ))
        .with_hint("use postgres://, postgresql://, mysql://, mariadb://, sqlite://PATH or sqlite::memory:")),
    }
}

/// The splitter for a dialect, which needs no connection.
pub(crate) fn splitter_for(dialect: Dialect) -> Result<Box<dyn Splitter>, CliError> {
    match dialect {
        Dialect::Postgres => Ok(Box::new(PgSplitter)),
        Dialect::Sqlite => Ok(Box::new(SqliteSplitter::new())),
        Dialect::MySql => Ok(Box::new(MySqlSplitter)),
    }
}

/// Whether a command may change the database. It matters for SQLite, where opening a file that
/// does not exist would create it: `status` or a dry run must leave nothing behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    /// A command that changes the database unless it is a dry run.
    pub(crate) fn unless_dry_run(dry_run: bool) -> Access {
        if dry_run { Access::Read } else { Access::Write }
    }
}

/// Connects to the configured database.
pub(crate) fn open(settings: &Settings, access: Access) -> Result<Database, CliError> {
    let url = &settings.database_url;
    let dialect = dialect_of(url)?;
    if dialect != Dialect::MySql && !settings.replicas.is_empty() {
        return Err(CliError::usage(
            "backfill replicas are for MySQL and MariaDB, which show replication lag only on the replica",
        )
        .with_hint(
            "remove `replicas` from strata.toml's [backfill] (and --replica): PostgreSQL reads its standbys' lag on the primary, SQLite has none",
        ));
    }
    let driver: Box<dyn SchemaDriver> = match dialect {
        Dialect::Postgres => {
            let target = PgTarget::parse(url).map_err(connect_error)?;
            Box::new(PgDriver::connect(&target).map_err(connect_error)?)
        }
        Dialect::Sqlite => {
            let target = SqliteTarget::parse(url, &settings.url_base)
                .map_err(|e| CliError::usage(format!("{e}: {}", redact_url(url))))?;
            let driver = match access {
                Access::Read => SqliteDriver::open_existing(&target),
                Access::Write => SqliteDriver::open(&target),
            };
            Box::new(driver.map_err(sqlite_open_error)?)
        }
        Dialect::MySql => {
            let target = MySqlTarget::parse(url).map_err(|e| CliError::usage(e.to_string()))?;
            let replicas = settings
                .replicas
                .iter()
                .map(|url| MySqlTarget::parse_server(url))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    CliError::usage(format!("backfill replica: {e}"))
                        .with_hint("a replica is mysql://user:password@host:port or mariadb://...")
                })?;
            Box::new(
                MySqlDriver::connect(&target)
                    .map_err(mysql_connect_error)?
                    .with_replicas(replicas),
            )
        }
    };
    Ok(Database {
        driver,
        splitter: splitter_for(dialect)?,
    })
}

fn sqlite_open_error(error: DriverError) -> CliError {
    let hint = error.hint.clone();
    let cli = CliError::failed(error.message);
    match hint {
        Some(hint) => cli.with_hint(hint),
        None => cli,
    }
}

/// A throw-away database of the configured kind, for `verify` and `drift`: on PostgreSQL a new
/// database on the same server, on SQLite a file in a temporary directory. It is removed when
/// this is dropped (on success, on failure, while unwinding a panic) and on Ctrl-C.
pub(crate) struct Scratch {
    pub(crate) database: Database,
    /// The scratch `ScratchDatabase` or temporary directory, kept for its `Drop`: dropped after
    /// the connection above, before the interrupt guard below.
    _storage: Box<dyn std::any::Any>,
    _cleanup: CleanupOnInterrupt,
}

/// The configured PostgreSQL database's target (exit 2 for a URL that does not parse).
pub(crate) fn pg_target(settings: &Settings) -> Result<PgTarget, CliError> {
    PgTarget::parse(&settings.database_url).map_err(connect_error)
}

/// An empty PostgreSQL database on `server`'s server, dropped when the value is dropped and on
/// Ctrl-C (until the returned guard is dropped).
pub(crate) fn create_pg_scratch(
    server: &PgTarget,
) -> Result<(ScratchDatabase, CleanupOnInterrupt), CliError> {
    let scratch = ScratchDatabase::create(server).map_err(|error| match error {
        ScratchError::Connect(error) => connect_error(error),
        create @ ScratchError::Create { .. } => CliError::failed(create.to_string())
            .with_hint("verify, drift and trace need a user with the CREATEDB privilege"),
    })?;
    let cleanup = on_interrupt(scratch.dropper());
    Ok((scratch, cleanup))
}

/// Creates an empty scratch database next to the configured one and connects to it.
pub(crate) fn open_scratch(settings: &Settings) -> Result<Scratch, CliError> {
    let dialect = dialect_of(&settings.database_url)?;
    let (driver, storage, cleanup): (Box<dyn SchemaDriver>, Box<dyn std::any::Any>, _) =
        match dialect {
            Dialect::Postgres => {
                let (scratch, cleanup) = create_pg_scratch(&pg_target(settings)?)?;
                let driver = scratch.connect().map_err(connect_error)?;
                (
                    Box::new(driver) as Box<dyn SchemaDriver>,
                    Box::new(scratch),
                    cleanup,
                )
            }
            Dialect::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("strata_verify_")
                    .tempdir()
                    .map_err(|e| {
                        CliError::failed(format!("cannot create a scratch directory: {e}"))
                    })?;
                let path = dir.path().to_owned();
                let cleanup = on_interrupt(move || {
                    let _ = std::fs::remove_dir_all(path);
                });
                let target = SqliteTarget::File(dir.path().join("scratch.db"));
                let driver = SqliteDriver::open(&target).map_err(sqlite_open_error)?;
                (
                    Box::new(driver) as Box<dyn SchemaDriver>,
                    Box::new(dir),
                    cleanup,
                )
            }
            Dialect::MySql => {
                let server = MySqlTarget::parse(&settings.database_url)
                    .map_err(|e| CliError::usage(e.to_string()))?;
                let scratch =
                    strata_mysql::ScratchDatabase::create(&server).map_err(
                        |error| match error {
                            strata_mysql::ScratchError::Connect(error) => {
                                mysql_connect_error(error)
                            }
                            create => CliError::failed(create.to_string()).with_hint(
                                "verify and drift need a user allowed to CREATE and DROP databases",
                            ),
                        },
                    )?;
                let cleanup = on_interrupt(scratch.dropper());
                let driver = scratch.connect().map_err(mysql_connect_error)?;
                (
                    Box::new(driver) as Box<dyn SchemaDriver>,
                    Box::new(scratch),
                    cleanup,
                )
            }
        };
    Ok(Scratch {
        database: Database {
            driver,
            splitter: splitter_for(dialect)?,
        },
        _storage: storage,
        _cleanup: cleanup,
    })
}

const UNREACHABLE_HINT: &str = "check that the server is running and the host and port are right";
const LOGIN_HINT: &str = "check the user name and password in the database URL";
const NO_DATABASE_HINT: &str = "create the database first, or fix its name in the URL";
const TLS_HINT: &str = "check sslmode and sslrootcert in the URL";
const URL_HINT: &str = "check the database URL";

fn mysql_connect_error(error: strata_mysql::ConnectError) -> CliError {
    use strata_mysql::ConnectError as E;
    let hint = match &error {
        E::Unreachable { .. } => UNREACHABLE_HINT,
        E::AuthenticationFailed { .. } => LOGIN_HINT,
        E::DatabaseDoesNotExist { .. } => NO_DATABASE_HINT,
        E::Tls { .. } => TLS_HINT,
        _ => URL_HINT,
    };
    connect_failure(&error, error.is_config_error(), hint)
}

pub(crate) fn connect_error(error: ConnectError) -> CliError {
    let hint = match &error {
        ConnectError::Unreachable { .. } => UNREACHABLE_HINT,
        ConnectError::AuthenticationFailed { .. } => LOGIN_HINT,
        ConnectError::DatabaseDoesNotExist { .. } => NO_DATABASE_HINT,
        ConnectError::Tls { .. } => TLS_HINT,
        _ => URL_HINT,
    };
    connect_failure(&error, error.is_config_error(), hint)
}

/// A bad URL is a usage error (exit 2); a server that cannot be reached or refuses, a failure.
fn connect_failure(error: &dyn std::fmt::Display, is_config: bool, hint: &str) -> CliError {
    let cli = if is_config {
        CliError::usage(error.to_string())
    } else {
        CliError::failed(error.to_string())
    };
    cli.with_hint(hint)
}

/// Hides the password of any `scheme://user:password@host` URL.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = redact_query_password(tail);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => format!("{scheme}://{userinfo}@{host}{tail}"),
        },
        None => format!("{scheme}://{authority}{tail}"),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cr@t@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact_url("postgres://app@db/x?password=p&sslmode=require"),
            "postgres://app@db/x?password=***&sslmode=require"
        );
        assert_eq!(redact_url("foo://u:p@h"), "foo://u:***@h");
        assert_eq!(redact_url("sqlite://strata.db"), "sqlite://strata.db");
    }

    #[test]
    fn unknown_scheme_is_a_usage_error() {
        let err = dialect_of("oracle://u:pw@h/db").unwrap_err();
        assert_eq!(err.exit_code, 2);
        assert!(!err.message.contains("pw"), "{}", err.message);
    }
}
