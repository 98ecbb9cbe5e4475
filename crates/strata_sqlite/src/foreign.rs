//! Other migration tools' history tables on SQLite, read for `strata adopt`. SQLite keeps a
//! value's own type, whatever the column says: timestamps stay the text the tool wrote.

use rusqlite::types::ValueRef;
use strata_core::{DriverError, ForeignTables, ForeignValue};

use crate::SqliteDriver;
use crate::errors::driver_error;

impl ForeignTables for SqliteDriver {
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, DriverError> {
        let mut statement = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(|e| driver_error(&e))?;
        let columns = statement
            .query_map([table], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| driver_error(&e))?;
        let columns: Vec<String> = columns.iter().map(|c| c.to_lowercase()).collect();
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn rows(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<ForeignValue>>, DriverError> {
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(table));
        let mut statement = self.conn.prepare(&sql).map_err(|e| driver_error(&e))?;
        statement
            .query_map([], |row| {
                (0..columns.len())
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => ForeignValue::Null,
                            ValueRef::Integer(n) => ForeignValue::Integer(n),
                            ValueRef::Real(x) => ForeignValue::Text(x.to_string()),
                            ValueRef::Text(text) => {
                                ForeignValue::Text(String::from_utf8_lossy(text).into_owned())
                            }
                            ValueRef::Blob(bytes) => ForeignValue::Bytes(bytes.to_vec()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| driver_error(&e))
    }
}
