//! `unbatched-update`: `UPDATE`/`DELETE` on an existing table that is not bounded by a key, so it touches an
//! unknown number of rows in one transaction.

use crate::input::Dialect;
use crate::ir::{Dml, StatementKind};
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "unbatched-update",
    summary: "`UPDATE`/`DELETE` on an existing table without a `WHERE` that bounds a key column",
    help: "run it as a batched backfill (`strata backfill`), or bound a key column to a value, list or range",
    default_severity: Severity::Warning,
    category: Category::DataLoss,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "One statement over the whole table locks every row it changes until commit, blocks concurrent writers of those rows, bloats the table and WAL, and on a replica shows up as lag. Its duration grows with the table.",
    instead: "Process the rows in small batches, each in its own transaction, keyed on the primary key (`strata backfill`, or `-- strata:backfill` on the statement when the runner batches it). Key columns are the primary key or a unique key known from earlier migrations or the catalog; `id` when nothing is known.",
    bad: "UPDATE users SET name = lower(name);",
    good: "UPDATE users SET name = lower(name) WHERE id BETWEEN 1 AND 1000;",
    operation: None,
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let (verb, dml): (&str, &Dml) = match &cx.statement.kind {
        StatementKind::Update(dml) => ("UPDATE", dml),
        StatementKind::Delete(dml) => ("DELETE", dml),
        _ => return,
    };
    if cx.backfill || !cx.is_existing(&dml.table) {
        return;
    }
    if !dml.has_where {
        out.push(
            Finding::new(format!(
                "`{verb}` of every row of `{}` in one statement",
                dml.table
            ))
            .on_table(&dml.table),
        );
        return;
    }
    let mut keys: Vec<String> = cx
        .schema
        .key_columns(&dml.table)
        .into_iter()
        .flatten()
        .collect();
    if keys.is_empty() {
        keys.push("id".to_owned());
    }
    if !dml.bounded_columns.iter().any(|c| keys.contains(c)) {
        out.push(
            Finding::new(format!(
                "`{verb}` on `{}` is not bounded by a key column ({}): it may touch any number of rows in one transaction",
                dml.table,
                keys.join(", ")
            ))
            .on_table(&dml.table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_without_where() {
        fires(&RULE, "UPDATE users SET name = lower(name);");
        fires(&RULE, "DELETE FROM app.users;");
    }

    #[test]
    fn fires_when_the_where_bounds_no_key() {
        let d = fires(
            &RULE,
            "UPDATE users SET active = false WHERE last_seen < now() - interval '1 year';",
        );
        assert!(d.message.contains("(id)"), "{}", d.message);
    }

    #[test]
    fn uses_keys_from_earlier_migrations() {
        case("DELETE FROM t WHERE id = 5;")
            .after("CREATE TABLE t (id int, code text PRIMARY KEY);")
            .fires(&RULE);
        case("DELETE FROM t WHERE code = 'x';")
            .after("CREATE TABLE t (id int, code text PRIMARY KEY);")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_key_bounds() {
        silent(&RULE, "UPDATE users SET a = 1 WHERE id = 5;");
        silent(
            &RULE,
            "UPDATE users SET a = 1 WHERE id IN (1, 2, 3) AND a IS NULL;",
        );
        silent(&RULE, "DELETE FROM users WHERE id BETWEEN 1 AND 1000;");
        silent(
            &RULE,
            "UPDATE users SET a = 1 WHERE id IN (SELECT id FROM users WHERE a IS NULL LIMIT 1000);",
        );
    }

    #[test]
    fn silent_on_backfill_statements() {
        silent(
            &RULE,
            "-- strata:backfill\nUPDATE users SET name = lower(name);",
        );
        silent(
            &RULE,
            "SELECT 1;\n-- strata:backfill batch=500\nUPDATE users SET name = lower(name);",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nUPDATE t SET a = 2;",
        );
    }
}
