//! Token buckets (`governor`): per client IP and per install token, each with a
//! per-minute and a per-day bucket, plus the softer per-IP bucket and the greylist that
//! decide when a CAPTCHA is required (decision 0011).
//!
//! Buckets live in this process: with N replicas a client gets N times the allowance.
//! DESIGN names a shared limiter (Redis) as the option for fleets.

use std::collections::HashMap as FastMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::settings::{CaptchaSettings, Limits};

/// Which bucket refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client IP's.
    Ip,
    /// The install token's.
    InstallToken,
}

impl Scope {
    /// A metric label.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::InstallToken => "install_token",
        }
    }
}

/// A refusal: which bucket and how long until it has a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The bucket.
    pub scope: Scope,
    /// When to retry.
    pub retry_after: Duration,
}

/// A per-minute and a per-day bucket for one kind of key.
struct Pair<K: std::hash::Hash + Eq + Clone> {
    minute: DefaultKeyedRateLimiter<K>,
    day: DefaultKeyedRateLimiter<K>,
}

fn quota(per: Duration, count: u32) -> Quota {
    let count = NonZeroU32::new(count.max(1)).expect("at least 1");
    let period = per / count.get();
    Quota::with_period(period.max(Duration::from_nanos(1))).expect("a non-zero period").allow_burst(count)
}

impl<K: std::hash::Hash + Eq + Clone> Pair<K> {
    fn new(per_minute: u32, per_day: u32) -> Self {
        Pair {
            minute: RateLimiter::keyed(quota(Duration::from_secs(60), per_minute)),
            day: RateLimiter::keyed(quota(Duration::from_secs(86_400), per_day)),
        }
    }

    /// Takes one token from each bucket. The day bucket is asked first, so a request the
    /// day refuses does not also spend a minute token.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.day.check_key(key).map_err(|not_until| not_until.wait_time_from(now))?;
        self.minute.check_key(key).map_err(|not_until| not_until.wait_time_from(now))
    }

    fn shrink(&self) {
        for limiter in [&self.minute, &self.day] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The address a client's buckets are kept under: IPv4 as is, IPv4-mapped IPv6 as IPv4,
/// other IPv6 addresses truncated to their /64.
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

/// Every limiter of the report API.
pub struct RateLimits {
    ip: Pair<IpAddr>,
    install: Pair<String>,
    soft: Option<DefaultKeyedRateLimiter<IpAddr>>,
    greylist: Mutex<FastMap<IpAddr, Instant>>,
    greylist_for: Duration,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

/// Whether a request from this IP must carry a valid CAPTCHA token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// No.
    None,
    /// Yes: the IP is sending faster than the soft limit, or is greylisted.
    Required,
}

impl RateLimits {
    /// Limiters with these settings. The soft bucket exists only when a CAPTCHA verifier
    /// is configured.
    pub fn new(limits: &Limits, captcha: &CaptchaSettings, captcha_enabled: bool) -> Self {
        RateLimits {
            ip: Pair::new(limits.ip_per_minute, limits.ip_per_day),
            install: Pair::new(limits.install_per_minute, limits.install_per_day),
            soft: captcha_enabled.then(|| RateLimiter::keyed(quota(Duration::from_secs(60), captcha.after_per_minute))),
            greylist: Mutex::new(FastMap::default()),
            greylist_for: Duration::from_secs(captcha.greylist_seconds),
        }
    }

    /// Takes a token from the IP's buckets; a refusal greylists the IP. IPv6 clients are
    /// counted per /64 (one subscriber's prefix: rotating addresses inside it does not
    /// give fresh buckets), and IPv4-mapped IPv6 addresses as their IPv4 address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<Challenge, Limited> {
        let ip = bucket_key(ip);
        if let Err(retry_after) = self.ip.check(&ip) {
            self.greylist.lock().expect("greylist lock").insert(ip, Instant::now() + self.greylist_for);
            return Err(Limited { scope: Scope::Ip, retry_after });
        }
        let Some(soft) = &self.soft else { return Ok(Challenge::None) };
        let greylisted = {
            let mut list = self.greylist.lock().expect("greylist lock");
            match list.get(&ip) {
                Some(until) if *until > Instant::now() => true,
                Some(_) => {
                    list.remove(&ip);
                    false
                }
                None => false,
            }
        };
        if greylisted || soft.check_key(&ip).is_err() {
            return Ok(Challenge::Required);
        }
        Ok(Challenge::None)
    }

    /// Takes a token from the install token's buckets.
    pub fn check_install(&self, id: &str) -> Result<(), Limited> {
        self.install.check(&id.to_owned()).map_err(|retry_after| Limited { scope: Scope::InstallToken, retry_after })
    }

    /// Forgets buckets that are full again and expired greylist entries (run every
    /// minute, so memory follows the active clients rather than every client ever seen).
    pub fn shrink(&self) {
        self.ip.shrink();
        self.install.shrink();
        if let Some(soft) = &self.soft {
            soft.retain_recent();
            soft.shrink_to_fit();
        }
        let now = Instant::now();
        self.greylist.lock().expect("greylist lock").retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ip_min: u32, ip_day: u32, tok_min: u32, tok_day: u32) -> Limits {
        Limits {
            ip_per_minute: ip_min,
            ip_per_day: ip_day,
            install_per_minute: tok_min,
            install_per_day: tok_day,
            max_body_bytes: 10_240,
        }
    }

    #[test]
    fn the_ip_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(l.check_ip(ip), Ok(Challenge::None));
        }
        let refused = l.check_ip(ip).unwrap_err();
        assert_eq!(refused.scope, Scope::Ip);
        assert!(refused.retry_after > Duration::from_secs(1) && refused.retry_after <= Duration::from_secs(12));
        assert!(l.check_ip("203.0.113.8".parse().unwrap()).is_ok(), "another IP has its own bucket");
        // One IPv6 /64 is one client, however many addresses it rotates through.
        for i in 0..5u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(l.check_ip(ip).is_ok());
        }
        assert!(l.check_ip("2001:db8:1:2:ffff::1".parse().unwrap()).is_err(), "same /64, no fresh bucket");
        assert!(l.check_ip("2001:db8:1:3::1".parse().unwrap()).is_ok(), "another /64");
        assert_eq!(bucket_key("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_day_bucket_refuses_with_a_long_wait() {
        let l = RateLimits::new(&limits(100, 2, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(l.check_ip(ip).is_ok());
        assert!(l.check_ip(ip).is_ok());
        let refused = l.check_ip(ip).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(3600), "{refused:?}");
    }

    #[test]
    fn install_tokens_have_their_own_buckets() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        for _ in 0..3 {
            assert!(l.check_install("a").is_ok());
        }
        assert_eq!(l.check_install("a").unwrap_err().scope, Scope::InstallToken);
        assert!(l.check_install("b").is_ok());
    }

    #[test]
    fn captcha_is_required_above_the_soft_limit_and_while_greylisted() {
        let captcha = CaptchaSettings { after_per_minute: 2, ..CaptchaSettings::default() };
        let l = RateLimits::new(&limits(4, 300, 3, 100), &captcha, true);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(l.check_ip(ip), Ok(Challenge::None));
        assert_eq!(l.check_ip(ip), Ok(Challenge::None));
        assert_eq!(l.check_ip(ip), Ok(Challenge::Required));
        assert_eq!(l.check_ip(ip), Ok(Challenge::Required));
        assert!(l.check_ip(ip).is_err());
        assert!(l.greylist.lock().unwrap().contains_key(&ip));
    }
}
