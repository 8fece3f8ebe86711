//! Members' signature keys parsed once (point decompression and key checks), for the
//! framing signature check of every message a member sends (RFC 9420 §6.1).
//!
//! An entry is the parse of a leaf's `signature_key` and is used only while that leaf still
//! holds the same key bytes, so a stale entry (after an Update, a Remove, a commit path or a
//! tree loaded anew) is a miss, never a wrong key. Copies of a tree (a staged commit, a
//! cloned group) share one cache: that keeps copying a tree O(1), and sharing is safe because
//! entries are checked against the bytes of the tree that asks. A tree forgets a leaf's entry
//! when the leaf changes, only to bound memory.

use crate::crypto::{Suite, VerifyingKey};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// At most this many parsed keys are kept (an Ed25519 entry is ~250 bytes): the members who
/// send are a fraction of a large group, and a miss costs one parse.
const MAX_ENTRIES: usize = 1 << 13;

/// Leaf index -> that leaf's parsed signature key; shared by copies of a tree.
#[derive(Clone, Default)]
pub(crate) struct VerifyingKeyCache(Arc<Mutex<HashMap<u32, Arc<VerifyingKey>>>>);

impl VerifyingKeyCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<u32, Arc<VerifyingKey>>> {
        // The map holds no invariant a panicking holder could break.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The parsed key of leaf `leaf`, whose signature key is `encoded`: from the cache, or
    /// parsed now and cached. `None` if `encoded` does not parse (the caller's verification
    /// then reports the key as the error it is).
    pub(crate) fn get(
        &self,
        suite: &Suite,
        leaf: u32,
        encoded: &[u8],
    ) -> Option<Arc<VerifyingKey>> {
        if let Some(key) = self.entries().get(&leaf) {
            if key.as_bytes() == encoded {
                return Some(key.clone());
            }
        }
        // Parsed outside the lock: other copies of the tree may verify meanwhile.
        let key = Arc::new(suite.verifying_key(encoded).ok()?);
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&leaf) {
            if let Some(&evict) = entries.keys().next() {
                entries.remove(&evict);
            }
        }
        entries.insert(leaf, key.clone());
        Some(key)
    }

    /// Drop leaf `leaf`'s entry (its key changed or it left).
    pub(crate) fn forget(&self, leaf: u32) {
        self.entries().remove(&leaf);
    }

    /// How many keys are cached.
    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}

impl fmt::Debug for VerifyingKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKeyCache")
            .field("entries", &self.len())
            .finish()
    }
}
