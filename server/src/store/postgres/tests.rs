//! PostgreSQL-only tests: several stores ("instances") over one database at once.

use super::{schema, PgStore};
use crate::store::tests::{fresh_database, Cleanup};
use crate::store::*;
use std::sync::Barrier;

/// `n` stores over one fresh database, as `n` server instances would be.
fn instances(n: usize, pool: u32) -> (Cleanup, Vec<PgStore>) {
    let (cleanup, config) = fresh_database();
    let stores = (0..n)
        .map(|_| PgStore::connect_with(config.clone(), pool).expect("connect"))
        .collect();
    (cleanup, stores)
}

fn enroll(s: &dyn Store, id: &str, key: u8) -> StoreResult<()> {
    s.create_client(NewClient {
        id: id.into(),
        signature_key: vec![key; 32],
        certificate: vec![key],
        token_hash: [key; 32],
        created_at: 0,
        invite_hash: None,
    })
}

fn new_group(gid: &[u8], creator: &str, quota: u64) -> NewGroup {
    NewGroup {
        group_id: gid.to_vec(),
        creator: creator.into(),
        allow_external_join: false,
        group_info: None,
        created_at: 0,
        handshake: Handshake::Public,
        view: None,
        creator_quota: quota,
    }
}

fn post(gid: &[u8], epoch: u64, kind: PostKind, tag: u16) -> NewMessage {
    let content_type = if matches!(kind, PostKind::Commit(_)) {
        3
    } else {
        1
    };
    let mut hash = [0; 32];
    hash[..2].copy_from_slice(&tag.to_be_bytes());
    NewMessage {
        group_id: gid.to_vec(),
        sender: "a/1".into(),
        epoch,
        content_type,
        wire_format: 1,
        data: tag.to_be_bytes().to_vec(),
        hash,
        kind,
        now: 1,
    }
}

/// Run `per_store` calls of `f` on every store at once, all released together.
fn race<T: Send>(
    stores: &[PgStore],
    per_store: usize,
    f: impl Fn(&PgStore, usize) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(stores.len() * per_store);
    std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .flat_map(|(i, s)| (0..per_store).map(move |j| (s, i * per_store + j)))
            .map(|(s, k)| {
                let (f, barrier) = (&f, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    f(s, k)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

#[test]
fn one_commit_per_epoch_across_instances_and_gap_free_seqs() {
    let (_cleanup, stores) = instances(2, 8);
    enroll(&stores[0], "a/1", 1).unwrap();
    stores[0].create_group(new_group(b"g", "a/1", 10)).unwrap();
    let commit = || PostKind::Commit(Box::default());
    let results = race(&stores, 20, |s, k| {
        s.append(post(b"g", 0, commit(), k as u16))
    });
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert_eq!((won[0].seq, won[0].epoch), (1, 1));
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                r,
                Err(StoreError::Conflict {
                    current_epoch: Some(1),
                    seq: None,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // Application messages from both instances at once: every seq once, none skipped.
    let results = race(&stores, 20, |s, k| {
        s.append(post(b"g", 1, PostKind::Application, 100 + k as u16))
    });
    let mut seqs: Vec<u64> = results.iter().map(|r| r.as_ref().unwrap().seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=41).collect::<Vec<_>>());
    let (log, first) = stores[1].messages_after(b"g", 0, 100, usize::MAX).unwrap();
    assert_eq!(
        log.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=41).collect::<Vec<_>>()
    );
    assert_eq!(first, Some(1));
    let g = stores[1].group(b"g").unwrap().unwrap();
    assert_eq!((g.epoch, g.last_seq), (1, 41));
}

#[test]
fn concurrent_claims_hand_out_each_key_package_once() {
    let (_cleanup, stores) = instances(3, 4);
    let kp = |r: u8, last_resort: bool| StoredKeyPackage {
        kp_ref: vec![r],
        cipher_suite: 1,
        data: vec![r],
        last_resort,
        not_after: 100,
    };
    let mut kps: Vec<_> = (1..=10).map(|r| kp(r, false)).collect();
    kps.push(kp(99, true));
    stores[0].add_key_packages("b/1", kps, 0).unwrap();
    let results = race(&stores, 10, |s, _| {
        s.claim_key_packages(&["b/1".to_string()], 1, 10)
    });
    let mut ordinary = Vec::new();
    let mut last_resort = 0;
    for r in results {
        match r.unwrap().pop().unwrap().key_package {
            Some((data, false)) => ordinary.push(data[0]),
            Some((data, true)) => {
                assert_eq!(data, vec![99]);
                last_resort += 1;
            }
            None => panic!("the last-resort package is always there"),
        }
    }
    ordinary.sort_unstable();
    assert_eq!(ordinary, (1..=10).collect::<Vec<u8>>(), "each package once");
    assert_eq!(last_resort, 20);
    let counts = stores[2].key_package_counts("b/1", 10).unwrap();
    assert_eq!(counts[0].available, 0);
}

#[test]
fn migrations_run_once_when_instances_start_together() {
    let (_cleanup, config) = fresh_database();
    let barrier = Barrier::new(4);
    let started: Vec<StoreResult<PgStore>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (config, barrier) = (config.clone(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    PgStore::connect_with(config, 2)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for s in &started {
        assert!(s.is_ok(), "{s:?}");
    }
    // Starting again runs nothing.
    drop(PgStore::connect_with(config.clone(), 2).unwrap());
    let mut c = config.connect(::postgres::NoTls).unwrap();
    let versions: Vec<i64> = c
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i64> = (1..=schema::MIGRATIONS.len() as i64).collect();
    assert_eq!(versions, expected);
    // A database from a newer server is refused, not half-used.
    c.execute("INSERT INTO schema_migrations (version) VALUES (1000)", &[])
        .unwrap();
    let err = PgStore::connect_with(config, 2).unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("newer")),
        "{err:?}"
    );
}

#[test]
fn group_quota_and_invites_hold_across_instances() {
    let (_cleanup, stores) = instances(2, 6);
    enroll(&stores[0], "a/1", 1).unwrap();
    let results = race(&stores, 5, |s, k| {
        s.create_group(new_group(&[k as u8], "a/1", 3))
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::Quota(_)))));
    stores[1].add_invite([7; 32], 0, 100).unwrap();
    let results = race(&stores, 5, |s, k| {
        s.create_client(NewClient {
            id: format!("i/{k}"),
            signature_key: vec![10 + k as u8; 32],
            certificate: vec![],
            token_hash: [10 + k as u8; 32],
            created_at: 1,
            invite_hash: Some([7; 32]),
        })
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::Invalid(_)))));
}

#[test]
fn the_first_ca_root_stored_wins() {
    let (_cleanup, stores) = instances(2, 2);
    let roots = race(&stores, 3, |s, k| {
        s.ca_root(&mut || Ok(vec![k as u8; 8])).unwrap()
    });
    assert!(roots.iter().all(|r| *r == roots[0]), "{roots:?}");
    assert_eq!(stores[1].ca_root(&mut || Ok(vec![0xff])).unwrap(), roots[0]);
    assert_eq!(stores[0].legacy_ca_key().unwrap(), None);
}

#[test]
fn an_unreachable_database_is_a_backend_error() {
    let mut config = ::postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(1)
        .user("cohort")
        .dbname("postgres")
        .connect_timeout(std::time::Duration::from_millis(500));
    let err = PgStore::connect_with(config, 2).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let err = PgStore::connect("not a url", 2).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[test]
fn rate_buckets_are_shared_by_the_instances() {
    use std::time::Duration;
    let (_cleanup, stores) = instances(3, 2);
    // Three cells a minute: one cell every 20 s.
    let rate = Rate {
        interval: Duration::from_secs(20),
        burst: 3,
    };
    let take = |i: usize, key: &str, n: u32, force: bool| {
        stores[i]
            .take_rate("messages", key, rate, n, force)
            .expect("take")
    };
    assert!(stores.iter().all(|s| s.shares_rates()));
    assert_eq!(take(0, "a/1", 2, false), Ok(()));
    assert_eq!(take(1, "a/1", 1, false), Ok(()));
    // The fourth cell, through a third instance, finds the bucket empty and takes nothing.
    let wait = take(2, "a/1", 1, false).expect_err("bucket is empty");
    assert!(
        wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
        "{wait:?}"
    );
    assert!(take(0, "a/1", 1, false).is_err());
    // Another key and another bucket are untouched.
    assert_eq!(take(1, "b/1", 3, false), Ok(()));
    assert_eq!(
        stores[2].take_rate("claims", "a/1", rate, 1, false),
        Ok(Ok(()))
    );
    // More than the burst never passes, and takes nothing.
    assert!(take(0, "c/1", 4, false).is_err());
    assert_eq!(take(0, "c/1", 3, false), Ok(()));
    // A forced take counts past the burst; an empty take is refused only once overdrawn.
    assert_eq!(take(1, "d/1", 0, false), Ok(()));
    assert_eq!(take(1, "d/1", 3, true), Ok(()));
    assert_eq!(take(2, "d/1", 0, false), Ok(()));
    let wait = take(2, "d/1", 1, true).expect_err("overdrawn");
    assert!(wait <= Duration::from_secs(20), "{wait:?}");
    let wait = take(0, "d/1", 0, false).expect_err("blocked");
    assert!(
        wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
        "{wait:?}"
    );
    // Pruning keeps buckets that are not full again.
    stores[0].prune(&Retention::default(), 0).expect("prune");
    assert!(take(1, "a/1", 1, false).is_err());
}

#[test]
fn concurrent_takes_through_three_instances_never_exceed_the_burst() {
    use std::time::Duration;
    let (_cleanup, stores) = instances(3, 4);
    let rate = Rate {
        interval: Duration::from_secs(60),
        burst: 12,
    };
    let results = race(&stores, 10, |s, _| {
        s.take_rate("messages", "a/1", rate, 1, false)
            .expect("take")
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 12);
}

/// The test cluster's CA (`.ci/postgres` writes it; `.ci/test` exports its path).
fn test_ca() -> std::path::PathBuf {
    std::env::var_os("COHORT_TEST_DATABASE_CA")
        .map(Into::into)
        .expect("COHORT_TEST_DATABASE_CA is not set: run the tests with .ci/test")
}

#[test]
fn tls_to_postgres_is_verified_and_never_downgraded() {
    let (_cleanup, config) = crate::store::tests::fresh_database();
    let store = PgStore::connect_with_tls(config.clone(), 2, Some(&test_ca())).expect("TLS");
    let ssl: bool = store
        .conn()
        .expect("connection")
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0);
    assert!(ssl, "the pool's connection is TLS");
    // Without roots: plain, never a TLS attempt that could fall back silently.
    let plain = PgStore::connect_with(config.clone(), 1).expect("plain");
    let ssl: bool = plain
        .conn()
        .expect("connection")
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0);
    assert!(!ssl);
    // Another CA's roots: the server's certificate is refused.
    let dir = std::env::temp_dir().join(format!("cohort-other-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("other-ca.pem");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(&other, cert.pem()).unwrap();
    let refused = PgStore::connect_with_tls(config.clone(), 1, Some(&other));
    assert!(
        matches!(&refused, Err(StoreError::Backend(m)) if m.contains("unreachable")),
        "{:?}",
        refused.map(|_| ())
    );
    // sslmode=require without roots is an error, not an unverified connection.
    let mut require = config.clone();
    require.ssl_mode(::postgres::config::SslMode::Require);
    let refused = PgStore::connect_with(require, 1);
    assert!(
        matches!(&refused, Err(StoreError::Backend(m)) if m.contains("--database-ca")),
        "{:?}",
        refused.map(|_| ())
    );
    // A file without a certificate is refused at start.
    std::fs::write(dir.join("empty.pem"), b"").unwrap();
    assert!(PgStore::connect_with_tls(config, 1, Some(&dir.join("empty.pem"))).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
