//! The crate's one error type, its sub-enums, and the alert each maps to.

use crate::AlertDescription;

pub use crate::codec::InvalidMessage;
pub use crate::crypto::CryptoError;
pub use crate::session::SessionError;
pub use crate::store::StoreError;
pub use crate::ticket::{KeyFileError, TicketError};
pub use crate::verify::CertificateError;

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
}

impl Error {
    /// The alert to send when this error ends a connection.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::InvalidMessage(e) => e.alert(),
            Self::Crypto(e) => e.alert(),
            Self::PeerMisbehaved(e) => e.alert(),
            Self::InvalidCertificate(e) => e.alert(),
            Self::Session(_) | Self::Ticket(_) | Self::Store(_) | Self::KeyFile(_) => {
                AlertDescription::InternalError
            }
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
}

impl PeerMisbehaved {
    /// The TLS alert this maps to.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::BadPskBinder | Self::BadFinished => AlertDescription::DecryptError,
            Self::UnexpectedMessage => AlertDescription::UnexpectedMessage,
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
