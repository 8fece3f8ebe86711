//! A live three-member group (Alice, Bob, Carol) and a pool of real traffic for its
//! current epoch: application messages, every proposal type a member sends (public and
//! private), a new member's proposal, commits with and without path, by reference and by
//! value, public and private, and an external commit. The fuzzer's bytes pick a receiver
//! and a sequence of pool messages, each mutated. Invariants: no panic; a rejection leaves
//! the receiver's persisted state byte-identical; an accepted message leaves a state that
//! round-trips through `to_bytes`/`from_bytes`; a merged commit that came unmutated agrees
//! with its committer.
#![no_main]

mod stateful;
#[path = "../../tests/support/mod.rs"]
mod support;

use cohort::codec::{Bytes, Encode};
use cohort::crypto::Secret;
use cohort::group::{CommitOptions, Group, HandshakeFormat, MemoryPskStore, ReceivedMessage};
use cohort::messages::{Extension, ExtensionType, Extensions};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Pool {
    members: [Group; 3],
    psks: MemoryPskStore,
    /// Encoded messages, and for commits the committer's state once merged.
    msgs: Vec<(Vec<u8>, Option<Group>)>,
}

fn private(g: &mut Group) {
    let mut c = g.config().clone();
    c.handshake_format = HandshakeFormat::Private;
    g.set_config(c);
}

fn build() -> Pool {
    let [alice, bob, carol] = support::three(b"fuzz-live");
    let mut psks = MemoryPskStore::default();
    psks.insert_external(b"fuzz-psk", Secret::new(vec![7; 32]));
    let mut msgs: Vec<(Vec<u8>, Option<Group>)> = Vec::new();
    let mut put = |m: &cohort::framing::MLSMessage, g: Option<Group>| msgs.push((m.to_bytes(), g));

    // Application data first: a member with cached proposals may not send any.
    let (mut a, mut c) = (alice.clone(), carol.clone());
    for i in 0..3u8 {
        put(&a.send_application(&[i; 5], b"aad").unwrap(), None);
    }
    put(&c.send_application(b"carol", b"").unwrap(), None);

    let mut a = alice.clone();
    let dave = support::key_package("dave");
    let psk_id = a.external_psk_id(b"fuzz-psk").unwrap();
    let ext = Extensions::from_vec(vec![Extension {
        extension_type: ExtensionType::APPLICATION_ID,
        extension_data: Bytes(b"app".to_vec()),
    }])
    .unwrap();
    let proposals = vec![
        a.propose_update().unwrap(),
        a.propose_add(dave.key_package.clone()).unwrap(),
        a.propose_psk(psk_id.clone()).unwrap(),
        a.propose_group_context_extensions(ext.clone()).unwrap(),
        a.propose_remove(2).unwrap(),
    ];
    for p in &proposals {
        put(p, None);
    }
    let mut cp = carol.clone();
    private(&mut cp);
    let carol_update = cp.propose_update().unwrap();
    put(&carol_update, None);
    let newcomer = support::key_package("erin");
    let nm = Group::new_member_proposal(b"fuzz-live", alice.epoch(), &newcomer, b"").unwrap();
    put(&nm, None);

    // Commits of this epoch, each a candidate the receiver may merge.
    let commit = |g: &mut Group, options: CommitOptions| {
        let out = g.commit(options, &psks).ok()?;
        g.confirm_pending_commit().unwrap();
        Some((out.commit.to_bytes(), Some(g.clone())))
    };
    let mut extra = Vec::new();
    // Alice commits her own proposals and Carol's private Update by reference.
    let mut a_ref = a.clone();
    support::deliver(&mut a_ref, &carol_update, &psks);
    extra.extend(commit(&mut a_ref, CommitOptions::default()));
    // By value, without a path: an Add.
    let frank = support::key_package("frank");
    extra.extend(commit(
        &mut alice.clone(),
        CommitOptions {
            force_path: false,
            ..support::adding([&frank])
        },
    ));
    // By value with a path: PSK, extensions and a Remove.
    extra.extend(commit(
        &mut alice.clone(),
        CommitOptions {
            psks: vec![psk_id],
            group_context_extensions: Some(ext),
            remove: vec![2],
            ..Default::default()
        },
    ));
    // Carol's private empty commit with a path.
    let mut cc = carol.clone();
    private(&mut cc);
    extra.extend(commit(&mut cc, CommitOptions::default()));
    // Bob's own commit (for Bob it comes back as an own-commit mismatch).
    extra.extend(commit(&mut bob.clone(), CommitOptions::default()));
    // An external commit by Gina.
    let gi = alice.group_info().unwrap();
    let (gina, ext_commit) = Group::join_external(
        &gi,
        support::cred("gina"),
        support::signer(),
        &psks,
        Default::default(),
    )
    .unwrap();
    extra.push((ext_commit.to_bytes(), Some(gina)));
    msgs.extend(extra);
    Pool {
        members: [alice, bob, carol],
        psks,
        msgs,
    }
}

fuzz_target!(|data: &[u8]| {
    let pool = POOL.get_or_init(build);
    let mut u = Unstructured::new(data);
    let who = u.choose_index(3).unwrap_or(1);
    let mut member = pool.members[who].clone();
    let mut steps = 0;
    while !u.is_empty() && steps < 8 {
        steps += 1;
        let Ok(i) = u.choose_index(pool.msgs.len()) else {
            break;
        };
        let other = &pool.msgs[u.choose_index(pool.msgs.len()).unwrap_or(0)].0;
        let (wire, committer) = &pool.msgs[i];
        let mut mutated = wire.clone();
        stateful::mutate(&mut u, &mut mutated, other);
        let Some(msg) = stateful::decode(&mutated) else {
            continue;
        };
        let unmutated = mutated == *wire;
        match stateful::process(&mut member, &msg, &pool.psks) {
            Ok(ReceivedMessage::Commit(staged)) => {
                if u.arbitrary().unwrap_or(true) {
                    // A removed member cannot derive the new epoch: it only learns it is out.
                    let agrees = unmutated && !staged.summary.removes_us;
                    stateful::checked(&mut member, |g| g.merge_staged_commit(*staged))
                        .expect("a staged commit of this epoch merges");
                    if let (true, Some(c)) = (agrees, committer) {
                        assert_eq!(member.epoch_authenticator(), c.epoch_authenticator());
                        assert_eq!(member.context(), c.context());
                    }
                }
            }
            Ok(_) | Err(_) => {}
        }
        stateful::assert_round_trips(&member);
    }
});

static POOL: OnceLock<Pool> = OnceLock::new();
