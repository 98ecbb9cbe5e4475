//! The batch loop.
//!
//! Exactly once rests on three rules. The key range is fixed when the backfill starts (up to the
//! largest key then), so it ends. Each batch covers the keys after the last committed one up to
//! its own last key, and commits its progress row in the same transaction as its change, so a
//! crash loses or keeps both. And a batch runs only if the progress row still ends where this run
//! thinks it does, so two runs of the same backfill never both apply a range.

use std::time::Instant;

use strata_core::backfill::{BackfillDriver, Batch, ReplicaLag, TableShape};
use strata_core::{
    BackfillError, BackfillEvent, BackfillJob, BackfillRecord, BackfillReport, BackfillRunner,
    BackfillState, Driver, DriverError, Event, LockPolicy,
};

use crate::config::BackfillConfig;
use crate::throttle::{lag_exceeded, lag_poll_interval};

/// The engine; stateless, so one value serves every run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine;

impl BackfillRunner for Engine {
    fn run(
        &self,
        driver: &mut dyn Driver,
        job: &BackfillJob,
        policy: &LockPolicy,
        events: &mut dyn FnMut(&Event),
    ) -> Result<BackfillReport, BackfillError> {
        let started = Instant::now();
        let database = driver.target().to_owned();
        driver.set_lock_policy(policy);
        let store = driver
            .backfill_driver()
            .ok_or(BackfillError::Unsupported { database })?;
        let table = &job.statement.table;
        let shape = store
            .describe_table(table)
            .map_err(context("reading the table's definition"))?
            .ok_or_else(|| BackfillError::NoSuchTable {
                table: table.to_string(),
            })?;
        let key = choose_key(&shape, job.options.key.as_deref(), &table.to_string())?;
        store
            .check_statement(&job.statement, &key)
            .map_err(|error| BackfillError::InvalidStatement { error })?;
        store
            .ensure_progress_table()
            .map_err(context("creating strata_backfills"))?;
        if !store
            .claim(&job.name)
            .map_err(context("claiming the backfill"))?
        {
            return Err(BackfillError::AlreadyRunning {
                name: job.name.clone(),
            });
        }
        let mut run = Run {
            store,
            job,
            config: BackfillConfig::from_options(&job.options),
            policy,
            events,
            lag_unwatched_said: false,
        };
        let result = run
            .resume_or_start(key, &shape)
            .and_then(|record| run.batches(record));
        let released = run.store.release(&job.name);
        let (record, batches) = result?;
        released.map_err(context("releasing the backfill"))?;
        let elapsed = started.elapsed();
        (run.events)(&Event::Backfill(BackfillEvent::Finished {
            record: &record,
            elapsed,
        }));
        Ok(BackfillReport {
            record,
            batches,
            elapsed,
        })
    }
}

/// The key to batch over: the columns named with `key=`, else the primary key. Every key column
/// must exist and be NOT NULL (keyset pagination never reaches NULL keys).
fn choose_key(
    shape: &TableShape,
    named: Option<&[String]>,
    table: &str,
) -> Result<Vec<String>, BackfillError> {
    let key: Vec<String> = match named {
        Some(columns) => columns.to_vec(),
        None if shape.primary_key.is_empty() => {
            return Err(BackfillError::NoKey {
                table: table.to_owned(),
            });
        }
        None => shape.primary_key.clone(),
    };
    for column in &key {
        let found = shape
            .columns
            .iter()
            .find(|c| c.name == *column)
            .ok_or_else(|| BackfillError::NoSuchKeyColumn {
                table: table.to_owned(),
                column: column.clone(),
            })?;
        if found.nullable {
            return Err(BackfillError::NullableKey {
                table: table.to_owned(),
                column: column.clone(),
            });
        }
    }
    Ok(key)
}

fn context(what: &'static str) -> impl Fn(DriverError) -> BackfillError {
    move |error| BackfillError::Driver {
        context: what,
        error,
    }
}

struct Run<'a, 'e> {
    store: &'a mut dyn BackfillDriver,
    job: &'a BackfillJob,
    config: BackfillConfig,
    policy: &'a LockPolicy,
    events: &'e mut dyn FnMut(&Event),
    /// Whether this run already said that it cannot see the replicas' lag.
    lag_unwatched_said: bool,
}

impl Run<'_, '_> {
    /// The progress row: an earlier run's (after checking it ran the same statement), or a new one
    /// whose key range ends at the largest key now.
    fn resume_or_start(
        &mut self,
        key: Vec<String>,
        shape: &TableShape,
    ) -> Result<BackfillRecord, BackfillError> {
        let name = &self.job.name;
        let existing = self
            .store
            .read_progress(name)
            .map_err(context("reading the backfill's progress"))?;
        if let Some(mut record) = existing {
            if record.statement_checksum != self.job.statement_checksum {
                return Err(BackfillError::StatementChanged { name: name.clone() });
            }
            if record.state != BackfillState::Done {
                if record.state != BackfillState::Running {
                    self.store
                        .set_state(name, BackfillState::Running, None)
                        .map_err(context("resuming the backfill"))?;
                }
                record.state = BackfillState::Running;
                (self.events)(&Event::Backfill(BackfillEvent::Started {
                    record: &record,
                    resumed: true,
                }));
            }
            return Ok(record);
        }
        let table = &self.job.statement.table;
        let end_key = self
            .store
            .largest_key(table, &key)
            .map_err(context("reading the largest key"))?;
        let record = BackfillRecord {
            name: name.clone(),
            table: table.to_string(),
            statement_checksum: self.job.statement_checksum.clone(),
            key_columns: key,
            end_key,
            last_key: None,
            rows_scanned: 0,
            rows_changed: 0,
            estimated_rows: shape.estimated_rows,
            batch_size: self.config.batch_size,
            state: BackfillState::Running,
            error: None,
            started_at: String::new(),
            updated_at: String::new(),
        };
        self.store
            .start_progress(&record)
            .map_err(context("recording the backfill's start"))?;
        (self.events)(&Event::Backfill(BackfillEvent::Started {
            record: &record,
            resumed: false,
        }));
        Ok(record)
    }

    /// Runs batches until the key range is done; returns the final progress and the number of
    /// batches this run committed.
    fn batches(
        &mut self,
        mut record: BackfillRecord,
    ) -> Result<(BackfillRecord, u64), BackfillError> {
        let mut batches = 0;
        if record.state == BackfillState::Done {
            return Ok((record, batches));
        }
        let table = self.job.statement.table.clone();
        let mut size = record.batch_size.max(1);
        loop {
            self.wait_for_replicas()?;
            // An empty table has no range: one empty batch records completion.
            let end = record.end_key.clone();
            let next = match &end {
                Some(end) => self
                    .store
                    .batch_end(
                        &table,
                        &record.key_columns,
                        record.last_key.as_ref(),
                        end,
                        size,
                    )
                    .map_err(context("finding the next batch"))?,
                None => None,
            };
            let (upto, rows, last) = match (next, &end) {
                (Some(found), Some(end)) if found.rows >= size && found.key != *end => {
                    (Some(found.key), found.rows, false)
                }
                (found, end) => (end.clone(), found.map_or(0, |f| f.rows), true),
            };
            let took = Instant::now();
            let changed = match &upto {
                Some(upto) => self.run_batch(&Batch {
                    name: &record.name,
                    statement: &self.job.statement,
                    key_columns: &record.key_columns,
                    after: record.last_key.as_ref(),
                    upto,
                    rows,
                    batch_size: size,
                    last,
                }),
                None => self
                    .store
                    .set_state(&record.name, BackfillState::Done, None)
                    .map(|()| 0),
            };
            let changed = match changed {
                Ok(changed) => changed,
                Err(error) => return Err(self.failed(&record, error)),
            };
            let took = took.elapsed();
            batches += 1;
            record.last_key = upto.or(record.last_key);
            record.rows_scanned += rows;
            record.rows_changed += changed;
            record.batch_size = size;
            if last {
                record.state = BackfillState::Done;
            }
            (self.events)(&Event::Backfill(BackfillEvent::Progress {
                record: &record,
                batch_rows_changed: changed,
                batch_time: took,
            }));
            if last {
                return Ok((record, batches));
            }
            size = self.config.next_batch_size(size, took);
            if !self.config.sleep.is_zero() {
                std::thread::sleep(self.config.sleep);
            }
        }
    }

    /// One batch, retried with the run's lock policy when its lock is not available in time.
    fn run_batch(&mut self, batch: &Batch) -> Result<u64, DriverError> {
        let deadline = Instant::now() + self.policy.retry_budget;
        let mut attempt = 1;
        loop {
            match self.store.run_batch(batch) {
                Err(error) if error.lock_not_available => {
                    let Some(pause) = self.policy.retry_pause(attempt, deadline) else {
                        return Err(error);
                    };
                    (self.events)(&Event::Backfill(BackfillEvent::LockRetry {
                        name: batch.name,
                        attempt,
                        pause,
                        blockers: &error.blockers,
                    }));
                    std::thread::sleep(pause);
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Records the failure (best effort: the connection may be what failed) and says how far the
    /// backfill got.
    fn failed(&mut self, record: &BackfillRecord, error: DriverError) -> BackfillError {
        let _ = self.store.set_state(
            &record.name,
            BackfillState::Failed,
            Some(&error.to_string()),
        );
        BackfillError::BatchFailed {
            name: record.name.clone(),
            rows_changed: record.rows_changed,
            last_key: record.last_key.clone(),
            error,
        }
    }

    fn wait_for_replicas(&mut self) -> Result<(), BackfillError> {
        let Some(max_lag) = self.config.max_lag else {
            return Ok(());
        };
        loop {
            let lag = self
                .store
                .replica_lag()
                .map_err(context("reading replication lag"))?;
            if let ReplicaLag::Unwatchable { why } = &lag
                && !self.lag_unwatched_said
            {
                self.lag_unwatched_said = true;
                (self.events)(&Event::Backfill(BackfillEvent::LagUnwatched {
                    name: &self.job.name,
                    why,
                }));
            }
            if !lag_exceeded(&lag, Some(max_lag)) {
                return Ok(());
            }
            (self.events)(&Event::Backfill(BackfillEvent::LagPause {
                name: &self.job.name,
                lag: &lag,
                max_lag,
            }));
            std::thread::sleep(lag_poll_interval(max_lag));
        }
    }
}

#[cfg(test)]
mod tests {
    use strata_core::backfill::ColumnShape;

    use super::*;

    fn shape(primary_key: &[&str], columns: &[(&str, bool)]) -> TableShape {
        TableShape {
            primary_key: primary_key.iter().map(|c| (*c).to_owned()).collect(),
            columns: columns
                .iter()
                .map(|(name, nullable)| ColumnShape {
                    name: (*name).to_owned(),
                    nullable: *nullable,
                })
                .collect(),
            estimated_rows: None,
        }
    }

    #[test]
    fn the_primary_key_unless_one_is_named() {
        let table = shape(
            &["a", "b"],
            &[("a", false), ("b", false), ("c", false), ("d", true)],
        );
        assert_eq!(choose_key(&table, None, "t").unwrap(), ["a", "b"]);
        assert_eq!(
            choose_key(&table, Some(&["c".to_owned()]), "t").unwrap(),
            ["c"]
        );
        assert!(matches!(
            choose_key(&table, Some(&["d".to_owned()]), "t"),
            Err(BackfillError::NullableKey { .. })
        ));
        assert!(matches!(
            choose_key(&table, Some(&["x".to_owned()]), "t"),
            Err(BackfillError::NoSuchKeyColumn { .. })
        ));
        assert!(matches!(
            choose_key(&shape(&[], &[("a", false)]), None, "t"),
            Err(BackfillError::NoKey { .. })
        ));
    }
}
