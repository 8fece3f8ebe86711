//! Creating a group (RFC 9420 §11) and assembling a member's state from its parts.

use super::config::GroupConfig;
use super::key_package::{default_capabilities, sign_leaf_node, unix_now};
use super::state::Group;
use crate::codec::{Bytes, Encode};
use crate::crypto::{CipherSuite, IntoSuite, Secret, SignaturePrivateKey, Suite};
use crate::error::Result;
use crate::messages::{
    Capabilities, Credential, Extensions, GroupContext, LeafNode, LeafNodeSourceData, Lifetime,
    ProtocolVersion,
};
use crate::schedule::transcript::interim_transcript_hash;
use crate::schedule::{EpochSecrets, JoinerSecret, SecretTree};
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::TreePrivateKeys;
use std::collections::VecDeque;

/// The initial parameters of a new group (§11).
#[derive(Debug, Clone, Default)]
pub struct GroupOptions {
    /// GroupContext extensions (e.g. `required_capabilities`, `external_senders`).
    pub extensions: Extensions,
    /// Extra leaf capabilities beyond the suite and credential in use.
    pub capabilities: Capabilities,
    /// LeafNode extensions of the creator's leaf.
    pub leaf_extensions: Extensions,
    /// Member policy.
    pub config: GroupConfig,
}

/// The epoch-level parts of a member's state, from which [`Group::assemble`] builds it.
pub(crate) struct EpochState {
    pub(crate) context: GroupContext,
    pub(crate) tree: RatchetTree,
    pub(crate) own_leaf: u32,
    pub(crate) private: TreePrivateKeys,
    pub(crate) secrets: EpochSecrets,
    pub(crate) interim_transcript_hash: Vec<u8>,
    pub(crate) confirmation_tag: Vec<u8>,
}

/// Capabilities for our leaf: what `options` asks for, what is in use, and every
/// non-default extension type the group context or our leaf carries (§7.2, §11.1).
pub(crate) fn leaf_capabilities(
    suite: &Suite,
    credential: &Credential,
    extra: &Capabilities,
    context_extensions: &Extensions,
    leaf_extensions: &Extensions,
) -> Capabilities {
    let mut capabilities = default_capabilities(suite, credential, extra);
    for ext in context_extensions.iter().chain(leaf_extensions.iter()) {
        let t = ext.extension_type;
        if !t.is_default() && !capabilities.extensions.contains(&t) {
            capabilities.extensions.push(t);
        }
    }
    if let Ok(Some(req)) = context_extensions.required_capabilities() {
        for t in req.proposal_types {
            if !t.is_default() && !capabilities.proposals.contains(&t) {
                capabilities.proposals.push(t);
            }
        }
        for t in req.credential_types {
            if !capabilities.credentials.contains(&t) {
                capabilities.credentials.push(t);
            }
        }
    }
    capabilities
}

/// A lifetime from an hour ago to 90 days ahead, as for KeyPackages.
pub(crate) fn default_lifetime() -> Lifetime {
    let now = unix_now();
    Lifetime {
        not_before: now.saturating_sub(3600),
        not_after: now.saturating_add(90 * 24 * 3600),
    }
}

impl Group {
    /// Create a one-member group at epoch 0 (§11), in a suite given as a [`CipherSuite`] or
    /// a resolved [`Suite`]. `group_id` `None` picks a random id of `KDF.Nh` bytes, as §11
    /// suggests ("a freshly generated random value of size KDF.Nh").
    pub fn create(
        suite: impl IntoSuite,
        group_id: impl Into<Option<Vec<u8>>>,
        credential: Credential,
        signer: SignaturePrivateKey,
        options: GroupOptions,
    ) -> Result<Group> {
        let suite = suite.into_suite()?;
        let group_id = match group_id.into() {
            Some(id) => id,
            None => suite.random_bytes(suite.hash_len())?,
        };
        Self::create_with_version(
            suite.id(),
            ProtocolVersion::MLS10,
            group_id,
            credential,
            signer,
            options,
        )
    }

    /// [`Group::create`] with an explicit protocol version (for reinitialisation, §11.2).
    pub(crate) fn create_with_version(
        cipher_suite: CipherSuite,
        version: ProtocolVersion,
        group_id: Vec<u8>,
        credential: Credential,
        signer: SignaturePrivateKey,
        options: GroupOptions,
    ) -> Result<Group> {
        let suite = Suite::new(cipher_suite)?;
        let encryption_key = suite.generate_hpke_key_pair()?;
        let capabilities = leaf_capabilities(
            &suite,
            &credential,
            &options.capabilities,
            &options.extensions,
            &options.leaf_extensions,
        );
        let mut leaf = LeafNode {
            encryption_key: Bytes(encryption_key.public_key().to_vec()),
            signature_key: Bytes(signer.public_key().to_vec()),
            credential,
            capabilities,
            leaf_node_source: LeafNodeSourceData::KeyPackage(default_lifetime()),
            extensions: options.leaf_extensions,
            signature: Bytes::default(),
        };
        sign_leaf_node(&suite, &mut leaf, &signer, &group_id, 0)?;
        let mut tree = RatchetTree::new(suite, leaf);
        let context = GroupContext {
            version,
            cipher_suite,
            group_id: Bytes(group_id),
            epoch: 0,
            tree_hash: Bytes(tree.tree_hash()),
            confirmed_transcript_hash: Bytes::default(),
            extensions: options.extensions,
        };
        // §11: a random init_secret, zero commit secret, no PSKs.
        let init_secret = suite.random_secret()?;
        let zero = Secret::zero(suite.hash_len());
        let context_bytes = context.to_bytes();
        let joiner = JoinerSecret::derive(&suite, &init_secret, &zero, &context_bytes)?;
        let secrets = joiner.epoch_secrets(&suite, &zero, &context_bytes)?;
        let confirmation_tag = secrets.confirmation_tag(&suite, &[]);
        let interim = interim_transcript_hash(&suite, &[], &confirmation_tag);
        Ok(Group::assemble(
            suite,
            options.config,
            signer,
            EpochState {
                context,
                tree,
                own_leaf: 0,
                private: TreePrivateKeys::new(0, encryption_key),
                secrets,
                interim_transcript_hash: interim,
                confirmation_tag,
            },
        ))
    }

    /// A fresh member state in the epoch `epoch`: no proposals, no history.
    pub(crate) fn assemble(
        suite: Suite,
        config: GroupConfig,
        signer: SignaturePrivateKey,
        epoch: EpochState,
    ) -> Group {
        let secret_tree = SecretTree::new(
            suite,
            epoch.secrets.encryption_secret.clone(),
            epoch.tree.n_leaves(),
            config.secret_tree,
        );
        let mut tree = epoch.tree;
        tree.set_max_threads(config.max_threads);
        Group {
            suite,
            config,
            context: epoch.context,
            tree,
            own_leaf: epoch.own_leaf,
            signer,
            private: epoch.private,
            secrets: epoch.secrets,
            secret_tree,
            interim_transcript_hash: epoch.interim_transcript_hash,
            confirmation_tag: epoch.confirmation_tag,
            proposals: Vec::new(),
            past_epochs: VecDeque::new(),
            resumption_psks: VecDeque::new(),
            pending_commit: None,
            active: true,
            reinit: None,
            pending_update_keys: Vec::new(),
            own_proposals: Vec::new(),
        }
    }
}
