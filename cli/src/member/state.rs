//! Identity, loading and storing groups, and read-only views of them.

use super::{blocking, normalize_client_id, AsValidator, Event, GroupView, Loaded, Member, Stats};
use crate::client::{self, b64, Api, ApiError};
use crate::error::{Error, Result};
use crate::home::{
    unix_now, GroupRow, GroupStatus, HistoryEntry, Home, NewHistory, OutboxChange, StoredIdentity,
};
use cohort::crypto::{CipherSuite, Suite};
use cohort::group::{Group, GroupConfig, HandshakeFormat, SharedValidator};
use cohort::messages::LeafNode;
use cohort_server::authority::{certificate_request, validate_credential, x509_credential};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

impl Member {
    /// Enroll `client_id` with the server's AS and create the home.
    pub async fn register(
        dir: &Path,
        server: &str,
        client_id: &str,
        enrollment_secret: Option<&str>,
        invite: Option<&str>,
        cipher_suite: CipherSuite,
    ) -> Result<Member> {
        let client_id = normalize_client_id(client_id);
        let mut home = Home::open(dir)?;
        home.lock().await?;
        if let Some(existing) = home.identity()? {
            return Err(Error::new(format!(
                "this home is already registered as {} (use another --home)",
                existing.client_id
            )));
        }
        let suite = Suite::new(cipher_suite)?;
        let signer = suite.generate_signature_key_pair()?;
        let csr = certificate_request(&signer, &client_id)
            .map_err(|e| Error::new(format!("certificate request: {e}")))?;
        let api = Api::new(server, None)?;
        // Trust on first use: the root is pinned now and checked against everything later.
        let root = api.root_certificate().await?;
        let enrolled = api
            .enroll(&client_id, &csr, enrollment_secret, invite)
            .await
            .map_err(|e| match e.status() {
                Some(409) => Error::new(format!("{client_id} is already enrolled on this server")),
                _ => Error::from(e).context("enrollment failed"),
            })?;
        let chain = enrolled
            .certificate_chain
            .iter()
            .map(|c| client::field_bytes(c, "certificate"))
            .collect::<std::result::Result<Vec<_>, ApiError>>()?;
        let who = validate_credential(
            &x509_credential(&chain[..chain.len().min(1)]),
            &root,
            unix_now(),
            signer.public_key(),
        )
        .map_err(|e| Error::new(format!("the server issued an unusable certificate: {e}")))?;
        if who.client_id != client_id || enrolled.client_id != client_id {
            return Err(Error::new(format!(
                "the server certified {} instead of {client_id}",
                who.client_id
            )));
        }
        let _ = enrolled.identity;
        home.save_identity(&StoredIdentity {
            server: api.urls(),
            client_id,
            suite: cipher_suite.0,
            signature_key: Zeroizing::new(signer.to_bytes().as_bytes().to_vec()),
            chain,
            token: Zeroizing::new(enrolled.token),
            root_der: root,
        })?;
        home.unlock();
        drop(home);
        Member::open(dir, None).await
    }

    /// Open a registered home; `server` overrides (and replaces) the stored server URL.
    pub async fn open(dir: &Path, server: Option<&str>) -> Result<Member> {
        let mut home = Home::open(dir)?;
        let id = home.identity()?.ok_or_else(|| {
            Error::new(format!(
                "{} is not registered: run `cohort register CLIENT_ID` first",
                dir.display()
            ))
        })?;
        let mut base = id.server.clone();
        if let Some(s) = server {
            let s = s.trim_end_matches('/');
            if s != id.server {
                Api::new(s, None)?;
                home.lock().await?;
                home.set_server(s)?;
                home.unlock();
                base = s.to_string();
            }
        }
        let suite = Suite::new(CipherSuite(id.suite))?;
        let signer = suite.signature_key_from_bytes(&id.signature_key)?;
        let root = Arc::new(id.root_der.clone());
        let api = Api::new(&base, Some(id.token.to_string()))?;
        Ok(Member {
            home,
            api,
            client_id: id.client_id.clone(),
            suite,
            signer,
            // The leaf alone: peers hold the root already (RFC 9420 §5.3 lets a chain omit
            // certificates peers already possess), and every leaf of every tree carries it.
            credential: x509_credential(&id.chain[..id.chain.len().min(1)]),
            validator: SharedValidator::new(AsValidator { root: root.clone() }),
            root,
            cache: HashMap::new(),
            names: HashMap::new(),
            events: Vec::new(),
            resend: Vec::new(),
            acks: Vec::new(),
            stats: Stats::default(),
            commit_gate: None,
        })
    }

    /// See [`Home::relax_durability`] (benchmarks only).
    pub fn relax_durability(&mut self) -> Result<()> {
        self.home.relax_durability()
    }

    /// Our client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub(super) fn config(&self) -> GroupConfig {
        GroupConfig {
            credential_validator: Some(self.validator.clone()),
            ..GroupConfig::default()
        }
    }

    /// [`Member::config`] for a group with PrivateMessage (`private`) or PublicMessage
    /// handshakes.
    pub(super) fn config_for(&self, private: bool) -> GroupConfig {
        GroupConfig {
            handshake_format: if private {
                HandshakeFormat::Private
            } else {
                HandshakeFormat::Public
            },
            ..self.config()
        }
    }

    pub(super) fn warn(&mut self, w: String) {
        self.events.push(Event::Warning(w));
    }

    /// Lock the home for one operation; cached groups are stale once another process has
    /// changed the store.
    pub(super) async fn begin(&mut self) -> Result<()> {
        if self.home.lock().await? {
            self.cache.clear();
        }
        Ok(())
    }

    pub(super) fn end(&mut self) {
        self.home.unlock();
    }

    pub(super) fn gid_of(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self
            .home
            .group_by_name(name)?
            .ok_or_else(|| Error::new(format!("no group named {name} (see `cohort group list`)")))?
            .group_id)
    }

    /// Take a group out of the cache (loading it from the home). Put it back with
    /// [`Member::put`] once it is consistent with the store; on error it is just dropped
    /// and reloaded next time.
    pub(super) fn take(&mut self, gid: &[u8]) -> Result<Loaded> {
        if let Some(l) = self.cache.remove(gid) {
            return Ok(l);
        }
        let row = self
            .home
            .group_by_id(gid)?
            .ok_or_else(|| Error::new("unknown group"))?;
        let group = Group::from_bytes(&row.state, Some(self.validator.clone()))
            .map_err(|e| Error::new(format!("group {}: stored state unusable: {e}", row.name)))?;
        Ok(Loaded {
            name: row.name,
            group,
            cursor: row.cursor,
            status: row.status,
            joined_epoch: row.joined_epoch,
        })
    }

    pub(super) fn put(&mut self, gid: &[u8], l: Loaded) {
        self.cache.insert(gid.to_vec(), l);
    }

    pub(super) fn save(
        &mut self,
        gid: &[u8],
        l: &Loaded,
        history: &[NewHistory],
        outbox: OutboxChange<'_>,
    ) -> Result<Option<i64>> {
        let state = l.group.to_bytes();
        let home = &mut self.home;
        // A durable commit waits for the disk: let the runtime move other tasks elsewhere.
        blocking(|| home.update_group(gid, &state, l.cursor, l.status, history, outbox))
    }

    /// [`Member::save`] of the group state alone, the usual case around a key or epoch change.
    pub(super) fn save_state(&mut self, gid: &[u8], l: &Loaded) -> Result<()> {
        self.save(gid, l, &[], OutboxChange::None).map(|_| ())
    }

    /// Store a group we just created or joined, active from its current epoch, and cache
    /// it; `consumed_key_package` (a Welcome's) goes in the same transaction.
    pub(super) fn insert_group(
        &mut self,
        name: &str,
        gid: &[u8],
        group: Group,
        cursor: u64,
        consumed_key_package: Option<&[u8]>,
    ) -> Result<()> {
        let joined_epoch = group.epoch();
        self.home.insert_group(
            &GroupRow {
                name: name.to_string(),
                group_id: gid.to_vec(),
                state: group.to_bytes(),
                cursor,
                status: GroupStatus::Active,
                joined_epoch,
            },
            consumed_key_package,
        )?;
        self.put(
            gid,
            Loaded {
                name: name.to_string(),
                group,
                cursor,
                status: GroupStatus::Active,
                joined_epoch,
            },
        );
        Ok(())
    }

    /// The client id a leaf's credential certifies (cached by signature key).
    pub(super) fn leaf_name(&mut self, leaf: &LeafNode) -> String {
        if let Some(n) = self.names.get(leaf.signature_key.as_slice()) {
            return n.clone();
        }
        let name = match validate_credential(
            &leaf.credential,
            &self.root,
            unix_now(),
            &leaf.signature_key,
        ) {
            Ok(who) => who.client_id,
            Err(_) => "(unverified)".to_string(),
        };
        self.names
            .insert(leaf.signature_key.as_slice().to_vec(), name.clone());
        name
    }

    pub(super) fn index_name(&mut self, group: &Group, index: u32) -> String {
        match group.members().into_iter().find(|m| m.index == index) {
            Some(m) => self.leaf_name(&m.leaf),
            None => format!("leaf {index}"),
        }
    }

    pub(super) fn member_ids(&mut self, group: &Group) -> Vec<(u32, String)> {
        group
            .members()
            .into_iter()
            .map(|m| (m.index, self.leaf_name(&m.leaf)))
            .collect()
    }

    /// The client ids of [`Member::member_ids`] without their leaf indexes.
    pub(super) fn member_names(&mut self, group: &Group) -> Vec<String> {
        self.member_ids(group).into_iter().map(|(_, n)| n).collect()
    }

    // ----- views ------------------------------------------------------------------------------

    /// `(leaf index, client id, is us)` of every member.
    pub async fn members(&mut self, name: &str) -> Result<Vec<(u32, String, bool)>> {
        self.begin().await?;
        let r = (|| {
            let gid = self.gid_of(name)?;
            let l = self.take(&gid)?;
            let own = l.group.own_leaf_index();
            let list = self
                .member_ids(&l.group)
                .into_iter()
                .map(|(i, n)| (i, n, i == own))
                .collect();
            self.put(&gid, l);
            Ok(list)
        })();
        self.end();
        r
    }

    /// Every group of this home.
    pub async fn groups(&mut self) -> Result<Vec<GroupView>> {
        self.begin().await?;
        let r = (|| {
            let mut out = Vec::new();
            for row in self.home.groups()? {
                out.push(self.view(&row.group_id)?);
            }
            Ok(out)
        })();
        self.end();
        r
    }

    /// One group.
    pub async fn status(&mut self, name: &str) -> Result<GroupView> {
        self.begin().await?;
        let r = self.gid_of(name).and_then(|gid| self.view(&gid));
        self.end();
        r
    }

    fn view(&mut self, gid: &[u8]) -> Result<GroupView> {
        let l = self.take(gid)?;
        let v = GroupView {
            name: l.name.clone(),
            group_id: String::from_utf8(gid.to_vec()).unwrap_or_else(|_| b64(gid)),
            epoch: l.group.epoch(),
            members: l.group.member_count(),
            authenticator: hex::encode(l.group.epoch_authenticator()),
            status: l.status,
            cursor: l.cursor,
            state_bytes: l.group.to_bytes().len(),
        };
        self.put(gid, l);
        Ok(v)
    }

    /// The newest `limit` messages of a group.
    pub async fn history(&mut self, name: &str, limit: u32) -> Result<Vec<HistoryEntry>> {
        self.begin().await?;
        let r = self
            .gid_of(name)
            .and_then(|gid| self.home.history(&gid, limit));
        self.end();
        r
    }

    /// `(ordinary, last-resort)` KeyPackage secrets held locally.
    pub fn local_key_packages(&self) -> Result<(u64, u64)> {
        self.home.key_package_counts()
    }
}
