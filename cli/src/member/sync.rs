//! Catching up: `sync` by cursor, and messages pushed over the WebSocket.

use super::commit::CommitKind;
use super::Member;
use crate::client::ws;
use crate::error::{Error, Result};
use crate::home::{GroupStatus, NewHistory, OutboxChange};

/// Groups whose pushed messages were applied in memory but not stored yet, with the
/// history those messages add.
type Dirty = Vec<(Vec<u8>, Vec<NewHistory>)>;

impl Member {
    /// Join from Welcomes, fetch every group's log, post the outbox, and (with
    /// `commit_proposals`) commit proposals received, such as a member's request to leave.
    pub async fn sync(&mut self, commit_proposals: bool) -> Result<()> {
        self.begin().await?;
        let r = self.sync_inner(commit_proposals).await;
        self.end();
        r
    }

    async fn sync_inner(&mut self, commit_proposals: bool) -> Result<()> {
        self.fetch_welcomes().await?;
        let mut first_error = None;
        for row in self.home.groups()? {
            if row.status == GroupStatus::Removed {
                continue;
            }
            let gid = row.group_id.clone();
            if let Err(e) = self.sync_group(&gid, commit_proposals).await {
                self.warn(format!("[{}] {e}", row.name));
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn sync_group(&mut self, gid: &[u8], commit_proposals: bool) -> Result<()> {
        let mut l = self.take(gid)?;
        if l.status == GroupStatus::Active {
            self.flush_outbox(gid).await?;
        }
        self.fetch_log(gid, &mut l).await?;
        if l.status == GroupStatus::Active {
            self.resend_deferred(gid, &mut l).await?;
            if commit_proposals && !l.group.pending_proposals().is_empty() {
                self.commit_loop(gid, &mut l, CommitKind::Proposals).await?;
            }
        }
        self.put(gid, l);
        Ok(())
    }

    /// Sync one group by name.
    pub async fn sync_one(&mut self, name: &str) -> Result<()> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            self.sync_group(&gid, false).await
        }
        .await;
        self.end();
        r
    }

    /// Handle pushes from the WebSocket. A message that is the next one in its group's log
    /// is processed inline; consecutive ones are stored in one transaction per group (so a
    /// busy receiver writes its state once per batch, not once per message). A gap, a
    /// Welcome or a reconnection falls back to fetching by cursor.
    pub async fn handle_pushes(
        &mut self,
        events: Vec<ws::PushEvent>,
        commit_proposals: bool,
    ) -> Result<()> {
        self.begin().await?;
        let mut dirty: Dirty = Vec::new();
        let mut touched: Vec<Vec<u8>> = Vec::new();
        let mut result = Ok(());
        for event in events {
            if let Err(e) = self
                .handle_one_push(event, &mut dirty, &mut touched, commit_proposals)
                .await
            {
                result = Err(e);
                break;
            }
        }
        if let Err(e) = self.flush_dirty(&mut dirty) {
            result = Err(e);
        }
        self.flush_acks().await;
        if result.is_ok() && commit_proposals {
            for gid in touched {
                if let Err(e) = self.commit_received(&gid).await {
                    result = Err(e);
                    break;
                }
            }
        }
        self.end();
        result
    }

    /// Store groups whose pushed messages were applied in memory.
    fn flush_dirty(&mut self, dirty: &mut Dirty) -> Result<()> {
        for (gid, history) in dirty.drain(..) {
            let l = self.take(&gid)?;
            match self.save(&gid, &l, &history, OutboxChange::None) {
                Ok(_) => self.put(&gid, l),
                Err(e) => {
                    // The cache is ahead of the store: forget it.
                    self.cache.clear();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn commit_received(&mut self, gid: &[u8]) -> Result<()> {
        let mut l = self.take(gid)?;
        if l.status == GroupStatus::Active && !l.group.pending_proposals().is_empty() {
            self.commit_loop(gid, &mut l, CommitKind::Proposals).await?;
        }
        self.put(gid, l);
        Ok(())
    }

    /// Join the groups of Welcomes in the inbox and catch up on them, after storing what
    /// pushes applied so far.
    async fn join_welcomed(&mut self, dirty: &mut Dirty) -> Result<()> {
        self.flush_dirty(dirty)?;
        for gid in self.fetch_welcomes().await? {
            self.sync_group(&gid, false).await?;
        }
        Ok(())
    }

    async fn handle_one_push(
        &mut self,
        event: ws::PushEvent,
        dirty: &mut Dirty,
        touched: &mut Vec<Vec<u8>>,
        commit_proposals: bool,
    ) -> Result<()> {
        match event {
            ws::PushEvent::Message {
                group_id,
                seq,
                epoch,
                content_type,
                sender,
                message,
            } => {
                if !self.cache.contains_key(&group_id) && !self.home.has_group(&group_id)? {
                    // Perhaps a group whose Welcome is on its way.
                    return self.join_welcomed(dirty).await;
                }
                if !touched.contains(&group_id) {
                    touched.push(group_id.clone());
                }
                let mut l = self.take(&group_id)?;
                if l.status == GroupStatus::Removed || seq <= l.cursor {
                    self.put(&group_id, l);
                    return Ok(());
                }
                if seq == l.cursor.saturating_add(1) {
                    let r = self.apply_entry(&mut l, seq, epoch, &content_type, &sender, &message);
                    let slot = match dirty.iter().position(|(g, _)| *g == group_id) {
                        Some(i) => i,
                        None => {
                            dirty.push((group_id.clone(), Vec::new()));
                            dirty.len() - 1
                        }
                    };
                    if let Ok(h) = r {
                        l.cursor = seq;
                        dirty[slot].1.extend(h);
                        self.put(&group_id, l);
                        Ok(())
                    } else {
                        // The group is unchanged by the failed message; what was applied
                        // before it is stored by the caller.
                        self.put(&group_id, l);
                        r.map(|_| ())
                    }
                } else {
                    self.put(&group_id, l);
                    self.flush_dirty(dirty)?;
                    let mut l = self.take(&group_id)?;
                    let r = self.fetch_log(&group_id, &mut l).await;
                    if r.is_ok() {
                        self.put(&group_id, l);
                    }
                    r
                }
            }
            ws::PushEvent::Welcome { .. } => self.join_welcomed(dirty).await,
            ws::PushEvent::Ready | ws::PushEvent::Lagged(_) => {
                self.flush_dirty(dirty)?;
                self.sync_inner(commit_proposals).await
            }
            ws::PushEvent::Revoked => Err(Error::new("this client was revoked by the server")),
            ws::PushEvent::Other => Ok(()),
        }
    }

    /// Open the WebSocket subscription.
    pub async fn subscribe(&mut self) -> Result<ws::Subscription> {
        Ok(ws::subscribe(&self.api).await?)
    }
}
