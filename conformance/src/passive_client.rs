//! `passive-client-welcome.json` and `passive-client-handling-commit.json`: join from a
//! Welcome and follow commits through the public group API, as an application would.

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::Decode;
use cohort::crypto::{CipherSuite, Secret, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{
    Group, GroupConfig, JoinOptions, KeyPackageSecrets, MemoryPskStore, PublicGroup,
    PublicReceived, ReceivedMessage,
};
use cohort::messages::RatchetTreeWire;
use serde_json::Value;

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// Check one passive-client case (either file).
pub fn check(case: &Value) -> Result<(), String> {
    let suite = Suite::new(CipherSuite(u64_field(case, "cipher_suite")? as u16)).map_err(err)?;
    let kp_msg = MLSMessage::decode_exact(&hex_field(case, "key_package")?).map_err(err)?;
    let MLSMessageBody::KeyPackage(key_package) = kp_msg.body else {
        return Err("key_package is not a KeyPackage message".into());
    };
    let secrets = KeyPackageSecrets::from_parts(
        *key_package,
        suite
            .hpke_key_from_bytes(&hex_field(case, "init_priv")?)
            .map_err(err)?,
        suite
            .hpke_key_from_bytes(&hex_field(case, "encryption_priv")?)
            .map_err(err)?,
        suite
            .signature_key_from_bytes(&hex_field(case, "signature_priv")?)
            .map_err(err)?,
    )
    .map_err(err)?;

    let mut psks = MemoryPskStore::default();
    for p in case
        .get("external_psks")
        .and_then(Value::as_array)
        .ok_or("missing external_psks")?
    {
        psks.external
            .insert(hex_field(p, "psk_id")?, Secret::new(hex_field(p, "psk")?));
    }
    let ratchet_tree = match case.get("ratchet_tree") {
        Some(Value::String(_)) => {
            Some(RatchetTreeWire::decode_exact(&hex_field(case, "ratchet_tree")?).map_err(err)?)
        }
        _ => None,
    };
    let welcome = MLSMessage::decode_exact(&hex_field(case, "welcome")?).map_err(err)?;
    // The vectors are fixed artifacts whose leaf lifetimes need not contain today (§7.3
    // only RECOMMENDS checking received lifetimes).
    let options = JoinOptions {
        ratchet_tree,
        config: GroupConfig {
            check_received_lifetimes: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut group =
        Group::join(&welcome, &secrets, &psks, options).map_err(|e| format!("join: {e}"))?;
    ensure(
        group.epoch_authenticator() == hex_field(case, "initial_epoch_authenticator")?,
        "initial_epoch_authenticator",
    )?;

    // A non-member follows the same epochs with the public view, for as long as the
    // handshakes are PublicMessages, and must derive the member's GroupContext each epoch.
    let mut view = Some(group.public_view());
    let epochs = case
        .get("epochs")
        .and_then(Value::as_array)
        .ok_or("missing epochs")?;
    for (n, epoch) in epochs.iter().enumerate() {
        for p in epoch
            .get("proposals")
            .and_then(Value::as_array)
            .ok_or("missing proposals")?
        {
            let bytes = hex::decode(p.as_str().ok_or("proposal not a string")?).map_err(err)?;
            let msg = MLSMessage::decode_exact(&bytes).map_err(err)?;
            follow_proposal(&mut view, &msg).map_err(|e| format!("epoch {n} view: {e}"))?;
            match group.process_message(msg, &psks) {
                Ok(ReceivedMessage::Proposal(_)) => {}
                Ok(other) => return Err(format!("epoch {n}: expected a proposal, got {other:?}")),
                Err(e) => return Err(format!("epoch {n} proposal: {e}")),
            }
        }
        let msg = MLSMessage::decode_exact(&hex_field(epoch, "commit")?).map_err(err)?;
        follow_commit(&mut view, &msg).map_err(|e| format!("epoch {n} view commit: {e}"))?;
        match group.process_message(msg, &psks) {
            Ok(ReceivedMessage::Commit(staged)) => group
                .merge_staged_commit(*staged)
                .map_err(|e| format!("epoch {n} merge: {e}"))?,
            Ok(other) => return Err(format!("epoch {n}: expected a commit, got {other:?}")),
            Err(e) => return Err(format!("epoch {n} commit: {e}")),
        }
        if let Some(v) = &view {
            ensure(
                v.context() == group.context(),
                &format!("epoch {n}: the public view's GroupContext"),
            )?;
        }
        ensure(
            group.epoch_authenticator() == hex_field(epoch, "epoch_authenticator")?,
            &format!("epoch {n} epoch_authenticator"),
        )?;
    }
    Ok(())
}

/// Feed a proposal to the public view; a PrivateMessage ends what a non-member can follow.
fn follow_proposal(view: &mut Option<PublicGroup>, msg: &MLSMessage) -> Result<(), String> {
    let Some(v) = view else { return Ok(()) };
    if !matches!(msg.body, MLSMessageBody::PublicMessage(_)) {
        *view = None;
        return Ok(());
    }
    match v.process(msg).map_err(|e| e.to_string())? {
        PublicReceived::Proposal(_) => Ok(()),
        other => Err(format!("expected a proposal, got {other:?}")),
    }
}

/// Feed a commit to the public view and move it to the next epoch.
fn follow_commit(view: &mut Option<PublicGroup>, msg: &MLSMessage) -> Result<(), String> {
    let Some(v) = view else { return Ok(()) };
    if !matches!(msg.body, MLSMessageBody::PublicMessage(_)) {
        *view = None;
        return Ok(());
    }
    match v.process(msg).map_err(|e| e.to_string())? {
        PublicReceived::Commit(staged) => v.merge(*staged).map_err(|e| e.to_string()),
        other => Err(format!("expected a commit, got {other:?}")),
    }
}
