//! `sqlite-unsupported-alter`: `ALTER TABLE` forms SQLite cannot execute (it supports only `RENAME TO`,
//! `RENAME COLUMN`, `ADD COLUMN` and `DROP COLUMN`).

use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "sqlite-unsupported-alter",
    summary: "an `ALTER TABLE` form SQLite does not support (`ALTER COLUMN`, `ADD/DROP CONSTRAINT`, ...)",
    help: "rebuild the table: create the new shape, copy the rows, drop the old table, rename the new one",
    default_severity: Severity::Error,
    category: Category::Sqlite,
    dialects: &[Dialect::Sqlite],
    since_postgres: None,
    why: "SQLite's `ALTER TABLE` only renames tables and columns, adds columns and drops columns; anything else is a syntax error at run time.",
    instead: "Rebuild the table in one transaction: `CREATE TABLE new_t (...)` with the new definition, `INSERT INTO new_t SELECT ... FROM t`, `DROP TABLE t`, `ALTER TABLE new_t RENAME TO t`, then recreate indexes, triggers and views (with `PRAGMA foreign_keys = OFF` around it when other tables reference `t`, and `PRAGMA foreign_key_check` before re-enabling).",
    bad: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    good: "CREATE TABLE users_new (id integer PRIMARY KEY, email text NOT NULL);\nINSERT INTO users_new SELECT id, email FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        if let AlterAction::Other { description } = action {
            out.push(Finding::new(format!(
                "SQLite cannot `ALTER TABLE {} {description} ...`: the table must be rebuilt",
                alter.table
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::case;

    #[test]
    fn fires_on_alter_column() {
        let d = case("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .sqlite()
            .fires(&RULE);
        assert!(d.message.contains("ALTER COLUMN"), "{}", d.message);
    }

    #[test]
    fn fires_on_add_constraint() {
        case("ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0);")
            .sqlite()
            .fires(&RULE);
    }

    #[test]
    fn fires_on_drop_constraint() {
        case("ALTER TABLE users DROP CONSTRAINT c;")
            .sqlite()
            .fires(&RULE);
    }

    #[test]
    fn silent_on_supported_forms() {
        case("ALTER TABLE users ADD COLUMN a text; ALTER TABLE users DROP COLUMN b; ALTER TABLE users RENAME COLUMN c TO d; ALTER TABLE users RENAME TO people;")
            .sqlite()
            .silent(&RULE);
    }

    #[test]
    fn silent_on_postgres() {
        case("ALTER TABLE users ALTER COLUMN email SET NOT NULL;").silent(&RULE);
    }

    #[test]
    fn silent_on_unparsable_statements() {
        case("PRAGMA foreign_keys = ON;\nALTER TABLE users ADD COLUMN a text;")
            .sqlite()
            .silent(&RULE);
    }
}
