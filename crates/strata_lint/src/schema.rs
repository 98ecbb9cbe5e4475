//! A small in-memory model of the schema, updated statement by statement, so that a rule can ask what
//! earlier statements (of this file, of earlier migrations, or the live catalog) created: a column's type
//! and nullability, a table's keys, an index's flags, a validated `CHECK (col IS NOT NULL)`.

use std::collections::HashMap;

use crate::input::{Catalog, CatalogConstraintKind, Dialect, ObjectName};
use crate::ir::{AlterAction, ConstraintKind, Statement, StatementKind, TableConstraint, TypeName};

#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    tables: HashMap<ObjectName, TableModel>,
    indexes: HashMap<ObjectName, IndexModel>,
    /// Index names per table, so that per-table questions do not scan every index of the schema.
    indexes_by_table: HashMap<ObjectName, Vec<ObjectName>>,
    enums: HashMap<ObjectName, Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TableModel {
    pub(crate) columns: Vec<ColumnModel>,
    pub(crate) constraints: Vec<ConstraintModel>,
    pub(crate) partitioned: bool,
    /// From the live catalog; `None` when unknown (never analysed, or not from the catalog).
    pub(crate) estimated_rows: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ColumnModel {
    pub(crate) name: String,
    pub(crate) data_type: TypeName,
    pub(crate) not_null: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ConstraintModel {
    pub(crate) name: Option<String>,
    pub(crate) kind: ConstraintKind,
    pub(crate) validated: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct IndexModel {
    pub(crate) table: ObjectName,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
}

impl TableModel {
    pub(crate) fn column(&self, name: &str) -> Option<&ColumnModel> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut ColumnModel> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    /// Whether a validated `CHECK (column IS NOT NULL)` exists, which lets `SET NOT NULL` skip its scan (PG12+).
    pub(crate) fn has_validated_not_null_check(&self, column: &str) -> bool {
        self.constraints.iter().any(|c| {
            c.validated && matches!(&c.kind, ConstraintKind::Check { not_null_column: Some(col) } if col == column)
        })
    }

    fn add_constraint(&mut self, constraint: &TableConstraint) {
        if let ConstraintKind::PrimaryKey { columns, .. } = &constraint.kind {
            for column in columns {
                if let Some(column) = self.column_mut(column) {
                    column.not_null = true;
                }
            }
        }
        self.constraints.push(ConstraintModel {
            name: constraint.name.clone(),
            kind: constraint.kind.clone(),
            validated: !constraint.not_valid,
        });
    }
}

impl Schema {
    /// The schema the live catalog describes.
    pub(crate) fn from_catalog(catalog: &Catalog, dialect: Dialect) -> Self {
        let mut schema = Schema::default();
        for table in &catalog.tables {
            let name = ObjectName::new(table.name.schema.as_deref(), &table.name.name, dialect);
            let columns = table
                .columns
                .iter()
                .map(|c| ColumnModel {
                    name: c.name.clone(),
                    data_type: TypeName::parse(&c.data_type),
                    not_null: c.not_null,
                })
                .collect();
            let constraints = table
                .constraints
                .iter()
                .map(|c| ConstraintModel {
                    name: Some(c.name.clone()),
                    kind: match &c.kind {
                        CatalogConstraintKind::PrimaryKey => ConstraintKind::PrimaryKey {
                            columns: c.columns.clone(),
                            using_index: None,
                        },
                        CatalogConstraintKind::Unique => ConstraintKind::Unique {
                            columns: c.columns.clone(),
                            using_index: None,
                        },
                        CatalogConstraintKind::Check { not_null_column } => ConstraintKind::Check {
                            not_null_column: not_null_column.clone(),
                        },
                        CatalogConstraintKind::ForeignKey => ConstraintKind::ForeignKey {
                            columns: c.columns.clone(),
                            references: ObjectName::new(None, "", dialect),
                        },
                        CatalogConstraintKind::Exclusion => ConstraintKind::Exclusion,
                    },
                    validated: c.validated,
                })
                .collect();
            for index in &table.indexes {
                let index_name = ObjectName {
                    schema: name.schema.clone(),
                    name: index.name.clone(),
                };
                let model = IndexModel {
                    table: name.clone(),
                    columns: index.columns.clone(),
                    unique: index.unique,
                };
                schema.add_index(index_name, model);
            }
            let estimated_rows = (table.estimated_rows >= 0.0).then_some(table.estimated_rows);
            schema.tables.insert(
                name,
                TableModel {
                    columns,
                    constraints,
                    partitioned: false,
                    estimated_rows,
                },
            );
        }
        for enumeration in &catalog.enums {
            let name = ObjectName::new(
                enumeration.name.schema.as_deref(),
                &enumeration.name.name,
                dialect,
            );
            schema.enums.insert(name, enumeration.values.clone());
        }
        schema
    }

    fn add_index(&mut self, name: ObjectName, model: IndexModel) {
        self.indexes_by_table
            .entry(model.table.clone())
            .or_default()
            .push(name.clone());
        if let Some(replaced) = self.indexes.insert(name.clone(), model) {
            self.forget_index_of_table(&name, &replaced.table);
        }
    }

    fn remove_index(&mut self, name: &ObjectName) {
        if let Some(removed) = self.indexes.remove(name) {
            self.forget_index_of_table(name, &removed.table);
        }
    }

    fn forget_index_of_table(&mut self, name: &ObjectName, table: &ObjectName) {
        if let Some(names) = self.indexes_by_table.get_mut(table)
            && let Some(position) = names.iter().position(|n| n == name)
        {
            names.remove(position);
        }
    }

    pub(crate) fn table(&self, name: &ObjectName) -> Option<&TableModel> {
        self.tables.get(name)
    }

    pub(crate) fn index(&self, name: &ObjectName) -> Option<&IndexModel> {
        self.indexes.get(name)
    }

    /// Column sets that identify a row: primary key, unique constraints and unique indexes.
    pub(crate) fn key_columns(&self, table: &ObjectName) -> Vec<Vec<String>> {
        let mut keys: Vec<Vec<String>> = self
            .table(table)
            .map(|t| {
                t.constraints
                    .iter()
                    .filter_map(|c| match &c.kind {
                        ConstraintKind::PrimaryKey { columns, .. }
                        | ConstraintKind::Unique { columns, .. } => Some(columns.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let indexes = self
            .indexes_by_table
            .get(table)
            .into_iter()
            .flatten()
            .filter_map(|name| self.indexes.get(name));
        keys.extend(indexes.filter(|i| i.unique).map(|i| i.columns.clone()));
        keys
    }

    /// Records the effect of one statement. A `DO` block's statements are applied one by one by the caller.
    pub(crate) fn apply(&mut self, statement: &Statement) {
        match &statement.kind {
            StatementKind::CreateTable(create) => {
                let mut table = TableModel {
                    partitioned: create.partitioned,
                    ..TableModel::default()
                };
                for column in &create.columns {
                    table.columns.push(ColumnModel {
                        name: column.name.clone(),
                        data_type: column.data_type.clone(),
                        not_null: column.not_null || column.primary_key,
                    });
                    if column.primary_key {
                        let columns = vec![column.name.clone()];
                        table.add_constraint(&inline(ConstraintKind::PrimaryKey {
                            columns,
                            using_index: None,
                        }));
                    }
                    if column.unique {
                        let columns = vec![column.name.clone()];
                        table.add_constraint(&inline(ConstraintKind::Unique {
                            columns,
                            using_index: None,
                        }));
                    }
                }
                create
                    .constraints
                    .iter()
                    .for_each(|c| table.add_constraint(c));
                self.tables.insert(create.name.clone(), table);
            }
            StatementKind::AlterTable(alter) => {
                let table = self.tables.entry(alter.table.clone()).or_default();
                for action in &alter.actions {
                    apply_alter_action(table, &alter.table, &self.indexes, action);
                }
            }
            StatementKind::CreateIndex(index) => {
                let name = ObjectName {
                    schema: index.table.schema.clone(),
                    name: index.name.clone().unwrap_or_else(|| {
                        format!("{}_{}_idx", index.table.name, index.columns.join("_"))
                    }),
                };
                let model = IndexModel {
                    table: index.table.clone(),
                    columns: index.columns.clone(),
                    unique: index.unique,
                };
                self.add_index(name, model);
            }
            StatementKind::DropIndex { names, .. } => {
                names.iter().for_each(|n| self.remove_index(n))
            }
            StatementKind::RenameTable { table, new_name } => {
                if let Some(model) = self.tables.remove(table) {
                    self.tables.insert(
                        ObjectName {
                            schema: table.schema.clone(),
                            name: new_name.clone(),
                        },
                        model,
                    );
                }
            }
            StatementKind::RenameColumn {
                table,
                column,
                new_name,
            } => {
                if let Some(column) = self
                    .tables
                    .get_mut(table)
                    .and_then(|t| t.column_mut(column))
                {
                    column.name.clone_from(new_name);
                }
            }
            StatementKind::DropTable { tables, .. } => tables.iter().for_each(|t| {
                self.tables.remove(t);
            }),
            StatementKind::CreateEnum { name, values } => {
                self.enums.insert(name.clone(), values.clone());
            }
            StatementKind::AddEnumValue { type_name, value } => {
                self.enums
                    .entry(type_name.clone())
                    .or_default()
                    .push(value.clone());
            }
            _ => {}
        }
    }
}

fn inline(kind: ConstraintKind) -> TableConstraint {
    TableConstraint {
        name: None,
        kind,
        not_valid: false,
    }
}

/// `ADD CONSTRAINT ... USING INDEX idx` names no columns: they are the index's.
fn with_index_columns(
    constraint: &TableConstraint,
    table: &ObjectName,
    indexes: &HashMap<ObjectName, IndexModel>,
) -> TableConstraint {
    let mut constraint = constraint.clone();
    if let ConstraintKind::PrimaryKey {
        columns,
        using_index: Some(index),
    }
    | ConstraintKind::Unique {
        columns,
        using_index: Some(index),
    } = &mut constraint.kind
    {
        let index_name = ObjectName {
            schema: table.schema.clone(),
            name: index.clone(),
        };
        if let Some(index) = indexes.get(&index_name) {
            columns.clone_from(&index.columns);
        }
    }
    constraint
}

fn apply_alter_action(
    table: &mut TableModel,
    table_name: &ObjectName,
    indexes: &HashMap<ObjectName, IndexModel>,
    action: &AlterAction,
) {
    match action {
        AlterAction::AddColumn(column) => {
            table.columns.push(ColumnModel {
                name: column.name.clone(),
                data_type: column.data_type.clone(),
                not_null: column.not_null || column.primary_key,
            });
        }
        AlterAction::DropColumn { name } => table.columns.retain(|c| &c.name != name),
        AlterAction::AlterColumnType { column, new_type } => {
            if let Some(column) = table.column_mut(column) {
                column.data_type = new_type.clone();
            }
        }
        AlterAction::SetNotNull { column } | AlterAction::DropNotNull { column } => {
            let not_null = matches!(action, AlterAction::SetNotNull { .. });
            if let Some(column) = table.column_mut(column) {
                column.not_null = not_null;
            }
        }
        AlterAction::AddConstraint(constraint) => {
            table.add_constraint(&with_index_columns(constraint, table_name, indexes))
        }
        AlterAction::ValidateConstraint { name } => {
            for constraint in table
                .constraints
                .iter_mut()
                .filter(|c| c.name.as_deref() == Some(name))
            {
                constraint.validated = true;
            }
        }
        AlterAction::DropConstraint { name } => table
            .constraints
            .retain(|c| c.name.as_deref() != Some(name)),
        AlterAction::RedefineColumn { column, definition } => {
            if let Some(model) = table.column_mut(column) {
                model.name.clone_from(&definition.name);
                model.data_type = definition.data_type.clone();
                model.not_null = definition.not_null || definition.primary_key;
            }
        }
        AlterAction::DropPrimaryKey => table
            .constraints
            .retain(|c| !matches!(c.kind, ConstraintKind::PrimaryKey { .. })),
        AlterAction::DetachPartition { .. }
        | AlterAction::DisableTrigger { .. }
        | AlterAction::PlaceColumn { .. }
        | AlterAction::Other { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::postgres;

    fn schema_after(sql: &str) -> Schema {
        let mut schema = Schema::default();
        let tokens = strata_core::lexer::tokenize(sql, Dialect::Postgres);
        for parsed in postgres::parse(sql, &tokens).unwrap() {
            schema.apply(&parsed.statement);
        }
        schema
    }

    fn users() -> ObjectName {
        ObjectName::new(None, "users", Dialect::Postgres)
    }

    #[test]
    fn tracks_validated_not_null_checks() {
        let schema = schema_after(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);
             ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;",
        );
        assert!(
            !schema
                .table(&users())
                .unwrap()
                .has_validated_not_null_check("email")
        );
        let schema = schema_after(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);
             ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;
             ALTER TABLE users VALIDATE CONSTRAINT email_nn;",
        );
        assert!(
            schema
                .table(&users())
                .unwrap()
                .has_validated_not_null_check("email")
        );
    }

    #[test]
    fn knows_keys_from_constraints_and_unique_indexes() {
        let schema = schema_after(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);
             CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);",
        );
        assert_eq!(
            schema.key_columns(&users()),
            [vec!["id".to_owned()], vec!["email".to_owned()]]
        );
        assert!(
            schema
                .index(&ObjectName::new(None, "users_email", Dialect::Postgres))
                .unwrap()
                .unique
        );
    }

    #[test]
    fn follows_renames_and_drops() {
        let schema = schema_after(
            "CREATE TABLE public.users (id int, name text);
             ALTER TABLE users RENAME COLUMN name TO full_name;
             ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        );
        let table = schema.table(&users()).unwrap();
        assert!(table.column("full_name").is_some());
        assert_eq!(table.column("id").unwrap().data_type.name, "bigint");
        let schema = schema_after("CREATE TABLE users (id int); DROP TABLE users;");
        assert!(schema.table(&users()).is_none());
    }
}
