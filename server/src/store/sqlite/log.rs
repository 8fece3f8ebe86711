//! The group log of the SQLite store: appending under the ordering rule, commit
//! candidates of PrivateMessage groups and their settlement, Welcomes in inboxes, and the
//! budgeted reads of both.

use super::{backend, HANDSHAKE_PRIVATE, HANDSHAKE_PUBLIC};
use crate::store::{
    check_joining, check_poster, decide, has_member, is_opaque_commit, joining, replay, settle,
    to_i64, to_u64, Appended, Budget, Candidate, CommitEffects, GroupRecord, Handshake, InboxEntry,
    NewMessage, PostKind, StoreError, StoreResult, StoredMessage,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub(super) fn contested(conn: &Connection, group_id: &[u8]) -> StoreResult<Option<u64>> {
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
    effects: &CommitEffects,
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
pub(super) fn drop_unread_welcomes(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM welcome_bodies
         WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.body_id = welcome_bodies.id)",
        [],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn load_group(conn: &Connection, group_id: &[u8]) -> StoreResult<Option<GroupRecord>> {
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

pub(super) fn member(conn: &Connection, group_id: &[u8], client: &str) -> StoreResult<bool> {
    conn.query_row(
        "SELECT 1 FROM members WHERE group_id = ?1 AND client_id = ?2",
        params![group_id, client],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
    .map_err(backend)
}

/// See [`Store::append`](crate::store::Store::append).
pub(super) fn append(
    conn: &mut Connection,
    message: NewMessage,
    grace: u64,
) -> StoreResult<Appended> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let group =
        load_group(&tx, &message.group_id)?.ok_or_else(|| StoreError::NotFound("group".into()))?;
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
        grace,
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

/// See [`Store::ack_commit`](crate::store::Store::ack_commit).
pub(super) fn ack_commit(
    conn: &mut Connection,
    group_id: &[u8],
    seq: u64,
    caller: &str,
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let group = load_group(&tx, group_id)?.ok_or_else(|| StoreError::NotFound("group".into()))?;
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

/// See [`Store::messages_after`](crate::store::Store::messages_after); `conn` is in a read
/// transaction, so the lengths, the data and the first sequence number agree.
pub(super) fn messages_after(
    conn: &Connection,
    group_id: &[u8],
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> StoreResult<(Vec<StoredMessage>, Option<u64>)> {
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

/// See [`Store::inbox`](crate::store::Store::inbox); `conn` is in a read transaction.
pub(super) fn inbox(
    conn: &Connection,
    client: &str,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> StoreResult<Vec<InboxEntry>> {
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
