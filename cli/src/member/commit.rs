//! Building commits and rebuilding them when another commit wins the epoch.

use super::{not_active, CommitDone, CommitGate, Event, Loaded, Member, MAX_COMMIT_ATTEMPTS};
use crate::client::{b64, PostMessage};
use crate::error::{Error, Result};
use crate::home::GroupStatus;
use cohort::codec::Encode;
use cohort::group::{CommitOptions, HandshakeFormat, NoPsks};
use cohort::messages::{KeyPackage, Proposal};
use std::time::Duration;

/// What a commit is for; it is rebuilt from this on every attempt, against the epoch then.
pub(super) enum CommitKind {
    Add(Vec<(String, KeyPackage)>),
    Remove(Vec<String>),
    Update,
    Proposals,
}

impl Member {
    /// Sleep a random few milliseconds, longer after each lost attempt, so racing
    /// committers stop colliding.
    pub(super) async fn jitter(&mut self, attempt: u32) {
        let r = self
            .suite
            .random_bytes(1)
            .ok()
            .and_then(|b| b.first().copied())
            .unwrap_or(0) as u64;
        let ms = r % (5 + 5 * u64::from(attempt.min(10)));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// [`Member::commit_loop`] on a group taken out of the cache, put back on success.
    pub(super) async fn commit_taken(
        &mut self,
        gid: &[u8],
        mut l: Loaded,
        kind: CommitKind,
    ) -> Result<Option<CommitDone>> {
        let r = self.commit_loop(gid, &mut l, kind).await;
        if r.is_ok() {
            self.put(gid, l);
        }
        r
    }

    /// Hold a built commit at [`Member::commit_gate`], once.
    async fn wait_at_gate(&mut self, epoch: u64) {
        match self.commit_gate.take() {
            None => {}
            Some(CommitGate::File(gate)) => {
                use std::io::Write;
                println!("commit ready for epoch {epoch}");
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
    }

    /// Build, post and (on conflict) rebuild a commit until the server accepts one.
    /// `Ok(None)`: nothing to commit.
    pub(super) async fn commit_loop(
        &mut self,
        gid: &[u8],
        l: &mut Loaded,
        kind: CommitKind,
    ) -> Result<Option<CommitDone>> {
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            self.fetch_log(gid, l).await?;
            if l.status != GroupStatus::Active {
                return Err(not_active(&l.name));
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
                // The server keeps every epoch's GroupInfo for external joiners.
                group_info: true,
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
            self.save_state(gid, l)?;
            self.wait_at_gate(l.group.epoch()).await;
            let post = PostMessage {
                message: b64(&out.commit.to_bytes()),
                welcome_recipients: if out.welcome.is_some() {
                    added.clone()
                } else {
                    Vec::new()
                },
                welcome: out.welcome.as_ref().map(|w| b64(&w.to_bytes())),
                group_info: out.group_info.as_ref().map(|g| b64(&g.to_bytes())),
                added: added.clone(),
                removed: removed.clone(),
            };
            match self.api.post_message(gid, &post).await {
                Ok(_) => {}
                Err(e) if e.duplicate_seq().is_some() => {}
                Err(e) if e.is_conflict() => {
                    l.group.discard_pending_commit();
                    self.save_state(gid, l)?;
                    self.stats.conflicts += 1;
                    self.jitter(attempt).await;
                    continue;
                }
                Err(e) => {
                    if e.status().is_some() {
                        // Refused outright: it is not in the log.
                        l.group.discard_pending_commit();
                        self.save_state(gid, l)?;
                    }
                    return Err(Error::from(e).context("commit refused"));
                }
            };
            if l.group.config().handshake_format == HandshakeFormat::Private {
                // The server cannot read the commit, so a 201 only makes it a candidate:
                // the epoch's first commit in the log that members can process wins. Read
                // the log to learn which; our own is merged when its echo is reached.
                let before = l.group.epoch();
                self.fetch_log(gid, l).await?;
                let me = self.client_id.clone();
                let ours = l.group.epoch() > before
                    && self.events.iter().rev().any(|e| {
                        matches!(e, Event::Commit { group, epoch, committer, .. }
                            if *group == l.name && *epoch == before + 1 && *committer == me)
                    });
                if !ours {
                    if l.group.has_pending_commit() {
                        l.group.discard_pending_commit();
                        self.save_state(gid, l)?;
                    }
                    self.stats.conflicts += 1;
                    self.jitter(attempt).await;
                    continue;
                }
                self.stats.commits += 1;
                return Ok(Some(CommitDone {
                    epoch: l.group.epoch(),
                    conflicts: attempt,
                    members: l.group.member_count(),
                }));
            }
            l.group.confirm_pending_commit()?;
            self.save_state(gid, l)?;
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
}
