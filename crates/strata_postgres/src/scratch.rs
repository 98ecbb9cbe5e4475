//! Scratch databases: a throw-away database on the same server, for `verify` and `drift` to run
//! migrations on without touching the real one.
//!
//! The database is created as `strata_verify_<unix time>_<pid>_<n>` from a session on the
//! configured database, and dropped `WITH (FORCE)` when the [`ScratchDatabase`] is dropped
//! (after success, on failure and while unwinding a panic). A signal handler can drop it from
//! another thread through [`ScratchDatabase::dropper`].

use strata_core::DriverError;

use crate::connect::{ConnectError, PgTarget};
use crate::driver::PgDriver;
use crate::errors::{driver_error, quote_ident};

pub use strata_core::scratch::SCRATCH_PREFIX;

/// Why a scratch database could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot create the scratch database {name}: {error}")]
    Create { name: String, error: DriverError },
}

/// A database that exists as long as this value does.
pub struct ScratchDatabase {
    /// The session on the configured database that created the scratch one and will drop it.
    admin: PgDriver,
    server: PgTarget,
    name: String,
}

impl ScratchDatabase {
    /// Creates an empty database next to `server`'s (the user needs `CREATEDB`).
    pub fn create(server: &PgTarget) -> Result<ScratchDatabase, ScratchError> {
        let admin = PgDriver::connect(server)?;
        let name = strata_core::scratch::scratch_database_name();
        admin
            .block_on(
                admin
                    .client()
                    .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name))),
            )
            .map_err(|e| ScratchError::Create {
                name: name.clone(),
                error: driver_error(&e),
            })?;
        Ok(ScratchDatabase {
            admin,
            server: server.clone(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connects a driver to the scratch database.
    pub fn connect(&self) -> Result<PgDriver, ConnectError> {
        PgDriver::connect(&self.server.with_database(&self.name))
    }

    /// Drops the scratch database from a new session: for a signal handler, while this value
    /// is still in use on another thread.
    pub fn dropper(&self) -> impl FnOnce() + Send + 'static {
        let server = self.server.clone();
        let name = self.name.clone();
        move || {
            if let Ok(admin) = PgDriver::connect(&server) {
                let _ = drop_database(&admin, &name);
            }
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = drop_database(&self.admin, &self.name);
    }
}

/// `WITH (FORCE)` ends sessions still connected to it (PostgreSQL 13 and later).
fn drop_database(admin: &PgDriver, name: &str) -> Result<(), DriverError> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    admin
        .block_on(admin.client().batch_execute(&sql))
        .map_err(|e| driver_error(&e))
}
