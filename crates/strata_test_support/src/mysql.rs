//! Throw-away MySQL/MariaDB databases for tests, on the server in `STRATA_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). Like the PostgreSQL ones: unique names,
//! dropped on `Drop`, leftovers of crashed runs dropped after an hour, never skipped.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use tokio::runtime::Runtime;

const PREFIX: &str = "strata_test_";
const LEFTOVER_AGE_SECS: u64 = 3600;
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The test server's URL.
pub fn mysql_server_url() -> String {
    std::env::var("STRATA_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

fn url_for(database: &str) -> String {
    let base = mysql_server_url();
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    format!("{server}/{database}")
}

/// A synchronous session on the test server.
pub struct MySqlSession {
    runtime: Runtime,
    conn: Option<Conn>,
}

impl MySqlSession {
    pub fn connect(url: &str) -> MySqlSession {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let opts = Opts::from_url(url).expect("test URL");
        let conn = runtime.block_on(Conn::new(opts)).unwrap_or_else(|e| {
            panic!("cannot reach the MySQL/MariaDB test server at {url}: {e}\nstart it with scripts/test-servers (or run scripts/test)")
        });
        MySqlSession {
            runtime,
            conn: Some(conn),
        }
    }

    /// Runs SQL (one statement) and returns its rows as text.
    pub fn query(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn try_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, mysql_async::Error> {
        let conn = self.conn.as_mut().expect("connected");
        let rows: Vec<Row> = self.runtime.block_on(conn.query(sql))?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(text).collect())
            .collect())
    }

    /// This session's connection id (what `PROCESSLIST.ID` and strata's messages show).
    pub fn id(&self) -> u32 {
        self.conn.as_ref().expect("connected").id()
    }
}

impl Drop for MySqlSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.runtime.block_on(conn.disconnect());
        }
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(x) => Some(x.to_string()),
        Value::Double(x) => Some(x.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// A database of its own for one test.
pub struct MySqlTestDb {
    name: String,
    admin: MySqlSession,
}

impl MySqlTestDb {
    pub fn create(label: &str) -> MySqlTestDb {
        let mut admin = MySqlSession::connect(&mysql_server_url());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for row in admin.query(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{PREFIX}%'"
        )) {
            let Some(name) = row.into_iter().next().flatten() else {
                continue;
            };
            let created = name[PREFIX.len()..]
                .split('_')
                .next()
                .and_then(|t| t.parse::<u64>().ok());
            if created.is_some_and(|created| now.saturating_sub(created) > LEFTOVER_AGE_SECS) {
                let _ = admin.try_query(&format!("DROP DATABASE IF EXISTS `{name}`"));
            }
        }
        let label: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(20)
            .collect();
        let name = format!(
            "{PREFIX}{now}_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            label.to_ascii_lowercase()
        );
        admin.query(&format!("CREATE DATABASE `{name}`"));
        MySqlTestDb { name, admin }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    pub fn session(&self) -> MySqlSession {
        MySqlSession::connect(&self.url())
    }
}

impl Drop for MySqlTestDb {
    fn drop(&mut self) {
        let _ = self
            .admin
            .try_query(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}
