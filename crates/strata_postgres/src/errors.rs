//! PostgreSQL errors as strata's [`DriverError`]s, and literal quoting for simple-protocol SQL.

use std::error::Error as _;

use strata_core::DriverError;
use tokio_postgres::error::ErrorPosition;

/// Keeps the SQLSTATE, message, detail, hint and position of a server error; for other errors
/// (a broken connection) the whole cause chain, since tokio-postgres's own message is terse.
pub fn driver_error(error: &tokio_postgres::Error) -> DriverError {
    if let Some(db) = error.as_db_error() {
        let position = match db.position() {
            Some(ErrorPosition::Original(position)) => Some(*position),
            _ => None,
        };
        let mut driver_error = DriverError::new(db.message())
            .with_code(db.code().code())
            .with_detail(db.detail().map(String::from))
            .with_hint(db.hint().map(String::from))
            .with_position(position);
        // 55P03: lock_timeout expired (or NOWAIT): the statement may succeed if tried again.
        driver_error.lock_not_available = db.code().code() == "55P03";
        return driver_error;
    }
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DriverError::new(message)
}

/// An error of a backfill batch: like any other, except that a deadlock (40P01) or a
/// serialization failure (40001) rolled the whole batch back, so it is worth retrying like a
/// lock timeout: the application's transaction that won keeps going, and the batch runs again.
pub(crate) fn batch_error(mut error: DriverError) -> DriverError {
    let why = match error.code.as_deref() {
        Some("40P01") => {
            "PostgreSQL rolled the batch back to break a deadlock with another transaction"
        }
        Some("40001") => {
            "PostgreSQL rolled the batch back: it could not be serialized with another transaction"
        }
        _ => return error,
    };
    error.lock_not_available = true;
    error.detail = Some(match error.detail.take() {
        Some(server) => format!("{why}: {server}"),
        None => why.to_owned(),
    });
    error
}

/// A string literal that reads the same whatever `standard_conforming_strings` says.
pub(crate) fn sql_literal(value: &str) -> String {
    format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A double-quoted identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_literals_and_identifiers() {
        assert_eq!(sql_literal(r"it's a \ test"), r"E'it''s a \\ test'");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
