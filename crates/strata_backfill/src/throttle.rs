//! Waiting for replicas: a backfill writes as fast as the primary allows, which can leave
//! replicas minutes behind. With `max_lag`, no batch starts while any replica lags more.

use std::time::Duration;

/// The lag to wait out before the next batch: `Some(lag)` when replicas lag more than
/// `max_lag`; `None` to go on (no bound set, no replicas, or lag within the bound).
pub fn lag_exceeded(lag: Option<Duration>, max_lag: Option<Duration>) -> Option<Duration> {
    let (lag, max_lag) = (lag?, max_lag?);
    (lag > max_lag).then_some(lag)
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
        assert_eq!(
            lag_exceeded(Some(3 * SECOND), Some(SECOND)),
            Some(3 * SECOND)
        );
        assert_eq!(
            lag_exceeded(Some(SECOND), Some(SECOND)),
            None,
            "at the bound is fine"
        );
        assert_eq!(lag_exceeded(Some(SECOND / 2), Some(SECOND)), None);
        assert_eq!(lag_exceeded(None, Some(SECOND)), None, "no replicas");
        assert_eq!(lag_exceeded(Some(60 * SECOND), None), None, "no bound");
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
