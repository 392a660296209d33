//! Token-bucket rate limits per API key: the secret key has one bucket (server to server); the
//! publishable key, used by every shopper's browser, has one per client address; requests
//! without a valid key have one per address. Memory is bounded: at most `max_buckets` buckets;
//! when full, idle (refilled) buckets are dropped first, and if none is idle, all are.

use crate::auth::KeyKind;
use crate::config::RateLimitSettings;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BucketKey {
    kind: Option<KeyKind>,
    ip: Option<IpAddr>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        RateLimiter {
            settings,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn params(&self, kind: Option<KeyKind>) -> (f64, f64) {
        let s = &self.settings;
        match kind {
            Some(KeyKind::Secret) => (s.secret_per_second, s.secret_burst),
            Some(KeyKind::Publishable) => (s.publishable_per_second, s.publishable_burst),
            None => (s.unauthenticated_per_second, s.unauthenticated_burst),
        }
    }

    /// Takes one token; `Err(seconds)` says when the next one is due.
    pub fn check(&self, kind: Option<KeyKind>, ip: IpAddr) -> Result<(), u64> {
        let (rate, burst) = self.params(kind);
        let key = BucketKey {
            kind,
            ip: (kind != Some(KeyKind::Secret)).then_some(ip),
        };
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !buckets.contains_key(&key) && buckets.len() >= self.settings.max_buckets.max(1) {
            buckets.retain(|k, b| {
                let (rate, burst) = self.params(k.kind);
                b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst
            });
            if buckets.len() >= self.settings.max_buckets.max(1) {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        } else {
            Err(60)
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_bounds() {
        let settings = RateLimitSettings {
            publishable_per_second: 0.001,
            publishable_burst: 3.0,
            max_buckets: 4,
            ..RateLimitSettings::default()
        };
        let limiter = RateLimiter::new(settings);
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limiter.check(Some(KeyKind::Publishable), ip).is_ok());
        }
        assert!(limiter.check(Some(KeyKind::Publishable), ip).is_err());
        for i in 0..100u8 {
            let _ = limiter.check(Some(KeyKind::Publishable), [10, 0, 0, i].into());
            assert!(limiter.len() <= 4);
        }
    }
}
