//! KeyPackages, and the operations that change who is in a group.

use super::commit::CommitKind;
use super::{
    check_group_name, decode_key_package, decode_mls, normalize_client_id, not_active, CommitDone,
    Event, Member, MAX_COMMIT_ATTEMPTS,
};
use crate::client::{self, b64, PostMessage};
use crate::error::{Error, Result};
use crate::home::{unix_now, GroupStatus};
use cohort::codec::Encode;
use cohort::crypto::{CipherSuite, Suite};
use cohort::framing::{MLSMessage, MLSMessageBody};
use cohort::group::{
    ExternalCommitOptions, Group, GroupOptions, KeyPackageOptions, KeyPackageSecrets, NoPsks,
};
use cohort_server::authority::validate_credential;

impl Member {
    // ----- identity and KeyPackages -------------------------------------------------------

    /// Generate `count` KeyPackages (plus a last-resort one), keep their secrets, publish
    /// them. Returns `(published, available on the server)`.
    /// `suite` overrides this client's registered suite (it must share its signature scheme).
    pub async fn publish_key_packages(
        &mut self,
        count: u32,
        last_resort: bool,
        suite: Option<CipherSuite>,
    ) -> Result<(u64, u64)> {
        let suite = self.suite_or_own(suite)?;
        self.begin().await?;
        let r = self.publish_inner(count, last_resort, suite).await;
        self.end();
        r
    }

    /// `requested`, or the registered suite; one whose signature scheme differs from this
    /// client's key (and certificate) cannot be used.
    fn suite_or_own(&self, requested: Option<CipherSuite>) -> Result<Suite> {
        let Some(id) = requested else {
            return Ok(self.suite);
        };
        let suite = Suite::new(id)?;
        if !suite.accepts_signature_key(&self.signer) {
            return Err(Error::new(format!(
                "{id:?} signs with another scheme than this client's key ({:?}); \
                 register another home with --suite",
                self.suite.id()
            )));
        }
        Ok(suite)
    }

    async fn publish_inner(
        &mut self,
        count: u32,
        last_resort: bool,
        suite: Suite,
    ) -> Result<(u64, u64)> {
        let mut secrets = Vec::new();
        let mut wire = Vec::new();
        for i in 0..count + last_resort as u32 {
            let options = KeyPackageOptions {
                last_resort: i == count,
                ..KeyPackageOptions::default()
            };
            let kp = KeyPackageSecrets::generate(
                &suite,
                self.credential.clone(),
                &self.signer,
                &options,
            )?;
            wire.push(
                MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(kp.key_package.clone())))
                    .to_bytes(),
            );
            secrets.push((kp.reference()?, kp.to_bytes(), options.last_resort));
        }
        // Secrets first: a published package whose secrets we lost would be a dead Welcome.
        self.home.add_key_packages(&secrets)?;
        let accepted = self.api.publish_key_packages(&wire).await?;
        let (available, _) = self.api.key_package_counts(suite.id().0).await?;
        Ok((accepted, available))
    }

    // ----- groups ---------------------------------------------------------------------------

    /// Create a group; its name is also its id on the server. `suite` overrides this
    /// client's registered suite (it must share its signature scheme).
    pub async fn create_group(
        &mut self,
        name: &str,
        allow_external_join: bool,
        private: bool,
        suite: Option<CipherSuite>,
    ) -> Result<()> {
        check_group_name(name)?;
        let suite = self.suite_or_own(suite)?;
        self.begin().await?;
        let r = self
            .create_inner(name, allow_external_join, private, suite)
            .await;
        self.end();
        r
    }

    async fn create_inner(
        &mut self,
        name: &str,
        allow_external_join: bool,
        private: bool,
        suite: Suite,
    ) -> Result<()> {
        if self.home.name_taken(name)? {
            return Err(Error::new(format!("you already have a group named {name}")));
        }
        let gid = name.as_bytes().to_vec();
        let group = Group::create(
            suite,
            gid.clone(),
            self.credential.clone(),
            self.signer.clone(),
            GroupOptions {
                config: self.config_for(private),
                ..GroupOptions::default()
            },
        )?;
        let gi = group.group_info()?.to_bytes();
        self.api
            .create_group(&gid, allow_external_join, &gi, private)
            .await
            .map_err(|e| match e.status() {
                Some(409) => {
                    Error::new(format!("a group named {name} already exists on the server"))
                }
                _ => e.into(),
            })?;
        self.insert_group(name, &gid, group, 0, None)
    }

    /// Claim KeyPackages of `ids` and add them in one commit.
    pub async fn add_members(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        self.begin().await?;
        let r = self.add_inner(name, ids).await;
        self.end();
        r
    }

    async fn add_inner(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        let gid = self.gid_of(name)?;
        let mut ids: Vec<String> = ids.iter().map(|i| normalize_client_id(i)).collect();
        ids.sort();
        ids.dedup();
        if ids.contains(&self.client_id) {
            return Err(Error::new("you are already a member"));
        }
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        let present = self.member_names(&l.group);
        // KeyPackages of the group's suite, which may differ from the registered one.
        let suite = l.group.suite();
        self.put(&gid, l);
        let wanted: Vec<String> = ids.into_iter().filter(|i| !present.contains(i)).collect();
        if wanted.is_empty() {
            return Err(Error::new("everyone listed is already a member"));
        }
        let claimed = self.api.claim_key_packages(suite.id().0, &wanted).await?;
        let mut list = Vec::new();
        let mut missing = Vec::new();
        for c in claimed {
            if !wanted.contains(&c.client_id) {
                continue;
            }
            let Some(text) = c.key_package else {
                missing.push(c.client_id);
                continue;
            };
            let kp = decode_key_package(&client::field_bytes(&text, "key_package")?)?;
            if kp.cipher_suite != suite.id() {
                return Err(Error::new(format!(
                    "the KeyPackage of {} is for another cipher suite",
                    c.client_id
                )));
            }
            // The DS could hand out anyone's package: it must certify the client we asked for.
            let who = validate_credential(
                &kp.leaf_node.credential,
                &self.root,
                unix_now(),
                &kp.leaf_node.signature_key,
            )
            .map_err(|e| {
                Error::new(format!(
                    "the KeyPackage of {} has a bad credential: {e}",
                    c.client_id
                ))
            })?;
            if who.client_id != c.client_id {
                return Err(Error::new(format!(
                    "the server handed out a KeyPackage of {} for {}",
                    who.client_id, c.client_id
                )));
            }
            list.push((c.client_id, kp));
        }
        if list.is_empty() {
            return Err(Error::new(format!(
                "no KeyPackage available for {} (they must run `cohort keypackages publish`)",
                missing.join(", ")
            )));
        }
        if !missing.is_empty() {
            self.warn(format!(
                "no KeyPackage available for {}: not added",
                missing.join(", ")
            ));
        }
        let l = self.take(&gid)?;
        self.commit_taken(&gid, l, CommitKind::Add(list))
            .await?
            .ok_or_else(|| Error::new("everyone listed is already a member"))
    }

    /// Remove `ids` in one commit.
    pub async fn remove_members(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        self.begin().await?;
        let r = self.remove_inner(name, ids).await;
        self.end();
        r
    }

    async fn remove_inner(&mut self, name: &str, ids: &[String]) -> Result<CommitDone> {
        let gid = self.gid_of(name)?;
        let ids: Vec<String> = ids.iter().map(|i| normalize_client_id(i)).collect();
        if ids.contains(&self.client_id) {
            return Err(Error::new("to remove yourself, use `cohort group leave`"));
        }
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        let present = self.member_names(&l.group);
        if let Some(absent) = ids.iter().find(|i| !present.contains(i)) {
            self.put(&gid, l);
            return Err(Error::new(format!("{absent} is not a member of {name}")));
        }
        self.commit_taken(&gid, l, CommitKind::Remove(ids))
            .await?
            .ok_or_else(|| Error::new("nobody left to remove"))
    }

    /// Commit a fresh path (key update, post-compromise security).
    pub async fn update(&mut self, name: &str) -> Result<CommitDone> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let l = self.take(&gid)?;
            self.commit_taken(&gid, l, CommitKind::Update)
                .await?
                .ok_or_else(|| Error::new("nothing to commit"))
        }
        .await;
        self.end();
        r
    }

    /// Commit the proposals received in `name`, if any.
    pub async fn commit_proposals(&mut self, name: &str) -> Result<Option<CommitDone>> {
        self.begin().await?;
        let r = async {
            let gid = self.gid_of(name)?;
            let l = self.take(&gid)?;
            self.commit_taken(&gid, l, CommitKind::Proposals).await
        }
        .await;
        self.end();
        r
    }

    /// Leave: propose our own removal (a Remove proposal, RFC 9420 §12.1.3; a commit that
    /// removes its own committer is invalid, §12.2); the next member to commit removes us.
    pub async fn leave(&mut self, name: &str) -> Result<()> {
        self.begin().await?;
        let r = self.leave_inner(name).await;
        self.end();
        r
    }

    async fn leave_inner(&mut self, name: &str) -> Result<()> {
        let gid = self.gid_of(name)?;
        let mut l = self.take(&gid)?;
        self.fetch_log(&gid, &mut l).await?;
        if l.status != GroupStatus::Active {
            self.put(&gid, l);
            return Err(not_active(name));
        }
        if l.group.member_count() == 1 {
            l.status = GroupStatus::Removed;
            self.save_state(&gid, &l)?;
            self.put(&gid, l);
            return Ok(());
        }
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let own = l.group.own_leaf_index();
            let msg = l.group.propose_remove(own)?.to_bytes();
            self.save_state(&gid, &l)?;
            let post = PostMessage {
                message: b64(&msg),
                ..PostMessage::default()
            };
            match self.api.post_message(&gid, &post).await {
                Ok(_) => {}
                Err(e) if e.duplicate_seq().is_some() => {}
                Err(e) if e.is_conflict() => {
                    self.fetch_log(&gid, &mut l).await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            l.status = GroupStatus::Leaving;
            self.save_state(&gid, &l)?;
            self.put(&gid, l);
            return Ok(());
        }
        Err(Error::new("the group kept changing epochs; try again"))
    }

    /// Join a group by external commit (§12.4.3.2) from the GroupInfo the server keeps.
    pub async fn join_external(&mut self, name: &str, group_id: &str) -> Result<CommitDone> {
        check_group_name(name)?;
        self.begin().await?;
        let r = self.join_external_inner(name, group_id).await;
        self.end();
        r
    }

    async fn join_external_inner(&mut self, name: &str, group_id: &str) -> Result<CommitDone> {
        if self.home.name_taken(name)? {
            return Err(Error::new(format!("you already have a group named {name}")));
        }
        let gid = group_id.as_bytes().to_vec();
        if self.home.group_by_id(&gid)?.is_some() {
            return Err(Error::new(format!("you already are in group {group_id}")));
        }
        for attempt in 0..MAX_COMMIT_ATTEMPTS {
            let (_, gi) = self
                .api
                .group_info(&gid)
                .await
                .map_err(|e| match e.status() {
                    Some(403) => {
                        Error::new(format!("group {group_id} does not allow external joins"))
                    }
                    Some(404) => Error::new(format!("no group {group_id} on the server")),
                    _ => e.into(),
                })?;
            let gi = decode_mls(&gi)?;
            let (group, commit) = Group::join_external(
                &gi,
                self.credential.clone(),
                self.signer.clone(),
                &NoPsks,
                ExternalCommitOptions {
                    now: Some(unix_now() as u64),
                    config: self.config(),
                    ..ExternalCommitOptions::default()
                },
            )?;
            let post = PostMessage {
                message: b64(&commit.to_bytes()),
                group_info: Some(b64(&group.group_info()?.to_bytes())),
                ..PostMessage::default()
            };
            let seq = match self.api.post_message(&gid, &post).await {
                Ok(p) => p.seq,
                Err(e) if e.duplicate_seq().is_some() => e.duplicate_seq().unwrap_or(0),
                Err(e) if e.is_conflict() => {
                    self.stats.conflicts += 1;
                    self.jitter(attempt).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let epoch = group.epoch();
            let members = group.member_count();
            self.insert_group(name, &gid, group, seq, None)?;
            self.stats.commits += 1;
            self.events.push(Event::Joined {
                group: name.to_string(),
                epoch,
                members,
                how: "external commit",
            });
            return Ok(CommitDone {
                epoch,
                conflicts: attempt,
                members,
            });
        }
        Err(Error::new("gave up: the group kept changing epochs"))
    }
}
