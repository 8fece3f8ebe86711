//! Resolving PreSharedKeyIDs to PSK values (RFC 9420 §8.4, §8.6).

use crate::codec::Encode;
use crate::crypto::{Secret, Suite};
use crate::error::{Result, Rule};
use crate::messages::{PSKTypeData, PreSharedKeyID};
use crate::schedule::psk::{psk_secret, PskInput};
use std::collections::HashMap;

/// Where the application keeps PSKs: external PSKs by id, and resumption PSKs of groups other
/// than the one being processed (for branches and reinitialisation, §11).
pub trait PskStore {
    /// The external PSK with this `psk_id`, if known.
    fn external_psk(&self, psk_id: &[u8]) -> Option<Secret>;
    /// The resumption PSK of `group_id` at `epoch`, if known.
    fn resumption_psk(&self, _group_id: &[u8], _epoch: u64) -> Option<Secret> {
        None
    }
}

/// A simple in-memory store: external PSKs by id and resumption PSKs by (group, epoch).
#[derive(Debug, Clone, Default)]
pub struct MemoryPskStore {
    /// External PSKs by `psk_id`.
    pub external: HashMap<Vec<u8>, Secret>,
    /// Resumption PSKs by `(group_id, epoch)`.
    pub resumption: HashMap<(Vec<u8>, u64), Secret>,
}

impl MemoryPskStore {
    /// Add an external PSK under `psk_id`.
    pub fn insert_external(&mut self, psk_id: &[u8], psk: Secret) {
        self.external.insert(psk_id.to_vec(), psk);
    }

    /// Copy in every resumption PSK `group` holds (current and kept epochs), so that a
    /// branch, a reinitialisation or another group can use them (§8.6, §11).
    pub fn insert_resumption_psks(&mut self, group: &super::Group) {
        let id = group.group_id().to_vec();
        for (epoch, psk) in group.resumption_psks() {
            self.resumption.insert((id.clone(), epoch), psk.clone());
        }
    }
}

impl PskStore for MemoryPskStore {
    fn external_psk(&self, psk_id: &[u8]) -> Option<Secret> {
        self.external.get(psk_id).cloned()
    }
    fn resumption_psk(&self, group_id: &[u8], epoch: u64) -> Option<Secret> {
        self.resumption.get(&(group_id.to_vec(), epoch)).cloned()
    }
}

/// No PSKs at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPsks;

impl PskStore for NoPsks {
    fn external_psk(&self, _: &[u8]) -> Option<Secret> {
        None
    }
}

/// Several stores asked in order; the first that knows a PSK answers.
#[derive(Clone, Copy)]
pub struct PskStores<'a>(pub &'a [&'a dyn PskStore]);

impl PskStore for PskStores<'_> {
    fn external_psk(&self, psk_id: &[u8]) -> Option<Secret> {
        self.0.iter().find_map(|s| s.external_psk(psk_id))
    }
    fn resumption_psk(&self, group_id: &[u8], epoch: u64) -> Option<Secret> {
        self.0
            .iter()
            .find_map(|s| s.resumption_psk(group_id, epoch))
    }
}

/// Compute `psk_secret` for `ids` in order, looking resumption PSKs of `own_group` up in
/// `own_resumption` first (§8.4). A PSK that cannot be found is an error (§12.4.2).
pub fn resolve_psk_secret(
    suite: &Suite,
    ids: &[PreSharedKeyID],
    store: &dyn PskStore,
    own_group: &[u8],
    own_resumption: &dyn Fn(u64) -> Option<Secret>,
) -> Result<Secret> {
    let mut inputs = Vec::with_capacity(ids.len());
    for id in ids {
        let psk = match &id.psk {
            PSKTypeData::External { psk_id } => store.external_psk(psk_id),
            PSKTypeData::Resumption {
                psk_group_id,
                psk_epoch,
                ..
            } => {
                if psk_group_id.as_slice() == own_group {
                    own_resumption(*psk_epoch)
                        .or_else(|| store.resumption_psk(psk_group_id, *psk_epoch))
                } else {
                    store.resumption_psk(psk_group_id, *psk_epoch)
                }
            }
        }
        .ok_or(Rule::PskNotFound)?;
        inputs.push(PskInput {
            id: id.to_bytes(),
            psk,
        });
    }
    psk_secret(suite, &inputs)
}
