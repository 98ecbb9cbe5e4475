//! A throw-away project (a migrations directory and a database) on which tests run the real
//! `strata` binary. The same scenarios run on SQLite and PostgreSQL.

#![allow(dead_code, unreachable_pub)]

/// Instantiates scenarios as tests of one backend, in a module of its own.
#[allow(unused_macros)]
macro_rules! on_backend {
    ($module:ident, $backend:ident; $($scenario:ident),* $(,)?) => {
        mod $module {
            $( #[test] fn $scenario() { super::$scenario(super::Backend::$backend) } )*
        }
    };
}

/// Scenarios that hold on every backend.
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        on_backend!(sqlite, Sqlite; $($scenario),*);
        on_backend!(postgres, Postgres; $($scenario),*);
        on_backend!(mysql, MySql; $($scenario),*);
    };
}

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use strata_test_support::{MySqlSession, MySqlTestDb, PgSession, PgTestDb};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

pub struct Project {
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub url: String,
    db: Option<PgTestDb>,
    mysql: Option<MySqlTestDb>,
}

impl Project {
    pub fn new(backend: Backend, label: &str) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("migrations")).expect("migrations dir");
        let (url, db, mysql) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("app.db").display()),
                None,
                None,
            ),
            Backend::Postgres => {
                let db = PgTestDb::create(label);
                (db.url(), Some(db), None)
            }
            Backend::MySql => {
                let db = MySqlTestDb::create(label);
                (db.url(), None, Some(db))
            }
        };
        Project {
            dir,
            backend,
            url,
            db,
            mysql,
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes `migrations/<file>`.
    pub fn migration(&self, file: &str, sql: &str) -> &Self {
        std::fs::write(self.path("migrations").join(file), sql).expect("write migration");
        self
    }

    pub fn remove_migration(&self, file: &str) {
        std::fs::remove_file(self.path("migrations").join(file)).expect("remove migration");
    }

    /// The `strata` binary, run in the project directory against its database.
    pub fn strata(&self) -> Command {
        let mut command = Command::cargo_bin("strata").expect("strata binary");
        command
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env_remove("PGSSLMODE");
        command
    }

    /// Starts `strata` in the background (for crash and concurrency tests), output captured.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"))
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn strata")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.strata().args(args).output().expect("run strata")
    }

    /// Runs with `--format json` and parses stdout (which must be one JSON document).
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let output = self
            .strata()
            .args(args)
            .arg("--format")
            .arg("json")
            .output()
            .expect("run strata");
        (output.status.code().unwrap_or(-1), json_document(&output))
    }

    /// Rows of a query on the project's database, as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self.backend {
            Backend::Postgres => self.session().query(sql),
            Backend::MySql => self.mysql_session().query(sql),
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(self.path("app.db")).expect("open sqlite");
                let mut statement = conn.prepare(sql).expect("prepare");
                let columns = statement.column_count();
                statement
                    .query_map([], |row| {
                        Ok((0..columns)
                            .map(|i| match row.get_ref(i).expect("value") {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                                rusqlite::types::ValueRef::Real(x) => Some(x.to_string()),
                                rusqlite::types::ValueRef::Text(t) => {
                                    Some(String::from_utf8_lossy(t).into_owned())
                                }
                                rusqlite::types::ValueRef::Blob(_) => Some("<blob>".into()),
                            })
                            .collect())
                    })
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows")
            }
        }
    }

    pub fn mysql_session(&self) -> MySqlSession {
        self.mysql.as_ref().expect("a MySQL project").session()
    }

    pub fn session(&self) -> PgSession {
        self.db.as_ref().expect("a PostgreSQL project").session()
    }

    /// User tables (not strata's own), sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'strata_migrations' ORDER BY 1"
            }
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'strata_migrations' ORDER BY 1"
            }
            Backend::MySql => {
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME <> 'strata_migrations' ORDER BY 1"
            }
        };
        self.query(sql)
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect()
    }

    pub fn has_history_table(&self) -> bool {
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT count(*) FROM pg_tables WHERE tablename = 'strata_migrations'"
            }
            Backend::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE name = 'strata_migrations'"
            }
            Backend::MySql => {
                "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'strata_migrations'"
            }
        };
        self.query(sql)[0][0].as_deref() == Some("1")
    }

    /// `(version, state)` of every history row.
    pub fn history(&self) -> Vec<(String, String)> {
        if !self.has_history_table() {
            return Vec::new();
        }
        self.query("SELECT version, state FROM strata_migrations ORDER BY version")
            .into_iter()
            .map(|row| {
                (
                    row[0].clone().unwrap_or_default(),
                    row[1].clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The `state` of each migration in `strata status --format json`.
    pub fn states(&self) -> Vec<(String, String)> {
        let (_, status) = self.json(&["status"]);
        status["migrations"]
            .as_array()
            .expect("migrations array")
            .iter()
            .map(|m| {
                (
                    m["version"].as_str().unwrap().to_owned(),
                    m["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Parses stdout, which must be one JSON document.
pub fn json_document(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Asserts the exit code, showing the output when it differs.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

pub fn states(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(v, s)| ((*v).to_owned(), (*s).to_owned()))
        .collect()
}
