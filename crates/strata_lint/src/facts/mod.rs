//! Database facts as data: which lock each operation takes, whether it scans or rewrites the table, and from
//! which server version (PostgreSQL lock modes; MySQL/MariaDB online-DDL algorithms). Rules ask these
//! tables instead of hard-coding lock knowledge, the rule documentation is rendered from them, and `tests/pg_lock_facts.rs` checks them against a live server.

mod mysql;
mod pg_locks;

pub use mysql::{
    Algorithm, DEFAULT_MARIADB_VERSION, DEFAULT_MYSQL_VERSION, MYSQL_FACTS, MySqlFact, MySqlFlavor,
    MySqlOperation, MySqlVersion, mysql_algorithm,
};
pub use pg_locks::{PgOperation, pg_lock_fact};

pub use strata_core::LockMode;

/// What the linter says about a lock mode, on top of `strata_core`'s modes and conflict table.
pub trait LockModeFacts {
    /// The SQL spelling: `ACCESS EXCLUSIVE`.
    fn sql_name(self) -> &'static str;
    /// Whether a plain `SELECT` waits for this lock.
    fn blocks_reads(self) -> bool;
    /// "reads and writes", "writes", or "neither reads nor writes", for documentation.
    fn what_it_blocks(self) -> &'static str;
}

impl LockModeFacts for LockMode {
    fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    fn blocks_reads(self) -> bool {
        self.conflicts_with(LockMode::AccessShare)
    }

    fn what_it_blocks(self) -> &'static str {
        if self.blocks_reads() {
            "reads and writes"
        } else if self.blocks_reads_or_writes() {
            "writes (reads continue)"
        } else {
            "neither reads nor writes (only other DDL and VACUUM)"
        }
    }
}

/// From PostgreSQL's internal numbering (`AccessShareLock` = 1 ... `AccessExclusiveLock` = 8), as in
/// `LockStmt.mode`.
pub(crate) fn lock_mode_from_pg_number(number: i32) -> LockMode {
    usize::try_from(number - 1)
        .ok()
        .and_then(|index| LockMode::ALL.get(index).copied())
        .unwrap_or(LockMode::AccessExclusive)
}

/// What one operation does to the table it targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockFact {
    /// Lock on the table named in the statement.
    pub table: LockMode,
    /// Lock on the table's indexes, where the operation locks them (`REINDEX`, `DROP INDEX`).
    pub indexes: Option<LockMode>,
    /// Lock on the referenced table (foreign keys).
    pub referenced_table: Option<LockMode>,
    /// Reads every row while holding the lock (validation, index build).
    pub scans: bool,
    /// Writes a new copy of the table (`pg_class.relfilenode` changes).
    pub rewrites: bool,
}

impl LockFact {
    const fn on_table(table: LockMode) -> Self {
        LockFact {
            table,
            indexes: None,
            referenced_table: None,
            scans: false,
            rewrites: false,
        }
    }

    const fn scanning(mut self) -> Self {
        self.scans = true;
        self
    }

    const fn rewriting(mut self) -> Self {
        self.rewrites = true;
        self.scans = true;
        self
    }

    const fn with_indexes(mut self, mode: LockMode) -> Self {
        self.indexes = Some(mode);
        self
    }

    const fn with_referenced(mut self, mode: LockMode) -> Self {
        self.referenced_table = Some(mode);
        self
    }

    /// One-paragraph description for rule documentation.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Takes `{}` on the table, which blocks {}",
            self.table.sql_name(),
            self.table.what_it_blocks()
        );
        if let Some(mode) = self.indexes {
            text.push_str(&format!(", and `{}` on its indexes", mode.sql_name()));
        }
        if let Some(mode) = self.referenced_table {
            text.push_str(&format!(
                ", and `{}` on the referenced table",
                mode.sql_name()
            ));
        }
        text.push('.');
        if self.rewrites {
            text.push_str(" It rewrites the whole table (and its indexes) while holding the lock.");
        } else if self.scans {
            text.push_str(" It reads the whole table while holding the lock.");
        }
        text
    }
}
