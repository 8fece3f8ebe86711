//! The Delivery Service's inspect-and-decide path (`cohort_server::inspect::decide_post`,
//! then the store's ordering rule) on mutated posts, with the real public view of a real
//! PublicMessage group in a fresh in-memory store. Nothing may panic, and a post the DS
//! rejects must leave the store exactly as it was.
//!
//! Input: byte 0 picks a template post (a real commit with Welcome and GroupInfo, a real
//! proposal, a real external commit, a real application message, or the input itself as
//! the message); byte 1 picks which claims and attachments go with it; the rest are
//! `(offset, xor)` pairs applied to the template's message bytes.
#![no_main]

use cohort::codec::Encode;
use cohort::crypto::{CipherSuite, Suite};
use cohort::group::{
    CommitOptions, ExternalCommitOptions, Group, GroupOptions, KeyPackageOptions,
    KeyPackageSecrets, NoPsks,
};
use cohort::messages::{Add, Credential, Proposal};
use cohort_server::inspect::{decide_post, initial_view, Post};
use cohort_server::store::sqlite::SqliteStore;
use cohort_server::store::{
    ClientRecord, Handshake, NewClient, NewGroup, NewMessage, PostKind, Store,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const GID: &[u8] = b"fuzz-group";

struct Fixture {
    alice: ClientRecord,
    bob: ClientRecord,
    eve: ClientRecord,
    group_info: Vec<u8>,
    view: Vec<u8>,
    commit: Vec<u8>,
    welcome: Vec<u8>,
    next_group_info: Vec<u8>,
    proposal: Vec<u8>,
    external: Vec<u8>,
    application: Vec<u8>,
}

fn client(id: &str, key: &[u8]) -> ClientRecord {
    ClientRecord {
        id: id.into(),
        signature_key: key.to_vec(),
        certificate: vec![],
        created_at: 0,
        revoked_at: None,
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let id = CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519;
        let suite = Suite::new(id).unwrap();
        let keys: Vec<_> = (0..3)
            .map(|_| suite.generate_signature_key_pair().unwrap())
            .collect();
        let mut alice = Group::create(
            id,
            GID.to_vec(),
            Credential::basic("mls:alice@x/1"),
            keys[0].clone(),
            GroupOptions::default(),
        )
        .unwrap();
        let group_info = alice.group_info().unwrap().to_bytes();
        let kp = |k: usize, name: &str| {
            KeyPackageSecrets::generate(
                &suite,
                Credential::basic(name),
                &keys[k],
                &KeyPackageOptions::default(),
            )
            .unwrap()
        };
        let application = alice
            .clone()
            .send_application(b"fuzz", b"")
            .unwrap()
            .to_bytes();
        let mut carol_alice = alice.clone();
        let proposal = carol_alice
            .propose(Proposal::Add(Box::new(Add {
                key_package: kp(2, "mls:eve@x/1").key_package,
            })))
            .unwrap()
            .to_bytes();
        let (_, external) = Group::join_external(
            &alice.group_info().unwrap(),
            Credential::basic("mls:eve@x/1"),
            keys[2].clone(),
            &NoPsks,
            ExternalCommitOptions::default(),
        )
        .unwrap();
        let out = alice
            .commit(
                CommitOptions {
                    add: vec![kp(1, "mls:bob@x/1").key_package],
                    group_info: true,
                    ..Default::default()
                },
                &NoPsks,
            )
            .unwrap();
        let alice_rec = client("alice@x/1", &keys[0].public_key());
        let view = initial_view(&group_info, GID, &alice_rec).unwrap().to_bytes();
        Fixture {
            bob: client("bob@x/1", &keys[1].public_key()),
            eve: client("eve@x/1", &keys[2].public_key()),
            alice: alice_rec,
            group_info,
            view,
            commit: out.commit.to_bytes(),
            welcome: out.welcome.unwrap().to_bytes(),
            next_group_info: out.group_info.unwrap().to_bytes(),
            proposal,
            external: external.to_bytes(),
            application,
        }
    })
}

fn store(f: &Fixture) -> SqliteStore {
    let s = SqliteStore::open_in_memory().unwrap();
    for (n, c) in [&f.alice, &f.bob, &f.eve].into_iter().enumerate() {
        s.create_client(NewClient {
            id: c.id.clone(),
            signature_key: c.signature_key.clone(),
            certificate: vec![],
            token_hash: [n as u8; 32],
            created_at: 0,
            invite_hash: None,
        })
        .unwrap();
    }
    s.create_group(NewGroup {
        group_id: GID.to_vec(),
        creator: f.alice.id.clone(),
        allow_external_join: true,
        group_info: Some(f.group_info.clone()),
        created_at: 0,
        handshake: Handshake::Public,
        view: Some(f.view.clone()),
        creator_quota: u64::MAX,
    })
    .unwrap();
    s
}

type Snapshot = (
    Option<cohort_server::store::GroupRecord>,
    Option<Vec<u8>>,
    Option<(u64, Vec<u8>)>,
    usize,
);

fn snapshot(s: &SqliteStore) -> Snapshot {
    let (log, _) = s.messages_after(GID, 0, 1000, usize::MAX).unwrap();
    (
        s.group(GID).unwrap(),
        s.group_view(GID).unwrap(),
        s.group_info(GID).unwrap(),
        log.len(),
    )
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (pick, rest) = data.split_first().unwrap_or((&0, &[]));
    let (flags, rest) = rest.split_first().unwrap_or((&0, &[]));
    let (mut message, caller) = match pick % 5 {
        0 => (f.commit.clone(), &f.alice),
        1 => (f.proposal.clone(), &f.alice),
        2 => (f.external.clone(), &f.eve),
        3 => (f.application.clone(), &f.alice),
        _ => (rest.to_vec(), &f.alice),
    };
    if pick % 5 != 4 && !message.is_empty() {
        for pair in rest.chunks_exact(3) {
            let at = usize::from(u16::from_be_bytes([pair[0], pair[1]])) % message.len();
            message[at] ^= pair[2];
        }
    }
    let ids = |bits: u8| -> Vec<String> {
        [&f.alice, &f.bob, &f.eve]
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, c)| c.id.clone())
            .collect()
    };
    let post = Post {
        message: message.clone(),
        welcome: (flags & 0x40 != 0).then(|| f.welcome.clone()),
        welcome_recipients: ids((flags >> 6) & 2),
        group_info: (flags & 0x80 != 0).then(|| f.next_group_info.clone()),
        added: ids(flags & 7),
        removed: ids((flags >> 3) & 7),
    };
    let s = store(f);
    let before = snapshot(&s);
    let group = before.0.clone().unwrap();
    let accepted = match decide_post(&s, &group, caller, &post) {
        Ok((header, kind)) => {
            let is_commit = matches!(kind, PostKind::Commit(_));
            let appended = s.append(NewMessage {
                group_id: GID.to_vec(),
                sender: caller.id.clone(),
                epoch: header.epoch,
                content_type: header.content_type as u8,
                wire_format: header.wire_format as u16,
                hash: [0x5a; 32],
                data: message,
                kind,
                now: 0,
            });
            if let (Ok(_), true) = (&appended, is_commit) {
                // An accepted commit leaves a view that still restores.
                let view = s.group_view(GID).unwrap().unwrap();
                cohort::group::PublicGroup::from_bytes(
                    &view,
                    cohort_server::inspect::view_config(),
                )
                .expect("the stored view restores");
            }
            appended.is_ok()
        }
        Err(e) => {
            assert!(e.status().is_client_error(), "a bad post is a 4xx: {e:?}");
            false
        }
    };
    if !accepted {
        assert!(snapshot(&s) == before, "a rejected post changed the store");
    }
});
