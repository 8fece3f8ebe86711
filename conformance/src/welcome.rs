//! `welcome.json` (test-vectors.md "Welcome"): find our entry, decrypt GroupSecrets and
//! GroupInfo, verify the GroupInfo signature with `signer_pub`, and recompute the
//! confirmation tag from the joiner secret with no PSKs (§12.4.3.1).

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::Decode;
use cohort::crypto::{CipherSuite, Secret, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::welcome::{open_welcome, verify_group_info, welcome_epoch_secrets};
use cohort::schedule::JoinerSecret;
use serde_json::Value;

/// Check one welcome case.
pub fn check(case: &Value) -> Result<(), String> {
    let cipher_suite = CipherSuite(u64_field(case, "cipher_suite")? as u16);
    let suite = Suite::new(cipher_suite).map_err(|e| e.to_string())?;
    let init_key = suite
        .hpke_key_from_bytes(&hex_field(case, "init_priv")?)
        .map_err(|e| format!("init_priv: {e}"))?;
    let signer_pub = hex_field(case, "signer_pub")?;
    let kp_msg = MLSMessage::decode_exact(&hex_field(case, "key_package")?)
        .map_err(|e| format!("key_package: {e:?}"))?;
    let MLSMessageBody::KeyPackage(key_package) = kp_msg.body else {
        return Err("key_package is not an MLSMessage(KeyPackage)".into());
    };
    let welcome_msg = MLSMessage::decode_exact(&hex_field(case, "welcome")?)
        .map_err(|e| format!("welcome: {e:?}"))?;
    let MLSMessageBody::Welcome(welcome) = welcome_msg.body else {
        return Err("welcome is not an MLSMessage(Welcome)".into());
    };
    ensure(
        key_package.init_key.as_slice() == init_key.public_key(),
        "init_priv matches the KeyPackage's init_key",
    )?;

    let no_psks = |s: &Suite, _: &_| Ok(Secret::zero(s.hash_len()));
    let opened = open_welcome(&welcome, &key_package, &init_key, &no_psks)
        .map_err(|e| format!("open: {e}"))?;
    verify_group_info(&suite, &opened.group_info, &signer_pub)
        .map_err(|e| format!("signature: {e}"))?;
    let joiner = JoinerSecret(opened.group_secrets.joiner_secret.clone());
    welcome_epoch_secrets(
        &suite,
        &joiner,
        &Secret::zero(suite.hash_len()),
        &opened.group_info,
    )
    .map_err(|e| format!("confirmation tag: {e}"))?;
    Ok(())
}
