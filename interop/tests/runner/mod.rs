//! One run of one script: actors mapped to gRPC clients, each action turned into RPCs as
//! `configs/FORMAT.md` describes, its outputs logged in the run's transcript, the
//! `stateUpdate` of every processed commit checked, and the group state verified after every
//! change.
//!
//! Where the format is silent the runner infers; each inference carries a comment starting
//! "Inferred" that names the text it rests on (FORMAT.md = `configs/FORMAT.md`,
//! harness = `interop-test-harness.md`, scenarios = `interop-test-scenarios.md`, proto =
//! `proto/mls_client.proto`).

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
    /// Its view of its group since its last epoch change (for `stateUpdate`s).
    roster: Option<Roster>,
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
    /// For a proposal: what committing it does.
    effect: Option<Effect>,
    /// For a commit: what its receivers must agree on.
    commit_info: Option<CommitInfo>,
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
    /// The proposals (output indices) sent in the current epoch.
    pending: Vec<usize>,
    /// The step being run, and what every step output.
    step: usize,
    transcript: Transcript,
}

mod commit;
mod resume;
pub mod state_update;
mod transcript;

use commit::CommitInfo;
use state_update::{Effect, Roster};
use transcript::Transcript;

type R<T> = Result<T, String>;

/// Actions that log their own transcript lines (the table's actions they stand for).
const SELF_LOGGED: [&str; 7] = [
    "createGroup",
    "commit",
    "handleCommit",
    "handlePendingCommit",
    "joinGroup",
    "fullCommit",
    "externalJoin",
];

impl Output {
    /// The outputs FORMAT.md's table names for the action that made this: `keyPackage`,
    /// `proposal`, `ciphertext` (packets), `applicationData` (hex-encoded bytes).
    fn logged(&self) -> Vec<(String, transcript::Value)> {
        let mut list = Vec::new();
        for (key, bytes) in [
            ("keyPackage", &self.key_package),
            ("proposal", &self.proposal),
            ("ciphertext", &self.ciphertext),
        ] {
            if !bytes.is_empty() {
                list.push(packet(key, bytes));
            }
        }
        if self.ciphertext.is_empty() && !self.plaintext.is_empty() {
            list.push(packet("applicationData", &self.plaintext));
        }
        list
    }
}

/// A named packet for the transcript.
fn packet(key: &str, bytes: &[u8]) -> (String, transcript::Value) {
    (key.to_string(), transcript::Value::Packet(bytes.to_vec()))
}

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
            pending: Vec::new(),
            step: 0,
            transcript: Transcript::default(),
        }
    }

    /// Log one action of the current step in the transcript.
    fn log(&mut self, action: &str, actor: &str, outputs: Vec<(String, transcript::Value)>) {
        self.transcript.log(self.step, action, actor, outputs);
    }

    /// The transcript so far, whole.
    pub fn transcript(&self) -> String {
        self.transcript.render(0.., None)
    }

    /// The actor `name`, created on the next client in turn if new.
    ///
    /// Inferred: FORMAT.md ("Actors") gives each actor one MLS client; with several gRPC
    /// clients (harness: the runner "control[s] multiple clients") actors are dealt to them
    /// round-robin in order of first appearance, so every role meets every client.
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
            self.step = i;
            let name = action["action"].as_str().unwrap_or("?");
            let out = self.action(action).await.map_err(|e| {
                format!(
                    "step {i} ({name}): {e}\nlast lines of the transcript:\n{}",
                    self.transcript.tail(6)
                )
            })?;
            if !SELF_LOGGED.contains(&name) {
                let outputs = out.logged();
                self.log(name, &out.actor.clone(), outputs);
            }
            if out.effect.is_some() {
                self.pending.push(i);
            }
            self.outputs.push(out);
        }
        self.step = script.len();
        self.closing_check().await
    }

    async fn action(&mut self, a: &Value) -> R<Output> {
        let actor = a["actor"].as_str().unwrap_or("").to_string();
        let mut out = Output {
            actor: actor.clone(),
            ..Output::default()
        };
        match str_field(a, "action")? {
            // Inferred: `members` (not in FORMAT.md's table, which gives createGroup no values)
            // are added at once, as the scenarios' "Multiple joins at once" does: each creates
            // a KeyPackage, the creator commits their Adds by value, each joins.
            "createGroup" => self.create_group(&actor, &names(a, "members")).await?,
            "createKeyPackage" => out.key_package = self.create_key_package(&actor).await?,
            "addProposal" => {
                out.effect = Some(Effect::Add);
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
                // Inferred: the actor `removed` names is the member whose basic credential
                // holds that name (FORMAT.md says "the actor indicated"; the proto's
                // `removed_id` is an identity, and actors are created with their name as it).
                out.effect = Some(Effect::Remove(str_field(a, "removed")?.to_string()));
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
                out.effect = Some(Effect::Update(actor.clone()));
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .update_proposal(UpdateProposalRequest { state_id })
                    .await;
                out.proposal = rpc("UpdateProposal", r)?.proposal;
            }
            // Inferred (the next three are not in FORMAT.md's table): each sends the proto's
            // proposal of the same name; `extensions` are `{extension_type, extension_data}`
            // with the data in standard base64, `pskID` is the index of an
            // `installExternalPSK`, `epochID` the epoch whose resumption PSK is used.
            "groupContextExtensionsProposal" => {
                out.effect = Some(Effect::Nothing);
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
                out.effect = Some(Effect::ExternalPsk(psk_id.clone()));
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .external_psk_proposal(ExternalPskProposalRequest { state_id, psk_id })
                    .await;
                out.proposal = rpc("ExternalPSKProposal", r)?.proposal;
            }
            "resumptionPSKProposal" => {
                let epoch_id = a["epochID"].as_u64().ok_or("epochID")?;
                out.effect = Some(Effect::ResumptionPsk(epoch_id));
                let state_id = self.state(&actor)?;
                let r = self
                    .client(&actor)
                    .resumption_psk_proposal(ResumptionPskProposalRequest { state_id, epoch_id })
                    .await;
                out.proposal = rpc("ResumptionPSKProposal", r)?.proposal;
            }
            // Inferred: a fresh PSK id and secret stored (StorePSK) with every one of `clients`
            // that has a state or a pending KeyPackage; one without either is skipped (the
            // proto's StorePSK needs one of the two).
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
            // Inferred: `welcome` may also name a `fullCommit` (its output has the Welcome).
            "commit" => {
                let (c, info) = self.commit(&actor, a).await?;
                (out.commit, out.welcome, out.ratchet_tree) = (c.commit, c.welcome, c.ratchet_tree);
                out.commit_info = Some(info);
            }
            "handleCommit" => self.handle_commit_action(&actor, a).await?,
            // Inferred: "the commit it sent" is the actor's last `commit`.
            "handlePendingCommit" => self.pending_commit_action(&actor).await?,
            "joinGroup" => {
                let o = self.out(index(a, "welcome")?)?.clone();
                self.join(&actor, &o.welcome, &o.ratchet_tree).await?;
            }
            "externalJoin" => return self.external_join(a, out).await,
            // Inferred (not in FORMAT.md's table): `joiner` makes a KeyPackage and an Add of
            // it signed as a new member (RFC 9420 §12.1.8) for the group and epoch of the
            // actor's GroupInfo; the output is that proposal, logged as the joiner's.
            "newMemberAddProposal" => {
                out.effect = Some(Effect::Add);
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
            // Inferred (not in FORMAT.md's table): `signer` gets an external signing key
            // (CreateExternalSigner) and the actor proposes the `external_senders` extension
            // with it appended (AddExternalSigner); its index there is the number of signers
            // added before it in this run.
            "addExternalSigner" => {
                out.effect = Some(Effect::Nothing);
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
            // Inferred (not in FORMAT.md's table): the actor is the external signer; it
            // proposes `description` (the proto's ProposalDescription fields, by the configs'
            // names) for the group and epoch of `member`'s GroupInfo.
            "externalSignerProposal" => {
                out.effect = Some(self.effect_of(&a["description"])?);
                out.proposal = self.external_signer_proposal(&actor, a).await?
            }
            "reinit" => self.reinit(a).await?,
            "branch" => self.branch(&actor, a).await?,
            // Inferred: FORMAT.md's table gives protect one `applicationData` in base64; the
            // configs give `plaintext` and `authenticatedData` as plain strings, sent as their
            // UTF-8 bytes (the proto's ProtectRequest has both fields).
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
                out.plaintext = self.unprotect(&actor, &o).await?;
            }
            other => return Err(format!("unknown action {other}")),
        }
        Ok(out)
    }

    /// `createKeyPackage`. Inferred: the "new client without a session" (FORMAT.md, "Actors")
    /// is a new transaction on the actor's gRPC client; its old state stays addressable until
    /// `joinGroup` (or another action) gives it a new one.
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
        (a.state, a.transaction, a.roster) = (Some(state_id), None, None);
        // FORMAT.md lists joinGroup's outputs as "[TODO]": nothing is logged but the step.
        self.log("joinGroup", name, Vec::new());
        Ok(())
    }

    /// The proposals of `refs` that `name` must be handed: all but its own (own proposals
    /// are already cached by the client that sent them).
    ///
    /// Inferred: FORMAT.md says `byReference` "MUST NOT include proposals from actor"; the
    /// configs do list them (welcome_join/with_psk, commit/add), so they are skipped here
    /// rather than refused.
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

    /// What committing the proposal a `byValue` / `description` object describes does.
    fn effect_of(&self, d: &Value) -> R<Effect> {
        Ok(match str_field(d, "proposalType")? {
            "add" => Effect::Add,
            "remove" => Effect::Remove(str_field(d, "removed")?.to_string()),
            "externalPSK" => Effect::ExternalPsk(self.out(index(d, "pskID")?)?.psk_id.clone()),
            "resumptionPSK" => Effect::ResumptionPsk(d["epochID"].as_u64().ok_or("epochID")?),
            "groupContextExtensions" | "reinit" => Effect::Nothing,
            other => return Err(format!("unknown proposalType {other}")),
        })
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

    async fn unprotect(&mut self, name: &str, o: &Output) -> R<Vec<u8>> {
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
        Ok(r.plaintext)
    }

    /// Every one of `names` has the same epoch authenticator (§8.7).
    ///
    /// Inferred: FORMAT.md names no verification step; this is the first check of the
    /// scenarios' "Verifying Common State" (the same authentication secret, the proto's
    /// StateAuth), run after every action that changes the epoch. The second check (every
    /// member's message read by the others) closes the script: [`Run::closing_check`].
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
    /// State": "For each member: A message can be encrypted; The message can be successfully
    /// decrypted by all other members"), for the last verified group, logged as `protect` and
    /// `unprotect` steps after the script's last.
    async fn closing_check(&mut self) -> R<()> {
        let group = self.group.clone();
        if group.len() < 2 {
            return Ok(());
        }
        for sender in &group {
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
            self.log("protect", sender, vec![packet("ciphertext", &o.ciphertext)]);
            for reader in group.iter().filter(|r| *r != sender) {
                let data = self
                    .unprotect(reader, &o)
                    .await
                    .map_err(|e| format!("closing check: {e}"))?;
                self.log("unprotect", reader, vec![packet("applicationData", &data)]);
            }
        }
        Ok(())
    }
}

/// The suite a "change cipher suite" reinit moves to: the next of the seven.
fn next_suite(suite: u32) -> u32 {
    suite % 7 + 1
}
