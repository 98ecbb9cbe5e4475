//! `add-column-volatile-default`: `ADD COLUMN` whose default must be computed per row (or, before
//! PostgreSQL 11, any default), which rewrites the table.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::Volatility;
use crate::report::Severity;
use crate::rules::common::added_columns;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-column-volatile-default",
    summary: "`ADD COLUMN` with a volatile default (before PostgreSQL 11: any default)",
    help: "add the column without a default, `SET DEFAULT` in a second statement, then backfill existing rows in batches",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A volatile default (`random()`, `gen_random_uuid()`, `clock_timestamp()`, ...) must be evaluated for every existing row, so PostgreSQL rewrites the whole table under `ACCESS EXCLUSIVE`. Before PostgreSQL 11 every default did; from 11 a non-volatile default is stored once in the catalog.",
    instead: "`ADD COLUMN c type` (no default: instant), then `ALTER COLUMN c SET DEFAULT expr` (applies to new rows only), then backfill existing rows in batches (`strata backfill`).",
    bad: "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    good: "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();",
    operation: Some(PgOperation::AddColumnRewriting),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, column) in added_columns(cx) {
        let Some(default) = &column.default else {
            continue;
        };
        let message = match default {
            Volatility::Volatile(function) => {
                format!(
                    "default `{function}()` of `{}` is volatile: adding it rewrites `{}` under `ACCESS EXCLUSIVE`",
                    column.name, alter.table
                )
            }
            Volatility::Unknown(function) => format!(
                "could not tell whether the default of `{}` (calls `{function}`) is volatile; if it is, adding it rewrites `{}` under `ACCESS EXCLUSIVE`",
                column.name, alter.table
            ),
            Volatility::NonVolatile if cx.pg_version() < 11 => format!(
                "before PostgreSQL 11 any default rewrites the table: adding `{}` rewrites `{}` under `ACCESS EXCLUSIVE`",
                column.name, alter.table
            ),
            Volatility::NonVolatile => continue,
        };
        out.push(Finding::new(message).on_table(&alter.table));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_a_volatile_function() {
        fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        );
        fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp();",
        );
    }

    #[test]
    fn fires_on_an_unknown_function_and_says_so() {
        let d = fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN c int DEFAULT my_counter();",
        );
        assert!(d.message.contains("could not tell"), "{}", d.message);
    }

    #[test]
    fn fires_on_any_default_before_postgres_11() {
        case("ALTER TABLE users ADD COLUMN active boolean DEFAULT true;")
            .postgres(10)
            .fires(&RULE);
    }

    #[test]
    fn silent_on_constant_and_stable_defaults_from_postgres_11() {
        case("ALTER TABLE users ADD COLUMN active boolean DEFAULT true;")
            .postgres(11)
            .silent(&RULE);
        silent(
            &RULE,
            "ALTER TABLE users ADD COLUMN at timestamptz DEFAULT now(), ADD COLUMN at2 timestamptz DEFAULT CURRENT_TIMESTAMP;",
        );
    }

    #[test]
    fn silent_without_default() {
        silent(&RULE, "ALTER TABLE users ADD COLUMN token uuid;");
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        );
    }
}
