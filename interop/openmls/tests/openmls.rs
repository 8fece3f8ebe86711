//! Interop of Cohort with OpenMLS 0.9 (libcrux provider, a black box: only its public API and
//! wire bytes) on OpenMLS's X-Wing suite 0x004D (MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519)
//! and on suite 1 as the control.
//!
//! One script runs with either implementation as the group's creator: the other joins by a
//! Welcome that carries the ratchet tree; both exchange application messages; each side
//! commits a self-update with a path, an Add and a Remove, and every other member processes
//! it. After every epoch change all members must agree on the epoch, the epoch authenticator
//! and an exported secret.

use cohort_openmls_interop::{CohortJoiner, CohortMember, CommitOut, Event};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_libcrux_crypto::Provider;

const LABEL: &str = "openmls interop";
const CONTEXT: &[u8] = b"interop context";

/// OpenMLS's X-Wing suite.
const XWING: u16 = 0x004D;

/// A group member of either implementation.
trait Party {
    fn name(&self) -> &str;
    fn index(&self) -> u32;
    fn epoch(&self) -> u64;
    fn authenticator(&self) -> Vec<u8>;
    fn export(&self) -> Vec<u8>;
    fn send(&mut self, data: &[u8]) -> Vec<u8>;
    fn process(&mut self, msg: &[u8]) -> Event;
    /// Commit these Adds and Removes with an UpdatePath (a self-update when both are empty).
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut;
}

/// A client that has published a KeyPackage.
trait Joiner {
    fn key_package(&self) -> Vec<u8>;
    fn join(self: Box<Self>, welcome: &[u8]) -> Box<dyn Party>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Cohort,
    OpenMls,
}

#[derive(Debug, Clone, Copy)]
struct Cfg {
    suite: u16,
    /// Handshake messages as PrivateMessage; otherwise PublicMessage.
    private_handshake: bool,
}

impl Impl {
    fn creator(self, cfg: Cfg, name: &str) -> Box<dyn Party> {
        match self {
            Impl::Cohort => Box::new(CohortParty {
                name: name.into(),
                m: CohortMember::create(cfg.suite, name, b"interop group", cfg.private_handshake),
            }),
            Impl::OpenMls => Box::new(OpenMlsParty::create(cfg, name)),
        }
    }
    fn joiner(self, cfg: Cfg, name: &str) -> Box<dyn Joiner> {
        match self {
            Impl::Cohort => Box::new(CohortJoinerParty {
                name: name.into(),
                j: CohortJoiner::new(cfg.suite, name, cfg.private_handshake),
            }),
            Impl::OpenMls => Box::new(OpenMlsJoiner::new(cfg, name)),
        }
    }
    fn other(self) -> Impl {
        match self {
            Impl::Cohort => Impl::OpenMls,
            Impl::OpenMls => Impl::Cohort,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cohort

struct CohortParty {
    name: String,
    m: CohortMember,
}

impl Party for CohortParty {
    fn name(&self) -> &str {
        &self.name
    }
    fn index(&self) -> u32 {
        self.m.index()
    }
    fn epoch(&self) -> u64 {
        self.m.epoch()
    }
    fn authenticator(&self) -> Vec<u8> {
        self.m.authenticator()
    }
    fn export(&self) -> Vec<u8> {
        self.m.export(LABEL, CONTEXT)
    }
    fn send(&mut self, data: &[u8]) -> Vec<u8> {
        self.m.send(data)
    }
    fn process(&mut self, msg: &[u8]) -> Event {
        self.m.process(msg)
    }
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut {
        self.m.commit(adds, removes)
    }
}

struct CohortJoinerParty {
    name: String,
    j: CohortJoiner,
}

impl Joiner for CohortJoinerParty {
    fn key_package(&self) -> Vec<u8> {
        self.j.key_package.clone()
    }
    fn join(self: Box<Self>, welcome: &[u8]) -> Box<dyn Party> {
        Box::new(CohortParty {
            name: self.name,
            m: self.j.join(welcome),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// OpenMLS

fn ciphersuite(suite: u16) -> Ciphersuite {
    Ciphersuite::try_from(suite).expect("OpenMLS knows the suite")
}

fn wire_policy(cfg: Cfg) -> WireFormatPolicy {
    if cfg.private_handshake {
        PURE_CIPHERTEXT_WIRE_FORMAT_POLICY
    } else {
        PURE_PLAINTEXT_WIRE_FORMAT_POLICY
    }
}

fn openmls_identity(
    cfg: Cfg,
    name: &str,
    provider: &Provider,
) -> (SignatureKeyPair, CredentialWithKey) {
    let cs = ciphersuite(cfg.suite);
    let signer = SignatureKeyPair::new(cs.signature_algorithm()).expect("OpenMLS signature key");
    signer.store(provider.storage()).expect("store the key");
    let credential = BasicCredential::new(name.as_bytes().to_vec());
    let cwk = CredentialWithKey {
        credential: credential.into(),
        signature_key: signer.public().into(),
    };
    (signer, cwk)
}

/// Leaf capabilities that list the group's suite: OpenMLS's defaults list only suites 1-3
/// (see `openmls_default_capabilities_omit_xwing`).
fn capabilities(cfg: Cfg) -> Capabilities {
    Capabilities::new(None, Some(&[ciphersuite(cfg.suite)]), None, None, None)
}

fn to_wire(msg: &MlsMessageOut) -> Vec<u8> {
    msg.tls_serialize_detached().expect("OpenMLS serializes")
}

fn protocol_message(bytes: &[u8]) -> ProtocolMessage {
    let msg = MlsMessageIn::tls_deserialize_exact(bytes).expect("OpenMLS decodes an MLSMessage");
    msg.try_into_protocol_message()
        .expect("a PublicMessage or PrivateMessage")
}

struct OpenMlsParty {
    name: String,
    provider: Provider,
    signer: SignatureKeyPair,
    group: MlsGroup,
}

impl OpenMlsParty {
    fn create(cfg: Cfg, name: &str) -> Self {
        let provider = Provider::default();
        let (signer, cwk) = openmls_identity(cfg, name, &provider);
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(ciphersuite(cfg.suite))
            .use_ratchet_tree_extension(true)
            .wire_format_policy(wire_policy(cfg))
            .capabilities(capabilities(cfg))
            .build();
        let group =
            MlsGroup::new(&provider, &signer, &config, cwk).expect("OpenMLS creates a group");
        OpenMlsParty {
            name: name.into(),
            provider,
            signer,
            group,
        }
    }
}

impl Party for OpenMlsParty {
    fn name(&self) -> &str {
        &self.name
    }
    fn index(&self) -> u32 {
        self.group.own_leaf_index().u32()
    }
    fn epoch(&self) -> u64 {
        self.group.epoch().as_u64()
    }
    fn authenticator(&self) -> Vec<u8> {
        self.group.epoch_authenticator().as_slice().to_vec()
    }
    fn export(&self) -> Vec<u8> {
        self.group
            .export_secret(self.provider.crypto(), LABEL, CONTEXT, 32)
            .expect("OpenMLS exports")
    }
    fn send(&mut self, data: &[u8]) -> Vec<u8> {
        let out = self
            .group
            .create_message(&self.provider, &self.signer, data)
            .expect("OpenMLS sends");
        to_wire(&out)
    }
    fn process(&mut self, msg: &[u8]) -> Event {
        let processed = self
            .group
            .process_message(&self.provider, protocol_message(msg))
            .unwrap_or_else(|e| panic!("OpenMLS member {} rejects a message: {e:?}", self.name));
        let sender = match processed.sender() {
            Sender::Member(i) => i.u32(),
            other => panic!("unexpected sender {other:?}"),
        };
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => Event::App {
                sender,
                data: app.into_bytes(),
            },
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                self.group
                    .merge_staged_commit(&self.provider, *staged)
                    .expect("OpenMLS merges");
                Event::Commit {
                    removed_us: !self.group.is_active(),
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut {
        let key_packages: Vec<KeyPackage> = adds
            .iter()
            .map(|b| {
                let msg = MlsMessageIn::tls_deserialize_exact(b.as_slice()).expect("decodes");
                match msg.extract() {
                    MlsMessageBodyIn::KeyPackage(kp) => kp
                        .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                        .expect("OpenMLS validates the KeyPackage"),
                    _ => panic!("not a KeyPackage"),
                }
            })
            .collect();
        let removes: Vec<LeafNodeIndex> = removes.iter().map(|&i| LeafNodeIndex::new(i)).collect();
        let bundle = self
            .group
            .commit_builder()
            .propose_adds(key_packages)
            .propose_removals(removes)
            .force_self_update(true)
            .load_psks(self.provider.storage())
            .expect("psks")
            .build(
                self.provider.rand(),
                self.provider.crypto(),
                &self.signer,
                |_| true,
            )
            .expect("OpenMLS builds a commit")
            .stage_commit(&self.provider)
            .expect("OpenMLS stages the commit");
        let commit = to_wire(bundle.commit());
        let welcome = bundle.welcome().map(|w| {
            MlsMessageOut::from_welcome(w.clone(), ProtocolVersion::Mls10)
                .tls_serialize_detached()
                .expect("serializes")
        });
        self.group
            .merge_pending_commit(&self.provider)
            .expect("OpenMLS merges its commit");
        CommitOut { commit, welcome }
    }
}

struct OpenMlsJoiner {
    cfg: Cfg,
    name: String,
    provider: Provider,
    signer: SignatureKeyPair,
    key_package: Vec<u8>,
}

impl OpenMlsJoiner {
    fn new(cfg: Cfg, name: &str) -> Self {
        let provider = Provider::default();
        let (signer, cwk) = openmls_identity(cfg, name, &provider);
        let bundle = KeyPackage::builder()
            .leaf_node_capabilities(capabilities(cfg))
            .build(ciphersuite(cfg.suite), &provider, &signer, cwk)
            .expect("OpenMLS builds a KeyPackage");
        let key_package = MlsMessageOut::from(bundle.key_package().clone())
            .tls_serialize_detached()
            .expect("serializes");
        OpenMlsJoiner {
            cfg,
            name: name.into(),
            provider,
            signer,
            key_package,
        }
    }
}

impl Joiner for OpenMlsJoiner {
    fn key_package(&self) -> Vec<u8> {
        self.key_package.clone()
    }
    fn join(self: Box<Self>, welcome: &[u8]) -> Box<dyn Party> {
        let msg = MlsMessageIn::tls_deserialize_exact(welcome).expect("decodes the Welcome");
        let welcome = match msg.extract() {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => panic!("not a Welcome"),
        };
        let join_config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .wire_format_policy(wire_policy(self.cfg))
            .build();
        let group = StagedWelcome::new_from_welcome(&self.provider, &join_config, welcome, None)
            .unwrap_or_else(|e| panic!("OpenMLS {} rejects the Welcome: {e:?}", self.name))
            .into_group(&self.provider)
            .expect("OpenMLS joins");
        Box::new(OpenMlsParty {
            name: self.name,
            provider: self.provider,
            signer: self.signer,
            group,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The script

/// Every member agrees on epoch, authenticator and exporter; returns the epoch.
fn check_agreement(members: &[&dyn Party]) -> u64 {
    let first = members[0];
    for m in &members[1..] {
        assert_eq!(
            m.epoch(),
            first.epoch(),
            "{} vs {}: epoch",
            m.name(),
            first.name()
        );
        assert_eq!(
            m.authenticator(),
            first.authenticator(),
            "{} vs {}: epoch authenticator in epoch {}",
            m.name(),
            first.name(),
            first.epoch()
        );
        assert_eq!(
            m.export(),
            first.export(),
            "{} vs {}: exporter in epoch {}",
            m.name(),
            first.name(),
            first.epoch()
        );
    }
    first.epoch()
}

/// `from` sends to every member of `to`, which must all decrypt it from `from`'s leaf.
fn deliver_app(from: &mut dyn Party, to: &mut [&mut Box<dyn Party>]) {
    let data = format!("hello from {} in epoch {}", from.name(), from.epoch()).into_bytes();
    let wire = from.send(&data);
    for r in to.iter_mut() {
        assert_eq!(
            r.process(&wire),
            Event::App {
                sender: from.index(),
                data: data.clone()
            },
            "{} receiving from {}",
            r.name(),
            from.name()
        );
    }
}

/// Every member of `to` processes a commit; `removed` members must see themselves removed.
fn deliver_commit(commit: &[u8], to: &mut [&mut Box<dyn Party>], removed: &[&str]) {
    for r in to.iter_mut() {
        let removed_us = removed.contains(&r.name());
        assert_eq!(
            r.process(commit),
            Event::Commit { removed_us },
            "{} processing a commit",
            r.name()
        );
    }
}

fn run(cfg: Cfg, creator: Impl) {
    let other = creator.other();
    // A (creator's implementation) adds B (the other implementation).
    let mut a = creator.creator(cfg, "alice");
    let b_join = other.joiner(cfg, "bob");
    let out = a.commit(&[b_join.key_package()], &[]);
    let mut b = b_join.join(&out.welcome.expect("a Welcome"));
    assert_eq!(check_agreement(&[&*a, &*b]), 1);

    // Application messages both ways.
    deliver_app(&mut *a, &mut [&mut b]);
    deliver_app(&mut *b, &mut [&mut a]);

    // B commits a self-update with a path; then A does.
    let out = b.commit(&[], &[]);
    assert!(out.welcome.is_none());
    deliver_commit(&out.commit, &mut [&mut a], &[]);
    assert_eq!(check_agreement(&[&*a, &*b]), 2);
    let out = a.commit(&[], &[]);
    deliver_commit(&out.commit, &mut [&mut b], &[]);
    assert_eq!(check_agreement(&[&*a, &*b]), 3);

    // B adds C (creator's implementation); A adds D (the other implementation).
    let c_join = creator.joiner(cfg, "carol");
    let out = b.commit(&[c_join.key_package()], &[]);
    deliver_commit(&out.commit, &mut [&mut a], &[]);
    let mut c = c_join.join(&out.welcome.expect("a Welcome"));
    assert_eq!(check_agreement(&[&*a, &*b, &*c]), 4);
    let d_join = other.joiner(cfg, "dave");
    let out = a.commit(&[d_join.key_package()], &[]);
    deliver_commit(&out.commit, &mut [&mut b, &mut c], &[]);
    let mut d = d_join.join(&out.welcome.expect("a Welcome"));
    assert_eq!(check_agreement(&[&*a, &*b, &*c, &*d]), 5);

    // Everyone talks to everyone.
    deliver_app(&mut *a, &mut [&mut b, &mut c, &mut d]);
    deliver_app(&mut *b, &mut [&mut a, &mut c, &mut d]);
    deliver_app(&mut *c, &mut [&mut a, &mut b, &mut d]);
    deliver_app(&mut *d, &mut [&mut a, &mut b, &mut c]);

    // B removes C; then A removes D.
    let (c_index, d_index) = (c.index(), d.index());
    let out = b.commit(&[], &[c_index]);
    deliver_commit(&out.commit, &mut [&mut a, &mut c, &mut d], &["carol"]);
    assert_eq!(check_agreement(&[&*a, &*b, &*d]), 6);
    let out = a.commit(&[], &[d_index]);
    deliver_commit(&out.commit, &mut [&mut b, &mut d], &["dave"]);
    assert_eq!(check_agreement(&[&*a, &*b]), 7);

    deliver_app(&mut *b, &mut [&mut a]);
    deliver_app(&mut *a, &mut [&mut b]);
}

#[test]
fn xwing_cohort_creates_openmls_joins() {
    run(
        Cfg {
            suite: XWING,
            private_handshake: true,
        },
        Impl::Cohort,
    );
}

#[test]
fn xwing_openmls_creates_cohort_joins() {
    run(
        Cfg {
            suite: XWING,
            private_handshake: true,
        },
        Impl::OpenMls,
    );
}

#[test]
fn xwing_public_handshake_both_ways() {
    for creator in [Impl::Cohort, Impl::OpenMls] {
        run(
            Cfg {
                suite: XWING,
                private_handshake: false,
            },
            creator,
        );
    }
}

#[test]
fn suite1_control_both_ways() {
    for creator in [Impl::Cohort, Impl::OpenMls] {
        for private_handshake in [true, false] {
            run(
                Cfg {
                    suite: 1,
                    private_handshake,
                },
                creator,
            );
        }
    }
}

/// Why the OpenMLS members above list the suite explicitly: an OpenMLS KeyPackage built with
/// default capabilities for 0x004D does not list 0x004D among its leaf's cipher suites, and
/// Cohort requires every member to support the group's suite (RFC 9420 §11.1).
#[test]
fn openmls_default_capabilities_omit_xwing() {
    let provider = Provider::default();
    let cfg = Cfg {
        suite: XWING,
        private_handshake: true,
    };
    let (signer, cwk) = openmls_identity(cfg, "erin", &provider);
    let bundle = KeyPackage::builder()
        .build(ciphersuite(XWING), &provider, &signer, cwk)
        .expect("OpenMLS builds a KeyPackage");
    let wire = MlsMessageOut::from(bundle.key_package().clone())
        .tls_serialize_detached()
        .expect("serializes");
    let kp = cohort_openmls_interop::key_package_from_wire(&wire);
    assert_eq!(kp.cipher_suite.0, XWING);
    let listed: Vec<u16> = kp
        .leaf_node
        .capabilities
        .cipher_suites
        .iter()
        .map(|c| c.0)
        .collect();
    eprintln!("OpenMLS default capabilities.cipher_suites: {listed:04x?}");
    assert!(!listed.contains(&XWING), "{listed:04x?}");
}
