//! Lowering `sqlparser`'s AST into [`crate::ir`], shared by the front ends that parse with sqlparser (SQLite
//! and MySQL). Each front end finds its statements itself (sqlparser's spans are incomplete) and hands them
//! here one at a time, so a statement sqlparser cannot read becomes [`StatementKind::Unparsed`] in its place.

use sqlparser::ast::{
    self, AlterTableOperation, BinaryOperator, ColumnOption, Expr, FromTable,
    GeneratedExpressionMode, ObjectNamePart, TableFactor, TableObject,
};
use sqlparser::parser::Parser;
use strata_core::lexer::{TokenKind, tokens};

use crate::input::{Dialect, ObjectName};
use crate::ir::{
    AlterAction, AlterTable, ColumnDef, ConstraintKind, CreateIndex, CreateTable, DdlVerb, Dml,
    StatementKind, TableConstraint, TransactionCommand, TypeName, Volatility,
};

/// Parses one statement's text with `parser` and lowers it; `None` when sqlparser cannot read it.
pub(super) fn parse_statement(
    parser: &dyn sqlparser::dialect::Dialect,
    text: &str,
    dialect: Dialect,
) -> Option<StatementKind> {
    let parsed = Parser::parse_sql(parser, text).ok()?;
    let lowering = Lowering { dialect };
    Some(
        parsed
            .first()
            .map_or(StatementKind::Other, |s| lowering.statement(s)),
    )
}

/// The statement sqlparser could not read, with whether its leading keyword changes the schema.
pub(super) fn unparsed(text: &str, dialect: Dialect) -> StatementKind {
    let mut words = tokens(text, dialect)
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| t.text(text).to_ascii_uppercase());
    let first = words.next().unwrap_or_default();
    let temporary = words.next().is_some_and(|w| w == "TEMPORARY");
    let ddl = !temporary
        && matches!(
            first.as_str(),
            "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE"
        );
    StatementKind::Unparsed { ddl }
}

/// The dialect whose names the AST holds (for schema qualification).
struct Lowering {
    dialect: Dialect,
}

impl Lowering {
    fn name(&self, object: &ast::ObjectName) -> ObjectName {
        let parts: Vec<String> = object
            .0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => ident.value.to_lowercase(),
                ObjectNamePart::Function(function) => function.name.value.to_lowercase(),
            })
            .collect();
        let (last, rest) = parts
            .split_last()
            .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
        ObjectName::new(rest.last().map(String::as_str), last, self.dialect)
    }

    fn statement(&self, statement: &ast::Statement) -> StatementKind {
        use StatementKind as K;
        match statement {
            ast::Statement::CreateTable(create) => K::CreateTable(CreateTable {
                name: self.name(&create.name),
                if_not_exists: create.if_not_exists,
                columns: create.columns.iter().map(|c| self.column(c)).collect(),
                constraints: create
                    .constraints
                    .iter()
                    .filter_map(|c| self.constraint(c))
                    .collect(),
                partitioned: false,
            }),
            ast::Statement::AlterTable(alter) => self.alter(alter),
            ast::Statement::CreateIndex(index) => K::CreateIndex(CreateIndex {
                name: index.name.as_ref().map(|n| self.name(n).name),
                table: self.name(&index.table_name),
                unique: index.unique,
                concurrently: false,
                if_not_exists: index.if_not_exists,
                only: false,
                columns: index
                    .columns
                    .iter()
                    .map(|c| c.column.expr.to_string().to_lowercase())
                    .collect(),
            }),
            ast::Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => self.drop(*object_type, *if_exists, names),
            ast::Statement::RenameTable(renames) => match renames.first() {
                Some(rename) => K::RenameTable {
                    table: self.name(&rename.old_name),
                    new_name: self.name(&rename.new_name).name,
                },
                None => K::Other,
            },
            ast::Statement::Truncate(truncate) => K::Truncate {
                tables: truncate
                    .table_names
                    .iter()
                    .map(|t| self.name(&t.name))
                    .collect(),
            },
            ast::Statement::Update(update) => {
                match self.table_factor_name(&update.table.relation) {
                    Some(table) => K::Update(dml(table, update.selection.as_ref())),
                    None => K::Other,
                }
            }
            ast::Statement::Delete(delete) => {
                let tables = match &delete.from {
                    FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => {
                        tables
                    }
                };
                match tables
                    .first()
                    .and_then(|t| self.table_factor_name(&t.relation))
                {
                    Some(table) => K::Delete(dml(table, delete.selection.as_ref())),
                    None => K::Other,
                }
            }
            ast::Statement::Insert(insert) => match &insert.table {
                TableObject::TableName(table) => K::Insert {
                    table: self.name(table),
                },
                _ => K::Other,
            },
            ast::Statement::Set(set) => set_variable(set),
            ast::Statement::StartTransaction { .. } => K::Transaction(TransactionCommand::Begin),
            ast::Statement::Commit { .. } => K::Transaction(TransactionCommand::Commit),
            ast::Statement::Rollback {
                savepoint: None, ..
            } => K::Transaction(TransactionCommand::Rollback),
            ast::Statement::Rollback { .. }
            | ast::Statement::Savepoint { .. }
            | ast::Statement::ReleaseSavepoint { .. } => K::Transaction(TransactionCommand::Other),
            ast::Statement::Vacuum(_) => K::Vacuum {
                full: false,
                tables: Vec::new(),
            },
            ast::Statement::CreateView(create) => K::OtherDdl {
                verb: DdlVerb::Create,
                guard: create.if_not_exists || create.or_replace,
            },
            ast::Statement::CreateTrigger(_) => K::OtherDdl {
                verb: DdlVerb::Create,
                guard: false,
            },
            _ => K::Other,
        }
    }

    fn drop(
        &self,
        object_type: ast::ObjectType,
        if_exists: bool,
        names: &[ast::ObjectName],
    ) -> StatementKind {
        use StatementKind as K;
        let plain_names = || names.iter().map(|n| self.name(n).name).collect::<Vec<_>>();
        match object_type {
            ast::ObjectType::Table => K::DropTable {
                tables: names.iter().map(|n| self.name(n)).collect(),
                if_exists,
            },
            ast::ObjectType::Index => K::DropIndex {
                names: names.iter().map(|n| self.name(n)).collect(),
                concurrently: false,
                if_exists,
            },
            // In MySQL a schema is a database; both lose every table in it.
            ast::ObjectType::Schema => K::DropSchema {
                names: plain_names(),
                if_exists,
            },
            ast::ObjectType::Database => K::DropDatabase {
                name: plain_names().join(", "),
                if_exists,
            },
            _ => K::OtherDdl {
                verb: DdlVerb::Drop,
                guard: if_exists,
            },
        }
    }

    fn table_factor_name(&self, factor: &TableFactor) -> Option<ObjectName> {
        match factor {
            TableFactor::Table { name: table, .. } => Some(self.name(table)),
            _ => None,
        }
    }

    fn column(&self, column: &ast::ColumnDef) -> ColumnDef {
        let options = column.options.iter().map(|o| &o.option);
        self.column_from(&column.name, &column.data_type, options)
    }

    fn column_from<'o>(
        &self,
        name: &ast::Ident,
        data_type: &ast::DataType,
        options: impl IntoIterator<Item = &'o ColumnOption>,
    ) -> ColumnDef {
        let mut def = ColumnDef {
            name: name.value.to_lowercase(),
            data_type: TypeName::parse(&data_type.to_string()),
            not_null: false,
            primary_key: false,
            unique: false,
            default: None,
            generated_stored: false,
            identity: false,
            references: None,
        };
        for option in options {
            match option {
                ColumnOption::NotNull => def.not_null = true,
                ColumnOption::PrimaryKey(_) => def.primary_key = true,
                ColumnOption::Unique(_) => def.unique = true,
                ColumnOption::Default(_) => def.default = Some(Volatility::NonVolatile),
                ColumnOption::ForeignKey(fk) => def.references = Some(self.name(&fk.foreign_table)),
                // MySQL and SQLite generate `AS (expr)` columns as VIRTUAL unless told `STORED`.
                ColumnOption::Generated {
                    generation_expr_mode,
                    ..
                } => {
                    def.generated_stored =
                        *generation_expr_mode == Some(GeneratedExpressionMode::Stored)
                }
                _ => {}
            }
        }
        def
    }

    fn constraint(&self, constraint: &ast::TableConstraint) -> Option<TableConstraint> {
        let columns = |cols: &[ast::IndexColumn]| {
            cols.iter()
                .map(|c| c.column.expr.to_string().to_lowercase())
                .collect()
        };
        let (name, kind) = match constraint {
            ast::TableConstraint::PrimaryKey(pk) => (
                &pk.name,
                ConstraintKind::PrimaryKey {
                    columns: columns(&pk.columns),
                    using_index: None,
                },
            ),
            ast::TableConstraint::Unique(unique) => (
                &unique.name,
                ConstraintKind::Unique {
                    columns: columns(&unique.columns),
                    using_index: None,
                },
            ),
            ast::TableConstraint::ForeignKey(fk) => (
                &fk.name,
                ConstraintKind::ForeignKey {
                    columns: fk.columns.iter().map(|c| c.value.to_lowercase()).collect(),
                    references: self.name(&fk.foreign_table),
                },
            ),
            _ => return None,
        };
        Some(TableConstraint {
            name: name.as_ref().map(|n| n.value.to_lowercase()),
            kind,
            not_valid: false,
        })
    }

    /// An `ALTER TABLE`; a lone rename becomes its own statement kind like in PostgreSQL. MySQL's
    /// `ALGORITHM=` and `LOCK=` are not changes: the front end reads them from tokens.
    fn alter(&self, alter: &ast::AlterTable) -> StatementKind {
        let table = self.name(&alter.name);
        let changes: Vec<&AlterTableOperation> = alter
            .operations
            .iter()
            .filter(|op| {
                !matches!(
                    op,
                    AlterTableOperation::Algorithm { .. } | AlterTableOperation::Lock { .. }
                )
            })
            .collect();
        if let [operation] = &changes[..] {
            match operation {
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    return StatementKind::RenameColumn {
                        table,
                        column: old_column_name.value.to_lowercase(),
                        new_name: new_column_name.value.to_lowercase(),
                    };
                }
                AlterTableOperation::RenameTable { table_name } => {
                    let (ast::RenameTableNameKind::As(new) | ast::RenameTableNameKind::To(new)) =
                        table_name;
                    return StatementKind::RenameTable {
                        table,
                        new_name: self.name(new).name,
                    };
                }
                _ => {}
            }
        }
        let actions = changes
            .into_iter()
            .flat_map(|operation| self.alter_actions(operation))
            .collect();
        StatementKind::AlterTable(AlterTable { table, actions })
    }

    fn alter_actions(&self, operation: &AlterTableOperation) -> Vec<AlterAction> {
        let placed = |column: &str, position: &Option<ast::MySQLColumnPosition>| {
            position.as_ref().map(|_| AlterAction::PlaceColumn {
                column: column.to_owned(),
            })
        };
        match operation {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                ..
            } => {
                let column = self.column(column_def);
                let place = placed(&column.name, column_position);
                std::iter::once(AlterAction::AddColumn(column))
                    .chain(place)
                    .collect()
            }
            AlterTableOperation::DropColumn { column_names, .. } => column_names
                .iter()
                .map(|c| AlterAction::DropColumn {
                    name: c.value.to_lowercase(),
                })
                .collect(),
            AlterTableOperation::ModifyColumn {
                col_name,
                data_type,
                options,
                column_position,
            } => {
                let definition = self.column_from(col_name, data_type, options);
                redefined(&col_name.value, definition, column_position)
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                column_position,
            } => {
                let definition = self.column_from(new_name, data_type, options);
                redefined(&old_name.value, definition, column_position)
            }
            AlterTableOperation::DropPrimaryKey { .. } => vec![AlterAction::DropPrimaryKey],
            AlterTableOperation::AddConstraint { constraint, .. } => {
                match self.constraint(constraint) {
                    Some(constraint) => vec![AlterAction::AddConstraint(constraint)],
                    None => vec![other(operation)],
                }
            }
            _ => vec![other(operation)],
        }
    }
}

/// `MODIFY`/`CHANGE` of `old_name`, and where the column goes when `FIRST`/`AFTER` says.
fn redefined(
    old_name: &str,
    definition: ColumnDef,
    position: &Option<ast::MySQLColumnPosition>,
) -> Vec<AlterAction> {
    let place = position.as_ref().map(|_| AlterAction::PlaceColumn {
        column: definition.name.clone(),
    });
    std::iter::once(AlterAction::RedefineColumn {
        column: old_name.to_lowercase(),
        definition,
    })
    .chain(place)
    .collect()
}

/// An operation the IR has no variant for, named by its leading keywords (`ALTER COLUMN`, `DROP
/// CONSTRAINT`) for messages.
fn other(operation: &AlterTableOperation) -> AlterAction {
    let text = operation.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    AlterAction::Other {
        description: words.join(" "),
    }
}

/// `SET [SESSION] name = value` (MySQL's `SET a = 1, b = 2` keeps its first assignment). The value is kept
/// as written, without quotes.
fn set_variable(set: &ast::Set) -> StatementKind {
    let (variable, value) = match set {
        ast::Set::SingleAssignment {
            variable, values, ..
        } => (variable, values.first()),
        ast::Set::MultipleAssignments { assignments } => match assignments.first() {
            Some(assignment) => (&assignment.name, Some(&assignment.value)),
            None => return StatementKind::Other,
        },
        _ => return StatementKind::Other,
    };
    let name = variable.to_string().to_lowercase();
    // `@@session.foreign_key_checks`, `@@foreign_key_checks`: the variable is the last part.
    let name = name.rsplit('.').next().unwrap_or_default();
    let value = value.map(ToString::to_string).unwrap_or_default();
    StatementKind::Set {
        name: name.trim_start_matches('@').to_owned(),
        value: value.trim_matches(['\'', '"']).to_owned(),
    }
}

fn dml(table: ObjectName, selection: Option<&Expr>) -> Dml {
    let mut bounded_columns = Vec::new();
    if let Some(condition) = selection {
        collect_bounded_columns(condition, &mut bounded_columns);
    }
    Dml {
        table,
        has_where: selection.is_some(),
        bounded_columns,
    }
}

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_lowercase()),
        _ => None,
    }
}

fn collect_bounded_columns(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Nested(inner) => collect_bounded_columns(inner, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            collect_bounded_columns(left, out);
            collect_bounded_columns(right, out);
        }
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Eq
                | BinaryOperator::Lt
                | BinaryOperator::Gt
                | BinaryOperator::LtEq
                | BinaryOperator::GtEq,
            right,
        } => {
            if let (Some(column), None) | (None, Some(column)) =
                (column_name(left), column_name(right))
            {
                out.push(column);
            }
        }
        Expr::InList {
            expr,
            negated: false,
            ..
        }
        | Expr::Between {
            expr,
            negated: false,
            ..
        } => {
            out.extend(column_name(expr));
        }
        _ => {}
    }
}
