//! Helpers shared by the OpenMLS interop tests (`tests/openmls.rs`): the Cohort side of a
//! member, driven through wire bytes only (`MLSMessage` encodings, RFC 9420 §6).
#![forbid(unsafe_code)]

use cohort::codec::{Decode, Encode};
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{
    CommitOptions, Group, GroupConfig, GroupOptions, HandshakeFormat, JoinOptions,
    KeyPackageOptions, KeyPackageSecrets, NoPsks, ReceivedMessage,
};
use cohort::messages::{Credential, KeyPackage};

/// What processing one message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// An application message from the member at leaf `sender`.
    App {
        /// Leaf index of the sender.
        sender: u32,
        /// The plaintext.
        data: Vec<u8>,
    },
    /// A commit, merged; `removed_us` if it removed the receiver.
    Commit {
        /// Whether the receiver is no longer a member.
        removed_us: bool,
    },
}

/// A commit and, if it added members, the Welcome, both as `MLSMessage` bytes.
pub struct CommitOut {
    /// The commit.
    pub commit: Vec<u8>,
    /// The Welcome for the added members (ratchet tree in band).
    pub welcome: Option<Vec<u8>>,
}

/// Decode wire bytes into a Cohort message, panicking with context on failure.
pub fn from_wire(bytes: &[u8]) -> MLSMessage {
    MLSMessage::decode_exact(bytes)
        .unwrap_or_else(|e| panic!("Cohort cannot decode an MLSMessage: {e:?}"))
}

/// Decode a KeyPackage published as an `MLSMessage`.
pub fn key_package_from_wire(bytes: &[u8]) -> KeyPackage {
    match from_wire(bytes).body {
        MLSMessageBody::KeyPackage(kp) => *kp,
        other => panic!(
            "expected a KeyPackage, got {:?}",
            std::mem::discriminant(&other)
        ),
    }
}

/// Handshake messages as PrivateMessage (OpenMLS's default policy, pure ciphertext) or
/// PublicMessage; the ratchet tree always travels in the Welcome.
fn config(private_handshake: bool) -> GroupConfig {
    GroupConfig {
        handshake_format: if private_handshake {
            HandshakeFormat::Private
        } else {
            HandshakeFormat::Public
        },
        ratchet_tree_extension: true,
        ..GroupConfig::default()
    }
}

/// A Cohort group member.
pub struct CohortMember {
    /// The group state.
    pub group: Group,
}

impl CohortMember {
    /// Create a one-member group with a basic credential.
    pub fn create(suite: u16, name: &str, group_id: &[u8], private_handshake: bool) -> Self {
        let s = Suite::new(CipherSuite(suite)).expect("suite");
        let signer = s.generate_signature_key_pair().expect("signature key");
        let group = Group::create(
            CipherSuite(suite),
            group_id.to_vec(),
            Credential::basic(name.as_bytes().to_vec()),
            signer,
            GroupOptions {
                config: config(private_handshake),
                ..GroupOptions::default()
            },
        )
        .expect("Cohort creates a group");
        CohortMember { group }
    }

    /// Leaf index.
    pub fn index(&self) -> u32 {
        self.group.own_leaf_index()
    }

    /// Current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.epoch()
    }

    /// Epoch authenticator (§8.7).
    pub fn authenticator(&self) -> Vec<u8> {
        self.group.epoch_authenticator().to_vec()
    }

    /// MLS-Exporter(label, context, 32) (§8.5).
    pub fn export(&self, label: &str, context: &[u8]) -> Vec<u8> {
        self.group
            .export_secret(label, context, 32)
            .expect("export")
            .as_bytes()
            .to_vec()
    }

    /// Encrypt an application message.
    pub fn send(&mut self, data: &[u8]) -> Vec<u8> {
        self.group
            .send_application(data, b"")
            .expect("Cohort sends")
            .to_bytes()
    }

    /// Process a message; a commit is merged at once.
    pub fn process(&mut self, msg: &[u8]) -> Event {
        let received = self
            .group
            .process_message(from_wire(msg), &NoPsks)
            .unwrap_or_else(|e| panic!("Cohort rejects a message: {e:?}"));
        match received {
            ReceivedMessage::Application { sender, data, .. } => Event::App { sender, data },
            ReceivedMessage::Commit(staged) => {
                let removed_us = staged.summary.removes_us;
                self.group.merge_staged_commit(*staged).expect("merge");
                Event::Commit { removed_us }
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Commit these Adds (KeyPackages as `MLSMessage`) and Removes with an UpdatePath.
    pub fn commit(&mut self, adds: &[Vec<u8>], removes: &[u32]) -> CommitOut {
        let out = self
            .group
            .commit(
                CommitOptions {
                    add: adds.iter().map(|b| key_package_from_wire(b)).collect(),
                    remove: removes.to_vec(),
                    force_path: true,
                    ..Default::default()
                },
                &NoPsks,
            )
            .unwrap_or_else(|e| panic!("Cohort cannot commit: {e:?}"));
        self.group.confirm_pending_commit().expect("confirm");
        CommitOut {
            commit: out.commit.to_bytes(),
            welcome: out.welcome.as_ref().map(|w| w.to_bytes()),
        }
    }
}

/// A Cohort client that has published a KeyPackage and waits for a Welcome.
pub struct CohortJoiner {
    kp: KeyPackageSecrets,
    /// The KeyPackage as an `MLSMessage`.
    pub key_package: Vec<u8>,
    private_handshake: bool,
}

impl CohortJoiner {
    /// A fresh identity and KeyPackage.
    pub fn new(suite: u16, name: &str, private_handshake: bool) -> Self {
        let s = Suite::new(CipherSuite(suite)).expect("suite");
        let signer = s.generate_signature_key_pair().expect("signature key");
        let kp = KeyPackageSecrets::generate(
            &s,
            Credential::basic(name.as_bytes().to_vec()),
            &signer,
            &KeyPackageOptions::default(),
        )
        .expect("key package");
        let key_package =
            MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp.key_package.clone())))
                .to_bytes();
        CohortJoiner {
            kp,
            key_package,
            private_handshake,
        }
    }

    /// Join from a Welcome that carries the ratchet tree.
    pub fn join(self, welcome: &[u8]) -> CohortMember {
        let group = Group::join(
            &from_wire(welcome),
            &self.kp,
            &NoPsks,
            JoinOptions {
                config: config(self.private_handshake),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("Cohort cannot join from the Welcome: {e:?}"));
        CohortMember { group }
    }
}
