//! Authentication Service (RFC 9750 §5): a small X.509 CA and the credential validator.
//!
//! The CA holds one Ed25519 root key. A client proves possession of its MLS signature key by
//! signing a PKCS#10 request with it ([`certificate_request`]); the CA answers with a leaf
//! certificate binding the identity `mls:<client id>` (a URI subject alternative name) to that
//! key. MLS credentials are then X.509 credentials (RFC 9420 §5.3) with the chain
//! `[leaf, root]`, which any member checks with [`validate_credential`]. Subject keys are
//! Ed25519, ECDSA P-256 or, for the post-quantum suites, ML-DSA ([`mldsa`]).

use cohort::crypto::SignaturePrivateKey;
use cohort::messages::{Certificate, Credential};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SerialNumber, SignatureAlgorithm, SigningKey, PKCS_ECDSA_P256_SHA256, PKCS_ED25519,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer, PrivatePkcs8KeyDer};
use std::fmt;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{ASN1Time, X509Certificate};
use zeroize::Zeroizing;

/// The URI scheme of Cohort identities in certificates: `mls:<user>/<device>`.
pub const IDENTITY_SCHEME: &str = "mls:";

/// The identity URI for a client id.
pub fn identity_for(client_id: &str) -> String {
    format!("{IDENTITY_SCHEME}{client_id}")
}

/// Why the CA refused to issue, or a client helper failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorityError {
    /// The CSR is not DER PKCS#10 or its self-signature (proof of possession) is wrong.
    BadRequest(&'static str),
    /// The key algorithm is none of Ed25519, ECDSA P-256 and ML-DSA-44/65/87.
    UnsupportedKey,
    /// Certificate generation failed (a bug or a corrupt CA key).
    Internal(String),
}

impl fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorityError::BadRequest(m) => write!(f, "bad certificate request: {m}"),
            AuthorityError::UnsupportedKey => {
                write!(
                    f,
                    "unsupported key algorithm (use Ed25519, ECDSA P-256 or ML-DSA)"
                )
            }
            AuthorityError::Internal(m) => write!(f, "certificate authority error: {m}"),
        }
    }
}

impl std::error::Error for AuthorityError {}

fn internal(e: impl fmt::Display) -> AuthorityError {
    AuthorityError::Internal(e.to_string())
}

pub mod key_file;
pub mod mldsa;

/// What the CA persists: its PKCS#8 private key (in a [`key_file::CaKeyFile`]) and its
/// self-signed root certificate (DER, in the database).
#[derive(Clone)]
pub struct CaMaterial {
    /// PKCS#8 DER of the Ed25519 root key.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// DER of the self-signed root certificate.
    pub root_der: Vec<u8>,
}

impl fmt::Debug for CaMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaMaterial")
            .field("root_der_len", &self.root_der.len())
            .finish_non_exhaustive()
    }
}

/// A certificate the CA issued, with the public key it certifies.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// DER of the leaf certificate.
    pub der: Vec<u8>,
    /// The certified key in MLS `SignaturePublicKey` form (raw Ed25519, SEC1 P-256 or the
    /// FIPS 204 ML-DSA encoding).
    pub signature_key: Vec<u8>,
    /// The identity URI in the subject alternative name.
    pub identity: String,
}

/// The root CA of the Authentication Service.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    root_der: Vec<u8>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

fn random_serial() -> Result<SerialNumber, AuthorityError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(internal)?;
    bytes[0] &= 0x7f; // positive INTEGER
    bytes[0] |= 0x01; // and never a shorter encoding
    Ok(SerialNumber::from_slice(&bytes))
}

impl CertificateAuthority {
    /// Create a fresh root key and a self-signed root certificate valid for `years`.
    pub fn generate(name: &str, years: i64) -> Result<(Self, CaMaterial), AuthorityError> {
        let key_pkcs8 = Self::generate_key()?;
        let root_der = Self::self_signed_root(&key_pkcs8, name, years)?;
        let material = CaMaterial {
            key_pkcs8,
            root_der,
        };
        let ca = Self::from_material(&material)?;
        Ok((ca, material))
    }

    /// A fresh Ed25519 root key as PKCS#8 DER.
    pub fn generate_key() -> Result<Zeroizing<Vec<u8>>, AuthorityError> {
        let key = KeyPair::generate_for(&PKCS_ED25519).map_err(internal)?;
        Ok(Zeroizing::new(key.serialize_der()))
    }

    /// A self-signed root certificate for `key_pkcs8`, valid for `years`.
    pub fn self_signed_root(
        key_pkcs8: &[u8],
        name: &str,
        years: i64,
    ) -> Result<Vec<u8>, AuthorityError> {
        let pkcs8 = PrivatePkcs8KeyDer::from(key_pkcs8.to_vec());
        let key = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &PKCS_ED25519).map_err(internal)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(365 * years);
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key).map_err(internal)?;
        Ok(cert.der().to_vec())
    }

    /// Load a CA from persisted material.
    pub fn from_material(material: &CaMaterial) -> Result<Self, AuthorityError> {
        let pkcs8 = PrivatePkcs8KeyDer::from(material.key_pkcs8.to_vec());
        let key = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &PKCS_ED25519).map_err(internal)?;
        // A key file and a database from two different CAs would issue certificates that
        // chain to nothing clients pinned.
        let (_, parsed) = x509_parser::parse_x509_certificate(&material.root_der)
            .map_err(|_| internal("the stored root certificate is not DER X.509"))?;
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(AuthorityError::Internal(
                "the CA key file does not match the root certificate in the database".into(),
            ));
        }
        let root = CertificateDer::from(material.root_der.clone());
        let issuer = Issuer::from_ca_cert_der(&root, key).map_err(internal)?;
        Ok(CertificateAuthority {
            issuer,
            root_der: material.root_der.clone(),
        })
    }

    /// The DER of the root certificate, the trust anchor clients pin.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// Check a CSR's proof of possession and issue a certificate for `client_id`, valid for
    /// `days` from now (backdated by five minutes for clock skew).
    pub fn issue(
        &self,
        csr_der: &[u8],
        client_id: &str,
        days: i64,
    ) -> Result<IssuedCertificate, AuthorityError> {
        let now = OffsetDateTime::now_utc();
        self.issue_with_validity(
            csr_der,
            client_id,
            now - Duration::minutes(5),
            now + Duration::days(days),
        )
    }

    /// Issue with an explicit validity window (tests use this for expired certificates).
    pub fn issue_with_validity(
        &self,
        csr_der: &[u8],
        client_id: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCertificate, AuthorityError> {
        let identity = identity_for(client_id);
        if let Some(key) = mldsa::verify_request(csr_der)? {
            let params = Self::leaf_params(client_id, &identity, not_before, not_after)?;
            return Ok(IssuedCertificate {
                der: mldsa::signed_by(&params, &key, &self.issuer)?,
                signature_key: key.raw().to_vec(),
                identity,
            });
        }
        let csr = CertificateSigningRequestDer::from(csr_der);
        // from_der verifies the request's self-signature: proof of possession of the key.
        let request = CertificateSigningRequestParams::from_der(&csr).map_err(|e| match e {
            rcgen::Error::InvalidCertificationRequestSignature => {
                AuthorityError::BadRequest("signature does not verify")
            }
            rcgen::Error::UnsupportedSignatureAlgorithm => AuthorityError::UnsupportedKey,
            _ => AuthorityError::BadRequest("not a DER PKCS#10 certification request"),
        })?;
        let alg = request.public_key.algorithm();
        if alg != &PKCS_ED25519 && alg != &PKCS_ECDSA_P256_SHA256 {
            return Err(AuthorityError::UnsupportedKey);
        }
        let params = Self::leaf_params(client_id, &identity, not_before, not_after)?;
        let cert = params
            .signed_by(&request.public_key, &self.issuer)
            .map_err(internal)?;
        Ok(IssuedCertificate {
            der: cert.der().to_vec(),
            signature_key: request.public_key.der_bytes().to_vec(),
            identity,
        })
    }

    /// What the CA certifies for `client_id`, whatever the request asked for.
    fn leaf_params(
        client_id: &str,
        identity: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<CertificateParams, AuthorityError> {
        // Requested names and extensions are ignored: the CA decides what it certifies.
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, client_id);
        params.distinguished_name = dn;
        let uri = identity
            .to_string()
            .try_into()
            .map_err(|_| AuthorityError::BadRequest("identity is not an IA5 string"))?;
        params.subject_alt_names = vec![SanType::URI(uri)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.is_ca = IsCa::ExplicitNoCa;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(random_serial()?);
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }
}

/// An MLS signature key seen through rcgen's signing interface, for CSRs.
struct MlsSigningKey<'a> {
    alg: &'static SignatureAlgorithm,
    key: &'a SignaturePrivateKey,
}

impl PublicKeyData for MlsSigningKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.key.public_key()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

impl SigningKey for MlsSigningKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let private = self.key.to_bytes();
        let public = self.key.public_key();
        let rejected = |e: ring::error::KeyRejected| rcgen::Error::RingKeyRejected(e.to_string());
        if self.alg == &PKCS_ED25519 {
            let pair = ring::signature::Ed25519KeyPair::from_seed_and_public_key(
                private.as_bytes(),
                public,
            )
            .map_err(rejected)?;
            Ok(pair.sign(msg).as_ref().to_vec())
        } else {
            let rng = SystemRandom::new();
            let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                private.as_bytes(),
                public,
                &rng,
            )
            .map_err(rejected)?;
            let sig = pair
                .sign(&rng, msg)
                .map_err(|_| rcgen::Error::RingUnspecified)?;
            Ok(sig.as_ref().to_vec())
        }
    }
}

/// The rcgen algorithm of an MLS signature key, by its public key encoding: 32 bytes is
/// Ed25519, a 65-byte uncompressed SEC1 point is P-256.
fn algorithm_of(public: &[u8]) -> Result<&'static SignatureAlgorithm, AuthorityError> {
    match public {
        p if p.len() == 32 => Ok(&PKCS_ED25519),
        p if p.len() == 65 && p[0] == 0x04 => Ok(&PKCS_ECDSA_P256_SHA256),
        _ => Err(AuthorityError::UnsupportedKey),
    }
}

/// Client side: a DER PKCS#10 request for `client_id`, signed with the MLS signature key.
pub fn certificate_request(
    signer: &SignaturePrivateKey,
    client_id: &str,
) -> Result<Vec<u8>, AuthorityError> {
    if mldsa::Level::of_public_key(signer.public_key()).is_some() {
        let seed = signer.to_bytes();
        return mldsa::certificate_request(seed.as_bytes(), signer.public_key(), client_id);
    }
    let key = MlsSigningKey {
        alg: algorithm_of(signer.public_key())?,
        key: signer,
    };
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, client_id);
    params.distinguished_name = dn;
    let uri = identity_for(client_id)
        .try_into()
        .map_err(|_| AuthorityError::BadRequest("identity is not an IA5 string"))?;
    params.subject_alt_names = vec![SanType::URI(uri)];
    let csr = params.serialize_request(&key).map_err(internal)?;
    Ok(csr.der().to_vec())
}

/// Client side: the X.509 MLS credential for a chain returned by enrollment.
pub fn x509_credential(chain: &[Vec<u8>]) -> Credential {
    Credential::X509 {
        certificates: chain
            .iter()
            .map(|der| Certificate {
                cert_data: cohort::codec::Bytes(der.clone()),
            })
            .collect(),
    }
}

/// Why a credential was rejected by [`validate_credential`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// Not an X.509 credential.
    NotX509,
    /// The chain is not `[leaf]` or `[leaf, root]`, or a certificate does not parse.
    MalformedChain(&'static str),
    /// The chain does not end in the trusted root.
    UntrustedRoot,
    /// The leaf's signature does not verify under the root key.
    BadSignature,
    /// The leaf (or root) is outside its validity period at the given time.
    Expired,
    /// The certified key is not the MLS leaf's signature key.
    KeyMismatch,
    /// The leaf has no `mls:` URI subject alternative name, or is a CA certificate.
    NoIdentity,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::NotX509 => write!(f, "credential is not X.509"),
            CredentialError::MalformedChain(m) => write!(f, "malformed certificate chain: {m}"),
            CredentialError::UntrustedRoot => write!(f, "chain does not end in the trusted root"),
            CredentialError::BadSignature => write!(f, "certificate signature does not verify"),
            CredentialError::Expired => write!(f, "certificate outside its validity period"),
            CredentialError::KeyMismatch => {
                write!(f, "certified key differs from the leaf signature key")
            }
            CredentialError::NoIdentity => write!(f, "certificate carries no mls: identity"),
        }
    }
}

impl std::error::Error for CredentialError {}

/// What a valid credential asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedIdentity {
    /// The identity URI, e.g. `mls:alice@example.org/device-1`.
    pub identity: String,
    /// The client id (the identity without the `mls:` scheme).
    pub client_id: String,
    /// End of the leaf certificate's validity, seconds since the Unix epoch.
    pub not_after: i64,
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, CredentialError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(CredentialError::MalformedChain(
            "certificate does not parse",
        )),
    }
}

fn valid_at(cert: &X509Certificate<'_>, now: i64) -> Result<(), CredentialError> {
    let t = ASN1Time::from_timestamp(now).map_err(|_| CredentialError::Expired)?;
    if cert.validity().is_valid_at(t) {
        Ok(())
    } else {
        Err(CredentialError::Expired)
    }
}

/// Validate an X.509 MLS credential against the trusted root at time `now` (Unix seconds)
/// for the leaf whose signature key is `signature_key`, and return the identity.
///
/// Checks, in order: the chain is `[leaf]` or `[leaf, root]` with the root byte-equal to
/// the trusted one; the leaf is signed by the root key and issued by the root's subject; both
/// are within their validity; the leaf is not a CA; its public key equals `signature_key`;
/// it names exactly one `mls:` URI identity.
pub fn validate_credential(
    credential: &Credential,
    root_der: &[u8],
    now: i64,
    signature_key: &[u8],
) -> Result<ValidatedIdentity, CredentialError> {
    let Credential::X509 { certificates } = credential else {
        return Err(CredentialError::NotX509);
    };
    let chain: Vec<&[u8]> = certificates
        .iter()
        .map(|c| c.cert_data.as_slice())
        .collect();
    validate_chain(&chain, root_der, now, signature_key)
}

/// [`validate_credential`] on a chain of DER certificates, leaf first.
pub fn validate_chain(
    chain: &[&[u8]],
    root_der: &[u8],
    now: i64,
    signature_key: &[u8],
) -> Result<ValidatedIdentity, CredentialError> {
    let leaf_der = match chain {
        [leaf] => *leaf,
        [leaf, root] if *root == root_der => *leaf,
        [_, _] => return Err(CredentialError::UntrustedRoot),
        _ => return Err(CredentialError::MalformedChain("expected [leaf, root]")),
    };
    let root = parse_cert(root_der)?;
    let leaf = parse_cert(leaf_der)?;
    if leaf.issuer() != root.subject() {
        return Err(CredentialError::UntrustedRoot);
    }
    leaf.verify_signature(Some(root.public_key()))
        .map_err(|_| CredentialError::BadSignature)?;
    valid_at(&root, now)?;
    valid_at(&leaf, now)?;
    if leaf.is_ca() {
        return Err(CredentialError::NoIdentity);
    }
    if leaf.public_key().subject_public_key.data.as_ref() != signature_key {
        return Err(CredentialError::KeyMismatch);
    }
    let san = leaf
        .subject_alternative_name()
        .map_err(|_| CredentialError::MalformedChain("bad subjectAltName"))?
        .ok_or(CredentialError::NoIdentity)?;
    let mut uris = san.value.general_names.iter().filter_map(|n| match n {
        GeneralName::URI(u) if u.starts_with(IDENTITY_SCHEME) => Some(*u),
        _ => None,
    });
    let identity = match (uris.next(), uris.next()) {
        (Some(u), None) => u.to_string(),
        _ => return Err(CredentialError::NoIdentity),
    };
    Ok(ValidatedIdentity {
        client_id: identity[IDENTITY_SCHEME.len()..].to_string(),
        identity,
        not_after: leaf.validity().not_after.timestamp(),
    })
}

#[cfg(test)]
mod tests;
