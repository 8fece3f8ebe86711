//! Interoperability of Cohort with mls-rs (0.57, RustCrypto provider), exchanging only wire
//! bytes: `MLSMessage` encodings (KeyPackage, Welcome, GroupInfo, Public/PrivateMessage) and,
//! when the tree is sent out of band, the `ratchet_tree` encoding.
//!
//! One scenario script runs with either implementation as the group's creator: members of both
//! implementations join by Welcome, exchange application messages, propose and commit
//! Updates across implementations (proposals by reference), commit Adds, Removes and empty
//! path commits, and process each other's commits. After every epoch change all members must
//! agree on the epoch, the epoch authenticator and an exported secret. External commits are
//! tested in both directions.

use cohort::crypto::CipherSuite as CohortSuite;
use cohort::framing::private::Padding;
use cohort::framing::WireFormat;
use cohort::group::{
    CommitOptions as CohortCommitOptions, ExternalCommitOptions, Group as CohortGroup, GroupConfig,
    GroupOptions, HandshakeFormat, JoinOptions, KeyPackageSecrets, NoPsks,
    ReceivedMessage as CohortReceived,
};
use cohort_interop::{
    cohort_identity, cohort_key_package, from_wire, key_package_from_wire, to_wire, tree_from_wire,
};
use mls_rs::client_builder::{MlsConfig, PaddingMode};
use mls_rs::group::ExportedTree;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;

const LABEL: &str = "interop exporter";
const CONTEXT: &[u8] = b"interop context";

/// Wire-level options of a run.
#[derive(Debug, Clone, Copy)]
struct Cfg {
    suite: u16,
    /// Proposals and commits as PrivateMessage (both sides) instead of PublicMessage.
    private_handshake: bool,
    /// The ratchet tree travels in the Welcome's `ratchet_tree` extension; otherwise out of band.
    tree_in_welcome: bool,
}

#[derive(Debug)]
enum Event {
    App { sender: u32, data: Vec<u8> },
    Proposal,
    Commit { removed_us: bool },
}

struct CommitOut {
    commit: Vec<u8>,
    welcome: Option<Vec<u8>>,
    /// The new epoch's ratchet tree, for joiners when it is not in the Welcome.
    tree: Vec<u8>,
}

/// A group member of either implementation, driven through wire bytes only.
trait Party {
    fn name(&self) -> &str;
    fn index(&self) -> u32;
    fn epoch(&self) -> u64;
    fn authenticator(&self) -> Vec<u8>;
    fn export(&self) -> Vec<u8>;
    fn send(&mut self, data: &[u8]) -> Vec<u8>;
    /// Process a message; a commit is merged at once.
    fn process(&mut self, msg: &[u8]) -> Event;
    fn propose_update(&mut self) -> Vec<u8>;
    /// Commit the received proposals plus these Adds and Removes, and move to the new epoch.
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut;
    /// A GroupInfo with `external_pub` (and the ratchet tree if `tree_in_welcome`).
    fn group_info(&self) -> Vec<u8>;
    /// The current ratchet tree (`ratchet_tree` extension content), for out-of-band delivery.
    fn tree(&self) -> Vec<u8>;
}

/// A client about to join: it has published a KeyPackage.
trait Joiner {
    fn key_package(&self) -> Vec<u8>;
    fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Box<dyn Party>;
    /// Join by external commit from a GroupInfo; returns the member and the commit to send.
    /// `resync_remove`: our old leaf, removed by the same commit (§12.2, §12.4.3.2).
    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree: Option<&[u8]>,
        resync_remove: Option<u32>,
    ) -> (Box<dyn Party>, Vec<u8>);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Cohort,
    MlsRs,
}

impl Impl {
    fn creator(self, cfg: Cfg, name: &str, group_id: &[u8]) -> Box<dyn Party> {
        match self {
            Impl::Cohort => Box::new(CohortParty::create(cfg, name, group_id)),
            Impl::MlsRs => mls_rs_creator(cfg, name, group_id),
        }
    }
    fn joiner(self, cfg: Cfg, name: &str) -> Box<dyn Joiner> {
        match self {
            Impl::Cohort => Box::new(CohortJoiner::new(cfg, name)),
            Impl::MlsRs => mls_rs_joiner(cfg, name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cohort

fn cohort_config(cfg: Cfg) -> GroupConfig {
    GroupConfig {
        handshake_format: if cfg.private_handshake {
            HandshakeFormat::Private
        } else {
            HandshakeFormat::Public
        },
        ratchet_tree_extension: cfg.tree_in_welcome,
        // Pad to a multiple of 32 so that padding is exercised on the mls-rs side too.
        padding: Padding::ToMultipleOf(32),
        ..GroupConfig::default()
    }
}

struct CohortParty {
    name: String,
    group: CohortGroup,
}

impl CohortParty {
    fn create(cfg: Cfg, name: &str, group_id: &[u8]) -> Self {
        let (_, credential, signer) = cohort_identity(CohortSuite(cfg.suite), name);
        let group = CohortGroup::create(
            CohortSuite(cfg.suite),
            group_id.to_vec(),
            credential,
            signer,
            GroupOptions {
                config: cohort_config(cfg),
                ..GroupOptions::default()
            },
        )
        .expect("Cohort creates a group");
        CohortParty {
            name: name.to_string(),
            group,
        }
    }
}

impl Party for CohortParty {
    fn name(&self) -> &str {
        &self.name
    }
    fn index(&self) -> u32 {
        self.group.own_leaf_index()
    }
    fn epoch(&self) -> u64 {
        self.group.epoch()
    }
    fn authenticator(&self) -> Vec<u8> {
        self.group.epoch_authenticator().to_vec()
    }
    fn export(&self) -> Vec<u8> {
        self.group
            .export_secret(LABEL, CONTEXT, 32)
            .unwrap()
            .as_bytes()
            .to_vec()
    }
    fn send(&mut self, data: &[u8]) -> Vec<u8> {
        to_wire(&self.group.send_application(data, b"cohort aad").unwrap())
    }
    fn process(&mut self, msg: &[u8]) -> Event {
        let received = self
            .group
            .process_message(from_wire(msg), &NoPsks)
            .unwrap_or_else(|e| panic!("Cohort member {} rejects a message: {e:?}", self.name));
        match received {
            CohortReceived::Application { sender, data, .. } => Event::App { sender, data },
            CohortReceived::Proposal(_) => Event::Proposal,
            CohortReceived::Commit(staged) => {
                let removed_us = staged.summary.removes_us;
                self.group.merge_staged_commit(*staged).unwrap();
                Event::Commit { removed_us }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    fn propose_update(&mut self) -> Vec<u8> {
        to_wire(&self.group.propose_update().unwrap())
    }
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut {
        let out = self
            .group
            .commit(
                CohortCommitOptions {
                    add: adds.iter().map(|b| key_package_from_wire(b)).collect(),
                    remove: removes.to_vec(),
                    ..Default::default()
                },
                &NoPsks,
            )
            .unwrap_or_else(|e| panic!("Cohort member {} cannot commit: {e:?}", self.name));
        self.group.confirm_pending_commit().unwrap();
        CommitOut {
            commit: to_wire(&out.commit),
            welcome: out.welcome.as_ref().map(to_wire),
            tree: self.group.tree().to_wire_bytes(),
        }
    }
    fn group_info(&self) -> Vec<u8> {
        to_wire(&self.group.group_info().unwrap())
    }
    fn tree(&self) -> Vec<u8> {
        self.group.tree().to_wire_bytes()
    }
}

struct CohortJoiner {
    cfg: Cfg,
    name: String,
    kp: KeyPackageSecrets,
    kp_bytes: Vec<u8>,
}

impl CohortJoiner {
    fn new(cfg: Cfg, name: &str) -> Self {
        let (kp, kp_bytes) = cohort_key_package(CohortSuite(cfg.suite), identity(name));
        CohortJoiner {
            cfg,
            name: name.to_string(),
            kp,
            kp_bytes,
        }
    }
}

impl Joiner for CohortJoiner {
    fn key_package(&self) -> Vec<u8> {
        self.kp_bytes.clone()
    }
    fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Box<dyn Party> {
        if tree.is_some() {
            // The tree really is out of band: the Welcome alone is not enough.
            let alone = CohortGroup::join(
                &from_wire(welcome),
                &self.kp,
                &NoPsks,
                JoinOptions::default(),
            );
            assert!(
                alone.is_err(),
                "the Welcome carries the tree although out of band was asked"
            );
        }
        let group = CohortGroup::join(
            &from_wire(welcome),
            &self.kp,
            &NoPsks,
            JoinOptions {
                ratchet_tree: tree.map(tree_from_wire),
                config: cohort_config(self.cfg),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("Cohort {} cannot join from the Welcome: {e:?}", self.name));
        Box::new(CohortParty {
            name: self.name,
            group,
        })
    }
    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree: Option<&[u8]>,
        resync_remove: Option<u32>,
    ) -> (Box<dyn Party>, Vec<u8>) {
        cohort_join_external(*self, group_info, tree, resync_remove)
    }
}

/// Cohort joins by external commit (§12.4.3.2); its KeyPackage is not used.
fn cohort_join_external(
    joiner: CohortJoiner,
    group_info: &[u8],
    tree: Option<&[u8]>,
    resync_remove: Option<u32>,
) -> (Box<dyn Party>, Vec<u8>) {
    let (_, credential, signer) =
        cohort_identity(CohortSuite(joiner.cfg.suite), identity(&joiner.name));
    let (group, commit) = CohortGroup::join_external(
        &from_wire(group_info),
        credential,
        signer,
        &NoPsks,
        ExternalCommitOptions {
            ratchet_tree: tree.map(tree_from_wire),
            resync_remove,
            config: cohort_config(joiner.cfg),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "Cohort {} cannot join by external commit: {e:?}",
            joiner.name
        )
    });
    (
        Box::new(CohortParty {
            name: joiner.name,
            group,
        }),
        to_wire(&commit),
    )
}

// ---------------------------------------------------------------------------------------------
// mls-rs

fn mls_rs_client(cfg: Cfg, name: &str) -> Client<impl MlsConfig> {
    let suite = CipherSuite::new(cfg.suite);
    let crypto = RustCryptoProvider::new();
    let cs = crypto
        .cipher_suite_provider(suite)
        .expect("mls-rs RustCrypto supports the suite");
    let (secret, public) = cs.signature_key_generate().unwrap();
    let signing_identity = SigningIdentity::new(
        BasicCredential::new(identity(name).as_bytes().to_vec()).into_credential(),
        public,
    );
    let rules = DefaultMlsRules::new()
        .with_commit_options(
            CommitOptions::new()
                .with_ratchet_tree_extension(cfg.tree_in_welcome)
                .with_single_welcome_message(true)
                .with_allow_external_commit(true),
        )
        .with_encryption_options(EncryptionOptions::new(
            cfg.private_handshake,
            PaddingMode::StepFunction,
        ));
    Client::builder()
        .crypto_provider(crypto)
        .identity_provider(BasicIdentityProvider::new())
        .mls_rules(rules)
        .signing_identity(signing_identity, secret, suite)
        .build()
}

fn mls_msg(bytes: &[u8]) -> MlsMessage {
    MlsMessage::from_bytes(bytes)
        .unwrap_or_else(|e| panic!("mls-rs cannot decode MLSMessage: {e:?}"))
}

struct MlsRsParty<C: MlsConfig> {
    name: String,
    cfg: Cfg,
    group: mls_rs::Group<C>,
}

impl<C: MlsConfig> MlsRsParty<C> {
    fn from_group(name: &str, cfg: Cfg, group: mls_rs::Group<C>) -> Self {
        MlsRsParty {
            name: name.to_string(),
            cfg,
            group,
        }
    }
}

fn mls_rs_creator(cfg: Cfg, name: &str, group_id: &[u8]) -> Box<dyn Party> {
    let client = mls_rs_client(cfg, name);
    let group = client
        .create_group_with_id(
            group_id.to_vec(),
            Default::default(),
            Default::default(),
            None,
        )
        .expect("mls-rs creates a group");
    Box::new(MlsRsParty::from_group(name, cfg, group))
}

impl<C: MlsConfig + 'static> Party for MlsRsParty<C> {
    fn name(&self) -> &str {
        &self.name
    }
    fn index(&self) -> u32 {
        self.group.current_member_index()
    }
    fn epoch(&self) -> u64 {
        self.group.current_epoch()
    }
    fn authenticator(&self) -> Vec<u8> {
        self.group
            .epoch_authenticator()
            .unwrap()
            .as_bytes()
            .to_vec()
    }
    fn export(&self) -> Vec<u8> {
        self.group
            .export_secret(LABEL.as_bytes(), CONTEXT, 32)
            .unwrap()
            .as_bytes()
            .to_vec()
    }
    fn send(&mut self, data: &[u8]) -> Vec<u8> {
        self.group
            .encrypt_application_message(data, b"mls-rs aad".to_vec())
            .unwrap()
            .to_bytes()
            .unwrap()
    }
    fn process(&mut self, msg: &[u8]) -> Event {
        use mls_rs::group::{CommitEffect, ReceivedMessage};
        let received = self
            .group
            .process_incoming_message(mls_msg(msg))
            .unwrap_or_else(|e| panic!("mls-rs member {} rejects a message: {e:?}", self.name));
        match received {
            ReceivedMessage::ApplicationMessage(m) => Event::App {
                sender: m.sender_index,
                data: m.data().to_vec(),
            },
            ReceivedMessage::Proposal(_) => Event::Proposal,
            ReceivedMessage::Commit(c) => Event::Commit {
                removed_us: matches!(c.effect, CommitEffect::Removed { .. }),
            },
            other => panic!("unexpected {other:?}"),
        }
    }
    fn propose_update(&mut self) -> Vec<u8> {
        self.group
            .propose_update(Vec::new())
            .unwrap()
            .to_bytes()
            .unwrap()
    }
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut {
        let mut builder = self.group.commit_builder();
        for kp in adds {
            builder = builder
                .add_member(mls_msg(kp))
                .unwrap_or_else(|e| panic!("mls-rs refuses a KeyPackage: {e:?}"));
        }
        for &r in removes {
            builder = builder.remove_member(r).unwrap();
        }
        let out = builder
            .build()
            .unwrap_or_else(|e| panic!("mls-rs member {} cannot commit: {e:?}", self.name));
        self.group.apply_pending_commit().unwrap();
        assert!(out.welcome_messages.len() <= 1);
        CommitOut {
            commit: out.commit_message.to_bytes().unwrap(),
            welcome: out.welcome_messages.first().map(|w| w.to_bytes().unwrap()),
            tree: self.group.export_tree().to_bytes().unwrap(),
        }
    }
    fn group_info(&self) -> Vec<u8> {
        self.group
            .group_info_message_allowing_ext_commit(self.cfg.tree_in_welcome)
            .unwrap()
            .to_bytes()
            .unwrap()
    }
    fn tree(&self) -> Vec<u8> {
        self.group.export_tree().to_bytes().unwrap()
    }
}

struct MlsRsJoiner<C: MlsConfig> {
    name: String,
    cfg: Cfg,
    client: Client<C>,
    kp: Vec<u8>,
}

fn mls_rs_joiner(cfg: Cfg, name: &str) -> Box<dyn Joiner> {
    let client = mls_rs_client(cfg, name);
    let kp = client
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap()
        .to_bytes()
        .unwrap();
    Box::new(MlsRsJoiner {
        name: name.to_string(),
        cfg,
        client,
        kp,
    })
}

impl<C: MlsConfig + 'static> Joiner for MlsRsJoiner<C> {
    fn key_package(&self) -> Vec<u8> {
        self.kp.clone()
    }
    fn join(self: Box<Self>, welcome: &[u8], tree: Option<&[u8]>) -> Box<dyn Party> {
        if tree.is_some() {
            // The tree really is out of band: the Welcome alone is not enough.
            let alone = self.client.join_group(None, &mls_msg(welcome), None);
            assert!(
                alone.is_err(),
                "the Welcome carries the tree although out of band was asked"
            );
        }
        let tree = tree.map(|t| ExportedTree::from_bytes(t).expect("mls-rs decodes the tree"));
        let (group, _) = self
            .client
            .join_group(tree, &mls_msg(welcome), None)
            .unwrap_or_else(|e| panic!("mls-rs {} cannot join from the Welcome: {e:?}", self.name));
        Box::new(MlsRsParty::from_group(&self.name, self.cfg, group))
    }
    fn join_external(
        self: Box<Self>,
        group_info: &[u8],
        tree: Option<&[u8]>,
        resync_remove: Option<u32>,
    ) -> (Box<dyn Party>, Vec<u8>) {
        let mut builder = self.client.external_commit_builder().unwrap();
        if let Some(old) = resync_remove {
            builder = builder.with_removal(old);
        }
        if let Some(t) = tree {
            builder = builder.with_tree_data(
                ExportedTree::from_bytes(t)
                    .expect("mls-rs decodes the tree")
                    .into_owned(),
            );
        }
        let (group, commit) = builder.build(mls_msg(group_info)).unwrap_or_else(|e| {
            panic!("mls-rs {} cannot join by external commit: {e:?}", self.name)
        });
        (
            Box::new(MlsRsParty::from_group(&self.name, self.cfg, group)),
            commit.to_bytes().unwrap(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario

struct World {
    cfg: Cfg,
    members: Vec<Box<dyn Party>>,
    log: Vec<String>,
}

impl World {
    fn new(cfg: Cfg, creator: Box<dyn Party>) -> Self {
        World {
            cfg,
            members: vec![creator],
            log: Vec::new(),
        }
    }

    fn handshake_format(&self) -> WireFormat {
        if self.cfg.private_handshake {
            WireFormat::PrivateMessage
        } else {
            WireFormat::PublicMessage
        }
    }

    fn pos(&self, name: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.name() == name)
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    fn index_of(&self, name: &str) -> u32 {
        self.members[self.pos(name)].index()
    }

    /// Deliver `msg` from `from` to every other member; return their events by name.
    fn broadcast(&mut self, from: &str, msg: &[u8]) -> Vec<(String, Event)> {
        let mut events = Vec::new();
        for m in self.members.iter_mut().filter(|m| m.name() != from) {
            let e = m.process(msg);
            events.push((m.name().to_string(), e));
        }
        events
    }

    /// Every member agrees on the epoch, the epoch authenticator and an exported secret.
    fn check(&mut self, step: &str) {
        let first = &self.members[0];
        let (epoch, auth, export) = (first.epoch(), first.authenticator(), first.export());
        for m in &self.members {
            assert_eq!(
                m.epoch(),
                epoch,
                "{step}: {} epoch differs from {}",
                m.name(),
                first.name()
            );
            assert_eq!(
                m.authenticator(),
                auth,
                "{step}: {} epoch authenticator differs from {}",
                m.name(),
                first.name()
            );
            assert_eq!(
                m.export(),
                export,
                "{step}: {} exported secret differs",
                m.name()
            );
        }
        self.log.push(format!(
            "{step}: epoch {epoch}, {} members agree ({})",
            self.members.len(),
            self.members
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    /// Every member sends one application message that every other member decrypts.
    fn chat(&mut self) {
        let names: Vec<String> = self.members.iter().map(|m| m.name().to_string()).collect();
        for name in names {
            let i = self.pos(&name);
            let index = self.members[i].index();
            let text =
                format!("hello from {name} in epoch {}", self.members[i].epoch()).into_bytes();
            let msg = self.members[i].send(&text);
            for (to, e) in self.broadcast(&name, &msg) {
                match e {
                    Event::App { sender, data } => {
                        assert_eq!(data, text, "{to} decrypted the wrong text from {name}");
                        assert_eq!(sender, index, "{to} sees the wrong sender index for {name}");
                    }
                    other => panic!("{to}: expected application data from {name}, got {other:?}"),
                }
            }
        }
    }

    /// `committer` commits received proposals plus `adds` (joiners) and `removes` (names);
    /// everyone else processes it; removed members are dropped; joiners join by Welcome.
    fn commit(
        &mut self,
        step: &str,
        committer: &str,
        adds: Vec<Box<dyn Joiner>>,
        removes: &[&str],
    ) {
        let remove_idx: Vec<u32> = removes.iter().map(|n| self.index_of(n)).collect();
        let kps: Vec<Vec<u8>> = adds.iter().map(|j| j.key_package()).collect();
        let i = self.pos(committer);
        let out = self.members[i].commit(&kps, &remove_idx);
        assert_eq!(
            from_wire(&out.commit).wire_format(),
            self.handshake_format(),
            "{step}: commit wire format"
        );
        for (name, e) in self.broadcast(committer, &out.commit) {
            match e {
                Event::Commit { removed_us } => assert_eq!(
                    removed_us,
                    removes.contains(&name.as_str()),
                    "{step}: {name} removal status"
                ),
                other => panic!("{step}: {name} expected a commit, got {other:?}"),
            }
        }
        self.members.retain(|m| !removes.contains(&m.name()));
        if !adds.is_empty() {
            let welcome = out.welcome.expect("a Welcome for the added members");
            let tree = (!self.cfg.tree_in_welcome).then_some(out.tree.as_slice());
            for j in adds {
                self.members.push(j.join(&welcome, tree));
            }
        }
        self.check(step);
    }

    /// `proposer` proposes an Update; everyone else caches it.
    fn propose_update(&mut self, proposer: &str) {
        let i = self.pos(proposer);
        let msg = self.members[i].propose_update();
        assert_eq!(
            from_wire(&msg).wire_format(),
            self.handshake_format(),
            "proposal wire format"
        );
        for (name, e) in self.broadcast(proposer, &msg) {
            assert!(
                matches!(e, Event::Proposal),
                "{name} expected a proposal, got {e:?}"
            );
        }
    }
}

/// The scenario: `x` creates the group, `y` is "the other" implementation.
fn scenario(x: Impl, y: Impl, cfg: Cfg) -> Vec<String> {
    let mut w = World::new(cfg, x.creator(cfg, "alice", b"interop group"));
    w.check("create");

    // The creator adds a member of the other implementation.
    w.commit("alice adds bob", "alice", vec![y.joiner(cfg, "bob")], &[]);
    w.chat();

    // One member of each implementation in one commit.
    w.commit(
        "alice adds carol and dave",
        "alice",
        vec![x.joiner(cfg, "carol"), y.joiner(cfg, "dave")],
        &[],
    );
    w.chat();

    // An Update proposal from the other implementation, committed by reference by the creator.
    w.propose_update("bob");
    w.commit("alice commits bob's update", "alice", vec![], &[]);

    // An Update proposal from the creator's implementation, committed by the other one.
    w.propose_update("alice");
    w.commit("bob commits alice's update", "bob", vec![], &[]);

    // Empty (path-only) commits from both sides.
    w.commit("alice self-updates", "alice", vec![], &[]);
    w.commit("dave self-updates", "dave", vec![], &[]);
    w.chat();

    // Removes from both sides.
    w.commit("alice removes dave", "alice", vec![], &["dave"]);
    w.commit("bob removes carol", "bob", vec![], &["carol"]);
    w.chat();

    // The other implementation adds members of both kinds and removes the creator.
    w.commit(
        "bob adds erin and frank",
        "bob",
        vec![x.joiner(cfg, "erin"), y.joiner(cfg, "frank")],
        &[],
    );
    w.commit("bob removes alice", "bob", vec![], &["alice"]);
    w.chat();

    // Add and remove in one commit, then the newest members commit.
    w.commit(
        "erin adds gina, removes frank",
        "erin",
        vec![y.joiner(cfg, "gina")],
        &["frank"],
    );
    w.commit("gina self-updates", "gina", vec![], &[]);
    w.chat();
    w.log
}

/// `x` creates a group with a member of each implementation; a `y` client joins by external
/// commit from a GroupInfo; everyone agrees, chats, and the new member commits.
fn external_scenario(x: Impl, y: Impl, cfg: Cfg) -> Vec<String> {
    let mut w = World::new(cfg, x.creator(cfg, "alice", b"external group"));
    w.commit(
        "alice adds bob and carol",
        "alice",
        vec![y.joiner(cfg, "bob"), x.joiner(cfg, "carol")],
        &[],
    );
    let gi = w.members[0].group_info();
    let tree = w.members[0].tree();
    let tree = (!cfg.tree_in_welcome).then_some(tree.as_slice());
    let (party, commit) = y.joiner(cfg, "erin").join_external(&gi, tree, None);
    // §12.4.3.2: an external commit is always a PublicMessage.
    assert_eq!(from_wire(&commit).wire_format(), WireFormat::PublicMessage);
    for (name, e) in w.broadcast("erin", &commit) {
        assert!(
            matches!(e, Event::Commit { removed_us: false }),
            "{name}: {e:?}"
        );
    }
    w.members.push(party);
    w.check("erin joins by external commit");
    w.chat();
    w.commit("erin self-updates", "erin", vec![], &[]);
    w.commit("carol removes erin", "carol", vec![], &["erin"]);
    w.chat();

    // Resync: bob (of the joining implementation) rejoins by external commit from a GroupInfo
    // signed by carol, removing his old leaf in the same commit.
    let i = w.pos("carol");
    let gi = w.members[i].group_info();
    let tree = w.members[i].tree();
    let tree = (!cfg.tree_in_welcome).then_some(tree.as_slice());
    let old_bob = w.index_of("bob");
    let (party, commit) = y
        .joiner(cfg, "bob#2")
        .join_external(&gi, tree, Some(old_bob));
    for (name, e) in w.broadcast("bob#2", &commit) {
        let removed_us = name == "bob";
        assert!(
            matches!(e, Event::Commit { removed_us: r } if r == removed_us),
            "{name}: {e:?}"
        );
    }
    w.members.retain(|m| m.name() != "bob");
    w.members.push(party);
    w.check("bob resyncs by external commit");
    w.chat();
    w.commit("bob#2 self-updates", "bob#2", vec![], &[]);
    w.log
}

/// The credential identity of a party: `bob#2` is a second client of `bob`.
fn identity(name: &str) -> &str {
    name.split('#').next().unwrap()
}

fn cfgs() -> Vec<Cfg> {
    let mut v = Vec::new();
    // Every suite mls-rs's RustCrypto provider implements (0x0004-0x0006 it has not).
    for suite in RustCryptoProvider::all_supported_cipher_suites() {
        let suite = suite.raw_value();
        for private_handshake in [false, true] {
            v.push(Cfg {
                suite,
                private_handshake,
                tree_in_welcome: true,
            });
        }
        v.push(Cfg {
            suite,
            private_handshake: false,
            tree_in_welcome: false,
        });
    }
    v
}

fn run_all(f: fn(Impl, Impl, Cfg) -> Vec<String>, x: Impl, y: Impl) {
    for cfg in cfgs() {
        println!("== {x:?} creates, {y:?} joins: {cfg:?}");
        for line in f(x, y, cfg) {
            println!("   {line}");
        }
    }
}

#[test]
fn mls_rs_creates_cohort_joins() {
    run_all(scenario, Impl::MlsRs, Impl::Cohort);
}

#[test]
fn cohort_creates_mls_rs_joins() {
    run_all(scenario, Impl::Cohort, Impl::MlsRs);
}

#[test]
fn mls_rs_joins_cohort_group_by_external_commit() {
    run_all(external_scenario, Impl::Cohort, Impl::MlsRs);
}

#[test]
fn cohort_joins_mls_rs_group_by_external_commit() {
    run_all(external_scenario, Impl::MlsRs, Impl::Cohort);
}
