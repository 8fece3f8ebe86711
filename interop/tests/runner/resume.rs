//! The `reinit` and `branch` actions: groups that resume another (RFC 9420 §11.2, §11.3).

use super::{flag, names, rpc, str_field, Run, R};
use cohort_interop_client::proto::*;
use serde_json::Value;

impl Run<'_> {
    /// `reinit`: propose (or take an external signer's proposal), commit, every member
    /// handles it and publishes a KeyPackage for the new group, the welcomer creates it and
    /// the others join.
    ///
    /// Inferred (not in FORMAT.md's table): the roles follow the scenarios' "ReInit" flow
    /// (ReInit, KeyPackage in the new suite, Welcome with the reinit PSK) mapped onto the
    /// proto's ReInit RPCs: `proposer` sends ReInitProposal (or `externalReinitProposal` is
    /// the index of an external signer's), `committer` sends ReInitCommit and
    /// HandlePendingReInitCommit, everyone else with a state among proposer, welcomer and
    /// `members` sends HandleReInitCommit, `welcomer` sends ReInitWelcome with the others'
    /// new KeyPackages, the others HandleReInitWelcome. `changeCiphersuite` moves to the next
    /// of the seven suites and `changeGroupID` to a fresh id (the configs give no values).
    /// No `stateUpdate` is checked: the proto's ReInit RPCs consume the old state.
    pub(super) async fn reinit(&mut self, a: &Value) -> R<()> {
        let committer = str_field(a, "committer")?.to_string();
        let welcomer = str_field(a, "welcomer")?.to_string();
        let (proposer, proposal) = match a["externalReinitProposal"].as_u64() {
            Some(i) => {
                let o = self.out(i as usize)?;
                (o.actor.clone(), o.proposal.clone())
            }
            None => {
                let proposer = str_field(a, "proposer")?.to_string();
                let mut d = a.clone();
                d["proposalType"] = "reinit".into();
                let d = self.description(&d)?;
                let state_id = self.state(&proposer)?;
                let r = self
                    .client(&proposer)
                    .re_init_proposal(ReInitProposalRequest {
                        state_id,
                        cipher_suite: d.cipher_suite,
                        group_id: d.group_id,
                        extensions: d.extensions,
                    })
                    .await;
                (proposer, rpc("ReInitProposal", r)?.proposal)
            }
        };
        let external_tree = flag(a, "external_tree", "externalTree");
        let by_ref = |name: &str| {
            if proposer == name {
                Vec::new()
            } else {
                vec![proposal.clone()]
            }
        };
        let state_id = self.state(&committer)?;
        let r = self
            .client(&committer)
            .re_init_commit(CommitRequest {
                state_id,
                by_reference: by_ref(&committer),
                by_value: Vec::new(),
                force_path: flag(a, "force_path", "forcePath"),
                external_tree,
            })
            .await;
        let commit = rpc("ReInitCommit", r)?.commit;
        let r = self
            .client(&committer)
            .handle_pending_re_init_commit(HandlePendingCommitRequest { state_id })
            .await;
        let r = rpc("HandlePendingReInitCommit", r)?;
        self.actor(&committer).reinit = Some(r.reinit_id);
        let mut key_packages = vec![(committer.clone(), r.key_package)];

        let mut everyone = vec![committer.clone()];
        for name in [proposer.clone(), welcomer.clone()]
            .into_iter()
            .chain(names(a, "members"))
        {
            if !everyone.contains(&name)
                && self.actors.get(&name).is_some_and(|x| x.state.is_some())
            {
                everyone.push(name);
            }
        }
        for name in everyone.iter().skip(1) {
            let state_id = self.state(name)?;
            let r = self
                .client(name)
                .handle_re_init_commit(HandleCommitRequest {
                    state_id,
                    proposal: by_ref(name),
                    commit: commit.clone(),
                })
                .await;
            let r = rpc("HandleReInitCommit", r)?;
            self.actor(name).reinit = Some(r.reinit_id);
            key_packages.push((name.clone(), r.key_package));
        }

        let reinit_id = self
            .actor(&welcomer)
            .reinit
            .ok_or("welcomer has no reinit")?;
        let r = self
            .client(&welcomer)
            .re_init_welcome(ReInitWelcomeRequest {
                reinit_id,
                key_package: key_packages
                    .iter()
                    .filter(|(n, _)| *n != welcomer)
                    .map(|(_, kp)| kp.clone())
                    .collect(),
                force_path: flag(a, "force_path", "forcePath"),
                external_tree,
            })
            .await;
        let w = rpc("ReInitWelcome", r)?;
        self.actor(&welcomer).state = Some(w.state_id);
        for name in everyone.iter().filter(|n| **n != welcomer) {
            let reinit_id = self.actor(name).reinit.ok_or("no reinit")?;
            let r = self
                .client(name)
                .handle_re_init_welcome(HandleReInitWelcomeRequest {
                    reinit_id,
                    welcome: w.welcome.clone(),
                    ratchet_tree: w.ratchet_tree.clone(),
                })
                .await;
            self.actor(name).state = Some(rpc("HandleReInitWelcome", r)?.state_id);
        }
        self.forget_epoch(&everyone);
        self.verify(&everyone).await
    }

    /// `branch`: the members publish KeyPackages, the actor creates the subgroup and the
    /// members join it from their state in the parent group.
    ///
    /// Inferred (not in FORMAT.md's table): RFC 9420 §11.3 mapped onto the proto's
    /// CreateBranch / HandleBranch, with a fresh group id (the configs give none) and
    /// `extensions` as the new group's; `members` excludes the actor.
    pub(super) async fn branch(&mut self, actor: &str, a: &Value) -> R<()> {
        let members = names(a, "members");
        let mut key_packages = Vec::new();
        for m in &members {
            key_packages.push(self.create_key_package(m).await?);
        }
        let external_tree = flag(a, "external_tree", "externalTree");
        let state_id = self.state(actor)?;
        let group_id = self.fresh_id("branch");
        let r = self
            .client(actor)
            .create_branch(CreateBranchRequest {
                state_id,
                group_id,
                extensions: super::extensions(a)?,
                key_packages,
                force_path: flag(a, "force_path", "forcePath"),
                external_tree,
            })
            .await;
        let b = rpc("CreateBranch", r)?;
        self.actor(actor).state = Some(b.state_id);
        for m in &members {
            let state_id = self.state(m)?;
            let transaction_id = self.actor(m).transaction.ok_or("no KeyPackage")?;
            let r = self
                .client(m)
                .handle_branch(HandleBranchRequest {
                    state_id,
                    transaction_id,
                    welcome: b.welcome.clone(),
                    ratchet_tree: b.ratchet_tree.clone(),
                })
                .await;
            self.actor(m).state = Some(rpc("HandleBranch", r)?.state_id);
        }
        let all: Vec<String> = std::iter::once(actor.to_string()).chain(members).collect();
        self.forget_epoch(&all);
        self.verify(&all).await
    }

    /// After `names` moved to a new group: the old epoch's proposals and views are gone.
    fn forget_epoch(&mut self, names: &[String]) {
        self.pending.clear();
        for n in names {
            self.actor(n).roster = None;
        }
    }
}
