//! Token-bucket rate limits keyed by client address or module path.
//!
//! Time is passed in, so the arithmetic is testable without sleeping. The
//! key maps are bounded: when one grows past `MAX_KEYS`, buckets that have
//! refilled completely (indistinguishable from new ones) are forgotten.

use crate::opsconfig::RateSettings;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `None` when the settings turn the limit off.
    pub fn new(settings: RateSettings) -> Option<RateLimiter<K>> {
        (settings.rate > 0.0).then(|| RateLimiter {
            rate: settings.rate,
            burst: f64::from(settings.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `key` at `now`; `Err` carries how long until one is available.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// `Retry-After` in whole seconds, never 0.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(RateSettings {
            rate: 2.0,
            burst: 3,
        })
        .unwrap();
        let t0 = Instant::now();
        let key = "10.0.0.1".to_string();
        for _ in 0..3 {
            assert_eq!(limiter.check(&key, t0), Ok(()));
        }
        let wait = limiter.check(&key, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Another key has its own bucket.
        assert_eq!(limiter.check(&"10.0.0.2".to_string(), t0), Ok(()));
        // Half a second later one token is back, not more.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(limiter.check(&key, t1), Ok(()));
        assert!(limiter.check(&key, t1).is_err());
        // Long idle refills only to the burst.
        let t2 = t1 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(limiter.check(&key, t2), Ok(()));
        }
        assert!(limiter.check(&key, t2).is_err());
    }

    #[test]
    fn off_when_rate_is_zero() {
        assert!(RateLimiter::<String>::new(RateSettings {
            rate: 0.0,
            burst: 1
        })
        .is_none());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
