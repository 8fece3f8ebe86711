//! Indexes from public keys to the nodes holding them, for the uniqueness checks of RFC 9420
//! §7.3 and §12.4.2 in O(1) instead of a scan of the tree.

use std::collections::HashMap;
use std::sync::Arc;

/// A hash index from public keys to node or leaf indices, storing 64-bit keyed fingerprints
/// instead of copies of the keys. Lookups always confirm a candidate against the tree, so the
/// index can never make two keys equal.
///
/// The table is shared between a tree and its clones (a staged commit); a clone records its
/// changes in a small overlay of whole candidate lists per fingerprint, folded back into the
/// table by `RatchetTree::compact` once the table is no longer shared.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyIndex {
    hasher: std::collections::hash_map::RandomState,
    base: Arc<KeyTable>,
    /// Fingerprints changed while `base` was shared, with their full candidate lists.
    overlay: HashMap<u64, Vec<u32>>,
}

/// Fingerprint to index; fingerprints already taken (a collision, or the same key twice in a
/// tree that validation will reject) go to a spill list.
#[derive(Debug, Clone, Default)]
struct KeyTable {
    slots: HashMap<u64, u32>,
    spill: Vec<(u64, u32)>,
}

impl KeyTable {
    fn insert(&mut self, f: u64, at: u32) {
        if let Some(taken) = self.slots.insert(f, at) {
            // Keep the earlier entry in the slot; the newcomer spills.
            self.slots.insert(f, taken);
            self.spill.push((f, at));
        }
    }

    fn remove(&mut self, f: u64, at: u32) {
        if self.slots.get(&f) == Some(&at) {
            self.slots.remove(&f);
            if let Some(i) = self.spill.iter().position(|&(g, _)| g == f) {
                let (_, next) = self.spill.swap_remove(i);
                self.slots.insert(f, next);
            }
        } else if let Some(i) = self.spill.iter().position(|&e| e == (f, at)) {
            self.spill.swap_remove(i);
        }
    }

    fn candidates(&self, f: u64) -> impl Iterator<Item = u32> + '_ {
        let spilled = self.spill.iter().filter(move |e| e.0 == f).map(|e| e.1);
        self.slots.get(&f).copied().into_iter().chain(spilled)
    }

    /// Make `list` the whole candidate list of `f`.
    fn replace(&mut self, f: u64, list: &[u32]) {
        self.slots.remove(&f);
        self.spill.retain(|e| e.0 != f);
        for &at in list {
            self.insert(f, at);
        }
    }
}

/// Overlays at most this large are folded into a shared table by copying it only when the
/// copy is amortised: beyond `OVERLAY_SLACK + table/16` entries.
const OVERLAY_SLACK: usize = 4096;

impl KeyIndex {
    fn fingerprint(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    /// Apply `edit` to the candidate list of `key`: in the table if nobody shares it (and
    /// the overlay does not hold the fingerprint), else in the overlay.
    fn edit(&mut self, key: &[u8], at: u32, add: bool) {
        let f = self.fingerprint(key);
        // The first write after the table stops being shared folds the overlay in.
        self.compact();
        if !self.overlay.contains_key(&f) {
            if let Some(table) = Arc::get_mut(&mut self.base) {
                if add {
                    table.insert(f, at);
                } else {
                    table.remove(f, at);
                }
                return;
            }
        }
        let base = &self.base;
        let list = self
            .overlay
            .entry(f)
            .or_insert_with(|| base.candidates(f).collect());
        if add {
            list.push(at);
        } else if let Some(i) = list.iter().position(|&x| x == at) {
            list.swap_remove(i);
        }
        if self.overlay.len() > OVERLAY_SLACK + self.base.slots.len() / 16 {
            self.fold();
        }
    }

    /// An empty index with room for `n` keys, so that indexing a whole tree on load does
    /// not rehash the table as it grows.
    pub(super) fn with_capacity(n: usize) -> Self {
        KeyIndex {
            base: Arc::new(KeyTable {
                slots: HashMap::with_capacity(n),
                spill: Vec::new(),
            }),
            ..KeyIndex::default()
        }
    }

    pub(super) fn insert(&mut self, key: &[u8], at: u32) {
        self.edit(key, at, true);
    }

    pub(super) fn remove(&mut self, key: &[u8], at: u32) {
        self.edit(key, at, false);
    }

    /// Move the overlay into the table, copying the table only if it is shared.
    fn fold(&mut self) {
        if self.overlay.is_empty() {
            return;
        }
        let table = Arc::make_mut(&mut self.base);
        for (f, list) in self.overlay.drain() {
            table.replace(f, &list);
        }
    }

    /// Fold the overlay in if that costs no copy of the table.
    pub(super) fn compact(&mut self) {
        if Arc::get_mut(&mut self.base).is_some() {
            self.fold();
        }
    }

    /// Indices that may hold `key`, to be confirmed by the caller.
    pub(super) fn candidates(&self, key: &[u8]) -> impl Iterator<Item = u32> + '_ {
        let f = self.fingerprint(key);
        let over = self.overlay.get(&f);
        let from_base = over
            .is_none()
            .then(|| self.base.candidates(f))
            .into_iter()
            .flatten();
        over.into_iter().flatten().copied().chain(from_base)
    }

    pub(super) fn memory_bytes(&self) -> usize {
        // hashbrown: one control byte per bucket beside each (u64, u32) entry.
        self.base.slots.capacity() * (core::mem::size_of::<(u64, u32)>() + 1)
            + self.base.spill.capacity() * core::mem::size_of::<(u64, u32)>()
            + self
                .overlay
                .values()
                .map(|l| 8 + core::mem::size_of::<Vec<u32>>() + 4 * l.capacity())
                .sum::<usize>()
    }
}
