//! Welcome messages (RFC 9420 §12.4.3.1): sealing GroupSecrets and the GroupInfo for new
//! members, and opening them as a joiner.
//!
//! These are the cryptographic steps only; the group state machine decides which PSKs a
//! Welcome needs, validates the tree and builds the group. Each step is a function so that
//! it can run between those decisions: open the GroupSecrets, resolve the PSKs they name,
//! then decrypt the GroupInfo with the resulting `psk_secret`.

use crate::codec::{Bytes, Decode, Encode};
use crate::crypto::{HpkePrivateKey, Secret, SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::messages::{
    EncryptedGroupSecrets, GroupInfo, GroupSecrets, HPKECiphertext, KeyPackage, Welcome,
};
use crate::schedule::{EpochSecrets, JoinerSecret};
use zeroize::Zeroizing;

use super::key_package::key_package_ref;

/// The entry of `welcome` for the KeyPackage with reference `key_package_ref`
/// ([`Rule::WelcomeNoEntry`] if there is none).
pub fn find_group_secrets<'a>(
    welcome: &'a Welcome,
    key_package_ref: &[u8],
) -> Result<&'a EncryptedGroupSecrets> {
    welcome
        .secrets
        .iter()
        .find(|e| e.new_member.as_slice() == key_package_ref)
        .ok_or(Rule::WelcomeNoEntry.into())
}

/// Find and decrypt our GroupSecrets (§12.4.3.1):
/// `DecryptWithLabel(init_key_priv, "Welcome", encrypted_group_info, kem_output, ciphertext)`.
///
/// `suite` must be our KeyPackage's; a Welcome of another suite is
/// [`Rule::WelcomeCipherSuite`].
pub fn open_group_secrets(
    suite: &Suite,
    welcome: &Welcome,
    key_package_ref: &[u8],
    init_key: &HpkePrivateKey,
) -> Result<GroupSecrets> {
    if welcome.cipher_suite != suite.id() {
        return Err(Rule::WelcomeCipherSuite.into());
    }
    let entry = find_group_secrets(welcome, key_package_ref)?;
    let ct = &entry.encrypted_group_secrets;
    let plaintext = suite
        .decrypt_with_label(
            init_key,
            "Welcome",
            &welcome.encrypted_group_info,
            &ct.kem_output,
            &ct.ciphertext,
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Invalid(Rule::WelcomeGroupSecretsDecryption))?;
    GroupSecrets::decode_exact(&plaintext).map_err(|_| Rule::WelcomeGroupSecretsMalformed.into())
}

/// Decrypt the GroupInfo of `welcome` (§12.4.3.1) with `welcome_key` and `welcome_nonce`
/// derived from the joiner secret and `psk_secret` (the all-zero `KDF.Nh` string when the
/// GroupSecrets name no PSKs).
pub fn decrypt_group_info(
    suite: &Suite,
    welcome: &Welcome,
    joiner_secret: &JoinerSecret,
    psk_secret: &Secret,
) -> Result<GroupInfo> {
    if welcome.cipher_suite != suite.id() {
        return Err(Rule::WelcomeCipherSuite.into());
    }
    let (key, nonce) = joiner_secret.welcome_key_nonce(suite, psk_secret)?;
    let plaintext = suite
        .aead_open(
            key.as_bytes(),
            nonce.as_bytes(),
            &[],
            &welcome.encrypted_group_info,
        )
        .map_err(|_| Error::Invalid(Rule::WelcomeGroupInfoDecryption))?;
    GroupInfo::decode_exact(&plaintext).map_err(|_| Rule::WelcomeGroupInfoMalformed.into())
}

/// Verify a GroupInfo's signature (§12.4.3) with the signature key of the leaf at
/// `group_info.signer`, which the caller takes from the ratchet tree.
pub fn verify_group_info(suite: &Suite, group_info: &GroupInfo, signer_key: &[u8]) -> Result<()> {
    suite
        .verify_with_label(
            signer_key,
            "GroupInfoTBS",
            &group_info.tbs_bytes(),
            &group_info.signature,
        )
        .map_err(|_| Rule::GroupInfoSignature.into())
}

/// Sign a GroupInfo in place: `SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)` (§12.4.3).
pub fn sign_group_info(
    suite: &Suite,
    group_info: &mut GroupInfo,
    signer: &SignaturePrivateKey,
) -> Result<()> {
    group_info.signature =
        Bytes(suite.sign_with_label(signer, "GroupInfoTBS", &group_info.tbs_bytes())?);
    Ok(())
}

/// The epoch secrets a joiner derives (§8, §12.4.3.1), after checking the GroupInfo's
/// `confirmation_tag` against them ([`Rule::ConfirmationTag`]).
pub fn welcome_epoch_secrets(
    suite: &Suite,
    joiner_secret: &JoinerSecret,
    psk_secret: &Secret,
    group_info: &GroupInfo,
) -> Result<EpochSecrets> {
    let context = group_info.group_context.to_bytes();
    let secrets = joiner_secret.epoch_secrets(suite, psk_secret, &context)?;
    secrets.verify_confirmation_tag(
        suite,
        &group_info.group_context.confirmed_transcript_hash,
        &group_info.confirmation_tag,
    )?;
    Ok(secrets)
}

/// A Welcome opened by a joiner: its GroupSecrets and the decrypted (not yet verified)
/// GroupInfo.
#[derive(Debug, Clone)]
pub struct OpenedWelcome {
    /// The joiner secret, optional path secret and PSK ids.
    pub group_secrets: GroupSecrets,
    /// The group state being joined; its signature is checked by [`verify_group_info`].
    pub group_info: GroupInfo,
}

/// Open a Welcome for `key_package` (§12.4.3.1): check the cipher suites of Welcome,
/// KeyPackage and GroupInfo agree ([`Rule::WelcomeCipherSuite`]), decrypt our GroupSecrets,
/// let `psk_secret` turn their PSK ids into `psk_secret` (§8.4; it fails if a PSK is
/// missing), and decrypt the GroupInfo.
pub fn open_welcome(
    welcome: &Welcome,
    key_package: &KeyPackage,
    init_key: &HpkePrivateKey,
    psk_secret: &dyn Fn(&Suite, &GroupSecrets) -> Result<Secret>,
) -> Result<OpenedWelcome> {
    if welcome.cipher_suite != key_package.cipher_suite {
        return Err(Rule::WelcomeCipherSuite.into());
    }
    let suite = Suite::new(key_package.cipher_suite)?;
    let reference = key_package_ref(&suite, key_package);
    let group_secrets = open_group_secrets(&suite, welcome, &reference, init_key)?;
    let psk = psk_secret(&suite, &group_secrets)?;
    let joiner = JoinerSecret(group_secrets.joiner_secret.clone());
    let group_info = decrypt_group_info(&suite, welcome, &joiner, &psk)?;
    if group_info.group_context.cipher_suite != key_package.cipher_suite {
        return Err(Rule::WelcomeCipherSuite.into());
    }
    Ok(OpenedWelcome {
        group_secrets,
        group_info,
    })
}

/// Build a Welcome (§12.4.1, §12.4.3.1): encrypt the signed `group_info` under the welcome
/// key and nonce of `joiner_secret` and `psk_secret`, then each new member's GroupSecrets
/// to its KeyPackage's `init_key` with `EncryptWithLabel(init_key, "Welcome",
/// encrypted_group_info, group_secrets)`.
pub fn seal_welcome(
    suite: &Suite,
    group_info: &GroupInfo,
    joiner_secret: &JoinerSecret,
    psk_secret: &Secret,
    new_members: &[(KeyPackage, GroupSecrets)],
) -> Result<Welcome> {
    let (key, nonce) = joiner_secret.welcome_key_nonce(suite, psk_secret)?;
    let encrypted_group_info = suite.aead_seal(
        key.as_bytes(),
        nonce.as_bytes(),
        &[],
        &group_info.to_bytes(),
    )?;
    let mut plaintexts = Vec::with_capacity(new_members.len());
    for (key_package, group_secrets) in new_members {
        if key_package.cipher_suite != suite.id() {
            return Err(Error::Misuse("a KeyPackage of another cipher suite"));
        }
        plaintexts.push(Zeroizing::new(group_secrets.to_bytes()));
    }
    let recipients: Vec<(&[u8], &[u8])> = new_members
        .iter()
        .zip(&plaintexts)
        .map(|((kp, _), pt)| (kp.init_key.as_slice(), pt.as_slice()))
        .collect();
    let sealed = suite.encrypt_with_label_to_many("Welcome", &encrypted_group_info, &recipients)?;
    let secrets = new_members
        .iter()
        .zip(sealed)
        .map(
            |((key_package, _), (kem_output, ciphertext))| EncryptedGroupSecrets {
                new_member: Bytes(key_package_ref(suite, key_package)),
                encrypted_group_secrets: HPKECiphertext {
                    kem_output: Bytes(kem_output),
                    ciphertext: Bytes(ciphertext),
                },
            },
        )
        .collect();
    Ok(Welcome {
        cipher_suite: suite.id(),
        secrets,
        encrypted_group_info: Bytes(encrypted_group_info),
    })
}

#[cfg(test)]
mod tests;
