//! HTTP client of the Cohort Delivery Service and Authentication Service (server/README.md).
//!
//! Every reply is parsed into a typed struct; anything unexpected is an [`ApiError::BadReply`],
//! never a panic. Requests that never reached the server (connection refused) are retried
//! within the retry window; requests that may have reached it are retried only when they are
//! idempotent (reads, and posts of the same bytes, which the server deduplicates).

pub mod tls;
pub mod ws;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// base64url without padding, the server's encoding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url or standard base64, with or without padding.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| STANDARD.decode(text))
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The server answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// The `error` code (`conflict`, `duplicate`, `forbidden`, ...).
        code: String,
        /// The server's message.
        message: String,
        /// On ordering conflicts: the group's current epoch.
        current_epoch: Option<u64>,
        /// On `duplicate`: where the same bytes already are.
        seq: Option<u64>,
    },
    /// The server could not be reached or the connection broke.
    Network(String),
    /// The server answered something this client does not understand.
    BadReply(String),
}

impl ApiError {
    /// A 409 `conflict` (another commit won the epoch, or the epoch moved on).
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Status { status: 409, code, .. } if code != "duplicate")
    }

    /// A 409 `duplicate`: the same bytes are already in the log at `seq`.
    pub fn duplicate_seq(&self) -> Option<u64> {
        match self {
            ApiError::Status {
                status: 409,
                code,
                seq,
                ..
            } if code == "duplicate" => *seq,
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Status {
                status,
                code,
                message,
                current_epoch,
                ..
            } => {
                write!(f, "server said {status} {code}: {message}")?;
                if let Some(e) = current_epoch {
                    write!(f, " (current epoch {e})")?;
                }
                Ok(())
            }
            ApiError::Network(m) => write!(f, "cannot reach the server: {m}"),
            ApiError::BadReply(m) => write!(f, "unexpected reply from the server: {m}"),
        }
    }
}

impl From<ApiError> for crate::error::Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Network(_) => crate::error::Error::offline(e.to_string()),
            _ => crate::error::Error::new(e.to_string()),
        }
    }
}

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiError>;

/// A connection to one server, optionally authenticated with a bearer token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// Every instance's URL; requests go to `bases[current]` and move on when it fails.
    bases: Vec<String>,
    current: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    token: Option<Zeroizing<String>>,
    retry_window: Duration,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("bases", &self.bases)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Reply of `POST /v1/enroll`.
#[derive(Deserialize)]
pub struct Enrolled {
    /// The enrolled client id.
    pub client_id: String,
    /// `mls:<client id>`.
    pub identity: String,
    /// `[leaf, root]`, base64.
    pub certificate_chain: Vec<String>,
    /// The bearer token (shown once).
    pub token: String,
}

/// One entry of a KeyPackage claim.
#[derive(Deserialize, Debug)]
#[allow(dead_code)] // mirrors the API reply
pub struct Claimed {
    /// Whose package.
    pub client_id: String,
    /// The package (MLSMessage or KeyPackage), base64; `None` if the client has none left.
    pub key_package: Option<String>,
    /// Whether it is the client's last-resort package.
    #[serde(default)]
    pub last_resort: bool,
}

/// A group as the DS sees it.
#[derive(Deserialize, Debug, Clone)]
#[allow(dead_code)] // mirrors the API reply
pub struct GroupRecord {
    /// Group id, base64url.
    pub group_id: String,
    /// Current epoch.
    pub epoch: u64,
    /// Creator's client id.
    pub creator: String,
    /// Whether external joins are allowed.
    pub allow_external_join: bool,
    /// Last log sequence number.
    pub last_seq: u64,
    /// Member client ids.
    pub members: Vec<String>,
    /// `"public"` or `"private"` handshakes (absent from servers before modes existed).
    #[serde(default)]
    pub handshake: Option<String>,
}

/// Body of `POST /v1/groups/{gid}/messages`.
#[derive(Serialize, Default, Debug, Clone)]
pub struct PostMessage {
    /// The MLSMessage, base64url.
    pub message: String,
    /// The Welcome of a commit that adds members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome: Option<String>,
    /// Who gets the Welcome.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub welcome_recipients: Vec<String>,
    /// GroupInfo of the new epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_info: Option<String>,
    /// Clients the commit adds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Clients the commit removes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// Reply of a post: where the message is in the log.
#[derive(Deserialize, Debug, Clone, Copy)]
pub struct Posted {
    /// Sequence number.
    pub seq: u64,
    /// The group's epoch after the message.
    pub epoch: u64,
}

/// One log entry.
#[derive(Deserialize, Debug, Clone)]
#[allow(dead_code)] // mirrors the API reply
pub struct LogEntry {
    /// Sequence number.
    pub seq: u64,
    /// Epoch in the message header.
    pub epoch: u64,
    /// `commit`, `proposal` or `application`.
    pub content_type: String,
    /// `public` or `private`.
    #[serde(default)]
    pub wire_format: String,
    /// The poster's client id (as the DS authenticated it).
    pub sender: String,
    /// The MLSMessage, base64.
    pub message: String,
}

/// Reply of `GET /v1/groups/{gid}/messages`.
#[derive(Deserialize, Debug)]
#[allow(dead_code)] // mirrors the API reply
pub struct LogPage {
    /// Entries in order.
    pub messages: Vec<LogEntry>,
    /// Oldest entry retention kept.
    #[serde(default)]
    pub first_seq: Option<u64>,
    /// Newest entry.
    pub last_seq: u64,
    /// The group's epoch.
    pub epoch: u64,
}

/// One Welcome in the inbox.
#[derive(Deserialize, Debug, Clone)]
#[allow(dead_code)] // mirrors the API reply
pub struct InboxEntry {
    /// Inbox id (cursor).
    pub id: u64,
    /// Group id, base64url.
    pub group_id: String,
    /// Epoch the Welcome leads to.
    pub epoch: u64,
    /// The Welcome, base64.
    pub welcome: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    current_epoch: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
}

fn bad_reply(e: impl fmt::Display) -> ApiError {
    ApiError::BadReply(e.to_string())
}

/// Decode a base64 field of a reply.
pub fn field_bytes(text: &str, what: &str) -> ApiResult<Vec<u8>> {
    unb64(text).ok_or_else(|| ApiError::BadReply(format!("{what} is not base64")))
}

impl Api {
    /// A client for `base` (e.g. `https://ds.example.com` or `http://127.0.0.1:8080`). HTTPS
    /// trusts the system's roots unless a CA was pinned ([`tls::pin_ca_file`]).
    /// `base` is one URL, or several separated by commas (instances of one service behind
    /// no load balancer): a request that cannot reach one instance goes to the next.
    pub fn new(base: &str, token: Option<String>) -> Result<Api, crate::error::Error> {
        let bases: Vec<String> = base
            .split(',')
            .map(|b| b.trim().trim_end_matches('/').to_string())
            .filter(|b| !b.is_empty())
            .collect();
        if bases.is_empty() {
            return Err(crate::error::Error::new("no server URL given"));
        }
        for base in &bases {
            if !base.starts_with("http://") && !base.starts_with("https://") {
                return Err(crate::error::Error::new(format!(
                    "server URL must start with https:// (or http:// on loopback): {base}"
                )));
            }
        }
        // reqwest's rustls backend wants a process-wide provider even for plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(4);
        if bases.iter().any(|b| b.starts_with("https://")) {
            builder = builder
                .tls_backend_preconfigured(rustls::ClientConfig::clone(&*tls::client_config()?));
        }
        let http = builder
            .build()
            .map_err(|e| crate::error::Error::new(format!("HTTP client: {e}")))?;
        Ok(Api {
            http,
            bases,
            current: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            token: token.map(Zeroizing::new),
            // How long an unreachable server is retried (e.g. while it restarts).
            retry_window: Duration::from_secs(
                std::env::var("COHORT_RETRY_SECS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(10),
            ),
        })
    }

    /// The URL of the instance in use.
    pub fn base(&self) -> &str {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        &self.bases[i % self.bases.len()]
    }

    /// Every instance's URL, comma-separated, as `new` takes them.
    pub fn urls(&self) -> String {
        self.bases.join(",")
    }

    /// Move to the next instance after `failed` (unless another call already moved on).
    fn fail_over(&self, failed: usize) {
        if self.bases.len() > 1 {
            let next = (failed + 1) % self.bases.len();
            let _ = self.current.compare_exchange(
                failed,
                next,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }

    /// The WebSocket URL of `/v1/subscribe` on the instance in use.
    pub fn subscribe_url(&self) -> String {
        let base = self.base();
        let rest = base
            .strip_prefix("https://")
            .map(|r| format!("wss://{r}"))
            .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
            .unwrap_or_else(|| base.to_owned());
        format!("{rest}/v1/subscribe")
    }

    /// The instance in use failed to answer a subscription: try the next one next time.
    pub fn subscription_failed(&self) {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        self.fail_over(i % self.bases.len());
    }

    /// The bearer token, for the WebSocket upgrade.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.as_str())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> ApiResult<T> {
        let start = std::time::Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let instance =
                self.current.load(std::sync::atomic::Ordering::Relaxed) % self.bases.len();
            let url = format!("{}{}", self.bases[instance], path);
            let mut req = self.http.request(method.clone(), &url);
            if let Some(t) = &self.token {
                req = req.bearer_auth(t.as_str());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let retryable = |e: &reqwest::Error| {
                (e.is_connect() || (idempotent && !e.is_builder())) && tls::tls_failure(e).is_none()
            };
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if retryable(&e) && start.elapsed() < self.retry_window => {
                    self.fail_over(instance);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                    continue;
                }
                Err(e) => return Err(ApiError::Network(describe(&e))),
            };
            let status = resp.status();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) if idempotent && start.elapsed() < self.retry_window => {
                    let _ = e;
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(e) => return Err(ApiError::Network(describe(&e))),
            };
            if status.is_success() {
                return serde_json::from_slice(&bytes).map_err(bad_reply);
            }
            // 429: the server did nothing and says when to come back; wait if that fits.
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v["retry_after"].as_u64())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                if start.elapsed() + wait < self.retry_window {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            // 503: this instance stored nothing (its database is away): any call may go again,
            // to the next instance if there is one.
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE
                && start.elapsed() < self.retry_window
            {
                self.fail_over(instance);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
                continue;
            }
            // 5xx from a proxy while the server restarts: retry idempotent calls.
            if status.is_server_error()
                && idempotent
                && start.elapsed() < self.retry_window
                && status.as_u16() != 500
            {
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => ApiError::Status {
                    status: status.as_u16(),
                    code: e.error,
                    message: e.message,
                    current_epoch: e.current_epoch,
                    seq: e.seq,
                },
                Err(_) => ApiError::Status {
                    status: status.as_u16(),
                    code: status
                        .canonical_reason()
                        .unwrap_or("error")
                        .to_ascii_lowercase(),
                    message: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into(),
                    current_epoch: None,
                    seq: None,
                },
            });
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        self.call(reqwest::Method::GET, path, None, true).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        idempotent: bool,
    ) -> ApiResult<T> {
        self.call(reqwest::Method::POST, path, Some(body), idempotent)
            .await
    }

    /// `GET /v1/ca`: the AS root certificate (DER).
    pub async fn root_certificate(&self) -> ApiResult<Vec<u8>> {
        #[derive(Deserialize)]
        struct Ca {
            root_certificate: String,
        }
        let ca: Ca = self.get("/v1/ca").await?;
        field_bytes(&ca.root_certificate, "root_certificate")
    }

    /// `POST /v1/enroll`.
    pub async fn enroll(
        &self,
        client_id: &str,
        csr: &[u8],
        enrollment_secret: Option<&str>,
        invite: Option<&str>,
    ) -> ApiResult<Enrolled> {
        let mut body = json!({ "client_id": client_id, "csr": b64(csr) });
        if let Some(s) = enrollment_secret {
            body["enrollment_secret"] = json!(s);
        }
        if let Some(i) = invite {
            body["invite"] = json!(i);
        }
        self.post("/v1/enroll", &body, false).await
    }

    /// `POST /v1/key-packages`: publish MLSMessage(KeyPackage)s.
    pub async fn publish_key_packages(&self, packages: &[Vec<u8>]) -> ApiResult<u64> {
        #[derive(Deserialize)]
        struct Accepted {
            accepted: u64,
        }
        let list: Vec<String> = packages.iter().map(|p| b64(p)).collect();
        let r: Accepted = self
            .post("/v1/key-packages", &json!({ "key_packages": list }), true)
            .await?;
        Ok(r.accepted)
    }

    /// `GET /v1/key-packages`: `(available, has last resort)` for `suite`.
    pub async fn key_package_counts(&self, suite: u16) -> ApiResult<(u64, bool)> {
        #[derive(Deserialize)]
        struct Count {
            cipher_suite: u16,
            available: u64,
            #[serde(default)]
            last_resort: bool,
        }
        #[derive(Deserialize)]
        struct Counts {
            counts: Vec<Count>,
        }
        let c: Counts = self.get("/v1/key-packages").await?;
        Ok(c.counts
            .iter()
            .find(|c| c.cipher_suite == suite)
            .map(|c| (c.available, c.last_resort))
            .unwrap_or((0, false)))
    }

    /// `POST /v1/key-packages/claim`.
    pub async fn claim_key_packages(
        &self,
        suite: u16,
        client_ids: &[String],
    ) -> ApiResult<Vec<Claimed>> {
        #[derive(Deserialize)]
        struct Reply {
            key_packages: Vec<Claimed>,
        }
        let r: Reply = self
            .post(
                "/v1/key-packages/claim",
                &json!({ "cipher_suite": suite, "client_ids": client_ids }),
                false,
            )
            .await?;
        Ok(r.key_packages)
    }

    /// `POST /v1/groups`.
    pub async fn create_group(
        &self,
        group_id: &[u8],
        allow_external_join: bool,
        group_info: &[u8],
        private: bool,
    ) -> ApiResult<GroupRecord> {
        self.post(
            "/v1/groups",
            &json!({
                "group_id": b64(group_id),
                "allow_external_join": allow_external_join,
                "group_info": b64(group_info),
                "handshake": if private { "private" } else { "public" },
            }),
            false,
        )
        .await
    }

    /// `GET /v1/groups/{gid}`.
    pub async fn group(&self, group_id: &[u8]) -> ApiResult<GroupRecord> {
        self.get(&format!("/v1/groups/{}", b64(group_id))).await
    }

    /// `POST /v1/groups/{gid}/commits/{seq}/ack`: we processed the commit at `seq`.
    pub async fn ack_commit(&self, group_id: &[u8], seq: u64) -> ApiResult<GroupRecord> {
        self.post(
            &format!("/v1/groups/{}/commits/{seq}/ack", b64(group_id)),
            &json!({}),
            true,
        )
        .await
    }

    /// `POST /v1/groups/{gid}/messages`. Retrying the same bytes is safe: the server answers
    /// a repeat with `duplicate` and the original `seq`.
    pub async fn post_message(&self, group_id: &[u8], msg: &PostMessage) -> ApiResult<Posted> {
        let body = serde_json::to_value(msg).map_err(bad_reply)?;
        self.post(
            &format!("/v1/groups/{}/messages", b64(group_id)),
            &body,
            true,
        )
        .await
    }

    /// `GET /v1/groups/{gid}/messages?after=N&limit=M`.
    pub async fn fetch_messages(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u32,
    ) -> ApiResult<LogPage> {
        self.get(&format!(
            "/v1/groups/{}/messages?after={after}&limit={limit}",
            b64(group_id)
        ))
        .await
    }

    /// `GET /v1/groups/{gid}/group-info`: `(epoch, GroupInfo MLSMessage)`.
    pub async fn group_info(&self, group_id: &[u8]) -> ApiResult<(u64, Vec<u8>)> {
        #[derive(Deserialize)]
        struct Reply {
            epoch: u64,
            group_info: String,
        }
        let r: Reply = self
            .get(&format!("/v1/groups/{}/group-info", b64(group_id)))
            .await?;
        Ok((r.epoch, field_bytes(&r.group_info, "group_info")?))
    }

    /// `GET /v1/groups/{gid}/ratchet-tree`: the tree of the group's current epoch.
    pub async fn ratchet_tree(&self, group_id: &[u8]) -> ApiResult<Vec<u8>> {
        #[derive(Deserialize)]
        struct Reply {
            ratchet_tree: String,
        }
        let r: Reply = self
            .get(&format!("/v1/groups/{}/ratchet-tree", b64(group_id)))
            .await?;
        field_bytes(&r.ratchet_tree, "ratchet_tree")
    }

    /// `GET /v1/welcomes?after=N`.
    pub async fn welcomes(&self, after: u64) -> ApiResult<Vec<InboxEntry>> {
        #[derive(Deserialize)]
        struct Reply {
            welcomes: Vec<InboxEntry>,
        }
        let r: Reply = self
            .get(&format!("/v1/welcomes?after={after}&limit=100"))
            .await?;
        Ok(r.welcomes)
    }

    /// `POST /v1/welcomes/ack`.
    pub async fn ack_welcomes(&self, upto: u64) -> ApiResult<()> {
        let _: Value = self
            .post("/v1/welcomes/ack", &json!({ "upto": upto }), true)
            .await?;
        Ok(())
    }
}

/// A reqwest error in a few words: what failed and the innermost cause.
fn describe(e: &reqwest::Error) -> String {
    if let Some(tls) = tls::tls_failure(e) {
        return tls;
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause = None;
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    match cause {
        Some(c) => format!("{what} ({c})"),
        None => what.to_string(),
    }
}
