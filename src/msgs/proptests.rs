//! Round trips over generated values: every message and extension encodes, decodes to the
//! same value, and decodes again from its own encoding.

use proptest::collection::vec;
use proptest::prelude::*;

use super::alert::{AlertMessage, ChangeCipherSpec};
use super::certificate::{Certificate12, Certificate13, CertificateEntry, CertificateVerify};
use super::client_hello::ClientHello;
use super::enums::*;
use super::extensions::{
    ClientExtension, KeyShareEntry, OfferedPsks, PskIdentity, ServerNameEntry,
};
use super::handshake::{HandshakeMessage, HandshakePayload, KeyUpdateRequest, Version};
use super::key_exchange::{ClientKeyExchange, EcdheParams, ServerKeyExchange};
use super::server_extensions::{ServerContext, ServerExtension};
use super::server_hello::{ServerHello, HELLO_RETRY_REQUEST_RANDOM};
use super::ticket::{NewSessionTicket12, NewSessionTicket13};
use super::{Codec, RawExtension};
use crate::codec::{Reader, Writer};

fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), min..=max)
}

fn group() -> impl Strategy<Value = NamedGroup> {
    any::<u16>().prop_map(NamedGroup::from)
}

fn scheme() -> impl Strategy<Value = SignatureScheme> {
    any::<u16>().prop_map(SignatureScheme::from)
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    any::<u16>().prop_map(ProtocolVersion::from)
}

/// An extension type this crate has no decoder for, so it stays raw.
fn unknown_extension() -> impl Strategy<Value = RawExtension> {
    (any::<u16>(), bytes(0, 20))
        .prop_filter("unknown type", |(t, _)| {
            matches!(ExtensionType::from(*t), ExtensionType::Unknown(_))
        })
        .prop_map(|(typ, body)| RawExtension { typ, body })
}

fn key_share() -> impl Strategy<Value = KeyShareEntry> {
    (group(), bytes(1, 40)).prop_map(|(group, key_exchange)| KeyShareEntry {
        group,
        key_exchange,
    })
}

fn offered_psks() -> impl Strategy<Value = OfferedPsks> {
    vec(
        (
            bytes(1, 40),
            any::<u32>(),
            prop_oneof![bytes(32, 32), bytes(48, 48)],
        ),
        1..4,
    )
    .prop_map(|psks| OfferedPsks {
        identities: psks
            .iter()
            .map(|(identity, age, _)| PskIdentity {
                identity: identity.clone(),
                obfuscated_ticket_age: *age,
            })
            .collect(),
        binders: psks.into_iter().map(|(_, _, b)| b).collect(),
    })
}

/// Every ClientExtension variant except pre_shared_key, which has its own place.
fn client_extension() -> impl Strategy<Value = ClientExtension> {
    prop_oneof![
        vec((any::<u8>(), bytes(1, 20)), 1..3).prop_map(|names| ClientExtension::ServerName(
            names
                .into_iter()
                .map(|(name_type, name)| ServerNameEntry { name_type, name })
                .collect()
        )),
        vec(group(), 1..5).prop_map(ClientExtension::SupportedGroups),
        bytes(1, 4).prop_map(ClientExtension::EcPointFormats),
        vec(scheme(), 1..8).prop_map(ClientExtension::SignatureAlgorithms),
        vec(bytes(1, 10), 1..4).prop_map(ClientExtension::Alpn),
        Just(ClientExtension::ExtendedMasterSecret),
        bytes(0, 60).prop_map(ClientExtension::SessionTicket),
        Just(ClientExtension::EarlyData),
        vec(version(), 1..4).prop_map(ClientExtension::SupportedVersions),
        bytes(1, 30).prop_map(ClientExtension::Cookie),
        vec(any::<u8>().prop_map(PskKeyExchangeMode::from), 1..3)
            .prop_map(ClientExtension::PskKeyExchangeModes),
        vec(key_share(), 0..3).prop_map(ClientExtension::KeyShare),
        bytes(0, 12).prop_map(ClientExtension::RenegotiationInfo),
        unknown_extension().prop_map(ClientExtension::Unknown),
    ]
}

/// Extensions with distinct types, pre_shared_key last when present.
fn client_extensions() -> impl Strategy<Value = Vec<ClientExtension>> {
    (
        vec(client_extension(), 0..8),
        proptest::option::of(offered_psks()),
    )
        .prop_map(|(list, psk)| {
            let mut seen = std::collections::HashSet::new();
            let mut out: Vec<_> = list
                .into_iter()
                .filter(|e| seen.insert(u16::from(e.typ())))
                .collect();
            out.extend(psk.map(ClientExtension::PreSharedKey));
            out
        })
}

fn client_hello() -> impl Strategy<Value = ClientHello> {
    (
        version(),
        any::<[u8; 32]>(),
        bytes(0, 32),
        vec(any::<u16>().prop_map(CipherSuite::from), 1..6),
        bytes(1, 3),
        client_extensions(),
        any::<bool>(),
    )
        .prop_map(
            |(legacy_version, random, session_id, cipher_suites, compression, extensions, e)| {
                ClientHello {
                    legacy_version,
                    random,
                    session_id,
                    cipher_suites,
                    compression_methods: compression,
                    empty_extensions_block: e && extensions.is_empty(),
                    extensions,
                }
            },
        )
}

fn server_extension(context: ServerContext) -> BoxedStrategy<ServerExtension> {
    let unknown = unknown_extension().prop_map(ServerExtension::Unknown);
    match context {
        ServerContext::ServerHello => prop_oneof![
            Just(ServerExtension::ServerName),
            bytes(1, 3).prop_map(ServerExtension::EcPointFormats),
            bytes(1, 10).prop_map(ServerExtension::Alpn),
            Just(ServerExtension::ExtendedMasterSecret),
            Just(ServerExtension::SessionTicket),
            bytes(0, 24).prop_map(ServerExtension::RenegotiationInfo),
            key_share().prop_map(ServerExtension::KeyShare),
            any::<u16>().prop_map(ServerExtension::PreSharedKey),
            version().prop_map(ServerExtension::SupportedVersions),
            unknown,
        ]
        .boxed(),
        ServerContext::HelloRetryRequest => prop_oneof![
            group().prop_map(ServerExtension::KeyShareRetry),
            bytes(1, 30).prop_map(ServerExtension::Cookie),
            version().prop_map(ServerExtension::SupportedVersions),
            unknown,
        ]
        .boxed(),
        ServerContext::EncryptedExtensions => prop_oneof![
            Just(ServerExtension::ServerName),
            vec(group(), 1..4).prop_map(ServerExtension::SupportedGroups),
            bytes(1, 10).prop_map(ServerExtension::Alpn),
            Just(ServerExtension::EarlyData),
            unknown,
        ]
        .boxed(),
        ServerContext::NewSessionTicket => prop_oneof![
            any::<u32>().prop_map(ServerExtension::MaxEarlyDataSize),
            unknown,
        ]
        .boxed(),
    }
}

fn server_extensions(context: ServerContext) -> impl Strategy<Value = Vec<ServerExtension>> {
    vec(server_extension(context), 0..6).prop_map(|list| {
        let mut seen = std::collections::HashSet::new();
        list.into_iter()
            .filter(|e| seen.insert(u16::from(e.typ())))
            .collect()
    })
}

fn server_hello() -> impl Strategy<Value = ServerHello> {
    (any::<bool>(), any::<[u8; 32]>()).prop_flat_map(|(retry, random)| {
        let (random, context) = if retry {
            (HELLO_RETRY_REQUEST_RANDOM, ServerContext::HelloRetryRequest)
        } else {
            (random, ServerContext::ServerHello)
        };
        (
            version(),
            bytes(0, 32),
            any::<u16>(),
            any::<u8>(),
            server_extensions(context),
            any::<bool>(),
        )
            .prop_map(
                move |(legacy_version, session_id, suite, compression, exts, e)| ServerHello {
                    legacy_version,
                    random,
                    session_id,
                    cipher_suite: CipherSuite::from(suite),
                    compression_method: compression,
                    empty_extensions_block: e && exts.is_empty(),
                    extensions: exts,
                },
            )
    })
}

fn certificate_verify() -> impl Strategy<Value = CertificateVerify> {
    (scheme(), bytes(0, 80)).prop_map(|(scheme, signature)| CertificateVerify { scheme, signature })
}

fn raw_extensions() -> impl Strategy<Value = Vec<RawExtension>> {
    vec((any::<u16>(), bytes(0, 8)), 0..3).prop_map(|list| {
        let mut seen = std::collections::HashSet::new();
        list.into_iter()
            .filter(|(t, _)| seen.insert(*t))
            .map(|(typ, body)| RawExtension { typ, body })
            .collect()
    })
}

/// A payload of every kind, paired with the version it decodes under.
fn payload() -> impl Strategy<Value = (HandshakePayload, Version)> {
    use HandshakePayload as P;
    let either = prop_oneof![Just(Version::Tls12), Just(Version::Tls13)];
    prop_oneof![
        (client_hello(), either.clone()).prop_map(|(m, v)| (P::ClientHello(m), v)),
        (server_hello(), either.clone()).prop_map(|(m, v)| (P::ServerHello(m), v)),
        server_extensions(ServerContext::EncryptedExtensions)
            .prop_map(|e| (P::EncryptedExtensions(e), Version::Tls13)),
        vec(bytes(1, 60), 0..3).prop_map(|certificates| (
            P::Certificate12(Certificate12 { certificates }),
            Version::Tls12
        )),
        (bytes(0, 8), vec((bytes(1, 60), raw_extensions()), 0..3)).prop_map(|(context, e)| (
            P::Certificate13(Certificate13 {
                context,
                entries: e
                    .into_iter()
                    .map(|(cert_data, extensions)| CertificateEntry {
                        cert_data,
                        extensions
                    })
                    .collect(),
            }),
            Version::Tls13
        )),
        (certificate_verify(), either.clone()).prop_map(|(m, v)| (P::CertificateVerify(m), v)),
        (group(), bytes(1, 97), certificate_verify()).prop_map(|(group, public, signed)| (
            P::ServerKeyExchange(ServerKeyExchange {
                params: EcdheParams { group, public },
                signed
            }),
            Version::Tls12
        )),
        bytes(1, 97).prop_map(|public| (
            P::ClientKeyExchange(ClientKeyExchange { public }),
            Version::Tls12
        )),
        Just((P::ServerHelloDone, Version::Tls12)),
        (bytes(0, 48), either.clone()).prop_map(|(d, v)| (P::Finished(d), v)),
        (any::<u32>(), bytes(0, 100)).prop_map(|(lifetime_hint, ticket)| (
            P::NewSessionTicket12(NewSessionTicket12 {
                lifetime_hint,
                ticket
            }),
            Version::Tls12
        )),
        (
            any::<u32>(),
            any::<u32>(),
            bytes(0, 8),
            bytes(1, 100),
            server_extensions(ServerContext::NewSessionTicket)
        )
            .prop_map(|(lifetime, age_add, nonce, ticket, extensions)| (
                P::NewSessionTicket13(NewSessionTicket13 {
                    lifetime,
                    age_add,
                    nonce,
                    ticket,
                    extensions
                }),
                Version::Tls13
            )),
        Just((P::EndOfEarlyData, Version::Tls13)),
        prop_oneof![
            Just(KeyUpdateRequest::NotRequested),
            Just(KeyUpdateRequest::Requested)
        ]
        .prop_map(|r| (P::KeyUpdate(r), Version::Tls13)),
        (
            prop_oneof![Just(0u8), Just(3), Just(13), Just(99), Just(254)],
            bytes(0, 20),
            either
        )
            .prop_map(|(t, body, v)| (
                P::Unknown {
                    typ: HandshakeType::from(t),
                    body
                },
                v
            )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_handshake_message_round_trips((payload, version) in payload()) {
        let message = HandshakeMessage { payload };
        let bytes = message.encode().unwrap();
        let decoded = HandshakeMessage::decode(&bytes, version).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(decoded.encode().unwrap(), bytes);
    }

    #[test]
    fn every_client_extension_round_trips(ext in client_extension()) {
        let bytes = ext.to_bytes().unwrap();
        prop_assert_eq!(ClientExtension::from_bytes(&bytes).unwrap(), ext);
    }

    #[test]
    fn offered_psks_round_trip(psks in offered_psks()) {
        let bytes = psks.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), 2 + psks.identities.iter().map(|i| 6 + i.identity.len()).sum::<usize>() + psks.binders_encoded_len());
        prop_assert_eq!(OfferedPsks::from_bytes(&bytes).unwrap(), psks);
    }

    #[test]
    fn every_server_extension_round_trips_in_its_context(
        (ext, context) in prop_oneof![
            Just(ServerContext::ServerHello),
            Just(ServerContext::HelloRetryRequest),
            Just(ServerContext::EncryptedExtensions),
            Just(ServerContext::NewSessionTicket),
        ].prop_flat_map(|c| (server_extension(c), Just(c)))
    ) {
        let mut w = Writer::new();
        ext.encode(&mut w).unwrap();
        let mut r = Reader::new(w.as_slice());
        prop_assert_eq!(ServerExtension::read(&mut r, context).unwrap(), ext);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn alerts_and_change_cipher_spec_round_trip(level in any::<u8>(), description in any::<u8>()) {
        let alert = AlertMessage {
            level: AlertLevel::from(level),
            description: crate::alert::AlertDescription::from(description),
        };
        let bytes = alert.to_bytes().unwrap();
        prop_assert_eq!(bytes, [level, description]);
        prop_assert_eq!(AlertMessage::from_bytes(&[level, description]).unwrap(), alert);
        prop_assert_eq!(ChangeCipherSpec::from_bytes(&ChangeCipherSpec.to_bytes().unwrap()), Ok(ChangeCipherSpec));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics_and_what_decodes_reencodes(
        typ in any::<u8>(), body in bytes(0, 64)
    ) {
        let mut message = vec![typ];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend_from_slice(&body);
        crate::fuzzing::handshake_message(&message);
        crate::fuzzing::client_hello(&body);
    }
}
