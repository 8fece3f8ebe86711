//! `treekem.json` (test-vectors.md "TreeKEM"): private state consistency, processing each
//! UpdatePath by every other member (§7.5, §12.4.2), the merged tree hash, and a fresh
//! UpdatePath from the same sender that every other member processes (§7.4, §12.4.1).

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::{Bytes, Decode};
use cohort::crypto::{CipherSuite, Secret, SignaturePrivateKey, Suite};
use cohort::messages::{Extensions, GroupContext, ProtocolVersion, RatchetTreeWire, UpdatePath};
use cohort::tree::treekem::{
    generate_update_path, merge_received_path, process_update_path, TreePrivateKeys,
};
use cohort::tree::RatchetTree;
use serde_json::Value;

/// One `leaves_private` entry made into TreeKEM state.
struct Leaf {
    index: u32,
    keys: TreePrivateKeys,
    signer: SignaturePrivateKey,
}

fn list<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing list {key}"))
}

/// Build `leaf_private[index]` and check it against the tree.
fn leaf_private(suite: &Suite, tree: &RatchetTree, v: &Value) -> Result<Leaf, String> {
    let index = u64_field(v, "index")? as u32;
    let leaf_key = suite
        .hpke_key_from_bytes(&hex_field(v, "encryption_priv")?)
        .map_err(|e| format!("encryption_priv: {e}"))?;
    let signer = suite
        .signature_key_from_bytes(&hex_field(v, "signature_priv")?)
        .map_err(|e| format!("signature_priv: {e}"))?;
    let mut keys = TreePrivateKeys::new(index, leaf_key);
    for ps in list(v, "path_secrets")? {
        let node = u64_field(ps, "node")? as u32;
        let secret = Secret::new(hex_field(ps, "path_secret")?);
        keys.set_path_secret(suite, node, &secret)
            .map_err(|e| format!("leaf {index} node {node}: {e}"))?;
    }
    keys.check_against(tree)
        .map_err(|e| format!("leaves_private[{index}] inconsistent: {e}"))?;
    Ok(Leaf {
        index,
        keys,
        signer,
    })
}

/// Check one treekem case.
pub fn check(case: &Value) -> Result<(), String> {
    let cipher_suite = CipherSuite(u64_field(case, "cipher_suite")? as u16);
    let suite = Suite::new(cipher_suite).map_err(|e| e.to_string())?;
    let wire = RatchetTreeWire::decode_exact(&hex_field(case, "ratchet_tree")?)
        .map_err(|e| format!("ratchet_tree: {e:?}"))?;
    let mut tree = RatchetTree::from_wire(suite, wire).map_err(|e| e.to_string())?;
    let leaves = list(case, "leaves_private")?
        .iter()
        .map(|v| leaf_private(&suite, &tree, v))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, _) in tree.members() {
        ensure(
            leaves.iter().any(|l| l.index == i),
            &format!("no leaves_private entry for leaf {i}"),
        )?;
    }
    let context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite,
        group_id: Bytes(hex_field(case, "group_id")?),
        epoch: u64_field(case, "epoch")?,
        tree_hash: Bytes(tree.tree_hash()),
        confirmed_transcript_hash: Bytes(hex_field(case, "confirmed_transcript_hash")?),
        extensions: Extensions::new(),
    };

    for (n, up) in list(case, "update_paths")?.iter().enumerate() {
        let sender = u64_field(up, "sender")? as u32;
        let path = UpdatePath::decode_exact(&hex_field(up, "update_path")?)
            .map_err(|e| format!("update_paths[{n}]: {e:?}"))?;
        let secrets = list(up, "path_secrets")?;
        let commit_secret = hex_field(up, "commit_secret")?;

        // Parent-hash valid (and every other public check), then the merged tree hash.
        let mut merged = tree.clone();
        merge_received_path(&suite, &mut merged, sender, &path, &context, &[])
            .map_err(|e| format!("update_paths[{n}] merge: {e}"))?;
        ensure(
            merged.tree_hash() == hex_field(up, "tree_hash_after")?,
            &format!("update_paths[{n}] tree_hash_after"),
        )?;

        for leaf in leaves.iter().filter(|l| l.index != sender) {
            let j = leaf.index;
            let mut t = tree.clone();
            let got = process_update_path(&suite, &mut t, &leaf.keys, sender, &path, &context, &[])
                .map_err(|e| format!("update_paths[{n}] leaf {j}: {e}"))?;
            let expected = secrets
                .get(j as usize)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("update_paths[{n}] path_secrets[{j}] missing"))?;
            ensure(
                hex::encode(got.path_secret.as_bytes()) == expected,
                &format!("update_paths[{n}] path secret of leaf {j}"),
            )?;
            ensure(
                got.commit_secret.as_bytes() == commit_secret,
                &format!("update_paths[{n}] commit secret of leaf {j}"),
            )?;
        }

        // A fresh UpdatePath from the same sender, processed by everyone else.
        let sender_leaf = leaves
            .iter()
            .find(|l| l.index == sender)
            .ok_or_else(|| format!("update_paths[{n}]: sender {sender} has no private state"))?;
        let mut t = tree.clone();
        let gen = generate_update_path(&suite, &mut t, sender, &sender_leaf.signer, &context, &[])
            .map_err(|e| format!("update_paths[{n}] generate: {e}"))?;
        for leaf in leaves.iter().filter(|l| l.index != sender) {
            let mut t = tree.clone();
            let got = process_update_path(
                &suite,
                &mut t,
                &leaf.keys,
                sender,
                &gen.update_path,
                &context,
                &[],
            )
            .map_err(|e| format!("update_paths[{n}] new path, leaf {}: {e}", leaf.index))?;
            ensure(
                got.commit_secret == gen.commit_secret,
                &format!("update_paths[{n}] new commit secret, leaf {}", leaf.index),
            )?;
        }
    }
    Ok(())
}
