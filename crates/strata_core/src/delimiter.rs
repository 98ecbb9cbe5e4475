//! Statement boundaries in MySQL/MariaDB scripts, as the `mysql` client finds them.
//!
//! Statements end at the current delimiter (`;` until a `DELIMITER //` line changes it, which is
//! how procedure and trigger bodies full of `;` are written), outside strings, backquoted names
//! and comments. The driver runs what this finds and the linter reads it, so both see the same
//! statements.

use std::ops::Range;

use crate::Dialect;
use crate::lexer::{Token, TokenKind, tokenize};
use crate::statement::SplitError;
use crate::text::LineIndex;

/// The byte range of each statement's code: first token to last, without the delimiter.
pub fn split_mysql(sql: &str) -> Result<Vec<Range<usize>>, SplitError> {
    let tokens = tokenize(sql, Dialect::MySql);
    let mut delimiter = String::from(";");
    let mut statements = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut skip_until = 0;
    for token in &tokens {
        if token.start < skip_until || !token.is_significant() {
            continue;
        }
        let text = token.text(sql);
        if current.is_none() && text.eq_ignore_ascii_case("DELIMITER") && starts_line(sql, token) {
            let line_end = sql[token.end..]
                .find(['\n', '\r'])
                .map_or(sql.len(), |at| token.end + at);
            let Some(new) = sql[token.end..line_end].split_whitespace().next() else {
                return Err(SplitError {
                    line: LineIndex::new(sql).line(token.start),
                    message: "DELIMITER needs the new delimiter, e.g. `DELIMITER //`".into(),
                });
            };
            delimiter = new.to_owned();
            skip_until = line_end;
            continue;
        }
        let split_at = match token.kind {
            TokenKind::Quoted | TokenKind::Comment | TokenKind::Whitespace => None,
            TokenKind::Semicolon => (delimiter == ";").then_some(0),
            _ if delimiter == ";" => None,
            _ => text.find(delimiter.as_str()),
        };
        match split_at {
            Some(at) => {
                let end = token.start + at;
                if let Some(range) = current.take() {
                    statements.push(if at > 0 { range.start..end } else { range });
                }
                skip_until = end + delimiter.len();
            }
            None => {
                let start = current.as_ref().map_or(token.start, |range| range.start);
                current = Some(start..token.end);
            }
        }
    }
    statements.extend(current);
    Ok(statements)
}

/// Only whitespace before the token on its line (the `mysql` client's rule for DELIMITER).
fn starts_line(sql: &str, token: &Token) -> bool {
    let line_start = sql[..token.start]
        .rfind(['\n', '\r'])
        .map_or(0, |at| at + 1);
    sql[line_start..token.start].trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split_mysql(sql)
            .unwrap()
            .into_iter()
            .map(|range| &sql[range])
            .collect()
    }

    #[test]
    fn respects_strings_backquotes_comments_and_executable_comments() {
        assert_eq!(
            texts(
                "INSERT INTO `a;b` VALUES ('x;\\'y'); # c;\n/*!40101 SET x = 1 */;\n-- d;\nSELECT \"e;f\""
            ),
            vec![
                "INSERT INTO `a;b` VALUES ('x;\\'y')",
                "/*!40101 SET x = 1 */",
                "SELECT \"e;f\""
            ]
        );
    }

    #[test]
    fn delimiter_blocks_keep_bodies_whole() {
        let sql = "CREATE TABLE t (a int);\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\nEND//\nDELIMITER ;\nCALL p();\n\
                   DELIMITER $$\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 2; END$$\nDELIMITER ;\n";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE t (a int)",
                "CREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\nEND",
                "CALL p()",
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 2; END",
            ]
        );
    }

    #[test]
    fn delimiter_without_value_is_an_error() {
        assert_eq!(
            split_mysql("SELECT 1;\nDELIMITER\nSELECT 2;")
                .unwrap_err()
                .line,
            2
        );
    }
}
