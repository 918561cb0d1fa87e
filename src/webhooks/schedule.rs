//! The retry schedule (the delay before each attempt, with jitter) and the delivery settings
//! the wallet builds from configuration when it starts.

use std::time::Duration;

use rand::Rng;

/// Delays before each attempt, parsed from `0s,5s,5m,…` (units ms, s, m, h).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(Vec<Duration>);

impl Schedule {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(Self(crate::config::parse_schedule(text)?))
    }

    pub fn attempts(&self) -> usize {
        self.0.len()
    }

    /// The delay before attempt number `done + 1`, after `done` attempts, with up to ±10 %
    /// jitter so that retries of many events spread out. `None` when none are left.
    pub fn delay_after(&self, done: usize) -> Option<Duration> {
        let base = *self.0.get(done)?;
        if base.is_zero() {
            return Some(base);
        }
        let jitter = rand::thread_rng().gen_range(0.9..=1.1);
        Some(base.mul_f64(jitter))
    }
}

/// Delivery settings, from configuration.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub schedule: Schedule,
    pub allow_private_targets: bool,
    pub timeout: Duration,
    pub poll: Duration,
    /// How long the previous secret keeps signing after a rotation.
    pub secret_overlap: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schedule_parses_with_ten_attempts() {
        let schedule = Schedule::parse(crate::config::DEFAULT_WEBHOOK_SCHEDULE).unwrap();
        assert_eq!(schedule.attempts(), 10);
        assert_eq!(schedule.delay_after(0), Some(Duration::ZERO));
        let second = schedule.delay_after(1).unwrap();
        assert!(
            second >= Duration::from_millis(4500) && second <= Duration::from_millis(5500),
            "{second:?}"
        );
        let last = schedule.delay_after(9).unwrap();
        assert!(last >= Duration::from_secs(24 * 3600 * 9 / 10), "{last:?}");
        assert_eq!(schedule.delay_after(10), None);
    }

    #[test]
    fn durations_need_a_known_unit() {
        assert_eq!(
            Schedule::parse("0ms, 200ms,1s,2m,1h").unwrap().0,
            vec![
                Duration::ZERO,
                Duration::from_millis(200),
                Duration::from_secs(1),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ]
        );
        for bad in ["", "5", "5d", "x5s", "5s,,1s"] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
