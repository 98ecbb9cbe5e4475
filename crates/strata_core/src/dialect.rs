//! The SQL dialects strata understands. The core never talks to a database, but lexing rules
//! (what is a comment, which quotes exist) differ per dialect, and checksums depend on lexing.

use std::fmt;

/// Which family of SQL a migration directory is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// Block comments nest in PostgreSQL only.
    pub(crate) fn nested_block_comments(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// `# comment` exists in MySQL only (in PostgreSQL `#` is the XOR operator).
    pub(crate) fn hash_comments(self) -> bool {
        matches!(self, Dialect::MySql)
    }

    /// The schema an unqualified name resolves to, when the dialect has a fixed one: `public` in
    /// PostgreSQL, `main` in SQLite. In MySQL the schema is the connection's database, unknown here.
    pub fn default_schema(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("public"),
            Dialect::Sqlite => Some("main"),
            Dialect::MySql => None,
        }
    }

    /// Backslash escapes inside every single-quoted string (MySQL's default mode).
    pub(crate) fn backslash_escapes(self) -> bool {
        matches!(self, Dialect::MySql)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
        })
    }
}
