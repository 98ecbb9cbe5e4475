//! `check-not-valid`: a `CHECK` constraint added to an existing table without `NOT VALID`.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::ConstraintKind;
use crate::report::Severity;
use crate::rules::common::{added_constraints, constraint_label, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "check-not-valid",
    summary: "a `CHECK` constraint added to an existing table without `NOT VALID`",
    help: "add the check `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`ADD CONSTRAINT ... CHECK` takes `ACCESS EXCLUSIVE` and reads every row to validate the check: reads and writes wait for the whole scan.",
    instead: "Add the check with `NOT VALID` (new rows are checked; the lock is brief), then `ALTER TABLE ... VALIDATE CONSTRAINT` in a later migration, which takes only `SHARE UPDATE EXCLUSIVE`.",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n-- in a later migration:\n-- ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    operation: Some(PgOperation::AddCheck),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, constraint) in added_constraints(cx) {
        if matches!(constraint.kind, ConstraintKind::Check { .. }) && !constraint.not_valid {
            out.push(
                Finding::new(format!(
                    "check{} on existing table `{}` is validated at once: it {} while every row is read",
                    constraint_label(constraint),
                    alter.table,
                    lock_phrase(PgOperation::AddCheck, cx.pg_version())
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
    fn fires_on_a_validated_check() {
        let d = fires(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0);",
        );
        assert!(d.message.contains("`positive`"), "{}", d.message);
    }

    #[test]
    fn fires_on_an_unnamed_check_among_other_subcommands() {
        fires(
            &RULE,
            "ALTER TABLE public.orders ADD COLUMN note text, ADD CHECK (total >= 0);",
        );
    }

    #[test]
    fn fires_on_a_not_null_check_without_not_valid() {
        case("ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL);")
            .after("CREATE TABLE users (email text);")
            .fires(&RULE);
    }

    #[test]
    fn silent_with_not_valid() {
        silent(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE orders (total int);\nALTER TABLE orders ADD CHECK (total >= 0);",
        );
    }

    #[test]
    fn silent_on_other_constraints() {
        silent(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT u UNIQUE USING INDEX orders_key;",
        );
    }
}
