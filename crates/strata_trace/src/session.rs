//! The tracing connection: one PostgreSQL session that runs the traced statements and reads the
//! catalog between them. Reading from the same session matters: objects a statement created in
//! the still-open transaction are invisible to every other session, and `pg_locks` rows of this
//! backend stay until the transaction ends, so nothing is missed by reading after the statement.

use strata_core::DriverError;
use strata_postgres::{PgTarget, connect::connect, driver_error};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::error::TraceError;

/// A synchronous session (it owns a current-thread runtime, like strata's driver).
pub(crate) struct Session {
    runtime: Runtime,
    client: Option<Client>,
    connection: Option<JoinHandle<()>>,
}

impl Session {
    pub(crate) fn connect(target: &PgTarget) -> Result<Session, TraceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                TraceError::from(strata_postgres::ConnectError::Startup {
                    target: target.redacted().to_owned(),
                    cause: e.to_string(),
                })
            })?;
        let (client, connection) = runtime.block_on(connect(target))?;
        let session = Session {
            runtime,
            client: Some(client),
            connection: Some(connection),
        };
        session
            .execute("SET application_name = 'strata'")
            .map_err(TraceError::session("prepare the tracing session"))?;
        Ok(session)
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the client lives as long as the session")
    }

    /// Runs SQL through the simple protocol, as `strata up` does.
    pub(crate) fn execute(&self, sql: &str) -> Result<(), DriverError> {
        self.runtime
            .block_on(self.client().batch_execute(sql))
            .map_err(|e| driver_error(&e))
    }

    pub(crate) fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DriverError> {
        self.runtime
            .block_on(self.client().query(sql, params))
            .map_err(|e| driver_error(&e))
    }
}

impl Drop for Session {
    /// Closes the session cleanly; an open transaction is rolled back by the server.
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(connection) = self.connection.take() {
            let _ = self.runtime.block_on(connection);
        }
    }
}
