//! What an operator watches: Prometheus text exposition of the server's counters, served at
//! `/metrics` to the admin token (or on a separate `--metrics-listen` address). Each server
//! owns its registry: no process-global state, so several servers in one process (tests, the
//! demo) do not mix their figures.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A connection pool's state, as the store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub connections: u32,
    /// Of those, connections waiting for work.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// Labels as (name, value) pairs.
type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    commits: Family<Labels, Counter>,
    messages: Family<Labels, Counter>,
    message_bytes: Counter,
    subscribers: Gauge,
    rate_limited: Family<Labels, Counter>,
    storage_errors: Counter,
    pool: Family<Labels, Gauge>,
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("cohort");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            latency.clone(),
        );
        let commits = Family::<Labels, Counter>::default();
        registry.register(
            "commits",
            "commits posted, by outcome (accepted, conflict, rejected)",
            commits.clone(),
        );
        let messages = Family::<Labels, Counter>::default();
        registry.register(
            "messages_stored",
            "messages appended to group logs, by content type",
            messages.clone(),
        );
        let message_bytes = Counter::default();
        registry.register(
            "message_bytes_stored",
            "bytes of messages appended to group logs",
            message_bytes.clone(),
        );
        let subscribers = Gauge::default();
        registry.register(
            "websocket_subscribers",
            "open WebSocket subscriptions",
            subscribers.clone(),
        );
        let rate_limited = Family::<Labels, Counter>::default();
        registry.register(
            "rate_limited",
            "requests refused by a rate limit or quota, by limit",
            rate_limited.clone(),
        );
        let storage_errors = Counter::default();
        registry.register(
            "storage_errors",
            "storage calls that failed in the backend (database unreachable or broken)",
            storage_errors.clone(),
        );
        let pool = Family::<Labels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "database pool connections: busy, idle, and the pool's maximum",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            commits,
            messages,
            message_bytes,
            subscribers,
            rate_limited,
            storage_errors,
            pool,
        }
    }

    /// One answered request; `route` is the matched route template, never the raw path (a
    /// label per group id would grow without bound).
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
            ])
            .observe(seconds);
    }

    /// A commit's fate.
    pub fn commit(&self, outcome: &'static str) {
        self.commits
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    /// A message appended to a log.
    pub fn stored(&self, content_type: &'static str, bytes: usize) {
        self.messages
            .get_or_create(&vec![("content_type", content_type.to_owned())])
            .inc();
        self.message_bytes
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// A WebSocket opened (+1) or closed (-1).
    pub fn subscribers(&self, delta: i64) {
        self.subscribers.inc_by(delta);
    }

    /// A refusal by the named limit.
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&vec![("limit", limit.to_owned())])
            .inc();
    }

    /// A storage call failed in the backend.
    pub fn storage_error(&self) {
        self.storage_errors.inc();
    }

    /// The text exposition, with the pool's state as of now (sampled at scrape time: a
    /// pool's state changes on every query).
    pub fn render(&self, pool: Option<PoolState>) -> String {
        if let Some(p) = pool {
            let busy = p.connections.saturating_sub(p.idle);
            for (state, n) in [("busy", busy), ("idle", p.idle), ("max", p.max)] {
                self.pool
                    .get_or_create(&vec![("state", state.to_owned())])
                    .set(i64::from(n));
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_in_the_exposition() {
        let m = Metrics::new();
        m.commit("conflict");
        m.commit("conflict");
        m.commit("accepted");
        m.request("/v1/groups/{group_id}/messages", "POST", 409, 0.002);
        m.stored("commit", 100);
        let text = m.render(Some(PoolState {
            connections: 3,
            idle: 1,
            max: 16,
        }));
        assert!(
            text.contains("cohort_commits_total{outcome=\"conflict\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("cohort_commits_total{outcome=\"accepted\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cohort_message_bytes_stored_total 100"),
            "{text}"
        );
        assert!(
            text.contains("route=\"/v1/groups/{group_id}/messages\""),
            "{text}"
        );
        assert!(
            text.contains("cohort_db_pool_connections{state=\"busy\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("cohort_db_pool_connections{state=\"max\"} 16"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
