//! Which server certificates the client trusts: the system's roots, or the CA of `--ca-file`
//! pinned for the whole run. One rustls configuration serves HTTPS and WebSocket (wss://).

use crate::error::Error;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The trust anchors chosen for this process: set once (by `--ca-file` or the demo) before the
/// first connection; unset means the system's roots.
static PINNED: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
/// The built configuration, made on first use.
static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();

/// Trust only the CA certificates in `path` (PEM, or one DER certificate).
pub fn pin_ca_file(path: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::new(format!("cannot read --ca-file {}: {e}", path.display())))?;
    let certs: Vec<CertificateDer<'static>> = if bytes.starts_with(b"-----") {
        CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::new(format!("{}: bad PEM: {e}", path.display())))?
    } else {
        vec![CertificateDer::from(bytes)]
    };
    if certs.is_empty() {
        return Err(Error::new(format!(
            "{}: no certificate found",
            path.display()
        )));
    }
    pin(certs)
}

/// Trust only this CA certificate (DER), e.g. the demo's throwaway one.
pub fn pin_ca_der(der: Vec<u8>) -> Result<(), Error> {
    pin(vec![CertificateDer::from(der)])
}

fn pin(certs: Vec<CertificateDer<'static>>) -> Result<(), Error> {
    PINNED
        .set(certs)
        .map_err(|_| Error::new("the trusted CA is already set for this run"))
}

/// The client TLS configuration (built once).
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    CONFIG
        .get_or_init(build)
        .as_ref()
        .map(Arc::clone)
        .map_err(|e| Error::new(e.clone()))
}

fn build() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match PINNED.get() {
        Some(certs) => {
            for cert in certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("pinned CA certificate rejected: {e}"))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "no system root certificates found: pin the server's CA with \
                     --ca-file"
                        .into(),
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS failure behind a connection error, if that is what it was: worth one clear line and
/// no retry, since trying again cannot make a wrong certificate right.
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = source {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(why) => format!(
                    "TLS: the server's certificate is not trusted ({why:?}); check the URL or pin \
                     the server's CA with --ca-file"
                ),
                other => format!("TLS: {other}"),
            });
        }
        // io::Error's source() skips the error it wraps: step into it instead.
        source = match inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => inner.source(),
        };
    }
    None
}
