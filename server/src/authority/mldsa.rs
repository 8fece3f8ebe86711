//! ML-DSA subject keys for the CA (the post-quantum suites 0xF009–0xF00B): RFC 9881
//! SubjectPublicKeyInfo (`id-ml-dsa-44/65/87`, parameters absent, the raw FIPS 204 public key
//! as the BIT STRING), and PKCS#10 requests signed with pure ML-DSA (empty context) as proof
//! of possession. The CA's own key stays Ed25519, so only the subject key is post-quantum.
//!
//! rcgen and ring have no ML-DSA (rcgen's needs aws-lc-rs), so requests are built with yasna
//! (rcgen's DER writer), parsed with x509-parser and verified with the `ml-dsa` crate that
//! Cohort signs with. rcgen still lays out the certificate ([`signed_by`]): around a random
//! Ed25519 stand-in subject key, whose SubjectPublicKeyInfo element is then replaced by the
//! ML-DSA one and the TBSCertificate signed again with the CA key.

use super::AuthorityError;
use ml_dsa::{
    EncodedSignature, EncodedVerifyingKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature,
    Signer, SigningKey, VerifyingKey,
};
use rcgen::SigningKey as _;
use rcgen::PKCS_ED25519;
use rcgen::{CertificateParams, Issuer, KeyPair, PublicKeyData, SignatureAlgorithm};
use ring::rand::{SecureRandom, SystemRandom};
use x509_parser::prelude::FromDer;
use yasna::models::ObjectIdentifier;
use yasna::Tag;

/// An ML-DSA parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// ML-DSA-44.
    MlDsa44,
    /// ML-DSA-65.
    MlDsa65,
    /// ML-DSA-87.
    MlDsa87,
}

/// id-ml-dsa-44/65/87 (RFC 9881 §2): 2.16.840.1.101.3.4.3.{17,18,19}.
const OID_PREFIX: [u64; 8] = [2, 16, 840, 1, 101, 3, 4, 3];
/// id-at-commonName.
const OID_COMMON_NAME: [u64; 4] = [2, 5, 4, 3];

impl Level {
    /// The parameter set of a raw public key, by its FIPS 204 length.
    pub fn of_public_key(public: &[u8]) -> Option<Level> {
        match public.len() {
            1312 => Some(Level::MlDsa44),
            1952 => Some(Level::MlDsa65),
            2592 => Some(Level::MlDsa87),
            _ => None,
        }
    }

    fn oid_arcs(self) -> [u64; 9] {
        let mut arcs = [0u64; 9];
        arcs[..8].copy_from_slice(&OID_PREFIX);
        arcs[8] = match self {
            Level::MlDsa44 => 17,
            Level::MlDsa65 => 18,
            Level::MlDsa87 => 19,
        };
        arcs
    }

    fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::from_slice(&self.oid_arcs())
    }

    /// The parameter set named by a dotted OID string, if it is an ML-DSA one.
    fn from_oid(dotted: &str) -> Option<Level> {
        [Level::MlDsa44, Level::MlDsa65, Level::MlDsa87]
            .into_iter()
            .find(|l| {
                let arcs: Vec<String> = l.oid_arcs().iter().map(u64::to_string).collect();
                arcs.join(".") == dotted
            })
    }
}

/// `AlgorithmIdentifier { id-ml-dsa-XX }` with the parameters absent (RFC 9881 §2).
fn write_algorithm(w: yasna::DERWriter<'_>, level: Level) {
    w.write_sequence(|w| w.next().write_oid(&level.oid()));
}

/// An ML-DSA subject key as rcgen's certificate builder takes it.
pub struct MlDsaPublicKey {
    raw: Vec<u8>,
    spki: Vec<u8>,
}

impl MlDsaPublicKey {
    /// The key `raw` (a FIPS 204 encoded public key) of parameter set `level`.
    pub fn new(level: Level, raw: &[u8]) -> Self {
        let spki = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                write_algorithm(w.next(), level);
                w.next().write_bitvec_bytes(raw, raw.len() * 8);
            })
        });
        MlDsaPublicKey {
            raw: raw.to_vec(),
            spki,
        }
    }
}

impl MlDsaPublicKey {
    /// The raw FIPS 204 public key (the MLS `SignaturePublicKey`).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

/// The Ed25519 stand-in subject key rcgen writes the certificate for; its key identifier
/// (subjectKeyIdentifier) is already that of the real ML-DSA SPKI.
struct StandIn<'a> {
    raw: [u8; 32],
    real_spki: &'a [u8],
}

impl PublicKeyData for StandIn<'_> {
    fn subject_public_key_info(&self) -> Vec<u8> {
        self.real_spki.to_vec()
    }

    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

/// The SPKI rcgen writes into the certificate for the stand-in key.
struct StandInSpki<'a>(&'a [u8]);

impl PublicKeyData for StandInSpki<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ED25519
    }
}

/// The fields of a TBSCertificate rcgen writes (RFC 5280 §4.1: version, serialNumber,
/// signature, issuer, validity, subject, subjectPublicKeyInfo, extensions).
const TBS_FIELDS: usize = 8;
const TBS_SPKI: usize = 6;

fn reencode_error(_: yasna::ASN1Error) -> AuthorityError {
    AuthorityError::Internal("rcgen wrote a certificate of another shape".into())
}

/// The DER elements of a SEQUENCE of exactly `n` elements.
fn sequence_elements(der: &[u8], n: usize) -> Result<Vec<Vec<u8>>, AuthorityError> {
    yasna::parse_der(der, |r| {
        r.read_sequence(|r| (0..n).map(|_| r.next().read_der()).collect())
    })
    .map_err(reencode_error)
}

fn sequence_of(elements: &[Vec<u8>]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for e in elements {
                w.next().write_der(e);
            }
        })
    })
}

/// A certificate from `params` for `key`, signed by `issuer` (an Ed25519 CA).
pub fn signed_by(
    params: &CertificateParams,
    key: &MlDsaPublicKey,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<Vec<u8>, AuthorityError> {
    let mut raw = [0u8; 32];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| AuthorityError::Internal("no randomness".into()))?;
    let stand_in = StandIn {
        raw,
        real_spki: &key.spki,
    };
    let draft = params
        .signed_by(&stand_in, issuer)
        .map_err(|e| AuthorityError::Internal(e.to_string()))?;
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let outer = sequence_elements(draft.der(), 3)?;
    let mut tbs = sequence_elements(&outer[0], TBS_FIELDS)?;
    if tbs[TBS_SPKI] != StandInSpki(&raw).subject_public_key_info() {
        return Err(AuthorityError::Internal(
            "the stand-in key is not where RFC 5280 puts subjectPublicKeyInfo".into(),
        ));
    }
    tbs[TBS_SPKI] = key.spki.clone();
    let tbs = sequence_of(&tbs);
    let signature = issuer
        .key()
        .sign(&tbs)
        .map_err(|e| AuthorityError::Internal(e.to_string()))?;
    let signature_value =
        yasna::construct_der(|w| w.write_bitvec_bytes(&signature, signature.len() * 8));
    Ok(sequence_of(&[tbs, outer[1].clone(), signature_value]))
}

fn sign<P: MlDsaParams>(seed: &[u8], msg: &[u8]) -> Result<Vec<u8>, AuthorityError> {
    let seed = ml_dsa::Seed::try_from(seed).map_err(|_| AuthorityError::UnsupportedKey)?;
    let key = SigningKey::<P>::from_seed(&seed);
    let sig: Signature<P> = key
        .try_sign(msg)
        .map_err(|_| AuthorityError::Internal("ML-DSA signing failed".into()))?;
    Ok(sig.encode().to_vec())
}

fn verify<P: MlDsaParams>(public: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let (Ok(pk), Ok(sig)) = (
        EncodedVerifyingKey::<P>::try_from(public),
        EncodedSignature::<P>::try_from(signature),
    ) else {
        return false;
    };
    let vk = VerifyingKey::<P>::decode(&pk);
    Signature::<P>::decode(&sig).is_some_and(|s| vk.verify_with_context(msg, &[], &s))
}

/// A DER PKCS#10 request (RFC 2986) for `client_id`: subject CN, the RFC 9881 SPKI, no
/// attributes (the CA ignores requested names and extensions), signed with the ML-DSA key
/// whose 32-byte seed is `seed` and whose public key is `public`.
pub fn certificate_request(
    seed: &[u8],
    public: &[u8],
    client_id: &str,
) -> Result<Vec<u8>, AuthorityError> {
    let level = Level::of_public_key(public).ok_or(AuthorityError::UnsupportedKey)?;
    let spki = MlDsaPublicKey::new(level, public).spki;
    let info = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(0); // version v1
            w.next().write_sequence(|w| {
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next()
                            .write_oid(&ObjectIdentifier::from_slice(&OID_COMMON_NAME));
                        w.next().write_utf8_string(client_id);
                    })
                })
            });
            w.next().write_der(&spki);
            w.next()
                .write_tagged_implicit(Tag::context(0), |w| w.write_set(|_| {}));
        })
    });
    let signature = match level {
        Level::MlDsa44 => sign::<MlDsa44>(seed, &info)?,
        Level::MlDsa65 => sign::<MlDsa65>(seed, &info)?,
        Level::MlDsa87 => sign::<MlDsa87>(seed, &info)?,
    };
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&info);
            write_algorithm(w.next(), level);
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        })
    }))
}

/// If `csr_der` is a PKCS#10 request for an ML-DSA key, check its ML-DSA self-signature
/// (proof of possession) and return the key; `Ok(None)` for any other key algorithm (and
/// for anything that does not parse), which the rcgen path then judges.
pub fn verify_request(csr_der: &[u8]) -> Result<Option<MlDsaPublicKey>, AuthorityError> {
    let Ok((rest, csr)) =
        x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
    else {
        return Ok(None);
    };
    let spki = &csr.certification_request_info.subject_pki;
    let Some(level) = Level::from_oid(&spki.algorithm.algorithm.to_id_string()) else {
        return Ok(None);
    };
    if !rest.is_empty() {
        return Err(AuthorityError::BadRequest(
            "trailing data after the request",
        ));
    }
    if spki.algorithm.parameters.is_some() {
        return Err(AuthorityError::BadRequest(
            "ML-DSA key parameters must be absent",
        ));
    }
    let sig_level = Level::from_oid(&csr.signature_algorithm.algorithm.to_id_string());
    if sig_level != Some(level) || csr.signature_algorithm.parameters.is_some() {
        return Err(AuthorityError::BadRequest(
            "the signature algorithm is not the key's ML-DSA parameter set",
        ));
    }
    let public = spki.subject_public_key.data.as_ref();
    if Level::of_public_key(public) != Some(level) {
        return Err(AuthorityError::BadRequest(
            "the ML-DSA public key has the wrong length",
        ));
    }
    let (msg, sig) = (
        csr.certification_request_info.raw,
        csr.signature_value.data.as_ref(),
    );
    let ok = match level {
        Level::MlDsa44 => verify::<MlDsa44>(public, msg, sig),
        Level::MlDsa65 => verify::<MlDsa65>(public, msg, sig),
        Level::MlDsa87 => verify::<MlDsa87>(public, msg, sig),
    };
    if !ok {
        return Err(AuthorityError::BadRequest("signature does not verify"));
    }
    Ok(Some(MlDsaPublicKey::new(level, public)))
}
