//! The KEM of each suite (RFC 9180 §4.1, §7.1; draft-ietf-hpke-pq for ML-KEM, X-Wing and the
//! ML-KEM/NIST hybrids), from the `hpke` crate for every group but X448, which the crate
//! lacks and [`super::dhkem`] provides.
//!
//! Only the KEM comes from the crate: the base-mode key schedule above it stays in
//! [`super::hpke`], because a Welcome seals to every new member under one large `info`
//! (RFC 9420 §12.4.3.1), and hashing that `info` once instead of once per member needs the
//! key schedule split where the crate's API does not split it.
//!
//! Encodings are the crate's SerializePublicKey/SerializePrivateKey: RFC 9180 §7.1.1–§7.1.2
//! for the DHKEMs, the 64-byte (d, z) seed for ML-KEM and the 32-byte seeds for X-Wing and
//! the hybrids (draft-ietf-hpke-pq).

use super::dhkem;
use super::secret::Secret;
use super::suite::KemAlg;
use crate::error::{CryptoError, Result};
use core::convert::Infallible;
use hpke::{Deserializable, Kem, Serializable};
use zeroize::Zeroizing;

/// Randomness for one encapsulation, drawn from the OS RNG up front so that a failing RNG
/// is an error here, not a panic inside the crate (whose RNG interface is infallible).
///
/// Every KEM here needs at most 64 + 66 bytes per Encap (X-Wing: 64; ML-KEM+P-256: 32 +
/// 32, P-521: 66); rejection sampling of a NIST scalar may in theory ask for more, and only
/// then does this read the OS RNG again, panicking if the OS RNG fails at that instant.
pub(crate) struct EncapRng {
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
}

/// Bytes drawn up front per encapsulation.
const ENCAP_RANDOMNESS: usize = 192;

impl EncapRng {
    /// [`ENCAP_RANDOMNESS`] bytes from the OS RNG.
    fn new() -> Result<Self> {
        let mut buf = Zeroizing::new(vec![0u8; ENCAP_RANDOMNESS]);
        super::suite::fill_random(&mut buf)?;
        Ok(EncapRng { buf, pos: 0 })
    }

    /// Fixed randomness, for the known-answer tests of the KEM specifications.
    #[cfg(all(test, feature = "pq"))]
    pub(crate) fn fixed(bytes: &[u8]) -> Self {
        EncapRng {
            buf: Zeroizing::new(bytes.to_vec()),
            pos: 0,
        }
    }

    /// How many bytes the KEM has taken.
    #[cfg(all(test, feature = "pq"))]
    pub(crate) fn used(&self) -> usize {
        self.pos
    }
}

impl rand_core::TryRng for EncapRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        let n = dst.len().min(self.buf.len() - self.pos);
        dst[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        if n < dst.len() {
            // Beyond the budget: see the type's docs.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut dst[n..]).expect("OS random number generator failed");
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for EncapRng {}

/// Run `$body` with `$K` bound to the `hpke` KEM type of `$alg`, or `$x448` for X448.
macro_rules! with_kem {
    ($alg:expr, $K:ident => $body:expr, X448 => $x448:expr) => {
        match $alg {
            KemAlg::X25519 => {
                type $K = hpke::kem::X25519HkdfSha256;
                $body
            }
            KemAlg::P256 => {
                type $K = hpke::kem::DhP256HkdfSha256;
                $body
            }
            KemAlg::P384 => {
                type $K = hpke::kem::DhP384HkdfSha384;
                $body
            }
            KemAlg::P521 => {
                type $K = hpke::kem::DhP521HkdfSha512;
                $body
            }
            #[cfg(feature = "pq")]
            KemAlg::XWing | KemAlg::XWingOpenMls => {
                type $K = hpke::kem::XWing;
                $body
            }
            #[cfg(feature = "pq")]
            KemAlg::MlKem768 => {
                type $K = hpke::kem::MlKem768;
                $body
            }
            #[cfg(feature = "pq")]
            KemAlg::MlKem1024 => {
                type $K = hpke::kem::MlKem1024;
                $body
            }
            #[cfg(feature = "pq")]
            KemAlg::MlKem768P256 => {
                type $K = hpke::kem::MlKem768P256;
                $body
            }
            #[cfg(feature = "pq")]
            KemAlg::MlKem1024P384 => {
                type $K = hpke::kem::MlKem1024P384;
                $body
            }
            KemAlg::X448 => $x448,
        }
    };
}

/// SerializePrivateKey into a zeroizing buffer.
fn private_bytes<K: Kem>(sk: &K::PrivateKey) -> Secret {
    let mut out = Secret::zero(<K::PrivateKey as Serializable>::size());
    sk.write_exact(out.as_mut_bytes());
    out
}

/// DeserializePrivateKey; a wrong length or an invalid scalar is `InvalidKey`.
fn private_key<K: Kem>(sk: &[u8]) -> Result<K::PrivateKey> {
    K::PrivateKey::from_bytes(sk).map_err(|_| CryptoError::InvalidKey.into())
}

fn derive<K: Kem>(ikm: &[u8]) -> (Secret, Vec<u8>) {
    let (sk, pk) = K::derive_keypair(ikm);
    (private_bytes::<K>(&sk), pk.to_bytes().to_vec())
}

/// OpenMLS's X-Wing DeriveKeyPair (suite 0x004D): the 32-byte private key (seed) is
/// SHAKE256(ikm, 32), with no HPKE labels.
#[cfg(feature = "pq")]
fn derive_xwing_unlabeled(ikm: &[u8]) -> Result<(Secret, Vec<u8>)> {
    use shake::digest::{ExtendableOutput, Update, XofReader};
    let mut seed = Secret::zero(32);
    let mut xof = shake::Shake256::default();
    xof.update(ikm);
    xof.finalize_xof().read(seed.as_mut_bytes());
    let public = public_of::<hpke::kem::XWing>(seed.as_bytes())?;
    Ok((seed, public))
}

fn public_of<K: Kem>(sk: &[u8]) -> Result<Vec<u8>> {
    Ok(K::sk_to_pk(&private_key::<K>(sk)?).to_bytes().to_vec())
}

fn encap<K: Kem>(pk_r: &[u8], rng: &mut EncapRng) -> Result<(Secret, Vec<u8>)> {
    let pk = K::PublicKey::from_bytes(pk_r).map_err(|_| CryptoError::InvalidKey)?;
    // The only failure left is a degenerate DH output: the recipient key's fault.
    let (shared, enc) = K::encap_with_rng(&pk, None, rng).map_err(|_| CryptoError::InvalidKey)?;
    Ok((Secret::from_slice(&shared.0), enc.to_bytes().to_vec()))
}

fn decap<K: Kem>(enc: &[u8], sk_r: &[u8]) -> Result<Secret> {
    let sk = private_key::<K>(sk_r)?;
    let enc = K::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::DecryptFailed)?;
    let shared = K::decap(&sk, None, &enc).map_err(|_| CryptoError::DecryptFailed)?;
    Ok(Secret::from_slice(&shared.0))
}

impl KemAlg {
    /// The KEM identifier (RFC 9180 §7.1, draft-ietf-hpke-pq §4).
    pub(crate) fn id(self) -> u16 {
        with_kem!(self, K => <K as Kem>::KEM_ID, X448 => 0x0021)
    }

    /// `Nsk`: length of a serialized private key (and of fresh DeriveKeyPair input).
    pub(crate) fn private_len(self) -> usize {
        with_kem!(
            self,
            K => <<K as Kem>::PrivateKey as Serializable>::size(),
            X448 => dhkem::NSK
        )
    }

    /// `Npk`: length of a serialized public key.
    pub(crate) fn public_len(self) -> usize {
        with_kem!(
            self,
            K => <<K as Kem>::PublicKey as Serializable>::size(),
            X448 => dhkem::NSK
        )
    }

    /// `Nenc`: length of an encapsulated key.
    pub(crate) fn enc_len(self) -> usize {
        with_kem!(
            self,
            K => <<K as Kem>::EncappedKey as Serializable>::size(),
            X448 => dhkem::NSK
        )
    }

    /// Whether private keys are big-endian NIST scalars (which may arrive unpadded).
    pub(crate) fn has_scalar_keys(self) -> bool {
        matches!(self, KemAlg::P256 | KemAlg::P384 | KemAlg::P521)
    }

    /// SerializePublicKey(pk(sk)); also validates the private key.
    pub(crate) fn public_from_private(self, sk: &[u8]) -> Result<Vec<u8>> {
        with_kem!(self, K => public_of::<K>(sk), X448 => dhkem::public_from_private(sk))
    }

    /// DeriveKeyPair(ikm): returns (serialized private key, public key).
    pub(crate) fn derive_key_pair(self, ikm: &[u8]) -> Result<(Secret, Vec<u8>)> {
        #[cfg(feature = "pq")]
        if self == KemAlg::XWingOpenMls {
            return derive_xwing_unlabeled(ikm);
        }
        with_kem!(self, K => Ok(derive::<K>(ikm)), X448 => dhkem::derive_key_pair(ikm))
    }

    /// Encap(pkR): returns (shared_secret, enc). A malformed `pk_r` is `InvalidKey`.
    pub(crate) fn encap(self, pk_r: &[u8]) -> Result<(Secret, Vec<u8>)> {
        if self == KemAlg::X448 {
            return dhkem::encap(pk_r);
        }
        self.encap_with(pk_r, &mut EncapRng::new()?)
    }

    /// Encap(pkR) with the given randomness (the known-answer tests fix it).
    pub(crate) fn encap_with(self, pk_r: &[u8], rng: &mut EncapRng) -> Result<(Secret, Vec<u8>)> {
        with_kem!(self, K => encap::<K>(pk_r, rng), X448 => dhkem::encap(pk_r))
    }

    /// Decap(enc, skR), given pkR = pk(skR) (which saves X448 a base-point multiplication;
    /// the crate recomputes it). A malformed or degenerate `enc` is `DecryptFailed`: it is
    /// part of the ciphertext, not a key the caller chose.
    pub(crate) fn decap(self, enc: &[u8], sk_r: &[u8], pk_r: &[u8]) -> Result<Secret> {
        with_kem!(self, K => decap::<K>(enc, sk_r), X448 => dhkem::decap(enc, sk_r, pk_r))
    }
}
