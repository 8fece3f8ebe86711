//! `messages.json` (no cipher suite field; one case per suite's keys): every wire struct of
//! the format, built from fresh random groups, keys and secrets. Only syntax is under test,
//! so some MACs and the application PublicMessage's signature are random (test-vectors.md
//! allows invalid MACs).

use super::members::build;
use super::welcome::seal;
use super::{bytes, err, hx, key_package, rand_vec, random_commit, random_psk_id, range};
use cohort::codec::{Bytes, Encode};
use cohort::crypto::{Secret, Suite};
use cohort::framing::{
    protect_private, protect_public, sign_content, Content, FramedContent, MLSMessage,
    MLSMessageBody, Padding, PublicMessage, Sender, WireFormat,
};
use cohort::messages::{
    Add, Commit, Extension, ExtensionType, Extensions, ExternalInit, GroupContextExtensions,
    PathSecret, PreSharedKey, Proposal, ProtocolVersion, ReInit, Remove, Update,
};
use cohort::schedule::{SecretTree, SecretTreeConfig};
use cohort::tree::treekem::generate_update_path;
use serde_json::{json, Value};

/// One case from `suite`'s keys.
pub fn generate(suite: &Suite) -> Result<Value, String> {
    let nh = suite.hash_len();
    let sealed = seal(suite)?;
    let mut g = build(suite, 4)?;
    let (&sender, member) = g.members.iter().next().ok_or("no members")?;
    let mut context = g.context.clone();
    context.tree_hash = Bytes(g.tree.tree_hash());

    let mut group_secrets = sealed.group_secrets.clone();
    group_secrets.path_secret = Some(PathSecret {
        path_secret: Secret::new(bytes(suite, nh)?),
    });
    group_secrets.psks = vec![random_psk_id(suite)?, random_psk_id(suite)?];

    let path = {
        let mut after = g.tree.clone();
        let gen = generate_update_path(suite, &mut after, sender, &member.signer, &context, &[])
            .map_err(err("update path"))?;
        gen.update_path
    };
    let kp = key_package(suite)?;
    let mut commit: Commit = random_commit(suite, Some(&kp.key_package))?;
    commit.path = Some(path.clone());
    let mut extensions = Extensions::new();
    extensions.insert(Extension {
        extension_type: ExtensionType(0xff00 + range(suite, 0, 0xff)? as u16),
        extension_data: Bytes(rand_vec(suite, 0, 16)?),
    });
    let (external_kem_output, _) = suite
        .encrypt_with_label(&bytes_key(suite)?, "ExternalInit", &[], &[])
        .map_err(err("kem output"))?;

    // Framed messages from `sender` in the group's epoch.
    let framed = |content: Content| -> Result<FramedContent, String> {
        Ok(FramedContent {
            group_id: context.group_id.clone(),
            epoch: context.epoch,
            sender: Sender::Member(sender),
            authenticated_data: Bytes(rand_vec(suite, 0, 16)?),
            content,
        })
    };
    let membership_key = Secret::new(bytes(suite, nh)?);
    let public = |content: Content| -> Result<Vec<u8>, String> {
        let mut ac = sign_content(
            suite,
            &member.signer,
            WireFormat::PublicMessage,
            framed(content)?,
            Some(&context),
        )
        .map_err(err("sign"))?;
        if let Content::Commit(_) = ac.content.content {
            ac.auth.confirmation_tag = Some(Bytes(bytes(suite, nh)?));
        }
        let m = protect_public(suite, ac, Some(&context), Some(&membership_key))
            .map_err(err("protect_public"))?;
        Ok(MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(m))).to_bytes())
    };
    // Application data is never sent as a PublicMessage (§6), so build the struct by hand:
    // signed for PrivateMessage, with a random membership tag.
    let public_application = {
        let mut ac = sign_content(
            suite,
            &member.signer,
            WireFormat::PrivateMessage,
            framed(Content::Application(Bytes(rand_vec(suite, 0, 64)?)))?,
            Some(&context),
        )
        .map_err(err("sign"))?;
        ac.wire_format = WireFormat::PublicMessage;
        let m = PublicMessage::new(ac, Some(Bytes(bytes(suite, nh)?)))
            .map_err(err("public application"))?;
        MLSMessage::new(MLSMessageBody::PublicMessage(Box::new(m))).to_bytes()
    };
    let private_message = {
        let ac = sign_content(
            suite,
            &member.signer,
            WireFormat::PrivateMessage,
            framed(Content::Application(Bytes(rand_vec(suite, 0, 64)?)))?,
            Some(&context),
        )
        .map_err(err("sign"))?;
        let mut tree = SecretTree::new(
            *suite,
            Secret::new(bytes(suite, nh)?),
            g.tree.n_leaves(),
            SecretTreeConfig::default(),
        );
        let m = protect_private(
            suite,
            &ac,
            &Secret::new(bytes(suite, nh)?),
            &mut tree,
            Padding::None,
        )
        .map_err(err("protect_private"))?;
        MLSMessage::new(MLSMessageBody::PrivateMessage(m)).to_bytes()
    };

    let remove = Remove {
        removed: range(suite, 0, 1000)? as u32,
    };
    Ok(json!({
        "mls_welcome": hx(&MLSMessage::new(MLSMessageBody::Welcome(sealed.welcome)).to_bytes()),
        "mls_group_info": hx(&MLSMessage::new(MLSMessageBody::GroupInfo(Box::new(
            sealed.group_info
        )))
        .to_bytes()),
        "mls_key_package": hx(&MLSMessage::new(MLSMessageBody::KeyPackage(Box::new(
            sealed.ours.key_package
        )))
        .to_bytes()),
        "ratchet_tree": hx(&g.tree.to_wire().to_bytes()),
        "group_secrets": hx(&group_secrets.to_bytes()),
        "add_proposal": hx(&Add { key_package: kp.key_package.clone() }.to_bytes()),
        "update_proposal": hx(&Update { leaf_node: path.leaf_node.clone() }.to_bytes()),
        "remove_proposal": hx(&remove.to_bytes()),
        "pre_shared_key_proposal": hx(&PreSharedKey { psk: random_psk_id(suite)? }.to_bytes()),
        "re_init_proposal": hx(&ReInit {
            group_id: Bytes(rand_vec(suite, 1, 32)?),
            version: ProtocolVersion::MLS10,
            cipher_suite: suite.id(),
            extensions: extensions.clone(),
        }
        .to_bytes()),
        "external_init_proposal": hx(&ExternalInit {
            kem_output: Bytes(external_kem_output),
        }
        .to_bytes()),
        "group_context_extensions_proposal": hx(&GroupContextExtensions { extensions }.to_bytes()),
        "commit": hx(&commit.to_bytes()),
        "public_message_application": hx(&public_application),
        "public_message_proposal": hx(&public(Content::Proposal(Proposal::Remove(remove)))?),
        "public_message_commit": hx(&public(Content::Commit(Box::new(commit.clone())))?),
        "private_message": hx(&private_message),
    }))
}

/// A fresh HPKE public key.
fn bytes_key(suite: &Suite) -> Result<Vec<u8>, String> {
    Ok(suite
        .generate_hpke_key_pair()
        .map_err(err("hpke key"))?
        .public_key()
        .to_vec())
}
