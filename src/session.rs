//! Session state kept for resumption, and its versioned byte encoding.

/// Encoded session state could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The encoding's first byte names a format this version of the crate does not know.
    #[error("unknown session encoding version {0}")]
    UnknownVersion(u8),
}
