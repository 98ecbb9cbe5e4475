//! `validate-same-transaction`: `VALIDATE CONSTRAINT` in the transactional migration that added the
//! constraint, which keeps the adding statement's lock for the whole validation.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "validate-same-transaction",
    summary: "`VALIDATE CONSTRAINT` in the same transaction that added the constraint",
    help: "validate the constraint in a later migration",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`NOT VALID` exists so that the strong lock of `ADD CONSTRAINT` is held only for a moment. Validating in the same transaction keeps that lock (`ACCESS EXCLUSIVE` for a check, `SHARE ROW EXCLUSIVE` for a foreign key) until commit, across the full scan, which is what `NOT VALID` was meant to avoid.",
    instead: "Commit the `NOT VALID` constraint in one migration and `VALIDATE CONSTRAINT` in the next; validation alone takes only `SHARE UPDATE EXCLUSIVE`.",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    good: "-- a later migration than the one that added it:\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    operation: Some(PgOperation::ValidateConstraint),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if !cx.migration.in_transaction {
        return;
    }
    for (alter, action) in existing_alter_actions(cx) {
        let AlterAction::ValidateConstraint { name } = action else {
            continue;
        };
        if cx
            .file
            .added_constraints
            .contains(&(alter.table.clone(), name.clone()))
        {
            out.push(
                Finding::new(format!(
                    "`{name}` is validated in the transaction that added it: the lock taken to add it is held for the whole validation of `{}`",
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

    const ADD_THEN_VALIDATE: &str = "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT positive;";

    #[test]
    fn fires_when_added_and_validated_in_one_file() {
        let d = fires(&RULE, ADD_THEN_VALIDATE);
        assert_eq!(d.line, 2);
    }

    #[test]
    fn fires_for_foreign_keys_with_schema_qualified_names() {
        fires(
            &RULE,
            "ALTER TABLE app.orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;\nALTER TABLE app.orders VALIDATE CONSTRAINT fk;",
        );
    }

    #[test]
    fn fires_when_forced_into_a_transaction() {
        case(ADD_THEN_VALIDATE).in_transaction(true).fires(&RULE);
    }

    #[test]
    fn silent_when_validated_in_a_later_migration() {
        case("ALTER TABLE orders VALIDATE CONSTRAINT positive;")
            .after("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;")
            .silent(&RULE);
    }

    #[test]
    fn silent_outside_a_transaction() {
        case(ADD_THEN_VALIDATE).in_transaction(false).silent(&RULE);
    }

    #[test]
    fn silent_for_another_constraint_or_table() {
        silent(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT other;",
        );
        silent(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;\nALTER TABLE items VALIDATE CONSTRAINT positive;",
        );
    }
}
