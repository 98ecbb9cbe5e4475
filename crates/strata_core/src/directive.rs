//! Execution directives: SQL comments before the first statement of a file that tell strata how
//! to run it (`-- strata:no-transaction`, `-- strata:transaction`, `-- strata:irreversible`,
//! `-- strata:backfill ...`). Lint suppressions (`-- strata:allow ...`) are the linter's business
//! and are only recognised here so they are not mistaken for typos.

use std::time::Duration;

use crate::Dialect;
use crate::lexer::{TokenKind, tokens};

/// How a file asks to be run, read from its leading comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// `Some(true)`: `-- strata:transaction`; `Some(false)`: `-- strata:no-transaction` (or
    /// sqlx's `-- no-transaction`); `None`: strata decides from the statements.
    pub transaction: Option<bool>,
    /// `-- strata:irreversible`: the migration has no down on purpose.
    pub irreversible: bool,
    /// `-- strata:backfill ...`: run the statement as an online, batched backfill.
    pub backfill: Option<BackfillOptions>,
    /// Line of the transaction directive, for error messages.
    pub transaction_line: Option<u32>,
    /// `-- strata:expand ...` or `-- strata:no-expand`: whether the file runs as an
    /// expand/contract migration, where strata would otherwise decide.
    pub expand: Option<ExpandDirective>,
}

/// `-- strata:expand [batch=N] [sleep=DUR] [target=DUR] [key=col,col] [max_lag=DUR]` (the
/// options are those of the expand phase's backfills) or `-- strata:no-expand`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpandDirective {
    /// `false` for `-- strata:no-expand`: run the statements as they are written.
    pub enabled: bool,
    pub backfill: BackfillOptions,
    pub line: u32,
}

/// Options of `-- strata:backfill`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillOptions {
    pub batch: Option<u64>,
    pub sleep: Option<Duration>,
    pub target: Option<Duration>,
    pub key: Option<Vec<String>>,
    pub max_lag: Option<Duration>,
}

/// A directive that cannot be understood; names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DirectiveError {
    pub line: u32,
    pub message: String,
}

/// Reads the directives from the comments before the first statement of `sql`. Lexes only up to
/// that statement: every run reads every migration file, so the rest of the file is not touched.
pub fn parse_directives(sql: &str, dialect: Dialect) -> Result<Directives, DirectiveError> {
    let mut directives = Directives::default();
    for (index, token) in tokens(sql, dialect).enumerate() {
        match token.kind {
            TokenKind::Whitespace => continue,
            TokenKind::Comment => {}
            _ => break,
        }
        let line = line_at(sql, token.start);
        let body = comment_body(token.text(sql));
        if index == 0 && body == "no-transaction" {
            set_transaction(&mut directives, false, line)?;
            continue;
        }
        let Some(directive) = body.strip_prefix("strata:") else {
            continue;
        };
        let (name, args) = directive
            .split_once(char::is_whitespace)
            .unwrap_or((directive, ""));
        let error = |message: String| DirectiveError { line, message };
        match name {
            "no-transaction" => set_transaction(&mut directives, false, line)?,
            "transaction" => set_transaction(&mut directives, true, line)?,
            "irreversible" => directives.irreversible = true,
            "backfill" if directives.expand.is_some() => {
                return Err(error(
                    "`strata:expand` and `strata:backfill` cannot mark the same file: an \
                     expand/contract migration runs its own backfills"
                        .into(),
                ));
            }
            "backfill" => directives.backfill = Some(parse_backfill(args.trim()).map_err(error)?),
            "expand" => {
                let backfill = parse_backfill(args.trim()).map_err(error)?;
                set_expand(&mut directives, true, backfill, line)?;
            }
            "no-expand" => set_expand(&mut directives, false, BackfillOptions::default(), line)?,
            "allow" | "allow-file" => {}
            other => {
                return Err(error(format!(
                    "unknown directive `strata:{other}` (known: no-transaction, transaction, \
                     irreversible, backfill, expand, no-expand, allow, allow-file)"
                )));
            }
        }
    }
    Ok(directives)
}

/// The 1-based line of byte `offset` (directives sit at the top of a file, so counting is cheap).
fn line_at(sql: &str, offset: usize) -> u32 {
    let newlines = sql.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

fn set_transaction(
    directives: &mut Directives,
    value: bool,
    line: u32,
) -> Result<(), DirectiveError> {
    if directives
        .transaction
        .is_some_and(|previous| previous != value)
    {
        return Err(DirectiveError {
            line,
            message: "`strata:transaction` and `strata:no-transaction` contradict each other"
                .into(),
        });
    }
    directives.transaction = Some(value);
    directives.transaction_line = Some(line);
    Ok(())
}

fn set_expand(
    directives: &mut Directives,
    enabled: bool,
    backfill: BackfillOptions,
    line: u32,
) -> Result<(), DirectiveError> {
    if directives.expand.is_some() {
        return Err(DirectiveError {
            line,
            message: "a second `strata:expand` / `strata:no-expand` directive".into(),
        });
    }
    if directives.backfill.is_some() {
        return Err(DirectiveError {
            line,
            message: "`strata:expand` and `strata:backfill` cannot mark the same file: an expand/contract \
                      migration runs its own backfills"
                .into(),
        });
    }
    directives.expand = Some(ExpandDirective {
        enabled,
        backfill,
        line,
    });
    Ok(())
}

/// The text of a comment (`-- ...`, `/* ... */`, `# ...`) without its markers, trimmed.
pub fn comment_body(comment: &str) -> &str {
    let inner = if let Some(rest) = comment.strip_prefix("--") {
        rest
    } else if let Some(rest) = comment.strip_prefix("/*") {
        rest.strip_suffix("*/").unwrap_or(rest)
    } else {
        comment.strip_prefix('#').unwrap_or(comment)
    };
    inner.trim()
}

/// The part of a comment that counts towards the checksum: the comment body if it is an
/// execution directive (it changes how the file runs), else nothing.
pub(crate) fn execution_directive_text(comment: &str) -> Option<&str> {
    let body = comment_body(comment);
    if body == "no-transaction" {
        return Some(body);
    }
    let name = body.strip_prefix("strata:")?;
    let name = name.split(char::is_whitespace).next().unwrap_or_default();
    (!name.starts_with("allow")).then_some(body)
}

fn parse_backfill(args: &str) -> Result<BackfillOptions, String> {
    let mut options = BackfillOptions::default();
    for option in args.split_whitespace() {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| format!("backfill option `{option}` needs a value (`name=value`)"))?;
        match key {
            "batch" => {
                let batch = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("`batch={value}` is not a positive whole number"))?;
                options.batch = Some(batch);
            }
            "sleep" => options.sleep = Some(parse_duration(key, value)?),
            "target" => options.target = Some(parse_duration(key, value)?),
            "max_lag" => options.max_lag = Some(parse_duration(key, value)?),
            "key" => {
                let columns: Vec<String> =
                    value.split(',').map(str::trim).map(String::from).collect();
                if columns.iter().any(String::is_empty) {
                    return Err(format!("`key={value}` names an empty column"));
                }
                options.key = Some(columns);
            }
            other => {
                return Err(format!(
                    "unknown backfill option `{other}` (known: batch, sleep, target, key, max_lag)"
                ));
            }
        }
    }
    Ok(options)
}

/// Parses `50ms`, `2s`, `1m`. Units are required so `sleep=50` is never guessed.
pub fn parse_duration(name: &str, value: &str) -> Result<Duration, String> {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{name}={value}` is not a duration such as 50ms or 2s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" | "min" => Ok(Duration::from_secs(number * 60)),
        "" => Err(format!("`{name}={value}` needs a unit: ms, s or m")),
        _ => Err(format!(
            "`{name}={value}` has an unknown unit `{unit}` (use ms, s or m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<Directives, DirectiveError> {
        parse_directives(sql, Dialect::Postgres)
    }

    #[test]
    fn reads_leading_directives_only() {
        let d = parse("-- strata:no-transaction\n-- strata:irreversible\nCREATE INDEX CONCURRENTLY i ON t(a);\n-- strata:transaction\n").unwrap();
        assert_eq!(d.transaction, Some(false));
        assert!(d.irreversible);
        assert_eq!(
            parse("SELECT 1; -- strata:no-transaction")
                .unwrap()
                .transaction,
            None
        );
    }

    #[test]
    fn sqlx_alias_only_on_the_first_line() {
        assert_eq!(
            parse("-- no-transaction\nSELECT 1").unwrap().transaction,
            Some(false)
        );
        assert_eq!(
            parse("-- note\n-- no-transaction\nSELECT 1")
                .unwrap()
                .transaction,
            None
        );
    }

    #[test]
    fn backfill_options() {
        let d = parse(
            "-- strata:backfill batch=500 sleep=50ms key=a,b max_lag=2s\nUPDATE t SET x = 1;",
        )
        .unwrap();
        let b = d.backfill.unwrap();
        assert_eq!(b.batch, Some(500));
        assert_eq!(b.sleep, Some(Duration::from_millis(50)));
        assert_eq!(b.key, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(b.max_lag, Some(Duration::from_secs(2)));
    }

    #[test]
    fn errors_name_the_line() {
        let err =
            parse("\n\n-- strata:backfill batch=5 speed=fast\nUPDATE t SET x = 1;").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("unknown backfill option `speed`"),
            "{err}"
        );
        let err = parse("-- strata:no-transacton\nSELECT 1").unwrap_err();
        assert!(
            err.message
                .contains("unknown directive `strata:no-transacton`")
        );
        assert!(
            parse("-- strata:backfill sleep=50\nUPDATE t SET x=1")
                .unwrap_err()
                .message
                .contains("needs a unit")
        );
        assert!(parse("-- strata:transaction\n-- strata:no-transaction\nSELECT 1").is_err());
    }

    #[test]
    fn expand_directives() {
        let d =
            parse("-- strata:expand batch=200 target=20ms\nALTER TABLE t RENAME COLUMN a TO b;")
                .unwrap();
        let expand = d.expand.unwrap();
        assert!(expand.enabled);
        assert_eq!(expand.backfill.batch, Some(200));
        assert_eq!(expand.backfill.target, Some(Duration::from_millis(20)));
        assert_eq!(expand.line, 1);
        let off = parse("-- note\n-- strata:no-expand\nALTER TABLE t RENAME COLUMN a TO b;")
            .unwrap()
            .expand
            .unwrap();
        assert!(!off.enabled);
        assert_eq!(off.line, 2);
        let err = parse("-- strata:expand\n-- strata:no-expand\nSELECT 1").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse("-- strata:expand speed=1\nSELECT 1").unwrap_err();
        assert!(
            err.message.contains("unknown backfill option `speed`"),
            "{err}"
        );
        assert!(parse("-- strata:backfill\n-- strata:expand\nUPDATE t SET a = 1").is_err());
        assert!(parse("-- strata:expand\n-- strata:backfill\nUPDATE t SET a = 1").is_err());
    }

    #[test]
    fn allow_comments_are_not_typos() {
        assert_eq!(
            parse("-- strata:allow drop-table reason\nDROP TABLE t;").unwrap(),
            Directives::default()
        );
    }
}
