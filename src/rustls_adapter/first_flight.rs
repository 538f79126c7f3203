//! The client's first flight read with this crate's own record layer and ClientHello decoder,
//! before rustls sees a byte: what session ID or stateful ticket identities the connection will
//! ask rustls's session storage for, so they can be fetched ahead of the handshake.
//!
//! Reading is sans-IO and bounded: the bytes read are kept (rustls gets them all afterwards),
//! at most [`MAX_FIRST_FLIGHT`] of them, and anything this reader cannot make out — another
//! record type, a malformed or oversized message, a ClientHello spread over more bytes than
//! the bound — ends the reading without a lookup. rustls then answers those bytes as it would
//! have anyway; a lookup skipped is a full handshake, never an error.

use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{ContentType, ExtensionType, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload, Version};
use crate::record::{Deframer, HandshakeJoiner, HEADER_LEN, MAX_PLAINTEXT_LEN};
use crate::store::{Fetch, LookupKey};

/// The most bytes read before giving up on finding a ClientHello: two full plaintext records,
/// far more than any client sends in one hello (a post-quantum key share included), and little
/// enough that a connection waiting for its lookup holds no more.
pub(crate) const MAX_FIRST_FLIGHT: usize = 2 * (HEADER_LEN + MAX_PLAINTEXT_LEN);

/// The most ticket identities of one ClientHello looked up: each is a key in the store, and an
/// honest client offers one or two.
pub(crate) const MAX_LOOKUP_IDENTITIES: usize = 4;

/// What reading has come to so far.
#[derive(Debug)]
pub(crate) enum Progress {
    /// No whole ClientHello yet: read more (at most [`FirstFlight::room`] bytes).
    More,
    /// The ClientHello, decoded.
    Hello(Box<ClientHello>),
    /// Not a first flight this reader makes out: hand the bytes to rustls unlooked-up.
    Unparsed,
}

/// The bytes of a first flight and the state of reading them.
#[derive(Debug)]
pub(crate) struct FirstFlight {
    raw: Vec<u8>,
    deframer: Deframer,
    joiner: HandshakeJoiner,
}

impl FirstFlight {
    /// Nothing read yet.
    pub(crate) fn new() -> Self {
        Self {
            raw: Vec::new(),
            deframer: Deframer::new(),
            // The joiner refuses a header announcing more than any ClientHello can hold; one
            // announcing less but more than the bound is given up on when the bound is read.
            joiner: HandshakeJoiner::new(),
        }
    }

    /// How many more bytes may be read.
    pub(crate) fn room(&self) -> usize {
        MAX_FIRST_FLIGHT.saturating_sub(self.raw.len())
    }

    /// Every byte read so far, for rustls.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.raw
    }

    /// Takes bytes just read (at most [`room`](Self::room) of them are kept).
    pub(crate) fn push(&mut self, data: &[u8]) -> Progress {
        let data = &data[..data.len().min(self.room())];
        self.raw.extend_from_slice(data);
        let mut rest = data;
        loop {
            let taken = self.deframer.push(rest);
            rest = &rest[taken..];
            if let Some(done) = self.drain_records() {
                return done;
            }
            if rest.is_empty() {
                break;
            }
            if taken == 0 {
                // Cannot happen once whole records are popped; stop rather than spin.
                return Progress::Unparsed;
            }
        }
        if self.room() == 0 {
            Progress::Unparsed
        } else {
            Progress::More
        }
    }

    /// Pops whole records into the joiner; `Some` once reading is over.
    fn drain_records(&mut self) -> Option<Progress> {
        loop {
            let record = match self.deframer.pop() {
                Ok(Some(record)) => record,
                Ok(None) => return None,
                Err(_) => return Some(Progress::Unparsed),
            };
            if record.typ != ContentType::Handshake || self.joiner.push(&record.payload).is_err() {
                return Some(Progress::Unparsed);
            }
            if let Some(message) = self.joiner.pop() {
                return Some(decode_client_hello(&message));
            }
        }
    }
}

fn decode_client_hello(message: &[u8]) -> Progress {
    // The server's own decoder: header and body, nothing trailing (the version only matters
    // to other messages).
    match HandshakeMessage::decode(message, Version::Tls12) {
        Ok(HandshakeMessage {
            payload: HandshakePayload::ClientHello(hello),
        }) => Progress::Hello(Box::new(hello)),
        _ => Progress::Unparsed,
    }
}

/// What the server will ask its session storage for, as rustls decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// TLS 1.2 is enabled.
    pub(crate) tls12: bool,
    /// TLS 1.3 is enabled.
    pub(crate) tls13: bool,
    /// TLS 1.3 tickets are cache keys (rustls's ticketer is disabled).
    pub(crate) tls13_stateful: bool,
}

/// The keys rustls will look up for `hello`: the TLS 1.2 session ID (read and kept) when TLS
/// 1.2 will be negotiated and no ticket is offered (rustls then looks the ID up), or, when TLS
/// 1.3 will be and its tickets are stateful, the first [`MAX_LOOKUP_IDENTITIES`] distinct PSK
/// identities (each taken once). Nothing for a hello rustls will not resume from the cache.
pub(crate) fn lookup_keys(hello: &ClientHello, plan: &Plan) -> Vec<LookupKey> {
    let offers_tls13 = matches!(
        hello.extension(ExtensionType::SupportedVersions),
        Some(ClientExtension::SupportedVersions(versions)) if versions.contains(&ProtocolVersion::Tls13)
    );
    if offers_tls13 && plan.tls13 {
        return if plan.tls13_stateful {
            ticket_identities(hello)
        } else {
            Vec::new()
        };
    }
    let ticket_offered = matches!(
        hello.extension(ExtensionType::SessionTicket),
        Some(ClientExtension::SessionTicket(ticket)) if !ticket.is_empty()
    );
    if !plan.tls12 || hello.session_id.is_empty() || ticket_offered {
        return Vec::new();
    }
    vec![LookupKey {
        fetch: Fetch::Get,
        key: hello.session_id.clone(),
    }]
}

fn ticket_identities(hello: &ClientHello) -> Vec<LookupKey> {
    // Without psk_key_exchange_modes rustls refuses the hello (RFC 8446 §4.2.9): taking its
    // tickets would only burn them.
    if hello
        .extension(ExtensionType::PskKeyExchangeModes)
        .is_none()
    {
        return Vec::new();
    }
    let Some(offered) = hello.offered_psks() else {
        return Vec::new();
    };
    let mut keys: Vec<LookupKey> = Vec::with_capacity(MAX_LOOKUP_IDENTITIES);
    for identity in &offered.identities {
        if keys.len() == MAX_LOOKUP_IDENTITIES {
            break;
        }
        if keys.iter().all(|k| k.key != identity.identity) {
            keys.push(LookupKey {
                fetch: Fetch::Take,
                key: identity.identity.clone(),
            });
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::{CipherSuite, PskKeyExchangeMode};
    use crate::msgs::extensions::{OfferedPsks, PskIdentity};
    use crate::msgs::Codec;

    const BOTH: Plan = Plan {
        tls12: true,
        tls13: true,
        tls13_stateful: true,
    };

    /// A hello offering `versions`, a 32-byte session ID, and `tickets` as PSK identities.
    fn hello(versions: &[ProtocolVersion], tickets: &[&[u8]]) -> ClientHello {
        let mut extensions = vec![ClientExtension::SupportedVersions(versions.to_vec())];
        if !tickets.is_empty() {
            extensions.push(ClientExtension::PskKeyExchangeModes(vec![
                PskKeyExchangeMode::PskDheKe,
            ]));
            extensions.push(ClientExtension::PreSharedKey(OfferedPsks {
                identities: tickets
                    .iter()
                    .map(|t| PskIdentity {
                        identity: t.to_vec(),
                        obfuscated_ticket_age: 0,
                    })
                    .collect(),
                binders: tickets.iter().map(|_| vec![0; 32]).collect(),
            }));
        }
        ClientHello {
            legacy_version: ProtocolVersion::Tls12,
            random: [0; 32],
            session_id: vec![7; 32],
            cipher_suites: vec![CipherSuite::Tls13Aes128GcmSha256],
            compression_methods: vec![0],
            extensions,
            empty_extensions_block: false,
        }
    }

    fn keys(hello: &ClientHello, plan: &Plan) -> Vec<(Fetch, Vec<u8>)> {
        lookup_keys(hello, plan)
            .into_iter()
            .map(|k| (k.fetch, k.key))
            .collect()
    }

    #[test]
    fn a_tls13_hello_to_a_stateful_server_takes_its_first_distinct_identities() {
        let offered: [&[u8]; 7] = [b"a", b"b", b"a", b"c", b"d", b"e", b"f"];
        let h = hello(&[ProtocolVersion::Tls13, ProtocolVersion::Tls12], &offered);
        let expected: Vec<_> = [b"a", b"b", b"c", b"d"]
            .iter()
            .map(|k| (Fetch::Take, k.to_vec()))
            .collect();
        assert_eq!(
            keys(&h, &BOTH),
            expected,
            "the compatibility session ID is not looked up"
        );
    }

    #[test]
    fn stateless_tickets_need_no_lookup() {
        let h = hello(&[ProtocolVersion::Tls13], &[b"sealed"]);
        let plan = Plan {
            tls13_stateful: false,
            ..BOTH
        };
        assert!(keys(&h, &plan).is_empty());
    }

    #[test]
    fn tickets_without_psk_modes_are_not_taken() {
        let mut h = hello(&[ProtocolVersion::Tls13], &[b"ticket"]);
        h.extensions
            .retain(|e| e.typ() != ExtensionType::PskKeyExchangeModes);
        assert!(keys(&h, &BOTH).is_empty());
    }

    #[test]
    fn a_tls13_capable_client_of_a_tls12_server_is_looked_up_by_session_id() {
        let h = hello(&[ProtocolVersion::Tls13, ProtocolVersion::Tls12], &[]);
        let plan = Plan {
            tls13: false,
            ..BOTH
        };
        assert_eq!(keys(&h, &plan), [(Fetch::Get, vec![7; 32])]);
        // Not when it also offers a TLS 1.2 ticket: rustls then ignores the ID.
        let mut with_ticket = h.clone();
        with_ticket
            .extensions
            .push(ClientExtension::SessionTicket(b"ticket".to_vec()));
        assert!(keys(&with_ticket, &plan).is_empty());
        // An empty ticket extension only asks for a ticket.
        let mut asking = h;
        asking
            .extensions
            .push(ClientExtension::SessionTicket(Vec::new()));
        assert_eq!(keys(&asking, &plan).len(), 1);
    }

    #[test]
    fn a_server_without_tls12_looks_up_no_session_id() {
        let h = hello(&[ProtocolVersion::Tls12], &[]);
        let plan = Plan {
            tls12: false,
            ..BOTH
        };
        assert!(keys(&h, &plan).is_empty());
    }

    fn record(typ: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![typ, 3, 1];
        out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn a_record_of_another_type_is_unparsed_at_once() {
        let mut flight = FirstFlight::new();
        assert!(matches!(
            flight.push(&record(23, b"GET / HTTP/1.0\r\n\r\n")),
            Progress::Unparsed
        ));
    }

    #[test]
    fn plain_text_is_unparsed_and_kept_for_rustls() {
        let mut flight = FirstFlight::new();
        assert!(matches!(
            flight.push(b"GET / HTTP/1.1\r\n"),
            Progress::Unparsed
        ));
        assert_eq!(flight.into_bytes(), b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn a_hello_announced_longer_than_any_can_be_is_not_waited_for() {
        let mut flight = FirstFlight::new();
        // A ClientHello header announcing 2^24 - 1 bytes.
        let header = [1u8, 0xff, 0xff, 0xff];
        assert!(matches!(
            flight.push(&record(22, &header)),
            Progress::Unparsed
        ));
    }

    #[test]
    fn bytes_past_the_bound_are_neither_kept_nor_waited_for() {
        let mut flight = FirstFlight::new();
        // One-byte handshake records of a hello that never completes.
        let mut progress = Progress::More;
        let mut pushed = 0;
        let header = [1u8, 0x00, 0x80, 0x00];
        for byte in header.iter().chain(std::iter::repeat(&0u8)) {
            progress = flight.push(&record(22, &[*byte]));
            pushed += 1;
            if !matches!(progress, Progress::More) || pushed > MAX_FIRST_FLIGHT {
                break;
            }
        }
        assert!(matches!(progress, Progress::Unparsed));
        assert_eq!(flight.room(), 0);
        assert_eq!(flight.into_bytes().len(), MAX_FIRST_FLIGHT);
    }

    /// A first flight as handshake records of `chunk`-byte pieces: the ClientHello message
    /// header (`announced` body bytes) and then `body`, so the joiner and the decoder see
    /// every shape, whole and torn.
    fn torn_hello(announced: u16, body: &[u8], chunk: usize) -> Vec<u8> {
        let [hi, lo] = announced.to_be_bytes();
        let message: Vec<u8> = [&[1u8, 0, hi, lo][..], body].concat();
        message
            .chunks(chunk.max(1))
            .flat_map(|piece| record(22, piece))
            .collect()
    }

    proptest::proptest! {
        /// Whatever arrives, in whatever pieces: reading ends (a hello, or unparsed, or more
        /// wanted while there is room), keeps at most the bound, never panics; a hello it
        /// decodes names at most the capped keys on every plan.
        #[test]
        fn any_first_flight_in_any_pieces_is_read_within_its_bounds(
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            announced in 0u16..700,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..700),
            chunk in 1usize..300,
            shape in 0u8..3,
            tickets in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 1..40), 0..12),
            cut in 1usize..64,
        ) {
            let bytes = match shape {
                0 => raw,
                1 => torn_hello(announced, &body, chunk),
                // A real ClientHello with any identities, torn anywhere: the decoder reaches
                // the hello and the keys are read from it.
                _ => {
                    let offered: Vec<&[u8]> = tickets.iter().map(Vec::as_slice).collect();
                    let hello = hello(&[ProtocolVersion::Tls13, ProtocolVersion::Tls12], &offered);
                    let encoded = hello.to_bytes().expect("encodes");
                    let announced = u16::try_from(encoded.len()).expect("small");
                    torn_hello(announced, &encoded, chunk)
                }
            };
            let mut flight = FirstFlight::new();
            let mut progress = Progress::More;
            for piece in bytes.chunks(cut) {
                progress = flight.push(piece);
                if !matches!(progress, Progress::More) {
                    break;
                }
            }
            proptest::prop_assert!(flight.room() <= MAX_FIRST_FLIGHT);
            if shape == 2 {
                proptest::prop_assert!(matches!(progress, Progress::Hello(_)), "{progress:?}");
            }
            if let Progress::Hello(hello) = &progress {
                for bits in 0..8u8 {
                    let plan = Plan {
                        tls12: bits & 1 != 0,
                        tls13: bits & 2 != 0,
                        tls13_stateful: bits & 4 != 0,
                    };
                    let keys = lookup_keys(hello, &plan);
                    proptest::prop_assert!(keys.len() <= MAX_LOOKUP_IDENTITIES);
                    proptest::prop_assert!(
                        keys.iter().all(|k| k.fetch == Fetch::Take) || keys.len() == 1
                    );
                }
            }
            proptest::prop_assert!(flight.into_bytes().len() <= bytes.len().min(MAX_FIRST_FLIGHT));
        }
    }
}
