//! The handshake message framing (`Handshake` struct, RFC 8446 §4) and the messages too small
//! for a file of their own: EncryptedExtensions, ServerHelloDone, Finished, EndOfEarlyData,
//! KeyUpdate.

use super::certificate::{Certificate12, Certificate13, CertificateVerify};
use super::client_hello::ClientHello;
use super::enums::HandshakeType;
use super::key_exchange::{ClientKeyExchange, ServerKeyExchange};
use super::server_extensions::{
    encode_server_extensions, read_server_extensions, ServerContext, ServerExtension,
};
use super::server_hello::ServerHello;
use super::ticket::{NewSessionTicket12, NewSessionTicket13};
use super::Codec;
use crate::codec::{InvalidMessage, Reader, Writer};

/// Bytes of the handshake header: type (1) and u24 length (3).
pub(crate) const HANDSHAKE_HEADER_LEN: usize = 4;

/// The protocol version a message is decoded for: Certificate and NewSessionTicket differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

/// KeyUpdate's `request_update` (RFC 8446 §4.6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyUpdateRequest {
    /// update_not_requested (0).
    NotRequested,
    /// update_requested (1).
    Requested,
}

/// A decoded handshake message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HandshakePayload {
    /// ClientHello.
    ClientHello(ClientHello),
    /// ServerHello or HelloRetryRequest ([`ServerHello::is_retry_request`]).
    ServerHello(ServerHello),
    /// EncryptedExtensions: `Extension extensions<0..2^16-1>` (RFC 8446 §4.3.1).
    EncryptedExtensions(Vec<ServerExtension>),
    /// TLS 1.2 Certificate.
    Certificate12(Certificate12),
    /// TLS 1.3 Certificate.
    Certificate13(Certificate13),
    /// CertificateVerify.
    CertificateVerify(CertificateVerify),
    /// ECDHE ServerKeyExchange.
    ServerKeyExchange(ServerKeyExchange),
    /// ECDHE ClientKeyExchange.
    ClientKeyExchange(ClientKeyExchange),
    /// ServerHelloDone, empty (RFC 5246 §7.4.5).
    ServerHelloDone,
    /// Finished: `opaque verify_data[Hash.length]` (TLS 1.3) or `[12]` (TLS 1.2). The length
    /// depends on the suite, so it is the handshake layer that checks it.
    Finished(Vec<u8>),
    /// RFC 5077 NewSessionTicket.
    NewSessionTicket12(NewSessionTicket12),
    /// TLS 1.3 NewSessionTicket.
    NewSessionTicket13(NewSessionTicket13),
    /// EndOfEarlyData, empty (RFC 8446 §4.5).
    EndOfEarlyData,
    /// KeyUpdate.
    KeyUpdate(KeyUpdateRequest),
    /// Any other type, kept as sent (the handshake layer answers it with unexpected_message).
    Unknown {
        /// The type byte.
        typ: HandshakeType,
        /// The body.
        body: Vec<u8>,
    },
}

impl HandshakePayload {
    /// The handshake type this payload is sent as.
    pub(crate) fn typ(&self) -> HandshakeType {
        use HandshakeType as T;
        match self {
            Self::ClientHello(_) => T::ClientHello,
            Self::ServerHello(_) => T::ServerHello,
            Self::EncryptedExtensions(_) => T::EncryptedExtensions,
            Self::Certificate12(_) | Self::Certificate13(_) => T::Certificate,
            Self::CertificateVerify(_) => T::CertificateVerify,
            Self::ServerKeyExchange(_) => T::ServerKeyExchange,
            Self::ClientKeyExchange(_) => T::ClientKeyExchange,
            Self::ServerHelloDone => T::ServerHelloDone,
            Self::Finished(_) => T::Finished,
            Self::NewSessionTicket12(_) | Self::NewSessionTicket13(_) => T::NewSessionTicket,
            Self::EndOfEarlyData => T::EndOfEarlyData,
            Self::KeyUpdate(_) => T::KeyUpdate,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        match self {
            Self::ClientHello(m) => m.encode(w),
            Self::ServerHello(m) => m.encode(w),
            Self::EncryptedExtensions(exts) => encode_server_extensions(w, exts),
            Self::Certificate12(m) => m.encode(w),
            Self::Certificate13(m) => m.encode(w),
            Self::CertificateVerify(m) => m.encode(w),
            Self::ServerKeyExchange(m) => m.encode(w),
            Self::ClientKeyExchange(m) => m.encode(w),
            Self::ServerHelloDone | Self::EndOfEarlyData => Ok(()),
            Self::Finished(verify_data) => {
                w.bytes(verify_data);
                Ok(())
            }
            Self::NewSessionTicket12(m) => m.encode(w),
            Self::NewSessionTicket13(m) => m.encode(w),
            Self::KeyUpdate(request) => {
                w.u8(match request {
                    KeyUpdateRequest::NotRequested => 0,
                    KeyUpdateRequest::Requested => 1,
                });
                Ok(())
            }
            Self::Unknown { body, .. } => {
                w.bytes(body);
                Ok(())
            }
        }
    }

    fn read_body(
        typ: HandshakeType,
        r: &mut Reader<'_>,
        version: Version,
    ) -> Result<Self, InvalidMessage> {
        use HandshakeType as T;
        Ok(match (typ, version) {
            (T::ClientHello, _) => Self::ClientHello(ClientHello::read(r)?),
            (T::ServerHello, _) => Self::ServerHello(ServerHello::read(r)?),
            (T::EncryptedExtensions, _) => Self::EncryptedExtensions(read_server_extensions(
                r,
                ServerContext::EncryptedExtensions,
            )?),
            (T::Certificate, Version::Tls12) => Self::Certificate12(Certificate12::read(r)?),
            (T::Certificate, Version::Tls13) => Self::Certificate13(Certificate13::read(r)?),
            (T::CertificateVerify, _) => Self::CertificateVerify(CertificateVerify::read(r)?),
            (T::ServerKeyExchange, _) => Self::ServerKeyExchange(ServerKeyExchange::read(r)?),
            (T::ClientKeyExchange, _) => Self::ClientKeyExchange(ClientKeyExchange::read(r)?),
            (T::ServerHelloDone, _) => Self::ServerHelloDone,
            (T::Finished, _) => Self::Finished(r.take_rest().to_vec()),
            (T::NewSessionTicket, Version::Tls12) => {
                Self::NewSessionTicket12(NewSessionTicket12::read(r)?)
            }
            (T::NewSessionTicket, Version::Tls13) => {
                Self::NewSessionTicket13(NewSessionTicket13::read(r)?)
            }
            (T::EndOfEarlyData, _) => Self::EndOfEarlyData,
            (T::KeyUpdate, _) => Self::KeyUpdate(match r.u8("request_update")? {
                0 => KeyUpdateRequest::NotRequested,
                1 => KeyUpdateRequest::Requested,
                other => return Err(InvalidMessage::InvalidKeyUpdate(other)),
            }),
            _ => Self::Unknown {
                typ,
                body: r.take_rest().to_vec(),
            },
        })
    }
}

/// A handshake message: `HandshakeType msg_type; uint24 length; body` (RFC 8446 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HandshakeMessage {
    /// The decoded body.
    pub(crate) payload: HandshakePayload,
}

/// The first allocation of an encoded handshake message.
const ENCODE_CAPACITY: usize = 512;

impl HandshakeMessage {
    /// Decodes exactly one message, header included, from `bytes`.
    ///
    /// # Errors
    /// Any [`InvalidMessage`] of the body's decoder; [`InvalidMessage::TrailingBytes`] when the
    /// body or the input holds more than the message.
    pub(crate) fn decode(bytes: &[u8], version: Version) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let typ = HandshakeType::read(&mut r)?;
        let mut body = r.sub_u24("handshake message")?;
        r.expect_empty("handshake message")?;
        let payload = HandshakePayload::read_body(typ, &mut body, version)?;
        body.expect_empty("handshake message body")?;
        Ok(Self { payload })
    }

    /// The encoding, header included: what goes into the transcript hash.
    ///
    /// # Errors
    /// [`InvalidMessage::TooLongToEncode`] when a field does not fit its length prefix.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, InvalidMessage> {
        // Room for the messages of a resumed handshake (a ClientHello with its ticket is the
        // largest), so the buffer is allocated once instead of grown from empty.
        let mut w = Writer::with_capacity(ENCODE_CAPACITY);
        self.payload.typ().encode(&mut w);
        w.u24_prefixed_with(|w| self.payload.encode_body(w))?;
        Ok(w.into_vec())
    }
}
