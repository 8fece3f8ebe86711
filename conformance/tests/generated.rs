//! Generated vectors check back green: the committed set in the repository's `vectors/cohort/`
//! folder, and a fresh set of every kind for every cipher suite. A corrupted output field
//! must fail, so the round trip proves something.

use cohort_conformance::generate::{file_name, generate, GENERATABLE};
use cohort_conformance::{check_file, check_json, FileReport};
use serde_json::Value;

/// Every failing case of a report, for the assertion message.
fn failures(report: &FileReport) -> Vec<String> {
    report
        .cases
        .iter()
        .filter_map(|c| {
            c.outcome.as_ref().err().map(|e| {
                format!(
                    "{} case {} (suite {:?}): {e}",
                    report.file, c.index, c.suite
                )
            })
        })
        .collect()
}

#[test]
fn committed_vectors_pass() {
    let dir = cohort_conformance::cohort_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    // Every generatable kind is committed.
    for kind in GENERATABLE {
        assert!(
            files.iter().any(|f| f.ends_with(file_name(kind))),
            "vectors/cohort/{} is missing",
            file_name(kind)
        );
    }
    for path in &files {
        let report = check_file(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!report.cases.is_empty(), "{}: no cases", path.display());
        assert_eq!(failures(&report), Vec::<String>::new());
    }
}

/// A fresh set of `kind` for every suite, checked.
fn round_trip(kind: &str) -> Value {
    let json = generate(kind, &[]).unwrap_or_else(|e| panic!("{e}"));
    let report = check_json(&file_name(kind), &json).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.cases.is_empty(), "{kind}: no cases");
    assert_eq!(failures(&report), Vec::<String>::new());
    if kind != "tree-math" && kind != "messages" {
        let mut suites: Vec<_> = report.cases.iter().filter_map(|c| c.suite).collect();
        suites.dedup();
        assert_eq!(
            suites,
            (1..=7).collect::<Vec<u16>>(),
            "{kind}: one case per suite"
        );
    }
    json
}

#[test]
fn fresh_vectors_pass() {
    for kind in GENERATABLE {
        round_trip(kind);
    }
}

/// Every kind for every experimental post-quantum suite (`pq` feature) checks back, one case
/// per suite, and a corrupted output still fails there too.
#[test]
fn fresh_vectors_pass_for_pq_suites() {
    let ids: Vec<u16> = cohort::crypto::CipherSuite::EXPERIMENTAL_PQ
        .iter()
        .map(|s| s.0)
        .collect();
    for kind in GENERATABLE {
        let mut json = generate(kind, &ids).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let report = check_json(&file_name(kind), &json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failures(&report), Vec::<String>::new());
        if *kind != "tree-math" && *kind != "messages" {
            let suites: Vec<u16> = report.cases.iter().filter_map(|c| c.suite).collect();
            assert_eq!(suites, ids, "{kind}: one case per PQ suite");
        }
        if *kind == "crypto-basics" {
            corrupt(&mut json, "/derive_secret/out");
            let report = check_json(&file_name(kind), &json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                failures(&report).len(),
                ids.len(),
                "every corrupted case fails"
            );
        }
    }
}

#[test]
fn unknown_kind_and_suite_are_errors() {
    assert!(generate("no-such-kind", &[]).is_err());
    assert!(generate("crypto-basics", &[0x0a0a]).is_err());
    let json = generate("crypto-basics.json", &[3]).expect("one suite");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["cipher_suite"], 3);
}

/// Corrupt the value at `pointer` in every case: flip the low bit of its last byte (or of
/// the integer; `null` becomes 0), or, with a leading `+`, append a zero byte (for the
/// syntax-only `messages` file, where a flipped ciphertext bit still parses).
fn corrupt(json: &mut Value, pointer: &str) {
    let (append, pointer) = match pointer.strip_prefix('+') {
        Some(p) => (true, p),
        None => (false, pointer),
    };
    for case in json.as_array_mut().expect("a list of cases") {
        let v = case
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no field {pointer}"));
        *v = match v {
            Value::String(s) => {
                let mut b = hex::decode(&*s).expect("hex field");
                if append {
                    b.push(0);
                } else {
                    *b.last_mut().expect("non-empty field") ^= 0x01;
                }
                Value::String(hex::encode(b))
            }
            Value::Number(n) => Value::from(n.as_u64().expect("integer") ^ 1),
            Value::Null => Value::from(0),
            other => panic!("{pointer} is {other}"),
        };
    }
}

/// A generated field, corrupted, makes every case of the file fail.
#[test]
fn corrupted_outputs_fail() {
    let fields: &[(&str, &[&str])] = &[
        ("tree-math", &["/root", "/n_nodes", "/parent/0"]),
        (
            "crypto-basics",
            &[
                "/ref_hash/out",
                "/expand_with_label/out",
                "/derive_secret/out",
                "/derive_tree_secret/out",
                "/sign_with_label/signature",
                "/encrypt_with_label/ciphertext",
            ],
        ),
        (
            "secret-tree",
            &[
                "/sender_data/key",
                "/sender_data/nonce",
                "/leaves/0/0/handshake_key",
                "/leaves/0/0/application_nonce",
            ],
        ),
        (
            "key-schedule",
            &[
                "/epochs/0/joiner_secret",
                "/epochs/0/group_context",
                "/epochs/1/exporter/secret",
                "/epochs/2/external_pub",
                "/epochs/2/resumption_psk",
            ],
        ),
        ("psk_secret", &["/psk_secret"]),
        (
            "transcript-hashes",
            &[
                "/confirmed_transcript_hash_after",
                "/interim_transcript_hash_after",
                "/authenticated_content",
            ],
        ),
        (
            "message-protection",
            &["/proposal_pub", "/commit_priv", "/application_priv"],
        ),
        ("welcome", &["/welcome", "/signer_pub"]),
        (
            "treekem",
            &[
                "/update_paths/0/commit_secret",
                "/update_paths/0/tree_hash_after",
                "/update_paths/0/update_path",
                "/leaves_private/0/encryption_priv",
            ],
        ),
        ("tree-validation", &["/tree_hashes/0", "/tree"]),
        ("messages", &["+/commit", "+/mls_welcome", "+/ratchet_tree"]),
    ];
    for kind in GENERATABLE {
        assert!(
            fields.iter().any(|(k, _)| k == kind),
            "no corruption test for {kind}"
        );
    }
    for (kind, pointers) in fields {
        let fresh = generate(kind, &[]).unwrap_or_else(|e| panic!("{e}"));
        for pointer in *pointers {
            let mut json = fresh.clone();
            corrupt(&mut json, pointer);
            let report = check_json(&file_name(kind), &json).unwrap_or_else(|e| panic!("{e}"));
            for case in &report.cases {
                assert!(
                    case.outcome.is_err(),
                    "{kind} case {} passed with {pointer} corrupted",
                    case.index
                );
            }
        }
    }
}
