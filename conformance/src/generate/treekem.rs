//! `treekem.json`: a random tree of two to eight members with every member's private state,
//! and a fresh UpdatePath from each member with the path secret each other member decrypts
//! (RFC 9420 §7.4–§7.6, §12.4.1–§12.4.2).

use super::members::build;
use super::{err, hx};
use cohort::codec::{Bytes, Encode};
use cohort::crypto::Suite;
use cohort::tree::treekem::generate_update_path;
use serde_json::{json, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let mut g = build(suite, 8)?;
    let mut context = g.context.clone();
    context.tree_hash = Bytes(g.tree.tree_hash());

    let mut leaves_private = Vec::new();
    let mut update_paths = Vec::new();
    for (&index, m) in &g.members {
        let path_secrets: Vec<Value> = m
            .path_secrets
            .iter()
            .map(|(node, s)| json!({ "node": node, "path_secret": hx(s.as_bytes()) }))
            .collect();
        leaves_private.push(json!({
            "index": index,
            "encryption_priv": hx(m.leaf_key.to_bytes().as_bytes()),
            "signature_priv": hx(m.signer.to_bytes().as_bytes()),
            "path_secrets": path_secrets,
        }));

        let mut after = g.tree.clone();
        let gen = generate_update_path(suite, &mut after, index, &m.signer, &context, &[])
            .map_err(err("update path"))?;
        let secrets: Vec<Value> = (0..g.tree.n_leaves())
            .map(|j| {
                if j == index || g.tree.leaf(j).is_none() {
                    Value::Null
                } else {
                    gen.path_secret_for_joiner(j)
                        .map_or(Value::Null, |s| hx(s.as_bytes()))
                }
            })
            .collect();
        update_paths.push(json!({
            "sender": index,
            "update_path": hx(&gen.update_path.to_bytes()),
            "path_secrets": secrets,
            "commit_secret": hx(gen.commit_secret.as_bytes()),
            "tree_hash_after": hx(&after.tree_hash()),
        }));
    }

    Ok(json!({
        "cipher_suite": suite.id().0,
        "group_id": hx(&context.group_id),
        "epoch": context.epoch,
        "confirmed_transcript_hash": hx(&context.confirmed_transcript_hash),
        "ratchet_tree": hx(&g.tree.to_wire().to_bytes()),
        "leaves_private": leaves_private,
        "update_paths": update_paths,
    }))
}
