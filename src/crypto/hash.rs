//! Hash, HMAC and HKDF for the three SHA-2 hashes of the MLS suites (RFC 9420 §5.1, §17.1).
//!
//! Inputs are taken as lists of parts so that labelled constructions (HPKE's
//! `"HPKE-v1" || suite_id || label || ikm`, MLS `RefHashInput`) are fed to the hash
//! incrementally: no concatenated copy of secret input keying material is ever made.

use super::secret::{ct_eq, Secret};
use super::suite::{HashAlg, Suite};
use crate::error::{CryptoError, Result};
use hmac::{KeyInit, Mac};
use sha2::Digest;
use zeroize::Zeroize;

/// Run `$body` with `$h` bound to the concrete SHA-2 type of `$alg`.
macro_rules! with_hash {
    ($alg:expr, $h:ident => $body:expr) => {
        match $alg {
            HashAlg::Sha256 => {
                type $h = sha2::Sha256;
                $body
            }
            HashAlg::Sha384 => {
                type $h = sha2::Sha384;
                $body
            }
            HashAlg::Sha512 => {
                type $h = sha2::Sha512;
                $body
            }
        }
    };
}

impl HashAlg {
    /// Hash of the concatenation of `parts`.
    pub(crate) fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        with_hash!(self, H => {
            let mut h = H::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        })
    }

    /// HMAC of the concatenation of `parts` under `key` (RFC 2104).
    pub(crate) fn hmac_parts(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        with_hash!(self, H => {
            // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
            let mut m = <hmac::Hmac<H> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        })
    }

    /// HKDF-Extract(salt, concatenation of `ikm_parts`) (RFC 5869 §2.2).
    pub(crate) fn extract_parts(self, salt: &[u8], ikm_parts: &[&[u8]]) -> Secret {
        with_hash!(self, H => {
            let mut ctx = hkdf::HkdfExtract::<H>::new(Some(salt));
            for p in ikm_parts {
                ctx.input_ikm(p);
            }
            let (mut prk, _) = ctx.finalize();
            let out = Secret::from_slice(&prk);
            prk.as_mut_slice().zeroize();
            out
        })
    }

    /// HKDF-Expand(prk, info, len) (RFC 5869 §2.3). A PRK shorter than `Nh` or an output
    /// longer than `255 * Nh` is `InvalidLength`.
    pub(crate) fn expand(self, prk: &[u8], info: &[u8], len: usize) -> Result<Secret> {
        let mut out = Secret::zero(len);
        with_hash!(self, H => {
            let hk = hkdf::Hkdf::<H>::from_prk(prk).map_err(|_| CryptoError::InvalidLength)?;
            hk.expand(info, out.as_mut_bytes())
                .map_err(|_| CryptoError::InvalidLength)?;
        });
        Ok(out)
    }
}

impl Suite {
    /// The suite hash of `data`.
    pub fn hash(&self, data: &[u8]) -> Vec<u8> {
        self.hash.digest_parts(&[data])
    }

    /// HMAC of `data` under `key` with the suite hash (§17.1: all suites use HMAC).
    pub fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        self.hash.hmac_parts(key, &[data])
    }

    /// Check an HMAC tag in constant time; a tag of the wrong length is `BadMac`.
    pub fn verify_mac(&self, key: &[u8], data: &[u8], tag: &[u8]) -> Result<()> {
        let expected = self.mac(key, data);
        if ct_eq(&expected, tag) {
            Ok(())
        } else {
            Err(CryptoError::BadMac.into())
        }
    }

    /// `KDF.Extract(salt, ikm)`: HKDF-Extract with the suite hash.
    pub fn extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        self.hash.extract_parts(salt, &[ikm])
    }

    /// `KDF.Expand(prk, info, len)`: HKDF-Expand with the suite hash.
    pub fn expand(&self, prk: &Secret, info: &[u8], len: usize) -> Result<Secret> {
        self.hash.expand(prk.as_bytes(), info, len)
    }
}
