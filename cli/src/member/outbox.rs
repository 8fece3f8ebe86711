//! Sending application messages through the outbox.

use super::commit::CommitKind;
use super::{blocking, not_active, Loaded, Member};
use crate::client::{b64, PostMessage, Posted};
use crate::error::{Error, Result};
use crate::home::{GroupStatus, NewHistory, OutboxChange};
use cohort::codec::Encode;

impl Member {
    /// Send a text message; `sync_first` fetches the log before (to be in the current epoch).
    pub async fn send(&mut self, name: &str, text: &str, sync_first: bool) -> Result<Posted> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let mut l = self.take(&gid)?;
            if l.status != GroupStatus::Active {
                let e = not_active(&l.name);
                self.put(&gid, l);
                return Err(e);
            }
            if sync_first {
                let caught_up = match self.flush_outbox(&gid).await {
                    Ok(()) => self.fetch_log(&gid, &mut l).await,
                    Err(e) => Err(e),
                };
                match caught_up {
                    Ok(()) => {}
                    // Offline: encrypt anyway; the message waits in the outbox.
                    Err(e) if e.is_offline() => {}
                    Err(e) => return Err(e),
                }
            }
            if !l.group.pending_proposals().is_empty() {
                // §12.4: proposals must be committed before sending application data.
                self.commit_loop(&gid, &mut l, CommitKind::Proposals)
                    .await?;
            }
            let p = self.send_loaded(&gid, &mut l, text.as_bytes()).await?;
            self.resend_deferred(&gid, &mut l).await?;
            self.put(&gid, l);
            Ok(p)
        }
        .await;
        self.end();
        r
    }

    async fn send_loaded(&mut self, gid: &[u8], l: &mut Loaded, body: &[u8]) -> Result<Posted> {
        for _ in 0..5 {
            if !l.group.pending_proposals().is_empty() {
                self.commit_loop(gid, l, CommitKind::Proposals).await?;
            }
            let msg = l.group.send_application(body, b"")?.to_bytes();
            let epoch = l.group.epoch();
            // The consumed key and the ciphertext are stored together before posting.
            let id = self
                .save(gid, l, &[], OutboxChange::Add(&msg, body, epoch))?
                .unwrap_or_default();
            let post = PostMessage {
                message: b64(&msg),
                ..PostMessage::default()
            };
            let posted = match self.api.post_message(gid, &post).await {
                Ok(p) => p,
                Err(e) if e.duplicate_seq().is_some() => Posted {
                    seq: e.duplicate_seq().unwrap_or(0),
                    epoch,
                },
                Err(e) if e.is_conflict() => {
                    // Not stored (the epoch is too old or new for the server): catch up
                    // and encrypt again.
                    self.home.drop_outbox(id)?;
                    self.fetch_log(gid, l).await?;
                    continue;
                }
                Err(e) => {
                    if e.status().is_some() {
                        self.home.drop_outbox(id)?;
                        return Err(Error::from(e).context("message refused"));
                    }
                    return Err(Error::from(e).context(
                        "message not acknowledged (kept in the outbox: the next send or sync retries it)",
                    ));
                }
            };
            self.record_sent(gid, id, posted.seq, epoch, body.to_vec())?;
            return Ok(posted);
        }
        Err(Error::new(
            "the group kept changing epochs; message not sent",
        ))
    }

    /// Move outbox entry `id`, acknowledged at `seq`, into the history.
    fn record_sent(
        &mut self,
        gid: &[u8],
        id: i64,
        seq: u64,
        epoch: u64,
        body: Vec<u8>,
    ) -> Result<()> {
        let h = NewHistory {
            seq,
            epoch,
            sender: self.client_id.clone(),
            body,
            outgoing: true,
        };
        blocking(|| self.home.record_sent(gid, &h, id))?;
        self.stats.sent += 1;
        Ok(())
    }

    /// Post what the outbox holds (same bytes: the server stores a repeat once).
    pub(super) async fn flush_outbox(&mut self, gid: &[u8]) -> Result<()> {
        for entry in self.home.outbox(gid)? {
            let post = PostMessage {
                message: b64(&entry.message),
                ..PostMessage::default()
            };
            let seq = match self.api.post_message(gid, &post).await {
                Ok(p) => p.seq,
                Err(e) if e.duplicate_seq().is_some() => e.duplicate_seq().unwrap_or(0),
                Err(e) if e.is_conflict() || e.status().is_some() => {
                    // Never stored: encrypt it again once we are in the current epoch.
                    self.home.drop_outbox(entry.id)?;
                    self.resend.push(entry.body);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            self.record_sent(gid, entry.id, seq, entry.epoch, entry.body)?;
        }
        Ok(())
    }

    /// Encrypt again, in the current epoch, what [`Member::flush_outbox`] found unsent.
    pub(super) async fn resend_deferred(&mut self, gid: &[u8], l: &mut Loaded) -> Result<()> {
        for body in std::mem::take(&mut self.resend) {
            if l.status == GroupStatus::Active {
                self.send_loaded(gid, l, &body).await?;
            }
        }
        Ok(())
    }
}
