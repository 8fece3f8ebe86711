//! Shared by the stateful targets: byte-level mutations chosen by the fuzzer, and the
//! invariants every processed message must keep.
#![allow(dead_code)]

use cohort::codec::Decode;
use cohort::error::Result;
use cohort::framing::MLSMessage;
use cohort::group::{Group, PskStore, ReceivedMessage};
use libfuzzer_sys::arbitrary::Unstructured;

/// Apply up to four fuzzer-chosen edits to `wire`: flip a bit, set a byte, truncate,
/// insert a byte, or splice in bytes of `other` (another real message).
pub fn mutate(u: &mut Unstructured<'_>, wire: &mut Vec<u8>, other: &[u8]) {
    let edits = u.int_in_range(0..=4u8).unwrap_or(0);
    for _ in 0..edits {
        if wire.is_empty() {
            return;
        }
        let at = u.choose_index(wire.len()).unwrap_or(0);
        match u.int_in_range(0..=4u8).unwrap_or(0) {
            0 => wire[at] ^= 1 << u.int_in_range(0..=7u8).unwrap_or(0),
            1 => wire[at] = u.arbitrary().unwrap_or(0),
            2 => wire.truncate(at),
            3 => wire.insert(at, u.arbitrary().unwrap_or(0)),
            _ => {
                if !other.is_empty() {
                    let from = u.choose_index(other.len()).unwrap_or(0);
                    let len = u.int_in_range(1..=32usize).unwrap_or(1);
                    let end = (from + len).min(other.len());
                    let end_at = (at + (end - from)).min(wire.len());
                    wire.splice(at..end_at, other[from..end].iter().copied());
                }
            }
        }
    }
}

/// Decode `wire` as an MLSMessage, or nothing.
pub fn decode(wire: &[u8]) -> Option<MLSMessage> {
    MLSMessage::decode_exact(wire).ok()
}

/// The persisted state round-trips: restore, save, and compare.
pub fn assert_round_trips(group: &Group) {
    let saved = group.to_bytes();
    let restored = Group::from_bytes(&saved, None).expect("a saved state restores");
    assert_eq!(
        &restored.to_bytes()[..],
        &saved[..],
        "save/restore is stable"
    );
}

/// Run `call` on `group`: on error, the persisted state must be byte-identical to before.
pub fn checked<T>(group: &mut Group, call: impl FnOnce(&mut Group) -> Result<T>) -> Result<T> {
    let before = group.to_bytes();
    let out = call(group);
    if let Err(e) = &out {
        assert!(
            before[..] == group.to_bytes()[..],
            "a rejection ({e:?}) changed the persisted state"
        );
    }
    out
}

/// Process `msg`; on error the state is unchanged (checked).
pub fn process(
    group: &mut Group,
    msg: &MLSMessage,
    psks: &dyn PskStore,
) -> Result<ReceivedMessage> {
    checked(group, |g| g.process_message(msg.clone(), psks))
}
