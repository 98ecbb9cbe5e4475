//! `table-rewrite`: reported by `strata trace` when a table or index is rewritten (its `relfilenode`
//! changes) while a lock that blocks reads or writes is held. Registered here so that `allow`,
//! configuration and `explain` know it.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::{Category, Check, Lowering, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "table-rewrite",
    summary: "a table or index was rewritten while a blocking lock was held (found by `strata trace`)",
    help: "find the statement's rewrite-free alternative in the static rule that covers it (`strata explain`)",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A rewrite copies every row (and rebuilds every index) while the statement's lock is held; with `ACCESS EXCLUSIVE` nobody can read the table meanwhile. The tracer sees it as a changed `pg_class.relfilenode`.",
    instead: "Use the statement's online alternative: add columns without volatile defaults, change types by expand/contract, avoid `VACUUM FULL`/`CLUSTER`.",
    bad: "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
    good: "ALTER TABLE users ADD COLUMN age_v2 bigint;",
    operation: None,
    trace_only: true,
    lowering: Lowering::SmallTable,
    check: Check::External,
};
