//! Rate limits of the report API: per client address and per install token, each a
//! per-minute and a per-day limit, plus the softer per-address limit and the greylist that
//! decide when a CAPTCHA is required (decision 0016).
//!
//! The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one
//! timestamp per limit: the "theoretical arrival time"). A limit of `N` per period `P`
//! admits a burst of `N` and then one request every `P / N`. The two limits of a scope
//! are decided together and written together: **a request either spends a token of both
//! or of neither**, so requests refused by the minute limit never drain the day.
//!
//! The same decision runs in this process (the default) or in Redis as one Lua script per
//! check (`limits.redis`), so that any number of `serve` processes share one budget. When
//! Redis cannot be reached the limits fall back to this process's memory for a second at
//! a time (a warning, `ferretwatch_limiter_fallback_total`), never to no limits and never
//! to refusing everything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::settings::{CaptchaSettings, Limits};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client address's.
    Ip,
    /// The install token's.
    InstallToken,
    /// The reported URL's (reports of one kind about one URL, per hour: a coordinated
    /// campaign meets it; a real one has long been queued for review by then).
    Url,
    /// The reported URL's from one client network: many install tokens on one network
    /// reporting one URL are one actor (a farm), limited below the URL's own limit.
    UrlNetwork,
}

impl Scope {
    /// A metric label.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::InstallToken => "install_token",
            Scope::Url => "url",
            Scope::UrlNetwork => "url_network",
        }
    }
}

/// A refusal: which limit and how long until a request would be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The limit.
    pub scope: Scope,
    /// When to retry.
    pub retry_after: Duration,
}

/// Whether a request from this address must carry a valid CAPTCHA token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// No.
    None,
    /// Yes: the address is sending faster than the soft limit, or is greylisted.
    Required,
}

/// One limit as GCRA sees it, in microseconds: the interval between two requests at the
/// sustained rate (`emission`) and how far ahead of now the arrival time may run before a
/// request is refused (`tolerance`, `(N - 1) × emission` for a burst of `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    emission: u64,
    tolerance: u64,
}

impl Rate {
    /// `count` requests per `period` (at least one).
    pub fn per(count: u32, period: Duration) -> Rate {
        let count = u64::from(count.max(1));
        let emission = (period.as_micros() as u64 / count).max(1);
        Rate { emission, tolerance: emission * (count - 1) }
    }

    /// The GCRA decision at `now` for a stored arrival time `tat` (0: never seen): the
    /// new arrival time to store, or how long until a request conforms.
    pub(crate) fn decide(self, tat: u64, now: u64) -> Result<u64, u64> {
        let tat = tat.max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            Err(ahead - self.tolerance)
        } else {
            Ok(tat + self.emission)
        }
    }
}

/// The rates in force.
#[derive(Debug, Clone, Copy)]
struct Rates {
    ip: [Rate; 2],
    install: [Rate; 2],
    soft: Option<Rate>,
    greylist: u64,
}

/// Decides a minute and a day limit together: both new arrival times, or the longer wait.
fn decide_pair(rates: [Rate; 2], tats: [u64; 2], now: u64) -> Result<[u64; 2], u64> {
    match (rates[0].decide(tats[0], now), rates[1].decide(tats[1], now)) {
        (Ok(a), Ok(b)) => Ok([a, b]),
        (Err(a), Err(b)) => Err(a.max(b)),
        (Err(wait), Ok(_)) | (Ok(_), Err(wait)) => Err(wait),
    }
}

/// The address a client's limits are kept under: IPv4 as is, IPv4-mapped IPv6 as IPv4,
/// other IPv6 addresses truncated to their /64.
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

/// An address's state: arrival times of the minute, day and soft limits, and the end of
/// its greylisting (all microseconds on the limiter's clock).
#[derive(Debug, Clone, Copy, Default)]
struct IpEntry {
    tats: [u64; 2],
    soft: u64,
    grey_until: u64,
}

/// The limits kept in this process.
#[derive(Debug, Default)]
struct Local {
    ip: Mutex<HashMap<IpAddr, IpEntry>>,
    install: Mutex<HashMap<String, [u64; 2]>>,
}

impl Local {
    #[cfg(test)]
    fn check_ip(&self, rates: &Rates, ip: IpAddr, now: u64) -> Result<Challenge, u64> {
        self.check(rates, ip, None, now).map_err(|(_, wait)| wait)
    }

    /// Decides the address's limits and, with `install`, the token's, all together:
    /// either everything is spent or nothing is (a refusal by the address's limits
    /// greylists it). The refusal names the scope that refused and the wait.
    fn check(&self, rates: &Rates, ip: IpAddr, install: Option<&str>, now: u64) -> Result<Challenge, (Scope, u64)> {
        let mut ips = self.ip.lock().expect("limiter lock");
        let entry = ips.entry(ip).or_default();
        let ip_tats = match decide_pair(rates.ip, entry.tats, now) {
            Ok(tats) => tats,
            Err(wait) => {
                entry.grey_until = now + rates.greylist;
                return Err((Scope::Ip, wait));
            }
        };
        if let Some(id) = install {
            let mut tokens = self.install.lock().expect("limiter lock");
            let tats = tokens.get(id).copied().unwrap_or_default();
            let tats = decide_pair(rates.install, tats, now).map_err(|wait| (Scope::InstallToken, wait))?;
            tokens.insert(id.to_owned(), tats);
        }
        entry.tats = ip_tats;
        let Some(soft) = rates.soft else { return Ok(Challenge::None) };
        let mut challenge = if entry.grey_until > now { Challenge::Required } else { Challenge::None };
        match soft.decide(entry.soft, now) {
            Ok(tat) => entry.soft = tat,
            Err(_) => challenge = Challenge::Required,
        }
        Ok(challenge)
    }

    /// Forgets entries whose limits are all full again and whose greylisting is over.
    fn shrink(&self, now: u64) {
        let mut ip = self.ip.lock().expect("limiter lock");
        ip.retain(|_, e| e.tats[0] > now || e.tats[1] > now || e.soft > now || e.grey_until > now);
        ip.shrink_to_fit();
        drop(ip);
        let mut install = self.install.lock().expect("limiter lock");
        install.retain(|_, t| t[0] > now || t[1] > now);
        install.shrink_to_fit();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ip.lock().expect("limiter lock").len() + self.install.lock().expect("limiter lock").len()
    }
}

/// The GCRA decision in Redis, on Redis's clock, atomically: the address's limits
/// (`KEYS[1]`) and, when given, the install token's (`KEYS[2]`), all spent or none. The
/// address's hash holds `m` and `d` (arrival times of the two limits), `s` (the soft
/// limit) and `g` (greylisted until), in microseconds since the Unix epoch; the token's
/// holds `m` and `d`. Each expires when its limits are full again.
///
/// ARGV: emission and tolerance of the address's minute, day and soft limits (soft
/// emission 0: no soft limit), the greylist duration (0: none), then emission and
/// tolerance of the token's minute and day limits. Returns `{1, challenge}` or
/// `{0, wait, scope}` (scope 1: the address, 2: the token). Numbers go back into Redis
/// through `%d`: Lua's default formatting would round a 16-digit timestamp.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function at(x)
  local n = tonumber(x)
  if n == nil or n < now then return now end
  return n
end
local function f(n) return string.format('%d', n) end
local function expire(key, last) redis.call('PEXPIRE', key, math.floor((last - now) / 1000) + 1000) end
local em, tm, ed, td = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local es, ts, grey = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local v = redis.call('HMGET', KEYS[1], 'm', 'd', 's', 'g')
local m, d, s, g = at(v[1]), at(v[2]), at(v[3]), at(v[4])
local wait = math.max(m - now - tm, d - now - td)
if wait > 0 then
  if grey > 0 then
    g = now + grey
    redis.call('HSET', KEYS[1], 'g', f(g))
    expire(KEYS[1], math.max(m, d, s, g))
  end
  return {0, math.floor(wait), 1}
end
if #KEYS == 2 then
  local iem, itm, ied, itd = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
  local w = redis.call('HMGET', KEYS[2], 'm', 'd')
  local im, id = at(w[1]), at(w[2])
  local iwait = math.max(im - now - itm, id - now - itd)
  if iwait > 0 then return {0, math.floor(iwait), 2} end
  im, id = im + iem, id + ied
  redis.call('HSET', KEYS[2], 'm', f(im), 'd', f(id))
  expire(KEYS[2], math.max(im, id))
end
m, d = m + em, d + ed
redis.call('HSET', KEYS[1], 'm', f(m), 'd', f(d))
local challenge = 0
if es > 0 then
  if g > now then challenge = 1 end
  if s - now > ts then
    challenge = 1
  else
    s = s + es
    redis.call('HSET', KEYS[1], 's', f(s))
  end
end
expire(KEYS[1], math.max(m, d, s, g))
return {1, challenge}
";

/// Limits kept in Redis, shared by every `serve` process that names the same server.
struct Shared {
    client: redis::Client,
    conn: Mutex<Option<redis::aio::ConnectionManager>>,
    script: redis::Script,
    timeout: Duration,
    prefix: String,
    /// Until when (limiter clock) not to ask Redis after a failure.
    down_until: AtomicU64,
    /// Whether the last decision was taken locally because Redis failed.
    degraded: AtomicBool,
    /// The redacted URL, for logs.
    url: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Shared {
    /// Redis failed (`why`): the first failure since it last answered logs a warning and
    /// sets `ferretwatch_limiter_shared` to 0.
    fn lost(&self, why: &dyn std::fmt::Display) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.url, reason = %why,
                "Redis unavailable: rate limits are per instance until it answers"
            );
            metrics::gauge!("ferretwatch_limiter_shared").set(0.0);
        }
    }
}

/// Why the shared limiter could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("limits.redis {url}: {message}")]
pub struct SharedSetupError {
    url: String,
    message: String,
}

/// How long to take limit decisions locally after Redis failed, before asking it again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);

/// Every limit of the report API.
#[derive(Debug)]
pub struct RateLimits {
    rates: std::sync::RwLock<Rates>,
    local: Local,
    shared: Option<Shared>,
    epoch: Instant,
}

impl RateLimits {
    /// Limits kept in this process. The soft limit exists only when a CAPTCHA verifier is
    /// configured.
    pub fn new(limits: &Limits, captcha: &CaptchaSettings, captcha_enabled: bool) -> Self {
        let minute = Duration::from_secs(60);
        let day = Duration::from_secs(86_400);
        RateLimits {
            rates: std::sync::RwLock::new(Rates {
                ip: [Rate::per(limits.ip_per_minute, minute), Rate::per(limits.ip_per_day, day)],
                install: [Rate::per(limits.install_per_minute, minute), Rate::per(limits.install_per_day, day)],
                soft: captcha_enabled.then(|| Rate::per(captcha.after_per_minute, minute)),
                greylist: captcha.greylist_seconds.saturating_mul(1_000_000),
            }),
            local: Local::default(),
            shared: None,
            epoch: Instant::now(),
        }
    }

    /// Keeps the limits in Redis at `url` (`redis://HOST:PORT[/DB]`), each call bounded by
    /// `timeout`, every key under `prefix`. A server that cannot be reached now is not an error: the limits are
    /// local until it answers (see [`RateLimits::maintain`]).
    pub async fn with_redis(mut self, url: &str, prefix: &str, timeout: Duration) -> Result<Self, SharedSetupError> {
        let redacted = redact(url);
        let client =
            redis::Client::open(url).map_err(|e| SharedSetupError { url: redacted.clone(), message: e.to_string() })?;
        let shared = Shared {
            client,
            conn: Mutex::new(None),
            script: redis::Script::new(GCRA_LUA),
            timeout,
            prefix: prefix.to_owned(),
            down_until: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
            url: redacted,
        };
        self.shared = Some(shared);
        self.maintain().await;
        Ok(self)
    }

    /// Turns on the soft limit that decides when a CAPTCHA is required (a verifier was
    /// configured after the limits were built).
    pub fn challenge(&mut self, captcha: &CaptchaSettings) {
        self.rates.write().expect("rates lock").soft =
            Some(Rate::per(captcha.after_per_minute, Duration::from_secs(60)));
    }

    /// Changes the per-address and per-install limits in force (the console's policies);
    /// arrival times already stored carry over.
    pub fn set_rates(&self, ip_per_minute: u32, ip_per_day: u32, install_per_minute: u32, install_per_day: u32) {
        let (minute, day) = (Duration::from_secs(60), Duration::from_secs(86_400));
        let mut rates = self.rates.write().expect("rates lock");
        rates.ip = [Rate::per(ip_per_minute, minute), Rate::per(ip_per_day, day)];
        rates.install = [Rate::per(install_per_minute, minute), Rate::per(install_per_day, day)];
    }

    /// Whether limits are kept in Redis (configured, and answering).
    pub fn is_shared(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| !s.degraded.load(Ordering::Relaxed))
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Charges the address's limits (an install, or a report whose token is not valid); a
    /// refusal greylists the address. IPv6 clients are counted per /64 and IPv4-mapped
    /// IPv6 addresses as their IPv4 address.
    pub async fn check_ip(&self, ip: IpAddr) -> Result<Challenge, Limited> {
        self.check(ip, None).await
    }

    /// Charges a report to the address's and the install token's limits together (one
    /// decision, one Redis round trip): both are spent, or, when either refuses, neither.
    pub async fn check_report(&self, ip: IpAddr, install: &str) -> Result<Challenge, Limited> {
        self.check(ip, Some(install)).await
    }

    async fn check(&self, ip: IpAddr, install: Option<&str>) -> Result<Challenge, Limited> {
        let ip = bucket_key(ip);
        let refused = |(scope, wait): (Scope, u64)| Limited { scope, retry_after: Duration::from_micros(wait) };
        if let Some(shared) = &self.shared {
            if let Some(answer) = self.ask(shared, ip, install).await {
                return answer.map_err(refused);
            }
        }
        let rates = *self.rates.read().expect("rates lock");
        self.local.check(&rates, ip, install, self.now()).map_err(refused)
    }

    /// One decision in Redis: `Some(answer)`, or `None` when Redis is down or did not
    /// answer in time (the caller decides locally).
    async fn ask(&self, shared: &Shared, ip: IpAddr, install: Option<&str>) -> Option<Result<Challenge, (Scope, u64)>> {
        let now = self.now();
        if shared.down_until.load(Ordering::Relaxed) > now {
            metrics::counter!("ferretwatch_limiter_fallback_total").increment(1);
            return None;
        }
        let conn = shared.conn.lock().expect("redis connection lock").clone();
        let answer = match conn {
            None => Err("not connected".to_owned()),
            Some(mut conn) => {
                let mut call = shared.script.key(format!("{}ip:{ip}", shared.prefix));
                let rates = *self.rates.read().expect("rates lock");
                let soft = rates.soft.unwrap_or(Rate { emission: 0, tolerance: 0 });
                for rate in [rates.ip[0], rates.ip[1], soft] {
                    call.arg(rate.emission).arg(rate.tolerance);
                }
                call.arg(rates.greylist);
                if let Some(id) = install {
                    call.key(format!("{}install:{id}", shared.prefix));
                    for rate in rates.install {
                        call.arg(rate.emission).arg(rate.tolerance);
                    }
                }
                match tokio::time::timeout(shared.timeout, call.invoke_async::<Vec<i64>>(&mut conn)).await {
                    Ok(Ok(reply)) if reply.len() >= 2 => Ok(reply),
                    Ok(Ok(_)) => Err("unexpected reply".to_owned()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} ms", shared.timeout.as_millis())),
                }
            }
        };
        match answer {
            Ok(reply) => {
                if shared.degraded.swap(false, Ordering::Relaxed) {
                    tracing::warn!(redis = %shared.url, "shared rate limits restored: Redis answers again");
                    metrics::gauge!("ferretwatch_limiter_shared").set(1.0);
                }
                Some(match reply.as_slice() {
                    [1, challenge, ..] => Ok(if *challenge == 1 { Challenge::Required } else { Challenge::None }),
                    [_, wait, 2, ..] => Err((Scope::InstallToken, (*wait).max(0) as u64)),
                    [_, wait, ..] => Err((Scope::Ip, (*wait).max(0) as u64)),
                    [] | [_] => unreachable!("checked above: at least two numbers"),
                })
            }
            Err(why) => {
                shared.down_until.store(now + RETRY_REDIS_AFTER.as_micros() as u64, Ordering::Relaxed);
                shared.lost(&why);
                metrics::counter!("ferretwatch_limiter_fallback_total").increment(1);
                None
            }
        }
    }

    /// Connects to Redis when configured and not connected (at start and then every few
    /// seconds from the housekeeping task; a connected manager reconnects by itself).
    pub async fn maintain(&self) {
        let Some(shared) = &self.shared else { return };
        if shared.conn.lock().expect("redis connection lock").is_some() {
            return;
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(shared.timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(shared.timeout))
            .set_number_of_retries(1);
        match redis::aio::ConnectionManager::new_with_config(shared.client.clone(), config).await {
            Ok(conn) => {
                *shared.conn.lock().expect("redis connection lock") = Some(conn);
                shared.down_until.store(0, Ordering::Relaxed);
                shared.degraded.store(false, Ordering::Relaxed);
                metrics::gauge!("ferretwatch_limiter_shared").set(1.0);
                tracing::info!(redis = %shared.url, "rate limits shared through Redis");
            }
            Err(e) => shared.lost(&e),
        }
    }

    /// Forgets local entries whose limits are full again (run every minute, so memory
    /// follows the active clients rather than every client ever seen).
    pub fn shrink(&self) {
        self.local.shrink(self.now());
    }
}

/// A Redis URL without its password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("REDACTED"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparseable URL)".into(),
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
            ..Limits::default()
        }
    }

    const SEC: u64 = 1_000_000;

    #[tokio::test]
    async fn the_ip_limit_allows_its_burst_then_refuses_with_a_wait() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(l.check_ip(ip).await, Ok(Challenge::None));
        }
        let refused = l.check_ip(ip).await.unwrap_err();
        assert_eq!(refused.scope, Scope::Ip);
        assert!(refused.retry_after > Duration::from_secs(11) && refused.retry_after <= Duration::from_secs(12));
        assert!(l.check_ip("203.0.113.8".parse().unwrap()).await.is_ok(), "another address has its own limit");
        // One IPv6 /64 is one client, however many addresses it rotates through.
        for i in 0..5u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(l.check_ip(ip).await.is_ok());
        }
        assert!(l.check_ip("2001:db8:1:2:ffff::1".parse().unwrap()).await.is_err(), "same /64");
        assert!(l.check_ip("2001:db8:1:3::1".parse().unwrap()).await.is_ok(), "another /64");
        assert_eq!(bucket_key("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn requests_refused_by_the_minute_limit_spend_nothing_of_the_day() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "198.51.100.9".parse().unwrap();
        let mut admitted = 0;
        // A flood: 100,000 requests in the first second, then one every second for a day.
        for i in 0..100_000u64 {
            admitted += u32::from(l.local.check_ip(&l.rates.read().unwrap(), ip, i * 10).is_ok());
        }
        assert_eq!(admitted, 5, "the burst");
        for s in 1..86_400u64 {
            admitted += u32::from(l.local.check_ip(&l.rates.read().unwrap(), ip, s * SEC).is_ok());
        }
        // 5 a minute would be 7,200 a day: the day limit (a burst of 300, then one every
        // 288 s) is what binds, and it is all there for the client despite the flood.
        assert_eq!(admitted, 300 + 299, "the day's burst and its refill, nothing lost to the flood");
    }

    #[test]
    fn after_a_flood_the_client_is_served_as_soon_as_the_minute_allows() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "198.51.100.10".parse().unwrap();
        let mut ready_at = 0;
        for i in 0..10_000u64 {
            if let Err(wait) = l.local.check_ip(&l.rates.read().unwrap(), ip, i) {
                ready_at = i + wait;
            }
        }
        // The wait names the moment: one emission (12 s) after the burst, however long
        // the flood went on.
        assert_eq!(ready_at, 12 * SEC);
        assert!(l.local.check_ip(&l.rates.read().unwrap(), ip, ready_at - 1).is_err());
        assert!(l.local.check_ip(&l.rates.read().unwrap(), ip, ready_at).is_ok());
        assert!(l.local.check_ip(&l.rates.read().unwrap(), ip, ready_at).is_err(), "one token, one request");
    }

    #[test]
    fn the_day_limit_refuses_with_a_long_wait_and_spends_no_minute() {
        let l = RateLimits::new(&limits(100, 2, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(l.local.check_ip(&l.rates.read().unwrap(), ip, 0).is_ok());
        assert!(l.local.check_ip(&l.rates.read().unwrap(), ip, 0).is_ok());
        let wait = l.local.check_ip(&l.rates.read().unwrap(), ip, 0).unwrap_err();
        assert!(wait > 3600 * SEC, "{wait}");
        let minute_tat = l.local.ip.lock().unwrap()[&ip].tats[0];
        assert_eq!(minute_tat, 2 * Rate::per(100, Duration::from_secs(60)).emission, "two spent, not three");
    }

    #[test]
    fn install_tokens_have_their_own_limits_and_a_refusal_spends_neither_scope() {
        let l = RateLimits::new(&limits(100, 1000, 3, 100), &CaptchaSettings::default(), false);
        let ip: IpAddr = "192.0.2.30".parse().unwrap();
        let check = |id, t| l.local.check(&l.rates.read().unwrap(), ip, Some(id), t);
        for _ in 0..3 {
            assert!(check("a", 0).is_ok());
        }
        assert_eq!(check("a", 0).unwrap_err().0, Scope::InstallToken);
        // Three admitted reports spent three of the address's tokens; the refusal none.
        let emission = Rate::per(100, Duration::from_secs(60)).emission;
        assert_eq!(l.local.ip.lock().unwrap()[&ip].tats[0], 3 * emission);
        assert!(check("b", 0).is_ok());
        assert!(check("a", 20 * SEC).is_ok(), "one refilled after 20 s");
        // And a refusal by the address spends nothing of the token.
        let l = RateLimits::new(&limits(1, 1000, 3, 100), &CaptchaSettings::default(), false);
        assert!(l.local.check(&l.rates.read().unwrap(), ip, Some("c"), 0).is_ok());
        assert_eq!(l.local.check(&l.rates.read().unwrap(), ip, Some("c"), 0).unwrap_err().0, Scope::Ip);
        assert_eq!(l.local.install.lock().unwrap()["c"][0], Rate::per(3, Duration::from_secs(60)).emission);
    }

    #[test]
    fn captcha_is_required_above_the_soft_limit_and_while_greylisted() {
        let captcha = CaptchaSettings { after_per_minute: 2, greylist_seconds: 600, ..CaptchaSettings::default() };
        let l = RateLimits::new(&limits(4, 300, 3, 100), &captcha, true);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let check = |t| l.local.check_ip(&l.rates.read().unwrap(), ip, t);
        assert_eq!(check(0), Ok(Challenge::None));
        assert_eq!(check(0), Ok(Challenge::None));
        assert_eq!(check(0), Ok(Challenge::Required));
        assert_eq!(check(0), Ok(Challenge::Required));
        assert!(check(0).is_err());
        // Greylisted for 600 s: admitted by the limits a minute later, but challenged.
        assert_eq!(check(120 * SEC), Ok(Challenge::Required));
        assert_eq!(check(700 * SEC), Ok(Challenge::None));
    }

    #[test]
    fn shrink_forgets_full_limits_only() {
        let l = RateLimits::new(&limits(5, 300, 3, 100), &CaptchaSettings::default(), false);
        assert!(l.local.check_ip(&l.rates.read().unwrap(), "192.0.2.7".parse().unwrap(), 0).is_ok());
        assert!(l.local.check(&l.rates.read().unwrap(), "192.0.2.8".parse().unwrap(), Some("t"), 0).is_ok());
        l.local.shrink(60 * SEC);
        assert_eq!(l.local.len(), 3, "the day limits are not full again yet");
        l.local.shrink(86_400 * SEC);
        assert_eq!(l.local.len(), 0);
    }

    #[test]
    fn redis_urls_lose_their_password_in_logs() {
        assert_eq!(redact("redis://:hunter2@10.0.0.5:6379/0"), "redis://:REDACTED@10.0.0.5:6379/0");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
