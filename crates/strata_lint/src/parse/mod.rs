//! Front ends: split a file into statements, locate each one, and lower it into [`crate::ir`].

use std::ops::Range;

use strata_core::lexer::{Token, TokenKind};

use crate::input::Dialect;
use crate::ir::Statement;

pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;
mod sqlparser_lower;

/// One statement of a file: where it is and what it does.
#[derive(Debug, Clone)]
pub(crate) struct ParsedStatement {
    /// From the statement's first token to its last (the `;` excluded).
    pub(crate) range: Range<usize>,
    pub(crate) statement: Statement,
}

/// Parses a whole file; PostgreSQL rejects a file with a syntax error, SQLite never does, and MySQL only
/// when the file cannot be split into statements (a `DELIMITER` without a value). `tokens` are the
/// file's tokens in `dialect`, which the caller has already lexed.
pub(crate) fn parse(
    sql: &str,
    tokens: &[Token],
    dialect: Dialect,
) -> Result<Vec<ParsedStatement>, crate::error::ParseError> {
    match dialect {
        Dialect::Postgres => postgres::parse(sql, tokens),
        Dialect::Sqlite => Ok(sqlite::parse(sql)),
        Dialect::MySql => mysql::parse(sql),
    }
}

/// PostgreSQL keeps identifiers up to 63 bytes (`NAMEDATALEN - 1`) and silently truncates longer ones.
pub(crate) const MAX_IDENTIFIER_BYTES: usize = 63;

/// Fills in what rules read from a statement's tokens (lexed from `source`) rather than its AST: the
/// string literals (unquoted) and the identifiers longer than [`MAX_IDENTIFIER_BYTES`] as written.
pub(crate) fn read_tokens(
    statement: &mut Statement,
    source: &str,
    tokens: impl IntoIterator<Item = Token>,
) {
    for token in tokens {
        let raw = token.text(source);
        match token.kind {
            TokenKind::Quoted => {
                if let Some(literal) = string_literal(raw) {
                    statement.string_literals.push(unquote(literal, '\''));
                } else if raw.starts_with('"') && raw.len() > MAX_IDENTIFIER_BYTES + 2 {
                    statement.long_identifiers.push(unquote(raw, '"'));
                }
            }
            TokenKind::Word if raw.len() > MAX_IDENTIFIER_BYTES => {
                statement.long_identifiers.push(raw.to_owned())
            }
            _ => {}
        }
    }
}

/// The quoted part of a string literal token: `'a'`, and also `E'a'`, `N'a'`, `X'a'` (the lexer keeps a
/// one-letter prefix with its literal).
pub(super) fn string_literal(raw: &str) -> Option<&str> {
    let unprefixed = match raw.as_bytes() {
        [first, b'\'', ..] if first.is_ascii_alphabetic() => &raw[1..],
        _ => raw,
    };
    unprefixed.starts_with('\'').then_some(unprefixed)
}

pub(super) fn unquote(quoted: &str, quote: char) -> String {
    let inner = quoted.strip_prefix(quote).unwrap_or(quoted);
    let inner = inner.strip_suffix(quote).unwrap_or(inner);
    let doubled: String = [quote, quote].iter().collect();
    inner.replace(&doubled, &quote.to_string())
}
