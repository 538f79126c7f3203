//! Why bytes from a peer were not a valid message.

use crate::AlertDescription;

/// A message or record could not be decoded, or broke a rule the RFC sets for its contents.
///
/// Each variant maps to the alert the RFC prescribes ([`InvalidMessage::alert`]): malformed
/// syntax is `decode_error`; well-formed but forbidden values are `illegal_parameter`; records
/// over the size limit are `record_overflow`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended before the named field was complete (or a length prefix pointed past it).
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// Bytes were left over after the named structure.
    #[error("trailing bytes after {0}")]
    TrailingBytes(&'static str),
    /// A value too long for its length prefix was about to be encoded.
    #[error("value too long for its length prefix")]
    TooLongToEncode,
}

impl InvalidMessage {
    /// The TLS alert this maps to.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::Truncated(_) | Self::TrailingBytes(_) => AlertDescription::DecodeError,
            Self::TooLongToEncode => AlertDescription::InternalError,
        }
    }
}
