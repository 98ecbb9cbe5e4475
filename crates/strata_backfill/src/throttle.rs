//! Waiting for replicas: a backfill writes as fast as the primary allows, which can leave
//! replicas minutes behind. With `max_lag`, no batch starts while any replica lags more.

use std::time::Duration;

use strata_core::backfill::ReplicaLag;

/// Whether the next batch must wait: `max_lag` is set and a replica lags more, or has stopped
/// replicating. No replicas, or a lag strata cannot see, never hold a batch back.
pub fn lag_exceeded(lag: &ReplicaLag, max_lag: Option<Duration>) -> bool {
    max_lag.is_some_and(|max_lag| lag.exceeds(max_lag))
}

/// How long to wait before looking at the lag again: often enough to resume promptly, rarely
/// enough not to load the primary with catalog queries.
pub(crate) fn lag_poll_interval(max_lag: Duration) -> Duration {
    (max_lag / 2).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn waits_only_while_a_bound_is_exceeded() {
        let lag = |lag: Duration| ReplicaLag::Measured { lag, replica: None };
        assert!(lag_exceeded(&lag(3 * SECOND), Some(SECOND)));
        assert!(
            !lag_exceeded(&lag(SECOND), Some(SECOND)),
            "at the bound is fine"
        );
        assert!(!lag_exceeded(&lag(SECOND / 2), Some(SECOND)));
        assert!(
            !lag_exceeded(&ReplicaLag::NoReplicas, Some(SECOND)),
            "no replicas"
        );
        assert!(!lag_exceeded(&lag(60 * SECOND), None), "no bound");
        let stopped = ReplicaLag::Stopped {
            replica: "mysql://replica:3306/".into(),
            why: "its SQL thread is stopped".into(),
        };
        assert!(
            lag_exceeded(&stopped, Some(3600 * SECOND)),
            "stopped counts as lagging"
        );
        assert!(!lag_exceeded(&stopped, None));
        let unwatchable = ReplicaLag::Unwatchable {
            why: "no replicas configured".into(),
        };
        assert!(!lag_exceeded(&unwatchable, Some(SECOND)));
    }

    #[test]
    fn polls_between_a_tenth_and_one_second() {
        assert_eq!(lag_poll_interval(10 * SECOND), SECOND);
        assert_eq!(lag_poll_interval(SECOND), SECOND / 2);
        assert_eq!(
            lag_poll_interval(Duration::from_millis(10)),
            Duration::from_millis(100)
        );
    }
}
