//! MySQL errors as strata's [`DriverError`]s, and connection failures classified for people.

use std::error::Error as _;

use strata_core::DriverError;

/// Server error 1205: a lock wait timed out (`lock_wait_timeout` for metadata locks,
/// `innodb_lock_wait_timeout` for row locks). Worth retrying.
pub(crate) const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Keeps the server's error number, SQLSTATE and message; for other errors the cause chain.
pub(crate) fn driver_error(error: &mysql_async::Error) -> DriverError {
    if let mysql_async::Error::Server(server) = error {
        let mut driver_error = DriverError::new(server.message.clone())
            .with_code(format!("{} ({})", server.code, server.state));
        driver_error.lock_not_available = server.code == LOCK_WAIT_TIMEOUT;
        return driver_error;
    }
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    DriverError::new(message)
}

/// Why connecting failed, so the CLI can say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("{0}")]
    InvalidUrl(#[from] crate::target::TargetError),
    #[error("cannot connect to {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error("login to {target} failed: {message}")]
    AuthenticationFailed { target: String, message: String },
    #[error("database \"{database}\" does not exist on {target}")]
    DatabaseDoesNotExist { target: String, database: String },
    #[error("{target}: {message}")]
    Server { target: String, message: String },
}

impl ConnectError {
    /// True for problems knowable before contacting the server.
    pub fn is_config_error(&self) -> bool {
        matches!(self, ConnectError::InvalidUrl(_))
    }

    pub(crate) fn classify(
        error: &mysql_async::Error,
        target: &str,
        database: &str,
    ) -> ConnectError {
        let target = target.to_owned();
        match error {
            mysql_async::Error::Server(server) => match server.code {
                1045 | 1044 | 1698 => ConnectError::AuthenticationFailed {
                    target,
                    message: server.message.clone(),
                },
                1049 => ConnectError::DatabaseDoesNotExist {
                    target,
                    database: database.to_owned(),
                },
                _ => ConnectError::Server {
                    target,
                    message: format!("[{}] {}", server.code, server.message),
                },
            },
            other => ConnectError::Unreachable {
                target,
                cause: driver_error(other).message,
            },
        }
    }
}
