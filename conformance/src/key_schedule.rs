//! `key-schedule.json`: epoch secrets, exporter and external key over a chain of epochs (§8).

use crate::util::{ensure, hex_field, str_field, u64_field};
use cohort::codec::{write_vec_bytes, Encode};
use cohort::crypto::{CipherSuite, Secret, Suite};
use cohort::schedule::JoinerSecret;
use serde_json::Value;

/// GroupContext with empty extensions, encoded per §8.1.
fn group_context(suite: u16, group_id: &[u8], epoch: u64, tree_hash: &[u8], cth: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    1u16.encode(&mut out); // mls10
    suite.encode(&mut out);
    write_vec_bytes(&mut out, group_id);
    epoch.encode(&mut out);
    write_vec_bytes(&mut out, tree_hash);
    write_vec_bytes(&mut out, cth);
    write_vec_bytes(&mut out, &[]);
    out
}

/// Check one key-schedule case.
pub fn check(case: &Value) -> Result<(), String> {
    let id = u64_field(case, "cipher_suite")? as u16;
    let suite = Suite::new(CipherSuite(id)).map_err(|e| e.to_string())?;
    let group_id = hex_field(case, "group_id")?;
    let mut init = Secret::new(hex_field(case, "initial_init_secret")?);
    let epochs = case
        .get("epochs")
        .and_then(Value::as_array)
        .ok_or("missing epochs")?;
    for (n, ep) in epochs.iter().enumerate() {
        let gc = group_context(
            id,
            &group_id,
            n as u64,
            &hex_field(ep, "tree_hash")?,
            &hex_field(ep, "confirmed_transcript_hash")?,
        );
        ensure(gc == hex_field(ep, "group_context")?, "group_context")?;
        let commit = Secret::new(hex_field(ep, "commit_secret")?);
        let psk = Secret::new(hex_field(ep, "psk_secret")?);
        let joiner =
            JoinerSecret::derive(&suite, &init, &commit, &gc).map_err(|e| e.to_string())?;
        ensure(
            joiner.0.as_bytes() == hex_field(ep, "joiner_secret")?,
            "joiner_secret",
        )?;
        let welcome = joiner
            .welcome_secret(&suite, &psk)
            .map_err(|e| e.to_string())?;
        ensure(
            welcome.as_bytes() == hex_field(ep, "welcome_secret")?,
            "welcome_secret",
        )?;
        let s = joiner
            .epoch_secrets(&suite, &psk, &gc)
            .map_err(|e| e.to_string())?;
        for (name, value) in [
            ("init_secret", &s.init_secret),
            ("sender_data_secret", &s.sender_data_secret),
            ("encryption_secret", &s.encryption_secret),
            ("exporter_secret", &s.exporter_secret),
            ("epoch_authenticator", &s.epoch_authenticator),
            ("external_secret", &s.external_secret),
            ("confirmation_key", &s.confirmation_key),
            ("membership_key", &s.membership_key),
            ("resumption_psk", &s.resumption_psk),
        ] {
            ensure(
                value.as_bytes() == hex_field(ep, name)?,
                &format!("epoch {n} {name}"),
            )?;
        }
        let external = s.external_key_pair(&suite).map_err(|e| e.to_string())?;
        ensure(
            external.public_key() == hex_field(ep, "external_pub")?,
            "external_pub",
        )?;
        let exp = ep.get("exporter").ok_or("missing exporter")?;
        let exported = s
            .export(
                &suite,
                str_field(exp, "label")?,
                &hex_field(exp, "context")?,
                u64_field(exp, "length")? as usize,
            )
            .map_err(|e| e.to_string())?;
        ensure(exported.as_bytes() == hex_field(exp, "secret")?, "exporter")?;
        init = s.init_secret.clone();
    }
    Ok(())
}
