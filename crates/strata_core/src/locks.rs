//! Table lock modes and the policy that bounds how long strata may wait for them.
//!
//! A migration's `ALTER TABLE` that waits behind one long transaction makes every later read and
//! write of that table queue behind it: a "harmless" instant change takes the application down.
//! strata therefore (1) knows which lock each statement needs on which table, (2) looks for old
//! transactions holding a conflicting lock before it joins the queue, (3) waits at most a short
//! `lock_timeout` in the queue, and (4) retries with backoff within a budget.

use std::fmt;
use std::time::{Duration, Instant};

use crate::driver::{DriverError, LockError, LockHolder};

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

impl LockPolicy {
    /// The pause before attempt `attempt + 1` after a lock timeout: exponential with jitter, or
    /// `None` when the attempts or the budget ending at `deadline` are used up. One policy for
    /// every retry strata makes: whole migrations, statements, and backfill batches.
    pub fn retry_pause(&self, attempt: u32, deadline: Instant) -> Option<Duration> {
        const FIRST_PAUSE: Duration = Duration::from_millis(100);
        const MAX_PAUSE: Duration = Duration::from_secs(5);
        if attempt >= self.max_attempts {
            return None;
        }
        let base = FIRST_PAUSE
            .saturating_mul(1 << attempt.min(6))
            .min(MAX_PAUSE);
        let pause = base + base.mul_f64(jitter_fraction() / 2.0);
        (Instant::now() + pause + self.lock_timeout <= deadline).then_some(pause)
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

/// Takes a run-wide lock by polling `try_lock` with exponential backoff and jitter, for at most
/// `wait`, reporting the holder (`holder`) through `waiting` every few seconds.
///
/// Polling instead of a blocking lock call matters on PostgreSQL: a session blocked in
/// `pg_advisory_lock` holds a snapshot that a `CREATE INDEX CONCURRENTLY` run by the lock's
/// holder waits for, so two deployers starting together would deadlock.
pub fn poll_lock(
    wait: Duration,
    waiting: &mut dyn FnMut(&LockHolder, Duration),
    mut try_lock: impl FnMut() -> Result<bool, DriverError>,
    mut holder: impl FnMut() -> Result<Option<LockHolder>, DriverError>,
) -> Result<(), LockError> {
    const FIRST_PAUSE: Duration = Duration::from_millis(25);
    const MAX_PAUSE: Duration = Duration::from_secs(1);
    const REPORT_EVERY: Duration = Duration::from_secs(5);
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut last_report: Option<Instant> = None;
    let mut last_holder = None;
    loop {
        if try_lock()? {
            return Ok(());
        }
        let waited = started.elapsed();
        if last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) || waited >= wait {
            last_holder = holder()?;
            if let Some(holder) = &last_holder
                && waited < wait
            {
                waiting(holder, waited);
            }
            last_report = Some(Instant::now());
        }
        if waited >= wait {
            return Err(LockError::Timeout {
                waited,
                holder: last_holder,
            });
        }
        let jittered = pause + pause.mul_f64(jitter_fraction() / 2.0);
        std::thread::sleep(jittered.min(wait.saturating_sub(waited)));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// A number in [0, 1) that differs between processes and calls, so that deployers waiting
/// together do not retry in step.
pub fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed =
        (u64::from(nanos) ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
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
