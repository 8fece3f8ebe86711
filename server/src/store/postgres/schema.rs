//! The PostgreSQL schema as versioned migrations, applied at connect under an advisory lock
//! so that instances starting together neither race nor run a step twice.

use super::backend;
use crate::store::{StoreError, StoreResult};
use postgres::Client;

/// The advisory lock key serializing migrations across instances ("cohort01" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_686f_7274_3031;

/// Schema steps in order; `schema_migrations` records which versions (1-based) have run.
/// A released step is never edited: a change is a new step.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the schema of SQLite's version 2, with the group view folded into `groups` (no
    // PostgreSQL database predates handshake modes) and Welcomes stored once.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
    CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        signature_key BYTEA NOT NULL UNIQUE,
        certificate BYTEA NOT NULL,
        token_hash BYTEA NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE invites (
        hash BYTEA PRIMARY KEY,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE TABLE key_packages (
        id BIGSERIAL PRIMARY KEY,
        client_id TEXT NOT NULL,
        cipher_suite BIGINT NOT NULL,
        kp_ref BYTEA NOT NULL UNIQUE,
        data BYTEA NOT NULL,
        last_resort BOOLEAN NOT NULL,
        not_after BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX key_packages_by_client
        ON key_packages (client_id, cipher_suite, last_resort, id);
    CREATE INDEX key_packages_by_expiry ON key_packages (not_after);
    CREATE TABLE groups (
        group_id BYTEA PRIMARY KEY,
        epoch BIGINT NOT NULL,
        creator TEXT NOT NULL,
        allow_external_join BOOLEAN NOT NULL,
        last_seq BIGINT NOT NULL,
        group_info BYTEA,
        group_info_epoch BIGINT,
        created_at BIGINT NOT NULL,
        public_handshake BOOLEAN NOT NULL,
        view BYTEA,
        contested_epoch BIGINT
    );
    CREATE INDEX groups_by_creator ON groups (creator);
    CREATE TABLE members (
        group_id BYTEA NOT NULL REFERENCES groups (group_id),
        client_id TEXT NOT NULL,
        PRIMARY KEY (group_id, client_id)
    );
    CREATE INDEX members_by_client ON members (client_id);
    CREATE TABLE messages (
        group_id BYTEA NOT NULL REFERENCES groups (group_id),
        seq BIGINT NOT NULL,
        epoch BIGINT NOT NULL,
        content_type BIGINT NOT NULL,
        wire_format BIGINT NOT NULL,
        sender TEXT NOT NULL,
        hash BYTEA NOT NULL,
        data BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (group_id, seq),
        UNIQUE (group_id, hash)
    );
    CREATE INDEX messages_by_time ON messages (created_at);
    CREATE TABLE welcome_bodies (
        id BIGSERIAL PRIMARY KEY,
        group_id BYTEA NOT NULL,
        epoch BIGINT NOT NULL,
        data BYTEA NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE inbox (
        id BIGSERIAL PRIMARY KEY,
        client_id TEXT NOT NULL,
        body_id BIGINT NOT NULL REFERENCES welcome_bodies (id),
        created_at BIGINT NOT NULL
    );
    CREATE INDEX inbox_by_client ON inbox (client_id, id);
    CREATE INDEX inbox_by_body ON inbox (body_id);
    CREATE INDEX inbox_by_time ON inbox (created_at);
    CREATE TABLE commit_candidates (
        group_id BYTEA NOT NULL REFERENCES groups (group_id),
        seq BIGINT NOT NULL,
        poster TEXT NOT NULL,
        added TEXT[] NOT NULL,
        removed TEXT[] NOT NULL,
        group_info BYTEA,
        welcome BYTEA,
        recipients TEXT[] NOT NULL,
        epoch BIGINT NOT NULL,
        PRIMARY KEY (group_id, seq)
    );
    "#,
    // 2: rate buckets shared by the instances. UNLOGGED: a crash may forget them (every
    // bucket full again), which costs far less than a WAL flush on every post.
    r#"
    CREATE UNLOGGED TABLE rate_buckets (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        tat BIGINT NOT NULL,
        PRIMARY KEY (bucket, key)
    );
    CREATE INDEX rate_buckets_by_tat ON rate_buckets (tat);
    "#,
];

/// Bring the schema to the latest version in one transaction; several instances may call
/// this at once (the advisory lock makes the others wait, then find nothing to do).
pub(super) fn migrate(client: &mut Client) -> StoreResult<()> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(backend)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .map_err(backend)?;
    let done: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(backend)?
        .get(0);
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if done > known {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {done}, newer than this server ({known}): \
             run a newer cohort-server"
        )));
    }
    for (version, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(done).unwrap_or(0))
    {
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}
