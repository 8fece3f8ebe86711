//! `tree-validation.json`: a random tree of two to twelve members (with blank leaves,
//! unmerged leaves and blanked paths as the operations leave them), its resolutions and
//! tree hashes (RFC 9420 §4.1.1, §7.8).

use super::members::build;
use super::{err, hx};
use cohort::codec::Encode;
use cohort::crypto::Suite;
use cohort::tree::RatchetTree;
use serde_json::{json, Value};

/// One case for `suite`.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let g = build(suite, 12)?;
    let wire = g.tree.to_wire();
    // Node indices as a reader sees them: the wire form padded to a power of two leaves.
    let mut tree = RatchetTree::from_wire(*suite, wire.clone()).map_err(err("reload"))?;
    let resolutions: Vec<Vec<u32>> = (0..tree.n_nodes()).map(|x| tree.resolution(x)).collect();
    let tree_hashes = (0..tree.n_nodes())
        .map(|x| {
            tree.node_tree_hash(x)
                .map(|h| hx(&h))
                .ok_or_else(|| format!("no tree hash for node {x}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "cipher_suite": suite.id().0,
        "tree": hx(&wire.to_bytes()),
        "group_id": hx(&g.context.group_id),
        "resolutions": resolutions,
        "tree_hashes": tree_hashes,
    }))
}
