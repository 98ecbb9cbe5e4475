//! Splitting MySQL/MariaDB files into statements, as the `mysql` client does.
//!
//! Statements end at the current delimiter (`;` unless a `DELIMITER //` line changed it, which
//! is how procedure and trigger bodies full of `;` are written), outside strings, backquoted
//! names and comments. MySQL commits DDL implicitly, so every statement that does is marked as
//! running outside a transaction: a file containing one runs statement by statement with its
//! progress recorded (and can resume at the failed statement), while a file of DML only runs in
//! one transaction. Nothing here rejects SQL the server might accept: the server decides.

use strata_core::delimiter::split_mysql;
use strata_core::lexer::LeadingWords;
use strata_core::{Dialect, LineIndex, SplitError, Splitter, Statement, TransactionControl};

/// The MySQL/MariaDB [`Splitter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlSplitter;

impl Splitter for MySqlSplitter {
    fn split(&self, sql: &str) -> Result<Vec<Statement>, SplitError> {
        let lines = LineIndex::new(sql);
        Ok(split_mysql(sql)?
            .into_iter()
            .map(|range| classify(&sql[range.clone()], range.start, &lines))
            .collect())
    }
}

/// The statement with what the runner must know about it, from its leading keywords.
fn classify(text: &str, offset: usize, lines: &LineIndex) -> Statement {
    let mut statement = Statement::plain(text, offset, lines.line(offset));
    let words = LeadingWords::of(text, Dialect::MySql, 10);
    let word = |i: usize| words.get(i);
    let has = |sequence: &[&str]| words.has(sequence);
    statement.transaction_control = match (word(0), word(1)) {
        ("BEGIN", "NOT") => None, // MariaDB's `BEGIN NOT ATOMIC ... END` block
        ("BEGIN", _) | ("START", "TRANSACTION") => Some(TransactionControl::Begin),
        ("COMMIT", _) => Some(TransactionControl::Commit),
        ("ROLLBACK" | "SAVEPOINT" | "RELEASE" | "XA", _) => Some(TransactionControl::Other),
        _ => None,
    };
    let temporary = word(1) == "TEMPORARY";
    statement.outside_transaction = !temporary
        && matches!(
            word(0),
            "CREATE"
                | "ALTER"
                | "DROP"
                | "RENAME"
                | "TRUNCATE"
                | "GRANT"
                | "REVOKE"
                | "LOCK"
                | "UNLOCK"
                | "ANALYZE"
                | "OPTIMIZE"
                | "REPAIR"
                | "INSTALL"
                | "UNINSTALL"
                | "FLUSH"
        );
    statement.rerun_safe = has(&["IF", "NOT", "EXISTS"])
        || has(&["IF", "EXISTS"])
        || has(&["OR", "REPLACE"])
        || matches!(word(0), "SET" | "SELECT" | "ANALYZE" | "OPTIMIZE");
    statement
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Vec<Statement> {
        MySqlSplitter.split(sql).unwrap()
    }

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn delimiter_blocks_are_kept_whole_and_located() {
        let sql = "CREATE TABLE t (a int);\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND//\nDELIMITER ;\nCALL p();\n";
        let statements = split(sql);
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![1, 3, 8]
        );
    }

    #[test]
    fn ddl_commits_implicitly_and_dml_does_not() {
        let statements = split(
            "CREATE TABLE a (x int); INSERT INTO a VALUES (1); CREATE TEMPORARY TABLE tmp (x int); \
             ALTER TABLE a ADD COLUMN y int; START TRANSACTION; BEGIN NOT ATOMIC SELECT 1; END; COMMIT; \
             CREATE TABLE IF NOT EXISTS b (x int); DROP TABLE IF EXISTS c",
        );
        let outside: Vec<bool> = statements.iter().map(|s| s.outside_transaction).collect();
        assert_eq!(
            outside,
            vec![
                true, false, false, true, false, false, false, false, true, true
            ]
        );
        assert_eq!(
            statements[4].transaction_control,
            Some(TransactionControl::Begin)
        );
        assert_eq!(statements[5].transaction_control, None);
        assert!(statements[8].rerun_safe && statements[9].rerun_safe && !statements[0].rerun_safe);
    }

    #[test]
    fn unparseable_statements_are_kept() {
        assert_eq!(
            texts("FROBNICATE the table; SELECT 1"),
            vec!["FROBNICATE the table", "SELECT 1"]
        );
    }
}
