//! Decoder tests: the RFC 8448 messages decode and re-encode byte for byte, one malformed input
//! per rule gives the typed error and the alert the RFC names, and the PSK binder slice.

use super::client_hello::{binder_transcript_prefix, ClientHello};
use super::enums::{ExtensionType, NamedGroup, ProtocolVersion};
use super::extensions::ClientExtension;
use super::handshake::{HandshakeMessage, HandshakePayload, Version};
use super::server_extensions::ServerExtension;
use super::Codec;
use crate::alert::AlertDescription;
use crate::codec::InvalidMessage;
use crate::record::{Deframer, HandshakeJoiner};

const RFC8448: &str = include_str!("../../tests/data/rfc8448_full.json");

/// The hex string of `"key": "..."`, searching after `after` (a tiny extractor: the file is
/// flat key/value pairs with one nested `records` object).
fn field(key: &str, after: &str) -> Vec<u8> {
    let start = RFC8448.find(after).expect("section present");
    let pattern = format!("\"{key}\": \"");
    let at = start + RFC8448[start..].find(&pattern).expect("key present") + pattern.len();
    let end = at + RFC8448[at..].find('"').expect("string ends");
    hex(&RFC8448[at..end])
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn top(key: &str) -> Vec<u8> {
    field(key, "{")
}

/// Splits back-to-back handshake messages.
fn split_messages(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_be_bytes([0, bytes[1], bytes[2], bytes[3]]) as usize;
        let (m, rest) = bytes.split_at(4 + len);
        out.push(m);
        bytes = rest;
    }
    out
}

fn rfc8448_messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![
        ("client_hello", top("client_hello")),
        ("server_hello", top("server_hello")),
    ];
    let flight = top("server_flight");
    let names = [
        "encrypted_extensions",
        "certificate",
        "certificate_verify",
        "server_finished",
    ];
    for (name, m) in names.iter().zip(split_messages(&flight)) {
        out.push((name, m.to_vec()));
    }
    out.push(("client_finished", top("client_finished")));
    out.push(("new_session_ticket", top("new_session_ticket")));
    out
}

#[test]
fn every_rfc8448_message_decodes_and_reencodes_byte_for_byte() {
    let messages = rfc8448_messages();
    assert_eq!(messages.len(), 8);
    for (name, bytes) in messages {
        let decoded = HandshakeMessage::decode(&bytes, Version::Tls13)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(decoded.payload, HandshakePayload::Unknown { .. }),
            "{name} decoded as unknown"
        );
        assert_eq!(decoded.encode().unwrap(), bytes, "{name}");
    }
}

#[test]
fn rfc8448_client_hello_fields_are_decoded() {
    let bytes = top("client_hello");
    let hello = ClientHello::from_bytes(&bytes[4..]).unwrap();
    assert_eq!(hello.legacy_version, ProtocolVersion::Tls12);
    assert_eq!(hello.cipher_suites.len(), 3);
    let Some(ClientExtension::KeyShare(shares)) = hello.extension(ExtensionType::KeyShare) else {
        panic!("key_share missing");
    };
    assert_eq!(shares[0].group, NamedGroup::X25519);
    assert_eq!(shares[0].key_exchange, top("client_x25519_public"));
    assert_eq!(
        hello.extension(ExtensionType::SupportedVersions),
        Some(&ClientExtension::SupportedVersions(vec![
            ProtocolVersion::Tls13
        ]))
    );
    // record_size_limit (28) has no decoder here: it survives raw.
    assert!(matches!(
        hello.extensions.last(),
        Some(ClientExtension::Unknown(raw)) if raw.typ == 28 && raw.body == [0x40, 0x01]
    ));
    assert_eq!(binder_transcript_prefix(&bytes), Ok(None));
}

#[test]
fn rfc8448_server_hello_carries_the_server_share() {
    let bytes = top("server_hello");
    let HandshakePayload::ServerHello(hello) = HandshakeMessage::decode(&bytes, Version::Tls13)
        .unwrap()
        .payload
    else {
        panic!("not a ServerHello");
    };
    assert!(!hello.is_retry_request());
    let Some(ServerExtension::KeyShare(share)) = hello.extension(ExtensionType::KeyShare) else {
        panic!("key_share missing");
    };
    assert_eq!(share.key_exchange, top("server_x25519_public"));
}

#[test]
fn rfc8448_new_session_ticket_has_the_published_fields() {
    let bytes = top("new_session_ticket");
    let HandshakePayload::NewSessionTicket13(ticket) =
        HandshakeMessage::decode(&bytes, Version::Tls13)
            .unwrap()
            .payload
    else {
        panic!("not a TLS 1.3 NewSessionTicket");
    };
    assert_eq!(ticket.lifetime, 30);
    assert_eq!(ticket.age_add, 0xfad6_aac5);
    assert_eq!(ticket.nonce, [0, 0]);
    assert_eq!(ticket.nonce, top("ticket_nonce"));
    assert_eq!(ticket.ticket.len(), 0xb2);
    assert_eq!(ticket.max_early_data_size(), Some(0x400));
}

// ---- builders for hand-made inputs ----

fn u8p(b: &[u8]) -> Vec<u8> {
    let mut v = vec![b.len() as u8];
    v.extend_from_slice(b);
    v
}

fn u16p(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![typ];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn ext(typ: u16, body: &[u8]) -> Vec<u8> {
    let mut v = typ.to_be_bytes().to_vec();
    v.extend(u16p(body));
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A ClientHello message with the given extensions (already encoded, concatenated).
fn client_hello_with(extensions: &[u8]) -> Vec<u8> {
    let body = cat(&[
        &[3, 3],
        &[7; 32],
        &u8p(&[]),
        &u16p(&[0x13, 0x01]),
        &u8p(&[0]),
        &u16p(extensions),
    ]);
    hs(1, &body)
}

fn psk_ext(identities: &[&[u8]], binders: &[&[u8]]) -> Vec<u8> {
    let ids: Vec<u8> = identities
        .iter()
        .flat_map(|id| cat(&[&u16p(id), &[0, 0, 0, 9]]))
        .collect();
    let bs: Vec<u8> = binders.iter().flat_map(|b| u8p(b)).collect();
    ext(41, &cat(&[&u16p(&ids), &u16p(&bs)]))
}

fn server_hello_with(random: [u8; 32], extensions: &[u8]) -> Vec<u8> {
    let body = cat(&[
        &[3, 3],
        &random,
        &u8p(&[]),
        &[0x13, 0x01, 0],
        &u16p(extensions),
    ]);
    hs(2, &body)
}

#[test]
fn the_binder_slice_is_the_client_hello_up_to_the_binders_list() {
    let binder = [0xbb; 32];
    let psk = psk_ext(&[b"ticket"], &[&binder]);
    let message = client_hello_with(&cat(&[&ext(42, &[]), &psk]));
    let prefix = binder_transcript_prefix(&message).unwrap().unwrap();
    // RFC 8446 §4.2.11.2: everything up to and including the identities; the binders list
    // (its 2-byte length and each 1-byte-prefixed binder) is what is left out.
    assert_eq!(prefix.len(), message.len() - (2 + 1 + 32));
    assert_eq!(&message[prefix.len()..], cat(&[&[0, 33, 32], &binder[..]]));
    assert!(
        prefix.ends_with(&[0, 0, 0, 9]),
        "ends with the last obfuscated_ticket_age"
    );
    // The header's length still counts the whole message: the slice is not re-encoded.
    assert_eq!(prefix[..4], message[..4]);
    // Two PSKs, SHA-384 binders.
    let b48 = [0xcc; 48];
    let psk = psk_ext(&[b"a", b"b"], &[&b48, &b48]);
    let message = client_hello_with(&psk);
    let prefix = binder_transcript_prefix(&message).unwrap().unwrap();
    assert_eq!(message.len() - prefix.len(), 2 + 2 * 49);
}

#[test]
fn the_binder_slice_refuses_other_messages_and_invalid_hellos() {
    assert_eq!(
        binder_transcript_prefix(&top("server_hello")),
        Err(InvalidMessage::UnexpectedHandshakeType(2))
    );
    let psk = psk_ext(&[b"t"], &[&[0; 32]]);
    let not_last = client_hello_with(&cat(&[&psk, &ext(42, &[])]));
    assert_eq!(
        binder_transcript_prefix(&not_last),
        Err(InvalidMessage::PreSharedKeyNotLast)
    );
}

// ---- the malformed-input table ----

/// What a table row feeds its bytes to.
#[derive(Clone, Copy, Debug)]
enum Input {
    Tls12,
    Tls13,
    Joiner,
    Deframer,
    ChangeCipherSpec,
}

fn run(input: Input, bytes: &[u8]) -> Result<(), InvalidMessage> {
    match input {
        Input::Tls12 => HandshakeMessage::decode(bytes, Version::Tls12).map(drop),
        Input::Tls13 => HandshakeMessage::decode(bytes, Version::Tls13).map(drop),
        Input::Joiner => HandshakeJoiner::new().push(bytes),
        Input::Deframer => {
            let mut d = Deframer::new();
            d.push(bytes);
            d.pop().map(drop)
        }
        Input::ChangeCipherSpec => super::alert::ChangeCipherSpec::from_bytes(bytes).map(drop),
    }
}

#[test]
fn each_malformed_input_gives_its_typed_error_and_rfc_alert() {
    use AlertDescription::{DecodeError, IllegalParameter, RecordOverflow, UnexpectedMessage};
    use InvalidMessage as E;
    let rfc_sh = top("server_hello");
    let mut sh_trailing = rfc_sh.clone();
    sh_trailing.push(0);
    sh_trailing[3] += 1;
    let mut ch_overlong_suites = client_hello_with(&[]);
    ch_overlong_suites[4 + 2 + 32 + 1 + 1] = 0xff; // cipher_suites length low byte
    let ee = |exts: &[u8]| hs(8, &u16p(exts));
    let big_record = cat(&[&[23, 3, 3], &((1u16 << 14) + 257).to_be_bytes()]);

    #[rustfmt::skip]
    let table: Vec<(&str, Input, Vec<u8>, InvalidMessage, AlertDescription)> = vec![
        ("truncated message body", Input::Tls13,
            rfc_sh[..rfc_sh.len() - 1].to_vec(), E::Truncated("handshake message"), DecodeError),
        ("overlong inner length", Input::Tls13,
            ch_overlong_suites, E::Truncated("cipher_suites"), DecodeError),
        ("trailing bytes after the body", Input::Tls13,
            sh_trailing, E::TrailingBytes("handshake message body"), DecodeError),
        ("trailing bytes inside an extension", Input::Tls13,
            server_hello_with([1; 32], &ext(43, &[3, 4, 0])),
            E::TrailingBytes("extension data"), DecodeError),
        ("odd-length u16 list", Input::Tls13,
            client_hello_with(&ext(10, &[0, 3, 0, 0x1d, 0])),
            E::Truncated("NamedGroup"), DecodeError),
        ("duplicate ClientHello extension", Input::Tls13,
            client_hello_with(&cat(&[&ext(23, &[]), &ext(23, &[])])),
            E::DuplicateExtension(23), IllegalParameter),
        ("duplicate unknown extension", Input::Tls13,
            client_hello_with(&cat(&[&ext(0x7777, &[1]), &ext(0x7777, &[2])])),
            E::DuplicateExtension(0x7777), IllegalParameter),
        ("duplicate EncryptedExtensions extension", Input::Tls13,
            ee(&cat(&[&ext(42, &[]), &ext(42, &[])])), E::DuplicateExtension(42), IllegalParameter),
        ("pre_shared_key not last", Input::Tls13,
            client_hello_with(&cat(&[&psk_ext(&[b"t"], &[&[0; 32]]), &ext(42, &[])])),
            E::PreSharedKeyNotLast, IllegalParameter),
        ("more binders than identities", Input::Tls13,
            client_hello_with(&psk_ext(&[b"t"], &[&[0; 32], &[0; 32]])),
            E::PskBinderCountMismatch { identities: 1, binders: 2 }, IllegalParameter),
        ("binder shorter than the syntax allows", Input::Tls13,
            client_hello_with(&psk_ext(&[b"t"], &[&[0; 31]])),
            E::LengthOutOfRange { what: "PSK binder", len: 31 }, DecodeError),
        ("binder of no hash's length", Input::Tls13,
            client_hello_with(&psk_ext(&[b"t"], &[&[0; 40]])),
            E::PskBinderLength(40), IllegalParameter),
        ("no PSK identities", Input::Tls13,
            client_hello_with(&psk_ext(&[], &[&[0; 32]])), E::EmptyList("PSK identities"), DecodeError),
        ("empty PSK identity", Input::Tls13,
            client_hello_with(&psk_ext(&[b""], &[&[0; 32]])), E::EmptyList("PSK identity"), DecodeError),
        ("empty cipher_suites", Input::Tls13,
            hs(1, &cat(&[&[3, 3], &[0; 32], &[0], &[0, 0], &[1, 0]])),
            E::EmptyList("cipher_suites"), DecodeError),
        ("empty compression methods", Input::Tls12,
            hs(1, &cat(&[&[3, 3], &[0; 32], &[0], &[0, 2, 0xc0, 0x2f], &[0]])),
            E::EmptyList("legacy_compression_methods"), DecodeError),
        ("session ID over 32 bytes", Input::Tls12,
            hs(1, &cat(&[&[3, 3], &[0; 32], &u8p(&[0; 33]), &[0, 2, 0xc0, 0x2f], &[1, 0]])),
            E::LengthOutOfRange { what: "legacy_session_id", len: 33 }, DecodeError),
        ("empty supported_versions", Input::Tls13,
            client_hello_with(&ext(43, &[0])), E::EmptyList("supported_versions"), DecodeError),
        ("empty key_exchange", Input::Tls13,
            client_hello_with(&ext(51, &u16p(&[0, 0x1d, 0, 0]))), E::EmptyList("key_exchange"), DecodeError),
        ("empty signature_algorithms", Input::Tls13,
            client_hello_with(&ext(13, &[0, 0])),
            E::EmptyList("supported_signature_algorithms"), DecodeError),
        ("empty psk_key_exchange_modes", Input::Tls13,
            client_hello_with(&ext(45, &[0])), E::EmptyList("ke_modes"), DecodeError),
        ("empty server_name list", Input::Tls13,
            client_hello_with(&ext(0, &[0, 0])), E::EmptyList("server_name_list"), DecodeError),
        ("empty ALPN protocol name", Input::Tls13,
            client_hello_with(&ext(16, &u16p(&[0]))), E::EmptyList("protocol name"), DecodeError),
        ("empty cookie", Input::Tls13,
            client_hello_with(&ext(44, &[0, 0])), E::EmptyList("cookie"), DecodeError),
        ("early_data with a body in a ClientHello", Input::Tls13,
            client_hello_with(&ext(42, &[0])), E::TrailingBytes("extension data"), DecodeError),
        ("empty TLS 1.3 ticket", Input::Tls13,
            hs(4, &cat(&[&[0; 8], &u8p(&[]), &[0, 0], &[0, 0]])), E::EmptyList("ticket"), DecodeError),
        ("empty TLS 1.2 certificate", Input::Tls12,
            hs(11, &[0, 0, 3, 0, 0, 0]), E::EmptyList("ASN.1Cert"), DecodeError),
        ("key_share in EncryptedExtensions", Input::Tls13,
            ee(&ext(51, &cat(&[&[0, 0x1d], &u16p(&[1])]))), E::ExtensionNotAllowed(51), IllegalParameter),
        ("signature_algorithms in a ServerHello", Input::Tls13,
            server_hello_with([1; 32], &ext(13, &[0, 2, 4, 3])), E::ExtensionNotAllowed(13), IllegalParameter),
        ("pre_shared_key in a HelloRetryRequest", Input::Tls13,
            server_hello_with(super::server_hello::HELLO_RETRY_REQUEST_RANDOM, &ext(41, &[0, 0])),
            E::ExtensionNotAllowed(41), IllegalParameter),
        ("ServerHello key_share form in a HelloRetryRequest", Input::Tls13,
            server_hello_with(super::server_hello::HELLO_RETRY_REQUEST_RANDOM,
                &ext(51, &cat(&[&[0, 0x1d], &u16p(&[1])]))),
            E::TrailingBytes("extension data"), DecodeError),
        ("two ALPN protocols selected by a server", Input::Tls13,
            ee(&ext(16, &u16p(&cat(&[&u8p(b"h2"), &u8p(b"h3")])))),
            E::LengthOutOfRange { what: "selected ALPN protocol list", len: 2 }, DecodeError),
        ("KeyUpdate request_update of 2", Input::Tls13,
            hs(24, &[2]), E::InvalidKeyUpdate(2), IllegalParameter),
        ("explicit curve in ServerKeyExchange", Input::Tls12,
            hs(12, &[1, 0, 0x17]), E::UnsupportedCurveType(1), IllegalParameter),
        ("u24 length over the maximum", Input::Joiner,
            vec![11, 0xff, 0xff, 0xff], E::HandshakeMessageTooLarge { len: 0xff_ffff, max: 65536 },
            IllegalParameter),
        ("empty handshake record", Input::Joiner, vec![], E::EmptyFragment(22), DecodeError),
        ("record over 2^14 + 256", Input::Deframer,
            big_record, E::RecordOverflow { len: (1 << 14) + 257, max: (1 << 14) + 256 }, RecordOverflow),
        ("unknown content type", Input::Deframer,
            vec![99, 3, 3, 0, 0], E::UnknownContentType(99), UnexpectedMessage),
        ("ChangeCipherSpec other than 1", Input::ChangeCipherSpec,
            vec![2], E::InvalidChangeCipherSpec, UnexpectedMessage),
        ("ChangeCipherSpec with trailing bytes", Input::ChangeCipherSpec,
            vec![1, 1], E::TrailingBytes(core::any::type_name::<super::alert::ChangeCipherSpec>()),
            DecodeError),
    ];
    for (name, input, bytes, error, alert) in table {
        assert_eq!(run(input, &bytes), Err(error.clone()), "{name}");
        assert_eq!(error.alert(), alert, "{name}");
    }
}

#[test]
fn sixteen_mib_of_garbage_is_refused_without_buffering_it() {
    // Deterministic noise: a linear congruential generator.
    let mut x = 0x1234_5678u32;
    let garbage: Vec<u8> = (0..16 << 20)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 24) as u8
        })
        .collect();
    assert!(HandshakeMessage::decode(&garbage, Version::Tls13).is_err());
    assert!(ClientHello::from_bytes(&garbage).is_err());
    let mut d = Deframer::new();
    assert!(
        d.push(&garbage) < 64 * 1024,
        "the deframer takes only what it may buffer"
    );
    // A header announcing 0xFFFFFF bytes and 16 MiB behind it: refused at the header.
    let mut j = HandshakeJoiner::new();
    let mut first = vec![1, 0xff, 0xff, 0xff];
    first.extend_from_slice(&garbage[..1000]);
    assert!(j.push(&first).is_err());
    assert!(j.is_empty());
}

#[test]
fn every_committed_handshake_message_fuzz_seed_is_a_valid_message() {
    // The seeds are only useful to the fuzzer if they decode; crash reproducers, which do not,
    // are named `crash-*`. Only the committed seeds are read: the fuzzer's working corpus
    // (`fuzz/corpus/`) rightly fills with inputs that are not messages.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/handshake_message");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("crash-") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let decoded = [Version::Tls12, Version::Tls13]
            .into_iter()
            .find_map(|v| HandshakeMessage::decode(&bytes, v).ok());
        let decoded = decoded.unwrap_or_else(|| panic!("seed {name} does not decode"));
        assert!(
            !matches!(decoded.payload, HandshakePayload::Unknown { .. }),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 19);
}

/// The duplicate-extension check keeps its answer across the move from the inline list to the
/// bitmap: a repeat of a type seen before the move, of one seen after it, and of a type at
/// the top of the range are all found, and distinct types all pass.
#[test]
fn duplicate_extensions_are_found_before_and_after_the_bitmap_takes_over() {
    let mut seen = super::SeenExtensions::new();
    for i in 0..1000u16 {
        seen.insert(i * 61).unwrap();
    }
    seen.insert(0xff01).unwrap();
    assert_eq!(seen.insert(0), Err(InvalidMessage::DuplicateExtension(0)));
    assert_eq!(
        seen.insert(61 * 500),
        Err(InvalidMessage::DuplicateExtension(61 * 500))
    );
    assert_eq!(
        seen.insert(0xff01),
        Err(InvalidMessage::DuplicateExtension(0xff01))
    );
    let mut few = super::SeenExtensions::new();
    few.insert(0xff01).unwrap();
    few.insert(43).unwrap();
    assert_eq!(few.insert(43), Err(InvalidMessage::DuplicateExtension(43)));
}
