//! Array-based tree math (RFC 9420 Appendix C).
//!
//! Nodes are numbered left to right: leaf `i` is node `2i`, parents are odd. MLS trees always
//! have a power-of-two number of leaves (§7.7, §7.8), which keeps every index computation
//! closed-form. Functions return `None` instead of panicking where a relation does not exist.

/// The width (number of nodes) of a tree with `n_leaves` leaves.
pub fn node_width(n_leaves: u32) -> u32 {
    if n_leaves == 0 {
        0
    } else {
        2 * (n_leaves - 1) + 1
    }
}

/// The level of a node: leaves are 0, their parents 1, and so on.
pub fn level(x: u32) -> u32 {
    x.trailing_ones()
}

/// Whether node `x` is a leaf.
pub fn is_leaf(x: u32) -> bool {
    x & 1 == 0
}

/// The node index of leaf `i`.
pub fn leaf_to_node(leaf: u32) -> u32 {
    2 * leaf
}

/// The leaf index of node `x`, if `x` is a leaf.
pub fn node_to_leaf(x: u32) -> Option<u32> {
    is_leaf(x).then_some(x / 2)
}

/// The root of a tree with `n_leaves` leaves (`n_leaves >= 1`).
pub fn root(n_leaves: u32) -> u32 {
    let w = node_width(n_leaves);
    if w == 0 {
        return 0;
    }
    (1u32 << (31 - w.leading_zeros())) - 1
}

/// The left child of an intermediate node.
pub fn left(x: u32) -> Option<u32> {
    let k = level(x);
    (k > 0).then(|| x ^ (1 << (k - 1)))
}

/// The right child of an intermediate node.
pub fn right(x: u32) -> Option<u32> {
    let k = level(x);
    (k > 0).then(|| x ^ (3 << (k - 1)))
}

/// The parent of node `x` in a tree of `n_leaves` leaves; `None` for the root or outside nodes.
pub fn parent(x: u32, n_leaves: u32) -> Option<u32> {
    if x >= node_width(n_leaves) || x == root(n_leaves) {
        return None;
    }
    let k = level(x);
    let b = (x >> (k + 1)) & 1;
    Some((x | (1 << k)) ^ (b << (k + 1)))
}

/// The other child of `x`'s parent.
pub fn sibling(x: u32, n_leaves: u32) -> Option<u32> {
    let p = parent(x, n_leaves)?;
    if x < p {
        right(p)
    } else {
        left(p)
    }
}

/// The direct path of `x`, from its parent up to and including the root.
pub fn direct_path(x: u32, n_leaves: u32) -> Vec<u32> {
    let mut path = Vec::with_capacity(32);
    let mut cur = x;
    while let Some(p) = parent(cur, n_leaves) {
        path.push(p);
        cur = p;
    }
    path
}

/// The copath of `x`: the sibling of each node on `[x] ++ direct_path(x)` except the root.
pub fn copath(x: u32, n_leaves: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(32);
    let mut cur = x;
    while let Some(s) = sibling(cur, n_leaves) {
        out.push(s);
        cur = parent(cur, n_leaves).unwrap_or(cur);
    }
    out
}

/// Whether `descendant` is in the subtree rooted at `ancestor` (a node is its own descendant).
pub fn is_descendant(descendant: u32, ancestor: u32) -> bool {
    let k = level(ancestor);
    // The subtree rooted at `ancestor` spans the 2^(k+1)-1 nodes centred on it.
    let span = (1u64 << k) - 1;
    let (d, a) = (u64::from(descendant), u64::from(ancestor));
    d + span >= a && d <= a + span
}

/// The lowest common ancestor of two nodes.
pub fn common_ancestor(x: u32, y: u32) -> u32 {
    let (lx, ly) = (level(x) + 1, level(y) + 1);
    if lx <= ly && x >> ly == y >> ly {
        return y;
    }
    if ly <= lx && x >> lx == y >> lx {
        return x;
    }
    let (mut xn, mut yn, mut k) = (x, y, 0);
    while xn != yn {
        xn >>= 1;
        yn >>= 1;
        k += 1;
    }
    (xn << k) + (1 << (k - 1)) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_leaf_tree_matches_appendix_c_figure() {
        assert_eq!(node_width(8), 15);
        assert_eq!(root(8), 7);
        assert_eq!(left(7), Some(3));
        assert_eq!(right(7), Some(11));
        assert_eq!(parent(3, 8), Some(7));
        assert_eq!(direct_path(0, 8), vec![1, 3, 7]);
        assert_eq!(copath(0, 8), vec![2, 5, 11]);
        assert_eq!(common_ancestor(0, 6), 3);
        assert_eq!(common_ancestor(0, 14), 7);
        assert!(is_descendant(4, 3) && !is_descendant(8, 3) && is_descendant(3, 3));
    }

    #[test]
    fn no_relation_is_none_not_panic() {
        assert_eq!(left(4), None);
        assert_eq!(parent(7, 8), None);
        assert_eq!(parent(100, 8), None);
        assert_eq!(sibling(0, 1), None);
        assert!(direct_path(0, 1).is_empty());
    }
}
