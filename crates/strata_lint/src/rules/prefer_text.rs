//! `prefer-text`: `varchar(n)` columns.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::columns_of_type;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "prefer-text",
    summary: "`varchar(n)` (PostgreSQL)",
    help: "use `text`, with a `CHECK (length(col) <= n)` if a limit matters",
    default_severity: Severity::Info,
    category: Category::Style,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "In PostgreSQL `varchar(n)` is `text` with a length check that cannot be changed cheaply: lowering the limit rewrites the table. `text` performs the same.",
    instead: "Use `text`; enforce a limit with a `CHECK` constraint, which can be replaced with `NOT VALID` + `VALIDATE` without a rewrite.",
    bad: "CREATE TABLE accounts (name varchar(100));",
    good: "CREATE TABLE accounts (name text CHECK (length(name) <= 100));",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (column, data_type) in columns_of_type(cx.statement, "varchar") {
        if !data_type.modifiers.is_empty() {
            out.push(Finding::new(format!(
                "`{column}` is `{data_type}`; `text` with a check is easier to change later"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_varchar_n() {
        fires(&RULE, "CREATE TABLE t (name varchar(100));");
    }

    #[test]
    fn fires_on_character_varying_in_add_column() {
        fires(
            &RULE,
            "ALTER TABLE t ADD COLUMN name character varying(20);",
        );
    }

    #[test]
    fn fires_on_type_change_to_varchar_n() {
        fires(&RULE, "ALTER TABLE t ALTER COLUMN name TYPE varchar(20);");
    }

    #[test]
    fn silent_on_text() {
        silent(&RULE, "CREATE TABLE t (name text);");
    }

    #[test]
    fn silent_on_unlimited_varchar() {
        silent(&RULE, "CREATE TABLE t (name varchar);");
    }

    #[test]
    fn silent_on_sqlite() {
        crate::rules::testing::case("CREATE TABLE t (name varchar(10));")
            .sqlite()
            .silent(&RULE);
    }
}
