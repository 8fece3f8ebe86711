//! `cohort-server`: run the Delivery and Authentication Service, or administer its database.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use cohort_server::limits::Limits;
use cohort_server::store::postgres::PgStore;
use cohort_server::store::sqlite::SqliteStore;
use cohort_server::store::{Retention, Store};
use cohort_server::{Config, Enrollment};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cohort-server",
    about = "Cohort MLS Delivery Service and Authentication Service",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Which storage engine, where, and how to reach it.
#[derive(Args, Clone)]
struct StoreArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Root certificates (PEM) of the PostgreSQL server: connect over TLS, verified against
    /// them (and the URL's host). Without it the connection is plain.
    #[arg(long)]
    database_ca: Option<PathBuf>,
}

/// Which storage engine, and where.
#[derive(Args, Clone)]
#[group(required = false, multiple = false)]
struct EngineArgs {
    /// SQLite database path (created if missing): one instance.
    #[arg(long)]
    db: Option<PathBuf>,
    /// PostgreSQL URL (`postgres://user@host:port/db`): several instances may share it.
    #[arg(long, env = "COHORT_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
}

/// Connections in the PostgreSQL pool of one instance.
const DEFAULT_PG_POOL: u32 = 16;

impl StoreArgs {
    fn open(&self, grace: u64, pool: u32) -> Result<Box<dyn Store>, String> {
        match (&self.engine.db, &self.engine.database) {
            (Some(_), _) if self.database_ca.is_some() => {
                Err("--database-ca is for PostgreSQL (--database), not SQLite".into())
            }
            (Some(db), None) => SqliteStore::open(db)
                .map(|s| Box::new(s.with_grace_epochs(grace)) as Box<dyn Store>)
                .map_err(|e| format!("cannot open database: {e}")),
            (None, Some(url)) => {
                PgStore::connect_tls(url, pool.max(1), self.database_ca.as_deref())
                    .map(|s| Box::new(s.with_grace_epochs(grace)) as Box<dyn Store>)
                    .map_err(|e| format!("cannot open database: {e}"))
            }
            _ => Err("give --db PATH (SQLite) or --database URL (PostgreSQL)".into()),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create single-use enrollment invite tokens (printed one per line).
    Invite {
        #[command(flatten)]
        store: StoreArgs,
        /// How many tokens.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Validity in hours (1 to 8784, a leap year).
        #[arg(long, default_value_t = 168, value_parser = clap::value_parser!(i64).range(1..=8784))]
        ttl_hours: i64,
    },
    /// Revoke a client: its token stops working and its status reads "revoked".
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The client id (user/device).
        client_id: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed first).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Connections in the PostgreSQL pool.
    #[arg(long, default_value_t = DEFAULT_PG_POOL, value_parser = clap::value_parser!(u32).range(1..=1000))]
    database_pool: u32,
    /// Let anyone enroll (demos only).
    #[arg(long, conflicts_with = "enrollment_secret")]
    open: bool,
    /// Shared enrollment secret (prefer the environment variable: command lines are visible).
    #[arg(long, env = "COHORT_ENROLLMENT_SECRET", hide_env_values = true)]
    enrollment_secret: Option<String>,
    /// Operator token for /v1/admin/* (prefer the environment variable).
    #[arg(long, env = "COHORT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Largest request body in bytes, for routes that carry MLS messages or GroupInfos.
    #[arg(long, default_value_t = cohort_server::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Validity of issued certificates in days (1 to 3660).
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3660))]
    cert_days: i64,
    /// Delete log entries and inbox Welcomes older than this many days (0 to 36600).
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=36600))]
    retention_days: Option<i64>,
    /// Keep at most this many log entries per group.
    #[arg(long)]
    retention_keep: Option<u64>,
    /// Seconds between retention runs.
    #[arg(long, default_value_t = 3600)]
    prune_interval_secs: u64,
    /// How many epochs behind an application message may be.
    #[arg(long, default_value_t = 1)]
    grace_epochs: u64,
    /// The CA's private key (PEM, PKCS#8; created 0600 at first start). Default: the
    /// database path with `.ca-key.pem` appended.
    #[arg(long)]
    ca_key: Option<PathBuf>,
    /// Passphrase that encrypts a new CA key file and decrypts an existing one.
    #[arg(long, env = "COHORT_CA_PASSPHRASE", hide_env_values = true)]
    ca_passphrase: Option<String>,
    /// TLS certificate chain (PEM, leaf first); with --tls-key, serve HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long, conflicts_with = "tls_cert")]
    insecure_http: bool,
    /// Most connections open at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Requests per second per client, sustained.
    #[arg(long, default_value_t = Limits::default().requests_per_second)]
    requests_per_second: u32,
    /// Requests per client in a burst.
    #[arg(long, default_value_t = Limits::default().request_burst)]
    request_burst: u32,
    /// KeyPackages of one target one claimer may take per hour.
    #[arg(long, default_value_t = Limits::default().claims_per_target_per_hour)]
    claims_per_target_per_hour: u32,
    /// KeyPackages of one target that all claimers together may take per minute.
    #[arg(long, default_value_t = Limits::default().claims_of_target_per_minute)]
    claims_of_target_per_minute: u32,
    /// KeyPackages one client may store (last-resort ones aside).
    #[arg(long, default_value_t = Limits::default().max_key_packages)]
    max_key_packages: u64,
    /// Open WebSocket subscriptions per client.
    #[arg(long, default_value_t = Limits::default().max_websockets_per_client)]
    max_websockets_per_client: u32,
    /// Groups one client may create.
    #[arg(long, default_value_t = Limits::default().max_groups_per_client)]
    max_groups_per_client: u64,
    /// Messages one client may post per minute (sustained and burst).
    #[arg(long, default_value_t = Limits::default().messages_per_minute)]
    messages_per_minute: u32,
    /// Bytes of messages one log or inbox fetch returns at most (one always comes).
    #[arg(long, default_value_t = Limits::default().max_page_bytes)]
    max_page_bytes: usize,
    /// Failed enrollments per address before it must wait.
    #[arg(long, default_value_t = Limits::default().enroll_failure_burst)]
    enroll_failure_burst: u32,
    /// Seconds a client has for a request's headers (and the keep-alive idle limit).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout_secs: u64,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_token() -> Result<String, String> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "random number generator failed".to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn admin(command: Command) -> Result<(), String> {
    match command {
        Command::Invite {
            store,
            count,
            ttl_hours,
        } => {
            let store = store.open(1, 2)?;
            let t = now();
            let mut out = std::io::stdout().lock();
            for _ in 0..count.clamp(1, 1000) {
                let token = random_token()?;
                store
                    .add_invite(
                        sha256(token.as_bytes()),
                        t,
                        t.saturating_add(ttl_hours * 3600),
                    )
                    .map_err(|e| e.to_string())?;
                writeln!(out, "{token}").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        Command::Revoke { store, client_id } => {
            let store = store.open(1, 2)?;
            let at = store
                .revoke_client(&client_id, now())
                .map_err(|e| e.to_string())?;
            println!("revoked {client_id} at {at}");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    if args.store.engine.db.is_none() && args.store.engine.database.is_none() {
        return Err("give --db PATH (SQLite) or --database URL (PostgreSQL) to serve".into());
    }
    let ca_key_beside = match (&args.store.engine.db, &args.ca_key) {
        (_, Some(_)) => None,
        (Some(db), None) => Some(db.clone()),
        (None, None) => {
            return Err(
                "--database needs --ca-key PATH: the CA key never goes into the database".into(),
            )
        }
    };
    let enrollment = match (args.open, args.enrollment_secret) {
        (true, _) => Enrollment::Open,
        (false, Some(s)) if !s.is_empty() => Enrollment::Secret(s),
        _ => Enrollment::InviteOnly,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            cohort_server::listener::TlsIdentity::from_pem_files(cert, key)
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let passphrase = args
        .ca_passphrase
        .filter(|p| !p.is_empty())
        .map(zeroize::Zeroizing::new);
    let ca_key = match (args.ca_key, ca_key_beside) {
        (Some(path), _) => cohort_server::authority::key_file::CaKeyFile { path, passphrase },
        (None, Some(db)) => cohort_server::authority::key_file::CaKeyFile::beside(&db, passphrase),
        (None, None) => return Err("--ca-key PATH is required".into()),
    };
    let config = Config {
        ca_key: Some(ca_key),
        push_database: args.store.engine.database.clone(),
        push_database_ca: args.store.database_ca.clone(),
        tls,
        insecure_http: args.insecure_http,
        limits: cohort_server::listener::ConnectionLimits {
            max_connections: args.max_connections.max(1),
            header_timeout: Duration::from_secs(args.header_timeout_secs),
            ..Default::default()
        },
        quotas: Limits {
            requests_per_second: args.requests_per_second.max(1),
            request_burst: args.request_burst.max(1),
            claims_per_target_per_hour: args.claims_per_target_per_hour.max(1),
            claims_of_target_per_minute: args.claims_of_target_per_minute.max(1),
            max_key_packages: args.max_key_packages,
            max_websockets_per_client: args.max_websockets_per_client,
            enroll_failure_burst: args.enroll_failure_burst.max(1),
            max_groups_per_client: args.max_groups_per_client,
            messages_per_minute: args.messages_per_minute.max(1),
            max_page_bytes: args.max_page_bytes.max(1),
            ..Limits::default()
        },
        enrollment,
        admin_token: args.admin_token.filter(|t| !t.is_empty()),
        max_body_bytes: args.max_body_bytes,
        cert_validity_days: args.cert_days,
        retention: Retention {
            max_age_secs: args.retention_days.map(|d| d * 24 * 3600),
            keep_last: args.retention_keep,
        },
        prune_interval: Duration::from_secs(args.prune_interval_secs.max(1)),
        ..Config::default()
    };
    // Refuse before binding: a plain-HTTP socket on a reachable address must never open.
    if config.tls.is_none() && !config.insecure_http {
        let addrs = tokio::net::lookup_host(&args.listen)
            .await
            .map_err(|e| format!("bad --listen {}: {e}", args.listen))?;
        for addr in addrs {
            if !addr.ip().is_loopback() {
                return Err(cohort_server::StartError::PlainHttpOffLoopback(addr).to_string());
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let grace = args.grace_epochs;
    let (store_args, pool) = (args.store.clone(), args.database_pool);
    let store = tokio::task::spawn_blocking(move || store_args.open(grace, pool))
        .await
        .map_err(|e| e.to_string())??;
    let server = cohort_server::start(listener, std::sync::Arc::from(store), config)
        .await
        .map_err(|e| e.to_string())?;
    // First stdout line: the bound address, for scripts and tests using port 0.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.local_addr()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    let handle = server.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.shutdown();
    });
    server.wait().await.map_err(|e| e.to_string())
}

/// Resolve on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A directive capping `target` at info.
fn quiet(target: &str) -> tracing_subscriber::filter::Directive {
    format!("{target}=info")
        .parse()
        .unwrap_or_else(|_| tracing_subscriber::filter::LevelFilter::INFO.into())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
                // Whatever RUST_LOG says, the transport crates never log above info: at debug and
                // trace they print whole frames and buffers, message bytes and tokens included.
                .add_directive(quiet("tungstenite"))
                .add_directive(quiet("tokio_tungstenite"))
                .add_directive(quiet("hyper"))
                .add_directive(quiet("hyper_util"))
                .add_directive(quiet("rustls"))
                .add_directive(quiet("tokio_rustls"))
                .add_directive(quiet("axum"))
                .add_directive(quiet("tower_http"))
                .add_directive(quiet("rusqlite"))
                .add_directive(quiet("tokio_postgres"))
                .add_directive(quiet("postgres")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => admin(command),
        None => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(serve(cli.serve)),
            Err(e) => Err(format!("cannot start runtime: {e}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cohort-server: {e}");
            ExitCode::FAILURE
        }
    }
}
