//! `index-not-concurrent`: `CREATE INDEX` on an existing table without `CONCURRENTLY`.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::common::lock_phrase;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "index-not-concurrent",
    summary: "`CREATE INDEX` on an existing table without `CONCURRENTLY`",
    help: "use `CREATE INDEX CONCURRENTLY` in its own migration, which strata runs outside a transaction",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A plain `CREATE INDEX` holds a `SHARE` lock for the whole build: every `INSERT`, `UPDATE` and `DELETE` on the table waits until the index is complete, which on a large table is minutes.",
    instead: "Build the index with `CREATE INDEX CONCURRENTLY` in a migration of its own (it cannot run inside a transaction, so strata runs that file outside one). If the build fails it leaves an INVALID index: drop it and retry. On a partitioned table, where a concurrent build is not possible: `CREATE INDEX ... ON ONLY` the parent, `CREATE INDEX CONCURRENTLY` on each partition, then `ALTER INDEX parent_idx ATTACH PARTITION partition_idx` for each.",
    bad: "CREATE INDEX users_email_idx ON users (email);",
    good: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    operation: Some(PgOperation::CreateIndex),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

const PARTITIONED_HELP: &str = "on a partitioned table: `CREATE INDEX ... ON ONLY` the parent, `CREATE INDEX CONCURRENTLY` on each partition, then `ALTER INDEX ... ATTACH PARTITION`";

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let StatementKind::CreateIndex(index) = &cx.statement.kind else {
        return;
    };
    if index.concurrently || !cx.is_existing(&index.table) {
        return;
    }
    let partitioned = cx.schema.table(&index.table).is_some_and(|t| t.partitioned);
    if partitioned && index.only {
        return;
    }
    let finding = Finding::new(format!(
        "`CREATE INDEX` on existing table `{}` without `CONCURRENTLY` {} until the build finishes",
        index.table,
        lock_phrase(PgOperation::CreateIndex, cx.pg_version())
    ))
    .on_table(&index.table);
    out.push(if partitioned {
        finding.with_help(PARTITIONED_HELP)
    } else {
        finding
    });
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_a_plain_index_on_an_unknown_table() {
        let d = fires(&RULE, "CREATE INDEX users_email_idx ON users (email);");
        assert!(d.message.contains("SHARE"), "{}", d.message);
    }

    #[test]
    fn fires_on_unique_and_schema_qualified_quoted_names() {
        let d = fires(
            &RULE,
            r#"CREATE UNIQUE INDEX "Idx" ON "App"."Users" ("Email");"#,
        );
        assert!(d.message.contains("App.Users"), "{}", d.message);
    }

    #[test]
    fn fires_on_a_table_created_by_an_earlier_migration() {
        case("CREATE INDEX i ON users (email);")
            .after("CREATE TABLE users (id bigint, email text);")
            .fires(&RULE);
    }

    #[test]
    fn fires_on_a_partitioned_table_with_the_partition_recipe() {
        let d = case("CREATE INDEX i ON events (created_at);")
            .after("CREATE TABLE events (created_at timestamptz) PARTITION BY RANGE (created_at);")
            .fires(&RULE);
        assert!(d.help.contains("ON ONLY"), "{}", d.help);
    }

    #[test]
    fn silent_with_concurrently() {
        silent(
            &RULE,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE public.users (id bigint, email text);\nCREATE INDEX i ON users (email);",
        );
    }

    #[test]
    fn silent_on_only_the_partitioned_parent() {
        case("CREATE INDEX i ON ONLY events (created_at);")
            .after("CREATE TABLE events (created_at timestamptz) PARTITION BY RANGE (created_at);")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_sqlite() {
        case("CREATE INDEX i ON users (email);")
            .sqlite()
            .silent(&RULE);
    }
}
