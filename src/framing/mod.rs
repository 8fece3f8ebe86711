//! Message framing (RFC 9420 §6): framed content, public and private messages, MLSMessage.

pub mod content;
pub mod message;
pub mod private;
pub mod public;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_protection;

pub use content::{
    AuthenticatedContent, Content, ContentType, FramedContent, FramedContentAuthData, Sender,
    SenderType, WireFormat,
};
pub use message::{
    MLSMessage, MLSMessageBody, PrivateContentAAD, PrivateMessage, PrivateMessageContent,
    PublicMessage, SenderData, SenderDataAAD,
};
pub use private::{protect_private, unprotect_private, unprotect_private_staged, Padding};
pub use public::{protect_public, sign_content, unprotect_public, VerifiedContent};
