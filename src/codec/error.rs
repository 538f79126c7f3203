//! Why bytes from a peer were not a valid message.

/// A message or record could not be decoded, or broke a rule the RFC sets for its contents.
///
/// Each variant maps to the alert the RFC prescribes (`InvalidMessage::alert`, in
/// [`crate::error`]): malformed
/// syntax is `decode_error`; well-formed but forbidden values are `illegal_parameter`; records
/// over the size limit are `record_overflow`; records of a type that cannot appear are
/// `unexpected_message`. Type codes are carried as their wire numbers.
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
    /// A list or opaque field the RFC declares non-empty (`<1..>`) had length zero.
    #[error("empty {0}, which must not be empty")]
    EmptyList(&'static str),
    /// A length outside the range the RFC's syntax gives the named field (e.g. a session ID
    /// over 32 bytes, a binder under 32 bytes).
    #[error("{what} has length {len}, outside its allowed range")]
    LengthOutOfRange {
        /// The field.
        what: &'static str,
        /// Its length on the wire.
        len: usize,
    },
    /// Two extensions of the same type in one block (RFC 8446 §4.2).
    #[error("duplicate extension {0:#06x}")]
    DuplicateExtension(u16),
    /// An extension this crate recognises, in a message that may not carry it (RFC 8446 §4.2).
    #[error("extension {0:#06x} not allowed in this message")]
    ExtensionNotAllowed(u16),
    /// `pre_shared_key` was not the last extension of a ClientHello (RFC 8446 §4.2.11).
    #[error("pre_shared_key is not the last extension")]
    PreSharedKeyNotLast,
    /// The numbers of PSK identities and binders differ (RFC 8446 §4.2.11).
    #[error("{identities} PSK identities but {binders} binders")]
    PskBinderCountMismatch {
        /// Identities offered.
        identities: usize,
        /// Binders offered.
        binders: usize,
    },
    /// A binder of a length no TLS 1.3 hash produces (32 for SHA-256, 48 for SHA-384).
    #[error("PSK binder of {0} bytes")]
    PskBinderLength(usize),
    /// A KeyUpdate whose `request_update` is neither 0 nor 1 (RFC 8446 §4.6.3).
    #[error("KeyUpdate request_update value {0}")]
    InvalidKeyUpdate(u8),
    /// ECDHE parameters not of the `named_curve` type (RFC 8422 §5.4).
    #[error("EC curve type {0} is not named_curve")]
    UnsupportedCurveType(u8),
    /// A ChangeCipherSpec whose body is not the single byte 1 (RFC 8446 §5, RFC 5246 §7.1).
    #[error("invalid ChangeCipherSpec body")]
    InvalidChangeCipherSpec,
    /// A record of a content type TLS does not define (RFC 8446 §5).
    #[error("unknown content type {0}")]
    UnknownContentType(u8),
    /// A record longer than the protocol allows (RFC 8446 §5.1, §5.2; RFC 5246 §6.2).
    #[error("record of {len} bytes exceeds the limit of {max}")]
    RecordOverflow {
        /// The length the record claims or decrypts to.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// A handshake message longer than this endpoint accepts; it was refused from its header,
    /// before its body was buffered.
    #[error("handshake message of {len} bytes exceeds the limit of {max}")]
    HandshakeMessageTooLarge {
        /// The length in the message header.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A zero-length record of a type that may not be empty (RFC 8446 §5.1).
    #[error("empty record fragment of content type {0}")]
    EmptyFragment(u8),
    /// A decrypted TLS 1.3 record had no non-zero byte to name its content type
    /// (RFC 8446 §5.4).
    #[error("protected record has no content type")]
    MissingContentType,
    /// A handshake message of a type other than the one the caller asked to decode.
    #[error("unexpected handshake message type {0}")]
    UnexpectedHandshakeType(u8),
    /// A TLS 1.3 protected record whose outer type is not application_data (RFC 8446 §5.2).
    #[error("protected record with outer content type {0}")]
    UnexpectedProtectedType(u8),
}
