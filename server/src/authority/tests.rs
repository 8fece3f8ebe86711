//! Unit tests of the CA and the credential validator.

use super::*;
use cohort::crypto::{CipherSuite, Suite};

fn suite(id: u16) -> Suite {
    Suite::new(CipherSuite(id)).expect("suite")
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn enroll(ca: &CertificateAuthority, suite_id: u16, id: &str) -> (SignaturePrivateKey, Vec<u8>) {
    let key = suite(suite_id).generate_signature_key_pair().expect("key");
    let csr = certificate_request(&key, id).expect("csr");
    let cert = ca.issue(&csr, id, 30).expect("issue");
    assert_eq!(cert.signature_key, key.public_key());
    assert_eq!(cert.identity, format!("mls:{id}"));
    (key, cert.der)
}

#[test]
fn issued_chain_validates_ed25519_and_p256() {
    let (ca, _) = CertificateAuthority::generate("test root", 1).expect("ca");
    for suite_id in [1u16, 2, 3] {
        let (key, leaf) = enroll(&ca, suite_id, "alice@example.org/device-1");
        let cred = x509_credential(&[leaf.clone(), ca.root_der().to_vec()]);
        let id = validate_credential(&cred, ca.root_der(), now(), key.public_key()).expect("valid");
        assert_eq!(id.identity, "mls:alice@example.org/device-1");
        assert_eq!(id.client_id, "alice@example.org/device-1");
        // The leaf alone is also accepted: the root is the trusted one given separately.
        validate_chain(&[&leaf], ca.root_der(), now(), key.public_key()).expect("leaf only");
    }
}

#[test]
fn ca_reloads_from_material() {
    let (ca, material) = CertificateAuthority::generate("test root", 1).expect("ca");
    let again = CertificateAuthority::from_material(&material).expect("reload");
    assert_eq!(ca.root_der(), again.root_der());
    let (key, leaf) = enroll(&again, 1, "bob@example.org/phone");
    validate_chain(
        &[&leaf, ca.root_der()],
        ca.root_der(),
        now(),
        key.public_key(),
    )
    .expect("issued by reloaded CA validates");
}

#[test]
fn other_root_is_rejected() {
    let (ca, _) = CertificateAuthority::generate("root A", 1).expect("ca");
    let (other, _) = CertificateAuthority::generate("root B", 1).expect("ca");
    let (key, leaf) = enroll(&ca, 1, "alice@example.org/d");
    // Chain ends in A's root, but we trust B.
    assert_eq!(
        validate_chain(
            &[&leaf, ca.root_der()],
            other.root_der(),
            now(),
            key.public_key()
        ),
        Err(CredentialError::UntrustedRoot)
    );
    // A leaf signed by B presented with B's root, while trusting A.
    let (key_b, leaf_b) = enroll(&other, 1, "alice@example.org/d");
    assert!(validate_chain(&[&leaf_b], ca.root_der(), now(), key_b.public_key()).is_err());
}

#[test]
fn same_name_other_key_root_fails_signature() {
    let (ca, _) = CertificateAuthority::generate("same name", 1).expect("ca");
    let (impostor, _) = CertificateAuthority::generate("same name", 1).expect("ca");
    let (key, leaf) = enroll(&impostor, 1, "mallory@example.org/d");
    assert_eq!(
        validate_chain(&[&leaf], ca.root_der(), now(), key.public_key()),
        Err(CredentialError::BadSignature)
    );
}

#[test]
fn expired_and_not_yet_valid_are_rejected() {
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    let key = suite(1).generate_signature_key_pair().expect("key");
    let csr = certificate_request(&key, "old@example.org/d").expect("csr");
    let t = OffsetDateTime::now_utc();
    let expired = ca
        .issue_with_validity(
            &csr,
            "old@example.org/d",
            t - Duration::days(10),
            t - Duration::days(1),
        )
        .expect("issue");
    assert_eq!(
        validate_chain(&[&expired.der], ca.root_der(), now(), key.public_key()),
        Err(CredentialError::Expired)
    );
    let future = ca
        .issue_with_validity(
            &csr,
            "old@example.org/d",
            t + Duration::days(1),
            t + Duration::days(2),
        )
        .expect("issue");
    assert_eq!(
        validate_chain(&[&future.der], ca.root_der(), now(), key.public_key()),
        Err(CredentialError::Expired)
    );
    // A window that is current validates.
    let current = ca
        .issue_with_validity(
            &csr,
            "old@example.org/d",
            t - Duration::days(1),
            t + Duration::days(1),
        )
        .expect("issue");
    validate_chain(&[&current.der], ca.root_der(), now(), key.public_key()).expect("current");
}

#[test]
fn key_mismatch_is_rejected() {
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    let (_, leaf) = enroll(&ca, 1, "alice@example.org/d");
    let other = suite(1).generate_signature_key_pair().expect("key");
    assert_eq!(
        validate_chain(&[&leaf], ca.root_der(), now(), other.public_key()),
        Err(CredentialError::KeyMismatch)
    );
}

#[test]
fn non_x509_and_garbage_are_rejected() {
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    assert_eq!(
        validate_credential(&Credential::basic("x"), ca.root_der(), now(), b"k"),
        Err(CredentialError::NotX509)
    );
    assert!(matches!(
        validate_chain(&[b"not der"], ca.root_der(), now(), b"k"),
        Err(CredentialError::MalformedChain(_))
    ));
    assert!(matches!(
        validate_chain(&[], ca.root_der(), now(), b"k"),
        Err(CredentialError::MalformedChain(_))
    ));
    // The root itself is a CA certificate, not a client identity.
    let root_key = {
        let root = x509_parser::parse_x509_certificate(ca.root_der())
            .expect("root")
            .1;
        root.public_key().subject_public_key.data.to_vec()
    };
    assert_eq!(
        validate_chain(&[ca.root_der()], ca.root_der(), now(), &root_key),
        Err(CredentialError::NoIdentity)
    );
}

#[test]
fn csr_with_bad_signature_is_refused() {
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    let key = suite(1).generate_signature_key_pair().expect("key");
    let mut csr = certificate_request(&key, "alice@example.org/d").expect("csr");
    let last = csr.len() - 1;
    csr[last] ^= 1; // inside the signature BIT STRING
    assert!(matches!(
        ca.issue(&csr, "alice@example.org/d", 1),
        Err(AuthorityError::BadRequest(_))
    ));
    assert!(matches!(
        ca.issue(b"garbage", "alice@example.org/d", 1),
        Err(AuthorityError::BadRequest(_))
    ));
}

/// The post-quantum signature suites: the leaf certifies the ML-DSA key in an RFC 9881
/// SubjectPublicKeyInfo (id-ml-dsa-44/65/87, parameters absent, the raw key as the BIT
/// STRING), signed by the Ed25519 root, and validates as an MLS credential.
#[test]
fn issued_chain_validates_ml_dsa() {
    let (ca, _) = CertificateAuthority::generate("test root", 1).expect("ca");
    for (suite_id, arc, pk_len) in [
        (0xF009u16, 17, 1312),
        (0xF00A, 18, 1952),
        (0xF00B, 19, 2592),
    ] {
        let (key, leaf) = enroll(&ca, suite_id, "alice@example.org/pq");
        assert_eq!(key.public_key().len(), pk_len);
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("DER X.509");
        let spki = cert.public_key();
        assert_eq!(
            spki.algorithm.algorithm.to_id_string(),
            format!("2.16.840.1.101.3.4.3.{arc}")
        );
        assert!(spki.algorithm.parameters.is_none(), "parameters absent");
        assert_eq!(spki.subject_public_key.data.as_ref(), key.public_key());
        // The CA keeps its Ed25519 key: the leaf's signature is Ed25519.
        assert_eq!(
            cert.signature_algorithm.algorithm.to_id_string(),
            "1.3.101.112"
        );
        let cred = x509_credential(&[leaf.clone(), ca.root_der().to_vec()]);
        let id = validate_credential(&cred, ca.root_der(), now(), key.public_key()).expect("valid");
        assert_eq!(id.client_id, "alice@example.org/pq");
        // Another ML-DSA key of the same size is not the certified one.
        let other = suite(suite_id).generate_signature_key_pair().expect("key");
        assert_eq!(
            validate_credential(&cred, ca.root_der(), now(), other.public_key()),
            Err(CredentialError::KeyMismatch)
        );
    }
}

#[test]
fn ml_dsa_csr_without_proof_of_possession_is_refused() {
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    let key = suite(0xF009).generate_signature_key_pair().expect("key");
    let csr = certificate_request(&key, "alice@example.org/d").expect("csr");
    // A flipped bit in the signature, then in the public key (same length, other key).
    let mut bad_sig = csr.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    let pk_at = csr
        .windows(32)
        .position(|w| w == &key.public_key()[..32])
        .expect("the key is in the request");
    let mut bad_key = csr.clone();
    bad_key[pk_at + 7] ^= 1;
    for tampered in [bad_sig, bad_key] {
        assert_eq!(
            ca.issue(&tampered, "alice@example.org/d", 1).map(|c| c.der),
            Err(AuthorityError::BadRequest("signature does not verify"))
        );
    }
    ca.issue(&csr, "alice@example.org/d", 1)
        .expect("the untouched request");
}

/// The largest ML-DSA KeyPackage (ML-DSA-87 with ML-KEM-1024, X.509 credential `[leaf,
/// root]`) against the 4 MiB KeyPackage upload limit (base64 strings in JSON).
#[test]
fn ml_dsa_87_key_packages_fit_the_upload_limit() {
    use cohort::codec::Encode;
    use cohort::group::{KeyPackageOptions, KeyPackageSecrets};
    let (ca, _) = CertificateAuthority::generate("root", 1).expect("ca");
    let s = suite(0xF00B);
    let (key, leaf) = enroll(&ca, 0xF00B, "alice@example.org/pq");
    let cred = x509_credential(&[leaf, ca.root_der().to_vec()]);
    let kp = KeyPackageSecrets::generate(&s, cred, &key, &KeyPackageOptions::default())
        .expect("key package");
    let bytes = kp.key_package.to_bytes().len();
    let per_upload = (4usize << 20) / (bytes.div_ceil(3) * 4 + 3);
    eprintln!("ML-DSA-87 X.509 KeyPackage: {bytes} bytes; {per_upload} per 4 MiB upload");
    assert!(per_upload >= 100, "{bytes} bytes");
}
