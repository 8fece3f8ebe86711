//! The Delivery Service's public view of a group ([`PublicGroup`], what the server's
//! inspect path verifies PublicMessage handshakes with), fed real traffic of a
//! three-member group, mutated, side by side with a member (the "shadow") receiving the
//! same messages.
//!
//! Each step picks a pool message (proposals and commits of every kind, an external
//! commit, a new member's proposal, a PrivateMessage, GroupInfos of this epoch and of each
//! commit's next epoch) and a mutation: none; bytes of the wire message; or bytes or
//! structure (drop, duplicate or splice a proposal, swap in another commit's path) of the
//! content, **re-signed by the sender's key and re-tagged**, so that the mutation gets past
//! the signature into the proposal, path and tree checks. Invariants:
//!
//! - no panic; a rejection leaves the view's `to_bytes` byte-identical, and so does a
//!   staged commit; the view always round-trips through `to_bytes`/`from_bytes`;
//! - what the member accepts as a PublicMessage proposal or commit, the view accepts too
//!   (the view runs a subset of the member's checks); when both accept a commit they
//!   report the same membership change and, merged, reach the same GroupContext and tree;
//! - a merged unmutated commit agrees with its committer, whose GroupInfo then passes
//!   `check_group_info`; a GroupInfo that passes it describes exactly that epoch;
//! - a view built from a (re-signed) GroupInfo has the tree the GroupInfo's tree hash names.
#![no_main]

mod stateful;
#[path = "../../tests/support/mod.rs"]
mod support;

use cohort::codec::{Bytes, Decode, Encode};
use cohort::crypto::{Secret, SignaturePrivateKey};
use cohort::framing::{
    sign_content, Content, FramedContent, MLSMessage, MLSMessageBody, Sender, WireFormat,
};
use cohort::group::{
    CommitOptions, Group, GroupConfig, MemoryPskStore, PublicGroup, PublicReceived, ReceivedMessage,
};
use cohort::messages::{Extension, ExtensionType, Extensions, GroupInfo, Proposal, ProposalOrRef};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// One pool message: its bytes and, for a commit, the committer once merged and the
/// GroupInfo it publishes for the next epoch.
struct Entry {
    wire: Vec<u8>,
    committer: Option<(Group, Vec<u8>)>,
}

struct Pool {
    members: [Group; 3],
    signers: [SignaturePrivateKey; 3],
    /// The external joiner's and the new member's signature keys.
    gina: SignaturePrivateKey,
    erin: SignaturePrivateKey,
    psks: MemoryPskStore,
    /// The view of the epoch, built from Alice's GroupInfo, and that GroupInfo.
    view: PublicGroup,
    group_info: Vec<u8>,
    msgs: Vec<Entry>,
}

fn config() -> GroupConfig {
    GroupConfig {
        max_threads: std::num::NonZeroUsize::new(1),
        ..GroupConfig::default()
    }
}

fn group_info_of(wire: &[u8]) -> Option<GroupInfo> {
    match MLSMessage::decode_exact(wire).ok()?.body {
        MLSMessageBody::GroupInfo(gi) => Some(*gi),
        _ => None,
    }
}

fn build() -> Pool {
    let ([alice, bob, carol], signers) =
        support::members(b"fuzz-public", ["alice", "bob", "carol"], config());
    let mut psks = MemoryPskStore::default();
    psks.insert_external(b"fuzz-psk", Secret::new(vec![7; 32]));
    let group_info = alice.group_info().unwrap().to_bytes();
    let view =
        PublicGroup::from_group_info(&group_info_of(&group_info).unwrap(), None, config()).unwrap();
    assert!(
        view.to_bytes() == alice.public_view().to_bytes(),
        "a view from the GroupInfo is the member's public view"
    );
    let mut msgs = Vec::new();
    let mut put = |m: &MLSMessage| {
        msgs.push(Entry {
            wire: m.to_bytes(),
            committer: None,
        })
    };

    let mut a = alice.clone();
    let psk_id = a.external_psk_id(b"fuzz-psk").unwrap();
    let ext = Extensions::from_vec(vec![Extension {
        extension_type: ExtensionType::APPLICATION_ID,
        extension_data: Bytes(b"app".to_vec()),
    }])
    .unwrap();
    put(&a.propose_update().unwrap());
    put(&a
        .propose_add(support::key_package("dave").key_package)
        .unwrap());
    put(&a.propose_psk(psk_id.clone()).unwrap());
    put(&a.propose_group_context_extensions(ext.clone()).unwrap());
    put(&a.propose_remove(2).unwrap());
    let bob_update = bob.clone().propose_update().unwrap();
    put(&bob_update);
    put(&carol.clone().propose_remove(1).unwrap());
    let erin = support::signer();
    let erin_kp = support::key_package_in(&support::suite(), "erin", &erin);
    put(&Group::new_member_proposal(b"fuzz-public", alice.epoch(), &erin_kp, b"").unwrap());
    // Opaque to the view: refused as such.
    put(&carol.clone().send_application(b"carol", b"").unwrap());

    let mut commit = |g: &mut Group, options: CommitOptions| {
        let Ok(out) = g.commit(options, &psks) else {
            return;
        };
        g.confirm_pending_commit().unwrap();
        let next_info = g.group_info().unwrap().to_bytes();
        msgs.push(Entry {
            wire: out.commit.to_bytes(),
            committer: Some((g.clone(), next_info)),
        });
    };
    // By reference: Alice commits Bob's Update.
    let mut a_ref = alice.clone();
    support::deliver(&mut a_ref, &bob_update, &psks);
    commit(&mut a_ref, CommitOptions::default());
    let frank = support::key_package("frank");
    commit(
        &mut alice.clone(),
        CommitOptions {
            force_path: false,
            ..support::adding([&frank])
        },
    );
    commit(
        &mut alice.clone(),
        CommitOptions {
            psks: vec![psk_id],
            group_context_extensions: Some(ext),
            remove: vec![2],
            ..Default::default()
        },
    );
    commit(&mut carol.clone(), CommitOptions::default());
    commit(
        &mut bob.clone(),
        CommitOptions {
            remove: vec![0],
            ..Default::default()
        },
    );
    let gina = support::signer();
    let (gina_group, ext_commit) = Group::join_external(
        &alice.group_info().unwrap(),
        support::cred("gina"),
        gina.clone(),
        &psks,
        Default::default(),
    )
    .unwrap();
    let gina_info = gina_group.group_info().unwrap().to_bytes();
    msgs.push(Entry {
        wire: ext_commit.to_bytes(),
        committer: Some((gina_group, gina_info)),
    });
    // GroupInfos: this epoch's, and each commit's next epoch's.
    let infos: Vec<Vec<u8>> = std::iter::once(group_info.clone())
        .chain(
            msgs.iter()
                .filter_map(|e| Some(e.committer.as_ref()?.1.clone())),
        )
        .collect();
    for wire in infos {
        msgs.push(Entry {
            wire,
            committer: None,
        });
    }
    Pool {
        members: [alice, bob, carol],
        signers,
        gina,
        erin,
        psks,
        view,
        group_info,
        msgs,
    }
}

/// The key that signs `sender`'s content, and the member whose membership key tags it.
fn sender_keys(pool: &Pool, sender: Sender) -> Option<(&SignaturePrivateKey, Option<&Group>)> {
    match sender {
        Sender::Member(i) if i < 3 => {
            Some((&pool.signers[i as usize], Some(&pool.members[i as usize])))
        }
        Sender::NewMemberCommit => Some((&pool.gina, None)),
        Sender::NewMemberProposal => Some((&pool.erin, None)),
        _ => None,
    }
}

/// Edit a commit's structure: drop, duplicate or splice in a proposal, or take another
/// commit's path (or none).
fn edit_structure(u: &mut Unstructured<'_>, content: &mut FramedContent, other: &FramedContent) {
    let Content::Commit(commit) = &mut content.content else {
        return;
    };
    let donor: Vec<ProposalOrRef> = match &other.content {
        Content::Commit(c) => c.proposals.clone(),
        Content::Proposal(p) => vec![ProposalOrRef::Proposal(p.clone())],
        Content::Application(_) => Vec::new(),
    };
    let list = &mut commit.proposals;
    match u.int_in_range(0..=4u8).unwrap_or(0) {
        0 if !list.is_empty() => {
            let at = u.choose_index(list.len()).unwrap_or(0);
            list.remove(at);
        }
        1 if !list.is_empty() => {
            let at = u.choose_index(list.len()).unwrap_or(0);
            list.push(list[at].clone());
        }
        2 if !donor.is_empty() => {
            let from = u.choose_index(donor.len()).unwrap_or(0);
            let at = u.choose_index(list.len() + 1).unwrap_or(0);
            list.insert(at, donor[from].clone());
        }
        3 => {
            commit.path = match &other.content {
                Content::Commit(c) => c.path.clone(),
                _ => None,
            }
        }
        _ => list.reverse(),
    }
}

/// Re-sign `content` as its sender would, keep the confirmation tag, and re-tag it; `None`
/// when no key signs for that sender or the framing refuses the content.
fn resign(pool: &Pool, content: FramedContent, tag: Option<Bytes>) -> Option<MLSMessage> {
    let (signer, member) = sender_keys(pool, content.sender)?;
    let suite = support::suite();
    let commit = matches!(content.content, Content::Commit(_));
    let tag = commit.then(|| tag.unwrap_or_else(|| Bytes(vec![0; suite.hash_len()])));
    match member {
        Some(member) => {
            let mut auth = sign_content(
                &suite,
                signer,
                WireFormat::PublicMessage,
                content,
                Some(member.context()),
            )
            .ok()?;
            auth.auth.confirmation_tag = tag;
            member.clone().protect_unchecked(auth).ok()
        }
        None => {
            let context = content
                .sender
                .signs_group_context()
                .then(|| pool.view.context());
            Some(support::forge_external(
                &suite, signer, content, context, tag,
            ))
        }
    }
}

/// A GroupInfo mutated in its fields and re-signed by the leaf it names.
fn resign_group_info(u: &mut Unstructured<'_>, pool: &Pool, gi: &GroupInfo) -> Option<GroupInfo> {
    let mut tbs = gi.tbs_bytes();
    stateful::mutate(u, &mut tbs, &pool.group_info);
    let mut reader = cohort::codec::Reader::new(&tbs);
    let mut out = GroupInfo {
        group_context: Decode::decode(&mut reader).ok()?,
        extensions: Decode::decode(&mut reader).ok()?,
        confirmation_tag: Decode::decode(&mut reader).ok()?,
        signer: Decode::decode(&mut reader).ok()?,
        signature: Bytes::default(),
    };
    reader.finish().ok()?;
    let signer = pool
        .signers
        .get(out.signer as usize)
        .unwrap_or(&pool.signers[0]);
    let signature = support::suite()
        .sign_with_label(signer, "GroupInfoTBS", &out.tbs_bytes())
        .ok()?;
    out.signature = Bytes(signature);
    Some(out)
}

fn assert_view_round_trips(view: &PublicGroup) {
    let saved = view.to_bytes();
    let restored = PublicGroup::from_bytes(&saved, config()).expect("a saved view restores");
    assert!(restored.to_bytes() == saved, "view save/restore is stable");
}

/// Both the view and the member took `msg`: they must agree on what it is.
fn compare(view: &PublicReceived, member: &ReceivedMessage) {
    match (view, member) {
        (PublicReceived::Proposal(v), ReceivedMessage::Proposal(m)) => {
            assert_eq!(v.reference, m.reference, "same ProposalRef");
        }
        (PublicReceived::Commit(v), ReceivedMessage::Commit(m)) => {
            assert_eq!(v.summary.removed, m.summary.removed, "same removals");
            if v.summary.sender != Sender::NewMemberCommit {
                assert_eq!(v.summary.added, m.summary.added, "same additions");
                if !m.summary.removes_us {
                    assert_eq!(v.summary.updated, m.summary.updated, "same updates");
                }
            }
        }
        (v, m) => panic!("the view saw {v:?}, the member {m:?}"),
    }
}

/// One GroupInfo step: `check_group_info` against the view (whose epoch's GroupInfo is
/// `expected`, when known), and a view built from the GroupInfo. A `resigned` GroupInfo
/// may legitimately differ from the expected one where the view cannot know better: its
/// signer (any member may sign) and extensions other than the tree (`external_pub` derives
/// from the epoch's secrets).
fn group_info_step(
    view: &PublicGroup,
    gi: &GroupInfo,
    expected: Option<&GroupInfo>,
    resigned: bool,
) {
    let checked = view.check_group_info(gi);
    if let Some(e) = expected {
        if gi == e {
            checked
                .as_ref()
                .expect("the epoch's own GroupInfo passes check_group_info");
        }
        if checked.is_ok() {
            assert!(
                e.group_context == gi.group_context && e.confirmation_tag == gi.confirmation_tag,
                "a GroupInfo passed check_group_info but is not for the epoch"
            );
            assert!(
                resigned || e.tbs_bytes() == gi.tbs_bytes(),
                "a GroupInfo not signed anew passed check_group_info but is not the epoch's"
            );
        }
    }
    if let Ok(fresh) = PublicGroup::from_group_info(gi, None, config()) {
        let mut tree = fresh.tree().clone();
        assert_eq!(
            &tree.tree_hash()[..],
            fresh.context().tree_hash.as_slice(),
            "§12.4.3.1: a followed GroupInfo's tree has its tree hash"
        );
        assert_view_round_trips(&fresh);
    }
}

fuzz_target!(|data: &[u8]| {
    let pool = POOL.get_or_init(build);
    let mut u = Unstructured::new(data);
    let who = u.choose_index(3).unwrap_or(1);
    let mut member = pool.members[who].clone();
    let mut view = pool.view.clone();
    // Whether the member has seen what the view has (proposals it rejected aside).
    let mut in_sync = true;
    // The GroupInfo the view's epoch is published with, if known.
    let mut expected = group_info_of(&pool.group_info);
    let mut steps = 0;
    while !u.is_empty() && steps < 8 {
        steps += 1;
        let Ok(i) = u.choose_index(pool.msgs.len()) else {
            break;
        };
        let other = &pool.msgs[u.choose_index(pool.msgs.len()).unwrap_or(0)].wire;
        let entry = &pool.msgs[i];
        let mode = u.int_in_range(0..=3u8).unwrap_or(0);
        let original = stateful::decode(&entry.wire).expect("pool messages decode");
        let msg = match (&original.body, mode) {
            (_, 0) => original.clone(),
            (MLSMessageBody::GroupInfo(gi), 2 | 3) => match resign_group_info(&mut u, pool, gi) {
                Some(gi) => MLSMessage::new(MLSMessageBody::GroupInfo(Box::new(gi))),
                None => continue,
            },
            (MLSMessageBody::PublicMessage(pm), 2 | 3) => {
                let mut content = pm.content.clone();
                if mode == 2 {
                    let mut bytes = content.to_bytes();
                    let donor = stateful::decode(other)
                        .and_then(|m| match m.body {
                            MLSMessageBody::PublicMessage(p) => Some(p.content.to_bytes()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    stateful::mutate(&mut u, &mut bytes, &donor);
                    let Ok(c) = FramedContent::decode_exact(&bytes) else {
                        continue;
                    };
                    content = c;
                } else {
                    let donor = match stateful::decode(other).map(|m| m.body) {
                        Some(MLSMessageBody::PublicMessage(p)) => p.content,
                        _ => pm.content.clone(),
                    };
                    edit_structure(&mut u, &mut content, &donor);
                }
                match resign(pool, content, pm.auth.confirmation_tag.clone()) {
                    Some(m) => m,
                    None => continue,
                }
            }
            _ => {
                let mut bytes = entry.wire.clone();
                stateful::mutate(&mut u, &mut bytes, other);
                match stateful::decode(&bytes) {
                    Some(m) => m,
                    None => continue,
                }
            }
        };
        let unmutated = msg == original;

        if let MLSMessageBody::GroupInfo(gi) = &msg.body {
            group_info_step(&view, gi, expected.as_ref(), mode >= 2);
            continue;
        }

        let before = view.to_bytes();
        let seen = view.process(&msg);
        match &seen {
            Err(_) | Ok(PublicReceived::Commit(_)) => assert!(
                view.to_bytes() == before,
                "a rejected or staged message changed the view"
            ),
            Ok(_) => {}
        }
        let public = matches!(msg.body, MLSMessageBody::PublicMessage(_));
        let heard = in_sync.then(|| stateful::process(&mut member, &msg, &pool.psks));
        if let (Some(Ok(m)), true) = (&heard, public) {
            let removed = matches!(m, ReceivedMessage::Commit(s) if s.summary.removes_us);
            match &seen {
                Ok(v) => compare(v, m),
                // A removed member does not check the path it cannot decrypt.
                Err(_) if removed => {}
                // The view checks an Add's KeyPackage on receipt (§12.1.1), a member when
                // the Add is committed.
                Err(_) if matches!(m, ReceivedMessage::Proposal(p) if matches!(p.proposal, Proposal::Add(_))) =>
                    {}
                Err(e) => panic!("the member accepted what the view rejected ({e:?}): {m:?}"),
            }
        }
        if let Ok(PublicReceived::Commit(staged)) = seen {
            if u.arbitrary().unwrap_or(true) {
                view.merge(*staged)
                    .expect("a staged commit of this epoch merges");
                expected = None;
                if unmutated {
                    if let Some((committer, info)) = &entry.committer {
                        assert!(
                            view.context() == committer.context(),
                            "the view agrees with the committer"
                        );
                        assert!(
                            view.ratchet_tree_bytes()
                                == committer.public_view().ratchet_tree_bytes(),
                            "the view's tree is the committer's"
                        );
                        expected = group_info_of(info);
                    }
                }
                match heard {
                    Some(Ok(ReceivedMessage::Commit(s))) if !s.summary.removes_us => {
                        stateful::checked(&mut member, |g| g.merge_staged_commit(*s))
                            .expect("a staged commit of this epoch merges");
                        assert!(
                            view.context() == member.context(),
                            "the view agrees with the member"
                        );
                        assert!(
                            view.members() == member.members(),
                            "the view's members are the member's"
                        );
                    }
                    _ => in_sync = false,
                }
            }
        }
        assert_view_round_trips(&view);
    }
});

static POOL: OnceLock<Pool> = OnceLock::new();
