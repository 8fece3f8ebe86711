//! `key-schedule.json`: a chain of three to five epochs with random inputs, derived here
//! straight from the RFC 9420 §8 diagram and Table 4 (the checker uses the library's
//! `JoinerSecret` and `EpochSecrets`).

use super::{bytes, chance, err, hx, label, rand_vec, urange};
use cohort::codec::{Bytes, Encode};
use cohort::crypto::{Secret, Suite};
use cohort::messages::{Extensions, GroupContext, ProtocolVersion};
use serde_json::{json, Map, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let group_id = rand_vec(suite, 1, 32)?;
    let initial_init_secret = Secret::new(bytes(suite, nh)?);
    let mut init = initial_init_secret.clone();
    let mut epochs = Vec::new();
    for epoch in 0..urange(suite, 3, 5)? as u64 {
        let tree_hash = bytes(suite, nh)?;
        let commit_secret = Secret::new(bytes(suite, nh)?);
        // test-vectors.md: "psk_secret can sometimes be the all zero vector".
        let psk_secret = if chance(suite, 1, 3)? {
            Secret::zero(nh)
        } else {
            Secret::new(bytes(suite, nh)?)
        };
        let cth = bytes(suite, nh)?;
        let gc = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite.id(),
            group_id: Bytes(group_id.clone()),
            epoch,
            tree_hash: Bytes(tree_hash.clone()),
            confirmed_transcript_hash: Bytes(cth.clone()),
            extensions: Extensions::new(),
        }
        .to_bytes();

        let prk = suite.extract(init.as_bytes(), commit_secret.as_bytes());
        let joiner = suite
            .expand_with_label(&prk, "joiner", &gc, nh)
            .map_err(err("joiner"))?;
        let member = suite.extract(joiner.as_bytes(), psk_secret.as_bytes());
        let welcome = suite
            .derive_secret(&member, "welcome")
            .map_err(err("welcome"))?;
        let epoch_secret = suite
            .expand_with_label(&member, "epoch", &gc, nh)
            .map_err(err("epoch"))?;
        let d = |l: &str| suite.derive_secret(&epoch_secret, l).map_err(err(l));

        let mut e = Map::new();
        e.insert("tree_hash".into(), hx(&tree_hash));
        e.insert("commit_secret".into(), hx(commit_secret.as_bytes()));
        e.insert("psk_secret".into(), hx(psk_secret.as_bytes()));
        e.insert("confirmed_transcript_hash".into(), hx(&cth));
        e.insert("group_context".into(), hx(&gc));
        e.insert("joiner_secret".into(), hx(joiner.as_bytes()));
        e.insert("welcome_secret".into(), hx(welcome.as_bytes()));
        let next_init = d("init")?;
        e.insert("init_secret".into(), hx(next_init.as_bytes()));
        for (field, l) in [
            ("sender_data_secret", "sender data"),
            ("encryption_secret", "encryption"),
            ("exporter_secret", "exporter"),
            ("epoch_authenticator", "authentication"),
            ("external_secret", "external"),
            ("confirmation_key", "confirm"),
            ("membership_key", "membership"),
            ("resumption_psk", "resumption"),
        ] {
            e.insert(field.into(), hx(d(l)?.as_bytes()));
        }
        let external = suite
            .derive_key_pair(d("external")?.as_bytes())
            .map_err(err("external key pair"))?;
        e.insert("external_pub".into(), hx(external.public_key()));

        let exp_label = label(suite, "exporter")?;
        let exp_context = rand_vec(suite, 0, 32)?;
        let exp_len = urange(suite, 16, 64)?;
        let derived = suite
            .derive_secret(&d("exporter")?, &exp_label)
            .map_err(err("exporter"))?;
        let exported = suite
            .expand_with_label(&derived, "exported", &suite.hash(&exp_context), exp_len)
            .map_err(err("exported"))?;
        e.insert(
            "exporter".into(),
            json!({
                "label": exp_label,
                "context": hx(&exp_context),
                "length": exp_len,
                "secret": hx(exported.as_bytes()),
            }),
        );
        epochs.push(Value::Object(e));
        init = next_init;
    }
    Ok(json!({
        "cipher_suite": suite.id().0,
        "group_id": hx(&group_id),
        "initial_init_secret": hx(initial_init_secret.as_bytes()),
        "epochs": epochs,
    }))
}
