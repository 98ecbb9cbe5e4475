//! A forgiving SQL lexer: it splits text into tokens, comments and whitespace, and never fails.
//!
//! strata needs tokens before it can know whether a file parses: checksums are computed over
//! tokens (so reformatting and comment edits do not change them), execution directives live in
//! comments, and the SQLite splitter must not cut inside strings or comments. An unterminated
//! string or comment simply runs to the end of the text; the real parser reports it later.

use crate::Dialect;

/// What a token is. Only the distinctions that checksums and splitting need are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs and line breaks.
    Whitespace,
    /// `-- ...`, `/* ... */`, and in MySQL `# ...`.
    Comment,
    /// MySQL's `/*! ... */`: a comment the server executes, so it counts as code.
    ExecutableComment,
    /// Keywords, identifiers and numbers.
    Word,
    /// A string literal, quoted identifier or dollar-quoted body, quotes included.
    Quoted,
    /// `;`
    Semicolon,
    /// Any other punctuation or operator.
    Symbol,
}

/// A token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token's text in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }

    /// Whether the token carries meaning (not whitespace, not an ordinary comment).
    pub fn is_significant(&self) -> bool {
        !matches!(self.kind, TokenKind::Whitespace | TokenKind::Comment)
    }
}

/// Splits `source` into tokens covering every byte, in order.
pub fn tokenize(source: &str, dialect: Dialect) -> Vec<Token> {
    tokens(source, dialect).collect()
}

/// The tokens of `source`, lexed lazily: a caller that stops early (e.g. at the first significant
/// A statement's first significant words, upper-cased: what splitters classify statements by
/// (`CREATE`, `IF NOT EXISTS`, `BEGIN`, ...) without parsing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadingWords(Vec<String>);

impl LeadingWords {
    /// The first `count` significant tokens of `sql`.
    pub fn of(sql: &str, dialect: Dialect, count: usize) -> LeadingWords {
        LeadingWords(
            tokens(sql, dialect)
                .filter(Token::is_significant)
                .take(count)
                .map(|t| t.text(sql).to_ascii_uppercase())
                .collect(),
        )
    }

    /// The `index`th word, or `""`.
    pub fn get(&self, index: usize) -> &str {
        self.0.get(index).map_or("", String::as_str)
    }

    /// Whether the words contain `sequence` in a row.
    pub fn has(&self, sequence: &[&str]) -> bool {
        self.0
            .windows(sequence.len())
            .any(|w| w.iter().zip(sequence).all(|(a, b)| a == b))
    }
}

/// token after a statement's start) reads only what it consumed, so per-statement use stays linear.
pub fn tokens(source: &str, dialect: Dialect) -> impl Iterator<Item = Token> + '_ {
    Lexer {
        bytes: source.as_bytes(),
        source,
        pos: 0,
        dialect,
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        if start >= self.bytes.len() {
            return None;
        }
        let kind = self.next_kind();
        debug_assert!(self.pos > start, "lexer made no progress");
        Some(Token {
            kind,
            start,
            end: self.pos,
        })
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    source: &'a str,
    pos: usize,
    dialect: Dialect,
}

const OPERATOR_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn next_kind(&mut self) -> TokenKind {
        let c = self.bytes[self.pos];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                while matches!(self.peek(0), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
                    self.pos += 1;
                }
                TokenKind::Whitespace
            }
            b'-' if self.peek(1) == Some(b'-') && self.line_comment_allowed() => {
                self.skip_to_line_end();
                TokenKind::Comment
            }
            b'#' if self.dialect.hash_comments() => {
                self.skip_to_line_end();
                TokenKind::Comment
            }
            b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
            b'\'' => {
                self.quoted(b'\'', self.dialect.backslash_escapes());
                TokenKind::Quoted
            }
            b'"' => {
                self.quoted(b'"', self.dialect == Dialect::MySql);
                TokenKind::Quoted
            }
            b'`' if self.dialect != Dialect::Postgres => {
                self.quoted(b'`', false);
                TokenKind::Quoted
            }
            b'[' if self.dialect == Dialect::Sqlite => {
                self.pos += 1;
                while let Some(b) = self.peek(0) {
                    self.pos += 1;
                    if b == b']' {
                        break;
                    }
                }
                TokenKind::Quoted
            }
            b'$' if self.dialect == Dialect::Postgres => self.dollar(),
            b';' => {
                self.pos += 1;
                TokenKind::Semicolon
            }
            c if is_word_byte(c) => self.word(),
            c if OPERATOR_CHARS.contains(&c) => {
                self.pos += 1;
                while let Some(next) = self.peek(0) {
                    let starts_comment = (next == b'-' && self.peek(1) == Some(b'-'))
                        || (next == b'/' && self.peek(1) == Some(b'*'));
                    if !OPERATOR_CHARS.contains(&next) || starts_comment {
                        break;
                    }
                    self.pos += 1;
                }
                TokenKind::Symbol
            }
            _ => {
                // One character, which may be several bytes.
                let width = self.source[self.pos..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                self.pos += width;
                TokenKind::Symbol
            }
        }
    }

    /// MySQL needs whitespace or a control character after `--`.
    fn line_comment_allowed(&self) -> bool {
        self.dialect != Dialect::MySql
            || self
                .peek(2)
                .is_none_or(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    }

    fn skip_to_line_end(&mut self) {
        while let Some(b) = self.peek(0) {
            if b == b'\n' || b == b'\r' {
                break;
            }
            self.pos += 1;
        }
    }

    fn block_comment(&mut self) -> TokenKind {
        let executable = self.dialect == Dialect::MySql && self.peek(2) == Some(b'!');
        self.pos += 2;
        let mut depth = 1;
        while self.pos < self.bytes.len() {
            if self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/') {
                self.pos += 2;
                depth -= 1;
                if depth == 0 {
                    break;
                }
            } else if self.dialect.nested_block_comments()
                && self.peek(0) == Some(b'/')
                && self.peek(1) == Some(b'*')
            {
                self.pos += 2;
                depth += 1;
            } else {
                self.pos += 1;
            }
        }
        if executable {
            TokenKind::ExecutableComment
        } else {
            TokenKind::Comment
        }
    }

    /// A quoted run closed by `quote`, where a doubled quote is an escaped quote.
    fn quoted(&mut self, quote: u8, backslash_escapes: bool) {
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            if backslash_escapes && b == b'\\' {
                if self.peek(0).is_some() {
                    self.pos += 1;
                }
            } else if b == quote {
                if self.peek(0) == Some(quote) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
    }

    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek(0).is_some_and(is_word_byte) {
            self.pos += 1;
        }
        // PostgreSQL's E'...' strings take backslash escapes; the prefix belongs to the literal.
        let word = &self.bytes[start..self.pos];
        if self.peek(0) == Some(b'\'') {
            if self.dialect == Dialect::Postgres && word.eq_ignore_ascii_case(b"e") {
                self.quoted(b'\'', true);
                return TokenKind::Quoted;
            }
            if matches!(
                word,
                [b'x' | b'X' | b'b' | b'B' | b'n' | b'N' | b'u' | b'U']
            ) {
                self.quoted(b'\'', self.dialect.backslash_escapes());
                return TokenKind::Quoted;
            }
        }
        // A number with a fraction: 1.5
        if word.first().is_some_and(u8::is_ascii_digit)
            && self.peek(0) == Some(b'.')
            && self.peek(1).is_some_and(|b| b.is_ascii_digit())
        {
            self.pos += 1;
            while self.peek(0).is_some_and(is_word_byte) {
                self.pos += 1;
            }
        }
        TokenKind::Word
    }

    /// `$tag$ ... $tag$` (tag may be empty); otherwise a `$1` parameter or a lone `$`.
    fn dollar(&mut self) -> TokenKind {
        let start = self.pos;
        let mut end = start + 1;
        while end < self.bytes.len() && is_tag_byte(self.bytes[end]) {
            end += 1;
        }
        let tag_is_valid = !self.bytes.get(start + 1).is_some_and(u8::is_ascii_digit);
        if end < self.bytes.len() && self.bytes[end] == b'$' && tag_is_valid {
            let delimiter = &self.source[start..=end];
            match self.source[end + 1..].find(delimiter) {
                Some(found) => self.pos = end + 1 + found + delimiter.len(),
                None => self.pos = self.bytes.len(),
            }
            return TokenKind::Quoted;
        }
        self.pos += 1;
        while self.peek(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        TokenKind::Word
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn significant(sql: &str, dialect: Dialect) -> Vec<&str> {
        tokenize(sql, dialect)
            .into_iter()
            .filter(Token::is_significant)
            .map(|t| t.text(sql))
            .collect()
    }

    #[test]
    fn covers_every_byte() {
        let sql = "SELECT 'a''b', $x$ ; $x$, \"q\"\"i\" -- c\n/* x /* y */ z */ ;é";
        let tokens = tokenize(sql, Dialect::Postgres);
        let mut pos = 0;
        for token in &tokens {
            assert_eq!(token.start, pos);
            pos = token.end;
        }
        assert_eq!(pos, sql.len());
    }

    #[test]
    fn postgres_strings_comments_and_dollar_quotes() {
        let sql = "SELECT E'it\\'s; -- no', $body$ a; -- b $body$, $1 /* a /* nested */ b */; x";
        assert_eq!(
            significant(sql, Dialect::Postgres),
            vec![
                "SELECT",
                "E'it\\'s; -- no'",
                ",",
                "$body$ a; -- b $body$",
                ",",
                "$1",
                ";",
                "x"
            ]
        );
    }

    #[test]
    fn mysql_hash_comments_backticks_and_executable_comments() {
        let sql = "SELECT `a;b`, 'x\\'y' # c;\n/*!40101 SET x = 1 */; a--b";
        assert_eq!(
            significant(sql, Dialect::MySql),
            vec![
                "SELECT",
                "`a;b`",
                ",",
                "'x\\'y'",
                "/*!40101 SET x = 1 */",
                ";",
                "a",
                "--",
                "b"
            ]
        );
    }

    #[test]
    fn hash_is_an_operator_in_postgres() {
        assert_eq!(
            significant("SELECT 1 # 2", Dialect::Postgres),
            vec!["SELECT", "1", "#", "2"]
        );
    }

    #[test]
    fn sqlite_brackets_and_unterminated_input() {
        assert_eq!(
            significant("SELECT [a;b] FROM t WHERE x = 'open", Dialect::Sqlite),
            vec!["SELECT", "[a;b]", "FROM", "t", "WHERE", "x", "=", "'open"]
        );
    }

    #[test]
    fn operator_runs_stop_at_comments() {
        assert_eq!(
            significant("a <=-- c\n b", Dialect::Postgres),
            vec!["a", "<=", "b"]
        );
        assert_eq!(significant("1.5e3", Dialect::Postgres), vec!["1.5e3"]);
    }
}
