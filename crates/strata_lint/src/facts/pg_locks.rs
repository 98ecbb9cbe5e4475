//! PostgreSQL: operation → lock, scan and rewrite, by server major version.
//!
//! Sources: `ALTER TABLE`, `CREATE INDEX`, `REINDEX` and "Explicit Locking" in the PostgreSQL manual and
//! `AlterTableGetLockLevel` in `tablecmds.c`; each entry for version 15 is checked against a live server by
//! `tests/pg_lock_facts.rs`.

use super::LockFact;
use super::LockMode::{AccessExclusive, Share, ShareRowExclusive, ShareUpdateExclusive};

/// A PostgreSQL operation whose lock behaviour the linter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PgOperation {
    /// `CREATE INDEX` (also `UNIQUE`).
    CreateIndex,
    /// `CREATE INDEX CONCURRENTLY`.
    CreateIndexConcurrently,
    /// `DROP INDEX`.
    DropIndex,
    /// `DROP INDEX CONCURRENTLY`.
    DropIndexConcurrently,
    /// `REINDEX TABLE` / `REINDEX INDEX`.
    Reindex,
    /// `REINDEX ... CONCURRENTLY`.
    ReindexConcurrently,
    /// `ADD CONSTRAINT ... FOREIGN KEY` (validated).
    AddForeignKey,
    /// `ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`.
    AddForeignKeyNotValid,
    /// `ADD CONSTRAINT ... CHECK` (validated).
    AddCheck,
    /// `ADD CONSTRAINT ... CHECK ... NOT VALID`.
    AddCheckNotValid,
    /// `VALIDATE CONSTRAINT`.
    ValidateConstraint,
    /// `ALTER COLUMN ... SET NOT NULL`.
    SetNotNull,
    /// `ADD COLUMN` without a default.
    AddColumn,
    /// `ADD COLUMN` with a non-volatile default.
    AddColumnNonVolatileDefault,
    /// `ADD COLUMN` that fills every row: volatile default, stored generated, identity or serial.
    AddColumnRewriting,
    /// `ALTER COLUMN ... TYPE` that is not binary coercible.
    AlterColumnTypeRewriting,
    /// `ALTER COLUMN ... TYPE` that is binary coercible (no rewrite).
    AlterColumnTypeCoercible,
    /// `ADD CONSTRAINT ... UNIQUE` building its index.
    AddUnique,
    /// `ADD PRIMARY KEY` building its index.
    AddPrimaryKey,
    /// `ADD CONSTRAINT ... UNIQUE/PRIMARY KEY USING INDEX`.
    AddConstraintUsingIndex,
    /// `ADD CONSTRAINT ... EXCLUDE`.
    AddExclusion,
    /// `VACUUM FULL`.
    VacuumFull,
    /// `CLUSTER`.
    Cluster,
    /// `LOCK TABLE` (default mode).
    LockTable,
    /// `DETACH PARTITION`.
    DetachPartition,
    /// `DETACH PARTITION ... CONCURRENTLY`.
    DetachPartitionConcurrently,
    /// `RENAME COLUMN`.
    RenameColumn,
    /// `RENAME TO`.
    RenameTable,
    /// `DROP COLUMN`.
    DropColumn,
    /// `DROP NOT NULL`.
    DropNotNull,
    /// `DROP TABLE`.
    DropTable,
    /// `TRUNCATE`.
    Truncate,
    /// `DISABLE TRIGGER`.
    DisableTrigger,
    /// Any other `ALTER TABLE` subcommand: `ACCESS EXCLUSIVE` unless the manual says otherwise.
    AlterTableOther,
}

struct Entry {
    operation: PgOperation,
    /// First major version the fact holds for.
    since: u32,
    fact: LockFact,
}

const fn entry(operation: PgOperation, since: u32, fact: LockFact) -> Entry {
    Entry {
        operation,
        since,
        fact,
    }
}

use PgOperation as Op;

/// Entries per operation in increasing `since`; an operation absent before its first `since` does not exist
/// on older servers.
const FACTS: &[Entry] = &[
    entry(Op::CreateIndex, 0, LockFact::on_table(Share).scanning()),
    entry(
        Op::CreateIndexConcurrently,
        0,
        LockFact::on_table(ShareUpdateExclusive).scanning(),
    ),
    entry(
        Op::DropIndex,
        0,
        LockFact::on_table(AccessExclusive).with_indexes(AccessExclusive),
    ),
    entry(
        Op::DropIndexConcurrently,
        0,
        LockFact::on_table(ShareUpdateExclusive),
    ),
    entry(
        Op::Reindex,
        0,
        LockFact::on_table(Share)
            .with_indexes(AccessExclusive)
            .scanning(),
    ),
    entry(
        Op::ReindexConcurrently,
        12,
        LockFact::on_table(ShareUpdateExclusive).scanning(),
    ),
    entry(
        Op::AddForeignKey,
        0,
        LockFact::on_table(ShareRowExclusive)
            .with_referenced(ShareRowExclusive)
            .scanning(),
    ),
    entry(
        Op::AddForeignKeyNotValid,
        0,
        LockFact::on_table(ShareRowExclusive).with_referenced(ShareRowExclusive),
    ),
    entry(
        Op::AddCheck,
        0,
        LockFact::on_table(AccessExclusive).scanning(),
    ),
    entry(Op::AddCheckNotValid, 0, LockFact::on_table(AccessExclusive)),
    entry(
        Op::ValidateConstraint,
        0,
        LockFact::on_table(ShareUpdateExclusive).scanning(),
    ),
    entry(
        Op::SetNotNull,
        0,
        LockFact::on_table(AccessExclusive).scanning(),
    ),
    entry(Op::AddColumn, 0, LockFact::on_table(AccessExclusive)),
    entry(
        Op::AddColumnNonVolatileDefault,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(
        Op::AddColumnNonVolatileDefault,
        11,
        LockFact::on_table(AccessExclusive),
    ),
    entry(
        Op::AddColumnRewriting,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(
        Op::AlterColumnTypeRewriting,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(
        Op::AlterColumnTypeCoercible,
        0,
        LockFact::on_table(AccessExclusive),
    ),
    entry(
        Op::AddUnique,
        0,
        LockFact::on_table(AccessExclusive).scanning(),
    ),
    entry(
        Op::AddPrimaryKey,
        0,
        LockFact::on_table(AccessExclusive).scanning(),
    ),
    entry(
        Op::AddConstraintUsingIndex,
        0,
        LockFact::on_table(AccessExclusive),
    ),
    entry(
        Op::AddExclusion,
        0,
        LockFact::on_table(AccessExclusive).scanning(),
    ),
    entry(
        Op::VacuumFull,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(
        Op::Cluster,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(Op::LockTable, 0, LockFact::on_table(AccessExclusive)),
    entry(Op::DetachPartition, 10, LockFact::on_table(AccessExclusive)),
    entry(
        Op::DetachPartitionConcurrently,
        14,
        LockFact::on_table(ShareUpdateExclusive),
    ),
    entry(Op::RenameColumn, 0, LockFact::on_table(AccessExclusive)),
    entry(Op::RenameTable, 0, LockFact::on_table(AccessExclusive)),
    entry(Op::DropColumn, 0, LockFact::on_table(AccessExclusive)),
    entry(Op::DropNotNull, 0, LockFact::on_table(AccessExclusive)),
    entry(Op::DropTable, 0, LockFact::on_table(AccessExclusive)),
    entry(
        Op::Truncate,
        0,
        LockFact::on_table(AccessExclusive).rewriting(),
    ),
    entry(Op::DisableTrigger, 0, LockFact::on_table(ShareRowExclusive)),
    entry(Op::AlterTableOther, 0, LockFact::on_table(AccessExclusive)),
];

/// What `operation` does on PostgreSQL `major`, or `None` when that server does not have it.
pub fn pg_lock_fact(operation: PgOperation, major: u32) -> Option<LockFact> {
    FACTS
        .iter()
        .rfind(|e| e.operation == operation && e.since <= major)
        .map(|e| e.fact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::LockMode;

    #[test]
    fn non_volatile_defaults_stopped_rewriting_in_11() {
        assert!(
            pg_lock_fact(Op::AddColumnNonVolatileDefault, 10)
                .unwrap()
                .rewrites
        );
        assert!(
            !pg_lock_fact(Op::AddColumnNonVolatileDefault, 11)
                .unwrap()
                .rewrites
        );
    }

    #[test]
    fn concurrent_forms_exist_only_from_their_version() {
        assert_eq!(pg_lock_fact(Op::ReindexConcurrently, 11), None);
        assert_eq!(
            pg_lock_fact(Op::ReindexConcurrently, 12).unwrap().table,
            LockMode::ShareUpdateExclusive
        );
        assert_eq!(pg_lock_fact(Op::DetachPartitionConcurrently, 13), None);
        assert!(pg_lock_fact(Op::DetachPartitionConcurrently, 14).is_some());
    }

    #[test]
    fn every_operation_has_a_fact_on_the_default_version() {
        let all = [
            Op::CreateIndex,
            Op::CreateIndexConcurrently,
            Op::DropIndex,
            Op::DropIndexConcurrently,
            Op::Reindex,
            Op::ReindexConcurrently,
            Op::AddForeignKey,
            Op::AddForeignKeyNotValid,
            Op::AddCheck,
            Op::AddCheckNotValid,
            Op::ValidateConstraint,
            Op::SetNotNull,
            Op::AddColumn,
            Op::AddColumnNonVolatileDefault,
            Op::AddColumnRewriting,
            Op::AlterColumnTypeRewriting,
            Op::AlterColumnTypeCoercible,
            Op::AddUnique,
            Op::AddPrimaryKey,
            Op::AddConstraintUsingIndex,
            Op::AddExclusion,
            Op::VacuumFull,
            Op::Cluster,
            Op::LockTable,
            Op::DetachPartition,
            Op::DetachPartitionConcurrently,
            Op::RenameColumn,
            Op::RenameTable,
            Op::DropColumn,
            Op::DropNotNull,
            Op::DropTable,
            Op::Truncate,
            Op::DisableTrigger,
            Op::AlterTableOther,
        ];
        for operation in all {
            assert!(
                pg_lock_fact(operation, crate::DEFAULT_POSTGRES_VERSION).is_some(),
                "{operation:?}"
            );
        }
    }
}
