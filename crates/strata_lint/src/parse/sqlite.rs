//! SQLite front end: `sqlparser`'s `SQLiteDialect`, best effort, lowered by [`super::sqlparser_lower`].
//!
//! Statements are located by [`split`] (sqlparser's spans are incomplete) and parsed one
//! at a time, so a statement sqlparser cannot read (`PRAGMA foreign_keys = ON`) becomes
//! [`StatementKind::Unparsed`] in its place instead of failing the file or shifting the line accounting.

use std::ops::Range;

use sqlparser::dialect::SQLiteDialect;
use strata_core::lexer::{TokenKind, tokens};

use super::sqlparser_lower::{parse_statement, unparsed};
use super::{ParsedStatement, read_tokens};
use crate::input::Dialect;
use crate::ir::{Statement, StatementKind};

/// Parses a file; never fails.
pub(crate) fn parse(sql: &str) -> Vec<ParsedStatement> {
    split(sql)
        .into_iter()
        .map(|range| {
            let text = &sql[range.clone()];
            let kind = match parse_statement(&SQLiteDialect {}, text, Dialect::Sqlite) {
                Some(kind) => kind,
                None if is_foreign_keys_pragma(text) => StatementKind::NonTransactional,
                None => unparsed(text, Dialect::Sqlite),
            };
            let mut statement = Statement::new(kind);
            read_tokens(&mut statement, text, tokens(text, Dialect::Sqlite));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::AlterAction;

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
        assert!(matches!(
            parsed[2].statement.kind,
            StatementKind::Unparsed { ddl: false }
        ));
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
