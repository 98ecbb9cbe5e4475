//! `rename-table`: `ALTER TABLE ... RENAME TO`, which breaks application code still using the old name.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "rename-table",
    summary: "`RENAME TO` on an existing table",
    help: "expand/contract, or keep a view under the old name during the switch",
    default_severity: Severity::Error,
    category: Category::Breaking,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "Running application code keeps querying the old name and fails from the moment the rename commits until every instance runs the new code.",
    instead: "Expand/contract (new table, dual writes, backfill, switch reads, drop the old), or rename and create a view with the old name (`CREATE VIEW old AS SELECT * FROM new`, simple views are updatable) until the old code is gone.",
    bad: "ALTER TABLE users RENAME TO accounts;",
    good: "CREATE TABLE accounts (LIKE users INCLUDING ALL);\n-- then dual writes, a batched backfill, switch reads, and drop `users` later",
    operation: Some(PgOperation::RenameTable),
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if let StatementKind::RenameTable { table, new_name } = &cx.statement.kind
        && cx.is_existing(table)
    {
        out.push(
            Finding::new(format!(
                "renaming `{table}` to `{new_name}` breaks running code that still uses `{table}`"
            ))
            .on_table(table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_rename_to() {
        fires(&RULE, "ALTER TABLE users RENAME TO accounts;");
    }

    #[test]
    fn fires_on_qualified_names_with_if_exists() {
        let d = fires(&RULE, "ALTER TABLE IF EXISTS app.users RENAME TO accounts;");
        assert!(d.message.contains("`app.users`"), "{}", d.message);
    }

    #[test]
    fn fires_on_sqlite() {
        case("ALTER TABLE users RENAME TO accounts;")
            .sqlite()
            .fires(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (id int);\nALTER TABLE users RENAME TO accounts;",
        );
    }

    #[test]
    fn silent_on_renaming_other_objects() {
        silent(
            &RULE,
            "ALTER INDEX i RENAME TO j; ALTER SEQUENCE s RENAME TO t; ALTER VIEW v RENAME TO w;",
        );
    }

    #[test]
    fn silent_on_a_table_created_by_an_earlier_statement_then_renamed_twice() {
        silent(
            &RULE,
            "CREATE TABLE a (id int);\nALTER TABLE a RENAME TO b;\nALTER TABLE b RENAME TO c;",
        );
    }
}
