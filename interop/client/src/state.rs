//! What the client keeps between RPCs, and every RPC as a plain function over it.
//!
//! Ids come from one counter, so `StorePSK`'s `state_or_transaction_id` names exactly one
//! state or pending join.

use crate::proto::*;
use crate::wire::{self, status};
use cohort::codec::{Bytes, Decode, Encode};
use cohort::crypto::{CipherSuite, SignaturePrivateKey, Suite};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, ExternalCommitOptions, ExternalProposer, Group, GroupConfig, GroupOptions,
    HandshakeFormat, JoinOptions, KeyPackageOptions, KeyPackageSecrets, MemoryPskStore,
    ReceivedMessage,
};
use cohort::messages::{
    Add, Credential, Extension, ExtensionType, ExternalSender, GroupContextExtensions, KeyPackage,
    PreSharedKey, Proposal, ProtocolVersion, ReInit, Remove,
};
use std::collections::HashMap;
use tonic::Status;

/// A member's state in one group.
struct Member {
    group: Group,
    psks: MemoryPskStore,
}

/// A KeyPackage waiting for its Welcome (or a new-member proposal awaiting its commit).
struct Joiner {
    key_package: KeyPackageSecrets,
    psks: MemoryPskStore,
}

/// An external sender's signing key (§12.1.8.1).
struct Signer {
    suite: CipherSuite,
    key: SignaturePrivateKey,
}

/// A member of a group that committed a ReInit: the old state and the KeyPackage for the
/// new group (§11.2).
struct Reinit {
    old: Group,
    key_package: KeyPackageSecrets,
    psks: MemoryPskStore,
    encrypt: bool,
}

/// Every state, pending join, external signer and reinitialisation of one client.
#[derive(Default)]
pub struct Store {
    next_id: u32,
    members: HashMap<u32, Member>,
    joiners: HashMap<u32, Joiner>,
    signers: HashMap<u32, Signer>,
    reinits: HashMap<u32, Reinit>,
}

/// The member policy for a state: handshake wire format as the harness asks.
fn config(encrypt_handshake: bool) -> GroupConfig {
    GroupConfig {
        handshake_format: if encrypt_handshake {
            HandshakeFormat::Private
        } else {
            HandshakeFormat::Public
        },
        ..GroupConfig::default()
    }
}

/// A fresh KeyPackage for `identity` under `suite`, as the harness's response carries it.
fn new_key_package(suite: &Suite, identity: &[u8]) -> Result<KeyPackageSecrets, Status> {
    let signer = suite.generate_signature_key_pair().map_err(status)?;
    KeyPackageSecrets::generate(
        suite,
        Credential::basic(identity.to_vec()),
        &signer,
        &KeyPackageOptions::default(),
    )
    .map_err(status)
}

/// Whether the harness asked for a proposal type (the `ProposalDescription` names it in
/// ASCII).
fn is(kind: &[u8], name: &str) -> bool {
    kind == name.as_bytes()
}

impl Store {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn member(&mut self, id: u32) -> Result<&mut Member, Status> {
        self.members
            .get_mut(&id)
            .ok_or_else(|| Status::not_found(format!("no state {id}")))
    }

    fn add_member(&mut self, group: Group, psks: MemoryPskStore) -> (u32, Vec<u8>) {
        let auth = group.epoch_authenticator().to_vec();
        let id = self.id();
        self.members.insert(id, Member { group, psks });
        (id, auth)
    }

    /// `CreateGroup`: a one-member group with a basic credential.
    pub fn create_group(&mut self, r: CreateGroupRequest) -> Result<CreateGroupResponse, Status> {
        let suite = wire::suite(r.cipher_suite)?;
        let signer = suite.generate_signature_key_pair().map_err(status)?;
        let group_id = (!r.group_id.is_empty()).then_some(r.group_id);
        let group = Group::create(
            suite.id(),
            group_id,
            Credential::basic(r.identity),
            signer,
            GroupOptions {
                config: config(r.encrypt_handshake),
                ..GroupOptions::default()
            },
        )
        .map_err(status)?;
        let (state_id, _) = self.add_member(group, MemoryPskStore::default());
        Ok(CreateGroupResponse { state_id })
    }

    /// `CreateKeyPackage`: a KeyPackage and, as the harness asks, its private keys.
    pub fn create_key_package(
        &mut self,
        r: CreateKeyPackageRequest,
    ) -> Result<CreateKeyPackageResponse, Status> {
        let suite = wire::suite(r.cipher_suite)?;
        let kp = new_key_package(&suite, &r.identity)?;
        let response = CreateKeyPackageResponse {
            transaction_id: 0,
            key_package: kp.to_message_bytes(),
            init_priv: kp.init_key.to_bytes().as_bytes().to_vec(),
            encryption_priv: kp.encryption_key.to_bytes().as_bytes().to_vec(),
            signature_priv: kp.signer.to_bytes().as_bytes().to_vec(),
        };
        let transaction_id = self.add_joiner(kp);
        Ok(CreateKeyPackageResponse {
            transaction_id,
            ..response
        })
    }

    fn add_joiner(&mut self, key_package: KeyPackageSecrets) -> u32 {
        let id = self.id();
        let psks = MemoryPskStore::default();
        self.joiners.insert(id, Joiner { key_package, psks });
        id
    }

    /// `JoinGroup`: join from a Welcome with a pending KeyPackage.
    pub fn join_group(&mut self, r: JoinGroupRequest) -> Result<JoinGroupResponse, Status> {
        let joiner = self
            .joiners
            .get(&r.transaction_id)
            .ok_or_else(|| Status::not_found(format!("no transaction {}", r.transaction_id)))?;
        let welcome = wire::message("Welcome", &r.welcome)?;
        let options = JoinOptions {
            ratchet_tree: wire::ratchet_tree(&r.ratchet_tree)?,
            config: config(r.encrypt_handshake),
            ..JoinOptions::default()
        };
        let (group, _) = Group::join_from(&welcome, &joiner.key_package, &joiner.psks, options)
            .map_err(status)?;
        let joiner = self
            .joiners
            .remove(&r.transaction_id)
            .expect("looked up above");
        let (state_id, epoch_authenticator) = self.add_member(group, joiner.psks);
        Ok(JoinGroupResponse {
            state_id,
            epoch_authenticator,
        })
    }

    /// `ExternalJoin`: join by external commit, optionally replacing our earlier leaf.
    pub fn external_join(
        &mut self,
        r: ExternalJoinRequest,
    ) -> Result<ExternalJoinResponse, Status> {
        let (msg, gi) = wire::group_info(&r.group_info)?;
        let suite = wire::suite(gi.group_context.cipher_suite.0.into())?;
        let tree = wire::tree_of(&gi, &r.ratchet_tree)?;
        let resync_remove = if r.remove_prior {
            Some(wire::leaf_of_identity(&tree, &r.identity)?)
        } else {
            None
        };
        let mut psks = MemoryPskStore::default();
        let mut ids = Vec::with_capacity(r.psks.len());
        for psk in &r.psks {
            psks.insert_external(
                &psk.psk_id,
                cohort::crypto::Secret::from_slice(&psk.psk_secret),
            );
            ids.push(wire::external_psk_id(&suite, &psk.psk_id)?);
        }
        let signer = suite.generate_signature_key_pair().map_err(status)?;
        let options = ExternalCommitOptions {
            ratchet_tree: wire::ratchet_tree(&r.ratchet_tree)?,
            resync_remove,
            psks: ids,
            config: config(r.encrypt_handshake),
            ..ExternalCommitOptions::default()
        };
        let (group, commit) =
            Group::join_external(&msg, Credential::basic(r.identity), signer, &psks, options)
                .map_err(status)?;
        let (state_id, epoch_authenticator) = self.add_member(group, psks);
        Ok(ExternalJoinResponse {
            state_id,
            commit: commit.to_bytes(),
            epoch_authenticator,
        })
    }

    /// `GroupInfo`: a signed GroupInfo, with the tree inside or beside it.
    pub fn group_info(&mut self, r: GroupInfoRequest) -> Result<GroupInfoResponse, Status> {
        let m = self.member(r.state_id)?;
        let saved = m.group.config().clone();
        m.group.set_config(GroupConfig {
            ratchet_tree_extension: !r.external_tree,
            ..saved.clone()
        });
        let gi = m.group.group_info();
        m.group.set_config(saved);
        let ratchet_tree = if r.external_tree {
            m.group.tree().to_wire_bytes()
        } else {
            Vec::new()
        };
        Ok(GroupInfoResponse {
            group_info: gi.map_err(status)?.to_bytes(),
            ratchet_tree,
        })
    }

    /// `StateAuth`: the epoch authenticator (§8.7).
    pub fn state_auth(&mut self, r: StateAuthRequest) -> Result<StateAuthResponse, Status> {
        let g = &self.member(r.state_id)?.group;
        Ok(StateAuthResponse {
            state_auth_secret: g.epoch_authenticator().to_vec(),
        })
    }

    /// `Export`: `MLS-Exporter` (§8.5).
    pub fn export(&mut self, r: ExportRequest) -> Result<ExportResponse, Status> {
        let g = &self.member(r.state_id)?.group;
        let secret = g
            .export_secret(&r.label, &r.context, r.key_length as usize)
            .map_err(status)?;
        Ok(ExportResponse {
            exported_secret: secret.as_bytes().to_vec(),
        })
    }

    /// `Protect`: an application message.
    pub fn protect(&mut self, r: ProtectRequest) -> Result<ProtectResponse, Status> {
        let g = &mut self.member(r.state_id)?.group;
        let msg = g
            .send_application(&r.plaintext, &r.authenticated_data)
            .map_err(status)?;
        Ok(ProtectResponse {
            ciphertext: msg.to_bytes(),
        })
    }

    /// `Unprotect`: read an application message.
    pub fn unprotect(&mut self, r: UnprotectRequest) -> Result<UnprotectResponse, Status> {
        let m = self.member(r.state_id)?;
        let msg = wire::message("application message", &r.ciphertext)?;
        match m.group.process_message(msg, &m.psks).map_err(status)? {
            ReceivedMessage::Application {
                data,
                authenticated_data,
                ..
            } => Ok(UnprotectResponse {
                authenticated_data,
                plaintext: data,
            }),
            _ => Err(Status::invalid_argument("not an application message")),
        }
    }

    /// `StorePSK`: an external PSK for a state or a pending join.
    pub fn store_psk(&mut self, r: StorePskRequest) -> Result<StorePskResponse, Status> {
        let id = r.state_or_transaction_id;
        let secret = cohort::crypto::Secret::from_slice(&r.psk_secret);
        if let Some(m) = self.members.get_mut(&id) {
            m.psks.insert_external(&r.psk_id, secret);
        } else if let Some(j) = self.joiners.get_mut(&id) {
            j.psks.insert_external(&r.psk_id, secret);
        } else if let Some(ri) = self.reinits.get_mut(&id) {
            ri.psks.insert_external(&r.psk_id, secret);
        } else {
            return Err(Status::not_found(format!("no state or transaction {id}")));
        }
        Ok(StorePskResponse {})
    }

    /// Any of the member proposal RPCs: send `proposal` from state `id`.
    pub fn propose(&mut self, id: u32, proposal: Proposal) -> Result<ProposalResponse, Status> {
        let g = &mut self.member(id)?.group;
        let msg = g.propose(proposal).map_err(status)?;
        Ok(ProposalResponse {
            proposal: msg.to_bytes(),
        })
    }

    /// `UpdateProposal`: a fresh encryption key for our leaf (§12.1.2).
    pub fn update_proposal(&mut self, id: u32) -> Result<ProposalResponse, Status> {
        let g = &mut self.member(id)?.group;
        let msg = g.propose_update().map_err(status)?;
        Ok(ProposalResponse {
            proposal: msg.to_bytes(),
        })
    }

    /// The proposal a `ProposalDescription` describes, as state `id` would send it.
    pub fn described(&mut self, id: u32, d: &ProposalDescription) -> Result<Proposal, Status> {
        let g = &self.member(id)?.group;
        let suite = g.suite();
        let kind = d.proposal_type.as_slice();
        Ok(if is(kind, "add") {
            Proposal::Add(Box::new(Add {
                key_package: key_package(&d.key_package)?,
            }))
        } else if is(kind, "remove") {
            let removed = g
                .member_by_identity(&d.removed_id)
                .ok_or_else(|| wire::not_a_member(&d.removed_id))?;
            Proposal::Remove(Remove { removed })
        } else if is(kind, "externalPSK") {
            let psk = wire::external_psk_id(&suite, &d.psk_id)?;
            Proposal::PreSharedKey(PreSharedKey { psk })
        } else if is(kind, "resumptionPSK") {
            let psk = wire::resumption_psk_id(&suite, g.group_id(), d.epoch_id)?;
            Proposal::PreSharedKey(PreSharedKey { psk })
        } else if is(kind, "groupContextExtensions") {
            Proposal::GroupContextExtensions(GroupContextExtensions {
                extensions: wire::extensions(&d.extensions)?,
            })
        } else {
            return Err(Status::invalid_argument(format!(
                "proposal type {:?} cannot be committed by value",
                String::from_utf8_lossy(kind)
            )));
        })
    }

    /// `AddExternalSigner`: propose the group's `external_senders` plus one more (§12.1.8.1).
    pub fn add_external_signer(
        &mut self,
        r: AddExternalSignerRequest,
    ) -> Result<ProposalResponse, Status> {
        let sender = ExternalSender::decode_exact(&r.external_sender)
            .map_err(|e| wire::decode_status("ExternalSender", e))?;
        let g = &self.member(r.state_id)?.group;
        let mut extensions = g.context().extensions.clone();
        let mut senders = extensions
            .external_senders()
            .map_err(|e| wire::decode_status("external_senders", e))?
            .unwrap_or_default();
        senders.push(sender);
        extensions.insert(Extension::new(ExtensionType::EXTERNAL_SENDERS, &senders));
        self.propose(
            r.state_id,
            Proposal::GroupContextExtensions(GroupContextExtensions { extensions }),
        )
    }

    /// `Commit` and `ReInitCommit`: take the listed proposals in, then commit them, our own
    /// and those described by value.
    pub fn commit(&mut self, r: CommitRequest) -> Result<CommitResponse, Status> {
        let mut options = CommitOptions {
            force_path: r.force_path,
            ..CommitOptions::default()
        };
        for d in &r.by_value {
            match self.described(r.state_id, d)? {
                Proposal::Add(add) => options.add.push(add.key_package),
                Proposal::Remove(rm) => options.remove.push(rm.removed),
                Proposal::PreSharedKey(p) => options.psks.push(p.psk),
                Proposal::GroupContextExtensions(g) => {
                    options.group_context_extensions = Some(g.extensions)
                }
                _ => return Err(Status::internal("unexpected by-value proposal")),
            }
        }
        let m = self.member(r.state_id)?;
        for bytes in &r.by_reference {
            let msg = wire::message("proposal", bytes)?;
            match m.group.process_message(msg, &m.psks).map_err(status)? {
                ReceivedMessage::Proposal(_) => {}
                _ => {
                    return Err(Status::invalid_argument(
                        "by_reference holds a non-proposal",
                    ))
                }
            }
        }
        let saved = m.group.config().clone();
        m.group.set_config(GroupConfig {
            ratchet_tree_extension: !r.external_tree,
            ..saved.clone()
        });
        let out = m.group.commit(options, &m.psks);
        m.group.set_config(saved);
        let out = out.map_err(status)?;
        let ratchet_tree = match (r.external_tree, m.group.pending_commit_tree()) {
            (true, Some(tree)) => tree.to_wire_bytes(),
            _ => Vec::new(),
        };
        Ok(CommitResponse {
            commit: out.commit.to_bytes(),
            welcome: out.welcome.map(|w| w.to_bytes()).unwrap_or_default(),
            ratchet_tree,
        })
    }

    /// `HandleCommit`: take the proposals in, then process and merge the commit.
    pub fn handle_commit(
        &mut self,
        r: HandleCommitRequest,
    ) -> Result<HandleCommitResponse, Status> {
        let m = self.member(r.state_id)?;
        for bytes in &r.proposal {
            let msg = wire::message("proposal", bytes)?;
            if !matches!(
                m.group.process_message(msg, &m.psks).map_err(status)?,
                ReceivedMessage::Proposal(_)
            ) {
                return Err(Status::invalid_argument(
                    "proposal list holds a non-proposal",
                ));
            }
        }
        let msg = wire::message("commit", &r.commit)?;
        match m.group.process_message(msg, &m.psks).map_err(status)? {
            ReceivedMessage::Commit(staged) => {
                m.group.merge_staged_commit(*staged).map_err(status)?
            }
            _ => return Err(Status::invalid_argument("not a commit")),
        }
        Ok(HandleCommitResponse {
            state_id: r.state_id,
            epoch_authenticator: m.group.epoch_authenticator().to_vec(),
        })
    }

    /// `HandlePendingCommit`: the Delivery Service accepted our commit.
    pub fn handle_pending_commit(
        &mut self,
        r: HandlePendingCommitRequest,
    ) -> Result<HandleCommitResponse, Status> {
        let g = &mut self.member(r.state_id)?.group;
        g.confirm_pending_commit().map_err(status)?;
        Ok(HandleCommitResponse {
            state_id: r.state_id,
            epoch_authenticator: g.epoch_authenticator().to_vec(),
        })
    }

    /// After a ReInit commit is merged in state `id`: a KeyPackage for the new group, and
    /// the old state kept under a reinit id (§11.2).
    fn start_reinit(&mut self, id: u32) -> Result<HandleReInitCommitResponse, Status> {
        let m = self
            .members
            .remove(&id)
            .ok_or_else(|| Status::not_found(format!("no state {id}")))?;
        let Some(reinit) = m.group.pending_reinit().cloned() else {
            self.members.insert(id, m);
            return Err(Status::failed_precondition("the commit carried no ReInit"));
        };
        let identity = match m.group.member(m.group.own_leaf_index()) {
            Some(leaf) => match &leaf.credential {
                Credential::Basic { identity } => identity.to_vec(),
                _ => return Err(Status::internal("own credential is not basic")),
            },
            None => return Err(Status::internal("own leaf is blank")),
        };
        let suite = Suite::new(reinit.cipher_suite).map_err(status)?;
        let key_package = new_key_package(&suite, &identity)?;
        let encrypt = m.group.config().handshake_format == HandshakeFormat::Private;
        let response = HandleReInitCommitResponse {
            reinit_id: 0,
            key_package: key_package.to_message_bytes(),
            epoch_authenticator: m.group.epoch_authenticator().to_vec(),
        };
        let reinit_id = self.id();
        self.reinits.insert(
            reinit_id,
            Reinit {
                old: m.group,
                key_package,
                psks: m.psks,
                encrypt,
            },
        );
        Ok(HandleReInitCommitResponse {
            reinit_id,
            ..response
        })
    }

    /// `HandlePendingReInitCommit`.
    pub fn handle_pending_reinit_commit(
        &mut self,
        r: HandlePendingCommitRequest,
    ) -> Result<HandleReInitCommitResponse, Status> {
        self.handle_pending_commit(r)?;
        self.start_reinit(r.state_id)
    }

    /// `HandleReInitCommit`.
    pub fn handle_reinit_commit(
        &mut self,
        r: HandleCommitRequest,
    ) -> Result<HandleReInitCommitResponse, Status> {
        let id = r.state_id;
        self.handle_commit(r)?;
        self.start_reinit(id)
    }

    /// `ReInitWelcome`: create the new group with the other members' new KeyPackages.
    pub fn reinit_welcome(
        &mut self,
        r: ReInitWelcomeRequest,
    ) -> Result<CreateSubgroupResponse, Status> {
        let ri = self
            .reinits
            .get(&r.reinit_id)
            .ok_or_else(|| Status::not_found(format!("no reinit {}", r.reinit_id)))?;
        let kps = r
            .key_package
            .iter()
            .map(|b| key_package(b))
            .collect::<Result<Vec<_>, _>>()?;
        let options = GroupOptions {
            config: GroupConfig {
                ratchet_tree_extension: !r.external_tree,
                ..config(ri.encrypt)
            },
            ..GroupOptions::default()
        };
        let (encrypt, psks) = (ri.encrypt, ri.psks.clone());
        let (group, out) = ri
            .old
            .reinit(ri.key_package.signer.clone(), kps, options)
            .map_err(status)?;
        self.subgroup(group, psks, out.welcome, r.external_tree, encrypt)
    }

    /// A new group made by reinit or branch, stored, with its Welcome for the others.
    fn subgroup(
        &mut self,
        mut group: Group,
        psks: MemoryPskStore,
        welcome: Option<MLSMessage>,
        external_tree: bool,
        encrypt: bool,
    ) -> Result<CreateSubgroupResponse, Status> {
        group.set_config(config(encrypt));
        let ratchet_tree = if external_tree {
            group.tree().to_wire_bytes()
        } else {
            Vec::new()
        };
        let welcome = welcome.map(|w| w.to_bytes()).unwrap_or_default();
        let (state_id, epoch_authenticator) = self.add_member(group, psks);
        Ok(CreateSubgroupResponse {
            state_id,
            welcome,
            ratchet_tree,
            epoch_authenticator,
        })
    }

    /// `HandleReInitWelcome`: join the new group, resuming the old one.
    pub fn handle_reinit_welcome(
        &mut self,
        r: HandleReInitWelcomeRequest,
    ) -> Result<JoinGroupResponse, Status> {
        let ri = self
            .reinits
            .get(&r.reinit_id)
            .ok_or_else(|| Status::not_found(format!("no reinit {}", r.reinit_id)))?;
        let welcome = wire::message("Welcome", &r.welcome)?;
        let options = JoinOptions {
            ratchet_tree: wire::ratchet_tree(&r.ratchet_tree)?,
            resumed_group: Some(&ri.old),
            config: config(ri.encrypt),
            ..JoinOptions::default()
        };
        let (group, _) =
            Group::join_from(&welcome, &ri.key_package, &ri.psks, options).map_err(status)?;
        let psks = ri.psks.clone();
        let (state_id, epoch_authenticator) = self.add_member(group, psks);
        Ok(JoinGroupResponse {
            state_id,
            epoch_authenticator,
        })
    }

    /// `CreateBranch`: a subgroup of state `state_id` (§11.3).
    pub fn create_branch(
        &mut self,
        r: CreateBranchRequest,
    ) -> Result<CreateSubgroupResponse, Status> {
        let kps = r
            .key_packages
            .iter()
            .map(|b| key_package(b))
            .collect::<Result<Vec<_>, _>>()?;
        let extensions = wire::extensions(&r.extensions)?;
        let m = self.member(r.state_id)?;
        let encrypt = m.group.config().handshake_format == HandshakeFormat::Private;
        let options = GroupOptions {
            extensions,
            config: GroupConfig {
                ratchet_tree_extension: !r.external_tree,
                ..config(encrypt)
            },
            ..GroupOptions::default()
        };
        let (group, out) = m.group.branch(r.group_id, kps, options).map_err(status)?;
        let psks = m.psks.clone();
        self.subgroup(group, psks, out.welcome, r.external_tree, encrypt)
    }

    /// `HandleBranch`: join a subgroup of state `state_id` with a pending KeyPackage.
    pub fn handle_branch(
        &mut self,
        r: HandleBranchRequest,
    ) -> Result<HandleBranchResponse, Status> {
        let joiner = self
            .joiners
            .get(&r.transaction_id)
            .ok_or_else(|| Status::not_found(format!("no transaction {}", r.transaction_id)))?;
        let m = self
            .members
            .get(&r.state_id)
            .ok_or_else(|| Status::not_found(format!("no state {}", r.state_id)))?;
        let welcome = wire::message("Welcome", &r.welcome)?;
        let encrypt = m.group.config().handshake_format == HandshakeFormat::Private;
        let options = JoinOptions {
            ratchet_tree: wire::ratchet_tree(&r.ratchet_tree)?,
            resumed_group: Some(&m.group),
            config: config(encrypt),
            ..JoinOptions::default()
        };
        let (group, _) =
            Group::join_from(&welcome, &joiner.key_package, &m.psks, options).map_err(status)?;
        let psks = m.psks.clone();
        self.joiners.remove(&r.transaction_id);
        let (state_id, epoch_authenticator) = self.add_member(group, psks);
        Ok(HandleBranchResponse {
            state_id,
            epoch_authenticator,
        })
    }

    /// `NewMemberAddProposal`: a KeyPackage and an Add of it signed by its owner (§12.1.8).
    pub fn new_member_add_proposal(
        &mut self,
        r: NewMemberAddProposalRequest,
    ) -> Result<NewMemberAddProposalResponse, Status> {
        let (_, gi) = wire::group_info(&r.group_info)?;
        let ctx = &gi.group_context;
        let suite = wire::suite(ctx.cipher_suite.0.into())?;
        let kp = new_key_package(&suite, &r.identity)?;
        let proposal = Group::new_member_proposal(&ctx.group_id, ctx.epoch, &kp, b"")
            .map_err(status)?
            .to_bytes();
        let response = NewMemberAddProposalResponse {
            transaction_id: 0,
            proposal,
            init_priv: kp.init_key.to_bytes().as_bytes().to_vec(),
            encryption_priv: kp.encryption_key.to_bytes().as_bytes().to_vec(),
            signature_priv: kp.signer.to_bytes().as_bytes().to_vec(),
        };
        let transaction_id = self.add_joiner(kp);
        Ok(NewMemberAddProposalResponse {
            transaction_id,
            ..response
        })
    }

    /// `CreateExternalSigner`: a signing key and its `ExternalSender` entry.
    pub fn create_external_signer(
        &mut self,
        r: CreateExternalSignerRequest,
    ) -> Result<CreateExternalSignerResponse, Status> {
        let suite = wire::suite(r.cipher_suite)?;
        let key = suite.generate_signature_key_pair().map_err(status)?;
        let external_sender = ExternalSender {
            signature_key: Bytes(key.public_key().to_vec()),
            credential: Credential::basic(r.identity),
        }
        .to_bytes();
        let signer_id = self.id();
        self.signers.insert(
            signer_id,
            Signer {
                suite: suite.id(),
                key,
            },
        );
        Ok(CreateExternalSignerResponse {
            signer_id,
            external_sender,
        })
    }

    /// `ExternalSignerProposal`: a proposal from an external sender, for the group and epoch
    /// of the GroupInfo given.
    pub fn external_signer_proposal(
        &mut self,
        r: ExternalSignerProposalRequest,
    ) -> Result<ProposalResponse, Status> {
        let signer = self
            .signers
            .get(&r.signer_id)
            .ok_or_else(|| Status::not_found(format!("no signer {}", r.signer_id)))?;
        let (_, gi) = wire::group_info(&r.group_info)?;
        let ctx = &gi.group_context;
        let suite = Suite::new(ctx.cipher_suite).map_err(status)?;
        let d = r
            .description
            .ok_or_else(|| Status::invalid_argument("no proposal description"))?;
        let kind = d.proposal_type.as_slice();
        let proposal = if is(kind, "add") {
            Proposal::Add(Box::new(Add {
                key_package: key_package(&d.key_package)?,
            }))
        } else if is(kind, "remove") {
            let tree = wire::tree_of(&gi, &r.ratchet_tree)?;
            Proposal::Remove(Remove {
                removed: wire::leaf_of_identity(&tree, &d.removed_id)?,
            })
        } else if is(kind, "externalPSK") {
            let psk = wire::external_psk_id(&suite, &d.psk_id)?;
            Proposal::PreSharedKey(PreSharedKey { psk })
        } else if is(kind, "resumptionPSK") {
            let psk = wire::resumption_psk_id(&suite, &ctx.group_id, d.epoch_id)?;
            Proposal::PreSharedKey(PreSharedKey { psk })
        } else if is(kind, "groupContextExtensions") {
            Proposal::GroupContextExtensions(GroupContextExtensions {
                extensions: wire::extensions(&d.extensions)?,
            })
        } else if is(kind, "reinit") {
            Proposal::ReInit(ReInit {
                group_id: Bytes(d.group_id.clone()),
                version: ProtocolVersion::MLS10,
                cipher_suite: wire::suite(d.cipher_suite)?.id(),
                extensions: wire::extensions(&d.extensions)?,
            })
        } else {
            return Err(Status::invalid_argument(format!(
                "unknown proposal type {:?}",
                String::from_utf8_lossy(kind)
            )));
        };
        let proposer = ExternalProposer::new(signer.suite, r.signer_index, signer.key.clone())
            .map_err(status)?;
        let msg = proposer
            .propose(&ctx.group_id, ctx.epoch, proposal, b"")
            .map_err(status)?;
        Ok(ProposalResponse {
            proposal: msg.to_bytes(),
        })
    }

    /// `Free`: forget a state (and anything else under that id).
    pub fn free(&mut self, r: FreeRequest) -> Result<FreeResponse, Status> {
        self.members.remove(&r.state_id);
        self.joiners.remove(&r.state_id);
        self.reinits.remove(&r.state_id);
        self.signers.remove(&r.state_id);
        Ok(FreeResponse {})
    }
}

/// A KeyPackage from its `MLSMessage` bytes.
fn key_package(bytes: &[u8]) -> Result<KeyPackage, Status> {
    KeyPackage::from_message_bytes(bytes).map_err(status)
}
