//! The knobs of a backfill and the adaptive batch size.

use std::time::Duration;

use strata_core::BackfillOptions;

/// How a backfill paces itself. Built from the directive's or the command line's options with
/// [`BackfillConfig::from_options`], or step by step from [`BackfillConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillConfig {
    /// Keys per batch: the first batch's size, and every batch's without `target`.
    pub batch_size: u64,
    /// Pause between batches, leaving room for the application's own writes (and autovacuum).
    pub sleep: Duration,
    /// When set, each batch is sized so that it takes about this long.
    pub target: Option<Duration>,
    /// When set, no batch starts while a replica lags more than this.
    pub max_lag: Option<Duration>,
}

/// A thousand keys per batch keeps each transaction to milliseconds on ordinary rows.
const DEFAULT_BATCH_SIZE: u64 = 1000;
/// Adaptive sizing never goes below this (per-batch overhead would dominate) ...
const MIN_BATCH_SIZE: u64 = 10;
/// ... nor above this (one batch's row locks and WAL stay bounded whatever the timing says).
const MAX_BATCH_SIZE: u64 = 100_000;

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            batch_size: DEFAULT_BATCH_SIZE,
            sleep: Duration::ZERO,
            target: None,
            max_lag: None,
        }
    }
}

impl BackfillConfig {
    pub fn from_options(options: &BackfillOptions) -> BackfillConfig {
        let defaults = BackfillConfig::default();
        BackfillConfig {
            batch_size: options.batch.unwrap_or(defaults.batch_size),
            sleep: options.sleep.unwrap_or(defaults.sleep),
            target: options.target,
            max_lag: options.max_lag,
        }
    }

    pub fn with_batch_size(mut self, batch_size: u64) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn with_sleep(mut self, sleep: Duration) -> Self {
        self.sleep = sleep;
        self
    }

    pub fn with_target(mut self, target: Duration) -> Self {
        self.target = Some(target);
        self
    }

    pub fn with_max_lag(mut self, max_lag: Duration) -> Self {
        self.max_lag = Some(max_lag);
        self
    }

    /// The size of the batch after one of `size` keys that took `took`: unchanged without a
    /// target; otherwise scaled towards the target, by at most a factor of two either way so
    /// that one slow batch (a checkpoint, a lock wait) does not collapse the size.
    pub fn next_batch_size(&self, size: u64, took: Duration) -> u64 {
        let Some(target) = self.target else {
            return size;
        };
        let ratio = if took.is_zero() {
            2.0
        } else {
            (target.as_secs_f64() / took.as_secs_f64()).clamp(0.5, 2.0)
        };
        let scaled = (size as f64 * ratio).round();
        // `scaled` is positive and bounded by twice a u64 batch size, clamped below.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let scaled = scaled.min(MAX_BATCH_SIZE as f64) as u64;
        scaled.clamp(MIN_BATCH_SIZE, MAX_BATCH_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_override_defaults() {
        let options = BackfillOptions {
            batch: Some(500),
            sleep: Some(Duration::from_millis(50)),
            ..BackfillOptions::default()
        };
        let config = BackfillConfig::from_options(&options);
        assert_eq!(config.batch_size, 500);
        assert_eq!(config.sleep, Duration::from_millis(50));
        assert_eq!(config.target, None);
        assert_eq!(
            BackfillConfig::default().with_batch_size(0).batch_size,
            1,
            "a zero batch would never finish"
        );
    }

    #[test]
    fn fixed_size_without_a_target() {
        let config = BackfillConfig::default();
        assert_eq!(config.next_batch_size(1000, Duration::from_secs(9)), 1000);
    }

    #[test]
    fn adapts_towards_the_target_within_a_factor_of_two() {
        let config = BackfillConfig::default().with_target(Duration::from_millis(100));
        assert_eq!(
            config.next_batch_size(1000, Duration::from_millis(50)),
            2000
        );
        assert_eq!(
            config.next_batch_size(1000, Duration::from_millis(10)),
            2000
        );
        assert_eq!(
            config.next_batch_size(1000, Duration::from_millis(125)),
            800
        );
        assert_eq!(config.next_batch_size(1000, Duration::from_secs(5)), 500);
        assert_eq!(config.next_batch_size(1000, Duration::ZERO), 2000);
        assert_eq!(
            config.next_batch_size(15, Duration::from_secs(1)),
            MIN_BATCH_SIZE
        );
        assert_eq!(
            config.next_batch_size(90_000, Duration::from_millis(1)),
            MAX_BATCH_SIZE
        );
    }
}
