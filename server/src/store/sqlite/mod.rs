//! The SQLite [`Store`]: one writer connection in WAL mode with `synchronous=FULL`, so that a
//! transaction is on disk before the request that made it is acknowledged, and a pool of
//! read connections, so that reads (authentication, log fetches) never queue behind a write
//! or behind each other. WAL gives each read transaction the last committed state, so a read
//! made after a write was acknowledged sees it.

mod log;
mod schema;

#[cfg(test)]
pub(super) use schema::SCHEMA_V0;

use super::{
    bad_invite, check_group_info_epoch, check_group_quota, check_policy_rights, taken, to_i64,
    to_u64, Appended, Claimed, ClientRecord, GroupRecord, Handshake, InboxEntry, KeyPackageCount,
    NewClient, NewGroup, NewMessage, PruneReport, Retention, Store, StoreError, StoreResult,
    StoredKeyPackage, StoredMessage,
};
use log::{contested, drop_unread_welcomes, load_group, member};
use r2d2_postgres::r2d2;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use schema::{create_private, migrate};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use zeroize::Zeroizing;

/// `group_views.handshake` of a PublicMessage group; a group without a row is Private.
const HANDSHAKE_PUBLIC: i64 = 1;
/// `group_views.handshake` of a PrivateMessage group.
const HANDSHAKE_PRIVATE: i64 = 2;

/// How long a connection waits for SQLite's own locks (a checkpoint, another process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Whether an error is a UNIQUE or PRIMARY KEY violation.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// Opens the pool's read connections: `query_only`, so that a bug cannot write through one.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
}

impl r2d2::ManageConnection for Readers {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        conn.query_row("SELECT 1", [], |_| Ok(()))
    }

    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

/// A connection to read through: pooled, or the writer's for an in-memory database (which
/// no second connection can see).
enum Reader<'a> {
    Pooled(r2d2::PooledConnection<Readers>),
    Writer(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Reader::Pooled(c) => c,
            Reader::Writer(c) => c,
        }
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            Reader::Pooled(c) => c,
            Reader::Writer(c) => c,
        }
    }
}

/// The default store: SQLite through `rusqlite` (bundled), WAL journal.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    readers: Option<r2d2::Pool<Readers>>,
    grace: u64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("grace", &self.grace)
            .field("readers", &self.readers.as_ref().map(|p| p.max_size()))
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Read connections a file database gets when the caller does not say.
    pub const DEFAULT_READERS: u32 = 4;

    /// Open (or create) the database at `path`, with [`Self::DEFAULT_READERS`] readers.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with_readers(path, Self::DEFAULT_READERS)
    }

    /// Open (or create) the database at `path` with at most `readers` read connections
    /// (opened on demand) beside the writer.
    pub fn open_with_readers(path: &Path, readers: u32) -> StoreResult<Self> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(backend)?;
        let mut store = Self::init(conn, true)?;
        let pool = r2d2::Pool::builder()
            .max_size(readers.max(1))
            .min_idle(Some(0))
            .connection_timeout(BUSY_TIMEOUT)
            .build_unchecked(Readers {
                path: path.to_path_buf(),
            });
        store.readers = Some(pool);
        Ok(store)
    }

    /// A private in-memory database (for tests and in-process demos).
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        Self::init(conn, false)
    }

    fn init(conn: Connection, wal: bool) -> StoreResult<Self> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            readers: None,
            grace: 1,
        })
    }

    /// Set how many epochs behind an application message may be (default 1).
    pub fn with_grace_epochs(mut self, grace: u64) -> Self {
        self.grace = grace;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied transaction (it rolls
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> StoreResult<Reader<'_>> {
        match &self.readers {
            Some(pool) => pool
                .get()
                .map(Reader::Pooled)
                .map_err(|e| StoreError::Backend(format!("no read connection: {e}"))),
            None => Ok(Reader::Writer(self.lock())),
        }
    }
}

fn client_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRecord> {
    Ok(ClientRecord {
        id: row.get(0)?,
        signature_key: row.get(1)?,
        certificate: row.get(2)?,
        created_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

const CLIENT_COLUMNS: &str = "id, signature_key, certificate, created_at, revoked_at";

impl Store for SqliteStore {
    fn pool_state(&self) -> Option<crate::metrics::PoolState> {
        let pool = self.readers.as_ref()?;
        let state = pool.state();
        Some(crate::metrics::PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max: pool.max_size(),
        })
    }

    fn ca_root(&self, make: &mut dyn FnMut() -> StoreResult<Vec<u8>>) -> StoreResult<Vec<u8>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let stored = tx
            .query_row("SELECT value FROM meta WHERE key = 'ca_root'", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(backend)?;
        if let Some(root) = stored {
            return Ok(root);
        }
        let root = make()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('ca_root', ?1)",
            params![root],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(root)
    }

    fn legacy_ca_key(&self) -> StoreResult<Option<Zeroizing<Vec<u8>>>> {
        let conn = self.lock();
        conn.query_row("SELECT value FROM meta WHERE key = 'ca_key'", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()
        .map(|k| k.map(Zeroizing::new))
        .map_err(backend)
    }

    fn forget_legacy_ca_key(&self) -> StoreResult<()> {
        let conn = self.lock();
        // secure_delete zeroes the freed cells; the checkpoint then moves the zeroed pages
        // into the database and empties the WAL, which held the key's old page.
        conn.pragma_update(None, "secure_delete", true)
            .map_err(backend)?;
        conn.execute("DELETE FROM meta WHERE key = 'ca_key'", [])
            .map_err(backend)?;
        conn.pragma_update(None, "secure_delete", false)
            .map_err(backend)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(backend)?;
        Ok(())
    }

    fn create_client(&self, client: NewClient) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        if let Some(hash) = client.invite_hash {
            let n = tx
                .execute(
                    "DELETE FROM invites WHERE hash = ?1 AND expires_at >= ?2",
                    params![hash.as_slice(), client.created_at],
                )
                .map_err(backend)?;
            if n != 1 {
                return Err(bad_invite());
            }
        }
        let r = tx.execute(
            "INSERT INTO clients (id, signature_key, certificate, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                client.id,
                client.signature_key,
                client.certificate,
                client.token_hash.as_slice(),
                client.created_at
            ],
        );
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(taken("client id or signature key already enrolled"))
            }
            Err(e) => return Err(backend(e)),
        }
        tx.commit().map_err(backend)
    }

    fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        let conn = self.read()?;
        conn.query_row(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1"),
            params![id],
            client_from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn client_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ClientRecord>> {
        let conn = self.read()?;
        conn.query_row(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE token_hash = ?1"),
            params![token_hash.as_slice()],
            client_from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn client_by_signature_key(&self, signature_key: &[u8]) -> StoreResult<Option<ClientRecord>> {
        let conn = self.read()?;
        conn.query_row(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE signature_key = ?1"),
            params![signature_key],
            client_from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn revoke_client(&self, id: &str, now: i64) -> StoreResult<i64> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let n = tx
            .execute(
                "UPDATE clients SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("client {id}")));
        }
        // A revoked client's KeyPackages must not be handed out any more.
        tx.execute("DELETE FROM key_packages WHERE client_id = ?1", params![id])
            .map_err(backend)?;
        let at = tx
            .query_row(
                "SELECT revoked_at FROM clients WHERE id = ?1",
                params![id],
                |r| r.get::<_, i64>(0),
            )
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(at)
    }

    fn add_invite(&self, hash: [u8; 32], now: i64, expires_at: i64) -> StoreResult<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO invites (hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
            params![hash.as_slice(), now, expires_at],
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
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        for kp in kps {
            if kp.last_resort {
                // One last-resort package per suite: a new one replaces the old.
                tx.execute(
                    "DELETE FROM key_packages
                     WHERE client_id = ?1 AND cipher_suite = ?2 AND last_resort = 1",
                    params![client, kp.cipher_suite],
                )
                .map_err(backend)?;
            }
            let r = tx.execute(
                "INSERT INTO key_packages
                 (client_id, cipher_suite, kp_ref, data, last_resort, not_after, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    client,
                    kp.cipher_suite,
                    kp.kp_ref,
                    kp.data,
                    kp.last_resort,
                    to_i64(kp.not_after),
                    now
                ],
            );
            match r {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(taken("KeyPackage already uploaded"))
                }
                Err(e) => return Err(backend(e)),
            }
        }
        tx.commit().map_err(backend)
    }

    fn key_package_counts(&self, client: &str, now: i64) -> StoreResult<Vec<KeyPackageCount>> {
        let conn = self.read()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT cipher_suite,
                        SUM(CASE WHEN last_resort = 0 THEN 1 ELSE 0 END),
                        MAX(last_resort)
                 FROM key_packages WHERE client_id = ?1 AND not_after >= ?2
                 GROUP BY cipher_suite ORDER BY cipher_suite",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![client, now], |r| {
                Ok(KeyPackageCount {
                    cipher_suite: r.get(0)?,
                    available: to_u64(r.get(1)?),
                    last_resort: r.get(2)?,
                })
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn claim_key_packages(
        &self,
        targets: &[String],
        suite: u16,
        now: i64,
    ) -> StoreResult<Vec<Claimed>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut out = Vec::with_capacity(targets.len());
        for target in targets {
            let ordinary = tx
                .query_row(
                    "SELECT id, data FROM key_packages
                     WHERE client_id = ?1 AND cipher_suite = ?2 AND last_resort = 0
                       AND not_after >= ?3
                     ORDER BY id LIMIT 1",
                    params![target, suite, now],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let key_package = if let Some((id, data)) = ordinary {
                tx.execute("DELETE FROM key_packages WHERE id = ?1", params![id])
                    .map_err(backend)?;
                Some((data, false))
            } else {
                tx.query_row(
                    "SELECT data FROM key_packages
                     WHERE client_id = ?1 AND cipher_suite = ?2 AND last_resort = 1
                       AND not_after >= ?3
                     ORDER BY id DESC LIMIT 1",
                    params![target, suite, now],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .optional()
                .map_err(backend)?
                .map(|d| (d, true))
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
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let created: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM groups WHERE creator = ?1",
                params![group.creator],
                |r| r.get(0),
            )
            .map_err(backend)?;
        check_group_quota(&group.creator, to_u64(created), group.creator_quota)?;
        let r = tx.execute(
            "INSERT INTO groups (group_id, epoch, creator, allow_external_join, last_seq,
                                 group_info, group_info_epoch, created_at)
             VALUES (?1, 0, ?2, ?3, 0, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE 0 END, ?5)",
            params![
                group.group_id,
                group.creator,
                group.allow_external_join,
                group.group_info,
                group.created_at
            ],
        );
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(taken("group already exists")),
            Err(e) => return Err(backend(e)),
        }
        tx.execute(
            "INSERT INTO members (group_id, client_id) VALUES (?1, ?2)",
            params![group.group_id, group.creator],
        )
        .map_err(backend)?;
        let mode = match group.handshake {
            Handshake::Public => HANDSHAKE_PUBLIC,
            Handshake::Private => HANDSHAKE_PRIVATE,
        };
        tx.execute(
            "INSERT INTO group_views (group_id, handshake, view) VALUES (?1, ?2, ?3)",
            params![group.group_id, mode, group.view],
        )
        .map_err(backend)?;
        let record = load_group(&tx, &group.group_id)?
            .ok_or_else(|| StoreError::Backend("group vanished".into()))?;
        tx.commit().map_err(backend)?;
        Ok(record)
    }

    fn group(&self, group_id: &[u8]) -> StoreResult<Option<GroupRecord>> {
        let mut conn = self.read()?;
        let tx = conn.transaction().map_err(backend)?;
        load_group(&tx, group_id)
    }

    fn is_member(&self, group_id: &[u8], client: &str) -> StoreResult<bool> {
        let conn = self.read()?;
        member(&conn, group_id, client)
    }

    fn group_view(&self, group_id: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let conn = self.read()?;
        conn.query_row(
            "SELECT view FROM group_views WHERE group_id = ?1",
            params![group_id],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()
        .map(Option::flatten)
        .map_err(backend)
    }

    fn epoch_proposals(&self, group_id: &[u8], epoch: u64) -> StoreResult<Vec<Vec<u8>>> {
        let conn = self.read()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT data FROM messages WHERE group_id = ?1 AND epoch = ?2
                   AND content_type = 2 AND wire_format = 1 ORDER BY seq",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![group_id, to_i64(epoch)], |r| r.get::<_, Vec<u8>>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn contested_epoch(&self, group_id: &[u8]) -> StoreResult<Option<u64>> {
        let conn = self.read()?;
        contested(&conn, group_id)
    }

    fn ack_commit(
        &self,
        group_id: &[u8],
        seq: u64,
        caller: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, u64)>> {
        log::ack_commit(&mut self.lock(), group_id, seq, caller, now)
    }

    fn set_policy(
        &self,
        group_id: &[u8],
        caller: &str,
        allow_external_join: bool,
    ) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let group =
            load_group(&tx, group_id)?.ok_or_else(|| StoreError::NotFound("group".into()))?;
        check_policy_rights(&group, caller)?;
        tx.execute(
            "UPDATE groups SET allow_external_join = ?2 WHERE group_id = ?1",
            params![group_id, allow_external_join],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(())
    }

    fn append(&self, message: NewMessage) -> StoreResult<Appended> {
        log::append(&mut self.lock(), message, self.grace)
    }

    fn messages_after(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<(Vec<StoredMessage>, Option<u64>)> {
        let mut conn = self.read()?;
        let tx = conn.transaction().map_err(backend)?;
        log::messages_after(&tx, group_id, after, limit, max_bytes)
    }

    fn group_info(&self, group_id: &[u8]) -> StoreResult<Option<(u64, Vec<u8>)>> {
        let conn = self.read()?;
        let row = conn
            .query_row(
                "SELECT group_info_epoch, group_info FROM groups WHERE group_id = ?1",
                params![group_id],
                |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)),
            )
            .optional()
            .map_err(backend)?;
        Ok(match row {
            Some((Some(epoch), Some(data))) => Some((to_u64(epoch), data)),
            _ => None,
        })
    }

    fn set_group_info(&self, group_id: &[u8], epoch: u64, data: Vec<u8>) -> StoreResult<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current = tx
            .query_row(
                "SELECT epoch FROM groups WHERE group_id = ?1",
                params![group_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound("group".into()))?;
        check_group_info_epoch(to_u64(current), epoch)?;
        tx.execute(
            "UPDATE groups SET group_info = ?2, group_info_epoch = ?3 WHERE group_id = ?1",
            params![group_id, data, to_i64(epoch)],
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
        let mut conn = self.read()?;
        let tx = conn.transaction().map_err(backend)?;
        log::inbox(&tx, client, after, limit, max_bytes)
    }

    fn ack_inbox(&self, client: &str, upto: u64) -> StoreResult<u64> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let n = tx
            .execute(
                "DELETE FROM inbox WHERE client_id = ?1 AND id <= ?2",
                params![client, to_i64(upto)],
            )
            .map_err(backend)?;
        drop_unread_welcomes(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(n as u64)
    }

    fn prune(&self, retention: &Retention, now: i64) -> StoreResult<PruneReport> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut report = PruneReport::default();
        if let Some(age) = retention.max_age_secs {
            let cutoff = now.saturating_sub(age);
            report.messages += tx
                .execute(
                    "DELETE FROM messages WHERE created_at < ?1",
                    params![cutoff],
                )
                .map_err(backend)? as u64;
            report.welcomes += tx
                .execute("DELETE FROM inbox WHERE created_at < ?1", params![cutoff])
                .map_err(backend)? as u64;
            drop_unread_welcomes(&tx)?;
        }
        if let Some(keep) = retention.keep_last {
            report.messages += tx
                .execute(
                    "DELETE FROM messages WHERE seq <= (
                        SELECT g.last_seq - ?1 FROM groups g WHERE g.group_id = messages.group_id)",
                    params![to_i64(keep)],
                )
                .map_err(backend)? as u64;
        }
        report.expired += tx
            .execute(
                "DELETE FROM key_packages WHERE not_after < ?1",
                params![now],
            )
            .map_err(backend)? as u64;
        report.expired += tx
            .execute("DELETE FROM invites WHERE expires_at < ?1", params![now])
            .map_err(backend)? as u64;
        tx.commit().map_err(backend)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Reads go through the pool: with the writer held (a long write transaction), a group
    /// read and a log fetch still answer at once, and see what was committed before.
    #[test]
    fn reads_do_not_wait_behind_the_writer() {
        let dir = std::env::temp_dir().join(format!("cohort-readers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("readers.db");
        let store = SqliteStore::open_with_readers(&path, 2).expect("open");
        store
            .create_client(NewClient {
                id: "a/1".into(),
                signature_key: vec![1; 32],
                certificate: vec![1],
                token_hash: [1; 32],
                created_at: 0,
                invite_hash: None,
            })
            .expect("client");
        let writer = store.lock();
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let client = store.client("a/1").map(|c| c.map(|c| c.id));
                let log = store
                    .messages_after(b"none", 0, 10, 1 << 20)
                    .map(|l| l.0.len());
                let _ = tx.send((client, log));
            });
            let got = rx.recv_timeout(Duration::from_secs(5));
            drop(writer);
            let (client, log) = got.expect("reads answered while the writer was held");
            assert_eq!(client, Ok(Some("a/1".to_string())));
            assert_eq!(log, Ok(0));
        });
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
