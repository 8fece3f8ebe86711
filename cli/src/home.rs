//! The client's local store: one SQLite file (WAL, `synchronous=FULL`) in the home directory.
//!
//! It holds the identity (client id, signature key, certificate chain, bearer token, the
//! pinned AS root), unused KeyPackage secrets, every group's persisted state
//! (`Group::to_bytes`) with its log cursor, received and sent messages, and an outbox of
//! application messages encrypted but not yet acknowledged by the server.
//!
//! A group's state, its cursor and the messages it produced are written in one transaction,
//! so a crash never leaves a state that has consumed a message key without the message, or
//! the other way round. A file lock (`home.lock`) serialises cohort processes on one home.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS key_packages (
    ref BLOB PRIMARY KEY,
    secrets BLOB NOT NULL,
    last_resort INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
    name TEXT PRIMARY KEY,
    group_id BLOB NOT NULL UNIQUE,
    state BLOB NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    joined_epoch INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    group_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    sender TEXT NOT NULL,
    body BLOB NOT NULL,
    outgoing INTEGER NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (group_id, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    group_id BLOB NOT NULL,
    message BLOB NOT NULL,
    body BLOB NOT NULL,
    epoch INTEGER NOT NULL
);
";

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What a registered home knows about its client.
pub struct StoredIdentity {
    pub server: String,
    pub client_id: String,
    pub suite: u16,
    pub signature_key: Zeroizing<Vec<u8>>,
    pub chain: Vec<Vec<u8>>,
    pub token: Zeroizing<String>,
    pub root_der: Vec<u8>,
}

/// A group row.
pub struct GroupRow {
    pub name: String,
    pub group_id: Vec<u8>,
    pub state: Zeroizing<Vec<u8>>,
    pub cursor: u64,
    pub status: GroupStatus,
    pub joined_epoch: u64,
}

/// Where we stand in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupStatus {
    /// A member.
    Active,
    /// We proposed our own removal and wait for a member to commit it.
    Leaving,
    /// A commit removed us (or the DS no longer lists us).
    Removed,
}

impl GroupStatus {
    fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Active => "active",
            GroupStatus::Leaving => "leaving",
            GroupStatus::Removed => "removed",
        }
    }

    fn parse(s: &str) -> GroupStatus {
        match s {
            "leaving" => GroupStatus::Leaving,
            "removed" => GroupStatus::Removed,
            _ => GroupStatus::Active,
        }
    }
}

/// A message kept in the local history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub seq: u64,
    pub epoch: u64,
    pub sender: String,
    pub body: Vec<u8>,
    pub outgoing: bool,
}

/// An application message encrypted but not yet acknowledged.
pub struct OutboxEntry {
    pub id: i64,
    pub message: Vec<u8>,
    pub body: Vec<u8>,
    pub epoch: u64,
}

/// A message to record with a group update.
pub struct NewHistory {
    pub seq: u64,
    pub epoch: u64,
    pub sender: String,
    pub body: Vec<u8>,
    pub outgoing: bool,
}

/// The local store of one client.
pub struct Home {
    dir: PathBuf,
    conn: Connection,
    /// A second SQLite file whose exclusive transaction is the home's lock (released by
    /// the OS if the process dies).
    lock_conn: Connection,
    locked: bool,
    data_version: i64,
}

/// A KeyPackage to remember: reference, secrets blob, last-resort flag.
pub type NewKeyPackage = (Vec<u8>, Zeroizing<Vec<u8>>, bool);

/// What an update does to the outbox.
pub enum OutboxChange<'a> {
    /// Nothing.
    None,
    /// Add `(message, body, epoch)`.
    Add(&'a [u8], &'a [u8], u64),
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Home")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::new(format!("local store: {e}"))
}

impl Home {
    /// Open (creating if needed) the home in `dir`.
    pub fn open(dir: &Path) -> Result<Home> {
        create_private(dir)?;
        let conn = Connection::open(dir.join("cohort.sqlite3")).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let lock_conn = Connection::open(dir.join("home.lock")).map_err(db_err)?;
        lock_conn
            .busy_timeout(std::time::Duration::ZERO)
            .map_err(db_err)?;
        // Nothing is ever written there: no journal file to create and delete per lock.
        lock_conn
            .pragma_update(None, "journal_mode", "MEMORY")
            .map_err(db_err)?;
        let mut home = Home {
            dir: dir.to_path_buf(),
            conn,
            lock_conn,
            locked: false,
            data_version: 0,
        };
        home.data_version = home.read_data_version()?;
        Ok(home)
    }

    fn read_data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db_err)
    }

    /// `synchronous=NORMAL` instead of `FULL`: a commit survives a crash of the process but
    /// not of the machine. Only for benchmarks that put many homes on one disk.
    pub fn relax_durability(&mut self) -> Result<()> {
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)
    }

    /// Take the home's exclusive lock (waiting for another cohort process to finish).
    /// Returns whether another connection changed the store since we last looked, in which
    /// case cached group states must be reloaded.
    pub async fn lock(&mut self) -> Result<bool> {
        let mut waited = 0u32;
        while !self.locked {
            match self.lock_conn.execute_batch("BEGIN EXCLUSIVE") {
                Ok(()) => self.locked = true,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) =>
                {
                    waited += 1;
                    if waited == 100 {
                        eprintln!("waiting for another cohort process using this home...");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => return Err(Error::new(format!("cannot lock the home: {e}"))),
            }
        }
        let v = self.read_data_version()?;
        let changed = v != self.data_version;
        self.data_version = v;
        Ok(changed)
    }

    /// Release the lock taken by [`Home::lock`].
    pub fn unlock(&mut self) {
        if self.locked {
            let _ = self.lock_conn.execute_batch("ROLLBACK");
            self.locked = false;
        }
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    fn meta_set(tx: &Connection, key: &str, value: &[u8]) -> Result<()> {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map_err(db_err)?;
        Ok(())
    }

    /// The registered identity, if any.
    pub fn identity(&self) -> Result<Option<StoredIdentity>> {
        let Some(client_id) = self.meta_get("client_id")? else {
            return Ok(None);
        };
        let text = |v: Option<Vec<u8>>, what: &str| -> Result<String> {
            let v = v.ok_or_else(|| Error::new(format!("local store: missing {what}")))?;
            String::from_utf8(v).map_err(|_| Error::new(format!("local store: bad {what}")))
        };
        let chain_blob = self
            .meta_get("chain")?
            .ok_or_else(|| Error::new("local store: missing certificate chain"))?;
        let chain: Vec<String> = serde_json::from_slice(&chain_blob)
            .map_err(|_| Error::new("local store: bad certificate chain"))?;
        let chain = chain
            .iter()
            .map(|c| crate::client::unb64(c))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::new("local store: bad certificate chain"))?;
        let suite = text(self.meta_get("suite")?, "suite")?
            .parse()
            .map_err(|_| Error::new("local store: bad suite"))?;
        Ok(Some(StoredIdentity {
            server: text(self.meta_get("server")?, "server")?,
            client_id: text(Some(client_id), "client id")?,
            suite,
            signature_key: Zeroizing::new(
                self.meta_get("signature_key")?
                    .ok_or_else(|| Error::new("local store: missing signature key"))?,
            ),
            chain,
            token: Zeroizing::new(text(self.meta_get("token")?, "token")?),
            root_der: self
                .meta_get("root")?
                .ok_or_else(|| Error::new("local store: missing AS root"))?,
        }))
    }

    /// Store a fresh registration.
    pub fn save_identity(&mut self, id: &StoredIdentity) -> Result<()> {
        let chain: Vec<String> = id.chain.iter().map(|c| crate::client::b64(c)).collect();
        let chain = serde_json::to_vec(&chain).map_err(|e| Error::new(e.to_string()))?;
        let tx = self.conn.transaction().map_err(db_err)?;
        Self::meta_set(&tx, "server", id.server.as_bytes())?;
        Self::meta_set(&tx, "client_id", id.client_id.as_bytes())?;
        Self::meta_set(&tx, "suite", id.suite.to_string().as_bytes())?;
        Self::meta_set(&tx, "signature_key", &id.signature_key)?;
        Self::meta_set(&tx, "chain", &chain)?;
        Self::meta_set(&tx, "token", id.token.as_bytes())?;
        Self::meta_set(&tx, "root", &id.root_der)?;
        tx.commit().map_err(db_err)
    }

    /// Remember a different server URL.
    pub fn set_server(&mut self, server: &str) -> Result<()> {
        Self::meta_set(&self.conn, "server", server.as_bytes())
    }

    /// The Welcome inbox cursor.
    pub fn welcome_cursor(&self) -> Result<u64> {
        Ok(self
            .meta_get("welcome_cursor")?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Move the Welcome inbox cursor.
    pub fn set_welcome_cursor(&mut self, cursor: u64) -> Result<()> {
        Self::meta_set(&self.conn, "welcome_cursor", cursor.to_string().as_bytes())
    }

    /// Store KeyPackage secrets (before the packages are published).
    pub fn add_key_packages(&mut self, packages: &[NewKeyPackage]) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        for (reference, secrets, last_resort) in packages {
            if *last_resort {
                // A new last-resort package replaces the previous one on the server.
                tx.execute("DELETE FROM key_packages WHERE last_resort = 1", [])
                    .map_err(db_err)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO key_packages (ref, secrets, last_resort, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    reference,
                    secrets.as_slice(),
                    *last_resort as i64,
                    unix_now()
                ],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// The secrets of the KeyPackage with this reference, and whether it is last-resort.
    pub fn key_package(&self, reference: &[u8]) -> Result<Option<(Zeroizing<Vec<u8>>, bool)>> {
        self.conn
            .query_row(
                "SELECT secrets, last_resort FROM key_packages WHERE ref = ?1",
                [reference],
                |r| {
                    Ok((
                        Zeroizing::new(r.get::<_, Vec<u8>>(0)?),
                        r.get::<_, i64>(1)? != 0,
                    ))
                },
            )
            .optional()
            .map_err(db_err)
    }

    /// How many KeyPackage secrets we hold (ordinary, last-resort).
    pub fn key_package_counts(&self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(last_resort = 0), 0), COALESCE(SUM(last_resort = 1), 0)
                 FROM key_packages",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(db_err)
    }

    /// All groups.
    pub fn groups(&self) -> Result<Vec<GroupRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, group_id, state, cursor, status, joined_epoch FROM groups ORDER BY name")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], row_to_group)
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(rows)
    }

    /// One group by local name.
    pub fn group_by_name(&self, name: &str) -> Result<Option<GroupRow>> {
        self.conn
            .query_row(
                "SELECT name, group_id, state, cursor, status, joined_epoch FROM groups WHERE name = ?1",
                [name],
                row_to_group,
            )
            .optional()
            .map_err(db_err)
    }

    /// One group by group id.
    pub fn group_by_id(&self, group_id: &[u8]) -> Result<Option<GroupRow>> {
        self.conn
            .query_row(
                "SELECT name, group_id, state, cursor, status, joined_epoch FROM groups WHERE group_id = ?1",
                [group_id],
                row_to_group,
            )
            .optional()
            .map_err(db_err)
    }

    /// Whether we hold a group with this id.
    pub fn has_group(&self, group_id: &[u8]) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM groups WHERE group_id = ?1",
                [group_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(db_err)?
            .is_some())
    }

    /// Whether a local name is taken.
    pub fn name_taken(&self, name: &str) -> Result<bool> {
        Ok(self.group_by_name(name)?.is_some())
    }

    /// Insert a new group; with `consumed_key_package`, delete those (non-last-resort)
    /// KeyPackage secrets in the same transaction.
    pub fn insert_group(
        &mut self,
        row: &GroupRow,
        consumed_key_package: Option<&[u8]>,
    ) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT INTO groups (name, group_id, state, cursor, status, joined_epoch, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.name,
                row.group_id,
                row.state.as_slice(),
                row.cursor as i64,
                row.status.as_str(),
                row.joined_epoch as i64,
                unix_now()
            ],
        )
        .map_err(db_err)?;
        if let Some(r) = consumed_key_package {
            tx.execute(
                "DELETE FROM key_packages WHERE ref = ?1 AND last_resort = 0",
                [r],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        self.data_version = self.read_data_version()?;
        Ok(())
    }

    /// Write a group's state, cursor and status, record `history`, and add/remove outbox
    /// entries, all in one transaction.
    pub fn update_group(
        &mut self,
        group_id: &[u8],
        state: &[u8],
        cursor: u64,
        status: GroupStatus,
        history: &[NewHistory],
        outbox: OutboxChange<'_>,
    ) -> Result<Option<i64>> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute(
            "UPDATE groups SET state = ?2, cursor = ?3, status = ?4, updated_at = ?5
             WHERE group_id = ?1",
            params![group_id, state, cursor as i64, status.as_str(), unix_now()],
        )
        .map_err(db_err)?;
        for h in history {
            tx.execute(
                "INSERT OR IGNORE INTO messages (group_id, seq, epoch, sender, body, outgoing, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    group_id,
                    h.seq as i64,
                    h.epoch as i64,
                    h.sender,
                    h.body,
                    h.outgoing as i64,
                    unix_now()
                ],
            )
            .map_err(db_err)?;
        }
        let mut added = None;
        match outbox {
            OutboxChange::None => {}
            OutboxChange::Add(message, body, epoch) => {
                tx.execute(
                    "INSERT INTO outbox (group_id, message, body, epoch) VALUES (?1, ?2, ?3, ?4)",
                    params![group_id, message, body, epoch as i64],
                )
                .map_err(db_err)?;
                added = Some(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(db_err)?;
        self.data_version = self.read_data_version()?;
        Ok(added)
    }

    /// An outbox entry was acknowledged: record it in the history and drop it from the
    /// outbox (the group state did not change since it was stored with the entry).
    pub fn record_sent(
        &mut self,
        group_id: &[u8],
        sent: &NewHistory,
        outbox_id: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT OR IGNORE INTO messages (group_id, seq, epoch, sender, body, outgoing, at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
            params![
                group_id,
                sent.seq as i64,
                sent.epoch as i64,
                sent.sender,
                sent.body,
                unix_now()
            ],
        )
        .map_err(db_err)?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", [outbox_id])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        self.data_version = self.read_data_version()?;
        Ok(())
    }

    /// Application messages of a group awaiting acknowledgement, oldest first.
    pub fn outbox(&self, group_id: &[u8]) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, message, body, epoch FROM outbox WHERE group_id = ?1 ORDER BY id")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([group_id], |r| {
                Ok(OutboxEntry {
                    id: r.get(0)?,
                    message: r.get(1)?,
                    body: r.get(2)?,
                    epoch: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(rows)
    }

    /// Drop an outbox entry the server will never take (e.g. too old an epoch).
    pub fn drop_outbox(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM outbox WHERE id = ?1", [id])
            .map_err(db_err)?;
        self.data_version = self.read_data_version()?;
        Ok(())
    }

    /// The newest `limit` messages of a group, oldest first.
    pub fn history(&self, group_id: &[u8], limit: u32) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, epoch, sender, body, outgoing FROM
                   (SELECT * FROM messages WHERE group_id = ?1 ORDER BY seq DESC LIMIT ?2)
                 ORDER BY seq",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![group_id, limit as i64], |r| {
                Ok(HistoryEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    epoch: r.get::<_, i64>(1)? as u64,
                    sender: r.get(2)?,
                    body: r.get(3)?,
                    outgoing: r.get::<_, i64>(4)? != 0,
                })
            })
            .map_err(db_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(rows)
    }
}

fn row_to_group(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        name: r.get(0)?,
        group_id: r.get(1)?,
        state: Zeroizing::new(r.get(2)?),
        cursor: r.get::<_, i64>(3)? as u64,
        status: GroupStatus::parse(&r.get::<_, String>(4)?),
        joined_epoch: r.get::<_, i64>(5)? as u64,
    })
}

/// A temporary folder only its owner can enter (0700), for throwaway homes and databases.
pub fn private_tempdir(prefix: &str) -> Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder
        .tempdir()
        .map_err(|e| Error::new(format!("temporary directory: {e}")))
}

/// Files of the home: the store with its WAL and shared-memory files, and the lock.
const HOME_FILES: &[&str] = &[
    "cohort.sqlite3",
    "cohort.sqlite3-wal",
    "cohort.sqlite3-shm",
    "home.lock",
];

/// The home holds a signature key, a bearer token and every group's secrets, so only its owner
/// may read it: the folder is created 0700 and its files 0600 (SQLite gives the -wal and -shm
/// files the mode of the database file). A folder or file that is already wider is refused, not
/// silently narrowed: its secrets may have been read, and the owner should know.
fn create_private(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let io = |what: &str, path: &Path, e: std::io::Error| {
            Error::new(format!("cannot {what} {}: {e}", path.display()))
        };
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io("create home", dir, e))?;
        }
        let refuse_wide = |path: &Path, fix: &str| -> Result<()> {
            let mode = std::fs::metadata(path)
                .map_err(|e| io("read", path, e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(Error::new(format!(
                    "{} is open to other users (mode {:o}); it holds private keys: run `chmod {fix} {}` and check who could read it",
                    path.display(),
                    mode & 0o777,
                    path.display()
                )));
            }
            Ok(())
        };
        refuse_wide(dir, "700")?;
        for name in HOME_FILES {
            let path = dir.join(name);
            if path.exists() {
                refuse_wide(&path, "600")?;
            } else if !name.ends_with("-wal") && !name.ends_with("-shm") {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| io("create", &path, e))?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new(format!("cannot create home {}: {e}", dir.display())))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn home_is_private_and_a_wider_home_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("home");
        let home = Home::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        for name in HOME_FILES {
            let path = dir.join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
        assert_eq!(mode(&dir.join("cohort.sqlite3")), 0o600);
        assert_eq!(
            mode(&dir.join("cohort.sqlite3-wal")),
            0o600,
            "WAL follows the database"
        );
        drop(home);
        drop(Home::open(&dir).unwrap());

        std::fs::set_permissions(dir.join("cohort.sqlite3"), PermissionsExt::from_mode(0o644))
            .unwrap();
        let err = Home::open(&dir).unwrap_err().to_string();
        assert!(
            err.contains("cohort.sqlite3 is open to other users (mode 644)"),
            "{err}"
        );
        std::fs::set_permissions(dir.join("cohort.sqlite3"), PermissionsExt::from_mode(0o600))
            .unwrap();

        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
        let err = Home::open(&dir).unwrap_err().to_string();
        assert!(err.contains("is open to other users (mode 755)"), "{err}");
    }
}
