//! Splitting SQLite files into statements, the way the `sqlite3` shell does.
//!
//! Candidate boundaries are the `;` tokens outside strings, quoted identifiers and comments
//! (strata's lexer); SQLite's own `sqlite3_complete()` then decides whether the text up to a
//! candidate is a whole statement, which keeps trigger bodies (`BEGIN ...; ...; END;`) together.
//! Each statement is then prepared on an empty in-memory database: SQLite's parser rejects a
//! syntax error there, before anything runs, while "no such table" (the table comes from an
//! earlier statement) is not a syntax problem and is let through.

use std::ffi::CString;

use rusqlite::Connection;
use strata_core::lexer::{LeadingWords, Token, TokenKind, tokenize};
use strata_core::{
    Dialect, IndexBuild, LineIndex, SplitError, Splitter, Statement, TransactionControl,
};

/// The SQLite [`Splitter`].
pub struct SqliteSplitter {
    /// An empty in-memory database used only to run SQLite's parser over each statement.
    parser: Connection,
}

impl SqliteSplitter {
    pub fn new() -> SqliteSplitter {
        SqliteSplitter {
            parser: Connection::open_in_memory()
                .expect("SQLite can always open an in-memory database"),
        }
    }

    /// Rejects the statement if SQLite's parser finds a syntax error in it.
    fn check_syntax(&self, statement: &Statement, lines: &LineIndex) -> Result<(), SplitError> {
        let Err(error) = self.parser.prepare(&statement.sql) else {
            return Ok(());
        };
        let (message, offset) = match &error {
            rusqlite::Error::SqlInputError { msg, offset, .. } => {
                (msg.clone(), usize::try_from(*offset).ok())
            }
            rusqlite::Error::SqliteFailure(_, Some(msg)) => (msg.clone(), None),
            other => (other.to_string(), None),
        };
        let syntax = [
            "syntax error",
            "incomplete input",
            "unrecognized token",
            "unterminated",
        ]
        .iter()
        .any(|needle| message.contains(needle));
        if !syntax {
            return Ok(());
        }
        let line = offset.map_or(statement.line, |offset| {
            lines.line(statement.offset + offset)
        });
        Err(SplitError { line, message })
    }
}

impl Default for SqliteSplitter {
    fn default() -> Self {
        SqliteSplitter::new()
    }
}

impl Splitter for SqliteSplitter {
    fn split(&self, sql: &str) -> Result<Vec<Statement>, SplitError> {
        let lines = LineIndex::new(sql);
        let tokens = tokenize(sql, Dialect::Sqlite);
        let mut statements = Vec::new();
        // Index of the current statement's first significant token, and its last one so far.
        let mut first: Option<usize> = None;
        let mut last = 0;
        for (index, token) in tokens.iter().enumerate() {
            match token.kind {
                TokenKind::Semicolon => {
                    let Some(start) = first else { continue };
                    let candidate = &sql[tokens[start].start..token.end];
                    if is_complete(candidate, &lines, tokens[start].start)? {
                        statements.push(classify(sql, &tokens[start..=last], &lines));
                        first = None;
                    } else {
                        last = index;
                    }
                }
                _ if token.is_significant() => {
                    first.get_or_insert(index);
                    last = index;
                }
                _ => {}
            }
        }
        if let Some(start) = first {
            let candidate = format!("{};", &sql[tokens[start].start..tokens[last].end]);
            if !is_complete(&candidate, &lines, tokens[start].start)? {
                return Err(SplitError {
                    line: lines.line(tokens[start].start),
                    message: "incomplete statement at the end of the file (an unterminated trigger body, string or comment?)".into(),
                });
            }
            statements.push(classify(sql, &tokens[start..=last], &lines));
        }
        for statement in &statements {
            self.check_syntax(statement, &lines)?;
        }
        Ok(statements)
    }
}

/// SQLite's own test for "this text ends with a complete statement" (`sqlite3_complete`).
fn is_complete(text: &str, lines: &LineIndex, offset: usize) -> Result<bool, SplitError> {
    let text = CString::new(text).map_err(|_| SplitError {
        line: lines.line(offset),
        message: "the statement contains a NUL byte".into(),
    })?;
    // SAFETY: `text` is a valid NUL-terminated string that outlives the call; sqlite3_complete
    // only reads it.
    #[allow(unsafe_code)]
    let complete = unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) };
    Ok(complete != 0)
}

/// Builds the statement from its significant tokens and records what matters for running it.
fn classify(sql: &str, tokens: &[Token], lines: &LineIndex) -> Statement {
    let start = tokens[0].start;
    let end = tokens[tokens.len() - 1].end;
    let mut statement = Statement::plain(&sql[start..end], start, lines.line(start));
    let words = LeadingWords::of(&sql[start..end], Dialect::Sqlite, 8);
    let word = |i: usize| words.get(i);
    let has = |sequence: &[&str]| words.has(sequence);
    statement.transaction_control = match word(0) {
        "BEGIN" => Some(TransactionControl::Begin),
        "COMMIT" | "END" => Some(TransactionControl::Commit),
        "ROLLBACK" | "SAVEPOINT" | "RELEASE" => Some(TransactionControl::Other),
        _ => None,
    };
    match word(0) {
        "VACUUM" => {
            statement.outside_transaction = true;
            statement.rerun_safe = true;
        }
        "PRAGMA" => {
            // SQLite ignores `foreign_keys` inside a transaction and refuses to change the
            // journal mode in one: both must run on their own.
            let name = if word(2) == "." { word(3) } else { word(1) };
            statement.outside_transaction = matches!(name, "FOREIGN_KEYS" | "JOURNAL_MODE");
            statement.rerun_safe = true;
        }
        "CREATE" => statement.rerun_safe = has(&["IF", "NOT", "EXISTS"]),
        "DROP" => statement.rerun_safe = has(&["IF", "EXISTS"]),
        _ => {}
    }
    let index_at = match (word(0), word(1), word(2)) {
        ("CREATE", "INDEX", _) => Some(2),
        ("CREATE", "UNIQUE", "INDEX") => Some(3),
        _ => None,
    };
    if let Some(mut at) = index_at {
        if has(&["IF", "NOT", "EXISTS"]) {
            at += 3;
        }
        let significant: Vec<&Token> = tokens.iter().filter(|t| t.is_significant()).collect();
        let mut name = significant.get(at).map(|t| t.text(sql));
        if significant.get(at + 1).map(|t| t.text(sql)) == Some(".") {
            name = significant.get(at + 2).map(|t| t.text(sql));
        }
        statement.index_build = name.map(|name| IndexBuild {
            schema: None,
            name: unquote(name),
            concurrent: false,
        });
    }
    statement
}

fn unquote(name: &str) -> String {
    let quoted = |open: char, close: char| {
        name.len() >= 2 && name.starts_with(open) && name.ends_with(close)
    };
    if quoted('"', '"') || quoted('`', '`') || quoted('[', ']') {
        name[1..name.len() - 1].to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Result<Vec<Statement>, SplitError> {
        SqliteSplitter::new().split(sql)
    }

    fn texts(sql: &str) -> Vec<String> {
        split(sql).unwrap().into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn respects_strings_identifiers_comments_and_trigger_bodies() {
        let sql = "CREATE TABLE \"a;b\" (x TEXT DEFAULT 'c;d'); -- e;f\n\
                   /* g; */ CREATE TRIGGER t AFTER INSERT ON \"a;b\" BEGIN\n  UPDATE \"a;b\" SET x = 'y;'; DELETE FROM \"a;b\" WHERE 0;\nEND;\n\
                   INSERT INTO [a;b] VALUES ('z')";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE \"a;b\" (x TEXT DEFAULT 'c;d')",
                "CREATE TRIGGER t AFTER INSERT ON \"a;b\" BEGIN\n  UPDATE \"a;b\" SET x = 'y;'; DELETE FROM \"a;b\" WHERE 0;\nEND",
                "INSERT INTO [a;b] VALUES ('z')",
            ]
        );
    }

    #[test]
    fn lines_point_at_statements() {
        let statements =
            split("-- header\n\nCREATE TABLE a (x);\n\n  CREATE TABLE b (y);").unwrap();
        assert_eq!(
            statements.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![3, 5]
        );
    }

    #[test]
    fn rejects_syntax_errors_with_their_line() {
        let err =
            split("CREATE TABLE a (x);\nCREATE TABLE b (y);\nCREAT TABLE c (z);").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("syntax error"), "{err}");
        let err = split("CREATE TABLE a (\n  x INT,\n  y INT,,\n);").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn semantic_errors_are_not_syntax_errors() {
        assert_eq!(texts("INSERT INTO not_created_yet VALUES (1);").len(), 1);
    }

    #[test]
    fn unterminated_trigger_is_an_error() {
        let err = split("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n SELECT 1;").unwrap_err();
        assert!(err.message.contains("incomplete"), "{err}");
    }

    #[test]
    fn classifies_statements() {
        let statements = split(
            "BEGIN; VACUUM; PRAGMA foreign_keys = ON; PRAGMA main.journal_mode = WAL; PRAGMA user_version = 3;\n\
             CREATE UNIQUE INDEX IF NOT EXISTS \"ix\" ON t (a); DROP TABLE IF EXISTS z; CREATE INDEX main.iy ON t (b); COMMIT;",
        )
        .unwrap();
        assert_eq!(
            statements[0].transaction_control,
            Some(TransactionControl::Begin)
        );
        assert!(statements[1].outside_transaction);
        assert!(statements[2].outside_transaction);
        assert!(statements[3].outside_transaction);
        assert!(!statements[4].outside_transaction);
        assert_eq!(
            statements[5].index_build.as_ref().map(|i| i.name.as_str()),
            Some("ix")
        );
        assert!(statements[5].rerun_safe);
        assert!(statements[6].rerun_safe);
        assert_eq!(
            statements[7].index_build.as_ref().map(|i| i.name.as_str()),
            Some("iy")
        );
        assert!(!statements[7].rerun_safe);
        assert_eq!(
            statements[8].transaction_control,
            Some(TransactionControl::Commit)
        );
    }
}
