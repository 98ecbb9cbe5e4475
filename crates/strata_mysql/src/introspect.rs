//! [`Introspect`] for MySQL/MariaDB: the schema of the current database from
//! `information_schema` (not `SHOW CREATE TABLE`, whose text lists columns by position and
//! carries the `AUTO_INCREMENT` counter). Each table is taken apart into columns, indexes and
//! constraints, compared by name; routine and trigger bodies are compared as code.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use strata_core::schema::{Comparison, ObjectKind};
use strata_core::{Dialect, DriverError, Introspect, SchemaSnapshot, SnapshotOptions};

use crate::driver::MySqlDriver;
use crate::errors::driver_error;

impl Introspect for MySqlDriver {
    /// MySQL objects have definers rather than owners; `include_owners` records them.
    fn snapshot(&mut self, options: &SnapshotOptions) -> Result<SchemaSnapshot, DriverError> {
        let options = *options;
        let (runtime, conn) = self.parts();
        runtime
            .block_on(read_snapshot(conn, options))
            .map_err(|e| driver_error(&e))
    }
}

/// table, column, type, nullable, default, extra, collation
type ColumnRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);
/// name, FUNCTION or PROCEDURE, return type, body, definer
type RoutineRow = (String, String, Option<String>, Option<String>, String);

async fn read_snapshot(
    conn: &mut Conn,
    options: SnapshotOptions,
) -> Result<SchemaSnapshot, mysql_async::Error> {
    let mut snapshot = SchemaSnapshot::new(Dialect::MySql);

    let tables: Vec<(String, String, Option<String>, Option<String>)> = conn
        .query(
            "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'strata\\_%' ORDER BY TABLE_NAME",
        )
        .await?;
    for (name, kind, engine, collation) in &tables {
        if kind == "BASE TABLE" {
            let table = snapshot.object(ObjectKind::Table, name.clone());
            table.set("engine", engine.clone().unwrap_or_default());
            table.set("collation", collation.clone().unwrap_or_default());
        }
    }

    let columns: Vec<ColumnRow> = conn
        .query(
            "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, c.COLLATION_NAME \
             FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
               ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE' \
             WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME NOT LIKE 'strata\\_%' \
             ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        )
        .await?;
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column, column_type, nullable, default, extra, collation) in columns {
        let mut definition = column_type;
        if nullable == "NO" {
            definition.push_str(" NOT NULL");
        }
        if let Some(default) = default {
            definition.push_str(&format!(" DEFAULT {default}"));
        }
        if !extra.is_empty() {
            definition.push_str(&format!(" {}", extra.to_lowercase()));
        }
        if let Some(collation) = collation {
            definition.push_str(&format!(" COLLATE {collation}"));
        }
        snapshot
            .object(ObjectKind::Table, table.clone())
            .set(format!("column {column}"), definition);
        match order.last_mut() {
            Some((last, names)) if *last == table => names.push(column),
            _ => order.push((table, vec![column])),
        }
    }
    for (table, names) in order {
        snapshot.object(ObjectKind::Table, table).set_compared(
            "columns",
            names.join(", "),
            Comparison::NoteOnly,
        );
    }

    let indexes: Vec<(String, String, i64, String, Option<i64>, String)> = conn
        .query(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'strata\\_%' \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        )
        .await?;
    let mut current: Option<(String, String, bool, String, Vec<String>)> = None;
    let mut finished = Vec::new();
    for (table, index, non_unique, column, prefix, index_type) in indexes {
        let part = match prefix {
            Some(length) => format!("{column}({length})"),
            None => column,
        };
        match current.as_mut() {
            Some((t, i, _, _, parts)) if *t == table && *i == index => parts.push(part),
            _ => {
                finished.extend(current.take());
                current = Some((table, index, non_unique == 0, index_type, vec![part]));
            }
        }
    }
    finished.extend(current);
    for (table, index, unique, index_type, parts) in finished {
        let definition = format!(
            "{}INDEX ON {table} ({}) USING {index_type}",
            if unique { "UNIQUE " } else { "" },
            parts.join(", ")
        );
        snapshot
            .object(ObjectKind::Index, format!("{table}.{index}"))
            .set("definition", definition);
    }

    let foreign_keys: Vec<(String, String, String, String, String, String, String)> = conn
        .query(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, \
                    GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION), k.REFERENCED_TABLE_NAME, \
                    GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION), r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE",
        )
        .await?;
    for (table, name, columns, referenced, referenced_columns, on_update, on_delete) in foreign_keys
    {
        snapshot.object(ObjectKind::Table, table).set(
            format!("constraint {name}"),
            format!("FOREIGN KEY ({columns}) REFERENCES {referenced} ({referenced_columns}) ON UPDATE {on_update} ON DELETE {on_delete}"),
        );
    }

    let checks: Vec<(String, String, String)> = conn
        .query(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'strata\\_%'",
        )
        .await
        .unwrap_or_default();
    for (table, name, clause) in checks {
        snapshot
            .object(ObjectKind::Table, table)
            .set(format!("constraint {name}"), format!("CHECK ({clause})"));
    }

    let views: Vec<(String, String, String)> = conn
        .query(
            "SELECT TABLE_NAME, VIEW_DEFINITION, DEFINER FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        )
        .await?;
    for (name, definition, definer) in views {
        let view = snapshot.object(ObjectKind::View, name);
        view.set_compared("definition", definition, Comparison::Code(Dialect::MySql));
        if options.include_owners {
            view.set("definer", definer);
        }
    }

    let routines: Vec<RoutineRow> = conn
        .query(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, DEFINER FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        )
        .await?;
    for (name, kind, returns, body, definer) in routines {
        let kind = if kind == "FUNCTION" {
            ObjectKind::Function
        } else {
            ObjectKind::Procedure
        };
        let routine = snapshot.object(kind, name);
        if let Some(returns) = returns {
            routine.set("returns", returns);
        }
        routine.set_compared(
            "definition",
            body.unwrap_or_default(),
            Comparison::Code(Dialect::MySql),
        );
        if options.include_owners {
            routine.set("definer", definer);
        }
    }

    let triggers: Vec<(String, String, String, String, String)> = conn
        .query(
            "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_STATEMENT \
             FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
        )
        .await?;
    for (name, timing, event, table, body) in triggers {
        let trigger = snapshot.object(ObjectKind::Trigger, name);
        trigger.set("on", format!("{timing} {event} ON {table} FOR EACH ROW"));
        trigger.set_compared("definition", body, Comparison::Code(Dialect::MySql));
    }
    Ok(snapshot)
}
