//! Rate limits and quotas: what one client, one address or one target may cost the server.
//! Token buckets come from `governor` (GCRA); only the "blocked until" bookkeeping for
//! enrollment failures is ours, because a bucket that is checked only on failure cannot say
//! in advance that the next attempt must wait.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Configurable limits; `server/README.md` lists the defaults and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second one authenticated client may make, sustained.
    pub requests_per_second: u32,
    /// Requests one client may make in a burst above the sustained rate.
    pub request_burst: u32,
    /// Failed enrollment attempts (wrong secret or invite) per address before it must wait.
    pub enroll_failure_burst: u32,
    /// Failed enrollment attempts per address per minute, sustained.
    pub enroll_failures_per_minute: u32,
    /// KeyPackages one client may claim per minute (sustained; the burst is the same).
    pub claims_per_minute: u32,
    /// KeyPackages of one target that one claimer may take per hour (burst the same): stops a
    /// member from draining someone's KeyPackages down to the last resort.
    pub claims_per_target_per_hour: u32,
    /// KeyPackages of one target that all claimers together may take per minute.
    pub claims_of_target_per_minute: u32,
    /// KeyPackages one client may hold on the server.
    pub max_key_packages: u64,
    /// Groups one client may create (groups are never deleted: a count over its lifetime).
    pub max_groups_per_client: u64,
    /// Messages (of any kind) one client may post per minute, sustained; the burst is the
    /// same. With the retention policy this bounds what one client can make the log hold.
    pub messages_per_minute: u32,
    /// Bytes of messages one log fetch may return (one message always comes, however
    /// large): what a fetch costs the server follows what it answers, not `limit`.
    pub max_page_bytes: usize,
    /// Open WebSocket subscriptions per client.
    pub max_websockets_per_client: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_second: 100,
            request_burst: 200,
            enroll_failure_burst: 10,
            enroll_failures_per_minute: 6,
            claims_per_minute: 120,
            claims_per_target_per_hour: 4,
            claims_of_target_per_minute: 10,
            max_key_packages: 200,
            max_groups_per_client: 10_000,
            messages_per_minute: 600,
            max_page_bytes: 4 << 20,
            max_websockets_per_client: 4,
        }
    }
}

/// A refusal: how long until trying again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least one (the `Retry-After` header has no fractions).
    pub fn secs(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn keyed<K: std::hash::Hash + Eq + Clone>(quota: Quota) -> DefaultKeyedRateLimiter<K> {
    RateLimiter::keyed(quota)
}

/// A bucket whose budget belongs to a client, an address or a pair, not to one instance: with
/// several instances over one database these live in the database
/// ([`Store::take_rate`](crate::store::Store::take_rate)), so N instances do not allow N times
/// the rate. The request bucket is not one of them: it protects the instance it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    /// Messages posted by a client.
    Messages,
    /// KeyPackages claimed by a client.
    Claims,
    /// KeyPackages of one target claimed by one claimer (key `claimer\ntarget`).
    ClaimsPair,
    /// KeyPackages of one target claimed by anyone.
    ClaimsTarget,
    /// Failed enrollments from an address.
    EnrollFailures,
}

impl Bucket {
    /// The bucket's name in the database.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Messages => "messages",
            Bucket::Claims => "claims",
            Bucket::ClaimsPair => "claims_pair",
            Bucket::ClaimsTarget => "claims_target",
            Bucket::EnrollFailures => "enroll_failures",
        }
    }
}

/// A GCRA quota in the form a database can evaluate: one cell every `interval`, at most
/// `burst` cells at once (governor's `Quota`, spelled out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time for one cell to come back.
    pub interval: Duration,
    /// Cells available at once.
    pub burst: u32,
}

impl Rate {
    fn per(period: Duration, n: u32) -> Rate {
        let n = n.max(1);
        Rate {
            interval: period / n,
            burst: n,
        }
    }

    fn quota(self) -> Quota {
        Quota::with_period(self.interval.max(Duration::from_nanos(1)))
            .unwrap_or(Quota::per_second(NonZeroU32::MIN))
            .allow_burst(nz(self.burst))
    }
}

/// The live buckets.
pub(crate) struct Limiters {
    pub limits: Limits,
    requests: DefaultKeyedRateLimiter<String>,
    enroll_failures: DefaultKeyedRateLimiter<String>,
    enroll_blocked: Mutex<HashMap<IpAddr, Instant>>,
    claims: DefaultKeyedRateLimiter<String>,
    claims_pair: DefaultKeyedRateLimiter<String>,
    claims_target: DefaultKeyedRateLimiter<String>,
    messages: DefaultKeyedRateLimiter<String>,
    sockets: Arc<Mutex<HashMap<String, u32>>>,
}

impl Limiters {
    /// Buckets for `limits`.
    pub fn new(limits: Limits) -> Limiters {
        let local = |b: Bucket| keyed(Self::rate_of(&limits, b).quota());
        Limiters {
            limits,
            requests: keyed(
                Quota::per_second(nz(limits.requests_per_second))
                    .allow_burst(nz(limits.request_burst)),
            ),
            enroll_failures: local(Bucket::EnrollFailures),
            enroll_blocked: Mutex::new(HashMap::new()),
            claims: local(Bucket::Claims),
            claims_pair: local(Bucket::ClaimsPair),
            claims_target: local(Bucket::ClaimsTarget),
            messages: local(Bucket::Messages),
            sockets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn rate_of(limits: &Limits, bucket: Bucket) -> Rate {
        const MINUTE: Duration = Duration::from_secs(60);
        match bucket {
            Bucket::Messages => Rate::per(MINUTE, limits.messages_per_minute),
            Bucket::Claims => Rate::per(MINUTE, limits.claims_per_minute),
            Bucket::ClaimsPair => {
                Rate::per(Duration::from_secs(3600), limits.claims_per_target_per_hour)
            }
            Bucket::ClaimsTarget => Rate::per(MINUTE, limits.claims_of_target_per_minute),
            Bucket::EnrollFailures => Rate {
                interval: MINUTE / limits.enroll_failures_per_minute.max(1),
                burst: limits.enroll_failure_burst.max(1),
            },
        }
    }

    /// The quota of `bucket`.
    pub fn rate(&self, bucket: Bucket) -> Rate {
        Self::rate_of(&self.limits, bucket)
    }

    fn local(&self, bucket: Bucket) -> &DefaultKeyedRateLimiter<String> {
        match bucket {
            Bucket::Messages => &self.messages,
            Bucket::Claims => &self.claims,
            Bucket::ClaimsPair => &self.claims_pair,
            Bucket::ClaimsTarget => &self.claims_target,
            Bucket::EnrollFailures => &self.enroll_failures,
        }
    }

    fn wait(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> RetryAfter {
        RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Take `n` cells of `bucket` for `key` from this process's buckets (one instance).
    pub fn take_local(&self, bucket: Bucket, key: &str, n: u32) -> Result<(), RetryAfter> {
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.local(bucket).check_key_n(&key.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Self::wait(not_until)),
            // More than the burst can ever hold: wait a whole period.
            Err(_) => {
                let rate = self.rate(bucket);
                Err(RetryAfter(rate.interval * rate.burst))
            }
        }
    }

    /// One request by `client`.
    pub fn request(&self, client: &str) -> Result<(), RetryAfter> {
        self.requests
            .check_key(&client.to_owned())
            .map_err(Self::wait)
    }

    /// Whether `ip` must wait before its next enrollment attempt (this process's view).
    pub fn enroll_blocked(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        let mut blocked = self
            .enroll_blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match blocked.get(&ip) {
            Some(until) if *until > now => Err(RetryAfter(*until - now)),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Count a failed enrollment attempt from `ip`; past the burst, block it for a while.
    pub fn enroll_failed(&self, ip: IpAddr) {
        if let Err(RetryAfter(wait)) = self.take_local(Bucket::EnrollFailures, &ip.to_string(), 1) {
            let wait = wait.max(Duration::from_secs(1));
            let mut blocked = self
                .enroll_blocked
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if blocked.len() > 100_000 {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, Instant::now() + wait);
        }
    }

    /// The buckets one claim by `claimer` of one KeyPackage of each of `targets` takes from,
    /// with the cells each needs: the claimer's own, then one pair and one target bucket per
    /// target (claiming one's own packages costs only the first).
    pub fn claim_takes(claimer: &str, targets: &[String]) -> Vec<(Bucket, String, u32)> {
        let n = u32::try_from(targets.len()).unwrap_or(u32::MAX);
        let mut takes = vec![(Bucket::Claims, claimer.to_owned(), n)];
        for target in targets.iter().filter(|t| *t != claimer) {
            takes.push((Bucket::ClaimsPair, format!("{claimer}\n{target}"), 1));
            takes.push((Bucket::ClaimsTarget, target.clone(), 1));
        }
        takes
    }

    /// Open a WebSocket for `client`, if it has fewer than the cap; the guard closes it.
    pub fn open_socket(&self, client: &str) -> Option<SocketGuard> {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        let open = sockets.entry(client.to_owned()).or_insert(0);
        if *open >= self.limits.max_websockets_per_client {
            return None;
        }
        *open += 1;
        Some(SocketGuard {
            sockets: self.sockets.clone(),
            client: client.to_owned(),
        })
    }

    /// Drop buckets that are full again, so memory follows active clients only.
    pub fn shrink(&self) {
        self.requests.retain_recent();
        self.enroll_failures.retain_recent();
        self.claims.retain_recent();
        self.claims_pair.retain_recent();
        self.claims_target.retain_recent();
        self.messages.retain_recent();
        let now = Instant::now();
        self.enroll_blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }
}

/// An open WebSocket counted against its client's cap.
pub(crate) struct SocketGuard {
    sockets: Arc<Mutex<HashMap<String, u32>>>,
    client: String,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = sockets.get_mut(&self.client) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                sockets.remove(&self.client);
            }
        }
    }
}
