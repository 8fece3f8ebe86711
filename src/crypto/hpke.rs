//! HPKE base mode (RFC 9180 §5.1, §5.2, §5.3) as MLS uses it: single-shot Seal/Open for
//! EncryptWithLabel (RFC 9420 §5.1.3) and SetupBaseS/R + Export for external commits (§8.3).
//!
//! The key schedule is written once for every suite on top of the suite's KEM
//! ([`super::kem`]: the `hpke` crate's, or ours for X448), the suite HKDF and the suite AEAD; MLS never needs PSK or Auth modes, nor more than one message per
//! context, so sequence numbers never leave 0 and the nonce is `base_nonce` itself.

use super::secret::Secret;
use super::suite::{fill_random, HashAlg, KemAlg, Suite};
use crate::error::{CryptoError, Error, Result};
use core::fmt;

/// The version label of RFC 9180 §4.
const HPKE_V1: &[u8] = b"HPKE-v1";

/// `LabeledExtract(salt, label, ikm)` (RFC 9180 §4), fed in parts so `ikm` is not copied.
pub(crate) fn labeled_extract(
    hash: HashAlg,
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> Secret {
    hash.extract_parts(salt, &[HPKE_V1, suite_id, label, ikm])
}

/// `LabeledExpand(prk, label, info, len)` (RFC 9180 §4); `len` must fit its uint16 prefix.
pub(crate) fn labeled_expand(
    hash: HashAlg,
    suite_id: &[u8],
    prk: &Secret,
    label: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Secret> {
    let l = u16::try_from(len).map_err(|_| CryptoError::InvalidLength)?;
    let mut labeled_info =
        Vec::with_capacity(2 + HPKE_V1.len() + suite_id.len() + label.len() + info.len());
    labeled_info.extend_from_slice(&l.to_be_bytes());
    labeled_info.extend_from_slice(HPKE_V1);
    labeled_info.extend_from_slice(suite_id);
    labeled_info.extend_from_slice(label);
    labeled_info.extend_from_slice(info);
    hash.expand(prk.as_bytes(), &labeled_info, len)
}

/// An HPKE private key: zeroized on drop, Debug redacted; carries its public key.
#[derive(Clone)]
pub struct HpkePrivateKey {
    kem: KemAlg,
    private: Secret,
    public: Vec<u8>,
}

impl HpkePrivateKey {
    /// The public key, in the `HPKEPublicKey` format (RFC 9180 SerializePublicKey).
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The private key in SerializePrivateKey form, for persistence; load with
    /// [`Suite::hpke_key_from_bytes`].
    pub fn to_bytes(&self) -> Secret {
        self.private.clone()
    }
}

impl fmt::Debug for HpkePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HpkePrivateKey")
            .field("kem", &self.kem)
            .field("public_key_len", &self.public.len())
            .finish_non_exhaustive()
    }
}

/// The base-mode encryption context of RFC 9180 §5.1, for its first (and only) message.
pub(crate) struct Context {
    pub(crate) key: Secret,
    pub(crate) base_nonce: Secret,
    pub(crate) exporter_secret: Secret,
}

impl Suite {
    /// `suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`.
    fn hpke_suite_id(&self) -> [u8; 10] {
        let mut id = [0u8; 10];
        id[..4].copy_from_slice(b"HPKE");
        id[4..6].copy_from_slice(&self.kem.id().to_be_bytes());
        id[6..8].copy_from_slice(&self.hash.hpke_kdf_id().to_be_bytes());
        id[8..].copy_from_slice(&self.aead.hpke_aead_id().to_be_bytes());
        id
    }

    /// KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") (RFC 9180 §5.1).
    pub(crate) fn key_schedule_base(&self, shared_secret: &Secret, info: &[u8]) -> Result<Context> {
        self.key_schedule_prehashed(shared_secret, &self.hpke_info_hash(info))
    }

    /// `LabeledExtract("", "info_hash", info)`: depends only on `info`, so a sender that seals
    /// to many recipients under one large `info` (a Welcome, §12.4.3.1) hashes it once.
    pub(crate) fn hpke_info_hash(&self, info: &[u8]) -> Secret {
        labeled_extract(self.hash, &self.hpke_suite_id(), &[], b"info_hash", info)
    }

    /// The base-mode key schedule from a precomputed `info_hash` (RFC 9180 §5.1).
    fn key_schedule_prehashed(
        &self,
        shared_secret: &Secret,
        info_hash: &Secret,
    ) -> Result<Context> {
        const MODE_BASE: u8 = 0x00;
        let (hash, sid) = (self.hash, self.hpke_suite_id());
        let psk_id_hash = labeled_extract(hash, &sid, &[], b"psk_id_hash", &[]);
        let mut ksc = Vec::with_capacity(1 + 2 * hash.len());
        ksc.push(MODE_BASE);
        ksc.extend_from_slice(psk_id_hash.as_bytes());
        ksc.extend_from_slice(info_hash.as_bytes());
        let secret = labeled_extract(hash, &sid, shared_secret.as_bytes(), b"secret", &[]);
        Ok(Context {
            key: labeled_expand(hash, &sid, &secret, b"key", &ksc, self.aead_key_len())?,
            base_nonce: labeled_expand(
                hash,
                &sid,
                &secret,
                b"base_nonce",
                &ksc,
                self.aead_nonce_len(),
            )?,
            exporter_secret: labeled_expand(hash, &sid, &secret, b"exp", &ksc, hash.len())?,
        })
    }

    /// `Context.Export(exporter_context, len)` (RFC 9180 §5.3).
    fn hpke_export(&self, ctx: &Context, exporter_context: &[u8], len: usize) -> Result<Secret> {
        let sid = self.hpke_suite_id();
        labeled_expand(
            self.hash,
            &sid,
            &ctx.exporter_secret,
            b"sec",
            exporter_context,
            len,
        )
    }

    fn check_kem(&self, key: &HpkePrivateKey) -> Result<()> {
        if key.kem == self.kem {
            Ok(())
        } else {
            Err(Error::Misuse("HPKE key of another KEM"))
        }
    }

    /// `SealBase(pkR, info, aad, pt)` (RFC 9180 §6.1): returns `(enc, ciphertext)`.
    pub(crate) fn hpke_seal_base(
        &self,
        public: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        self.hpke_seal_base_prehashed(public, &self.hpke_info_hash(info), aad, plaintext)
    }

    /// [`Suite::hpke_seal_base`] with `info` already hashed by [`Suite::hpke_info_hash`].
    pub(crate) fn hpke_seal_base_prehashed(
        &self,
        public: &[u8],
        info_hash: &Secret,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let (shared, enc) = self.kem.encap(public)?;
        let ctx = self.key_schedule_prehashed(&shared, info_hash)?;
        let ct = self.aead.seal(
            ctx.key.as_bytes(),
            ctx.base_nonce.as_bytes(),
            aad,
            plaintext,
        )?;
        Ok((enc, ct))
    }

    /// `OpenBase(enc, skR, info, aad, ct)` (RFC 9180 §6.1).
    pub(crate) fn hpke_open_base(
        &self,
        key: &HpkePrivateKey,
        enc: &[u8],
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        self.check_kem(key)?;
        let shared = self.kem.decap(enc, key.private.as_bytes(), &key.public)?;
        let ctx = self.key_schedule_base(&shared, info)?;
        self.aead.open(
            ctx.key.as_bytes(),
            ctx.base_nonce.as_bytes(),
            aad,
            ciphertext,
        )
    }

    /// `SetupBaseS(pkR, info)` then `Export(exporter_context, len)` (RFC 9180 §5.1.1, §5.3),
    /// as external commits use it (RFC 9420 §8.3). Returns `(kem_output, exported)`.
    pub fn hpke_export_sender(
        &self,
        public: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<(Vec<u8>, Secret)> {
        let (shared, enc) = self.kem.encap(public)?;
        let ctx = self.key_schedule_base(&shared, info)?;
        Ok((enc, self.hpke_export(&ctx, exporter_context, len)?))
    }

    /// `SetupBaseR(enc, skR, info)` then `Export(exporter_context, len)`: the receiving side
    /// of [`Suite::hpke_export_sender`].
    pub fn hpke_export_receiver(
        &self,
        key: &HpkePrivateKey,
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret> {
        self.check_kem(key)?;
        let shared = self
            .kem
            .decap(kem_output, key.private.as_bytes(), &key.public)?;
        let ctx = self.key_schedule_base(&shared, info)?;
        self.hpke_export(&ctx, exporter_context, len)
    }

    /// `DeriveKeyPair(ikm)` of the suite's KEM (RFC 9180 §7.1.3), e.g. from a path secret's
    /// node secret (RFC 9420 §7.4) or a leaf's init key.
    pub fn derive_key_pair(&self, ikm: &[u8]) -> Result<HpkePrivateKey> {
        let (private, public) = self.kem.derive_key_pair(ikm)?;
        Ok(HpkePrivateKey {
            kem: self.kem,
            private,
            public,
        })
    }

    /// `Npk`: the length of this suite's HPKE public keys (kilobytes for ML-KEM).
    pub fn hpke_public_key_len(&self) -> usize {
        self.kem.public_len()
    }

    /// `Nenc`: the length of this suite's KEM outputs (`kem_output` of an HPKECiphertext).
    pub fn hpke_enc_len(&self) -> usize {
        self.kem.enc_len()
    }

    /// A fresh HPKE key pair: `DeriveKeyPair(random(Nsk))`, as RFC 9180 §4 allows.
    pub fn generate_hpke_key_pair(&self) -> Result<HpkePrivateKey> {
        let mut ikm = Secret::zero(self.kem.private_len());
        fill_random(ikm.as_mut_bytes())?;
        self.derive_key_pair(ikm.as_bytes())
    }

    /// Load an HPKE private key in SerializePrivateKey form (RFC 9180 §7.1.2); a wrong
    /// length or an out-of-range NIST scalar is `InvalidKey`.
    pub fn hpke_key_from_bytes(&self, private: &[u8]) -> Result<HpkePrivateKey> {
        let is_scalar = self.kem.has_scalar_keys();
        let padded = super::secret::left_pad_scalar(private, self.kem.private_len(), is_scalar)?;
        let private = padded.as_bytes();
        let public = self.kem.public_from_private(private)?;
        Ok(HpkePrivateKey {
            kem: self.kem,
            private: Secret::from_slice(private),
            public,
        })
    }
}
