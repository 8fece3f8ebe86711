//! A client: its identity, its home, its server connection, and every group operation.
//!
//! The rules every operation follows:
//! - a group state that consumed a key (a sent message, a pending commit) is persisted
//!   *before* anything goes to the network, so a crash never reuses a key;
//! - a commit is posted with its Welcome and GroupInfo; a `409 conflict` means another
//!   commit won the epoch: the pending commit is discarded, the log is fetched (the winner
//!   processed) and the commit rebuilt and retried;
//! - application messages wait in an outbox until the server acknowledges them; a retry
//!   posts the same bytes, which the server stores once;
//! - every leaf the group is about to trust (join, Add, Update, path, external joiner) is
//!   checked against the pinned AS root by the library's credential hook.
//!
//! The operations are split by concern: [`state`] (identity, loading and storing groups,
//! views), [`groups`] (KeyPackages and membership changes), [`commit`] (building and
//! retrying commits), [`outbox`] (sending), [`receive`] (the log and Welcomes) and [`sync`]
//! (catching up and WebSocket pushes).

mod commit;
mod event;
mod groups;
mod outbox;
mod receive;
mod state;
mod sync;
#[cfg(test)]
mod tests;

pub use event::Event;

use crate::client::Api;
use crate::error::{Error, Result};
use crate::home::{unix_now, GroupStatus, Home};
use cohort::codec::Decode;
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{CredentialValidator, Group, SharedValidator};
use cohort::messages::{Credential, KeyPackage};
use cohort_server::authority::validate_credential;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The cipher suite of new clients: X25519, AES-128-GCM, SHA-256, Ed25519.
pub const DEFAULT_SUITE: CipherSuite = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;

/// Log page size.
const PAGE: u32 = 500;
/// How many times a commit is rebuilt after losing its epoch.
const MAX_COMMIT_ATTEMPTS: u32 = 200;

/// The client id for `id`: `user/device`, with `/1` added when no device is given.
pub fn normalize_client_id(id: &str) -> String {
    if id.contains('/') {
        id.to_string()
    } else {
        format!("{id}/1")
    }
}

/// Whether `name` is a usable group name (it is also the group id on the server).
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// [`valid_group_name`] as an error that tells the user the rule.
fn check_group_name(name: &str) -> Result<()> {
    if valid_group_name(name) {
        Ok(())
    } else {
        Err(Error::new(
            "group names are 1-64 characters of A-Z a-z 0-9 . _ -",
        ))
    }
}

/// The refusal of an operation that needs us in the group.
fn not_active(name: &str) -> Error {
    Error::new(format!("you are not an active member of {name}"))
}

/// Counters of one client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Commits of ours the server accepted.
    pub commits: u64,
    /// Commits of ours that lost their epoch to another (and were retried).
    pub conflicts: u64,
    /// Application messages acknowledged by the server.
    pub sent: u64,
    /// Application messages received and decrypted.
    pub received: u64,
}

/// The result of a commit.
#[derive(Debug, Clone)]
pub struct CommitDone {
    /// The epoch the commit started.
    pub epoch: u64,
    /// How many times it lost its epoch first.
    pub conflicts: u32,
    /// Members after it.
    pub members: usize,
}

/// A summary of one group, for `group status`.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// Local name.
    pub name: String,
    /// Group id (as text when printable).
    pub group_id: String,
    /// Current epoch.
    pub epoch: u64,
    /// Member count.
    pub members: usize,
    /// Epoch authenticator (§8.7), hex: equal for all members who agree on the epoch.
    pub authenticator: String,
    /// Membership status.
    pub status: GroupStatus,
    /// Log cursor.
    pub cursor: u64,
    /// Size of the persisted state.
    pub state_bytes: usize,
}

/// The AS policy: an X.509 chain to the pinned root, valid now, certifying the leaf key.
struct AsValidator {
    root: Arc<Vec<u8>>,
}

impl CredentialValidator for AsValidator {
    fn validate(&self, credential: &Credential, signature_key: &[u8]) -> bool {
        validate_credential(credential, &self.root, unix_now(), signature_key).is_ok()
    }
}

struct Loaded {
    name: String,
    group: Group,
    cursor: u64,
    status: GroupStatus,
    joined_epoch: u64,
}

/// One client with its home and server.
pub struct Member {
    home: Home,
    api: Api,
    client_id: String,
    suite: Suite,
    signer: SignaturePrivateKey,
    credential: Credential,
    root: Arc<Vec<u8>>,
    validator: SharedValidator,
    cache: HashMap<Vec<u8>, Loaded>,
    names: HashMap<Vec<u8>, String>,
    events: Vec<Event>,
    resend: Vec<Vec<u8>>,
    /// Commits of PrivateMessage groups we processed and have not acknowledged to the
    /// server yet: (group id, seq).
    acks: Vec<(Vec<u8>, u64)>,
    /// Counters.
    pub stats: Stats,
    /// Hold the next commit, once built, at this gate before posting it (racers then post
    /// commits built for one epoch at once): for tests and the demo's race.
    pub commit_gate: Option<CommitGate>,
}

/// Where a built commit waits before it is posted.
#[derive(Debug, Clone)]
pub enum CommitGate {
    /// Print `commit ready for epoch N`, then wait until this file exists.
    File(std::path::PathBuf),
    /// Wait for the other parties of this barrier.
    Barrier(Arc<tokio::sync::Barrier>),
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("client_id", &self.client_id)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

/// Run blocking I/O on a runtime worker without stalling the other tasks (multi-threaded
/// runtime), or plainly (anywhere else).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn decode_mls(bytes: &[u8]) -> Result<MLSMessage> {
    Ok(MLSMessage::decode_exact(bytes)?)
}

fn decode_key_package(bytes: &[u8]) -> Result<KeyPackage> {
    if let Ok(m) = MLSMessage::decode_exact(bytes) {
        if let MLSMessageBody::KeyPackage(kp) = m.body {
            return Ok(*kp);
        }
        return Err(Error::new(
            "claimed KeyPackage is another kind of MLS message",
        ));
    }
    Ok(KeyPackage::decode_exact(bytes)?)
}
