//! `truncate`: `TRUNCATE` in a migration.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "truncate",
    summary: "`TRUNCATE`",
    help: "do not empty tables in a migration; if it is really intended, allow it with a reason",
    default_severity: Severity::Error,
    category: Category::DataLoss,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "`TRUNCATE` deletes every row at once, takes `ACCESS EXCLUSIVE`, and with `CASCADE` also empties every table that references it.",
    instead: "Delete the rows that must go in batches (`strata backfill`), or keep the data and stop using the table.",
    bad: "TRUNCATE orders;",
    good: "DELETE FROM orders WHERE id BETWEEN 1 AND 1000;",
    operation: Some(PgOperation::Truncate),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::Truncate { tables } = &cx.statement.kind else {
        return;
    };
    for table in tables.iter().filter(|t| cx.is_existing(t)) {
        out.push(
            Finding::new(format!("`TRUNCATE` deletes every row of `{table}`")).on_table(table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_truncate() {
        fires(&RULE, "TRUNCATE orders;");
    }

    #[test]
    fn fires_per_table_with_qualified_names() {
        assert_eq!(
            case("TRUNCATE TABLE ONLY app.orders, items RESTART IDENTITY CASCADE;")
                .findings(&RULE)
                .len(),
            2
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("TRUNCATE t;")
            .after("CREATE TABLE t (a int);")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(&RULE, "CREATE TABLE t (a int);\nTRUNCATE t;");
    }

    #[test]
    fn silent_on_delete() {
        silent(&RULE, "DELETE FROM orders WHERE id = 1;");
    }

    #[test]
    fn silent_when_allowed_for_the_file() {
        silent(
            &RULE,
            "-- strata:allow-file truncate staging data only\nTRUNCATE staging;",
        );
    }
}
