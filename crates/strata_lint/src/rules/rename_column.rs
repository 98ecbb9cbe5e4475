//! `rename-column`: `RENAME COLUMN`, which breaks application code still using the old name.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::{AlterAction, StatementKind};
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "rename-column",
    summary: "`RENAME COLUMN` on an existing table",
    help: "expand/contract: add the new column, write both, backfill, switch reads, then drop the old one",
    default_severity: Severity::Error,
    category: Category::Breaking,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "The application version running during and after the deploy still reads and writes the old name; every such query fails from the moment the rename commits until the new code is everywhere.",
    instead: "Add the new column, make the application write both, backfill, switch reads to the new column, stop writing the old one, then drop it (or expose the old name through a view during the switch). On PostgreSQL, `strata up` runs these steps itself when the table already exists: it expands (a view or shadow column for the new application, triggers, an online backfill), and `strata complete` contracts once the old application is gone.",
    bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
    good: "ALTER TABLE users ADD COLUMN full_name varchar(50);",
    operation: Some(PgOperation::RenameColumn),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let finding = |table: &crate::input::ObjectName, column: &str, new_name: &str| {
        Finding::new(format!("renaming `{table}.{column}` to `{new_name}` breaks running code that still uses `{column}`"))
            .on_table(table)
    };
    if let StatementKind::RenameColumn {
        table,
        column,
        new_name,
    } = &cx.statement.kind
        && cx.is_existing(table)
    {
        out.push(finding(table, column, new_name));
    }
    // MySQL `CHANGE old new ...` renames while redefining.
    for (alter, action) in existing_alter_actions(cx) {
        if let AlterAction::RedefineColumn { column, definition } = action
            && *column != definition.name
        {
            out.push(finding(&alter.table, column, &definition.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_rename_column() {
        fires(&RULE, "ALTER TABLE users RENAME COLUMN name TO full_name;");
    }

    #[test]
    fn fires_on_mysql_rename_and_change() {
        case("ALTER TABLE users RENAME COLUMN name TO full_name, ALGORITHM=INSTANT;")
            .mysql("8.4")
            .fires(&RULE);
        let d = case("ALTER TABLE users CHANGE name full_name VARCHAR(50);")
            .mysql("10.11-mariadb")
            .fires(&RULE);
        assert!(
            d.message.contains("`users.name` to `full_name`"),
            "{}",
            d.message
        );
        case("ALTER TABLE users CHANGE name name VARCHAR(80);")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn fires_on_quoted_qualified_names_with_if_exists() {
        let d = fires(
            &RULE,
            r#"ALTER TABLE IF EXISTS ONLY "App"."Users" RENAME "Name" TO full_name;"#,
        );
        assert!(d.message.contains("App.Users.Name"), "{}", d.message);
    }

    #[test]
    fn fires_on_sqlite() {
        case("ALTER TABLE users RENAME COLUMN name TO full_name;")
            .sqlite()
            .fires(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (name text);\nALTER TABLE users RENAME COLUMN name TO full_name;",
        );
    }

    #[test]
    fn silent_on_renaming_a_constraint_or_index() {
        silent(
            &RULE,
            "ALTER TABLE users RENAME CONSTRAINT a TO b; ALTER INDEX i RENAME TO j;",
        );
    }

    #[test]
    fn silent_on_renaming_a_view_column() {
        silent(&RULE, "ALTER VIEW v RENAME COLUMN a TO b;");
    }
}
