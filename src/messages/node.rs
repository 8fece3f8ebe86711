//! Ratchet tree nodes on the wire (RFC 9420 §7.1, §7.8, §12.4.3.3).

use super::leaf_node::LeafNode;
use super::HPKEPublicKey;
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::error::DecodeError;

crate::codec_struct! {
    /// `ParentNode` (§7.1).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct ParentNode {
        /// The HPKE key shared by the members below this node.
        pub encryption_key: HPKEPublicKey,
        /// Hash of this node's parent (§7.9).
        pub parent_hash: Bytes,
        /// Leaves below this node that do not know its private key, sorted ascending.
        pub unmerged_leaves: Vec<u32>,
    }
}

crate::codec_enum! {
    /// `NodeType` (§7.8).
    pub enum NodeType: u8 {
        /// A leaf node.
        Leaf = 1,
        /// A parent node.
        Parent = 2,
    }
}

/// `Node` (§12.4.3.3): a leaf or parent node with its type tag.
///
/// The leaf is boxed so that a blank-heavy tree (one input byte per blank node) stays small
/// in memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// `leaf`: `LeafNode leaf_node`.
    Leaf(Box<LeafNode>),
    /// `parent`: `ParentNode parent_node`.
    Parent(Box<ParentNode>),
}

impl Node {
    /// The `node_type` tag.
    pub fn node_type(&self) -> NodeType {
        match self {
            Node::Leaf(_) => NodeType::Leaf,
            Node::Parent(_) => NodeType::Parent,
        }
    }
}

impl Encode for Node {
    fn encode(&self, out: &mut Vec<u8>) {
        self.node_type().encode(out);
        match self {
            Node::Leaf(leaf) => leaf.encode(out),
            Node::Parent(parent) => parent.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        1 + match self {
            Node::Leaf(leaf) => leaf.encoded_len(),
            Node::Parent(parent) => parent.encoded_len(),
        }
    }
}

impl Decode for Node {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match NodeType::decode(r)? {
            NodeType::Leaf => Node::Leaf(Box::new(LeafNode::decode(r)?)),
            NodeType::Parent => Node::Parent(Box::new(ParentNode::decode(r)?)),
        })
    }
}

/// `optional<Node> ratchet_tree<V>` (§12.4.3.3): the tree in array order, `None` for blanks.
///
/// §12.4.3.3: "The receiver MUST check that the last node in `ratchet_tree` is non-blank";
/// decoding enforces that (so an empty list is rejected too). Extending the tree to a full
/// size is left to the tree layer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RatchetTreeWire(pub Vec<Option<Node>>);

impl Encode for RatchetTreeWire {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }
}

impl Decode for RatchetTreeWire {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let nodes: Vec<Option<Node>> = r.vec()?;
        match nodes.last() {
            Some(Some(_)) => Ok(RatchetTreeWire(nodes)),
            _ => Err(DecodeError::Malformed(
                "ratchet_tree must end with a non-blank node",
            )),
        }
    }
}
