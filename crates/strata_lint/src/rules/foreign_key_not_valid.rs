//! `foreign-key-not-valid`: a foreign key added to an existing table without `NOT VALID`.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::ConstraintKind;
use crate::report::Severity;
use crate::rules::common::{added_columns, added_constraints, constraint_label, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "foreign-key-not-valid",
    summary: "a foreign key added to an existing table without `NOT VALID`",
    help: "add the constraint `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Adding a validated foreign key takes `SHARE ROW EXCLUSIVE` on both the table and the referenced table and checks every existing row while holding them: writes to both tables wait for the whole scan.",
    instead: "Add the constraint with `NOT VALID` (checked for new rows only; brief lock), then run `ALTER TABLE ... VALIDATE CONSTRAINT` in a later migration: validation takes only `SHARE UPDATE EXCLUSIVE`, which does not block reads or writes. For `ADD COLUMN ... REFERENCES`, `NOT VALID` is not allowed inline: add the column plain, then `ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`. On PostgreSQL, `strata up` does this itself when the table already exists: it adds the key `NOT VALID` as the expand of an expand/contract migration, and `strata complete` validates it.",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n-- in a later migration:\n-- ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;",
    operation: Some(PgOperation::AddForeignKey),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, constraint) in added_constraints(cx) {
        if let ConstraintKind::ForeignKey { references, .. } = &constraint.kind
            && !constraint.not_valid
        {
            let lock = lock_phrase(PgOperation::AddForeignKey, cx.pg_version());
            out.push(
                Finding::new(format!(
                    "foreign key{} on existing table `{}` is validated at once: it {lock} (and on `{references}`) while every row is checked",
                    constraint_label(constraint),
                    alter.table
                ))
                .on_table(&alter.table),
            );
        }
    }
    for (alter, column) in added_columns(cx) {
        if let Some(references) = &column.references {
            out.push(
                Finding::new(format!(
                    "`ADD COLUMN {} ... REFERENCES {references}` on existing table `{}` validates the new foreign key at once",
                    column.name, alter.table
                ))
                .with_help("add the column without `REFERENCES`, then `ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID` (not allowed inline), and validate later")
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
    fn fires_on_a_validated_foreign_key() {
        fires(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
        );
    }

    #[test]
    fn fires_on_add_column_references_with_the_two_step_help() {
        let d = fires(
            &RULE,
            "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);",
        );
        assert!(d.help.contains("not allowed inline"), "{}", d.help);
    }

    #[test]
    fn fires_in_a_multi_subcommand_alter_on_a_quoted_table() {
        fires(
            &RULE,
            r#"ALTER TABLE IF EXISTS ONLY "Sales"."Orders" ADD COLUMN note text, ADD FOREIGN KEY (user_id) REFERENCES users;"#,
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);")
            .after("CREATE TABLE orders (id bigint, user_id bigint);")
            .fires(&RULE);
    }

    #[test]
    fn silent_with_not_valid() {
        silent(
            &RULE,
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE orders (id bigint, user_id bigint);\nALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);",
        );
    }

    #[test]
    fn silent_on_create_table_with_references() {
        silent(
            &RULE,
            "CREATE TABLE orders (id bigint, user_id bigint REFERENCES users (id));",
        );
    }
}
