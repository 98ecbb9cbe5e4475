//! `drop-column`: `DROP COLUMN` on an existing table, which breaks code that still reads or writes it.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "drop-column",
    summary: "`DROP COLUMN` on an existing table",
    help: "stop reading the column, then stop writing it, deploy, and only then drop it",
    default_severity: Severity::Warning,
    category: Category::Breaking,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "Code still running the previous version selects or inserts the column and fails as soon as it is gone; ORMs that cache the column list fail even without naming it. The data is lost.",
    instead: "Stop reading the column (deploy), stop writing it (deploy), then drop it in a later migration. To keep the data, copy it first (see `drop-table`). On PostgreSQL, `strata up` runs these steps itself when the table already exists: it expands (a view or shadow column for the new application, triggers, an online backfill), and `strata complete` contracts once the old application is gone.",
    bad: "ALTER TABLE users DROP COLUMN age;",
    good: "-- after a deploy in which no code reads or writes `age`:\n-- strata:allow drop-column no reader or writer left since release 42\nALTER TABLE users DROP COLUMN age;",
    operation: Some(PgOperation::DropColumn),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        if let AlterAction::DropColumn { name } = action {
            out.push(
                Finding::new(format!("dropping `{}.{name}` breaks running code that still reads or writes it, and loses its data", alter.table))
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
    fn fires_on_drop_column() {
        fires(&RULE, "ALTER TABLE users DROP COLUMN age;");
    }

    #[test]
    fn fires_per_column_with_if_exists_and_quotes() {
        let findings = case(
            r#"ALTER TABLE "App".users DROP COLUMN IF EXISTS "Age", DROP COLUMN name CASCADE;"#,
        )
        .findings(&RULE);
        assert_eq!(findings.len(), 2);
    }

    #[test]
    fn fires_on_sqlite() {
        case("ALTER TABLE users DROP COLUMN age;")
            .sqlite()
            .fires(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (age int);\nALTER TABLE users DROP COLUMN age;",
        );
    }

    #[test]
    fn silent_when_allowed() {
        silent(
            &RULE,
            "-- strata:allow drop-column nobody reads it\nALTER TABLE users DROP COLUMN age;",
        );
    }

    #[test]
    fn silent_on_drop_constraint() {
        silent(&RULE, "ALTER TABLE users DROP CONSTRAINT users_age_check;");
    }
}
