//! `transaction-control`: `BEGIN`/`COMMIT`/`ROLLBACK` written in a migration, where the runner manages
//! transactions.

use crate::input::Dialect;
use crate::ir::{StatementKind, TransactionCommand};
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "transaction-control",
    summary: "`BEGIN`, `START TRANSACTION`, `COMMIT` or `ROLLBACK` inside a migration",
    help: "remove it: strata wraps the migration in its own transaction (`-- strata:no-transaction` to opt out)",
    default_severity: Severity::Error,
    category: Category::Hygiene,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "strata runs each migration in one transaction together with its history row. A `COMMIT` in the file ends that transaction early: later statements run outside it, and a failure leaves the migration half applied and unrecorded. A `COMMIT` inside a `DO` block fails inside a transaction. One `BEGIN ... COMMIT` wrapping the whole file is accepted (strata replaces it with its own).",
    instead: "Let the runner manage transactions. For statements that cannot run in a transaction, use `-- strata:no-transaction` (there, a `DO` block may `COMMIT` between batches).",
    bad: "ALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;\nALTER TABLE users ADD COLUMN bio text;",
    good: "BEGIN;\nALTER TABLE users ADD COLUMN nickname text;\nCOMMIT;",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    match &cx.statement.kind {
        StatementKind::Transaction(command) if !cx.migration.wrapped_in_begin_commit => {
            let what = match command {
                TransactionCommand::Begin => "`BEGIN`",
                TransactionCommand::Commit => "`COMMIT`",
                TransactionCommand::Rollback => "`ROLLBACK`",
                TransactionCommand::Other => return,
            };
            out.push(Finding::new(format!(
                "{what} in a migration interferes with the transaction strata manages"
            )));
        }
        StatementKind::Do { commits: true, .. } if cx.migration.in_transaction => {
            out.push(Finding::new("this `DO` block commits, which fails inside the migration's transaction").with_help(
                "mark the file `-- strata:no-transaction` so the block may commit between batches",
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_commit_in_the_middle() {
        let d = fires(
            &RULE,
            "ALTER TABLE t ADD a int;\nCOMMIT;\nALTER TABLE t ADD b int;",
        );
        assert_eq!(d.line, 2);
    }

    #[test]
    fn fires_on_two_transactions_in_one_file() {
        assert_eq!(
            case("BEGIN; SELECT 1; COMMIT; START TRANSACTION; SELECT 2; ROLLBACK;")
                .findings(&RULE)
                .len(),
            4
        );
    }

    #[test]
    fn fires_on_a_committing_do_block_in_a_transaction() {
        fires(
            &RULE,
            "-- strata:transaction\nDO $$ BEGIN UPDATE t SET a = 1 WHERE id = 1; COMMIT; END $$;",
        );
    }

    #[test]
    fn silent_on_one_wrapping_transaction() {
        silent(&RULE, "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;");
    }

    #[test]
    fn silent_on_a_committing_do_block_outside_a_transaction() {
        silent(
            &RULE,
            "DO $$ BEGIN UPDATE t SET a = 1 WHERE id = 1; COMMIT; END $$;",
        );
    }

    #[test]
    fn silent_on_savepoints_and_sqlite_wrapping() {
        silent(&RULE, "SAVEPOINT s; RELEASE SAVEPOINT s;");
        case("BEGIN TRANSACTION;\nCREATE TABLE t (a int);\nCOMMIT;")
            .sqlite()
            .silent(&RULE);
    }
}
