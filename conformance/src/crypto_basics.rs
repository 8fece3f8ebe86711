//! The "Crypto Basics" vectors (`test-vectors.md`): RefHash, ExpandWithLabel, DeriveSecret,
//! DeriveTreeSecret, SignWithLabel and EncryptWithLabel for one cipher suite per case.

use crate::util::{ensure, hex_field, str_field, u64_field};
use cohort::crypto::{CipherSuite, Secret, Suite};
use serde_json::Value;

/// Run every verification of one Crypto Basics case.
pub fn check(case: &Value) -> Result<(), String> {
    let id = u64_field(case, "cipher_suite")?;
    let id = u16::try_from(id).map_err(|_| format!("cipher suite {id} out of range"))?;
    let suite = Suite::new(CipherSuite(id)).map_err(|e| format!("suite {id}: {e}"))?;
    ref_hash(&suite, section(case, "ref_hash")?)?;
    expand_with_label(&suite, section(case, "expand_with_label")?)?;
    derive_secret(&suite, section(case, "derive_secret")?)?;
    derive_tree_secret(&suite, section(case, "derive_tree_secret")?)?;
    sign_with_label(&suite, section(case, "sign_with_label")?)?;
    encrypt_with_label(&suite, section(case, "encrypt_with_label")?)
}

fn id_of(suite: &Suite) -> u16 {
    suite.id().0
}

fn section<'a>(case: &'a Value, key: &str) -> Result<&'a Value, String> {
    case.get(key)
        .ok_or_else(|| format!("missing section {key}"))
}

fn length(v: &Value) -> Result<usize, String> {
    let len = u64_field(v, "length")?;
    usize::try_from(len).map_err(|_| format!("length {len} out of range"))
}

fn ref_hash(suite: &Suite, v: &Value) -> Result<(), String> {
    let out = suite.ref_hash(str_field(v, "label")?, &hex_field(v, "value")?);
    ensure(out == hex_field(v, "out")?, "ref_hash out")
}

fn expand_with_label(suite: &Suite, v: &Value) -> Result<(), String> {
    let out = suite
        .expand_with_label(
            &Secret::new(hex_field(v, "secret")?),
            str_field(v, "label")?,
            &hex_field(v, "context")?,
            length(v)?,
        )
        .map_err(|e| format!("expand_with_label: {e}"))?;
    ensure(
        out.as_bytes() == hex_field(v, "out")?,
        "expand_with_label out",
    )
}

fn derive_secret(suite: &Suite, v: &Value) -> Result<(), String> {
    let out = suite
        .derive_secret(
            &Secret::new(hex_field(v, "secret")?),
            str_field(v, "label")?,
        )
        .map_err(|e| format!("derive_secret: {e}"))?;
    ensure(out.as_bytes() == hex_field(v, "out")?, "derive_secret out")
}

fn derive_tree_secret(suite: &Suite, v: &Value) -> Result<(), String> {
    let generation = u64_field(v, "generation")?;
    let generation =
        u32::try_from(generation).map_err(|_| format!("generation {generation} out of range"))?;
    let out = suite
        .derive_tree_secret(
            &Secret::new(hex_field(v, "secret")?),
            str_field(v, "label")?,
            generation,
            length(v)?,
        )
        .map_err(|e| format!("derive_tree_secret: {e}"))?;
    ensure(
        out.as_bytes() == hex_field(v, "out")?,
        "derive_tree_secret out",
    )
}

fn sign_with_label(suite: &Suite, v: &Value) -> Result<(), String> {
    let label = str_field(v, "label")?;
    let content = hex_field(v, "content")?;
    let public = hex_field(v, "pub")?;
    suite
        .verify_with_label(&public, label, &content, &hex_field(v, "signature")?)
        .map_err(|e| format!("sign_with_label: given signature: {e}"))?;
    let key = suite
        .signature_key_from_bytes(&hex_field(v, "priv")?)
        .map_err(|e| format!("sign_with_label: priv: {e}"))?;
    ensure(key.public_key() == public, "sign_with_label pub from priv")?;
    let signature = suite
        .sign_with_label(&key, label, &content)
        .map_err(|e| format!("sign_with_label: sign: {e}"))?;
    // EdDSA is deterministic (RFC 8032), so the vector's signature must be reproduced byte
    // for byte; this pins Ed448 to pure mode with an empty context, as MLS requires.
    if matches!(id_of(suite), 1 | 3 | 4 | 6) {
        ensure(
            signature == hex_field(v, "signature")?,
            "sign_with_label deterministic EdDSA signature",
        )?;
    }
    suite
        .verify_with_label(&public, label, &content, &signature)
        .map_err(|e| format!("sign_with_label: own signature: {e}"))
}

fn encrypt_with_label(suite: &Suite, v: &Value) -> Result<(), String> {
    let label = str_field(v, "label")?;
    let context = hex_field(v, "context")?;
    let plaintext = hex_field(v, "plaintext")?;
    let public = hex_field(v, "pub")?;
    let key = suite
        .hpke_key_from_bytes(&hex_field(v, "priv")?)
        .map_err(|e| format!("encrypt_with_label: priv: {e}"))?;
    ensure(
        key.public_key() == public,
        "encrypt_with_label pub from priv",
    )?;
    let given = suite
        .decrypt_with_label(
            &key,
            label,
            &context,
            &hex_field(v, "kem_output")?,
            &hex_field(v, "ciphertext")?,
        )
        .map_err(|e| format!("encrypt_with_label: given ciphertext: {e}"))?;
    ensure(given == plaintext, "encrypt_with_label given plaintext")?;
    let (kem_output, ciphertext) = suite
        .encrypt_with_label(&public, label, &context, &plaintext)
        .map_err(|e| format!("encrypt_with_label: encrypt: {e}"))?;
    let own = suite
        .decrypt_with_label(&key, label, &context, &kem_output, &ciphertext)
        .map_err(|e| format!("encrypt_with_label: own ciphertext: {e}"))?;
    ensure(own == plaintext, "encrypt_with_label own plaintext")
}
