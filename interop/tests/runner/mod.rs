//! One run of one script: actors mapped to gRPC clients, each action turned into RPCs as
//! `configs/FORMAT.md` describes, and the group state verified after every change.

use base64::Engine;
use cohort_interop_client::proto::mls_client_client::MlsClientClient;
use cohort_interop_client::proto::*;
use serde_json::Value;
use std::collections::HashMap;
use tonic::transport::Channel;

/// A gRPC client of one `MLSClient` server.
pub type Client = MlsClientClient<Channel>;

/// What an actor has: its client (fixed at first sight) and its current state or join.
#[derive(Default, Clone)]
struct Actor {
    client: usize,
    state: Option<u32>,
    transaction: Option<u32>,
    reinit: Option<u32>,
    signer: Option<u32>,
}

/// The logged output of one action, referred to by later actions by index.
#[derive(Default, Clone)]
struct Output {
    /// Who produced it.
    actor: String,
    key_package: Vec<u8>,
    proposal: Vec<u8>,
    commit: Vec<u8>,
    welcome: Vec<u8>,
    ratchet_tree: Vec<u8>,
    ciphertext: Vec<u8>,
    plaintext: Vec<u8>,
    authenticated_data: Vec<u8>,
    psk_id: Vec<u8>,
    psk_secret: Vec<u8>,
}

/// The state of one script run.
pub struct Run<'a> {
    clients: &'a [Client],
    suite: u32,
    encrypt: bool,
    group_id: Vec<u8>,
    actors: HashMap<String, Actor>,
    outputs: Vec<Output>,
    /// External signers added so far, in order: their index in `external_senders`.
    signer_index: HashMap<String, u32>,
    /// The members of the last verified epoch (for the closing check).
    group: Vec<String>,
    /// Counter for fresh group ids and PSK ids.
    fresh: u32,
}

mod resume;

type R<T> = Result<T, String>;

fn rpc<T>(what: &str, r: Result<tonic::Response<T>, tonic::Status>) -> R<T> {
    r.map(tonic::Response::into_inner)
        .map_err(|s| format!("{what}: {:?} {}", s.code(), s.message()))
}

fn str_field<'v>(a: &'v Value, key: &str) -> R<&'v str> {
    a[key].as_str().ok_or(format!("missing string {key}"))
}

fn index(a: &Value, key: &str) -> R<usize> {
    a[key]
        .as_u64()
        .map(|i| i as usize)
        .ok_or(format!("missing index {key}"))
}

fn names(a: &Value, key: &str) -> Vec<String> {
    a[key]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn indices(a: &Value, key: &str) -> Vec<usize> {
    a[key]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_u64().map(|i| i as usize))
                .collect()
        })
        .unwrap_or_default()
}

/// A flag the configs spell either way (`force_path` / `forcePath`).
fn flag(a: &Value, snake: &str, camel: &str) -> bool {
    a[snake].as_bool().or(a[camel].as_bool()).unwrap_or(false)
}

/// The configs' `{extension_type, extension_data (base64)}` list.
fn extensions(a: &Value) -> R<Vec<Extension>> {
    let Some(list) = a["extensions"].as_array() else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|e| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(e["extension_data"].as_str().unwrap_or(""))
                .map_err(|e| format!("extension_data: {e}"))?;
            Ok(Extension {
                extension_type: e["extension_type"].as_u64().ok_or("extension_type")? as u32,
                extension_data: data,
            })
        })
        .collect()
}

impl<'a> Run<'a> {
    /// A run of one script with `suite` and handshake encryption `encrypt`.
    pub fn new(clients: &'a [Client], suite: u32, encrypt: bool, label: &str) -> Self {
        Run {
            clients,
            suite,
            encrypt,
            group_id: label.as_bytes().to_vec(),
            actors: HashMap::new(),
            outputs: Vec::new(),
            signer_index: HashMap::new(),
            group: Vec::new(),
            fresh: 0,
        }
    }

    /// The actor `name`, created on the next client in turn if new.
    fn actor(&mut self, name: &str) -> &mut Actor {
        let n = self.actors.len();
        let clients = self.clients.len();
        self.actors
            .entry(name.to_string())
            .or_insert_with(|| Actor {
                client: n % clients,
                ..Actor::default()
            })
    }

    fn client(&mut self, name: &str) -> Client {
        let i = self.actor(name).client;
        self.clients[i].clone()
    }

    fn state(&mut self, name: &str) -> R<u32> {
        self.actor(name)
            .state
            .ok_or(format!("{name} has no group state"))
    }

    fn out(&self, i: usize) -> R<&Output> {
        self.outputs
            .get(i)
            .ok_or(format!("no output of action {i}"))
    }

    fn fresh_id(&mut self, what: &str) -> Vec<u8> {
        self.fresh += 1;
        let mut id = self.group_id.clone();
        id.extend_from_slice(format!("/{what}{}", self.fresh).as_bytes());
        id
    }

    /// Run every action of `script`, then check that every member of the final group can
    /// send to another.
    pub async fn script(&mut self, script: &[Value]) -> R<()> {
        for (i, action) in script.iter().enumerate() {
            let name = action["action"].as_str().unwrap_or("?");
            let out = self
                .action(action)
                .await
                .map_err(|e| format!("step {i} ({name}): {e}"))?;
            self.outputs.push(out);
        }
        self.closing_check().await
    }

    async fn action(&mut self, a: &Value) -> R<Output> {
        let actor = a["actor"].as_str().unwrap_or("").to_string();
        let mut out = Output {
            actor: actor.clone(),
            ..Output::default()
        };
        match str_field(a, "action")? {
            "createGroup" => self.create_group(&actor, &names(a, "members")).await?,
            "createKeyPackage" => out.key_package = self.create_key_package(&actor).await?,
            "addProposal" => {
                let key_package = self.out(index(a, "keyPackage")?)?.key_package.clone();
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .add_proposal(AddProposalRequest {
                        state_id,
                        key_package,
                    })
                    .await;
                out.proposal = rpc("AddProposal", r)?.proposal;
            }
            "removeProposal" => {
                let removed_id = str_field(a, "removed")?.as_bytes().to_vec();
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .remove_proposal(RemoveProposalRequest {
                        state_id,
                        removed_id,
                    })
                    .await;
                out.proposal = rpc("RemoveProposal", r)?.proposal;
            }
            "updateProposal" => {
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .update_proposal(UpdateProposalRequest { state_id })
                    .await;
                out.proposal = rpc("UpdateProposal", r)?.proposal;
            }
            "groupContextExtensionsProposal" => {
                let extensions = extensions(a)?;
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .group_context_extensions_proposal(GroupContextExtensionsProposalRequest {
                        state_id,
                        extensions,
                    })
                    .await;
                out.proposal = rpc("GroupContextExtensionsProposal", r)?.proposal;
            }
            "externalPSKProposal" => {
                let psk_id = self.out(index(a, "pskID")?)?.psk_id.clone();
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .external_psk_proposal(ExternalPskProposalRequest { state_id, psk_id })
                    .await;
                out.proposal = rpc("ExternalPSKProposal", r)?.proposal;
            }
            "resumptionPSKProposal" => {
                let epoch_id = a["epochID"].as_u64().ok_or("epochID")?;
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .resumption_psk_proposal(ResumptionPskProposalRequest { state_id, epoch_id })
                    .await;
                out.proposal = rpc("ResumptionPSKProposal", r)?.proposal;
            }
            "installExternalPSK" => {
                let id = self.fresh_id("psk");
                let secret: Vec<u8> = id.iter().rev().copied().chain(*b"secret").collect();
                for name in names(a, "clients") {
                    let a = self.actor(&name).clone();
                    let Some(id_of) = a.state.or(a.transaction) else {
                        continue;
                    };
                    let r = self
                        .client(&name)
                        .store_psk(StorePskRequest {
                            state_or_transaction_id: id_of,
                            psk_id: id.clone(),
                            psk_secret: secret.clone(),
                        })
                        .await;
                    rpc("StorePSK", r)?;
                }
                out.psk_id = id;
                out.psk_secret = secret;
            }
            "fullCommit" => return self.full_commit(a, out).await,
            "commit" => {
                let (commit, welcome, tree) = self.commit(&actor, a).await?;
                (out.commit, out.welcome, out.ratchet_tree) = (commit, welcome, tree);
            }
            "handleCommit" => {
                let commit = self.out(index(a, "commit")?)?.commit.clone();
                let proposals = self.proposals_for(&actor, &indices(a, "byReference"))?;
                self.handle_commit(&actor, proposals, commit).await?;
            }
            "handlePendingCommit" => {
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .handle_pending_commit(HandlePendingCommitRequest { state_id })
                    .await;
                rpc("HandlePendingCommit", r)?;
            }
            "joinGroup" => {
                let o = self.out(index(a, "welcome")?)?.clone();
                self.join(&actor, &o.welcome, &o.ratchet_tree).await?;
            }
            "externalJoin" => return self.external_join(a, out).await,
            "newMemberAddProposal" => {
                let joiner = str_field(a, "joiner")?.to_string();
                let gi = self.group_info(&actor, false).await?;
                let r = self
                    .client(&joiner)
                    .new_member_add_proposal(NewMemberAddProposalRequest {
                        group_info: gi.group_info,
                        identity: joiner.as_bytes().to_vec(),
                    })
                    .await;
                let r = rpc("NewMemberAddProposal", r)?;
                self.actor(&joiner).transaction = Some(r.transaction_id);
                out.actor = joiner;
                out.proposal = r.proposal;
            }
            "addExternalSigner" => {
                let signer = str_field(a, "signer")?.to_string();
                let r = self
                    .client(&signer)
                    .create_external_signer(CreateExternalSignerRequest {
                        cipher_suite: self.suite,
                        identity: signer.as_bytes().to_vec(),
                    })
                    .await;
                let r = rpc("CreateExternalSigner", r)?;
                self.actor(&signer).signer = Some(r.signer_id);
                let n = self.signer_index.len() as u32;
                self.signer_index.insert(signer, n);
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .add_external_signer(AddExternalSignerRequest {
                        state_id,
                        external_sender: r.external_sender,
                    })
                    .await;
                out.proposal = rpc("AddExternalSigner", r)?.proposal;
            }
            "externalSignerProposal" => {
                out.proposal = self.external_signer_proposal(&actor, a).await?
            }
            "reinit" => self.reinit(a).await?,
            "branch" => self.branch(&actor, a).await?,
            "protect" => {
                let authenticated_data = str_field(a, "authenticatedData")?.as_bytes().to_vec();
                let plaintext = str_field(a, "plaintext")?.as_bytes().to_vec();
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .protect(ProtectRequest {
                        state_id,
                        authenticated_data: authenticated_data.clone(),
                        plaintext: plaintext.clone(),
                    })
                    .await;
                out.ciphertext = rpc("Protect", r)?.ciphertext;
                (out.plaintext, out.authenticated_data) = (plaintext, authenticated_data);
            }
            "unprotect" => {
                let o = self.out(index(a, "ciphertext")?)?.clone();
                self.unprotect(&actor, &o).await?;
            }
            other => return Err(format!("unknown action {other}")),
        }
        Ok(out)
    }

    async fn create_key_package(&mut self, name: &str) -> R<Vec<u8>> {
        let r = self
            .client(name)
            .create_key_package(CreateKeyPackageRequest {
                cipher_suite: self.suite,
                identity: name.as_bytes().to_vec(),
            })
            .await;
        let r = rpc("CreateKeyPackage", r)?;
        self.actor(name).transaction = Some(r.transaction_id);
        Ok(r.key_package)
    }

    async fn create_group(&mut self, actor: &str, members: &[String]) -> R<()> {
        let r = self
            .client(actor)
            .create_group(CreateGroupRequest {
                group_id: self.group_id.clone(),
                cipher_suite: self.suite,
                encrypt_handshake: self.encrypt,
                identity: actor.as_bytes().to_vec(),
            })
            .await;
        self.actor(actor).state = Some(rpc("CreateGroup", r)?.state_id);
        self.group = vec![actor.to_string()];
        if members.is_empty() {
            return self.verify(&[actor.to_string()]).await;
        }
        let mut by_value = Vec::new();
        for m in members {
            by_value.push(ProposalDescription {
                proposal_type: b"add".to_vec(),
                key_package: self.create_key_package(m).await?,
                ..ProposalDescription::default()
            });
        }
        let state_id = self.state(actor)?;
        let r = self
            .client(actor)
            .commit(CommitRequest {
                state_id,
                by_value,
                ..CommitRequest::default()
            })
            .await;
        let c = rpc("Commit", r)?;
        self.pending(actor).await?;
        for m in members {
            self.join(m, &c.welcome, &c.ratchet_tree).await?;
        }
        let all: Vec<String> = std::iter::once(actor.to_string())
            .chain(members.iter().cloned())
            .collect();
        self.verify(&all).await
    }

    async fn pending(&mut self, actor: &str) -> R<()> {
        let state_id = self.state(actor)?;
        let r = self
            .client(actor)
            .handle_pending_commit(HandlePendingCommitRequest { state_id })
            .await;
        rpc("HandlePendingCommit", r).map(|_| ())
    }

    async fn join(&mut self, name: &str, welcome: &[u8], ratchet_tree: &[u8]) -> R<()> {
        let transaction_id = self
            .actor(name)
            .transaction
            .ok_or(format!("{name} has no KeyPackage"))?;
        let r = self
            .client(name)
            .join_group(JoinGroupRequest {
                transaction_id,
                welcome: welcome.to_vec(),
                encrypt_handshake: self.encrypt,
                identity: name.as_bytes().to_vec(),
                ratchet_tree: ratchet_tree.to_vec(),
            })
            .await;
        let state_id = rpc("JoinGroup", r)?.state_id;
        let a = self.actor(name);
        (a.state, a.transaction) = (Some(state_id), None);
        Ok(())
    }

    /// The proposals of `refs` that `name` must be handed: all but its own (own proposals
    /// are already cached by the client that sent them).
    fn proposals_for(&self, name: &str, refs: &[usize]) -> R<Vec<Vec<u8>>> {
        let mut list = Vec::new();
        for &i in refs {
            let o = self.out(i)?;
            if o.actor != name {
                list.push(o.proposal.clone());
            }
        }
        Ok(list)
    }

    fn description(&mut self, d: &Value) -> R<ProposalDescription> {
        let kind = str_field(d, "proposalType")?;
        let mut p = ProposalDescription {
            proposal_type: kind.as_bytes().to_vec(),
            ..ProposalDescription::default()
        };
        match kind {
            "add" => p.key_package = self.out(index(d, "keyPackage")?)?.key_package.clone(),
            "remove" => p.removed_id = str_field(d, "removed")?.as_bytes().to_vec(),
            "externalPSK" => p.psk_id = self.out(index(d, "pskID")?)?.psk_id.clone(),
            "resumptionPSK" => p.epoch_id = d["epochID"].as_u64().ok_or("epochID")?,
            "groupContextExtensions" => p.extensions = extensions(d)?,
            "reinit" => {
                p.extensions = extensions(d)?;
                p.group_id = if flag(d, "changeGroupID", "changeGroupId") {
                    self.fresh_id("reinit")
                } else {
                    self.group_id.clone()
                };
                p.cipher_suite = if flag(d, "changeCipherSuite", "changeCiphersuite") {
                    next_suite(self.suite)
                } else {
                    self.suite
                };
            }
            other => return Err(format!("unknown proposalType {other}")),
        }
        Ok(p)
    }

    async fn commit(&mut self, actor: &str, a: &Value) -> R<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let by_reference = self.proposals_for(actor, &indices(a, "byReference"))?;
        let mut by_value = Vec::new();
        for d in a["byValue"].as_array().cloned().unwrap_or_default() {
            by_value.push(self.description(&d)?);
        }
        let state_id = self.state(actor)?;
        let r = self
            .client(actor)
            .commit(CommitRequest {
                state_id,
                by_reference,
                by_value,
                force_path: flag(a, "force_path", "forcePath"),
                external_tree: flag(a, "external_tree", "externalTree"),
            })
            .await;
        let c = rpc("Commit", r)?;
        Ok((c.commit, c.welcome, c.ratchet_tree))
    }

    async fn handle_commit(
        &mut self,
        name: &str,
        proposal: Vec<Vec<u8>>,
        commit: Vec<u8>,
    ) -> R<()> {
        let state_id = self.state(name)?;
        let r = self
            .client(name)
            .handle_commit(HandleCommitRequest {
                state_id,
                proposal,
                commit,
            })
            .await;
        self.actor(name).state = Some(rpc("HandleCommit", r)?.state_id);
        Ok(())
    }

    async fn full_commit(&mut self, a: &Value, mut out: Output) -> R<Output> {
        let actor = out.actor.clone();
        let (commit, welcome, tree) = self.commit(&actor, a).await?;
        self.pending(&actor).await?;
        let refs = indices(a, "byReference");
        let members = names(a, "members");
        for m in &members {
            let proposals = self.proposals_for(m, &refs)?;
            self.handle_commit(m, proposals, commit.clone()).await?;
        }
        let joiners = names(a, "joiners");
        for j in &joiners {
            self.join(j, &welcome, &tree).await?;
        }
        let all: Vec<String> = std::iter::once(actor)
            .chain(members)
            .chain(joiners)
            .collect();
        self.verify(&all).await?;
        (out.commit, out.welcome, out.ratchet_tree) = (commit, welcome, tree);
        Ok(out)
    }

    async fn group_info(&mut self, name: &str, external_tree: bool) -> R<GroupInfoResponse> {
        let state_id = self.state(name)?;
        let r = self
            .client(name)
            .group_info(GroupInfoRequest {
                state_id,
                external_tree,
            })
            .await;
        rpc("GroupInfo", r)
    }

    async fn external_join(&mut self, a: &Value, mut out: Output) -> R<Output> {
        let actor = out.actor.clone();
        let joiner = str_field(a, "joiner")?.to_string();
        let gi = self
            .group_info(&actor, flag(a, "external_tree", "externalTree"))
            .await?;
        let mut psks = Vec::new();
        for i in indices(a, "psks") {
            let o = self.out(i)?;
            psks.push(PreSharedKey {
                psk_id: o.psk_id.clone(),
                psk_secret: o.psk_secret.clone(),
            });
        }
        let r = self
            .client(&joiner)
            .external_join(ExternalJoinRequest {
                group_info: gi.group_info,
                ratchet_tree: gi.ratchet_tree,
                encrypt_handshake: self.encrypt,
                identity: joiner.as_bytes().to_vec(),
                remove_prior: a["removePrior"].as_bool().unwrap_or(false),
                psks,
            })
            .await;
        let r = rpc("ExternalJoin", r)?;
        self.actor(&joiner).state = Some(r.state_id);
        let members = names(a, "members");
        for m in std::iter::once(&actor).chain(&members) {
            self.handle_commit(m, Vec::new(), r.commit.clone()).await?;
        }
        let all: Vec<String> = [actor, joiner].into_iter().chain(members).collect();
        self.verify(&all).await?;
        out.commit = r.commit;
        Ok(out)
    }

    async fn external_signer_proposal(&mut self, signer: &str, a: &Value) -> R<Vec<u8>> {
        let member = str_field(a, "member")?.to_string();
        let gi = self.group_info(&member, true).await?;
        let description = self.description(&a["description"])?;
        let signer_id = self
            .actor(signer)
            .signer
            .ok_or(format!("{signer} is no external signer"))?;
        let signer_index = *self.signer_index.get(signer).ok_or("signer index")?;
        let r = self
            .client(signer)
            .external_signer_proposal(ExternalSignerProposalRequest {
                signer_id,
                signer_index,
                group_info: gi.group_info,
                ratchet_tree: gi.ratchet_tree,
                description: Some(description),
            })
            .await;
        Ok(rpc("ExternalSignerProposal", r)?.proposal)
    }

    async fn unprotect(&mut self, name: &str, o: &Output) -> R<()> {
        let state_id = self.state(name)?;
        let r = self
            .client(name)
            .unprotect(UnprotectRequest {
                state_id,
                ciphertext: o.ciphertext.clone(),
            })
            .await;
        let r = rpc("Unprotect", r)?;
        if r.plaintext != o.plaintext || r.authenticated_data != o.authenticated_data {
            return Err(format!("{name} read something else than {} sent", o.actor));
        }
        Ok(())
    }

    /// Every one of `names` has the same epoch authenticator (§8.7).
    async fn verify(&mut self, names: &[String]) -> R<()> {
        let mut first: Option<(String, Vec<u8>)> = None;
        for name in names {
            let state_id = self.state(name)?;
            let r = self
                .client(name)
                .state_auth(StateAuthRequest { state_id })
                .await;
            let auth = rpc("StateAuth", r)?.state_auth_secret;
            match &first {
                None => first = Some((name.clone(), auth)),
                Some((n, a)) if *a != auth => {
                    return Err(format!(
                        "{name} and {n} disagree on the epoch authenticator"
                    ))
                }
                Some(_) => {}
            }
        }
        self.group = names.to_vec();
        Ok(())
    }

    /// The closing check of the scenarios (`interop-test-scenarios.md`, "Verifying Common
    /// State"): each member of the last verified group protects a message that the next
    /// member reads, and the first member reads them all.
    async fn closing_check(&mut self) -> R<()> {
        let group = self.group.clone();
        if group.len() < 2 {
            return Ok(());
        }
        for (i, sender) in group.iter().enumerate() {
            let state_id = self.state(sender)?;
            let o = Output {
                actor: sender.clone(),
                plaintext: format!("closing check from {sender}").into_bytes(),
                authenticated_data: b"aad".to_vec(),
                ..Output::default()
            };
            let r = self
                .client(sender)
                .protect(ProtectRequest {
                    state_id,
                    authenticated_data: o.authenticated_data.clone(),
                    plaintext: o.plaintext.clone(),
                })
                .await;
            let o = Output {
                ciphertext: rpc("Protect", r)?.ciphertext,
                ..o
            };
            let next = &group[(i + 1) % group.len()];
            self.unprotect(next, &o)
                .await
                .map_err(|e| format!("closing check: {e}"))?;
            if i != 0 && (i + 1) % group.len() != 0 {
                self.unprotect(&group[0], &o)
                    .await
                    .map_err(|e| format!("closing check: {e}"))?;
            }
        }
        Ok(())
    }
}

/// The suite a "change cipher suite" reinit moves to: the next of the seven.
fn next_suite(suite: u32) -> u32 {
    suite % 7 + 1
}
