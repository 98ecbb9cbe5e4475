//! MySQL / MariaDB front end: statements found by [`split_mysql`] (exactly as the runner executes them),
//! each parsed with `sqlparser`'s `MySqlDialect` and lowered by [`super::sqlparser_lower`].
//!
//! Tolerant: on MySQL the server, not sqlparser, decides what is valid (strata executes a statement
//! sqlparser cannot read). Such a statement stays in its place as [`StatementKind::Unparsed`] and is still
//! linted for what its tokens show: online-DDL clauses, a charset conversion, over-long names, whether it
//! changes the schema. Only a file that cannot be split (a `DELIMITER` without a value) is rejected, since
//! the runner refuses it too.

use sqlparser::dialect::MySqlDialect;
use strata_core::delimiter::split_mysql;
use strata_core::lexer::{Token, TokenKind, tokens};

use super::sqlparser_lower::{parse_statement, unparsed};
use super::{ParsedStatement, string_literal, unquote};
use crate::error::ParseError;
use crate::input::{Dialect, ObjectName};
use crate::ir::{OnlineDdl, Statement};

/// MySQL and MariaDB reject identifiers longer than 64 characters (error 1059, "Identifier name is too
/// long"); unlike PostgreSQL they count characters, not bytes.
pub(crate) const MAX_IDENTIFIER_CHARS: usize = 64;

/// Parses a file; fails only when it cannot be split into statements.
pub(crate) fn parse(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    let ranges = split_mysql(sql).map_err(|error| ParseError {
        offset: line_start(sql, error.line),
        message: format!("line {}: {}", error.line, error.message),
    })?;
    Ok(ranges
        .into_iter()
        .map(|range| {
            let text = &sql[range.clone()];
            let kind = parse_statement(&MySqlDialect {}, text, Dialect::MySql)
                .unwrap_or_else(|| unparsed(text, Dialect::MySql));
            let mut statement = Statement::new(kind);
            read_tokens(&mut statement, text);
            ParsedStatement { range, statement }
        })
        .collect())
}

/// Byte offset where 1-based `line` starts.
fn line_start(sql: &str, line: u32) -> usize {
    let before = usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX);
    sql.split_inclusive('\n').take(before).map(str::len).sum()
}

/// Fills in what rules read from tokens: string literals (`'...'`, and `"..."`, a string in MySQL unless
/// `ANSI_QUOTES`), identifiers over [`MAX_IDENTIFIER_CHARS`], and the online-DDL clauses.
fn read_tokens(statement: &mut Statement, text: &str) {
    let significant: Vec<Token> = tokens(text, Dialect::MySql)
        .filter(Token::is_significant)
        .collect();
    for token in &significant {
        let raw = token.text(text);
        match token.kind {
            TokenKind::Quoted if raw.starts_with('`') => {
                let name = unquote(raw, '`');
                if name.chars().count() > MAX_IDENTIFIER_CHARS {
                    statement.long_identifiers.push(name);
                }
            }
            TokenKind::Quoted => {
                if let Some(literal) = string_literal(raw) {
                    statement.string_literals.push(unquote(literal, '\''));
                } else if raw.starts_with('"') {
                    statement.string_literals.push(unquote(raw, '"'));
                }
            }
            TokenKind::Word
                if raw.chars().count() > MAX_IDENTIFIER_CHARS
                    && !raw.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                statement.long_identifiers.push(raw.to_owned());
            }
            _ => {}
        }
    }
    statement.online_ddl = online_ddl(text, &significant);
}

/// `LOCK` values of `ALTER TABLE` / `CREATE INDEX` (`LOCK TABLES` is another statement).
const LOCK_VALUES: &[&str] = &["NONE", "SHARED", "EXCLUSIVE", "DEFAULT"];

fn online_ddl(text: &str, significant: &[Token]) -> OnlineDdl {
    let word = |i: usize| {
        significant
            .get(i)
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text(text).to_ascii_uppercase())
    };
    // The value after `name`, with or without `=`.
    let value_after = |i: usize| match significant.get(i + 1) {
        Some(t) if t.text(text) == "=" => word(i + 2),
        _ => word(i + 1),
    };
    let mut clauses = OnlineDdl::default();
    for index in 0..significant.len() {
        match word(index).as_deref() {
            Some("ALGORITHM") => clauses.algorithm = value_after(index).or(clauses.algorithm),
            Some("LOCK") => {
                if let Some(value) =
                    value_after(index).filter(|v| LOCK_VALUES.contains(&v.as_str()))
                {
                    clauses.lock = Some(value);
                }
            }
            _ => {}
        }
    }
    clauses.charset_conversion = charset_conversion(text, significant);
    clauses
}

/// The table of `ALTER [ONLINE] [IGNORE] TABLE t ... CONVERT TO {CHARACTER SET | CHARSET} ...`.
fn charset_conversion(text: &str, significant: &[Token]) -> Option<ObjectName> {
    let upper: Vec<String> = significant
        .iter()
        .map(|t| t.text(text).to_ascii_uppercase())
        .collect();
    if upper.first().map(String::as_str) != Some("ALTER") {
        return None;
    }
    let converts = upper
        .windows(3)
        .any(|w| w[0] == "CONVERT" && w[1] == "TO" && (w[2] == "CHARACTER" || w[2] == "CHARSET"));
    if !converts {
        return None;
    }
    let table_keyword = upper.iter().take(4).position(|w| w == "TABLE")?;
    let part = |i: usize| {
        significant.get(i).map(|t| {
            let raw = t.text(text);
            let name = if raw.starts_with('`') {
                unquote(raw, '`')
            } else {
                raw.to_owned()
            };
            name.to_lowercase()
        })
    };
    let first = part(table_keyword + 1)?;
    Some(match upper.get(table_keyword + 2).map(String::as_str) {
        Some(".") => ObjectName::new(Some(&first), &part(table_keyword + 3)?, Dialect::MySql),
        _ => ObjectName::new(None, &first, Dialect::MySql),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{AlterAction, StatementKind};

    fn kinds(sql: &str) -> Vec<StatementKind> {
        parse(sql)
            .unwrap()
            .into_iter()
            .map(|p| p.statement.kind)
            .collect()
    }

    #[test]
    fn statements_are_found_like_the_runner_finds_them() {
        let sql = "CREATE TABLE t (id BIGINT PRIMARY KEY);\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\n# a comment;\nINSERT INTO t VALUES (1);";
        let parsed = parse(sql).unwrap();
        let texts: Vec<&str> = parsed.iter().map(|p| &sql[p.range.clone()]).collect();
        assert_eq!(
            texts,
            [
                "CREATE TABLE t (id BIGINT PRIMARY KEY)",
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
                "INSERT INTO t VALUES (1)"
            ]
        );
        assert!(matches!(
            parsed[0].statement.kind,
            StatementKind::CreateTable(_)
        ));
        assert!(matches!(
            parsed[1].statement.kind,
            StatementKind::Unparsed { ddl: true }
        ));
        assert!(matches!(
            parsed[2].statement.kind,
            StatementKind::Insert { .. }
        ));
    }

    #[test]
    fn a_delimiter_without_value_is_an_error_at_its_line() {
        let error = parse("SELECT 1;\n\nDELIMITER\nSELECT 2;").unwrap_err();
        assert!(error.message.starts_with("line 3:"), "{}", error.message);
        assert_eq!(error.offset, "SELECT 1;\n\n".len());
    }

    #[test]
    fn unparsable_statements_keep_their_place_and_what_tokens_show() {
        let parsed = parse(
            "ALTER TABLE `app`.`Users` CONVERT TO CHARACTER SET utf8mb4, ALGORITHM = COPY, LOCK=SHARED;\nSELECT 1;",
        )
        .unwrap();
        assert_eq!(parsed.len(), 2);
        let first = &parsed[0].statement;
        assert!(matches!(first.kind, StatementKind::Unparsed { ddl: true }));
        assert_eq!(first.online_ddl.algorithm.as_deref(), Some("COPY"));
        assert_eq!(first.online_ddl.lock.as_deref(), Some("SHARED"));
        assert_eq!(
            first.online_ddl.charset_conversion,
            Some(ObjectName::new(Some("app"), "users", Dialect::MySql))
        );
    }

    #[test]
    fn modify_change_and_positions_are_lowered() {
        let kinds = kinds(
            "ALTER TABLE t MODIFY COLUMN c BIGINT NOT NULL, CHANGE a b INT AFTER c, ADD COLUMN d INT FIRST, DROP PRIMARY KEY, ALGORITHM=INPLACE;",
        );
        let [StatementKind::AlterTable(alter)] = &kinds[..] else {
            panic!("expected one ALTER TABLE: {kinds:?}")
        };
        let summary: Vec<String> = alter
            .actions
            .iter()
            .map(|a| match a {
                AlterAction::RedefineColumn { column, definition } => format!(
                    "redefine {column} as {} {} not_null={}",
                    definition.name, definition.data_type, definition.not_null
                ),
                AlterAction::PlaceColumn { column } => format!("place {column}"),
                AlterAction::AddColumn(column) => format!("add {}", column.name),
                AlterAction::DropPrimaryKey => "drop primary key".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "redefine c as c bigint not_null=true",
                "redefine a as b integer not_null=false",
                "place b",
                "add d",
                "place d",
                "drop primary key"
            ]
        );
    }

    #[test]
    fn lock_tables_is_not_an_online_ddl_clause() {
        let parsed = parse("LOCK TABLES t WRITE;").unwrap();
        assert_eq!(parsed[0].statement.online_ddl, OnlineDdl::default());
    }

    #[test]
    fn long_names_count_characters_and_double_quotes_are_strings() {
        let long = "é".repeat(MAX_IDENTIFIER_CHARS);
        let parsed = parse(&format!(
            "CREATE TABLE `{long}` (id INT); INSERT INTO t VALUES (\"a\", 'b');"
        ))
        .unwrap();
        assert!(parsed[0].statement.long_identifiers.is_empty());
        assert_eq!(parsed[1].statement.string_literals, ["a", "b"]);
        let parsed = parse(&format!("CREATE TABLE `{long}x` (id INT);")).unwrap();
        assert_eq!(parsed[0].statement.long_identifiers.len(), 1);
    }

    #[test]
    fn set_statements_are_lowered_with_their_variable() {
        let kinds = kinds("SET FOREIGN_KEY_CHECKS = 0; SET @@session.lock_wait_timeout = 0;");
        let sets: Vec<(String, String)> = kinds
            .into_iter()
            .filter_map(|k| match k {
                StatementKind::Set { name, value } => Some((name, value)),
                _ => None,
            })
            .collect();
        assert_eq!(
            sets,
            [
                ("foreign_key_checks".to_owned(), "0".to_owned()),
                ("lock_wait_timeout".to_owned(), "0".to_owned())
            ]
        );
    }
}
