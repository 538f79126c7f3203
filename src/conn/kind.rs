//! What kind of handshake a connection made: the answer to "did it resume, and how?".

/// How a connection's handshake went, as [`crate::ClientConnection::handshake_kind`] and
/// [`crate::ServerConnection::handshake_kind`] report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeKind {
    /// A full handshake: certificate authentication and a fresh key exchange.
    Full,
    /// An abbreviated handshake from earlier session state.
    Resumed {
        /// How the earlier state was used.
        mechanism: ResumptionMechanism,
        /// What became of early data.
        early_data: EarlyDataStatus,
    },
}

impl HandshakeKind {
    /// True for any resumed handshake.
    pub fn is_resumed(self) -> bool {
        matches!(self, Self::Resumed { .. })
    }
}

/// The resumption mechanism of a resumed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResumptionMechanism {
    /// A TLS 1.3 PSK from a NewSessionTicket (RFC 8446 §2.2). `dhe: true` is `psk_dhe_ke`
    /// (a fresh (EC)DHE went into the keys: forward secret); `dhe: false` is `psk_ke`, whose
    /// keys follow from the PSK alone and are **not forward secret**.
    Tls13Psk {
        /// Whether a fresh (EC)DHE exchange went into the key schedule.
        dhe: bool,
    },
    /// A TLS 1.2 session ID the server found in its cache (RFC 5246 §7.4.1.2). The master
    /// secret is reused; the keys are fresh, from the new randoms (RFC 5246 §6.3).
    SessionId,
    /// A TLS 1.2 RFC 5077 session ticket the server opened. As for `SessionId`, the master
    /// secret is reused and the keys come from the new randoms.
    Ticket,
}

/// What happened to 0-RTT data (RFC 8446 §4.2.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EarlyDataStatus {
    /// The client sent early data and the server took it.
    Accepted,
    /// The client offered early data and the server skipped it.
    Rejected,
    /// The client did not offer early data.
    NotOffered,
}

impl core::fmt::Display for HandshakeKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Full => f.write_str("full handshake"),
            Self::Resumed {
                mechanism: ResumptionMechanism::Tls13Psk { dhe },
                early_data,
            } => {
                let mode = if *dhe {
                    "psk_dhe_ke"
                } else {
                    "psk_ke, not forward secret"
                };
                write!(f, "resumed via ticket ({mode})")?;
                match early_data {
                    EarlyDataStatus::Accepted => f.write_str(", early data accepted"),
                    EarlyDataStatus::Rejected => f.write_str(", early data rejected"),
                    EarlyDataStatus::NotOffered => Ok(()),
                }
            }
            Self::Resumed {
                mechanism: ResumptionMechanism::SessionId,
                ..
            } => f.write_str("resumed via session ID"),
            Self::Resumed {
                mechanism: ResumptionMechanism::Ticket,
                ..
            } => f.write_str("resumed via ticket (RFC 5077)"),
        }
    }
}
