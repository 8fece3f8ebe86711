//! Sending in a group: application messages (RFC 9420 §6.3, §14), proposals (§12.1) and
//! the framing shared with commits.

use super::config::HandshakeFormat;
use super::key_package::sign_leaf_node;
use super::proposals::{proposal_ref, CachedProposal};
use super::state::Group;
use crate::codec::{Bytes, Encode};
use crate::error::{Error, Result};
use crate::framing::{
    protect_private, protect_public, sign_content, AuthenticatedContent, Content, FramedContent,
    MLSMessage, MLSMessageBody, Sender, WireFormat,
};
use crate::messages::{
    Add, Extensions, GroupContextExtensions, KeyPackage, LeafNodeSourceData, PSKTypeData,
    PreSharedKey, PreSharedKeyID, Proposal, ReInit, Remove, ResumptionPSKUsage, Update,
};

impl Group {
    /// Fail unless we may still send (not removed, no ReInit committed).
    pub(crate) fn ensure_can_send(&self) -> Result<()> {
        if !self.active {
            return Err(Error::Misuse("this member can no longer send in the group"));
        }
        Ok(())
    }

    /// The wire format of our handshake messages.
    pub(crate) fn handshake_wire_format(&self) -> WireFormat {
        match self.config.handshake_format {
            HandshakeFormat::Public => WireFormat::PublicMessage,
            HandshakeFormat::Private => WireFormat::PrivateMessage,
        }
    }

    /// Frame `content` as ours in the current epoch.
    pub(crate) fn frame(&self, content: Content, authenticated_data: Vec<u8>) -> FramedContent {
        FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(self.own_leaf),
            authenticated_data: Bytes(authenticated_data),
            content,
        }
    }

    /// Protect signed content with this epoch's keys (§6.2, §6.3).
    pub(crate) fn protect(&mut self, auth: AuthenticatedContent) -> Result<MLSMessage> {
        let body = match auth.wire_format {
            WireFormat::PublicMessage => MLSMessageBody::PublicMessage(Box::new(protect_public(
                &self.suite,
                auth,
                Some(&self.context),
                Some(&self.secrets.membership_key),
            )?)),
            _ => MLSMessageBody::PrivateMessage(protect_private(
                &self.suite,
                &auth,
                &self.secrets.sender_data_secret,
                &mut self.secret_tree,
                self.config.padding,
            )?),
        };
        Ok(MLSMessage::new(body))
    }

    /// Protect content signed elsewhere with this epoch's keys, without any check of what
    /// it says. For tests that build invalid messages by hand; applications never need it.
    #[doc(hidden)]
    pub fn protect_unchecked(&mut self, auth: AuthenticatedContent) -> Result<MLSMessage> {
        self.protect(auth)
    }

    /// A digest identifying a message we sent, to recognise it when it comes back.
    pub(crate) fn message_digest(&self, message: &MLSMessage) -> Vec<u8> {
        self.suite.hash(&message.to_bytes())
    }

    /// Send application data with `authenticated_data` as a PrivateMessage (§6.3).
    pub fn send_application(
        &mut self,
        data: &[u8],
        authenticated_data: &[u8],
    ) -> Result<MLSMessage> {
        self.ensure_can_send()?;
        // §12.4: a member that has seen proposals must commit before sending data.
        if !self.proposals.is_empty() {
            return Err(Error::Misuse(
                "commit the received proposals before sending application data",
            ));
        }
        let framed = self.frame(
            Content::Application(Bytes(data.to_vec())),
            authenticated_data.to_vec(),
        );
        let auth = sign_content(
            &self.suite,
            &self.signer,
            WireFormat::PrivateMessage,
            framed,
            Some(&self.context),
        )?;
        self.protect(auth)
    }

    /// Send a proposal (§12.1) and cache it so that our own commit can include it by
    /// reference.
    pub fn propose(&mut self, proposal: Proposal) -> Result<MLSMessage> {
        self.propose_with_aad(proposal, Vec::new())
    }

    /// [`Group::propose`] with application data authenticated alongside.
    pub fn propose_with_aad(
        &mut self,
        proposal: Proposal,
        authenticated_data: Vec<u8>,
    ) -> Result<MLSMessage> {
        self.ensure_can_send()?;
        if matches!(proposal, Proposal::ExternalInit(_)) {
            return Err(Error::Misuse(
                "ExternalInit is only sent in an external commit",
            ));
        }
        let framed = self.frame(Content::Proposal(proposal.clone()), authenticated_data);
        let auth = sign_content(
            &self.suite,
            &self.signer,
            self.handshake_wire_format(),
            framed,
            Some(&self.context),
        )?;
        let reference = proposal_ref(&self.suite, &auth);
        let msg = self.protect(auth)?;
        self.own_proposals
            .push((self.message_digest(&msg), reference.clone()));
        self.proposals.push(CachedProposal {
            reference,
            proposal,
            sender: Sender::Member(self.own_leaf),
        });
        Ok(msg)
    }

    /// Propose adding the owner of `key_package` (§12.1.1).
    pub fn propose_add(&mut self, key_package: KeyPackage) -> Result<MLSMessage> {
        self.propose(Proposal::Add(Box::new(Add { key_package })))
    }

    /// Propose removing the member at `leaf` (§12.1.3).
    pub fn propose_remove(&mut self, leaf: u32) -> Result<MLSMessage> {
        self.propose(Proposal::Remove(Remove { removed: leaf }))
    }

    /// Propose a PSK injection (§12.1.4).
    pub fn propose_psk(&mut self, psk: PreSharedKeyID) -> Result<MLSMessage> {
        self.propose(Proposal::PreSharedKey(PreSharedKey { psk }))
    }

    /// Propose new GroupContext extensions (§12.1.7).
    pub fn propose_group_context_extensions(
        &mut self,
        extensions: Extensions,
    ) -> Result<MLSMessage> {
        self.propose(Proposal::GroupContextExtensions(GroupContextExtensions {
            extensions,
        }))
    }

    /// Propose reinitialising the group (§12.1.5).
    pub fn propose_reinit(&mut self, reinit: ReInit) -> Result<MLSMessage> {
        self.propose(Proposal::ReInit(reinit))
    }

    /// Propose replacing our leaf with a fresh encryption key (§12.1.2). The new private key
    /// is kept so that the committed Update can be merged.
    pub fn propose_update(&mut self) -> Result<MLSMessage> {
        let key = self.suite.generate_hpke_key_pair()?;
        let mut leaf = self
            .tree
            .leaf(self.own_leaf)
            .cloned()
            .ok_or(Error::Misuse("own leaf is blank"))?;
        leaf.encryption_key = Bytes(key.public_key().to_vec());
        leaf.leaf_node_source = LeafNodeSourceData::Update;
        sign_leaf_node(
            &self.suite,
            &mut leaf,
            &self.signer,
            &self.context.group_id,
            self.own_leaf,
        )?;
        let msg = self.propose(Proposal::Update(Box::new(Update { leaf_node: leaf })))?;
        self.private.add_pending_leaf_key(key.clone());
        self.pending_update_keys.push(key);
        Ok(msg)
    }

    /// A PreSharedKeyID for an external PSK with a fresh nonce (§8.4).
    pub fn external_psk_id(&self, psk_id: &[u8]) -> Result<PreSharedKeyID> {
        Ok(PreSharedKeyID {
            psk: PSKTypeData::External {
                psk_id: Bytes(psk_id.to_vec()),
            },
            psk_nonce: Bytes(self.suite.random_bytes(self.suite.hash_len())?),
        })
    }

    /// A PreSharedKeyID for this group's resumption PSK of `epoch`, usage application
    /// (§8.6, §12.1.4).
    pub fn resumption_psk_id(&self, epoch: u64) -> Result<PreSharedKeyID> {
        self.resumption_psk_id_with_usage(epoch, ResumptionPSKUsage::Application)
    }

    /// A PreSharedKeyID for this group's resumption PSK of `epoch` with `usage` (§8.4).
    pub(crate) fn resumption_psk_id_with_usage(
        &self,
        epoch: u64,
        usage: ResumptionPSKUsage,
    ) -> Result<PreSharedKeyID> {
        Ok(PreSharedKeyID {
            psk: PSKTypeData::Resumption {
                usage,
                psk_group_id: self.context.group_id.clone(),
                psk_epoch: epoch,
            },
            psk_nonce: Bytes(self.suite.random_bytes(self.suite.hash_len())?),
        })
    }
}
