//! `concurrent-with-other-statements`: a migration that must run outside a transaction and holds other
//! statements, so a failure part-way leaves a half-applied migration.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, MigrationContext, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "concurrent-with-other-statements",
    summary: "a migration that runs outside a transaction also holds other statements",
    help: "one non-transactional operation per migration",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Outside a transaction each statement commits on its own. If the third of five fails, the first two stay applied and the migration is half done; a failed `CREATE INDEX CONCURRENTLY` also leaves an INVALID index behind.",
    instead: "Give each non-transactional operation (`CREATE INDEX CONCURRENTLY`, ...) its own migration, so a failure leaves a clean state that a retry can resume. `SET` statements for the session do not count.",
    bad: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);",
    good: "SET statement_timeout = '30min';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Migration(check),
};

fn check(cx: &MigrationContext<'_>, out: &mut Vec<Finding>) {
    if cx.migration.in_transaction {
        return;
    }
    let counted: Vec<usize> = cx
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.in_do_block && !matches!(s.statement.kind, StatementKind::Set { .. }))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = counted
        .iter()
        .find(|&&i| cx.statements[i].statement.cannot_run_in_transaction())
    else {
        return;
    };
    if counted.len() > 1 {
        out.push(
            Finding::new(format!(
                "this migration runs outside a transaction and holds {} other statements: a failure part-way leaves it half applied",
                counted.len() - 1
            ))
            .at_statement(first),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_two_concurrent_builds() {
        fires(
            &RULE,
            "CREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);",
        );
    }

    #[test]
    fn fires_on_a_concurrent_build_with_ddl() {
        let d = fires(
            &RULE,
            "ALTER TABLE t ADD COLUMN c int;\nCREATE INDEX CONCURRENTLY c ON t (c);",
        );
        assert_eq!(d.line, 2);
    }

    #[test]
    fn fires_on_a_no_transaction_directive_file() {
        fires(&RULE, "-- strata:no-transaction\nVACUUM t;\nANALYZE t;");
    }

    #[test]
    fn silent_on_one_statement_with_session_settings() {
        silent(
            &RULE,
            "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY a ON t (a);",
        );
    }

    #[test]
    fn silent_in_a_transaction() {
        case("CREATE INDEX a ON t (a); CREATE INDEX b ON t (b);").silent(&RULE);
    }

    #[test]
    fn silent_on_a_no_transaction_file_without_non_transactional_statements() {
        silent(
            &RULE,
            "-- strata:no-transaction\nCREATE TABLE IF NOT EXISTS a (x int);\nCREATE TABLE IF NOT EXISTS b (x int);",
        );
    }
}
