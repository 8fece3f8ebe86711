//! DHKEM (RFC 9180 §4.1) over X25519, X448, P-256, P-384 and P-521.
//!
//! One implementation serves all five groups, so the KEM the vectors exercise for one suite
//! is the same code as for every other: only the Diffie-Hellman function, the key encodings
//! and DeriveKeyPair's candidate loop (§7.1.3) differ per group. The `hpke` crate has no
//! X448 KEM, which is why this module exists at all.
//!
//! Encodings (§7.1.1, §7.1.2): X25519/X448 keys are raw little-endian strings; NIST public
//! keys are uncompressed SEC1 points and private keys big-endian scalars of `Nsk` bytes.

use super::hpke::{labeled_expand, labeled_extract};
use super::secret::Secret;
use super::suite::{fill_random, HashAlg, KemAlg};
use crate::error::{CryptoError, Result};

/// Diffie-Hellman over one NIST curve, generated per curve crate.
macro_rules! nist_dh {
    ($m:ident, $curve:ident, $nsk:expr) => {
        mod $m {
            use crate::crypto::secret::Secret;
            use crate::error::{CryptoError, Result};
            use $curve::elliptic_curve::sec1::ToSec1Point;
            use $curve::{FieldBytes, PublicKey, SecretKey};

            /// `Nsk`: the scalar length.
            pub(super) const NSK: usize = $nsk;
            /// `Npk`: an uncompressed point.
            pub(super) const NPK: usize = 1 + 2 * $nsk;

            /// DeserializePrivateKey: exactly `Nsk` bytes encoding a scalar in [1, n).
            pub(super) fn secret_key(sk: &[u8]) -> Result<SecretKey> {
                let bytes = <&FieldBytes>::try_from(sk).map_err(|_| CryptoError::InvalidKey)?;
                SecretKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey.into())
            }

            /// DeserializePublicKey: an uncompressed point on the curve, not the identity.
            fn public_key(pk: &[u8]) -> Result<PublicKey> {
                if pk.len() != NPK || pk[0] != 0x04 {
                    return Err(CryptoError::InvalidKey.into());
                }
                PublicKey::from_sec1_bytes(pk).map_err(|_| CryptoError::InvalidKey.into())
            }

            pub(super) fn public_from_private(sk: &[u8]) -> Result<Vec<u8>> {
                let pk = secret_key(sk)?.public_key();
                Ok(pk.as_affine().to_sec1_point(false).as_bytes().to_vec())
            }

            /// DH(sk, pk): the x-coordinate of the shared point (§7.1, `Ndh` = `Nsk`).
            pub(super) fn dh(sk: &[u8], pk: &[u8]) -> Result<Secret> {
                let pk = public_key(pk)?;
                let shared = secret_key(sk)?.diffie_hellman(&pk);
                Ok(Secret::from_slice(shared.raw_secret_bytes()))
            }
        }
    };
}

nist_dh!(p256_dh, p256, 32);
nist_dh!(p384_dh, p384, 48);
nist_dh!(p521_dh, p521, 66);

mod x25519_dh {
    use crate::crypto::secret::Secret;
    use crate::error::{CryptoError, Result};
    use x25519_dalek::{PublicKey, StaticSecret};
    use zeroize::Zeroizing;

    pub(super) const NSK: usize = 32;

    fn secret(sk: &[u8]) -> Result<StaticSecret> {
        let bytes: Zeroizing<[u8; 32]> =
            Zeroizing::new(sk.try_into().map_err(|_| CryptoError::InvalidKey)?);
        Ok(StaticSecret::from(*bytes))
    }

    pub(super) fn public_from_private(sk: &[u8]) -> Result<Vec<u8>> {
        Ok(PublicKey::from(&secret(sk)?).as_bytes().to_vec())
    }

    pub(super) fn dh(sk: &[u8], pk: &[u8]) -> Result<Secret> {
        let pk: [u8; 32] = pk.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let shared = secret(sk)?.diffie_hellman(&PublicKey::from(pk));
        // RFC 9180 §7.1.4: an all-zero output (low-order input point) must abort.
        if !shared.was_contributory() {
            return Err(CryptoError::InvalidKey.into());
        }
        Ok(Secret::from_slice(shared.as_bytes()))
    }
}

mod x448_dh {
    use crate::crypto::secret::Secret;
    use crate::error::{CryptoError, Result};
    use subtle::ConstantTimeEq;
    use x448::{PublicKey, StaticSecret};
    use zeroize::Zeroizing;

    pub(super) const NSK: usize = 56;

    fn secret(sk: &[u8]) -> Result<StaticSecret> {
        let bytes: Zeroizing<[u8; 56]> =
            Zeroizing::new(sk.try_into().map_err(|_| CryptoError::InvalidKey)?);
        Ok(StaticSecret::from(*bytes))
    }

    pub(super) fn public_from_private(sk: &[u8]) -> Result<Vec<u8>> {
        Ok(PublicKey::from(&secret(sk)?).as_bytes().to_vec())
    }

    pub(super) fn dh(sk: &[u8], pk: &[u8]) -> Result<Secret> {
        // `from_bytes` checks the length and rejects the canonical low-order points.
        let pk = PublicKey::from_bytes(pk).ok_or(CryptoError::InvalidKey)?;
        let shared = secret(sk)?.diffie_hellman(&pk);
        // RFC 9180 §7.1.4: abort on an all-zero output, which non-canonical encodings of
        // low-order points would still produce.
        if bool::from(shared.as_bytes().ct_eq(&[0u8; 56])) {
            return Err(CryptoError::InvalidKey.into());
        }
        Ok(Secret::from_slice(shared.as_bytes()))
    }
}

impl KemAlg {
    /// The KEM identifier (RFC 9180 §7.1).
    pub(crate) fn id(self) -> u16 {
        match self {
            KemAlg::P256 => 0x0010,
            KemAlg::P384 => 0x0011,
            KemAlg::P521 => 0x0012,
            KemAlg::X25519 => 0x0020,
            KemAlg::X448 => 0x0021,
        }
    }

    /// The KDF inside the DHKEM, fixed by the KEM and not by the cipher suite (§7.1).
    fn hash(self) -> HashAlg {
        match self {
            KemAlg::X25519 | KemAlg::P256 => HashAlg::Sha256,
            KemAlg::P384 => HashAlg::Sha384,
            KemAlg::X448 | KemAlg::P521 => HashAlg::Sha512,
        }
    }

    /// `Nsk`: length of a serialized private key.
    pub(crate) fn private_len(self) -> usize {
        match self {
            KemAlg::X25519 => x25519_dh::NSK,
            KemAlg::X448 => x448_dh::NSK,
            KemAlg::P256 => p256_dh::NSK,
            KemAlg::P384 => p384_dh::NSK,
            KemAlg::P521 => p521_dh::NSK,
        }
    }

    /// `suite_id = "KEM" || I2OSP(kem_id, 2)` (§4.1).
    fn suite_id(self) -> [u8; 5] {
        let id = self.id().to_be_bytes();
        [b'K', b'E', b'M', id[0], id[1]]
    }

    /// SerializePublicKey(pk(sk)); also validates the private key.
    pub(crate) fn public_from_private(self, sk: &[u8]) -> Result<Vec<u8>> {
        match self {
            KemAlg::X25519 => x25519_dh::public_from_private(sk),
            KemAlg::X448 => x448_dh::public_from_private(sk),
            KemAlg::P256 => p256_dh::public_from_private(sk),
            KemAlg::P384 => p384_dh::public_from_private(sk),
            KemAlg::P521 => p521_dh::public_from_private(sk),
        }
    }

    /// DH(sk, pk); an invalid `pk` or a degenerate result is `InvalidKey`.
    fn dh(self, sk: &[u8], pk: &[u8]) -> Result<Secret> {
        match self {
            KemAlg::X25519 => x25519_dh::dh(sk, pk),
            KemAlg::X448 => x448_dh::dh(sk, pk),
            KemAlg::P256 => p256_dh::dh(sk, pk),
            KemAlg::P384 => p384_dh::dh(sk, pk),
            KemAlg::P521 => p521_dh::dh(sk, pk),
        }
    }

    /// DeriveKeyPair(ikm) (§7.1.3): returns (serialized private key, public key).
    pub(crate) fn derive_key_pair(self, ikm: &[u8]) -> Result<(Secret, Vec<u8>)> {
        let (hash, sid) = (self.hash(), self.suite_id());
        let dkp_prk = labeled_extract(hash, &sid, &[], b"dkp_prk", ikm);
        let nsk = self.private_len();
        let sk = match self {
            // Every string is a valid X25519/X448 private key: expand directly.
            KemAlg::X25519 | KemAlg::X448 => labeled_expand(hash, &sid, &dkp_prk, b"sk", &[], nsk)?,
            // Rejection-sample a scalar in [1, n); the bitmask trims P-521's 528-bit
            // candidate to the 521-bit field.
            KemAlg::P256 | KemAlg::P384 | KemAlg::P521 => {
                let bitmask = if self == KemAlg::P521 { 0x01 } else { 0xff };
                let mut found = None;
                for counter in 0..=255u8 {
                    let mut candidate =
                        labeled_expand(hash, &sid, &dkp_prk, b"candidate", &[counter], nsk)?;
                    candidate.as_mut_bytes()[0] &= bitmask;
                    if self.public_from_private(candidate.as_bytes()).is_ok() {
                        found = Some(candidate);
                        break;
                    }
                }
                // §7.1.3's DeriveKeyPairError: probability below 2^-255 per call.
                found.ok_or(CryptoError::InvalidKey)?
            }
        };
        let pk = self.public_from_private(sk.as_bytes())?;
        Ok((sk, pk))
    }

    /// ExtractAndExpand(dh, kem_context) (§4.1).
    fn extract_and_expand(self, dh: &Secret, kem_context: &[u8]) -> Result<Secret> {
        let (hash, sid) = (self.hash(), self.suite_id());
        let eae_prk = labeled_extract(hash, &sid, &[], b"eae_prk", dh.as_bytes());
        // Nsecret equals the DHKEM's Nh for all five KEMs (§7.1 table).
        labeled_expand(
            hash,
            &sid,
            &eae_prk,
            b"shared_secret",
            kem_context,
            hash.len(),
        )
    }

    /// Encap(pkR) (§4.1): returns (shared_secret, enc). A malformed `pk_r` is `InvalidKey`.
    pub(crate) fn encap(self, pk_r: &[u8]) -> Result<(Secret, Vec<u8>)> {
        // GenerateKeyPair() = DeriveKeyPair(random(Nsk)) (§4).
        let mut ikm = Secret::zero(self.private_len());
        fill_random(ikm.as_mut_bytes())?;
        let (sk_e, pk_e) = self.derive_key_pair(ikm.as_bytes())?;
        let dh = self.dh(sk_e.as_bytes(), pk_r)?;
        let mut kem_context = Vec::with_capacity(pk_e.len() + pk_r.len());
        kem_context.extend_from_slice(&pk_e);
        kem_context.extend_from_slice(pk_r);
        let shared = self.extract_and_expand(&dh, &kem_context)?;
        Ok((shared, pk_e))
    }

    /// Decap(enc, skR) (§4.1), given pkR = pk(skR). A malformed or degenerate `enc` is
    /// `DecryptFailed`: it is part of the ciphertext, not a key the caller chose.
    pub(crate) fn decap(self, enc: &[u8], sk_r: &[u8], pk_r: &[u8]) -> Result<Secret> {
        let dh = self.dh(sk_r, enc).map_err(|_| CryptoError::DecryptFailed)?;
        let mut kem_context = Vec::with_capacity(enc.len() + pk_r.len());
        kem_context.extend_from_slice(enc);
        kem_context.extend_from_slice(pk_r);
        self.extract_and_expand(&dh, &kem_context)
    }
}
