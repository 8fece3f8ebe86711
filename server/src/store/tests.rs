//! Backend-independent tests of the [`Store`] contract, run against every engine.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::*;

/// Removes what a backend instance used when dropped: a database file (and its WAL files)
/// or a PostgreSQL test database.
pub(super) enum Cleanup {
    /// Nothing to remove (in-memory).
    Nothing,
    /// A SQLite file.
    File(std::path::PathBuf),
    /// A database on the test server: the admin configuration and the database's name.
    Database(Box<::postgres::Config>, String),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Nothing => {}
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database(admin, name) => {
                if let Ok(mut c) = admin.connect(::postgres::NoTls) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// The PostgreSQL server the tests use: a PostgreSQL test never skips.
fn test_server() -> ::postgres::Config {
    let url = std::env::var("COHORT_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("COHORT_TEST_DATABASE_URL is not set: run the tests with .ci/test (it starts PostgreSQL)")
    });
    url.parse()
        .expect("COHORT_TEST_DATABASE_URL is not a PostgreSQL URL")
}

/// A fresh, empty database on the test server (dropped with the guard), so that tests in
/// parallel never see each other's rows; returns its configuration.
pub(super) fn fresh_database() -> (Cleanup, ::postgres::Config) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let admin = test_server();
    let name = format!(
        "cohort_t_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let mut c = admin
        .connect(::postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    // Two statements: a multi-statement query is one transaction, which they refuse.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        c.batch_execute(&sql).expect("create a test database");
    }
    let mut config = admin.clone();
    config.dbname(&name);
    (Cleanup::Database(Box::new(admin), name), config)
}

/// Every backend the server ships; a new engine adds itself here. The store is dropped
/// before its cleanup guard (bindings drop in reverse order).
fn backends() -> Vec<(Cleanup, &'static str, Box<dyn Store>)> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "cohort-store-test-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let (pg_cleanup, pg) = fresh_database();
    vec![
        (
            Cleanup::Nothing,
            "sqlite-memory",
            Box::new(SqliteStore::open_in_memory().expect("sqlite")) as Box<dyn Store>,
        ),
        (
            Cleanup::File(path.clone()),
            "sqlite-file",
            Box::new(SqliteStore::open(&path).expect("sqlite file")) as Box<dyn Store>,
        ),
        (
            pg_cleanup,
            "postgres",
            Box::new(PgStore::connect_with(pg, 4).expect("postgres")) as Box<dyn Store>,
        ),
    ]
}

fn client(s: &dyn Store, id: &str, key: u8) {
    s.create_client(NewClient {
        id: id.into(),
        signature_key: vec![key; 32],
        certificate: vec![key],
        token_hash: [key; 32],
        created_at: 0,
        invite_hash: None,
    })
    .expect("client");
}

fn msg(gid: &[u8], sender: &str, epoch: u64, kind: PostKind, now: i64, tag: u8) -> NewMessage {
    let content_type = match &kind {
        PostKind::Commit(_) => 3,
        PostKind::Proposal => 2,
        PostKind::Application => 1,
    };
    NewMessage {
        group_id: gid.to_vec(),
        sender: sender.into(),
        epoch,
        content_type,
        wire_format: 2,
        data: vec![tag; 4],
        hash: [tag; 32],
        kind,
        now,
    }
}

/// A group whose commits take effect on arrival (PublicMessage: the DS verified them).
fn group(s: &dyn Store, gid: &[u8], creator: &str, external: bool) {
    group_with(s, gid, creator, external, Handshake::Public)
}

fn group_with(s: &dyn Store, gid: &[u8], creator: &str, external: bool, handshake: Handshake) {
    s.create_group(NewGroup {
        group_id: gid.to_vec(),
        creator: creator.into(),
        allow_external_join: external,
        group_info: None,
        created_at: 0,
        handshake,
        view: None,
        creator_quota: 10,
    })
    .expect("group");
}

#[test]
fn private_commits_contend_until_acknowledged() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        for (id, key) in [("a/1", 1), ("b/1", 2), ("c/1", 3), ("m/1", 4)] {
            client(s, id, key);
        }
        group_with(s, b"p", "a/1", false, Handshake::Private);
        let commit = |added: &[&str], removed: &[&str], welcome: Option<Vec<u8>>| {
            PostKind::Commit(Box::new(CommitEffects {
                welcome_recipients: if welcome.is_some() {
                    added.iter().map(|a| a.to_string()).collect()
                } else {
                    vec![]
                },
                welcome,
                added: added.iter().map(|a| a.to_string()).collect(),
                removed: removed.iter().map(|r| r.to_string()).collect(),
                ..Default::default()
            }))
        };
        // A sole member's commit is settled by its own acknowledgement; the Welcome waits.
        let r = s
            .append(msg(
                b"p",
                "a/1",
                0,
                commit(&["b/1", "m/1"], &[], Some(vec![5])),
                1,
                1,
            ))
            .expect(name);
        assert_eq!((r.seq, r.epoch), (1, 1), "{name}");
        assert!(
            s.inbox("b/1", 0, 10, usize::MAX).unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(s.contested_epoch(b"p").unwrap(), Some(0), "{name}");
        assert_eq!(s.ack_commit(b"p", 1, "a/1", 1).unwrap().len(), 2, "{name}");
        assert_eq!(
            s.inbox("b/1", 0, 10, usize::MAX).unwrap().len(),
            1,
            "{name}"
        );
        assert_eq!(s.contested_epoch(b"p").unwrap(), None, "{name}");
        // Mallory's garbage for epoch 1 claims to remove Alice and add Carol: Alice stays.
        s.append(msg(b"p", "m/1", 1, commit(&["c/1"], &["a/1"], None), 1, 2))
            .expect(name);
        assert!(s.is_member(b"p", "a/1").unwrap(), "{name}");
        assert!(s.is_member(b"p", "c/1").unwrap(), "{name}: provisional");
        // Mallory cannot settle her own commit; Carol (provisional) cannot settle anything.
        assert!(matches!(
            s.ack_commit(b"p", 2, "m/1", 1),
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            s.ack_commit(b"p", 2, "c/1", 1),
            Err(StoreError::Forbidden(_))
        ));
        // A commit for the next epoch waits; another for epoch 1 is a candidate.
        let err = s
            .append(msg(b"p", "a/1", 2, commit(&[], &[], None), 1, 3))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { .. }),
            "{name}: {err:?}"
        );
        let r = s
            .append(msg(b"p", "a/1", 1, commit(&[], &["m/1"], None), 1, 4))
            .expect(name);
        assert_eq!((r.seq, r.epoch), (3, 2), "{name}");
        // Bob takes Alice's commit: Mallory is removed, Carol's provisional add undone.
        s.ack_commit(b"p", 3, "b/1", 1).expect(name);
        let g = s.group(b"p").unwrap().unwrap();
        assert_eq!(
            g.members,
            vec!["a/1".to_string(), "b/1".to_string()],
            "{name}"
        );
        assert_eq!(g.contested_epoch, None, "{name}");
        // Settled: a late acknowledgement changes nothing, a late commit is stale.
        assert!(
            s.ack_commit(b"p", 2, "a/1", 1).unwrap().is_empty(),
            "{name}"
        );
        let err = s
            .append(msg(b"p", "b/1", 1, commit(&[], &[], None), 1, 5))
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    current_epoch: Some(2),
                    ..
                }
            ),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn commit_ordering_welcomes_and_membership() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        client(s, "a/1", 1);
        client(s, "b/1", 2);
        client(s, "c/1", 3);
        group(s, b"g", "a/1", false);
        let effects = CommitEffects {
            welcome: Some(vec![9]),
            welcome_recipients: vec!["b/1".into()],
            group_info: Some(vec![7]),
            added: vec!["b/1".into()],
            ..Default::default()
        };
        let r = s
            .append(msg(
                b"g",
                "a/1",
                0,
                PostKind::Commit(Box::new(effects)),
                1,
                1,
            ))
            .expect(name);
        assert_eq!((r.seq, r.epoch), (1, 1), "{name}");
        assert_eq!(r.welcomed.len(), 1, "{name}");
        assert_eq!(
            s.inbox("b/1", 0, 10, usize::MAX).unwrap().len(),
            1,
            "{name}"
        );
        assert_eq!(s.group_info(b"g").unwrap(), Some((1, vec![7])), "{name}");
        // A losing commit changes nothing.
        let loser = CommitEffects {
            welcome: Some(vec![8]),
            welcome_recipients: vec!["c/1".into()],
            added: vec!["c/1".into()],
            ..Default::default()
        };
        let err = s
            .append(msg(b"g", "b/1", 0, PostKind::Commit(Box::new(loser)), 1, 2))
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    current_epoch: Some(1),
                    seq: None,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        assert!(
            s.inbox("c/1", 0, 10, usize::MAX).unwrap().is_empty(),
            "{name}"
        );
        assert!(!s.is_member(b"g", "c/1").unwrap(), "{name}");
        // Removal.
        let remove = CommitEffects {
            removed: vec!["b/1".into()],
            ..Default::default()
        };
        let r = s
            .append(msg(
                b"g",
                "a/1",
                1,
                PostKind::Commit(Box::new(remove)),
                1,
                3,
            ))
            .expect(name);
        assert!(
            r.notify.contains(&"b/1".to_string()),
            "{name}: removed member is told"
        );
        assert!(!s.is_member(b"g", "b/1").unwrap(), "{name}");
        let err = s
            .append(msg(b"g", "b/1", 2, PostKind::Application, 1, 4))
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{name}");
        // Replay of accepted bytes.
        let err = s
            .append(msg(b"g", "a/1", 2, PostKind::Application, 1, 3))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { seq: Some(2), .. }),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn key_packages_claim_and_last_resort() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        let kp = |r: u8, last_resort: bool, not_after: u64| StoredKeyPackage {
            kp_ref: vec![r],
            cipher_suite: 1,
            data: vec![r],
            last_resort,
            not_after,
        };
        s.add_key_packages(
            "b/1",
            vec![kp(1, false, 100), kp(2, false, 5), kp(3, true, 100)],
            0,
        )
        .expect(name);
        // kp 2 has expired at t=10: skipped.
        let claim = |t| s.claim_key_packages(&["b/1".to_string()], 1, t).unwrap();
        assert_eq!(claim(10)[0].key_package, Some((vec![1], false)), "{name}");
        assert_eq!(claim(10)[0].key_package, Some((vec![3], true)), "{name}");
        assert_eq!(claim(10)[0].key_package, Some((vec![3], true)), "{name}");
        assert_eq!(
            s.key_package_counts("b/1", 10).unwrap(),
            vec![KeyPackageCount {
                cipher_suite: 1,
                available: 0,
                last_resort: true
            }],
            "{name}"
        );
        // A new last resort replaces the old one.
        s.add_key_packages("b/1", vec![kp(4, true, 100)], 0)
            .expect(name);
        assert_eq!(claim(10)[0].key_package, Some((vec![4], true)), "{name}");
        assert_eq!(claim(200)[0].key_package, None, "{name}: all expired");
    }
}

#[test]
fn retention_by_count_and_age() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        client(s, "a/1", 1);
        group(s, b"g", "a/1", false);
        for i in 0..10u8 {
            s.append(msg(
                b"g",
                "a/1",
                0,
                PostKind::Application,
                i64::from(i) * 100,
                i,
            ))
            .expect(name);
        }
        let keep = Retention {
            max_age_secs: None,
            keep_last: Some(4),
        };
        let r = s.prune(&keep, 1000).expect(name);
        assert_eq!(r.messages, 6, "{name}");
        let (log, first) = s.messages_after(b"g", 0, 100, usize::MAX).unwrap();
        assert_eq!(
            log.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![7, 8, 9, 10],
            "{name}"
        );
        assert_eq!(first, Some(7), "{name}");
        // Messages 7..10 arrived at t=600..900; at t=1000 an age limit of 350 s keeps 8 onward.
        let age = Retention {
            max_age_secs: Some(350),
            keep_last: None,
        };
        s.prune(&age, 1000).expect(name);
        let (log, _) = s.messages_after(b"g", 0, 100, usize::MAX).unwrap();
        assert_eq!(
            log.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![8, 9, 10],
            "{name}"
        );
        // The sequence continues after pruning.
        let r = s
            .append(msg(b"g", "a/1", 0, PostKind::Application, 1000, 99))
            .expect(name);
        assert_eq!(r.seq, 11, "{name}");
    }
}

#[test]
fn invites_are_single_use_and_expire() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        s.add_invite([7; 32], 0, 100).expect(name);
        s.add_invite([8; 32], 0, 5).expect(name);
        let new = |id: &str, key: u8, invite: [u8; 32]| NewClient {
            id: id.into(),
            signature_key: vec![key; 32],
            certificate: vec![],
            token_hash: [key; 32],
            created_at: 10,
            invite_hash: Some(invite),
        };
        s.create_client(new("a/1", 1, [7; 32])).expect(name);
        assert!(matches!(
            s.create_client(new("b/1", 2, [7; 32])),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.create_client(new("b/1", 2, [8; 32])),
            Err(StoreError::Invalid(_))
        ));
        assert!(s.client("b/1").unwrap().is_none(), "{name}");
        // Same key twice is a conflict.
        s.add_invite([9; 32], 0, 100).expect(name);
        assert!(matches!(
            s.create_client(new("c/1", 1, [9; 32])),
            Err(StoreError::Conflict { .. })
        ));
        // ...and the invite survives the failed enrollment.
        s.create_client(new("c/1", 3, [9; 32])).expect(name);
    }
}

/// Bytes on disk of a file-backed database, WAL included.
fn disk_bytes(cleanup: &Cleanup) -> Option<u64> {
    let Cleanup::File(path) = cleanup else {
        return None;
    };
    Some(
        ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
            .map(|m| m.len())
            .sum(),
    )
}

/// Issue 12: one 1 MiB commit with 18 recipients stored its Welcome 18 times (13.9 MB).
#[test]
fn a_welcome_is_stored_once_per_commit() {
    const WELCOME: usize = 1 << 20;
    for (cleanup, name, s) in backends() {
        let s = s.as_ref();
        client(s, "a/1", 1);
        let recipients: Vec<String> = (0..18u8).map(|i| format!("r/{i}")).collect();
        for (i, r) in recipients.iter().enumerate() {
            client(s, r, 10 + i as u8);
        }
        group(s, b"g", "a/1", false);
        let before = disk_bytes(&cleanup);
        let effects = CommitEffects {
            welcome: Some(vec![5; WELCOME]),
            welcome_recipients: recipients.clone(),
            added: recipients.clone(),
            ..Default::default()
        };
        let r = s
            .append(msg(
                b"g",
                "a/1",
                0,
                PostKind::Commit(Box::new(effects)),
                1,
                1,
            ))
            .expect(name);
        assert_eq!(r.welcomed.len(), 18, "{name}");
        if let (Some(before), Some(after)) = (before, disk_bytes(&cleanup)) {
            let grown = after.saturating_sub(before);
            assert!(
                grown < 3 * WELCOME as u64,
                "{name}: the database grew by {grown} bytes for one {WELCOME}-byte Welcome"
            );
        }
        for r in &recipients {
            let inbox = s.inbox(r, 0, 10, usize::MAX).expect(name);
            assert_eq!(inbox.len(), 1, "{name}: {r}");
            assert_eq!(inbox[0].data.len(), WELCOME, "{name}: {r}");
        }
        // Acknowledging drops a recipient's entry but not the others' Welcome.
        for (i, r) in recipients.iter().enumerate() {
            let id = s.inbox(r, 0, 10, usize::MAX).expect(name)[0].id;
            assert_eq!(s.ack_inbox(r, id).expect(name), 1, "{name}");
            assert!(
                s.inbox(r, 0, 10, usize::MAX).expect(name).is_empty(),
                "{name}"
            );
            if let Some(next) = recipients.get(i + 1) {
                assert_eq!(
                    s.inbox(next, 0, 10, usize::MAX).expect(name).len(),
                    1,
                    "{name}"
                );
            }
        }
    }
}

/// Inbox entries written before Welcomes were stored once keep their ids and bytes.
#[test]
fn inbox_entries_survive_the_welcome_migration() {
    let dir = std::env::temp_dir().join(format!("cohort-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(super::sqlite::SCHEMA_V0).unwrap();
        conn.execute(
            "INSERT INTO welcomes (id, client_id, group_id, epoch, data, created_at)
             VALUES (41, 'b/1', x'67', 3, x'0102', 7)",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let inbox = s.inbox("b/1", 0, 10, usize::MAX).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!((inbox[0].id, inbox[0].epoch), (41, 3));
    assert_eq!(inbox[0].data, vec![1, 2]);
    drop(s);
    // Reopening runs nothing twice.
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.inbox("b/1", 0, 10, usize::MAX).unwrap().len(), 1);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whoever a commit adds (or an external commit brings in) must be enrolled and not
/// revoked, in both handshake modes; a refused commit stores nothing.
#[test]
fn joining_clients_must_be_enrolled_and_not_revoked() {
    for (_cleanup, name, s) in backends() {
        let s = s.as_ref();
        client(s, "a/1", 1);
        client(s, "r/1", 2);
        s.revoke_client("r/1", 1).expect(name);
        group(s, b"g", "a/1", true);
        group_with(s, b"p", "a/1", false, Handshake::Private);
        let adding = |who: &str| {
            PostKind::Commit(Box::new(CommitEffects {
                added: vec![who.into()],
                ..Default::default()
            }))
        };
        for (gid, tag) in [(&b"g"[..], 1), (&b"p"[..], 3)] {
            for (who, why) in [("x/1", "not enrolled"), ("r/1", "revoked")] {
                let err = s
                    .append(msg(gid, "a/1", 0, adding(who), 1, tag))
                    .unwrap_err();
                assert!(
                    matches!(&err, StoreError::Invalid(m) if m.contains(why)),
                    "{name}: {err:?}"
                );
            }
            let g = s.group(gid).unwrap().unwrap();
            assert_eq!((g.epoch, g.last_seq), (0, 0), "{name}: nothing stored");
            assert_eq!(g.members, vec!["a/1".to_string()], "{name}");
        }
        // A revoked client cannot join by external commit either.
        let external = PostKind::Commit(Box::new(CommitEffects {
            external: true,
            ..Default::default()
        }));
        let err = s.append(msg(b"g", "r/1", 0, external, 1, 5)).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{name}: {err:?}");
        assert!(!s.is_member(b"g", "r/1").unwrap(), "{name}");
    }
}
