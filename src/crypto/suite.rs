//! A cipher suite resolved into its algorithms (RFC 9420 §5.1, §17.1).
//!
//! The operations live in sibling modules as further `impl Suite` blocks: [`super::hash`]
//! (hash, HMAC, HKDF), [`super::aead`], [`super::labels`] (the MLS labelled operations),
//! [`super::signature`] and [`super::hpke`].

use super::cipher_suite::CipherSuite;
use super::secret::Secret;
use crate::error::{CryptoError, Error, Result};

/// The hash function of the suite; it also fixes HMAC and HKDF (§17.1: "Hash" and "KDF").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// `KDF.Nh`: the output size of the hash and of HKDF-Extract.
    pub(crate) fn len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// The HPKE KDF identifier of HKDF with this hash (RFC 9180 §7.2).
    pub(crate) fn hpke_kdf_id(self) -> u16 {
        match self {
            HashAlg::Sha256 => 0x0001,
            HashAlg::Sha384 => 0x0002,
            HashAlg::Sha512 => 0x0003,
        }
    }
}

/// The AEAD of the suite, shared by HPKE and message protection (§17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AeadAlg {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadAlg {
    /// `AEAD.Nk`.
    pub(crate) fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm => 16,
            AeadAlg::Aes256Gcm | AeadAlg::ChaCha20Poly1305 => 32,
        }
    }

    /// `AEAD.Nn`: 96-bit nonces for all three.
    pub(crate) fn nonce_len(self) -> usize {
        12
    }

    /// The HPKE AEAD identifier (RFC 9180 §7.3).
    pub(crate) fn hpke_aead_id(self) -> u16 {
        match self {
            AeadAlg::Aes128Gcm => 0x0001,
            AeadAlg::Aes256Gcm => 0x0002,
            AeadAlg::ChaCha20Poly1305 => 0x0003,
        }
    }
}

/// The KEM of the suite (RFC 9180 §7.1, draft-ietf-hpke-pq); each fixes its own internals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KemAlg {
    X25519,
    X448,
    P256,
    P384,
    P521,
    /// X-Wing, ML-KEM-768 + X25519 (0x647a).
    #[cfg(feature = "pq")]
    XWing,
    /// X-Wing as OpenMLS's suite 0x004D uses it: the same KEM, but DeriveKeyPair(ikm) takes
    /// the seed SHAKE256(ikm, 32), without draft-ietf-hpke-pq's labels (measured against
    /// OpenMLS 0.9 / openmls_libcrux_crypto 0.4: `interop/openmls/tests/xwing_derive.rs`).
    #[cfg(feature = "pq")]
    XWingOpenMls,
    /// ML-KEM-768 (0x0041).
    #[cfg(feature = "pq")]
    MlKem768,
    /// ML-KEM-1024 (0x0042).
    #[cfg(feature = "pq")]
    MlKem1024,
    /// ML-KEM-768 + P-256 (0x0050).
    #[cfg(feature = "pq")]
    MlKem768P256,
    /// ML-KEM-1024 + P-384 (0x0051).
    #[cfg(feature = "pq")]
    MlKem1024P384,
}

/// The signature scheme of the suite (§5.1.2, TLS SignatureScheme names in §17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigAlg {
    Ed25519,
    Ed448,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    EcdsaP521Sha512,
    /// ML-DSA-44 (FIPS 204), pure, empty context (draft-ietf-tls-mldsa "mldsa44").
    #[cfg(feature = "pq")]
    MlDsa44,
    /// ML-DSA-65.
    #[cfg(feature = "pq")]
    MlDsa65,
    /// ML-DSA-87.
    #[cfg(feature = "pq")]
    MlDsa87,
}

/// A cipher suite resolved once into its algorithms. Cheap to copy; not generic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    id: CipherSuite,
    pub(crate) kem: KemAlg,
    pub(crate) aead: AeadAlg,
    pub(crate) hash: HashAlg,
    pub(crate) sig: SigAlg,
}

impl Suite {
    /// Resolve a cipher suite; unknown and GREASE values are `Error::Unsupported`.
    pub fn new(id: CipherSuite) -> Result<Suite> {
        use AeadAlg::*;
        use HashAlg::*;
        use KemAlg::*;
        use SigAlg::*;
        // The table of §17.1, row by row.
        let (kem, aead, hash, sig) = match id.0 {
            0x0001 => (X25519, Aes128Gcm, Sha256, Ed25519),
            0x0002 => (P256, Aes128Gcm, Sha256, EcdsaP256Sha256),
            0x0003 => (X25519, ChaCha20Poly1305, Sha256, Ed25519),
            0x0004 => (X448, Aes256Gcm, Sha512, Ed448),
            0x0005 => (P521, Aes256Gcm, Sha512, EcdsaP521Sha512),
            0x0006 => (X448, ChaCha20Poly1305, Sha512, Ed448),
            0x0007 => (P384, Aes256Gcm, Sha384, EcdsaP384Sha384),
            #[cfg(feature = "pq")]
            _ => match pq_row(id) {
                Some(row) => row,
                None => return Err(Error::Unsupported("cipher suite")),
            },
            #[cfg(not(feature = "pq"))]
            _ => return Err(Error::Unsupported("cipher suite")),
        };
        Ok(Suite {
            id,
            kem,
            aead,
            hash,
            sig,
        })
    }

    /// The registry value of this suite.
    pub fn id(&self) -> CipherSuite {
        self.id
    }

    /// `KDF.Nh`: the hash and HKDF-Extract output length in bytes.
    pub fn hash_len(&self) -> usize {
        self.hash.len()
    }

    /// `AEAD.Nk`: the AEAD key length in bytes.
    pub fn aead_key_len(&self) -> usize {
        self.aead.key_len()
    }

    /// `AEAD.Nn`: the AEAD nonce length in bytes.
    pub fn aead_nonce_len(&self) -> usize {
        self.aead.nonce_len()
    }

    /// `len` bytes from the operating system's random number generator.
    pub fn random_bytes(&self, len: usize) -> Result<Vec<u8>> {
        random_bytes(len)
    }

    /// A fresh random secret of `KDF.Nh` bytes (e.g. a leaf or init secret).
    pub fn random_secret(&self) -> Result<Secret> {
        let mut s = Secret::zero(self.hash_len());
        fill_random(s.as_mut_bytes())?;
        Ok(s)
    }
}

/// Anything that names a cipher suite, so that every API taking a suite accepts either form:
/// the wire value ([`CipherSuite`], resolved on use; unknown values are
/// `Error::Unsupported`) or the resolved [`Suite`] (by value or reference).
pub trait IntoSuite {
    /// Resolve into the suite's algorithms.
    fn into_suite(self) -> Result<Suite>;
}

impl IntoSuite for CipherSuite {
    fn into_suite(self) -> Result<Suite> {
        Suite::new(self)
    }
}

impl IntoSuite for Suite {
    fn into_suite(self) -> Result<Suite> {
        Ok(self)
    }
}

impl IntoSuite for &Suite {
    fn into_suite(self) -> Result<Suite> {
        Ok(*self)
    }
}

impl TryFrom<CipherSuite> for Suite {
    type Error = Error;

    fn try_from(id: CipherSuite) -> Result<Suite> {
        Suite::new(id)
    }
}

impl From<Suite> for CipherSuite {
    fn from(suite: Suite) -> CipherSuite {
        suite.id
    }
}

/// The experimental suites (draft-ietf-mls-pq-ciphersuites-06 §3 table, then OpenMLS's
/// X-Wing suite); their provisional values live in [`CipherSuite`].
#[cfg(feature = "pq")]
fn pq_row(id: CipherSuite) -> Option<(KemAlg, AeadAlg, HashAlg, SigAlg)> {
    use AeadAlg::*;
    use HashAlg::*;
    use KemAlg::*;
    use SigAlg::*;
    type C = CipherSuite;
    Some(match id {
        C::MLS_256_XWING_CHACHA20POLY1305_SHA256_ED25519 => {
            (XWingOpenMls, ChaCha20Poly1305, Sha256, Ed25519)
        }
        C::MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519 => (XWing, Aes128Gcm, Sha256, Ed25519),
        C::MLS_128_MLKEM768X25519_AES256GCM_SHA384_ED25519 => (XWing, Aes256Gcm, Sha384, Ed25519),
        C::MLS_128_MLKEM768P256_AES128GCM_SHA256_P256 => {
            (MlKem768P256, Aes128Gcm, Sha256, EcdsaP256Sha256)
        }
        C::MLS_128_MLKEM768P256_AES256GCM_SHA384_P256 => {
            (MlKem768P256, Aes256Gcm, Sha384, EcdsaP256Sha256)
        }
        C::MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384 => {
            (MlKem1024P384, Aes256Gcm, Sha384, EcdsaP384Sha384)
        }
        C::MLS_128_MLKEM768_AES256GCM_SHA384_ED25519 => (MlKem768, Aes256Gcm, Sha384, Ed25519),
        C::MLS_128_MLKEM768_AES256GCM_SHA384_P256 => (MlKem768, Aes256Gcm, Sha384, EcdsaP256Sha256),
        C::MLS_192_MLKEM1024_AES256GCM_SHA384_P384 => {
            (MlKem1024, Aes256Gcm, Sha384, EcdsaP384Sha384)
        }
        C::MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44 => {
            (XWing, ChaCha20Poly1305, Sha384, MlDsa44)
        }
        C::MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65 => (MlKem768, Aes256Gcm, Sha384, MlDsa65),
        C::MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87 => (MlKem1024, Aes256Gcm, Sha384, MlDsa87),
        _ => return None,
    })
}

/// Fill `buf` from the OS RNG; a failing RNG is an error, never a panic or weak output.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Crypto(CryptoError::Rng))
}

/// `len` random bytes from the OS RNG.
pub(crate) fn random_bytes(len: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; len];
    fill_random(&mut v)?;
    Ok(v)
}
