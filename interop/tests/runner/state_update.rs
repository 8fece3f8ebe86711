//! The `stateUpdate` that `handleCommit` and `handlePendingCommit` output (`configs/FORMAT.md`,
//! the paragraph after the action table): what the script says a commit does, what one
//! member's state shows it did, and the check that both are the same list.
//!
//! The harness proto returns no such list (`HandleCommitResponse` is a state id and an epoch
//! authenticator), so the runner derives a member's list from what the proto does expose: the
//! member's ratchet tree before and after the commit (`GroupInfo` with `external_tree`) and,
//! when handshakes are PublicMessages, the PSK proposals the commit carries on the wire.

use super::R;
use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{Content, MLSMessage, MLSMessageBody};
use cohort::group::proposals::proposal_ref;
use cohort::messages::{
    Credential, GroupInfo, Node, PSKTypeData, Proposal, ProposalOrRef, RatchetTreeWire,
    ResumptionPSKUsage,
};
use std::collections::BTreeMap;

/// One occupied leaf of a member's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The TLS-serialized LeafNode (what `removedLeaf[i]` carries).
    pub node: Vec<u8>,
    /// Its signature key: the same key on both sides of a commit is the same member (an
    /// update or the committer's path), another key is a new member at that leaf.
    pub signature_key: Vec<u8>,
    /// The basic credential's identity: the actor's name.
    pub identity: Vec<u8>,
}

/// A member's view of its group at one epoch, from one `GroupInfo` RPC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    /// Occupied leaves by leaf index.
    pub leaves: BTreeMap<u32, Leaf>,
    /// The member's own leaf (the GroupInfo's `signer`).
    pub own: u32,
    /// The group's id (for resumption PSK ids).
    pub group_id: Vec<u8>,
    /// The group's cipher suite (for proposal references).
    pub suite: u16,
}

impl Roster {
    /// The roster a GroupInfo and its out-of-band tree describe.
    pub fn from_group_info(group_info: &[u8], ratchet_tree: &[u8]) -> R<Roster> {
        let msg = MLSMessage::decode_exact(group_info).map_err(|e| format!("GroupInfo: {e:?}"))?;
        let MLSMessageBody::GroupInfo(gi) = msg.body else {
            return Err("GroupInfo RPC returned another message".into());
        };
        let GroupInfo {
            group_context,
            signer,
            ..
        } = *gi;
        let tree = RatchetTreeWire::decode_exact(ratchet_tree)
            .map_err(|e| format!("ratchet tree: {e:?}"))?;
        let mut leaves = BTreeMap::new();
        for (i, node) in tree.0.iter().step_by(2).enumerate() {
            if let Some(Node::Leaf(leaf)) = node {
                let identity = match &leaf.credential {
                    Credential::Basic { identity } => identity.0.clone(),
                    _ => Vec::new(),
                };
                let leaf = Leaf {
                    node: leaf.to_bytes(),
                    signature_key: leaf.signature_key.0.clone(),
                    identity,
                };
                leaves.insert(i as u32, leaf);
            }
        }
        Ok(Roster {
            leaves,
            own: signer,
            group_id: group_context.group_id.0,
            suite: group_context.cipher_suite.0,
        })
    }

    /// The first leaf whose credential names `identity` (how the clients resolve a
    /// `removed_id`: `member_by_identity`).
    pub fn leaf_of(&self, identity: &[u8]) -> Option<u32> {
        self.leaves
            .iter()
            .find(|(_, l)| l.identity == identity)
            .map(|(i, _)| *i)
    }
}

/// One item of a `stateUpdate` list (`configs/FORMAT.md`, the four bullets). The derived order
/// is the order the runner lists them in: updates, removes, adds (RFC 9420 §12.3 applies
/// proposals in that order), then PSKs; the format gives the list no order of its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    /// `updated[i]`: an Update from the member at this leaf was applied.
    Updated(u32),
    /// `removedIndex[i]` and `removedLeaf[i]`: the member at this leaf, with this LeafNode,
    /// was removed.
    Removed(u32, Vec<u8>),
    /// `added[i]`: a member was added at this leaf.
    Added(u32),
    /// `psks[i]`: a PSK with this `PreSharedKeyID` minus its nonce (TLS-serialized) was
    /// mixed into the key schedule.
    Psk(Vec<u8>),
}

/// A `stateUpdate`: the list, in [`Item`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateUpdate(Vec<Item>);

impl StateUpdate {
    /// The update listing `items` (in any order).
    pub fn new(mut items: Vec<Item>) -> Self {
        items.sort();
        StateUpdate(items)
    }

    /// The list as the format writes it: keys `added[i]`, `updated[i]`, `removedIndex[i]`
    /// then `removedLeaf[i]`, `psks[i]` (`i` counts per key), leaf indices in decimal, leaf
    /// nodes and PSK ids hex-encoded.
    pub fn entries(&self) -> Vec<(String, String)> {
        let (mut added, mut updated, mut removed, mut psks) = (0, 0, 0, 0);
        let mut out = Vec::new();
        for item in &self.0 {
            match item {
                Item::Added(i) => {
                    out.push((format!("added[{added}]"), i.to_string()));
                    added += 1;
                }
                Item::Updated(i) => {
                    out.push((format!("updated[{updated}]"), i.to_string()));
                    updated += 1;
                }
                Item::Removed(i, leaf) => {
                    out.push((format!("removedIndex[{removed}]"), i.to_string()));
                    out.push((format!("removedLeaf[{removed}]"), hex::encode(leaf)));
                    removed += 1;
                }
                Item::Psk(id) => {
                    out.push((format!("psks[{psks}]"), hex::encode(id)));
                    psks += 1;
                }
            }
        }
        out
    }

    /// The PSK items only.
    fn psks(&self) -> Vec<Vec<u8>> {
        self.0
            .iter()
            .filter_map(|i| match i {
                Item::Psk(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

/// What a committed proposal (or an external join) does, as the script says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// An Update from this actor.
    Update(String),
    /// A Remove of this actor.
    Remove(String),
    /// An Add (of a KeyPackage).
    Add,
    /// An external PSK with this id.
    ExternalPsk(Vec<u8>),
    /// A resumption PSK (usage application) of the group at this epoch.
    ResumptionPsk(u64),
    /// An external commit by a new client of this actor; `remove_prior` removes its old leaf.
    ExternalJoin { joiner: String, remove_prior: bool },
    /// A proposal that adds no item (GroupContextExtensions, ReInit).
    Nothing,
}

/// `PreSharedKeyID` without its nonce, TLS-serialized: `psktype` and its arm.
fn psk_bytes(psk: &PSKTypeData) -> Vec<u8> {
    psk.to_bytes()
}

/// The `stateUpdate` a commit of `effects` must produce in a group whose members' view before
/// it is `before`; `leaf` finds the current leaf of an actor (for removes and updates).
pub fn expected(
    before: &Roster,
    effects: &[Effect],
    leaf: impl Fn(&str) -> Option<u32>,
) -> R<StateUpdate> {
    let find = |name: &str| leaf(name).ok_or(format!("{name} is not in the group"));
    let mut items = Vec::new();
    let mut taken: std::collections::BTreeSet<u32> = before.leaves.keys().copied().collect();
    for e in effects {
        match e {
            Effect::Update(s) => items.push(Item::Updated(find(s)?)),
            Effect::Remove(x) => {
                let i = find(x)?;
                let old = before.leaves.get(&i).ok_or(format!("leaf {i} is blank"))?;
                items.push(Item::Removed(i, old.node.clone()));
                taken.remove(&i);
            }
            Effect::ExternalJoin {
                joiner,
                remove_prior: true,
            } => {
                let i = before
                    .leaf_of(joiner.as_bytes())
                    .ok_or(format!("{joiner} has no prior leaf to remove"))?;
                items.push(Item::Removed(i, before.leaves[&i].node.clone()));
                taken.remove(&i);
            }
            Effect::ExternalPsk(id) => items.push(Item::Psk(psk_bytes(&PSKTypeData::External {
                psk_id: cohort::codec::Bytes(id.clone()),
            }))),
            Effect::ResumptionPsk(epoch) => {
                items.push(Item::Psk(psk_bytes(&PSKTypeData::Resumption {
                    usage: ResumptionPSKUsage::Application,
                    psk_group_id: cohort::codec::Bytes(before.group_id.clone()),
                    psk_epoch: *epoch,
                })))
            }
            Effect::Add | Effect::ExternalJoin { .. } | Effect::Nothing => {}
        }
    }
    // Adds after removes (§12.3); each takes the leftmost blank leaf or extends the tree
    // (§12.1.1), i.e. the smallest index not occupied.
    let adds = effects
        .iter()
        .filter(|e| matches!(e, Effect::Add | Effect::ExternalJoin { .. }))
        .count();
    for _ in 0..adds {
        let i = (0..)
            .find(|i| !taken.contains(i))
            .expect("u32 has a free index");
        taken.insert(i);
        items.push(Item::Added(i));
    }
    Ok(StateUpdate::new(items))
}

/// The `stateUpdate` a member's trees show: `before` and `after` the commit, `committer` the
/// committer's leaf in `before` (its path changes its own leaf; `None` for an external
/// commit), `psks` the PSK ids the commit carries.
pub fn observed(
    before: &Roster,
    after: &Roster,
    committer: Option<u32>,
    psks: Vec<Vec<u8>>,
) -> StateUpdate {
    let mut items: Vec<Item> = psks.into_iter().map(Item::Psk).collect();
    let indices: std::collections::BTreeSet<u32> = before
        .leaves
        .keys()
        .chain(after.leaves.keys())
        .copied()
        .collect();
    for i in indices {
        match (before.leaves.get(&i), after.leaves.get(&i)) {
            (Some(b), None) => items.push(Item::Removed(i, b.node.clone())),
            (None, Some(_)) => items.push(Item::Added(i)),
            (Some(b), Some(a)) if b.signature_key != a.signature_key => {
                items.push(Item::Removed(i, b.node.clone()));
                items.push(Item::Added(i));
            }
            (Some(b), Some(a)) if b.node != a.node && committer != Some(i) => {
                items.push(Item::Updated(i))
            }
            _ => {}
        }
    }
    StateUpdate::new(items)
}

/// The PSK ids a commit carries, when it is a PublicMessage: by value, or by reference to one
/// of `proposals` (the epoch's proposal messages). `None` for a PrivateMessage, whose content
/// the runner cannot read.
pub fn wire_psks(suite: u16, commit: &[u8], proposals: &[&[u8]]) -> R<Option<Vec<Vec<u8>>>> {
    let msg = MLSMessage::decode_exact(commit).map_err(|e| format!("commit: {e:?}"))?;
    let MLSMessageBody::PublicMessage(pm) = msg.body else {
        return Ok(None);
    };
    let Content::Commit(c) = &pm.content.content else {
        return Err("the commit message carries no Commit".into());
    };
    let suite = Suite::new(CipherSuite(suite)).map_err(|e| e.to_string())?;
    let mut by_ref = Vec::new();
    for bytes in proposals {
        if let Ok(MLSMessage {
            body: MLSMessageBody::PublicMessage(p),
            ..
        }) = MLSMessage::decode_exact(bytes)
        {
            if let Content::Proposal(proposal) = &p.content.content {
                by_ref.push((
                    proposal_ref(&suite, &p.authenticated_content()),
                    proposal.clone(),
                ));
            }
        }
    }
    let mut psks = Vec::new();
    for p in &c.proposals {
        let proposal = match p {
            ProposalOrRef::Proposal(p) => p,
            ProposalOrRef::Reference(r) => match by_ref.iter().find(|(x, _)| *x == r.0) {
                Some((_, p)) => p,
                // A reference to a PrivateMessage proposal: its content is hidden.
                None => return Ok(None),
            },
        };
        if let Proposal::PreSharedKey(p) = proposal {
            psks.push(psk_bytes(&p.psk.psk));
        }
    }
    Ok(Some(psks))
}

/// Fail unless `observed` (what `who`'s state shows) is the `expected` list, naming the items
/// that differ.
pub fn check(who: &str, expected: &StateUpdate, observed: &StateUpdate) -> R<()> {
    if expected == observed {
        return Ok(());
    }
    let (e, o) = (expected.entries(), observed.entries());
    let short = |(k, v): &(String, String)| format!("{k}={}", &v[..v.len().min(16)]);
    let missing: Vec<String> = e.iter().filter(|x| !o.contains(x)).map(short).collect();
    let extra: Vec<String> = o.iter().filter(|x| !e.contains(x)).map(short).collect();
    Err(format!(
        "{who}'s stateUpdate differs: expected but missing [{}], present but not expected [{}]",
        missing.join(", "),
        extra.join(", ")
    ))
}

/// The observed list with the PSK items taken from `expected`: for PrivateMessage commits,
/// whose PSKs only the epoch authenticator (one key schedule) can confirm.
pub fn with_expected_psks(observed: StateUpdate, expected: &StateUpdate) -> StateUpdate {
    let mut items: Vec<Item> = observed
        .0
        .into_iter()
        .filter(|i| !matches!(i, Item::Psk(_)))
        .collect();
    items.extend(expected.psks().into_iter().map(Item::Psk));
    StateUpdate::new(items)
}

#[cfg(test)]
mod tests;
