//! SQLite errors as strata's [`DriverError`]s.

use strata_core::DriverError;

/// Converts a rusqlite error, keeping SQLite's result code name and its message.
pub(crate) fn driver_error(error: &rusqlite::Error) -> DriverError {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            DriverError::new(message.clone().unwrap_or_else(|| failure.to_string()))
                .with_code(code_name(failure.code))
        }
        rusqlite::Error::SqlInputError {
            error, msg, offset, ..
        } => DriverError::new(msg.clone())
            .with_code(code_name(error.code))
            .with_position(u32::try_from(*offset + 1).ok()),
        other => DriverError::new(other.to_string()),
    }
}

fn code_name(code: rusqlite::ErrorCode) -> &'static str {
    use rusqlite::ErrorCode as C;
    match code {
        C::ConstraintViolation => "SQLITE_CONSTRAINT",
        C::DatabaseBusy => "SQLITE_BUSY",
        C::DatabaseLocked => "SQLITE_LOCKED",
        C::ReadOnly => "SQLITE_READONLY",
        C::CannotOpen => "SQLITE_CANTOPEN",
        C::NotADatabase => "SQLITE_NOTADB",
        C::DatabaseCorrupt => "SQLITE_CORRUPT",
        C::DiskFull => "SQLITE_FULL",
        C::SystemIoFailure => "SQLITE_IOERR",
        C::PermissionDenied => "SQLITE_PERM",
        C::TypeMismatch => "SQLITE_MISMATCH",
        C::TooBig => "SQLITE_TOOBIG",
        C::OperationInterrupted => "SQLITE_INTERRUPT",
        _ => "SQLITE_ERROR",
    }
}
