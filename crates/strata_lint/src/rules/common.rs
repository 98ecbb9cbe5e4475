//! Helpers shared by rules: classifying statements into lock-fact operations, and reading ALTER TABLE
//! subcommands on existing tables.

use crate::facts::{LockMode, LockModeFacts, PgOperation, pg_lock_fact};
use crate::input::ObjectName;
use crate::ir::{
    AlterAction, AlterTable, ColumnDef, ConstraintKind, ReindexTarget, Statement, StatementKind,
    TableConstraint, TypeName, Volatility,
};
use crate::rules::{FileState, StatementContext};
use crate::schema::Schema;

/// The statement's `ALTER TABLE`, when it targets an existing table (not created earlier in this file).
pub(crate) fn existing_alter<'a>(cx: &StatementContext<'a>) -> Option<&'a AlterTable> {
    cx.existing_alter
}

/// What [`existing_alter`] returns, looked up once per statement by the engine: most rules ask, and
/// each lookup hashes the table's name.
pub(crate) fn alter_of_existing_table<'a>(
    statement: &'a Statement,
    file: &FileState,
) -> Option<&'a AlterTable> {
    match &statement.kind {
        StatementKind::AlterTable(alter) if !file.created_tables.contains(&alter.table) => {
            Some(alter)
        }
        _ => None,
    }
}

/// Subcommands of an `ALTER TABLE` on an existing table.
pub(crate) fn existing_alter_actions<'a>(
    cx: &StatementContext<'a>,
) -> impl Iterator<Item = (&'a AlterTable, &'a AlterAction)> {
    existing_alter(cx)
        .into_iter()
        .flat_map(|alter| alter.actions.iter().map(move |action| (alter, action)))
}

/// A column a statement declares: in `CREATE TABLE` or `ADD COLUMN`, with whether it is (part of) the
/// primary key.
pub(crate) struct DeclaredColumn<'a> {
    pub(crate) table: &'a ObjectName,
    pub(crate) column: &'a ColumnDef,
    pub(crate) in_primary_key: bool,
}

/// Columns declared by the statement.
pub(crate) fn declared_columns(statement: &Statement) -> Vec<DeclaredColumn<'_>> {
    match &statement.kind {
        StatementKind::CreateTable(create) => {
            let table_key: Vec<&String> = create
                .constraints
                .iter()
                .filter_map(|c| match &c.kind {
                    ConstraintKind::PrimaryKey { columns, .. } => Some(columns),
                    _ => None,
                })
                .flatten()
                .collect();
            create
                .columns
                .iter()
                .map(|column| DeclaredColumn {
                    table: &create.name,
                    column,
                    in_primary_key: column.primary_key || table_key.contains(&&column.name),
                })
                .collect()
        }
        StatementKind::AlterTable(alter) => alter
            .actions
            .iter()
            .filter_map(|action| match action {
                AlterAction::AddColumn(column) => Some(DeclaredColumn {
                    table: &alter.table,
                    column,
                    in_primary_key: column.primary_key,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every (column, type) the statement declares or changes to: for type-style rules.
pub(crate) fn declared_types(statement: &Statement) -> Vec<(&str, &TypeName)> {
    let mut types: Vec<(&str, &TypeName)> = declared_columns(statement)
        .into_iter()
        .map(|d| (d.column.name.as_str(), &d.column.data_type))
        .collect();
    if let StatementKind::AlterTable(alter) = &statement.kind {
        for action in &alter.actions {
            if let AlterAction::AlterColumnType { column, new_type } = action {
                types.push((column, new_type));
            }
        }
    }
    types
}

/// The columns a statement declares (or changes) with the type named `type_name`: what each
/// type-style rule reports, in its own words.
pub(crate) fn columns_of_type<'a>(
    statement: &'a Statement,
    type_name: &'a str,
) -> impl Iterator<Item = (&'a str, &'a TypeName)> {
    declared_types(statement)
        .into_iter()
        .filter(move |(_, data_type)| data_type.name == type_name)
}

/// Constraints added by an `ALTER TABLE` on an existing table.
pub(crate) fn added_constraints<'a>(
    cx: &StatementContext<'a>,
) -> impl Iterator<Item = (&'a AlterTable, &'a TableConstraint)> {
    existing_alter(cx).into_iter().flat_map(|alter| {
        alter.actions.iter().filter_map(move |action| match action {
            AlterAction::AddConstraint(constraint) => Some((alter, constraint)),
            _ => None,
        })
    })
}

/// Columns added by an `ALTER TABLE` on an existing table.
pub(crate) fn added_columns<'a>(
    cx: &StatementContext<'a>,
) -> impl Iterator<Item = (&'a AlterTable, &'a ColumnDef)> {
    existing_alter(cx).into_iter().flat_map(|alter| {
        alter.actions.iter().filter_map(move |action| match action {
            AlterAction::AddColumn(column) => Some((alter, column)),
            _ => None,
        })
    })
}

/// `constraint` rendered for messages: `constraint "fk" ` or empty.
pub(crate) fn constraint_label(constraint: &TableConstraint) -> String {
    constraint
        .name
        .as_ref()
        .map_or_else(String::new, |name| format!(" `{name}`"))
}

/// "takes `ACCESS EXCLUSIVE` (blocks reads and writes)" for `operation` on the target version.
pub(crate) fn lock_phrase(operation: PgOperation, version: u32) -> String {
    pg_lock_fact(operation, version).map_or_else(String::new, |fact| {
        format!(
            "takes `{}` on the table, blocking {}",
            fact.table.sql_name(),
            fact.table.what_it_blocks()
        )
    })
}

/// Whether changing a column from `old` to `new` rewrites the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeChange {
    /// Binary coercible: catalog-only.
    Coercible,
    /// Every row is rewritten.
    Rewrites,
    /// The old type is not known (not created by an earlier migration, no catalog).
    UnknownOldType,
}

/// Binary-coercible changes (no rewrite): widening or removing a length limit on `varchar`/`varbit`,
/// `varchar` ↔ `text` without a limit, widening `numeric` precision at the same scale, widening
/// timestamp/time/interval precision, `cidr` → `inet`, and no change at all.
pub(crate) fn type_change(old: Option<&TypeName>, new: &TypeName) -> TypeChange {
    let Some(old) = old else {
        return TypeChange::UnknownOldType;
    };
    if old == new {
        return TypeChange::Coercible;
    }
    if old.array != new.array {
        return TypeChange::Rewrites;
    }
    let widened = |old: &[i64], new: &[i64]| match (old.first(), new.first()) {
        (_, None) => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    };
    let coercible = match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => widened(&old.modifiers, &new.modifiers),
        ("varchar", "text") => true,
        ("text", "varchar") => new.modifiers.is_empty(),
        ("numeric", "numeric") => {
            new.modifiers.is_empty()
                || (widened(&old.modifiers, &new.modifiers)
                    && old.modifiers.get(1) == new.modifiers.get(1))
        }
        ("timestamp", "timestamp")
        | ("timestamptz", "timestamptz")
        | ("time", "time")
        | ("timetz", "timetz")
        | ("interval", "interval") => widened(&old.modifiers, &new.modifiers),
        ("cidr", "inet") => true,
        _ => false,
    };
    if coercible {
        TypeChange::Coercible
    } else {
        TypeChange::Rewrites
    }
}

/// The operation `ADD COLUMN column` performs.
pub(crate) fn add_column_operation(column: &ColumnDef) -> PgOperation {
    let fills_every_row = column.generated_stored
        || column.identity
        || column.is_serial()
        || matches!(
            column.default,
            Some(Volatility::Volatile(_) | Volatility::Unknown(_))
        );
    if fills_every_row {
        PgOperation::AddColumnRewriting
    } else if column.default.is_some() {
        PgOperation::AddColumnNonVolatileDefault
    } else {
        PgOperation::AddColumn
    }
}

fn constraint_operation(constraint: &TableConstraint) -> PgOperation {
    match (&constraint.kind, constraint.not_valid) {
        (ConstraintKind::ForeignKey { .. }, false) => PgOperation::AddForeignKey,
        (ConstraintKind::ForeignKey { .. }, true) => PgOperation::AddForeignKeyNotValid,
        (ConstraintKind::Check { .. }, false) => PgOperation::AddCheck,
        (ConstraintKind::Check { .. }, true) => PgOperation::AddCheckNotValid,
        (
            ConstraintKind::PrimaryKey {
                using_index: Some(_),
                ..
            }
            | ConstraintKind::Unique {
                using_index: Some(_),
                ..
            },
            _,
        ) => PgOperation::AddConstraintUsingIndex,
        (ConstraintKind::PrimaryKey { .. }, _) => PgOperation::AddPrimaryKey,
        (ConstraintKind::Unique { .. }, _) => PgOperation::AddUnique,
        (ConstraintKind::Exclusion, _) => PgOperation::AddExclusion,
    }
}

fn alter_operation(table: &ObjectName, action: &AlterAction, schema: &Schema) -> PgOperation {
    match action {
        AlterAction::AddColumn(column) => add_column_operation(column),
        AlterAction::DropColumn { .. } => PgOperation::DropColumn,
        AlterAction::AlterColumnType { column, new_type } => {
            let old = schema
                .table(table)
                .and_then(|t| t.column(column))
                .map(|c| &c.data_type);
            match type_change(old, new_type) {
                TypeChange::Coercible => PgOperation::AlterColumnTypeCoercible,
                TypeChange::Rewrites | TypeChange::UnknownOldType => {
                    PgOperation::AlterColumnTypeRewriting
                }
            }
        }
        AlterAction::SetNotNull { .. } => PgOperation::SetNotNull,
        AlterAction::DropNotNull { .. } => PgOperation::DropNotNull,
        AlterAction::AddConstraint(constraint) => constraint_operation(constraint),
        AlterAction::ValidateConstraint { .. } => PgOperation::ValidateConstraint,
        AlterAction::DetachPartition {
            concurrently: true, ..
        } => PgOperation::DetachPartitionConcurrently,
        AlterAction::DetachPartition {
            concurrently: false,
            ..
        } => PgOperation::DetachPartition,
        AlterAction::DisableTrigger { .. } => PgOperation::DisableTrigger,
        // The MySQL-only forms never come from the PostgreSQL front end.
        AlterAction::DropConstraint { .. }
        | AlterAction::RedefineColumn { .. }
        | AlterAction::PlaceColumn { .. }
        | AlterAction::DropPrimaryKey
        | AlterAction::Other { .. } => PgOperation::AlterTableOther,
    }
}

/// What a statement does to one table: the lock it takes there and whether it reads or writes the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableEffect {
    pub(crate) table: ObjectName,
    pub(crate) lock: LockMode,
    pub(crate) reads_rows: bool,
    pub(crate) writes_rows: bool,
}

/// Every table a PostgreSQL statement locks, from the lock facts of the target version.
pub(crate) fn table_effects(
    statement: &Statement,
    schema: &Schema,
    version: u32,
) -> Vec<TableEffect> {
    let from_fact = |table: &ObjectName, operation| {
        pg_lock_fact(operation, version).map(|fact| TableEffect {
            table: table.clone(),
            lock: fact.table,
            reads_rows: fact.scans,
            writes_rows: fact.rewrites,
        })
    };
    let dml = |table: &ObjectName, reads_rows| {
        vec![TableEffect {
            table: table.clone(),
            lock: LockMode::RowExclusive,
            reads_rows,
            writes_rows: true,
        }]
    };
    match &statement.kind {
        StatementKind::AlterTable(alter) => alter
            .actions
            .iter()
            .filter_map(|a| from_fact(&alter.table, alter_operation(&alter.table, a, schema)))
            .collect(),
        StatementKind::CreateIndex(index) => {
            let operation = if index.concurrently {
                PgOperation::CreateIndexConcurrently
            } else {
                PgOperation::CreateIndex
            };
            from_fact(&index.table, operation).into_iter().collect()
        }
        StatementKind::DropIndex {
            names,
            concurrently,
            ..
        } => {
            let operation = if *concurrently {
                PgOperation::DropIndexConcurrently
            } else {
                PgOperation::DropIndex
            };
            names
                .iter()
                .filter_map(|n| schema.index(n))
                .filter_map(|i| from_fact(&i.table, operation))
                .collect()
        }
        StatementKind::Reindex {
            target,
            concurrently,
        } => {
            let operation = if *concurrently {
                PgOperation::ReindexConcurrently
            } else {
                PgOperation::Reindex
            };
            let table = match target {
                ReindexTarget::Table(table) => Some(table.clone()),
                ReindexTarget::Index(index) => schema.index(index).map(|i| i.table.clone()),
                ReindexTarget::Many => None,
            };
            table
                .and_then(|t| from_fact(&t, operation))
                .into_iter()
                .collect()
        }
        StatementKind::RenameTable { table, .. } => from_fact(table, PgOperation::RenameTable)
            .into_iter()
            .collect(),
        StatementKind::RenameColumn { table, .. } => from_fact(table, PgOperation::RenameColumn)
            .into_iter()
            .collect(),
        StatementKind::DropTable { tables, .. } => tables
            .iter()
            .filter_map(|t| from_fact(t, PgOperation::DropTable))
            .collect(),
        StatementKind::Truncate { tables } => tables
            .iter()
            .filter_map(|t| from_fact(t, PgOperation::Truncate))
            .collect(),
        StatementKind::Vacuum { full: true, tables } => tables
            .iter()
            .filter_map(|t| from_fact(t, PgOperation::VacuumFull))
            .collect(),
        StatementKind::Cluster { table: Some(table) } => {
            from_fact(table, PgOperation::Cluster).into_iter().collect()
        }
        StatementKind::LockTable { tables, mode } => tables
            .iter()
            .map(|t| TableEffect {
                table: t.clone(),
                lock: *mode,
                reads_rows: false,
                writes_rows: false,
            })
            .collect(),
        StatementKind::Update(update) => dml(&update.table, true),
        StatementKind::Delete(delete) => dml(&delete.table, true),
        StatementKind::Insert { table, .. } => dml(table, false),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> TypeName {
        TypeName::parse(text)
    }

    #[test]
    fn binary_coercible_changes_do_not_rewrite() {
        for (old, new) in [
            ("varchar(10)", "varchar(20)"),
            ("varchar(10)", "text"),
            ("varchar(10)", "varchar"),
            ("numeric(10,2)", "numeric(12,2)"),
            ("numeric(10,2)", "numeric"),
            ("varbit(4)", "varbit(8)"),
            ("timestamp(3)", "timestamp(6)"),
            ("cidr", "inet"),
        ] {
            assert_eq!(
                type_change(Some(&t(old)), &t(new)),
                TypeChange::Coercible,
                "{old} -> {new}"
            );
        }
    }

    #[test]
    fn other_changes_rewrite() {
        for (old, new) in [
            ("integer", "bigint"),
            ("varchar(20)", "varchar(10)"),
            ("numeric(10,2)", "numeric(12,3)"),
            ("text", "varchar(10)"),
            ("timestamp", "timestamptz"),
        ] {
            assert_eq!(
                type_change(Some(&t(old)), &t(new)),
                TypeChange::Rewrites,
                "{old} -> {new}"
            );
        }
        assert_eq!(type_change(None, &t("bigint")), TypeChange::UnknownOldType);
    }
}
