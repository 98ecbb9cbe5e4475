//! `drop-index-not-concurrent`: `DROP INDEX` without `CONCURRENTLY`.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::common::lock_phrase;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "drop-index-not-concurrent",
    summary: "`DROP INDEX` without `CONCURRENTLY`",
    help: "use `DROP INDEX CONCURRENTLY` in its own migration",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`DROP INDEX` takes `ACCESS EXCLUSIVE` on the index's table. The drop itself is quick, but the lock request waits behind every running query on the table, and every later query queues behind it.",
    instead: "`DROP INDEX CONCURRENTLY` waits for running transactions without blocking new ones. It cannot run in a transaction: put it in its own migration.",
    bad: "DROP INDEX orders_user_id_idx;",
    good: "DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;",
    operation: Some(PgOperation::DropIndex),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::DropIndex {
        names,
        concurrently: false,
        ..
    } = &cx.statement.kind
    else {
        return;
    };
    for name in names {
        let table = cx.schema.index(name).map(|i| &i.table);
        if table.is_some_and(|t| !cx.is_existing(t)) {
            continue;
        }
        let on = table.map_or_else(String::new, |t| format!(" on `{t}`"));
        let mut finding = Finding::new(format!(
            "`DROP INDEX {name}` without `CONCURRENTLY` {}{on}",
            lock_phrase(PgOperation::DropIndex, cx.pg_version())
        ));
        if let Some(table) = table {
            finding = finding.on_table(table);
        }
        out.push(finding);
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_a_plain_drop() {
        fires(&RULE, "DROP INDEX orders_user_id_idx;");
    }

    #[test]
    fn fires_with_if_exists_and_schema() {
        let d = fires(&RULE, "DROP INDEX IF EXISTS app.orders_user_id_idx;");
        assert!(
            d.message.contains("app.orders_user_id_idx"),
            "{}",
            d.message
        );
    }

    #[test]
    fn names_the_table_of_an_index_from_an_earlier_migration() {
        let d = case("DROP INDEX i;")
            .after("CREATE TABLE t (a int); CREATE INDEX CONCURRENTLY i ON t (a);")
            .fires(&RULE);
        assert!(d.message.contains("on `t`"), "{}", d.message);
    }

    #[test]
    fn silent_with_concurrently() {
        silent(&RULE, "DROP INDEX CONCURRENTLY orders_user_id_idx;");
    }

    #[test]
    fn silent_for_an_index_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nDROP INDEX i;",
        );
    }

    #[test]
    fn silent_for_other_drops() {
        silent(&RULE, "DROP VIEW v; DROP SEQUENCE s;");
    }
}
