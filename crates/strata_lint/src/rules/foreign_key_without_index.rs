//! `foreign-key-without-index`: reported by `strata trace` when a new foreign key's referencing columns
//! have no index. Registered here so that `allow`, configuration and `explain` know it.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::{Category, Check, Lowering, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "foreign-key-without-index",
    summary: "a new foreign key whose referencing columns have no index (found by `strata trace`)",
    help: "`CREATE INDEX CONCURRENTLY` on the referencing columns",
    default_severity: Severity::Warning,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Every `DELETE` or key `UPDATE` on the referenced table must find the referencing rows; without an index on them that is a sequential scan of the referencing table, under a lock, per row.",
    instead: "Index the referencing columns (`CREATE INDEX CONCURRENTLY ... ON orders (user_id)`) in the migration before the foreign key.",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    good: "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    operation: None,
    trace_only: true,
    lowering: Lowering::CreatedInRun,
    check: Check::External,
};
