//! Session-ticket sealing under session-ticket encryption keys (STEKs).

/// A ticket was rejected. A server turns every rejection into a full handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The ticket's length cannot hold a key name, nonce and tag.
    #[error("ticket has an impossible length")]
    BadLength,
}

/// A ticket key file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file's length matches no known format.
    #[error("key file has an unknown length of {0} bytes")]
    UnknownLength(usize),
}
