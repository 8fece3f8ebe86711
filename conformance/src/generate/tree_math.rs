//! `tree-math.json`: the Appendix C relations of trees of 2^k leaves, computed by building
//! each tree recursively (not with the library's bit arithmetic the checker uses).

use super::range;
use cohort::crypto::Suite;
use serde_json::{json, Value};

/// Every relation of one tree, `None` where a node has no such neighbour.
struct Relations {
    left: Vec<Option<u32>>,
    right: Vec<Option<u32>>,
    parent: Vec<Option<u32>>,
    sibling: Vec<Option<u32>>,
}

/// Fill in the subtree spanning node indices `lo..=hi` (2^k - 1 nodes); returns its root.
fn build(lo: u32, hi: u32, r: &mut Relations) -> u32 {
    let root = lo + (hi - lo) / 2;
    if lo == hi {
        return root;
    }
    let l = build(lo, root - 1, r);
    let rt = build(root + 1, hi, r);
    r.left[root as usize] = Some(l);
    r.right[root as usize] = Some(rt);
    r.parent[l as usize] = Some(root);
    r.parent[rt as usize] = Some(root);
    r.sibling[l as usize] = Some(rt);
    r.sibling[rt as usize] = Some(l);
    root
}

fn case(n_leaves: u32) -> Value {
    let n_nodes = 2 * n_leaves - 1;
    let blank = vec![None; n_nodes as usize];
    let mut r = Relations {
        left: blank.clone(),
        right: blank.clone(),
        parent: blank.clone(),
        sibling: blank,
    };
    let root = build(0, n_nodes - 1, &mut r);
    json!({
        "n_leaves": n_leaves,
        "n_nodes": n_nodes,
        "root": root,
        "left": r.left,
        "right": r.right,
        "parent": r.parent,
        "sibling": r.sibling,
    })
}

/// Trees of 1 to 128 leaves (RFC 9420 trees always have a power of two), plus one of a
/// random larger size up to 1024 leaves.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let mut sizes: Vec<u32> = (0..=7).map(|k| 1 << k).collect();
    sizes.push(1 << range(suite, 8, 10)?);
    Ok(Value::Array(sizes.into_iter().map(case).collect()))
}
