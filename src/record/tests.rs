//! Record protection against RFC 8448's protected records, and each TLS 1.2/1.3 rule of
//! record protection.

use super::{PlainMessage, Record, RecordProtection, MAX_PLAINTEXT_LEN};
use crate::alert::AlertDescription;
use crate::codec::InvalidMessage;
use crate::crypto::aead::{AeadAlgorithm, AeadKey};
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::msgs::enums::{ContentType, ProtocolVersion};

const RFC8448: &str = include_str!("../../tests/data/rfc8448_full.json");

fn field(key: &str) -> Vec<u8> {
    let pattern = format!("\"{key}\": \"");
    let at = RFC8448.find(&pattern).expect("key present") + pattern.len();
    let end = at + RFC8448[at..].find('"').expect("string ends");
    let s = &RFC8448[at..end];
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn record(bytes: &[u8]) -> Record {
    let mut d = super::Deframer::new();
    assert_eq!(d.push(bytes), bytes.len());
    let record = d.pop().unwrap().expect("a whole record");
    assert!(d.is_empty());
    record
}

fn tls13(secret: &str) -> RecordProtection {
    RecordProtection::tls13(
        AeadAlgorithm::Aes128Gcm,
        &field(&format!("{secret}_key")),
        &field(&format!("{secret}_iv")),
    )
    .unwrap()
}

#[test]
fn rfc8448_protected_records_open_to_the_published_messages() {
    let cases = [
        (
            "server_handshake",
            "server_flight_protected",
            "server_flight",
            0,
        ),
        (
            "client_handshake",
            "client_finished_protected",
            "client_finished",
            0,
        ),
        (
            "server_application",
            "new_session_ticket_protected",
            "new_session_ticket",
            0,
        ),
        (
            "client_application",
            "client_app_data_protected",
            "app_payload",
            0,
        ),
        (
            "server_application",
            "server_app_data_protected",
            "app_payload",
            1,
        ),
    ];
    for (keys, protected, plain, seq) in cases {
        let mut opener = tls13(keys);
        for _ in 0..seq {
            opener.next_sequence_number().unwrap();
        }
        let opened = opener.open(record(&field(protected))).unwrap();
        let typ = if plain == "app_payload" {
            ContentType::ApplicationData
        } else {
            ContentType::Handshake
        };
        assert_eq!(
            opened,
            PlainMessage {
                typ,
                payload: field(plain)
            },
            "{protected}"
        );
        assert_eq!(opener.sequence_number(), seq + 1);
    }
}

#[test]
fn sealing_reproduces_the_rfc8448_records_byte_for_byte() {
    let mut sealer = tls13("server_handshake");
    let sealed = sealer
        .seal(ContentType::Handshake, &field("server_flight"), 0)
        .unwrap();
    assert_eq!(sealed, field("server_flight_protected"));
    let mut sealer = tls13("client_handshake");
    let sealed = sealer
        .seal(ContentType::Handshake, &field("client_finished"), 0)
        .unwrap();
    assert_eq!(sealed, field("client_finished_protected"));
}

#[test]
fn tls13_padding_is_removed_and_the_inner_type_restored() {
    let (mut sealer, mut opener) = (tls13("server_handshake"), tls13("server_handshake"));
    for padding in [0, 1, 100, MAX_PLAINTEXT_LEN - 2] {
        let sealed = sealer.seal(ContentType::Alert, &[2, 40], padding).unwrap();
        let r = record(&sealed);
        assert_eq!(
            r.typ,
            ContentType::ApplicationData,
            "outer type hides the real one"
        );
        assert_eq!(r.payload.len(), 2 + 1 + padding + 16);
        let opened = opener.open(r).unwrap();
        assert_eq!(
            (opened.typ, opened.payload),
            (ContentType::Alert, vec![2, 40])
        );
    }
    assert_eq!(
        sealer.seal(ContentType::Alert, &[2, 40], MAX_PLAINTEXT_LEN - 1),
        Err(InvalidMessage::TooLongToEncode.into())
    );
}

fn open_inner(inner: Vec<u8>) -> Result<PlainMessage, Error> {
    let (mut sealer, mut opener) = (tls13("server_handshake"), tls13("server_handshake"));
    let sealed = sealer.seal_tls13_inner(inner).unwrap();
    opener.open(record(&sealed))
}

#[test]
fn tls13_inner_plaintext_rules_give_the_rfc_alerts() {
    // RFC 8446 §5.4: no non-zero byte means no content type.
    let err = open_inner(vec![0; 40]).unwrap_err();
    assert_eq!(err, InvalidMessage::MissingContentType.into());
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
    // RFC 8446 §5: a protected change_cipher_spec is unexpected_message.
    let err = open_inner(vec![1, 20, 0]).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::UnexpectedMessage);
    let err = open_inner(vec![1, 99]).unwrap_err();
    assert_eq!(err, InvalidMessage::UnknownContentType(99).into());
    // RFC 8446 §5.4: the inner plaintext may not exceed 2^14 + 1 bytes.
    let mut inner = vec![0x41; MAX_PLAINTEXT_LEN + 1];
    inner.push(23);
    let err = open_inner(inner).unwrap_err();
    assert_eq!(err.alert(), AlertDescription::RecordOverflow);
    let mut inner = vec![0x41; MAX_PLAINTEXT_LEN];
    inner.push(23);
    assert_eq!(open_inner(inner).unwrap().payload.len(), MAX_PLAINTEXT_LEN);
}

#[test]
fn tls13_rejects_other_outer_types_and_altered_records() {
    let mut opener = tls13("server_handshake");
    let mut r = record(&field("server_flight_protected"));
    r.typ = ContentType::Handshake;
    assert_eq!(
        opener.open(r).unwrap_err(),
        InvalidMessage::UnexpectedProtectedType(22).into()
    );
    // The header is authenticated: a different legacy_record_version fails to open.
    let mut r = record(&field("server_flight_protected"));
    r.version = ProtocolVersion::Tls10;
    let err = opener.open(r).unwrap_err();
    assert_eq!(err, CryptoError::DecryptFailed.into());
    assert_eq!(err.alert(), AlertDescription::BadRecordMac);
    // A failed open does not consume a sequence number.
    assert_eq!(opener.sequence_number(), 0);
    let short = Record {
        typ: ContentType::ApplicationData,
        version: ProtocolVersion::Tls12,
        payload: vec![0; 15],
    };
    assert_eq!(opener.open(short), Err(CryptoError::DecryptFailed.into()));
}

const KEY: [u8; 32] = [0x11; 32];

fn tls12_pair(alg: AeadAlgorithm, iv: &[u8]) -> (RecordProtection, RecordProtection) {
    let key = &KEY[..alg.key_len()];
    (
        RecordProtection::tls12(alg, key, iv).unwrap(),
        RecordProtection::tls12(alg, key, iv).unwrap(),
    )
}

#[test]
fn tls12_gcm_carries_an_explicit_nonce_and_follows_rfc5288() {
    let salt = [0xa0, 0xa1, 0xa2, 0xa3];
    let (mut sealer, mut opener) = tls12_pair(AeadAlgorithm::Aes128Gcm, &salt);
    sealer.next_sequence_number().unwrap();
    opener.next_sequence_number().unwrap();
    let sealed = sealer.seal(ContentType::Handshake, b"finished", 0).unwrap();
    // header ‖ explicit nonce (the sequence number, 1) ‖ ciphertext ‖ tag.
    assert_eq!(sealed[..5], [22, 3, 3, 0, 8 + 8 + 16]);
    assert_eq!(sealed[5..13], 1u64.to_be_bytes());
    // Rebuilt by hand from RFC 5288 §3 and RFC 5246 §6.2.3.3, with the AEAD alone.
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&salt);
    nonce[4..].copy_from_slice(&sealed[5..13]);
    let mut aad = 1u64.to_be_bytes().to_vec();
    aad.extend_from_slice(&[22, 3, 3, 0, 8]);
    let key = AeadKey::new(AeadAlgorithm::Aes128Gcm, &KEY[..16]).unwrap();
    let mut body = sealed[13..].to_vec();
    assert_eq!(
        key.open_in_place(nonce, &aad, &mut body).unwrap(),
        b"finished"
    );
    let opened = opener.open(record(&sealed)).unwrap();
    assert_eq!(opened.payload, b"finished");
    assert_eq!(opener.sequence_number(), 2);
}

#[test]
fn tls12_chacha_uses_the_implicit_xor_nonce_of_rfc7905() {
    let iv = [0x5a; 12];
    let (mut sealer, mut opener) = tls12_pair(AeadAlgorithm::ChaCha20Poly1305, &iv);
    let first = sealer
        .seal(ContentType::ApplicationData, b"ping", 0)
        .unwrap();
    let second = sealer
        .seal(ContentType::ApplicationData, b"ping", 0)
        .unwrap();
    // No explicit nonce: header ‖ ciphertext ‖ tag, and each record differs by its sequence.
    assert_eq!(first.len(), 5 + 4 + 16);
    assert_ne!(first, second);
    let key = AeadKey::new(AeadAlgorithm::ChaCha20Poly1305, &KEY).unwrap();
    let mut aad = 1u64.to_be_bytes().to_vec();
    aad.extend_from_slice(&[23, 3, 3, 0, 4]);
    let nonce = crate::crypto::aead::xor_nonce(&iv, 1);
    let mut body = second[5..].to_vec();
    assert_eq!(key.open_in_place(nonce, &aad, &mut body).unwrap(), b"ping");
    // Records must be opened in order: the sequence number is in the nonce and the AAD.
    assert_eq!(
        opener.open(record(&second)),
        Err(CryptoError::DecryptFailed.into())
    );
    assert_eq!(opener.open(record(&first)).unwrap().payload, b"ping");
    assert_eq!(opener.open(record(&second)).unwrap().payload, b"ping");
}

#[test]
fn tls12_records_too_short_for_a_tag_are_bad_record_mac() {
    for (alg, iv) in [
        (AeadAlgorithm::Aes256Gcm, &[0u8; 4][..]),
        (AeadAlgorithm::ChaCha20Poly1305, &[0u8; 12][..]),
    ] {
        let (_, mut opener) = tls12_pair(alg, iv);
        for len in [0, 8, 23] {
            let r = Record {
                typ: ContentType::ApplicationData,
                version: ProtocolVersion::Tls12,
                payload: vec![0; len],
            };
            assert_eq!(opener.open(r), Err(CryptoError::DecryptFailed.into()));
        }
    }
}

#[test]
fn wrong_key_or_iv_lengths_are_refused() {
    let err = |got, expected| Err(CryptoError::InvalidLength { expected, got });
    assert_eq!(
        RecordProtection::tls12(AeadAlgorithm::Aes128Gcm, &KEY[..16], &[0; 12]).map(drop),
        err(12, 4)
    );
    assert_eq!(
        RecordProtection::tls12(AeadAlgorithm::ChaCha20Poly1305, &KEY, &[0; 4]).map(drop),
        err(4, 12)
    );
    assert_eq!(
        RecordProtection::tls13(AeadAlgorithm::Aes128Gcm, &KEY, &[0; 12]).map(drop),
        err(32, 16)
    );
}

#[test]
fn the_sequence_number_never_wraps() {
    let mut sealer = tls13("server_handshake");
    sealer.sequence_number = u64::MAX;
    assert!(sealer.seal(ContentType::ApplicationData, b"x", 0).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn sealed_records_open_to_their_plaintext_in_every_mode(
        mode in 0u8..3,
        typ in proptest::sample::select(vec![
            ContentType::Handshake, ContentType::Alert, ContentType::ApplicationData,
        ]),
        plaintext in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
        padding in 0usize..300,
        records in 1usize..4,
    ) {
        let make = || match mode {
            0 => tls13("client_application"),
            1 => RecordProtection::tls12(AeadAlgorithm::Aes256Gcm, &KEY, &[7; 4]).unwrap(),
            _ => RecordProtection::tls12(AeadAlgorithm::ChaCha20Poly1305, &KEY, &[7; 12]).unwrap(),
        };
        let (mut sealer, mut opener) = (make(), make());
        for _ in 0..records {
            let sealed = sealer.seal(typ, &plaintext, padding).unwrap();
            let opened = opener.open(record(&sealed)).unwrap();
            proptest::prop_assert_eq!(opened, PlainMessage { typ, payload: plaintext.clone() });
        }
        proptest::prop_assert_eq!(opener.sequence_number(), records as u64);
    }
}
