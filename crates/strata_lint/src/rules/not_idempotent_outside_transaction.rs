//! `not-idempotent-outside-transaction`: `CREATE`/`DROP` without `IF [NOT] EXISTS` in a migration that runs
//! outside a transaction, where a retry after a failure must re-run statements that already took effect.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "not-idempotent-outside-transaction",
    summary: "`CREATE`/`DROP` without `IF [NOT] EXISTS` in a migration that runs outside a transaction",
    help: "add `IF NOT EXISTS` / `IF EXISTS` (or `OR REPLACE`) so the statement can be re-run",
    default_severity: Severity::Warning,
    category: Category::Hygiene,
    dialects: &[Dialect::Postgres, Dialect::Sqlite],
    since_postgres: None,
    why: "Outside a transaction every statement commits on its own. When the migration fails and is resumed, a statement that had already run fails again with \"already exists\" or \"does not exist\".",
    instead: "Guard each `CREATE` with `IF NOT EXISTS` (or `OR REPLACE`) and each `DROP` with `IF EXISTS`. For `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, check that a leftover index is not INVALID (strata does when it resumes).",
    bad: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    good: "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if !cx.migration.in_transaction && cx.statement.create_or_drop_guard() == Some(false) {
        out.push(Finding::new("this migration runs outside a transaction, and this statement fails if it is run a second time"));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_an_unguarded_concurrent_index() {
        fires(&RULE, "CREATE INDEX CONCURRENTLY i ON t (a);");
    }

    #[test]
    fn fires_on_unguarded_drops_in_a_no_transaction_file() {
        fires(&RULE, "-- strata:no-transaction\nDROP TABLE t;");
        fires(&RULE, "DROP INDEX CONCURRENTLY i;");
    }

    #[test]
    fn fires_on_sqlite_outside_a_transaction() {
        case("CREATE TABLE t (a int);")
            .sqlite()
            .in_transaction(false)
            .fires(&RULE);
    }

    #[test]
    fn silent_on_guarded_statements() {
        silent(&RULE, "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);");
        silent(
            &RULE,
            "-- strata:no-transaction\nCREATE OR REPLACE VIEW v AS SELECT 1;\nDROP TABLE IF EXISTS t;",
        );
    }

    #[test]
    fn silent_in_a_transaction() {
        silent(&RULE, "CREATE TABLE t (a int); DROP TABLE u;");
    }

    #[test]
    fn silent_on_alter_statements() {
        silent(
            &RULE,
            "-- strata:no-transaction\nALTER TABLE t ADD COLUMN a int;",
        );
    }
}
