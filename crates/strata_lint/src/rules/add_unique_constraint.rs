//! `add-unique-constraint`: `ADD CONSTRAINT ... UNIQUE` that builds its index under the table lock.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::ConstraintKind;
use crate::report::Severity;
use crate::rules::common::{added_constraints, constraint_label, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "add-unique-constraint",
    summary: "`ADD CONSTRAINT ... UNIQUE` without `USING INDEX` on an existing table",
    help: "`CREATE UNIQUE INDEX CONCURRENTLY` first, then `ADD CONSTRAINT ... UNIQUE USING INDEX`",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`ADD CONSTRAINT ... UNIQUE` builds a unique index while holding `ACCESS EXCLUSIVE` on the table: reads and writes wait for the whole build.",
    instead: "Build the index online with `CREATE UNIQUE INDEX CONCURRENTLY` in its own migration, then attach it with `ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX index_name`, which only updates the catalog.",
    bad: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    good: "-- after CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email); in its own migration:\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    operation: Some(PgOperation::AddUnique),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, constraint) in added_constraints(cx) {
        if let ConstraintKind::Unique {
            using_index: None, ..
        } = &constraint.kind
        {
            out.push(
                Finding::new(format!(
                    "unique constraint{} builds its index on existing table `{}`: it {} for the whole build",
                    constraint_label(constraint),
                    alter.table,
                    lock_phrase(PgOperation::AddUnique, cx.pg_version())
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
    fn fires_on_add_unique() {
        fires(
            &RULE,
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        );
    }

    #[test]
    fn fires_on_an_unnamed_unique_among_other_subcommands() {
        fires(
            &RULE,
            r#"ALTER TABLE "App".users ADD COLUMN x int, ADD UNIQUE (email, x);"#,
        );
    }

    #[test]
    fn fires_on_a_table_from_an_earlier_migration() {
        case("ALTER TABLE users ADD UNIQUE (email);")
            .after("CREATE TABLE users (email text);")
            .fires(&RULE);
    }

    #[test]
    fn silent_using_an_index_built_concurrently_before() {
        case(
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
        )
        .after("CREATE TABLE users (email text);")
        .after("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);")
        .silent(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (email text);\nALTER TABLE users ADD UNIQUE (email);",
        );
    }

    #[test]
    fn silent_on_create_table_with_unique() {
        silent(
            &RULE,
            "CREATE TABLE users (email text UNIQUE, UNIQUE (email));",
        );
    }
}
