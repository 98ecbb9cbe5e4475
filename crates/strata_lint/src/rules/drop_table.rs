//! `drop-table`: `DROP TABLE` on an existing table: its data is gone.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "drop-table",
    summary: "`DROP TABLE` on an existing table",
    help: "snapshot first (`CREATE TABLE _backup_... AS SELECT ...`), and drop after a cool-down",
    default_severity: Severity::Warning,
    category: Category::DataLoss,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "The table's data is gone once the migration commits, and code still using the table fails. A down migration cannot bring the rows back.",
    instead: "Stop using the table, keep a snapshot (`CREATE TABLE _backup_t AS SELECT * FROM t`, or rename it aside), and drop it in a later migration after a cool-down.",
    bad: "DROP TABLE orders;",
    good: "ALTER TABLE orders RENAME TO _deprecated_orders;",
    operation: Some(PgOperation::DropTable),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::DropTable { tables, .. } = &cx.statement.kind else {
        return;
    };
    for table in tables.iter().filter(|t| cx.is_existing(t)) {
        out.push(
            Finding::new(format!("dropping `{table}` deletes its data for good")).on_table(table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_drop_table() {
        fires(&RULE, "DROP TABLE orders;");
    }

    #[test]
    fn fires_once_per_table_with_if_exists_and_schemas() {
        assert_eq!(
            case(r#"DROP TABLE IF EXISTS app.orders, "Items" CASCADE;"#)
                .findings(&RULE)
                .len(),
            2
        );
    }

    #[test]
    fn fires_on_sqlite() {
        case("DROP TABLE orders;").sqlite().fires(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(&RULE, "CREATE TABLE tmp (a int);\nDROP TABLE tmp;");
    }

    #[test]
    fn silent_on_drop_view() {
        silent(&RULE, "DROP VIEW v;");
    }

    #[test]
    fn silent_on_drop_index() {
        silent(&RULE, "DROP INDEX CONCURRENTLY i;");
    }
}
