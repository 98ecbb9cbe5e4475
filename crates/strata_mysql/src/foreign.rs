//! Other migration tools' history tables on MySQL and MariaDB, read for `strata adopt`: found in
//! the current database, and read over the binary protocol so numbers and times keep their
//! types (text and binary columns both come as bytes).

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};
use strata_core::{DriverError, ForeignTables, ForeignValue};

use crate::MySqlDriver;
use crate::errors::driver_error;

impl ForeignTables for MySqlDriver {
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, DriverError> {
        let (runtime, conn) = self.parts();
        let columns: Vec<String> = runtime
            .block_on(conn.exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (table,),
            ))
            .map_err(|e| driver_error(&e))?;
        let columns: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn rows(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<ForeignValue>>, DriverError> {
        let quote = |name: &str| format!("`{}`", name.replace('`', "``"));
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(table));
        let (runtime, conn) = self.parts();
        let rows: Vec<Row> = runtime
            .block_on(async {
                // TIMESTAMP columns (sqlx's, Flyway's) are read in the session's time zone.
                conn.query_drop("SET time_zone = '+00:00'").await?;
                conn.exec(sql, ()).await
            })
            .map_err(|e| driver_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(value).collect())
            .collect())
    }
}

fn value(value: Value) -> ForeignValue {
    match value {
        Value::NULL => ForeignValue::Null,
        Value::Int(n) => ForeignValue::Integer(n),
        Value::UInt(n) => i64::try_from(n)
            .map_or_else(|_| ForeignValue::Text(n.to_string()), ForeignValue::Integer),
        Value::Bytes(bytes) => ForeignValue::Bytes(bytes),
        Value::Date(year, month, day, hour, minute, second, _) => ForeignValue::Timestamp(format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
        )),
        Value::Float(x) => ForeignValue::Text(x.to_string()),
        Value::Double(x) => ForeignValue::Text(x.to_string()),
        Value::Time(..) => ForeignValue::Null,
    }
}
