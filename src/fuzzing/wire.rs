//! Fuzz entry points for the record layer and the handshake-message codec.
//!
//! Each function also asserts the property its target checks (a decoded message re-encodes
//! to its input, a sealed record opens to what was sealed), so a fuzzer finds broken
//! round trips as well as panics.

use crate::crypto::aead::AeadAlgorithm;
use crate::msgs::client_hello::{binder_transcript_prefix, ClientHello};
use crate::msgs::enums::ContentType;
use crate::msgs::handshake::{HandshakeMessage, Version};
use crate::msgs::Codec;
use crate::record::{
    Deframer, HandshakeJoiner, Record, RecordProtection, MAX_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN,
};

/// RFC 8448 §3's server handshake traffic key and IV, so that the RFC's protected records
/// (in the seed corpus) really decrypt and the fuzzer starts from valid inner plaintexts.
const RFC8448_SERVER_HS_KEY: [u8; 16] = [
    0x3f, 0xce, 0x51, 0x60, 0x09, 0xc2, 0x17, 0x27, 0xd0, 0xf2, 0xe4, 0xe8, 0x6e, 0xe4, 0x03, 0xbc,
];
const RFC8448_SERVER_HS_IV: [u8; 12] = [
    0x5d, 0x31, 0x3e, 0xb2, 0x67, 0x12, 0x76, 0xee, 0x13, 0x00, 0x0b, 0x30,
];
const TLS12_KEY: [u8; 32] = [0x42; 32];
const TLS12_GCM_SALT: [u8; 4] = [1, 2, 3, 4];
const TLS12_CHACHA_IV: [u8; 12] = [9; 12];

/// Feeds arbitrary bytes to the record deframer in chunks, joins the handshake records and
/// decodes every message under both versions. Checks that the records re-encode to the bytes
/// they were cut from.
pub fn deframer(data: &[u8]) {
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut deframer = Deframer::new();
    let mut joiner = HandshakeJoiner::new();
    let mut reencoded = Vec::new();
    let mut input = data;
    'feed: while !input.is_empty() {
        let taken = deframer.push(&input[..chunk.min(input.len())]);
        input = &input[taken..];
        loop {
            match deframer.pop() {
                Ok(Some(record)) => {
                    if let Ok(bytes) = record.encode() {
                        reencoded.extend_from_slice(&bytes);
                    }
                    if record.typ == ContentType::Handshake && joiner.push(&record.payload).is_err()
                    {
                        break 'feed;
                    }
                    while let Some(message) = joiner.pop() {
                        let _ = HandshakeMessage::decode(&message, Version::Tls12);
                        let _ = HandshakeMessage::decode(&message, Version::Tls13);
                    }
                }
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
        if taken == 0 {
            break;
        }
    }
    assert_eq!(&data[..reencoded.len()], &reencoded[..]);
}

/// Decodes arbitrary bytes as a handshake message (header included) of any type, under both
/// versions; whatever decodes must re-encode to exactly the input.
pub fn handshake_message(data: &[u8]) {
    for version in [Version::Tls12, Version::Tls13] {
        if let Ok(message) = HandshakeMessage::decode(data, version) {
            assert_eq!(message.encode().as_deref(), Ok(data));
        }
    }
}

/// Decodes a ClientHello body, takes its binder slice, and checks that re-encoding gives the
/// input.
pub fn client_hello(data: &[u8]) {
    // The binder slice is defined over the whole handshake message, header included.
    let Ok(len) = u32::try_from(data.len()) else {
        return;
    };
    if len >= 1 << 24 {
        return;
    }
    let mut message = vec![1];
    message.extend_from_slice(&len.to_be_bytes()[1..]);
    message.extend_from_slice(data);
    let decoded = ClientHello::from_bytes(data);
    let prefix = binder_transcript_prefix(&message);
    match decoded {
        Ok(hello) => {
            assert_eq!(hello.to_bytes().as_deref(), Ok(data));
            let prefix = prefix.expect("a valid ClientHello has a binder slice answer");
            match (prefix, hello.offered_psks()) {
                (Some(prefix), Some(psks)) => {
                    let mut binders = crate::codec::Writer::new();
                    psks.encode_binders(&mut binders)
                        .expect("decoded binders fit their prefix");
                    assert_eq!(message.len() - prefix.len(), binders.len());
                    assert_eq!(&message[prefix.len()..], binders.as_slice());
                }
                (None, None) => {}
                _ => panic!("binder slice disagrees with the decoded pre_shared_key"),
            }
        }
        Err(e) => assert_eq!(prefix, Err(e)),
    }
}

/// The protections the record target exercises, chosen by the input's first byte.
fn protection(selector: u8) -> RecordProtection {
    let built = match selector % 3 {
        0 => RecordProtection::tls13(
            AeadAlgorithm::Aes128Gcm,
            &RFC8448_SERVER_HS_KEY,
            &RFC8448_SERVER_HS_IV,
        ),
        1 => RecordProtection::tls12(AeadAlgorithm::Aes256Gcm, &TLS12_KEY, &TLS12_GCM_SALT),
        _ => RecordProtection::tls12(
            AeadAlgorithm::ChaCha20Poly1305,
            &TLS12_KEY,
            &TLS12_CHACHA_IV,
        ),
    };
    built.expect("fixed keys have the right lengths")
}

/// Opens arbitrary bytes as TLS 1.2 and TLS 1.3 protected records under fixed keys, and checks
/// that sealing then opening the same bytes gives them back.
pub fn record_open(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };

    // The bytes as records from the wire.
    let mut opener = protection(selector);
    let mut deframer = Deframer::new();
    deframer.push(rest);
    while let Ok(Some(record)) = deframer.pop() {
        if opener.open(record).is_err() {
            break;
        }
    }

    // The bytes as plaintext: seal, then open, must give them back.
    let plaintext = &rest[..rest.len().min(MAX_PLAINTEXT_LEN)];
    let typ = [
        ContentType::Handshake,
        ContentType::ApplicationData,
        ContentType::Alert,
    ][usize::from(selector / 3) % 3];
    let padding = usize::from(selector / 9) * 7;
    let (mut sealer, mut opener) = (protection(selector), protection(selector));
    if let Ok(sealed) = sealer.seal(typ, plaintext, padding) {
        let mut d = Deframer::new();
        d.push(&sealed);
        let record = d.pop().ok().flatten().expect("a sealed record deframes");
        let opened = opener.open(record).expect("a sealed record opens");
        assert_eq!((opened.typ, &opened.payload[..]), (typ, plaintext));
    }

    // TLS 1.3 only: the bytes as a raw TLSInnerPlaintext, content type and padding included.
    if selector % 3 == 0 && rest.len() + crate::crypto::aead::TAG_LEN <= MAX_CIPHERTEXT_LEN {
        let (mut sealer, mut opener) = (protection(0), protection(0));
        if let Ok(sealed) = sealer.seal_tls13_inner(rest.to_vec()) {
            let record = Record {
                typ: ContentType::ApplicationData,
                version: crate::msgs::enums::ProtocolVersion::Tls12,
                payload: sealed[crate::record::HEADER_LEN..].to_vec(),
            };
            if let Ok(opened) = opener.open(record) {
                assert!(opened.payload.len() < rest.len());
                assert_eq!(&rest[..opened.payload.len()], &opened.payload[..]);
                assert_eq!(rest[opened.payload.len()], u8::from(opened.typ));
            }
        }
    }
}
