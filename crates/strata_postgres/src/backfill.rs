//! Online backfills on PostgreSQL: the SQL behind [`BackfillDriver`].
//!
//! Keys travel as `json_build_array(...)`: integers stay numbers and everything else (text,
//! uuid, timestamps) becomes a string that PostgreSQL reads back as an untyped literal, which
//! takes the key column's type in the comparison. So no type names are needed, and the stored
//! progress is readable. A batch is two round trips in one transaction: lock the progress row and
//! check it still ends where this run thinks (`FOR UPDATE`), then the change and the progress
//! update as one statement (the change in a `WITH`, so its row count feeds the progress row).
//! A session-level advisory lock per backfill tells `status` which ones a live session runs.

use std::time::Duration;

use strata_core::backfill::{
    BackfillDriver, Batch, BatchEnd, ColumnShape, EXACT_COUNT_BELOW_BYTES, Key, KeyComparison,
    ProgressRow, ReplicaLag, SqlQuoting, TableName, TableShape, count_from_stored, encode_columns,
    owner_here, stored_count,
};
use strata_core::{
    BackfillRecord, BackfillState, BackfillStatement, Driver, DriverError, Statement,
};
use tokio_postgres::{Row, SimpleQueryMessage};

use crate::driver::PgDriver;
use crate::errors::{batch_error, driver_error, quote_ident, sql_literal};

/// Advisory lock class of backfills ("stbf"); the second key is `hashtext(name)`. The migration
/// lock uses the one-bigint form, so the two never collide.
const LOCK_CLASS: i32 = 0x7374_6266;

/// Set for the backfill's session while it holds the backfill: the backend asks the kernel to
/// write back the data pages it evicts after every 256 kB instead of leaving them dirty in the
/// page cache (PostgreSQL's default for backends is never). A backfill rewrites the whole table
/// through a small `shared_buffers`, so without it gigabytes of dirty pages pile up until the
/// checkpoint's `fsync`, which then stalls every commit on the server for a tenth of a second
/// or more. Session-wide rather than per batch, because finding the next batch's end, outside
/// the batch's transaction, evicts pages too: with the setting on the batches alone, some
/// checkpoints still found three times the dirty data. 256 kB is the server's own default for
/// the checkpointer (`checkpoint_flush_after`). [`RESET_FLUSH_AFTER`] puts the session back.
const SESSION_FLUSH_AFTER: &str = "SET backend_flush_after = '256kB'";
const RESET_FLUSH_AFTER: &str = "RESET backend_flush_after";

const CREATE_PROGRESS: &str = "CREATE TABLE IF NOT EXISTS strata_backfills (
    name text PRIMARY KEY,
    table_name text NOT NULL,
    statement_checksum text NOT NULL,
    key_columns text NOT NULL,
    end_key text,
    last_key text,
    rows_scanned bigint NOT NULL,
    rows_changed bigint NOT NULL,
    estimated_rows bigint,
    batch_size bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'failed', 'done')),
    error text,
    owner text,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
)";

const SELECT_PROGRESS: &str = "SELECT b.name, b.table_name, b.statement_checksum, b.key_columns, b.end_key, b.last_key, \
    b.rows_scanned, b.rows_changed, b.estimated_rows, b.batch_size, b.state, b.error, \
    to_char(b.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
    to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
    EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
        AND l.classid::bigint = 1937007206 AND l.objid::bigint = (hashtext(b.name)::bigint & 4294967295) \
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) \
    FROM strata_backfills b";

const QUOTING: SqlQuoting = SqlQuoting {
    identifier: quote_ident,
    string: sql_literal,
    comparison: KeyComparison::RowValues,
};

fn json_key(columns: &[String]) -> String {
    format!(
        "json_build_array({})::text",
        QUOTING.columns(columns).join(", ")
    )
}

/// The batch's change, returning one row per changed row for the progress update to count.
fn change_sql(statement: &BackfillStatement, range: &str) -> String {
    format!(
        "WITH changed AS ({} RETURNING 1)",
        statement.restricted_to(range)
    )
}

impl PgDriver {
    fn query_rows(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, DriverError> {
        self.block_on(self.client().query(sql, params))
            .map_err(|e| driver_error(&e))
    }

    /// Runs a simple-protocol script and returns the text rows it produced.
    fn simple_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let messages = self
            .block_on(self.client().simple_query(sql))
            .map_err(|e| driver_error(&e))?;
        Ok(messages
            .into_iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(String::from))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    fn rollback(&self) {
        let _ = self.block_on(self.client().batch_execute("ROLLBACK"));
    }

    /// The batch once the transaction is open and the progress row locked.
    fn batch_in_transaction(&self, batch: &Batch) -> Result<u64, DriverError> {
        let name = sql_literal(batch.name);
        let stored = self.simple_rows(&format!(
            "SELECT last_key, state FROM strata_backfills WHERE name = {name} FOR UPDATE"
        ))?;
        batch.check_progress(
            stored
                .first()
                .map(|row| (row[0].as_deref(), row[1].as_deref().unwrap_or_default())),
        )?;
        let range = QUOTING.key_range(batch.key_columns, batch.after, batch.upto);
        let state = batch.state_after().as_str();
        let rows = self.simple_rows(&format!(
            "{} UPDATE strata_backfills SET last_key = {}, rows_scanned = rows_scanned + {}, \
             rows_changed = rows_changed + (SELECT count(*) FROM changed), batch_size = {}, state = '{state}', \
             error = NULL, owner = {}, updated_at = now() WHERE name = {name} \
             RETURNING (SELECT count(*) FROM changed);\nCOMMIT",
            change_sql(batch.statement, &range),
            sql_literal(&batch.upto.encode()),
            stored_count(batch.rows),
            stored_count(batch.batch_size),
            sql_literal(&owner_here()),
        ))?;
        Ok(rows
            .first()
            .and_then(|row| row[0].as_deref())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

impl BackfillDriver for PgDriver {
    fn describe_table(&mut self, table: &TableName) -> Result<Option<TableShape>, DriverError> {
        let name = QUOTING.table(table);
        let found = self.query_rows(
            "SELECT c.reltuples::bigint, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&name],
        )?;
        let Some(sizes) = found.first() else {
            return Ok(None);
        };
        let (reltuples, bytes): (i64, i64) = (sizes.get(0), sizes.get(1));
        let estimated_rows = if reltuples >= 0 {
            Some(count_from_stored(reltuples))
        } else if bytes < EXACT_COUNT_BELOW_BYTES {
            let rows = self.query_rows(&format!("SELECT count(*) FROM {name}"), &[])?;
            Some(count_from_stored(rows[0].get(0)))
        } else {
            None
        };
        let columns = self
            .query_rows(
                "SELECT a.attname::text, NOT a.attnotnull FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&name],
            )?
            .iter()
            .map(|row| ColumnShape {
                name: row.get(0),
                nullable: row.get(1),
            })
            .collect();
        let primary_key = self
            .query_rows(
                "SELECT a.attname::text FROM pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord",
                &[&name],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        Ok(Some(TableShape {
            primary_key,
            columns,
            estimated_rows,
        }))
    }

    fn check_statement(
        &mut self,
        statement: &BackfillStatement,
        key_columns: &[String],
    ) -> Result<(), DriverError> {
        let range = QUOTING.empty_key_range(key_columns);
        let sql = format!(
            "{} SELECT count(*) FROM changed",
            change_sql(statement, &range)
        );
        self.block_on(self.client().prepare(&sql))
            .map(drop)
            .map_err(|e| driver_error(&e))
    }

    fn largest_key(
        &mut self,
        table: &TableName,
        key_columns: &[String],
    ) -> Result<Option<Key>, DriverError> {
        let query = QUOTING.largest_key_query(table, key_columns, &json_key(key_columns));
        let rows = self.query_rows(&query, &[])?;
        rows.first().map(|row| Key::decode(row.get(0))).transpose()
    }

    fn batch_end(
        &mut self,
        table: &TableName,
        key_columns: &[String],
        after: Option<&Key>,
        end: &Key,
        size: u64,
    ) -> Result<Option<BatchEnd>, DriverError> {
        let query =
            QUOTING.batch_end_query(table, key_columns, &json_key(key_columns), after, end, size);
        let rows = self.query_rows(&query, &[])?;
        rows.first()
            .map(|row| {
                Ok(BatchEnd {
                    key: Key::decode(row.get(0))?,
                    rows: count_from_stored(row.get(1)),
                })
            })
            .transpose()
    }

    fn run_batch(&mut self, batch: &Batch) -> Result<u64, DriverError> {
        let mut begin = String::from("BEGIN;\n");
        for setting in self.statement_settings(&Statement::plain("", 0, 1), true) {
            begin.push_str(&setting);
            begin.push_str(";\n");
        }
        self.block_on(self.client().batch_execute(&begin))
            .map_err(|e| driver_error(&e))?;
        let outcome = self.batch_in_transaction(batch).map_err(batch_error);
        if outcome.is_err() {
            self.rollback();
        }
        outcome
    }

    fn ensure_progress_table(&mut self) -> Result<(), DriverError> {
        self.block_on(self.client().batch_execute(CREATE_PROGRESS))
            .map_err(|e| driver_error(&e))
    }

    fn read_progress(&mut self, name: &str) -> Result<Option<BackfillRecord>, DriverError> {
        let rows = self.query_rows(&format!("{SELECT_PROGRESS} WHERE b.name = $1"), &[&name])?;
        rows.first().map(record).transpose()
    }

    fn list_progress(&mut self) -> Result<Vec<BackfillRecord>, DriverError> {
        // Typed statements without parameters: one round trip each, no separate prepare.
        let client = self.client();
        let exists = self
            .block_on(client.query_typed("SELECT to_regclass('strata_backfills') IS NOT NULL", &[]))
            .map_err(|e| driver_error(&e))?;
        if !exists.first().is_some_and(|row| row.get::<_, bool>(0)) {
            return Ok(Vec::new());
        }
        let sql = format!("{SELECT_PROGRESS} ORDER BY b.started_at, b.name");
        self.block_on(client.query_typed(&sql, &[]))
            .map_err(|e| driver_error(&e))?
            .iter()
            .map(record)
            .collect()
    }

    fn start_progress(&mut self, record: &BackfillRecord) -> Result<(), DriverError> {
        let estimated = record.estimated_rows.map(stored_count);
        self.block_on(self.client().execute(
            "INSERT INTO strata_backfills (name, table_name, statement_checksum, key_columns, end_key, last_key, \
             rows_scanned, rows_changed, estimated_rows, batch_size, state, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (name) DO UPDATE SET table_name = excluded.table_name, \
             statement_checksum = excluded.statement_checksum, key_columns = excluded.key_columns, \
             end_key = excluded.end_key, last_key = excluded.last_key, rows_scanned = excluded.rows_scanned, \
             rows_changed = excluded.rows_changed, estimated_rows = excluded.estimated_rows, \
             batch_size = excluded.batch_size, state = excluded.state, error = NULL, owner = excluded.owner, \
             started_at = now(), updated_at = now()",
            &[
                &record.name,
                &record.table,
                &record.statement_checksum,
                &encode_columns(&record.key_columns),
                &record.end_key.as_ref().map(Key::encode),
                &record.last_key.as_ref().map(Key::encode),
                &stored_count(record.rows_scanned),
                &stored_count(record.rows_changed),
                &estimated,
                &stored_count(record.batch_size),
                &record.state.as_str(),
                &owner_here(),
            ],
        ))
        .map(drop)
        .map_err(|e| driver_error(&e))
    }

    fn set_state(
        &mut self,
        name: &str,
        state: BackfillState,
        error: Option<&str>,
    ) -> Result<(), DriverError> {
        self.block_on(self.client().execute(
            "UPDATE strata_backfills SET state = $2, error = $3, owner = $4, updated_at = now() WHERE name = $1",
            &[&name, &state.as_str(), &error, &owner_here()],
        ))
        .map(drop)
        .map_err(|e| driver_error(&e))
    }

    fn claim(&mut self, name: &str) -> Result<bool, DriverError> {
        let claimed = self.query_rows(
            "SELECT pg_try_advisory_lock($1, hashtext($2))",
            &[&LOCK_CLASS, &name],
        )?[0]
            .get(0);
        if claimed {
            self.simple_rows(SESSION_FLUSH_AFTER)?;
        }
        Ok(claimed)
    }

    fn release(&mut self, name: &str) -> Result<(), DriverError> {
        self.simple_rows(RESET_FLUSH_AFTER)?;
        self.query_rows(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&LOCK_CLASS, &name],
        )
        .map(drop)
    }

    /// From `pg_stat_replication` on the primary: the largest of each standby's write, flush and
    /// replay lag. Without standbys (or without the `pg_monitor` role to see their lag) there is
    /// nothing to wait for.
    fn replica_lag(&mut self) -> Result<ReplicaLag, DriverError> {
        let rows = self.query_rows(
            "SELECT extract(epoch FROM max(greatest(write_lag, flush_lag, replay_lag)))::float8 \
             FROM pg_stat_replication",
            &[],
        )?;
        Ok(match rows[0].get::<_, Option<f64>>(0) {
            Some(seconds) => ReplicaLag::Measured {
                lag: Duration::from_secs_f64(seconds.max(0.0)),
                replica: None,
            },
            None => ReplicaLag::NoReplicas,
        })
    }
}

fn record(row: &Row) -> Result<BackfillRecord, DriverError> {
    ProgressRow {
        name: row.get(0),
        table: row.get(1),
        statement_checksum: row.get(2),
        key_columns: row.get(3),
        end_key: row.get(4),
        last_key: row.get(5),
        rows_scanned: row.get(6),
        rows_changed: row.get(7),
        estimated_rows: row.get(8),
        batch_size: row.get(9),
        state: row.get(10),
        error: row.get(11),
        started_at: row.get(12),
        updated_at: row.get(13),
    }
    .into_record(row.get(14))
}

#[cfg(test)]
mod tests {
    use strata_core::backfill::KeyValue;

    use super::*;

    #[test]
    fn lock_class_matches_the_status_query() {
        assert!(SELECT_PROGRESS.contains(&format!("l.classid::bigint = {LOCK_CLASS}")));
    }

    #[test]
    fn keys_become_literals_that_take_the_column_type() {
        let key = Key(vec![KeyValue::Integer(7), KeyValue::Text("it's".into())]);
        assert_eq!(QUOTING.key(&key), ["7", "E'it''s'"]);
        assert_eq!(
            json_key(&["a".into(), "B".into()]),
            "json_build_array(\"a\", \"B\")::text"
        );
    }
}
