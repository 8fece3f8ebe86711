//! Signature keys and raw Sign/Verify for the five MLS signature schemes (RFC 9420 §5.1.2).
//!
//! Key formats are those of the IETF test vectors: EdDSA private keys are the RFC 8032 seed,
//! ECDSA private keys the big-endian scalar; public keys are RFC 8032 encodings for EdDSA and
//! uncompressed SEC1 points (§5.1.1 "UncompressedPointRepresentation") for ECDSA. ECDSA
//! signatures are DER-encoded and EdDSA signatures are `R || S` (§5.1.2).
//!
//! ML-DSA (FIPS 204, with `pq`; draft-ietf-tls-mldsa's pure "mldsa44/65/87" with an empty
//! context): the private key is the 32-byte seed ξ, the public key `pkEncode` and the
//! signature `sigEncode`. Signing uses FIPS 204's deterministic variant, so it has no RNG
//! failure mode, as RFC 6979 gives ECDSA.

use super::secret::Secret;
use super::suite::{fill_random, SigAlg, Suite};
use crate::error::{CryptoError, Error, Result};
use core::fmt;
use std::sync::Arc;

/// A signature private key: zeroized on drop, Debug redacted; carries its public key.
#[derive(Clone)]
pub struct SignaturePrivateKey {
    alg: SigAlg,
    private: Secret,
    public: Vec<u8>,
    /// The parsed key (each crate's type zeroizes on drop), so that signing does not parse
    /// it and recompute its public key, a base-point multiplication, on every message.
    parsed: ParsedKey,
}

/// A signing key in its crate's own type.
#[derive(Clone)]
enum ParsedKey {
    Ed25519(ed25519::Key),
    Ed448(Box<ed448::Key>),
    P256(ecdsa_p256::Key),
    P384(ecdsa_p384::Key),
    P521(ecdsa_p521::Key),
    #[cfg(feature = "pq")]
    MlDsa44(Box<mldsa::Key<ml_dsa::MlDsa44>>),
    #[cfg(feature = "pq")]
    MlDsa65(Box<mldsa::Key<ml_dsa::MlDsa65>>),
    #[cfg(feature = "pq")]
    MlDsa87(Box<mldsa::Key<ml_dsa::MlDsa87>>),
}

impl SignaturePrivateKey {
    /// The public (verification) key, in the `SignaturePublicKey` format of §5.1.1.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The private key bytes (seed or scalar) for persistence; load with
    /// [`Suite::signature_key_from_bytes`].
    pub fn to_bytes(&self) -> Secret {
        self.private.clone()
    }
}

impl fmt::Debug for SignaturePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignaturePrivateKey")
            .field("algorithm", &self.alg)
            .field("public_key_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

/// ECDSA over one NIST curve, generated per curve crate (their types share no trait that
/// covers key parsing, signing and DER at once).
macro_rules! ecdsa_impl {
    ($m:ident, $curve:ident, $scalar_len:expr) => {
        mod $m {
            use crate::error::{CryptoError, Result};
            use $curve::ecdsa::signature::{Signer, Verifier};
            use $curve::ecdsa::{Signature, SigningKey, VerifyingKey};
            use $curve::elliptic_curve::sec1::ToSec1Point;

            /// Scalar length in bytes (`Field-Element-to-Octet-String` of the test vectors).
            pub(super) const SCALAR_LEN: usize = $scalar_len;

            pub(super) type Key = SigningKey;

            /// The key for a scalar, or `InvalidKey` for 0 or a scalar >= n.
            pub(super) fn parse(private: &[u8]) -> Result<Key> {
                // Exact length: a shorter encoding would be silently left-padded.
                let bytes = <&$curve::FieldBytes>::try_from(private)
                    .map_err(|_| CryptoError::InvalidKey)?;
                SigningKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey.into())
            }

            /// The uncompressed SEC1 public key.
            pub(super) fn public(key: &Key) -> Vec<u8> {
                let point = key.verifying_key().as_affine().to_sec1_point(false);
                point.as_bytes().to_vec()
            }

            pub(super) fn sign(key: &Key, msg: &[u8]) -> Result<Vec<u8>> {
                // RFC 6979 deterministic nonces: no RNG failure mode while signing.
                let sig: Signature = key.try_sign(msg).map_err(|_| CryptoError::InvalidKey)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }

            pub(super) type Public = VerifyingKey;

            pub(super) fn parse_public(public: &[u8]) -> Result<Public> {
                // §5.1.1 requires the uncompressed form; refuse compressed and identity encodings.
                if public.len() != 1 + 2 * SCALAR_LEN || public[0] != 0x04 {
                    return Err(CryptoError::InvalidKey.into());
                }
                VerifyingKey::from_sec1_bytes(public).map_err(|_| CryptoError::InvalidKey.into())
            }

            pub(super) fn verify(vk: &Public, msg: &[u8], signature: &[u8]) -> Result<()> {
                let sig = Signature::from_der(signature).map_err(|_| CryptoError::BadSignature)?;
                vk.verify(msg, &sig)
                    .map_err(|_| CryptoError::BadSignature.into())
            }
        }
    };
}

ecdsa_impl!(ecdsa_p256, p256, 32);
ecdsa_impl!(ecdsa_p384, p384, 48);
ecdsa_impl!(ecdsa_p521, p521, 66);

mod ed25519 {
    use crate::error::{CryptoError, Result};
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
    use std::sync::OnceLock;
    use zeroize::Zeroizing;

    pub(super) const SEED_LEN: usize = 32;

    pub(super) type Key = SigningKey;

    pub(super) fn parse(private: &[u8]) -> Result<Key> {
        let seed: Zeroizing<[u8; SEED_LEN]> =
            Zeroizing::new(private.try_into().map_err(|_| CryptoError::InvalidKey)?);
        Ok(SigningKey::from_bytes(&seed))
    }

    pub(super) fn public(key: &Key) -> Vec<u8> {
        key.verifying_key().to_bytes().to_vec()
    }

    pub(super) fn sign(key: &Key, msg: &[u8]) -> Result<Vec<u8>> {
        Ok(key.sign(msg).to_bytes().to_vec())
    }

    /// A decompressed public key and whether it has small order (a weak key, under which
    /// strict verification accepts nothing), found once per key instead of per signature.
    #[derive(Clone)]
    pub(super) struct Public {
        key: VerifyingKey,
        weak: bool,
    }

    pub(super) fn parse_public(public: &[u8]) -> Result<Public> {
        let public: &[u8; 32] = public.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let key = VerifyingKey::from_bytes(public).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Public {
            weak: key.is_weak(),
            key,
        })
    }

    /// The canonical encodings of the eight points of small order (the 8-torsion subgroup).
    fn small_order_encodings() -> &'static [[u8; 32]; 8] {
        static ENCODINGS: OnceLock<[[u8; 32]; 8]> = OnceLock::new();
        ENCODINGS.get_or_init(|| EIGHT_TORSION.map(|p| p.compress().to_bytes()))
    }

    /// Accepts exactly what ed25519-dalek's `verify_strict` accepts (canonical S, neither A
    /// nor R of small order, `[S]B = R + [k]A` unbatched and without the cofactor), with
    /// one point decompression fewer: `verify` compares the recomputed R' with R's bytes,
    /// so when it succeeds R is the canonical encoding of R' and "R has small order" is "R
    /// is one of the eight torsion encodings"; `verify_strict` decompresses R to ask that.
    /// Strictness closes the malleability RFC 8032 leaves open; honest signers never
    /// produce what it refuses.
    pub(super) fn verify(public: &Public, msg: &[u8], signature: &[u8]) -> Result<()> {
        let sig = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        if public.weak || small_order_encodings().contains(sig.r_bytes()) {
            return Err(CryptoError::BadSignature.into());
        }
        public
            .key
            .verify(msg, &sig)
            .map_err(|_| CryptoError::BadSignature.into())
    }

    /// `verify_strict` itself, for the differential tests of [`verify`].
    #[cfg(test)]
    pub(super) fn verify_strict_reference(
        public: &[u8],
        msg: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let public: &[u8; 32] = public.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let vk = VerifyingKey::from_bytes(public).map_err(|_| CryptoError::InvalidKey)?;
        let sig = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        vk.verify_strict(msg, &sig)
            .map_err(|_| CryptoError::BadSignature.into())
    }
}

mod ed448 {
    use crate::error::{CryptoError, Result};
    use ed448_goldilocks::{SecretKey, Signature, SigningKey, VerifyingKey};
    use zeroize::Zeroize;

    pub(super) const SEED_LEN: usize = 57;

    pub(super) type Key = SigningKey;

    pub(super) fn parse(private: &[u8]) -> Result<Key> {
        let mut seed = SecretKey::try_from(private).map_err(|_| CryptoError::InvalidKey)?;
        let sk = SigningKey::from(&seed);
        seed.as_mut_slice().zeroize();
        Ok(sk)
    }

    pub(super) fn public(key: &Key) -> Vec<u8> {
        key.verifying_key().to_bytes().to_vec()
    }

    /// Pure Ed448 with an empty context (RFC 8032 §5.2), as MLS uses the plain "ed448" scheme.
    pub(super) fn sign(key: &Key, msg: &[u8]) -> Result<Vec<u8>> {
        Ok(key.sign_raw(msg).to_bytes().to_vec())
    }

    pub(super) type Public = VerifyingKey;

    pub(super) fn parse_public(public: &[u8]) -> Result<Public> {
        let public = <&[u8; 57]>::try_from(public).map_err(|_| CryptoError::InvalidKey)?;
        VerifyingKey::from_bytes(public).map_err(|_| CryptoError::InvalidKey.into())
    }

    pub(super) fn verify(vk: &Public, msg: &[u8], signature: &[u8]) -> Result<()> {
        let sig = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
        vk.verify_raw(&sig, msg)
            .map_err(|_| CryptoError::BadSignature.into())
    }
}

/// ML-DSA over one parameter set; the crate's types are generic, so one module serves all.
#[cfg(feature = "pq")]
mod mldsa {
    use crate::error::{CryptoError, Result};
    use ml_dsa::{
        EncodedSignature, EncodedVerifyingKey, Keypair, MlDsaParams, Signature, Signer, SigningKey,
        VerifyingKey,
    };

    /// The seed ξ of FIPS 204 KeyGen.
    pub(super) const SEED_LEN: usize = 32;

    pub(super) type Key<P> = SigningKey<P>;

    pub(super) fn parse<P: MlDsaParams>(private: &[u8]) -> Result<Key<P>> {
        let seed = ml_dsa::Seed::try_from(private).map_err(|_| CryptoError::InvalidKey)?;
        Ok(SigningKey::from_seed(&seed))
    }

    pub(super) fn public<P: MlDsaParams>(key: &Key<P>) -> Vec<u8> {
        key.verifying_key().encode().to_vec()
    }

    pub(super) fn sign<P: MlDsaParams>(key: &Key<P>, msg: &[u8]) -> Result<Vec<u8>> {
        // Deterministic ML-DSA.Sign with an empty context.
        let sig: Signature<P> = key.try_sign(msg).map_err(|_| CryptoError::InvalidKey)?;
        Ok(sig.encode().to_vec())
    }

    pub(super) type Public<P> = VerifyingKey<P>;

    pub(super) fn parse_public<P: MlDsaParams>(public: &[u8]) -> Result<Public<P>> {
        let public =
            EncodedVerifyingKey::<P>::try_from(public).map_err(|_| CryptoError::InvalidKey)?;
        Ok(VerifyingKey::<P>::decode(&public))
    }

    pub(super) fn verify<P: MlDsaParams>(
        vk: &Public<P>,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let sig = EncodedSignature::<P>::try_from(signature)
            .ok()
            .and_then(|s| Signature::<P>::decode(&s))
            .ok_or(CryptoError::BadSignature)?;
        if vk.verify_with_context(msg, &[], &sig) {
            Ok(())
        } else {
            Err(CryptoError::BadSignature.into())
        }
    }
}

impl SigAlg {
    /// Length of the private key encoding.
    fn private_len(self) -> usize {
        match self {
            SigAlg::Ed25519 => ed25519::SEED_LEN,
            SigAlg::Ed448 => ed448::SEED_LEN,
            SigAlg::EcdsaP256Sha256 => ecdsa_p256::SCALAR_LEN,
            SigAlg::EcdsaP384Sha384 => ecdsa_p384::SCALAR_LEN,
            SigAlg::EcdsaP521Sha512 => ecdsa_p521::SCALAR_LEN,
            #[cfg(feature = "pq")]
            SigAlg::MlDsa44 | SigAlg::MlDsa65 | SigAlg::MlDsa87 => mldsa::SEED_LEN,
        }
    }

    fn parse(self, private: &[u8]) -> Result<ParsedKey> {
        Ok(match self {
            SigAlg::Ed25519 => ParsedKey::Ed25519(ed25519::parse(private)?),
            SigAlg::Ed448 => ParsedKey::Ed448(Box::new(ed448::parse(private)?)),
            SigAlg::EcdsaP256Sha256 => ParsedKey::P256(ecdsa_p256::parse(private)?),
            SigAlg::EcdsaP384Sha384 => ParsedKey::P384(ecdsa_p384::parse(private)?),
            SigAlg::EcdsaP521Sha512 => ParsedKey::P521(ecdsa_p521::parse(private)?),
            #[cfg(feature = "pq")]
            SigAlg::MlDsa44 => ParsedKey::MlDsa44(Box::new(mldsa::parse(private)?)),
            #[cfg(feature = "pq")]
            SigAlg::MlDsa65 => ParsedKey::MlDsa65(Box::new(mldsa::parse(private)?)),
            #[cfg(feature = "pq")]
            SigAlg::MlDsa87 => ParsedKey::MlDsa87(Box::new(mldsa::parse(private)?)),
        })
    }

    fn parse_public(self, public: &[u8]) -> Result<ParsedPublic> {
        Ok(match self {
            SigAlg::Ed25519 => ParsedPublic::Ed25519(ed25519::parse_public(public)?),
            SigAlg::Ed448 => ParsedPublic::Ed448(Box::new(ed448::parse_public(public)?)),
            SigAlg::EcdsaP256Sha256 => ParsedPublic::P256(ecdsa_p256::parse_public(public)?),
            SigAlg::EcdsaP384Sha384 => ParsedPublic::P384(ecdsa_p384::parse_public(public)?),
            SigAlg::EcdsaP521Sha512 => {
                ParsedPublic::P521(Box::new(ecdsa_p521::parse_public(public)?))
            }
            #[cfg(feature = "pq")]
            SigAlg::MlDsa44 => ParsedPublic::MlDsa44(Box::new(mldsa::parse_public(public)?)),
            #[cfg(feature = "pq")]
            SigAlg::MlDsa65 => ParsedPublic::MlDsa65(Box::new(mldsa::parse_public(public)?)),
            #[cfg(feature = "pq")]
            SigAlg::MlDsa87 => ParsedPublic::MlDsa87(Box::new(mldsa::parse_public(public)?)),
        })
    }
}

/// A verification key in its crate's own type.
#[derive(Clone)]
enum ParsedPublic {
    Ed25519(ed25519::Public),
    Ed448(Box<ed448::Public>),
    P256(ecdsa_p256::Public),
    P384(ecdsa_p384::Public),
    P521(Box<ecdsa_p521::Public>),
    #[cfg(feature = "pq")]
    MlDsa44(Box<mldsa::Public<ml_dsa::MlDsa44>>),
    #[cfg(feature = "pq")]
    MlDsa65(Box<mldsa::Public<ml_dsa::MlDsa65>>),
    #[cfg(feature = "pq")]
    MlDsa87(Box<mldsa::Public<ml_dsa::MlDsa87>>),
}

impl ParsedPublic {
    fn verify(&self, msg: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            ParsedPublic::Ed25519(k) => ed25519::verify(k, msg, signature),
            ParsedPublic::Ed448(k) => ed448::verify(k, msg, signature),
            ParsedPublic::P256(k) => ecdsa_p256::verify(k, msg, signature),
            ParsedPublic::P384(k) => ecdsa_p384::verify(k, msg, signature),
            ParsedPublic::P521(k) => ecdsa_p521::verify(k, msg, signature),
            #[cfg(feature = "pq")]
            ParsedPublic::MlDsa44(k) => mldsa::verify(k, msg, signature),
            #[cfg(feature = "pq")]
            ParsedPublic::MlDsa65(k) => mldsa::verify(k, msg, signature),
            #[cfg(feature = "pq")]
            ParsedPublic::MlDsa87(k) => mldsa::verify(k, msg, signature),
        }
    }
}

/// A signature public key parsed once (point decompression, subgroup and weak-key checks),
/// so that a member whose messages are verified again and again is parsed only once.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: SigAlg,
    /// The `SignaturePublicKey` encoding (§5.1.1) it was parsed from.
    encoded: Box<[u8]>,
    parsed: ParsedPublic,
}

impl VerifyingKey {
    /// The encoding this key was parsed from.
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.alg)
            .field("len", &self.encoded.len())
            .finish_non_exhaustive()
    }
}

/// A signature public key as verification takes it: encoded (parsed on each use) or
/// parsed once and shared (see [`VerifyingKey`]).
#[derive(Clone, Debug)]
pub enum PublicKeyRef<'k> {
    /// The `SignaturePublicKey` encoding (§5.1.1).
    Encoded(&'k [u8]),
    /// A key parsed earlier.
    Parsed(Arc<VerifyingKey>),
}

impl<'k> From<&'k [u8]> for PublicKeyRef<'k> {
    fn from(encoded: &'k [u8]) -> Self {
        PublicKeyRef::Encoded(encoded)
    }
}

impl From<Arc<VerifyingKey>> for PublicKeyRef<'_> {
    fn from(key: Arc<VerifyingKey>) -> Self {
        PublicKeyRef::Parsed(key)
    }
}

impl ParsedKey {
    fn public(&self) -> Vec<u8> {
        match self {
            ParsedKey::Ed25519(k) => ed25519::public(k),
            ParsedKey::Ed448(k) => ed448::public(k),
            ParsedKey::P256(k) => ecdsa_p256::public(k),
            ParsedKey::P384(k) => ecdsa_p384::public(k),
            ParsedKey::P521(k) => ecdsa_p521::public(k),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa44(k) => mldsa::public(k),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa65(k) => mldsa::public(k),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa87(k) => mldsa::public(k),
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match self {
            ParsedKey::Ed25519(k) => ed25519::sign(k, msg),
            ParsedKey::Ed448(k) => ed448::sign(k, msg),
            ParsedKey::P256(k) => ecdsa_p256::sign(k, msg),
            ParsedKey::P384(k) => ecdsa_p384::sign(k, msg),
            ParsedKey::P521(k) => ecdsa_p521::sign(k, msg),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa44(k) => mldsa::sign(k, msg),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa65(k) => mldsa::sign(k, msg),
            #[cfg(feature = "pq")]
            ParsedKey::MlDsa87(k) => mldsa::sign(k, msg),
        }
    }
}

impl Suite {
    /// A fresh signature key pair from the OS RNG.
    pub fn generate_signature_key_pair(&self) -> Result<SignaturePrivateKey> {
        let mut private = Secret::zero(self.sig.private_len());
        // EdDSA seeds are any bytes; an ECDSA scalar must be in [1, n), which a random
        // string misses with negligible probability (P-521 after masking its top byte to the
        // 521-bit field size), so a few retries are plenty.
        for _ in 0..16 {
            fill_random(private.as_mut_bytes())?;
            if self.sig == SigAlg::EcdsaP521Sha512 {
                private.as_mut_bytes()[0] &= 0x01;
            }
            if let Ok(key) = self.signature_key_from_bytes(private.as_bytes()) {
                return Ok(key);
            }
        }
        Err(CryptoError::Rng.into())
    }

    /// Load a signature private key in the test-vector encoding (EdDSA seed, ECDSA scalar).
    pub fn signature_key_from_bytes(&self, private: &[u8]) -> Result<SignaturePrivateKey> {
        let is_scalar = matches!(
            self.sig,
            SigAlg::EcdsaP256Sha256 | SigAlg::EcdsaP384Sha384 | SigAlg::EcdsaP521Sha512
        );
        let padded = super::secret::left_pad_scalar(private, self.sig.private_len(), is_scalar)?;
        let private = padded.as_bytes();
        let parsed = self.sig.parse(private)?;
        Ok(SignaturePrivateKey {
            alg: self.sig,
            private: Secret::from_slice(private),
            public: parsed.public(),
            parsed,
        })
    }

    /// Whether `key` is of this suite's signature scheme (so one key can serve every suite
    /// that shares it, e.g. suite 1 and the X-Wing suites with Ed25519).
    pub fn accepts_signature_key(&self, key: &SignaturePrivateKey) -> bool {
        key.alg == self.sig
    }

    /// `Signature.Sign` over already-framed bytes; callers use [`Suite::sign_with_label`].
    pub(crate) fn sign_raw(&self, key: &SignaturePrivateKey, msg: &[u8]) -> Result<Vec<u8>> {
        if key.alg != self.sig {
            return Err(Error::Misuse("signature key of another algorithm"));
        }
        key.parsed.sign(msg)
    }

    /// Parse a signature public key of this suite's scheme once, for repeated verification;
    /// a malformed or off-curve key is `InvalidKey`.
    pub fn verifying_key(&self, public: &[u8]) -> Result<VerifyingKey> {
        Ok(VerifyingKey {
            alg: self.sig,
            encoded: public.into(),
            parsed: self.sig.parse_public(public)?,
        })
    }

    /// `Signature.Verify` over already-framed bytes; callers use [`Suite::verify_with_label`].
    pub(crate) fn verify_raw(&self, public: &[u8], msg: &[u8], signature: &[u8]) -> Result<()> {
        self.sig.parse_public(public)?.verify(msg, signature)
    }

    /// [`Suite::verify_raw`] with a key that may have been parsed earlier.
    pub(crate) fn verify_raw_key(
        &self,
        public: &PublicKeyRef<'_>,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        match public {
            PublicKeyRef::Encoded(bytes) => self.verify_raw(bytes, msg, signature),
            PublicKeyRef::Parsed(key) if key.alg == self.sig => key.parsed.verify(msg, signature),
            PublicKeyRef::Parsed(_) => Err(CryptoError::InvalidKey.into()),
        }
    }
}

#[cfg(test)]
#[path = "tests_signature.rs"]
mod tests;
