//! Seeing who strata waits for: the sessions that block a running statement (watched from a
//! second session while it runs), and the old transactions that hold locks a statement is about
//! to need (checked before it joins the lock queue).

use std::future::Future;
use std::time::{Duration, Instant};

use strata_core::{Blocker, DriverError, TableLock, WaitReport};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

use crate::connect::{PgTarget, connect};
use crate::errors::{driver_error, quote_ident};

/// A statement that has not finished by then gets a watcher.
const WATCH_AFTER: Duration = Duration::from_millis(200);
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Waits shorter than this are not reported (a lock timeout retry reports them itself).
const REPORT_AFTER: Duration = Duration::from_secs(2);
const REPORT_EVERY: Duration = Duration::from_secs(5);

const BLOCKER_COLUMNS: &str = "a.pid, a.usename::text, a.application_name, a.state, \
    extract(epoch FROM now() - a.xact_start)::float8, left(a.query, 200)";

/// Runs `work` (a statement on the session whose backend is `pid`). If it is still running
/// after a moment, a second session watches `pg_blocking_pids` and reports the blockers through
/// `waiting`; the last ones seen are returned with the result, so that a lock timeout can name
/// them.
pub(crate) async fn watched<T>(
    work: impl Future<Output = T>,
    target: &PgTarget,
    pid: i32,
    waiting: WaitReport<'_>,
) -> (T, Vec<Blocker>) {
    let started = Instant::now();
    tokio::pin!(work);
    tokio::select! {
        output = &mut work => return (output, Vec::new()),
        () = tokio::time::sleep(WATCH_AFTER) => {}
    }
    let observer = connect(target).await.ok();
    let mut last_seen = Vec::new();
    let mut last_report: Option<Instant> = None;
    loop {
        tokio::select! {
            output = &mut work => return (output, last_seen),
            () = tokio::time::sleep(WATCH_EVERY) => {
                let Some((client, _)) = &observer else { continue };
                let Ok(blockers) = blockers_of(client, pid).await else { continue };
                if blockers.is_empty() {
                    continue;
                }
                last_seen = blockers;
                let waited = started.elapsed();
                if waited >= REPORT_AFTER && last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
                    waiting(&last_seen, waited);
                    last_report = Some(Instant::now());
                }
            }
        }
    }
}

/// The sessions holding the locks that backend `pid` waits for.
async fn blockers_of(client: &Client, pid: i32) -> Result<Vec<Blocker>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!("SELECT {BLOCKER_COLUMNS} FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) ORDER BY a.xact_start"),
            &[&pid],
        )
        .await?;
    Ok(rows.iter().map(blocker).collect())
}

/// Sessions other than this one, in a transaction older than `min_age`, holding a granted lock
/// that conflicts with one of `locks`. One round trip whatever the number of locks (the
/// statement is typed, so it needs no separate prepare), oldest transaction first.
pub(crate) async fn conflicting_holders(
    client: &Client,
    locks: &[TableLock],
    min_age: Duration,
) -> Result<Vec<Blocker>, DriverError> {
    let relations: Vec<String> = locks
        .iter()
        .map(|lock| match &lock.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&lock.table)),
            None => quote_ident(&lock.table),
        })
        .collect();
    let modes: Vec<String> = locks
        .iter()
        .map(|lock| lock.mode.conflicting_pg_names().join(","))
        .collect();
    let rows = client
        .query_typed(
            &format!(
                "SELECT {BLOCKER_COLUMNS} FROM pg_stat_activity a \
                 WHERE a.pid <> pg_backend_pid() AND a.xact_start < now() - make_interval(secs => $3) \
                   AND EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS wanted(relation, modes) \
                     JOIN pg_locks l ON l.locktype = 'relation' AND l.granted \
                       AND l.relation = to_regclass(wanted.relation) \
                       AND l.mode = ANY (string_to_array(wanted.modes, ',')) \
                     WHERE l.pid = a.pid) \
                 ORDER BY a.xact_start"
            ),
            &[
                (&relations, Type::TEXT_ARRAY),
                (&modes, Type::TEXT_ARRAY),
                (&min_age.as_secs_f64(), Type::FLOAT8),
            ],
        )
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(rows.iter().map(blocker).collect())
}

fn blocker(row: &Row) -> Blocker {
    Blocker {
        pid: i64::from(row.get::<_, i32>(0)),
        user: row.get(1),
        application: row.get(2),
        state: row.get(3),
        transaction_age: row
            .get::<_, Option<f64>>(4)
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(Duration::from_secs_f64),
        query: row.get(5),
    }
}
