//! MySQL and MariaDB online DDL as data: the cheapest algorithm InnoDB can use for each kind of
//! `ALTER TABLE` change, per server flavour and version.
//!
//! `INSTANT` only edits the data dictionary; `INPLACE` works inside InnoDB and lets reads and writes go on
//! (apart from short metadata locks at the start and the end); `COPY` builds a new table row by row while
//! writes to the old one wait for the whole copy. Sources: the MySQL 8.0/8.4 reference manual, "Online DDL
//! Operations", and the MariaDB knowledge base, "InnoDB Online DDL Operations with the INSTANT / INPLACE
//! Alter Algorithm". Servers from before online DDL (MySQL 5.5, MariaDB 5.5) copy for everything, which is
//! what an operation without a row for the version gets.

use std::fmt;

/// Which server: the two diverged after MySQL 5.5 and version their online DDL separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MySqlFlavor {
    MySql,
    MariaDb,
}

/// A target server version: flavour and `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MySqlVersion {
    pub flavor: MySqlFlavor,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// MySQL version assumed when none is given or connected (CLI contract, "Default server versions").
pub const DEFAULT_MYSQL_VERSION: MySqlVersion = MySqlVersion::new(MySqlFlavor::MySql, 8, 4, 0);
/// MariaDB version assumed for a `mariadb://` URL when none is given or connected.
pub const DEFAULT_MARIADB_VERSION: MySqlVersion =
    MySqlVersion::new(MySqlFlavor::MariaDb, 10, 11, 0);

impl MySqlVersion {
    pub const fn new(flavor: MySqlFlavor, major: u32, minor: u32, patch: u32) -> Self {
        MySqlVersion {
            flavor,
            major,
            minor,
            patch,
        }
    }

    /// Reads a version as users write it (`8.0.29`, `8.4`, `10.11-mariadb`) or as `SELECT VERSION()`
    /// returns it (`8.0.36-0ubuntu0.22.04.1`, `10.11.6-MariaDB-1:10.11.6+maria~ubu2204`, and the
    /// `5.5.5-10.3.39-MariaDB` prefix old MariaDB releases sent for replication's sake). A string
    /// containing `MariaDB` (any case) means MariaDB. What [`MySqlVersion`]'s `Display` writes (`MariaDB
    /// 10.11.0`) reads back.
    pub fn parse(text: &str) -> Option<Self> {
        let mariadb = text.to_ascii_lowercase().contains("mariadb");
        let text = text
            .split_whitespace()
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
        let numbers = match text.strip_prefix("5.5.5-") {
            Some(rest) if mariadb => rest,
            _ => text,
        };
        let numbers = numbers.split(['-', '+', ' ']).next()?;
        let mut parts = numbers.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        let flavor = if mariadb {
            MySqlFlavor::MariaDb
        } else {
            MySqlFlavor::MySql
        };
        Some(MySqlVersion::new(flavor, major, minor, patch))
    }

    fn number(self) -> (u32, u32, u32) {
        (self.major, self.minor, self.patch)
    }
}

impl Default for MySqlVersion {
    fn default() -> Self {
        DEFAULT_MYSQL_VERSION
    }
}

impl fmt::Display for MySqlVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            MySqlFlavor::MySql => "MySQL",
            MySqlFlavor::MariaDb => "MariaDB",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How InnoDB performs a change, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Instant,
    Inplace,
    Copy,
}

impl Algorithm {
    /// The SQL spelling: `INSTANT`, `INPLACE`, `COPY`.
    pub fn sql_name(self) -> &'static str {
        match self {
            Algorithm::Instant => "INSTANT",
            Algorithm::Inplace => "INPLACE",
            Algorithm::Copy => "COPY",
        }
    }
}

/// The `ALTER TABLE` changes whose algorithm differs between versions or is `COPY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MySqlOperation {
    /// `ADD COLUMN` as the last column.
    AddColumnLast,
    /// `ADD COLUMN ... FIRST` / `AFTER other`.
    AddColumnPlaced,
    /// `ADD COLUMN ... AS (expr) STORED`.
    AddStoredGeneratedColumn,
    DropColumn,
    /// `RENAME COLUMN`, or `CHANGE` with the same definition.
    RenameColumn,
    /// `MODIFY ... FIRST` / `AFTER other` with the same definition.
    ReorderColumn,
    /// A different data type (other than the `VARCHAR` extension below).
    ChangeColumnType,
    /// A longer `VARCHAR` whose length still fits the same number of length bytes (up to 255 bytes, or from
    /// 256 on).
    ExtendVarchar,
    /// `NOT NULL` to `NULL`.
    MakeNullable,
    /// `NULL` to `NOT NULL`.
    MakeNotNull,
    AddPrimaryKey,
    /// `DROP PRIMARY KEY` without adding another in the same statement.
    DropPrimaryKey,
    /// `ADD FOREIGN KEY` (`INPLACE` only with `foreign_key_checks` off, which `disable-safety-checks`
    /// forbids).
    AddForeignKey,
    /// `CONVERT TO CHARACTER SET`: every text column re-encoded.
    ConvertCharset,
}

use Algorithm::{Inplace, Instant};
use MySqlFlavor::{MariaDb, MySql};
use MySqlOperation as Op;

/// One fact: from version `since` of `flavor` on, `operation` can use `algorithm` (until a later row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MySqlFact {
    pub operation: MySqlOperation,
    pub flavor: MySqlFlavor,
    pub since: (u32, u32, u32),
    pub algorithm: Algorithm,
}

const fn fact(
    operation: MySqlOperation,
    flavor: MySqlFlavor,
    since: (u32, u32, u32),
    algorithm: Algorithm,
) -> MySqlFact {
    MySqlFact {
        operation,
        flavor,
        since,
        algorithm,
    }
}

/// MySQL 5.6 and MariaDB 10.0 introduced online (`INPLACE`) DDL.
const MYSQL_ONLINE_DDL: (u32, u32, u32) = (5, 6, 0);
const MARIADB_ONLINE_DDL: (u32, u32, u32) = (10, 0, 0);

/// Every fact, by operation. An operation that is `COPY` on every version has one row from version 0.
pub const MYSQL_FACTS: &[MySqlFact] = &[
    fact(Op::AddColumnLast, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::AddColumnLast, MySql, (8, 0, 12), Instant),
    fact(Op::AddColumnLast, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::AddColumnLast, MariaDb, (10, 3, 2), Instant),
    fact(Op::AddColumnPlaced, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::AddColumnPlaced, MySql, (8, 0, 29), Instant),
    fact(Op::AddColumnPlaced, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::AddColumnPlaced, MariaDb, (10, 4, 0), Instant),
    fact(
        Op::AddStoredGeneratedColumn,
        MySql,
        (0, 0, 0),
        Algorithm::Copy,
    ),
    fact(
        Op::AddStoredGeneratedColumn,
        MariaDb,
        (0, 0, 0),
        Algorithm::Copy,
    ),
    fact(Op::DropColumn, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::DropColumn, MySql, (8, 0, 29), Instant),
    fact(Op::DropColumn, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::DropColumn, MariaDb, (10, 4, 0), Instant),
    fact(Op::RenameColumn, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::RenameColumn, MySql, (8, 0, 28), Instant),
    fact(Op::RenameColumn, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::ReorderColumn, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::ReorderColumn, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::ReorderColumn, MariaDb, (10, 4, 0), Instant),
    fact(Op::ChangeColumnType, MySql, (0, 0, 0), Algorithm::Copy),
    fact(Op::ChangeColumnType, MariaDb, (0, 0, 0), Algorithm::Copy),
    fact(Op::ExtendVarchar, MySql, (5, 7, 0), Inplace),
    fact(Op::ExtendVarchar, MariaDb, (10, 2, 2), Instant),
    fact(Op::MakeNullable, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::MakeNullable, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::MakeNullable, MariaDb, (10, 4, 3), Instant),
    fact(Op::MakeNotNull, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::MakeNotNull, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::AddPrimaryKey, MySql, MYSQL_ONLINE_DDL, Inplace),
    fact(Op::AddPrimaryKey, MariaDb, MARIADB_ONLINE_DDL, Inplace),
    fact(Op::DropPrimaryKey, MySql, (0, 0, 0), Algorithm::Copy),
    fact(Op::DropPrimaryKey, MariaDb, (0, 0, 0), Algorithm::Copy),
    fact(Op::AddForeignKey, MySql, (0, 0, 0), Algorithm::Copy),
    fact(Op::AddForeignKey, MariaDb, (0, 0, 0), Algorithm::Copy),
    fact(Op::ConvertCharset, MySql, (0, 0, 0), Algorithm::Copy),
    fact(Op::ConvertCharset, MariaDb, (0, 0, 0), Algorithm::Copy),
];

/// The cheapest algorithm `operation` can use on `version`: the latest fact at or below it, `COPY` before
/// online DDL existed.
pub fn mysql_algorithm(operation: MySqlOperation, version: MySqlVersion) -> Algorithm {
    MYSQL_FACTS
        .iter()
        .filter(|f| {
            f.operation == operation && f.flavor == version.flavor && f.since <= version.number()
        })
        .max_by_key(|f| f.since)
        .map_or(Algorithm::Copy, |f| f.algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Algorithm::Copy;

    fn v(text: &str) -> MySqlVersion {
        MySqlVersion::parse(text).unwrap()
    }

    #[test]
    fn versions_parse_as_written_and_as_servers_report_them() {
        assert_eq!(v("8.0.29"), MySqlVersion::new(MySql, 8, 0, 29));
        assert_eq!(v("8.4"), MySqlVersion::new(MySql, 8, 4, 0));
        assert_eq!(v("10.11-mariadb"), MySqlVersion::new(MariaDb, 10, 11, 0));
        assert_eq!(
            v("10.11.6-MariaDB-1:10.11.6+maria~ubu2204"),
            MySqlVersion::new(MariaDb, 10, 11, 6)
        );
        assert_eq!(
            v("5.5.5-10.3.39-MariaDB"),
            MySqlVersion::new(MariaDb, 10, 3, 39)
        );
        assert_eq!(
            v("8.0.36-0ubuntu0.22.04.1"),
            MySqlVersion::new(MySql, 8, 0, 36)
        );
        assert_eq!(MySqlVersion::parse("eight"), None);
        assert_eq!(v("11.4-mariadb").to_string(), "MariaDB 11.4.0");
        assert_eq!(v("MariaDB 11.4.0"), v("11.4-mariadb"));
    }

    #[test]
    fn adding_a_column_becomes_instant_per_position_and_version() {
        let cases = [
            (Op::AddColumnLast, "8.0.11", Inplace),
            (Op::AddColumnLast, "8.0.12", Instant),
            (Op::AddColumnPlaced, "8.0.28", Inplace),
            (Op::AddColumnPlaced, "8.0.29", Instant),
            (Op::AddColumnPlaced, "8.4", Instant),
            (Op::AddColumnLast, "10.3.1-mariadb", Inplace),
            (Op::AddColumnLast, "10.3.2-mariadb", Instant),
            (Op::AddColumnPlaced, "10.3.30-mariadb", Inplace),
            (Op::AddColumnPlaced, "10.4-mariadb", Instant),
            (Op::AddColumnPlaced, "11.4-mariadb", Instant),
        ];
        for (operation, version, expected) in cases {
            assert_eq!(
                mysql_algorithm(operation, v(version)),
                expected,
                "{operation:?} on {version}"
            );
        }
    }

    #[test]
    fn type_changes_key_drops_and_charset_conversions_copy_everywhere() {
        for operation in [
            Op::ChangeColumnType,
            Op::DropPrimaryKey,
            Op::ConvertCharset,
            Op::AddForeignKey,
            Op::AddStoredGeneratedColumn,
        ] {
            for version in ["5.7", "8.0.40", "8.4", "10.6-mariadb", "11.4-mariadb"] {
                assert_eq!(
                    mysql_algorithm(operation, v(version)),
                    Copy,
                    "{operation:?}"
                );
            }
        }
    }

    #[test]
    fn nullability_changes_copy_only_before_online_ddl() {
        assert_eq!(mysql_algorithm(Op::MakeNotNull, v("5.5")), Algorithm::Copy);
        assert_eq!(mysql_algorithm(Op::MakeNotNull, v("8.0")), Inplace);
        assert_eq!(
            mysql_algorithm(Op::MakeNullable, v("5.5.68-mariadb")),
            Algorithm::Copy
        );
        assert_eq!(
            mysql_algorithm(Op::MakeNullable, v("10.4.2-mariadb")),
            Inplace
        );
        assert_eq!(
            mysql_algorithm(Op::MakeNullable, v("10.4.3-mariadb")),
            Instant
        );
        assert_eq!(
            mysql_algorithm(Op::ExtendVarchar, v("5.6")),
            Algorithm::Copy
        );
        assert_eq!(mysql_algorithm(Op::ExtendVarchar, v("5.7")), Inplace);
    }
}
