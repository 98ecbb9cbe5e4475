//! [`Driver`] for MySQL and MariaDB.
//!
//! DDL commits implicitly on these servers, so no transaction can make a migration with DDL
//! atomic: the splitter marks such statements, the core runs their files statement by statement
//! with progress recorded (resumable at the failed statement), and only files of DML alone run
//! in one transaction here.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use strata_core::backfill::ReplicaLag;
use strata_core::{
    AppliedMigration, Dialect, Driver, DriverError, HistoryChange, LockError, LockHolder,
    LockPolicy, Statement, StatementFailure, TransactionOutcome, WaitReport,
};
use tokio::runtime::Runtime;

use crate::errors::{ConnectError, driver_error};
use crate::replicas::Replicas;
use crate::target::{Flavor, MySqlTarget};
use crate::waits::{Observed, watched};
use crate::{history, lock};

/// A strata session on a MySQL or MariaDB database. Like the PostgreSQL driver, it owns a
/// current-thread tokio runtime so the core stays synchronous.
pub struct MySqlDriver {
    runtime: Runtime,
    conn: Option<Conn>,
    target: MySqlTarget,
    lock_name: String,
    connection_id: u32,
    policy: LockPolicy,
    /// Where a backfill's `max_lag` reads the replication lag.
    replicas: Replicas,
}

impl MySqlDriver {
    pub fn connect(target: &MySqlTarget) -> Result<MySqlDriver, ConnectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::Unreachable {
                target: target.redacted().to_owned(),
                cause: e.to_string(),
            })?;
        let conn = runtime
            .block_on(target.connect())
            .map_err(|e| ConnectError::classify(&e, target.redacted(), target.database()))?;
        Ok(MySqlDriver {
            runtime,
            connection_id: conn.id(),
            conn: Some(conn),
            lock_name: lock::lock_name(target.database()),
            target: target.clone(),
            policy: LockPolicy::default(),
            replicas: Replicas::new(Vec::new()),
        })
    }

    /// The replicas whose lag a backfill with `max_lag` waits for. MySQL and MariaDB show the
    /// lag only on each replica, so without them `max_lag` cannot be enforced. They are
    /// connected to when a backfill first reads the lag.
    #[must_use]
    pub fn with_replicas(mut self, replicas: Vec<MySqlTarget>) -> MySqlDriver {
        self.replicas = Replicas::new(replicas);
        self
    }

    /// The database this session works in (lock names are server-wide, so they include it).
    pub(crate) fn database(&self) -> &str {
        self.target.database()
    }

    /// The worst lag among the configured replicas.
    pub(crate) fn replicas_lag(&mut self) -> Result<ReplicaLag, DriverError> {
        self.runtime.block_on(self.replicas.lag())
    }

    /// The runtime and the connection, borrowed together to run a query on it.
    pub(crate) fn parts(&mut self) -> (&Runtime, &mut Conn) {
        (
            &self.runtime,
            self.conn
                .as_mut()
                .expect("the connection lives as long as the driver"),
        )
    }

    /// Runs one statement, watched, and turns a failure into a [`DriverError`] that says what
    /// it waited for and who held it.
    fn run_watched(&mut self, sql: &str, waiting: WaitReport) -> Result<(), DriverError> {
        // Borrowed field by field: the connection mutably, the target for the observer.
        let conn = self
            .conn
            .as_mut()
            .expect("the connection lives as long as the driver");
        let (result, observed) = self.runtime.block_on(watched(
            conn.query_drop(sql),
            &self.target,
            self.connection_id,
            waiting,
        ));
        result.map_err(|e| with_observations(driver_error(&e), observed))
    }

    fn apply_settings(&mut self, statement: &Statement) -> Result<(), DriverError> {
        let settings = self.statement_settings(statement, false).join("; ");
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.query_drop(settings))
            .map_err(|e| driver_error(&e))
    }
}

/// A lock wait timeout explained: which kind of lock, and the sessions that held it.
fn with_observations(mut error: DriverError, observed: Observed) -> DriverError {
    if error.lock_not_available
        && let Some(wait) = observed.wait
    {
        error.detail = Some(wait.explain().to_owned());
    }
    error.blockers = observed.blockers;
    error
}

impl Drop for MySqlDriver {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.runtime.block_on(conn.disconnect());
        }
        self.runtime.block_on(self.replicas.disconnect());
    }
}

/// Whole seconds, at least one: `lock_wait_timeout` takes no fractions (and 0 is not "off").
fn whole_seconds(duration: Duration) -> u64 {
    let rounded_up = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    rounded_up.max(1)
}

impl Driver for MySqlDriver {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn target(&self) -> &str {
        self.target.redacted()
    }

    fn set_lock_policy(&mut self, policy: &LockPolicy) {
        self.policy = policy.clone();
    }

    /// `lock_wait_timeout` bounds waits for metadata locks (what DDL waits for behind open
    /// transactions; the server's default is a day), `innodb_lock_wait_timeout` for row locks.
    fn statement_settings(&self, _statement: &Statement, _in_transaction: bool) -> Vec<String> {
        let seconds = whole_seconds(self.policy.lock_timeout);
        let mut settings = vec![
            format!("SET SESSION lock_wait_timeout = {seconds}"),
            format!("SET SESSION innodb_lock_wait_timeout = {seconds}"),
        ];
        if self.target.flavor() == Flavor::MariaDb {
            let limit = self
                .policy
                .statement_timeout
                .map_or(0.0, |t| t.as_secs_f64());
            settings.push(format!("SET SESSION max_statement_time = {limit}"));
        }
        settings
    }

    fn lock(
        &mut self,
        wait: Duration,
        waiting: &mut dyn FnMut(&LockHolder, Duration),
    ) -> Result<(), LockError> {
        let name = self.lock_name.clone();
        let (runtime, conn) = self.parts();
        // Both callbacks use the one connection, never at the same time.
        let conn = std::cell::RefCell::new(conn);
        strata_core::locks::poll_lock(
            wait,
            waiting,
            || runtime.block_on(lock::try_acquire(&mut conn.borrow_mut(), &name)),
            || runtime.block_on(lock::current_holder(&mut conn.borrow_mut(), &name)),
        )
    }

    fn unlock(&mut self) -> Result<(), DriverError> {
        let name = self.lock_name.clone();
        let (runtime, conn) = self.parts();
        runtime.block_on(lock::release(conn, &name))
    }

    fn ensure_history(&mut self) -> Result<(), DriverError> {
        let (runtime, conn) = self.parts();
        runtime.block_on(async {
            if !history::exists(conn).await? {
                conn.query_drop(history::CREATE_HISTORY)
                    .await
                    .map_err(|e| driver_error(&e))?;
            }
            Ok(())
        })
    }

    fn server_version(&mut self) -> Result<Option<String>, DriverError> {
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.query_first::<String, _>("SELECT VERSION()"))
            .map_err(|e| driver_error(&e))
    }

    fn read_history(&mut self) -> Result<Vec<AppliedMigration>, DriverError> {
        let (runtime, conn) = self.parts();
        runtime.block_on(history::read(conn))
    }

    /// Only files without DDL come here (DDL would commit the transaction behind strata's back).
    fn run_in_transaction(
        &mut self,
        statements: &[Statement],
        change: &HistoryChange,
        waiting: WaitReport,
    ) -> Result<TransactionOutcome, StatementFailure> {
        let whole = |error: DriverError| StatementFailure { index: None, error };
        let started = Instant::now();
        if let Some(first) = statements.first() {
            self.apply_settings(first).map_err(whole)?;
        }
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.query_drop("START TRANSACTION"))
            .map_err(|e| whole(driver_error(&e)))?;
        for (index, statement) in statements.iter().enumerate() {
            if let Err(error) = self.run_watched(&statement.sql, waiting) {
                let (runtime, conn) = self.parts();
                let _ = runtime.block_on(conn.query_drop("ROLLBACK"));
                return Err(StatementFailure {
                    index: Some(index),
                    error,
                });
            }
        }
        let execution_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let change = match change {
            HistoryChange::Upsert(row) => HistoryChange::Upsert(AppliedMigration {
                execution_ms,
                ..row.clone()
            }),
            delete => delete.clone(),
        };
        let (runtime, conn) = self.parts();
        let committed = runtime.block_on(async {
            history::write(conn, &change).await?;
            conn.query_drop("COMMIT")
                .await
                .map_err(|e| driver_error(&e))
        });
        if let Err(error) = committed {
            let (runtime, conn) = self.parts();
            let _ = runtime.block_on(conn.query_drop("ROLLBACK"));
            return Err(whole(error));
        }
        Ok(TransactionOutcome::Committed { execution_ms })
    }

    fn execute_alone(
        &mut self,
        statement: &Statement,
        waiting: WaitReport,
    ) -> Result<(), DriverError> {
        self.apply_settings(statement)?;
        self.run_watched(&statement.sql, waiting)
    }

    fn write_history(&mut self, change: &HistoryChange) -> Result<(), DriverError> {
        let (runtime, conn) = self.parts();
        runtime.block_on(history::write(conn, change))
    }

    fn write_history_all(&mut self, changes: &[HistoryChange]) -> Result<(), DriverError> {
        let (runtime, conn) = self.parts();
        runtime.block_on(history::write_all(conn, changes))
    }

    fn foreign_tables(&mut self) -> Option<&mut dyn strata_core::ForeignTables> {
        Some(self)
    }

    fn backfill_driver(&mut self) -> Option<&mut dyn strata_core::BackfillDriver> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_wait_timeouts_are_whole_seconds_and_never_zero() {
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(500)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(2500)), 3);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }
}
