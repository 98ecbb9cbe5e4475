//! `add-column-stored-generated`: `ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on an existing table.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::added_columns;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-column-stored-generated",
    summary: "`ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on an existing table",
    help: "add a plain column kept up to date by a trigger, and backfill it in batches",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A stored generated column is computed and written for every existing row: the table is rewritten under `ACCESS EXCLUSIVE`, blocking reads and writes for the duration.",
    instead: "Add a plain nullable column, a `BEFORE INSERT OR UPDATE` trigger that computes it, and backfill existing rows in batches. (PostgreSQL 18 virtual generated columns are computed on read and do not rewrite.)",
    bad: "ALTER TABLE users ADD COLUMN email_lower text GENERATED ALWAYS AS (lower(email)) STORED;",
    good: "ALTER TABLE users ADD COLUMN email_lower text;\n-- plus a trigger that sets it, and a batched backfill",
    operation: Some(PgOperation::AddColumnRewriting),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, column) in added_columns(cx).filter(|(_, c)| c.generated_stored) {
        out.push(
            Finding::new(format!(
                "stored generated column `{}` is computed for every row: `{}` is rewritten under `ACCESS EXCLUSIVE`",
                column.name, alter.table
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
    fn fires_on_a_stored_generated_column() {
        fires(
            &RULE,
            "ALTER TABLE users ADD COLUMN l text GENERATED ALWAYS AS (lower(email)) STORED;",
        );
    }

    #[test]
    fn fires_on_a_quoted_schema_qualified_table() {
        fires(
            &RULE,
            r#"ALTER TABLE "App"."Users" ADD "L" text GENERATED ALWAYS AS (lower(email)) STORED;"#,
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE users ADD COLUMN l text GENERATED ALWAYS AS (lower(email)) STORED;")
            .after("CREATE TABLE users (email text);")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_virtual_generated_columns() {
        silent(
            &RULE,
            "ALTER TABLE users ADD COLUMN l text GENERATED ALWAYS AS (lower(email)) VIRTUAL;",
        );
    }

    #[test]
    fn silent_on_create_table() {
        silent(
            &RULE,
            "CREATE TABLE users (email text, l text GENERATED ALWAYS AS (lower(email)) STORED);",
        );
    }

    #[test]
    fn silent_on_a_plain_column() {
        silent(&RULE, "ALTER TABLE users ADD COLUMN l text;");
    }
}
