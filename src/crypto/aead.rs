//! The suite AEAD (RFC 9420 §5.1): AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305, with the
//! tag appended to the ciphertext as RFC 5116 and HPKE expect.

use super::suite::{AeadAlg, Suite};
use crate::error::{CryptoError, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};

/// Run `$body` with `$a` bound to the concrete AEAD type of `$alg`.
macro_rules! with_aead {
    ($alg:expr, $a:ident => $body:expr) => {
        match $alg {
            AeadAlg::Aes128Gcm => {
                type $a = aes_gcm::Aes128Gcm;
                $body
            }
            AeadAlg::Aes256Gcm => {
                type $a = aes_gcm::Aes256Gcm;
                $body
            }
            AeadAlg::ChaCha20Poly1305 => {
                type $a = chacha20poly1305::ChaCha20Poly1305;
                $body
            }
        }
    };
}

impl AeadAlg {
    /// Encrypt; lengths are checked first so that no input can make the AEAD crates panic.
    pub(crate) fn seal(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        self.check_lengths(key, nonce)?;
        with_aead!(self, A => {
            let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
            let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce)
                .map_err(|_| CryptoError::InvalidLength)?;
            cipher
                .encrypt(&nonce, Payload { msg: plaintext, aad })
                .map_err(|_| CryptoError::InvalidLength.into())
        })
    }

    /// Decrypt and authenticate; any forgery, truncation or wrong key is `DecryptFailed`.
    pub(crate) fn open(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        self.check_lengths(key, nonce)?;
        with_aead!(self, A => {
            let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
            let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce)
                .map_err(|_| CryptoError::InvalidLength)?;
            cipher
                .decrypt(&nonce, Payload { msg: ciphertext, aad })
                .map_err(|_| CryptoError::DecryptFailed.into())
        })
    }

    fn check_lengths(self, key: &[u8], nonce: &[u8]) -> Result<()> {
        if key.len() != self.key_len() {
            return Err(CryptoError::InvalidKey.into());
        }
        if nonce.len() != self.nonce_len() {
            return Err(CryptoError::InvalidLength.into());
        }
        Ok(())
    }
}

impl Suite {
    /// `AEAD.Seal(key, nonce, aad, plaintext)`; a key or nonce of the wrong length is an error.
    pub fn aead_seal(
        &self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        self.aead.seal(key, nonce, aad, plaintext)
    }

    /// `AEAD.Open(key, nonce, aad, ciphertext)`; authentication failure is `DecryptFailed`.
    pub fn aead_open(
        &self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        self.aead.open(key, nonce, aad, ciphertext)
    }
}
