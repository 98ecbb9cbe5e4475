//! `drop-not-null`: `ALTER COLUMN ... DROP NOT NULL`, after which readers that assume a value break.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "drop-not-null",
    summary: "`ALTER COLUMN ... DROP NOT NULL`",
    help: "deploy readers that handle NULL first, then drop the constraint",
    default_severity: Severity::Warning,
    category: Category::Breaking,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "Once NULLs can be written, code that assumed the column always has a value (non-optional fields, arithmetic, string formatting) starts failing on the new rows.",
    instead: "First deploy readers that handle NULL, then drop the constraint, then deploy writers that write NULL.",
    bad: "ALTER TABLE users ALTER COLUMN created_at DROP NOT NULL;",
    good: "-- readers handle NULL since release 41:\n-- strata:allow drop-not-null readers deployed first\nALTER TABLE users ALTER COLUMN created_at DROP NOT NULL;",
    operation: Some(PgOperation::DropNotNull),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        let dropped = match action {
            AlterAction::DropNotNull { column } => Some(column),
            // MySQL `MODIFY`/`CHANGE` without `NOT NULL` of a column known to be `NOT NULL`.
            AlterAction::RedefineColumn { column, definition }
                if !definition.not_null && !definition.primary_key =>
            {
                cx.schema
                    .table(&alter.table)
                    .and_then(|t| t.column(column))
                    .filter(|old| old.not_null)
                    .map(|_| column)
            }
            _ => None,
        };
        if let Some(column) = dropped {
            out.push(
                Finding::new(format!(
                    "`{}.{column}` may now be NULL: code that assumes a value breaks on new rows",
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

    #[test]
    fn fires_on_mysql_modify_leaving_not_null_out() {
        let d = case("ALTER TABLE users MODIFY age BIGINT;")
            .after("CREATE TABLE users (id BIGINT PRIMARY KEY, age INT NOT NULL);")
            .mysql("8.4")
            .fires(&RULE);
        assert!(d.message.contains("users.age"), "{}", d.message);
        case("ALTER TABLE users MODIFY age BIGINT NOT NULL;")
            .after("CREATE TABLE users (id BIGINT PRIMARY KEY, age INT NOT NULL);")
            .mysql("8.4")
            .silent(&RULE);
        case("ALTER TABLE users MODIFY age BIGINT NULL;")
            .after("CREATE TABLE users (id BIGINT PRIMARY KEY, age INT);")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn fires_on_drop_not_null() {
        fires(&RULE, "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;");
    }

    #[test]
    fn fires_per_column_on_qualified_tables() {
        assert_eq!(
            case("ALTER TABLE ONLY app.users ALTER a DROP NOT NULL, ALTER b DROP NOT NULL;")
                .findings(&RULE)
                .len(),
            2
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;")
            .after("CREATE TABLE users (email text NOT NULL);")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_set_not_null() {
        silent(&RULE, "ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (email text NOT NULL);\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        );
    }

    #[test]
    fn silent_on_drop_default() {
        silent(&RULE, "ALTER TABLE users ALTER COLUMN email DROP DEFAULT;");
    }
}
