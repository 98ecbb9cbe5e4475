//! Online backfills on MySQL and MariaDB: the SQL behind [`BackfillDriver`].
//!
//! Keys travel as `JSON_ARRAY(...)`, as on PostgreSQL: integers stay numbers and everything
//! else becomes a string literal that the server converts to the key column's type (and compares
//! in its collation). A batch is one InnoDB transaction: lock the progress row (`FOR UPDATE`) and
//! check it still ends where this run thinks, run the change, add its row count to the progress
//! row, commit. The session counts *matched* rows (`CLIENT_FOUND_ROWS`, set when the driver
//! connects), so `rows_changed` means what it means on PostgreSQL and SQLite: every row the
//! statement touched, including those it set to the value they already had.
//!
//! MariaDB's optimizer reads a composite row-value range (`(a, b) > (1, 2)`) as a filter over the
//! whole index, so key ranges are spelt out column by column ([`KeyComparison::Expanded`]), which
//! it serves with a range scan. A batch's end is the `size`-th key (`LIMIT 1 OFFSET size - 1`):
//! MariaDB computes window functions over every row the `WHERE` selects before any `LIMIT`, so
//! the windowed form the other databases use would read the rest of the table per batch.
//! `GET_LOCK('strata_backfill:<database>:<name>')`, held by the session, tells `status` which
//! backfills a live session runs, like PostgreSQL's advisory lock.

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Row};
use strata_core::backfill::{
    BackfillDriver, Batch, BatchEnd, ColumnShape, EXACT_COUNT_BELOW_BYTES, Key, KeyComparison,
    ProgressRow, ReplicaLag, SqlQuoting, TableName, TableShape, count_from_stored, encode_columns,
    owner_here, stored_count,
};
use strata_core::{
    BackfillRecord, BackfillState, BackfillStatement, Driver, DriverError, Statement,
};

use crate::driver::MySqlDriver;
use crate::errors::{batch_error, driver_error};
use crate::lock::bounded_lock_name;

const CREATE_PROGRESS: &str = "CREATE TABLE IF NOT EXISTS strata_backfills (
    name VARCHAR(255) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    table_name VARCHAR(255) NOT NULL,
    statement_checksum VARCHAR(80) NOT NULL,
    key_columns TEXT NOT NULL,
    end_key TEXT NULL,
    last_key TEXT NULL,
    rows_scanned BIGINT NOT NULL,
    rows_changed BIGINT NOT NULL,
    estimated_rows BIGINT NULL,
    batch_size BIGINT NOT NULL,
    state VARCHAR(10) NOT NULL CHECK (state IN ('running', 'failed', 'done')),
    error TEXT NULL,
    owner VARCHAR(255) NULL,
    started_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

const SELECT_PROGRESS: &str = "SELECT name, table_name, statement_checksum, key_columns, end_key, last_key, \
    rows_scanned, rows_changed, estimated_rows, batch_size, state, error, \
    DATE_FORMAT(started_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ') \
    FROM strata_backfills";

const PROGRESS_EXISTS: &str = "SELECT COUNT(*) FROM information_schema.TABLES \
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'strata_backfills'";

const QUOTING: SqlQuoting = SqlQuoting {
    identifier: quote_ident,
    string: string_literal,
    comparison: KeyComparison::Expanded,
};

pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal that reads the same whatever `sql_mode` says: a backslash is an escape
/// character unless `NO_BACKSLASH_ESCAPES` is set, so text holding one is written in hex (with
/// a character set, so that it stays text and compares in the column's collation).
fn string_literal(text: &str) -> String {
    if text.contains('\\') {
        let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
        format!("_utf8mb4 X'{hex}'")
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn json_key(columns: &[String]) -> String {
    format!("JSON_ARRAY({})", QUOTING.columns(columns).join(", "))
}

/// The query for the `size`-th key in (`after`, `end`]: it walks the key's index for `size`
/// keys and stops.
fn nth_key_query(
    table: &TableName,
    columns: &[String],
    after: Option<&Key>,
    end: &Key,
    size: u64,
) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1 OFFSET {}",
        json_key(columns),
        QUOTING.table(table),
        QUOTING.key_range(columns, after, end),
        QUOTING.columns(columns).join(", "),
        size.saturating_sub(1)
    )
}

/// The query for the last key in (`after`, `end`] and how many keys there are, for the final
/// batch, once [`nth_key_query`] found fewer than `size` keys left (so both read fewer).
fn last_key_query(table: &TableName, columns: &[String], after: Option<&Key>, end: &Key) -> String {
    let range = QUOTING.key_range(columns, after, end);
    let name = QUOTING.table(table);
    let descending: Vec<String> = QUOTING
        .columns(columns)
        .into_iter()
        .map(|c| format!("{c} DESC"))
        .collect();
    format!(
        "SELECT {}, (SELECT COUNT(*) FROM {name} WHERE {range}) FROM {name} WHERE {range} \
         ORDER BY {} LIMIT 1",
        json_key(columns),
        descending.join(", ")
    )
}

fn record(mut row: Row, worked_on: bool) -> Result<BackfillRecord, DriverError> {
    fn take<T: FromValue>(row: &mut Row, index: usize) -> Result<T, DriverError> {
        row.take_opt(index)
            .ok_or_else(|| DriverError::new("strata_backfills returned too few columns"))?
            .map_err(|e| DriverError::new(format!("unreadable row in strata_backfills: {e}")))
    }
    ProgressRow {
        name: take(&mut row, 0)?,
        table: take(&mut row, 1)?,
        statement_checksum: take(&mut row, 2)?,
        key_columns: take(&mut row, 3)?,
        end_key: take(&mut row, 4)?,
        last_key: take(&mut row, 5)?,
        rows_scanned: take(&mut row, 6)?,
        rows_changed: take(&mut row, 7)?,
        estimated_rows: take(&mut row, 8)?,
        batch_size: take(&mut row, 9)?,
        state: take(&mut row, 10)?,
        error: take(&mut row, 11)?,
        started_at: take(&mut row, 12)?,
        updated_at: take(&mut row, 13)?,
    }
    .into_record(worked_on)
}

impl MySqlDriver {
    /// The session-level lock of backfill `name` in this database.
    fn backfill_lock(&self, name: &str) -> String {
        bounded_lock_name("strata_backfill", &format!("{}:{name}", self.database()))
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Row>, DriverError> {
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.query(sql))
            .map_err(|e| driver_error(&e))
    }

    /// The progress rows `condition` selects, with `running` ones whose lock is free reported
    /// as interrupted.
    fn progress(&mut self, condition: &str) -> Result<Vec<BackfillRecord>, DriverError> {
        let rows = self.rows(&format!("{SELECT_PROGRESS} {condition}"))?;
        rows.into_iter()
            .map(|row| {
                let name: Option<String> = row.get(0);
                let lock = self.backfill_lock(&name.unwrap_or_default());
                let (runtime, conn) = self.parts();
                let holder: Option<Option<u64>> = runtime
                    .block_on(conn.exec_first("SELECT IS_USED_LOCK(?)", (lock,)))
                    .map_err(|e| driver_error(&e))?;
                record(row, holder.flatten().is_some())
            })
            .collect()
    }

    fn progress_exists(&mut self) -> Result<bool, DriverError> {
        let (runtime, conn) = self.parts();
        let count: Option<i64> = runtime
            .block_on(conn.query_first(PROGRESS_EXISTS))
            .map_err(|e| driver_error(&e))?;
        Ok(count.unwrap_or(0) > 0)
    }
}

/// The batch once its transaction is open.
async fn batch_in_transaction(conn: &mut Conn, batch: &Batch<'_>) -> Result<u64, DriverError> {
    let stored: Option<(Option<String>, String)> = conn
        .exec_first(
            "SELECT last_key, state FROM strata_backfills WHERE name = ? FOR UPDATE",
            (batch.name,),
        )
        .await
        .map_err(|e| batch_error(&e))?;
    batch.check_progress(
        stored
            .as_ref()
            .map(|(last_key, state)| (last_key.as_deref(), state.as_str())),
    )?;
    let range = QUOTING.key_range(batch.key_columns, batch.after, batch.upto);
    conn.query_drop(batch.statement.restricted_to(&range))
        .await
        .map_err(|e| batch_error(&e))?;
    let changed = conn.affected_rows();
    conn.exec_drop(
        "UPDATE strata_backfills SET last_key = ?, rows_scanned = rows_scanned + ?, \
         rows_changed = rows_changed + ?, batch_size = ?, state = ?, error = NULL, owner = ?, \
         updated_at = UTC_TIMESTAMP() WHERE name = ?",
        (
            batch.upto.encode(),
            stored_count(batch.rows),
            stored_count(changed),
            stored_count(batch.batch_size),
            batch.state_after().as_str(),
            owner_here(),
            batch.name,
        ),
    )
    .await
    .map_err(|e| batch_error(&e))?;
    conn.query_drop("COMMIT")
        .await
        .map_err(|e| batch_error(&e))?;
    Ok(changed)
}

impl BackfillDriver for MySqlDriver {
    fn describe_table(&mut self, table: &TableName) -> Result<Option<TableShape>, DriverError> {
        // The database the statement names, else the connection's.
        let schema = table.schema.as_deref();
        let (runtime, conn) = self.parts();
        let sizes: Option<(Option<u64>, Option<u64>)> = runtime
            .block_on(conn.exec_first(
                "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
                (schema, &table.name),
            ))
            .map_err(|e| driver_error(&e))?;
        let Some((table_rows, bytes)) = sizes else {
            return Ok(None);
        };
        // InnoDB's TABLE_ROWS is a sampled estimate that lags behind bulk loads: small tables
        // are counted instead.
        let small =
            bytes.is_none_or(|b| i64::try_from(b).is_ok_and(|b| b < EXACT_COUNT_BELOW_BYTES));
        let estimated_rows = if small {
            let count: Option<i64> = runtime
                .block_on(
                    conn.query_first(format!("SELECT COUNT(*) FROM {}", QUOTING.table(table))),
                )
                .map_err(|e| driver_error(&e))?;
            count.map(count_from_stored)
        } else {
            table_rows
        };
        let columns: Vec<(String, String)> = runtime
            .block_on(conn.exec(
                "SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (schema, &table.name),
            ))
            .map_err(|e| driver_error(&e))?;
        let primary_key: Vec<String> = runtime
            .block_on(conn.exec(
                "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
                 ORDER BY SEQ_IN_INDEX",
                (schema, &table.name),
            ))
            .map_err(|e| driver_error(&e))?;
        Ok(Some(TableShape {
            primary_key,
            columns: columns
                .into_iter()
                .map(|(name, nullable)| ColumnShape {
                    name,
                    nullable: nullable == "YES",
                })
                .collect(),
            estimated_rows,
        }))
    }

    /// The server prepares the batched statement (with a key range that selects nothing), which
    /// resolves every table, column and function it names without running it.
    fn check_statement(
        &mut self,
        statement: &BackfillStatement,
        key_columns: &[String],
    ) -> Result<(), DriverError> {
        let sql = statement.restricted_to(&QUOTING.empty_key_range(key_columns));
        let (runtime, conn) = self.parts();
        runtime
            .block_on(async {
                let prepared = conn.prep(sql).await?;
                conn.close(prepared).await
            })
            .map_err(|e| driver_error(&e))
    }

    fn largest_key(
        &mut self,
        table: &TableName,
        key_columns: &[String],
    ) -> Result<Option<Key>, DriverError> {
        let query = QUOTING.largest_key_query(table, key_columns, &json_key(key_columns));
        let (runtime, conn) = self.parts();
        let key: Option<String> = runtime
            .block_on(conn.query_first(query))
            .map_err(|e| driver_error(&e))?;
        key.as_deref().map(Key::decode).transpose()
    }

    fn batch_end(
        &mut self,
        table: &TableName,
        key_columns: &[String],
        after: Option<&Key>,
        end: &Key,
        size: u64,
    ) -> Result<Option<BatchEnd>, DriverError> {
        let (runtime, conn) = self.parts();
        let nth: Option<String> = runtime
            .block_on(conn.query_first(nth_key_query(table, key_columns, after, end, size)))
            .map_err(|e| driver_error(&e))?;
        if let Some(key) = nth {
            return Ok(Some(BatchEnd {
                key: Key::decode(&key)?,
                rows: size,
            }));
        }
        let last: Option<(String, i64)> = runtime
            .block_on(conn.query_first(last_key_query(table, key_columns, after, end)))
            .map_err(|e| driver_error(&e))?;
        last.map(|(key, rows)| {
            Ok(BatchEnd {
                key: Key::decode(&key)?,
                rows: count_from_stored(rows),
            })
        })
        .transpose()
    }

    fn run_batch(&mut self, batch: &Batch) -> Result<u64, DriverError> {
        let mut begin = self.statement_settings(&Statement::plain("", 0, 1), true);
        begin.push("START TRANSACTION".into());
        let (runtime, conn) = self.parts();
        runtime.block_on(async {
            conn.query_drop(begin.join("; "))
                .await
                .map_err(|e| batch_error(&e))?;
            let outcome = batch_in_transaction(conn, batch).await;
            if outcome.is_err() {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            outcome
        })
    }

    fn ensure_progress_table(&mut self) -> Result<(), DriverError> {
        self.rows(CREATE_PROGRESS).map(drop)
    }

    fn read_progress(&mut self, name: &str) -> Result<Option<BackfillRecord>, DriverError> {
        if !self.progress_exists()? {
            return Ok(None);
        }
        let condition = format!("WHERE name = {}", string_literal(name));
        Ok(self.progress(&condition)?.into_iter().next())
    }

    fn list_progress(&mut self) -> Result<Vec<BackfillRecord>, DriverError> {
        if !self.progress_exists()? {
            return Ok(Vec::new());
        }
        self.progress("ORDER BY started_at, name")
    }

    fn start_progress(&mut self, record: &BackfillRecord) -> Result<(), DriverError> {
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.exec_drop(
                "INSERT INTO strata_backfills (name, table_name, statement_checksum, key_columns, end_key, \
                 last_key, rows_scanned, rows_changed, estimated_rows, batch_size, state, owner, started_at, \
                 updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP()) \
                 ON DUPLICATE KEY UPDATE table_name = VALUES(table_name), \
                 statement_checksum = VALUES(statement_checksum), key_columns = VALUES(key_columns), \
                 end_key = VALUES(end_key), last_key = VALUES(last_key), rows_scanned = VALUES(rows_scanned), \
                 rows_changed = VALUES(rows_changed), estimated_rows = VALUES(estimated_rows), \
                 batch_size = VALUES(batch_size), state = VALUES(state), error = NULL, owner = VALUES(owner), \
                 started_at = UTC_TIMESTAMP(), updated_at = UTC_TIMESTAMP()",
                mysql_async::Params::Positional(vec![
                    record.name.clone().into(),
                    record.table.clone().into(),
                    record.statement_checksum.clone().into(),
                    encode_columns(&record.key_columns).into(),
                    record.end_key.as_ref().map(Key::encode).into(),
                    record.last_key.as_ref().map(Key::encode).into(),
                    stored_count(record.rows_scanned).into(),
                    stored_count(record.rows_changed).into(),
                    record.estimated_rows.map(stored_count).into(),
                    stored_count(record.batch_size).into(),
                    record.state.as_str().into(),
                    owner_here().into(),
                ]),
            ))
            .map_err(|e| driver_error(&e))
    }

    fn set_state(
        &mut self,
        name: &str,
        state: BackfillState,
        error: Option<&str>,
    ) -> Result<(), DriverError> {
        let (runtime, conn) = self.parts();
        runtime
            .block_on(conn.exec_drop(
                "UPDATE strata_backfills SET state = ?, error = ?, owner = ?, updated_at = UTC_TIMESTAMP() \
                 WHERE name = ?",
                (state.as_str(), error, owner_here(), name),
            ))
            .map_err(|e| driver_error(&e))
    }

    fn claim(&mut self, name: &str) -> Result<bool, DriverError> {
        let lock = self.backfill_lock(name);
        let (runtime, conn) = self.parts();
        runtime.block_on(crate::lock::try_acquire(conn, &lock))
    }

    fn release(&mut self, name: &str) -> Result<(), DriverError> {
        let lock = self.backfill_lock(name);
        let (runtime, conn) = self.parts();
        runtime.block_on(crate::lock::release(conn, &lock))
    }

    /// Read on each configured replica (`SHOW REPLICA STATUS`): the primary does not know.
    fn replica_lag(&mut self) -> Result<ReplicaLag, DriverError> {
        self.replicas_lag()
    }
}

#[cfg(test)]
mod tests {
    use strata_core::backfill::KeyValue;

    use super::*;

    #[test]
    fn literals_read_the_same_in_every_sql_mode() {
        let key = Key(vec![
            KeyValue::Integer(7),
            KeyValue::Text("it's".into()),
            KeyValue::Text("a\\b".into()),
        ]);
        assert_eq!(QUOTING.key(&key), ["7", "'it''s'", "_utf8mb4 X'615C62'"]);
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
        assert_eq!(json_key(&["a".into(), "B".into()]), "JSON_ARRAY(`a`, `B`)");
    }

    #[test]
    fn batch_ends_walk_at_most_one_batch_of_the_index() {
        let table = TableName {
            schema: None,
            name: "pairs".into(),
        };
        let columns = ["a".to_owned(), "b".to_owned()];
        let after = Key(vec![KeyValue::Integer(1), KeyValue::Text("x".into())]);
        let end = Key(vec![KeyValue::Integer(9), KeyValue::Text("z".into())]);
        assert_eq!(
            nth_key_query(&table, &columns, Some(&after), &end, 100),
            "SELECT JSON_ARRAY(`a`, `b`) FROM `pairs` WHERE `a` >= 1 AND `a` <= 9 AND \
             (`a` > 1 OR (`a` = 1 AND `b` > 'x')) AND (`a` < 9 OR (`a` = 9 AND `b` <= 'z')) \
             ORDER BY `a`, `b` LIMIT 1 OFFSET 99"
        );
        assert!(
            last_key_query(&table, &columns, None, &end)
                .ends_with("ORDER BY `a` DESC, `b` DESC LIMIT 1")
        );
    }

    /// On the real server: batches over a composite key are range scans of the primary key,
    /// and finding a batch's end reads one batch of the index, not the rest of the table.
    #[test]
    fn composite_key_batches_are_range_scans_that_read_one_batch() {
        let db = strata_test_support::MySqlTestDb::create("bf_explain");
        let mut session = db.session();
        session.query(
            "CREATE TABLE pairs (a int NOT NULL, b varchar(20) NOT NULL, n int NOT NULL DEFAULT 0, \
             PRIMARY KEY (a, b)) ENGINE=InnoDB",
        );
        let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
             UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
             UNION ALL SELECT 8 UNION ALL SELECT 9)";
        session.query(&format!(
            "INSERT INTO pairs (a, b) SELECT i % 50, CONCAT('k', i) FROM (SELECT 1 + x.d + 10 * y.d \
             + 100 * z.d + 1000 * w.d AS i FROM {digits} x, {digits} y, {digits} z, {digits} w) g"
        ));
        session.query("ANALYZE TABLE pairs");
        let table = TableName {
            schema: None,
            name: "pairs".into(),
        };
        let columns = ["a".to_owned(), "b".to_owned()];
        let after = Key(vec![KeyValue::Integer(10), KeyValue::Text("k100".into())]);
        let end = Key(vec![KeyValue::Integer(40), KeyValue::Text("k5000".into())]);
        let nth = nth_key_query(&table, &columns, Some(&after), &end, 100);
        let change =
            BackfillStatement::parse("UPDATE pairs SET n = n + 1", strata_core::Dialect::MySql)
                .unwrap()
                .restricted_to(&QUOTING.key_range(&columns, Some(&after), &end));
        for query in [nth.clone(), change] {
            let plan = session.query(&format!("EXPLAIN {query}"));
            assert_eq!(plan[0][3].as_deref(), Some("range"), "{query}: {plan:?}");
            assert_eq!(plan[0][5].as_deref(), Some("PRIMARY"), "{query}: {plan:?}");
        }
        let expected = session.query(
            "SELECT JSON_ARRAY(a, b) FROM pairs WHERE (a, b) > (10, 'k100') ORDER BY a, b LIMIT 1 OFFSET 99",
        );
        session.query("FLUSH STATUS");
        assert_eq!(session.query(&nth), expected);
        let reads = session.query("SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_rnd_next')");
        for row in reads {
            let count: u64 = row[1].as_deref().unwrap().parse().unwrap();
            assert!(
                count <= 100,
                "{row:?}: more than one batch of the index read"
            );
        }
    }

    /// Every literal selects its own row both with and without `NO_BACKSLASH_ESCAPES`.
    #[test]
    fn text_literals_mean_the_same_in_both_backslash_modes() {
        let db = strata_test_support::MySqlTestDb::create("bf_literals");
        let mut session = db.session();
        session.query("CREATE TABLE w (t varchar(20) NOT NULL PRIMARY KEY)");
        let texts = ["a\\b", "it's", "\\", "n'\\", "Ünï"];
        for mode in ["", "NO_BACKSLASH_ESCAPES"] {
            session.query(&format!("SET SESSION sql_mode = '{mode}'"));
            session.query("DELETE FROM w");
            for text in texts {
                session.query(&format!(
                    "INSERT INTO w (t) VALUES ({})",
                    string_literal(text)
                ));
            }
            for text in texts {
                let found = session.query(&format!(
                    "SELECT t FROM w WHERE t = {}",
                    string_literal(text)
                ));
                assert_eq!(found, [[Some(text.to_owned())]], "{mode}: {text}");
            }
        }
    }
}
