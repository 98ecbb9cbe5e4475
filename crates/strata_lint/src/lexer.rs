//! A small SQL tokenizer that knows exactly what the linter needs from raw text: where comments are (for
//! directives and `strata:allow`), and where statements end for dialects whose parser cannot locate them
//! (SQLite). Strings, quoted identifiers and PostgreSQL dollar quotes are skipped as units so that `--` or
//! `;` inside them never count.

use std::ops::Range;

use crate::input::Dialect;

/// What a token is; only the distinctions the linter uses are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// `-- ...` or `/* ... */`.
    Comment,
    /// `;`
    Semicolon,
    /// A keyword or unquoted identifier.
    Word,
    /// A string literal, quoted identifier or dollar-quoted body.
    Quoted,
    /// Any other character.
    Punct,
}

/// One token: its kind and byte range in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) range: Range<usize>,
}

/// Tokenizes `sql`; never fails (an unterminated string or comment runs to the end of the text).
pub(crate) fn tokenize(sql: &str, dialect: Dialect) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find_byte(bytes, i, b'\n');
                TokenKind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i);
                TokenKind::Comment
            }
            b';' => {
                i += 1;
                TokenKind::Semicolon
            }
            b'\'' => {
                let backslash_escapes =
                    dialect == Dialect::Postgres && i > 0 && matches!(bytes[i - 1], b'e' | b'E');
                i = quoted_end(bytes, i, b'\'', backslash_escapes);
                TokenKind::Quoted
            }
            b'"' => {
                i = quoted_end(bytes, i, b'"', false);
                TokenKind::Quoted
            }
            b'`' if dialect == Dialect::Sqlite => {
                i = quoted_end(bytes, i, b'`', false);
                TokenKind::Quoted
            }
            b'[' if dialect == Dialect::Sqlite => {
                i = find_byte(bytes, i, b']').saturating_add(1).min(bytes.len());
                TokenKind::Quoted
            }
            b'$' if dialect == Dialect::Postgres => match dollar_quote_end(sql, i) {
                Some(end) => {
                    i = end;
                    TokenKind::Quoted
                }
                None => {
                    i += 1;
                    TokenKind::Punct
                }
            },
            _ if is_word_byte(b) => {
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'$') {
                    i += 1;
                }
                TokenKind::Word
            }
            _ => {
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                TokenKind::Punct
            }
        };
        tokens.push(Token {
            kind,
            range: start..i,
        });
    }
    tokens
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn find_byte(bytes: &[u8], from: usize, needle: u8) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map_or(bytes.len(), |p| from + p)
}

/// End of a (nesting, as in PostgreSQL) block comment starting at `start`.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// End of a quoted token; a doubled quote is an escaped quote.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// End of a `$tag$ ... $tag$` body starting at `start`, or `None` when `$` does not open one (e.g. `$1`).
fn dollar_quote_end(sql: &str, start: usize) -> Option<usize> {
    let rest = &sql[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    let valid_tag = tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit());
    if !valid_tag {
        return None;
    }
    let delimiter = &sql[start..start + tag_len + 2];
    let body_start = start + delimiter.len();
    Some(
        sql[body_start..]
            .find(delimiter)
            .map_or(sql.len(), |p| body_start + p + delimiter.len()),
    )
}

/// Byte offset of the first character at or after `from` that is neither whitespace nor part of a comment
/// (or the text's end). Only the skipped trivia is read, so calling it once per statement stays linear.
pub(crate) fn skip_trivia(sql: &str, from: usize) -> usize {
    let bytes = sql.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b if b.is_ascii_whitespace() => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = find_byte(bytes, i, b'\n'),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            _ => break,
        }
    }
    i
}

/// Splits SQLite text into statement ranges (first token to the end of the last token before `;`).
///
/// `CREATE TRIGGER ... BEGIN ...; ...; END;` is kept whole: inside a trigger body semicolons do not end the
/// statement until the `END` that closes it.
pub(crate) fn split_sqlite(sql: &str) -> Vec<Range<usize>> {
    let tokens = tokenize(sql, Dialect::Sqlite);
    let mut statements = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut words: Vec<String> = Vec::new();
    for token in tokens.iter().filter(|t| t.kind != TokenKind::Comment) {
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
            words.push(sql[token.range.clone()].to_ascii_lowercase());
        }
        current = Some(match current {
            Some(range) => range.start..token.range.end,
            None => token.range.clone(),
        });
    }
    statements.extend(current);
    statements
}

fn is_trigger(words: &[String]) -> bool {
    words.first().is_some_and(|w| w == "create") && words.iter().take(4).any(|w| w == "trigger")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(sql: &str) -> Vec<&str> {
        split_sqlite(sql).into_iter().map(|r| &sql[r]).collect()
    }

    #[test]
    fn comments_inside_strings_are_not_comments() {
        let sql = "SELECT '-- no', $$ /* no */ $$; -- yes\n/* yes /* nested */ */";
        let comments: Vec<&str> = tokenize(sql, Dialect::Postgres)
            .into_iter()
            .filter(|t| t.kind == TokenKind::Comment)
            .map(|t| &sql[t.range])
            .collect();
        assert_eq!(comments, ["-- yes", "/* yes /* nested */ */"]);
    }

    #[test]
    fn sqlite_split_keeps_trigger_bodies_whole() {
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
    fn sqlite_split_ignores_semicolons_in_strings_and_comments() {
        assert_eq!(
            pieces("INSERT INTO t VALUES ('a;b'); -- c;\nSELECT 1;"),
            ["INSERT INTO t VALUES ('a;b')", "SELECT 1"]
        );
    }

    #[test]
    fn skip_trivia_lands_on_the_first_real_token() {
        let sql = "  -- c\n /* d */ SELECT 1";
        assert_eq!(skip_trivia(sql, 0), sql.find("SELECT").unwrap());
    }
}
