//! SQLite front end: `sqlparser`'s `SQLiteDialect`, best effort.
//!
//! Statements are located by [`split`] (sqlparser's spans are incomplete) and parsed one
//! at a time, so a statement sqlparser cannot read (`PRAGMA foreign_keys = ON`) becomes
//! [`StatementKind::Unparsed`] in its place instead of failing the file or shifting the line accounting.

use std::ops::Range;

use sqlparser::ast::{
    self, AlterTableOperation, BinaryOperator, ColumnOption, Expr, FromTable, ObjectNamePart,
    TableFactor, TableObject,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use strata_core::lexer::{TokenKind, tokens};

use super::{ParsedStatement, read_tokens};
use crate::input::{Dialect, ObjectName};
use crate::ir::{
    AlterAction, AlterTable, ColumnDef, ConstraintKind, CreateIndex, CreateTable, DdlVerb, Dml,
    Statement, StatementKind, TableConstraint, TransactionCommand, TypeName, Volatility,
};

/// Parses a file; never fails.
pub(crate) fn parse(sql: &str) -> Vec<ParsedStatement> {
    split(sql)
        .into_iter()
        .map(|range| {
            let text = &sql[range.clone()];
            let kind = match Parser::parse_sql(&SQLiteDialect {}, text) {
                Ok(parsed) => parsed.first().map_or(StatementKind::Other, lower),
                Err(_) if is_foreign_keys_pragma(text) => StatementKind::NonTransactional,
                Err(_) => StatementKind::Unparsed,
            };
            let mut statement = Statement::new(kind);
            read_tokens(&mut statement, text, Dialect::Sqlite);
            ParsedStatement { range, statement }
        })
        .collect()
}

/// Splits SQLite text into statement ranges (first token to the end of the last token before `;`).
///
/// `CREATE TRIGGER ... BEGIN ...; ...; END;` is kept whole: inside a trigger body semicolons do not end the
/// statement until the `END` that closes it.
fn split(sql: &str) -> Vec<Range<usize>> {
    let mut statements = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut words: Vec<String> = Vec::new();
    for token in tokens(sql, Dialect::Sqlite).filter(|t| t.is_significant()) {
        if token.kind == TokenKind::Semicolon {
            let in_trigger_body = is_trigger(&words)
                && words.iter().any(|w| w == "begin")
                && words.last().is_none_or(|w| w != "end");
            if !in_trigger_body {
                statements.extend(current.take());
                words.clear();
            }
            continue;
        }
        if token.kind == TokenKind::Word {
            words.push(token.text(sql).to_ascii_lowercase());
        }
        current = Some(match current {
            Some(range) => range.start..token.end,
            None => token.start..token.end,
        });
    }
    statements.extend(current);
    statements
}

fn is_trigger(words: &[String]) -> bool {
    words.first().is_some_and(|w| w == "create") && words.iter().take(4).any(|w| w == "trigger")
}

/// `PRAGMA foreign_keys = ...` is ignored inside a transaction, so the runner runs such a file outside one.
fn is_foreign_keys_pragma(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("pragma") && lower.contains("foreign_keys")
}

fn name(object: &ast::ObjectName) -> ObjectName {
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
    ObjectName::new(rest.last().map(String::as_str), last, Dialect::Sqlite)
}

fn lower(statement: &ast::Statement) -> StatementKind {
    use StatementKind as K;
    match statement {
        ast::Statement::CreateTable(create) => K::CreateTable(CreateTable {
            name: name(&create.name),
            if_not_exists: create.if_not_exists,
            columns: create.columns.iter().map(lower_column).collect(),
            constraints: create
                .constraints
                .iter()
                .filter_map(lower_constraint)
                .collect(),
            partitioned: false,
        }),
        ast::Statement::AlterTable(alter) => lower_alter(alter),
        ast::Statement::CreateIndex(index) => K::CreateIndex(CreateIndex {
            name: index.name.as_ref().map(|n| name(n).name),
            table: name(&index.table_name),
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
        } => {
            let names: Vec<ObjectName> = names.iter().map(name).collect();
            match object_type {
                ast::ObjectType::Table => K::DropTable {
                    tables: names,
                    if_exists: *if_exists,
                },
                ast::ObjectType::Index => K::DropIndex {
                    names,
                    concurrently: false,
                    if_exists: *if_exists,
                },
                _ => K::OtherDdl {
                    verb: DdlVerb::Drop,
                    guard: *if_exists,
                },
            }
        }
        ast::Statement::Update(update) => match table_factor_name(&update.table.relation) {
            Some(table) => K::Update(dml(table, update.selection.as_ref())),
            None => K::Other,
        },
        ast::Statement::Delete(delete) => {
            let tables = match &delete.from {
                FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => tables,
            };
            match tables.first().and_then(|t| table_factor_name(&t.relation)) {
                Some(table) => K::Delete(dml(table, delete.selection.as_ref())),
                None => K::Other,
            }
        }
        ast::Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(table) => K::Insert { table: name(table) },
            _ => K::Other,
        },
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
            guard: create.if_not_exists,
        },
        ast::Statement::CreateTrigger(_) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: false,
        },
        _ => K::Other,
    }
}

fn table_factor_name(factor: &TableFactor) -> Option<ObjectName> {
    match factor {
        TableFactor::Table { name: table, .. } => Some(name(table)),
        _ => None,
    }
}

fn lower_column(column: &ast::ColumnDef) -> ColumnDef {
    let mut def = ColumnDef {
        name: column.name.value.to_lowercase(),
        data_type: TypeName::parse(&column.data_type.to_string()),
        not_null: false,
        primary_key: false,
        unique: false,
        default: None,
        generated_stored: false,
        identity: false,
        references: None,
    };
    for option in &column.options {
        match &option.option {
            ColumnOption::NotNull => def.not_null = true,
            ColumnOption::PrimaryKey(_) => def.primary_key = true,
            ColumnOption::Unique(_) => def.unique = true,
            ColumnOption::Default(_) => def.default = Some(Volatility::NonVolatile),
            ColumnOption::ForeignKey(fk) => def.references = Some(name(&fk.foreign_table)),
            ColumnOption::Generated { .. } => def.generated_stored = true,
            _ => {}
        }
    }
    def
}

fn lower_constraint(constraint: &ast::TableConstraint) -> Option<TableConstraint> {
    let columns = |cols: &[ast::IndexColumn]| {
        cols.iter()
            .map(|c| c.column.expr.to_string().to_lowercase())
            .collect()
    };
    let kind = match constraint {
        ast::TableConstraint::PrimaryKey(pk) => ConstraintKind::PrimaryKey {
            columns: columns(&pk.columns),
            using_index: None,
        },
        ast::TableConstraint::Unique(unique) => ConstraintKind::Unique {
            columns: columns(&unique.columns),
            using_index: None,
        },
        ast::TableConstraint::ForeignKey(fk) => ConstraintKind::ForeignKey {
            columns: fk.columns.iter().map(|c| c.value.to_lowercase()).collect(),
            references: name(&fk.foreign_table),
        },
        _ => return None,
    };
    Some(TableConstraint {
        name: None,
        kind,
        not_valid: false,
    })
}

/// SQLite's `ALTER TABLE` takes one operation; renames become their own statement kinds like in PostgreSQL.
fn lower_alter(alter: &ast::AlterTable) -> StatementKind {
    let table = name(&alter.name);
    if let [operation] = &alter.operations[..] {
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
                    new_name: name(new).name,
                };
            }
            _ => {}
        }
    }
    let actions = alter
        .operations
        .iter()
        .flat_map(|operation| match operation {
            AlterTableOperation::AddColumn { column_def, .. } => {
                vec![AlterAction::AddColumn(lower_column(column_def))]
            }
            AlterTableOperation::DropColumn { column_names, .. } => column_names
                .iter()
                .map(|c| AlterAction::DropColumn {
                    name: c.value.to_lowercase(),
                })
                .collect(),
            other => vec![AlterAction::Other {
                description: operation_description(other),
            }],
        })
        .collect();
    StatementKind::AlterTable(AlterTable { table, actions })
}

/// The leading keywords of an operation (`ALTER COLUMN`, `DROP CONSTRAINT`), for messages.
fn operation_description(operation: &AlterTableOperation) -> String {
    let text = operation.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    words.join(" ")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(sql: &str) -> Vec<&str> {
        split(sql).into_iter().map(|r| &sql[r]).collect()
    }

    #[test]
    fn split_keeps_trigger_bodies_whole() {
        let sql = "CREATE TABLE t (a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; END; PRAGMA foreign_keys = ON";
        assert_eq!(
            pieces(sql),
            [
                "CREATE TABLE t (a)",
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; END",
                "PRAGMA foreign_keys = ON"
            ]
        );
    }

    #[test]
    fn split_ignores_semicolons_in_strings_and_comments() {
        assert_eq!(
            pieces("INSERT INTO t VALUES ('a;b'); -- c;\nSELECT 1;"),
            ["INSERT INTO t VALUES ('a;b')", "SELECT 1"]
        );
    }

    #[test]
    fn unparsable_statements_keep_their_place() {
        let sql = "PRAGMA foreign_keys = ON;\nCREATE TABLE t (id integer primary key);\nWHATEVER this is;";
        let parsed = parse(sql);
        assert_eq!(parsed.len(), 3);
        assert!(matches!(
            parsed[0].statement.kind,
            StatementKind::NonTransactional
        ));
        assert!(matches!(
            parsed[1].statement.kind,
            StatementKind::CreateTable(_)
        ));
        assert!(matches!(parsed[2].statement.kind, StatementKind::Unparsed));
        assert_eq!(&sql[parsed[2].range.clone()], "WHATEVER this is");
    }

    #[test]
    fn renames_and_unsupported_alters_are_lowered() {
        let parsed =
            parse("ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t ALTER COLUMN a SET NOT NULL;");
        assert!(matches!(
            parsed[0].statement.kind,
            StatementKind::RenameColumn { .. }
        ));
        let StatementKind::AlterTable(alter) = &parsed[1].statement.kind else {
            panic!("expected ALTER TABLE")
        };
        assert!(
            matches!(&alter.actions[..], [AlterAction::Other { description }] if description == "ALTER COLUMN")
        );
    }
}
