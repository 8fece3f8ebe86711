//! DHKEM(X448, HKDF-SHA512) (RFC 9180 §4.1, KEM id 0x0021): the one KEM of the MLS suites
//! that the `hpke` crate lacks ([`super::kem`] has the others).
//!
//! Encodings (§7.1.1, §7.1.2): keys are raw little-endian 56-byte strings.

use super::hpke::{labeled_expand, labeled_extract};
use super::secret::Secret;
use super::suite::{fill_random, HashAlg};
use crate::error::{CryptoError, Result};
use subtle::ConstantTimeEq;
use x448::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// `Nsk` = `Npk` = `Nenc` = `Ndh`.
pub(crate) const NSK: usize = 56;
/// The KDF inside the DHKEM, fixed by the KEM and not by the cipher suite (§7.1).
const HASH: HashAlg = HashAlg::Sha512;
/// `suite_id = "KEM" || I2OSP(0x0021, 2)` (§4.1).
const SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x21];

fn secret(sk: &[u8]) -> Result<StaticSecret> {
    let bytes: Zeroizing<[u8; NSK]> =
        Zeroizing::new(sk.try_into().map_err(|_| CryptoError::InvalidKey)?);
    Ok(StaticSecret::from(*bytes))
}

/// SerializePublicKey(pk(sk)); also validates the private key's length.
pub(crate) fn public_from_private(sk: &[u8]) -> Result<Vec<u8>> {
    Ok(PublicKey::from(&secret(sk)?).as_bytes().to_vec())
}

/// DH(sk, pk); an invalid `pk` or a degenerate result is `InvalidKey`.
fn dh(sk: &[u8], pk: &[u8]) -> Result<Secret> {
    // `from_bytes` checks the length and rejects the canonical low-order points.
    let pk = PublicKey::from_bytes(pk).ok_or(CryptoError::InvalidKey)?;
    let shared = secret(sk)?.diffie_hellman(&pk);
    // §7.1.4: abort on an all-zero output, which non-canonical encodings of low-order
    // points would still produce.
    if bool::from(shared.as_bytes().ct_eq(&[0u8; NSK])) {
        return Err(CryptoError::InvalidKey.into());
    }
    Ok(Secret::from_slice(shared.as_bytes()))
}

/// DeriveKeyPair(ikm) (§7.1.3): every string is an X448 private key, so expand directly.
pub(crate) fn derive_key_pair(ikm: &[u8]) -> Result<(Secret, Vec<u8>)> {
    let dkp_prk = labeled_extract(HASH, &SUITE_ID, &[], b"dkp_prk", ikm);
    let sk = labeled_expand(HASH, &SUITE_ID, &dkp_prk, b"sk", &[], NSK)?;
    let pk = public_from_private(sk.as_bytes())?;
    Ok((sk, pk))
}

/// ExtractAndExpand(dh, kem_context) (§4.1); `Nsecret` = 64.
fn extract_and_expand(dh: &Secret, kem_context: &[u8]) -> Result<Secret> {
    let eae_prk = labeled_extract(HASH, &SUITE_ID, &[], b"eae_prk", dh.as_bytes());
    labeled_expand(
        HASH,
        &SUITE_ID,
        &eae_prk,
        b"shared_secret",
        kem_context,
        HASH.len(),
    )
}

/// Encap(pkR) (§4.1): returns (shared_secret, enc). A malformed `pk_r` is `InvalidKey`.
pub(crate) fn encap(pk_r: &[u8]) -> Result<(Secret, Vec<u8>)> {
    // GenerateKeyPair() = DeriveKeyPair(random(Nsk)) (§4).
    let mut ikm = Secret::zero(NSK);
    fill_random(ikm.as_mut_bytes())?;
    let (sk_e, pk_e) = derive_key_pair(ikm.as_bytes())?;
    let dh = dh(sk_e.as_bytes(), pk_r)?;
    let kem_context = [&pk_e[..], pk_r].concat();
    Ok((extract_and_expand(&dh, &kem_context)?, pk_e))
}

/// Decap(enc, skR) (§4.1), given pkR = pk(skR). A malformed or degenerate `enc` is
/// `DecryptFailed`.
pub(crate) fn decap(enc: &[u8], sk_r: &[u8], pk_r: &[u8]) -> Result<Secret> {
    let dh = dh(sk_r, enc).map_err(|_| CryptoError::DecryptFailed)?;
    let kem_context = [enc, pk_r].concat();
    extract_and_expand(&dh, &kem_context)
}
