//! The migration lock: a session-level advisory lock, taken by polling
//! `pg_try_advisory_lock` with backoff.
//!
//! A blocking `pg_advisory_lock` would hold a snapshot while it waits, and a
//! `CREATE INDEX CONCURRENTLY` run by the lock's holder waits for every snapshot older than its
//! own: two deployers starting together would deadlock. Polling holds no snapshot between tries.
//! Being session-level, the lock also covers statements that run outside a transaction, and
//! PostgreSQL releases it when the session ends, even if strata is killed.

use strata_core::{DriverError, LockHolder};
use tokio_postgres::Client;

use crate::errors::driver_error;

/// The advisory lock key: "strata" in ASCII. Advisory locks are per database, so one key
/// serialises strata runs on each database.
pub(crate) const LOCK_KEY: i64 = 0x7374_7261_7461;

/// Who holds the lock: the session, its application, user and client, and when it began.
const HOLDER: &str = "SELECT a.pid, a.application_name, a.usename::text, host(a.client_addr), \
    to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
      AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295) \
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
    LIMIT 1";

/// One try, never waiting: `pg_try_advisory_lock` holds no snapshot.
pub(crate) async fn try_acquire(client: &Client) -> Result<bool, DriverError> {
    client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map(|row| row.get(0))
        .map_err(|e| driver_error(&e))
}

pub(crate) async fn release(client: &Client) -> Result<(), DriverError> {
    client
        .query_one("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .map(drop)
        .map_err(|e| driver_error(&e))
}

pub(crate) async fn current_holder(client: &Client) -> Result<Option<LockHolder>, DriverError> {
    let row = client
        .query_opt(HOLDER, &[&LOCK_KEY])
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(row.map(|row| LockHolder {
        pid: Some(i64::from(row.get::<_, i32>(0))),
        application: row.get(1),
        user: row.get(2),
        client: row.get(3),
        since: row.get(4),
    }))
}
