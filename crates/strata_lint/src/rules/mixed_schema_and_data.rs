//! `mixed-schema-and-data`: DDL and DML in one migration.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, LocatedStatement, Lowering, MigrationContext, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "mixed-schema-and-data",
    summary: "schema changes and data changes in one migration",
    help: "separate schema migrations from data migrations",
    default_severity: Severity::Warning,
    category: Category::Hygiene,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "A data change in a schema migration runs inside the same transaction as the DDL, holding its locks for as long as the data change takes; it also cannot be batched, retried or reverted on its own.",
    instead: "Put DDL in one migration and the data change (`UPDATE`, `DELETE`, `INSERT` into an existing table, a `-- strata:backfill`) in another. Seeding a table created by the same migration is fine.",
    bad: "ALTER TABLE users ADD COLUMN country text;\nUPDATE users SET country = 'NL' WHERE id = 1;",
    good: "CREATE TABLE countries (code text PRIMARY KEY);\nINSERT INTO countries VALUES ('NL'), ('BE');",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Migration(check),
};

fn is_data_change(located: &LocatedStatement, cx: &MigrationContext<'_>) -> bool {
    match &located.statement.kind {
        StatementKind::Update(_) | StatementKind::Delete(_) => true,
        StatementKind::Insert { table, .. } => !cx.created_tables.contains(table),
        _ => located.backfill && !located.statement.is_ddl(),
    }
}

fn check(cx: &MigrationContext<'_>, out: &mut Vec<Finding>) {
    if !cx.statements.iter().any(|s| s.statement.is_ddl()) {
        return;
    }
    if let Some(index) = cx.statements.iter().position(|s| is_data_change(s, cx)) {
        out.push(Finding::new("this migration changes both schema and data").at_statement(index));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_ddl_then_update() {
        let d = fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN c text;\nUPDATE users SET c = 'x' WHERE id = 1;",
        );
        assert_eq!(d.line, 2);
    }

    #[test]
    fn fires_on_insert_into_an_existing_table() {
        fires(
            &RULE,
            "CREATE INDEX CONCURRENTLY i ON t (a);\nINSERT INTO app.settings (k) VALUES ('x');",
        );
    }

    #[test]
    fn fires_on_sqlite_and_inside_do_blocks() {
        case("CREATE TABLE t (a int);\nDELETE FROM u WHERE id = 1;")
            .sqlite()
            .fires(&RULE);
        fires(
            &RULE,
            "CREATE TABLE t (a int);\nDO $$ BEGIN DELETE FROM u WHERE id = 1; END $$;",
        );
    }

    #[test]
    fn silent_on_seeding_a_new_table() {
        silent(
            &RULE,
            "CREATE TABLE countries (code text);\nINSERT INTO countries VALUES ('NL');",
        );
    }

    #[test]
    fn silent_on_data_only() {
        silent(
            &RULE,
            "UPDATE users SET a = 1 WHERE id = 1;\nDELETE FROM users WHERE id = 2;",
        );
    }

    #[test]
    fn silent_on_schema_only() {
        silent(
            &RULE,
            "CREATE TABLE t (a int);\nALTER TABLE u ADD COLUMN b int;",
        );
    }
}
