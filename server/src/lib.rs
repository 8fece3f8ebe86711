//! Cohort's Delivery Service and Authentication Service (RFC 9750 §5, §6) in one process.
//!
//! - [`authority`]: a small X.509 CA issuing MLS credentials, and [`authority::validate_credential`]
//!   for clients to check each other's credentials.
//! - [`store`]: the [`store::Store`] trait and its SQLite implementation.
//! - The HTTP/WebSocket API, started in-process with [`start`] or by the `cohort-server`
//!   binary. `server/README.md` documents every route.
//!
//! The DS never holds group keys. It reads the public header of every MLS message and, in
//! groups that use PublicMessage handshakes (the default), verifies each proposal and commit
//! through the library's public view of the group ([`inspect::decide_post`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
pub mod authority;
pub mod inspect;
pub mod limits;
pub mod listener;
pub mod metrics;
mod push;
pub mod store;

pub use api::ApiError;

use authority::CertificateAuthority;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use store::{Retention, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// Who may enroll.
#[derive(Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// Anyone (demos only: logged as a warning at start).
    Open,
    /// Whoever knows this secret, or holds an invite token.
    Secret(String),
    /// Only holders of single-use invite tokens.
    InviteOnly,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Enrollment::Open => write!(f, "Open"),
            Enrollment::Secret(_) => write!(f, "Secret(<redacted>)"),
            Enrollment::InviteOnly => write!(f, "InviteOnly"),
        }
    }
}

/// Default request body limit: 16 MiB. A commit adding 1,023 members to an X-Wing or
/// ML-KEM-768 group plus its Welcome is 5.3 MB before base64 and X.509 credentials
/// (`cargo bench --bench pq_suites`), ~8.5 MB as posted; 1 MiB fit only ~100 such members.
/// ML-DSA suites need more for adds that large (8.7 MB commit + 6.3 MB Welcome at 1,024
/// members with ML-DSA-44): raise `--max-body-bytes` or add in batches.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Server configuration.
#[derive(Clone)]
pub struct Config {
    /// Enrollment policy.
    pub enrollment: Enrollment,
    /// Bearer token of the operator for `/v1/admin/*`; `None` disables the admin API.
    pub admin_token: Option<String>,
    /// Largest request body in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Validity of issued client certificates, in days.
    pub cert_validity_days: i64,
    /// Default lifetime of invite tokens, in seconds.
    pub invite_ttl_secs: i64,
    /// Log and inbox retention.
    pub retention: Retention,
    /// How often retention runs.
    pub prune_interval: Duration,
    /// Common name of the root certificate created at first start.
    pub ca_name: String,
    /// The CA key's file. `None`: [`start_with_sqlite`] keeps it beside the database, and
    /// [`start`] keeps a new key in memory only (a CA for one run, e.g. an in-memory store).
    pub ca_key: Option<authority::key_file::CaKeyFile>,
    /// PostgreSQL URL whose `LISTEN/NOTIFY` carries events between the instances sharing it.
    pub push_database: Option<String>,
    /// Root certificates (PEM) that the push connection verifies the database against; `None`:
    /// plain (see [`store::postgres::tls`]).
    pub push_database_ca: Option<std::path::PathBuf>,
    /// Serve HTTPS with this identity; `None` serves plain HTTP (loopback only, unless
    /// `insecure_http`).
    pub tls: Option<listener::TlsIdentity>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub insecure_http: bool,
    /// Connection cap and timeouts.
    pub limits: listener::ConnectionLimits,
    /// Rate limits and quotas per client, address and KeyPackage target.
    pub quotas: limits::Limits,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("enrollment", &self.enrollment)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("cert_validity_days", &self.cert_validity_days)
            .field("retention", &self.retention)
            .field("tls", &self.tls.is_some())
            .field("ca_key", &self.ca_key)
            .field(
                "push_database",
                &self.push_database.as_ref().map(|_| "<set>"),
            )
            .field("push_database_ca", &self.push_database_ca)
            .field("insecure_http", &self.insecure_http)
            .field("limits", &self.limits)
            .field("quotas", &self.quotas)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enrollment: Enrollment::InviteOnly,
            admin_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            cert_validity_days: 365,
            invite_ttl_secs: 7 * 24 * 3600,
            retention: Retention::default(),
            prune_interval: Duration::from_secs(3600),
            ca_name: "Cohort root CA".into(),
            ca_key: None,
            push_database: None,
            push_database_ca: None,
            tls: None,
            insecure_http: false,
            limits: listener::ConnectionLimits::default(),
            quotas: limits::Limits::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// Opening or initialising storage failed.
    Store(StoreError),
    /// The CA could not be created or loaded.
    Authority(authority::AuthorityError),
    /// The CA key file could not be read or written.
    KeyFile(authority::key_file::KeyFileError),
    /// The listener's address could not be read.
    Io(std::io::Error),
    /// Plain HTTP was asked for on an address other hosts can reach.
    PlainHttpOffLoopback(SocketAddr),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "{e}"),
            StartError::Authority(e) => write!(f, "{e}"),
            StartError::KeyFile(e) => write!(f, "{e}"),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::PlainHttpOffLoopback(a) => write!(
                f,
                "refusing plain HTTP on {a}: tokens and enrollment secrets would cross the \
                 network in clear; give --tls-cert and --tls-key, or --insecure-http behind a \
                 TLS-terminating proxy"
            ),
        }
    }
}

impl std::error::Error for StartError {}

/// Asks a running server to stop; cloneable.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Stop accepting requests, close subscriptions, and let in-flight requests finish.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// A server running on the current Tokio runtime.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    root_der: Vec<u8>,
    handle: ShutdownHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// DER of the AS root certificate (the trust anchor for [`authority::validate_credential`]).
    pub fn root_certificate(&self) -> &[u8] {
        &self.root_der
    }

    /// A handle that stops the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Wait until the server stops (after [`ShutdownHandle::shutdown`]).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Stop the server and wait for it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.handle.shutdown();
        self.wait().await
    }
}

/// Open (or create) the SQLite database at `db` and [`start`] on `listener`.
pub async fn start_with_sqlite(
    listener: TcpListener,
    db: &Path,
    mut config: Config,
) -> Result<RunningServer, StartError> {
    if config.ca_key.is_none() {
        config.ca_key = Some(authority::key_file::CaKeyFile::beside(db, None));
    }
    let path = db.to_path_buf();
    let store = tokio::task::spawn_blocking(move || store::sqlite::SqliteStore::open(&path))
        .await
        .map_err(|e| StartError::Io(std::io::Error::other(e)))?
        .map_err(StartError::Store)?;
    start(listener, Arc::new(store), config).await
}

/// Load or create the CA: its key from `key_file` (moving a key that an older server kept in
/// the database there first), its root certificate from the store.
pub fn load_authority(
    store: &dyn Store,
    ca_name: &str,
    key_file: Option<&authority::key_file::CaKeyFile>,
) -> Result<CertificateAuthority, StartError> {
    let legacy = store.legacy_ca_key().map_err(StartError::Store)?;
    let fresh = || CertificateAuthority::generate_key().map_err(StartError::Authority);
    let key = match key_file {
        None => match &legacy {
            Some(k) => k.clone(),
            None => fresh()?,
        },
        Some(file) => match file.load().map_err(StartError::KeyFile)? {
            Some(k) => k,
            None => {
                let k = match &legacy {
                    Some(k) => k.clone(),
                    None => fresh()?,
                };
                match file.create(&k) {
                    Ok(()) => {
                        tracing::info!(file = %file.path.display(), encrypted = file.passphrase.is_some(), "CA key file written");
                        k
                    }
                    // Another instance created it between our look and our write.
                    Err(e) => file
                        .load()
                        .map_err(StartError::KeyFile)?
                        .ok_or(StartError::KeyFile(e))?,
                }
            }
        },
    };
    let mut make = || {
        CertificateAuthority::self_signed_root(&key, ca_name, 10)
            .map_err(|e| StoreError::Backend(e.to_string()))
    };
    let root_der = store.ca_root(&mut make).map_err(StartError::Store)?;
    let ca = CertificateAuthority::from_material(&authority::CaMaterial {
        key_pkcs8: key,
        root_der,
    })
    .map_err(StartError::Authority)?;
    if key_file.is_some() && legacy.is_some() {
        store.forget_legacy_ca_key().map_err(StartError::Store)?;
        tracing::info!("CA key moved out of the database into its key file");
    }
    Ok(ca)
}

fn hash_secret(s: &str) -> [u8; 32] {
    api::sha256(s.as_bytes())
}

/// Serve the API on `listener` over `store`, in the background on the current runtime.
///
/// Returns once the CA is loaded and the listener is serving; the result carries the bound
/// address and a [`ShutdownHandle`].
pub async fn start(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: Config,
) -> Result<RunningServer, StartError> {
    let addr = listener.local_addr().map_err(StartError::Io)?;
    if config.tls.is_none() && !config.insecure_http && !listener::plain_http_allowed(&addr) {
        return Err(StartError::PlainHttpOffLoopback(addr));
    }
    let ca_store = store.clone();
    let ca_name = config.ca_name.clone();
    let ca_key = config.ca_key.clone();
    let ca = tokio::task::spawn_blocking(move || {
        load_authority(ca_store.as_ref(), &ca_name, ca_key.as_ref())
    })
    .await
    .map_err(|e| StartError::Io(std::io::Error::other(e)))??;
    let root_der = ca.root_der().to_vec();
    if config.enrollment == Enrollment::Open {
        tracing::warn!(
            "OPEN ENROLLMENT: anyone who can reach this server can enroll any client id. \
             Use only for demos."
        );
    }
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (events, _) = broadcast::channel(1024);
    let bus = config.push_database.clone().map(|url| {
        let ca = config.push_database_ca.clone();
        push::start(url, ca, events.clone(), shutdown_rx.clone())
    });
    if let Some((_, listening)) = &bus {
        // Hear the other instances before saying we are up; a database that is away now
        // only delays push (clients catch up by cursor), it does not stop the start.
        let mut listening = listening.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), listening.wait_for(|l| *l)).await;
    }
    let shared = Arc::new(api::Shared {
        store: store.clone(),
        ca,
        enrollment_secret_hash: match &config.enrollment {
            Enrollment::Secret(s) => Some(hash_secret(s)),
            _ => None,
        },
        admin_token_hash: config.admin_token.as_deref().map(hash_secret),
        limiters: limits::Limiters::new(config.quotas),
        metrics: metrics::Metrics::new(),
        bus: bus.map(|(b, _)| b),
        config: config.clone(),
        events,
        shutdown: shutdown_rx.clone(),
    });
    spawn_retention(
        store,
        config.retention,
        config.prune_interval,
        shutdown_rx.clone(),
    );
    spawn_limiter_upkeep(shared.clone(), shutdown_rx.clone());
    let app = api::router(shared);
    let tls = config.tls.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(listener::serve(
        listener,
        app,
        tls,
        config.limits,
        shutdown_rx,
    ));
    tracing::info!(%addr, scheme, "cohort-server listening");
    Ok(RunningServer {
        addr,
        root_der,
        handle: ShutdownHandle(Arc::new(shutdown_tx)),
        task,
    })
}

impl From<StartError> for std::io::Error {
    fn from(e: StartError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// Forget full buckets once a minute, so limiter memory follows the active clients only.
fn spawn_limiter_upkeep(shared: api::AppState, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => shared.limiters.shrink(),
                _ = stop.changed() => return,
            }
        }
    });
}

fn spawn_retention(
    store: Arc<dyn Store>,
    retention: Retention,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    if retention == Retention::default() && every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let s = store.clone();
            let now = api::now();
            match tokio::task::spawn_blocking(move || s.prune(&retention, now)).await {
                Ok(Ok(r)) if r != store::PruneReport::default() => tracing::info!(
                    messages = r.messages,
                    welcomes = r.welcomes,
                    expired = r.expired,
                    "retention pruned"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
                Err(_) => tracing::error!("retention task panicked"),
            }
        }
    });
}
