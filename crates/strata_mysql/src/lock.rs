//! The migration lock: `GET_LOCK`, a named lock held by the session (released when it ends,
//! even if strata is killed). Lock names are server-wide, so the name includes the database.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use strata_core::{DriverError, LockHolder};

use crate::errors::driver_error;

/// `strata_migrations:<database>`; names longer than MySQL's 64 characters use a hash of the
/// database name instead.
pub(crate) fn lock_name(database: &str) -> String {
    bounded_lock_name("strata_migrations", database)
}

/// `<kind>:<scope>`, or `<kind>:<hash of scope>` when that is longer than the 64 characters
/// MySQL allows in a lock name.
pub(crate) fn bounded_lock_name(kind: &str, scope: &str) -> String {
    let name = format!("{kind}:{scope}");
    if name.len() <= 64 {
        return name;
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = scope.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{kind}:{hash:016x}")
}

/// One try, never waiting.
pub(crate) async fn try_acquire(conn: &mut Conn, name: &str) -> Result<bool, DriverError> {
    let got: Option<Option<i64>> = conn
        .exec_first("SELECT GET_LOCK(?, 0)", (name,))
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(got.flatten() == Some(1))
}

pub(crate) async fn release(conn: &mut Conn, name: &str) -> Result<(), DriverError> {
    conn.exec_drop("SELECT RELEASE_LOCK(?)", (name,))
        .await
        .map_err(|e| driver_error(&e))
}

/// id, user, host, since when
type HolderRow = (u64, Option<String>, Option<String>, Option<String>);

/// The session holding the lock, from the process list.
pub(crate) async fn current_holder(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<LockHolder>, DriverError> {
    let row: Option<HolderRow> = conn
        .exec_first(
            "SELECT p.ID, p.USER, p.HOST, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL p.TIME SECOND, '%Y-%m-%dT%H:%i:%sZ') \
             FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)",
            (name,),
        )
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(row.map(|(id, user, host, since)| LockHolder {
        pid: i64::try_from(id).ok(),
        application: None,
        user,
        client: host,
        since,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_fit_mysql_limits_and_differ_per_database() {
        assert_eq!(lock_name("shop"), "strata_migrations:shop");
        let long = lock_name(&"x".repeat(80));
        assert!(long.len() <= 64, "{long}");
        assert_ne!(long, lock_name(&"y".repeat(80)));
        let backfill = bounded_lock_name("strata_backfill", &format!("shop:{}", "z".repeat(60)));
        assert!(
            backfill.starts_with("strata_backfill:") && backfill.len() <= 64,
            "{backfill}"
        );
    }
}
