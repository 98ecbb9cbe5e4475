//! Comments the linter obeys: execution directives in the file header and `strata:allow` suppressions.

use crate::input::{Dialect, Directives};
use crate::lexer::{Token, TokenKind, tokenize};

/// Reads the execution directives: comments before the first statement.
pub(crate) fn read_directives(sql: &str, dialect: Dialect) -> Directives {
    let mut directives = Directives::default();
    let tokens = tokenize(sql, dialect);
    for (index, token) in tokens
        .iter()
        .take_while(|t| t.kind == TokenKind::Comment)
        .enumerate()
    {
        let body = comment_body(&sql[token.range.clone()]);
        if index == 0
            && token.range.start == sql.len() - sql.trim_start_matches('\u{feff}').len()
            && body == "no-transaction"
        {
            directives.no_transaction = true;
        }
        let Some(directive) = body.strip_prefix("strata:") else {
            continue;
        };
        let word = directive.split_whitespace().next().unwrap_or_default();
        match word {
            "no-transaction" => directives.no_transaction = true,
            "transaction" => directives.transaction = true,
            "irreversible" => directives.irreversible = true,
            "backfill" => directives.backfill = true,
            _ => {}
        }
    }
    directives
}

/// The text of a comment without its delimiters, trimmed.
pub(crate) fn comment_body(comment: &str) -> &str {
    let body = match comment.strip_prefix("--") {
        Some(rest) => rest,
        None => comment
            .strip_prefix("/*")
            .and_then(|c| c.strip_suffix("*/"))
            .unwrap_or(comment),
    };
    body.trim()
}

/// Where an allow comment applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllowScope {
    /// `strata:allow`: the statement directly below.
    Statement,
    /// `strata:allow-file`: the whole file.
    File,
}

/// One parsed `-- strata:allow ...` comment.
#[derive(Debug, Clone)]
pub(crate) struct AllowComment {
    pub(crate) scope: AllowScope,
    pub(crate) ids: Vec<String>,
    /// Byte range of the comment in the file.
    pub(crate) range: std::ops::Range<usize>,
}

/// Parses an allow comment, or `None` when `comment` is not one.
pub(crate) fn parse_allow(comment: &str) -> Option<(AllowScope, Vec<String>)> {
    let body = comment_body(comment);
    let (scope, rest) = if let Some(rest) = body.strip_prefix("strata:allow-file") {
        (AllowScope::File, rest)
    } else {
        (AllowScope::Statement, body.strip_prefix("strata:allow")?)
    };
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some((scope, allowed_ids(rest)))
}

/// The ids of an allow comment: comma-separated; the reason starts at the first word not joined by a comma.
fn allowed_ids(mut rest: &str) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        rest = rest.trim_start();
        let id_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if id_len == 0 {
            break;
        }
        ids.push(rest[..id_len].to_owned());
        rest = rest[id_len..].trim_start();
        match rest.strip_prefix(',') {
            Some(after_comma) => rest = after_comma,
            None => break,
        }
    }
    ids
}

/// All allow comments of a file, with their positions.
pub(crate) fn allow_comments(sql: &str, tokens: &[Token]) -> Vec<AllowComment> {
    tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Comment)
        .filter_map(|t| {
            let (scope, ids) = parse_allow(&sql[t.range.clone()])?;
            Some(AllowComment {
                scope,
                ids,
                range: t.range.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_directives_only_before_the_first_statement() {
        let sql = "-- strata:no-transaction\n-- strata:irreversible\nSELECT 1;\n-- strata:backfill\nSELECT 2;";
        let directives = read_directives(sql, Dialect::Postgres);
        assert!(directives.no_transaction && directives.irreversible);
        assert!(!directives.backfill && !directives.transaction);
    }

    #[test]
    fn honours_sqlx_no_transaction_only_on_the_first_line() {
        assert!(read_directives("-- no-transaction\nSELECT 1", Dialect::Postgres).no_transaction);
        assert!(
            !read_directives("-- x\n-- no-transaction\nSELECT 1", Dialect::Postgres).no_transaction
        );
    }

    #[test]
    fn allow_ids_are_comma_joined_and_the_reason_follows() {
        let (scope, ids) =
            parse_allow("-- strata:allow index-not-concurrent, set-not-null tiny table, honest")
                .unwrap();
        assert_eq!(scope, AllowScope::Statement);
        assert_eq!(ids, ["index-not-concurrent", "set-not-null"]);
        let (scope, ids) = parse_allow("-- strata:allow-file drop-table ,truncate").unwrap();
        assert_eq!(scope, AllowScope::File);
        assert_eq!(ids, ["drop-table", "truncate"]);
    }

    #[test]
    fn other_comments_are_not_allows() {
        assert!(parse_allow("-- strata:allowance x").is_none());
        assert!(parse_allow("-- allow x").is_none());
    }
}
