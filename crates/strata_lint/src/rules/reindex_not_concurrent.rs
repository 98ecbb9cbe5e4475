//! `reindex-not-concurrent`: `REINDEX` without `CONCURRENTLY` (an error from PostgreSQL 12, which added the
//! concurrent form; `info` before).

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::{ReindexTarget, StatementKind};
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "reindex-not-concurrent",
    summary: "`REINDEX` without `CONCURRENTLY`",
    help: "use `REINDEX ... CONCURRENTLY` (PostgreSQL 12 and later), outside a transaction",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A plain `REINDEX` holds `SHARE` on the table (writes wait) and `ACCESS EXCLUSIVE` on each index being rebuilt (queries that would use it wait) for the whole rebuild. Before PostgreSQL 12 there is no concurrent form, so the finding is only informational there.",
    instead: "`REINDEX INDEX CONCURRENTLY idx` (or `REINDEX TABLE CONCURRENTLY t`) builds a replacement index without blocking reads or writes. It cannot run in a transaction. Before PostgreSQL 12: `CREATE INDEX CONCURRENTLY` a copy, `DROP INDEX CONCURRENTLY` the old one, and rename.",
    bad: "REINDEX TABLE orders;",
    good: "REINDEX TABLE CONCURRENTLY orders;",
    operation: Some(PgOperation::Reindex),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::Reindex {
        target,
        concurrently: false,
    } = &cx.statement.kind
    else {
        return;
    };
    let table = match target {
        ReindexTarget::Table(table) => Some(table),
        ReindexTarget::Index(index) => cx.schema.index(index).map(|i| &i.table),
        ReindexTarget::Many => None,
    };
    if table.is_some_and(|t| !cx.is_existing(t)) {
        return;
    }
    let mut finding = if cx.pg_version() >= 12 {
        Finding::new(
            "`REINDEX` without `CONCURRENTLY` blocks writes to the table and reads through its indexes until the rebuild finishes",
        )
    } else {
        Finding::new(format!(
            "`REINDEX` blocks writes until the rebuild finishes; PostgreSQL {} has no `REINDEX CONCURRENTLY` (12 and later)",
            cx.pg_version()
        ))
        .with_severity(Severity::Info)
        .with_help("rebuild with `CREATE INDEX CONCURRENTLY` a copy, `DROP INDEX CONCURRENTLY` the old index, then rename")
    };
    if let Some(table) = table {
        finding = finding.on_table(table);
    }
    out.push(finding);
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::Severity;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_reindex_table() {
        assert_eq!(
            fires(&RULE, "REINDEX TABLE orders;").severity,
            Severity::Error
        );
    }

    #[test]
    fn fires_on_reindex_index_and_database() {
        fires(&RULE, "REINDEX INDEX app.orders_user_id_idx;");
        fires(&RULE, "REINDEX DATABASE app;");
    }

    #[test]
    fn is_only_info_before_postgres_12() {
        let d = case("REINDEX TABLE orders;").postgres(11).fires(&RULE);
        assert_eq!(d.severity, Severity::Info);
        assert!(d.message.contains("12"), "{}", d.message);
    }

    #[test]
    fn silent_with_concurrently() {
        silent(&RULE, "REINDEX TABLE CONCURRENTLY orders;");
        silent(
            &RULE,
            "REINDEX (VERBOSE, CONCURRENTLY) INDEX orders_user_id_idx;",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(&RULE, "CREATE TABLE t (a int);\nREINDEX TABLE t;");
    }

    #[test]
    fn silent_on_other_statements() {
        silent(&RULE, "CREATE INDEX CONCURRENTLY i ON t (a);");
    }
}
