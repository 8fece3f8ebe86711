//! `welcome.json`: a Welcome for a fresh KeyPackage (among zero to two other new members)
//! into a random epoch, with a signed GroupInfo and its confirmation tag (§12.4.3.1).

use super::{bytes, err, hx, key_package, random_context, range};
use cohort::codec::{Bytes, Encode};
use cohort::crypto::{Secret, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::welcome::{seal_welcome, sign_group_info};
use cohort::group::KeyPackageSecrets;
use cohort::messages::{Extensions, GroupInfo, GroupSecrets, KeyPackage, Welcome};
use cohort::schedule::JoinerSecret;
use serde_json::{json, Value};

/// A sealed Welcome and what went into it.
pub struct Sealed {
    /// The joiner's KeyPackage and private keys.
    pub ours: KeyPackageSecrets,
    /// The GroupInfo signer's public key.
    pub signer_pub: Vec<u8>,
    /// The signed GroupInfo.
    pub group_info: GroupInfo,
    /// The joiner's GroupSecrets.
    pub group_secrets: GroupSecrets,
    /// The Welcome.
    pub welcome: Welcome,
}

/// Seal a Welcome into a random epoch.
pub fn seal(suite: &Suite) -> Result<Sealed, String> {
    let nh = suite.hash_len();
    let context = random_context(suite)?;
    let joiner = JoinerSecret(Secret::new(bytes(suite, nh)?));
    let no_psk = Secret::zero(nh);
    let secrets = joiner
        .epoch_secrets(suite, &no_psk, &context.to_bytes())
        .map_err(err("epoch secrets"))?;
    let signer = suite
        .generate_signature_key_pair()
        .map_err(err("signature key"))?;
    let mut group_info = GroupInfo {
        confirmation_tag: Bytes(
            secrets.confirmation_tag(suite, &context.confirmed_transcript_hash),
        ),
        group_context: context,
        extensions: Extensions::new(),
        signer: range(suite, 0, 63)? as u32,
        signature: Bytes::default(),
    };
    sign_group_info(suite, &mut group_info, &signer).map_err(err("sign GroupInfo"))?;

    let ours = key_package(suite)?;
    let group_secrets = GroupSecrets {
        joiner_secret: joiner.0.clone(),
        path_secret: None,
        psks: Vec::new(),
    };
    // Our entry at a random position among the other new members'.
    let others = range(suite, 0, 2)? as usize;
    let mut new_members: Vec<(KeyPackage, GroupSecrets)> = Vec::with_capacity(others + 1);
    for _ in 0..others {
        new_members.push((key_package(suite)?.key_package, group_secrets.clone()));
    }
    let at = range(suite, 0, others as u64)? as usize;
    new_members.insert(at, (ours.key_package.clone(), group_secrets.clone()));
    let welcome =
        seal_welcome(suite, &group_info, &joiner, &no_psk, &new_members).map_err(err("seal"))?;
    Ok(Sealed {
        ours,
        signer_pub: signer.public_key().to_vec(),
        group_info,
        group_secrets,
        welcome,
    })
}

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let Sealed {
        ours,
        signer_pub,
        welcome,
        ..
    } = seal(suite)?;
    let kp_msg = MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(ours.key_package)));
    let welcome_msg = MLSMessage::new(MLSMessageBody::Welcome(welcome));
    Ok(json!({
        "cipher_suite": suite.id().0,
        "init_priv": hx(ours.init_key.to_bytes().as_bytes()),
        "signer_pub": hx(&signer_pub),
        "key_package": hx(&kp_msg.to_bytes()),
        "welcome": hx(&welcome_msg.to_bytes()),
    }))
}
