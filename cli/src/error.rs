//! One error type for the client: a one-line, human-readable message.

use std::fmt;

/// A client error: printed as `error: <message>` with exit code 1.
#[derive(Debug, Clone)]
pub struct Error {
    message: String,
    offline: bool,
}

/// Result alias of the client.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            offline: false,
        }
    }

    /// The server could not be reached (as opposed to refusing or failing).
    pub fn offline(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            offline: true,
        }
    }

    /// Whether the server could not be reached.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// This error with `context: ` in front.
    pub fn context(self, context: impl fmt::Display) -> Error {
        Error {
            message: format!("{context}: {}", self.message),
            offline: self.offline,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<cohort::Error> for Error {
    fn from(e: cohort::Error) -> Error {
        Error::new(format!("MLS: {e}"))
    }
}

impl From<cohort::error::DecodeError> for Error {
    fn from(e: cohort::error::DecodeError) -> Error {
        Error::new(format!("malformed MLS data: {e:?}"))
    }
}
