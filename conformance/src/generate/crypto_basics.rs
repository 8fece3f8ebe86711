//! `crypto-basics.json`: one random input per labelled operation (RFC 9420 §5, §8, §9.1).

use super::{bytes, err, hx, label, rand_vec, range, urange};
use cohort::crypto::{Secret, Suite};
use serde_json::{json, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();

    let (rh_label, rh_value) = (label(suite, "RefHash")?, rand_vec(suite, 0, 64)?);
    let rh_out = suite.ref_hash(&rh_label, &rh_value);

    let ewl_secret = Secret::new(bytes(suite, nh)?);
    let ewl_label = label(suite, "ExpandWithLabel")?;
    let ewl_context = rand_vec(suite, 0, 64)?;
    let ewl_len = urange(suite, 1, 2 * nh)?;
    let ewl_out = suite
        .expand_with_label(&ewl_secret, &ewl_label, &ewl_context, ewl_len)
        .map_err(err("expand_with_label"))?;

    let ds_secret = Secret::new(bytes(suite, nh)?);
    let ds_label = label(suite, "DeriveSecret")?;
    let ds_out = suite
        .derive_secret(&ds_secret, &ds_label)
        .map_err(err("derive_secret"))?;

    let dts_secret = Secret::new(bytes(suite, nh)?);
    let dts_label = label(suite, "DeriveTreeSecret")?;
    let generation = range(suite, 0, u64::from(u32::MAX))? as u32;
    let dts_len = urange(suite, 1, 2 * nh)?;
    let dts_out = suite
        .derive_tree_secret(&dts_secret, &dts_label, generation, dts_len)
        .map_err(err("derive_tree_secret"))?;

    let sig_key = suite
        .generate_signature_key_pair()
        .map_err(err("signature key"))?;
    let sig_label = label(suite, "SignWithLabel")?;
    let sig_content = rand_vec(suite, 0, 64)?;
    let signature = suite
        .sign_with_label(&sig_key, &sig_label, &sig_content)
        .map_err(err("sign_with_label"))?;

    let hpke_key = suite.generate_hpke_key_pair().map_err(err("hpke key"))?;
    let enc_label = label(suite, "EncryptWithLabel")?;
    let enc_context = rand_vec(suite, 0, 64)?;
    let plaintext = rand_vec(suite, 0, 64)?;
    let (kem_output, ciphertext) = suite
        .encrypt_with_label(hpke_key.public_key(), &enc_label, &enc_context, &plaintext)
        .map_err(err("encrypt_with_label"))?;

    Ok(json!({
        "cipher_suite": suite.id().0,
        "ref_hash": {
            "label": rh_label,
            "value": hx(&rh_value),
            "out": hx(&rh_out),
        },
        "expand_with_label": {
            "secret": hx(ewl_secret.as_bytes()),
            "label": ewl_label,
            "context": hx(&ewl_context),
            "length": ewl_len,
            "out": hx(ewl_out.as_bytes()),
        },
        "derive_secret": {
            "secret": hx(ds_secret.as_bytes()),
            "label": ds_label,
            "out": hx(ds_out.as_bytes()),
        },
        "derive_tree_secret": {
            "secret": hx(dts_secret.as_bytes()),
            "label": dts_label,
            "generation": generation,
            "length": dts_len,
            "out": hx(dts_out.as_bytes()),
        },
        "sign_with_label": {
            "priv": hx(sig_key.to_bytes().as_bytes()),
            "pub": hx(sig_key.public_key()),
            "content": hx(&sig_content),
            "label": sig_label,
            "signature": hx(&signature),
        },
        "encrypt_with_label": {
            "priv": hx(hpke_key.to_bytes().as_bytes()),
            "pub": hx(hpke_key.public_key()),
            "label": enc_label,
            "context": hx(&enc_context),
            "plaintext": hx(&plaintext),
            "kem_output": hx(&kem_output),
            "ciphertext": hx(&ciphertext),
        },
    }))
}
