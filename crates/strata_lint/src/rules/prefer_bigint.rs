//! `prefer-bigint`: a 16- or 32-bit integer for a primary key or `id` column.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::declared_columns;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "prefer-bigint",
    summary: "`int`/`integer`/`smallint`/`serial` for a primary key or `id` column",
    help: "use `bigint` (with `GENERATED ... AS IDENTITY`)",
    default_severity: Severity::Info,
    category: Category::Style,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A 32-bit key runs out at about 2.1 billion values (sequences also burn values on rollbacks); widening it later rewrites the table and every referencing column.",
    instead: "Use `bigint` for keys from the start: `id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`.",
    bad: "CREATE TABLE accounts (id integer PRIMARY KEY);",
    good: "CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for declared in declared_columns(cx.statement) {
        let column = declared.column;
        let small = matches!(
            column.data_type.name.as_str(),
            "integer" | "smallint" | "serial" | "smallserial"
        );
        if small && !column.data_type.array && (declared.in_primary_key || column.name == "id") {
            out.push(Finding::new(format!(
                "key column `{}.{}` is `{}`: it can run out of values",
                declared.table, column.name, column.data_type
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_integer_primary_key() {
        fires(&RULE, "CREATE TABLE t (id integer PRIMARY KEY);");
    }

    #[test]
    fn fires_on_serial_id_and_table_level_keys() {
        fires(&RULE, "CREATE TABLE t (id serial);");
        fires(&RULE, "CREATE TABLE t (code smallint, PRIMARY KEY (code));");
    }

    #[test]
    fn fires_on_add_column() {
        fires(&RULE, "ALTER TABLE t ADD COLUMN id int4;");
    }

    #[test]
    fn silent_on_bigint_keys() {
        silent(
            &RULE,
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        );
    }

    #[test]
    fn silent_on_non_key_integers() {
        silent(
            &RULE,
            "CREATE TABLE t (id bigint PRIMARY KEY, age integer);",
        );
    }

    #[test]
    fn silent_on_uuid_keys() {
        silent(&RULE, "CREATE TABLE t (id uuid PRIMARY KEY);");
    }
}
