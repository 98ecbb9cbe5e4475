//! Table lock modes and the policy that bounds how long strata may wait for them.
//!
//! A migration's `ALTER TABLE` that waits behind one long transaction makes every later read and
//! write of that table queue behind it: a "harmless" instant change takes the application down.
//! strata therefore (1) knows which lock each statement needs on which table, (2) looks for old
//! transactions holding a conflicting lock before it joins the queue, (3) waits at most a short
//! `lock_timeout` in the queue, and (4) retries with backoff within a budget.

use std::fmt;
use std::time::Duration;

/// PostgreSQL's table lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name `pg_locks.mode` uses.
    pub fn pg_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// PostgreSQL's conflict table ("Conflicting Lock Modes" in the manual).
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let (weak, strong) = if self <= other {
            (self, other)
        } else {
            (other, self)
        };
        match strong {
            AccessExclusive => true,
            Exclusive => weak >= RowShare,
            ShareRowExclusive => weak >= RowExclusive,
            Share => weak >= RowExclusive && weak != Share,
            ShareUpdateExclusive => weak >= ShareUpdateExclusive,
            RowExclusive | RowShare | AccessShare => false,
        }
    }

    /// Whether holding this lock stops readers (`SELECT`) or writers (`INSERT`/`UPDATE`/`DELETE`).
    pub fn blocks_reads_or_writes(self) -> bool {
        self.conflicts_with(LockMode::RowExclusive)
    }

    /// The modes that conflict with this one, by `pg_locks` name.
    pub fn conflicting_pg_names(self) -> Vec<&'static str> {
        LockMode::ALL
            .iter()
            .filter(|m| self.conflicts_with(**m))
            .map(|m| m.pg_name())
            .collect()
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pg_name())
    }
}

/// A lock a statement takes on a table, named as the statement names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableLock {
    pub schema: Option<String>,
    pub table: String,
    pub mode: LockMode,
}

impl TableLock {
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        }
    }
}

/// How long strata may wait for table locks, and how it retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPolicy {
    /// Longest wait in the lock queue for one attempt (PostgreSQL `lock_timeout`). Not applied
    /// to `CONCURRENTLY` statements, which legitimately wait for every older transaction.
    pub lock_timeout: Duration,
    /// Total time of attempts, backoff and preflight waiting for one migration.
    pub retry_budget: Duration,
    /// Most attempts for one migration (or one statement outside a transaction).
    pub max_attempts: u32,
    /// PostgreSQL `statement_timeout`; `None` leaves statements unbounded (index builds are long).
    pub statement_timeout: Option<Duration>,
    /// Longest wait, before one attempt, for old transactions holding conflicting locks to end.
    pub preflight_wait: Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            lock_timeout: Duration::from_secs(2),
            retry_budget: Duration::from_secs(30),
            max_attempts: 10,
            statement_timeout: None,
            preflight_wait: Duration::from_secs(5),
        }
    }
}

/// A session that holds or waits for a lock strata needs: what a person needs to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub pid: i64,
    pub user: Option<String>,
    pub application: Option<String>,
    pub state: Option<String>,
    /// How long its transaction has been open.
    pub transaction_age: Option<Duration>,
    /// The start of its current or last query.
    pub query: Option<String>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(user) = &self.user {
            write!(f, ", user {user}")?;
        }
        if let Some(app) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", application '{app}'")?;
        }
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(age) = self.transaction_age {
            write!(f, ", transaction open {:.1}s", age.as_secs_f64())?;
        }
        if let Some(query) = &self.query {
            write!(
                f,
                ", query: {}",
                query.split_whitespace().collect::<Vec<_>>().join(" ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode::*;
    use super::*;

    #[test]
    fn conflict_table_matches_the_manual() {
        // Rows of the PostgreSQL manual's table 13.2, as the modes each one conflicts with.
        let expected: [(LockMode, &[LockMode]); 8] = [
            (AccessShare, &[AccessExclusive]),
            (RowShare, &[Exclusive, AccessExclusive]),
            (
                RowExclusive,
                &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ),
            (
                ShareUpdateExclusive,
                &[
                    ShareUpdateExclusive,
                    Share,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
            ),
            (
                Share,
                &[
                    RowExclusive,
                    ShareUpdateExclusive,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
            ),
            (
                ShareRowExclusive,
                &[
                    RowExclusive,
                    ShareUpdateExclusive,
                    Share,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
            ),
            (
                Exclusive,
                &[
                    RowShare,
                    RowExclusive,
                    ShareUpdateExclusive,
                    Share,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
            ),
            (AccessExclusive, &LockMode::ALL),
        ];
        for (mode, conflicts) in expected {
            for other in LockMode::ALL {
                assert_eq!(
                    mode.conflicts_with(other),
                    conflicts.contains(&other),
                    "{mode} vs {other}"
                );
            }
        }
    }

    #[test]
    fn which_locks_stop_the_application() {
        assert!(AccessExclusive.blocks_reads_or_writes());
        assert!(Share.blocks_reads_or_writes());
        assert!(ShareRowExclusive.blocks_reads_or_writes());
        assert!(!ShareUpdateExclusive.blocks_reads_or_writes());
        assert!(!RowExclusive.blocks_reads_or_writes());
    }
}
