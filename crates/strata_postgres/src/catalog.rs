//! The live catalog for the linter: table sizes (`pg_class.reltuples`), columns, indexes,
//! constraints and enum types of the user schemas, read in five queries and returned as
//! `strata_core`'s neutral [`Catalog`] data.

use std::collections::BTreeMap;

use strata_core::{
    Catalog, CatalogColumn, CatalogConstraint, CatalogConstraintKind, CatalogEnum, CatalogIndex,
    CatalogReader, CatalogTable, Dialect, DriverError, ObjectName,
};
use tokio_postgres::Row;

use crate::driver::PgDriver;
use crate::errors::driver_error;

/// Ordinary and partitioned tables outside the system schemas. `reltuples` is `-1` for a table
/// never analysed (PostgreSQL 14+), which the linter treats as unknown, not small.
const TABLES: &str = "\
    SELECT c.oid::int8, n.nspname::text, c.relname::text, c.reltuples::float8 \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE c.relkind IN ('r', 'p') \
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

const COLUMNS: &str = "\
    SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY a.attrelid, a.attnum";

/// Key columns only (not `INCLUDE` ones); expression columns have no name and are left out.
const INDEXES: &str = "\
    SELECT i.indrelid::int8, ic.relname::text, i.indisunique, i.indisprimary, i.indisvalid, \
      ARRAY(SELECT a.attname::text \
            FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
            WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) \
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid";

const CONSTRAINTS: &str = "\
    SELECT co.conrelid::int8, co.conname::text, co.contype::text, co.convalidated, \
      ARRAY(SELECT a.attname::text \
            FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, ord) \
            JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum \
            ORDER BY k.ord), \
      CASE WHEN co.contype = 'c' THEN pg_get_constraintdef(co.oid) END \
    FROM pg_constraint co \
    WHERE co.conrelid <> 0 AND co.contype IN ('p', 'u', 'c', 'f', 'x')";

const ENUMS: &str = "\
    SELECT n.nspname::text, t.typname::text, \
      array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
    FROM pg_type t \
    JOIN pg_enum e ON e.enumtypid = t.oid \
    JOIN pg_namespace n ON n.oid = t.typnamespace \
    GROUP BY n.nspname, t.typname";

impl CatalogReader for PgDriver {
    fn server_major_version(&mut self) -> Result<u32, DriverError> {
        let row = self.query_one("SELECT current_setting('server_version_num')::int4")?;
        let number: i32 = row.get(0);
        u32::try_from(number / 10_000)
            .map_err(|_| DriverError::new(format!("the server reports version number {number}")))
    }

    fn read_catalog(&mut self) -> Result<Catalog, DriverError> {
        let mut tables: BTreeMap<i64, CatalogTable> = self
            .query(TABLES)?
            .iter()
            .map(|row| {
                let schema: String = row.get(1);
                let name: String = row.get(2);
                let table = CatalogTable {
                    name: ObjectName::new(Some(&schema), &name, Dialect::Postgres),
                    estimated_rows: row.get(3),
                    columns: Vec::new(),
                    indexes: Vec::new(),
                    constraints: Vec::new(),
                };
                (row.get::<_, i64>(0), table)
            })
            .collect();
        for row in self.query(COLUMNS)? {
            if let Some(table) = tables.get_mut(&row.get::<_, i64>(0)) {
                table.columns.push(CatalogColumn {
                    name: row.get(1),
                    data_type: row.get(2),
                    not_null: row.get(3),
                });
            }
        }
        for row in self.query(INDEXES)? {
            if let Some(table) = tables.get_mut(&row.get::<_, i64>(0)) {
                table.indexes.push(CatalogIndex {
                    name: row.get(1),
                    unique: row.get(2),
                    primary: row.get(3),
                    valid: row.get(4),
                    columns: row.get(5),
                });
            }
        }
        for row in self.query(CONSTRAINTS)? {
            let Some(table) = tables.get_mut(&row.get::<_, i64>(0)) else {
                continue;
            };
            let kind = match row.get::<_, String>(2).as_str() {
                "p" => CatalogConstraintKind::PrimaryKey,
                "u" => CatalogConstraintKind::Unique,
                "f" => CatalogConstraintKind::ForeignKey,
                "x" => CatalogConstraintKind::Exclusion,
                _ => CatalogConstraintKind::Check {
                    not_null_column: row
                        .get::<_, Option<String>>(5)
                        .as_deref()
                        .and_then(not_null_check_column),
                },
            };
            table.constraints.push(CatalogConstraint {
                name: row.get(1),
                kind,
                validated: row.get(3),
                columns: row.get(4),
            });
        }
        let enums = self
            .query(ENUMS)?
            .iter()
            .map(|row| CatalogEnum {
                name: ObjectName::new(Some(row.get(0)), row.get(1), Dialect::Postgres),
                values: row.get(2),
            })
            .collect();
        Ok(Catalog {
            tables: tables.into_values().collect(),
            enums,
        })
    }
}

impl PgDriver {
    fn query(&self, sql: &str) -> Result<Vec<Row>, DriverError> {
        self.block_on(self.client().query(sql, &[]))
            .map_err(|e| driver_error(&e))
    }

    fn query_one(&self, sql: &str) -> Result<Row, DriverError> {
        self.block_on(self.client().query_one(sql, &[]))
            .map_err(|e| driver_error(&e))
    }
}

/// The column a check constraint proves non-null when that is all it says, from
/// `pg_get_constraintdef` text such as `CHECK ((email IS NOT NULL)) NOT VALID`.
fn not_null_check_column(definition: &str) -> Option<String> {
    let body = definition.strip_prefix("CHECK ")?;
    let body = body.strip_suffix(" NOT VALID").unwrap_or(body);
    let mut body = body.trim();
    while let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        body = inner.trim();
    }
    let column = body.strip_suffix(" IS NOT NULL")?;
    match column.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(quoted) => Some(quoted.replace("\"\"", "\"")),
        None if column
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b >= 0x80) =>
        {
            Some(column.to_owned())
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::not_null_check_column;

    #[test]
    fn reads_the_column_of_a_not_null_check() {
        assert_eq!(
            not_null_check_column("CHECK ((email IS NOT NULL)) NOT VALID").as_deref(),
            Some("email")
        );
        assert_eq!(
            not_null_check_column("CHECK ((\"Mixed\"\"Case\" IS NOT NULL))").as_deref(),
            Some("Mixed\"Case")
        );
    }

    #[test]
    fn other_checks_prove_nothing() {
        assert_eq!(not_null_check_column("CHECK ((price > 0))"), None);
        assert_eq!(
            not_null_check_column("CHECK (((a IS NOT NULL) AND (b IS NOT NULL)))"),
            None
        );
        assert_eq!(
            not_null_check_column("CHECK ((lower(a) IS NOT NULL))"),
            None
        );
    }
}
