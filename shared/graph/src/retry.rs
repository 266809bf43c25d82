//! Deadlines, `Retry-After` and backoff (graph.md §5.5, §6.3).

use rand::Rng;
use std::time::{Duration, Instant};

/// The wait assumed for a 429 that carries no `Retry-After`, when it must be reported instead
/// of waited out.
pub(crate) const THROTTLED_FALLBACK: Duration = Duration::from_secs(1);

/// The instant by which the caller needs an answer (e.g. its Lambda timeout, minus a margin).
/// Retries stop before it; a wait that would pass it is returned as
/// [`GraphError::Throttled`](crate::GraphError::Throttled) so a queue consumer can re-queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Deadline(instant)
    }

    pub fn after(budget: Duration) -> Self {
        Deadline(Instant::now() + budget)
    }

    /// From a wall-clock deadline, such as the one a Lambda invocation carries.
    pub fn at_system_time(at: std::time::SystemTime) -> Self {
        Deadline::after(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
    }

    pub fn instant(&self) -> Instant {
        self.0
    }

    /// Time left; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether there is still time left after waiting `wait`.
    pub(crate) fn allows(&self, wait: Duration) -> bool {
        wait < self.remaining()
    }
}

/// How hard to retry. The defaults suit a Lambda function with a deadline of a few minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included, whatever the deadline says.
    pub max_attempts: u32,
    /// First backoff when Graph gives no `Retry-After`; doubles with each attempt.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest a single HTTP exchange may take (the deadline may cut it shorter).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` when Graph said nothing: exponential, with half of
    /// it random so that many throttled callers do not come back in step.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

/// Parses a `Retry-After` value: seconds, possibly fractional (Graph sends `2.128`), or an
/// HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_fractional_seconds() {
        assert_eq!(parse_retry_after("2.128"), Some(Duration::from_millis(2128)));
        assert_eq!(parse_retry_after(" 0.249 "), Some(Duration::from_millis(249)));
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retry_after_can_be_a_date() {
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = p.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            assert!(p.backoff(30) <= Duration::from_secs(1));
        }
    }
}
