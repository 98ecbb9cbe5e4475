//! `statement-after-access-exclusive`: in a transactional migration, a statement that scans or writes a
//! table after an `ACCESS EXCLUSIVE` lock was taken, so that lock is held for the statement's duration.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::table_effects;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "statement-after-access-exclusive",
    summary: "a statement that scans or writes a table while an earlier `ACCESS EXCLUSIVE` lock is still held",
    help: "split the migration so that the `ACCESS EXCLUSIVE` lock is taken in a migration of its own",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Locks are held until the transaction commits. Once a migration took `ACCESS EXCLUSIVE` on a table (any `ALTER TABLE`, `DROP`, `RENAME`, ...), every later statement that reads or writes many rows extends the time nobody can even read that table.",
    instead: "Put the statement that takes `ACCESS EXCLUSIVE` last, or in a migration of its own, so the lock is held only for a moment.",
    bad: "ALTER TABLE users ADD COLUMN nickname text;\nUPDATE orders SET total = 0 WHERE total IS NULL;",
    good: "ALTER TABLE users ADD COLUMN nickname text;",
    operation: None,
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let Some((locked, line)) = &cx.file.access_exclusive else {
        return;
    };
    if !cx.migration.in_transaction {
        return;
    }
    let heavy = table_effects(cx.statement, cx.schema, cx.pg_version())
        .into_iter()
        .find(|e| (e.reads_rows || e.writes_rows) && cx.is_existing(&e.table));
    if let Some(effect) = heavy {
        let verb = if effect.writes_rows {
            "writes"
        } else {
            "scans"
        };
        out.push(
            Finding::new(format!(
                "this statement {verb} `{}` while the `ACCESS EXCLUSIVE` lock taken on `{locked}` at line {line} is still held: `{locked}` stays blocked for its whole duration",
                effect.table
            ))
            .on_table(locked),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_an_update_after_an_alter() {
        let d = fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN n text;\nUPDATE orders SET total = 0 WHERE id = 1;",
        );
        assert!(d.message.contains("line 1"), "{}", d.message);
    }

    #[test]
    fn fires_on_an_index_build_after_a_rename() {
        fires(
            &RULE,
            "ALTER TABLE users RENAME COLUMN a TO b;\nCREATE INDEX i ON orders (user_id);",
        );
    }

    #[test]
    fn fires_on_a_validation_scan_after_a_drop() {
        fires(
            &RULE,
            "DROP TABLE old_users;\nALTER TABLE orders ADD CHECK (total > 0);",
        );
    }

    #[test]
    fn silent_when_the_exclusive_lock_comes_last() {
        silent(
            &RULE,
            "UPDATE orders SET total = 0 WHERE id = 1;\nALTER TABLE users ADD COLUMN n text;",
        );
    }

    #[test]
    fn silent_when_the_locked_table_was_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\nUPDATE orders SET total = 0 WHERE id = 1;",
        );
    }

    #[test]
    fn silent_outside_a_transaction() {
        case("ALTER TABLE users ADD COLUMN n text;\nUPDATE orders SET total = 0 WHERE id = 1;")
            .in_transaction(false)
            .silent(&RULE);
    }
}
