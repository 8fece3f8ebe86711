//! The actions that change the epoch (`createGroup` with members, `commit`, `handleCommit`,
//! `handlePendingCommit`, `fullCommit`, `externalJoin`) and the `stateUpdate` each member's
//! processing outputs, checked against what the script says the commit does.

use super::state_update::{self, Effect, Roster, StateUpdate};
use super::transcript::{self, Value};
use super::{flag, index, indices, names, rpc, str_field, Output, Run, R};
use cohort_interop_client::proto::*;
use serde_json::Value as Json;

/// What every member that processes one commit must agree on.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    /// The `stateUpdate` the script implies.
    pub expected: StateUpdate,
    /// The committer's leaf (`None` for an external commit: the joiner has no leaf before).
    pub committer: Option<u32>,
    /// The PSK ids the commit carries on the wire, when it is a PublicMessage.
    pub wire_psks: Option<Vec<Vec<u8>>>,
}

impl Run<'_> {
    /// `name`'s view of its group: the one cached since its last epoch change, else fetched.
    pub(super) async fn roster(&mut self, name: &str) -> R<Roster> {
        if let Some(r) = &self.actor(name).roster {
            return Ok(r.clone());
        }
        self.fetch_roster(name).await
    }

    /// `name`'s view of its group now (`GroupInfo` with the tree out of band), cached.
    async fn fetch_roster(&mut self, name: &str) -> R<Roster> {
        let gi = self.group_info(name, true).await?;
        let r = Roster::from_group_info(&gi.group_info, &gi.ratchet_tree)
            .map_err(|e| format!("{name}'s GroupInfo: {e}"))?;
        self.actor(name).roster = Some(r.clone());
        Ok(r)
    }

    /// The leaf of actor `name` in the group `before` describes: its own leaf as its last
    /// view of that group says, else the first leaf with its identity (as `removed_id` is
    /// resolved by the clients).
    fn leaf_finder<'s>(&'s self, before: &'s Roster) -> impl Fn(&str) -> Option<u32> + 's {
        move |name: &str| {
            self.actors
                .get(name)
                .and_then(|a| a.roster.as_ref())
                .filter(|r| r.group_id == before.group_id)
                .map(|r| r.own)
                .or_else(|| before.leaf_of(name.as_bytes()))
        }
    }

    /// What a commit by `committer` covers (`configs/FORMAT.md`, `commit`): the proposals of
    /// `refs`, the committer's own proposals of this epoch ("those should be committed
    /// automatically"), and the proposals described `by_value`.
    fn committed(&self, committer: &str, refs: &[usize], by_value: &[Json]) -> R<Vec<Effect>> {
        let mut effects = Vec::new();
        for &i in refs {
            let effect = self.out(i)?.effect.clone();
            effects.push(effect.ok_or(format!("action {i} made no proposal"))?);
        }
        for &i in &self.pending {
            if !refs.contains(&i) && self.outputs[i].actor == committer {
                effects.push(
                    self.outputs[i]
                        .effect
                        .clone()
                        .expect("pending is proposals"),
                );
            }
        }
        for d in by_value {
            effects.push(self.effect_of(d)?);
        }
        Ok(effects)
    }

    /// Send `request` as `actor`'s commit of `effects`: the commit, and what its receivers
    /// must agree on. Ends the epoch's proposals.
    async fn commit_request(
        &mut self,
        actor: &str,
        request: CommitRequest,
        effects: &[Effect],
    ) -> R<(CommitResponse, CommitInfo)> {
        let before = self.roster(actor).await?;
        let c = rpc("Commit", self.client(actor).commit(request).await)?;
        let expected = state_update::expected(&before, effects, self.leaf_finder(&before))?;
        let proposals: Vec<&[u8]> = self
            .pending
            .iter()
            .map(|&i| self.outputs[i].proposal.as_slice())
            .collect();
        let wire_psks = state_update::wire_psks(before.suite, &c.commit, &proposals)?;
        self.pending.clear();
        let outputs = vec![
            ("commit".into(), Value::Packet(c.commit.clone())),
            ("welcome".into(), Value::Packet(c.welcome.clone())),
        ];
        self.log("commit", actor, outputs);
        let info = CommitInfo {
            expected,
            committer: Some(before.own),
            wire_psks,
        };
        Ok((c, info))
    }

    /// `name`'s `stateUpdate` after it moved from `before` to its current epoch: logged under
    /// `action`, and checked against `info`.
    async fn state_update(
        &mut self,
        action: &str,
        name: &str,
        before: &Roster,
        info: &CommitInfo,
    ) -> R<()> {
        let after = self.fetch_roster(name).await?;
        let psks = info.wire_psks.clone().unwrap_or_default();
        let mut seen = state_update::observed(before, &after, info.committer, psks);
        if info.wire_psks.is_none() {
            seen = state_update::with_expected_psks(seen, &info.expected);
        }
        let value = transcript::state_update(&seen.entries());
        self.log(action, name, vec![("stateUpdate".into(), value)]);
        state_update::check(name, &info.expected, &seen)
    }

    /// `createGroup`, then (with `members`) one commit adding all of them.
    pub(super) async fn create_group(&mut self, actor: &str, members: &[String]) -> R<()> {
        let r = self
            .client(actor)
            .create_group(CreateGroupRequest {
                group_id: self.group_id.clone(),
                cipher_suite: self.suite,
                encrypt_handshake: self.encrypt,
                identity: actor.as_bytes().to_vec(),
            })
            .await;
        let a = self.actor(actor);
        (a.state, a.roster) = (Some(rpc("CreateGroup", r)?.state_id), None);
        self.log("createGroup", actor, Vec::new());
        self.group = vec![actor.to_string()];
        if members.is_empty() {
            return self.verify(&[actor.to_string()]).await;
        }
        let mut by_value = Vec::new();
        for m in members {
            let key_package = self.create_key_package(m).await?;
            self.log(
                "createKeyPackage",
                m,
                vec![super::packet("keyPackage", &key_package)],
            );
            by_value.push(ProposalDescription {
                proposal_type: b"add".to_vec(),
                key_package,
                ..ProposalDescription::default()
            });
        }
        let request = CommitRequest {
            state_id: self.state(actor)?,
            by_value,
            ..CommitRequest::default()
        };
        let adds = vec![Effect::Add; members.len()];
        let (c, info) = self.commit_request(actor, request, &adds).await?;
        self.pending_commit(actor, &info).await?;
        for m in members {
            self.join(m, &c.welcome, &c.ratchet_tree).await?;
        }
        let all: Vec<String> = std::iter::once(actor.to_string())
            .chain(members.iter().cloned())
            .collect();
        self.verify(&all).await
    }

    /// `handlePendingCommit`: `actor` merges the commit it sent.
    pub(super) async fn pending_commit(&mut self, actor: &str, info: &CommitInfo) -> R<()> {
        let before = self.roster(actor).await?;
        let state_id = self.state(actor)?;
        let r = self
            .client(actor)
            .handle_pending_commit(HandlePendingCommitRequest { state_id })
            .await;
        rpc("HandlePendingCommit", r)?;
        self.state_update("handlePendingCommit", actor, &before, info)
            .await
    }

    /// `commit`: `actor` takes the proposals of `byReference` in and commits them, its own and
    /// those of `byValue`.
    pub(super) async fn commit(
        &mut self,
        actor: &str,
        a: &Json,
    ) -> R<(CommitResponse, CommitInfo)> {
        let refs = indices(a, "byReference");
        let by_value_json = a["byValue"].as_array().cloned().unwrap_or_default();
        let effects = self.committed(actor, &refs, &by_value_json)?;
        let by_reference = self.proposals_for(actor, &refs)?;
        let mut by_value = Vec::new();
        for d in &by_value_json {
            by_value.push(self.description(d)?);
        }
        let request = CommitRequest {
            state_id: self.state(actor)?,
            by_reference,
            by_value,
            force_path: flag(a, "force_path", "forcePath"),
            external_tree: flag(a, "external_tree", "externalTree"),
        };
        self.commit_request(actor, request, &effects).await
    }

    /// `handleCommit`: `name` takes `proposal` in, then processes and merges `commit`.
    pub(super) async fn handle_commit(
        &mut self,
        name: &str,
        proposal: Vec<Vec<u8>>,
        commit: Vec<u8>,
        info: &CommitInfo,
    ) -> R<()> {
        let before = self.roster(name).await?;
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
        self.state_update("handleCommit", name, &before, info).await
    }

    /// The `handleCommit` action: the commit of action `commit`, the proposals of
    /// `byReference`.
    pub(super) async fn handle_commit_action(&mut self, actor: &str, a: &Json) -> R<()> {
        let o = self.out(index(a, "commit")?)?.clone();
        let info = o.commit_info.ok_or("that action made no commit")?;
        let proposals = self.proposals_for(actor, &indices(a, "byReference"))?;
        self.handle_commit(actor, proposals, o.commit, &info).await
    }

    /// The `handlePendingCommit` action: the last commit `actor` made.
    pub(super) async fn pending_commit_action(&mut self, actor: &str) -> R<()> {
        let info = self
            .outputs
            .iter()
            .rev()
            .find(|o| o.actor == actor && o.commit_info.is_some())
            .and_then(|o| o.commit_info.clone())
            .ok_or(format!("{actor} made no commit"))?;
        self.pending_commit(actor, &info).await
    }

    /// `fullCommit` (not in the format's table; inferred from its fields): `commit` by the
    /// actor, `handlePendingCommit` by it, `handleCommit` by every one of `members` (each given
    /// the `byReference` proposals it did not send), `joinGroup` by every one of `joiners`,
    /// then the epoch authenticators compared.
    pub(super) async fn full_commit(&mut self, a: &Json, mut out: Output) -> R<Output> {
        let actor = out.actor.clone();
        let (c, info) = self.commit(&actor, a).await?;
        self.pending_commit(&actor, &info).await?;
        let refs = indices(a, "byReference");
        let members = names(a, "members");
        for m in &members {
            let proposals = self.proposals_for(m, &refs)?;
            self.handle_commit(m, proposals, c.commit.clone(), &info)
                .await?;
        }
        let joiners = names(a, "joiners");
        for j in &joiners {
            self.join(j, &c.welcome, &c.ratchet_tree).await?;
        }
        let all: Vec<String> = std::iter::once(actor)
            .chain(members)
            .chain(joiners)
            .collect();
        self.verify(&all).await?;
        (out.commit, out.welcome, out.ratchet_tree) = (c.commit, c.welcome, c.ratchet_tree);
        out.commit_info = Some(info);
        Ok(out)
    }

    /// `externalJoin` (not in the format's table; inferred from its fields): `joiner` joins by
    /// external commit from the actor's GroupInfo (`externalTree`: tree out of band), with the
    /// PSKs of `psks` and, with `removePrior`, removing its earlier leaf; the actor and
    /// `members` handle the commit; then the epoch authenticators are compared.
    pub(super) async fn external_join(&mut self, a: &Json, mut out: Output) -> R<Output> {
        let actor = out.actor.clone();
        let joiner = str_field(a, "joiner")?.to_string();
        let remove_prior = a["removePrior"].as_bool().unwrap_or(false);
        let before = self.roster(&actor).await?;
        let gi = self
            .group_info(&actor, flag(a, "external_tree", "externalTree"))
            .await?;
        let mut psks = Vec::new();
        let mut effects = vec![Effect::ExternalJoin {
            joiner: joiner.clone(),
            remove_prior,
        }];
        for i in indices(a, "psks") {
            let o = self.out(i)?;
            psks.push(PreSharedKey {
                psk_id: o.psk_id.clone(),
                psk_secret: o.psk_secret.clone(),
            });
            effects.push(Effect::ExternalPsk(o.psk_id.clone()));
        }
        let r = self
            .client(&joiner)
            .external_join(ExternalJoinRequest {
                group_info: gi.group_info,
                ratchet_tree: gi.ratchet_tree,
                encrypt_handshake: self.encrypt,
                identity: joiner.as_bytes().to_vec(),
                remove_prior,
                psks,
            })
            .await;
        let r = rpc("ExternalJoin", r)?;
        let info = CommitInfo {
            expected: state_update::expected(&before, &effects, self.leaf_finder(&before))?,
            committer: None,
            wire_psks: state_update::wire_psks(before.suite, &r.commit, &[])?,
        };
        self.pending.clear();
        let j = self.actor(&joiner);
        (j.state, j.roster) = (Some(r.state_id), None);
        self.log(
            "externalJoin",
            &joiner,
            vec![super::packet("commit", &r.commit)],
        );
        let members = names(a, "members");
        for m in std::iter::once(&actor).chain(&members) {
            self.handle_commit(m, Vec::new(), r.commit.clone(), &info)
                .await?;
        }
        let all: Vec<String> = [actor, joiner].into_iter().chain(members).collect();
        self.verify(&all).await?;
        out.commit = r.commit;
        Ok(out)
    }
}
