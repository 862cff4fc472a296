//! Protection in front of the handlers: the browser origin allow-list, the client's address
//! behind trusted proxies, and a per-address rate limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Whether `origin` may call the relay from a browser.
pub fn is_allowed_origin(allowed: &[String], origin: &str) -> bool {
    allowed
        .iter()
        .any(|candidate| candidate.eq_ignore_ascii_case(origin))
}

/// An `X-Forwarded-For` that a trusted proxy wrote but that does not read: the proxy is
/// misconfigured, and guessing the client would put it in another's rate-limit bucket and
/// evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableForwardedFor;

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Entries are read from the right, as
/// the proxies appended them; one that does not read before the client is found is refused.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Result<Option<IpAddr>, UnreadableForwardedFor> {
    let Some(peer) = peer else {
        return Ok(None);
    };
    if !trusted_proxies.contains(&peer) {
        return Ok(Some(peer));
    }
    let mut entries: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().map_err(|_| UnreadableForwardedFor)?;
        entries.extend(value.split(','));
    }
    for entry in entries.iter().rev() {
        let address: IpAddr = entry.trim().parse().map_err(|_| UnreadableForwardedFor)?;
        if !trusted_proxies.contains(&address) {
            return Ok(Some(address));
        }
    }
    Ok(Some(peer))
}

/// A token bucket per client address, kept in shards so that one lock covers a sixteenth of
/// the addresses, and a shard is swept of full buckets at most once a second and only when it
/// has grown large: tracking many addresses never costs a whole-map scan under one lock.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<IpAddr, Bucket>,
    last_sweep: Option<Instant>,
    sweeps: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Shards of the buckets.
const SHARDS: usize = 16;
/// More than this many addresses tracked in one shard lets a sweep of its full buckets run.
const SWEEP_THRESHOLD: usize = 10_000 / SHARDS;

impl RateLimiter {
    /// Allows `per_minute` requests per address, in bursts of up to as many.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard_of(&self, address: IpAddr) -> &Mutex<Shard> {
        use std::hash::BuildHasher;
        // A fixed hasher: which shard an address falls in needs no secret.
        let hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        &self.shards[(hasher.hash_one(address) as usize) % SHARDS]
    }

    /// Takes one request from `address`'s bucket at `now`; when it is empty, returns how long
    /// until the next request is allowed. IPv6 clients share a bucket per /64, the block one
    /// subscriber is usually given, so that cycling through addresses does not escape the limit.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let address = bucket_of(address);
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut shard = self
            .shard_of(address)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sweep_due = shard
            .last_sweep
            .is_none_or(|last| now.saturating_duration_since(last) >= Duration::from_secs(1));
        if shard.buckets.len() > SWEEP_THRESHOLD && sweep_due {
            shard.buckets.retain(|_, bucket| {
                bucket.tokens
                    + now.saturating_duration_since(bucket.updated).as_secs_f64() * per_second
                    < capacity
            });
            shard.last_sweep = Some(now);
            shard.sweeps += 1;
        }
        let bucket = shard.buckets.entry(address).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Addresses tracked and sweeps run so far, over every shard.
    #[cfg(test)]
    fn tracked(&self) -> (usize, u64) {
        self.shards.iter().fold((0, 0), |(tracked, sweeps), shard| {
            let shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (tracked + shard.buckets.len(), sweeps + shard.sweeps)
        })
    }
}

/// The address a client is limited by: itself for IPv4, its /64 for IPv6.
fn bucket_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_addresses_are_swept_a_shard_at_a_time_at_most_once_a_second() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for number in 0..40_000_u32 {
            let address = IpAddr::from(number.to_be_bytes());
            assert!(limiter.check(address, start).is_ok());
        }
        let (tracked, sweeps) = limiter.tracked();
        assert_eq!(
            tracked, 40_000,
            "nothing is full again yet, so nothing goes"
        );
        assert!(
            sweeps <= SHARDS as u64,
            "within one second each shard is swept at most once: {sweeps}"
        );
        // A minute later every bucket is full again: the next request of each shard sweeps it.
        let later = start + Duration::from_secs(61);
        for number in 0..SHARDS as u32 * 64 {
            let _ = limiter.check(IpAddr::from((number + 1_000_000).to_be_bytes()), later);
        }
        let (tracked, _) = limiter.tracked();
        assert!(tracked < 2_000, "full buckets were swept: {tracked} left");
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let limiter = RateLimiter::new(2);
        let start = Instant::now();
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"] {
            assert!(
                limiter.check(host.parse().unwrap(), start).is_ok(),
                "{host}"
            );
        }
        assert!(
            limiter
                .check("2001:db8:1:2:aaaa::1".parse().unwrap(), start)
                .is_err(),
            "a third address of the same /64 shares its bucket"
        );
        assert!(
            limiter
                .check("2001:db8:1:3::1".parse().unwrap(), start)
                .is_ok(),
            "another /64 has its own"
        );
        assert_eq!(
            bucket_of("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let limiter = RateLimiter::new(60);
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check(address, start).is_ok());
        }
        let wait = limiter.check(address, start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(
            limiter
                .check(address, start + Duration::from_millis(1_100))
                .is_ok()
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check(other, start).is_ok());
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9".parse().unwrap(),
        );
        assert_eq!(client_ip(Some(proxy), &headers, &[]), Ok(Some(proxy)));
        assert_eq!(
            client_ip(Some(proxy), &headers, &[proxy]),
            Ok(Some("203.0.113.9".parse().unwrap()))
        );
        let spoofer: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(spoofer), &headers, &[proxy]),
            Ok(Some(spoofer))
        );
        // What a trusted proxy wrote must read; what the client wrote before it may not.
        let mut garbled = HeaderMap::new();
        garbled.insert("x-forwarded-for", "198.51.100.7, unknown".parse().unwrap());
        assert_eq!(
            client_ip(Some(proxy), &garbled, &[proxy]),
            Err(UnreadableForwardedFor)
        );
        let mut spoofed = HeaderMap::new();
        spoofed.insert("x-forwarded-for", "junk, 203.0.113.9".parse().unwrap());
        assert_eq!(
            client_ip(Some(proxy), &spoofed, &[proxy]),
            Ok(Some("203.0.113.9".parse().unwrap()))
        );
    }

    #[test]
    fn origins_match_exactly() {
        let allowed = vec!["https://shop.example".to_owned()];
        assert!(is_allowed_origin(&allowed, "https://shop.example"));
        assert!(!is_allowed_origin(&allowed, "https://shop.example.evil"));
        assert!(!is_allowed_origin(&allowed, "http://shop.example"));
    }
}
