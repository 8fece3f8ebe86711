//! Framed content and its authentication (RFC 9420 §6, §6.1).

use crate::codec::{write_vec_bytes, Bytes, Decode, Encode, Reader};
use crate::error::{DecodeError, Error};
use crate::messages::{Commit, GroupContext, Proposal, ProtocolVersion, MAC};

crate::codec_enum! {
    /// `ContentType` (§6).
    pub enum ContentType: u8 {
        /// Application data.
        Application = 1,
        /// A proposal.
        Proposal = 2,
        /// A commit.
        Commit = 3,
    }
}

crate::codec_enum! {
    /// `SenderType` (§6).
    pub enum SenderType: u8 {
        /// A member, by leaf index.
        Member = 1,
        /// A preconfigured external sender, by index in `external_senders`.
        External = 2,
        /// A non-member proposing to add itself.
        NewMemberProposal = 3,
        /// A non-member joining by external commit.
        NewMemberCommit = 4,
    }
}

/// `Sender` (§6): the sender type and its select arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    /// `member`: `uint32 leaf_index`.
    Member(u32),
    /// `external`: `uint32 sender_index`.
    External(u32),
    /// `new_member_proposal`: no data.
    NewMemberProposal,
    /// `new_member_commit`: no data.
    NewMemberCommit,
}

impl Sender {
    /// The `sender_type` tag.
    pub fn sender_type(&self) -> SenderType {
        match self {
            Sender::Member(_) => SenderType::Member,
            Sender::External(_) => SenderType::External,
            Sender::NewMemberProposal => SenderType::NewMemberProposal,
            Sender::NewMemberCommit => SenderType::NewMemberCommit,
        }
    }

    /// Whether FramedContentTBS covers the GroupContext for this sender (§6.1).
    pub fn signs_group_context(&self) -> bool {
        matches!(self, Sender::Member(_) | Sender::NewMemberCommit)
    }
}

impl Encode for Sender {
    fn encode(&self, out: &mut Vec<u8>) {
        self.sender_type().encode(out);
        match self {
            Sender::Member(i) | Sender::External(i) => i.encode(out),
            Sender::NewMemberProposal | Sender::NewMemberCommit => {}
        }
    }
    fn encoded_len(&self) -> usize {
        match self {
            Sender::Member(_) | Sender::External(_) => 5,
            Sender::NewMemberProposal | Sender::NewMemberCommit => 1,
        }
    }
}

impl Decode for Sender {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match SenderType::decode(r)? {
            SenderType::Member => Sender::Member(u32::decode(r)?),
            SenderType::External => Sender::External(u32::decode(r)?),
            SenderType::NewMemberProposal => Sender::NewMemberProposal,
            SenderType::NewMemberCommit => Sender::NewMemberCommit,
        })
    }
}

crate::codec_enum! {
    /// `WireFormat` (§6, registry §17.2). Closed: a message of an unknown wire format
    /// cannot be parsed, so it is rejected rather than carried.
    pub enum WireFormat: u16 {
        /// `mls_public_message`.
        PublicMessage = 1,
        /// `mls_private_message`.
        PrivateMessage = 2,
        /// `mls_welcome`.
        Welcome = 3,
        /// `mls_group_info`.
        GroupInfo = 4,
        /// `mls_key_package`.
        KeyPackage = 5,
    }
}

/// The `select (content_type)` of FramedContent and PrivateMessageContent (§6, §6.3.1).
///
/// Encoded with its `content_type` tag inside FramedContent; PrivateMessageContent carries the
/// tag outside, so it uses [`Content::encode_body`] and [`Content::decode_body`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Content {
    /// `application`: `opaque application_data<V>`.
    Application(Bytes),
    /// `proposal`: `Proposal proposal`.
    Proposal(Proposal),
    /// `commit`: `Commit commit` (boxed: it is much larger than the other arms).
    Commit(Box<Commit>),
}

impl Content {
    /// The `content_type` tag.
    pub fn content_type(&self) -> ContentType {
        match self {
            Content::Application(_) => ContentType::Application,
            Content::Proposal(_) => ContentType::Proposal,
            Content::Commit(_) => ContentType::Commit,
        }
    }

    /// Encode the select arm without the tag.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Content::Application(data) => data.encode(out),
            Content::Proposal(p) => p.encode(out),
            Content::Commit(c) => c.encode(out),
        }
    }

    /// Decode the select arm for a tag read elsewhere.
    pub fn decode_body(content_type: ContentType, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match content_type {
            ContentType::Application => Content::Application(Bytes::decode(r)?),
            ContentType::Proposal => Content::Proposal(Proposal::decode(r)?),
            ContentType::Commit => Content::Commit(Box::new(Commit::decode(r)?)),
        })
    }
}

impl Encode for Content {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content_type().encode(out);
        self.encode_body(out);
    }
    fn encoded_len(&self) -> usize {
        1 + match self {
            Content::Application(data) => data.encoded_len(),
            Content::Proposal(p) => p.encoded_len(),
            Content::Commit(c) => c.encoded_len(),
        }
    }
}

impl Decode for Content {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content_type = ContentType::decode(r)?;
        Content::decode_body(content_type, r)
    }
}

crate::codec_struct! {
    /// `FramedContent` (§6).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct FramedContent {
        /// The group the content is for.
        pub group_id: Bytes,
        /// The epoch the content is for.
        pub epoch: u64,
        /// Who sent it.
        pub sender: Sender,
        /// Application-chosen data authenticated with the content.
        pub authenticated_data: Bytes,
        /// `content_type` and its select arm.
        pub content: Content,
    }
}

impl FramedContent {
    /// The `content_type` of the content.
    pub fn content_type(&self) -> ContentType {
        self.content.content_type()
    }

    /// Append the encoded `FramedContentTBS` (§6.1).
    ///
    /// `context` must be given exactly when the sender is `member` or `new_member_commit`,
    /// whose signatures cover the group context; otherwise this is API misuse.
    pub fn encode_tbs(
        &self,
        wire_format: WireFormat,
        context: Option<&GroupContext>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if self.sender.signs_group_context() != context.is_some() {
            return Err(Error::Misuse(
                "FramedContentTBS takes a GroupContext exactly for member and new_member_commit senders",
            ));
        }
        ProtocolVersion::MLS10.encode(out);
        wire_format.encode(out);
        self.encode(out);
        if let Some(context) = context {
            context.encode(out);
        }
        Ok(())
    }

    /// The encoded `FramedContentTBS` (§6.1), the content signed with label
    /// "FramedContentTBS". See [`FramedContent::encode_tbs`] for `context`.
    pub fn tbs_bytes(
        &self,
        wire_format: WireFormat,
        context: Option<&GroupContext>,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_tbs(wire_format, context, &mut out)?;
        Ok(out)
    }
}

/// `FramedContentAuthData` (§6.1): the signature, and the confirmation tag of a commit.
///
/// The tag's presence depends on the content type of the enclosing content, so decoding goes
/// through [`FramedContentAuthData::decode_for`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FramedContentAuthData {
    /// `SignWithLabel(., "FramedContentTBS", FramedContentTBS)`.
    pub signature: Bytes,
    /// `MAC confirmation_tag`, present exactly when the content is a commit.
    pub confirmation_tag: Option<MAC>,
}

impl FramedContentAuthData {
    /// Decode the auth data of content of type `content_type`.
    pub fn decode_for(r: &mut Reader<'_>, content_type: ContentType) -> Result<Self, DecodeError> {
        let signature = Bytes::decode(r)?;
        let confirmation_tag = match content_type {
            ContentType::Commit => Some(MAC::decode(r)?),
            ContentType::Application | ContentType::Proposal => None,
        };
        Ok(FramedContentAuthData {
            signature,
            confirmation_tag,
        })
    }

    /// Whether the tag is present exactly when `content_type` is commit.
    pub fn matches_content_type(&self, content_type: ContentType) -> bool {
        self.confirmation_tag.is_some() == (content_type == ContentType::Commit)
    }
}

/// Written without a presence octet: the content type says whether the tag is there.
impl Encode for FramedContentAuthData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.signature.encode(out);
        if let Some(tag) = &self.confirmation_tag {
            tag.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        self.signature.encoded_len()
            + self
                .confirmation_tag
                .as_ref()
                .map_or(0, |t| t.encoded_len())
    }
}

/// `AuthenticatedContent` (§6): content with its authentication, before protection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthenticatedContent {
    /// The wire format the content is (or will be) sent in.
    pub wire_format: WireFormat,
    /// The content.
    pub content: FramedContent,
    /// Its signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
}

impl AuthenticatedContent {
    /// Bundle content and auth data; the confirmation tag must be present exactly for commits.
    pub fn new(
        wire_format: WireFormat,
        content: FramedContent,
        auth: FramedContentAuthData,
    ) -> Result<Self, Error> {
        if !auth.matches_content_type(content.content_type()) {
            return Err(Error::Misuse(
                "confirmation_tag must be present exactly for commit content",
            ));
        }
        Ok(AuthenticatedContent {
            wire_format,
            content,
            auth,
        })
    }

    /// The encoded `FramedContentTBS` (§6.1) of this content under its wire format.
    pub fn tbs_bytes(&self, context: Option<&GroupContext>) -> Result<Vec<u8>, Error> {
        self.content.tbs_bytes(self.wire_format, context)
    }

    /// The encoded `AuthenticatedContentTBM` (§6.2): FramedContentTBS then the auth data,
    /// the input of the membership tag MAC.
    pub fn tbm_bytes(&self, context: Option<&GroupContext>) -> Result<Vec<u8>, Error> {
        let mut out = self.tbs_bytes(context)?;
        self.auth.encode(&mut out);
        Ok(out)
    }

    /// The encoded `ConfirmedTranscriptHashInput` (§8.2): wire format, content, signature.
    pub fn confirmed_transcript_hash_input(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.wire_format.encode(&mut out);
        self.content.encode(&mut out);
        self.auth.signature.encode(&mut out);
        out
    }

    /// The encoded `InterimTranscriptHashInput` (§8.2), if this content has a confirmation
    /// tag (i.e. is a commit).
    pub fn interim_transcript_hash_input(&self) -> Option<Vec<u8>> {
        let tag = self.auth.confirmation_tag.as_ref()?;
        let mut out = Vec::new();
        write_vec_bytes(&mut out, tag);
        Some(out)
    }
}

impl Encode for AuthenticatedContent {
    fn encode(&self, out: &mut Vec<u8>) {
        self.wire_format.encode(out);
        self.content.encode(out);
        self.auth.encode(out);
    }
}

impl Decode for AuthenticatedContent {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let wire_format = WireFormat::decode(r)?;
        let content = FramedContent::decode(r)?;
        let auth = FramedContentAuthData::decode_for(r, content.content_type())?;
        Ok(AuthenticatedContent {
            wire_format,
            content,
            auth,
        })
    }
}
