//! The PostgreSQL [`Store`]: several server instances over one database.
//!
//! The trait stays synchronous: every call site already runs it on tokio's blocking pool,
//! and the `postgres` client is tokio-postgres driven on its own small runtime, so it must
//! never be called from an async task. Each method is one transaction. Ordering is the
//! database's job: `append`, `ack_commit`, `set_policy` and `set_group_info` lock the
//! group's row first, so that [`decide`](super::decide) sees the committed epoch and
//! `seq = last_seq + 1` is gap-free whichever instance posts; unique keys on `(group, seq)`
//! and `(group, hash)` are a second line. Whatever must not be done twice by two instances
//! (an inbox id, a group quota, a last-resort replacement) takes a transaction-scoped
//! advisory lock on its key.

mod log;
mod rates;
mod schema;
#[cfg(test)]
mod tests;
pub mod tls;

use super::{
    bad_invite, check_group_info_epoch, check_group_quota, check_policy_rights, taken, to_i64,
    to_u64, Appended, Claimed, ClientRecord, GroupRecord, Handshake, InboxEntry, KeyPackageCount,
    NewClient, NewGroup, NewMessage, PruneReport, Rate, Retention, Store, StoreError, StoreResult,
    StoredKeyPackage, StoredMessage,
};
use postgres::error::SqlState;
use postgres::{Config, Row};
use r2d2_postgres::r2d2;
use r2d2_postgres::PostgresConnectionManager;
use std::path::Path;
use std::time::Duration;
use tls::MakeRustlsConnect;
use zeroize::Zeroizing;

/// How long connecting, or waiting for a pooled connection, may take when the URL does not
/// say (`connect_timeout`): an unreachable database is an error in seconds, not a hang.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Advisory lock classes (the first key of the two-key form; the second is `hashtext` of
/// the id), one per kind of id so that unrelated ids never wait for each other.
mod lock {
    /// A client's inbox: ids are handed out in commit order.
    pub(super) const INBOX: i32 = 1;
    /// A creator's group quota: count and insert together.
    pub(super) const CREATOR: i32 = 2;
    /// A client's KeyPackage uploads: one last-resort package per suite.
    pub(super) const KEY_PACKAGES: i32 = 3;
}

type Pool = r2d2::Pool<PostgresConnectionManager<MakeRustlsConnect>>;
type Conn = r2d2::PooledConnection<PostgresConnectionManager<MakeRustlsConnect>>;

fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Map a unique violation (SQLSTATE 23505) to the conflict SQLite reports, anything else to
/// `Backend`.
fn unique_or_backend(e: postgres::Error, reason: &str) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        taken(reason)
    } else {
        backend(e)
    }
}

/// Read a small integer column, refusing a corrupt value instead of truncating it.
fn narrow<T: TryFrom<i64>>(v: i64, what: &str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| StoreError::Backend(format!("stored {what} {v} is out of range")))
}

/// The PostgreSQL store: a pool of connections to one database.
pub struct PgStore {
    pool: Pool,
    grace: u64,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the pool: its configuration holds the connection's password.
        f.debug_struct("PgStore")
            .field("grace", &self.grace)
            .field("pool_size", &self.pool.max_size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The pool size when the operator gives none.
    pub const DEFAULT_POOL_SIZE: u32 = 16;

    /// Connect to the database at `url` (`postgres://user[:password]@host[:port]/dbname`,
    /// with libpq's query parameters) with at most `pool_size` connections, and bring its
    /// schema up to date. Blocking: call it off the async runtime.
    pub fn connect(url: &str, pool_size: u32) -> StoreResult<Self> {
        Self::connect_tls(url, pool_size, None)
    }

    /// [`PgStore::connect`] over TLS verified against the roots in `ca` (a PEM file); with
    /// `None`, plain (see [`tls`]).
    pub fn connect_tls(url: &str, pool_size: u32, ca: Option<&Path>) -> StoreResult<Self> {
        // The parse error does not echo the URL, which may hold a password.
        let config: Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Self::connect_with_tls(config, pool_size, ca)
    }

    /// [`PgStore::connect`] from a parsed configuration.
    pub fn connect_with(config: Config, pool_size: u32) -> StoreResult<Self> {
        Self::connect_with_tls(config, pool_size, None)
    }

    /// [`PgStore::connect_tls`] from a parsed configuration.
    pub fn connect_with_tls(
        mut config: Config,
        pool_size: u32,
        ca: Option<&Path>,
    ) -> StoreResult<Self> {
        let (mode, tls) = tls::connector(config.get_ssl_mode(), ca)?;
        config.ssl_mode(mode);
        let timeout = *config
            .get_connect_timeout()
            .unwrap_or(&DEFAULT_CONNECT_TIMEOUT);
        config.connect_timeout(timeout);
        let manager = PostgresConnectionManager::new(config, tls);
        // Connections open on demand (one kept warm), so that many small instances or test
        // databases do not hold `pool_size` connections each while idle.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .build_unchecked(manager);
        let store = PgStore { pool, grace: 1 };
        let mut conn = store.conn()?;
        schema::migrate(&mut conn)?;
        drop(conn);
        Ok(store)
    }

    /// Set how many epochs behind an application message may be (default 1).
    pub fn with_grace_epochs(mut self, grace: u64) -> Self {
        self.grace = grace;
        self
    }

    fn conn(&self) -> StoreResult<Conn> {
        self.pool
            .get()
            .map_err(|e| StoreError::Backend(format!("PostgreSQL is unreachable: {e}")))
    }
}

const CLIENT_COLUMNS: &str = "id, signature_key, certificate, created_at, revoked_at";

fn client_from_row(row: &Row) -> ClientRecord {
    ClientRecord {
        id: row.get(0),
        signature_key: row.get(1),
        certificate: row.get(2),
        created_at: row.get(3),
        revoked_at: row.get(4),
    }
}

impl PgStore {
    fn client_where(
        &self,
        column: &str,
        value: &(dyn postgres::types::ToSql + Sync),
    ) -> StoreResult<Option<ClientRecord>> {
        let row = self
            .conn()?
            .query_opt(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE {column} = $1"),
                &[value],
            )
            .map_err(backend)?;
        Ok(row.as_ref().map(client_from_row))
    }
}

impl Store for PgStore {
    fn ca_root(&self, make: &mut dyn FnMut() -> StoreResult<Vec<u8>>) -> StoreResult<Vec<u8>> {
        let mut conn = self.conn()?;
        let read = |conn: &mut Conn| -> StoreResult<Option<Vec<u8>>> {
            conn.query_opt("SELECT value FROM meta WHERE key = 'ca_root'", &[])
                .map(|r| r.map(|r| r.get(0)))
                .map_err(backend)
        };
        if let Some(root) = read(&mut conn)? {
            return Ok(root);
        }
        let root = make()?;
        // First writer wins: a racing instance's root is kept and ours dropped.
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('ca_root', $1) ON CONFLICT (key) DO NOTHING",
            &[&root],
        )
        .map_err(backend)?;
        read(&mut conn)?.ok_or_else(|| StoreError::Backend("CA root vanished".into()))
    }

    fn legacy_ca_key(&self) -> StoreResult<Option<Zeroizing<Vec<u8>>>> {
        // No PostgreSQL database ever held the CA key.
        Ok(None)
    }

    fn forget_legacy_ca_key(&self) -> StoreResult<()> {
        Ok(())
    }

    fn create_client(&self, client: NewClient) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        if let Some(hash) = client.invite_hash {
            // A concurrent consumer holds the row until it commits; we then delete nothing.
            let n = tx
                .execute(
                    "DELETE FROM invites WHERE hash = $1 AND expires_at >= $2",
                    &[&hash.as_slice(), &client.created_at],
                )
                .map_err(backend)?;
            if n != 1 {
                return Err(bad_invite());
            }
        }
        tx.execute(
            "INSERT INTO clients (id, signature_key, certificate, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &client.id,
                &client.signature_key,
                &client.certificate,
                &client.token_hash.as_slice(),
                &client.created_at,
            ],
        )
        .map_err(|e| unique_or_backend(e, "client id or signature key already enrolled"))?;
        tx.commit().map_err(backend)
    }

    fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        self.client_where("id", &id)
    }

    fn client_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ClientRecord>> {
        self.client_where("token_hash", &token_hash.as_slice())
    }

    fn client_by_signature_key(&self, signature_key: &[u8]) -> StoreResult<Option<ClientRecord>> {
        self.client_where("signature_key", &signature_key)
    }

    fn revoke_client(&self, id: &str, now: i64) -> StoreResult<i64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let at: i64 = tx
            .query_opt(
                "UPDATE clients SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1
                 RETURNING revoked_at",
                &[&id, &now],
            )
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("client {id}")))?
            .get(0);
        // A revoked client's KeyPackages must not be handed out any more.
        tx.execute("DELETE FROM key_packages WHERE client_id = $1", &[&id])
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(at)
    }

    fn add_invite(&self, hash: [u8; 32], now: i64, expires_at: i64) -> StoreResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO invites (hash, created_at, expires_at) VALUES ($1, $2, $3)",
                &[&hash.as_slice(), &now, &expires_at],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn add_key_packages(
        &self,
        client: &str,
        kps: Vec<StoredKeyPackage>,
        now: i64,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        if kps.iter().any(|kp| kp.last_resort) {
            // Two instances replacing the last resort at once must not both keep theirs.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&lock::KEY_PACKAGES, &client],
            )
            .map_err(backend)?;
        }
        for kp in kps {
            let suite = i64::from(kp.cipher_suite);
            if kp.last_resort {
                // One last-resort package per suite: a new one replaces the old.
                tx.execute(
                    "DELETE FROM key_packages
                     WHERE client_id = $1 AND cipher_suite = $2 AND last_resort",
                    &[&client, &suite],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "INSERT INTO key_packages
                 (client_id, cipher_suite, kp_ref, data, last_resort, not_after, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &client,
                    &suite,
                    &kp.kp_ref,
                    &kp.data,
                    &kp.last_resort,
                    &to_i64(kp.not_after),
                    &now,
                ],
            )
            .map_err(|e| unique_or_backend(e, "KeyPackage already uploaded"))?;
        }
        tx.commit().map_err(backend)
    }

    fn key_package_counts(&self, client: &str, now: i64) -> StoreResult<Vec<KeyPackageCount>> {
        let rows = self
            .conn()?
            .query(
                "SELECT cipher_suite, COUNT(*) FILTER (WHERE NOT last_resort), bool_or(last_resort)
                 FROM key_packages WHERE client_id = $1 AND not_after >= $2
                 GROUP BY cipher_suite ORDER BY cipher_suite",
                &[&client, &now],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(KeyPackageCount {
                    cipher_suite: narrow(r.get(0), "cipher suite")?,
                    available: to_u64(r.get(1)),
                    last_resort: r.get(2),
                })
            })
            .collect()
    }

    fn claim_key_packages(
        &self,
        targets: &[String],
        suite: u16,
        now: i64,
    ) -> StoreResult<Vec<Claimed>> {
        let suite = i64::from(suite);
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let mut out = Vec::with_capacity(targets.len());
        for target in targets {
            // SKIP LOCKED: a package another instance is claiming right now is not ours, so
            // concurrent claimers take different packages instead of queueing (if that claim
            // then rolls back, this one may have fallen back to the last resort meanwhile).
            let ordinary = tx
                .query_opt(
                    "DELETE FROM key_packages WHERE id = (
                         SELECT id FROM key_packages
                         WHERE client_id = $1 AND cipher_suite = $2 AND NOT last_resort
                           AND not_after >= $3
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING data",
                    &[target, &suite, &now],
                )
                .map_err(backend)?;
            let key_package = match ordinary {
                Some(row) => Some((row.get(0), false)),
                None => tx
                    .query_opt(
                        "SELECT data FROM key_packages
                         WHERE client_id = $1 AND cipher_suite = $2 AND last_resort
                           AND not_after >= $3
                         ORDER BY id DESC LIMIT 1",
                        &[target, &suite, &now],
                    )
                    .map_err(backend)?
                    .map(|r| (r.get(0), true)),
            };
            out.push(Claimed {
                client_id: target.clone(),
                key_package,
            });
        }
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    fn create_group(&self, group: NewGroup) -> StoreResult<GroupRecord> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        // Count and insert under one lock per creator: two instances must not both pass
        // the quota with its last slot.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&lock::CREATOR, &group.creator],
        )
        .map_err(backend)?;
        let created: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM groups WHERE creator = $1",
                &[&group.creator],
            )
            .map_err(backend)?
            .get(0);
        check_group_quota(&group.creator, to_u64(created), group.creator_quota)?;
        tx.execute(
            "INSERT INTO groups (group_id, epoch, creator, allow_external_join, last_seq,
                                 group_info, group_info_epoch, created_at, public_handshake,
                                 view)
             VALUES ($1, 0, $2, $3, 0, $4::BYTEA,
                     CASE WHEN $4::BYTEA IS NULL THEN NULL ELSE 0 END, $5, $6, $7)",
            &[
                &group.group_id,
                &group.creator,
                &group.allow_external_join,
                &group.group_info,
                &group.created_at,
                &(group.handshake == Handshake::Public),
                &group.view,
            ],
        )
        .map_err(|e| unique_or_backend(e, "group already exists"))?;
        tx.execute(
            "INSERT INTO members (group_id, client_id) VALUES ($1, $2)",
            &[&group.group_id, &group.creator],
        )
        .map_err(backend)?;
        let record = log::load_group(&mut tx, &group.group_id, false)?
            .ok_or_else(|| StoreError::Backend("group vanished".into()))?;
        tx.commit().map_err(backend)?;
        Ok(record)
    }

    fn group(&self, group_id: &[u8]) -> StoreResult<Option<GroupRecord>> {
        let mut conn = self.conn()?;
        // One snapshot for the group row and its members.
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(backend)?;
        log::load_group(&mut tx, group_id, false)
    }

    fn is_member(&self, group_id: &[u8], client: &str) -> StoreResult<bool> {
        self.conn()?
            .query_opt(
                "SELECT 1 FROM members WHERE group_id = $1 AND client_id = $2",
                &[&group_id, &client],
            )
            .map(|r| r.is_some())
            .map_err(backend)
    }

    fn group_view(&self, group_id: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.conn()?
            .query_opt("SELECT view FROM groups WHERE group_id = $1", &[&group_id])
            .map(|r| r.and_then(|r| r.get(0)))
            .map_err(backend)
    }

    fn epoch_proposals(&self, group_id: &[u8], epoch: u64) -> StoreResult<Vec<Vec<u8>>> {
        let rows = self
            .conn()?
            .query(
                "SELECT data FROM messages WHERE group_id = $1 AND epoch = $2
                   AND content_type = 2 AND wire_format = 1 ORDER BY seq",
                &[&group_id, &to_i64(epoch)],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn contested_epoch(&self, group_id: &[u8]) -> StoreResult<Option<u64>> {
        self.conn()?
            .query_opt(
                "SELECT contested_epoch FROM groups WHERE group_id = $1",
                &[&group_id],
            )
            .map(|r| r.and_then(|r| r.get::<_, Option<i64>>(0)).map(to_u64))
            .map_err(backend)
    }

    fn ack_commit(
        &self,
        group_id: &[u8],
        seq: u64,
        caller: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, u64)>> {
        log::ack_commit(&mut self.conn()?, group_id, seq, caller, now)
    }

    fn set_policy(
        &self,
        group_id: &[u8],
        caller: &str,
        allow_external_join: bool,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let group = log::load_group(&mut tx, group_id, true)?
            .ok_or_else(|| StoreError::NotFound("group".into()))?;
        check_policy_rights(&group, caller)?;
        tx.execute(
            "UPDATE groups SET allow_external_join = $2 WHERE group_id = $1",
            &[&group_id, &allow_external_join],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn append(&self, message: NewMessage) -> StoreResult<Appended> {
        log::append(&mut self.conn()?, message, self.grace)
    }

    fn messages_after(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<(Vec<StoredMessage>, Option<u64>)> {
        log::messages_after(&mut self.conn()?, group_id, after, limit, max_bytes)
    }

    fn group_info(&self, group_id: &[u8]) -> StoreResult<Option<(u64, Vec<u8>)>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT group_info_epoch, group_info FROM groups WHERE group_id = $1",
                &[&group_id],
            )
            .map_err(backend)?;
        Ok(row.and_then(
            |r| match (r.get::<_, Option<i64>>(0), r.get::<_, Option<Vec<u8>>>(1)) {
                (Some(epoch), Some(data)) => Some((to_u64(epoch), data)),
                _ => None,
            },
        ))
    }

    fn set_group_info(&self, group_id: &[u8], epoch: u64, data: Vec<u8>) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let current: i64 = tx
            .query_opt(
                "SELECT epoch FROM groups WHERE group_id = $1 FOR UPDATE",
                &[&group_id],
            )
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound("group".into()))?
            .get(0);
        check_group_info_epoch(to_u64(current), epoch)?;
        tx.execute(
            "UPDATE groups SET group_info = $2, group_info_epoch = $3 WHERE group_id = $1",
            &[&group_id, &data, &to_i64(epoch)],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn inbox(
        &self,
        client: &str,
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<Vec<InboxEntry>> {
        log::inbox(&mut self.conn()?, client, after, limit, max_bytes)
    }

    fn ack_inbox(&self, client: &str, upto: u64) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let n = tx
            .execute(
                "DELETE FROM inbox WHERE client_id = $1 AND id <= $2",
                &[&client, &to_i64(upto)],
            )
            .map_err(backend)?;
        log::drop_unread_welcomes(&mut tx)?;
        tx.commit().map_err(backend)?;
        Ok(n)
    }

    fn prune(&self, retention: &Retention, now: i64) -> StoreResult<PruneReport> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(backend)?;
        let mut report = PruneReport::default();
        if let Some(age) = retention.max_age_secs {
            let cutoff = now.saturating_sub(age);
            report.messages += tx
                .execute("DELETE FROM messages WHERE created_at < $1", &[&cutoff])
                .map_err(backend)?;
            report.welcomes += tx
                .execute("DELETE FROM inbox WHERE created_at < $1", &[&cutoff])
                .map_err(backend)?;
            log::drop_unread_welcomes(&mut tx)?;
        }
        if let Some(keep) = retention.keep_last {
            report.messages += tx
                .execute(
                    "DELETE FROM messages m USING groups g
                     WHERE g.group_id = m.group_id AND m.seq <= g.last_seq - $1",
                    &[&to_i64(keep)],
                )
                .map_err(backend)?;
        }
        report.expired += tx
            .execute("DELETE FROM key_packages WHERE not_after < $1", &[&now])
            .map_err(backend)?;
        report.expired += tx
            .execute("DELETE FROM invites WHERE expires_at < $1", &[&now])
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        rates::prune(&mut conn)?;
        Ok(report)
    }

    fn pool_state(&self) -> Option<crate::metrics::PoolState> {
        let state = self.pool.state();
        Some(crate::metrics::PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        })
    }

    fn shares_rates(&self) -> bool {
        true
    }

    fn take_rate(
        &self,
        bucket: &str,
        key: &str,
        rate: Rate,
        n: u32,
        force: bool,
    ) -> StoreResult<Result<(), Duration>> {
        rates::take(&mut self.conn()?, bucket, key, rate, n, force)
    }
}
