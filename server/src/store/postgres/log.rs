//! Group logs on PostgreSQL: appending under the group's row lock, settling contested
//! commits, Welcomes into inboxes, and byte-budgeted reads.

use super::{backend, lock, narrow, Conn};
use crate::store::{
    check_joining, check_poster, decide, has_member, is_opaque_commit, joining, replay, settle,
    to_i64, to_u64, Appended, Budget, Candidate, CommitEffects, GroupRecord, Handshake, InboxEntry,
    NewMessage, PostKind, StoreError, StoreResult, StoredMessage,
};
use postgres::{IsolationLevel, Transaction};
use std::collections::HashMap;

/// A group and its members; with `for_update`, its row stays locked until the transaction
/// ends, so that every writer of the group sees the one before it committed.
pub(super) fn load_group(
    tx: &mut Transaction<'_>,
    group_id: &[u8],
    for_update: bool,
) -> StoreResult<Option<GroupRecord>> {
    let sql = if for_update {
        "SELECT epoch, creator, allow_external_join, last_seq, public_handshake, contested_epoch
         FROM groups WHERE group_id = $1 FOR UPDATE"
    } else {
        "SELECT epoch, creator, allow_external_join, last_seq, public_handshake, contested_epoch
         FROM groups WHERE group_id = $1"
    };
    let Some(row) = tx.query_opt(sql, &[&group_id]).map_err(backend)? else {
        return Ok(None);
    };
    let members = tx
        .query(
            "SELECT client_id FROM members WHERE group_id = $1 ORDER BY client_id COLLATE \"C\"",
            &[&group_id],
        )
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(GroupRecord {
        group_id: group_id.to_vec(),
        epoch: to_u64(row.get(0)),
        creator: row.get(1),
        allow_external_join: row.get(2),
        last_seq: to_u64(row.get(3)),
        members,
        handshake: if row.get(4) {
            Handshake::Public
        } else {
            Handshake::Private
        },
        contested_epoch: row.get::<_, Option<i64>>(5).map(to_u64),
    }))
}

/// A client joining a group must be enrolled and not revoked ([`check_joining`]).
fn require_enrolled(tx: &mut Transaction<'_>, client: &str) -> StoreResult<()> {
    let revoked_at = tx
        .query_opt("SELECT revoked_at FROM clients WHERE id = $1", &[&client])
        .map_err(backend)?
        .map(|r| r.get::<_, Option<i64>>(0));
    check_joining(client, revoked_at)
}

fn add_member(tx: &mut Transaction<'_>, group_id: &[u8], client: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO members (group_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&group_id, &client],
    )
    .map_err(backend)?;
    Ok(())
}

fn remove_members(
    tx: &mut Transaction<'_>,
    group_id: &[u8],
    clients: &[String],
) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM members WHERE group_id = $1 AND client_id = ANY($2)",
        &[&group_id, &clients],
    )
    .map_err(backend)?;
    Ok(())
}

/// Record an opaque commit of a PrivateMessage group as a candidate for its epoch: its
/// added clients become members at once (they must read the log to join and acknowledge);
/// its removals, Welcome and GroupInfo wait for an acknowledgement.
fn add_candidate(
    tx: &mut Transaction<'_>,
    group: &GroupRecord,
    message: &NewMessage,
    effects: &CommitEffects,
    seq: u64,
) -> StoreResult<()> {
    let mut provisional = Vec::new();
    for client in &effects.added {
        require_enrolled(tx, client)?;
        if !has_member(group, client) {
            add_member(tx, &message.group_id, client)?;
            provisional.push(client.clone());
        }
    }
    tx.execute(
        "INSERT INTO commit_candidates (group_id, seq, poster, added, removed, group_info,
                                        welcome, recipients, epoch)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &message.group_id,
            &to_i64(seq),
            &message.sender,
            &provisional,
            &effects.removed,
            &effects.group_info,
            &effects.welcome,
            &effects.welcome_recipients,
            &to_i64(message.epoch.saturating_add(1)),
        ],
    )
    .map_err(backend)?;
    tx.execute(
        "UPDATE groups SET contested_epoch = $2 WHERE group_id = $1",
        &[&message.group_id, &to_i64(message.epoch)],
    )
    .map_err(backend)?;
    Ok(())
}

/// Store a Welcome once and give each recipient an inbox entry pointing at it.
///
/// Inbox cursors need ids that grow in commit order per client, which a sequence alone
/// does not give (a transaction holding id 10 may commit after one holding 11, and a
/// reader at 11 would skip 10): each recipient's inbox is locked, in a fixed order so that
/// two commits welcoming the same clients cannot deadlock, before ids are drawn.
fn deliver_welcome(
    tx: &mut Transaction<'_>,
    group_id: &[u8],
    epoch: u64,
    welcome: &[u8],
    recipients: &[String],
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, h) FROM (
             SELECT DISTINCT hashtext(r) AS h FROM unnest($2::TEXT[]) AS r ORDER BY h) AS s",
        &[&lock::INBOX, &recipients],
    )
    .map_err(backend)?;
    let body: i64 = tx
        .query_one(
            "INSERT INTO welcome_bodies (group_id, epoch, data, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&group_id, &to_i64(epoch), &welcome, &now],
        )
        .map_err(backend)?
        .get(0);
    let rows = tx
        .query(
            "INSERT INTO inbox (client_id, body_id, created_at)
             SELECT r, $2, $3 FROM unnest($1::TEXT[]) WITH ORDINALITY AS t (r, n) ORDER BY n
             RETURNING id, client_id",
            &[&recipients, &body, &now],
        )
        .map_err(backend)?;
    let mut welcomed: Vec<(String, u64)> =
        rows.iter().map(|r| (r.get(1), to_u64(r.get(0)))).collect();
    welcomed.sort_by_key(|(_, id)| *id);
    Ok(welcomed)
}

/// Delete Welcomes no inbox entry points at any more.
pub(super) fn drop_unread_welcomes(tx: &mut Transaction<'_>) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM welcome_bodies b
         WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.body_id = b.id)",
        &[],
    )
    .map_err(backend)?;
    Ok(())
}

/// [`crate::store::Store::append`].
pub(super) fn append(conn: &mut Conn, message: NewMessage, grace: u64) -> StoreResult<Appended> {
    let mut tx = conn.transaction().map_err(backend)?;
    let group = load_group(&mut tx, &message.group_id, true)?
        .ok_or_else(|| StoreError::NotFound("group".into()))?;
    let is_member = has_member(&group, &message.sender);
    check_poster(is_member, &message)?;
    // Replays first, so that a retry of an accepted post learns its sequence number.
    let existing = tx
        .query_opt(
            "SELECT seq FROM messages WHERE group_id = $1 AND hash = $2",
            &[&message.group_id, &message.hash.as_slice()],
        )
        .map_err(backend)?;
    if let Some(row) = existing {
        return Err(replay(group.epoch, to_u64(row.get(0))));
    }
    let contested = group.contested_epoch;
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &message.group_id,
            &to_i64(seq),
            &to_i64(message.epoch),
            &i64::from(message.content_type),
            &i64::from(message.wire_format),
            &message.sender,
            &message.hash.as_slice(),
            &message.data,
            &message.now,
        ],
    )
    .map_err(|e| {
        // The row lock makes this unreachable; the keys are the second line.
        if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict {
                reason: "another message took this sequence number or these bytes".into(),
                current_epoch: Some(group.epoch),
                seq: None,
            }
        } else {
            backend(e)
        }
    })?;
    let opaque = is_opaque_commit(&group, &message);
    if let (true, PostKind::Commit(effects)) = (opaque, &message.kind) {
        if contested.is_none() {
            epoch = group.epoch + 1;
        }
        add_candidate(&mut tx, &group, &message, effects, seq)?;
        notify.extend(effects.added.iter().cloned());
    } else if let PostKind::Commit(effects) = &message.kind {
        epoch = group.epoch + 1;
        for client in joining(&message, effects) {
            require_enrolled(&mut tx, client)?;
            add_member(&mut tx, &message.group_id, client)?;
            notify.push(client.clone());
        }
        remove_members(&mut tx, &message.group_id, &effects.removed)?;
        if let Some(view) = &effects.view {
            tx.execute(
                "UPDATE groups SET view = $2 WHERE group_id = $1",
                &[&message.group_id, view],
            )
            .map_err(backend)?;
        }
        if let Some(info) = &effects.group_info {
            tx.execute(
                "UPDATE groups SET group_info = $2, group_info_epoch = $3 WHERE group_id = $1",
                &[&message.group_id, info, &to_i64(epoch)],
            )
            .map_err(backend)?;
        }
        if let Some(welcome) = &effects.welcome {
            welcomed = deliver_welcome(
                &mut tx,
                &message.group_id,
                epoch,
                welcome,
                &effects.welcome_recipients,
                message.now,
            )?;
        }
    }
    tx.execute(
        "UPDATE groups SET epoch = $2, last_seq = $3 WHERE group_id = $1",
        &[&message.group_id, &to_i64(epoch), &to_i64(seq)],
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

/// [`crate::store::Store::ack_commit`].
pub(super) fn ack_commit(
    conn: &mut Conn,
    group_id: &[u8],
    seq: u64,
    caller: &str,
    now: i64,
) -> StoreResult<Vec<(String, u64)>> {
    let mut tx = conn.transaction().map_err(backend)?;
    let group =
        load_group(&mut tx, group_id, true)?.ok_or_else(|| StoreError::NotFound("group".into()))?;
    if !has_member(&group, caller) {
        return Err(StoreError::Forbidden("not a member of this group".into()));
    }
    if group.contested_epoch.is_none() {
        return Ok(Vec::new());
    }
    let candidates: Vec<Candidate> = tx
        .query(
            "SELECT seq, poster, added, removed, group_info, welcome, recipients, epoch
             FROM commit_candidates WHERE group_id = $1 ORDER BY seq",
            &[&group_id],
        )
        .map_err(backend)?
        .iter()
        .map(|r| Candidate {
            seq: to_u64(r.get(0)),
            poster: r.get(1),
            added: r.get(2),
            removed: r.get(3),
            group_info: r.get(4),
            welcome: r.get(5),
            recipients: r.get(6),
            epoch: to_u64(r.get(7)),
        })
        .collect();
    let settled = settle(&group, &candidates, seq, caller)?;
    remove_members(&mut tx, group_id, &settled.leaving)?;
    let chosen = settled.chosen;
    if let Some(info) = &chosen.group_info {
        tx.execute(
            "UPDATE groups SET group_info = $2, group_info_epoch = $3 WHERE group_id = $1",
            &[&group_id, info, &to_i64(group.epoch)],
        )
        .map_err(backend)?;
    }
    let mut welcomed = Vec::new();
    if let Some(welcome) = &chosen.welcome {
        welcomed = deliver_welcome(
            &mut tx,
            group_id,
            chosen.epoch,
            welcome,
            &chosen.recipients,
            now,
        )?;
    }
    tx.execute(
        "DELETE FROM commit_candidates WHERE group_id = $1",
        &[&group_id],
    )
    .map_err(backend)?;
    tx.execute(
        "UPDATE groups SET contested_epoch = NULL WHERE group_id = $1",
        &[&group_id],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(welcomed)
}

/// A read-only transaction over one snapshot: a page's lengths and bytes agree even while
/// another instance prunes.
fn snapshot(conn: &mut Conn) -> StoreResult<Transaction<'_>> {
    conn.build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(backend)
}

/// [`crate::store::Store::messages_after`]: lengths first, then the bytes of the entries
/// within the budget in one range read.
pub(super) fn messages_after(
    conn: &mut Conn,
    group_id: &[u8],
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> StoreResult<(Vec<StoredMessage>, Option<u64>)> {
    let mut tx = snapshot(conn)?;
    let rows = tx
        .query(
            "SELECT seq, epoch, content_type, wire_format, sender, octet_length(data), created_at
             FROM messages WHERE group_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&group_id, &to_i64(after), &i64::from(limit)],
        )
        .map_err(backend)?;
    let mut budget = Budget::new(max_bytes);
    let mut out = Vec::new();
    for r in &rows {
        if !budget.admit(i64::from(r.get::<_, i32>(5))) {
            break;
        }
        out.push(StoredMessage {
            seq: to_u64(r.get(0)),
            epoch: to_u64(r.get(1)),
            content_type: narrow(r.get(2), "content type")?,
            wire_format: narrow(r.get(3), "wire format")?,
            sender: r.get(4),
            data: Vec::new(),
            created_at: r.get(6),
        });
    }
    if let Some(last) = out.last().map(|m| m.seq) {
        let data = tx
            .query(
                "SELECT data FROM messages WHERE group_id = $1 AND seq > $2 AND seq <= $3
                 ORDER BY seq",
                &[&group_id, &to_i64(after), &to_i64(last)],
            )
            .map_err(backend)?;
        if data.len() != out.len() {
            return Err(StoreError::Backend("log changed under a snapshot".into()));
        }
        for (m, r) in out.iter_mut().zip(&data) {
            m.data = r.get(0);
        }
    }
    let first = tx
        .query_one(
            "SELECT MIN(seq) FROM messages WHERE group_id = $1",
            &[&group_id],
        )
        .map_err(backend)?
        .get::<_, Option<i64>>(0)
        .map(to_u64);
    Ok((out, first))
}

/// [`crate::store::Store::inbox`]: lengths first, then the Welcomes within the budget.
pub(super) fn inbox(
    conn: &mut Conn,
    client: &str,
    after: u64,
    limit: u32,
    max_bytes: usize,
) -> StoreResult<Vec<InboxEntry>> {
    let mut tx = snapshot(conn)?;
    let rows = tx
        .query(
            "SELECT i.id, b.id, octet_length(b.data), i.created_at
             FROM inbox i JOIN welcome_bodies b ON b.id = i.body_id
             WHERE i.client_id = $1 AND i.id > $2 ORDER BY i.id LIMIT $3",
            &[&client, &to_i64(after), &i64::from(limit)],
        )
        .map_err(backend)?;
    let mut budget = Budget::new(max_bytes);
    let picked: Vec<(i64, i64, i64)> = rows
        .iter()
        .take_while(|r| budget.admit(i64::from(r.get::<_, i32>(2))))
        .map(|r| (r.get(0), r.get(1), r.get(3)))
        .collect();
    let ids: Vec<i64> = picked.iter().map(|p| p.1).collect();
    let bodies: HashMap<i64, (Vec<u8>, i64, Vec<u8>)> = tx
        .query(
            "SELECT id, group_id, epoch, data FROM welcome_bodies WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(backend)?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    picked
        .into_iter()
        .map(|(id, body, created_at)| {
            let (group_id, epoch, data) = bodies
                .get(&body)
                .ok_or_else(|| StoreError::Backend("inbox entry without its Welcome".into()))?;
            Ok(InboxEntry {
                id: to_u64(id),
                group_id: group_id.clone(),
                epoch: to_u64(*epoch),
                data: data.clone(),
                created_at,
            })
        })
        .collect()
}
