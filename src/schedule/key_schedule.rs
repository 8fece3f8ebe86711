//! Epoch secret derivation (RFC 9420 §8), exporters (§8.5) and epoch authenticators (§8.7).
//!
//! Inputs that are wire structs (the GroupContext) are taken as their encoding so that the
//! schedule depends only on the crypto layer.

use crate::crypto::{HpkePrivateKey, Secret, Suite};
use crate::error::Result;

/// `joiner_secret`, the value a Welcome carries to new members (§8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinerSecret(pub Secret);

impl JoinerSecret {
    /// `ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext_[n], Nh)`.
    pub fn derive(
        suite: &Suite,
        init_secret: &Secret,
        commit_secret: &Secret,
        group_context: &[u8],
    ) -> Result<Self> {
        let prk = suite.extract(init_secret.as_bytes(), commit_secret.as_bytes());
        Ok(JoinerSecret(suite.expand_with_label(
            &prk,
            "joiner",
            group_context,
            suite.hash_len(),
        )?))
    }

    /// The intermediate `Extract(joiner_secret, psk_secret)` both branches start from.
    fn member_prk(&self, suite: &Suite, psk_secret: &Secret) -> Secret {
        suite.extract(self.0.as_bytes(), psk_secret.as_bytes())
    }

    /// `welcome_secret = DeriveSecret(Extract(joiner_secret, psk_secret), "welcome")`.
    pub fn welcome_secret(&self, suite: &Suite, psk_secret: &Secret) -> Result<Secret> {
        suite.derive_secret(&self.member_prk(suite, psk_secret), "welcome")
    }

    /// The AEAD key and nonce that protect the GroupInfo in a Welcome (§12.4.3.1).
    pub fn welcome_key_nonce(
        &self,
        suite: &Suite,
        psk_secret: &Secret,
    ) -> Result<(Secret, Secret)> {
        let welcome_secret = self.welcome_secret(suite, psk_secret)?;
        Ok((
            suite.expand_with_label(&welcome_secret, "key", b"", suite.aead_key_len())?,
            suite.expand_with_label(&welcome_secret, "nonce", b"", suite.aead_nonce_len())?,
        ))
    }

    /// Derive the epoch secret and everything derived from it (§8, Table 4).
    pub fn epoch_secrets(
        &self,
        suite: &Suite,
        psk_secret: &Secret,
        group_context: &[u8],
    ) -> Result<EpochSecrets> {
        let epoch_secret = suite.expand_with_label(
            &self.member_prk(suite, psk_secret),
            "epoch",
            group_context,
            suite.hash_len(),
        )?;
        EpochSecrets::from_epoch_secret(suite, &epoch_secret)
    }
}

/// The secrets of one epoch (§8, "Epoch-Derived Secrets").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSecrets {
    /// Derives keys that encrypt sender data (§6.3.2).
    pub sender_data_secret: Secret,
    /// Root of the secret tree (§9).
    pub encryption_secret: Secret,
    /// Base of MLS-Exporter (§8.5).
    pub exporter_secret: Secret,
    /// Seeds the external HPKE key pair for external commits (§8.3).
    pub external_secret: Secret,
    /// Keys the confirmation tag (§8.1).
    pub confirmation_key: Secret,
    /// Keys the membership tag of PublicMessages (§6.2).
    pub membership_key: Secret,
    /// This epoch's resumption PSK (§8.6).
    pub resumption_psk: Secret,
    /// Lets members confirm a shared view of the group (§8.7).
    pub epoch_authenticator: Secret,
    /// `init_secret` for the next epoch.
    pub init_secret: Secret,
}

impl EpochSecrets {
    /// Derive every epoch secret from `epoch_secret`.
    pub fn from_epoch_secret(suite: &Suite, epoch_secret: &Secret) -> Result<Self> {
        let d = |label| suite.derive_secret(epoch_secret, label);
        Ok(EpochSecrets {
            sender_data_secret: d("sender data")?,
            encryption_secret: d("encryption")?,
            exporter_secret: d("exporter")?,
            external_secret: d("external")?,
            confirmation_key: d("confirm")?,
            membership_key: d("membership")?,
            resumption_psk: d("resumption")?,
            epoch_authenticator: d("authentication")?,
            init_secret: d("init")?,
        })
    }

    /// `MLS-Exporter(label, context, length)` (§8.5).
    pub fn export(
        &self,
        suite: &Suite,
        label: &str,
        context: &[u8],
        length: usize,
    ) -> Result<Secret> {
        let derived = suite.derive_secret(&self.exporter_secret, label)?;
        suite.expand_with_label(&derived, "exported", &suite.hash(context), length)
    }

    /// The group's external HPKE key pair, `KEM.DeriveKeyPair(external_secret)` (§8).
    pub fn external_key_pair(&self, suite: &Suite) -> Result<HpkePrivateKey> {
        suite.derive_key_pair(self.external_secret.as_bytes())
    }

    /// `confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)` (§8.1).
    pub fn confirmation_tag(&self, suite: &Suite, confirmed_transcript_hash: &[u8]) -> Vec<u8> {
        suite.mac(self.confirmation_key.as_bytes(), confirmed_transcript_hash)
    }

    /// Check a received confirmation tag in constant time (§8.1, §12.4.2).
    pub fn verify_confirmation_tag(
        &self,
        suite: &Suite,
        confirmed_transcript_hash: &[u8],
        tag: &[u8],
    ) -> Result<()> {
        suite
            .verify_mac(
                self.confirmation_key.as_bytes(),
                confirmed_transcript_hash,
                tag,
            )
            .map_err(|_| crate::error::Rule::ConfirmationTag.into())
    }
}

/// `init_secret` for an external commit, from the HPKE export of §8.3 (sender side).
pub fn external_init_sender(suite: &Suite, external_pub: &[u8]) -> Result<(Vec<u8>, Secret)> {
    suite.hpke_export_sender(
        external_pub,
        b"",
        b"MLS 1.0 external init secret",
        suite.hash_len(),
    )
}

/// `init_secret` for an external commit, recovered by members from the ExternalInit proposal.
pub fn external_init_receiver(
    suite: &Suite,
    external_priv: &HpkePrivateKey,
    kem_output: &[u8],
) -> Result<Secret> {
    suite.hpke_export_receiver(
        external_priv,
        kem_output,
        b"",
        b"MLS 1.0 external init secret",
        suite.hash_len(),
    )
}

/// Persisted form: the nine secrets in the order of the struct.
impl crate::codec::Encode for EpochSecrets {
    fn encode(&self, out: &mut Vec<u8>) {
        for s in [
            &self.sender_data_secret,
            &self.encryption_secret,
            &self.exporter_secret,
            &self.external_secret,
            &self.confirmation_key,
            &self.membership_key,
            &self.resumption_psk,
            &self.epoch_authenticator,
            &self.init_secret,
        ] {
            s.encode(out);
        }
    }
}

impl crate::codec::Decode for EpochSecrets {
    fn decode(
        r: &mut crate::codec::Reader<'_>,
    ) -> core::result::Result<Self, crate::error::DecodeError> {
        let mut next = || Secret::decode(r);
        Ok(EpochSecrets {
            sender_data_secret: next()?,
            encryption_secret: next()?,
            exporter_secret: next()?,
            external_secret: next()?,
            confirmation_key: next()?,
            membership_key: next()?,
            resumption_psk: next()?,
            epoch_authenticator: next()?,
            init_secret: next()?,
        })
    }
}
