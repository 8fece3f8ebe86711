//! The labelled operations of RFC 9420: ExpandWithLabel and DeriveSecret (§8),
//! DeriveTreeSecret (§9), RefHash (§5.2), SignWithLabel (§5.1.2) and EncryptWithLabel (§5.1.3).
//!
//! Every label gets the `"MLS 1.0 "` prefix except RefHash's, whose callers pass the full
//! label (§5.2 writes `RefHash("MLS 1.0 KeyPackage Reference", value)`).

use super::hpke::HpkePrivateKey;
use super::secret::Secret;
use super::signature::{PublicKeyRef, SignaturePrivateKey};
use super::suite::Suite;
use crate::codec::{write_varint, write_vec_bytes, MAX_VARINT};
use crate::error::{CryptoError, Result};

/// The prefix §5.1.2, §5.1.3 and §8 put before every label.
const PREFIX: &[u8] = b"MLS 1.0 ";

/// Fewer HPKE encryptions than this per thread are not worth a thread (a seal is ~70 µs, a
/// spawn ~60 µs).
const MIN_SEALS_PER_THREAD: usize = 4;

/// Encode `struct { opaque label<V> = "MLS 1.0 " + label; opaque second<V>; }`, the shape
/// of KDFLabel's tail, SignContent and EncryptContext. Fails instead of writing a length
/// that a varint cannot carry (§2.1.2).
fn labelled_pair(out: &mut Vec<u8>, label: &str, second: &[u8]) -> Result<()> {
    let label_len = PREFIX.len() + label.len();
    if label_len as u64 > MAX_VARINT || second.len() as u64 > MAX_VARINT {
        return Err(CryptoError::InvalidLength.into());
    }
    write_varint(out, label_len as u64);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(label.as_bytes());
    write_vec_bytes(out, second);
    Ok(())
}

/// The encoded `SignContent` of §5.1.2.
pub(crate) fn sign_content(label: &str, content: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(PREFIX.len() + label.len() + content.len() + 8);
    labelled_pair(&mut out, label, content)?;
    Ok(out)
}

/// The encoded `EncryptContext` of §5.1.3, used as HPKE `info`.
pub(crate) fn encrypt_context(label: &str, context: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(PREFIX.len() + label.len() + context.len() + 8);
    labelled_pair(&mut out, label, context)?;
    Ok(out)
}

/// Bytes of a varint length prefix, for hashing `opaque x<V>` without copying `x`.
///
/// Lengths past 2^30 - 1 have no MLS encoding (§2.1.2), so no received object can be that
/// long; they are clamped rather than allowed to trip the codec's debug assertion.
fn varint_prefix(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    write_varint(&mut out, (len as u64).min(MAX_VARINT));
    out
}

impl Suite {
    /// `ExpandWithLabel(secret, label, context, len)` (§8): HKDF-Expand with the encoded
    /// `KDFLabel { uint16 length; opaque label<V>; opaque context<V>; }` as info.
    pub fn expand_with_label(
        &self,
        secret: &Secret,
        label: &str,
        context: &[u8],
        len: usize,
    ) -> Result<Secret> {
        // KDFLabel.length is a uint16: longer outputs have no encoding.
        let length = u16::try_from(len).map_err(|_| CryptoError::InvalidLength)?;
        let mut info = Vec::with_capacity(2 + PREFIX.len() + label.len() + context.len() + 8);
        info.extend_from_slice(&length.to_be_bytes());
        labelled_pair(&mut info, label, context)?;
        self.expand(secret, &info, len)
    }

    /// `DeriveSecret(secret, label) = ExpandWithLabel(secret, label, "", KDF.Nh)` (§8).
    pub fn derive_secret(&self, secret: &Secret, label: &str) -> Result<Secret> {
        self.expand_with_label(secret, label, &[], self.hash_len())
    }

    /// `DeriveTreeSecret(secret, label, generation, len)` (§9.1): ExpandWithLabel with the
    /// generation as a big-endian uint32 context.
    pub fn derive_tree_secret(
        &self,
        secret: &Secret,
        label: &str,
        generation: u32,
        len: usize,
    ) -> Result<Secret> {
        self.expand_with_label(secret, label, &generation.to_be_bytes(), len)
    }

    /// `RefHash(label, value) = Hash(RefHashInput { label<V>; value<V>; })` (§5.2); `label`
    /// is used as given, without the "MLS 1.0 " prefix.
    pub fn ref_hash(&self, label: &str, value: &[u8]) -> Vec<u8> {
        // Hashed in parts so large values (KeyPackages, proposals) are not copied.
        let label_len = varint_prefix(label.len());
        let value_len = varint_prefix(value.len());
        self.hash
            .digest_parts(&[&label_len, label.as_bytes(), &value_len, value])
    }

    /// `SignWithLabel(key, label, content)` (§5.1.2): sign the encoded `SignContent`.
    pub fn sign_with_label(
        &self,
        key: &SignaturePrivateKey,
        label: &str,
        content: &[u8],
    ) -> Result<Vec<u8>> {
        let msg = sign_content(label, content)?;
        self.sign_raw(key, &msg)
    }

    /// `VerifyWithLabel(public, label, content, signature)` (§5.1.2). A signature that does
    /// not verify is `BadSignature`; a malformed public key is `InvalidKey`.
    pub fn verify_with_label(
        &self,
        public: &[u8],
        label: &str,
        content: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let msg = sign_content(label, content)?;
        self.verify_raw(public, &msg, signature)
    }

    /// [`Suite::verify_with_label`] with a key that may have been parsed once already.
    pub fn verify_with_label_key(
        &self,
        public: &PublicKeyRef<'_>,
        label: &str,
        content: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let msg = sign_content(label, content)?;
        self.verify_raw_key(public, &msg, signature)
    }

    /// `EncryptWithLabel(public, label, context, plaintext)` (§5.1.3): HPKE SealBase with the
    /// encoded `EncryptContext` as info and empty aad. Returns `(kem_output, ciphertext)`.
    pub fn encrypt_with_label(
        &self,
        public: &[u8],
        label: &str,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let info = encrypt_context(label, context)?;
        self.hpke_seal_base(public, &info, &[], plaintext)
    }

    /// `EncryptWithLabel` of one `(public key, plaintext)` pair per recipient under the same
    /// label and context, hashing the context once: a Welcome's context is the encrypted
    /// GroupInfo, which carries the whole tree, so per-recipient hashing would be O(N²).
    pub fn encrypt_with_label_to_many(
        &self,
        label: &str,
        context: &[u8],
        recipients: &[(&[u8], &[u8])],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let info_hash = self.hpke_info_hash(&encrypt_context(label, context)?);
        // Each seal is a KEM encapsulation: spread large batches over the cores.
        crate::parallel::map(recipients, MIN_SEALS_PER_THREAD, |(public, plaintext)| {
            self.hpke_seal_base_prehashed(public, &info_hash, &[], plaintext)
        })
        .into_iter()
        .collect()
    }

    /// `DecryptWithLabel(key, label, context, kem_output, ciphertext)` (§5.1.3): HPKE OpenBase.
    pub fn decrypt_with_label(
        &self,
        key: &HpkePrivateKey,
        label: &str,
        context: &[u8],
        kem_output: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        let info = encrypt_context(label, context)?;
        self.hpke_open_base(key, kem_output, &info, &[], ciphertext)
    }
}
