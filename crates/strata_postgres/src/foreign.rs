//! Other migration tools' history tables on PostgreSQL, read for `strata adopt`: found on the
//! search path, as the tools create them, and read with their own column types.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use strata_core::{DriverError, ForeignTables, ForeignValue};
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use crate::PgDriver;
use crate::errors::{driver_error, quote_ident};

impl ForeignTables for PgDriver {
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, DriverError> {
        let rows = self
            .block_on(self.client().query(
                "SELECT a.attname::text FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                &[&table],
            ))
            .map_err(|e| driver_error(&e))?;
        let columns: Vec<String> = rows
            .iter()
            .map(|row| row.get::<_, String>(0).to_lowercase())
            .collect();
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn rows(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<ForeignValue>>, DriverError> {
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote_ident(table));
        let rows = self
            .block_on(self.client().query(&sql, &[]))
            .map_err(|e| driver_error(&e))?;
        rows.iter()
            .map(|row| {
                (0..columns.len())
                    .map(|i| value(row, i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect()
    }
}

/// A column's value by its type. `timestamp` without a time zone (Diesel's `run_on`, Flyway's
/// `installed_on`) is taken as UTC.
fn value(row: &Row, index: usize) -> Result<ForeignValue, DriverError> {
    let column = &row.columns()[index];
    let get_error = |e: tokio_postgres::Error| driver_error(&e);
    let time =
        |t: DateTime<Utc>| ForeignValue::Timestamp(t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let value = match *column.type_() {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map_err(get_error)?
            .map(ForeignValue::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map_err(get_error)?
            .map(|n| ForeignValue::Integer(n.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map_err(get_error)?
            .map(|n| ForeignValue::Integer(n.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map_err(get_error)?
            .map(ForeignValue::Boolean),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)
            .map_err(get_error)?
            .map(ForeignValue::Bytes),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<DateTime<Utc>>>(index)
            .map_err(get_error)?
            .map(time),
        Type::TIMESTAMP => row
            .try_get::<_, Option<NaiveDateTime>>(index)
            .map_err(get_error)?
            .map(|t| time(t.and_utc())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(index)
            .map_err(get_error)?
            .map(ForeignValue::Text),
        ref other => {
            return Err(DriverError::new(format!(
                "column {} has type {other}, which no migration tool's history table uses",
                column.name()
            )));
        }
    };
    Ok(value.unwrap_or(ForeignValue::Null))
}
