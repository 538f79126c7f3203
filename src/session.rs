//! Session state kept for resumption, and its versioned byte encoding.
//!
//! A server keeps [`SessionState`] in a session-ID cache (RFC 5246 §7.4.1.2), seals it into a
//! ticket (RFC 5077 §4, RFC 8446 §4.6.1), and a client keeps it next to the ticket it received.
//! All three need the same compact byte form, [`SessionState::encode`]:
//!
//! ```text
//! u8  format version (1)
//! u8  kind: 1 = TLS 1.2, 2 = TLS 1.3
//! TLS 1.2: u16 protocol_version, u16 cipher_suite, [48] master_secret, u8 flags (bit 0:
//!          extended_master_secret), u64 issued_at (ms), u32 lifetime (s), sni<0..255>, alpn<0..255>
//! TLS 1.3: u16 cipher_suite, psk<1..64>, u32 ticket_age_add, u32 lifetime (s),
//!          u32 max_early_data, u64 issued_at (ms), sni<0..255>, alpn<0..255>
//! ```
//!
//! Format version 2 (TLS 1.3 only) is version 1 followed by `u64 auth_time (ms)`: it is
//! written for a ticket issued on a resumed connection, whose authentication is older than
//! its issue (RFC 8446 §4.6.1); every other state is written as version 1, so encodings
//! made before version 2 existed still decode, to the same state.
//!
//! An empty SNI or ALPN field means "absent": neither can be empty on the wire (RFC 6066 §3,
//! RFC 7301 §3.1), so the encoding is canonical and decoding then encoding gives the same bytes.
//! Encoded bytes hold the master secret or PSK, so [`SessionState::encode`] returns a
//! [`SecretVec`] that is zeroized when dropped.

use std::time::Duration;

use crate::codec::{InvalidMessage, Reader, Writer};
use crate::crypto::secret::{Secret, SecretArray, SecretVec};
use crate::time::Timestamp;

/// The format version written as the first byte of every encoding without an
/// authentication time.
pub const ENCODING_VERSION: u8 = 1;

/// The format version of TLS 1.3 state carrying an authentication time (module docs).
pub const ENCODING_VERSION_AUTH_TIME: u8 = 2;

const KIND_TLS12: u8 = 1;
const KIND_TLS13: u8 = 2;
const FLAG_EMS: u8 = 0x01;

/// Longest ticket lifetime TLS 1.3 allows: seven days (RFC 8446 §4.6.1).
pub const MAX_TLS13_LIFETIME_SECS: u32 = 7 * 24 * 3600;

/// Encoded session state could not be decoded (or state could not be encoded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The encoding's first byte names a format this version of the crate does not know.
    #[error("unknown session encoding version {0}")]
    UnknownVersion(u8),
    /// The second byte names neither TLS 1.2 nor TLS 1.3 state.
    #[error("unknown session kind {0}")]
    UnknownKind(u8),
    /// The encoding ended before the named field was complete.
    #[error("session encoding truncated in {0}")]
    Truncated(&'static str),
    /// Bytes followed the last field.
    #[error("trailing bytes after session encoding")]
    TrailingBytes,
    /// A field held a value the format does not allow (named).
    #[error("invalid value in session field {0}")]
    InvalidField(&'static str),
    /// A field (SNI or ALPN) was too long to encode.
    #[error("session field too long to encode")]
    TooLongToEncode,
}

impl From<InvalidMessage> for SessionError {
    fn from(e: InvalidMessage) -> Self {
        match e {
            InvalidMessage::Truncated(what) => Self::Truncated(what),
            InvalidMessage::TrailingBytes(_) => Self::TrailingBytes,
            InvalidMessage::TooLongToEncode => Self::TooLongToEncode,
            // The session encoding uses only plain reads; any other codec rule is a bad field.
            _ => Self::InvalidField("malformed field"),
        }
    }
}

/// State of a TLS 1.2 session: what an abbreviated handshake needs (RFC 5246 §7.4.1.2).
#[derive(Debug)]
pub struct Tls12Session {
    /// The negotiated protocol version's code point (0x0303 for TLS 1.2).
    pub protocol_version: u16,
    /// The negotiated cipher suite's code point.
    pub cipher_suite: u16,
    /// The 48-byte master secret (RFC 5246 §8.1).
    pub master_secret: SecretArray<48>,
    /// Whether the session used the extended master secret (RFC 7627 §5.3: resumption must
    /// match).
    pub extended_master_secret: bool,
    /// The server name the client asked for, if any (RFC 6066 §3).
    pub server_name: Option<String>,
    /// The negotiated application protocol, if any (RFC 7301).
    pub alpn: Option<Vec<u8>>,
    /// When the session was made.
    pub issued_at: Timestamp,
    /// How long it may be resumed, in seconds.
    pub lifetime_secs: u32,
}

/// State of a TLS 1.3 resumption ticket (RFC 8446 §4.6.1).
#[derive(Debug)]
pub struct Tls13Session {
    /// The cipher suite's code point; resumption must use one with the same hash (§4.2.11).
    pub cipher_suite: u16,
    /// The PSK derived from `resumption_master_secret` and the ticket nonce (§4.6.1).
    pub resumption_psk: Secret,
    /// `ticket_age_add`, which obfuscates the ticket age the client reports (§4.6.1).
    pub ticket_age_add: u32,
    /// `ticket_lifetime`, in seconds, at most seven days.
    pub lifetime_secs: u32,
    /// `max_early_data_size` from the `early_data` extension, 0 when 0-RTT is not offered.
    pub max_early_data: u32,
    /// The server name of the original connection, if any.
    pub server_name: Option<String>,
    /// The application protocol of the original connection, if any (needed for 0-RTT, §4.2.10).
    pub alpn: Option<Vec<u8>>,
    /// When the ticket was issued.
    pub issued_at: Timestamp,
    /// When the full handshake that authenticated this chain of resumptions happened, for a
    /// ticket issued on a resumed connection (RFC 8446 §4.6.1); `None` for a ticket of a
    /// full handshake, whose authentication time is `issued_at`.
    pub auth_time: Option<Timestamp>,
}

impl Tls12Session {
    /// A copy; named rather than `Clone` because the state holds the master secret.
    pub fn duplicate(&self) -> Self {
        Self {
            protocol_version: self.protocol_version,
            cipher_suite: self.cipher_suite,
            master_secret: self.master_secret.duplicate(),
            extended_master_secret: self.extended_master_secret,
            server_name: self.server_name.clone(),
            alpn: self.alpn.clone(),
            issued_at: self.issued_at,
            lifetime_secs: self.lifetime_secs,
        }
    }
}

impl Tls13Session {
    /// A copy; named rather than `Clone` because the state holds the resumption PSK.
    pub fn duplicate(&self) -> Self {
        Self {
            cipher_suite: self.cipher_suite,
            resumption_psk: self.resumption_psk.duplicate(),
            ticket_age_add: self.ticket_age_add,
            lifetime_secs: self.lifetime_secs,
            max_early_data: self.max_early_data,
            server_name: self.server_name.clone(),
            alpn: self.alpn.clone(),
            issued_at: self.issued_at,
            auth_time: self.auth_time,
        }
    }
}

impl Tls13Session {
    /// When the full handshake that authenticated this session happened (RFC 8446 §4.6.1):
    /// recorded for tickets issued on resumed connections, else the ticket's issue time.
    pub fn auth_time(&self) -> Timestamp {
        self.auth_time.unwrap_or(self.issued_at)
    }
}

/// Resumable session state of either protocol version.
#[derive(Debug)]
pub enum SessionState {
    /// A TLS 1.2 session (session ID or RFC 5077 ticket).
    Tls12(Tls12Session),
    /// A TLS 1.3 resumption ticket.
    Tls13(Tls13Session),
}

impl SessionState {
    /// When the state was made.
    pub fn issued_at(&self) -> Timestamp {
        match self {
            Self::Tls12(s) => s.issued_at,
            Self::Tls13(s) => s.issued_at,
        }
    }

    /// How long the state may be used after it was made.
    pub fn lifetime(&self) -> Duration {
        let secs = match self {
            Self::Tls12(s) => s.lifetime_secs,
            Self::Tls13(s) => s.lifetime_secs,
        };
        Duration::from_secs(u64::from(secs))
    }

    /// The first instant at which the state is no longer valid.
    pub fn expires_at(&self) -> Timestamp {
        self.issued_at().saturating_add(self.lifetime())
    }

    /// Whether the state has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at()
    }

    /// When the full handshake that authenticated the session happened (RFC 8446 §4.6.1). A
    /// TLS 1.2 session keeps its first issue time when it is resumed, so that is its
    /// authentication time.
    pub fn auth_time(&self) -> Timestamp {
        match self {
            Self::Tls12(s) => s.issued_at,
            Self::Tls13(s) => s.auth_time(),
        }
    }

    /// The server name of the original connection.
    pub fn server_name(&self) -> Option<&str> {
        match self {
            Self::Tls12(s) => s.server_name.as_deref(),
            Self::Tls13(s) => s.server_name.as_deref(),
        }
    }

    /// A copy; named rather than `Clone` because the state holds key material.
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Tls12(s) => Self::Tls12(s.duplicate()),
            Self::Tls13(s) => Self::Tls13(s.duplicate()),
        }
    }

    /// The versioned byte encoding (module docs), in a buffer zeroized on drop.
    ///
    /// # Errors
    /// [`SessionError::TooLongToEncode`] when SNI or ALPN is over 255 bytes;
    /// [`SessionError::InvalidField`] for an empty PSK.
    pub fn encode(&self) -> Result<SecretVec, SessionError> {
        // Exact capacity: the buffer never reallocates, so no copy of the secret is left behind
        // in a freed allocation.
        let mut w = Writer::with_capacity(self.encoded_len());
        let result = self.encode_into(&mut w);
        let out = SecretVec::new(w.into_vec());
        result.map(|()| out)
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let opt = |o: Option<usize>| 1 + o.unwrap_or(0);
        match self {
            Self::Tls12(s) => {
                2 + 2
                    + 2
                    + 48
                    + 1
                    + 8
                    + 4
                    + opt(s.server_name.as_ref().map(String::len))
                    + opt(s.alpn.as_ref().map(Vec::len))
            }
            Self::Tls13(s) => {
                2 + 2
                    + 1
                    + s.resumption_psk.len()
                    + 4
                    + 4
                    + 4
                    + 8
                    + opt(s.server_name.as_ref().map(String::len))
                    + opt(s.alpn.as_ref().map(Vec::len))
                    + s.auth_time.map_or(0, |_| 8)
            }
        }
    }

    fn encode_into(&self, w: &mut Writer) -> Result<(), SessionError> {
        let auth_time = match self {
            Self::Tls13(s) => s.auth_time,
            Self::Tls12(_) => None,
        };
        w.u8(match auth_time {
            Some(_) => ENCODING_VERSION_AUTH_TIME,
            None => ENCODING_VERSION,
        });
        match self {
            Self::Tls12(s) => {
                w.u8(KIND_TLS12);
                w.u16(s.protocol_version);
                w.u16(s.cipher_suite);
                w.bytes(s.master_secret.expose_secret());
                w.u8(if s.extended_master_secret {
                    FLAG_EMS
                } else {
                    0
                });
                w.u64(s.issued_at.as_millis());
                w.u32(s.lifetime_secs);
                write_optional(w, s.server_name.as_deref().map(str::as_bytes))?;
                write_optional(w, s.alpn.as_deref())?;
            }
            Self::Tls13(s) => {
                if s.resumption_psk.is_empty() {
                    return Err(SessionError::InvalidField("resumption_psk"));
                }
                w.u8(KIND_TLS13);
                w.u16(s.cipher_suite);
                w.u8_prefixed_bytes(s.resumption_psk.expose_secret())?;
                w.u32(s.ticket_age_add);
                w.u32(s.lifetime_secs);
                w.u32(s.max_early_data);
                w.u64(s.issued_at.as_millis());
                write_optional(w, s.server_name.as_deref().map(str::as_bytes))?;
                write_optional(w, s.alpn.as_deref())?;
                if let Some(t) = s.auth_time {
                    w.u64(t.as_millis());
                }
            }
        }
        Ok(())
    }

    /// Decodes [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    /// A [`SessionError`] naming what was wrong: an unknown format version or kind, a short
    /// body, trailing bytes, or a field value the format forbids (unknown flag bits, an empty
    /// or over-long PSK, a non-UTF-8 server name, a TLS 1.3 lifetime over seven days).
    pub fn decode(bytes: &[u8]) -> Result<Self, SessionError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("format version")?;
        if version != ENCODING_VERSION && version != ENCODING_VERSION_AUTH_TIME {
            return Err(SessionError::UnknownVersion(version));
        }
        // The TLS 1.2 master secret stays borrowed from the input until the state is complete,
        // then is copied once, straight into the zeroizing newtype inside the value returned:
        // no plain array holding it is left behind on the stack.
        let mut master_secret: &[u8] = &[];
        let mut state = match r.u8("kind")? {
            // Version 2 exists for TLS 1.3 state only.
            KIND_TLS12 if version == ENCODING_VERSION_AUTH_TIME => {
                return Err(SessionError::InvalidField("kind of a version 2 encoding"))
            }
            KIND_TLS12 => {
                let protocol_version = r.u16("protocol_version")?;
                let cipher_suite = r.u16("cipher_suite")?;
                master_secret = r.take(48, "master_secret")?;
                let flags = r.u8("flags")?;
                if flags & !FLAG_EMS != 0 {
                    return Err(SessionError::InvalidField("flags"));
                }
                let issued_at = Timestamp::from_millis(r.u64("issued_at")?);
                let lifetime_secs = r.u32("lifetime")?;
                let server_name = read_server_name(&mut r)?;
                let alpn = read_optional(&mut r, "alpn")?.map(<[u8]>::to_vec);
                Self::Tls12(Tls12Session {
                    protocol_version,
                    cipher_suite,
                    master_secret: SecretArray::zeroed(),
                    extended_master_secret: flags & FLAG_EMS != 0,
                    server_name,
                    alpn,
                    issued_at,
                    lifetime_secs,
                })
            }
            KIND_TLS13 => {
                let cipher_suite = r.u16("cipher_suite")?;
                let psk = r.u8_prefixed("resumption_psk")?;
                if psk.is_empty() {
                    return Err(SessionError::InvalidField("resumption_psk"));
                }
                let resumption_psk = Secret::from_slice(psk)
                    .map_err(|_| SessionError::InvalidField("resumption_psk"))?;
                let ticket_age_add = r.u32("ticket_age_add")?;
                let lifetime_secs = r.u32("lifetime")?;
                if lifetime_secs > MAX_TLS13_LIFETIME_SECS {
                    return Err(SessionError::InvalidField("lifetime"));
                }
                let max_early_data = r.u32("max_early_data")?;
                let issued_at = Timestamp::from_millis(r.u64("issued_at")?);
                let server_name = read_server_name(&mut r)?;
                let alpn = read_optional(&mut r, "alpn")?.map(<[u8]>::to_vec);
                let auth_time = if version == ENCODING_VERSION_AUTH_TIME {
                    Some(Timestamp::from_millis(r.u64("auth_time")?))
                } else {
                    None
                };
                Self::Tls13(Tls13Session {
                    cipher_suite,
                    resumption_psk,
                    ticket_age_add,
                    lifetime_secs,
                    max_early_data,
                    server_name,
                    alpn,
                    issued_at,
                    auth_time,
                })
            }
            other => return Err(SessionError::UnknownKind(other)),
        };
        r.expect_empty("session state")?;
        if let Self::Tls12(s) = &mut state {
            s.master_secret
                .expose_secret_mut()
                .copy_from_slice(master_secret);
        }
        Ok(state)
    }
}

fn write_optional(w: &mut Writer, value: Option<&[u8]>) -> Result<(), SessionError> {
    match value {
        Some([]) => Err(SessionError::InvalidField("empty sni or alpn")),
        Some(v) => Ok(w.u8_prefixed_bytes(v)?),
        None => {
            w.u8(0);
            Ok(())
        }
    }
}

fn read_optional<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
) -> Result<Option<&'a [u8]>, SessionError> {
    let v = r.u8_prefixed(what)?;
    Ok(if v.is_empty() { None } else { Some(v) })
}

fn read_server_name(r: &mut Reader<'_>) -> Result<Option<String>, SessionError> {
    match read_optional(r, "server_name")? {
        None => Ok(None),
        Some(v) => core::str::from_utf8(v)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| SessionError::InvalidField("server_name")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_encoding() {
        let s = SessionState::Tls12(Tls12Session {
            protocol_version: 0x0303,
            cipher_suite: 0xc02f,
            master_secret: SecretArray::new([1; 48]),
            extended_master_secret: true,
            server_name: Some("example.com".into()),
            alpn: None,
            issued_at: Timestamp::from_secs(5),
            lifetime_secs: 300,
        });
        assert_eq!(s.encode().unwrap().len(), s.encoded_len());
    }
}
