//! TLS to PostgreSQL: rustls (over ring, as the listener) through `tokio-postgres-rustls`.
//!
//! With `--database-ca` the connection must be TLS, verified against those roots and the
//! URL's host name; without it the connection is plain. libpq's default `sslmode=prefer`
//! would try TLS and fall back to plain text on refusal, which an attacker on the path can
//! force, so it is not offered: asking for `sslmode=require` without roots to verify
//! against is an error, not a silent downgrade.

use crate::store::{StoreError, StoreResult};
use postgres::config::SslMode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
pub use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector and the SSL mode to use for `mode` (the URL's) and `ca` (a PEM file
/// of root certificates).
pub fn connector(mode: SslMode, ca: Option<&Path>) -> StoreResult<(SslMode, MakeRustlsConnect)> {
    let mut roots = rustls::RootCertStore::empty();
    let mode = match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| StoreError::Backend(format!("database CA {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(StoreError::Backend(format!(
                    "database CA {}: no certificate in the file",
                    path.display()
                )));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    StoreError::Backend(format!("database CA {}: {e}", path.display()))
                })?;
            }
            SslMode::Require
        }
        None if mode == SslMode::Require => {
            return Err(StoreError::Backend(
                "sslmode=require needs the database's CA certificate (--database-ca PEM)".into(),
            ))
        }
        None => SslMode::Disable,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((mode, MakeRustlsConnect::new(config)))
}
