//! `tree-validation.json`: resolution and tree hash of every node, parent hashes, leaf
//! signatures (RFC 9420 §4.1.1, §7.8, §7.9.2, §7.3), then the full join-time validation of
//! §12.4.3.1 against a GroupContext carrying the vector's group id and root hash.

use crate::util::{ensure, hex_field, u64_field};
use cohort::codec::{Bytes, Decode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::messages::{Extensions, GroupContext, ProtocolVersion, RatchetTreeWire};
use cohort::tree::validation::TreeValidationContext;
use cohort::tree::RatchetTree;
use serde_json::Value;

/// Check one tree-validation case.
pub fn check(case: &Value) -> Result<(), String> {
    let cipher_suite = CipherSuite(u64_field(case, "cipher_suite")? as u16);
    let suite = Suite::new(cipher_suite).map_err(|e| e.to_string())?;
    let wire = RatchetTreeWire::decode_exact(&hex_field(case, "tree")?)
        .map_err(|e| format!("tree: {e:?}"))?;
    let mut tree = RatchetTree::from_wire(suite, wire).map_err(|e| e.to_string())?;
    let group_id = hex_field(case, "group_id")?;

    let resolutions = case
        .get("resolutions")
        .and_then(Value::as_array)
        .ok_or("missing resolutions")?;
    ensure(
        resolutions.len() == tree.n_nodes() as usize,
        "resolutions length",
    )?;
    for (x, expected) in resolutions.iter().enumerate() {
        let expected: Vec<u32> = expected
            .as_array()
            .ok_or("resolution not a list")?
            .iter()
            .map(|n| n.as_u64().map(|n| n as u32).ok_or("bad node index"))
            .collect::<Result<_, _>>()?;
        ensure(
            tree.resolution(x as u32) == expected,
            &format!("resolution[{x}]"),
        )?;
    }

    let hashes = case
        .get("tree_hashes")
        .and_then(Value::as_array)
        .ok_or("missing tree_hashes")?;
    ensure(
        hashes.len() == tree.n_nodes() as usize,
        "tree_hashes length",
    )?;
    for (x, expected) in hashes.iter().enumerate() {
        let expected = hex::decode(expected.as_str().ok_or("tree hash not a string")?)
            .map_err(|e| e.to_string())?;
        ensure(
            tree.node_tree_hash(x as u32) == Some(expected),
            &format!("tree_hashes[{x}]"),
        )?;
    }

    tree.verify_parent_hashes()
        .map_err(|e| format!("parent hashes: {e}"))?;
    tree.verify_leaf_signatures(&group_id)
        .map_err(|e| format!("leaf signatures: {e}"))?;

    let group_context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite,
        group_id: Bytes(group_id),
        epoch: 0,
        tree_hash: Bytes(tree.tree_hash()),
        confirmed_transcript_hash: Bytes::default(),
        extensions: Extensions::new(),
    };
    tree.validate(&TreeValidationContext::new(&group_context))
        .map_err(|e| format!("validate: {e}"))
}
