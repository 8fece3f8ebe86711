//! `secret-tree.json`: sender-data keys and every listed ratchet generation (§6.3.2, §9).

use crate::util::{ensure, hex_field, u64_field};
use cohort::crypto::{CipherSuite, Secret, Suite};
use cohort::schedule::secret_tree::sender_data_key_nonce;
use cohort::schedule::{RatchetKind, SecretTree, SecretTreeConfig};
use serde_json::Value;

/// Check one secret-tree case.
pub fn check(case: &Value) -> Result<(), String> {
    let suite = Suite::new(CipherSuite(u64_field(case, "cipher_suite")? as u16))
        .map_err(|e| e.to_string())?;
    let sd = case.get("sender_data").ok_or("missing sender_data")?;
    let (key, nonce) = sender_data_key_nonce(
        &suite,
        &Secret::new(hex_field(sd, "sender_data_secret")?),
        &hex_field(sd, "ciphertext")?,
    )
    .map_err(|e| e.to_string())?;
    ensure(key.as_bytes() == hex_field(sd, "key")?, "sender data key")?;
    ensure(
        nonce.as_bytes() == hex_field(sd, "nonce")?,
        "sender data nonce",
    )?;

    let leaves = case
        .get("leaves")
        .and_then(Value::as_array)
        .ok_or("missing leaves")?;
    // The vector jumps generations freely; allow it to reach them all.
    let cfg = SecretTreeConfig {
        max_forward_distance: u32::MAX,
        out_of_order_tolerance: 0,
    };
    let mut tree = SecretTree::new(
        suite,
        Secret::new(hex_field(case, "encryption_secret")?),
        leaves.len() as u32,
        cfg,
    );
    for (leaf, gens) in leaves.iter().enumerate() {
        for g in gens.as_array().ok_or("leaf entry not a list")? {
            let generation = u64_field(g, "generation")? as u32;
            for (kind, k, n) in [
                (RatchetKind::Handshake, "handshake_key", "handshake_nonce"),
                (
                    RatchetKind::Application,
                    "application_key",
                    "application_nonce",
                ),
            ] {
                let kn = tree
                    .key_for_generation(leaf as u32, kind, generation)
                    .map_err(|e| format!("leaf {leaf} gen {generation}: {e}"))?;
                ensure(
                    kn.key.as_bytes() == hex_field(g, k)?,
                    &format!("leaf {leaf} {k}"),
                )?;
                ensure(
                    kn.nonce.as_bytes() == hex_field(g, n)?,
                    &format!("leaf {leaf} {n}"),
                )?;
            }
        }
    }
    Ok(())
}
