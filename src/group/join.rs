//! Joining a group from a Welcome (RFC 9420 §12.4.3.1).

use super::config::GroupConfig;
use super::create::EpochState;
use super::key_package::{unix_now, KeyPackageSecrets, KeyPackageStore};
use super::psk::{resolve_psk_secret, PskStore};
use super::state::Group;
use super::welcome::{decrypt_group_info, open_group_secrets, verify_group_info};
use crate::codec::Encode;
use crate::crypto::Suite;
use crate::error::{Error, Result, Rule};
use crate::framing::{MLSMessage, MLSMessageBody};
use crate::messages::{
    GroupContext, GroupInfo, PSKTypeData, PreSharedKeyID, RatchetTreeWire, ResumptionPSKUsage,
    Welcome,
};
use crate::schedule::transcript::interim_transcript_hash;
use crate::schedule::JoinerSecret;
use crate::tree::math;
use crate::tree::ratchet_tree::RatchetTree;
use crate::tree::treekem::TreePrivateKeys;
use crate::tree::validation::TreeValidationContext;

/// Options for joining: the tree if it is not in the Welcome, the group being resumed,
/// and the new member's policy (including its credential check).
#[derive(Default)]
pub struct JoinOptions<'a> {
    /// The ratchet tree, when the Welcome does not carry the `ratchet_tree` extension.
    pub ratchet_tree: Option<RatchetTreeWire>,
    /// The current time for lifetime checks of the tree's leaves (seconds since the Unix
    /// epoch); `None` uses the system clock if `config.check_received_lifetimes` is set.
    pub now: Option<u64>,
    /// For a Welcome into a branch or reinitialised group (§11.2, §11.3): our state in the
    /// group it resumes, which supplies the resumption PSK and what the new group is
    /// checked against (§12.4.3.1).
    pub resumed_group: Option<&'a Group>,
    /// Group policy for the new member; its `credential_validator` is called for every
    /// leaf of the tree (§5.3.1).
    pub config: GroupConfig,
}

/// The tree a joiner gets with `group_info` (§12.4.3.1, §12.4.3.2): its `ratchet_tree`
/// extension or else `out_of_band`, loaded; the GroupInfo's signature checked against the
/// signer's leaf in it; then the whole tree validated against the GroupInfo's context, with
/// leaf lifetimes checked at `now` (or the system clock if the config asks for it).
pub(crate) fn joined_tree(
    suite: &Suite,
    group_info: &GroupInfo,
    out_of_band: Option<RatchetTreeWire>,
    now: Option<u64>,
    config: &GroupConfig,
) -> Result<RatchetTree> {
    let wire = match group_info
        .extensions
        .ratchet_tree()
        .map_err(Error::Decode)?
    {
        Some(tree) => tree,
        None => out_of_band.ok_or(Rule::RatchetTreeMissing)?,
    };
    let mut tree = RatchetTree::from_wire(*suite, wire)?;
    let signer_key = tree
        .leaf(group_info.signer)
        .ok_or(Rule::GroupInfoSigner)?
        .signature_key
        .clone();
    verify_group_info(suite, group_info, &signer_key)?;
    let now = now.or_else(|| config.check_received_lifetimes.then(unix_now));
    validate_tree(&mut tree, &group_info.group_context, now, config)?;
    Ok(tree)
}

/// Build the tree validation context for `config`'s credential check (§5.3.1).
fn validate_tree(
    tree: &mut RatchetTree,
    context: &GroupContext,
    now: Option<u64>,
    config: &GroupConfig,
) -> Result<()> {
    let validator = config.credential_validator.clone();
    let check = move |_: u32, leaf: &crate::messages::LeafNode| {
        validator
            .as_ref()
            .is_none_or(|v| v.get().validate(&leaf.credential, &leaf.signature_key))
    };
    let ctx = TreeValidationContext {
        group_context: context,
        now,
        credential_validator: Some(&check),
    };
    tree.set_max_threads(config.max_threads);
    tree.validate(&ctx)
}

/// The one resumption PSK of usage reinit or branch among `psks`, if any (§12.4.3.1: at
/// most one is allowed).
fn resumption_psk(psks: &[PreSharedKeyID]) -> Result<Option<&PreSharedKeyID>> {
    let mut special = psks.iter().filter(|id| {
        matches!(
            &id.psk,
            PSKTypeData::Resumption { usage, .. } if *usage != ResumptionPSKUsage::Application
        )
    });
    let first = special.next();
    if special.next().is_some() {
        return Err(Rule::MultipleResumptionPsks.into());
    }
    Ok(first)
}

impl Group {
    /// Join from a Welcome message (an `MLSMessage` carrying a Welcome).
    pub fn join(
        welcome: &MLSMessage,
        key_package: &KeyPackageSecrets,
        psks: &dyn PskStore,
        options: JoinOptions<'_>,
    ) -> Result<Group> {
        match &welcome.body {
            MLSMessageBody::Welcome(w) => Self::join_welcome(w, key_package, psks, options),
            _ => Err(Error::Misuse("not a Welcome message")),
        }
    }

    /// Join from a Welcome with whichever of our KeyPackages it was sealed to (§12.4.3.1):
    /// the first of its entries whose KeyPackageRef `key_packages` knows. Returns the group
    /// and that KeyPackageRef, so that the caller can delete the package's secrets.
    pub fn join_from(
        welcome: &MLSMessage,
        key_packages: &(impl KeyPackageStore + ?Sized),
        psks: &dyn PskStore,
        options: JoinOptions<'_>,
    ) -> Result<(Group, Vec<u8>)> {
        let MLSMessageBody::Welcome(w) = &welcome.body else {
            return Err(Error::Misuse("not a Welcome message"));
        };
        let (reference, secrets) = w
            .secrets
            .iter()
            .find_map(|e| {
                key_packages
                    .key_package_secrets(&e.new_member)
                    .map(|kp| (e.new_member.to_vec(), kp))
            })
            .ok_or(Rule::WelcomeNoEntry)?;
        Ok((Self::join_welcome(w, secrets, psks, options)?, reference))
    }

    /// Join from a decoded Welcome (§12.4.3.1), checking everything a joiner must.
    pub fn join_welcome(
        welcome: &Welcome,
        key_package: &KeyPackageSecrets,
        psks: &dyn PskStore,
        options: JoinOptions<'_>,
    ) -> Result<Group> {
        let kp = &key_package.key_package;
        if welcome.cipher_suite != kp.cipher_suite {
            return Err(Rule::WelcomeCipherSuite.into());
        }
        let suite = Suite::new(welcome.cipher_suite)?;
        let kp_ref = super::key_package::key_package_ref(&suite, kp);
        let group_secrets = open_group_secrets(&suite, welcome, &kp_ref, &key_package.init_key)?;

        let resumption = resumption_psk(&group_secrets.psks)?;
        if resumption.is_some() && options.resumed_group.is_none() {
            return Err(Error::Misuse(
                "a branch or reinit Welcome: pass the resumed group in JoinOptions",
            ));
        }
        let psk_secret = match options.resumed_group {
            Some(old) => {
                resolve_psk_secret(&suite, &group_secrets.psks, psks, old.group_id(), &|e| {
                    old.own_resumption_psk(e)
                })?
            }
            None => resolve_psk_secret(&suite, &group_secrets.psks, psks, &[], &|_| None)?,
        };
        let joiner = JoinerSecret(group_secrets.joiner_secret.clone());
        let group_info = decrypt_group_info(&suite, welcome, &joiner, &psk_secret)?;
        let context = group_info.group_context.clone();
        if context.cipher_suite != kp.cipher_suite {
            return Err(Rule::WelcomeCipherSuite.into());
        }
        // §12.4.3.1: a branch or reinit PSK starts a new group at epoch 1.
        if resumption.is_some() && context.epoch != 1 {
            return Err(Rule::ResumptionEpoch.into());
        }

        let tree = joined_tree(
            &suite,
            &group_info,
            options.ratchet_tree,
            options.now,
            &options.config,
        )?;
        if let (Some(id), Some(old)) = (resumption, options.resumed_group) {
            super::resumption::check_resumed(id, old, &context, &tree, &options.config)?;
        }

        // Our leaf is the one identical to our KeyPackage's leaf node.
        let own_leaf = tree
            .members()
            .find(|(_, leaf)| **leaf == kp.leaf_node)
            .map(|(i, _)| i)
            .ok_or(Rule::OwnLeafMissing)?;
        let path_secret = match &group_secrets.path_secret {
            Some(ps) => {
                let lca = math::common_ancestor(
                    math::leaf_to_node(own_leaf),
                    math::leaf_to_node(group_info.signer),
                );
                Some((lca, ps.path_secret.clone()))
            }
            None => None,
        };
        let private = TreePrivateKeys::from_welcome(
            &suite,
            &tree,
            own_leaf,
            key_package.encryption_key.clone(),
            path_secret,
        )?;

        let context_bytes = context.to_bytes();
        let secrets = joiner.epoch_secrets(&suite, &psk_secret, &context_bytes)?;
        secrets.verify_confirmation_tag(
            &suite,
            &context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        )?;
        let interim = interim_transcript_hash(
            &suite,
            &context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        );
        Ok(Group::assemble(
            suite,
            options.config,
            key_package.signer.clone(),
            EpochState {
                context,
                tree,
                own_leaf,
                private,
                secrets,
                interim_transcript_hash: interim,
                confirmation_tag: group_info.confirmation_tag.to_vec(),
            },
        ))
    }
}
