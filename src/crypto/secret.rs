//! Secret byte strings: zeroized on drop, redacted in Debug, compared in constant time.

use crate::codec::{write_vec_bytes, Decode, Encode, Reader};
use crate::error::DecodeError;
use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value (key, nonce seed, path secret). Never printed, wiped on drop.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// Copy secret bytes from a slice.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }

    /// An all-zero secret of `len` bytes (the RFC's `0` of length `KDF.Nh`).
    pub fn zero(len: usize) -> Self {
        Secret(vec![0; len])
    }

    /// The secret bytes. Callers must not copy them into non-zeroizing storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, for filling in place (RNG output, KDF output) without a copy.
    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// Constant-time equality: lengths are public, contents are not.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for Secret {}

impl Encode for Secret {
    fn encode(&self, out: &mut Vec<u8>) {
        write_vec_bytes(out, &self.0);
    }
}

impl Decode for Secret {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Secret(r.vec_bytes()?.to_vec()))
    }
}

/// A private key of exactly `len` bytes. NIST scalars are big-endian integers, and some
/// encoders drop leading zero bytes (a P-521 scalar is 66 bytes, but 65 in some test
/// vectors), so a shorter scalar is left-padded; any other length mismatch is `InvalidKey`.
pub(crate) fn left_pad_scalar(
    private: &[u8],
    len: usize,
    is_scalar: bool,
) -> crate::error::Result<Secret> {
    if private.len() == len || (is_scalar && !private.is_empty() && private.len() < len) {
        let mut out = vec![0u8; len - private.len()];
        out.extend_from_slice(private);
        Ok(Secret(out))
    } else {
        Err(crate::error::CryptoError::InvalidKey.into())
    }
}

/// Compare two MACs or tags in constant time; a length mismatch (empty, truncated or
/// over-long tag) is never equal.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new(vec![0xde, 0xad]);
        assert_eq!(format!("{s:?}"), "Secret(<2 bytes redacted>)");
    }

    #[test]
    fn ct_eq_rejects_wrong_lengths() {
        assert!(ct_eq(b"abcd", b"abcd"));
        assert!(!ct_eq(b"abcd", b"abc"));
        assert!(!ct_eq(b"abcd", b"abcde"));
        assert!(!ct_eq(b"abcd", b""));
        assert!(!ct_eq(b"abcd", b"abce"));
    }
}
