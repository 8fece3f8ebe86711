//! The accept loop: TLS (rustls) when configured, a cap on open connections, and a time bound
//! on every phase a client controls (TLS handshake, request headers, the idle gap between
//! requests), so slow or idle peers cannot hold sockets and file descriptors.
//!
//! axum's own `serve` has no connection cap and no header timeout, hence this loop over
//! hyper's HTTP/1 connection builder.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Connection-level limits of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time for a client to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time for a client to send a request's headers, counted from the moment the connection is
    /// idle (so it is also the keep-alive idle timeout).
    pub header_timeout: Duration,
    /// Time to finish in-flight requests after shutdown is asked for.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The server's TLS identity, loaded from PEM files.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity(<certificate and key>)")
    }
}

/// Why a TLS identity could not be loaded.
#[derive(Debug)]
pub struct TlsError(String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

impl TlsIdentity {
    /// Load a certificate chain and its private key (PEM, as `--tls-cert` and `--tls-key`).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let cert_pem = std::fs::read(cert)
            .map_err(|e| TlsError(format!("cannot read {}: {e}", cert.display())))?;
        let key_pem = zeroize::Zeroizing::new(
            std::fs::read(key)
                .map_err(|e| TlsError(format!("cannot read {}: {e}", key.display())))?,
        );
        Self::from_pem(&cert_pem, &key_pem)
            .map_err(|e| TlsError(format!("{} / {}: {e}", cert.display(), key.display())))
    }

    /// Build from PEM text: a certificate chain (leaf first) and a PKCS#8, PKCS#1 or SEC1 key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsIdentity, TlsError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError(format!("bad certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(TlsError("no certificate in the PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| TlsError(format!("bad private key PEM: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError(format!("certificate and key do not fit: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            config: Arc::new(config),
        })
    }
}

/// A throwaway CA and a server certificate it signs for `localhost`, `127.0.0.1` and `::1`:
/// for the demo and tests on loopback. Nothing is written to disk.
pub struct ThrowawayTls {
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server's private key (PEM).
    pub key_pem: zeroize::Zeroizing<String>,
    /// The CA certificate (PEM) that clients pin.
    pub ca_pem: String,
    /// The CA certificate (DER).
    pub ca_der: Vec<u8>,
}

impl std::fmt::Debug for ThrowawayTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayTls").finish_non_exhaustive()
    }
}

impl ThrowawayTls {
    /// Make a fresh CA and loopback server certificate.
    pub fn generate() -> Result<ThrowawayTls, TlsError> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let err = |e: rcgen::Error| TlsError(format!("throwaway certificate: {e}"));
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Cohort throwaway loopback CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let ca_key = KeyPair::generate().map_err(err)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let mut leaf_params = CertificateParams::new(names).map_err(err)?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "cohort-server (loopback)");
        let leaf_key = KeyPair::generate().map_err(err)?;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;
        Ok(ThrowawayTls {
            cert_pem: leaf.pem(),
            key_pem: zeroize::Zeroizing::new(leaf_key.serialize_pem()),
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
        })
    }

    /// The server identity.
    pub fn identity(&self) -> Result<TlsIdentity, TlsError> {
        TlsIdentity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }
}

/// Serve `app` on `listener` until `stop` turns true, then let in-flight requests finish
/// (at most `limits.shutdown_grace`).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsIdentity>,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let stopped = |stop: &watch::Receiver<bool>| *stop.borrow();
    while !stopped(&stop) {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            r = stop.changed() => if r.is_err() { break } else { continue },
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a reset before accept: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            r = stop.changed() => if r.is_err() { break } else { continue },
        };
        let _ = tcp.set_nodelay(true);
        // Handlers that limit per address (enrollment) read the peer from ConnectInfo.
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        ));
        let http = http.clone();
        let acceptor = acceptor.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = http
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    drive(conn, stop).await;
                }
                None => {
                    let conn = http
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades();
                    drive(conn, stop).await;
                }
            }
        });
    }
    drop(listener);
    // Every open connection holds a permit: having them all back means all have finished.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all)).await;
    Ok(())
}

/// Run one connection; when shutdown is asked for, let its current request finish, then close.
async fn drive<I, S, B>(
    conn: hyper::server::conn::http1::UpgradeableConnection<I, S>,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = async { while !*stop.borrow() { if stop.changed().await.is_err() { break } } } => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Whether serving plain HTTP on `addr` is safe without being told so: only on loopback, where
/// tokens and enrollment secrets never cross a network.
pub(crate) fn plain_http_allowed(addr: &std::net::SocketAddr) -> bool {
    addr.ip().is_loopback()
}
