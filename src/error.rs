//! The crate's one error type, its sub-enums, and the alert each maps to. The errors of other
//! layers that [`Error`] wraps live in their own modules ([`crate::crypto::CryptoError`],
//! [`crate::session::SessionError`], [`crate::store::StoreError`],
//! [`crate::ticket::TicketError`], [`crate::ticket::KeyFileError`],
//! [`crate::verify::CertificateError`]).

use crate::alert::AlertDescription;

// Public API re-export: `codec` is internal, so this is the one path users have to the type
// `Error::InvalidMessage` carries.
pub use crate::codec::InvalidMessage;
// The other layers' errors are named where they are defined (`crypto::CryptoError`,
// `session::SessionError`, …); `Error` wraps them, and nothing reaches them through here.
use crate::crypto::CryptoError;
use crate::session::SessionError;
use crate::store::StoreError;
use crate::ticket::{KeyFileError, TicketError};
use crate::verify::CertificateError;

/// Everything that can go wrong in this crate.
///
/// [`Error::alert`] names the TLS alert a connection sends when the error ends it. Errors of
/// the state layer ([`TicketError`], [`StoreError`], [`SessionError`]) never end a connection
/// on their own: a server turns them into a full handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from the peer were not a valid message.
    #[error("invalid message: {0}")]
    InvalidMessage(#[from] InvalidMessage),
    /// A cryptographic operation failed or was misused.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The peer sent something valid in form but wrong in the protocol.
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
    /// Encoded session state could not be decoded.
    #[error("session state: {0}")]
    Session(#[from] SessionError),
    /// A session ticket was rejected.
    #[error("ticket: {0}")]
    Ticket(#[from] TicketError),
    /// A session cache or store failed.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// A ticket key file could not be used.
    #[error("key file: {0}")]
    KeyFile(#[from] KeyFileError),
    /// The server's certificate was not accepted.
    #[error("certificate: {0}")]
    InvalidCertificate(#[from] CertificateError),
    /// The peer sent a fatal alert.
    #[error("received fatal alert {0:?}")]
    AlertReceived(AlertDescription),
    /// The peer offers nothing this side can agree to.
    #[error("peer incompatible: {0}")]
    PeerIncompatible(#[from] PeerIncompatible),
    /// The connection was used in a way its state does not allow (sending early data without
    /// a ticket that permits it, writing after close).
    #[error("connection misused: {0}")]
    InvalidState(&'static str),
}

impl Error {
    /// The alert to send when this error ends a connection.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::InvalidMessage(e) => e.alert(),
            Self::Crypto(e) => e.alert(),
            Self::PeerMisbehaved(e) => e.alert(),
            Self::InvalidCertificate(e) => e.alert(),
            Self::PeerIncompatible(e) => e.alert(),
            Self::Session(_)
            | Self::Ticket(_)
            | Self::Store(_)
            | Self::KeyFile(_)
            | Self::InvalidState(_) => AlertDescription::InternalError,
            // Answering an alert with an alert is pointless; close_notify is what is left.
            Self::AlertReceived(_) => AlertDescription::CloseNotify,
        }
    }
}

/// A peer broke a protocol rule in a well-formed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// A PSK binder did not verify for a PSK the server accepted (RFC 8446 §4.2.11).
    #[error("PSK binder did not verify")]
    BadPskBinder,
    /// A Finished message's verify_data did not match (RFC 8446 §4.4.4, RFC 5246 §7.4.9).
    #[error("Finished verify_data did not match")]
    BadFinished,
    /// A message arrived that the handshake does not allow at this point.
    #[error("unexpected message")]
    UnexpectedMessage,
    /// The CertificateVerify signature did not verify (RFC 8446 §4.4.3).
    #[error("CertificateVerify signature did not verify")]
    BadCertificateVerify,
    /// Keys changed while a handshake message was still partly received (RFC 8446 §5.1).
    #[error("handshake message spans a key change")]
    KeyChangeMidMessage,
    /// The server selected something the client did not offer: a suite, a group, a PSK, a
    /// version, or an extension it did not ask for (RFC 8446 §4.1.3, §4.2).
    #[error("server selected something not offered: {0}")]
    SelectedUnoffered(&'static str),
    /// A message broke a rule of RFC 8446 that makes it illegal in context (a second
    /// HelloRetryRequest, a ClientHello after a retry that does not follow it, a missing
    /// key share).
    #[error("illegal parameter: {0}")]
    IllegalParameter(&'static str),
    /// A required extension is absent (RFC 8446 §9.2).
    #[error("missing extension: {0}")]
    MissingExtension(&'static str),
    /// More early data, change_cipher_spec or empty records arrived than allowed.
    #[error("too many {0}")]
    TooMany(&'static str),
}

impl PeerMisbehaved {
    /// The TLS alert this maps to.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::BadPskBinder | Self::BadFinished => AlertDescription::DecryptError,
            Self::BadCertificateVerify => AlertDescription::DecryptError,
            Self::UnexpectedMessage | Self::KeyChangeMidMessage | Self::TooMany(_) => {
                AlertDescription::UnexpectedMessage
            }
            Self::SelectedUnoffered(_) | Self::IllegalParameter(_) => {
                AlertDescription::IllegalParameter
            }
            Self::MissingExtension(_) => AlertDescription::MissingExtension,
        }
    }
}

/// The peer and this side have nothing in common to agree on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerIncompatible {
    /// No protocol version both sides enable (RFC 8446 §4.2.1; RFC 5246 §E.1).
    #[error("no common protocol version")]
    NoCommonVersion,
    /// No cipher suite in common.
    #[error("no common cipher suite")]
    NoCommonSuite,
    /// No key-exchange group in common.
    #[error("no common key-exchange group")]
    NoCommonGroup,
    /// No signature scheme in common with the server's key.
    #[error("no common signature scheme")]
    NoCommonSignatureScheme,
    /// A TLS 1.2 peer does not negotiate the extended master secret, which this side
    /// requires (RFC 7627 §5.2).
    #[error("extended master secret required")]
    ExtendedMasterSecretRequired,
    /// A TLS 1.2 peer does not support secure renegotiation signalling (RFC 5746), or asked
    /// to renegotiate, which this side never does.
    #[error("renegotiation refused")]
    Renegotiation,
    /// The client offers application protocols (RFC 7301) and none is one this server
    /// speaks.
    #[error("no common application protocol")]
    NoApplicationProtocol,
    /// The client signalled a fallback (TLS_FALLBACK_SCSV) to a version below the highest
    /// this side supports (RFC 7507 §3).
    #[error("inappropriate fallback")]
    InappropriateFallback,
}

impl PeerIncompatible {
    /// The TLS alert this maps to (RFC 8446 §4.1.1, §4.2.1, RFC 7507 §3).
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::NoCommonVersion => AlertDescription::ProtocolVersion,
            // RFC 7301 §3.2.
            Self::NoApplicationProtocol => AlertDescription::NoApplicationProtocol,
            Self::InappropriateFallback => AlertDescription::InappropriateFallback,
            _ => AlertDescription::HandshakeFailure,
        }
    }
}

// The alert each lower layer's error maps to lives here, with the others, so that the codec,
// crypto and verification layers know nothing of alerts.

impl InvalidMessage {
    /// The TLS alert this maps to.
    pub fn alert(&self) -> AlertDescription {
        match self {
            // RFC 8446 §6: "a message could not be decoded because some field was out of the
            // specified range or the length of the message was incorrect".
            Self::Truncated(_)
            | Self::TrailingBytes(_)
            | Self::EmptyList(_)
            | Self::LengthOutOfRange { .. }
            | Self::EmptyFragment(_) => AlertDescription::DecodeError,
            Self::TooLongToEncode => AlertDescription::InternalError,
            // Syntactically valid, semantically forbidden: RFC 8446 §4.2, §4.2.11, §4.6.3.
            Self::DuplicateExtension(_)
            | Self::ExtensionNotAllowed(_)
            | Self::PreSharedKeyNotLast
            | Self::PskBinderCountMismatch { .. }
            | Self::PskBinderLength(_)
            | Self::InvalidKeyUpdate(_)
            | Self::UnsupportedCurveType(_)
            | Self::HandshakeMessageTooLarge { .. } => AlertDescription::IllegalParameter,
            Self::RecordOverflow { .. } => AlertDescription::RecordOverflow,
            // RFC 8446 §5 and §5.4 name unexpected_message for these.
            Self::InvalidChangeCipherSpec
            | Self::UnknownContentType(_)
            | Self::MissingContentType
            | Self::UnexpectedProtectedType(_)
            | Self::UnexpectedHandshakeType(_) => AlertDescription::UnexpectedMessage,
        }
    }
}

impl CryptoError {
    /// The TLS alert this failure maps to when it ends a connection.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::DecryptFailed => AlertDescription::BadRecordMac,
            _ => AlertDescription::InternalError,
        }
    }
}

impl CertificateError {
    /// The alert this maps to (RFC 8446 §6.2).
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::Missing => AlertDescription::CertificateRequired,
            Self::NotTrusted => AlertDescription::UnknownCa,
            Self::Unsupported => AlertDescription::UnsupportedCertificate,
            Self::NotValidForName => AlertDescription::BadCertificate,
            Self::Expired => AlertDescription::CertificateExpired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_the_rfc_alert() {
        assert_eq!(
            Error::from(PeerMisbehaved::BadPskBinder).alert(),
            AlertDescription::DecryptError
        );
        assert_eq!(
            Error::from(InvalidMessage::Truncated("x")).alert(),
            AlertDescription::DecodeError
        );
        assert_eq!(
            Error::from(CryptoError::DecryptFailed).alert(),
            AlertDescription::BadRecordMac
        );
    }
}
