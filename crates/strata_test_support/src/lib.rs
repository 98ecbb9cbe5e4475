//! Helpers for strata's tests against the real PostgreSQL server.
//!
//! Every test gets its own database with a unique name, dropped when the [`PgTestDb`] is
//! dropped; databases left behind by a crashed test run are dropped by the next run. The server
//! comes from `STRATA_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`). A test
//! that cannot reach it fails with a message saying how to start it: it never skips.

mod mysql;

pub use mysql::{MySqlSession, MySqlTestDb, mysql_server_url};

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Prefix of every test database's name.
const PREFIX: &str = "strata_test_";

/// Test databases older than this are leftovers of a crashed run.
const LEFTOVER_AGE_SECS: u64 = 3600;

/// The maintenance URL of the test server.
pub fn server_url() -> String {
    std::env::var("STRATA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The same server, another database.
pub fn url_for(database: &str) -> String {
    let base = server_url();
    let (without_query, query) = base
        .split_once('?')
        .map_or((base.as_str(), None), |(b, q)| (b, Some(q)));
    let server = without_query
        .rsplit_once('/')
        .map_or(without_query, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// A synchronous session on the test server, for setting up and checking what strata did, or
/// for holding locks while strata runs in another process.
pub struct PgSession {
    runtime: Runtime,
    client: Option<Client>,
    connection: Option<tokio::task::JoinHandle<()>>,
}

impl PgSession {
    /// Connects, panicking with a clear message if the server is unreachable.
    pub fn connect(url: &str) -> PgSession {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (client, connection) = runtime.block_on(tokio_postgres::connect(url, NoTls)).unwrap_or_else(|e| {
            panic!("cannot reach the PostgreSQL test server at {url}: {e}\nstart it with scripts/test-servers (or run scripts/test)")
        });
        let connection = runtime.spawn(async move {
            let _ = connection.await;
        });
        PgSession {
            runtime,
            client: Some(client),
            connection: Some(connection),
        }
    }

    /// Runs SQL (several statements allowed) and returns the rows of every result as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Like [`PgSession::query`], returning the server's error.
    pub fn try_query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, tokio_postgres::Error> {
        let client = self.client.as_ref().expect("connected");
        let messages = self.runtime.block_on(client.simple_query(sql))?;
        Ok(messages
            .into_iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(String::from))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The first column of the first row.
    pub fn scalar(&self, sql: &str) -> Option<String> {
        self.query(sql)
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
    }

    /// This session's backend pid.
    pub fn pid(&self) -> i32 {
        self.scalar("SELECT pg_backend_pid()")
            .and_then(|p| p.parse().ok())
            .expect("pid")
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(connection) = self.connection.take() {
            let _ = self.runtime.block_on(connection);
        }
    }
}

/// A database of its own for one test, dropped (with its connections) when this is dropped.
pub struct PgTestDb {
    name: String,
    admin: PgSession,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `strata_test_<unix time>_<pid>_<n>_<label>`: unique across parallel tests and processes,
/// with its creation time readable by [`is_leftover`].
fn test_database_name(label: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let label: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(20)
        .collect();
    format!(
        "{PREFIX}{now}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        label.to_ascii_lowercase()
    )
}

/// A test database whose embedded creation time is over an hour old: left by a crashed run.
fn is_leftover(name: &str) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let created = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|t| t.parse::<u64>().ok());
    created.is_some_and(|created| now.saturating_sub(created) > LEFTOVER_AGE_SECS)
}

impl PgTestDb {
    /// Creates a uniquely named database, after dropping leftovers of crashed runs.
    pub fn create(label: &str) -> PgTestDb {
        let admin = PgSession::connect(&server_url());
        drop_leftovers(&admin);
        let name = test_database_name(label);
        admin.query(&format!("CREATE DATABASE \"{name}\""));
        PgTestDb { name, admin }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL strata should use for this database.
    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    /// A new session on this database.
    pub fn session(&self) -> PgSession {
        PgSession::connect(&self.url())
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let _ = self.admin.try_query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
    }
}

/// Drops test databases left by crashed runs.
fn drop_leftovers(admin: &PgSession) {
    let rows = admin.query(&format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"
    ));
    for name in rows
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
    {
        if is_leftover(&name) {
            let _ = admin.try_query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_for_replaces_only_the_database() {
        let url = url_for("x");
        assert!(url.ends_with("/x") || url.contains("/x?"), "{url}");
    }

    #[test]
    fn test_database_exists_until_dropped() {
        let db = PgTestDb::create("lifecycle");
        let name = db.name().to_owned();
        assert_eq!(
            db.session().scalar("SELECT current_database()").as_deref(),
            Some(name.as_str())
        );
        drop(db);
        let admin = PgSession::connect(&server_url());
        let count = admin.scalar(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        ));
        assert_eq!(count.as_deref(), Some("0"));
    }
}
