//! `concurrent-in-transaction`: a `CONCURRENTLY` statement that will run inside a transaction, where
//! PostgreSQL refuses it.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "concurrent-in-transaction",
    summary: "`CONCURRENTLY` inside an explicit transaction or a migration forced to run in one",
    help: "remove `BEGIN`/`COMMIT` and `-- strata:transaction`: strata runs a file with `CONCURRENTLY` outside a transaction",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` and `DETACH PARTITION CONCURRENTLY` cannot run inside a transaction block: the migration fails with \"cannot run inside a transaction block\".",
    instead: "Let the runner decide: a file containing a concurrent statement runs outside a transaction unless `-- strata:transaction` forces one. Keep such a statement alone in its migration.",
    bad: "-- strata:transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    good: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if !cx.statement.is_concurrent() {
        return;
    }
    if cx.file.in_explicit_transaction {
        out.push(Finding::new("`CONCURRENTLY` inside `BEGIN ... COMMIT` fails: it cannot run inside a transaction block"));
    } else if cx.migration.in_transaction {
        out.push(Finding::new(
            "this migration is forced to run in a transaction, where `CONCURRENTLY` fails",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_when_forced_by_directive() {
        fires(
            &RULE,
            "-- strata:transaction\nCREATE INDEX CONCURRENTLY i ON users (email);",
        );
    }

    #[test]
    fn fires_inside_explicit_begin() {
        let d = fires(&RULE, "BEGIN;\nDROP INDEX CONCURRENTLY i;\nCOMMIT;");
        assert!(d.message.contains("BEGIN"), "{}", d.message);
    }

    #[test]
    fn fires_when_the_runner_says_transaction() {
        case("ALTER TABLE events DETACH PARTITION p CONCURRENTLY;")
            .in_transaction(true)
            .fires(&RULE);
    }

    #[test]
    fn silent_when_the_runner_decides() {
        silent(&RULE, "CREATE INDEX CONCURRENTLY i ON users (email);");
    }

    #[test]
    fn silent_after_the_explicit_transaction_ended() {
        silent(
            &RULE,
            "-- strata:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\nREINDEX INDEX CONCURRENTLY i;",
        );
    }

    #[test]
    fn silent_on_plain_statements_in_a_transaction() {
        case("CREATE INDEX i ON users (email);")
            .in_transaction(true)
            .silent(&RULE);
    }
}
