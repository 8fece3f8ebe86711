//! Resuming a group in a new one (RFC 9420 §11.2 reinitialisation, §11.3 subgroup
//! branching): creating the new group with a resumption PSK, and the checks a joiner of
//! such a group makes (§12.4.3.1).

use super::commit::{CommitOptions, CommitOutput};
use super::config::GroupConfig;
use super::create::GroupOptions;
use super::credential::{same_client, SharedValidator};
use super::state::Group;
use crate::codec::Bytes;
use crate::crypto::{SignaturePrivateKey, Suite};
use crate::error::{Error, Result, Rule};
use crate::messages::{
    Credential, GroupContext, KeyPackage, PSKTypeData, PreSharedKeyID, ResumptionPSKUsage,
};
use crate::tree::ratchet_tree::RatchetTree;
use std::collections::HashSet;

/// Whether every credential in `subset` names a client that some credential in `set`
/// names too, per the application's `same_client` (§11.2, §11.3). Equality (no validator)
/// is a hash lookup; an application's own notion of identity is checked pairwise.
fn covered<'c>(
    validator: Option<&SharedValidator>,
    subset: impl Iterator<Item = &'c Credential>,
    set: &[&Credential],
) -> bool {
    match validator {
        None => {
            let set: HashSet<&Credential> = set.iter().copied().collect();
            subset.into_iter().all(|c| set.contains(c))
        }
        Some(_) => subset
            .into_iter()
            .all(|c| set.iter().any(|s| same_client(validator, s, c))),
    }
}

/// The §12.4.3.1 checks of a Welcome whose GroupSecrets carry the resumption PSK `id` of
/// usage reinit or branch, against `old` (our state in the resumed group): the PSK names
/// `old`; for reinit, `old`'s last commit was a ReInit whose parameters the new group has
/// and every old member is in the new group; for branch, the new group keeps `old`'s version
/// and cipher suite and its members are a subset of `old`'s.
pub(crate) fn check_resumed(
    id: &PreSharedKeyID,
    old: &Group,
    context: &GroupContext,
    tree: &RatchetTree,
    config: &GroupConfig,
) -> Result<()> {
    let PSKTypeData::Resumption {
        usage,
        psk_group_id,
        psk_epoch,
    } = &id.psk
    else {
        return Err(Rule::ResumptionMismatch.into());
    };
    if psk_group_id.as_slice() != old.group_id() {
        return Err(Rule::ResumptionMismatch.into());
    }
    let validator = config.credential_validator.as_ref();
    let old_members: Vec<&Credential> = old.tree.members().map(|(_, l)| &l.credential).collect();
    let new_members: Vec<&Credential> = tree.members().map(|(_, l)| &l.credential).collect();
    match usage {
        ResumptionPSKUsage::Reinit => {
            let reinit = old.reinit.as_ref().ok_or(Rule::ResumptionMismatch)?;
            let matches = *psk_epoch == old.epoch()
                && context.group_id == reinit.group_id
                && context.version == reinit.version
                && context.cipher_suite == reinit.cipher_suite
                && context.extensions == reinit.extensions;
            if !matches {
                return Err(Rule::ResumptionMismatch.into());
            }
            if !covered(validator, old_members.iter().copied(), &new_members) {
                return Err(Rule::ResumptionMembership.into());
            }
        }
        ResumptionPSKUsage::Branch => {
            if context.version != old.context.version
                || context.cipher_suite != old.context.cipher_suite
            {
                return Err(Rule::ResumptionMismatch.into());
            }
            if !covered(validator, new_members.iter().copied(), &old_members) {
                return Err(Rule::ResumptionMembership.into());
            }
        }
        ResumptionPSKUsage::Application => return Err(Rule::ResumptionMismatch.into()),
    }
    Ok(())
}

impl Group {
    /// Our credential in this group.
    fn own_credential(&self) -> Result<Credential> {
        self.tree
            .leaf(self.own_leaf)
            .map(|l| l.credential.clone())
            .ok_or(Error::Misuse("own leaf is blank"))
    }

    /// Create a subgroup of this group (§11.3): a new group `group_id` with the same
    /// version and cipher suite, whose first commit adds the owners of `key_packages` (each
    /// must be a member here) and injects this epoch's resumption PSK with usage `branch`.
    /// Returns the new group, already in epoch 1, and the commit output whose `welcome`
    /// goes to the new members; they join with [`JoinOptions::resumed_group`] set to their
    /// state in this group.
    ///
    /// `options.extensions` are the new group's; pass `self.context().extensions.clone()`
    /// to keep this group's.
    ///
    /// [`JoinOptions::resumed_group`]: super::JoinOptions::resumed_group
    pub fn branch(
        &self,
        group_id: Vec<u8>,
        key_packages: Vec<KeyPackage>,
        options: GroupOptions,
    ) -> Result<(Group, CommitOutput)> {
        let credential = self.own_credential()?;
        let validator = self.config.credential_validator.as_ref();
        let old_members: Vec<&Credential> =
            self.tree.members().map(|(_, l)| &l.credential).collect();
        if !covered(
            validator,
            key_packages.iter().map(|kp| &kp.leaf_node.credential),
            &old_members,
        ) {
            return Err(Rule::ResumptionMembership.into());
        }
        let new = Group::create_with_version(
            self.context.cipher_suite,
            self.context.version,
            group_id,
            credential,
            self.signer.clone(),
            options,
        )?;
        let psk = resumption_id(
            &new.suite,
            ResumptionPSKUsage::Branch,
            self.group_id(),
            self.epoch(),
        )?;
        new.resumption_commit(key_packages, psk, ResumptionPSKUsage::Branch, self)
    }

    /// Create the group that replaces this one after a committed ReInit (§11.2): the
    /// ReInit's group id, version, cipher suite and extensions, our credential, `signer`
    /// (a key for the new cipher suite's signature scheme), and a first commit that adds the
    /// owners of `key_packages` (new-suite KeyPackages of every other member) with the
    /// resumption PSK of this group's final epoch, usage `reinit`. Returns the new group in
    /// epoch 1 and the commit output whose `welcome` goes to the other members.
    pub fn reinit(
        &self,
        signer: SignaturePrivateKey,
        key_packages: Vec<KeyPackage>,
        mut options: GroupOptions,
    ) -> Result<(Group, CommitOutput)> {
        let reinit = self
            .reinit
            .clone()
            .ok_or(Error::Misuse("no ReInit was committed in this group"))?;
        let credential = self.own_credential()?;
        // §11.2: "with the same members as the original group".
        let validator = self.config.credential_validator.as_ref();
        let mut new_members: Vec<&Credential> = key_packages
            .iter()
            .map(|kp| &kp.leaf_node.credential)
            .collect();
        new_members.push(&credential);
        if !covered(
            validator,
            self.tree.members().map(|(_, l)| &l.credential),
            &new_members,
        ) {
            return Err(Rule::ResumptionMembership.into());
        }
        options.extensions = reinit.extensions.clone();
        let new = Group::create_with_version(
            reinit.cipher_suite,
            reinit.version,
            reinit.group_id.to_vec(),
            credential,
            signer,
            options,
        )?;
        let psk = resumption_id(
            &new.suite,
            ResumptionPSKUsage::Reinit,
            self.group_id(),
            self.epoch(),
        )?;
        new.resumption_commit(key_packages, psk, ResumptionPSKUsage::Reinit, self)
    }

    /// The first commit of a resumed group: add the members and inject the resumption PSK
    /// of `old` (§11.2, §11.3); the group moves to epoch 1 at once, as nobody else can
    /// commit in epoch 0.
    fn resumption_commit(
        mut self,
        key_packages: Vec<KeyPackage>,
        psk: PreSharedKeyID,
        usage: ResumptionPSKUsage,
        old: &Group,
    ) -> Result<(Group, CommitOutput)> {
        let options = CommitOptions {
            add: key_packages,
            psks: vec![psk],
            ..Default::default()
        };
        let out = self.commit_with_policy(options, old, Some(usage))?;
        self.confirm_pending_commit()?;
        Ok((self, out))
    }
}

/// A resumption PreSharedKeyID with a fresh `KDF.Nh`-byte nonce of the new group's suite
/// (§8.4, §11.3: "a randomly sampled nonce of length KDF.Nh").
fn resumption_id(
    suite: &Suite,
    usage: ResumptionPSKUsage,
    group_id: &[u8],
    epoch: u64,
) -> Result<PreSharedKeyID> {
    Ok(PreSharedKeyID {
        psk: PSKTypeData::Resumption {
            usage,
            psk_group_id: Bytes(group_id.to_vec()),
            psk_epoch: epoch,
        },
        psk_nonce: Bytes(suite.random_bytes(suite.hash_len())?),
    })
}
