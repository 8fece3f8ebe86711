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

use crate::client::{self, b64, ws, Api, ApiError, PostMessage, Posted};
use crate::error::{Error, Result};
use crate::home::{
    unix_now, GroupRow, GroupStatus, Home, NewHistory, OutboxChange, StoredIdentity,
};
use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody, Sender};
use cohort::group::{
    CommitOptions, CredentialValidator, ExternalCommitOptions, Group, GroupConfig, GroupOptions,
    JoinOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks, ReceivedMessage, SharedValidator,
};
use cohort::messages::{Credential, KeyPackage, LeafNode, Proposal};
use cohort_server::authority::{certificate_request, validate_credential, x509_credential};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

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

/// Something that happened, for the caller to show.
#[derive(Debug, Clone)]
pub enum Event {
    /// We joined a group (Welcome or external commit).
    Joined {
        /// Local group name.
        group: String,
        /// Epoch after joining.
        epoch: u64,
        /// Member count.
        members: usize,
        /// How: "welcome" or "external commit".
        how: &'static str,
    },
    /// An application message.
    Message {
        /// Local group name.
        group: String,
        /// Sender's client id.
        sender: String,
        /// The text (lossy UTF-8).
        text: String,
    },
    /// A commit took effect (ours or another member's).
    Commit {
        /// An external commit: the committer joined with it.
        external: bool,
        /// Local group name.
        group: String,
        /// The new epoch.
        epoch: u64,
        /// Member count.
        members: usize,
        /// Who committed.
        committer: String,
        /// Clients added.
        added: Vec<String>,
        /// Clients removed.
        removed: Vec<String>,
        /// Members whose leaves were updated (excluding the committer's own path).
        updated: Vec<String>,
    },
    /// A proposal was received.
    Proposal {
        /// Local group name.
        group: String,
        /// Who proposed.
        sender: String,
        /// What.
        description: String,
    },
    /// We are no longer a member.
    Removed {
        /// Local group name.
        group: String,
    },
    /// Something went wrong but the operation went on.
    Warning(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Joined {
                group,
                epoch,
                members,
                how,
            } => write!(
                f,
                "[{group}] joined by {how} at epoch {epoch} ({members} members)"
            ),
            Event::Message {
                group,
                sender,
                text,
            } => write!(f, "[{group}] {sender}: {text}"),
            Event::Commit {
                external,
                group,
                epoch,
                members,
                committer,
                added,
                removed,
                updated,
            } => {
                if *external {
                    write!(
                        f,
                        "[{group}] epoch {epoch}: {committer} joined by external commit"
                    )?;
                    return write!(f, " ({members} members)");
                }
                write!(f, "[{group}] epoch {epoch}: {committer} committed")?;
                if !added.is_empty() {
                    write!(f, ", added {}", added.join(", "))?;
                }
                if !removed.is_empty() {
                    write!(f, ", removed {}", removed.join(", "))?;
                }
                if !updated.is_empty() {
                    write!(f, ", updated {}", updated.join(", "))?;
                }
                if added.is_empty() && removed.is_empty() && updated.is_empty() {
                    write!(f, " a key update")?;
                }
                write!(f, " ({members} members)")
            }
            Event::Proposal {
                group,
                sender,
                description,
            } => write!(f, "[{group}] {sender} proposes {description}"),
            Event::Removed { group } => write!(f, "[{group}] you are no longer a member"),
            Event::Warning(w) => write!(f, "warning: {w}"),
        }
    }
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

enum CommitKind {
    Add(Vec<(String, KeyPackage)>),
    Remove(Vec<String>),
    Update,
    Proposals,
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

impl Member {
    /// Enroll `client_id` with the server's AS and create the home.
    pub async fn register(
        dir: &Path,
        server: &str,
        client_id: &str,
        enrollment_secret: Option<&str>,
        invite: Option<&str>,
    ) -> Result<Member> {
        let client_id = normalize_client_id(client_id);
        let mut home = Home::open(dir)?;
        home.lock().await?;
        if let Some(existing) = home.identity()? {
            return Err(Error::new(format!(
                "this home is already registered as {} (use another --home)",
                existing.client_id
            )));
        }
        let suite = Suite::new(DEFAULT_SUITE)?;
        let signer = suite.generate_signature_key_pair()?;
        let csr = certificate_request(&signer, &client_id)
            .map_err(|e| Error::new(format!("certificate request: {e}")))?;
        let api = Api::new(server, None)?;
        // Trust on first use: the root is pinned now and checked against everything later.
        let root = api.root_certificate().await?;
        let enrolled = api
            .enroll(&client_id, &csr, enrollment_secret, invite)
            .await
            .map_err(|e| match e.status() {
                Some(409) => Error::new(format!("{client_id} is already enrolled on this server")),
                _ => Error::from(e).context("enrollment failed"),
            })?;
        let chain = enrolled
            .certificate_chain
            .iter()
            .map(|c| client::field_bytes(c, "certificate"))
            .collect::<std::result::Result<Vec<_>, ApiError>>()?;
        let who = validate_credential(
            &x509_credential(&chain[..chain.len().min(1)]),
            &root,
            unix_now(),
            signer.public_key(),
        )
        .map_err(|e| Error::new(format!("the server issued an unusable certificate: {e}")))?;
        if who.client_id != client_id || enrolled.client_id != client_id {
            return Err(Error::new(format!(
                "the server certified {} instead of {client_id}",
                who.client_id
            )));
        }
        let _ = enrolled.identity;
        home.save_identity(&StoredIdentity {
            server: api.base().to_string(),
            client_id,
            suite: DEFAULT_SUITE.0,
            signature_key: Zeroizing::new(signer.to_bytes().as_bytes().to_vec()),
            chain,
            token: Zeroizing::new(enrolled.token),
            root_der: root,
        })?;
        home.unlock();
        drop(home);
        Member::open(dir, None).await
    }

    /// Open a registered home; `server` overrides (and replaces) the stored server URL.
    pub async fn open(dir: &Path, server: Option<&str>) -> Result<Member> {
        let mut home = Home::open(dir)?;
        let id = home.identity()?.ok_or_else(|| {
            Error::new(format!(
                "{} is not registered: run `cohort register CLIENT_ID` first",
                dir.display()
            ))
        })?;
        let mut base = id.server.clone();
        if let Some(s) = server {
            let s = s.trim_end_matches('/');
            if s != id.server {
                Api::new(s, None)?;
                home.lock().await?;
                home.set_server(s)?;
                home.unlock();
                base = s.to_string();
            }
        }
        let suite = Suite::new(CipherSuite(id.suite))?;
        let signer = suite.signature_key_from_bytes(&id.signature_key)?;
        let root = Arc::new(id.root_der.clone());
        let api = Api::new(&base, Some(id.token.to_string()))?;
        Ok(Member {
            home,
            api,
            client_id: id.client_id.clone(),
            suite,
            signer,
            // The leaf alone: peers hold the root already (RFC 9420 §5.3 lets a chain omit
            // certificates peers already possess), and every leaf of every tree carries it.
            credential: x509_credential(&id.chain[..id.chain.len().min(1)]),
            validator: SharedValidator::new(AsValidator { root: root.clone() }),
            root,
            cache: HashMap::new(),
            names: HashMap::new(),
            events: Vec::new(),
            resend: Vec::new(),
            stats: Stats::default(),
            commit_gate: None,
        })
    }

    /// See [`Home::relax_durability`] (benchmarks only).
    pub fn relax_durability(&mut self) -> Result<()> {
        self.home.relax_durability()
    }

    /// Our client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn config(&self) -> GroupConfig {
        GroupConfig {
            credential_validator: Some(self.validator.clone()),
            ..GroupConfig::default()
        }
    }

    fn warn(&mut self, w: String) {
        self.events.push(Event::Warning(w));
    }

    async fn begin(&mut self) -> Result<()> {
        if self.home.lock().await? {
            self.cache.clear();
        }
        Ok(())
    }

    fn end(&mut self) {
        self.home.unlock();
    }

    fn gid_of(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self
            .home
            .group_by_name(name)?
            .ok_or_else(|| Error::new(format!("no group named {name} (see `cohort group list`)")))?
            .group_id)
    }

    /// Take a group out of the cache (loading it from the home). Put it back with
    /// [`Member::put`] once it is consistent with the store; on error it is just dropped
    /// and reloaded next time.
    fn take(&mut self, gid: &[u8]) -> Result<Loaded> {
        if let Some(l) = self.cache.remove(gid) {
            return Ok(l);
        }
        let row = self
            .home
            .group_by_id(gid)?
            .ok_or_else(|| Error::new("unknown group"))?;
        let group = Group::from_bytes(&row.state, Some(self.validator.clone()))
            .map_err(|e| Error::new(format!("group {}: stored state unusable: {e}", row.name)))?;
        Ok(Loaded {
            name: row.name,
            group,
            cursor: row.cursor,
            status: row.status,
            joined_epoch: row.joined_epoch,
        })
    }

    fn put(&mut self, gid: &[u8], l: Loaded) {
        self.cache.insert(gid.to_vec(), l);
    }

    fn save(
        &mut self,
        gid: &[u8],
        l: &Loaded,
        history: &[NewHistory],
        outbox: OutboxChange<'_>,
    ) -> Result<Option<i64>> {
        let state = l.group.to_bytes();
        let home = &mut self.home;
        // A durable commit waits for the disk: let the runtime move other tasks elsewhere.
        blocking(|| home.update_group(gid, &state, l.cursor, l.status, history, outbox))
    }

    /// The client id a leaf's credential certifies (cached by signature key).
    fn leaf_name(&mut self, leaf: &LeafNode) -> String {
        if let Some(n) = self.names.get(leaf.signature_key.as_slice()) {
            return n.clone();
        }
        let name = match validate_credential(
            &leaf.credential,
            &self.root,
            unix_now(),
            &leaf.signature_key,
        ) {
            Ok(who) => who.client_id,
            Err(_) => "(unverified)".to_string(),
        };
        self.names
            .insert(leaf.signature_key.as_slice().to_vec(), name.clone());
        name
    }

    fn index_name(&mut self, group: &Group, index: u32) -> String {
        match group.members().into_iter().find(|m| m.index == index) {
            Some(m) => self.leaf_name(&m.leaf),
            None => format!("leaf {index}"),
        }
    }

    fn member_ids(&mut self, group: &Group) -> Vec<(u32, String)> {
        group
            .members()
            .into_iter()
            .map(|m| (m.index, self.leaf_name(&m.leaf)))
            .collect()
    }

    // ----- identity and KeyPackages -------------------------------------------------------

    /// Generate `count` KeyPackages (plus a last-resort one), keep their secrets, publish
    /// them. Returns `(published, available on the server)`.
    pub async fn publish_key_packages(
        &mut self,
        count: u32,
        last_resort: bool,
    ) -> Result<(u64, u64)> {
        self.begin().await?;
        let r = self.publish_inner(count, last_resort).await;
        self.end();
        r
    }

    async fn publish_inner(&mut self, count: u32, last_resort: bool) -> Result<(u64, u64)> {
        let mut secrets = Vec::new();
        let mut wire = Vec::new();
        for i in 0..count + last_resort as u32 {
            let options = KeyPackageOptions {
                last_resort: i == count,
                ..KeyPackageOptions::default()
            };
            let kp = KeyPackageSecrets::generate(
                &self.suite,
                self.credential.clone(),
                &self.signer,
                &options,
            )?;
            wire.push(
                MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp.key_package.clone())))
                    .to_bytes(),
            );
            secrets.push((
                kp.reference(&self.suite),
                kp.to_bytes(),
                options.last_resort,
            ));
        }
        // Secrets first: a published package whose secrets we lost would be a dead Welcome.
        self.home.add_key_packages(&secrets)?;
        let accepted = self.api.publish_key_packages(&wire).await?;
        let (available, _) = self.api.key_package_counts(self.suite.id().0).await?;
        Ok((accepted, available))
    }

    // ----- groups ---------------------------------------------------------------------------

    /// Create a group; its name is also its id on the server.
    pub async fn create_group(&mut self, name: &str, allow_external_join: bool) -> Result<()> {
        if !valid_group_name(name) {
            return Err(Error::new(
                "group names are 1-64 characters of A-Z a-z 0-9 . _ -",
            ));
        }
        self.begin().await?;
        let r = self.create_inner(name, allow_external_join).await;
        self.end();
        r
    }

    async fn create_inner(&mut self, name: &str, allow_external_join: bool) -> Result<()> {
        if self.home.name_taken(name)? {
            return Err(Error::new(format!("you already have a group named {name}")));
        }
        let gid = name.as_bytes().to_vec();
        let group = Group::create(
            self.suite.id(),
            gid.clone(),
            self.credential.clone(),
            self.signer.clone(),
            GroupOptions {
                config: self.config(),
                ..GroupOptions::default()
            },
        )?;
        let gi = group.group_info()?.to_bytes();
        self.api
            .create_group(&gid, allow_external_join, &gi)
            .await
            .map_err(|e| match e.status() {
                Some(409) => {
                    Error::new(format!("a group named {name} already exists on the server"))
                }
                _ => e.into(),
            })?;
        self.home.insert_group(
            &GroupRow {
                name: name.to_string(),
                group_id: gid.clone(),
                state: group.to_bytes(),
                cursor: 0,
                status: GroupStatus::Active,
                joined_epoch: 0,
            },
            None,
        )?;
        self.put(
            &gid,
            Loaded {
                name: name.to_string(),
                group,
                cursor: 0,
                status: GroupStatus::Active,
                joined_epoch: 0,
            },
        );
        Ok(())
    }

    /// Claim KeyPackages of `ids` and add them in one commit.
    pub async fn add_members(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        self.begin().await?;
        let r = self.add_inner(name, ids).await;
        self.end();
        r
    }

    async fn add_inner(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        let gid = self.gid_of(name)?;
        let mut ids: Vec<String> = ids.iter().map(|i| normalize_client_id(i)).collect();
        ids.sort();
        ids.dedup();
        if ids.contains(&self.client_id) {
            return Err(Error::new("you are already a member"));
        }
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        let present: Vec<String> = self
            .member_ids(&l.group)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        self.put(&gid, l);
        let wanted: Vec<String> = ids.into_iter().filter(|i| !present.contains(i)).collect();
        if wanted.is_empty() {
            return Err(Error::new("everyone listed is already a member"));
        }
        let claimed = self
            .api
            .claim_key_packages(self.suite.id().0, &wanted)
            .await?;
        let mut list = Vec::new();
        let mut missing = Vec::new();
        for c in claimed {
            if !wanted.contains(&c.client_id) {
                continue;
            }
            let Some(text) = c.key_package else {
                missing.push(c.client_id);
                continue;
            };
            let kp = decode_key_package(&client::field_bytes(&text, "key_package")?)?;
            if kp.cipher_suite != self.suite.id() {
                return Err(Error::new(format!(
                    "the KeyPackage of {} is for another cipher suite",
                    c.client_id
                )));
            }
            // The DS could hand out anyone's package: it must certify the client we asked for.
            let who = validate_credential(
                &kp.leaf_node.credential,
                &self.root,
                unix_now(),
                &kp.leaf_node.signature_key,
            )
            .map_err(|e| {
                Error::new(format!(
                    "the KeyPackage of {} has a bad credential: {e}",
                    c.client_id
                ))
            })?;
            if who.client_id != c.client_id {
                return Err(Error::new(format!(
                    "the server handed out a KeyPackage of {} for {}",
                    who.client_id, c.client_id
                )));
            }
            list.push((c.client_id, kp));
        }
        if list.is_empty() {
            return Err(Error::new(format!(
                "no KeyPackage available for {} (they must run `cohort keypackages publish`)",
                missing.join(", ")
            )));
        }
        if !missing.is_empty() {
            self.warn(format!(
                "no KeyPackage available for {}: not added",
                missing.join(", ")
            ));
        }
        let mut l = self.take(&gid)?;
        let r = self.commit_loop(&gid, &mut l, CommitKind::Add(list)).await;
        if r.is_ok() {
            self.put(&gid, l);
        }
        r?.ok_or_else(|| Error::new("everyone listed is already a member"))
    }

    /// Remove `ids` in one commit.
    pub async fn remove_members(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        self.begin().await?;
        let r = self.remove_inner(name, ids).await;
        self.end();
        r
    }

    async fn remove_inner(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        let gid = self.gid_of(name)?;
        let ids: Vec<String> = ids.iter().map(|i| normalize_client_id(i)).collect();
        if ids.contains(&self.client_id) {
            return Err(Error::new("to remove yourself, use `cohort group leave`"));
        }
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        let present: Vec<String> = self
            .member_ids(&l.group)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        if let Some(absent) = ids.iter().find(|i| !present.contains(i)) {
            self.put(&gid, l);
            return Err(Error::new(format!("{absent} is not a member of {name}")));
        }
        let r = self
            .commit_loop(&gid, &mut l, CommitKind::Remove(ids))
            .await;
        if r.is_ok() {
            self.put(&gid, l);
        }
        r?.ok_or_else(|| Error::new("nobody left to remove"))
    }

    /// Commit a fresh path (key update, post-compromise security).
    pub async fn update(&mut self, name: &str) -> Result<CommitDone> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let mut l = self.take(&gid)?;
            let r = self.commit_loop(&gid, &mut l, CommitKind::Update).await;
            if r.is_ok() {
                self.put(&gid, l);
            }
            r?.ok_or_else(|| Error::new("nothing to commit"))
        }
        .await;
        self.end();
        r
    }

    /// Commit the proposals received in `name`, if any.
    pub async fn commit_proposals(&mut self, name: &str) -> Result<Option<CommitDone>> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let mut l = self.take(&gid)?;
            let r = self.commit_loop(&gid, &mut l, CommitKind::Proposals).await;
            if r.is_ok() {
                self.put(&gid, l);
            }
            r
        }
        .await;
        self.end();
        r
    }

    /// Leave: propose our own removal (a Remove proposal, RFC 9420 §12.1.3; a commit that
    /// removes its own committer is invalid, §12.2); the next member to commit removes us.
    pub async fn leave(&mut self, name: &str) -> Result<()> {
        self.begin().await?;
        let r = self.leave_inner(name).await;
        self.end();
        r
    }

    async fn leave_inner(&mut self, name: &str) -> Result<()> {
        let gid = self.gid_of(name)?;
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        if l.status != GroupStatus::Active {
            self.put(&gid, l);
            return Err(Error::new(format!(
                "you are not an active member of {name}"
            )));
        }
        if l.group.member_count() == 1 {
            l.status = GroupStatus::Removed;
            self.save(&gid, &l, &[], OutboxChange::None)?;
            self.put(&gid, l);
            return Ok(());
        }
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let own = l.group.own_leaf_index();
            let msg = l.group.propose_remove(own)?.to_bytes();
            self.save(&gid, &l, &[], OutboxChange::None)?;
            let post = PostMessage {
                message: b64(&msg),
                ..PostMessage::default()
            };
            match self.api.post_message(&gid, &post).await {
                Ok(_) => {}
                Err(e) if e.duplicate_seq().is_some() => {}
                Err(e) if e.is_conflict() => {
                    self.fetch_log(&gid, &mut l).await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            l.status = GroupStatus::Leaving;
            self.save(&gid, &l, &[], OutboxChange::None)?;
            self.put(&gid, l);
            return Ok(());
        }
        Err(Error::new("the group kept changing epochs; try again"))
    }

    /// Join a group by external commit (§12.4.3.2) from the GroupInfo the server keeps.
    pub async fn join_external(&mut self, name: &str, group_id: &str) -> Result<CommitDone> {
        if !valid_group_name(name) {
            return Err(Error::new(
                "group names are 1-64 characters of A-Z a-z 0-9 . _ -",
            ));
        }
        self.begin().await?;
        let r = self.join_external_inner(name, group_id).await;
        self.end();
        r
    }

    async fn join_external_inner(&mut self, name: &str, group_id: &str) -> Result<CommitDone> {
        if self.home.name_taken(name)? {
            return Err(Error::new(format!("you already have a group named {name}")));
        }
        let gid = group_id.as_bytes().to_vec();
        if self.home.group_by_id(&gid)?.is_some() {
            return Err(Error::new(format!("you already are in group {group_id}")));
        }
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            let (_, gi) = self
                .api
                .group_info(&gid)
                .await
                .map_err(|e| match e.status() {
                    Some(403) => {
                        Error::new(format!("group {group_id} does not allow external joins"))
                    }
                    Some(404) => Error::new(format!("no group {group_id} on the server")),
                    _ => e.into(),
                })?;
            let gi = decode_mls(&gi)?;
            let (group, commit) = Group::join_external(
                &gi,
                self.credential.clone(),
                self.signer.clone(),
                &NoPsks,
                ExternalCommitOptions {
                    now: Some(unix_now() as u64),
                    config: self.config(),
                    ..ExternalCommitOptions::default()
                },
            )?;
            let post = PostMessage {
                message: b64(&commit.to_bytes()),
                group_info: Some(b64(&group.group_info()?.to_bytes())),
                ..PostMessage::default()
            };
            let seq = match self.api.post_message(&gid, &post).await {
                Ok(p) => p.seq,
                Err(e) if e.duplicate_seq().is_some() => e.duplicate_seq().unwrap_or(0),
                Err(e) if e.is_conflict() => {
                    self.stats.conflicts += 1;
                    self.jitter(attempt).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let epoch = group.epoch();
            let members = group.member_count();
            self.home.insert_group(
                &GroupRow {
                    name: name.to_string(),
                    group_id: gid.clone(),
                    state: group.to_bytes(),
                    cursor: seq,
                    status: GroupStatus::Active,
                    joined_epoch: epoch,
                },
                None,
            )?;
            self.put(
                &gid,
                Loaded {
                    name: name.to_string(),
                    group,
                    cursor: seq,
                    status: GroupStatus::Active,
                    joined_epoch: epoch,
                },
            );
            self.stats.commits += 1;
            self.events.push(Event::Joined {
                group: name.to_string(),
                epoch,
                members,
                how: "external commit",
            });
            return Ok(CommitDone {
                epoch,
                conflicts: attempt,
                members,
            });
        }
        Err(Error::new("gave up: the group kept changing epochs"))
    }

    async fn jitter(&mut self, attempt: u32) {
        let r = self
            .suite
            .random_bytes(1)
            .ok()
            .and_then(|b| b.first().copied())
            .unwrap_or(0) as u64;
        let ms = r % (5 + 5 * u64::from(attempt.min(10)));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Build, post and (on conflict) rebuild a commit until the server accepts one.
    /// `Ok(None)`: nothing to commit.
    async fn commit_loop(
        &mut self,
        gid: &[u8],
        l: &mut Loaded,
        kind: CommitKind,
    ) -> Result<Option<CommitDone>> {
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            self.fetch_log(gid, l).await?;
            if l.status != GroupStatus::Active {
                return Err(Error::new(format!(
                    "you are not an active member of {}",
                    l.name
                )));
            }
            if l.group.has_pending_commit() {
                // The log shows everything up to now: had the server taken it, the echo
                // would have merged it. It was never accepted.
                l.group.discard_pending_commit();
            }
            let members = self.member_ids(&l.group);
            let find = |id: &str| members.iter().find(|(_, n)| n == id).map(|(i, _)| *i);
            let mut options = CommitOptions {
                include_received: true,
                ..CommitOptions::default()
            };
            let mut added = Vec::new();
            let mut removed = Vec::new();
            match &kind {
                CommitKind::Add(list) => {
                    for (id, kp) in list {
                        if find(id).is_none() {
                            options.add.push(kp.clone());
                            added.push(id.clone());
                        }
                    }
                    if added.is_empty() {
                        return Ok(None);
                    }
                }
                CommitKind::Remove(ids) => {
                    for id in ids {
                        if let Some(i) = find(id) {
                            options.remove.push(i);
                            removed.push(id.clone());
                        }
                    }
                    if removed.is_empty() {
                        return Ok(None);
                    }
                }
                CommitKind::Update => options.force_path = true,
                CommitKind::Proposals => {}
            }
            let own = l.group.own_leaf_index();
            let mut covered = 0;
            let pending: Vec<Proposal> = l
                .group
                .pending_proposals()
                .iter()
                .map(|p| p.proposal.clone())
                .collect();
            for p in pending {
                match p {
                    Proposal::Remove(r) if r.removed != own => {
                        covered += 1;
                        let id = self.index_name(&l.group, r.removed);
                        if !removed.contains(&id) {
                            removed.push(id);
                        }
                    }
                    Proposal::Remove(_) => {}
                    Proposal::Add(a) => {
                        covered += 1;
                        let id = self.leaf_name(&a.key_package.leaf_node);
                        if !added.contains(&id) {
                            added.push(id);
                        }
                    }
                    _ => covered += 1,
                }
            }
            if matches!(kind, CommitKind::Proposals) && covered == 0 {
                return Ok(None);
            }
            let out = l.group.commit(options, &NoPsks)?;
            self.save(gid, l, &[], OutboxChange::None)?;
            match self.commit_gate.take() {
                None => {}
                Some(CommitGate::File(gate)) => {
                    use std::io::Write;
                    println!("commit ready for epoch {}", l.group.epoch());
                    let _ = std::io::stdout().flush();
                    let start = std::time::Instant::now();
                    while !gate.exists() && start.elapsed() < Duration::from_secs(120) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                Some(CommitGate::Barrier(b)) => {
                    b.wait().await;
                }
            }
            let post = PostMessage {
                message: b64(&out.commit.to_bytes()),
                welcome_recipients: if out.welcome.is_some() {
                    added.clone()
                } else {
                    Vec::new()
                },
                welcome: out.welcome.as_ref().map(|w| b64(&w.to_bytes())),
                group_info: Some(b64(&out.group_info.to_bytes())),
                added: added.clone(),
                removed: removed.clone(),
            };
            match self.api.post_message(gid, &post).await {
                Ok(_) => {}
                Err(e) if e.duplicate_seq().is_some() => {}
                Err(e) if e.is_conflict() => {
                    l.group.discard_pending_commit();
                    self.save(gid, l, &[], OutboxChange::None)?;
                    self.stats.conflicts += 1;
                    self.jitter(attempt).await;
                    continue;
                }
                Err(e) => {
                    if e.status().is_some() {
                        // Refused outright: it is not in the log.
                        l.group.discard_pending_commit();
                        self.save(gid, l, &[], OutboxChange::None)?;
                    }
                    return Err(Error::from(e).context("commit refused"));
                }
            };
            l.group.confirm_pending_commit()?;
            self.save(gid, l, &[], OutboxChange::None)?;
            self.stats.commits += 1;
            let epoch = l.group.epoch();
            let count = l.group.member_count();
            self.events.push(Event::Commit {
                external: false,
                group: l.name.clone(),
                epoch,
                members: count,
                committer: self.client_id.clone(),
                added,
                removed,
                updated: Vec::new(),
            });
            return Ok(Some(CommitDone {
                epoch,
                conflicts: attempt,
                members: count,
            }));
        }
        Err(Error::new(format!(
            "gave up after {MAX_COMMIT_ATTEMPTS} conflicting commits"
        )))
    }

    // ----- messages ---------------------------------------------------------------------------

    /// Send a text message; `sync_first` fetches the log before (to be in the current epoch).
    pub async fn send(&mut self, name: &str, text: &str, sync_first: bool) -> Result<Posted> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let mut l = self.take(&gid)?;
            if l.status != GroupStatus::Active {
                let name = l.name.clone();
                self.put(&gid, l);
                return Err(Error::new(format!(
                    "you are not an active member of {name}"
                )));
            }
            if sync_first {
                let caught_up = match self.flush_outbox(&gid).await {
                    Ok(()) => self.fetch_log(&gid, &mut l).await,
                    Err(e) => Err(e),
                };
                match caught_up {
                    Ok(()) => {}
                    // Offline: encrypt anyway; the message waits in the outbox.
                    Err(e) if e.is_offline() => {}
                    Err(e) => return Err(e),
                }
            }
            if !l.group.pending_proposals().is_empty() {
                // §12.4: proposals must be committed before sending application data.
                self.commit_loop(&gid, &mut l, CommitKind::Proposals)
                    .await?;
            }
            let p = self.send_loaded(&gid, &mut l, text.as_bytes()).await?;
            self.resend_deferred(&gid, &mut l).await?;
            self.put(&gid, l);
            Ok(p)
        }
        .await;
        self.end();
        r
    }

    async fn send_loaded(&mut self, gid: &[u8], l: &mut Loaded, body: &[u8]) -> Result<Posted> {
        for _ in 0..5 {
            if !l.group.pending_proposals().is_empty() {
                self.commit_loop(gid, l, CommitKind::Proposals).await?;
            }
            let msg = l.group.send_application(body, b"")?.to_bytes();
            let epoch = l.group.epoch();
            // The consumed key and the ciphertext are stored together before posting.
            let id = self
                .save(gid, l, &[], OutboxChange::Add(&msg, body, epoch))?
                .unwrap_or_default();
            let post = PostMessage {
                message: b64(&msg),
                ..PostMessage::default()
            };
            let posted = match self.api.post_message(gid, &post).await {
                Ok(p) => p,
                Err(e) if e.duplicate_seq().is_some() => Posted {
                    seq: e.duplicate_seq().unwrap_or(0),
                    epoch,
                },
                Err(e) if e.is_conflict() => {
                    // Not stored (the epoch is too old or new for the server): catch up
                    // and encrypt again.
                    self.home.drop_outbox(id)?;
                    self.fetch_log(gid, l).await?;
                    continue;
                }
                Err(e) => {
                    if e.status().is_some() {
                        self.home.drop_outbox(id)?;
                        return Err(Error::from(e).context("message refused"));
                    }
                    return Err(Error::from(e).context(
                        "message not acknowledged (kept in the outbox: the next send or sync retries it)",
                    ));
                }
            };
            let h = NewHistory {
                seq: posted.seq,
                epoch,
                sender: self.client_id.clone(),
                body: body.to_vec(),
                outgoing: true,
            };
            blocking(|| self.home.record_sent(gid, &h, id))?;
            self.stats.sent += 1;
            return Ok(posted);
        }
        Err(Error::new(
            "the group kept changing epochs; message not sent",
        ))
    }

    /// Post what the outbox holds (same bytes: the server stores a repeat once).
    async fn flush_outbox(&mut self, gid: &[u8]) -> Result<()> {
        for entry in self.home.outbox(gid)? {
            let post = PostMessage {
                message: b64(&entry.message),
                ..PostMessage::default()
            };
            let seq = match self.api.post_message(gid, &post).await {
                Ok(p) => p.seq,
                Err(e) if e.duplicate_seq().is_some() => e.duplicate_seq().unwrap_or(0),
                Err(e) if e.is_conflict() || e.status().is_some() => {
                    // Never stored: encrypt it again once we are in the current epoch.
                    self.home.drop_outbox(entry.id)?;
                    self.resend.push(entry.body);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let h = NewHistory {
                seq,
                epoch: entry.epoch,
                sender: self.client_id.clone(),
                body: entry.body,
                outgoing: true,
            };
            blocking(|| self.home.record_sent(gid, &h, entry.id))?;
            self.stats.sent += 1;
        }
        Ok(())
    }

    async fn resend_deferred(&mut self, gid: &[u8], l: &mut Loaded) -> Result<()> {
        for body in std::mem::take(&mut self.resend) {
            if l.status == GroupStatus::Active {
                self.send_loaded(gid, l, &body).await?;
            }
        }
        Ok(())
    }

    // ----- receiving --------------------------------------------------------------------------

    /// Fetch the log after the group's cursor and process it, persisting per page.
    async fn fetch_log(&mut self, gid: &[u8], l: &mut Loaded) -> Result<()> {
        loop {
            if l.status == GroupStatus::Removed {
                return Ok(());
            }
            let page = match self.api.fetch_messages(gid, l.cursor, PAGE).await {
                Ok(p) => p,
                Err(e) if e.status() == Some(403) => {
                    l.status = GroupStatus::Removed;
                    self.save(gid, l, &[], OutboxChange::None)?;
                    self.events.push(Event::Removed {
                        group: l.name.clone(),
                    });
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(first) = page.first_seq {
                if first > l.cursor.saturating_add(1) && l.cursor > 0 {
                    self.warn(format!(
                        "[{}] {} messages expired on the server before we fetched them",
                        l.name,
                        first - l.cursor - 1
                    ));
                }
            }
            let n = page.messages.len();
            let mut history = Vec::new();
            let mut failure = None;
            let start_cursor = l.cursor;
            for entry in page.messages {
                if entry.seq <= l.cursor {
                    continue; // not after our cursor: a confused or hostile reply
                }
                let Some(bytes) = client::unb64(&entry.message) else {
                    self.warn(format!(
                        "[{}] seq {}: message is not base64",
                        l.name, entry.seq
                    ));
                    l.cursor = entry.seq;
                    continue;
                };
                match self.apply_entry(
                    l,
                    entry.seq,
                    entry.epoch,
                    &entry.content_type,
                    &entry.sender,
                    &bytes,
                ) {
                    Ok(h) => {
                        history.extend(h);
                        l.cursor = entry.seq;
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
                if l.status == GroupStatus::Removed {
                    break;
                }
            }
            self.save(gid, l, &history, OutboxChange::None)?;
            if let Some(e) = failure {
                return Err(e);
            }
            if (n as u32) < PAGE {
                return Ok(());
            }
            if l.cursor == start_cursor {
                return Err(Error::new(format!(
                    "[{}] the server's log does not advance past seq {}",
                    l.name, l.cursor
                )));
            }
        }
    }

    /// Process one log entry. Application messages go to the history; a commit we cannot
    /// process is an error (the group cannot go on without it).
    fn apply_entry(
        &mut self,
        l: &mut Loaded,
        seq: u64,
        epoch: u64,
        content_type: &str,
        sender: &str,
        bytes: &[u8],
    ) -> Result<Option<NewHistory>> {
        let mine = sender == self.client_id;
        let is_app = content_type == "application";
        if l.status == GroupStatus::Removed
            || (is_app && mine)
            || (is_app && epoch < l.joined_epoch)
            || (!is_app && epoch < l.group.epoch())
        {
            return Ok(None);
        }
        let msg = match decode_mls(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.warn(format!("[{}] seq {seq} from {sender}: {e}", l.name));
                return Ok(None);
            }
        };
        let old_members = l.group.members();
        match l.group.process_message(msg, &NoPsks) {
            Ok(ReceivedMessage::Application {
                sender: leaf,
                data,
                epoch,
                ..
            }) => {
                let name = match old_members.iter().find(|m| m.index == leaf) {
                    Some(m) => self.leaf_name(&m.leaf),
                    None => sender.to_string(),
                };
                self.stats.received += 1;
                self.events.push(Event::Message {
                    group: l.name.clone(),
                    sender: name.clone(),
                    text: String::from_utf8_lossy(&data).into_owned(),
                });
                Ok(Some(NewHistory {
                    seq,
                    epoch,
                    sender: name,
                    body: data,
                    outgoing: false,
                }))
            }
            Ok(ReceivedMessage::Proposal(p)) => {
                let who = match p.sender {
                    Sender::Member(i) => self.index_name(&l.group, i),
                    _ => sender.to_string(),
                };
                let description = match &p.proposal {
                    Proposal::Remove(r) if p.sender == Sender::Member(r.removed) => {
                        "to leave".to_string()
                    }
                    Proposal::Remove(r) => {
                        format!("removing {}", self.index_name(&l.group, r.removed))
                    }
                    Proposal::Add(a) => {
                        format!("adding {}", self.leaf_name(&a.key_package.leaf_node))
                    }
                    Proposal::Update(_) => "a key update".to_string(),
                    other => format!("{:?}", other.proposal_type()),
                };
                if !mine {
                    self.events.push(Event::Proposal {
                        group: l.name.clone(),
                        sender: who,
                        description,
                    });
                }
                Ok(None)
            }
            Ok(ReceivedMessage::Commit(staged)) => {
                let s = &staged.summary;
                let mut committer = match s.sender {
                    Sender::Member(i) => match old_members.iter().find(|m| m.index == i) {
                        Some(m) => self.leaf_name(&m.leaf),
                        None => sender.to_string(),
                    },
                    _ => sender.to_string(),
                };
                let external = s.sender == Sender::NewMemberCommit;
                let added_leaves: Vec<LeafNode> =
                    s.added.iter().map(|(_, leaf)| leaf.clone()).collect();
                let removed_leaves: Vec<LeafNode> =
                    s.removed.iter().map(|(_, leaf)| leaf.clone()).collect();
                let added: Vec<String> = added_leaves.iter().map(|x| self.leaf_name(x)).collect();
                let removed: Vec<String> =
                    removed_leaves.iter().map(|x| self.leaf_name(x)).collect();
                let committer_leaf = match s.sender {
                    Sender::Member(i) => Some(i),
                    _ => None,
                };
                let mut updated_idx: Vec<u32> = s
                    .updated
                    .iter()
                    .copied()
                    .filter(|i| Some(*i) != committer_leaf && !s.added.iter().any(|(a, _)| a == i))
                    .collect();
                let removes_us = s.removes_us;
                let mut added = added;
                l.group.merge_staged_commit(*staged)?;
                if external {
                    // The joiner's leaf is the one whose key was not in the group before.
                    for m in l.group.members() {
                        if !old_members
                            .iter()
                            .any(|o| o.leaf.signature_key == m.leaf.signature_key)
                        {
                            committer = self.leaf_name(&m.leaf);
                            updated_idx.retain(|i| *i != m.index);
                        }
                    }
                }
                let updated = updated_idx
                    .into_iter()
                    .map(|i| self.index_name(&l.group, i))
                    .collect();
                if external {
                    added.retain(|a| *a != committer);
                }
                self.events.push(Event::Commit {
                    external,
                    group: l.name.clone(),
                    epoch: l.group.epoch(),
                    members: l.group.member_count(),
                    committer,
                    added,
                    removed,
                    updated,
                });
                if removes_us {
                    l.status = GroupStatus::Removed;
                    self.events.push(Event::Removed {
                        group: l.name.clone(),
                    });
                }
                Ok(None)
            }
            Ok(_) => {
                self.warn(format!(
                    "[{}] seq {seq} from {sender}: a kind of message this client does not handle",
                    l.name
                ));
                Ok(None)
            }
            Err(e) if content_type == "commit" => Err(Error::new(format!(
                "[{}] cannot process the commit at seq {seq} from {sender} (epoch {epoch}): {e}",
                l.name
            ))),
            Err(e) => {
                self.warn(format!(
                    "[{}] dropped {content_type} seq {seq} from {sender}: {e}",
                    l.name
                ));
                Ok(None)
            }
        }
    }

    /// Join every group a Welcome in our inbox invites us to. Returns the new group ids.
    async fn fetch_welcomes(&mut self) -> Result<Vec<Vec<u8>>> {
        let mut joined = Vec::new();
        loop {
            let cursor = self.home.welcome_cursor()?;
            let list = self.api.welcomes(cursor).await?;
            if list.is_empty() {
                return Ok(joined);
            }
            let mut upto = cursor;
            for w in list {
                upto = upto.max(w.id);
                match self.join_welcome(&w).await {
                    Ok(Some(gid)) => joined.push(gid),
                    Ok(None) => {}
                    Err(e) => self.warn(format!("could not join from a Welcome: {e}")),
                }
            }
            if upto == cursor {
                return Ok(joined); // nothing after the cursor: do not ask again
            }
            self.home.set_welcome_cursor(upto)?;
            self.api.ack_welcomes(upto).await?;
        }
    }

    async fn join_welcome(&mut self, w: &client::InboxEntry) -> Result<Option<Vec<u8>>> {
        let gid = client::field_bytes(&w.group_id, "group_id")?;
        if self.home.group_by_id(&gid)?.is_some() {
            return Ok(None);
        }
        let msg = decode_mls(&client::field_bytes(&w.welcome, "welcome")?)?;
        let MLSMessageBody::Welcome(welcome) = &msg.body else {
            return Err(Error::new("inbox entry is not a Welcome"));
        };
        let mut found = None;
        for s in &welcome.secrets {
            if let Some(k) = self.home.key_package(s.new_member.as_slice())? {
                found = Some((s.new_member.as_slice().to_vec(), k));
                break;
            }
        }
        let Some((reference, (blob, last_resort))) = found else {
            return Err(Error::new("it is for none of our KeyPackages"));
        };
        let kp = KeyPackageSecrets::from_bytes(&blob)?;
        let group = Group::join(
            &msg,
            &kp,
            &NoPsks,
            JoinOptions {
                now: Some(unix_now() as u64),
                config: self.config(),
                ..JoinOptions::default()
            },
        )?;
        let mut name = match std::str::from_utf8(&gid) {
            Ok(s) if valid_group_name(s) => s.to_string(),
            _ => format!("g-{}", &b64(&gid).chars().take(12).collect::<String>()),
        };
        let base = name.clone();
        let mut n = 2;
        while self.home.name_taken(&name)? {
            name = format!("{base}-{n}");
            n += 1;
        }
        let epoch = group.epoch();
        let members = group.member_count();
        self.home.insert_group(
            &GroupRow {
                name: name.clone(),
                group_id: gid.clone(),
                state: group.to_bytes(),
                cursor: 0,
                status: GroupStatus::Active,
                joined_epoch: epoch,
            },
            (!last_resort).then_some(reference.as_slice()),
        )?;
        self.put(
            &gid,
            Loaded {
                name: name.clone(),
                group,
                cursor: 0,
                status: GroupStatus::Active,
                joined_epoch: epoch,
            },
        );
        self.events.push(Event::Joined {
            group: name,
            epoch,
            members,
            how: "welcome",
        });
        Ok(Some(gid))
    }

    /// Join from Welcomes, fetch every group's log, post the outbox, and (with
    /// `commit_proposals`) commit proposals received, such as a member's request to leave.
    pub async fn sync(&mut self, commit_proposals: bool) -> Result<()> {
        self.begin().await?;
        let r = self.sync_inner(commit_proposals).await;
        self.end();
        r
    }

    async fn sync_inner(&mut self, commit_proposals: bool) -> Result<()> {
        self.fetch_welcomes().await?;
        let mut first_error = None;
        for row in self.home.groups()? {
            if row.status == GroupStatus::Removed {
                continue;
            }
            let gid = row.group_id.clone();
            if let Err(e) = self.sync_group(&gid, commit_proposals).await {
                self.warn(format!("[{}] {e}", row.name));
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn sync_group(&mut self, gid: &[u8], commit_proposals: bool) -> Result<()> {
        let mut l = self.take(gid)?;
        if l.status == GroupStatus::Active {
            self.flush_outbox(gid).await?;
        }
        self.fetch_log(gid, &mut l).await?;
        if l.status == GroupStatus::Active {
            self.resend_deferred(gid, &mut l).await?;
            if commit_proposals && !l.group.pending_proposals().is_empty() {
                self.commit_loop(gid, &mut l, CommitKind::Proposals).await?;
            }
        }
        self.put(gid, l);
        Ok(())
    }

    /// Sync one group by name.
    pub async fn sync_one(&mut self, name: &str) -> Result<()> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            self.sync_group(&gid, false).await
        }
        .await;
        self.end();
        r
    }

    /// Handle pushes from the WebSocket. A message that is the next one in its group's log
    /// is processed inline; consecutive ones are stored in one transaction per group (so a
    /// busy receiver writes its state once per batch, not once per message). A gap, a
    /// Welcome or a reconnection falls back to fetching by cursor.
    pub async fn handle_pushes(
        &mut self,
        events: Vec<ws::PushEvent>,
        commit_proposals: bool,
    ) -> Result<()> {
        self.begin().await?;
        let mut dirty: Vec<(Vec<u8>, Vec<NewHistory>)> = Vec::new();
        let mut touched: Vec<Vec<u8>> = Vec::new();
        let mut result = Ok(());
        for event in events {
            if let Err(e) = self
                .handle_one_push(event, &mut dirty, &mut touched, commit_proposals)
                .await
            {
                result = Err(e);
                break;
            }
        }
        if let Err(e) = self.flush_dirty(&mut dirty) {
            result = Err(e);
        }
        if result.is_ok() && commit_proposals {
            for gid in touched {
                if let Err(e) = self.commit_received(&gid).await {
                    result = Err(e);
                    break;
                }
            }
        }
        self.end();
        result
    }

    /// Store groups whose pushed messages were applied in memory.
    fn flush_dirty(&mut self, dirty: &mut Vec<(Vec<u8>, Vec<NewHistory>)>) -> Result<()> {
        for (gid, history) in dirty.drain(..) {
            let l = self.take(&gid)?;
            match self.save(&gid, &l, &history, OutboxChange::None) {
                Ok(_) => self.put(&gid, l),
                Err(e) => {
                    // The cache is ahead of the store: forget it.
                    self.cache.clear();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn commit_received(&mut self, gid: &[u8]) -> Result<()> {
        let mut l = self.take(gid)?;
        if l.status == GroupStatus::Active && !l.group.pending_proposals().is_empty() {
            self.commit_loop(gid, &mut l, CommitKind::Proposals).await?;
        }
        self.put(gid, l);
        Ok(())
    }

    async fn handle_one_push(
        &mut self,
        event: ws::PushEvent,
        dirty: &mut Vec<(Vec<u8>, Vec<NewHistory>)>,
        touched: &mut Vec<Vec<u8>>,
        commit_proposals: bool,
    ) -> Result<()> {
        match event {
            ws::PushEvent::Message {
                group_id,
                seq,
                epoch,
                content_type,
                sender,
                message,
            } => {
                if !self.cache.contains_key(&group_id) && !self.home.has_group(&group_id)? {
                    // Perhaps a group whose Welcome is on its way.
                    self.flush_dirty(dirty)?;
                    for gid in self.fetch_welcomes().await? {
                        self.sync_group(&gid, false).await?;
                    }
                    return Ok(());
                }
                if !touched.contains(&group_id) {
                    touched.push(group_id.clone());
                }
                let mut l = self.take(&group_id)?;
                if l.status == GroupStatus::Removed || seq <= l.cursor {
                    self.put(&group_id, l);
                    return Ok(());
                }
                if seq == l.cursor.saturating_add(1) {
                    let r = self.apply_entry(&mut l, seq, epoch, &content_type, &sender, &message);
                    let slot = match dirty.iter().position(|(g, _)| *g == group_id) {
                        Some(i) => i,
                        None => {
                            dirty.push((group_id.clone(), Vec::new()));
                            dirty.len() - 1
                        }
                    };
                    if let Ok(h) = r {
                        l.cursor = seq;
                        dirty[slot].1.extend(h);
                        self.put(&group_id, l);
                        Ok(())
                    } else {
                        // The group is unchanged by the failed message; what was applied
                        // before it is stored by the caller.
                        self.put(&group_id, l);
                        r.map(|_| ())
                    }
                } else {
                    self.put(&group_id, l);
                    self.flush_dirty(dirty)?;
                    let mut l = self.take(&group_id)?;
                    let r = self.fetch_log(&group_id, &mut l).await;
                    if r.is_ok() {
                        self.put(&group_id, l);
                    }
                    r
                }
            }
            ws::PushEvent::Welcome { .. } => {
                self.flush_dirty(dirty)?;
                for gid in self.fetch_welcomes().await? {
                    self.sync_group(&gid, false).await?;
                }
                Ok(())
            }
            ws::PushEvent::Ready | ws::PushEvent::Lagged(_) => {
                self.flush_dirty(dirty)?;
                self.sync_inner(commit_proposals).await
            }
            ws::PushEvent::Revoked => Err(Error::new("this client was revoked by the server")),
            ws::PushEvent::Other => Ok(()),
        }
    }

    /// Open the WebSocket subscription.
    pub async fn subscribe(&mut self) -> Result<ws::Subscription> {
        Ok(ws::subscribe(&self.api).await?)
    }

    // ----- views ------------------------------------------------------------------------------

    /// `(leaf index, client id, is us)` of every member.
    pub async fn members(&mut self, name: &str) -> Result<Vec<(u32, String, bool)>> {
        self.begin().await?;
        let r = (|| {
            let gid = self.gid_of(name)?;
            let l = self.take(&gid)?;
            let own = l.group.own_leaf_index();
            let list = self
                .member_ids(&l.group)
                .into_iter()
                .map(|(i, n)| (i, n, i == own))
                .collect();
            self.put(&gid, l);
            Ok(list)
        })();
        self.end();
        r
    }

    /// Every group of this home.
    pub async fn groups(&mut self) -> Result<Vec<GroupView>> {
        self.begin().await?;
        let r = (|| {
            let mut out = Vec::new();
            for row in self.home.groups()? {
                out.push(self.view(&row.group_id)?);
            }
            Ok(out)
        })();
        self.end();
        r
    }

    /// One group.
    pub async fn status(&mut self, name: &str) -> Result<GroupView> {
        self.begin().await?;
        let r = self.gid_of(name).and_then(|gid| self.view(&gid));
        self.end();
        r
    }

    fn view(&mut self, gid: &[u8]) -> Result<GroupView> {
        let l = self.take(gid)?;
        let v = GroupView {
            name: l.name.clone(),
            group_id: String::from_utf8(gid.to_vec()).unwrap_or_else(|_| b64(gid)),
            epoch: l.group.epoch(),
            members: l.group.member_count(),
            authenticator: hex::encode(l.group.epoch_authenticator()),
            status: l.status,
            cursor: l.cursor,
            state_bytes: l.group.to_bytes().len(),
        };
        self.put(gid, l);
        Ok(v)
    }

    /// The newest `limit` messages of a group.
    pub async fn history(
        &mut self,
        name: &str,
        limit: u32,
    ) -> Result<Vec<crate::home::HistoryEntry>> {
        self.begin().await?;
        let r = self
            .gid_of(name)
            .and_then(|gid| self.home.history(&gid, limit));
        self.end();
        r
    }

    /// `(ordinary, last-resort)` KeyPackage secrets held locally.
    pub fn local_key_packages(&self) -> Result<(u64, u64)> {
        self.home.key_package_counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cohort_server::authority::CertificateAuthority;

    struct Id {
        key: SignaturePrivateKey,
        credential: Credential,
    }

    fn enroll(ca: &CertificateAuthority, suite: &Suite, client_id: &str) -> Id {
        let key = suite.generate_signature_key_pair().unwrap();
        let csr = certificate_request(&key, client_id).unwrap();
        let cert = ca.issue(&csr, client_id, 1).unwrap();
        Id {
            credential: x509_credential(&[cert.der]),
            key,
        }
    }

    fn config(root: &[u8]) -> GroupConfig {
        GroupConfig {
            credential_validator: Some(SharedValidator::new(AsValidator {
                root: Arc::new(root.to_vec()),
            })),
            ..GroupConfig::default()
        }
    }

    fn key_package(suite: &Suite, id: &Id) -> KeyPackageSecrets {
        KeyPackageSecrets::generate(
            suite,
            id.credential.clone(),
            &id.key,
            &KeyPackageOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn validator_accepts_only_certificates_of_the_pinned_root_for_the_leaf_key() {
        let suite = Suite::new(DEFAULT_SUITE).unwrap();
        let (ca, _) = CertificateAuthority::generate("A", 1).unwrap();
        let (other, _) = CertificateAuthority::generate("B", 1).unwrap();
        let alice = enroll(&ca, &suite, "alice/1");
        let mallory = enroll(&other, &suite, "alice/1");
        let v = AsValidator {
            root: Arc::new(ca.root_der().to_vec()),
        };
        assert!(v.validate(&alice.credential, alice.key.public_key()));
        assert!(!v.validate(&mallory.credential, mallory.key.public_key()));
        assert!(!v.validate(&alice.credential, mallory.key.public_key()));
        let basic = Credential::Basic {
            identity: cohort::codec::Bytes(b"mls:alice/1".to_vec()),
        };
        assert!(!v.validate(&basic, alice.key.public_key()));
    }

    #[test]
    fn join_and_commits_refuse_leaves_of_another_authority() {
        let suite = Suite::new(DEFAULT_SUITE).unwrap();
        let (ca, _) = CertificateAuthority::generate("A", 1).unwrap();
        let (other, _) = CertificateAuthority::generate("B", 1).unwrap();
        let root = ca.root_der().to_vec();
        let alice = enroll(&ca, &suite, "alice/1");
        let bob = enroll(&ca, &suite, "bob/1");
        let mallory = enroll(&other, &suite, "mallory/1");

        // A group whose creator is certified by another authority: bob refuses the Welcome.
        let mut foreign = Group::create(
            suite.id(),
            b"g1".to_vec(),
            mallory.credential.clone(),
            mallory.key.clone(),
            GroupOptions::default(),
        )
        .unwrap();
        let kp = key_package(&suite, &bob);
        let out = foreign
            .commit(
                CommitOptions {
                    add: vec![kp.key_package.clone()],
                    ..CommitOptions::default()
                },
                &NoPsks,
            )
            .unwrap();
        let welcome = out.welcome.unwrap();
        let join = |config| {
            Group::join(
                &welcome,
                &kp,
                &NoPsks,
                JoinOptions {
                    config,
                    ..JoinOptions::default()
                },
            )
        };
        assert!(join(config(&root)).is_err());
        assert!(join(GroupConfig::default()).is_ok()); // the same Welcome, no AS check

        // In a group of ours, a commit adding a foreign leaf is refused by the member.
        let mut group = Group::create(
            suite.id(),
            b"g2".to_vec(),
            alice.credential.clone(),
            alice.key.clone(),
            GroupOptions {
                config: config(&root),
                ..GroupOptions::default()
            },
        )
        .unwrap();
        let kp = key_package(&suite, &bob);
        let out = group
            .commit(
                CommitOptions {
                    add: vec![kp.key_package.clone()],
                    ..CommitOptions::default()
                },
                &NoPsks,
            )
            .unwrap();
        group.confirm_pending_commit().unwrap();
        let mut bob_group = Group::join(
            out.welcome.as_ref().unwrap(),
            &kp,
            &NoPsks,
            JoinOptions {
                config: config(&root),
                ..JoinOptions::default()
            },
        )
        .unwrap();
        // alice's own commit API also refuses to add it...
        let bad = key_package(&suite, &mallory);
        assert!(group
            .commit(
                CommitOptions {
                    add: vec![bad.key_package.clone()],
                    ..CommitOptions::default()
                },
                &NoPsks,
            )
            .is_err());
        // ...and when a member without the check commits it, bob refuses the commit.
        let mut lax = Group::from_bytes(&group.to_bytes(), None).unwrap();
        let out = lax
            .commit(
                CommitOptions {
                    add: vec![bad.key_package],
                    ..CommitOptions::default()
                },
                &NoPsks,
            )
            .unwrap();
        assert!(bob_group.process_message(out.commit, &NoPsks).is_err());
    }
}
