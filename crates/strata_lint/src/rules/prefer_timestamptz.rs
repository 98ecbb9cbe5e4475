//! `prefer-timestamptz`: `timestamp` without time zone.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::columns_of_type;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "prefer-timestamptz",
    summary: "`timestamp` without time zone (PostgreSQL)",
    help: "use `timestamptz`",
    default_severity: Severity::Info,
    category: Category::Style,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`timestamp` stores a wall-clock value without an offset: the same instant written from sessions in different time zones compares differently, and daylight-saving changes become ambiguous.",
    instead: "Use `timestamptz`, which stores an instant and converts to the session's time zone on output.",
    bad: "CREATE TABLE logins (at timestamp);",
    good: "CREATE TABLE logins (at timestamptz);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (column, _) in columns_of_type(cx.statement, "timestamp") {
        out.push(Finding::new(format!(
            "`{column}` is `timestamp` without time zone"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_timestamp() {
        fires(&RULE, "CREATE TABLE t (at timestamp);");
    }

    #[test]
    fn fires_on_the_long_spelling_with_precision() {
        fires(
            &RULE,
            "ALTER TABLE t ADD COLUMN at timestamp(3) without time zone;",
        );
    }

    #[test]
    fn fires_on_type_change() {
        fires(&RULE, "ALTER TABLE t ALTER COLUMN at TYPE timestamp;");
    }

    #[test]
    fn silent_on_timestamptz() {
        silent(
            &RULE,
            "CREATE TABLE t (at timestamptz, b timestamp with time zone);",
        );
    }

    #[test]
    fn silent_on_date_and_time() {
        silent(&RULE, "CREATE TABLE t (d date, t time);");
    }

    #[test]
    fn silent_on_a_column_named_timestamp() {
        silent(&RULE, "CREATE TABLE t (\"timestamp\" timestamptz);");
    }
}
