//! Sequences of group operations under a hostile Delivery Service. Each round: members
//! send application data and proposals (add, remove, update, PSK); the proposals reach
//! everyone in a fuzzer-chosen order with duplicates; several members commit (with or
//! without a path) and an outsider may join by external commit; the DS picks the winner
//! and delivers to each member, in a fuzzer-chosen order, duplicates of any message, the
//! losing commits, and the application data before or after the winner. Then it delivers
//! what is missing in order. Invariants: a rejection changes nothing; afterwards every
//! member agrees on epoch, GroupContext (tree hash included) and epoch authenticator,
//! application data is read exactly once, and everyone reads everyone's next message.
#![no_main]

mod stateful;
#[path = "../../tests/support/mod.rs"]
mod support;

use cohort::crypto::Secret;
use cohort::error::{Error, Rule};
use cohort::framing::MLSMessage;
use cohort::group::{
    CommitOptions, Group, JoinOptions, KeyPackageSecrets, MemoryPskStore, ReceivedMessage,
};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

const MAX_MEMBERS: usize = 5;

/// The three founding members, created once per process (creation dominates a run).
static START: std::sync::OnceLock<[Group; 3]> = std::sync::OnceLock::new();

/// One member as the harness tracks it.
struct Member {
    name: u32,
    group: Group,
}

/// A commit candidate: who made it (index in the member list, or an external joiner).
enum Candidate {
    Member(usize, cohort::group::CommitOutput),
    External(Box<Group>, MLSMessage),
}

impl Candidate {
    fn message(&self) -> &MLSMessage {
        match self {
            Candidate::Member(_, out) => &out.commit,
            Candidate::External(_, m) => m,
        }
    }
}

fn psks() -> MemoryPskStore {
    let mut s = MemoryPskStore::default();
    s.insert_external(b"fuzz-psk", Secret::new(vec![9; 32]));
    s
}

fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a [T]) -> Option<&'a T> {
    items.get(u.choose_index(items.len()).ok()?)
}

/// Deliver `msg` to `m`, keeping the invariants; a commit is staged but not merged.
fn offer(m: &mut Member, msg: &MLSMessage, psks: &MemoryPskStore) -> Option<ReceivedMessage> {
    stateful::process(&mut m.group, msg, psks).ok()
}

fn round(
    u: &mut Unstructured<'_>,
    members: &mut Vec<Member>,
    next_name: &mut u32,
    psks: &MemoryPskStore,
) {
    let n = members.len();
    // Phase 1: application data and proposals.
    let mut apps: Vec<(usize, MLSMessage, Vec<u8>)> = Vec::new();
    let mut proposals: Vec<MLSMessage> = Vec::new();
    let mut new_kps: Vec<KeyPackageSecrets> = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let by = u.choose_index(n).unwrap_or(0);
        let g = &mut members[by].group;
        match u.int_in_range(0..=4u8).unwrap_or(0) {
            0 => {
                let text = vec![by as u8; 3];
                if let Ok(m) = stateful::checked(g, |g| g.send_application(&text, b"")) {
                    apps.push((by, m, text));
                }
            }
            1 => proposals.extend(stateful::checked(g, |g| g.propose_update()).ok()),
            2 => {
                let target = members[u.choose_index(n).unwrap_or(0)]
                    .group
                    .own_leaf_index();
                let g = &mut members[by].group;
                if target != g.own_leaf_index() {
                    proposals.extend(stateful::checked(g, |g| g.propose_remove(target)).ok());
                }
            }
            3 if n + new_kps.len() < MAX_MEMBERS => {
                let kp = support::key_package(&format!("m{}", *next_name));
                *next_name += 1;
                let p = stateful::checked(g, |g| g.propose_add(kp.key_package.clone()));
                if let Ok(p) = p {
                    proposals.push(p);
                    new_kps.push(kp);
                }
            }
            _ => {
                let id = g.external_psk_id(b"fuzz-psk").unwrap();
                proposals.extend(stateful::checked(g, |g| g.propose_psk(id)).ok());
            }
        }
    }
    // Phase 2: proposals reach everyone, shuffled and duplicated.
    for m in members.iter_mut() {
        for _ in 0..u.int_in_range(0..=3u8).unwrap_or(0) {
            if let Some(p) = pick(u, &proposals) {
                offer(m, p, psks);
            }
        }
        for p in &proposals {
            match offer(m, p, psks) {
                Some(ReceivedMessage::Proposal(_)) => {}
                other => panic!("a proposal of this epoch is refused: {other:?}"),
            }
        }
    }
    // Phase 3: competing commits.
    let mut candidates = Vec::new();
    for _ in 0..u.int_in_range(1..=3u8).unwrap_or(1) {
        if u.int_in_range(0..=5u8).unwrap_or(0) == 0 && n < MAX_MEMBERS {
            let gi = members[0].group.group_info().unwrap();
            let name = format!("m{}", *next_name);
            *next_name += 1;
            if let Ok((g, c)) = Group::join_external(
                &gi,
                support::cred(&name),
                support::signer(),
                psks,
                Default::default(),
            ) {
                candidates.push(Candidate::External(Box::new(g), c));
            }
            continue;
        }
        let by = u.choose_index(n).unwrap_or(0);
        if members[by].group.has_pending_commit() {
            continue;
        }
        let options = CommitOptions {
            force_path: u.arbitrary().unwrap_or(true),
            ..Default::default()
        };
        if let Ok(out) = stateful::checked(&mut members[by].group, |g| g.commit(options, psks)) {
            candidates.push(Candidate::Member(by, out));
        }
    }
    let Some(w) = (!candidates.is_empty()).then(|| u.choose_index(candidates.len()).unwrap_or(0))
    else {
        return;
    };
    let winner = candidates[w].message().clone();
    let all: Vec<MLSMessage> = candidates
        .iter()
        .map(|c| c.message().clone())
        .chain(apps.iter().map(|a| a.1.clone()))
        .collect();
    // Phase 4: hostile delivery, then the missing messages in order.
    let mut read: Vec<Vec<bool>> = vec![vec![false; apps.len()]; n];
    let mut removed = vec![false; n];
    for (i, m) in members.iter_mut().enumerate() {
        let mut merged = false;
        for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
            let Some(msg) = pick(u, &all) else { break };
            let before = m.group.epoch();
            match offer(m, msg, psks) {
                Some(ReceivedMessage::Commit(staged)) if *msg == winner && !merged => {
                    removed[i] = staged.summary.removes_us;
                    m.group.merge_staged_commit(*staged).unwrap();
                    merged = true;
                }
                Some(ReceivedMessage::Application { data, .. }) => {
                    let k = apps.iter().position(|a| a.1 == *msg).unwrap();
                    assert_eq!(data, apps[k].2);
                    assert!(!read[i][k], "application data read twice");
                    read[i][k] = true;
                }
                _ => assert_eq!(m.group.epoch(), before),
            }
        }
        if !merged {
            let own = matches!(&candidates[w], Candidate::Member(by, _) if *by == i);
            match offer(m, &winner, psks) {
                Some(ReceivedMessage::Commit(staged)) => {
                    removed[i] = staged.summary.removes_us;
                    m.group.merge_staged_commit(*staged).unwrap();
                }
                other => panic!("member {i} (own: {own}) refuses the winner: {other:?}"),
            }
        }
        for (k, (sender, msg, text)) in apps.iter().enumerate() {
            if read[i][k] || *sender == i {
                continue;
            }
            match stateful::process(&mut m.group, msg, psks) {
                Ok(ReceivedMessage::Application { data, .. }) => assert_eq!(&data, text),
                other => panic!("late application data refused: {other:?}"),
            }
            read[i][k] = true;
            // A duplicate is refused and changes nothing.
            let again = stateful::process(&mut m.group, msg, psks);
            assert_eq!(again.unwrap_err(), Error::Invalid(Rule::GenerationConsumed));
        }
    }
    // Phase 5: membership follows the winner.
    let welcome = match &candidates[w] {
        Candidate::Member(_, out) => out.welcome.clone(),
        Candidate::External(..) => None,
    };
    let mut i = 0;
    members.retain(|_| {
        i += 1;
        !removed[i - 1]
    });
    if let Some(welcome) = welcome {
        for kp in &new_kps {
            if let Ok(g) = Group::join(&welcome, kp, psks, JoinOptions::default()) {
                members.push(Member {
                    name: *next_name,
                    group: g,
                });
                *next_name += 1;
            }
        }
    }
    if let Some(Candidate::External(g, _)) = candidates.into_iter().nth(w) {
        members.push(Member {
            name: *next_name,
            group: *g,
        });
        *next_name += 1;
    }
}

fn assert_agree(members: &[Member]) {
    let first = &members[0].group;
    for m in members {
        let g = &m.group;
        assert_eq!(g.epoch(), first.epoch(), "member {} epoch", m.name);
        assert_eq!(g.context(), first.context(), "member {} context", m.name);
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(g.members(), first.members());
        assert!(!g.has_pending_commit());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let psks = psks();
    let [a, b, c] = START.get_or_init(|| support::three(b"fuzz-ops")).clone();
    let mut members: Vec<Member> = [a, b, c]
        .into_iter()
        .enumerate()
        .map(|(i, group)| Member {
            name: i as u32,
            group,
        })
        .collect();
    let mut next_name = 3;
    for _ in 0..u.int_in_range(1..=4u8).unwrap_or(1) {
        round(&mut u, &mut members, &mut next_name, &psks);
        assert_agree(&members);
        if members.len() < 2 {
            return;
        }
    }
    // Everyone reads everyone's next message.
    for s in 0..members.len() {
        let m = members[s].group.send_application(b"next", b"").unwrap();
        for (r, member) in members.iter_mut().enumerate() {
            if r != s {
                match stateful::process(&mut member.group, &m, &psks) {
                    Ok(ReceivedMessage::Application { data, .. }) => assert_eq!(data, b"next"),
                    other => panic!("next message refused: {other:?}"),
                }
            }
        }
    }
    stateful::assert_round_trips(&members[0].group);
});
