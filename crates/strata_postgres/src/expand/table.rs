//! What planning an expand/contract migration needs to know about a table, read from the
//! catalog in one round trip: its columns (type, default, nullability, what depends on them)
//! and its indexes.

use strata_core::DriverError;
use tokio_postgres::Client;

use crate::errors::{driver_error, quote_ident};

/// The table, its server's version, and its columns and indexes in one query. `$1` is the
/// name as written (resolved through the session's `search_path` when unqualified).
const TABLE: &str = "\
    SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, \
      current_setting('server_version_num')::int4, \
      ARRAY(SELECT a.attname::text FROM pg_index i \
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[]) \
            WHERE i.indrelid = c.oid AND i.indisprimary) \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE c.oid = to_regclass($1)";

/// Per column: what its shadow copies (type, default, NOT NULL, owned sequences) and what
/// would stop the old one from being dropped (views, foreign keys pointing at it, its own
/// check, foreign-key and exclusion constraints, generated columns computed from it).
const COLUMNS: &str = "\
    SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
      pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
      ARRAY(SELECT s.oid::regclass::text FROM pg_depend dep \
            JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S' \
            WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid \
              AND dep.refobjsubid = a.attnum AND dep.deptype = 'a'), \
      ARRAY(SELECT DISTINCT r.ev_class::regclass::text FROM pg_depend dep \
            JOIN pg_rewrite r ON r.oid = dep.objid \
            WHERE dep.classid = 'pg_rewrite'::regclass AND dep.refobjid = a.attrelid \
              AND dep.refobjsubid = a.attnum), \
      ARRAY(SELECT co.conname::text FROM pg_constraint co \
            WHERE co.contype = 'f' AND co.confrelid = a.attrelid AND a.attnum = ANY(co.confkey)), \
      ARRAY(SELECT co.conname::text FROM pg_constraint co \
            WHERE co.conrelid = a.attrelid AND co.contype IN ('c', 'f', 'x') \
              AND a.attnum = ANY(co.conkey)), \
      ARRAY(SELECT g.attname::text FROM pg_depend dep \
            JOIN pg_attribute g ON g.attrelid = dep.objid AND g.attnum = dep.objsubid \
            WHERE dep.classid = 'pg_class'::regclass AND dep.objid = a.attrelid \
              AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum \
              AND g.attnum <> a.attnum AND g.attgenerated <> '') \
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped \
    ORDER BY a.attnum";

/// Every index with the columns it uses anywhere (keys, `INCLUDE`, expressions, predicate),
/// and the unique or primary-key constraint it backs.
const INDEXES: &str = "\
    SELECT ic.relname::text, pg_get_indexdef(i.indexrelid), \
      (SELECT co.conname::text FROM pg_constraint co \
       WHERE co.conindid = i.indexrelid AND co.contype IN ('u', 'p') AND co.conrelid = i.indrelid), \
      ARRAY(SELECT DISTINCT a.attname::text FROM pg_attribute a \
            WHERE a.attrelid = i.indrelid AND (a.attnum = ANY(i.indkey::int2[]) OR a.attnum IN \
              (SELECT dep.refobjsubid FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass \
               AND dep.objid = i.indexrelid AND dep.refobjid = i.indrelid))) \
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
    WHERE i.indrelid = $1::int8::oid ORDER BY ic.relname";

/// A table as planning sees it.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) schema: String,
    pub(super) name: String,
    /// `r` ordinary, `p` partitioned, others (views, foreign tables) are refused.
    pub(super) kind: String,
    pub(super) server_version: i32,
    pub(super) primary_key: Vec<String>,
    pub(super) columns: Vec<Column>,
    pub(super) indexes: Vec<Index>,
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) name: String,
    /// `format_type`: `integer`, `character varying(20)`, ...
    pub(super) type_sql: String,
    pub(super) not_null: bool,
    pub(super) default: Option<String>,
    pub(super) identity: bool,
    pub(super) generated: bool,
    pub(super) owned_sequences: Vec<String>,
    pub(super) dependent_views: Vec<String>,
    pub(super) referenced_by: Vec<String>,
    pub(super) constraints: Vec<String>,
    pub(super) generated_from: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Index {
    pub(super) name: String,
    /// `pg_get_indexdef`: `CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)`.
    pub(super) definition: String,
    /// The unique or primary-key constraint the index backs.
    pub(super) constraint: Option<String>,
    pub(super) columns: Vec<String>,
}

impl Table {
    /// Reads the table `name` (as written: `users`, `app.users`, quoted parts); `None` when
    /// there is no such table.
    pub(super) async fn read(
        client: &Client,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Table>, DriverError> {
        let written = match schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(name)),
            None => quote_ident(name),
        };
        let Some(row) = client
            .query_opt(TABLE, &[&written])
            .await
            .map_err(|e| driver_error(&e))?
        else {
            return Ok(None);
        };
        let oid: i64 = row.get(0);
        let columns = client
            .query(COLUMNS, &[&oid])
            .await
            .map_err(|e| driver_error(&e))?
            .iter()
            .map(|row| Column {
                name: row.get(0),
                type_sql: row.get(1),
                not_null: row.get(2),
                default: row.get(3),
                identity: !row.get::<_, String>(4).is_empty(),
                generated: !row.get::<_, String>(5).is_empty(),
                owned_sequences: row.get(6),
                dependent_views: row.get(7),
                referenced_by: row.get(8),
                constraints: row.get(9),
                generated_from: row.get(10),
            })
            .collect();
        let indexes = client
            .query(INDEXES, &[&oid])
            .await
            .map_err(|e| driver_error(&e))?
            .iter()
            .map(|row| Index {
                name: row.get(0),
                definition: row.get(1),
                constraint: row.get(2),
                columns: row.get(3),
            })
            .collect();
        Ok(Some(Table {
            schema: row.get(1),
            name: row.get(2),
            kind: row.get(3),
            server_version: row.get(4),
            primary_key: row.get(5),
            columns,
            indexes,
        }))
    }

    pub(super) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `"schema"."table"`.
    pub(super) fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// `'"schema"."table"'::regclass`, for catalog guards inside generated `DO` blocks.
    pub(super) fn regclass(&self) -> String {
        format!(
            "{}::regclass",
            crate::errors::sql_literal(&self.qualified())
        )
    }

    /// The indexes that use `column` anywhere.
    pub(super) fn indexes_on(&self, column: &str) -> impl Iterator<Item = &Index> {
        self.indexes
            .iter()
            .filter(move |i| i.columns.iter().any(|c| c == column))
    }
}
