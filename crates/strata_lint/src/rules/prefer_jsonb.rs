//! `prefer-jsonb`: `json` columns.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::columns_of_type;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "prefer-jsonb",
    summary: "`json` column (PostgreSQL)",
    help: "use `jsonb`",
    default_severity: Severity::Warning,
    category: Category::Style,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`json` stores the text as written and has no equality operator: `SELECT DISTINCT`, `GROUP BY`, `UNION` and unique indexes on it fail, and every access re-parses the value.",
    instead: "Use `jsonb` (binary, indexable with GIN, comparable). Keep `json` only when the exact input text (key order, duplicates) must be preserved.",
    bad: "CREATE TABLE events_raw (payload json);",
    good: "CREATE TABLE events_raw (payload jsonb);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (column, _) in columns_of_type(cx.statement, "json") {
        out.push(Finding::new(format!(
            "`{column}` is `json`, which has no equality operator"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_json() {
        fires(&RULE, "CREATE TABLE t (payload json);");
    }

    #[test]
    fn fires_on_json_arrays() {
        fires(&RULE, "CREATE TABLE t (payloads json[]);");
    }

    #[test]
    fn fires_on_add_column_and_type_change() {
        fires(&RULE, "ALTER TABLE t ADD COLUMN payload json;");
        fires(&RULE, "ALTER TABLE t ALTER COLUMN payload TYPE json;");
    }

    #[test]
    fn silent_on_jsonb() {
        silent(&RULE, "CREATE TABLE t (payload jsonb);");
    }

    #[test]
    fn silent_on_json_values_in_queries() {
        silent(&RULE, "SELECT '{}'::json;");
    }

    #[test]
    fn silent_on_text() {
        silent(&RULE, "CREATE TABLE t (payload text);");
    }
}
