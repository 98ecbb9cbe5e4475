//! `change-column-type`: `ALTER COLUMN ... TYPE` that rewrites the table (anything but a binary-coercible
//! change).

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::{TypeChange, existing_alter_actions, type_change};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "change-column-type",
    summary: "`ALTER COLUMN ... TYPE` that rewrites the table",
    help: "expand/contract: add a new column, write both, backfill, switch reads, then drop the old column",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Changing a column's type rewrites the table and rebuilds its indexes under `ACCESS EXCLUSIVE`, blocking reads and writes for the duration. Binary-coercible changes are catalog-only: `varchar(n)` to `varchar(m >= n)`, `varchar` to `text`, `numeric(p,s)` to `numeric(q >= p,s)`, widening `varbit(n)`, removing a length limit.",
    instead: "Expand/contract: add the new column, make the application write both columns (or a trigger), backfill in batches, switch reads to the new column, stop writing the old one, then drop it. On PostgreSQL, `strata up` runs these steps itself when the table already exists: it expands (a view or shadow column for the new application, triggers, an online backfill), and `strata complete` contracts once the old application is gone.",
    bad: "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
    good: "ALTER TABLE users ALTER COLUMN name TYPE varchar(100);",
    operation: Some(PgOperation::AlterColumnTypeRewriting),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        let AlterAction::AlterColumnType { column, new_type } = action else {
            continue;
        };
        let old = cx
            .schema
            .table(&alter.table)
            .and_then(|t| t.column(column))
            .map(|c| &c.data_type);
        let message = match (type_change(old, new_type), old) {
            (TypeChange::Coercible, _) => continue,
            (TypeChange::Rewrites, Some(old)) => format!(
                "changing `{}.{column}` from `{old}` to `{new_type}` rewrites the table under `ACCESS EXCLUSIVE`",
                alter.table
            ),
            (_, _) => format!(
                "could not tell the current type of `{}.{column}` (not created by an earlier migration or known from the catalog); a change to `{new_type}` that is not binary coercible rewrites the table under `ACCESS EXCLUSIVE`",
                alter.table
            ),
        };
        out.push(Finding::new(message).on_table(&alter.table));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires};

    const USERS: &str =
        "CREATE TABLE users (age int, name varchar(50), price numeric(10,2), note varchar(20));";

    #[test]
    fn fires_on_int_to_bigint() {
        let d = case("ALTER TABLE users ALTER COLUMN age TYPE bigint;")
            .after(USERS)
            .fires(&RULE);
        assert!(d.message.contains("`integer` to `bigint`"), "{}", d.message);
    }

    #[test]
    fn fires_on_narrowing_and_on_scale_changes() {
        case("ALTER TABLE users ALTER COLUMN name TYPE varchar(10);")
            .after(USERS)
            .fires(&RULE);
        case("ALTER TABLE users ALTER COLUMN price TYPE numeric(12,3);")
            .after(USERS)
            .fires(&RULE);
    }

    #[test]
    fn fires_when_the_old_type_is_unknown_and_says_so() {
        let d = fires(&RULE, "ALTER TABLE users ALTER COLUMN name TYPE text;");
        assert!(d.message.contains("could not tell"), "{}", d.message);
    }

    #[test]
    fn silent_on_binary_coercible_changes() {
        case("ALTER TABLE users ALTER COLUMN name TYPE varchar(100), ALTER COLUMN note TYPE text;")
            .after(USERS)
            .silent(&RULE);
        case("ALTER TABLE users ALTER COLUMN price TYPE numeric(14,2);")
            .after(USERS)
            .silent(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        case(&format!(
            "{USERS}\nALTER TABLE users ALTER COLUMN age TYPE bigint;"
        ))
        .silent(&RULE);
    }

    #[test]
    fn uses_the_catalog_for_the_old_type() {
        let catalog = crate::Catalog {
            tables: vec![crate::CatalogTable {
                name: crate::ObjectName {
                    schema: Some("app".into()),
                    name: "users".into(),
                },
                estimated_rows: -1.0,
                columns: vec![crate::CatalogColumn {
                    name: "name".into(),
                    data_type: "character varying(50)".into(),
                    not_null: false,
                }],
                indexes: Vec::new(),
                constraints: Vec::new(),
            }],
            ..crate::Catalog::default()
        };
        case("ALTER TABLE app.users ALTER COLUMN name TYPE varchar(60);")
            .catalog(catalog)
            .silent(&RULE);
    }
}
