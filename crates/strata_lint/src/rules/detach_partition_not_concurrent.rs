//! `detach-partition-not-concurrent`: `DETACH PARTITION` without `CONCURRENTLY` (PostgreSQL 14 added it).

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::{existing_alter_actions, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "detach-partition-not-concurrent",
    summary: "`DETACH PARTITION` without `CONCURRENTLY`",
    help: "use `DETACH PARTITION ... CONCURRENTLY` in its own migration (outside a transaction)",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: Some(14),
    why: "A plain `DETACH PARTITION` takes `ACCESS EXCLUSIVE` on the partitioned parent, blocking every read and write of the whole partitioned table until the migration commits.",
    instead: "`ALTER TABLE parent DETACH PARTITION part CONCURRENTLY` (PostgreSQL 14 and later) takes only `SHARE UPDATE EXCLUSIVE` on the parent. It cannot run in a transaction or with a default partition; if interrupted, finish it with `DETACH PARTITION ... FINALIZE`.",
    bad: "ALTER TABLE events DETACH PARTITION events_2024;",
    good: "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
    operation: Some(PgOperation::DetachPartition),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        if let AlterAction::DetachPartition {
            partition,
            concurrently: false,
        } = action
        {
            out.push(
                Finding::new(format!(
                    "`DETACH PARTITION {partition}` without `CONCURRENTLY` {} `{}`",
                    lock_phrase(PgOperation::DetachPartition, cx.pg_version())
                        .replace("on the table", "on the partitioned table"),
                    alter.table
                ))
                .on_table(&alter.table),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_postgres_14_and_later() {
        fires(&RULE, "ALTER TABLE events DETACH PARTITION events_2024;");
        case("ALTER TABLE events DETACH PARTITION events_2024;")
            .postgres(14)
            .fires(&RULE);
    }

    #[test]
    fn fires_on_qualified_names() {
        let d = fires(
            &RULE,
            r#"ALTER TABLE app."Events" DETACH PARTITION app.events_2024;"#,
        );
        assert!(d.message.contains("app.Events"), "{}", d.message);
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE events DETACH PARTITION events_2024;")
            .after("CREATE TABLE events (at date) PARTITION BY RANGE (at);")
            .fires(&RULE);
    }

    #[test]
    fn silent_before_postgres_14() {
        case("ALTER TABLE events DETACH PARTITION events_2024;")
            .postgres(13)
            .silent(&RULE);
    }

    #[test]
    fn silent_with_concurrently() {
        silent(
            &RULE,
            "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE events (at date) PARTITION BY RANGE (at);\nALTER TABLE events DETACH PARTITION events_2024;",
        );
    }
}
