//! TreeKEM round trips through whole simulated groups, and one negative test per receipt
//! check of §7.5, §7.6, §7.9.2 and §12.4.2, each asserting its typed error.

use super::*;
use crate::crypto::CipherSuite;
use crate::group::key_package::test_key_package;
use crate::messages::{Extensions, ProtocolVersion};

/// One member's private state.
struct Member {
    keys: TreePrivateKeys,
    signer: SignaturePrivateKey,
}

/// A group reduced to its tree, each member's keys and the GroupContext.
struct Sim {
    suite: Suite,
    tree: RatchetTree,
    members: Vec<Option<Member>>,
    context: GroupContext,
}

impl Sim {
    /// Member 0 creates the group, adds `n - 1` members and commits with a path; the
    /// joiners set up their keys from the Welcome's path secret (§12.4.3.1).
    fn new(cs: u16, n: u32) -> Sim {
        let suite = Suite::new(CipherSuite(cs)).unwrap();
        let founder = test_key_package(&suite, "m0");
        let mut tree = RatchetTree::new(suite, founder.key_package.leaf_node.clone());
        let mut joiners = Vec::new();
        let mut secrets = vec![founder];
        for i in 1..n {
            let kp = test_key_package(&suite, &format!("m{i}"));
            joiners.push(tree.add_leaf(kp.key_package.leaf_node.clone()).unwrap());
            secrets.push(kp);
        }
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite.id(),
            group_id: Bytes(b"treekem tests".to_vec()),
            epoch: 1,
            tree_hash: Bytes::default(),
            confirmed_transcript_hash: Bytes(vec![7; suite.hash_len()]),
            extensions: Extensions::new(),
        };
        let gen =
            generate_update_path(&suite, &mut tree, 0, &secrets[0].signer, &context, &joiners)
                .unwrap();
        // §7.6: joiners get nothing from the path itself.
        let sent: usize = gen
            .update_path
            .nodes
            .iter()
            .map(|n| n.encrypted_path_secret.len())
            .sum();
        assert_eq!(sent, 0);
        let mut members = vec![Some(Member {
            keys: gen.private,
            signer: secrets[0].signer.clone(),
        })];
        for (j, kp) in secrets.into_iter().enumerate().skip(1) {
            let j = j as u32;
            let lca = math::common_ancestor(0, 2 * j);
            let secret = gen.path_secrets.iter().find(|(x, _)| *x == lca).unwrap();
            let keys = TreePrivateKeys::from_welcome(
                &suite,
                &tree,
                j,
                kp.encryption_key.clone(),
                Some((lca, secret.1.clone())),
            )
            .unwrap();
            members.push(Some(Member {
                keys,
                signer: kp.signer,
            }));
        }
        Sim {
            suite,
            tree,
            members,
            context: gen.group_context,
        }
    }

    /// `sender` commits with a path; everyone else processes it. Checks that all agree on
    /// the commit secret and the tree, and moves the group to the new epoch.
    fn commit(&mut self, sender: u32) {
        let before = self.tree.clone();
        self.context.epoch += 1;
        let m = self.members[sender as usize].as_ref().unwrap();
        let gen = generate_update_path(
            &self.suite,
            &mut self.tree,
            sender,
            &m.signer,
            &self.context,
            &[],
        )
        .unwrap();
        gen.private.check_against(&self.tree).unwrap();
        let expected_hash = self.tree.tree_hash();
        for (j, member) in self.members.iter_mut().enumerate() {
            let Some(member) = member else { continue };
            if j as u32 == sender {
                member.keys = gen.private.clone();
                continue;
            }
            let mut tree = before.clone();
            let received = process_update_path(
                &self.suite,
                &mut tree,
                &member.keys,
                sender,
                &gen.update_path,
                &self.context,
                &[],
            )
            .unwrap();
            assert_eq!(received.commit_secret, gen.commit_secret, "member {j}");
            assert_eq!(tree.tree_hash(), expected_hash);
            assert_eq!(
                gen.path_secrets
                    .iter()
                    .find(|(x, _)| *x == received.decrypted_node)
                    .map(|(_, s)| s),
                Some(&received.path_secret)
            );
            received.private.check_against(&tree).unwrap();
            member.keys = received.private;
        }
        self.context = gen.group_context;
    }

    /// A path from `sender` on a copy of the tree, with the tree it applies to.
    fn path_from(&self, sender: u32) -> (GeneratedPath, RatchetTree) {
        let mut tree = self.tree.clone();
        let m = self.members[sender as usize].as_ref().unwrap();
        let gen = generate_update_path(
            &self.suite,
            &mut tree,
            sender,
            &m.signer,
            &self.context,
            &[],
        )
        .unwrap();
        (gen, self.tree.clone())
    }

    /// Member `receiver` processes `path` from `sender` on a copy of the current tree.
    fn receive(&self, receiver: u32, sender: u32, path: &UpdatePath) -> Result<ReceivedPath> {
        let mut tree = self.tree.clone();
        let keys = &self.members[receiver as usize].as_ref().unwrap().keys;
        process_update_path(
            &self.suite,
            &mut tree,
            keys,
            sender,
            path,
            &self.context,
            &[],
        )
    }

    /// Re-sign `path`'s leaf after a change, first giving it the parent hash its node keys
    /// really yield, as a malicious but key-holding committer would (§7.9.2).
    fn resign(&self, sender: u32, path: &mut UpdatePath, fix_parent_hash: bool) {
        if fix_parent_hash {
            let keys: Vec<_> = path
                .nodes
                .iter()
                .map(|n| n.encryption_key.clone())
                .collect();
            let ph = self.tree.clone().merge_update_path(sender, &keys).unwrap();
            path.leaf_node.leaf_node_source = LeafNodeSourceData::Commit(Bytes(ph));
        }
        let signer = &self.members[sender as usize].as_ref().unwrap().signer;
        let tbs = path.leaf_node.tbs_bytes(&self.context.group_id, sender);
        path.leaf_node.signature = Bytes(
            self.suite
                .sign_with_label(signer, "LeafNodeTBS", &tbs)
                .unwrap(),
        );
    }
}

fn invalid(rule: Rule) -> Error {
    Error::Invalid(rule)
}

#[test]
fn every_member_derives_the_same_commit_secret_over_many_epochs() {
    let mut sim = Sim::new(1, 7);
    // Senders chosen so that receivers decrypt with leaf keys and with parent-node keys
    // learnt in earlier epochs.
    for sender in [3, 0, 6, 1, 5, 2, 4, 3] {
        sim.commit(sender);
    }
}

#[test]
fn x448_and_p521_suites_round_trip() {
    for cs in [4, 5] {
        let mut sim = Sim::new(cs, 5);
        sim.commit(4);
        sim.commit(1);
    }
}

#[test]
fn a_one_member_group_gets_a_commit_secret_from_an_empty_path() {
    let mut sim = Sim::new(1, 1);
    let (gen, _) = sim.path_from(0);
    assert!(gen.update_path.nodes.is_empty());
    assert_eq!(gen.commit_secret.len(), sim.suite.hash_len());
    sim.commit(0);
}

#[test]
fn joiners_are_left_out_of_the_resolution_and_get_the_lca_secret() {
    // §7.6 and §12.4.3.1: 5 members, then member 2 adds two more and commits.
    let mut sim = Sim::new(1, 5);
    let mut joiner_keys = Vec::new();
    let mut joiners = Vec::new();
    for name in ["j5", "j6"] {
        let kp = test_key_package(&sim.suite, name);
        joiners.push(sim.tree.add_leaf(kp.key_package.leaf_node.clone()).unwrap());
        joiner_keys.push(kp);
    }
    let after_adds = sim.tree.clone();
    sim.context.epoch += 1;
    let signer = sim.members[2].as_ref().unwrap().signer.clone();
    let gen = generate_update_path(
        &sim.suite,
        &mut sim.tree,
        2,
        &signer,
        &sim.context,
        &joiners,
    )
    .unwrap();
    // Existing members process it against the tree with the adds applied.
    for j in [0u32, 1, 3, 4] {
        let mut tree = after_adds.clone();
        let keys = &sim.members[j as usize].as_ref().unwrap().keys;
        let got = process_update_path(
            &sim.suite,
            &mut tree,
            keys,
            2,
            &gen.update_path,
            &sim.context,
            &joiners,
        )
        .unwrap();
        assert_eq!(got.commit_secret, gen.commit_secret);
    }
    // Without the joiner list the counts no longer match the resolutions.
    let mut tree = after_adds.clone();
    let keys = &sim.members[0].as_ref().unwrap().keys;
    assert_eq!(
        process_update_path(
            &sim.suite,
            &mut tree,
            keys,
            2,
            &gen.update_path,
            &sim.context,
            &[]
        )
        .unwrap_err(),
        invalid(Rule::UpdatePathCiphertextCount)
    );
    // Joiners derive consistent keys from the LCA secret.
    for (kp, &j) in joiner_keys.iter().zip(&joiners) {
        let lca = math::common_ancestor(4, 2 * j);
        let secret = gen.path_secret_for_joiner(j).unwrap().clone();
        TreePrivateKeys::from_welcome(
            &sim.suite,
            &sim.tree,
            j,
            kp.encryption_key.clone(),
            Some((lca, secret)),
        )
        .unwrap();
    }
}

#[test]
fn a_wrong_welcome_path_secret_is_a_private_key_mismatch() {
    // §12.4.3.1: derived keys MUST match the tree.
    let sim = Sim::new(1, 4);
    let keys = &sim.members[3].as_ref().unwrap().keys;
    let lca = math::common_ancestor(0, 6);
    let wrong = Secret::new(vec![1; sim.suite.hash_len()]);
    assert_eq!(
        TreePrivateKeys::from_welcome(
            &sim.suite,
            &sim.tree,
            3,
            keys.leaf_key().clone(),
            Some((lca, wrong))
        )
        .unwrap_err(),
        invalid(Rule::PrivateKeyMismatch)
    );
    // A "common ancestor" that is our own leaf (signer == us) is not on our path.
    let secret = Secret::new(vec![1; sim.suite.hash_len()]);
    assert_eq!(
        TreePrivateKeys::from_welcome(
            &sim.suite,
            &sim.tree,
            3,
            keys.leaf_key().clone(),
            Some((6, secret))
        )
        .unwrap_err(),
        invalid(Rule::PrivateKeyMismatch)
    );
}

#[test]
fn too_few_or_too_many_path_nodes_are_rejected() {
    // §7.6: one UpdatePathNode per filtered-direct-path node.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut short = gen.update_path.clone();
    short.nodes.pop();
    assert_eq!(
        sim.receive(0, 5, &short).unwrap_err(),
        invalid(Rule::UpdatePathLength)
    );
    let mut long = gen.update_path.clone();
    long.nodes.push(long.nodes[0].clone());
    assert_eq!(
        sim.receive(0, 5, &long).unwrap_err(),
        invalid(Rule::UpdatePathLength)
    );
}

#[test]
fn a_missing_ciphertext_is_rejected() {
    // §7.6: one ciphertext per resolution node.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    path.nodes[0].encrypted_path_secret.clear();
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::UpdatePathCiphertextCount)
    );
}

#[test]
fn a_tampered_ciphertext_fails_to_decrypt() {
    // §7.5: the path secret is authenticated by HPKE.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    // Member 0 decrypts at the root, the last node.
    let last = path.nodes.len() - 1;
    path.nodes[last].encrypted_path_secret[0].ciphertext.0[0] ^= 1;
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::PathSecretDecryption)
    );
    // A receiver below another node is unaffected.
    sim.receive(4, 5, &path).unwrap();
}

#[test]
fn a_public_key_that_does_not_match_the_path_secret_is_rejected() {
    // §7.5: derived public keys must equal those sent. The committer re-signs with the
    // parent hash of the forged key so that only the derivation check can catch it.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    let last = path.nodes.len() - 1;
    let forged = sim.suite.generate_hpke_key_pair().unwrap();
    path.nodes[last].encryption_key = Bytes(forged.public_key().to_vec());
    sim.resign(5, &mut path, true);
    // The provisional context covers the forged key: re-encrypt leaf 4's secret under it.
    let mut tree = sim.tree.clone();
    let context = merge_received_path(&sim.suite, &mut tree, 5, &path, &sim.context, &[])
        .unwrap()
        .to_bytes();
    let pk = sim.tree.leaf(4).unwrap().encryption_key.clone();
    let (kem_output, ciphertext) = sim
        .suite
        .encrypt_with_label(
            &pk,
            "UpdatePathNode",
            &context,
            gen.path_secrets[0].1.as_bytes(),
        )
        .unwrap();
    path.nodes[0].encrypted_path_secret[0] = HPKECiphertext {
        kem_output: Bytes(kem_output),
        ciphertext: Bytes(ciphertext),
    };
    assert_eq!(
        sim.receive(4, 5, &path).unwrap_err(),
        invalid(Rule::PathKeyMismatch)
    );
}

#[test]
fn a_leaf_parent_hash_mismatch_is_rejected() {
    // §7.9.2: the new leaf's parent_hash must be the path's.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    path.leaf_node.leaf_node_source = LeafNodeSourceData::Commit(Bytes(vec![0; 32]));
    sim.resign(5, &mut path, false);
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::UpdatePathParentHash)
    );
}

#[test]
fn a_leaf_not_sourced_from_a_commit_is_rejected() {
    // §12.4.2: leaf_node_source MUST be commit.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    path.leaf_node.leaf_node_source = LeafNodeSourceData::Update;
    sim.resign(5, &mut path, false);
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::LeafNodeSourceMismatch)
    );
}

#[test]
fn reusing_the_committers_leaf_key_is_rejected() {
    // §12.4.2: the new encryption_key differs from the committer's current leaf's.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let mut path = gen.update_path.clone();
    path.leaf_node.encryption_key = sim.tree.leaf(5).unwrap().encryption_key.clone();
    sim.resign(5, &mut path, false);
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::EncryptionKeyReused)
    );
}

#[test]
fn a_new_key_already_in_the_tree_is_rejected() {
    // §12.4.2: no UpdatePath key may appear in any node of the tree.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    let elsewhere = [
        sim.tree.leaf(2).unwrap().encryption_key.clone(),
        sim.tree.parent_node(3).unwrap().encryption_key.clone(),
    ];
    for key in elsewhere {
        let mut path = gen.update_path.clone();
        path.nodes[1].encryption_key = key.clone();
        sim.resign(5, &mut path, true);
        assert_eq!(
            sim.receive(0, 5, &path).unwrap_err(),
            invalid(Rule::UpdatePathKeyInTree)
        );
        let mut path = gen.update_path.clone();
        path.leaf_node.encryption_key = key;
        sim.resign(5, &mut path, false);
        assert_eq!(
            sim.receive(0, 5, &path).unwrap_err(),
            invalid(Rule::UpdatePathKeyInTree)
        );
    }
    // The same key twice within the path.
    let mut path = gen.update_path.clone();
    path.nodes[0].encryption_key = path.nodes[1].encryption_key.clone();
    sim.resign(5, &mut path, true);
    assert_eq!(
        sim.receive(0, 5, &path).unwrap_err(),
        invalid(Rule::UpdatePathKeyInTree)
    );
}

#[test]
fn a_leaf_signed_for_another_position_is_rejected() {
    // §7.3: the leaf is signed with the group id and the committer's leaf index.
    let sim = Sim::new(1, 8);
    let (gen, _) = sim.path_from(5);
    assert_eq!(
        sim.receive(0, 6, &gen.update_path).unwrap_err(),
        invalid(Rule::LeafNodeSignature)
    );
}

#[test]
fn hostile_indices_and_foreign_keys_are_errors_not_panics() {
    let sim = Sim::new(1, 4);
    let (gen, _) = sim.path_from(1);
    assert_eq!(
        sim.receive(0, 99, &gen.update_path).unwrap_err(),
        invalid(Rule::LeafOutOfRange)
    );
    assert_eq!(
        sim.receive(0, u32::MAX, &gen.update_path).unwrap_err(),
        invalid(Rule::LeafOutOfRange)
    );
    // Our own path, or keys that belong to no one in this tree.
    assert!(sim.receive(1, 1, &gen.update_path).is_err());
    let stranger = TreePrivateKeys::new(u32::MAX, sim.suite.generate_hpke_key_pair().unwrap());
    let mut tree = sim.tree.clone();
    assert!(process_update_path(
        &sim.suite,
        &mut tree,
        &stranger,
        1,
        &gen.update_path,
        &sim.context,
        &[u32::MAX]
    )
    .is_err());
    let mut tree = sim.tree.clone();
    let signer = &sim.members[1].as_ref().unwrap().signer;
    assert_eq!(
        generate_update_path(&sim.suite, &mut tree, 7, signer, &sim.context, &[]).unwrap_err(),
        Error::Misuse("the committer's leaf is blank")
    );
}

#[test]
fn a_committed_update_switches_to_the_pending_leaf_key() {
    // §12.1.2: our Update, committed by another member, gives our leaf the proposed key.
    let mut sim = Sim::new(1, 4);
    let suite = sim.suite;
    let new_key = suite.generate_hpke_key_pair().unwrap();
    let m2 = sim.members[2].as_mut().unwrap();
    let mut leaf = sim.tree.leaf(2).unwrap().clone();
    leaf.encryption_key = Bytes(new_key.public_key().to_vec());
    leaf.leaf_node_source = LeafNodeSourceData::Update;
    let tbs = leaf.tbs_bytes(&sim.context.group_id, 2);
    leaf.signature = Bytes(
        suite
            .sign_with_label(&m2.signer, "LeafNodeTBS", &tbs)
            .unwrap(),
    );
    m2.keys.add_pending_leaf_key(new_key.clone());
    sim.tree.update_leaf(2, leaf).unwrap();
    sim.commit(0);
    let keys = &sim.members[2].as_ref().unwrap().keys;
    assert_eq!(keys.leaf_key().public_key(), new_key.public_key());
    sim.commit(2);
}

#[test]
fn stale_keys_are_dropped_when_the_tree_moves_on() {
    let mut sim = Sim::new(1, 4);
    sim.commit(0);
    let mut keys = sim.members[1].as_ref().unwrap().keys.clone();
    assert!(keys.node_key(1).is_some());
    sim.tree.remove_leaf(0).unwrap();
    keys.sync_with_tree(&sim.tree);
    assert!(keys.node_key(1).is_none() && keys.node_key(3).is_none());
    keys.check_against(&sim.tree).unwrap();
    assert_eq!(
        keys.insert_path_key(4, sim.suite.generate_hpke_key_pair().unwrap()),
        Err(Error::Misuse("node is not on our direct path"))
    );
}
