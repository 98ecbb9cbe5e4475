//! Scratch databases on a MySQL/MariaDB server, for `verify` and `drift`: created next to the
//! configured database, dropped when the [`ScratchDatabase`] is dropped (after success, on
//! failure, while unwinding) or, from a signal handler, through [`ScratchDatabase::dropper`].

use mysql_async::prelude::Queryable;
use strata_core::DriverError;

use crate::driver::MySqlDriver;
use crate::errors::{ConnectError, driver_error};
use crate::target::MySqlTarget;

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
    admin: MySqlDriver,
    server: MySqlTarget,
    name: String,
}

impl ScratchDatabase {
    /// Creates an empty database on `server`'s server (the user needs the CREATE privilege).
    pub fn create(server: &MySqlTarget) -> Result<ScratchDatabase, ScratchError> {
        let mut admin = MySqlDriver::connect(server)?;
        let name = strata_core::scratch::scratch_database_name();
        run(&mut admin, &format!("CREATE DATABASE `{name}`")).map_err(|error| {
            ScratchError::Create {
                name: name.clone(),
                error,
            }
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

    pub fn connect(&self) -> Result<MySqlDriver, ConnectError> {
        MySqlDriver::connect(&self.server.with_database(&self.name))
    }

    /// Drops the scratch database from a new session (for a signal handler).
    pub fn dropper(&self) -> impl FnOnce() + Send + 'static {
        let server = self.server.clone();
        let name = self.name.clone();
        move || {
            if let Ok(mut admin) = MySqlDriver::connect(&server) {
                let _ = run(&mut admin, &format!("DROP DATABASE IF EXISTS `{name}`"));
            }
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let _ = run(&mut self.admin, &sql);
    }
}

fn run(driver: &mut MySqlDriver, sql: &str) -> Result<(), DriverError> {
    let (runtime, conn) = driver.parts();
    runtime
        .block_on(conn.query_drop(sql))
        .map_err(|e| driver_error(&e))
}
