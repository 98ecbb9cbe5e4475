//! `strata:allow` suppressions: the comments that tell the linter a finding is accepted. (Execution
//! directives are the runner's, read by `strata_core::directive`.)

use strata_core::directive::comment_body;
use strata_core::lexer::{Token, TokenKind};

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
            let (scope, ids) = parse_allow(t.text(sql))?;
            Some(AllowComment {
                scope,
                ids,
                range: t.start..t.end,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
