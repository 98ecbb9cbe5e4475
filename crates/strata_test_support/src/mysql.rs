//! Throw-away MySQL/MariaDB databases for tests, on the server in `STRATA_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). Like the PostgreSQL ones: unique names,
//! dropped on `Drop`, leftovers of crashed runs dropped after an hour, never skipped.

use crate::{PREFIX, is_leftover, test_database_name};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use tokio::runtime::Runtime;

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
    /// Creates a uniquely named database, after dropping leftovers of crashed runs.
    pub fn create(label: &str) -> MySqlTestDb {
        let mut admin = MySqlSession::connect(&mysql_server_url());
        let existing = admin.query(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{PREFIX}%'"
        ));
        for name in existing
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
        {
            if is_leftover(&name) {
                let _ = admin.try_query(&format!("DROP DATABASE IF EXISTS `{name}`"));
            }
        }
        let name = test_database_name(label);
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
