//! `secret-tree.json`: sender-data keys and a few random ratchet generations per leaf of a
//! secret tree of random size, derived here straight from RFC 9420 §6.3.2, §9 and §9.1
//! (the checker uses the library's `SecretTree`).

use super::{bytes, err, hx, range, urange};
use cohort::crypto::{Secret, Suite};
use serde_json::{json, Value};

/// `tree_node_[leaf]_secret`: walk from the root, left or right by the leaf's bits.
fn leaf_secret(suite: &Suite, root: &Secret, depth: u32, leaf: u32) -> Result<Secret, String> {
    let mut secret = root.clone();
    for level in (0..depth).rev() {
        let side: &[u8] = if leaf >> level & 1 == 0 {
            b"left"
        } else {
            b"right"
        };
        secret = suite
            .expand_with_label(&secret, "tree", side, suite.hash_len())
            .map_err(err("tree"))?;
    }
    Ok(secret)
}

/// `(key, nonce)` of `generations` (ascending) of the ratchet started at `secret`.
fn ratchet(
    suite: &Suite,
    mut secret: Secret,
    generations: &[u32],
) -> Result<Vec<(Secret, Secret)>, String> {
    let mut out = Vec::with_capacity(generations.len());
    let mut j = 0u32;
    for &g in generations {
        while j < g {
            secret = suite
                .derive_tree_secret(&secret, "secret", j, suite.hash_len())
                .map_err(err("ratchet"))?;
            j += 1;
        }
        let key = suite.derive_tree_secret(&secret, "key", j, suite.aead_key_len());
        let nonce = suite.derive_tree_secret(&secret, "nonce", j, suite.aead_nonce_len());
        out.push((key.map_err(err("key"))?, nonce.map_err(err("nonce"))?));
    }
    Ok(out)
}

/// One case for `suite`: 2^0 to 2^4 leaves, one to three generations below 200 per leaf.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let sender_data_secret = Secret::new(bytes(suite, nh)?);
    let ciphertext = bytes(suite, urange(suite, nh, nh + 48)?)?;
    let sample = &ciphertext[..nh];
    let sd_key = suite
        .expand_with_label(&sender_data_secret, "key", sample, suite.aead_key_len())
        .map_err(err("sender data key"))?;
    let sd_nonce = suite
        .expand_with_label(&sender_data_secret, "nonce", sample, suite.aead_nonce_len())
        .map_err(err("sender data nonce"))?;

    let depth = range(suite, 0, 4)? as u32;
    let encryption_secret = Secret::new(bytes(suite, nh)?);
    let mut leaves = Vec::new();
    for leaf in 0..1u32 << depth {
        let mut generations = Vec::new();
        for _ in 0..urange(suite, 1, 3)? {
            // Mostly small generations, sometimes a long jump.
            let hi = if range(suite, 0, 3)? == 0 { 199 } else { 15 };
            generations.push(range(suite, 0, hi)? as u32);
        }
        generations.sort_unstable();
        generations.dedup();
        let base = leaf_secret(suite, &encryption_secret, depth, leaf)?;
        let hs_base = suite
            .expand_with_label(&base, "handshake", b"", nh)
            .map_err(err("handshake"))?;
        let app_base = suite
            .expand_with_label(&base, "application", b"", nh)
            .map_err(err("application"))?;
        let hs = ratchet(suite, hs_base, &generations)?;
        let app = ratchet(suite, app_base, &generations)?;
        let entries: Vec<Value> = generations
            .iter()
            .zip(hs.iter().zip(&app))
            .map(|(g, ((hk, hn), (ak, an)))| {
                json!({
                    "generation": g,
                    "handshake_key": hx(hk.as_bytes()),
                    "handshake_nonce": hx(hn.as_bytes()),
                    "application_key": hx(ak.as_bytes()),
                    "application_nonce": hx(an.as_bytes()),
                })
            })
            .collect();
        leaves.push(Value::Array(entries));
    }

    Ok(json!({
        "cipher_suite": suite.id().0,
        "sender_data": {
            "sender_data_secret": hx(sender_data_secret.as_bytes()),
            "ciphertext": hx(&ciphertext),
            "key": hx(sd_key.as_bytes()),
            "nonce": hx(sd_nonce.as_bytes()),
        },
        "encryption_secret": hx(encryption_secret.as_bytes()),
        "leaves": leaves,
    }))
}
