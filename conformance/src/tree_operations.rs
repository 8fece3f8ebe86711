//! `tree-operations.json`: apply one Add, Update or Remove to a tree and compare the
//! serialized result and tree hashes (RFC 9420 §7.7, §7.8, §12.1.1–§12.1.3).

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::Decode;
use cohort::crypto::{CipherSuite, Suite};
use cohort::messages::{Proposal, RatchetTreeWire};
use cohort::tree::RatchetTree;
use serde_json::Value;

/// Check one tree-operations case.
pub fn check(case: &Value) -> Result<(), String> {
    let suite = Suite::new(CipherSuite(u64_field(case, "cipher_suite")? as u16))
        .map_err(|e| e.to_string())?;
    let wire = RatchetTreeWire::decode_exact(&hex_field(case, "tree_before")?)
        .map_err(|e| format!("tree_before: {e:?}"))?;
    let mut tree = RatchetTree::from_wire(suite, wire).map_err(|e| e.to_string())?;
    ensure(
        tree.tree_hash() == hex_field(case, "tree_hash_before")?,
        "tree_hash_before",
    )?;
    let proposal = Proposal::decode_exact(&hex_field(case, "proposal")?)
        .map_err(|e| format!("proposal: {e:?}"))?;
    let sender = u64_field(case, "proposal_sender")? as u32;
    match proposal {
        Proposal::Add(add) => tree.add_leaf(add.key_package.leaf_node).map(drop),
        Proposal::Update(update) => tree.update_leaf(sender, update.leaf_node),
        Proposal::Remove(remove) => tree.remove_leaf(remove.removed),
        other => return Err(format!("unexpected proposal {:?}", other.proposal_type())),
    }
    .map_err(|e| e.to_string())?;
    ensure(
        tree.to_wire_bytes() == hex_field(case, "tree_after")?,
        "tree_after",
    )?;
    ensure(
        tree.tree_hash() == hex_field(case, "tree_hash_after")?,
        "tree_hash_after",
    )
}
