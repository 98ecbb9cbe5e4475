//! `lock-table`: an explicit `LOCK TABLE`.

use crate::facts::{LockModeFacts, PgOperation};
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "lock-table",
    summary: "explicit `LOCK TABLE`",
    help: "avoid explicit locks; if one is needed, keep it short and rely on the runner's `lock_timeout`",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`LOCK TABLE` takes `ACCESS EXCLUSIVE` unless another mode is named, and holds it until the migration commits: everything else the migration does then runs with the table blocked.",
    instead: "Let each statement take the lock it needs. If an explicit lock is truly required, take the weakest mode that works, as the last step of a short migration, with a `lock_timeout` so it gives up instead of queueing everyone behind it.",
    bad: "LOCK TABLE users;",
    good: "-- no explicit lock; each statement takes what it needs\nALTER TABLE users ADD COLUMN nickname text;",
    operation: Some(PgOperation::LockTable),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::LockTable { tables, mode } = &cx.statement.kind else {
        return;
    };
    for table in tables.iter().filter(|t| cx.is_existing(t)) {
        out.push(
            Finding::new(format!(
                "`LOCK TABLE {table}` takes `{}` (blocking {}) until the migration commits",
                mode.sql_name(),
                mode.what_it_blocks()
            ))
            .on_table(table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_default_mode() {
        let d = fires(&RULE, "LOCK TABLE users;");
        assert!(d.message.contains("ACCESS EXCLUSIVE"), "{}", d.message);
    }

    #[test]
    fn fires_on_explicit_modes() {
        let d = fires(&RULE, "LOCK TABLE app.users IN SHARE ROW EXCLUSIVE MODE;");
        assert!(d.message.contains("SHARE ROW EXCLUSIVE"), "{}", d.message);
    }

    #[test]
    fn fires_once_per_table() {
        let findings =
            crate::rules::testing::case("LOCK users, orders IN SHARE MODE;").findings(&RULE);
        assert_eq!(findings.len(), 2);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(&RULE, "CREATE TABLE t (a int);\nLOCK TABLE t;");
    }

    #[test]
    fn silent_on_row_locks() {
        silent(&RULE, "SELECT * FROM users WHERE id = 1 FOR UPDATE;");
    }

    #[test]
    fn silent_on_advisory_locks() {
        silent(&RULE, "SELECT pg_advisory_xact_lock(1);");
    }
}
