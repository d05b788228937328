//! Keyed GCRA throttles in this process: sign-in attempts per client network and per
//! account name, and reports per URL.
//!
//! This is the fast, first line. The second is the account lock-out, which the database
//! keeps (so it holds across instances): after `lockout_after` consecutive failures an
//! account is locked for a minute, doubling with each further failure up to an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::limits::Rate;

/// Keyed limits: one arrival time per key.
#[derive(Debug)]
pub struct Throttle {
    rate: Rate,
    tats: Mutex<HashMap<String, u64>>,
    epoch: Instant,
}

/// Keys kept at most; beyond, the ones whose arrival time has passed are dropped.
const MAX_KEYS: usize = 100_000;

impl Throttle {
    /// `count` attempts per minute per key (a burst of `count`).
    pub fn per_minute(count: u32) -> Self {
        Throttle {
            rate: Rate::per(count, Duration::from_secs(60)),
            tats: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }

    /// Spends one attempt for `key`: `Err(wait)` when it is over its rate.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, self.rate)
    }

    /// Spends one attempt for `key` at `count` per `period` (for a rate that a policy
    /// changes while the process runs).
    pub fn check_rate(&self, key: &str, count: u32, period: Duration) -> Result<(), Duration> {
        self.check_at(key, Rate::per(count, period))
    }

    fn check_at(&self, key: &str, rate: Rate) -> Result<(), Duration> {
        let now = self.epoch.elapsed().as_micros() as u64;
        let mut tats = self.tats.lock().expect("throttle lock");
        if tats.len() >= MAX_KEYS {
            tats.retain(|_, tat| *tat > now);
        }
        let tat = tats.get(key).copied().unwrap_or(0);
        match rate.decide(tat, now) {
            Ok(next) => {
                tats.insert(key.to_owned(), next);
                Ok(())
            }
            Err(wait) => Err(Duration::from_micros(wait)),
        }
    }
}

/// How long an account is locked after its `failures`-th consecutive failure, in
/// milliseconds: nothing before `after`, then a minute, doubling, at most an hour.
pub fn lockout_ms(failures: i64, after: u32) -> i64 {
    let after = i64::from(after.max(1));
    if failures < after {
        return 0;
    }
    let doublings = (failures - after).min(6) as u32;
    (60_000i64 << doublings).min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_other_keys_are_unaffected() {
        let t = Throttle::per_minute(3);
        for _ in 0..3 {
            assert!(t.check("a").is_ok());
        }
        let wait = t.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(t.check("b").is_ok());
    }

    #[test]
    fn lockout_starts_at_the_threshold_doubles_and_is_capped() {
        assert_eq!(lockout_ms(4, 5), 0);
        assert_eq!(lockout_ms(5, 5), 60_000);
        assert_eq!(lockout_ms(6, 5), 120_000);
        assert_eq!(lockout_ms(8, 5), 480_000);
        assert_eq!(lockout_ms(50, 5), 3_600_000);
    }
}
