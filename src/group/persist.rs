//! Persisting a member's state (DESIGN.md "State transitions", "Codec"): `Group::to_bytes`
//! and `Group::from_bytes`, and the same for [`KeyPackageSecrets`].
//!
//! The blobs use the MLS codec with a magic string and a version tag, and end with a
//! SHA-256 checksum so that a truncated or corrupted blob is refused with a typed error
//! instead of restoring wrong secrets.
//!
//! **The blobs contain secrets** (signature key, tree private keys, epoch secrets, message
//! keys not yet used): store them as carefully as the keys themselves. Every call that
//! changes a group leaves the whole state in the [`Group`], so the application persists
//! `to_bytes()` once after each call, in one write; consumed message keys are gone from
//! the blob, so a restored member cannot decrypt a message twice (§9.2).

use super::commit::PendingCommit;
use super::config::{GroupConfig, HandshakeFormat};
use super::credential::SharedValidator;
use super::key_package::KeyPackageSecrets;
use super::process::{CommitSummary, NextEpoch, StagedCommit};
use super::proposals::CachedProposal;
use super::state::{Group, PastEpoch};
use crate::codec::{write_vec_with, Bytes, Decode, Encode, Reader};
use crate::crypto::{CipherSuite, HpkePrivateKey, Secret, Suite};
use crate::error::{DecodeError, Error, Result};
use crate::framing::private::Padding;
use crate::framing::{AuthenticatedContent, Sender};
use crate::messages::{GroupContext, KeyPackage, LeafNode, Proposal, RatchetTreeWire, ReInit};
use crate::schedule::{EpochSecrets, SecretTree, SecretTreeConfig};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::TreePrivateKeys;
use sha2::Digest;
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Magic string of a persisted group.
const GROUP_MAGIC: &[u8; 8] = b"COHORTGS";
/// Magic string of persisted KeyPackage secrets.
const KEY_PACKAGE_MAGIC: &[u8; 8] = b"COHORTKP";
/// Format version of both blobs; bump on any change to the layout.
const VERSION: u16 = 2;
/// Length of the trailing SHA-256 checksum.
const CHECKSUM_LEN: usize = 32;

fn malformed(what: &'static str) -> Error {
    Error::Decode(DecodeError::Malformed(what))
}

/// `magic || version || body || SHA-256(magic || version || body)`.
pub(super) fn seal(magic: &[u8; 8], body: impl FnOnce(&mut Vec<u8>)) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(magic);
    VERSION.encode(&mut out);
    body(&mut out);
    let sum = sha2::Sha256::digest(out.as_slice());
    out.extend_from_slice(sum.as_slice());
    out
}

/// Check magic, version and checksum; return the body.
pub(super) fn open<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Result<&'a [u8]> {
    let header = magic.len() + 2;
    if bytes.len() < header + CHECKSUM_LEN {
        return Err(DecodeError::UnexpectedEnd.into());
    }
    let (content, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if sha2::Sha256::digest(content).as_slice() != sum {
        return Err(malformed("state checksum"));
    }
    if &content[..magic.len()] != magic {
        return Err(malformed("state magic"));
    }
    let version = u16::from_be_bytes([content[magic.len()], content[magic.len() + 1]]);
    if version != VERSION {
        return Err(Error::Unsupported(
            "persisted state of another format version",
        ));
    }
    Ok(&content[header..])
}

fn put_bool(out: &mut Vec<u8>, b: bool) {
    out.push(u8::from(b));
}

fn get_bool(r: &mut Reader<'_>) -> Result<bool> {
    match u8::decode(r)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(malformed("boolean")),
    }
}

fn put_usize(out: &mut Vec<u8>, n: usize) {
    (n as u64).encode(out);
}

fn get_usize(r: &mut Reader<'_>) -> Result<usize> {
    usize::try_from(u64::decode(r)?).map_err(|_| malformed("count"))
}

fn put_config(out: &mut Vec<u8>, c: &GroupConfig) {
    c.secret_tree.max_forward_distance.encode(out);
    c.secret_tree.out_of_order_tolerance.encode(out);
    match c.padding {
        Padding::None => out.push(0),
        Padding::ToMultipleOf(n) => {
            out.push(1);
            n.encode(out);
        }
    }
    put_bool(out, c.handshake_format == HandshakeFormat::Private);
    put_usize(out, c.max_past_epochs);
    put_usize(out, c.max_resumption_psks);
    put_bool(out, c.ratchet_tree_extension);
    put_bool(out, c.check_received_lifetimes);
}

fn get_config(r: &mut Reader<'_>, validator: Option<SharedValidator>) -> Result<GroupConfig> {
    let secret_tree = SecretTreeConfig {
        max_forward_distance: u32::decode(r)?,
        out_of_order_tolerance: u32::decode(r)?,
    };
    let padding = match u8::decode(r)? {
        0 => Padding::None,
        1 => Padding::ToMultipleOf(u32::decode(r)?),
        _ => return Err(malformed("padding")),
    };
    let handshake_format = if get_bool(r)? {
        HandshakeFormat::Private
    } else {
        HandshakeFormat::Public
    };
    Ok(GroupConfig {
        secret_tree,
        padding,
        handshake_format,
        max_past_epochs: get_usize(r)?,
        max_resumption_psks: get_usize(r)?,
        ratchet_tree_extension: get_bool(r)?,
        check_received_lifetimes: get_bool(r)?,
        credential_validator: validator,
        // Not persisted: a property of the host the group runs on, not of the group.
        max_threads: None,
    })
}

/// The tree as persisted: its `ratchet_tree` form (§12.4.3.3).
pub(super) fn get_tree(r: &mut Reader<'_>, suite: Suite) -> Result<RatchetTree> {
    RatchetTree::from_wire(suite, RatchetTreeWire::decode(r)?).map_err(|_| malformed("tree"))
}

/// The epoch's received proposals, as a member and a public view persist them.
pub(super) fn put_proposals(out: &mut Vec<u8>, proposals: &[CachedProposal]) {
    write_vec_with(out, |b| {
        for c in proposals {
            Bytes(c.reference.clone()).encode(b);
            c.proposal.encode(b);
            c.sender.encode(b);
        }
    });
}

/// Read what [`put_proposals`] wrote.
pub(super) fn get_proposals(r: &mut Reader<'_>) -> Result<Vec<CachedProposal>> {
    r.vec_with(|s| {
        Ok(CachedProposal {
            reference: Bytes::decode(s)?.0,
            proposal: Proposal::decode(s)?,
            sender: Sender::decode(s)?,
        })
    })
    .map_err(Error::from)
}

fn get_hpke_key(r: &mut Reader<'_>, suite: &Suite) -> Result<HpkePrivateKey> {
    let secret = Secret::decode(r)?;
    suite
        .hpke_key_from_bytes(secret.as_bytes())
        .map_err(|_| malformed("HPKE private key"))
}

fn put_private(out: &mut Vec<u8>, p: &TreePrivateKeys, pending: &[HpkePrivateKey]) {
    p.own_leaf().encode(out);
    p.leaf_key().to_bytes().encode(out);
    write_vec_with(out, |b| {
        for (x, k) in p.path_keys() {
            x.encode(b);
            k.to_bytes().encode(b);
        }
    });
    write_vec_with(out, |b| pending.iter().for_each(|k| k.to_bytes().encode(b)));
}

/// The private keys and the pending Update keys they were given.
fn get_private(
    r: &mut Reader<'_>,
    suite: &Suite,
) -> Result<(TreePrivateKeys, Vec<HpkePrivateKey>)> {
    let own_leaf = u32::decode(r)?;
    let mut keys = TreePrivateKeys::new(own_leaf, get_hpke_key(r, suite)?);
    let path = r.vec_with(|s| Ok((u32::decode(s)?, Secret::decode(s)?)))?;
    for (x, secret) in path {
        let key = suite
            .hpke_key_from_bytes(secret.as_bytes())
            .map_err(|_| malformed("HPKE private key"))?;
        keys.insert_path_key(x, key)
            .map_err(|_| malformed("path key off the direct path"))?;
    }
    let mut pending = Vec::new();
    for secret in r.vec::<Secret>()? {
        let key = suite
            .hpke_key_from_bytes(secret.as_bytes())
            .map_err(|_| malformed("HPKE private key"))?;
        keys.add_pending_leaf_key(key.clone());
        pending.push(key);
    }
    Ok((keys, pending))
}

fn put_leaves(out: &mut Vec<u8>, leaves: &[(u32, LeafNode)]) {
    write_vec_with(out, |b| {
        for (i, l) in leaves {
            i.encode(b);
            l.encode(b);
        }
    });
}

fn get_leaves(r: &mut Reader<'_>) -> Result<Vec<(u32, LeafNode)>> {
    Ok(r.vec_with(|s| Ok((u32::decode(s)?, LeafNode::decode(s)?)))?)
}

fn put_staged(out: &mut Vec<u8>, s: &StagedCommit) {
    let m = &s.summary;
    m.sender.encode(out);
    put_leaves(out, &m.added);
    put_leaves(out, &m.removed);
    m.updated.encode(out);
    put_bool(out, m.extensions_changed);
    m.reinit.encode(out);
    put_bool(out, m.removes_us);
    let n = &s.next;
    n.context.encode(out);
    n.tree.to_wire().encode(out);
    put_private(out, &n.private, &[]);
    n.secrets.encode(out);
    Bytes(n.interim_transcript_hash.clone()).encode(out);
    Bytes(n.confirmation_tag.clone()).encode(out);
    n.changed_leaves.encode(out);
}

fn get_staged(r: &mut Reader<'_>, suite: Suite) -> Result<StagedCommit> {
    let summary = CommitSummary {
        sender: Sender::decode(r)?,
        added: get_leaves(r)?,
        removed: get_leaves(r)?,
        updated: Vec::<u32>::decode(r)?,
        extensions_changed: get_bool(r)?,
        reinit: Option::<ReInit>::decode(r)?,
        removes_us: get_bool(r)?,
    };
    let context = GroupContext::decode(r)?;
    let tree = get_tree(r, suite)?;
    let (private, _) = get_private(r, &suite)?;
    Ok(StagedCommit {
        summary,
        next: NextEpoch {
            context,
            tree,
            private,
            secrets: EpochSecrets::decode(r)?,
            interim_transcript_hash: Bytes::decode(r)?.0,
            confirmation_tag: Bytes::decode(r)?.0,
            changed_leaves: Vec::<u32>::decode(r)?,
        },
    })
}

impl Group {
    /// The whole member state as one blob (see the [module docs](self)): persist it after
    /// every call that changes the group, in one write. **It contains secrets.** The
    /// credential validator is code, not state: pass it again to [`Group::from_bytes`].
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        seal(GROUP_MAGIC, |out| {
            self.suite.id().encode(out);
            put_config(out, &self.config);
            self.context.encode(out);
            self.tree.to_wire().encode(out);
            self.own_leaf.encode(out);
            self.signer.to_bytes().encode(out);
            put_private(out, &self.private, &self.pending_update_keys);
            self.secrets.encode(out);
            self.secret_tree.encode(out);
            Bytes(self.interim_transcript_hash.clone()).encode(out);
            Bytes(self.confirmation_tag.clone()).encode(out);
            put_proposals(out, &self.proposals);
            write_vec_with(out, |b| {
                for (digest, reference) in &self.own_proposals {
                    Bytes(digest.clone()).encode(b);
                    Bytes(reference.clone()).encode(b);
                }
            });
            write_vec_with(out, |b| {
                for p in &self.past_epochs {
                    p.context.encode(b);
                    p.sender_data_secret.encode(b);
                    p.secret_tree.encode(b);
                    write_vec_with(b, |d| {
                        for (leaf, key) in &p.changed_signature_keys {
                            leaf.encode(d);
                            key.encode(d);
                        }
                    });
                }
            });
            write_vec_with(out, |b| {
                for (epoch, psk) in &self.resumption_psks {
                    epoch.encode(b);
                    psk.encode(b);
                }
            });
            match &self.pending_commit {
                None => out.push(0),
                Some(p) => {
                    out.push(1);
                    p.content.encode(out);
                    Bytes(p.message_digest.clone()).encode(out);
                    put_staged(out, &p.staged);
                }
            }
            put_bool(out, self.active);
            self.reinit.encode(out);
        })
    }

    /// Restore a member from [`Group::to_bytes`], with the application's credential check
    /// (which the blob cannot hold). Truncated, corrupted or foreign bytes are a
    /// [`Error::Decode`], a blob of another format version [`Error::Unsupported`].
    pub fn from_bytes(
        bytes: &[u8],
        credential_validator: Option<SharedValidator>,
    ) -> Result<Group> {
        let body = open(GROUP_MAGIC, bytes)?;
        let mut r = Reader::new(body);
        let r = &mut r;
        let suite = Suite::new(CipherSuite::decode(r)?)
            .map_err(|_| Error::Decode(DecodeError::UnknownValue("CipherSuite")))?;
        let config = get_config(r, credential_validator)?;
        let context = GroupContext::decode(r)?;
        let tree = get_tree(r, suite)?;
        let own_leaf = u32::decode(r)?;
        let signer = suite
            .signature_key_from_bytes(Secret::decode(r)?.as_bytes())
            .map_err(|_| malformed("signature private key"))?;
        let (private, pending_update_keys) = get_private(r, &suite)?;
        let secrets = EpochSecrets::decode(r)?;
        let secret_tree = SecretTree::decode(r)?;
        let interim_transcript_hash = Bytes::decode(r)?.0;
        let confirmation_tag = Bytes::decode(r)?.0;
        let proposals = get_proposals(r)?;
        let own_proposals = r.vec_with(|s| Ok((Bytes::decode(s)?.0, Bytes::decode(s)?.0)))?;
        let past_epochs = r
            .vec_with(|s| {
                let context = GroupContext::decode(s)?;
                let sender_data_secret = Secret::decode(s)?;
                let secret_tree = SecretTree::decode(s)?;
                let changed_signature_keys: Vec<(u32, Option<Bytes>)> =
                    s.vec_with(|d| Ok((u32::decode(d)?, Option::<Bytes>::decode(d)?)))?;
                // The lookup binary-searches the delta.
                if changed_signature_keys.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(DecodeError::Malformed("past epoch signature keys"));
                }
                Ok(PastEpoch {
                    context,
                    sender_data_secret,
                    secret_tree,
                    changed_signature_keys,
                })
            })?
            .into();
        let resumption_psks: VecDeque<(u64, Secret)> = r
            .vec_with(|s| Ok((u64::decode(s)?, Secret::decode(s)?)))?
            .into();
        let pending_commit = match u8::decode(r)? {
            0 => None,
            1 => Some(Box::new(PendingCommit {
                content: AuthenticatedContent::decode(r)?,
                message_digest: Bytes::decode(r)?.0,
                staged: get_staged(r, suite)?,
            })),
            _ => return Err(malformed("pending commit presence")),
        };
        let active = get_bool(r)?;
        let reinit = Option::<ReInit>::decode(r)?;
        r.finish()?;

        // The parts must belong together: one suite, our leaf holding our keys.
        if context.cipher_suite != suite.id() || private.own_leaf() != own_leaf {
            return Err(malformed("inconsistent group state"));
        }
        // A member that was removed may see its old leaf index reused: check active ones.
        if let Some(leaf) = tree.leaf(own_leaf).filter(|_| active) {
            if leaf.signature_key.as_slice() != signer.public_key()
                || private.check_against(&tree).is_err()
            {
                return Err(malformed("private keys do not match the tree"));
            }
        }
        Ok(Group {
            suite,
            config,
            context,
            tree,
            own_leaf,
            signer,
            private,
            secrets,
            secret_tree,
            interim_transcript_hash,
            confirmation_tag,
            proposals,
            past_epochs,
            resumption_psks,
            pending_commit,
            active,
            reinit,
            pending_update_keys,
            own_proposals,
        })
    }
}

impl KeyPackageSecrets {
    /// The KeyPackage with its private keys as one blob (magic, version, checksum).
    /// **It contains secrets**; delete it once a Welcome has consumed the package (unless
    /// it is a last-resort package).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        seal(KEY_PACKAGE_MAGIC, |out| {
            self.key_package.encode(out);
            self.init_key.to_bytes().encode(out);
            self.encryption_key.to_bytes().encode(out);
            self.signer.to_bytes().encode(out);
        })
    }

    /// Restore from [`KeyPackageSecrets::to_bytes`]; each private key must match the
    /// package.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = open(KEY_PACKAGE_MAGIC, bytes)?;
        let mut r = Reader::new(body);
        let key_package = KeyPackage::decode(&mut r)?;
        let suite = Suite::new(key_package.cipher_suite)
            .map_err(|_| Error::Decode(DecodeError::UnknownValue("CipherSuite")))?;
        let init_key = get_hpke_key(&mut r, &suite)?;
        let encryption_key = get_hpke_key(&mut r, &suite)?;
        let signer = suite
            .signature_key_from_bytes(Secret::decode(&mut r)?.as_bytes())
            .map_err(|_| malformed("signature private key"))?;
        r.finish()?;
        KeyPackageSecrets::from_parts(key_package, init_key, encryption_key, signer)
            .map_err(|_| malformed("private keys do not match the KeyPackage"))
    }
}
