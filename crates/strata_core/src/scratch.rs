//! Names for throw-away databases (`verify`, `drift`, `trace`), unique per process and call, and
//! recognisable (`strata_verify_<unix time>_<pid>_<n>`) so a person can tell what left one behind.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prefix of every scratch database's name.
pub const SCRATCH_PREFIX: &str = "strata_verify_";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new scratch database name.
pub fn scratch_database_name() -> String {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{SCRATCH_PREFIX}{created}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixed() {
        let (a, b) = (scratch_database_name(), scratch_database_name());
        assert!(a.starts_with(SCRATCH_PREFIX) && b.starts_with(SCRATCH_PREFIX));
        assert_ne!(a, b);
        assert!(
            a.len() <= 63,
            "fits PostgreSQL's and MySQL's identifier limits: {a}"
        );
    }
}
