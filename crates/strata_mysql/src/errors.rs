//! MySQL errors as strata's [`DriverError`]s, and connection failures classified for people.

use std::error::Error as _;

use strata_core::DriverError;

/// Server error 1205: a lock wait timed out (`lock_wait_timeout` for metadata locks,
/// `innodb_lock_wait_timeout` for row locks). Worth retrying.
pub(crate) const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Server error 1213: InnoDB chose this transaction as a deadlock victim and rolled it back.
pub(crate) const DEADLOCK: u16 = 1213;

/// An error in a backfill batch: like [`driver_error`], and a deadlock is worth retrying too,
/// since the server rolled the whole batch back (lock timeouts already are).
pub(crate) fn batch_error(error: &mysql_async::Error) -> DriverError {
    let mut driver_error = driver_error(error);
    if let mysql_async::Error::Server(server) = error
        && server.code == DEADLOCK
    {
        driver_error.lock_not_available = true;
        driver_error.detail = Some(
            "InnoDB rolled the batch back to break a deadlock with another transaction".into(),
        );
    }
    driver_error
}

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
    /// TLS could not be set up with a URL whose `sslmode` requires it, or the server's
    /// certificate was not accepted.
    #[error("TLS with {target} failed: {cause}")]
    Tls { target: String, cause: String },
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
            mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
                ConnectError::Tls {
                    target,
                    cause: "the server does not offer TLS (its have_ssl is not YES)".into(),
                }
            }
            tls if crate::target::is_tls_failure(tls) => ConnectError::Tls {
                target,
                cause: tls_cause(tls),
            },
            other => ConnectError::Unreachable {
                target,
                cause: driver_error(other).message,
            },
        }
    }
}

/// The handshake's own reason (the innermost error: rustls's), with what to change for the
/// two certificate failures people meet.
fn tls_cause(error: &mysql_async::Error) -> String {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let cause = innermost.to_string();
    if cause.contains("not valid for name") {
        format!(
            "{cause}; connect by a name the certificate lists (on MySQL/MariaDB verify-ca checks the name too)"
        )
    } else if cause.contains("UnknownIssuer") {
        format!("{cause}; give the CA that signed the server's certificate as sslrootcert")
    } else {
        cause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: "m".into(),
            state: "40001".into(),
        })
    }

    #[test]
    fn batches_retry_lock_timeouts_and_deadlocks() {
        assert!(batch_error(&server(LOCK_WAIT_TIMEOUT)).lock_not_available);
        let deadlock = batch_error(&server(DEADLOCK));
        assert!(deadlock.lock_not_available);
        assert!(deadlock.detail.unwrap().contains("deadlock"));
        assert!(
            !driver_error(&server(DEADLOCK)).lock_not_available,
            "outside a batch a deadlock is reported, not retried"
        );
        assert!(!batch_error(&server(1054)).lock_not_available);
    }
}
