//! Checksums of migration files, over tokens rather than bytes.
//!
//! Editing a comment, re-indenting, or converting line endings must not make an applied migration
//! "modified" (the most common way other tools break a production start-up), while any change to
//! what the server would execute must. So the checksum is SHA-256 over the significant tokens of
//! the file, each followed by a separator: string literals and dollar-quoted bodies count
//! verbatim, as do MySQL `/*! */` executable comments and strata's execution directives.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::Dialect;
use crate::lexer::{Token, TokenKind, tokens};

const PREFIX: &str = "v1:sha256:";
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A `v1:sha256:<hex>` checksum as stored in the history table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Checksum(String);

impl Checksum {
    /// The checksum of a file's (or one statement's) SQL.
    pub fn of_sql(sql: &str, dialect: Dialect) -> Checksum {
        let text = normalize_line_endings(sql.strip_prefix('\u{feff}').unwrap_or(sql));
        let mut hasher = Sha256::new();
        for token in tokens(&text, dialect) {
            if let Some(counted) = counted_text(&token, &text) {
                hasher.update(counted.as_bytes());
                hasher.update([0x1f]);
            }
        }
        let mut hex = String::with_capacity(PREFIX.len() + 64);
        hex.push_str(PREFIX);
        for byte in hasher.finalize() {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        Checksum(hex)
    }

    /// Wraps a checksum read back from the history table.
    pub fn from_stored(stored: impl Into<String>) -> Checksum {
        Checksum(stored.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text a token contributes, if any: significant tokens verbatim, and comments that are
/// execution directives (they change how the file runs) in trimmed form.
fn counted_text<'a>(token: &Token, text: &'a str) -> Option<&'a str> {
    match token.kind {
        TokenKind::Whitespace => None,
        TokenKind::Comment => crate::directive::execution_directive_text(token.text(text)),
        _ => Some(token.text(text)),
    }
}

fn normalize_line_endings(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('\r') {
        std::borrow::Cow::Owned(sql.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> Checksum {
        Checksum::of_sql(sql, Dialect::Postgres)
    }

    #[test]
    fn formatting_comments_bom_and_line_endings_do_not_count() {
        let base = pg("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n");
        assert_eq!(
            base,
            pg("CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);\r\n")
        );
        assert_eq!(
            base,
            pg(
                "\u{feff}-- users\nCREATE  TABLE t(id int) /* note */;\n\n  INSERT INTO t VALUES(1);"
            )
        );
        assert!(base.as_str().starts_with("v1:sha256:"));
        assert_eq!(base.as_str().len(), "v1:sha256:".len() + 64);
    }

    #[test]
    fn every_token_change_counts() {
        let base = pg("INSERT INTO t VALUES ('a b');");
        assert_ne!(base, pg("INSERT INTO t VALUES ('a  b');"));
        assert_ne!(base, pg("INSERT INTO t VALUES ('a b')"));
        assert_ne!(base, pg("INSERT INTO u VALUES ('a b');"));
        let body = pg("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 -- c\n $$ LANGUAGE sql;");
        assert_ne!(
            body,
            pg("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 -- d\n $$ LANGUAGE sql;")
        );
    }

    #[test]
    fn case_of_keywords_counts_because_tokens_are_verbatim() {
        assert_ne!(pg("select 1"), pg("SELECT 1"));
    }

    #[test]
    fn execution_directives_count_but_lint_allows_do_not() {
        let plain = pg("CREATE INDEX CONCURRENTLY i ON t (a);");
        assert_ne!(
            plain,
            pg("-- strata:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);")
        );
        assert_ne!(
            plain,
            pg("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);")
        );
        assert_eq!(
            plain,
            pg(
                "-- strata:allow index-not-concurrent reviewed\nCREATE INDEX CONCURRENTLY i ON t (a);"
            )
        );
    }

    #[test]
    fn mysql_executable_comments_count() {
        let mysql = |sql| Checksum::of_sql(sql, Dialect::MySql);
        assert_ne!(mysql("/*!40101 SET x=1 */;"), mysql("/*!40101 SET x=2 */;"));
        assert_eq!(mysql("SELECT 1; # note"), mysql("SELECT 1;"));
    }
}
