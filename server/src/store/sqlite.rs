//! The SQLite [`Store`]: one connection in WAL mode with `synchronous=FULL`, so that a
//! transaction is on disk before the request that made it is acknowledged.

use super::{
    bad_invite, check_group_info_epoch, check_group_quota, check_joining, check_policy_rights,
    check_poster, decide, has_member, is_opaque_commit, joining, replay, settle, taken, to_i64,
    to_u64, Appended, Budget, Candidate, Claimed, ClientRecord, GroupRecord, Handshake, InboxEntry,
    KeyPackageCount, NewClient, NewGroup, NewMessage, PostKind, PruneReport, Retention, Store,
    StoreError, StoreResult, StoredKeyPackage, StoredMessage,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

/// The schema as first released (version 0); [`MIGRATIONS`] take it from there.
pub(super) const SCHEMA_V0: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    id TEXT PRIMARY KEY,
    signature_key BLOB NOT NULL UNIQUE,
    certificate BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS invites (
    hash BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS key_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    cipher_suite INTEGER NOT NULL,
    kp_ref BLOB NOT NULL UNIQUE,
    data BLOB NOT NULL,
    last_resort INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS key_packages_by_client
    ON key_packages (client_id, cipher_suite, last_resort, id);
CREATE TABLE IF NOT EXISTS groups (
    group_id BLOB PRIMARY KEY,
    epoch INTEGER NOT NULL,
    creator TEXT NOT NULL,
    allow_external_join INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    group_info BLOB,
    group_info_epoch INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    group_id BLOB NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (group_id, client_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_client ON members (client_id);
CREATE TABLE IF NOT EXISTS messages (
    group_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    content_type INTEGER NOT NULL,
    wire_format INTEGER NOT NULL,
    sender TEXT NOT NULL,
    hash BLOB NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_hash ON messages (group_id, hash);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (created_at);
CREATE TABLE IF NOT EXISTS welcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    group_id BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS welcomes_by_client ON welcomes (client_id, id);
CREATE TABLE IF NOT EXISTS group_views (
    group_id BLOB PRIMARY KEY,
    handshake INTEGER NOT NULL,
    view BLOB,
    contested_epoch INTEGER
);
CREATE TABLE IF NOT EXISTS commit_candidates (
    group_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    poster TEXT NOT NULL,
    added TEXT NOT NULL,
    removed TEXT NOT NULL,
    group_info BLOB,
    welcome BLOB,
    recipients TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    PRIMARY KEY (group_id, seq)
);
"#;

/// Schema changes after the first release, applied in order; `PRAGMA user_version` says how
/// many have run. Each runs in one transaction with its version bump.
const MIGRATIONS: &[&str] = &[
    // 1: a Welcome is stored once per commit, and each recipient's inbox entry points at it.
    // Inbox ids are kept, so that clients' cursors stay valid.
    r#"
    CREATE TABLE welcome_bodies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id BLOB NOT NULL,
        epoch INTEGER NOT NULL,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id TEXT NOT NULL,
        body_id INTEGER NOT NULL REFERENCES welcome_bodies (id),
        created_at INTEGER NOT NULL
    );
    INSERT INTO welcome_bodies (id, group_id, epoch, data, created_at)
        SELECT id, group_id, epoch, data, created_at FROM welcomes;
    INSERT INTO inbox (id, client_id, body_id, created_at)
        SELECT id, client_id, id, created_at FROM welcomes;
    DROP TABLE welcomes;
    CREATE INDEX inbox_by_client ON inbox (client_id, id);
    CREATE INDEX inbox_by_body ON inbox (body_id);
    CREATE INDEX inbox_by_time ON inbox (created_at);
    "#,
    // 2: the group quota counts a creator's groups.
    "CREATE INDEX groups_by_creator ON groups (creator);",
];

fn migrate(conn: &Connection) -> StoreResult<()> {
    let done: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {done}, newer than this server ({}): \
             run a newer cohort-server",
            MIGRATIONS.len()
        )));
    }
    if done == 0 {
        // Databases from before versioning have these tables already: IF NOT EXISTS.
        conn.execute_batch(SCHEMA_V0).map_err(backend)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))
        .map_err(backend)?;
    }
    Ok(())
}

/// `group_views.handshake` of a PublicMessage group; a group without a row is Private.
const HANDSHAKE_PUBLIC: i64 = 1;
/// `group_views.handshake` of a PrivateMessage group.
const HANDSHAKE_PRIVATE: i64 = 2;

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

/// The default store: SQLite through `rusqlite` (bundled), WAL journal.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    grace: u64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(backend)?;
        Self::init(conn, true)
    }

    /// A private in-memory database (for tests and in-process demos).
    pub fn open_in_memory() -> StoreResult<Self> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        Self::init(conn, false)
    }

    fn init(conn: Connection, wal: bool) -> StoreResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(backend)?;
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
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

fn contested(conn: &Connection, group_id: &[u8]) -> StoreResult<Option<u64>> {
    conn.query_row(
        "SELECT contested_epoch FROM group_views WHERE group_id = ?1",
        params![group_id],
        |r| r.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(|v| v.flatten().map(to_u64))
    .map_err(backend)
}

/// A client joining a group must be enrolled and not revoked ([`check_joining`]).
fn require_enrolled(conn: &Connection, client: &str) -> StoreResult<()> {
    let revoked_at = conn
        .query_row(
            "SELECT revoked_at FROM clients WHERE id = ?1",
            params![client],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()
        .map_err(backend)?;
    check_joining(client, revoked_at)
}

fn join_ids(ids: &[String]) -> String {
    ids.join("\n")
}

fn split_ids(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Record an opaque commit of a PrivateMessage group as a candidate for its epoch: its
/// added clients become members at once (they must read the log to join and acknowledge);
/// its removals, Welcome and GroupInfo wait for an acknowledgement ([`Store::ack_commit`]).
fn add_candidate(
    tx: &Connection,
    group: &GroupRecord,
    message: &NewMessage,
    effects: &super::CommitEffects,
    seq: u64,
) -> StoreResult<()> {
    let mut provisional = Vec::new();
    for client in &effects.added {
        require_enrolled(tx, client)?;
        if !has_member(group, client) {
            tx.execute(
                "INSERT OR IGNORE INTO members (group_id, client_id) VALUES (?1, ?2)",
                params![message.group_id, client],
            )
            .map_err(backend)?;
            provisional.push(client.clone());
        }
    }
    tx.execute(
        "INSERT INTO commit_candidates (group_id, seq, poster, added, removed, group_info,
                                        welcome, recipients, epoch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            message.group_id,
            to_i64(seq),
            message.sender,
            join_ids(&provisional),
            join_ids(&effects.removed),
            effects.group_info,
            effects.welcome,
            join_ids(&effects.welcome_recipients),
            to_i64(message.epoch.saturating_add(1))
        ],
    )
    .map_err(backend)?;
    // Groups from before handshake modes have no row yet.
    tx.execute(
        "INSERT OR IGNORE INTO group_views (group_id, handshake) VALUES (?1, ?2)",
        params![message.group_id, HANDSHAKE_PRIVATE],
    )
    .map_err(backend)?;
    tx.execute(
        "UPDATE group_views SET contested_epoch = ?2 WHERE group_id = ?1",
        params![message.group_id, to_i64(message.epoch)],
    )
    .map_err(backend)?;
    Ok(())
}

/// Store a Welcome once and give each recipient an inbox entry pointing at it: a commit
/// adding many members must not cost its Welcome's size once per recipient.
fn deliver_welcome(
    conn: &Connection,
    group_id: &[u8],
    epoch: u64,
    welcome: &[u8],
    recipients: &[String],
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    conn.execute(
        "INSERT INTO welcome_bodies (group_id, epoch, data, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![group_id, to_i64(epoch), welcome, now],
    )
    .map_err(backend)?;
    let body = conn.last_insert_rowid();
    let mut welcomed = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        conn.execute(
            "INSERT INTO inbox (client_id, body_id, created_at) VALUES (?1, ?2, ?3)",
            params![recipient, body, now],
        )
        .map_err(backend)?;
        welcomed.push((recipient.clone(), to_u64(conn.last_insert_rowid())));
    }
    Ok(welcomed)
}

/// Delete Welcomes no inbox entry points at any more.
fn drop_unread_welcomes(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM welcome_bodies
         WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.body_id = welcome_bodies.id)",
        [],
    )
    .map_err(backend)?;
    Ok(())
}

fn load_group(conn: &Connection, group_id: &[u8]) -> StoreResult<Option<GroupRecord>> {
    let row = conn
        .query_row(
            "SELECT epoch, creator, allow_external_join, last_seq FROM groups WHERE group_id = ?1",
            params![group_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((epoch, creator, allow_external_join, last_seq)) = row else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached("SELECT client_id FROM members WHERE group_id = ?1 ORDER BY client_id")
        .map_err(backend)?;
    let members = stmt
        .query_map(params![group_id], |r| r.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    let mode = conn
        .query_row(
            "SELECT handshake, contested_epoch FROM group_views WHERE group_id = ?1",
            params![group_id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .optional()
        .map_err(backend)?;
    let (handshake, contested_epoch) = match mode {
        Some((h, c)) => (Some(h), c.map(to_u64)),
        None => (None, None),
    };
    let handshake = match handshake {
        Some(HANDSHAKE_PUBLIC) => Handshake::Public,
        _ => Handshake::Private,
    };
    Ok(Some(GroupRecord {
        group_id: group_id.to_vec(),
        epoch: to_u64(epoch),
        creator,
        allow_external_join,
        last_seq: to_u64(last_seq),
        members,
        handshake,
        contested_epoch,
    }))
}

fn member(conn: &Connection, group_id: &[u8], client: &str) -> StoreResult<bool> {
    conn.query_row(
        "SELECT 1 FROM members WHERE group_id = ?1 AND client_id = ?2",
        params![group_id, client],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
    .map_err(backend)
}

impl Store for SqliteStore {
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
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1"),
            params![id],
            client_from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn client_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ClientRecord>> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE token_hash = ?1"),
            params![token_hash.as_slice()],
            client_from_row,
        )
        .optional()
        .map_err(backend)
    }

    fn client_by_signature_key(&self, signature_key: &[u8]) -> StoreResult<Option<ClientRecord>> {
        let conn = self.lock();
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
        let conn = self.lock();
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
        let conn = self.lock();
        load_group(&conn, group_id)
    }

    fn is_member(&self, group_id: &[u8], client: &str) -> StoreResult<bool> {
        let conn = self.lock();
        member(&conn, group_id, client)
    }

    fn group_view(&self, group_id: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let conn = self.lock();
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
        let conn = self.lock();
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
        let conn = self.lock();
        contested(&conn, group_id)
    }

    fn ack_commit(
        &self,
        group_id: &[u8],
        seq: u64,
        caller: &str,
        now: i64,
    ) -> StoreResult<Vec<(String, u64)>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let group =
            load_group(&tx, group_id)?.ok_or_else(|| StoreError::NotFound("group".into()))?;
        if !has_member(&group, caller) {
            return Err(StoreError::Forbidden("not a member of this group".into()));
        }
        if contested(&tx, group_id)?.is_none() {
            return Ok(Vec::new());
        }
        let mut stmt = tx
            .prepare(
                "SELECT seq, poster, added, removed, group_info, welcome, recipients, epoch
                 FROM commit_candidates WHERE group_id = ?1",
            )
            .map_err(backend)?;
        let candidates: Vec<Candidate> = stmt
            .query_map(params![group_id], |r| {
                Ok(Candidate {
                    seq: to_u64(r.get(0)?),
                    poster: r.get(1)?,
                    added: split_ids(&r.get::<_, String>(2)?),
                    removed: split_ids(&r.get::<_, String>(3)?),
                    group_info: r.get(4)?,
                    welcome: r.get(5)?,
                    recipients: split_ids(&r.get::<_, String>(6)?),
                    epoch: to_u64(r.get(7)?),
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        drop(stmt);
        let settled = settle(&group, &candidates, seq, caller)?;
        for client in &settled.leaving {
            tx.execute(
                "DELETE FROM members WHERE group_id = ?1 AND client_id = ?2",
                params![group_id, client],
            )
            .map_err(backend)?;
        }
        let chosen = settled.chosen;
        if let Some(info) = &chosen.group_info {
            tx.execute(
                "UPDATE groups SET group_info = ?2, group_info_epoch = ?3 WHERE group_id = ?1",
                params![group_id, info, to_i64(group.epoch)],
            )
            .map_err(backend)?;
        }
        let mut welcomed = Vec::new();
        if let Some(welcome) = &chosen.welcome {
            welcomed = deliver_welcome(
                &tx,
                group_id,
                chosen.epoch,
                welcome,
                &chosen.recipients,
                now,
            )?;
        }
        tx.execute(
            "DELETE FROM commit_candidates WHERE group_id = ?1",
            params![group_id],
        )
        .map_err(backend)?;
        tx.execute(
            "UPDATE group_views SET contested_epoch = NULL WHERE group_id = ?1",
            params![group_id],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(welcomed)
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
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let group = load_group(&tx, &message.group_id)?
            .ok_or_else(|| StoreError::NotFound("group".into()))?;
        let is_member = has_member(&group, &message.sender);
        check_poster(is_member, &message)?;
        // Replays first, so that a retry of an accepted post learns its sequence number.
        let existing = tx
            .query_row(
                "SELECT seq FROM messages WHERE group_id = ?1 AND hash = ?2",
                params![message.group_id, message.hash.as_slice()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(backend)?;
        if let Some(seq) = existing {
            return Err(replay(group.epoch, to_u64(seq)));
        }
        let contested = contested(&tx, &message.group_id)?;
        decide(
            group.epoch,
            group.allow_external_join,
            is_member,
            &message,
            self.grace,
            contested,
        )?;
        let seq = group.last_seq + 1;
        let mut epoch = group.epoch;
        let mut notify = group.members.clone();
        let mut welcomed = Vec::new();
        tx.execute(
            "INSERT INTO messages (group_id, seq, epoch, content_type, wire_format, sender,
                                   hash, data, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                message.group_id,
                to_i64(seq),
                to_i64(message.epoch),
                message.content_type,
                message.wire_format,
                message.sender,
                message.hash.as_slice(),
                message.data,
                message.now
            ],
        )
        .map_err(backend)?;
        let opaque = is_opaque_commit(&group, &message);
        if let (true, PostKind::Commit(effects)) = (opaque, &message.kind) {
            if contested.is_none() {
                epoch = group.epoch + 1;
            }
            add_candidate(&tx, &group, &message, effects, seq)?;
            notify.extend(effects.added.iter().cloned());
        } else if let PostKind::Commit(effects) = &message.kind {
            epoch = group.epoch + 1;
            for client in joining(&message, effects) {
                require_enrolled(&tx, client)?;
                tx.execute(
                    "INSERT OR IGNORE INTO members (group_id, client_id) VALUES (?1, ?2)",
                    params![message.group_id, client],
                )
                .map_err(backend)?;
                notify.push(client.clone());
            }
            for client in &effects.removed {
                tx.execute(
                    "DELETE FROM members WHERE group_id = ?1 AND client_id = ?2",
                    params![message.group_id, client],
                )
                .map_err(backend)?;
            }
            if let Some(view) = &effects.view {
                tx.execute(
                    "UPDATE group_views SET view = ?2 WHERE group_id = ?1",
                    params![message.group_id, view],
                )
                .map_err(backend)?;
            }
            if let Some(info) = &effects.group_info {
                tx.execute(
                    "UPDATE groups SET group_info = ?2, group_info_epoch = ?3 WHERE group_id = ?1",
                    params![message.group_id, info, to_i64(epoch)],
                )
                .map_err(backend)?;
            }
            if let Some(welcome) = &effects.welcome {
                welcomed = deliver_welcome(
                    &tx,
                    &message.group_id,
                    epoch,
                    welcome,
                    &effects.welcome_recipients,
                    message.now,
                )?;
            }
        }
        tx.execute(
            "UPDATE groups SET epoch = ?2, last_seq = ?3 WHERE group_id = ?1",
            params![message.group_id, to_i64(epoch), to_i64(seq)],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        notify.sort();
        notify.dedup();
        Ok(Appended {
            seq,
            epoch,
            notify,
            welcomed,
        })
    }

    fn messages_after(
        &self,
        group_id: &[u8],
        after: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StoreResult<(Vec<StoredMessage>, Option<u64>)> {
        let conn = self.lock();
        // The length comes first so that an entry past the budget is never read.
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, epoch, content_type, wire_format, sender, length(data), created_at
                 FROM messages WHERE group_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(backend)?;
        let mut rows = stmt
            .query(params![group_id, to_i64(after), limit])
            .map_err(backend)?;
        let mut out = Vec::new();
        let mut budget = Budget::new(max_bytes);
        while let Some(r) = rows.next().map_err(backend)? {
            if !budget.admit(r.get(5).map_err(backend)?) {
                break;
            }
            out.push(StoredMessage {
                seq: to_u64(r.get(0).map_err(backend)?),
                epoch: to_u64(r.get(1).map_err(backend)?),
                content_type: r.get(2).map_err(backend)?,
                wire_format: r.get(3).map_err(backend)?,
                sender: r.get(4).map_err(backend)?,
                data: Vec::new(),
                created_at: r.get(6).map_err(backend)?,
            });
        }
        drop(rows);
        let mut data = conn
            .prepare_cached("SELECT data FROM messages WHERE group_id = ?1 AND seq = ?2")
            .map_err(backend)?;
        for m in &mut out {
            m.data = data
                .query_row(params![group_id, to_i64(m.seq)], |r| r.get(0))
                .map_err(backend)?;
        }
        drop(data);
        let rows = out;
        let first = conn
            .query_row(
                "SELECT MIN(seq) FROM messages WHERE group_id = ?1",
                params![group_id],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(backend)?
            .map(to_u64);
        Ok((rows, first))
    }

    fn group_info(&self, group_id: &[u8]) -> StoreResult<Option<(u64, Vec<u8>)>> {
        let conn = self.lock();
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
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT i.id, b.id, length(b.data), i.created_at
                 FROM inbox i JOIN welcome_bodies b ON b.id = i.body_id
                 WHERE i.client_id = ?1 AND i.id > ?2 ORDER BY i.id LIMIT ?3",
            )
            .map_err(backend)?;
        let mut rows = stmt
            .query(params![client, to_i64(after), limit])
            .map_err(backend)?;
        let mut picked = Vec::new();
        let mut budget = Budget::new(max_bytes);
        while let Some(r) = rows.next().map_err(backend)? {
            if !budget.admit(r.get(2).map_err(backend)?) {
                break;
            }
            let (id, body, at): (i64, i64, i64) = (
                r.get(0).map_err(backend)?,
                r.get(1).map_err(backend)?,
                r.get(3).map_err(backend)?,
            );
            picked.push((id, body, at));
        }
        drop(rows);
        let mut body = conn
            .prepare_cached("SELECT group_id, epoch, data FROM welcome_bodies WHERE id = ?1")
            .map_err(backend)?;
        picked
            .into_iter()
            .map(|(id, b, at)| {
                body.query_row(params![b], |r| {
                    Ok(InboxEntry {
                        id: to_u64(id),
                        group_id: r.get(0)?,
                        epoch: to_u64(r.get(1)?),
                        data: r.get(2)?,
                        created_at: at,
                    })
                })
                .map_err(backend)
            })
            .collect()
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

/// The database holds tokens' hashes, every group's log and (before 0.2) the CA key: create it
/// 0600, so other local users cannot read it. SQLite gives its -wal and -shm files the mode of
/// the database file. An existing file that is group- or world-readable is narrowed, with a
/// warning: a server refusing to start over it would only push the operator to chmod it anyway.
fn create_private(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                    let Ok(meta) = std::fs::metadata(&file) else {
                        continue;
                    };
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        tracing::warn!(file = %file.display(), mode = format!("{mode:o}"), "database file was readable by others; narrowing to 0600");
                        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                            .map_err(|e| StoreError::Backend(format!("{}: {e}", file.display())))?;
                    }
                }
            }
            Err(e) => return Err(StoreError::Backend(format!("{}: {e}", path.display()))),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
