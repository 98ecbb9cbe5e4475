//! Reading the user's `UPDATE`/`DELETE` well enough to batch it, with no database at hand.
//!
//! Batching appends a key range to the statement's `WHERE`, so strata needs three things from
//! it: the one table it changes, the text before `WHERE`, and the condition. It also has to
//! refuse what cannot be batched that way: a join (`UPDATE ... FROM`, `DELETE ... USING`, MySQL's
//! `UPDATE a JOIN b` or `UPDATE a, b`), `RETURNING` (its rows would be spread over many
//! transactions and lost), and `ORDER BY`/`LIMIT` (they fight the key order). The analysis works on
//! strata's lexer tokens, tracking parentheses, so keywords inside sub-queries and function calls
//! (`EXTRACT(YEAR FROM d)`, `x IN (SELECT ... FROM ...)`) never count. It is dialect-aware only
//! in how names are quoted and folded, so every driver shares it.

use crate::Dialect;
use crate::lexer::{Token, TokenKind, tokenize};

/// Whether the statement changes or removes rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackfillKind {
    Update,
    Delete,
}

/// A table as the statement names it, with unquoted names folded the way the database folds
/// them (PostgreSQL: lower case), so they can be compared with the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// An `UPDATE` or `DELETE` that strata can run in key-range batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillStatement {
    pub kind: BackfillKind,
    pub table: TableName,
    /// The statement before its `WHERE` (all of it when it has none), as written.
    head: String,
    /// The `WHERE` condition as written, without the keyword.
    condition: Option<String>,
}

/// Why a statement cannot be batched; `offset` is the byte offset in the statement of the
/// token at fault, so callers can name the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatementError {
    pub offset: usize,
    pub message: String,
}

impl BackfillStatement {
    /// Analyses one statement (without its terminating `;`).
    pub fn parse(sql: &str, dialect: Dialect) -> Result<BackfillStatement, StatementError> {
        let tokens: Vec<Token> = tokenize(sql, dialect)
            .into_iter()
            .filter(Token::is_significant)
            .collect();
        let mut cursor = Cursor {
            sql,
            tokens: &tokens,
            at: 0,
        };
        let fail = |token: Option<&Token>, message: String| StatementError {
            offset: token.map_or(0, |t| t.start),
            message,
        };
        let first = cursor.peek();
        let kind = match cursor.keyword().as_deref() {
            Some("UPDATE") => BackfillKind::Update,
            Some("DELETE") => BackfillKind::Delete,
            Some("WITH") => {
                return Err(fail(
                    first,
                    "a backfill cannot start with WITH: write the common table expression as a sub-query in the WHERE"
                        .into(),
                ));
            }
            _ => {
                return Err(fail(
                    first,
                    "a backfill is a single UPDATE or DELETE statement".into(),
                ));
            }
        };
        match kind {
            BackfillKind::Update => {
                // SQLite's conflict clause and MySQL's modifiers come before the table.
                if cursor.keyword().as_deref() == Some("OR") {
                    cursor.at += 1;
                } else {
                    cursor.at -= 1;
                }
                while matches!(
                    cursor.peek_keyword().as_deref(),
                    Some("LOW_PRIORITY" | "IGNORE")
                ) {
                    cursor.at += 1;
                }
            }
            BackfillKind::Delete => {
                while matches!(
                    cursor.peek_keyword().as_deref(),
                    Some("LOW_PRIORITY" | "QUICK" | "IGNORE")
                ) {
                    cursor.at += 1;
                }
                if cursor.keyword().as_deref() != Some("FROM") {
                    return Err(fail(
                        cursor.previous(),
                        "expected FROM after DELETE (a multi-table DELETE cannot be batched)"
                            .into(),
                    ));
                }
            }
        }
        if cursor.peek_keyword().as_deref() == Some("ONLY") {
            cursor.at += 1;
        }
        let table = cursor.table_name(dialect).ok_or_else(|| {
            fail(
                cursor.peek(),
                "expected the name of the table the statement changes".into(),
            )
        })?;
        let mut depth = 0usize;
        let mut condition_start = None;
        let mut seen_set = false;
        let mut previous_word = String::new();
        while let Some(token) = cursor.peek() {
            cursor.at += 1;
            let text = token.text(sql);
            let refuse = |message: &str| Err(fail(Some(token), message.to_owned()));
            match token.kind {
                TokenKind::Semicolon => {
                    return refuse("a backfill is a single statement; this text has more than one");
                }
                TokenKind::Symbol => match text {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth = depth.saturating_sub(1),
                    "," if depth == 0 && kind == BackfillKind::Update && !seen_set => {
                        return refuse(
                            "UPDATE of several tables (a join) cannot be batched: change one table per backfill",
                        );
                    }
                    _ => {}
                },
                TokenKind::Word if depth == 0 => match text.to_ascii_uppercase().as_str() {
                    "FROM" if previous_word != "DISTINCT" => {
                        return refuse(
                            "UPDATE ... FROM joins another table, which strata cannot batch: move the join into a sub-query in SET or WHERE",
                        );
                    }
                    "USING" => {
                        return refuse(
                            "DELETE ... USING joins another table, which strata cannot batch: use WHERE ... IN (SELECT ...) instead",
                        );
                    }
                    "JOIN" => {
                        return refuse(
                            "a join cannot be batched: change one table per backfill, with sub-queries for the others",
                        );
                    }
                    "RETURNING" => {
                        return refuse(
                            "RETURNING cannot be used in a backfill: its rows would be spread over many transactions",
                        );
                    }
                    "ORDER" => {
                        return refuse(
                            "ORDER BY cannot be used in a backfill: strata orders the batches by the key",
                        );
                    }
                    "LIMIT" => {
                        return refuse(
                            "LIMIT cannot be used in a backfill: strata sizes the batches itself (batch=N)",
                        );
                    }
                    "WHERE" if condition_start.is_none() => {
                        if cursor.peek_keyword().as_deref() == Some("CURRENT") {
                            return refuse("WHERE CURRENT OF a cursor cannot be batched");
                        }
                        condition_start = Some(token);
                    }
                    "SET" => seen_set = true,
                    _ => {}
                },
                _ => {}
            }
            previous_word = text.to_ascii_uppercase();
        }
        if kind == BackfillKind::Update && !seen_set {
            return Err(fail(tokens.last(), "expected SET in the UPDATE".into()));
        }
        let end = tokens.last().map_or(0, |t| t.end);
        let (head, condition) = match condition_start {
            Some(keyword) => (
                sql[..keyword.start].trim_end().to_owned(),
                Some(sql[keyword.end..end].trim().to_owned()),
            ),
            None => (sql[..end].trim_end().to_owned(), None),
        };
        Ok(BackfillStatement {
            kind,
            table,
            head,
            condition,
        })
    }

    /// The statement restricted to the rows `range` selects (a key-range condition), keeping the
    /// user's own condition: `<head> WHERE (<condition>) AND <range>`.
    pub fn restricted_to(&self, range: &str) -> String {
        match &self.condition {
            Some(condition) => format!("{} WHERE ({condition}) AND {range}", self.head),
            None => format!("{} WHERE {range}", self.head),
        }
    }
}

/// How a composite key range is written. Both select the same keys; what differs is whether the
/// database's optimizer turns the condition into a range scan of the key's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyComparison {
    /// `(a, b) > (1, 2)`: PostgreSQL and SQLite scan the index from the bound.
    RowValues,
    /// `a >= 1 AND (a > 1 OR (a = 1 AND b > 2))`: MariaDB compares row values row by row over
    /// the whole index, but makes a range scan of this form (and so does MySQL).
    Expanded,
}

/// The SQL condition selecting keys after `after` (exclusive) up to `upto` (inclusive), in key
/// order, given quoted column names and rendered literals. Composite keys compare as row values
/// (PostgreSQL, SQLite 3.15+ and MySQL all have them), which the primary key index serves on
/// PostgreSQL and SQLite; [`expanded_key_range`] is the form MySQL's optimizer serves.
pub fn key_range(columns: &[String], after: Option<&[String]>, upto: &[String]) -> String {
    let tuple = |items: &[String]| {
        if items.len() == 1 {
            items[0].clone()
        } else {
            format!("({})", items.join(", "))
        }
    };
    let key = tuple(columns);
    match after {
        Some(after) => format!("{key} > {} AND {key} <= {}", tuple(after), tuple(upto)),
        None => format!("{key} <= {}", tuple(upto)),
    }
}

/// [`key_range`] without row values: each bound spelt out column by column, nested
/// (`a > 1 OR (a = 1 AND (b > 2 OR (b = 2 AND c > 3)))`), with the first column's own bounds
/// in front so that any optimizer can start a range scan from them. One column is the same
/// condition as in [`key_range`].
pub fn expanded_key_range(columns: &[String], after: Option<&[String]>, upto: &[String]) -> String {
    if columns.len() == 1 {
        return key_range(columns, after, upto);
    }
    let first = &columns[0];
    let mut terms = Vec::new();
    if let Some(after) = after {
        terms.push(format!("{first} >= {}", after[0]));
    }
    terms.push(format!("{first} <= {}", upto[0]));
    if let Some(after) = after {
        terms.push(format!("({})", expanded_bound(columns, after, ">", ">")));
    }
    terms.push(format!("({})", expanded_bound(columns, upto, "<", "<=")));
    terms.join(" AND ")
}

/// `columns` compared with `values` in key order: `strict` on every column but the last,
/// `last` on the last one.
fn expanded_bound(columns: &[String], values: &[String], strict: &str, last: &str) -> String {
    match (columns, values) {
        ([column], [value]) => format!("{column} {last} {value}"),
        ([column, other_columns @ ..], [value, other_values @ ..]) => {
            let rest = expanded_bound(other_columns, other_values, strict, last);
            let rest = if other_columns.len() > 1 {
                format!("({rest})")
            } else {
                rest
            };
            format!("{column} {strict} {value} OR ({column} = {value} AND {rest})")
        }
        _ => unreachable!("a key has as many values as columns"),
    }
}

struct Cursor<'a> {
    sql: &'a str,
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    fn previous(&self) -> Option<&'a Token> {
        self.at.checked_sub(1).and_then(|i| self.tokens.get(i))
    }

    fn peek_keyword(&self) -> Option<String> {
        self.peek()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text(self.sql).to_ascii_uppercase())
    }

    /// The next token as an upper-case keyword (`None` if it is not a word); always advances.
    fn keyword(&mut self) -> Option<String> {
        let keyword = self.peek_keyword();
        self.at += 1;
        keyword
    }

    /// `name`, `schema.name`, quoted or not, followed by an optional alias.
    fn table_name(&mut self, dialect: Dialect) -> Option<TableName> {
        let mut parts = vec![self.identifier(dialect)?];
        while self.peek().is_some_and(|t| t.text(self.sql) == ".") {
            self.at += 1;
            parts.push(self.identifier(dialect)?);
        }
        let name = parts.pop()?;
        let schema = parts.pop();
        if self.peek_keyword().as_deref() == Some("AS") {
            self.at += 1;
            self.identifier(dialect)?;
        } else if self.peek().is_some_and(|t| t.kind == TokenKind::Quoted)
            || self.peek_keyword().is_some_and(|w| {
                !matches!(
                    w.as_str(),
                    "SET"
                        | "WHERE"
                        | "USING"
                        | "JOIN"
                        | "RETURNING"
                        | "ORDER"
                        | "LIMIT"
                        | "INDEXED"
                        | "NOT"
                )
            })
        {
            self.at += 1;
        }
        Some(TableName { schema, name })
    }

    fn identifier(&mut self, dialect: Dialect) -> Option<String> {
        let token = self.peek()?;
        let text = token.text(self.sql);
        let name = match token.kind {
            TokenKind::Word => match dialect {
                Dialect::Postgres => text.to_lowercase(),
                Dialect::MySql | Dialect::Sqlite => text.to_owned(),
            },
            TokenKind::Quoted if text.starts_with(['"', '`', '[']) => {
                let quote = &text[..1];
                let closing = if quote == "[" { "]" } else { quote };
                text[1..text.len() - 1].replace(&closing.repeat(2), closing)
            }
            _ => return None,
        };
        self.at += 1;
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<BackfillStatement, StatementError> {
        BackfillStatement::parse(sql, Dialect::Postgres)
    }

    #[test]
    fn update_keeps_its_condition_in_every_batch() {
        let statement =
            parse("UPDATE public.Users AS u SET n = n + 1 WHERE u.status IS NULL OR n < 3")
                .unwrap();
        assert_eq!(statement.kind, BackfillKind::Update);
        assert_eq!(
            statement.table,
            TableName {
                schema: Some("public".into()),
                name: "users".into()
            }
        );
        assert_eq!(
            statement.restricted_to("id <= 10"),
            "UPDATE public.Users AS u SET n = n + 1 WHERE (u.status IS NULL OR n < 3) AND id <= 10"
        );
    }

    #[test]
    fn statement_without_where_gets_only_the_range() {
        let statement = parse("update \"Odd \"\"Name\"\" \" set x = 1").unwrap();
        assert_eq!(statement.table.name, "Odd \"Name\" ");
        assert_eq!(
            statement.restricted_to("id <= 1"),
            "update \"Odd \"\"Name\"\" \" set x = 1 WHERE id <= 1"
        );
    }

    #[test]
    fn keywords_inside_parentheses_and_is_distinct_from_are_not_clauses() {
        let statement = parse(
            "UPDATE t SET y = extract(year FROM d), z = (SELECT max(a) FROM o ORDER BY 1 LIMIT 1) \
             WHERE a IS DISTINCT FROM b AND id IN (SELECT id FROM q)",
        )
        .unwrap();
        assert_eq!(statement.table.name, "t");
        let delete = parse("DELETE FROM ONLY s.t WHERE created < now()").unwrap();
        assert_eq!(delete.kind, BackfillKind::Delete);
        assert_eq!(delete.table.schema.as_deref(), Some("s"));
        assert_eq!(
            BackfillStatement::parse("UPDATE OR IGNORE t SET x = 1", Dialect::Sqlite)
                .unwrap()
                .table
                .name,
            "t"
        );
    }

    #[test]
    fn refuses_what_cannot_be_batched() {
        let cases = [
            ("SELECT 1", "single UPDATE or DELETE"),
            ("INSERT INTO t VALUES (1)", "single UPDATE or DELETE"),
            ("WITH x AS (SELECT 1) UPDATE t SET a = 1", "WITH"),
            (
                "UPDATE t SET a = o.a FROM o WHERE o.id = t.id",
                "UPDATE ... FROM",
            ),
            (
                "DELETE FROM t USING o WHERE o.id = t.id",
                "DELETE ... USING",
            ),
            ("UPDATE t SET a = 1 RETURNING id", "RETURNING"),
            ("UPDATE t SET a = 1 ORDER BY id LIMIT 5", "ORDER BY"),
            ("DELETE FROM t LIMIT 5", "LIMIT"),
            ("UPDATE t, o SET t.a = o.a", "several tables"),
            ("UPDATE t JOIN o ON o.id = t.id SET t.a = o.a", "join"),
            ("UPDATE t SET a = 1; UPDATE t SET b = 2", "more than one"),
            ("UPDATE t WHERE a = 1", "expected SET"),
            ("UPDATE t SET a = 1 WHERE CURRENT OF c", "CURRENT OF"),
            ("DELETE t WHERE a = 1", "expected FROM"),
        ];
        for (sql, expected) in cases {
            let error = BackfillStatement::parse(sql, Dialect::MySql).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{sql}: {error} (expected {expected:?})"
            );
        }
        assert_eq!(
            parse("UPDATE t SET a = 1 RETURNING id").unwrap_err().offset,
            19
        );
    }

    #[test]
    fn key_ranges_for_single_and_composite_keys() {
        let id = vec!["\"id\"".to_owned()];
        assert_eq!(key_range(&id, None, &["5".into()]), "\"id\" <= 5");
        assert_eq!(
            key_range(
                &["a".into(), "b".into()],
                Some(&["1".into(), "'x'".into()]),
                &["2".into(), "'y'".into()]
            ),
            "(a, b) > (1, 'x') AND (a, b) <= (2, 'y')"
        );
    }

    #[test]
    fn expanded_key_ranges_spell_out_each_column() {
        let id = vec!["id".to_owned()];
        assert_eq!(
            expanded_key_range(&id, Some(&["1".into()]), &["5".into()]),
            "id > 1 AND id <= 5"
        );
        let columns: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let values = |v: [&str; 3]| v.map(String::from).to_vec();
        assert_eq!(
            expanded_key_range(&columns, None, &values(["2", "'y'", "9"])),
            "a <= 2 AND (a < 2 OR (a = 2 AND (b < 'y' OR (b = 'y' AND c <= 9))))"
        );
        assert_eq!(
            expanded_key_range(
                &columns[..2],
                Some(&values(["1", "'x'", ""])[..2]),
                &values(["2", "'y'", ""])[..2]
            ),
            "a >= 1 AND a <= 2 AND (a > 1 OR (a = 1 AND b > 'x')) AND (a < 2 OR (a = 2 AND b <= 'y'))"
        );
    }
}
