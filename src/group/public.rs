//! The public view of a group: what a non-member (a Delivery Service) can follow and verify
//! of an MLS group without any group secret (RFC 9420 §6.2, §12.2, §12.4.2, §12.4.3.2;
//! RFC 9750 §5.2 "the DS can verify PublicMessage handshakes").
//!
//! A [`PublicGroup`] starts from a GroupInfo and its ratchet tree (signature checked, tree
//! validated as a joiner would), then follows PublicMessage proposals and commits. It runs
//! the same receipt checks as a member, by calling them ([`apply_proposals`] for §12.2 and
//! §12.3, [`merge_received_path`] for the UpdatePath's leaf and parent hashes, the
//! external-commit rules of §12.4.3.2), and derives the next GroupContext, tree and
//! transcript hashes. What it cannot check, and why:
//!
//! - the **membership tag** of a member's PublicMessage is a MAC under the epoch's
//!   `membership_key` (§6.2): only members hold it. The view checks the signature, which
//!   binds the sender's leaf and the GroupContext, instead;
//! - the **confirmation tag** of a commit is a MAC under the new epoch's
//!   `confirmation_key` (§8.1). The view cannot check it, but it still computes the interim
//!   transcript hash from it (§8.2), so the next epoch's GroupContext is exact;
//! - the **path secrets** of an UpdatePath are encrypted to members (§7.6): the view checks
//!   their count and the public keys and parent hashes, not that they decrypt;
//! - **PSKs** are secrets: the view checks their ids (§8.4), not that members hold them;
//! - an external commit's `kem_output` (§8.3) decrypts only with the epoch's external key.
//!
//! PrivateMessage handshakes are opaque to it: a group whose members send them cannot be
//! followed by a public view (see the server's security model).

use super::config::GroupConfig;
use super::join::joined_tree;
use super::key_package::{unix_now, validate_key_package};
use super::persist::{get_proposals, get_tree, put_proposals};
use super::process::{check_resync, CommitSummary};
use super::proposals::{
    apply_proposals, check_credential, check_new_leaves, proposal_ref, resolve_commit,
    CachedProposal, ResolvedCommit,
};
use super::state::{Group, Member};
use super::welcome::verify_group_info;
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::crypto::{CipherSuite, Suite};
use crate::error::{DecodeError, Error, Result, Rule};
use crate::framing::public::verify_public_signature;
use crate::framing::{AuthenticatedContent, Content, MLSMessage, MLSMessageBody};
use crate::messages::{Commit, GroupContext, GroupInfo, Proposal, RatchetTreeWire};
use crate::schedule::transcript::{confirmed_transcript_hash, interim_transcript_hash};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::merge_received_path;

/// Magic string of a persisted public view.
const VIEW_MAGIC: &[u8; 8] = b"COHORTPV";

/// A non-member's view of one group in one epoch: GroupContext, public ratchet tree,
/// interim transcript hash and the proposals received in the epoch. Holds no secret.
#[derive(Debug, Clone)]
pub struct PublicGroup {
    suite: Suite,
    config: GroupConfig,
    context: GroupContext,
    tree: RatchetTree,
    interim_transcript_hash: Vec<u8>,
    confirmation_tag: Vec<u8>,
    proposals: Vec<CachedProposal>,
    active: bool,
}

/// What a PublicMessage turned out to be.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublicReceived {
    /// A proposal whose signature verified, now cached for this epoch's commits.
    Proposal(Box<CachedProposal>),
    /// A verified commit, staged: [`PublicGroup::merge`] it once the DS accepts it.
    Commit(Box<PublicStagedCommit>),
}

/// A verified commit and the view of the epoch it leads to.
#[derive(Debug, Clone)]
pub struct PublicStagedCommit {
    /// What the commit does. For an external commit the joiner's new leaf is listed in
    /// `added` (a member's [`CommitSummary`] leaves it out: it is the committer).
    pub summary: CommitSummary,
    next: PublicGroup,
}

impl PublicStagedCommit {
    /// The view of the epoch this commit leads to.
    pub fn next(&self) -> &PublicGroup {
        &self.next
    }
}

impl PublicGroup {
    /// Follow a group from its GroupInfo (§12.4.3): the ratchet tree comes from the
    /// `ratchet_tree` extension or `ratchet_tree`; the GroupInfo signature is checked
    /// against its signer's leaf and the tree is validated as a joiner validates it
    /// (§12.4.3.1). `config` supplies the credential check and the lifetime policy.
    pub fn from_group_info(
        group_info: &GroupInfo,
        ratchet_tree: Option<RatchetTreeWire>,
        config: GroupConfig,
    ) -> Result<PublicGroup> {
        let context = group_info.group_context.clone();
        let suite = Suite::new(context.cipher_suite)
            .map_err(|_| Error::from(Rule::UnsupportedCipherSuite))?;
        let tree = joined_tree(&suite, group_info, ratchet_tree, None, &config)?;
        let interim = interim_transcript_hash(
            &suite,
            &context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        );
        Ok(PublicGroup {
            suite,
            config,
            context,
            tree,
            interim_transcript_hash: interim,
            confirmation_tag: group_info.confirmation_tag.to_vec(),
            proposals: Vec::new(),
            active: true,
        })
    }

    /// The group's cipher suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The current GroupContext.
    pub fn context(&self) -> &GroupContext {
        &self.context
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// The public ratchet tree.
    pub fn tree(&self) -> &RatchetTree {
        &self.tree
    }

    /// The current epoch's ratchet tree in its wire form, the `ratchet_tree` extension's
    /// content (§12.4.3.3): what a joiner needs beside a Welcome or GroupInfo made without
    /// the extension (`GroupConfig::ratchet_tree_extension = false`); it passes it decoded
    /// as `JoinOptions::ratchet_tree` or to `PublicGroup::from_group_info`.
    pub fn ratchet_tree_bytes(&self) -> Vec<u8> {
        self.tree.to_wire_bytes()
    }

    /// The members in leaf order.
    pub fn members(&self) -> Vec<Member> {
        self.tree
            .members()
            .map(|(index, leaf)| Member {
                index,
                leaf: leaf.clone(),
            })
            .collect()
    }

    /// Proposals verified in this epoch, in arrival order.
    pub fn pending_proposals(&self) -> &[CachedProposal] {
        &self.proposals
    }

    /// Whether the group goes on: false once a ReInit was committed (§11.2).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Verify a PublicMessage as a non-member may (see the [module docs](self)).
    ///
    /// A proposal is cached at once (its ProposalRef resolves in this epoch's commits); a
    /// commit comes back staged and changes nothing until [`PublicGroup::merge`].
    /// PrivateMessages are [`Error::Unsupported`].
    pub fn process(&mut self, message: &MLSMessage) -> Result<PublicReceived> {
        let m = match &message.body {
            MLSMessageBody::PublicMessage(m) => m,
            MLSMessageBody::PrivateMessage(_) => {
                return Err(Error::Unsupported(
                    "a public view cannot read PrivateMessage handshakes",
                ))
            }
            _ => {
                return Err(Error::Misuse(
                    "only PublicMessage handshakes go to a public view",
                ))
            }
        };
        if !self.active {
            return Err(Rule::WrongGroupOrEpoch.into());
        }
        let tree = &self.tree;
        let auth = verify_public_signature(&self.suite, m, &self.context, |i| {
            tree.member_signature_key(i)
        })?;
        match &auth.content.content {
            Content::Application(_) => Err(Rule::WrongContentForWireFormat.into()),
            Content::Proposal(proposal) => {
                let sender = auth.content.sender;
                Group::check_proposal_sender(proposal, sender)?;
                if let Proposal::Add(add) = proposal {
                    // §12.1.1: an Add's KeyPackage must be valid; failing it now keeps an
                    // unusable proposal out of the epoch.
                    validate_key_package(&self.suite, &add.key_package, self.now())?;
                }
                let cached = CachedProposal {
                    reference: proposal_ref(&self.suite, &auth),
                    proposal: proposal.clone(),
                    sender,
                };
                if !self
                    .proposals
                    .iter()
                    .any(|c| c.reference == cached.reference)
                {
                    self.proposals.push(cached.clone());
                }
                Ok(PublicReceived::Proposal(Box::new(cached)))
            }
            Content::Commit(commit) => {
                let staged = self.stage_commit(&auth, commit)?;
                Ok(PublicReceived::Commit(Box::new(staged)))
            }
        }
    }

    fn now(&self) -> Option<u64> {
        self.config.check_received_lifetimes.then(unix_now)
    }

    /// §12.4.2 without secrets: resolve and validate the proposal list, check and merge the
    /// UpdatePath, and compute the next GroupContext.
    fn stage_commit(
        &self,
        auth: &AuthenticatedContent,
        commit: &Commit,
    ) -> Result<PublicStagedCommit> {
        let sender = auth.content.sender;
        let ResolvedCommit {
            committer,
            list,
            policy,
        } = resolve_commit(commit, sender, &self.proposals, &self.config)?;
        let mut tree = self.tree.clone();
        let mut context = self.context.clone();
        let applied = apply_proposals(
            &self.suite,
            &mut tree,
            &mut context,
            &list,
            committer,
            &policy,
        )?;
        if applied.path_required && commit.path.is_none() {
            return Err(Rule::PathRequired.into());
        }
        context.epoch = context
            .epoch
            .checked_add(1)
            .ok_or(Error::Misuse("epoch counter exhausted"))?;
        let mut changed = applied.added.clone();
        changed.extend(&applied.updated);
        let mut added = applied.added.clone();
        let mut updated = applied.updated.clone();
        if let Some(path) = &commit.path {
            check_credential(&policy, &path.leaf_node)?;
            let holder = tree.find_signature_key(&path.leaf_node.signature_key);
            if holder.is_some() && holder != committer {
                return Err(Rule::DuplicateSignatureKey.into());
            }
            let leaf = match committer {
                Some(leaf) => {
                    updated.push(leaf);
                    leaf
                }
                None => {
                    check_resync(&applied.removed, &path.leaf_node, &self.config)?;
                    let leaf = tree.add_leaf(path.leaf_node.clone())?;
                    added.push(leaf);
                    leaf
                }
            };
            merge_received_path(&self.suite, &mut tree, leaf, path, &context, &applied.added)?;
            changed.push(leaf);
        }
        check_new_leaves(&tree, &context, &changed)?;
        context.tree_hash = Bytes(tree.tree_hash());
        let confirmed = confirmed_transcript_hash(
            &self.suite,
            &self.interim_transcript_hash,
            &auth.confirmed_transcript_hash_input(),
        );
        context.confirmed_transcript_hash = Bytes(confirmed.clone());
        let tag = auth
            .auth
            .confirmation_tag
            .as_ref()
            .ok_or(Rule::ConfirmationTag)?;
        let interim = interim_transcript_hash(&self.suite, &confirmed, tag);
        let added = added
            .iter()
            .filter_map(|&i| tree.leaf(i).map(|l| (i, l.clone())))
            .collect();
        let summary = CommitSummary {
            sender,
            added,
            removed: applied.removed,
            updated,
            extensions_changed: applied.extensions_changed,
            reinit: applied.reinit.clone(),
            removes_us: false,
        };
        let next = PublicGroup {
            suite: self.suite,
            config: self.config.clone(),
            context,
            tree,
            interim_transcript_hash: interim,
            confirmation_tag: tag.to_vec(),
            proposals: Vec::new(),
            active: applied.reinit.is_none(),
        };
        Ok(PublicStagedCommit { summary, next })
    }

    /// Move to the epoch a staged commit leads to.
    pub fn merge(&mut self, staged: PublicStagedCommit) -> Result<()> {
        if staged.next.context.group_id != self.context.group_id
            || Some(staged.next.context.epoch) != self.context.epoch.checked_add(1)
        {
            return Err(Error::Misuse("staged commit is not for this epoch"));
        }
        *self = staged.next;
        Ok(())
    }

    /// Check that a GroupInfo describes this epoch exactly (§12.4.3): same GroupContext and
    /// confirmation tag, a `ratchet_tree` extension (if any) equal to this tree, and a valid
    /// signature by the leaf it names. This is what keeps a member from publishing a
    /// GroupInfo that strands external joiners.
    pub fn check_group_info(&self, group_info: &GroupInfo) -> Result<()> {
        if group_info.group_context != self.context
            || group_info.confirmation_tag.as_slice() != self.confirmation_tag.as_slice()
        {
            return Err(Rule::GroupInfoMismatch.into());
        }
        if let Some(wire) = group_info
            .extensions
            .ratchet_tree()
            .map_err(Error::Decode)?
        {
            if wire.to_bytes() != self.tree.to_wire_bytes() {
                return Err(Rule::GroupInfoMismatch.into());
            }
        }
        let signer = self
            .tree
            .leaf(group_info.signer)
            .ok_or(Rule::GroupInfoSigner)?;
        verify_group_info(&self.suite, group_info, &signer.signature_key)
    }

    /// The view as one blob (magic, version, checksum): context, tree, transcript hash,
    /// confirmation tag, this epoch's proposals. Public data only.
    pub fn to_bytes(&self) -> Vec<u8> {
        let sealed = super::persist::seal(VIEW_MAGIC, |out| {
            self.suite.id().encode(out);
            self.context.encode(out);
            self.tree.to_wire().encode(out);
            Bytes(self.interim_transcript_hash.clone()).encode(out);
            Bytes(self.confirmation_tag.clone()).encode(out);
            put_proposals(out, &self.proposals);
            out.push(u8::from(self.active));
        });
        sealed.to_vec()
    }

    /// Restore a view from [`PublicGroup::to_bytes`] with the policy `config` (code, not
    /// state). Corrupted or foreign bytes are an [`Error::Decode`].
    pub fn from_bytes(bytes: &[u8], config: GroupConfig) -> Result<PublicGroup> {
        let body = super::persist::open(VIEW_MAGIC, bytes)?;
        let mut r = Reader::new(body);
        let r = &mut r;
        let suite = Suite::new(CipherSuite::decode(r)?)
            .map_err(|_| Error::Decode(DecodeError::UnknownValue("CipherSuite")))?;
        let context = GroupContext::decode(r)?;
        let tree = get_tree(r, suite)?;
        let interim_transcript_hash = Bytes::decode(r)?.0;
        let confirmation_tag = Bytes::decode(r)?.0;
        let proposals = get_proposals(r)?;
        let active = match u8::decode(r)? {
            0 => false,
            1 => true,
            _ => return Err(Error::Decode(DecodeError::Malformed("active flag"))),
        };
        r.finish()?;
        Ok(PublicGroup {
            suite,
            config,
            context,
            tree,
            interim_transcript_hash,
            confirmation_tag,
            proposals,
            active,
        })
    }
}

impl Group {
    /// The public view of this group's current epoch, as a non-member would hold it after
    /// receiving this epoch's GroupInfo (no secrets; the proposals received so far included).
    pub fn public_view(&self) -> PublicGroup {
        PublicGroup {
            suite: self.suite,
            config: self.config.clone(),
            context: self.context.clone(),
            tree: self.tree.clone(),
            interim_transcript_hash: self.interim_transcript_hash.clone(),
            confirmation_tag: self.confirmation_tag.clone(),
            proposals: self.proposals.clone(),
            active: self.active,
        }
    }
}

#[cfg(test)]
mod tests;
