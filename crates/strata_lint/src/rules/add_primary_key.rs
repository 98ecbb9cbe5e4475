//! `add-primary-key`: `ADD PRIMARY KEY` that builds its index under the table lock, or `USING INDEX` on
//! columns not yet known to be NOT NULL (the implied `SET NOT NULL` scans the table).

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::input::ObjectName;
use crate::ir::ConstraintKind;
use crate::report::Severity;
use crate::rules::common::{added_constraints, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-primary-key",
    summary: "`ADD PRIMARY KEY` without `USING INDEX`, or `USING INDEX` on columns that may hold NULLs",
    help: "make the columns NOT NULL (set-not-null recipe), `CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT ... PRIMARY KEY USING INDEX`",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`ADD PRIMARY KEY` builds a unique index under `ACCESS EXCLUSIVE`, blocking reads and writes for the build. Even with `USING INDEX`, columns that are not yet NOT NULL get an implied `SET NOT NULL`, which scans the whole table under the same lock.",
    instead: "(1) Make every key column NOT NULL with the `set-not-null` recipe; (2) `CREATE UNIQUE INDEX CONCURRENTLY` on the key columns in its own migration; (3) `ALTER TABLE ... ADD CONSTRAINT name PRIMARY KEY USING INDEX index_name`.",
    bad: "ALTER TABLE items ADD PRIMARY KEY (id);",
    good: "-- `items.id` is NOT NULL and items_id_key was built concurrently:\nALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_key;",
    operation: Some(PgOperation::AddPrimaryKey),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, constraint) in added_constraints(cx) {
        let ConstraintKind::PrimaryKey { using_index, .. } = &constraint.kind else {
            continue;
        };
        let message = match using_index {
            None => format!(
                "`ADD PRIMARY KEY` builds its index on existing table `{}`: it {} for the whole build",
                alter.table,
                lock_phrase(PgOperation::AddPrimaryKey, cx.pg_version())
            ),
            Some(index) => match nullable_key_columns(cx, &alter.table, index) {
                Ok(nullable) if nullable.is_empty() => continue,
                Ok(nullable) => format!(
                    "`PRIMARY KEY USING INDEX {index}` implies `SET NOT NULL` on `{}`, which scans `{}` under `ACCESS EXCLUSIVE`",
                    nullable.join("`, `"),
                    alter.table
                ),
                Err(unknown) => format!(
                    "could not tell whether the columns of `{index}` are NOT NULL ({unknown}); if not, the implied `SET NOT NULL` scans `{}` under `ACCESS EXCLUSIVE`",
                    alter.table
                ),
            },
        };
        out.push(Finding::new(message).on_table(&alter.table));
    }
}

/// Key columns of `index` that are not known to be NOT NULL (or proven so by a validated check on 12+), or
/// what is unknown.
fn nullable_key_columns(
    cx: &StatementContext<'_>,
    table: &ObjectName,
    index: &str,
) -> Result<Vec<String>, String> {
    let index_name = ObjectName {
        schema: table.schema.clone(),
        name: index.to_owned(),
    };
    let index = cx
        .schema
        .index(&index_name)
        .ok_or_else(|| format!("index `{index_name}` is not known"))?;
    let model = cx
        .schema
        .table(table)
        .ok_or_else(|| format!("table `{table}` is not known"))?;
    Ok(index
        .columns
        .iter()
        .filter(|name| {
            let not_null = model.column(name).is_some_and(|c| c.not_null);
            let proven = cx.pg_version() >= 12 && model.has_validated_not_null_check(name);
            !not_null && !proven
        })
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    const ITEMS: &str = "CREATE TABLE items (id bigint, code text NOT NULL);";
    const INDEXES: &str = "CREATE UNIQUE INDEX CONCURRENTLY items_id_key ON items (id); CREATE UNIQUE INDEX CONCURRENTLY items_code_key ON items (code);";

    #[test]
    fn fires_without_using_index() {
        fires(&RULE, "ALTER TABLE items ADD PRIMARY KEY (id);");
        fires(
            &RULE,
            "ALTER TABLE app.items ADD CONSTRAINT items_pkey PRIMARY KEY (id, code);",
        );
    }

    #[test]
    fn fires_using_an_index_on_a_nullable_column() {
        let d = case(
            "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_key;",
        )
        .after(ITEMS)
        .after(INDEXES)
        .fires(&RULE);
        assert!(d.message.contains("SET NOT NULL` on `id`"), "{}", d.message);
    }

    #[test]
    fn fires_using_an_unknown_index_and_says_what_is_unknown() {
        let d = fires(
            &RULE,
            "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_key;",
        );
        assert!(d.message.contains("could not tell"), "{}", d.message);
    }

    #[test]
    fn silent_using_an_index_on_not_null_columns() {
        case("ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_code_key;")
            .after(ITEMS)
            .after(INDEXES)
            .silent(&RULE);
    }

    #[test]
    fn silent_after_set_not_null_in_an_earlier_migration() {
        case("ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_id_key;")
            .after(ITEMS)
            .after(INDEXES)
            .after("ALTER TABLE items ALTER COLUMN id SET NOT NULL;")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE items (id bigint);\nALTER TABLE items ADD PRIMARY KEY (id);",
        );
    }
}
