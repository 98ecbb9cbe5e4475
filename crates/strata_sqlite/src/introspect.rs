//! [`Introspect`] for SQLite: the schema from `sqlite_schema` and `pragma_table_xinfo`.
//!
//! SQLite stores each object's `CREATE` text as its author wrote it (and splices `ALTER TABLE`
//! changes into it), so the text is normalised ([`normalize_sql`]) and a table is taken apart
//! into its columns, constraints and options, each compared by name. The same schema built in
//! another order, or written with other formatting, gives the same snapshot.

use rusqlite::Connection;
use strata_core::lexer::{TokenKind, tokenize};
use strata_core::schema::{Comparison, ObjectKind, SchemaObject, normalize_sql};
use strata_core::{Dialect, DriverError, Introspect, SchemaSnapshot, SnapshotOptions};

use crate::driver::SqliteDriver;
use crate::errors::driver_error;

/// Every user object; SQLite's internal `sqlite_*` objects (including the automatic indexes of
/// `UNIQUE` and `PRIMARY KEY`, which the table's definition implies) and strata's `strata_*`
/// tables are left out.
const OBJECTS: &str = "SELECT type, name, tbl_name, sql FROM sqlite_schema \
    WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name NOT LIKE 'strata\\_%' ESCAPE '\\' \
    ORDER BY type, name";

impl Introspect for SqliteDriver {
    /// SQLite has no owners, so the options change nothing.
    fn snapshot(&mut self, _options: &SnapshotOptions) -> Result<SchemaSnapshot, DriverError> {
        read_snapshot(&self.conn).map_err(|e| driver_error(&e))
    }
}

fn read_snapshot(conn: &Connection) -> rusqlite::Result<SchemaSnapshot> {
    let mut snapshot = SchemaSnapshot::new(Dialect::Sqlite);
    let mut statement = conn.prepare(OBJECTS)?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (kind, name, table, sql) = row?;
        let sql = sql.unwrap_or_default();
        match kind.as_str() {
            "table" => {
                let object = snapshot.object(ObjectKind::Table, name.clone());
                describe_table(object, &sql);
                let columns = column_order(conn, &name)?;
                object.set_compared("columns", columns.join(", "), Comparison::NoteOnly);
            }
            "index" => {
                snapshot
                    .object(ObjectKind::Index, name)
                    .set("definition", normalize_sql(&sql, Dialect::Sqlite));
            }
            "view" => {
                snapshot
                    .object(ObjectKind::View, name)
                    .set("definition", normalize_sql(&sql, Dialect::Sqlite));
            }
            "trigger" => {
                snapshot
                    .object(ObjectKind::Trigger, format!("{name} on {table}"))
                    .set("definition", normalize_sql(&sql, Dialect::Sqlite));
            }
            _ => {}
        }
    }
    Ok(snapshot)
}

/// The columns in their declared order (a difference there is only a note).
fn column_order(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_xinfo(?1) ORDER BY cid")?;
    let names = statement.query_map([table], |row| row.get::<_, String>(0))?;
    names
        .map(|name| name.map(|n| normalize_sql(&quote(&n), Dialect::Sqlite)))
        .collect()
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Splits `CREATE TABLE name (entry, entry, ...) options` into attributes: `column <name>`
/// (its type and constraints), `table constraint ...`, and `options` (`WITHOUT ROWID`,
/// `STRICT`). A table the parts cannot be found in (a virtual table, `AS SELECT`) keeps its
/// whole normalised definition.
fn describe_table(object: &mut SchemaObject, sql: &str) {
    let Some((entries, options)) = table_parts(sql) else {
        object.set("definition", normalize_sql(sql, Dialect::Sqlite));
        return;
    };
    for entry in entries {
        let text = normalize_sql(entry, Dialect::Sqlite);
        let first = text.split(' ').next().unwrap_or_default();
        if matches!(
            first,
            "constraint" | "primary" | "unique" | "check" | "foreign"
        ) {
            object.set(format!("table constraint {text}"), "");
        } else {
            let name = first_token(entry);
            let definition = text
                .strip_prefix(name.as_str())
                .map_or(text.as_str(), str::trim_start);
            object.set(format!("column {name}"), definition);
        }
    }
    if !options.is_empty() {
        object.set("options", normalize_sql(options, Dialect::Sqlite));
    }
}

/// The normalised first token of a column definition: its name.
fn first_token(entry: &str) -> String {
    tokenize(entry, Dialect::Sqlite)
        .into_iter()
        .find(|t| t.is_significant())
        .map(|t| normalize_sql(t.text(entry), Dialect::Sqlite))
        .unwrap_or_default()
}

/// The top-level comma-separated entries between the table's parentheses, and the text after
/// the closing parenthesis; `None` for a virtual table or `AS SELECT`, whose parentheses hold
/// something else.
fn table_parts(sql: &str) -> Option<(Vec<&str>, &str)> {
    let mut depth = 0usize;
    let mut entries = Vec::new();
    let mut entry_start = None;
    for token in tokenize(sql, Dialect::Sqlite) {
        if token.kind != TokenKind::Symbol {
            continue;
        }
        match token.text(sql) {
            "(" => {
                depth += 1;
                if depth == 1 {
                    let head = normalize_sql(&sql[..token.start], Dialect::Sqlite);
                    if head
                        .split(' ')
                        .any(|w| matches!(w, "virtual" | "as" | "using"))
                    {
                        return None;
                    }
                    entry_start = Some(token.end);
                }
            }
            ")" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    entries.push(&sql[entry_start?..token.start]);
                    return Some((entries, &sql[token.end..]));
                }
            }
            "," if depth == 1 => {
                entries.push(&sql[entry_start?..token.start]);
                entry_start = Some(token.end);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(sql: &str) -> Vec<(String, String)> {
        let mut object = SchemaObject::default();
        describe_table(&mut object, sql);
        object
            .attributes
            .into_iter()
            .map(|(k, a)| (k, a.value))
            .collect()
    }

    #[test]
    fn a_table_is_taken_apart_by_name() {
        let a = described(
            "CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  \"Email\" TEXT NOT NULL DEFAULT '',\n  CHECK (length(Email) > 3)\n) STRICT",
        );
        let b = described(
            "create table t(email text not null default '', id integer primary key, check(length(email) > 3)) strict;",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            [
                (
                    "column email".to_owned(),
                    "text not null default ''".to_owned()
                ),
                ("column id".to_owned(), "integer primary key".to_owned()),
                ("options".to_owned(), "strict".to_owned()),
                (
                    "table constraint check (length (email) > 3)".to_owned(),
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn a_virtual_table_keeps_its_definition() {
        assert_eq!(
            described("CREATE VIRTUAL TABLE docs USING fts5(body)"),
            [(
                "definition".to_owned(),
                "create virtual table docs using fts5 (body)".to_owned()
            )]
        );
    }
}
