//! Public and private messages and the MLSMessage envelope (RFC 9420 §6, §6.2, §6.3).

use super::content::{
    AuthenticatedContent, Content, ContentType, FramedContent, FramedContentAuthData, Sender,
    WireFormat,
};
use crate::codec::{Bytes, Decode, Encode, Reader};
use crate::error::{DecodeError, Error, Rule};
use crate::messages::{GroupInfo, KeyPackage, ProtocolVersion, Welcome, MAC};

/// `PublicMessage` (§6.2): signed, unencrypted content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicMessage {
    /// The content.
    pub content: FramedContent,
    /// Its signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
    /// `MAC membership_tag`, present exactly when the sender is a member.
    pub membership_tag: Option<MAC>,
}

impl PublicMessage {
    /// Wrap authenticated content; `membership_tag` must be present exactly for members.
    pub fn new(content: AuthenticatedContent, membership_tag: Option<MAC>) -> Result<Self, Error> {
        if content.wire_format != WireFormat::PublicMessage {
            return Err(Error::Misuse(
                "PublicMessage needs mls_public_message content",
            ));
        }
        if membership_tag.is_some() != matches!(content.content.sender, Sender::Member(_)) {
            return Err(Error::Misuse(
                "membership_tag must be present exactly for member senders",
            ));
        }
        Ok(PublicMessage {
            content: content.content,
            auth: content.auth,
            membership_tag,
        })
    }

    /// The authenticated content this message carries (wire format `mls_public_message`).
    pub fn authenticated_content(&self) -> AuthenticatedContent {
        AuthenticatedContent {
            wire_format: WireFormat::PublicMessage,
            content: self.content.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// Written without a presence octet: the sender type says whether the tag is there.
impl Encode for PublicMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content.encode(out);
        self.auth.encode(out);
        if let Some(tag) = &self.membership_tag {
            tag.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        self.content.encoded_len()
            + self.auth.encoded_len()
            + self.membership_tag.as_ref().map_or(0, |t| t.encoded_len())
    }
}

impl Decode for PublicMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let content = FramedContent::decode(r)?;
        let auth = FramedContentAuthData::decode_for(r, content.content_type())?;
        let membership_tag = match content.sender {
            Sender::Member(_) => Some(MAC::decode(r)?),
            Sender::External(_) | Sender::NewMemberProposal | Sender::NewMemberCommit => None,
        };
        Ok(PublicMessage {
            content,
            auth,
            membership_tag,
        })
    }
}

crate::codec_struct! {
    /// `PrivateMessage` (§6.3): signed and encrypted content.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct PrivateMessage {
        /// The group the content is for.
        pub group_id: Bytes,
        /// The epoch the content is for.
        pub epoch: u64,
        /// The type of the encrypted content.
        pub content_type: ContentType,
        /// Application-chosen data authenticated with the content.
        pub authenticated_data: Bytes,
        /// The encrypted SenderData.
        pub encrypted_sender_data: Bytes,
        /// The encrypted PrivateMessageContent.
        pub ciphertext: Bytes,
    }
}

/// `PrivateMessageContent` (§6.3.1): the plaintext of `PrivateMessage.ciphertext`.
///
/// Its content type is `PrivateMessage.content_type`, and the padding runs to the end of the
/// plaintext, so it is decoded with [`PrivateMessageContent::decode_plaintext`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrivateMessageContent {
    /// The select arm for the message's content type.
    pub content: Content,
    /// Signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
    /// Number of zero bytes of padding.
    pub padding: usize,
}

impl PrivateMessageContent {
    /// Decode a whole plaintext of content type `content_type`.
    ///
    /// §6.3.1: padding is everything after `auth` and must be all zero; otherwise the
    /// message is malformed ([`Rule::NonZeroPadding`]).
    pub fn decode_plaintext(plaintext: &[u8], content_type: ContentType) -> Result<Self, Error> {
        let mut r = Reader::new(plaintext);
        let content = Content::decode_body(content_type, &mut r)?;
        let auth = FramedContentAuthData::decode_for(&mut r, content_type)?;
        let padding = r.remaining();
        if padding.iter().any(|&b| b != 0) {
            return Err(Rule::NonZeroPadding.into());
        }
        Ok(PrivateMessageContent {
            content,
            auth,
            padding: padding.len(),
        })
    }
}

/// The content type is not written: it is `PrivateMessage.content_type`.
impl Encode for PrivateMessageContent {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content.encode_body(out);
        self.auth.encode(out);
        out.resize(out.len() + self.padding, 0);
    }
}

crate::codec_struct! {
    /// `PrivateContentAAD` (§6.3.1): the AAD of the content encryption.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct PrivateContentAAD {
        /// `PrivateMessage.group_id`.
        pub group_id: Bytes,
        /// `PrivateMessage.epoch`.
        pub epoch: u64,
        /// `PrivateMessage.content_type`.
        pub content_type: ContentType,
        /// `PrivateMessage.authenticated_data`.
        pub authenticated_data: Bytes,
    }
}

crate::codec_struct! {
    /// `SenderData` (§6.3.2): the plaintext of `encrypted_sender_data`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SenderData {
        /// The sender's leaf index.
        pub leaf_index: u32,
        /// The secret-tree generation used for the content key.
        pub generation: u32,
        /// Random value XORed into the content nonce.
        pub reuse_guard: [u8; 4],
    }
}

crate::codec_struct! {
    /// `SenderDataAAD` (§6.3.2): the AAD of the sender data encryption.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct SenderDataAAD {
        /// `PrivateMessage.group_id`.
        pub group_id: Bytes,
        /// `PrivateMessage.epoch`.
        pub epoch: u64,
        /// `PrivateMessage.content_type`.
        pub content_type: ContentType,
    }
}

impl PrivateMessage {
    /// The `SenderDataAAD` of this message.
    pub fn sender_data_aad(&self) -> SenderDataAAD {
        SenderDataAAD {
            group_id: self.group_id.clone(),
            epoch: self.epoch,
            content_type: self.content_type,
        }
    }

    /// The `PrivateContentAAD` of this message.
    pub fn content_aad(&self) -> PrivateContentAAD {
        PrivateContentAAD {
            group_id: self.group_id.clone(),
            epoch: self.epoch,
            content_type: self.content_type,
            authenticated_data: self.authenticated_data.clone(),
        }
    }
}

/// The `select (wire_format)` of MLSMessage (§6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MLSMessageBody {
    /// `mls_public_message`.
    PublicMessage(Box<PublicMessage>),
    /// `mls_private_message`.
    PrivateMessage(PrivateMessage),
    /// `mls_welcome`.
    Welcome(Welcome),
    /// `mls_group_info`.
    GroupInfo(Box<GroupInfo>),
    /// `mls_key_package`.
    KeyPackage(Box<KeyPackage>),
}

impl MLSMessageBody {
    /// The `wire_format` tag.
    pub fn wire_format(&self) -> WireFormat {
        match self {
            MLSMessageBody::PublicMessage(_) => WireFormat::PublicMessage,
            MLSMessageBody::PrivateMessage(_) => WireFormat::PrivateMessage,
            MLSMessageBody::Welcome(_) => WireFormat::Welcome,
            MLSMessageBody::GroupInfo(_) => WireFormat::GroupInfo,
            MLSMessageBody::KeyPackage(_) => WireFormat::KeyPackage,
        }
    }
}

impl Encode for MLSMessageBody {
    fn encode(&self, out: &mut Vec<u8>) {
        self.wire_format().encode(out);
        match self {
            MLSMessageBody::PublicMessage(m) => m.encode(out),
            MLSMessageBody::PrivateMessage(m) => m.encode(out),
            MLSMessageBody::Welcome(m) => m.encode(out),
            MLSMessageBody::GroupInfo(m) => m.encode(out),
            MLSMessageBody::KeyPackage(m) => m.encode(out),
        }
    }
    fn encoded_len(&self) -> usize {
        2 + match self {
            MLSMessageBody::PublicMessage(m) => m.encoded_len(),
            MLSMessageBody::PrivateMessage(m) => m.encoded_len(),
            MLSMessageBody::Welcome(m) => m.encoded_len(),
            MLSMessageBody::GroupInfo(m) => m.encoded_len(),
            MLSMessageBody::KeyPackage(m) => m.encoded_len(),
        }
    }
}

impl Decode for MLSMessageBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match WireFormat::decode(r)? {
            WireFormat::PublicMessage => {
                MLSMessageBody::PublicMessage(Box::new(PublicMessage::decode(r)?))
            }
            WireFormat::PrivateMessage => {
                MLSMessageBody::PrivateMessage(PrivateMessage::decode(r)?)
            }
            WireFormat::Welcome => MLSMessageBody::Welcome(Welcome::decode(r)?),
            WireFormat::GroupInfo => MLSMessageBody::GroupInfo(Box::new(GroupInfo::decode(r)?)),
            WireFormat::KeyPackage => MLSMessageBody::KeyPackage(Box::new(KeyPackage::decode(r)?)),
        })
    }
}

/// `MLSMessage` (§6): the envelope of everything MLS sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MLSMessage {
    /// Always `mls10`: decoding rejects other versions, whose format this RFC cannot know.
    pub version: ProtocolVersion,
    /// `wire_format` and its select arm.
    pub body: MLSMessageBody,
}

impl MLSMessage {
    /// An `mls10` message.
    pub fn new(body: MLSMessageBody) -> Self {
        MLSMessage {
            version: ProtocolVersion::MLS10,
            body,
        }
    }

    /// The `wire_format`.
    pub fn wire_format(&self) -> WireFormat {
        self.body.wire_format()
    }

    /// The group id, for the wire formats that show it in the clear.
    pub fn group_id(&self) -> Option<&[u8]> {
        match &self.body {
            MLSMessageBody::PublicMessage(m) => Some(&m.content.group_id),
            MLSMessageBody::PrivateMessage(m) => Some(&m.group_id),
            MLSMessageBody::GroupInfo(g) => Some(&g.group_context.group_id),
            MLSMessageBody::Welcome(_) | MLSMessageBody::KeyPackage(_) => None,
        }
    }

    /// The epoch, for the wire formats that show it in the clear.
    pub fn epoch(&self) -> Option<u64> {
        match &self.body {
            MLSMessageBody::PublicMessage(m) => Some(m.content.epoch),
            MLSMessageBody::PrivateMessage(m) => Some(m.epoch),
            MLSMessageBody::GroupInfo(g) => Some(g.group_context.epoch),
            MLSMessageBody::Welcome(_) | MLSMessageBody::KeyPackage(_) => None,
        }
    }

    /// The content type, for public and private messages.
    pub fn content_type(&self) -> Option<ContentType> {
        match &self.body {
            MLSMessageBody::PublicMessage(m) => Some(m.content.content_type()),
            MLSMessageBody::PrivateMessage(m) => Some(m.content_type),
            _ => None,
        }
    }
}

impl Encode for MLSMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.body.encode(out);
    }
    fn encoded_len(&self) -> usize {
        self.version.encoded_len() + self.body.encoded_len()
    }
}

impl Decode for MLSMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = ProtocolVersion::decode(r)?;
        if version != ProtocolVersion::MLS10 {
            return Err(DecodeError::UnknownValue("ProtocolVersion"));
        }
        Ok(MLSMessage {
            version,
            body: MLSMessageBody::decode(r)?,
        })
    }
}
