//! Storage behind the server: one [`Store`] trait, SQLite ([`sqlite::SqliteStore`]) by default,
//! PostgreSQL ([`postgres::PgStore`]) for several instances over one database.
//!
//! Every method is one transaction. The Delivery Service's ordering rule (one commit per
//! epoch, proposals for the current epoch, application messages with a grace epoch) is the
//! pure function [`decide`], which every backend calls inside its transaction so that all
//! engines enforce the same policy; the other engine-independent rules (who may join, who
//! settles a contested commit, who sets the policy, what fits a byte budget) are the helpers
//! at the end of this module, so that an engine only adds SQL.

pub mod postgres;
pub mod sqlite;

pub use crate::limits::Rate;

use std::fmt;
use zeroize::Zeroizing;

/// An enrolled client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// `user/device`, also the identity URI without `mls:`.
    pub id: String,
    /// The certified MLS signature key.
    pub signature_key: Vec<u8>,
    /// DER of the client's leaf certificate.
    pub certificate: Vec<u8>,
    /// Enrollment time (Unix seconds).
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// A client to enroll.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The client id.
    pub id: String,
    /// The certified MLS signature key.
    pub signature_key: Vec<u8>,
    /// DER of the issued certificate.
    pub certificate: Vec<u8>,
    /// SHA-256 of the bearer token.
    pub token_hash: [u8; 32],
    /// Enrollment time.
    pub created_at: i64,
    /// SHA-256 of an invite token to consume in the same transaction.
    pub invite_hash: Option<[u8; 32]>,
}

/// A validated KeyPackage ready to store.
#[derive(Debug, Clone)]
pub struct StoredKeyPackage {
    /// `KeyPackageRef` (unique).
    pub kp_ref: Vec<u8>,
    /// Its cipher suite.
    pub cipher_suite: u16,
    /// The encoded `MLSMessage` carrying it.
    pub data: Vec<u8>,
    /// Whether it carries the `last_resort` extension.
    pub last_resort: bool,
    /// End of its lifetime (Unix seconds).
    pub not_after: u64,
}

/// How many KeyPackages a client has left for one cipher suite.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyPackageCount {
    /// The cipher suite.
    pub cipher_suite: u16,
    /// Ordinary (single-use) packages left.
    pub available: u64,
    /// Whether a last-resort package is stored.
    pub last_resort: bool,
}

/// The result of claiming a KeyPackage for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The target client.
    pub client_id: String,
    /// The encoded MLSMessage and whether it was the last-resort package; `None` if none.
    pub key_package: Option<(Vec<u8>, bool)>,
}

/// How a group's members send proposals and commits: what the DS can verify of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handshake {
    /// PublicMessage handshakes: the DS follows the group with a public view and rejects
    /// invalid proposals and commits.
    #[default]
    Public,
    /// PrivateMessage handshakes: opaque to the DS (groups created before handshake modes
    /// existed are read as this).
    Private,
}

impl Handshake {
    /// The name used in the HTTP API.
    pub fn name(self) -> &'static str {
        match self {
            Handshake::Public => "public",
            Handshake::Private => "private",
        }
    }
}

/// A group as the DS sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// The MLS group id.
    pub group_id: Vec<u8>,
    /// The current epoch (the epoch of the last accepted commit plus one).
    pub epoch: u64,
    /// Who created it.
    pub creator: String,
    /// Whether non-members may fetch the GroupInfo and join by external commit.
    pub allow_external_join: bool,
    /// Sequence number of the last message (0 if none).
    pub last_seq: u64,
    /// Current members (client ids), sorted.
    pub members: Vec<String>,
    /// The handshake mode, fixed at creation.
    pub handshake: Handshake,
    /// PrivateMessage groups: the epoch whose commit awaits an acknowledgement.
    pub contested_epoch: Option<u64>,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// The MLS group id.
    pub group_id: Vec<u8>,
    /// The creator, first member.
    pub creator: String,
    /// External join policy.
    pub allow_external_join: bool,
    /// Optional GroupInfo for epoch 0.
    pub group_info: Option<Vec<u8>>,
    /// Creation time.
    pub created_at: i64,
    /// The handshake mode.
    pub handshake: Handshake,
    /// For a PublicMessage group: the encoded public view at epoch 0.
    pub view: Option<Vec<u8>>,
    /// How many groups the creator may have created, this one included (`Quota` past it).
    pub creator_quota: u64,
}

/// What a commit changes besides the log.
#[derive(Debug, Clone, Default)]
pub struct CommitEffects {
    /// Encoded Welcome MLSMessage, stored for `welcome_recipients` if the commit wins.
    pub welcome: Option<Vec<u8>>,
    /// Who gets the Welcome.
    pub welcome_recipients: Vec<String>,
    /// Encoded GroupInfo MLSMessage for the new epoch.
    pub group_info: Option<Vec<u8>>,
    /// Clients added by the commit.
    pub added: Vec<String>,
    /// Clients removed by the commit.
    pub removed: Vec<String>,
    /// An external commit (sender `new_member_commit`): the poster joins.
    pub external: bool,
    /// For a PublicMessage group: the encoded public view of the epoch the commit leads
    /// to, stored in the same transaction when the commit wins.
    pub view: Option<Vec<u8>>,
}

/// The kind of a posted handshake or application message.
#[derive(Debug, Clone)]
pub enum PostKind {
    /// A commit and its side effects.
    Commit(Box<CommitEffects>),
    /// A proposal.
    Proposal,
    /// Application data.
    Application,
}

/// A message to append to a group's log.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Target group (equal to the message header's group id).
    pub group_id: Vec<u8>,
    /// The authenticated poster.
    pub sender: String,
    /// The header epoch.
    pub epoch: u64,
    /// The header content type (1 application, 2 proposal, 3 commit).
    pub content_type: u8,
    /// The wire format (1 public, 2 private).
    pub wire_format: u16,
    /// The encoded MLSMessage.
    pub data: Vec<u8>,
    /// SHA-256 of `data`, for replay detection.
    pub hash: [u8; 32],
    /// What kind of message, with commit effects.
    pub kind: PostKind,
    /// Arrival time.
    pub now: i64,
}

/// An accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Its sequence number in the group log.
    pub seq: u64,
    /// The group's epoch after it.
    pub epoch: u64,
    /// Who should be notified: members before and after it.
    pub notify: Vec<String>,
    /// Inbox entries created for Welcome recipients: (client id, inbox id).
    pub welcomed: Vec<(String, u64)>,
}

/// A message in a group log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Sequence number.
    pub seq: u64,
    /// Header epoch.
    pub epoch: u64,
    /// Header content type.
    pub content_type: u8,
    /// Wire format.
    pub wire_format: u16,
    /// The posting client.
    pub sender: String,
    /// The encoded MLSMessage.
    pub data: Vec<u8>,
    /// Arrival time.
    pub created_at: i64,
}

/// A Welcome waiting in a client's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// Inbox cursor.
    pub id: u64,
    /// The group the Welcome is for.
    pub group_id: Vec<u8>,
    /// The group's epoch the Welcome starts at.
    pub epoch: u64,
    /// The encoded Welcome MLSMessage.
    pub data: Vec<u8>,
    /// Arrival time.
    pub created_at: i64,
}

/// Retention policy for logs and inboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete log entries and inbox Welcomes older than this many seconds.
    pub max_age_secs: Option<i64>,
    /// Keep at most this many log entries per group (the newest).
    pub keep_last: Option<u64>,
}

/// What a prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Log entries deleted.
    pub messages: u64,
    /// Inbox Welcomes deleted.
    pub welcomes: u64,
    /// Expired KeyPackages and invites deleted.
    pub expired: u64,
}

/// A store failure, mapped to an HTTP status by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Missing group, client, or other object.
    NotFound(String),
    /// Ordering or uniqueness conflict; carries the group's epoch and, for a replay, the
    /// sequence number already holding the same bytes.
    Conflict {
        /// What conflicted.
        reason: String,
        /// The group's current epoch, when the conflict is about a group.
        current_epoch: Option<u64>,
        /// The existing sequence number of a replayed message.
        seq: Option<u64>,
    },
    /// The caller may not do this (not a member, external joins disabled).
    Forbidden(String),
    /// The request names something invalid (unknown client in `added`, used invite).
    Invalid(String),
    /// A quota of the caller is used up; nothing was stored.
    Quota(String),
    /// The backend failed.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(m) => write!(f, "not found: {m}"),
            StoreError::Conflict { reason, .. } => write!(f, "conflict: {reason}"),
            StoreError::Forbidden(m) => write!(f, "forbidden: {m}"),
            StoreError::Invalid(m) => write!(f, "invalid: {m}"),
            StoreError::Quota(m) => write!(f, "quota exceeded: {m}"),
            StoreError::Backend(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistent state of the AS and DS. Each method is atomic.
pub trait Store: Send + Sync + 'static {
    /// The CA's root certificate (DER), storing `make`'s on first use (the first stored
    /// wins if calls race). The CA's private key is never stored here: see
    /// [`crate::authority::key_file`].
    fn ca_root(&self, make: &mut dyn FnMut() -> StoreResult<Vec<u8>>) -> StoreResult<Vec<u8>>;
    /// A CA private key that a server before the key file kept in the database.
    fn legacy_ca_key(&self) -> StoreResult<Option<Zeroizing<Vec<u8>>>>;
    /// Erase the legacy CA key once it is safe in its key file, leaving no readable copy
    /// in the database's free pages or journal.
    fn forget_legacy_ca_key(&self) -> StoreResult<()>;

    /// Enroll a client, consuming its invite if any; `Conflict` if the id or key is taken.
    fn create_client(&self, client: NewClient) -> StoreResult<()>;
    /// A client by id.
    fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>>;
    /// The client holding a bearer token (by SHA-256).
    fn client_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ClientRecord>>;
    /// The client whose certified key is `signature_key`.
    fn client_by_signature_key(&self, signature_key: &[u8]) -> StoreResult<Option<ClientRecord>>;
    /// Revoke a client; `NotFound` if unknown. Returns the revocation time.
    fn revoke_client(&self, id: &str, now: i64) -> StoreResult<i64>;
    /// Store an invite token hash valid until `expires_at`.
    fn add_invite(&self, hash: [u8; 32], now: i64, expires_at: i64) -> StoreResult<()>;

    /// Store a batch of validated KeyPackages for `client` (all or none).
    fn add_key_packages(
        &self,
        client: &str,
        kps: Vec<StoredKeyPackage>,
        now: i64,
    ) -> StoreResult<()>;
    /// Unexpired KeyPackages left for `client`, per suite.
    fn key_package_counts(&self, client: &str, now: i64) -> StoreResult<Vec<KeyPackageCount>>;
    /// Claim one KeyPackage per target for `suite`: an ordinary one is deleted, the
    /// last-resort one is handed out (and kept) only when no ordinary one is left.
    fn claim_key_packages(
        &self,
        targets: &[String],
        suite: u16,
        now: i64,
    ) -> StoreResult<Vec<Claimed>>;

    /// Create a group with its creator as only member; `Conflict` if the id exists.
    fn create_group(&self, group: NewGroup) -> StoreResult<GroupRecord>;
    /// A group and its members.
    fn group(&self, group_id: &[u8]) -> StoreResult<Option<GroupRecord>>;
    /// Whether `client` is a member of the group.
    fn is_member(&self, group_id: &[u8], client: &str) -> StoreResult<bool>;
    /// The encoded public view of a PublicMessage group at its current epoch.
    fn group_view(&self, group_id: &[u8]) -> StoreResult<Option<Vec<u8>>>;
    /// The PublicMessage proposals logged for `epoch`, in log order: what the public view
    /// resolves a commit's proposal references against.
    fn epoch_proposals(&self, group_id: &[u8], epoch: u64) -> StoreResult<Vec<Vec<u8>>>;
    /// The epoch of a PrivateMessage group's last commit if no other member has
    /// acknowledged it yet.
    fn contested_epoch(&self, group_id: &[u8]) -> StoreResult<Option<u64>>;
    /// A member says it processed the commit at `seq` (PrivateMessage groups, RFC 9750
    /// "Invalid Commits"). If that commit is a candidate of the contested epoch and the
    /// caller is a member from before that epoch other than its committer (or the
    /// committer, when it was the only member), the commit becomes the epoch's: its removals
    /// apply, other candidates' additions are undone, its GroupInfo becomes the latest and
    /// its Welcome goes to the inboxes (returned as for [`Appended::welcomed`]).
    /// Acknowledging a settled commit changes nothing.
    fn ack_commit(
        &self,
        group_id: &[u8],
        seq: u64,
        caller: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, u64)>>;
    /// Set the external-join policy. Rights follow membership: the caller must be a
    /// current member, and the creator while it is one; once the creator has left, any
    /// member.
    fn set_policy(
        &self,
        group_id: &[u8],
        caller: &str,
        allow_external_join: bool,
    ) -> StoreResult<()>;
    /// Append a message under the ordering rule of [`decide`], with its commit effects.
    fn append(&self, message: NewMessage) -> StoreResult<Appended>;
    /// Up to `limit` log entries with `seq > after`, oldest first, and the oldest seq kept.
    /// Entries stop before their bytes would pass `max_bytes` (the first one always comes):
    /// a reply, and what the store reads for it, stays within a budget whatever `limit` is.
    fn messages_after(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<(Vec<StoredMessage>, Option<u64>)>;
    /// The latest GroupInfo and its epoch.
    fn group_info(&self, group_id: &[u8]) -> StoreResult<Option<(u64, Vec<u8>)>>;
    /// Replace the latest GroupInfo; its epoch must be the group's current epoch.
    fn set_group_info(&self, group_id: &[u8], epoch: u64, data: Vec<u8>) -> StoreResult<()>;

    /// Inbox Welcomes of `client` with `id > after`, within `max_bytes` as for
    /// [`Store::messages_after`].
    fn inbox(
        &self,
        client: &str,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<Vec<InboxEntry>>;
    /// Delete inbox Welcomes of `client` with `id <= upto`; returns how many.
    fn ack_inbox(&self, client: &str, upto: u64) -> StoreResult<u64>;

    /// Apply the retention policy and drop expired KeyPackages and invites.
    fn prune(&self, retention: &Retention, now: i64) -> StoreResult<PruneReport>;

    /// The connection pool's state, for `/metrics` (engines without a pool: none).
    fn pool_state(&self) -> Option<crate::metrics::PoolState> {
        None
    }

    /// Whether other server instances share this store, so that per-client rate buckets
    /// must live in it ([`Store::take_rate`]) rather than in each process.
    fn shares_rates(&self) -> bool {
        false
    }

    /// Take `n` cells from the GCRA bucket `(bucket, key)` of quota `rate`, on the
    /// database's clock so that every instance agrees: `Ok(Err(wait))` when it holds too
    /// few (nothing is taken unless `force`). `n = 0` takes nothing and is refused only when
    /// forced takes have overdrawn the bucket. Only engines that share rates keep buckets.
    fn take_rate(
        &self,
        bucket: &str,
        key: &str,
        rate: Rate,
        n: u32,
        force: bool,
    ) -> StoreResult<Result<(), std::time::Duration>> {
        let _ = (bucket, key, rate, n, force);
        Err(StoreError::Backend(
            "this engine keeps no shared rate buckets".into(),
        ))
    }
}

/// The ordering rule of the DS, decided from the group's state alone.
///
/// - Non-members may only post an external commit, and only if the group allows it.
/// - A commit must be for the current epoch (the first one wins and moves the epoch on).
/// - A proposal must be for the current epoch.
/// - Application messages may be up to `grace` epochs behind, never ahead.
/// - In a PrivateMessage group whose last commit (for epoch `contested`) no other member has
///   acknowledged yet, further commits and proposals for that epoch are accepted (members
///   take the first commit they can process, RFC 9750 "Invalid Commits"), and commits for
///   the next epoch wait for the acknowledgement.
///
/// Every violation is a `Conflict` carrying the current epoch, except membership, which is
/// `Forbidden`.
pub fn decide(
    epoch: u64,
    allow_external_join: bool,
    poster_is_member: bool,
    message: &NewMessage,
    grace: u64,
    contested: Option<u64>,
) -> StoreResult<()> {
    let external = matches!(&message.kind, PostKind::Commit(c) if c.external);
    if !poster_is_member {
        if !external {
            return Err(StoreError::Forbidden("not a member of this group".into()));
        }
        if !allow_external_join {
            return Err(StoreError::Forbidden(
                "this group does not allow external joins".into(),
            ));
        }
    }
    let conflict = |reason: String| StoreError::Conflict {
        reason,
        current_epoch: Some(epoch),
        seq: None,
    };
    match &message.kind {
        PostKind::Commit(_) | PostKind::Proposal if contested.is_some() => {
            let c = contested.unwrap_or_default();
            let candidate = message.epoch == c && !external;
            let next_proposal =
                message.epoch == epoch && matches!(message.kind, PostKind::Proposal);
            if candidate || next_proposal {
                Ok(())
            } else {
                Err(conflict(format!(
                    "the commit for epoch {c} is not acknowledged by another member yet: \
                     commit for epoch {c} or wait"
                )))
            }
        }
        PostKind::Commit(_) | PostKind::Proposal => {
            let what = if matches!(message.kind, PostKind::Proposal) {
                "proposal"
            } else {
                "commit"
            };
            if message.epoch < epoch {
                Err(conflict(format!(
                    "{what} for epoch {} but the group is at epoch {epoch}: another commit won",
                    message.epoch
                )))
            } else if message.epoch > epoch {
                Err(conflict(format!(
                    "{what} for future epoch {} (group is at epoch {epoch})",
                    message.epoch
                )))
            } else {
                Ok(())
            }
        }
        PostKind::Application => {
            if message.epoch > epoch {
                Err(conflict(format!(
                    "application message for future epoch {} (group is at epoch {epoch})",
                    message.epoch
                )))
            } else if epoch - message.epoch > grace {
                Err(conflict(format!(
                    "application message for epoch {} is too old (group is at epoch {epoch})",
                    message.epoch
                )))
            } else {
                Ok(())
            }
        }
    }
}

/// A client joining a group (added by a commit, or joining by external commit) must be
/// enrolled and not revoked; `revoked_at` is its stored revocation time, `None` if unknown.
pub(crate) fn check_joining(client: &str, revoked_at: Option<Option<i64>>) -> StoreResult<()> {
    match revoked_at {
        None => Err(StoreError::Invalid(format!(
            "added client {client} is not enrolled"
        ))),
        Some(Some(_)) => Err(StoreError::Invalid(format!(
            "added client {client} is revoked"
        ))),
        Some(None) => Ok(()),
    }
}

/// Who joins the group when a commit takes effect: its added clients, and the poster of an
/// external commit.
pub(crate) fn joining<'a>(message: &'a NewMessage, effects: &'a CommitEffects) -> Vec<&'a String> {
    let mut joining: Vec<&String> = effects.added.iter().collect();
    if effects.external {
        joining.push(&message.sender);
    }
    joining
}

/// Whether a message is a commit the DS cannot read (a PrivateMessage group's own commit):
/// it becomes a candidate for its epoch instead of taking effect.
pub(crate) fn is_opaque_commit(group: &GroupRecord, message: &NewMessage) -> bool {
    group.handshake == Handshake::Private
        && matches!(&message.kind, PostKind::Commit(c) if !c.external)
}

/// Only members post, except an external commit (which [`decide`] then checks in detail);
/// checked before replays so that a non-member learns nothing about the log.
pub(crate) fn check_poster(is_member: bool, message: &NewMessage) -> StoreResult<()> {
    if !is_member && !matches!(&message.kind, PostKind::Commit(c) if c.external) {
        return Err(StoreError::Forbidden("not a member of this group".into()));
    }
    Ok(())
}

/// The conflict for bytes already accepted at `seq`, so that a retry learns its seq.
pub(crate) fn replay(epoch: u64, seq: u64) -> StoreError {
    StoreError::Conflict {
        reason: "duplicate message: these bytes were already accepted".into(),
        current_epoch: Some(epoch),
        seq: Some(seq),
    }
}

/// A uniqueness conflict outside any group (client, KeyPackage, group id).
pub(crate) fn taken(reason: &str) -> StoreError {
    StoreError::Conflict {
        reason: reason.into(),
        current_epoch: None,
        seq: None,
    }
}

/// The error of an invite that cannot be consumed.
pub(crate) fn bad_invite() -> StoreError {
    StoreError::Invalid("invite token is unknown, used or expired".into())
}

/// The group quota: `created` groups so far, `quota` allowed including the new one.
pub(crate) fn check_group_quota(creator: &str, created: u64, quota: u64) -> StoreResult<()> {
    if created >= quota {
        return Err(StoreError::Quota(format!(
            "{creator} has created {created} groups; at most {quota}"
        )));
    }
    Ok(())
}

/// A GroupInfo may only replace the latest for the group's current epoch.
pub(crate) fn check_group_info_epoch(current: u64, epoch: u64) -> StoreResult<()> {
    if current != epoch {
        return Err(StoreError::Conflict {
            reason: format!("GroupInfo is for epoch {epoch} but the group is at epoch {current}"),
            current_epoch: Some(current),
            seq: None,
        });
    }
    Ok(())
}

/// Whether `client` is in a group's sorted member list.
pub(crate) fn has_member(group: &GroupRecord, client: &str) -> bool {
    group
        .members
        .binary_search_by(|m| m.as_str().cmp(client))
        .is_ok()
}

/// Rights follow membership: a current member, and the creator while it is one.
pub(crate) fn check_policy_rights(group: &GroupRecord, caller: &str) -> StoreResult<()> {
    if !has_member(group, caller) {
        return Err(StoreError::Forbidden(
            "only a current member may change the group's policy".into(),
        ));
    }
    if group.creator != caller && has_member(group, &group.creator) {
        return Err(StoreError::Forbidden(
            "only the group's creator may change its policy while it is a member".into(),
        ));
    }
    Ok(())
}

/// An opaque commit of a PrivateMessage group awaiting acknowledgement, as stored.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Its sequence number in the log.
    pub seq: u64,
    /// Who posted it.
    pub poster: String,
    /// The clients it made provisional members.
    pub added: Vec<String>,
    /// The clients it removes if it is taken.
    pub removed: Vec<String>,
    /// Its GroupInfo.
    pub group_info: Option<Vec<u8>>,
    /// Its Welcome.
    pub welcome: Option<Vec<u8>>,
    /// Who gets the Welcome.
    pub recipients: Vec<String>,
    /// The epoch it leads to.
    pub epoch: u64,
}

/// What an acknowledgement settles: the chosen candidate and who leaves the group.
#[derive(Debug)]
pub(crate) struct Settlement<'a> {
    /// The commit that becomes the epoch's.
    pub chosen: &'a Candidate,
    /// Other candidates' provisional members, and the chosen commit's removals.
    pub leaving: Vec<String>,
}

/// Decide an acknowledgement of the commit at `seq` by `caller` (see [`Store::ack_commit`])
/// from the group (its members including provisional ones) and the contested epoch's
/// candidates.
pub(crate) fn settle<'a>(
    group: &GroupRecord,
    candidates: &'a [Candidate],
    seq: u64,
    caller: &str,
) -> StoreResult<Settlement<'a>> {
    let provisional: Vec<&String> = candidates.iter().flat_map(|c| &c.added).collect();
    let before: Vec<&String> = group
        .members
        .iter()
        .filter(|m| !provisional.contains(m))
        .collect();
    let Some(chosen) = candidates.iter().find(|c| c.seq == seq) else {
        return Err(StoreError::Conflict {
            reason: format!("seq {seq} is not a commit of the contested epoch"),
            current_epoch: Some(group.epoch),
            seq: None,
        });
    };
    let sole = before.len() == 1 && *before[0] == chosen.poster;
    if !before.iter().any(|m| m.as_str() == caller) || (chosen.poster == caller && !sole) {
        return Err(StoreError::Forbidden(
            "a commit is acknowledged by a member from before it other than its committer".into(),
        ));
    }
    let mut leaving: Vec<String> = provisional
        .into_iter()
        .filter(|c| !chosen.added.contains(c))
        .cloned()
        .collect();
    leaving.extend(chosen.removed.iter().cloned());
    Ok(Settlement { chosen, leaving })
}

/// A byte budget for a page of log or inbox entries: entries are admitted while their
/// lengths fit, and the first one always is, so that a page is never empty.
#[derive(Debug)]
pub(crate) struct Budget {
    max: usize,
    used: usize,
    admitted: usize,
}

impl Budget {
    /// A budget of `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Budget {
            max,
            used: 0,
            admitted: 0,
        }
    }

    /// Whether an entry of `len` bytes (as the engine reports it) still fits; if it does, it
    /// is counted.
    pub(crate) fn admit(&mut self, len: i64) -> bool {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if self.admitted > 0 && self.used.saturating_add(len) > self.max {
            return false;
        }
        self.used = self.used.saturating_add(len);
        self.admitted += 1;
        true
    }
}

/// The engines store integers as signed 64-bit; a negative value read back is corrupt,
/// read as 0 rather than wrapped.
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `u64` for a signed 64-bit column, saturating (epochs and times never get there).
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
