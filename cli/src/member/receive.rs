//! Receiving: the group log, one entry of it at a time, and Welcomes from the inbox.

use super::{decode_mls, valid_group_name, Event, Loaded, Member, PAGE};
use crate::client::{self, b64};
use crate::error::{Error, Result};
use crate::home::{unix_now, GroupStatus, NewHistory, OutboxChange};
use cohort::framing::{MLSMessageBody, Sender};
use cohort::group::{
    Group, HandshakeFormat, JoinOptions, KeyPackageSecrets, Member as GroupMember, NoPsks,
    ReceivedMessage, StagedCommit,
};
use cohort::messages::{LeafNode, Proposal};

impl Member {
    /// Fetch the log after the group's cursor and process it, persisting per page.
    pub(super) async fn fetch_log(&mut self, gid: &[u8], l: &mut Loaded) -> Result<()> {
        loop {
            if l.status == GroupStatus::Removed {
                return Ok(());
            }
            let page = match self.api.fetch_messages(gid, l.cursor, PAGE).await {
                Ok(p) => p,
                Err(e) if e.status() == Some(403) => {
                    l.status = GroupStatus::Removed;
                    self.save_state(gid, l)?;
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
            let last_seq = page.last_seq;
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
            self.flush_acks().await;
            if let Some(e) = failure {
                return Err(e);
            }
            // A page ends at PAGE entries or at the server's byte budget, whichever comes
            // first: the group's last seq, not the page's length, says whether more is left.
            if n == 0 || l.cursor >= last_seq {
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

    /// Tell the server which commits of PrivateMessage groups we processed (see
    /// `POST /v1/groups/{gid}/commits/{seq}/ack`). Best effort: a refusal (our own commit
    /// while others can acknowledge it, an epoch already settled) needs no action.
    pub(super) async fn flush_acks(&mut self) {
        for (gid, seq) in std::mem::take(&mut self.acks) {
            let _ = self.api.ack_commit(&gid, seq).await;
        }
    }

    /// The client id at leaf `index` of `roster` (the members before the message at hand
    /// changed them), or the server's word `fallback` when there is no such leaf.
    fn roster_name(&mut self, roster: &[GroupMember], index: u32, fallback: &str) -> String {
        match roster.iter().find(|m| m.index == index) {
            Some(m) => self.leaf_name(&m.leaf),
            None => fallback.to_string(),
        }
    }

    /// Process one log entry. Application messages go to the history; a commit we cannot
    /// process is an error (the group cannot go on without it).
    pub(super) fn apply_entry(
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
        let private = l.group.config().handshake_format == HandshakeFormat::Private;
        match l.group.process_message(msg, &NoPsks) {
            Ok(ReceivedMessage::Application {
                sender: leaf,
                data,
                epoch,
                ..
            }) => {
                let name = self.roster_name(&old_members, leaf, sender);
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
                self.merge_commit(l, staged, &old_members, sender)?;
                if private {
                    self.acks.push((l.group.group_id().to_vec(), seq));
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
            // RFC 9750 "Invalid Commits": the server cannot check a PrivateMessage commit,
            // so members take the first one of the epoch they can process, in log order;
            // every honest member skips the same invalid ones.
            Err(e) if content_type == "commit" && private => {
                self.warn(format!(
                    "[{}] skipped the commit at seq {seq} from {sender} (epoch {epoch}): {e}; \
                     the epoch's next commit will do",
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

    /// Merge another member's staged commit and report who it added, removed and updated,
    /// named from `old_members` (the roster it was built against).
    fn merge_commit(
        &mut self,
        l: &mut Loaded,
        staged: Box<StagedCommit>,
        old_members: &[GroupMember],
        sender: &str,
    ) -> Result<()> {
        let s = &staged.summary;
        let mut committer = match s.sender {
            Sender::Member(i) => self.roster_name(old_members, i, sender),
            _ => sender.to_string(),
        };
        let external = s.sender == Sender::NewMemberCommit;
        let added_leaves: Vec<LeafNode> = s.added.iter().map(|(_, leaf)| leaf.clone()).collect();
        let removed_leaves: Vec<LeafNode> =
            s.removed.iter().map(|(_, leaf)| leaf.clone()).collect();
        let added: Vec<String> = added_leaves.iter().map(|x| self.leaf_name(x)).collect();
        let removed: Vec<String> = removed_leaves.iter().map(|x| self.leaf_name(x)).collect();
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
        Ok(())
    }

    /// Join every group a Welcome in our inbox invites us to. Returns the new group ids.
    pub(super) async fn fetch_welcomes(&mut self) -> Result<Vec<Vec<u8>>> {
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
        // Send handshakes the way the group does; a server without modes says nothing.
        let private = match self.api.group(&gid).await {
            Ok(g) => g.handshake.as_deref() == Some("private"),
            Err(_) => false,
        };
        let config = self.config_for(private);
        let options = |ratchet_tree| JoinOptions {
            now: Some(unix_now() as u64),
            config: config.clone(),
            ratchet_tree,
            ..JoinOptions::default()
        };
        let first = Group::join(&msg, &kp, &NoPsks, options(None));
        // A large group's Welcome may leave the tree out; the DS serves it (§12.4.3.3).
        // Whatever it serves is checked against the GroupInfo's tree hash on join.
        let missing = matches!(
            first,
            Err(cohort::Error::Invalid(
                cohort::error::Rule::RatchetTreeMissing
            ))
        );
        let group = if missing {
            drop(first);
            let tree = self.api.ratchet_tree(&gid).await?;
            let tree =
                <cohort::messages::RatchetTreeWire as cohort::codec::Decode>::decode_exact(&tree)
                    .map_err(|e| Error::new(format!("the server's ratchet tree: {e:?}")))?;
            Group::join(&msg, &kp, &NoPsks, options(Some(tree)))?
        } else {
            first?
        };
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
        // A last-resort KeyPackage stays: it may serve more Welcomes.
        let used = (!last_resort).then_some(reference.as_slice());
        self.insert_group(&name, &gid, group, 0, used)?;
        self.events.push(Event::Joined {
            group: name,
            epoch,
            members,
            how: "welcome",
        });
        Ok(Some(gid))
    }
}
