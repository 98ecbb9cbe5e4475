//! `ban-char`: `char(n)` columns.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::columns_of_type;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "ban-char",
    summary: "`char(n)` (PostgreSQL)",
    help: "use `text` (with a `CHECK` on the length if needed)",
    default_severity: Severity::Info,
    category: Category::Style,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`char(n)` pads values with spaces, ignores trailing spaces in comparisons, and is no faster than `text`; it is almost always a mistake.",
    instead: "Use `text`, with `CHECK (length(col) = n)` if a fixed length is part of the data's meaning.",
    bad: "CREATE TABLE countries (code char(2));",
    good: "CREATE TABLE countries (code text CHECK (length(code) = 2));",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (column, _) in columns_of_type(cx.statement, "character") {
        out.push(Finding::new(format!(
            "`{column}` is `char`: values are blank-padded"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_char_n() {
        fires(&RULE, "CREATE TABLE t (code char(2));");
    }

    #[test]
    fn fires_on_character_spellings() {
        fires(&RULE, "CREATE TABLE t (code character(3));");
        fires(&RULE, "ALTER TABLE t ADD COLUMN flag char;");
    }

    #[test]
    fn fires_on_type_change() {
        fires(&RULE, "ALTER TABLE t ALTER COLUMN code TYPE char(4);");
    }

    #[test]
    fn silent_on_text() {
        silent(&RULE, "CREATE TABLE t (code text);");
    }

    #[test]
    fn silent_on_the_internal_char_type() {
        silent(&RULE, r#"CREATE TABLE t (kind "char");"#);
    }

    #[test]
    fn silent_on_varchar() {
        silent(&RULE, "CREATE TABLE t (code varchar);");
    }
}
