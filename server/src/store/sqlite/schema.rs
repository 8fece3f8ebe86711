//! The SQLite schema: version 0 as first released, the migrations after it (counted in
//! `PRAGMA user_version`), and the database file's creation with private permissions.

use super::backend;
use crate::store::{StoreError, StoreResult};
use rusqlite::Connection;
use std::path::Path;

/// The schema as first released (version 0); [`MIGRATIONS`] take it from there.
pub(in crate::store) const SCHEMA_V0: &str = r#"
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

pub(super) fn migrate(conn: &Connection) -> StoreResult<()> {
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

/// The database holds tokens' hashes, every group's log and (before 0.2) the CA key: create it
/// 0600, so other local users cannot read it. SQLite gives its -wal and -shm files the mode of
/// the database file. An existing file that is group- or world-readable is narrowed, with a
/// warning: a server refusing to start over it would only push the operator to chmod it anyway.
pub(super) fn create_private(path: &Path) -> StoreResult<()> {
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
