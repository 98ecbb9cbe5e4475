//! `add-column-required`: `ADD COLUMN ... NOT NULL` without a default on an existing table, which fails as
//! soon as the table has a row.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::common::added_columns;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-column-required",
    summary: "`ADD COLUMN ... NOT NULL` without a `DEFAULT` on an existing table",
    help: "add the column nullable (or with a constant default), backfill it, then apply the `set-not-null` recipe",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Existing rows would get NULL in a NOT NULL column, so the statement fails on any non-empty table. Even where it succeeds, application code still inserting without the column breaks.",
    instead: "Add the column nullable, or with a constant `DEFAULT` (no rewrite from PostgreSQL 11); deploy code that writes it; backfill existing rows in batches; then make it NOT NULL with the `set-not-null` recipe.",
    bad: "ALTER TABLE users ADD COLUMN country text NOT NULL;",
    good: "ALTER TABLE users ADD COLUMN country text NOT NULL DEFAULT 'unknown';",
    operation: Some(PgOperation::AddColumn),
    trace_only: false,
    lowering: Lowering::KnownEmpty,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, column) in added_columns(cx) {
        let filled = column.default.is_some()
            || column.generated_stored
            || column.identity
            || column.is_serial();
        if (column.not_null || column.primary_key) && !filled {
            out.push(
                Finding::new(format!(
                    "`ADD COLUMN {}` is NOT NULL without a default: it fails if `{}` has any row",
                    column.name, alter.table
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
    use crate::{Catalog, CatalogTable, ObjectName, Severity};

    fn catalog_with_rows(rows: f64) -> Catalog {
        Catalog {
            tables: vec![CatalogTable {
                name: ObjectName {
                    schema: None,
                    name: "users".into(),
                },
                estimated_rows: rows,
                columns: Vec::new(),
                indexes: Vec::new(),
                constraints: Vec::new(),
            }],
            ..Catalog::default()
        }
    }

    #[test]
    fn fires_on_not_null_without_default() {
        fires(&RULE, "ALTER TABLE users ADD COLUMN country text NOT NULL;");
    }

    #[test]
    fn fires_on_a_primary_key_column() {
        fires(
            &RULE,
            "ALTER TABLE IF EXISTS app.users ADD COLUMN code int PRIMARY KEY;",
        );
    }

    #[test]
    fn is_not_lowered_for_a_small_but_non_empty_table() {
        let d = case("ALTER TABLE users ADD COLUMN country text NOT NULL;")
            .catalog(catalog_with_rows(5.0))
            .fires(&RULE);
        assert_eq!(d.severity, Severity::Error);
    }

    #[test]
    fn is_lowered_for_a_table_known_to_be_empty() {
        let d = case("ALTER TABLE users ADD COLUMN country text NOT NULL;")
            .catalog(catalog_with_rows(0.0))
            .fires(&RULE);
        assert_eq!(d.severity, Severity::Info);
        assert!(d.note.unwrap().contains("empty"));
    }

    #[test]
    fn silent_with_a_default() {
        silent(
            &RULE,
            "ALTER TABLE users ADD COLUMN country text NOT NULL DEFAULT 'x';",
        );
    }

    #[test]
    fn silent_when_nullable() {
        silent(&RULE, "ALTER TABLE users ADD COLUMN country text;");
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN country text NOT NULL;",
        );
    }
}
