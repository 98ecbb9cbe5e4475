//! `add-exclusion-constraint`: `ADD CONSTRAINT ... EXCLUDE` on an existing table. There is no online way.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::ConstraintKind;
use crate::report::Severity;
use crate::rules::common::{added_constraints, constraint_label};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-exclusion-constraint",
    summary: "`ADD CONSTRAINT ... EXCLUDE` on an existing table",
    help: "there is no online way: schedule a maintenance window, or create the constraint with the table",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "An exclusion constraint builds its index and checks every row under `ACCESS EXCLUSIVE`, blocking reads and writes; it cannot be added `NOT VALID` or attached from an index built concurrently.",
    instead: "Schedule a maintenance window for it, or create the constraint together with a new table and move the data.",
    bad: "ALTER TABLE users ADD CONSTRAINT users_email_excl EXCLUDE USING btree (email WITH =);",
    good: "CREATE TABLE bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
    operation: Some(PgOperation::AddExclusion),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, constraint) in
        added_constraints(cx).filter(|(_, c)| c.kind == ConstraintKind::Exclusion)
    {
        out.push(
            Finding::new(format!(
                "exclusion constraint{} on existing table `{}` is built and checked under `ACCESS EXCLUSIVE`, with no online alternative",
                constraint_label(constraint),
                alter.table
            ))
            .on_table(&alter.table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_add_exclude() {
        fires(
            &RULE,
            "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
        );
    }

    #[test]
    fn fires_on_an_unnamed_exclude_on_a_qualified_table() {
        fires(
            &RULE,
            "ALTER TABLE app.bookings ADD EXCLUDE USING gist (room WITH =);",
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE bookings ADD EXCLUDE USING gist (room WITH =);")
            .after("CREATE TABLE bookings (room int);")
            .fires(&RULE);
    }

    #[test]
    fn silent_in_create_table() {
        silent(
            &RULE,
            "CREATE TABLE bookings (room int, EXCLUDE USING gist (room WITH =));",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE bookings (room int);\nALTER TABLE bookings ADD EXCLUDE USING gist (room WITH =);",
        );
    }

    #[test]
    fn silent_on_other_constraints() {
        silent(
            &RULE,
            "ALTER TABLE bookings ADD CHECK (room > 0) NOT VALID;",
        );
    }
}
