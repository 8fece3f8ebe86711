//! Differential decoding against mls-rs: every entry of the committed corpus
//! (`tests/differential/corpus.txt`, written by `make_corpus.py` from the IETF vectors
//! plus hand-made edge cases) is decoded by both implementations as MLSMessage,
//! KeyPackage, Welcome, GroupInfo or ratchet tree. They must agree on accept/reject and
//! on the re-encoding, or differ for a reason the RFC decides (see `compare.rs`). The
//! `differential` fuzz target runs the same comparison on generated inputs.

#[path = "differential/compare.rs"]
mod compare;

use compare::{compare, Kind, Outcome};

const CORPUS: &str = include_str!("differential/corpus.txt");

fn entries() -> impl Iterator<Item = (Kind, Vec<u8>, &'static str)> {
    CORPUS.lines().filter(|l| !l.is_empty()).map(|line| {
        let mut parts = line.splitn(3, ' ');
        let tag: u8 = parts.next().unwrap().parse().unwrap();
        let data = hex::decode(parts.next().unwrap()).unwrap();
        (Kind::from_tag(tag), data, parts.next().unwrap_or(""))
    })
}

#[test]
fn corpus_replay_has_no_unexplained_disagreement() {
    let (mut agree, mut explained, mut failures) = (0, 0, Vec::new());
    for (kind, data, label) in entries() {
        match compare(kind, &data) {
            Outcome::Agree { .. } => agree += 1,
            Outcome::Explained(why) => {
                println!("{label}: {why}");
                explained += 1;
            }
            Outcome::Disagree(what) => failures.push(format!("{label}: {what}")),
        }
    }
    println!("{agree} agree, {explained} explained");
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
    assert!(agree > 40, "the corpus is mostly shared ground");
}

/// The IETF encodings are valid: both implementations accept and re-encode them exactly.
#[test]
fn both_accept_the_ietf_encodings() {
    let mut n = 0;
    for (kind, data, label) in entries() {
        let valid = label.starts_with("ietf") && label.matches('.').count() == 1;
        if valid {
            assert_eq!(
                compare(kind, &data),
                Outcome::Agree { accepted: true },
                "{label}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 32, "4 cases x (7 messages + 1 tree)");
}

/// A leaf index of 2^24 or more (here a GroupInfo's signer) is well-formed (`uint32`,
/// §12.4.3) and Cohort decodes it; mls-rs refuses it at decode (an implementation bound).
/// Cohort refuses such a GroupInfo when verifying it: the signer must be a leaf of the
/// tree (§12.4.3.1).
#[test]
fn large_leaf_indices_are_an_mls_rs_decode_bound() {
    let group_info = |signer: u32| {
        let mut b = hex::decode("0001000100000000000000000f0000000000").unwrap();
        b.extend(signer.to_be_bytes());
        b.extend([1, 0]);
        b
    };
    assert_eq!(
        compare(Kind::Body(4), &group_info(0x00ff_ffff)),
        Outcome::Agree { accepted: true }
    );
    assert!(matches!(
        compare(Kind::Body(4), &group_info(0x0100_0000)),
        Outcome::Explained(why) if why.contains("§12.4.3")
    ));
}

/// Found by the differential target: mls-rs decodes a ratchet tree followed by more
/// bytes; Cohort refuses them (the extension's data is exactly the vector, §12.4.3.3).
#[test]
fn bytes_after_a_ratchet_tree_are_refused() {
    let (kind, data, _) = entries()
        .find(|e| e.2 == "ratchet_tree.bytes_after")
        .expect("in the corpus");
    assert!(matches!(
        compare(kind, &data),
        Outcome::Explained(why) if why.contains("§12.4.3.3")
    ));
    let tree = &data[..data.len() - 1];
    assert_eq!(compare(kind, tree), Outcome::Agree { accepted: true });
}

/// Truncations and trailing bytes: both refuse (§2.1: an encoding is exactly its struct).
#[test]
fn both_refuse_truncated_and_extended_encodings() {
    for (kind, data, label) in entries() {
        if label.ends_with(".truncated") || label.ends_with(".trailing_byte") {
            assert_eq!(
                compare(kind, &data),
                Outcome::Agree { accepted: false },
                "{label}"
            );
        }
    }
}
