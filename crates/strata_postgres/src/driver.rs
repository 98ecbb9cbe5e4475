//! [`Driver`] for PostgreSQL.

use std::time::Duration;

use futures_util::TryStreamExt;
use strata_core::{
    AppliedMigration, Blocker, Dialect, Driver, DriverError, HistoryChange, IndexBuild, IndexState,
    LockError, LockHolder, LockPolicy, Statement, StatementFailure, TableLock, TransactionOutcome,
    WaitReport,
};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::connect::{ConnectError, PgTarget, connect};
use crate::errors::{driver_error, quote_ident};
use crate::{history, lock, waits};

/// Prepares strata's session and returns its backend pid. `client_connection_check_interval`
/// makes the server notice within a second that a killed strata process is gone, so its backend
/// stops (and releases the migration lock) instead of finishing a long statement for nobody; it
/// exists from PostgreSQL 14 on, older servers skip it. `idle_in_transaction_session_timeout`
/// ends strata's own session should it ever sit in an open transaction.
/// It also says whether the history table exists yet, saving a round trip on every command.
const SESSION_SETUP: &str = "SELECT pg_backend_pid(), \
    to_regclass('strata_migrations') IS NOT NULL, \
    set_config('idle_in_transaction_session_timeout', '60s', false), \
    (SELECT set_config('client_connection_check_interval', '1s', false) \
     WHERE current_setting('server_version_num')::int >= 140000)";

/// A strata session on a PostgreSQL database.
///
/// The driver is synchronous to the core and owns a current-thread tokio runtime: the core
/// stays free of async, and the driver can still watch a running statement from a timer.
pub struct PgDriver {
    runtime: Runtime,
    client: Option<Client>,
    connection: Option<JoinHandle<()>>,
    target: PgTarget,
    /// strata's backend, whose waits the watcher looks at.
    pid: i32,
    /// Once the history table exists it stays: only its absence is checked again.
    history_exists: bool,
    policy: LockPolicy,
}

impl PgDriver {
    /// Connects and prepares the session (`application_name = 'strata'`, connection checks).
    pub fn connect(target: &PgTarget) -> Result<PgDriver, ConnectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::Startup {
                target: target.redacted().to_owned(),
                cause: e.to_string(),
            })?;
        let (client, connection) = runtime.block_on(connect(target))?;
        let setup = runtime
            .block_on(client.query_one(SESSION_SETUP, &[]))
            .map_err(|e| ConnectError::Server {
                target: target.redacted().to_owned(),
                code: e.code().map(|c| c.code().to_owned()).unwrap_or_default(),
                message: driver_error(&e).message,
            })?;
        Ok(PgDriver {
            runtime,
            client: Some(client),
            connection: Some(connection),
            target: target.clone(),
            pid: setup.get(0),
            history_exists: setup.get(1),
            policy: LockPolicy::default(),
        })
    }

    pub(crate) fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the client lives as long as the driver")
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Whether the history table exists, asking the server only while it did not.
    fn history_exists(&mut self) -> Result<bool, DriverError> {
        if !self.history_exists {
            self.history_exists = self.block_on(history::exists(self.client()))?;
        }
        Ok(self.history_exists)
    }
}

impl Drop for PgDriver {
    /// Closes the session cleanly (a Terminate message rather than a reset connection).
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(connection) = self.connection.take() {
            let _ = self.runtime.block_on(connection);
        }
    }
}

impl Driver for PgDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn target(&self) -> &str {
        self.target.redacted()
    }

    fn session_settings(&self) -> Vec<String> {
        vec![
            "SET application_name = 'strata'".into(),
            "SET client_connection_check_interval = '1s'".into(),
            "SET idle_in_transaction_session_timeout = '60s'".into(),
        ]
    }

    fn set_lock_policy(&mut self, policy: &LockPolicy) {
        self.policy = policy.clone();
    }

    /// Inside a migration's transaction, `SET LOCAL`, so that nothing leaks into later
    /// migrations and every retry runs under the same limits. Outside a transaction, before each
    /// statement; `CONCURRENTLY` statements get no lock timeout, since they wait for every older
    /// transaction in the database by design (and would otherwise fail and retry forever).
    fn statement_settings(&self, statement: &Statement, in_transaction: bool) -> Vec<String> {
        let scope = if in_transaction { "SET LOCAL" } else { "SET" };
        let lock_timeout = if statement.concurrent && !in_transaction {
            Duration::ZERO
        } else {
            self.policy.lock_timeout
        };
        vec![
            format!("{scope} lock_timeout = '{}ms'", lock_timeout.as_millis()),
            format!(
                "{scope} statement_timeout = '{}ms'",
                self.policy
                    .statement_timeout
                    .unwrap_or(Duration::ZERO)
                    .as_millis()
            ),
        ]
    }

    fn conflicting_holders(
        &mut self,
        locks: &[TableLock],
        min_age: Duration,
    ) -> Result<Vec<Blocker>, DriverError> {
        self.block_on(waits::conflicting_holders(self.client(), locks, min_age))
    }

    fn invalid_indexes(&mut self) -> Result<Vec<String>, DriverError> {
        let rows = self
            .block_on(self.client().query_typed(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT i.indisvalid ORDER BY 1",
                &[],
            ))
            .map_err(|e| driver_error(&e))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn lock(
        &mut self,
        wait: Duration,
        waiting: &mut dyn FnMut(&LockHolder, Duration),
    ) -> Result<(), LockError> {
        strata_core::locks::poll_lock(
            wait,
            waiting,
            || self.block_on(lock::try_acquire(self.client())),
            || self.block_on(lock::current_holder(self.client())),
        )
    }

    fn unlock(&mut self) -> Result<(), DriverError> {
        self.block_on(lock::release(self.client()))
    }

    fn ensure_history(&mut self) -> Result<(), DriverError> {
        if !self.history_exists()? {
            self.block_on(self.client().batch_execute(history::CREATE_HISTORY))
                .map_err(|e| driver_error(&e))?;
            self.history_exists = true;
        }
        Ok(())
    }

    fn read_history(&mut self) -> Result<Vec<AppliedMigration>, DriverError> {
        if !self.history_exists()? {
            return Ok(Vec::new());
        }
        self.block_on(history::read(self.client()))
    }

    /// Sends `BEGIN; <statements>; <history change>; COMMIT` as one simple-protocol query: one
    /// round trip per migration. On an error the server skips the rest; the statements that
    /// completed before it tell which one failed.
    fn run_in_transaction(
        &mut self,
        statements: &[Statement],
        change: &HistoryChange,
        waiting: WaitReport,
    ) -> Result<TransactionOutcome, StatementFailure> {
        let mut script = String::from("BEGIN;\n");
        let first = statements
            .first()
            .cloned()
            .unwrap_or_else(|| Statement::plain("", 0, 1));
        let prologue = self.statement_settings(&first, true);
        for setting in &prologue {
            script.push_str(setting);
            script.push_str(";\n");
        }
        let mut starts = Vec::with_capacity(statements.len());
        for statement in statements {
            starts.push(script.chars().count());
            script.push_str(&statement.sql);
            script.push_str(";\n");
        }
        script.push_str(&history::change_sql(change));
        // Inside the transaction, now() is its start: the last row returned is its duration.
        script.push_str(
            ";\nSELECT (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint;\nCOMMIT",
        );
        let client = self.client();
        let run = async {
            let mut completed = 0usize;
            let mut execution_ms = 0;
            let stream = client.simple_query_raw(&script).await.map_err(|e| (0, e))?;
            futures_util::pin_mut!(stream);
            while let Some(message) = stream.try_next().await.map_err(|e| (completed, e))? {
                match message {
                    SimpleQueryMessage::CommandComplete(_) => completed += 1,
                    SimpleQueryMessage::Row(row) => {
                        execution_ms = row.get(0).and_then(|v| v.parse().ok()).unwrap_or(0)
                    }
                    _ => {}
                }
            }
            Ok::<i64, (usize, tokio_postgres::Error)>(execution_ms)
        };
        let (outcome, blockers) =
            self.block_on(waits::watched(run, &self.target, self.pid, waiting));
        match outcome {
            Ok(execution_ms) => Ok(TransactionOutcome::Committed { execution_ms }),
            Err((completed, error)) => {
                let _ = self.block_on(client.batch_execute("ROLLBACK"));
                // BEGIN and the prologue's SETs complete first, then one command per statement.
                let index = completed
                    .checked_sub(1 + prologue.len())
                    .filter(|&i| i < statements.len());
                let mut error = driver_error(&error);
                error.blockers = blockers;
                if let (Some(index), Some(position)) = (index, error.position) {
                    let start = u32::try_from(starts[index]).unwrap_or(0);
                    error.position = position.checked_sub(start);
                }
                Err(StatementFailure { index, error })
            }
        }
    }

    /// Sends the statement's settings, then the statement alone: `CONCURRENTLY` statements
    /// fail inside any transaction block, including a multi-statement query.
    fn execute_alone(
        &mut self,
        statement: &Statement,
        waiting: WaitReport,
    ) -> Result<(), DriverError> {
        let settings = self.statement_settings(statement, false).join(";\n");
        let client = self.client();
        self.block_on(client.batch_execute(&settings))
            .map_err(|e| driver_error(&e))?;
        let (result, blockers) = self.block_on(waits::watched(
            client.batch_execute(&statement.sql),
            &self.target,
            self.pid,
            waiting,
        ));
        result.map_err(|e| {
            let mut error = driver_error(&e);
            error.blockers = blockers;
            error
        })
    }

    fn write_history(&mut self, change: &HistoryChange) -> Result<(), DriverError> {
        self.block_on(history::write(self.client(), change))
    }

    fn write_history_all(&mut self, changes: &[HistoryChange]) -> Result<(), DriverError> {
        self.block_on(history::write_all(self.client(), changes))
    }

    fn foreign_tables(&mut self) -> Option<&mut dyn strata_core::ForeignTables> {
        Some(self)
    }

    fn index_state(&mut self, index: &IndexBuild) -> Result<IndexState, DriverError> {
        let row = self
            .block_on(self.client().query_opt(
                "SELECT i.indisvalid AND i.indisready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema())",
                &[&index.name, &index.schema],
            ))
            .map_err(|e| driver_error(&e))?;
        Ok(match row.map(|row| row.get::<_, bool>(0)) {
            None => IndexState::Missing,
            Some(true) => IndexState::Valid,
            Some(false) => IndexState::Invalid,
        })
    }

    fn drop_index(&mut self, index: &IndexBuild) -> Result<(), DriverError> {
        let name = match &index.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&index.name)),
            None => quote_ident(&index.name),
        };
        self.block_on(
            self.client()
                .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")),
        )
        .map_err(|e| driver_error(&e))
    }

    fn catalog_reader(&mut self) -> Option<&mut dyn strata_core::CatalogReader> {
        Some(self)
    }

    fn backfill_driver(&mut self) -> Option<&mut dyn strata_core::BackfillDriver> {
        Some(self)
    }

    fn expander(&mut self) -> Option<&mut dyn strata_core::Expander> {
        Some(self)
    }
}
