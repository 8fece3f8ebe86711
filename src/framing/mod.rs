//! Message framing (RFC 9420 §6): framed content, public and private messages, MLSMessage.

pub mod content;
pub mod message;

#[cfg(test)]
mod tests;

pub use content::{
    AuthenticatedContent, Content, ContentType, FramedContent, FramedContentAuthData, Sender,
    SenderType, WireFormat,
};
pub use message::{
    MLSMessage, MLSMessageBody, PrivateContentAAD, PrivateMessage, PrivateMessageContent,
    PublicMessage, SenderData, SenderDataAAD,
};
