//! Seeing who a waiting statement waits for, on servers without `performance_schema` (MariaDB
//! ships with it off and without the `metadata_lock_info` plugin): a second session reads the
//! process list (a metadata-lock wait shows as "Waiting for table metadata lock") and
//! `INNODB_TRX`/`INNODB_LOCK_WAITS` (open transactions, row-lock waits).
//!
//! MySQL reports both kinds of timeout as error 1205; what the process list showed while the
//! statement waited tells them apart.

use std::future::Future;
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use strata_core::{Blocker, WaitReport};

use crate::target::MySqlTarget;

const WATCH_AFTER: Duration = Duration::from_millis(200);
const WATCH_EVERY: Duration = Duration::from_millis(250);
const REPORT_AFTER: Duration = Duration::from_secs(2);
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// What a statement was seen waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockWait {
    /// A table's metadata lock (DDL against open transactions): `lock_wait_timeout`.
    Metadata,
    /// InnoDB row locks: `innodb_lock_wait_timeout`.
    Row,
}

impl LockWait {
    pub(crate) fn explain(self) -> &'static str {
        match self {
            LockWait::Metadata => {
                "it waited for a table's metadata lock (lock_wait_timeout), held by an open transaction that used the table"
            }
            LockWait::Row => {
                "it waited for row locks held by another transaction (innodb_lock_wait_timeout)"
            }
        }
    }
}

/// What the watcher saw while a statement ran.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub(crate) wait: Option<LockWait>,
    pub(crate) blockers: Vec<Blocker>,
}

/// Runs `work` (a statement on connection `connection_id`); if it is still running after a
/// moment, a second session watches what it waits for, reporting blockers through `waiting`.
pub(crate) async fn watched<T>(
    work: impl Future<Output = T>,
    target: &MySqlTarget,
    connection_id: u32,
    waiting: WaitReport<'_>,
) -> (T, Observed) {
    let started = Instant::now();
    tokio::pin!(work);
    tokio::select! {
        output = &mut work => return (output, Observed::default()),
        () = tokio::time::sleep(WATCH_AFTER) => {}
    }
    let mut observer = target.connect().await.ok();
    let mut observed = Observed::default();
    let mut last_report: Option<Instant> = None;
    loop {
        tokio::select! {
            output = &mut work => {
                if let Some(conn) = observer.take() {
                    let _ = conn.disconnect().await;
                }
                return (output, observed);
            }
            () = tokio::time::sleep(WATCH_EVERY) => {
                let Some(conn) = observer.as_mut() else { continue };
                let Ok(Some((wait, blockers))) = observe(conn, connection_id).await else { continue };
                observed = Observed { wait: Some(wait), blockers };
                let waited = started.elapsed();
                if waited >= REPORT_AFTER && last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
                    waiting(&observed.blockers, waited);
                    last_report = Some(Instant::now());
                }
            }
        }
    }
}

/// What connection `id` waits for right now, and the likely blockers; `None` when not waiting.
async fn observe(
    conn: &mut Conn,
    id: u32,
) -> Result<Option<(LockWait, Vec<Blocker>)>, mysql_async::Error> {
    let state: Option<Option<String>> = conn
        .exec_first(
            "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?",
            (id,),
        )
        .await?;
    let state = state.flatten().unwrap_or_default();
    if state.contains("metadata lock") {
        return Ok(Some((
            LockWait::Metadata,
            open_transactions(conn, id).await?,
        )));
    }
    let row_waits: Vec<BlockerRow> = conn
        .exec(
            format!(
                "SELECT {BLOCKER_COLUMNS} FROM information_schema.INNODB_LOCK_WAITS w \
                 JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id \
                 JOIN information_schema.INNODB_TRX t ON t.trx_id = w.blocking_trx_id \
                 LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                 WHERE r.trx_mysql_thread_id = ?"
            ),
            (id,),
        )
        .await
        .unwrap_or_default();
    if !row_waits.is_empty() {
        return Ok(Some((
            LockWait::Row,
            row_waits.into_iter().map(blocker).collect(),
        )));
    }
    Ok(None)
}

/// Every other open InnoDB transaction, oldest first: on MariaDB there is no view of who holds
/// a metadata lock, but only an open transaction that used the table can.
pub(crate) async fn open_transactions(
    conn: &mut Conn,
    own_id: u32,
) -> Result<Vec<Blocker>, mysql_async::Error> {
    let rows: Vec<BlockerRow> = conn
        .exec(
            format!(
                "SELECT {BLOCKER_COLUMNS} FROM information_schema.INNODB_TRX t \
                 LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                 WHERE t.trx_mysql_thread_id <> ? ORDER BY t.trx_started"
            ),
            (own_id,),
        )
        .await?;
    Ok(rows.into_iter().map(blocker).collect())
}

const BLOCKER_COLUMNS: &str = "t.trx_mysql_thread_id, p.USER, p.COMMAND, \
    TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)), LEFT(COALESCE(t.trx_query, p.INFO), 200)";

type BlockerRow = (
    u64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn blocker((id, user, command, age_us, query): BlockerRow) -> Blocker {
    Blocker {
        pid: i64::try_from(id).unwrap_or(i64::MAX),
        user,
        application: None,
        state: command.map(|c| {
            if c == "Sleep" {
                "idle in transaction".to_owned()
            } else {
                c.to_lowercase()
            }
        }),
        transaction_age: age_us
            .and_then(|us| u64::try_from(us).ok())
            .map(Duration::from_micros),
        query,
    }
}
